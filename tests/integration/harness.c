/* harness.c: process, file, request and log helpers shared by the integration
 * tests (see harness.h). Failures inside helpers are Criterion assertions, so
 * they abort the calling test, whose .fini (h_cleanup) then stops servers. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The registry: what h_cleanup releases. Main thread only. */
typedef struct {
    void **items;
    size_t n, cap;
} ptrv_t;

static ptrv_t reg_procs;     /* h_proc_t * */
static ptrv_t reg_dirs;      /* char * (also in reg_strings) */
static ptrv_t reg_strings;   /* char * */
static ptrv_t reg_asyncs;    /* h_async_t * */
static ptrv_t reg_bgs;       /* h_bg_t * not yet joined */
static ptrv_t reg_ports;     /* char *: reservation files to unlink */
static unsigned long spawn_fd_limit;   /* h_spawn_fd_limit; 0: inherit */
static ptrv_t reg_servers;   /* h_server_t *: logs scanned by h_cleanup */

static void ptrv_push(ptrv_t *v, void *p);
static char *keep(char *s);
static char *log_tail(const char *path, size_t max);
static void scan_marks(h_server_t *s, const char *const marks[], const char *verdict);
static char *fini_verdict_path(const char *suite, const char *test);
static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw);
static void *async_main(void *arg);
static int flat_json_string(const char **pp, char **out);
static void put_utf8(char **w, unsigned cp);

__attribute__((constructor)) static void harness_init(void)
{
    /* A server closing a socket mid-write must not kill the test process. */
    signal(SIGPIPE, SIG_IGN);
    /* The runner runs this first, and test workers inherit what it sets:
     * its pid names the verdict files h_cleanup leaves for the POST_FINI
     * hook; SW_H_STDERR reaches its stderr as it was before Criterion
     * pointed the runner's and workers' stderr to /dev/null (it does so
     * when CRITERION_OUTPUTS is set, as make check sets it). */
    if (!getenv("SW_H_RUNNER")) {
        char v[64];
        snprintf(v, sizeof v, "%d", (int)getpid());
        setenv("SW_H_RUNNER", v, 1);
        int fd = fcntl(2, F_DUPFD_CLOEXEC, 10);
        if (fd >= 0) {
            snprintf(v, sizeof v, "/proc/%d/fd/%d", (int)getpid(), fd);
            setenv("SW_H_STDERR", v, 1);
        }
    }
}

/* Criterion 2.4.1 decides a test's verdict before its .fini, so an assertion
 * in h_cleanup fails nothing. h_cleanup therefore prints what it found on
 * the runner's original stderr (SW_H_STDERR) and leaves a file named
 * after the runner and the test; this hook, which Criterion runs after the
 * .fini in its reporting process, fails the test when the file is there.
 * (The hook cannot add the text as an assertion: Criterion owns their
 * memory; and that process's stdout and stderr reach no log.) */
ReportHook(POST_FINI)(struct criterion_test_stats *stats)
{
    char *path = fini_verdict_path(stats->test->category, stats->test->name);
    if (unlink(path) == 0) {
        stats->test_status = CR_STATUS_FAILED;
        stats->failed_asserts++;
    }
    free(path);
}

/* ---- environment, strings, files ------------------------------------------ */

const char *h_builddir(void)
{
    const char *v = getenv("SW_BUILDDIR");
    return v && *v ? v : ".";
}

const char *h_srcdir(void)
{
    const char *v = getenv("SW_SRCDIR");
    return v && *v ? v : ".";
}

const char *h_nginx(void)
{
    const char *v = getenv("SW_NGINX");
    return v ? v : "";
}

const char *h_apache(void)
{
    const char *v = getenv("SW_APACHE");
    return v ? v : "";
}

char *h_fmt(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0, "out of memory");
    return keep(s);
}

char *h_app(const char *name)
{
    char *p = h_fmt("%s/tests/apps/%s", h_srcdir(), name);
    cr_assert(access(p, R_OK) == 0, "test app %s missing (SW_SRCDIR=%s)", p,
              h_srcdir());
    return p;
}

char *h_tmpdir(void)
{
    char *d = h_fmt("/tmp/subwsgi-it-XXXXXX");
    cr_assert(mkdtemp(d) != NULL, "mkdtemp: %s", strerror(errno));
    ptrv_push(&reg_dirs, d);
    return d;
}

/* Ports are picked at random below the kernel's ephemeral range (so no
 * client connection can be using one when the server binds it) and
 * reserved across concurrent test processes with a file PORT_DIR/PORT
 * holding the reserver's pid; a dead reserver's file is taken over. The
 * check-and-create runs under an flock of PORT_DIR/.lock. Returns 1 when
 * port is now ours. */
#define PORT_DIR "/tmp/subwsgi-it-ports"

static int reserve_port(int port)
{
    char path[64], pidtext[32];
    int lock = open(PORT_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        if (lock >= 0)
            close(lock);
        return 1;   /* cannot coordinate: rely on the bind check alone */
    }
    int ours = 0;
    snprintf(path, sizeof path, PORT_DIR "/%d", port);
    char *old = h_read_file(path, NULL);
    int pid = old ? atoi(old) : 0;
    free(old);
    if (old == NULL || pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (fd >= 0) {
            int n = snprintf(pidtext, sizeof pidtext, "%d\n", (int)getpid());
            ours = write(fd, pidtext, (size_t)n) == n;
            close(fd);
        }
        if (ours)
            ptrv_push(&reg_ports, h_fmt("%s", path));
    }
    close(lock);   /* releases the flock */
    return ours;
}

/* 1 when nothing listens on or is bound to 127.0.0.1:port. */
static int port_is_free(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

int h_free_port(void)
{
    static int seeded;
    if (!seeded) {
        srand48((long)getpid() ^ (long)time(NULL));
        seeded = 1;
    }
    int lo = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f) {
        if (fscanf(f, "%d", &lo) != 1)
            lo = 32768;
        fclose(f);
    }
    mkdir(PORT_DIR, 01777);
    chmod(PORT_DIR, 01777);
    if (lo > 12000) {
        for (int i = 0; i < 200; i++) {
            int port = 10000 + (int)(lrand48() % (lo - 10000));
            if (port_is_free(port) && reserve_port(port)) {
                if (port_is_free(port))
                    return port;
            }
        }
    }
    /* Fallback: let the kernel choose. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    cr_assert(bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0, "bind: %s",
              strerror(errno));
    cr_assert(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
    close(fd);
    return ntohs(sa.sin_port);
}

void h_write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        cr_assert(n > 0, "write %s: %s", path, strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    close(fd);
}

void h_replace_file(const char *path, const char *text)
{
    char *tmp = h_fmt("%s.new", path);
    h_write_file(tmp, text, strlen(text));
    cr_assert_eq(rename(tmp, path), 0, "rename %s: %s", tmp, strerror(errno));
}

char *h_read_file(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int h_wait_file(const char *path, double timeout)
{
    double end = h_now() + timeout;
    while (access(path, F_OK) != 0) {
        if (h_now() >= end)
            return 0;
        h_nap(0.01);
    }
    return 1;
}

size_t h_count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);
    if (!hay || nl == 0)
        return 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + nl, needle))
        n++;
    return n;
}

double h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void h_nap(double seconds)
{
    struct timespec ts = {(time_t)seconds,
                          (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- processes -------------------------------------------------------------- */

h_proc_t *h_spawn(const char *name, char *const argv[], const char *log,
                  char *const extra_env[])
{
    /* The environment is built before fork: only async-signal-safe calls
     * happen in the child, since request threads may be running. */
    size_t ne = 0, nx = 0;
    while (environ[ne])
        ne++;
    while (extra_env && extra_env[nx])
        nx++;
    char **envp = calloc(ne + nx + 1, sizeof *envp);
    size_t k = 0;
    /* An extra variable replaces the inherited one of its name (getenv
     * takes the first). */
    for (size_t i = 0; i < ne; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t name_len = eq ? (size_t)(eq - environ[i]) + 1 : strlen(environ[i]);
        int replaced = 0;
        for (size_t x = 0; x < nx && !replaced; x++)
            replaced = strncmp(extra_env[x], environ[i], name_len) == 0;
        if (!replaced)
            envp[k++] = environ[i];
    }
    if (nx)
        memcpy(envp + k, extra_env, nx * sizeof *envp);

    struct rlimit fd_limit;
    int set_fd_limit = spawn_fd_limit > 0 && getrlimit(RLIMIT_NOFILE, &fd_limit) == 0;
    if (set_fd_limit)
        fd_limit.rlim_cur = (rlim_t)spawn_fd_limit;

    h_proc_t *p = calloc(1, sizeof *p);
    p->name = h_fmt("%s", name);
    p->log = h_fmt("%s", log);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in < 0 || out < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        closefrom(3);
        if (set_fd_limit && setrlimit(RLIMIT_NOFILE, &fd_limit) != 0)
            _exit(127);
        execve(argv[0], argv, envp);
        static const char msg[] = "harness: execve failed\n";
        ssize_t ignored = write(2, msg, sizeof msg - 1);
        (void)ignored;
        _exit(127);
    }
    free(envp);
    p->pid = pid;
    ptrv_push(&reg_procs, p);
    return p;
}

void h_spawn_fd_limit(unsigned long limit)
{
    spawn_fd_limit = limit;
}

int h_proc_fds(long pid, int *inheritable, char **listing)
{
    char *dir = h_fmt("/proc/%ld/fd", pid);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char *text = NULL;
    size_t text_len = 0;
    FILE *out = open_memstream(&text, &text_len);
    cr_assert_not_null(out, "out of memory");
    int n = 0, open_on_exec = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char target[512] = "?";
        ssize_t len = readlink(h_fmt("%s/%s", dir, e->d_name), target, sizeof target - 1);
        target[len > 0 ? len : 1] = '\0';
        /* fdinfo's "flags:" is the open flags in octal, O_CLOEXEC included. */
        char *info = h_read_file(h_fmt("/proc/%ld/fdinfo/%s", pid, e->d_name), NULL);
        const char *f = info ? strstr(info, "flags:") : NULL;
        unsigned long flags = f ? strtoul(f + 6, NULL, 8) : 0;
        free(info);
        int inherits = atoi(e->d_name) > 2 && f && !(flags & O_CLOEXEC);
        open_on_exec += inherits;
        n++;
        fprintf(out, "%s -> %s%s\n", e->d_name, target, inherits ? " (inheritable)" : "");
    }
    closedir(d);
    fclose(out);
    if (inheritable)
        *inheritable = open_on_exec;
    if (listing)
        *listing = keep(text);
    else
        free(text);
    return n;
}

int h_proc_exited(h_proc_t *p)
{
    if (p->reaped)
        return 1;
    int st;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        p->reaped = 1;
        p->status = st;
        return 1;
    }
    return 0;
}

int h_proc_wait(h_proc_t *p, double timeout)
{
    double end = h_now() + timeout;
    while (!h_proc_exited(p)) {
        if (h_now() >= end)
            return 0;
        h_nap(0.01);
    }
    return 1;
}

void h_stop_pid_file(const char *path)
{
    char *text = path && path[0] ? h_read_file(path, NULL) : NULL;
    long pid = text ? strtol(text, NULL, 10) : 0;
    free(text);
    if (pid > 1 && kill((pid_t)pid, SIGTERM) == 0) {
        for (int i = 0; i < 300 && kill((pid_t)pid, 0) == 0; i++)
            h_nap(0.05);
        kill((pid_t)pid, SIGKILL);
    }
}

int h_proc_stop(h_proc_t *p, double timeout)
{
    if (!h_proc_exited(p)) {
        kill(p->pid, SIGTERM);
        if (!h_proc_wait(p, timeout)) {
            kill(p->pid, SIGKILL);
            h_proc_wait(p, 10.0);
        }
    }
    return p->status;
}

int h_run(char *const argv[], double timeout, char **out)
{
    char *dir = h_tmpdir();
    char *log = h_fmt("%s/output", dir);
    h_proc_t *p = h_spawn(argv[0], argv, log, NULL);
    if (!h_proc_wait(p, timeout)) {
        kill(p->pid, SIGKILL);
        h_proc_wait(p, 10.0);
        cr_log_error("%s did not finish within %.0f s; killed", argv[0],
                     timeout);
    }
    char *text = h_read_file(log, NULL);
    *out = text ? text : strdup("");
    return p->status;
}

char *h_status_text(int status)
{
    if (WIFEXITED(status))
        return h_fmt("exited %d", WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return h_fmt("killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
    return h_fmt("wait status 0x%x", status);
}

/* ---- subwsgi ---------------------------------------------------------------- */

char *h_binary(void)
{
    const char *v = getenv("SW_SUBWSGI");
    if (v && *v)
        return h_fmt("%s", v);
    return h_fmt("%s/src/subwsgi", h_builddir());
}

/* 1 when some line of text contains "ready" as a word. */
static int has_ready_line(const char *text)
{
    for (const char *p = strstr(text, "ready"); p; p = strstr(p + 1, "ready")) {
        int before = p == text || !isalpha((unsigned char)p[-1]);
        int after = !isalpha((unsigned char)p[5]);
        if (before && after)
            return 1;
    }
    return 0;
}

h_server_t *h_server_start(const char *dir, const char *scgi,
                           const char *const args[], char *const extra_env[])
{
    return h_server_start_ex(dir, scgi, args, extra_env, NULL);
}

h_server_t *h_server_start_ex(const char *dir, const char *scgi,
                              const char *const args[],
                              char *const extra_env[], const char *error_log)
{
    char *bin = h_binary();
    cr_assert(access(bin, X_OK) == 0,
              "%s is missing: build the server first (SW_BUILDDIR=%s, "
              "SW_SUBWSGI=%s)", bin, h_builddir(),
              getenv("SW_SUBWSGI") ? getenv("SW_SUBWSGI") : "");
    size_t n = 0;
    while (args && args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];

    h_server_t *s = calloc(1, sizeof *s);
    ptrv_push(&reg_strings, (char *)s);   /* freed with the strings by h_cleanup */
    ptrv_push(&reg_servers, s);
    s->dir = h_fmt("%s", dir);
    s->out = h_fmt("%s/server.log", dir);
    s->log = error_log ? h_fmt("%s", error_log) : s->out;
    s->scgi = scgi ? h_fmt("%s", scgi) : NULL;
    s->proc = h_spawn("subwsgi", argv, s->out, extra_env);
    free(argv);

    double end = h_now() + H_READY_TIMEOUT;
    for (;;) {
        char *text = h_read_file(s->log, NULL);
        int ready = text && has_ready_line(text);
        free(text);
        if (ready)
            break;
        if (h_proc_exited(s->proc))
            cr_assert_fail("subwsgi %s before logging \"ready\"; log:\n%s",
                           h_status_text(s->proc->status), h_log_tail(s));
        if (h_now() >= end)
            cr_assert_fail("subwsgi logged no \"ready\" line within %.0f s; "
                           "log:\n%s", H_READY_TIMEOUT, h_log_tail(s));
        h_nap(0.02);
    }
    return s;
}

h_server_t *h_server_config(const char *dir, const char *scgi,
                            const char *ini_text, char *const extra_env[])
{
    char *ini = h_fmt("%s/subwsgi.ini", dir);
    h_write_file(ini, ini_text, strlen(ini_text));
    const char *args[] = {"-c", ini, NULL};
    return h_server_start(dir, scgi, args, extra_env);
}

h_server_t *h_server_at(int port, const char *rest, char **hits)
{
    char *dir = h_tmpdir();
    char *addr = h_fmt("127.0.0.1:%d", port);
    char *ini = h_fmt("[server]\nscgi = %s\n%s", addr, rest);
    if (!hits)
        return h_server_config(dir, addr, ini, NULL);
    *hits = h_fmt("%s/hits", dir);
    char *env[] = {h_fmt("SW_TEST_HITS=%s", *hits), NULL};
    return h_server_config(dir, addr, ini, env);
}

h_server_t *h_server_quick(const char *dir, const char *app_spec,
                           const char *scgi, const char *const extra[])
{
    const char *args[32] = {"--app", app_spec, "--scgi", scgi};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    return h_server_start(dir, scgi, args, NULL);
}

/* Sanitizer reports: a crash in any server's log, even one a test killed on
 * purpose, so h_cleanup scans for these too. ThreadSanitizer's reports
 * ("WARNING: ThreadSanitizer: data race", "FATAL: ThreadSanitizer: ...")
 * do not stop the server (the TSan stage runs without halt_on_error, so
 * one run lists every race): this scan is what fails the test. */
static const char *const sanitizer_marks[] = {
    "ERROR: AddressSanitizer", "runtime error:", "ThreadSanitizer", NULL};
/* Other signs of a crash, for servers a test expects to stop cleanly. */
static const char *const crash_marks[] = {
    "Fatal Python error", "Segmentation fault", "core dumped", "double free",
    "Aborted", "stack smashing", NULL};

void h_assert_no_crash(h_server_t *s)
{
    scan_marks(s, sanitizer_marks, NULL);
    scan_marks(s, crash_marks, NULL);
    if (h_proc_exited(s->proc))
        s->checked = 1;
}

void h_server_stop_clean(h_server_t *s)
{
    int st = h_proc_stop(s->proc, H_STOP_TIMEOUT);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "subwsgi should exit 0 on SIGTERM, but %s; log:\n%s",
              h_status_text(st), h_log_tail(s));
    h_assert_no_crash(s);
}

char *h_log_tail(h_server_t *s)
{
    if (s->log == s->out)
        return log_tail(s->log, 4000);
    return h_fmt("%s:\n%s\n%s:\n%s", s->out, log_tail(s->out, 2000), s->log,
                 log_tail(s->log, 3000));
}

char *h_log(h_server_t *s)
{
    char *t = h_read_file(s->log, NULL);
    return t ? t : strdup("");
}

int h_log_wait(h_server_t *s, const char *needle, double timeout)
{
    double end = h_now() + timeout;
    for (;;) {
        char *t = h_log(s);
        int found = strstr(t, needle) != NULL;
        free(t);
        if (found)
            return 1;
        if (h_now() >= end)
            return 0;
        h_nap(0.02);
    }
}

char *h_log_wait_line(h_server_t *s, const char *const needles[],
                      double timeout)
{
    double end = h_now() + timeout;
    for (;;) {
        char *t = h_log(s);
        char *save = NULL;
        for (char *line = strtok_r(t, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
            int all = 1;
            for (size_t i = 0; needles[i] && all; i++)
                all = strstr(line, needles[i]) != NULL;
            if (all) {
                char *r = h_fmt("%s", line);
                free(t);
                return r;
            }
        }
        free(t);
        if (h_now() >= end)
            return NULL;
        h_nap(0.02);
    }
}

/* ---- SCGI requests ---------------------------------------------------------- */

int h_request_try(const char *addr, const char *method, const char *uri,
                  const char *const *headers, size_t n_headers,
                  const void *body, size_t body_len, double timeout,
                  sw_scgi_response_t *resp, char *err, size_t errlen)
{
    sw_addr_t a;
    memset(resp, 0, sizeof *resp);
    if (sw_addr_parse(addr, &a, err, errlen) != 0)
        return -1;
    return sw_scgi_client_request(&a, method, uri, headers, n_headers, body,
                                  body_len, timeout, resp, err, errlen);
}

void h_request(const char *addr, const char *method, const char *uri,
               const char *const *headers, size_t n_headers,
               const void *body, size_t body_len, sw_scgi_response_t *resp)
{
    char err[256] = "";
    int rc = h_request_try(addr, method, uri, headers, n_headers, body,
                           body_len, H_IO_TIMEOUT, resp, err, sizeof err);
    cr_assert(rc == 0, "SCGI %s %s to %s failed: %s", method, uri, addr, err);
}

void h_get(const char *addr, const char *uri, sw_scgi_response_t *resp)
{
    h_request(addr, "GET", uri, NULL, 0, NULL, 0, resp);
}

int h_raw(const char *addr, const void *bytes, size_t len, int shut_write,
          double timeout, sw_scgi_response_t *resp, char *err, size_t errlen)
{
    sw_addr_t a;
    memset(resp, 0, sizeof *resp);
    if (sw_addr_parse(addr, &a, err, errlen) != 0)
        return -1;
    return sw_scgi_client_raw(&a, bytes, len, shut_write, timeout, resp, err,
                              errlen);
}

char *h_scgi_build(const char *const *kv, size_t n, const void *body,
                   size_t body_len, size_t *out_len)
{
    char cl[32];
    int cln = snprintf(cl, sizeof cl, "%zu", body_len);
    size_t hlen = sizeof "CONTENT_LENGTH" + (size_t)cln + 1 + sizeof "SCGI" + 2;
    for (size_t i = 0; i < 2 * n; i++)
        hlen += strlen(kv[i]) + 1;
    char prefix[32];
    int pn = snprintf(prefix, sizeof prefix, "%zu:", hlen);
    size_t total = (size_t)pn + hlen + 1 + body_len;
    char *buf = malloc(total + 1), *w = buf;
    memcpy(w, prefix, (size_t)pn);
    w += pn;
    memcpy(w, "CONTENT_LENGTH", sizeof "CONTENT_LENGTH");
    w += sizeof "CONTENT_LENGTH";
    memcpy(w, cl, (size_t)cln + 1);
    w += cln + 1;
    memcpy(w, "SCGI\0" "1", 7);
    w += 7;
    for (size_t i = 0; i < 2 * n; i++) {
        size_t l = strlen(kv[i]) + 1;
        memcpy(w, kv[i], l);
        w += l;
    }
    *w++ = ',';
    if (body_len)
        memcpy(w, body, body_len);
    w += body_len;
    cr_assert((size_t)(w - buf) == total, "netstring size mismatch");
    *out_len = total;
    return buf;
}

void h_scgi_send(const char *addr, const char *const *kv, size_t n,
                 const void *body, size_t body_len, sw_scgi_response_t *resp)
{
    size_t len;
    char *req = h_scgi_build(kv, n, body, body_len, &len);
    char err[256] = "";
    int rc = h_raw(addr, req, len, 0, H_IO_TIMEOUT, resp, err, sizeof err);
    free(req);
    cr_assert(rc == 0, "SCGI request to %s failed: %s", addr, err);
}

char *h_header(const sw_scgi_response_t *resp, const char *name)
{
    char *v = sw_scgi_response_header(resp, name);
    return v ? keep(v) : NULL;
}

static void *async_main(void *arg)
{
    h_async_t *a = arg;
    a->rc = h_request_try(a->addr, a->method, a->uri, NULL, 0, NULL, 0,
                          a->timeout, &a->resp, a->err, sizeof a->err);
    atomic_store(&a->done, 1);
    return NULL;
}

h_async_t *h_async_get(const char *addr, const char *uri, double timeout)
{
    h_async_t *a = calloc(1, sizeof *a);
    a->addr = h_fmt("%s", addr);
    a->method = h_fmt("GET");
    a->uri = h_fmt("%s", uri);
    a->timeout = timeout;
    atomic_init(&a->done, 0);
    int rc = pthread_create(&a->thread, NULL, async_main, a);
    cr_assert(rc == 0, "pthread_create: %s", strerror(rc));
    ptrv_push(&reg_asyncs, a);
    return a;
}

int h_async_wait(h_async_t *a, double timeout)
{
    double end = h_now() + timeout;
    while (!atomic_load(&a->done)) {
        if (h_now() >= end)
            return 0;
        h_nap(0.005);
    }
    pthread_join(a->thread, NULL);
    atomic_store(&a->done, 2);   /* joined */
    return 1;
}

struct h_bg {
    pthread_t thread;
    void (*fn)(void *arg, const atomic_int *stop);
    void *arg;
    atomic_int stop;
    atomic_int done;
};

static void *bg_main(void *arg)
{
    h_bg_t *b = arg;
    b->fn(b->arg, &b->stop);
    atomic_store(&b->done, 1);
    return NULL;
}

h_bg_t *h_bg_start(void (*fn)(void *arg, const atomic_int *stop), void *arg)
{
    h_bg_t *b = calloc(1, sizeof *b);
    cr_assert(b, "out of memory");
    b->fn = fn;
    b->arg = arg;
    atomic_init(&b->stop, 0);
    atomic_init(&b->done, 0);
    int rc = pthread_create(&b->thread, NULL, bg_main, b);
    cr_assert(rc == 0, "pthread_create: %s", strerror(rc));
    ptrv_push(&reg_bgs, b);
    return b;
}

int h_bg_done(h_bg_t *b)
{
    return atomic_load(&b->done);
}

void h_bg_join(h_bg_t *b)
{
    atomic_store(&b->stop, 1);
    pthread_join(b->thread, NULL);
    for (size_t i = 0; i < reg_bgs.n; i++)
        if (reg_bgs.items[i] == b)
            reg_bgs.items[i] = reg_bgs.items[--reg_bgs.n];
    free(b);
}

/* ---- HTTP/1.0 client -------------------------------------------------------- */

int h_http(int port, const char *method, const char *path,
           const char *const *headers, size_t n_headers, const void *body,
           size_t body_len, double timeout, h_http_resp_t *resp, char *err,
           size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {(time_t)timeout, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(err, errlen, "connect 127.0.0.1:%d: %s", port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    char *head = NULL;
    size_t hl = 0;
    FILE *m = open_memstream(&head, &hl);
    fprintf(m, "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%d\r\n", method, path, port);
    for (size_t i = 0; i < n_headers; i++)
        fprintf(m, "%s\r\n", headers[i]);
    if (body || strcmp(method, "POST") == 0)
        fprintf(m, "Content-Length: %zu\r\n", body_len);
    fprintf(m, "\r\n");
    fclose(m);
    int rc = -1;
    const char *parts[2] = {head, body};
    size_t lens[2] = {hl, body ? body_len : 0};
    for (int k = 0; k < 2; k++) {
        size_t off = 0;
        while (off < lens[k]) {
            ssize_t n = send(fd, parts[k] + off, lens[k] - off, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                snprintf(err, errlen, "send: %s", strerror(errno));
                goto fail;
            }
            off += (size_t)n;
        }
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (len == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t n = recv(fd, buf + len, cap - len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "recv: %s", strerror(errno));
            free(buf);
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    size_t skip = 4;
    if (!sep) {
        sep = strstr(buf, "\n\n");
        skip = 2;
    }
    if (!sep || sscanf(buf, "HTTP/%*d.%*d %d", &resp->status) != 1) {
        snprintf(err, errlen, "unparsable HTTP response (%zu bytes): %.200s",
                 len, buf);
        free(buf);
        goto fail;
    }
    resp->head = strndup(buf, (size_t)(sep - buf));
    resp->body_len = len - (size_t)(sep - buf) - skip;
    resp->body = malloc(resp->body_len + 1);
    memcpy(resp->body, sep + skip, resp->body_len);
    resp->body[resp->body_len] = '\0';
    free(buf);
    rc = 0;
fail:
    free(head);
    close(fd);
    return rc;
}

void h_http_free(h_http_resp_t *resp)
{
    free(resp->head);
    free(resp->body);
    memset(resp, 0, sizeof *resp);
}

int h_tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int h_send_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

char *h_read_all(int fd, double timeout, size_t *len, int *eof)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    double deadline = h_now() + timeout;
    int end = 0;
    for (;;) {
        double left = deadline - h_now();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
            continue;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            end = r < 0 && errno == ECONNRESET ? 2 : 1;
            break;
        }
        n += (size_t)r;
    }
    buf[n] = '\0';
    *len = n;
    if (eof)
        *eof = end;
    return buf;
}

int h_wait_tcp(int port, h_proc_t *p, double timeout)
{
    double end = h_now() + timeout;
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = fd >= 0 &&
                 connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (fd >= 0)
            close(fd);
        if (ok)
            return 1;
        if ((p && h_proc_exited(p)) || h_now() >= end)
            return 0;
        h_nap(0.02);
    }
}

/* ---- flat JSON ---------------------------------------------------------------- */

static void skip_ws(const char **pp)
{
    while (**pp == ' ' || **pp == '\n' || **pp == '\r' || **pp == '\t')
        (*pp)++;
}

static void put_utf8(char **w, unsigned cp)
{
    char *o = *w;
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    *w = o;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Parses a JSON string at *pp (which points at '"'); on success advances
 * past it and stores a malloc'd UTF-8 copy in *out. */
static int flat_json_string(const char **pp, char **out)
{
    const char *p = *pp;
    if (*p != '"')
        return -1;
    p++;
    const char *q = p;
    while (*q && *q != '"')
        q += (*q == '\\' && q[1]) ? 2 : 1;
    if (*q != '"')
        return -1;
    char *s = malloc((size_t)(q - p) * 2 + 1), *w = s;
    while (p < q) {
        if (*p != '\\') {
            *w++ = *p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *w++ = '\n'; p++; break;
        case 't': *w++ = '\t'; p++; break;
        case 'r': *w++ = '\r'; p++; break;
        case 'b': *w++ = '\b'; p++; break;
        case 'f': *w++ = '\f'; p++; break;
        case 'u': {
            unsigned cp, lo;
            if (hex4(p + 1, &cp) != 0)
                goto bad;
            p += 5;
            if (cp >= 0xD800 && cp < 0xDC00 && p[0] == '\\' && p[1] == 'u' &&
                hex4(p + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            put_utf8(&w, cp);
            break;
        }
        default: *w++ = *p++; break;   /* \" \\ \/ */
        }
    }
    *w = '\0';
    *out = s;
    *pp = q + 1;
    return 0;
bad:
    free(s);
    return -1;
}

h_nginx_t h_nginx_start(const char *server_text, int port)
{
    h_nginx_t n = {.port = port, .dir = h_tmpdir()};
    size_t plen;
    char *params = h_read_file("/etc/nginx/scgi_params", &plen);
    if (params)
        h_write_file(h_fmt("%s/scgi_params", n.dir), params, plen);
    free(params);
    h_write_file(h_fmt("%s/site.conf", n.dir), server_text, strlen(server_text));
    char *conf = h_fmt("daemon off;\n"
                       "master_process off;\n"
                       "worker_processes 1;\n"
                       "%s"
                       "pid %s/nginx.pid;\n"
                       "error_log %s/error.log info;\n"
                       "events { worker_connections 64; }\n"
                       "http {\n"
                       "    access_log %s/access.log;\n"
                       "    client_body_temp_path %s/client_body;\n"
                       "    proxy_temp_path %s/proxy;\n"
                       "    fastcgi_temp_path %s/fastcgi;\n"
                       "    uwsgi_temp_path %s/uwsgi;\n"
                       "    scgi_temp_path %s/scgi;\n"
                       "    include site.conf;\n"
                       "}\n",
                       geteuid() == 0 ? "user root;\n" : "", n.dir, n.dir, n.dir, n.dir, n.dir,
                       n.dir, n.dir, n.dir);
    char *conf_path = h_fmt("%s/nginx.conf", n.dir);
    h_write_file(conf_path, conf, strlen(conf));
    char *argv[] = {(char *)h_nginx(), "-p", h_fmt("%s/", n.dir), "-c", conf_path,
                    "-e", h_fmt("%s/error.log", n.dir), NULL};
    char *out = h_fmt("%s/nginx.out", n.dir);
    n.proc = h_spawn("nginx", argv, out, NULL);
    if (!h_wait_tcp(port, n.proc, 15)) {
        char *o = h_read_file(out, NULL);
        cr_assert_fail("nginx did not start listening on %d (%s); output:\n%s"
                       "\nerror log:\n%s", port,
                       h_proc_exited(n.proc) ? h_status_text(n.proc->status) : "running",
                       o ? o : "", h_nginx_log(&n));
    }
    return n;
}

char *h_nginx_log(const h_nginx_t *n)
{
    char *e = h_read_file(h_fmt("%s/error.log", n->dir), NULL);
    char *r = h_fmt("%s", e ? e : "");
    free(e);
    return r;
}

void h_expect_json(const char *json, const char *what, const char *key, const char *want)
{
    char *v = h_json_get(json, key);
    cr_expect(v && strcmp(v, want) == 0, "%s: %s = %s, want \"%s\"; body:\n%s", what, key,
              v ? v : "(missing)", want, json);
}

char *h_json_get(const char *json, const char *key)
{
    if (!json)
        return NULL;
    const char *p = json;
    skip_ws(&p);
    if (*p++ != '{')
        return NULL;
    for (;;) {
        skip_ws(&p);
        if (*p == '}')
            return NULL;
        char *k = NULL, *v = NULL;
        if (flat_json_string(&p, &k) != 0)
            return NULL;
        skip_ws(&p);
        if (*p++ != ':') {
            free(k);
            return NULL;
        }
        skip_ws(&p);
        if (*p == '"') {
            if (flat_json_string(&p, &v) != 0) {
                free(k);
                return NULL;
            }
        } else {
            /* A non-string value: skip a scalar (the apps emit none). */
            while (*p && *p != ',' && *p != '}')
                p++;
        }
        int match = strcmp(k, key) == 0;
        free(k);
        if (match)
            return v ? keep(v) : NULL;
        free(v);
        skip_ws(&p);
        if (*p == ',')
            p++;
        else
            return NULL;
    }
}

/* ---- cleanup ------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void h_cleanup(void)
{
    for (size_t i = reg_procs.n; i-- > 0;) {
        h_proc_t *p = reg_procs.items[i];
        h_proc_stop(p, H_STOP_TIMEOUT);
        free(p);
    }
    reg_procs.n = 0;
    /* Every server has exited now, so its log holds all the sanitizer
     * reports it will write (TSan prints some, and its summary, at exit). */
    char *verdict = criterion_current_test && criterion_current_suite
        ? fini_verdict_path(criterion_current_test->category, criterion_current_test->name)
        : NULL;
    for (size_t i = 0; i < reg_servers.n; i++) {
        h_server_t *s = reg_servers.items[i];
        if (!s->checked)
            scan_marks(s, sanitizer_marks, verdict);
    }
    free(verdict);
    reg_servers.n = 0;
    /* Threads still blocked in a request end once their server is gone
     * (each socket operation is bounded anyway). */
    for (size_t i = 0; i < reg_asyncs.n; i++) {
        h_async_t *a = reg_asyncs.items[i];
        if (atomic_load(&a->done) == 2)
            continue;
        if (h_async_wait(a, H_IO_TIMEOUT + 5)) {
            sw_scgi_response_free(&a->resp);
            free(a);
        }   /* else leaked on purpose: the thread still uses it */
    }
    reg_asyncs.n = 0;
    while (reg_bgs.n > 0)
        h_bg_join(reg_bgs.items[reg_bgs.n - 1]);
    for (size_t i = 0; i < reg_dirs.n; i++)
        nftw(reg_dirs.items[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    reg_dirs.n = 0;
    for (size_t i = 0; i < reg_ports.n; i++)
        unlink(reg_ports.items[i]);
    reg_ports.n = 0;
    spawn_fd_limit = 0;
    for (size_t i = 0; i < reg_strings.n; i++)
        free(reg_strings.items[i]);
    reg_strings.n = 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static void ptrv_push(ptrv_t *v, void *p)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 32;
        v->items = realloc(v->items, v->cap * sizeof *v->items);
        cr_assert(v->items != NULL, "out of memory");
    }
    v->items[v->n++] = p;
}

static char *keep(char *s)
{
    ptrv_push(&reg_strings, s);
    return s;
}

/* The last max bytes of a file, for failure messages (registry-owned). */
/* Checks that no mark occurs in the server's stderr or error log. Each
 * one found is a failure that shows the log from there (a sanitizer report
 * is often far from the end): a cr_expect_fail, or, with verdict (a path;
 * from h_cleanup, too late for assertions: see the POST_FINI hook), a
 * message on stderr and the file verdict created. */
static void scan_marks(h_server_t *s, const char *const marks[], const char *verdict)
{
    const char *files[2] = {s->out, s->log};
    for (int f = 0; f < (s->log == s->out ? 1 : 2); f++) {
        char *text = h_read_file(files[f], NULL);
        for (size_t i = 0; text && marks[i]; i++) {
            const char *at = strstr(text, marks[i]);
            if (!at)
                continue;
            while (at > text && at[-1] != '\n')   /* whole first line */
                at--;
            const char *what = "server log shows a crash";
            if (!verdict) {
                cr_expect_fail("%s (\"%s\"); %s, from there:\n%.6000s", what,
                               marks[i], files[f], at);
                continue;
            }
            /* The worker's own stderr may be /dev/null (harness_init). */
            const char *err = getenv("SW_H_STDERR");
            FILE *e = err ? fopen(err, "a") : NULL;
            fprintf(e ? e : stderr, "%s::%s: failed in h_cleanup: %s (\"%s\"); %s, "
                    "from there:\n%.6000s\n", criterion_current_suite->name,
                    criterion_current_test->name, what, marks[i], files[f], at);
            if (e)
                fclose(e);
            int fd = open(verdict, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            if (fd >= 0)
                close(fd);
        }
        free(text);
    }
}

/* The file through which h_cleanup tells the POST_FINI hook that a test
 * failed (malloc'd path). */
static char *fini_verdict_path(const char *suite, const char *test)
{
    const char *runner = getenv("SW_H_RUNNER");
    char *p = NULL;
    if (asprintf(&p, "/tmp/subwsgi-it-verdict-%s-%s-%s", runner ? runner : "0",
                 suite, test) < 0)
        abort();
    return p;
}

static char *log_tail(const char *path, size_t max)
{
    size_t len = 0;
    char *t = h_read_file(path, &len);
    if (!t)
        return h_fmt("(no log at %s)", path);
    char *r = h_fmt("%s%s", len > max ? "[...]\n" : "",
                    len > max ? t + len - max : t);
    free(t);
    return r;
}

int h_python_version(void)
{
    static int cached;
    if (cached)
        return cached;
    char *const argv[] = {h_binary(), "--version", NULL};
    char *out = NULL;
    int st = h_run(argv, 30, &out);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "subwsgi --version failed");
    const char *p = out ? strstr(out, "Python ") : NULL;
    int major = 0, minor = 0;
    cr_assert(p && sscanf(p, "Python %d.%d", &major, &minor) == 2,
              "no \"Python X.Y\" in --version output: %s", out ? out : "");
    free(out);
    cached = major * 100 + minor;
    return cached;
}

const char *h_python_unreadable(void)
{
    static char *cached;
    static int done;
    if (done)
        return cached;
    done = 1;
    char *const ldd[] = {"/usr/bin/ldd", h_binary(), NULL};
    char *out = NULL;
    h_run(ldd, 30, &out);
    const char *lib = out ? strstr(out, "libpython") : NULL;
    const char *arrow = lib ? strstr(lib, "=> ") : NULL;
    if (arrow) {
        size_t len = strcspn(arrow + 3, " (\n");
        char *path = h_fmt("%.*s", (int)len, arrow + 3);
        char *const check[] = {"/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/test", "-r",
                               path, NULL};
        char *ignored = NULL;
        int st = h_run(check, 30, &ignored);
        free(ignored);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
            cached = path;
    }
    free(out);
    return cached;
}

void h_require_host_mode(void)
{
    if (geteuid() != 0)
        cr_skip_test("host mode needs root (the test makes OS users and the master starts each "
                     "owner's worker as one): run make check as root, as CI does");
    if (access("/usr/sbin/useradd", X_OK) != 0)
        cr_skip_test("no /usr/sbin/useradd (Debian's passwd package) on this machine");
    if (h_python_unreadable())
        cr_skip_test("host mode's workers run as their owners, and this build's CPython (%s) "
                     "cannot be read by other users (pyenv's under /root cannot): build against a "
                     "CPython they can read, such as Debian's, to run this test",
                     h_python_unreadable());
}

const char *h_debian_packages(void)
{
    return h_python_version() == 311 ? "" : "python-path = /usr/lib/python3/dist-packages\n";
}

const char *h_framework_paths(void)
{
    if (h_python_version() < 313)
        return h_debian_packages();
    return h_fmt("%spython-path = %s/tests/apps/cgi313\n", h_debian_packages(), h_srcdir());
}

char *h_status_body(const char *addr, const char *uri)
{
    sw_scgi_response_t r;
    h_get(addr, uri, &r);
    char *b = h_fmt("%d %s", r.status, r.body ? r.body : "");
    sw_scgi_response_free(&r);
    return b;
}

int h_admin_call(int port, const char *token, const char *method, const char *path,
                 json_t **out, double timeout)
{
    const char *hdr[] = {h_fmt("Authorization: Bearer %s", token)};
    h_http_resp_t r;
    char err[256];
    cr_assert_eq(h_http(port, method, path, hdr, 1, NULL, 0, timeout, &r, err, sizeof err), 0,
                 "%s %s: %s", method, path, err);
    if (out) {
        json_error_t je;
        *out = json_loadb(r.body, r.body_len, 0, &je);
        cr_assert_not_null(*out, "%s %s: not JSON (%s): %s", method, path, je.text, r.body);
    }
    int status = r.status;
    h_http_free(&r);
    return status;
}
