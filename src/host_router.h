/* host_router.h: host mode's shared listener, in the master (DESIGN section
 * 9): it accepts, reads the SCGI header (bounded in size and time), routes
 * by host and path to the owner whose app is mounted there, and passes the
 * connection with the bytes already read to that owner's worker over a
 * channel (SCM_RIGHTS on a SOCK_SEQPACKET socket pair: one message, one
 * connection). 400/404/408/431 are answered here; a connection for an
 * owner whose worker is not serving (starting, restarting after a crash,
 * backing off) waits here up to load-timeout, then gets 503.
 *
 * One thread: the master's loop (host.c) drives it; no lock. */
#ifndef SW_HOST_ROUTER_H
#define SW_HOST_ROUTER_H

#include <stddef.h>

#include "config.h"

typedef struct sw_router sw_router_t;

/* Every epoll tag of the master starts with one of these. */
typedef enum { SW_TAG_RELAY = 1, SW_TAG_ROUTER, SW_TAG_CONTROL, SW_TAG_WAKE } sw_host_tag_t;

/* A router for cfg's shared listeners (cfg->scgi), on the master's epoll
 * set. owners[i] is the [user:NAME] of owner i. Returns NULL with a
 * message in err. */
/* (sw_router_add_owner adds more later.) */
sw_router_t *sw_router_new(int epfd, const sw_config_t *cfg, const char *const *owners,
                           size_t n_owners, char *err, size_t errlen);

/* One more owner (a SIGHUP added it): its index (the next one), or -1 when
 * out of memory. Owners are never taken out: a removed one keeps its
 * index and gets no routes. */
int sw_router_add_owner(sw_router_t *r);

/* After a SIGHUP that kept the shared listeners: the new config's routes
 * and limits; owners[i] is owner i's name, NULL for a removed one. cfg
 * must outlive the router (or the next call). Returns 0, or -1 (out of
 * memory: the old ones stay). */
int sw_router_set_config(sw_router_t *r, const sw_config_t *cfg, const char *const *owners);

/* Starts accepting on listener i (cfg->scgi.items[i]), fd listening. */
int sw_router_listen(sw_router_t *r, size_t listener, int fd, char *err, size_t errlen);

/* The channel to pass listener's connections of owner on (the master's end
 * of the pair; the router does not own it). */
void sw_router_set_channel(sw_router_t *r, size_t listener, size_t owner, int fd);

/* Whether owner's worker serves: when it becomes 1, what waited for it is
 * passed on. */
void sw_router_owner_serving(sw_router_t *r, size_t owner, int serving);

/* An epoll event whose tag is the router's. */
void sw_router_on_event(sw_router_t *r, void *tag);

/* The next deadline (CLOCK_MONOTONIC seconds), or -1; and acting on those
 * that passed. */
double sw_router_next_deadline(const sw_router_t *r);
void sw_router_expire(sw_router_t *r, double now);

/* Closes every connection it holds (answering those that wait with 503)
 * and stops accepting; frees it. */
void sw_router_free(sw_router_t *r);

#endif
