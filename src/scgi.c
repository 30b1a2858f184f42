/* scgi.c: the SCGI request header parser (see scgi.h). Finds the netstring
 * "LEN:HEADERS," incrementally, then splits HEADERS into checked pairs.
 * Pure: no I/O, no allocation, no Python. */
#include "scgi.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* Parser states (sw_scgi_parser_t.state). The error states are sticky, like
 * ST_DONE: once decided, every later call returns the same status. */
enum {
    ST_LENGTH = 0,   /* reading the netstring length digits */
    ST_HEADER,       /* ':' seen; waiting for the header and its ',' */
    ST_DONE,
    ST_BAD,
    ST_TOO_BIG
};

#define CL_NAME "CONTENT_LENGTH"
#define CL_MAX_DIGITS 19   /* INT64_MAX has 19 digits */

/* The reasons sw_scgi_split gives; short, for log lines. */
static const char WHY_NO_NUL[] = "header does not end in NUL";
static const char WHY_NO_VALUE[] = "header name without a value";
static const char WHY_EMPTY_NAME[] = "empty header name";
static const char WHY_DUP[] = "duplicate header name";
static const char WHY_TOO_MANY[] = "too many headers";
static const char WHY_CL_MISSING[] = "CONTENT_LENGTH is missing";
static const char WHY_CL_NOT_FIRST[] = "CONTENT_LENGTH is not the first header";
static const char WHY_CL_NOT_NUMBER[] = "CONTENT_LENGTH is not a decimal number";
static const char WHY_CL_TOO_LARGE[] = "CONTENT_LENGTH is too large";

static sw_scgi_status_t feed_length(sw_scgi_parser_t *p, const char *buf,
                                    size_t len);
static sw_scgi_status_t feed_header(sw_scgi_parser_t *p, const char *buf,
                                    size_t len);
static sw_scgi_status_t stop(sw_scgi_parser_t *p, int state, size_t pos);
static int parse_content_length(const char *s, size_t n, uint64_t *out,
                                const char **why);
static bool name_eq(const sw_scgi_header_t *h, const char *name, size_t len);

void sw_scgi_init(sw_scgi_parser_t *p, size_t max_header_size)
{
    memset(p, 0, sizeof *p);
    p->max_header_size = max_header_size;
    p->state = ST_LENGTH;
}

sw_scgi_status_t sw_scgi_feed(sw_scgi_parser_t *p, const char *buf, size_t len)
{
    switch (p->state) {
    case ST_LENGTH:
        return feed_length(p, buf, len);
    case ST_HEADER:
        return feed_header(p, buf, len);
    case ST_DONE:
        return SW_SCGI_DONE;
    case ST_TOO_BIG:
        return SW_SCGI_TOO_BIG;
    default:
        return SW_SCGI_BAD;
    }
}

int sw_scgi_split(const char *header, size_t header_len,
                  sw_scgi_header_t *out, size_t max,
                  uint64_t *content_length, const char **why)
{
    const char *reason;
    size_t n = 0, off = 0;
    uint64_t cl;

    if (header_len == 0) {
        reason = WHY_CL_MISSING;
        goto fail;
    }
    /* "The headers are a sequence of null-terminated strings": the last byte
     * must be a NUL, which also bounds every memchr below. */
    if (header[header_len - 1] != '\0') {
        reason = WHY_NO_NUL;
        goto fail;
    }
    while (off < header_len) {
        sw_scgi_header_t h;

        h.name = header + off;
        h.name_len = (size_t)((const char *)memchr(h.name, '\0',
                                                   header_len - off) - h.name);
        off += h.name_len + 1;
        if (h.name_len == 0) {
            reason = WHY_EMPTY_NAME;
            goto fail;
        }
        if (off == header_len) {
            reason = WHY_NO_VALUE;
            goto fail;
        }
        h.value = header + off;
        h.value_len = (size_t)((const char *)memchr(h.value, '\0',
                                                    header_len - off) - h.value);
        off += h.value_len + 1;
        if (n >= max || n >= (size_t)INT_MAX) {
            reason = WHY_TOO_MANY;
            goto fail;
        }
        /* "Duplicate names are not allowed in the headers." O(n^2), bounded
         * by max; the cheap length and first-byte tests skip most memcmps. */
        for (size_t i = 0; i < n; i++) {
            if (out[i].name_len == h.name_len && out[i].name[0] == h.name[0]
                && memcmp(out[i].name, h.name, h.name_len) == 0) {
                reason = WHY_DUP;
                goto fail;
            }
        }
        out[n++] = h;
    }
    /* "The first header must have the name "CONTENT_LENGTH" and a value that
     * is the length of the body encoded as a decimal number." */
    if (!name_eq(&out[0], CL_NAME, sizeof CL_NAME - 1)) {
        reason = sw_scgi_find(out + 1, n - 1, CL_NAME) ? WHY_CL_NOT_FIRST
                                                        : WHY_CL_MISSING;
        goto fail;
    }
    if (parse_content_length(out[0].value, out[0].value_len, &cl, &reason) < 0)
        goto fail;
    if (content_length)
        *content_length = cl;
    if (why)
        *why = NULL;
    return (int)n;

fail:
    if (why)
        *why = reason;
    return -1;
}

const sw_scgi_header_t *sw_scgi_find(const sw_scgi_header_t *h, size_t n,
                                     const char *name)
{
    size_t len;

    if (!name)
        return NULL;
    len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        if (name_eq(&h[i], name, len))
            return &h[i];
    }
    return NULL;
}

/* Reads the length digits from p->pos on. The netstring starts at offset 0 of
 * buf, so offset i is also the number of digits seen before buf[i]. */
static sw_scgi_status_t feed_length(sw_scgi_parser_t *p, const char *buf,
                                    size_t len)
{
    size_t max = p->max_header_size;

    for (size_t i = p->pos; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        size_t d;

        if (c == ':') {
            if (i == 0)                     /* empty length */
                return stop(p, ST_BAD, i + 1);
            /* header_off + length + 1 must stay addressable; only an absurd
             * max_header_size near SIZE_MAX can get here. */
            if (p->length > SIZE_MAX - (i + 2))
                return stop(p, ST_TOO_BIG, i + 1);
            p->state = ST_HEADER;
            p->header_off = i + 1;
            p->pos = i + 1;
            return feed_header(p, buf, len);
        }
        if (c < '0' || c > '9')
            return stop(p, ST_BAD, i + 1);
        /* A netstring length has no leading zeros: "0" alone is the only
         * length that starts with '0'. */
        if (i > 0 && p->length == 0)
            return stop(p, ST_BAD, i + 1);
        d = (size_t)(c - '0');
        /* length * 10 + d > max, decided digit by digit so a long digit
         * string neither overflows nor waits for the ':'. Once the first
         * test fails, length * 10 <= max, so max - length * 10 is safe. */
        if (p->length > max / 10 || d > max - p->length * 10)
            return stop(p, ST_TOO_BIG, i + 1);
        p->length = p->length * 10 + d;
    }
    p->pos = len > p->pos ? len : p->pos;
    return SW_SCGI_MORE;
}

/* The header bytes are not examined here (sw_scgi_split does that); only
 * the byte after them, which the netstring format requires to be ','. */
static sw_scgi_status_t feed_header(sw_scgi_parser_t *p, const char *buf,
                                    size_t len)
{
    size_t comma = p->header_off + p->length;

    if (len <= comma) {
        p->pos = len > p->pos ? len : p->pos;
        return SW_SCGI_MORE;
    }
    if (buf[comma] != ',')
        return stop(p, ST_BAD, comma + 1);
    p->header_len = p->length;
    p->body_off = comma + 1;
    p->pos = comma + 1;
    p->state = ST_DONE;
    return SW_SCGI_DONE;
}

/* Enters a sticky error state; pos is just past the byte that decided it. */
static sw_scgi_status_t stop(sw_scgi_parser_t *p, int state, size_t pos)
{
    p->state = state;
    p->pos = pos;
    return state == ST_TOO_BIG ? SW_SCGI_TOO_BIG : SW_SCGI_BAD;
}

/* 1..19 ASCII digits, no sign or space, at most INT64_MAX. Leading zeros
 * are accepted (the spec only says "a decimal number"). */
static int parse_content_length(const char *s, size_t n, uint64_t *out,
                                const char **why)
{
    uint64_t v = 0;

    if (n == 0) {
        *why = WHY_CL_NOT_NUMBER;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            *why = WHY_CL_NOT_NUMBER;
            return -1;
        }
    }
    if (n > CL_MAX_DIGITS) {
        *why = WHY_CL_TOO_LARGE;
        return -1;
    }
    /* 19 digits stay below 10^19 < 2^64: no overflow in v. */
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > (uint64_t)INT64_MAX) {
        *why = WHY_CL_TOO_LARGE;
        return -1;
    }
    *out = v;
    return 0;
}

static bool name_eq(const sw_scgi_header_t *h, const char *name, size_t len)
{
    return h->name_len == len && memcmp(h->name, name, len) == 0;
}
