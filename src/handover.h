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

/* Starting a process of this binary with sockets (a successor, or host
 * mode's worker processes): the n listening sockets at 3..3+n-1 (with
 * LISTEN_FDS/LISTEN_PID/SUBWSGI_LISTEN_NAMES), the readiness pipe at 3+n
 * (SUBWSGI_READY_FD) and extra_fds at 3+n+1 onwards, in order; stdin,
 * stdout and stderr replaced by the given descriptors (-1: inherited).
 * argv NULL: this process's own. Nothing else passes. */
#define SW_SPAWN_MAX_EXTRA 8
typedef struct {
    const int *fds;
    const char *const *names;
    size_t n;
    const int *extra_fds;
    size_t n_extra;
    const char *const *extra_env;   /* "NAME=VALUE", NULL-terminated; or NULL */
    char *const *argv;
    const char *state;              /* SUBWSGI_HANDOVER_STATE */
    int stdin_fd, stdout_fd, stderr_fd;
} sw_spawn_t;

/* Forks and execs; returns 0 with the child's pid and the read end of its
 * readiness pipe (close-on-exec; the child writes "READY\n" or "FAILED
 * why\n" and closes it), or -1 with the reason in why. */
int sw_handover_spawn(const sw_spawn_t *sp, pid_t *pid, int *ready_r, char *why, size_t whylen);

/* systemd's Type=notify: READY=1, RELOADING=1 (a handover), MAINPID=N (its
 * successor), STOPPING=1. A no-op without libsystemd or outside systemd. */
void sw_handover_notify(const char *state);

/* The path of the binary a spawn runs. */
const char *sw_handover_exe(void);

/* In the old process: starts the successor with the n listening sockets
 * (fds[i] listens on names[i], n <= SW_HANDOVER_MAX_FDS; the caller passes
 * only those the successor's config names) and state, waits up to
 * timeout for it.
 * Returns 0 when it serves (then stop accepting and drain), -1 when it was
 * aborted, with the reason (the successor's error and traceback) in why. */
int sw_handover_run(const int *fds, const char *const *names, size_t n, const char *state,
                    double timeout, char *why, size_t whylen, pid_t *successor);

#endif
