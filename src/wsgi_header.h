/* wsgi_header.h: validating the status and headers a WSGI app passes to
 * start_response, on plain bytes (their latin-1 encoding): no Python, so
 * the fuzz target (tests/fuzz/fuzz_wsgi_header.c) calls it directly. */
#ifndef SW_WSGI_HEADER_H
#define SW_WSGI_HEADER_H

#include <stddef.h>
#include <stdint.h>

/* What the headers checked so far said; zero it with SW_WSGI_HEAD_INIT. */
typedef struct {
    int64_t content_length;      /* -1 until a Content-Length header */
} sw_wsgi_head_t;

#define SW_WSGI_HEAD_INIT {.content_length = -1}

/* Checks a status such as "200 OK": three digits, the first 1-9, a space,
 * then a reason without control characters. Returns the code (100-999), or
 * -1 with *why set to a static message. */
int sw_wsgi_status_check(const char *s, size_t len, const char **why);

/* Checks one header: the name a non-empty RFC 9110 token other than
 * "Status" (the CGI-style head's status line is ours, from start_response's
 * status); the value only VCHAR, obs-text (0x80-0xff), SP and HTAB;
 * Content-Length only digits (at most 18) and only once, recorded in *h.
 * Returns 0, or -1 with *why set to a static message; on a bad value byte,
 * *bad (may be NULL) gets its offset in value. */
int sw_wsgi_header_check(sw_wsgi_head_t *h, const char *name, size_t nlen,
                         const char *value, size_t vlen, const char **why,
                         size_t *bad);

#endif
