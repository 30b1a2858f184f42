/* config_value.c: parsing and checking single configuration values
 * (integers, seconds, sizes, enums, addresses, wsgi targets, mounts,
 * environment entries, a directory writable by an OS user) and the small string, path and allocation helpers
 * config.c builds on. Knows the key table's types but not the file being
 * read: errors go into the caller's buffer, without "FILE:LINE: key:". */
#include "config_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int cfg_parse_int(const keydef_t *k, const char *raw, val_t *v,
                  char *err, size_t n)
{
    const char *p = raw[0] == '-' ? raw + 1 : raw;
    char q[160];
    long long x;

    errno = 0;
    x = strtoll(raw, NULL, 10);
    if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || errno != 0 ||
        x < (long long)k->min || x > (long long)k->max) {
        snprintf(err, n, "must be an integer between %.0f and %.0f, got %s",
                 k->min, k->max, cfg_quote(raw, q, sizeof q));
        return -1;
    }
    v->i = x;
    return 0;
}

/* T_SECONDS and T_MIB: a plain non-negative decimal in [min, max]. */
int cfg_parse_seconds(const keydef_t *k, const char *raw, val_t *v,
                      char *err, size_t n)
{
    size_t len = strlen(raw);
    const char *dot = strchr(raw, '.');
    const char *unit = k->type == T_MIB ? "MiB" : "seconds";
    char q[160];
    double d;

    /* Plain decimals only: strtod would also take "inf", "nan" and hex. */
    if (strspn(raw, "0123456789.") != len || strspn(raw, ".") == len ||
        (dot != NULL && strchr(dot + 1, '.') != NULL))
        goto bad;
    d = strtod(raw, NULL);
    if (!isfinite(d) || d < k->min || d > k->max ||
        ((k->flags & F_POSITIVE) && d <= 0))
        goto bad;
    v->d = d;
    return 0;
bad:
    if (k->flags & F_POSITIVE)
        snprintf(err, n, "must be a number of %s greater than %.0f and "
                 "at most %.0f, got %s", unit, k->min, k->max,
                 cfg_quote(raw, q, sizeof q));
    else
        snprintf(err, n, "must be a number of %s from %.0f to %.0f, "
                 "got %s", unit, k->min, k->max, cfg_quote(raw, q, sizeof q));
    return -1;
}

int cfg_parse_size(const keydef_t *k, const char *raw, val_t *v,
                   char *err, size_t n)
{
    char q[160];
    unsigned long long x;

    errno = 0;
    x = strtoull(raw, NULL, 10);
    if (strspn(raw, "0123456789") != strlen(raw) || errno != 0 ||
        x < (unsigned long long)k->min ||
        (!(k->flags & F_NOMAX) && x > (unsigned long long)k->max)) {
        if (k->flags & F_NOMAX)
            snprintf(err, n, "must be a size in bytes (a whole number from "
                     "%.0f), got %s", k->min, cfg_quote(raw, q, sizeof q));
        else
            snprintf(err, n, "must be a size in bytes between %.0f and %.0f, "
                     "got %s", k->min, k->max, cfg_quote(raw, q, sizeof q));
        return -1;
    }
    v->u = x;
    return 0;
}

/* One of k->enums; the error lists them all. */
int cfg_parse_enum(const keydef_t *k, const char *raw, val_t *v,
                   char *err, size_t n)
{
    char q[160], all[200] = "";
    const enum_val_t *e;

    for (e = k->enums; e->name != NULL; e++) {
        size_t la = strlen(all);

        snprintf(all + la, sizeof all - la, "%s%s", la ? ", " : "", e->name);
        if (strcmp(e->name, raw) == 0) {
            v->i = e->value;
            return 0;
        }
    }
    snprintf(err, n, "must be one of %s; got %s", all,
             cfg_quote(raw, q, sizeof q));
    return -1;
}

/* PATH.py[:callable] (v->s[1] = absolute file) or module.path[:callable]
 * (v->s[2] = module); v->s[0] = raw, v->s[3] = callable. The file must be
 * a readable regular file. The path is joined lexically, never through
 * realpath(): a "current -> release-42" symlink must be followed anew on
 * each reload. */
int cfg_parse_wsgi(const char *raw, const char *dir, val_t *v,
                   char *err, size_t n)
{
    size_t len = strlen(raw);
    const char *colon = strrchr(raw, ':');
    size_t plen = len;
    const char *callable = NULL;
    char q[160];
    struct stat st;

    cfg_quote(raw, q, sizeof q);
    if (!(len > 3 && strcmp(raw + len - 3, ".py") == 0) && colon != NULL) {
        plen = (size_t)(colon - raw);
        callable = colon + 1;
    }
    if (callable != NULL && !cfg_is_identifier(callable, strlen(callable))) {
        snprintf(err, n, "callable must be a Python identifier, got %s", q);
        return -1;
    }
    v->s[0] = cfg_xstrdup(raw);
    v->s[3] = cfg_xstrdup(callable != NULL ? callable : "application");

    if (plen > 3 && strncmp(raw + plen - 3, ".py", 3) == 0) {
        char *rel = cfg_xstrndup(raw, plen);

        v->s[1] = cfg_path_join(dir, rel);
        free(rel);
        if (stat(v->s[1], &st) < 0 || access(v->s[1], R_OK) < 0) {
            snprintf(err, n, "cannot read \"%s\": %s", v->s[1],
                     strerror(errno));
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, n, "\"%s\" is not a regular file", v->s[1]);
            return -1;
        }
        return 0;
    }
    v->s[2] = cfg_xstrndup(raw, plen);
    if (!cfg_is_dotted_name(v->s[2])) {
        snprintf(err, n, "must be PATH.py[:callable] or module.path[:callable]"
                 ", got %s", q);
        return -1;
    }
    return 0;
}

/* [host][/prefix]: v->s[0] = lowercased host or NULL, v->s[1] = prefix, ""
 * for the root, else "/a/b" without a trailing slash. */
int cfg_parse_mount(const char *raw, sw_app_config_t *app, val_t *v,
                    char *err, size_t n)
{
    const char *slash = strchr(raw, '/');
    size_t hlen = slash != NULL ? (size_t)(slash - raw) : strlen(raw);
    char q[160], *p;
    size_t plen;

    cfg_quote(raw, q, sizeof q);
    if (hlen > 0) {
        v->s[0] = cfg_xstrndup(raw, hlen);
        for (p = v->s[0]; *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
        if (strchr(v->s[0], ':') != NULL) {
            snprintf(err, n, "a port in the host is not supported (a mount "
                     "matches the host name only), got %s", q);
            return -1;
        }
        for (p = v->s[0]; *p != '\0'; p++) {
            if (!isalnum((unsigned char)*p) && !strchr("-._", *p)) {
                snprintf(err, n, "bad host name in %s (letters, digits, '-', "
                         "'.' and '_' only)", q);
                return -1;
            }
        }
    }
    v->s[1] = cfg_xstrdup(slash != NULL ? slash : "");
    plen = strlen(v->s[1]);
    while (plen > 0 && v->s[1][plen - 1] == '/')
        v->s[1][--plen] = '\0';
    /* Each segment must be a plain name: the router compares prefixes
     * segment by segment, so "//", "." and ".." could never match. */
    for (p = v->s[1]; *p != '\0'; ) {
        size_t seg;

        p++;   /* the '/' */
        seg = strcspn(p, "/");
        if (seg == 0 || (seg == 1 && p[0] == '.') ||
            (seg == 2 && p[0] == '.' && p[1] == '.')) {
            snprintf(err, n, "empty, '.' or '..' path segment in %s", q);
            return -1;
        }
        for (size_t i = 0; i < seg; i++) {
            unsigned char ch = (unsigned char)p[i];

            if (ch <= ' ' || ch == 0x7f || ch == '?' || ch == '#') {
                snprintf(err, n, "space, control character, '?' or '#' in the "
                         "prefix of %s", q);
                return -1;
            }
        }
        p += seg;
    }
    for (size_t i = 0; i < app->n_mounts; i++) {
        const sw_mount_t *m = &app->mounts[i];

        if (((m->host == NULL && v->s[0] == NULL) ||
             (m->host != NULL && v->s[0] != NULL &&
              strcmp(m->host, v->s[0]) == 0)) &&
            strcmp(m->prefix, v->s[1]) == 0) {
            snprintf(err, n, "%s is listed twice", q);
            return -1;
        }
    }
    return 0;
}

/* KEY=VALUE, whitespace around '=' removed; stored as "KEY=VALUE". */
int cfg_parse_environ(const char *raw, const sw_strv_t *have_list, val_t *v,
                      char *err, size_t n)
{
    const char *eq = strchr(raw, '=');
    char *key, *val, *k, *s;
    char q[160];
    int rc = -1;

    cfg_quote(raw, q, sizeof q);
    if (eq == NULL) {
        snprintf(err, n, "must be KEY=VALUE, got %s", q);
        return -1;
    }
    key = cfg_xstrndup(raw, (size_t)(eq - raw));
    val = cfg_xstrdup(eq + 1);
    k = cfg_trim(key);
    if (*k == '\0') {
        snprintf(err, n, "empty KEY in %s", q);
        goto out;
    }
    for (s = k; *s != '\0'; s++) {
        if (isspace((unsigned char)*s)) {
            snprintf(err, n, "KEY must not contain whitespace, got %s", q);
            goto out;
        }
    }
    for (size_t i = 0; i < have_list->n; i++) {
        const char *have = have_list->items[i];
        size_t kl = strlen(k);

        if (strncmp(have, k, kl) == 0 && have[kl] == '=') {
            snprintf(err, n, "%s is set twice", k);
            goto out;
        }
    }
    v->s[0] = cfg_xasprintf("%s=%s", k, cfg_trim(val));
    sw_strv_push(&v->list, v->s[0]);
    rc = 0;
out:
    free(key);
    free(val);
    return rc;
}

/* Can OS user AS (NULL: the effective user) create files in dir? 0, an
 * errno of access() (> 0), or a negative errno when it cannot be checked;
 * who gets the user checked, quoted. Checked for real in a child that
 * becomes AS (groups, gid, uid), so that modes, ACLs, supplementary groups
 * and read-only mounts all count, which no arithmetic on stat() gets right.
 * Only root can become another user: otherwise the check falls back to the
 * effective user (a master that is not root starts its workers as itself),
 * and who says so. The child makes system calls only, as a fork of a
 * threaded process (SIGHUP reloads) must: the group list is looked up
 * before the fork, since initgroups() reads /etc/group and may take a
 * lock another thread held at the fork. */
int cfg_dir_writable_as(const char *dir, const char *as, char *who,
                        size_t n)
{
    return cfg_access_as(dir, W_OK | X_OK, as, who, n);
}

int cfg_access_as(const char *dir, int mode, const char *as, char *who,
                  size_t n)
{
    struct passwd *pw;
    uid_t uid;
    gid_t gid, *groups = NULL;
    int ngroups = 16, fds[2], rc = -EIO;
    pid_t pid;
    char q[120], qa[120];

    if (as == NULL || geteuid() != 0) {
        uid_t me = geteuid();

        pw = getpwuid(me);
        if (pw != NULL)
            cfg_quote(pw->pw_name, q, sizeof q);
        else
            snprintf(q, sizeof q, "%u", (unsigned)me);
        if (as != NULL && (pw == NULL || strcmp(pw->pw_name, as) != 0))
            snprintf(who, n, "%s (the server's user: only root can check as "
                     "%s)", q, cfg_quote(as, qa, sizeof qa));
        else
            snprintf(who, n, "%s", q);
        return faccessat(AT_FDCWD, dir, mode, AT_EACCESS) == 0 ? 0 : errno;
    }
    snprintf(who, n, "%s", cfg_quote(as, q, sizeof q));
    errno = 0;
    pw = getpwnam(as);
    if (pw == NULL)
        return errno != 0 ? -errno : -ENOENT;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    for (;;) {
        int want = ngroups;

        groups = cfg_xrealloc(groups, (size_t)want * sizeof *groups);
        if (getgrouplist(as, gid, groups, &ngroups) >= 0)
            break;
        if (ngroups <= want)   /* no growth asked for: a lookup error */
            ngroups = want * 2;
        if (ngroups > 65536) {
            free(groups);
            return -E2BIG;
        }
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        rc = -errno;
        free(groups);
        return rc;
    }
    pid = fork();
    if (pid == 0) {
        int r = 0;

        if (setgroups((size_t)ngroups, groups) != 0 || setgid(gid) != 0 ||
            setuid(uid) != 0)
            r = -errno;
        else if (access(dir, mode) != 0)
            r = errno;
        _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
    }
    if (pid < 0)
        rc = -errno;
    close(fds[1]);
    if (pid > 0) {
        ssize_t got;

        /* the result comes through the pipe, not the exit status: a reaper
         * elsewhere (waitpid(-1) of the host master) may take that first */
        do
            got = read(fds[0], &rc, sizeof rc);
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)sizeof rc)
            rc = -EIO;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close(fds[0]);
    free(groups);
    return rc;
}

void cfg_val_free(val_t *v)
{
    for (size_t i = 0; i < 4; i++) {
        free(v->s[i]);
        v->s[i] = NULL;
    }
    sw_strv_free(&v->list);
}

/* Syntax check only (binding is listen.c's job): HOST:PORT, [IPV6]:PORT with
 * a port 1..65535, or unix:/absolute/path shorter than sun_path (108). */
int cfg_check_addr(const char *s, char *err, size_t n)
{
    char q[160], host[256];
    const char *port;
    size_t hlen;
    unsigned long pn;

    cfg_quote(s, q, sizeof q);
    if (strncmp(s, "unix:", 5) == 0) {
        if (s[5] != '/') {
            snprintf(err, n, "a unix socket path must be absolute, got %s", q);
            return -1;
        }
        if (strlen(s + 5) >= 108) {
            snprintf(err, n, "unix socket path is %zu bytes long, the limit "
                     "is 107, got %s", strlen(s + 5), q);
            return -1;
        }
        return 0;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        struct in6_addr a6;

        if (close == NULL || close[1] != ':') {
            snprintf(err, n, "expected [IPV6]:PORT, got %s", q);
            return -1;
        }
        hlen = (size_t)(close - s - 1);
        if (hlen >= sizeof host)
            hlen = sizeof host - 1;
        memcpy(host, s + 1, hlen);
        host[hlen] = '\0';
        if (inet_pton(AF_INET6, host, &a6) != 1) {
            snprintf(err, n, "bad IPv6 address in %s", q);
            return -1;
        }
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        struct in_addr a4;

        if (colon == NULL || colon == s) {
            snprintf(err, n, "expected HOST:PORT, [IPV6]:PORT or unix:/path, "
                     "got %s", q);
            return -1;
        }
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL) {
            snprintf(err, n, "an IPv6 address needs brackets: [IPV6]:PORT, "
                     "got %s", q);
            return -1;
        }
        if (hlen >= sizeof host) {
            snprintf(err, n, "host name too long in %s", q);
            return -1;
        }
        memcpy(host, s, hlen);
        host[hlen] = '\0';
        if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789-._") != hlen) {
            snprintf(err, n, "bad host name in %s", q);
            return -1;
        }
        if (strspn(host, "0123456789.") == hlen &&
            inet_pton(AF_INET, host, &a4) != 1) {
            snprintf(err, n, "bad IPv4 address in %s", q);
            return -1;
        }
        port = colon + 1;
    }
    if (*port == '\0' || strlen(port) > 5 ||
        strspn(port, "0123456789") != strlen(port) ||
        (pn = strtoul(port, NULL, 10)) < 1 || pn > 65535) {
        snprintf(err, n, "port must be a number from 1 to 65535, got %s", q);
        return -1;
    }
    return 0;
}

bool cfg_addr_is_loopback(const char *s)
{
    struct in_addr a4;
    char host[64];
    const char *colon = strrchr(s, ':');
    size_t hlen;

    if (strncmp(s, "unix:", 5) == 0)
        return true;
    if (strncmp(s, "[::1]:", 6) == 0)
        return true;
    if (colon == NULL || (hlen = (size_t)(colon - s)) >= sizeof host)
        return false;
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return true;
    return inet_pton(AF_INET, host, &a4) == 1 &&
           (ntohl(a4.s_addr) >> 24) == 127;
}

bool cfg_addr_equal(const char *a, const char *b)
{
    if (strncmp(a, "unix:", 5) == 0 || strncmp(b, "unix:", 5) == 0)
        return strcmp(a, b) == 0;
    return strcasecmp(a, b) == 0;
}

char *cfg_mount_text(const sw_mount_t *m)
{
    return cfg_xasprintf("%s%s", m->host != NULL ? m->host : "",
                     *m->prefix != '\0' || m->host != NULL ? m->prefix : "/");
}

bool cfg_is_identifier(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* "a.b_c.d": ASCII identifiers joined by single dots. */
bool cfg_is_dotted_name(const char *s)
{
    for (;;) {
        size_t seg = strcspn(s, ".");

        if (!cfg_is_identifier(s, seg))
            return false;
        if (s[seg] == '\0')
            return true;
        s += seg + 1;
    }
}

/* A section NAME: [A-Za-z0-9_.-]+ */
bool cfg_is_name(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

/* Trims in place; returns the first non-space byte. */
char *cfg_trim(char *s)
{
    size_t n;

    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* s in double quotes, non-printable bytes as \xNN, cut after 60 bytes. */
const char *cfg_quote(const char *s, char *buf, size_t n)
{
    size_t o = 0, i;

    if (n < 16) {
        if (n > 0)
            buf[0] = '\0';
        return buf;
    }
    buf[o++] = '"';
    for (i = 0; s[i] != '\0' && i < 60 && o + 8 < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\')
            o += (size_t)snprintf(buf + o, n - o, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            o += (size_t)snprintf(buf + o, n - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    if (s[i] != '\0')
        o += (size_t)snprintf(buf + o, n - o, "...");
    buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

/* dir + "/" + p (or p when absolute), with "//" and "." segments removed;
 * ".." is kept: resolving it lexically would be wrong across symlinks. */
char *cfg_path_join(const char *dir, const char *p)
{
    char *joined = p[0] == '/' ? cfg_xstrdup(p) : cfg_xasprintf("%s/%s", dir, p);
    char *out = cfg_xmalloc(strlen(joined) + 2);
    const char *s = joined;
    size_t o = 0;

    while (*s != '\0') {
        size_t seg;

        while (*s == '/')
            s++;
        seg = strcspn(s, "/");
        if (seg == 0 || (seg == 1 && s[0] == '.')) {
            s += seg;
            continue;
        }
        out[o++] = '/';
        memcpy(out + o, s, seg);
        o += seg;
        s += seg;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = '\0';
    free(joined);
    return out;
}

/* Absolute directory of file; the base of relative paths in it. */
char *cfg_config_dir(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash != NULL ? cfg_xstrndup(file, (size_t)(slash - file))
                              : cfg_xstrdup(".");
    char *cwd, *abs;

    if (slash == file) {
        free(dir);
        return cfg_xstrdup("/");
    }
    if (dir[0] == '/')
        abs = cfg_path_join("/", dir);
    else if ((cwd = getcwd(NULL, 0)) != NULL) {
        abs = cfg_path_join(cwd, dir);
        free(cwd);
    } else
        abs = cfg_path_join("/", dir);
    free(dir);
    return abs;
}

/* Appends s, which the list now owns. */
void cfg_strv_take(sw_strv_t *v, char *s)
{
    v->items = cfg_xrealloc(v->items, (v->n + 1) * sizeof *v->items);
    v->items[v->n++] = s;
}

void cfg_intv_push(intv_t *v, int x)
{
    v->v = cfg_xrealloc(v->v, (v->n + 1) * sizeof *v->v);
    v->v[v->n++] = x;
}

/* Allocation failure while loading the config is not recoverable. */
void *cfg_xmalloc(size_t n)
{
    void *p = malloc(n != 0 ? n : 1);

    if (p == NULL) {
        fputs("subwsgi: out of memory\n", stderr);
        abort();
    }
    return p;
}

void *cfg_xrealloc(void *p, size_t n)
{
    p = realloc(p, n != 0 ? n : 1);
    if (p == NULL) {
        fputs("subwsgi: out of memory\n", stderr);
        abort();
    }
    return p;
}

char *cfg_xstrdup(const char *s)
{
    return cfg_xstrndup(s, strlen(s));
}

char *cfg_xstrndup(const char *s, size_t n)
{
    char *p = cfg_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cfg_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("subwsgi: out of memory\n", stderr);
        abort();
    }
    va_end(ap);
    return s;
}
