/* host_control.h: the control channel between host mode's master and one
 * worker (DESIGN section 9): a SOCK_SEQPACKET socket pair, one JSON object
 * per message, at most SW_CTL_MAX bytes.
 *
 * master -> worker (trusted: the master started the worker):
 *   {"op": "reload"|"destroy", "id": N, "app": NAME, "user": USER, "wait": S}
 * worker -> master (untrusted: the owner's apps run in the worker; the
 * master bounds, validates and speaks for no app the owner does not own):
 *   {"op": "report", "apps": [APP...], "server": {...}}  every second and
 *        after each command (status.h's documents)
 *   {"op": "result", "id": N, "result": R, "msg": TEXT}  R: sw_cmd_result_t
 *   {"op": "recycle", "id": N, "user": USER}  a process reload of one of its
 *        apps (reload_mode = process, recycle-rss) or SIGUSR2: the master
 *        hands the owner's worker over (this worker is the old one), then
 *   master -> worker {"op": "result", "id": N, "result": R, "msg": TEXT}
 *        before it tells the old one to drain.
 *
 * The worker's side runs on a thread of its own (sw_ctl_worker_start): it
 * answers through single mode's admin backend (admin/backend_server.h), so a
 * command does in a worker exactly what it does in single mode. */
#ifndef SW_HOST_CONTROL_H
#define SW_HOST_CONTROL_H

#include <jansson.h>

#define SW_CTL_MAX (1024 * 1024)
#define SW_CTL_REPORT_INTERVAL 1.0

struct sw_server;

/* Sends msg as one message (any thread: a message is never interleaved).
 * Returns 0, or -1 (errno set: EMSGSIZE when it is over SW_CTL_MAX). */
int sw_ctl_send(int fd, const json_t *msg);

/* Receives one message without blocking: a JSON object (a new reference),
 * or NULL with *status 0 (nothing there), 1 (the other end closed) or -1
 * (a message that is not a JSON object: dropped). */
json_t *sw_ctl_recv(int fd, int *status);

/* Sizes the socket buffers of a new pair for messages of SW_CTL_MAX (the
 * master does it for both ends, as root). */
void sw_ctl_size_buffers(int fd);

/* In a worker: starts the thread that reports to the master on fd and runs
 * its commands on server s. Returns 0 or -1. */
int sw_ctl_worker_start(struct sw_server *s, int fd);

/* In a worker: asks the master for a handover of this worker and waits up
 * to wait_s (< 0: not at all, ACCEPTED) for its result (any thread but
 * the control thread). */
#include "app.h"
sw_cmd_result_t sw_ctl_worker_recycle(const char *user, double wait_s, char *msg, size_t msglen);

/* Stops it (at shutdown). */
void sw_ctl_worker_stop(void);

#endif
