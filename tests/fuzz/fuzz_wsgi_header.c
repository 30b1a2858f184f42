/* fuzz_wsgi_header.c: libFuzzer target for the response status and header
 * checks (src/wsgi_header.c). The input is records of one length byte and
 * that many bytes: the status, then name and value pairs. Each answer is
 * compared with an independent model of the rules; when everything is
 * accepted, the CGI-style head start_response would build is parsed back
 * and must give one status line and exactly the headers given. Any
 * difference traps. See tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsgi_header.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)
#define MAX_HEADERS 64

typedef struct {
    const char *p;
    size_t len;
} span_t;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int next_record(const uint8_t **data, size_t *size, span_t *out);
static int model_status(const span_t *s);
static int model_header(const span_t *n, const span_t *v, int *seen_cl, int64_t *cl);
static int is_tchar(unsigned char c);
static int ieq(const span_t *s, const char *lit);
static void check_head(const span_t *status, const span_t *names, const span_t *values,
                       size_t n, int64_t cl);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    span_t status, names[MAX_HEADERS], values[MAX_HEADERS];
    const char *why = NULL;
    if (!next_record(&data, &size, &status))
        return 0;

    /* An exact-size copy, so ASan sees a read past its end. */
    char *copy = malloc(status.len ? status.len : 1);
    CHECK(copy);
    memcpy(copy, status.p, status.len);
    int code = sw_wsgi_status_check(copy, status.len, &why);
    free(copy);
    CHECK(code == model_status(&status));
    CHECK(code >= 0 ? (code >= 100 && code <= 999) : (why && why[0]));
    int all_ok = code >= 0;

    sw_wsgi_head_t head = SW_WSGI_HEAD_INIT;
    int seen_cl = 0;
    int64_t model_cl = -1;
    size_t n = 0;
    while (n < MAX_HEADERS && next_record(&data, &size, &names[n]) &&
           next_record(&data, &size, &values[n])) {
        char *nc = malloc(names[n].len ? names[n].len : 1);
        char *vc = malloc(values[n].len ? values[n].len : 1);
        CHECK(nc && vc);
        memcpy(nc, names[n].p, names[n].len);
        memcpy(vc, values[n].p, values[n].len);
        size_t bad = SIZE_MAX;
        why = NULL;
        sw_wsgi_head_t before = head;
        int rc = sw_wsgi_header_check(&head, nc, names[n].len, vc, values[n].len, &why, &bad);
        free(nc);
        free(vc);
        int want = model_header(&names[n], &values[n], &seen_cl, &model_cl);
        CHECK(rc == want);
        if (rc < 0) {
            CHECK(why && why[0]);
            /* A refused header changes nothing. */
            CHECK(head.content_length == before.content_length);
            if (bad != SIZE_MAX) {
                unsigned char c = (unsigned char)values[n].p[bad];
                CHECK(bad < values[n].len && (c == 0x7f || (c < 0x20 && c != '\t')));
            }
            all_ok = 0;
            /* start_response stops at the first bad header; go on checking
             * the validator with the next ones all the same. */
        } else {
            CHECK(bad == SIZE_MAX);
        }
        CHECK(head.content_length == model_cl);
        n++;
    }
    if (all_ok)
        check_head(&status, names, values, n, head.content_length);
    return 0;
}

static int next_record(const uint8_t **data, size_t *size, span_t *out)
{
    if (*size < 1)
        return 0;
    size_t len = (*data)[0];
    if (len > *size - 1)
        len = *size - 1;
    out->p = (const char *)*data + 1;
    out->len = len;
    *data += 1 + len;
    *size -= 1 + len;
    return 1;
}

/* The model: written from RFC 9110 and PEP 3333, not from the code. */
static int model_status(const span_t *s)
{
    if (s->len < 4)
        return -1;
    for (int i = 0; i < 3; i++)
        if (s->p[i] < '0' || s->p[i] > '9')
            return -1;
    if (s->p[0] == '0' || s->p[3] != ' ')
        return -1;
    for (size_t i = 4; i < s->len; i++) {
        unsigned char c = (unsigned char)s->p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
    }
    return (s->p[0] - '0') * 100 + (s->p[1] - '0') * 10 + (s->p[2] - '0');
}

static int model_header(const span_t *n, const span_t *v, int *seen_cl, int64_t *cl)
{
    if (n->len == 0)
        return -1;
    for (size_t i = 0; i < n->len; i++)
        if (!is_tchar((unsigned char)n->p[i]))
            return -1;
    if (ieq(n, "status"))
        return -1;
    /* PEP 3333's hop-by-hop headers are the server's. */
    static const char *const hop[] = {"connection", "keep-alive", "proxy-authenticate",
                                      "proxy-authorization", "te", "trailers",
                                      "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (ieq(n, hop[i]))
            return -1;
    for (size_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return -1;
    }
    if (ieq(n, "content-length")) {
        if (*seen_cl || v->len == 0 || v->len > 18)
            return -1;
        int64_t x = 0;
        for (size_t i = 0; i < v->len; i++) {
            if (v->p[i] < '0' || v->p[i] > '9')
                return -1;
            x = x * 10 + (v->p[i] - '0');
        }
        *seen_cl = 1;
        *cl = x;
    }
    return 0;
}

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && memchr("!#$%&'*+-.^_`|~", c, 15) != NULL;
}

static int ieq(const span_t *s, const char *lit)
{
    size_t n = strlen(lit);
    if (s->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s->p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return 0;
    }
    return 1;
}

/* Builds the head as build_head does and parses it as a front end would:
 * lines end at CRLF (a bare CR or LF anywhere is a failure), the first is
 * the status, each other has its name before the first ':', the last is
 * empty; exactly one status and at most one Content-Length come out. */
static void check_head(const span_t *status, const span_t *names, const span_t *values,
                       size_t n, int64_t cl)
{
    size_t cap = 10 + status->len + 4, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += names[i].len + values[i].len + 4;
    char *buf = malloc(cap);
    CHECK(buf);
#define PUT(s, l) do { memcpy(buf + len, (s), (l)); len += (l); } while (0)
    PUT("Status: ", 8);
    PUT(status->p, status->len);
    PUT("\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        PUT(names[i].p, names[i].len);
        PUT(": ", 2);
        PUT(values[i].p, values[i].len);
        PUT("\r\n", 2);
    }
    PUT("\r\n", 2);
#undef PUT
    size_t line = 0, start = 0, statuses = 0, cls = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            CHECK(i > 0 && buf[i - 1] == '\r');
        if (buf[i] == '\r')
            CHECK(i + 1 < len && buf[i + 1] == '\n');
        if (buf[i] != '\r')
            continue;
        span_t l = {buf + start, i - start};
        if (line == 0) {
            CHECK(l.len == 8 + status->len && memcmp(l.p, "Status: ", 8) == 0);
        } else if (line <= n) {
            const char *colon = memchr(l.p, ':', l.len);
            CHECK(colon);
            span_t name = {l.p, (size_t)(colon - l.p)};
            CHECK(name.len == names[line - 1].len &&
                  memcmp(name.p, names[line - 1].p, name.len) == 0);
            statuses += ieq(&name, "status");
            cls += ieq(&name, "content-length");
        } else {
            CHECK(l.len == 0 && i + 2 == len);
        }
        line++;
        start = i + 2;
        i++;
    }
    CHECK(line == n + 2);
    CHECK(statuses == 0 && cls <= 1 && (cls == 1) == (cl >= 0));
    free(buf);
}
