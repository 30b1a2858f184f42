/* fuzz_scgi.c: libFuzzer target for the SCGI parser (src/scgi.c). Feeds the
 * input whole, in two chunks, one byte at a time and under a smaller limit,
 * requires the same answers, then splits the header and checks invariants.
 * Any broken invariant traps. See tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scgi.h"

#define MAXH 65536
#define FEW_PAIRS 16
#define MANY_PAIRS (MAXH / 3 + 1)   /* "a\0\0" is the shortest pair */

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

typedef struct {
    sw_scgi_status_t st;
    size_t pos, header_off, header_len, body_off;
} result_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static result_t feed_whole(const char *buf, size_t len, size_t max);
static result_t feed_cut(const char *buf, size_t len, size_t max, size_t cut);
static result_t feed_bytewise(const char *buf, size_t len, size_t max);
static result_t result_of(const sw_scgi_parser_t *p, sw_scgi_status_t st);
static void check_same(const result_t *a, const result_t *b);
static void check_done(const char *buf, size_t len, const result_t *r);
static void check_small_limit(const char *buf, size_t len, const result_t *r,
                              size_t limit);
static void check_split(const char *header, size_t header_len);
static uint64_t decimal(const char *s, size_t n);

static sw_scgi_header_t many[MANY_PAIRS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    uint32_t h = 2166136261u;   /* FNV-1a: cut point and limit from the data */
    result_t whole, r;

    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;

    whole = feed_whole(buf, size, MAXH);
    r = feed_cut(buf, size, MAXH, size ? h % (size + 1) : 0);
    check_same(&whole, &r);
    r = feed_bytewise(buf, size, MAXH);
    check_same(&whole, &r);
    check_small_limit(buf, size, &whole, (h >> 16) % 64);

    if (whole.st == SW_SCGI_DONE) {
        check_done(buf, size, &whole);
        check_split(buf + whole.header_off, whole.header_len);
    }
    return 0;
}

static result_t feed_whole(const char *buf, size_t len, size_t max)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st;

    sw_scgi_init(&p, max);
    st = sw_scgi_feed(&p, buf, len);
    /* final statuses stay final, with the same offsets */
    if (st != SW_SCGI_MORE) {
        result_t a = result_of(&p, st), b;

        b = result_of(&p, sw_scgi_feed(&p, buf, len));
        check_same(&a, &b);
    }
    return result_of(&p, st);
}

/* The first call sees an exact-size copy of the first cut bytes, so ASan
 * catches a read past len; the second call sees the whole input. */
static result_t feed_cut(const char *buf, size_t len, size_t max, size_t cut)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st;
    char *head = malloc(cut ? cut : 1);

    CHECK(head);
    memcpy(head, buf, cut);
    sw_scgi_init(&p, max);
    st = sw_scgi_feed(&p, head, cut);
    free(head);
    CHECK(p.pos <= cut);
    if (st == SW_SCGI_MORE)
        st = sw_scgi_feed(&p, buf, len);
    return result_of(&p, st);
}

/* One byte more per call; the status must turn final exactly when the
 * deciding byte arrives (pos == prefix length) and stay final. */
static result_t feed_bytewise(const char *buf, size_t len, size_t max)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st = SW_SCGI_MORE;

    sw_scgi_init(&p, max);
    for (size_t i = 0; i <= len; i++) {
        st = sw_scgi_feed(&p, buf, i);
        CHECK(p.pos <= i);
        if (st != SW_SCGI_MORE) {
            CHECK(p.pos == i);
            break;
        }
        CHECK(p.pos == i);
    }
    return result_of(&p, st);
}

static result_t result_of(const sw_scgi_parser_t *p, sw_scgi_status_t st)
{
    result_t r = { st, p->pos, 0, 0, 0 };

    CHECK(st == SW_SCGI_MORE || st == SW_SCGI_DONE || st == SW_SCGI_BAD
          || st == SW_SCGI_TOO_BIG);
    if (st == SW_SCGI_DONE) {
        r.header_off = p->header_off;
        r.header_len = p->header_len;
        r.body_off = p->body_off;
    }
    return r;
}

static void check_same(const result_t *a, const result_t *b)
{
    CHECK(a->st == b->st);
    CHECK(a->pos == b->pos);
    CHECK(a->header_off == b->header_off);
    CHECK(a->header_len == b->header_len);
    CHECK(a->body_off == b->body_off);
}

/* "LEN:" with LEN = header_len in canonical decimal, header, ','. */
static void check_done(const char *buf, size_t len, const result_t *r)
{
    CHECK(r->header_off >= 2 && r->header_off <= len);
    CHECK(r->header_len <= MAXH);
    CHECK(r->body_off == r->header_off + r->header_len + 1);
    CHECK(r->body_off <= len);
    CHECK(r->pos == r->body_off);
    CHECK(buf[r->header_off - 1] == ':');
    CHECK(buf[r->body_off - 1] == ',');
    CHECK(decimal(buf, r->header_off - 1) == r->header_len);
    CHECK(buf[0] != '0' || r->header_off == 2);
}

/* The same input under a smaller limit: TOO_BIG where the header length is
 * over it, otherwise the same answer (or an earlier TOO_BIG). */
static void check_small_limit(const char *buf, size_t len, const result_t *r,
                              size_t limit)
{
    result_t s = feed_whole(buf, len, limit);

    switch (r->st) {
    case SW_SCGI_DONE:
        if (r->header_len > limit)
            CHECK(s.st == SW_SCGI_TOO_BIG && s.pos < r->header_off);
        else
            check_same(r, &s);
        break;
    case SW_SCGI_TOO_BIG:
        CHECK(s.st == SW_SCGI_TOO_BIG && s.pos <= r->pos);
        break;
    case SW_SCGI_BAD:
        CHECK(s.st == SW_SCGI_TOO_BIG ? s.pos < r->pos : s.st == SW_SCGI_BAD);
        if (s.st == SW_SCGI_BAD)
            CHECK(s.pos == r->pos);
        break;
    default:
        CHECK(s.st == SW_SCGI_MORE || s.st == SW_SCGI_TOO_BIG);
        break;
    }
}

/* Splits an exact-size copy of the header with room for every pair, then
 * with FEW_PAIRS, and checks the pairs tile the header. */
static void check_split(const char *header, size_t header_len)
{
    char *copy = malloc(header_len ? header_len : 1);
    sw_scgi_header_t few[FEW_PAIRS];
    uint64_t cl = UINT64_MAX, cl2;
    const char *why = NULL, *why2 = NULL;
    int n, n2;

    CHECK(copy);
    memcpy(copy, header, header_len);
    n = sw_scgi_split(copy, header_len, many, MANY_PAIRS, &cl, &why);
    CHECK(n >= -1);
    if (n < 0) {
        CHECK(why && why[0]);
        CHECK(cl == UINT64_MAX);
        CHECK(strcmp(why, "too many headers") != 0);
    } else {
        const char *next = copy;

        CHECK(why == NULL);
        CHECK(n >= 1);
        for (int i = 0; i < n; i++) {
            const sw_scgi_header_t *h = &many[i];

            CHECK(h->name == next);
            CHECK(h->name_len >= 1);
            CHECK(h->value == h->name + h->name_len + 1);
            CHECK(h->value + h->value_len < copy + header_len);
            CHECK(h->name[h->name_len] == '\0' && h->value[h->value_len] == '\0');
            CHECK(memchr(h->name, '\0', h->name_len) == NULL);
            CHECK(memchr(h->value, '\0', h->value_len) == NULL);
            for (int j = 0; j < i; j++)
                CHECK(many[j].name_len != h->name_len
                      || memcmp(many[j].name, h->name, h->name_len) != 0);
            CHECK(sw_scgi_find(many, (size_t)n, h->name) == h);
            next = h->value + h->value_len + 1;
        }
        CHECK(next == copy + header_len);
        CHECK(many[0].name_len == 14 && memcmp(many[0].name, "CONTENT_LENGTH", 14) == 0);
        CHECK(many[0].value_len >= 1 && many[0].value_len <= 19);
        CHECK(cl <= (uint64_t)INT64_MAX);
        CHECK(cl == decimal(many[0].value, many[0].value_len));
    }

    /* With fewer slots: the same answer, or "too many headers". */
    n2 = sw_scgi_split(copy, header_len, few, FEW_PAIRS, &cl2, &why2);
    if (n >= 0 && n <= FEW_PAIRS) {
        CHECK(n2 == n && cl2 == cl);
        for (int i = 0; i < n; i++)
            CHECK(few[i].name == many[i].name && few[i].value == many[i].value);
    } else if (n > FEW_PAIRS) {
        CHECK(n2 == -1 && strcmp(why2, "too many headers") == 0);
    } else {
        CHECK(n2 == -1);
        CHECK(strcmp(why2, why) == 0 || strcmp(why2, "too many headers") == 0);
    }
    free(copy);
}

/* Digits only (else UINT64_MAX); saturates instead of overflowing. */
static uint64_t decimal(const char *s, size_t n)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return UINT64_MAX;
        if (v > (UINT64_MAX - 9) / 10)
            return UINT64_MAX;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}
