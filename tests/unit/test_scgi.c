/* test_scgi.c: unit tests of the SCGI header parser (src/scgi.c): tables of
 * feed and split cases, and the corpus under tests/data/scgi/ (see its
 * MANIFEST), each file fed whole, in two chunks and one byte at a time. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scgi.h"

#define CORPUS_REL "tests/data/scgi"
#define MAXH 65536

/* One MANIFEST line. Fixed arrays, no pointers: Criterion copies the
 * parameters into each test's process. */
typedef struct {
    char file[128];            /* relative to the corpus directory */
    size_t max_header;
    size_t max_pairs;
    sw_scgi_status_t feed;
    int pairs;                 /* split result when feed == DONE */
    uint64_t cl;               /* when pairs >= 0 */
    char why[96];              /* when pairs == -1 */
} corpus_case_t;

typedef struct {
    sw_scgi_status_t st;
    size_t decided_at;         /* prefix length that produced st (0: never) */
    size_t pos, header_off, header_len, body_off;
} feed_result_t;

static const char *corpus_dir(void);
static int load_manifest(void *(*alloc)(size_t), corpus_case_t **out,
                         size_t *n);
static int parse_status(const char *s, sw_scgi_status_t *st);
static char *read_corpus_file(const char *rel, size_t *len);
static feed_result_t feed_whole(const char *buf, size_t len, size_t max);
static feed_result_t feed_bytewise(const char *buf, size_t len, size_t max);
static feed_result_t feed_two_chunks(const char *buf, size_t len, size_t max,
                                     size_t cut);
static void expect_same(const feed_result_t *a, const feed_result_t *b,
                        const char *what, const char *name);
static void free_cases(struct criterion_test_params *crp);

/* Criterion 2.4.1 leaks a strdup in criterion_handle_args when
 * CRITERION_OUTPUTS is set (make check sets it); under ASan, LeakSanitizer
 * would then fail the run and lose the TAP output. The sanitizer runtime
 * calls this hook if present; without sanitizers it is never used. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:criterion_handle_args\n";
}

/* ---- the corpus -------------------------------------------------------- */

ParameterizedTestParameters(scgi_corpus, file)
{
    corpus_case_t *cases = NULL;
    size_t n = 0;

    /* A missing MANIFEST gives no cases; scgi_corpus.manifest reports it. */
    if (load_manifest(cr_malloc, &cases, &n) < 0)
        n = 0;
    return cr_make_param_array(corpus_case_t, cases, n, free_cases);
}

ParameterizedTest(corpus_case_t *c, scgi_corpus, file)
{
    size_t len;
    char *buf = read_corpus_file(c->file, &len);
    feed_result_t whole, bytes;

    cr_assert_not_null(buf, "%s: cannot read", c->file);
    whole = feed_whole(buf, len, c->max_header);
    cr_expect_eq(whole.st, c->feed, "%s: feed returned %d, expected %d",
                 c->file, whole.st, c->feed);

    bytes = feed_bytewise(buf, len, c->max_header);
    expect_same(&whole, &bytes, "one byte at a time", c->file);
    for (size_t cut = 0; cut <= len; cut++) {
        feed_result_t two = feed_two_chunks(buf, len, c->max_header, cut);
        expect_same(&whole, &two, "in two chunks", c->file);
    }

    /* The decision is made at the byte that proves it, not later. */
    if (whole.st == SW_SCGI_MORE)
        cr_expect_eq(bytes.decided_at, 0, "%s", c->file);
    else
        cr_expect_eq(bytes.decided_at, whole.pos, "%s: decided at %zu, pos %zu",
                     c->file, bytes.decided_at, whole.pos);

    if (whole.st == SW_SCGI_DONE && c->feed == SW_SCGI_DONE) {
        sw_scgi_header_t *h = calloc(c->max_pairs ? c->max_pairs : 1, sizeof *h);
        uint64_t cl = UINT64_MAX;
        const char *why = "unset";
        int rc;

        cr_assert_not_null(h);
        cr_expect_eq(whole.body_off, whole.header_off + whole.header_len + 1);
        cr_expect_eq(buf[whole.body_off - 1], ',', "%s", c->file);
        rc = sw_scgi_split(buf + whole.header_off, whole.header_len, h,
                           c->max_pairs, &cl, &why);
        cr_expect_eq(rc, c->pairs, "%s: split returned %d (%s), expected %d",
                     c->file, rc, why ? why : "-", c->pairs);
        if (rc >= 0 && c->pairs >= 0) {
            cr_expect_null(why, "%s", c->file);
            cr_expect_eq(cl, c->cl, "%s: CONTENT_LENGTH %" PRIu64
                         ", expected %" PRIu64, c->file, cl, c->cl);
            cr_expect_eq(h[0].name_len, 14);
            cr_expect_str_eq(h[0].name, "CONTENT_LENGTH", "%s", c->file);
            if (strncmp(c->file, "valid/", 6) == 0)
                cr_expect_eq(len - whole.body_off, cl,
                             "%s: body is %zu bytes, CONTENT_LENGTH %" PRIu64,
                             c->file, len - whole.body_off, cl);
        } else if (rc < 0 && c->pairs < 0) {
            cr_expect_not_null(why, "%s", c->file);
            if (why)
                cr_expect_str_eq(why, c->why, "%s", c->file);
        }
        free(h);
    }
    free(buf);
}

/* Every corpus file has exactly one MANIFEST line, and every valid/ file
 * is expected to be accepted. */
Test(scgi_corpus, manifest)
{
    static const char *const subdirs[] = { "valid", "invalid" };
    corpus_case_t *cases = NULL;
    size_t n = 0, files = 0;

    cr_assert_eq(load_manifest(malloc, &cases, &n), 0,
                 "cannot read %s/MANIFEST (set SW_SRCDIR)", corpus_dir());
    cr_expect_geq(n, 50, "only %zu corpus cases", n);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++)
            cr_expect_str_neq(cases[i].file, cases[j].file);
        if (strncmp(cases[i].file, "valid/", 6) == 0)
            cr_expect(cases[i].feed == SW_SCGI_DONE && cases[i].pairs > 0,
                      "%s is under valid/ but expected to fail", cases[i].file);
    }
    for (size_t d = 0; d < 2; d++) {
        char path[4096];
        DIR *dir;
        struct dirent *e;

        snprintf(path, sizeof path, "%s/%s", corpus_dir(), subdirs[d]);
        dir = opendir(path);
        cr_assert_not_null(dir, "cannot open %s", path);
        while ((e = readdir(dir))) {
            char rel[300];
            size_t nl = strlen(e->d_name), i;

            if (nl < 5 || strcmp(e->d_name + nl - 5, ".scgi") != 0)
                continue;
            files++;
            snprintf(rel, sizeof rel, "%s/%s", subdirs[d], e->d_name);
            for (i = 0; i < n && strcmp(cases[i].file, rel) != 0; i++)
                ;
            cr_expect_lt(i, n, "%s is not in MANIFEST", rel);
        }
        closedir(dir);
    }
    cr_expect_eq(files, n, "%zu .scgi files, %zu MANIFEST lines", files, n);
    free(cases);
}

/* ---- sw_scgi_feed -------------------------------------------------------- */

#define S(lit) lit, sizeof lit - 1

typedef struct {
    const char *in;
    size_t len;
    size_t max;
    sw_scgi_status_t st;
    size_t at;                 /* == pos afterwards; for DONE, body_off */
    size_t header_off, header_len;
} feed_case_t;

static const feed_case_t feed_cases[] = {
    { S(""), MAXH, SW_SCGI_MORE, 0, 0, 0 },
    { S("1"), MAXH, SW_SCGI_MORE, 0, 0, 0 },
    { S("5:abc"), MAXH, SW_SCGI_MORE, 0, 0, 0 },
    { S("5:abcde"), MAXH, SW_SCGI_MORE, 0, 0, 0 },
    { S("0:,"), MAXH, SW_SCGI_DONE, 3, 2, 0 },
    { S("0:,body"), MAXH, SW_SCGI_DONE, 3, 2, 0 },
    { S("5:abcde,"), MAXH, SW_SCGI_DONE, 8, 2, 5 },
    { S("5:a\0c\0e,XYZ"), MAXH, SW_SCGI_DONE, 8, 2, 5 },
    { S("10:0123456789,"), MAXH, SW_SCGI_DONE, 14, 3, 10 },
    /* BAD, decided at the offending byte */
    { S(":"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S(":,"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S("a"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S("-1:x,"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S("+1:x,"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S(" 1:x,"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S("1 :x,"), MAXH, SW_SCGI_BAD, 2, 0, 0 },
    { S("1a"), MAXH, SW_SCGI_BAD, 2, 0, 0 },
    { S("\0"), MAXH, SW_SCGI_BAD, 1, 0, 0 },
    { S("00:,"), MAXH, SW_SCGI_BAD, 2, 0, 0 },
    { S("01:x,"), MAXH, SW_SCGI_BAD, 2, 0, 0 },
    { S("0000000000000000000000"), MAXH, SW_SCGI_BAD, 2, 0, 0 },
    { S("5:abcde;"), MAXH, SW_SCGI_BAD, 8, 0, 0 },
    { S("5:abcdef,"), MAXH, SW_SCGI_BAD, 8, 0, 0 },
    { S("0:x"), MAXH, SW_SCGI_BAD, 3, 0, 0 },
    /* TOO_BIG as soon as the digits exceed the limit, ':' or not */
    { S("65536:"), MAXH, SW_SCGI_MORE, 0, 0, 0 },
    { S("65537"), MAXH, SW_SCGI_TOO_BIG, 5, 0, 0 },
    { S("65540:"), MAXH, SW_SCGI_TOO_BIG, 5, 0, 0 },
    { S("100000"), MAXH, SW_SCGI_TOO_BIG, 6, 0, 0 },
    { S("70000"), MAXH, SW_SCGI_TOO_BIG, 5, 0, 0 },
    { S("99999999999999999999999999999999"), MAXH, SW_SCGI_TOO_BIG, 5, 0, 0 },
    { S("10:0123456789,"), 10, SW_SCGI_DONE, 14, 3, 10 },
    { S("10:"), 9, SW_SCGI_TOO_BIG, 2, 0, 0 },
    { S("11"), 10, SW_SCGI_TOO_BIG, 2, 0, 0 },
    { S("100"), 10, SW_SCGI_TOO_BIG, 3, 0, 0 },
    { S("9:"), 9, SW_SCGI_MORE, 0, 0, 0 },
    { S("0:,"), 0, SW_SCGI_DONE, 3, 2, 0 },
    { S("1"), 0, SW_SCGI_TOO_BIG, 1, 0, 0 },
    { S("9"), 5, SW_SCGI_TOO_BIG, 1, 0, 0 },
    /* a digit string longer than any size_t: no overflow */
    { S("99999999999999999999999999999999999999999999"), SIZE_MAX,
      SW_SCGI_TOO_BIG, (SIZE_MAX > 0xffffffffu) ? 20 : 10, 0, 0 },
#if SIZE_MAX == UINT64_MAX
    { S("18446744073709551615"), SIZE_MAX, SW_SCGI_MORE, 0, 0, 0 },
    { S("18446744073709551616"), SIZE_MAX, SW_SCGI_TOO_BIG, 20, 0, 0 },
    { S("18446744073709551620"), SIZE_MAX, SW_SCGI_TOO_BIG, 20, 0, 0 },
    { S("184467440737095516150"), SIZE_MAX, SW_SCGI_TOO_BIG, 21, 0, 0 },
    /* header_off + length + 1 must fit in size_t */
    { S("18446744073709551593:"), SIZE_MAX, SW_SCGI_MORE, 0, 0, 0 },
    { S("18446744073709551594:"), SIZE_MAX, SW_SCGI_TOO_BIG, 21, 0, 0 },
    { S("1844674407370955:"), 1844674407370955, SW_SCGI_MORE, 0, 0, 0 },
    { S("1844674407370956"), 1844674407370955, SW_SCGI_TOO_BIG, 16, 0, 0 },
#endif
};

Test(scgi_feed, table)
{
    for (size_t i = 0; i < sizeof feed_cases / sizeof feed_cases[0]; i++) {
        const feed_case_t *c = &feed_cases[i];
        feed_result_t whole = feed_whole(c->in, c->len, c->max);
        feed_result_t bytes = feed_bytewise(c->in, c->len, c->max);
        char name[64];

        snprintf(name, sizeof name, "feed case %zu", i);
        cr_expect_eq(whole.st, c->st, "%s: status %d, expected %d", name,
                     whole.st, c->st);
        expect_same(&whole, &bytes, "one byte at a time", name);
        if (c->st != SW_SCGI_MORE) {
            cr_expect_eq(whole.pos, c->at, "%s: pos %zu, expected %zu", name,
                         whole.pos, c->at);
            cr_expect_eq(bytes.decided_at, c->at, "%s: decided at %zu", name,
                         bytes.decided_at);
        }
        if (c->st == SW_SCGI_DONE) {
            cr_expect_eq(whole.header_off, c->header_off, "%s", name);
            cr_expect_eq(whole.header_len, c->header_len, "%s", name);
            cr_expect_eq(whole.body_off, c->at, "%s", name);
        }
    }
}

Test(scgi_feed, init)
{
    sw_scgi_parser_t p;

    memset(&p, 0xa5, sizeof p);
    sw_scgi_init(&p, 1234);
    cr_expect_eq(p.max_header_size, 1234);
    cr_expect_eq(p.pos, 0);
    cr_expect_eq(sw_scgi_feed(&p, "0:,", 3), SW_SCGI_DONE);
    /* re-initialising resets a finished parser */
    sw_scgi_init(&p, 10);
    cr_expect_eq(sw_scgi_feed(&p, "2:", 2), SW_SCGI_MORE);
    cr_expect_eq(sw_scgi_feed(&p, "2:ab,", 5), SW_SCGI_DONE);
    cr_expect_eq(p.body_off, 5);
}

Test(scgi_feed, final_states_are_sticky)
{
    sw_scgi_parser_t p;

    sw_scgi_init(&p, MAXH);
    cr_assert_eq(sw_scgi_feed(&p, S("3:abc,")), SW_SCGI_DONE);
    cr_expect_eq(sw_scgi_feed(&p, S("3:abc,more body")), SW_SCGI_DONE);
    cr_expect_eq(sw_scgi_feed(&p, S("3:abc,")), SW_SCGI_DONE);
    cr_expect_eq(p.header_off, 2);
    cr_expect_eq(p.header_len, 3);
    cr_expect_eq(p.body_off, 6);
    cr_expect_eq(p.pos, 6);

    sw_scgi_init(&p, MAXH);
    cr_assert_eq(sw_scgi_feed(&p, S("x")), SW_SCGI_BAD);
    cr_expect_eq(sw_scgi_feed(&p, S("x3:abc,")), SW_SCGI_BAD);

    sw_scgi_init(&p, 5);
    cr_assert_eq(sw_scgi_feed(&p, S("6")), SW_SCGI_TOO_BIG);
    cr_expect_eq(sw_scgi_feed(&p, S("6:abcdef,")), SW_SCGI_TOO_BIG);
}

/* The parser resumes at p->pos: bytes it has already consumed are not read
 * again, and the buffer may move between calls. */
Test(scgi_feed, resumes_without_rereading)
{
    sw_scgi_parser_t p;
    char a[16] = "12", b[32];

    sw_scgi_init(&p, MAXH);
    cr_assert_eq(sw_scgi_feed(&p, a, 2), SW_SCGI_MORE);
    cr_expect_eq(p.pos, 2);
    /* a new buffer whose first two bytes would be BAD if re-read */
    memcpy(b, "xx:abcdefghijkl,", 16);
    cr_expect_eq(sw_scgi_feed(&p, b, 3), SW_SCGI_MORE);
    cr_expect_eq(p.length, 12);
    cr_expect_eq(sw_scgi_feed(&p, b, 15), SW_SCGI_MORE);
    cr_expect_eq(sw_scgi_feed(&p, b, 16), SW_SCGI_DONE);
    cr_expect_eq(p.header_off, 3);
    cr_expect_eq(p.header_len, 12);
    cr_expect_eq(p.body_off, 16);
}

/* ---- sw_scgi_split ------------------------------------------------------- */

typedef struct {
    const char *hdr;
    size_t len;
    size_t max;
    int rc;
    uint64_t cl;
    const char *why;
} split_case_t;

static const split_case_t split_cases[] = {
    { S("CONTENT_LENGTH\0" "0\0"), 8, 1, 0, NULL },
    { S("CONTENT_LENGTH\0" "27\0SCGI\0" "1\0"), 8, 2, 27, NULL },
    { S("CONTENT_LENGTH\0" "007\0"), 8, 1, 7, NULL },
    { S("CONTENT_LENGTH\0" "9223372036854775807\0"), 8, 1, INT64_MAX, NULL },
    { S("CONTENT_LENGTH\0" "0000000000000000001\0"), 8, 1, 1, NULL },
    { S("CONTENT_LENGTH\0" "0\0A\0\0B\0\0"), 8, 3, 0, NULL },
    { S("CONTENT_LENGTH\0" "0\0a\0" "1\0A\0" "2\0"), 8, 3, 0, NULL },
    /* the pair limit */
    { S("CONTENT_LENGTH\0" "0\0A\0" "1\0B\0" "2\0"), 3, 3, 0, NULL },
    { S("CONTENT_LENGTH\0" "0\0A\0" "1\0B\0" "2\0"), 2, -1, 0, "too many headers" },
    { S("CONTENT_LENGTH\0" "0\0"), 0, -1, 0, "too many headers" },
    /* structure */
    { S(""), 8, -1, 0, "CONTENT_LENGTH is missing" },
    { S("\0"), 8, -1, 0, "empty header name" },
    { S("\0\0"), 8, -1, 0, "empty header name" },
    { S("CONTENT_LENGTH"), 8, -1, 0, "header does not end in NUL" },
    { S("CONTENT_LENGTH\0" "0"), 8, -1, 0, "header does not end in NUL" },
    { S("CONTENT_LENGTH\0"), 8, -1, 0, "header name without a value" },
    { S("CONTENT_LENGTH\0" "0\0SCGI\0"), 8, -1, 0, "header name without a value" },
    { S("CONTENT_LENGTH\0" "0\0\0x\0"), 8, -1, 0, "empty header name" },
    { S("CONTENT_LENGTH\0" "0\0A\0" "1\0A\0" "2\0"), 8, -1, 0, "duplicate header name" },
    { S("CONTENT_LENGTH\0" "0\0CONTENT_LENGTH\0" "0\0"), 8, -1, 0,
      "duplicate header name" },
    { S("CONTENT_LENGTH\0" "0\0AB\0" "1\0AC\0" "2\0AB\0" "3\0"), 8, -1, 0,
      "duplicate header name" },
    /* CONTENT_LENGTH first */
    { S("SCGI\0" "1\0"), 8, -1, 0, "CONTENT_LENGTH is missing" },
    { S("CONTENT_LENGTHX\0" "0\0"), 8, -1, 0, "CONTENT_LENGTH is missing" },
    { S("CONTENT_LENGT\0" "0\0"), 8, -1, 0, "CONTENT_LENGTH is missing" },
    { S("Content_Length\0" "0\0"), 8, -1, 0, "CONTENT_LENGTH is missing" },
    { S("SCGI\0" "1\0CONTENT_LENGTH\0" "0\0"), 8, -1, 0,
      "CONTENT_LENGTH is not the first header" },
    /* its value */
    { S("CONTENT_LENGTH\0\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0-1\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0+1\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0 1\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "1 \0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "1\t\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "0x1\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "1e3\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "1.0\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "\xd9\xa1\0"), 8, -1, 0, "CONTENT_LENGTH is not a decimal number" },
    { S("CONTENT_LENGTH\0" "9223372036854775808\0"), 8, -1, 0,
      "CONTENT_LENGTH is too large" },
    { S("CONTENT_LENGTH\0" "9999999999999999999\0"), 8, -1, 0,
      "CONTENT_LENGTH is too large" },
    { S("CONTENT_LENGTH\0" "00000000000000000000\0"), 8, -1, 0,
      "CONTENT_LENGTH is too large" },
    { S("CONTENT_LENGTH\0" "18446744073709551616\0"), 8, -1, 0,
      "CONTENT_LENGTH is too large" },
    { S("CONTENT_LENGTH\0" "123456789012345678901234567890\0"), 8, -1, 0,
      "CONTENT_LENGTH is too large" },
};

Test(scgi_split, table)
{
    for (size_t i = 0; i < sizeof split_cases / sizeof split_cases[0]; i++) {
        const split_case_t *c = &split_cases[i];
        sw_scgi_header_t h[8];
        /* an exact-size copy, so ASan sees any read past header_len */
        char *hdr = malloc(c->len ? c->len : 1);
        uint64_t cl = 12345;
        const char *why = "unset";
        int rc;

        cr_assert_not_null(hdr);
        memcpy(hdr, c->hdr, c->len);
        rc = sw_scgi_split(hdr, c->len, h, c->max, &cl, &why);
        cr_expect_eq(rc, c->rc, "split case %zu: %d (%s), expected %d", i, rc,
                     why ? why : "-", c->rc);
        if (c->rc >= 0 && rc >= 0) {
            cr_expect_eq(cl, c->cl, "split case %zu: %" PRIu64, i, cl);
            cr_expect_null(why, "split case %zu", i);
        } else if (c->rc < 0 && rc < 0) {
            cr_expect_str_eq(why, c->why, "split case %zu", i);
            cr_expect_eq(cl, 12345, "split case %zu: content_length changed", i);
        }
        free(hdr);
    }
}

Test(scgi_split, pairs_point_into_the_header)
{
    static const char hdr[] = "CONTENT_LENGTH\0" "5\0SCGI\0" "1\0QUERY_STRING\0\0"
                              "REQUEST_METHOD\0POST\0";
    sw_scgi_header_t h[4];
    uint64_t cl = 0;
    const char *why = NULL;
    int rc = sw_scgi_split(hdr, sizeof hdr - 1, h, 4, &cl, &why);

    cr_assert_eq(rc, 4, "%s", why ? why : "-");
    cr_expect_eq(cl, 5);
    cr_expect_eq(h[0].name, hdr);
    cr_expect_eq(h[0].name_len, 14);
    cr_expect_eq(h[0].value, hdr + 15);
    cr_expect_eq(h[0].value_len, 1);
    cr_expect_str_eq(h[1].name, "SCGI");
    cr_expect_str_eq(h[1].value, "1");
    cr_expect_str_eq(h[2].name, "QUERY_STRING");
    cr_expect_eq(h[2].value_len, 0);
    cr_expect_str_eq(h[2].value, "");
    cr_expect_str_eq(h[3].name, "REQUEST_METHOD");
    cr_expect_eq(h[3].name_len, 14);
    cr_expect_str_eq(h[3].value, "POST");
    cr_expect_eq(h[3].value + h[3].value_len + 1, hdr + sizeof hdr - 1);
}

Test(scgi_split, null_outputs_are_allowed)
{
    sw_scgi_header_t h[2];

    cr_expect_eq(sw_scgi_split(S("CONTENT_LENGTH\0" "3\0"), h, 2, NULL, NULL), 1);
    cr_expect_eq(sw_scgi_split(S("CONTENT_LENGTH\0" "x\0"), h, 2, NULL, NULL), -1);
    cr_expect_eq(sw_scgi_split(S("CONTENT_LENGTH\0" "3\0"), NULL, 0, NULL, NULL),
                 -1);
}

/* ---- sw_scgi_find -------------------------------------------------------- */

Test(scgi_find, exact_case_sensitive_match)
{
    static const char hdr[] = "CONTENT_LENGTH\0" "0\0HTTP_HOST\0example.org\0"
                              "HTTP_HOS\0x\0http_host\0y\0";
    sw_scgi_header_t h[8];
    const sw_scgi_header_t *f;

    cr_assert_eq(sw_scgi_split(hdr, sizeof hdr - 1, h, 8, NULL, NULL), 4);
    f = sw_scgi_find(h, 4, "HTTP_HOST");
    cr_assert_not_null(f);
    cr_expect_eq(f, &h[1]);
    cr_expect_str_eq(f->value, "example.org");
    cr_expect_eq(sw_scgi_find(h, 4, "HTTP_HOS"), &h[2]);
    cr_expect_eq(sw_scgi_find(h, 4, "http_host"), &h[3]);
    cr_expect_eq(sw_scgi_find(h, 4, "CONTENT_LENGTH"), &h[0]);
    cr_expect_null(sw_scgi_find(h, 4, "Http_Host"));
    cr_expect_null(sw_scgi_find(h, 4, "HTTP_HOST_"));
    cr_expect_null(sw_scgi_find(h, 4, "HTTP"));
    cr_expect_null(sw_scgi_find(h, 4, ""));
    cr_expect_null(sw_scgi_find(h, 4, NULL));
    cr_expect_null(sw_scgi_find(h, 0, "CONTENT_LENGTH"));
    cr_expect_null(sw_scgi_find(h, 1, "HTTP_HOST"));
}

/* ---- helpers ------------------------------------------------------------- */

/* $SW_SRCDIR/tests/data/scgi, else found from this file's path. */
static const char *corpus_dir(void)
{
    static char dir[4096];
    const char *src = getenv("SW_SRCDIR");

    if (dir[0])
        return dir;
    if (src && *src) {
        snprintf(dir, sizeof dir, "%s/" CORPUS_REL, src);
    } else {
        const char *f = __FILE__, *t = strstr(f, "tests/unit/test_scgi.c");
        int root = t ? (int)(t - f) : 0;

        if (root > 0)
            snprintf(dir, sizeof dir, "%.*s" CORPUS_REL, root, f);
        else
            snprintf(dir, sizeof dir, "./" CORPUS_REL);
    }
    return dir;
}

/* Reads MANIFEST into an array from alloc (cr_malloc for parameters, which
 * outlive the generator; malloc otherwise). Returns 0, or -1. */
static int load_manifest(void *(*alloc)(size_t), corpus_case_t **out,
                         size_t *n)
{
    char path[4200], line[512];
    size_t cap = 0, count = 0;
    corpus_case_t *cases = NULL;
    FILE *f;

    snprintf(path, sizeof path, "%s/MANIFEST", corpus_dir());
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#' && line[0] != '\n')
            cap++;
    rewind(f);
    cases = alloc(cap ? cap * sizeof *cases : 1);
    if (!cases)
        goto fail;
    while (fgets(line, sizeof line, f) && count < cap) {
        corpus_case_t *c = &cases[count];
        char feed[16];
        int used = 0;

        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        memset(c, 0, sizeof *c);
        if (sscanf(line, "%127s %zu %zu %15s %n", c->file, &c->max_header,
                   &c->max_pairs, feed, &used) < 4 || parse_status(feed, &c->feed) < 0)
            goto fail;
        if (c->feed == SW_SCGI_DONE) {
            const char *rest = line + used;
            int used2 = 0;

            if (sscanf(rest, "%d %n", &c->pairs, &used2) < 1)
                goto fail;
            if (c->pairs >= 0) {
                if (sscanf(rest + used2, "%" SCNu64, &c->cl) != 1)
                    goto fail;
            } else {
                snprintf(c->why, sizeof c->why, "%s", rest + used2);
            }
        }
        count++;
    }
    fclose(f);
    *out = cases;
    *n = count;
    return 0;

fail:
    /* the cases are leaked on this path: it only happens with a broken
     * MANIFEST, and cr_malloc'd memory cannot go to free() */
    fclose(f);
    return -1;
}

static int parse_status(const char *s, sw_scgi_status_t *st)
{
    static const struct {
        const char *name;
        sw_scgi_status_t st;
    } names[] = {
        { "MORE", SW_SCGI_MORE }, { "DONE", SW_SCGI_DONE },
        { "BAD", SW_SCGI_BAD }, { "TOO_BIG", SW_SCGI_TOO_BIG },
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(s, names[i].name) == 0) {
            *st = names[i].st;
            return 0;
        }
    }
    return -1;
}

/* Reads a corpus file into an exact-size buffer (ASan catches over-reads). */
static char *read_corpus_file(const char *rel, size_t *len)
{
    char path[4400];
    char *buf = NULL;
    long size;
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", corpus_dir(), rel);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0
        || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc(size ? (size_t)size : 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

static feed_result_t result_of(const sw_scgi_parser_t *p, sw_scgi_status_t st,
                               size_t decided_at)
{
    feed_result_t r = { st, decided_at, p->pos, 0, 0, 0 };

    if (st == SW_SCGI_DONE) {
        r.header_off = p->header_off;
        r.header_len = p->header_len;
        r.body_off = p->body_off;
    }
    return r;
}

static feed_result_t feed_whole(const char *buf, size_t len, size_t max)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st;

    sw_scgi_init(&p, max);
    st = sw_scgi_feed(&p, buf, len);
    return result_of(&p, st, st == SW_SCGI_MORE ? 0 : len);
}

/* Feeds prefixes of length 0, 1, ..., len, each in a fresh exact-size copy,
 * and checks that a final status stays final. */
static feed_result_t feed_bytewise(const char *buf, size_t len, size_t max)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st = SW_SCGI_MORE, first = SW_SCGI_MORE;
    size_t decided_at = 0;
    feed_result_t r = { SW_SCGI_MORE, 0, 0, 0, 0, 0 };

    sw_scgi_init(&p, max);
    for (size_t i = 0; i <= len; i++) {
        char *copy = malloc(i ? i : 1);

        cr_assert_not_null(copy);
        memcpy(copy, buf, i);
        st = sw_scgi_feed(&p, copy, i);
        free(copy);
        if (first == SW_SCGI_MORE && st != SW_SCGI_MORE) {
            first = st;
            decided_at = i;
            r = result_of(&p, st, decided_at);
        } else if (first != SW_SCGI_MORE) {
            cr_expect_eq(st, first, "final status changed at %zu", i);
            cr_expect_eq(p.pos, r.pos, "pos changed after the end, at %zu", i);
        }
    }
    if (first == SW_SCGI_MORE)
        r = result_of(&p, st, 0);
    return r;
}

static feed_result_t feed_two_chunks(const char *buf, size_t len, size_t max,
                                     size_t cut)
{
    sw_scgi_parser_t p;
    sw_scgi_status_t st;

    sw_scgi_init(&p, max);
    st = sw_scgi_feed(&p, buf, cut);
    if (st != SW_SCGI_MORE)
        return result_of(&p, st, cut);
    st = sw_scgi_feed(&p, buf, len);
    return result_of(&p, st, st == SW_SCGI_MORE ? 0 : len);
}

/* decided_at is not compared: it depends on how the input was cut. */
static void expect_same(const feed_result_t *a, const feed_result_t *b,
                        const char *what, const char *name)
{
    cr_expect_eq(a->st, b->st, "%s %s: status %d vs %d", name, what, a->st, b->st);
    cr_expect_eq(a->pos, b->pos, "%s %s: pos %zu vs %zu", name, what, a->pos,
                 b->pos);
    cr_expect_eq(a->header_off, b->header_off, "%s %s", name, what);
    cr_expect_eq(a->header_len, b->header_len, "%s %s", name, what);
    cr_expect_eq(a->body_off, b->body_off, "%s %s", name, what);
}

static void free_cases(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}
