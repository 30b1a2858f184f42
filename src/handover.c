/* handover.c: process handover and inherited sockets (see handover.h). */
#include "handover.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "log.h"

#ifdef HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#define MAX_INHERITED SW_HANDOVER_MAX_FDS

static struct {
    char exe[PATH_MAX];
    char **argv;
    int n_inherited;
    int fds[MAX_INHERITED];
    char *names[MAX_INHERITED];
    int taken[MAX_INHERITED];
    int ready_fd;
    int successor;
    char *state;
} H = {.ready_fd = -1};

static void unset_all(void)
{
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("SUBWSGI_LISTEN_NAMES");
    unsetenv("SUBWSGI_READY_FD");
    unsetenv("SUBWSGI_HANDOVER_STATE");
}

void sw_handover_init(int argc, char **argv)
{
    (void)argc;
    H.argv = argv;
    /* The installed path, resolved now: running it later picks up a binary
     * replaced since (an upgrade), which /proc/self/exe would not. */
    if (!realpath("/proc/self/exe", H.exe))
        snprintf(H.exe, sizeof H.exe, "%s", argv[0]);

    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (pid && fds && strtol(pid, NULL, 10) == (long)getpid()) {
        long n = strtol(fds, NULL, 10);
        if (n < 0 || n > MAX_INHERITED)
            n = 0;
        /* Names: ours (newline-separated addresses) or systemd's
         * (colon-separated FileDescriptorName=, which can't hold an
         * address with a port: systemd sockets are matched by address). */
        char *names = getenv("SUBWSGI_LISTEN_NAMES") ? strdup(getenv("SUBWSGI_LISTEN_NAMES")) : NULL;
        char *save = NULL, *tok = names ? strtok_r(names, "\n", &save) : NULL;
        for (long i = 0; i < n; i++) {
            H.fds[i] = 3 + (int)i;
            H.names[i] = tok ? strdup(tok) : NULL;
            fcntl(H.fds[i], F_SETFD, FD_CLOEXEC);
            tok = tok ? strtok_r(NULL, "\n", &save) : NULL;
        }
        free(names);
        H.n_inherited = (int)n;
    }
    const char *ready = getenv("SUBWSGI_READY_FD");
    if (ready) {
        H.ready_fd = (int)strtol(ready, NULL, 10);
        fcntl(H.ready_fd, F_SETFD, FD_CLOEXEC);
        H.successor = 1;
    }
    const char *state = getenv("SUBWSGI_HANDOVER_STATE");
    H.state = strdup(state ? state : "");
    unset_all();
}

/* The address a socket listens on, as listen.c writes it, for systemd's
 * sockets (they come without our names). */
static int socket_matches(int fd, const char *addr_text);

int sw_handover_take_fd(const char *addr_text)
{
    for (int i = 0; i < H.n_inherited; i++) {
        if (H.taken[i])
            continue;
        if ((H.names[i] && strcmp(H.names[i], addr_text) == 0) ||
            (!H.names[i] && socket_matches(H.fds[i], addr_text))) {
            H.taken[i] = 1;
            return H.fds[i];
        }
    }
    return -1;
}

void sw_handover_close_unused(void)
{
    for (int i = 0; i < H.n_inherited; i++) {
        if (!H.taken[i]) {
            sw_log(SW_LOG_WARN, NULL, "inherited socket %d (%s) matches no listener; closed",
                   H.fds[i], H.names[i] ? H.names[i] : "?");
            close(H.fds[i]);
        }
        free(H.names[i]);
        H.names[i] = NULL;
    }
    H.n_inherited = 0;
}

int sw_handover_is_successor(void)
{
    return H.successor;
}

const char *sw_handover_state(void)
{
    return H.state ? H.state : "";
}

static void tell_old(const char *msg)
{
    if (H.ready_fd < 0)
        return;
    size_t len = strlen(msg);
    while (len > 0) {
        ssize_t w = write(H.ready_fd, msg, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        msg += w;
        len -= (size_t)w;
    }
    close(H.ready_fd);
    H.ready_fd = -1;
}

void sw_handover_ready(void)
{
    tell_old("READY\n");
}

void sw_handover_failed(const char *why)
{
    char *msg = NULL;
    if (asprintf(&msg, "FAILED %s\n", why) < 0)
        msg = NULL;
    tell_old(msg ? msg : "FAILED\n");
    free(msg);
}

/* ---- the old side ---------------------------------------------------------- */

extern char **environ;

static int is_ours(const char *entry)
{
    static const char *const vars[] = {"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=",
                                       "SUBWSGI_LISTEN_NAMES=", "SUBWSGI_READY_FD=",
                                       "SUBWSGI_HANDOVER_STATE=", NULL};
    for (size_t i = 0; vars[i]; i++)
        if (strncmp(entry, vars[i], strlen(vars[i])) == 0)
            return 1;
    return 0;
}

/* Writes v in decimal into the 10-character field at p (async-signal-safe). */
static void put_pid(char *p, long v)
{
    for (int i = 9; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* "SUBWSGI_LISTEN_NAMES=" and each name followed by a newline: a new
 * string, or NULL when out of memory. */
static char *listen_names_env(const char *const *names, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = SW_FAULT("handover_memstream") ? NULL : open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("SUBWSGI_LISTEN_NAMES=", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", names[i]);
    if (ferror(f)) {
        fclose(f);
        free(text);
        return NULL;
    }
    if (fclose(f) != 0)
        return NULL;
    return text;
}

/* The child between fork and exec: only async-signal-safe calls (other
 * threads were running in the parent). Puts the sockets at 3..3+n-1, the
 * pipe at 3+n and the extra descriptors after it, the standard ones where
 * asked, closes everything else, execs; on failure says why on the pipe
 * and exits. */
static void exec_child(const sw_spawn_t *sp, int ready_w, char *listen_pid, char **envp)
{
    /* Copies go above every target first, so no source is overwritten
     * before it is moved: the lowest free numbers above the last target,
     * not a fixed high number, which a low `ulimit -n` forbids. They are
     * close-on-exec; dup2 clears that flag on the targets only. */
    size_t n = sp->n, total = n + 1 + sp->n_extra;
    int above = 3 + (int)total;
    int high[SW_HANDOVER_MAX_FDS + 1 + SW_SPAWN_MAX_EXTRA];
    for (size_t i = 0; i < n; i++)
        high[i] = fcntl(sp->fds[i], F_DUPFD_CLOEXEC, above);
    high[n] = fcntl(ready_w, F_DUPFD_CLOEXEC, above);
    for (size_t i = 0; i < sp->n_extra; i++)
        high[n + 1 + i] = fcntl(sp->extra_fds[i], F_DUPFD_CLOEXEC, above);
    /* The standard ones too: their sources may be among the targets. */
    const int std_src[3] = {sp->stdin_fd, sp->stdout_fd, sp->stderr_fd};
    int std_high[3];
    for (int i = 0; i < 3; i++)
        std_high[i] = std_src[i] >= 0 ? fcntl(std_src[i], F_DUPFD_CLOEXEC, above) : -1;
    for (size_t i = 0; i < total; i++) {
        if (high[i] < 0 || dup2(high[i], 3 + (int)i) < 0) {
            static const char msg[] = "FAILED cannot move the listening sockets for the new "
                                      "process (file descriptor limit?)\n";
            ssize_t ignored = write(high[n] >= 0 ? high[n] : ready_w, msg, sizeof msg - 1);
            (void)ignored;
            _exit(127);
        }
    }
    for (int i = 0; i < 3; i++)
        if (std_src[i] >= 0 && (std_high[i] < 0 || dup2(std_high[i], i) < 0))
            _exit(127);
    /* Exactly these descriptors pass: whatever else is still open without
     * close-on-exec (a C extension's files, say) is not the new process's.
     * An old kernel without close_range leaves that to close-on-exec,
     * which every descriptor of ours has. */
    close_range((unsigned)above, ~0U, 0);
    put_pid(listen_pid + 11, (long)getpid());
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(H.exe, sp->argv ? sp->argv : H.argv, envp);
    static const char msg[] = "FAILED cannot execute ";
    ssize_t ignored = write(3 + (int)n, msg, sizeof msg - 1);
    ignored = write(3 + (int)n, H.exe, strlen(H.exe));
    ignored = write(3 + (int)n, "\n", 1);
    (void)ignored;
    _exit(127);
}

int sw_handover_spawn(const sw_spawn_t *sp, pid_t *pid_out, int *ready_r, char *why,
                      size_t whylen)
{
    why[0] = '\0';
    size_t n = sp->n;
    if (n > SW_HANDOVER_MAX_FDS || sp->n_extra > SW_SPAWN_MAX_EXTRA) {
        snprintf(why, whylen, "%zu sockets to pass; a handover passes at most %d", n,
                 SW_HANDOVER_MAX_FDS);
        return -1;
    }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return -1;
    }
    /* Everything the child needs is built before fork: between fork and
     * exec only async-signal-safe calls (other threads are running). */
    size_t ne = 0, n_env = 0;
    while (environ[ne])
        ne++;
    while (sp->extra_env && sp->extra_env[n_env])
        n_env++;
    char **envp = SW_FAULT("handover_envp") ? NULL : calloc(ne + n_env + 8, sizeof *envp);
    char *listen_names = listen_names_env(sp->names, n);
    char *state_env = NULL;
    if (SW_FAULT("handover_state") ||
        asprintf(&state_env, "SUBWSGI_HANDOVER_STATE=%s", sp->state ? sp->state : "") < 0)
        state_env = NULL;
    if (!envp || !listen_names || !state_env) {
        snprintf(why, whylen, "out of memory");
        free(envp);
        free(listen_names);
        free(state_env);
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (!is_ours(environ[i]))
            envp[k++] = environ[i];
    for (size_t i = 0; i < n_env; i++)
        envp[k++] = (char *)sp->extra_env[i];
    char listen_fds[32], ready_fd[48], listen_pid[32] = "LISTEN_PID=0000000000";
    snprintf(listen_fds, sizeof listen_fds, "LISTEN_FDS=%zu", n);
    snprintf(ready_fd, sizeof ready_fd, "SUBWSGI_READY_FD=%zu", 3 + n);
    envp[k++] = listen_fds;
    envp[k++] = listen_pid;
    envp[k++] = listen_names;
    envp[k++] = ready_fd;
    envp[k++] = state_env;
    envp[k] = NULL;

    pid_t pid = fork();
    if (pid == 0)
        exec_child(sp, pipefd[1], listen_pid, envp);
    free(envp);
    free(listen_names);
    free(state_env);
    close(pipefd[1]);
    if (pid < 0) {
        snprintf(why, whylen, "fork: %s", strerror(errno));
        close(pipefd[0]);
        return -1;
    }
    *pid_out = pid;
    *ready_r = pipefd[0];
    return 0;
}

int sw_handover_run(const int *fds, const char *const *names, size_t n, const char *state,
                    double timeout, char *why, size_t whylen, pid_t *successor)
{
    sw_spawn_t sp = {.fds = fds, .names = names, .n = n, .state = state,
                     .stdin_fd = -1, .stdout_fd = -1, .stderr_fd = -1};
    pid_t pid;
    int ready_r;
    if (sw_handover_spawn(&sp, &pid, &ready_r, why, whylen) < 0)
        return -1;
    *successor = pid;
    sw_log(SW_LOG_INFO, NULL, "handover: started process %ld (%s)", (long)pid, H.exe);

    /* Wait for READY or FAILED (or the child's end). */
    char buf[16384];
    size_t got = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = -1;
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double left = timeout - ((double)(now.tv_sec - t0.tv_sec) +
                                 (double)(now.tv_nsec - t0.tv_nsec) / 1e9);
        if (left <= 0) {
            snprintf(why, whylen, "the new process was not ready within %gs", timeout);
            break;
        }
        /* A stop signal (blocked, so still pending for the main loop's
         * sigwait) does not wait for the successor's start-up: the
         * handover is called off and this process stops. */
        sigset_t pending;
        if (sigpending(&pending) == 0 &&
            (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT))) {
            snprintf(why, whylen, "a stop signal came during the handover; the new process "
                     "is stopped");
            break;
        }
        struct pollfd pfd = {ready_r, POLLIN, 0};
        int pr = poll(&pfd, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            continue;
        ssize_t r = read(ready_r, buf + got, sizeof buf - 1 - got);
        if (r > 0) {
            got += (size_t)r;
            buf[got] = '\0';
            if (strncmp(buf, "READY\n", 6) == 0) {
                rc = 0;
                break;
            }
            if (got < sizeof buf - 1)
                continue;
        }
        buf[got] = '\0';
        if (strncmp(buf, "FAILED ", 7) == 0)
            snprintf(why, whylen, "%s", buf + 7);
        else
            snprintf(why, whylen, "the new process exited during start-up");
        break;
    }
    close(ready_r);
    if (rc < 0) {
        /* Make sure it is gone, and reap it. */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        size_t len = strlen(why);
        while (len > 0 && why[len - 1] == '\n')
            why[--len] = '\0';
    }
    return rc;
}

/* ---- systemd sockets --------------------------------------------------------- */

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "listen.h"

static int socket_matches(int fd, const char *addr_text)
{
    sw_addr_t want;
    char err[128];
    if (sw_addr_parse(addr_text, &want, err, sizeof err) < 0)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != want.sa.ss_family)
        return 0;
    if (ss.ss_family == AF_UNIX)
        return strcmp(((struct sockaddr_un *)&ss)->sun_path,
                      ((struct sockaddr_un *)&want.sa)->sun_path) == 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss, *b = (struct sockaddr_in *)&want.sa;
        return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss, *b = (struct sockaddr_in6 *)&want.sa;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    return 0;
}

const char *sw_handover_exe(void)
{
    return H.exe;
}

void sw_handover_notify(const char *state)
{
#ifdef HAVE_SYSTEMD
    sd_notify(0, state);
#else
    (void)state;
#endif
}
