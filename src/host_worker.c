/* host_worker.c: a host-mode worker process (see host.h): reads the config
 * text the master passed, keeps one owner's apps and listeners, and runs
 * the single-mode server as that owner's run-as user. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "crashpad.h"
#include "handover.h"
#include "host_control.h"
#include "log.h"
#include "server.h"

static int is_worker;
static pid_t master_pid;
static int control_fd = -1;    /* the worker's end of its control channel */

/* The whole text behind fd (the master's sealed memfd), NUL-terminated. */
static char *read_all(int fd, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        ssize_t r = pread(fd, buf + n, cap - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) {
            char *grown = realloc(buf, cap * 2 + 1);
            if (!grown) {
                free(buf);
                return NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static char *xstrdup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Turns the machine's config into this worker's: the owner's apps only,
 * its listeners as the shared ones, its run-as and memory budget, no admin
 * port, no tokens, no pid file; logs to stderr/stdout, which are the
 * master's pipes. Returns 0, or -1 with a message in err. */
static int restrict_to_owner(sw_config_t *cfg, const char *owner, char *err, size_t errlen)
{
    const sw_user_config_t *user = sw_config_user(cfg, owner);
    if (!user) {
        snprintf(err, errlen, "no [user:%s] in %s", owner, cfg->file);
        return -1;
    }
    char *run_as = xstrdup_or_null(user->run_as);
    double recycle_rss = user->recycle_rss;
    sw_strv_t scgi = {0};
    for (size_t i = 0; i < user->scgi.n; i++)
        sw_strv_push(&scgi, user->scgi.items[i]);
    if (sw_config_keep_owner(cfg, owner) == 0) {
        free(run_as);
        sw_strv_free(&scgi);
        snprintf(err, errlen, "[user:%s] owns no app", owner);
        return -1;
    }
    /* The shared listeners (each a channel from the master, passing their
     * connections: host_router.h), then the owner's own. */
    for (size_t i = 0; i < scgi.n; i++)
        sw_strv_push(&cfg->scgi, scgi.items[i]);
    sw_strv_free(&scgi);
    free(cfg->user);
    cfg->user = run_as;
    if (recycle_rss > 0)
        cfg->recycle_rss = recycle_rss;
    free(cfg->admin);
    cfg->admin = NULL;
    free(cfg->pid_file);
    cfg->pid_file = NULL;
    free(cfg->error_log);
    cfg->error_log = strdup("stderr");
    /* The access log is the worker's stdout, read by the master. */
    if (cfg->access_log && strcmp(cfg->access_log, "off") != 0) {
        free(cfg->access_log);
        cfg->access_log = strdup("/dev/stdout");
    }
    if (!cfg->error_log || !cfg->access_log) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int sw_host_worker_main(const char *owner, const char *file)
{
    const char *fd_text = getenv("SUBWSGI_CONFIG_FD");
    if (!fd_text || !sw_handover_is_successor()) {
        fprintf(stderr, "subwsgi: --host-worker is started by a host-mode master only\n");
        return 1;
    }
    int fd = (int)strtol(fd_text, NULL, 10);
    unsetenv("SUBWSGI_CONFIG_FD");
    /* Only the master talks to systemd: a worker's apps must not find its
     * socket in their environment (the unit allows the main pid alone). */
    unsetenv("NOTIFY_SOCKET");
    const char *pad_text = getenv("SUBWSGI_CRASHPAD_FD");
    if (pad_text) {
        sw_crashpad_attach((int)strtol(pad_text, NULL, 10));
        unsetenv("SUBWSGI_CRASHPAD_FD");
    }
    const char *ctl_text = getenv("SUBWSGI_CONTROL_FD");
    if (ctl_text) {
        control_fd = (int)strtol(ctl_text, NULL, 10);
        fcntl(control_fd, F_SETFD, FD_CLOEXEC);
        unsetenv("SUBWSGI_CONTROL_FD");
    }
    size_t len = 0;
    char *text = read_all(fd, &len);
    close(fd);
    if (!text) {
        fprintf(stderr, "subwsgi: worker %s: cannot read the config from the master\n", owner);
        return 2;
    }
    sw_errors_t errs = {0};
    sw_config_t *cfg = sw_config_parse_string(file, text, &errs);
    free(text);
    if (!cfg) {
        for (size_t i = 0; i < errs.lines.n; i++)
            fprintf(stderr, "%s\n", errs.lines.items[i]);
        sw_errors_free(&errs);
        return 1;
    }
    sw_errors_free(&errs);
    char err[512];
    if (restrict_to_owner(cfg, owner, err, sizeof err) < 0) {
        fprintf(stderr, "subwsgi: worker %s: %s\n", owner, err);
        sw_config_free(cfg);
        return 1;
    }
    is_worker = 1;
    master_pid = getppid();
    return sw_server_run(cfg, 0);
}

int sw_host_is_worker(void)
{
    return is_worker;
}

void sw_host_worker_after_privileges(void)
{
    if (!is_worker)
        return;
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    /* The master may have died before the line above. */
    if (getppid() != master_pid)
        kill(getpid(), SIGTERM);
}

void sw_host_worker_serving(struct sw_server *s)
{
    if (is_worker && control_fd >= 0 && sw_ctl_worker_start(s, control_fd) < 0)
        sw_log(SW_LOG_ERROR, NULL, "cannot start the control thread: the master sees no status");
}

void sw_host_worker_stopping(void)
{
    if (is_worker)
        sw_ctl_worker_stop();
}
