/* wsgi_header.c: the checks on a WSGI app's status and response headers
 * (see wsgi_header.h). They decide what reaches the front end's parser: a
 * control character or a second status line in our CGI-style head would
 * split or change the response nginx or Apache builds from it. */
#include "wsgi_header.h"

#include <string.h>
#include <strings.h>

static int token_char(unsigned char c);
static int value_char(unsigned char c);
static int hop_by_hop(const char *name, size_t nlen);

int sw_wsgi_status_check(const char *s, size_t len, const char **why)
{
    /* RFC 9110: status-code = 3DIGIT; reason-phrase = *( HTAB / SP /
     * VCHAR / obs-text ). PEP 3333: "Status-Code and Reason-Phrase ...
     * separated by a single space". */
    if (len < 4 || s[0] < '1' || s[0] > '9' || s[1] < '0' || s[1] > '9' ||
        s[2] < '0' || s[2] > '9' || s[3] != ' ') {
        *why = "bad status: want a 3-digit code, a space and a reason, like '200 OK'";
        return -1;
    }
    for (size_t i = 4; i < len; i++)
        if (!value_char((unsigned char)s[i])) {
            *why = "control character in the status";
            return -1;
        }
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

int sw_wsgi_header_check(sw_wsgi_head_t *h, const char *name, size_t nlen,
                         const char *value, size_t vlen, const char **why,
                         size_t *bad)
{
    if (nlen == 0) {
        *why = "empty header name";
        return -1;
    }
    for (size_t i = 0; i < nlen; i++)
        if (!token_char((unsigned char)name[i])) {
            *why = "invalid header name: not an RFC 9110 token";
            return -1;
        }
    if (nlen == 6 && strncasecmp(name, "Status", 6) == 0) {
        /* A CGI app's way to set the status; in WSGI it is start_response's
         * first argument, and a second Status line would leave the front
         * end to pick one. */
        *why = "'Status' is not a WSGI response header: pass the status to start_response";
        return -1;
    }
    if (hop_by_hop(name, nlen)) {
        /* PEP 3333: "hop-by-hop" headers are the server's (and the front
         * end's) business; an app that sends one is in error. */
        *why = "hop-by-hop header (Connection, Keep-Alive, Proxy-Authenticate, "
               "Proxy-Authorization, TE, Trailers, Transfer-Encoding, Upgrade) from the app";
        return -1;
    }
    for (size_t i = 0; i < vlen; i++)
        if (!value_char((unsigned char)value[i])) {
            *why = "control character in a header value";
            if (bad)
                *bad = i;
            return -1;
        }
    if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        /* We cut the body at this length (PEP 3333: "the server should
         * not transmit more bytes to the client than the header allows"),
         * so it must say one number; two could tell the front end two. */
        if (h->content_length >= 0) {
            *why = "a second Content-Length header";
            return -1;
        }
        if (vlen == 0 || vlen > 18) {
            *why = "Content-Length is not a decimal number of up to 18 digits";
            return -1;
        }
        int64_t v = 0;
        for (size_t i = 0; i < vlen; i++) {
            if (value[i] < '0' || value[i] > '9') {
                *why = "Content-Length is not a decimal number of up to 18 digits";
                return -1;
            }
            v = v * 10 + (value[i] - '0');
        }
        h->content_length = v;
    }
    return 0;
}

/* RFC 9110 tchar: "!#$%&'*+-.^_`|~", digits and letters. */
static int token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* RFC 9110 field-vchar, SP and HTAB: every byte but the C0 controls other
 * than HTAB, and DEL. (obs-fold is obsolete: a CR or LF is refused.) */
static int value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* PEP 3333's list (RFC 2616 section 13.5.1). */
static int hop_by_hop(const char *name, size_t nlen)
{
    static const char *const names[] = {"Connection", "Keep-Alive", "Proxy-Authenticate",
                                        "Proxy-Authorization", "TE", "Trailers",
                                        "Transfer-Encoding", "Upgrade"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (nlen == strlen(names[i]) && strncasecmp(name, names[i], nlen) == 0)
            return 1;
    return 0;
}
