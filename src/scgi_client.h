/* scgi_client.h: a small blocking SCGI client, shared by scgi-request and
 * the integration tests. Sends one request, reads the CGI-style response
 * until the server closes the connection. */
#ifndef SW_SCGI_CLIENT_H
#define SW_SCGI_CLIENT_H

#include <stddef.h>
#include "listen.h"

typedef struct {
    int status;              /* from "Status: NNN ..."; 200 when absent; 0 if unparsable */
    char *head;              /* the header block, NUL-terminated, without the blank line */
    char *body;              /* body bytes (NUL-terminated for convenience) */
    size_t body_len;
    char *raw;               /* everything received */
    size_t raw_len;
} sw_scgi_response_t;

/* Builds the netstring header (CONTENT_LENGTH first, SCGI=1,
 * REQUEST_METHOD, REQUEST_URI, DOCUMENT_URI and QUERY_STRING from uri,
 * SERVER_PROTOCOL, SERVER_NAME/SERVER_PORT, REMOTE_ADDR, then each
 * "Name: value" of headers as HTTP_NAME, with CONTENT_TYPE and HOST mapped
 * like a web server does) and performs the request. timeout_s bounds each
 * socket operation. Returns 0, or -1 with a message in err (connection
 * failure or timeout). resp is filled on success; free it with
 * sw_scgi_response_free. */
int sw_scgi_client_request(const sw_addr_t *addr, const char *method,
                           const char *uri, const char *const *headers,
                           size_t n_headers, const char *body, size_t body_len,
                           double timeout_s, sw_scgi_response_t *resp,
                           char *err, size_t errlen);

/* Sends raw bytes as they are (for bad-input tests), optionally half-closes
 * the write side, then reads the response like sw_scgi_client_request. */
int sw_scgi_client_raw(const sw_addr_t *addr, const char *bytes, size_t len,
                       int shut_write, double timeout_s,
                       sw_scgi_response_t *resp, char *err, size_t errlen);

/* Returns the value of header NAME (case-insensitive) in resp->head as a new
 * malloc'd string, or NULL. */
char *sw_scgi_response_header(const sw_scgi_response_t *resp, const char *name);

void sw_scgi_response_free(sw_scgi_response_t *resp);

#endif
