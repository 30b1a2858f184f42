/* listen.h: listener addresses (HOST:PORT, [IPV6]:PORT, unix:/path), binding
 * and connecting. Errors go into a caller buffer, never to a log. */
#ifndef SW_LISTEN_H
#define SW_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct {
    struct sockaddr_storage sa;
    socklen_t len;
    int is_unix;
    char text[256];          /* normalised text form for logs and status */
} sw_addr_t;

/* Parses an address. Returns 0, or -1 with a message in err. */
int sw_addr_parse(const char *text, sw_addr_t *out, char *err, size_t errlen);

/* Creates a non-blocking, close-on-exec listening socket. A unix socket's
 * stale file is replaced and it gets mode socket_mode. Returns the fd or -1
 * with a message in err. */
int sw_listen_bind(const sw_addr_t *a, unsigned socket_mode, int backlog,
                   char *err, size_t errlen);

/* Blocking connect. Returns the fd or -1 with a message in err. */
int sw_addr_connect(const sw_addr_t *a, char *err, size_t errlen);

#endif
