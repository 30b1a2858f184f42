/* handover.h: zero-downtime handover to a fresh copy of the server (the way
 * nginx upgrades its binary), and start-up from inherited listening sockets
 * (a handover's, or systemd's socket activation: LISTEN_FDS/LISTEN_PID).
 *
 * The old process starts the new one with its listening sockets at fds
 * 3..3+n-1 (LISTEN_FDS=n, LISTEN_PID=<new pid>, their addresses in
 * SUBWSGI_LISTEN_NAMES, one per line), a pipe at fd 3+n (SUBWSGI_READY_FD)
 * on which the new one writes "READY" once every app serves, or "FAILED
 * <why>" and exits, and the state to continue (SUBWSGI_HANDOVER_STATE, JSON:
 * handovers, per-app generation and counters). Exactly those descriptors
 * pass: the copies made on the way and anything else the old process has
 * open are closed before the exec, and the successor marks what it takes
 * close-on-exec and closes the sockets its config does not name. */
#ifndef SW_HANDOVER_H
#define SW_HANDOVER_H

#include <stddef.h>
#include <sys/types.h>

/* Sockets one handover (or systemd) can pass. */
#define SW_HANDOVER_MAX_FDS 64

/* Start-up, before binding (main thread): remembers the executable and
 * argv (a handover runs the binary installed at that path now, so an
 * upgrade is a handover), takes over inherited sockets and the passed
 * state, and removes their variables from the environment. */
void sw_handover_init(int argc, char **argv);

/* The inherited socket for an address ("127.0.0.1:9000", "unix:/p"), or
 * -1. Each is handed out once; sw_handover_close_unused closes the rest. */
int sw_handover_take_fd(const char *addr_text);
void sw_handover_close_unused(void);

/* Whether this process was started by a handover, and the JSON state the
 * old process passed ("" when none). */
int sw_handover_is_successor(void);
const char *sw_handover_state(void);

/* In the new process: every app serves / start-up failed. */
void sw_handover_ready(void);
void sw_handover_failed(const char *why);

/* In the old process: starts the successor with the n listening sockets
 * (fds[i] listens on names[i], n <= SW_HANDOVER_MAX_FDS; the caller passes
 * only those the successor's config names) and state, waits up to
 * timeout for it.
 * Returns 0 when it serves (then stop accepting and drain), -1 when it was
 * aborted, with the reason (the successor's error and traceback) in why. */
int sw_handover_run(const int *fds, const char *const *names, size_t n, const char *state,
                    double timeout, char *why, size_t whylen, pid_t *successor);

#endif
