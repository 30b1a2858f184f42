/* config.c: loads and validates the INI configuration (DESIGN sections 4
 * and 9) and builds the quick-mode configuration (section 3). Every key is one row of
 * keys[], walked by one generic setter, so every error names its key; the
 * parsing of single values lives in config_value.c. */
#include "config.h"
#include "config_value.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- static prototypes -------------------------------------------------- */


static int parse_value(ctx_t *c, const keydef_t *k, void *base,
                       const char *raw, val_t *v, char *err, size_t n);
static void store_value(ctx_t *c, const keydef_t *k, void *base, val_t *v);

static void set_wsgi(ctx_t *c, void *base, val_t *v);
static void set_mount(ctx_t *c, void *base, val_t *v);
static void set_scgi(ctx_t *c, void *base, val_t *v);
static void set_isolation(ctx_t *c, void *base, val_t *v);
static void set_token(ctx_t *c, void *base, val_t *v);
static void set_mode(ctx_t *c, void *base, val_t *v);

static sw_config_t *config_new(const char *file);
static void app_init(sw_app_config_t *app, const char *name, int line);
static void app_free(sw_app_config_t *app);
static void user_free(sw_user_config_t *u);
static void report(ctx_t *c, int line, const char *sect, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static const char *sect_label(ctx_t *c, char *buf, size_t n);
static const keydef_t *key_find(sect_kind_t sect, const char *name);
static void section_begin(ctx_t *c, const char *name);
static char *reader(char *str, int num, void *stream);
static int handler(void *user, const char *section, const char *name,
                   const char *value);
static void key_set(ctx_t *c, const char *name, const char *value);
static void check_all(ctx_t *c);
static void check_owners(ctx_t *c);
static void set_log_files(sw_config_t *cfg);
static bool apps_share_listener(ctx_t *c, size_t a, size_t b);
static const sw_strv_t *owner_scgi(ctx_t *c, const sw_app_config_t *app);

/* ---- tables ------------------------------------------------------------- */

static const enum_val_t isolation_vals[] = {
    {"auto", SW_ISOLATION_AUTO},
    {"own-gil", SW_ISOLATION_OWN_GIL},
    {"shared-gil", SW_ISOLATION_SHARED_GIL},
    {"main", SW_ISOLATION_MAIN},
    {NULL, 0}
};

static const enum_val_t reload_vals[] = {
    {"auto", SW_RELOAD_AUTO},
    {"interpreter", SW_RELOAD_INTERPRETER},
    {"process", SW_RELOAD_PROCESS},
    {NULL, 0}
};

static const enum_val_t mode_vals[] = {
    {"single", SW_MODE_SINGLE},
    {"host", SW_MODE_HOST},
    {NULL, 0}
};

static const enum_val_t role_vals[] = {
    {"user", SW_ROLE_USER},
    {"admin", SW_ROLE_ADMIN},
    {NULL, 0}
};

#define USR(f) offsetof(sw_user_config_t, f)

#define SRV(f) offsetof(sw_config_t, f)
#define APP(f) offsetof(sw_app_config_t, f)
#define YEAR 31536000.0

/* Every key of DESIGN sections 4 and 9: section, name, value type, flags,
 * where the value goes, range, enum. */
static const keydef_t keys[] = {
    {SEC_SERVER, "scgi", T_ADDR, F_REPEAT, ST_FUNC, SRV(scgi), set_scgi,
     0, 0, NULL},
    {SEC_SERVER, "admin", T_ADMIN, 0, ST_STR, SRV(admin), NULL,
     0, 0, NULL},
    {SEC_SERVER, "admin-tls-cert", T_FILE, 0, ST_STR, SRV(admin_tls_cert), NULL,
     0, 0, NULL},
    {SEC_SERVER, "admin-tls-key", T_FILE, 0, ST_STR, SRV(admin_tls_key), NULL,
     0, 0, NULL},
    {SEC_SERVER, "socket-mode", T_MODE, 0, ST_UINT, SRV(socket_mode), NULL,
     0, 0777, NULL},
    {SEC_SERVER, "queue-size", T_INT, 0, ST_INT, SRV(queue_size), NULL,
     1, 1000000, NULL},
    {SEC_SERVER, "request-timeout", T_SECONDS, 0, ST_DOUBLE,
     SRV(request_timeout), NULL, 0, YEAR, NULL},
    {SEC_SERVER, "header-timeout", T_SECONDS, F_POSITIVE, ST_DOUBLE,
     SRV(header_timeout), NULL, 0, YEAR, NULL},
    {SEC_SERVER, "max-header-size", T_SIZE, 0, ST_SIZE, SRV(max_header_size),
     NULL, 256, 16777216, NULL},
    {SEC_SERVER, "max-body-size", T_SIZE, F_NOMAX, ST_U64, SRV(max_body_size),
     NULL, 0, 0, NULL},
    {SEC_SERVER, "body-buffer-size", T_SIZE, 0, ST_SIZE, SRV(body_buffer_size),
     NULL, 0, 1073741824, NULL},
    {SEC_SERVER, "body-timeout", T_SECONDS, F_POSITIVE, ST_DOUBLE,
     SRV(body_timeout), NULL, 0, YEAR, NULL},
    {SEC_SERVER, "body-temp-dir", T_DIR, 0, ST_STR, SRV(body_temp_dir), NULL,
     0, 0, NULL},
    {SEC_SERVER, "drain-timeout", T_SECONDS, 0, ST_DOUBLE, SRV(drain_timeout),
     NULL, 0, YEAR, NULL},
    {SEC_SERVER, "load-timeout", T_SECONDS, F_POSITIVE, ST_DOUBLE, SRV(load_timeout),
     NULL, 0, YEAR, NULL},
    {SEC_SERVER, "access-log", T_LOG, F_OFF, ST_STR, SRV(access_log), NULL,
     0, 0, NULL},
    {SEC_SERVER, "error-log", T_LOG, 0, ST_STR, SRV(error_log), NULL,
     0, 0, NULL},
    {SEC_SERVER, "pid-file", T_PATH, 0, ST_STR, SRV(pid_file), NULL,
     0, 0, NULL},
    {SEC_SERVER, "preload", T_MODLIST, F_REPEAT, ST_STRV, SRV(preload), NULL,
     0, 0, NULL},
    {SEC_SERVER, "recycle-rss", T_MIB, 0, ST_DOUBLE, SRV(recycle_rss), NULL,
     0, 1048576, NULL},
    {SEC_SERVER, "user", T_USER, 0, ST_STR, SRV(user), NULL,
     0, 0, NULL},
    {SEC_SERVER, "mode", T_ENUM, 0, ST_FUNC, 0, set_mode,
     0, 0, mode_vals},

    {SEC_APP, "owner", T_NAME, 0, ST_STR, APP(owner), NULL,
     0, 0, NULL},
    {SEC_APP, "wsgi", T_WSGI, 0, ST_FUNC, 0, set_wsgi,
     0, 0, NULL},
    {SEC_APP, "python-path", T_PYPATH, F_REPEAT, ST_STRV, APP(python_path),
     NULL, 0, 0, NULL},
    {SEC_APP, "venv", T_DIR, 0, ST_STR, APP(venv), NULL,
     0, 0, NULL},
    {SEC_APP, "mount", T_MOUNT, F_REPEAT, ST_FUNC, 0, set_mount,
     0, 0, NULL},
    {SEC_APP, "scgi", T_ADDR, F_REPEAT, ST_FUNC, APP(scgi), set_scgi,
     0, 0, NULL},
    {SEC_APP, "isolation", T_ENUM, 0, ST_FUNC, 0, set_isolation,
     0, 0, isolation_vals},
    {SEC_APP, "interpreters", T_INT, 0, ST_INT, APP(interpreters), NULL,
     1, 256, NULL},
    {SEC_APP, "threads", T_INT, 0, ST_INT, APP(threads), NULL,
     1, 1024, NULL},
    {SEC_APP, "watch", T_BOOL, 0, ST_INT, APP(watch), NULL,
     0, 0, NULL},
    {SEC_APP, "touch-reload", T_PATH, 0, ST_STR, APP(touch_reload), NULL,
     0, 0, NULL},
    {SEC_APP, "idle-timeout", T_SECONDS, 0, ST_DOUBLE, APP(idle_timeout), NULL,
     0, YEAR, NULL},
    {SEC_APP, "max-requests", T_INT, 0, ST_INT, APP(max_requests), NULL,
     0, 2000000000, NULL},
    {SEC_APP, "request-buffering", T_BOOL, 0, ST_INT, APP(request_buffering), NULL,
     0, 0, NULL},
    {SEC_APP, "environ", T_ENVIRON, F_REPEAT, ST_STRV, APP(environ), NULL,
     0, 0, NULL},
    {SEC_APP, "env", T_ENVIRON, F_REPEAT, ST_STRV, APP(env), NULL,
     0, 0, NULL},
    {SEC_APP, "reload", T_ENUM, 0, ST_INT, APP(reload), NULL,
     0, 0, reload_vals},

    {SEC_USER, "token-sha256", T_SHA256, 0, ST_FUNC, 0, set_token,
     0, 0, NULL},
    {SEC_USER, "role", T_ENUM, 0, ST_INT, USR(role), NULL,
     0, 0, role_vals},
    /* host mode (DESIGN section 9): this owner's worker process */
    {SEC_USER, "run-as", T_USER, F_NOROOT, ST_STR, USR(run_as), NULL,
     0, 0, NULL},
    {SEC_USER, "scgi", T_ADDR, F_REPEAT, ST_FUNC, USR(scgi), set_scgi,
     0, 0, NULL},
    {SEC_USER, "recycle-rss", T_MIB, 0, ST_DOUBLE, USR(recycle_rss), NULL,
     0, 1048576, NULL},
    {SEC_USER, "log-dir", T_DIR, 0, ST_STR, USR(log_dir), NULL,
     0, 0, NULL},
};

#define N_KEYS (sizeof keys / sizeof keys[0])

/* What the checks after the whole file need to know about one section:
 * the line where each key first appeared, valid or not (so a key with a bad
 * value is not also reported missing), and the lines of repeated entries,
 * parallel to the app's arrays. */
typedef struct {
    int seen[N_KEYS];
    intv_t mount_line;
    intv_t scgi_line;
    bool no_conflicts;        /* listeners or mounts unknown: reported */
} app_side_t;

/* The same for a [user:NAME] section. */
typedef struct {
    int seen[N_KEYS];
    int token_line;           /* line of a valid token-sha256, 0: none */
    intv_t scgi_line;         /* parallel to the user's scgi */
} user_side_t;

/* Parsing state of sw_config_load(). */
struct ctx {
    const char *file;         /* as given: the prefix of every message */
    char *dir;                /* absolute dir of file: base of relative paths */
    sw_config_t *cfg;
    sw_errors_t *errs;
    size_t nerr;              /* errors reported by this load */
    const char *text;         /* the whole file, NUL-terminated */
    size_t pos;               /* where reader() takes the next line */
    char *buf;                /* the line handed to inih, modifiable */
    size_t cap;
    int line;                 /* line just handed to inih */
    sect_kind_t kind;         /* current section */
    size_t app;               /* index of the current app (SEC_APP) */
    size_t user;              /* index of the current user (SEC_USER) */
    user_side_t *uside;       /* parallel to cfg->users */
    size_t n_uside;
    int server_line;          /* header of [server]; 0 when absent */
    int mode_line;            /* a valid mode; 0: default or a bad value */
    int admin_line;
    app_side_t *side;         /* parallel to cfg->apps */
    size_t n_side;
    int srv_seen[N_KEYS];     /* like app_side_t.seen, for [server] */
    intv_t srv_scgi_line;     /* parallel to cfg->scgi */
};

/* ---- public functions --------------------------------------------------- */

/* Read whole, so that the host-mode master can hand its workers the very
 * bytes it validated (DESIGN section 9), and parsed by the one path,
 * sw_config_parse_string(). */
sw_config_t *sw_config_load(const char *file, sw_errors_t *errs)
{
    char *text = sw_config_read(file, errs);
    sw_config_t *cfg;

    if (text == NULL)
        return NULL;
    cfg = sw_config_parse_string(file, text, errs);
    free(text);
    return cfg;
}

char *sw_config_read(const char *file, sw_errors_t *errs)
{
    FILE *fp = fopen(file, "r");
    char *text = NULL;
    size_t len = 0, cap = 0, nul = 0;
    int line = 1;

    if (fp == NULL) {
        sw_errors_add(errs, "%s:0: cannot open: %s", file, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t got;

        if (cap - len < 4096) {
            cap = cap ? 2 * cap : 16384;
            text = cfg_xrealloc(text, cap);
        }
        got = fread(text + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0 || len > SW_CONFIG_MAX_SIZE)
            break;
    }
    if (ferror(fp)) {
        sw_errors_add(errs, "%s:0: cannot read: %s", file, strerror(errno));
        goto fail;
    }
    if (len > SW_CONFIG_MAX_SIZE) {
        /* -c /dev/zero must not eat the memory */
        sw_errors_add(errs, "%s:0: cannot read: larger than %d bytes", file,
                      SW_CONFIG_MAX_SIZE);
        goto fail;
    }
    text[len] = '\0';
    /* The text ends at its first NUL for the parser: every line holding
     * one is an error rather than a silently shorter file. */
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            line++;
        } else if (text[i] == '\0') {
            sw_errors_add(errs, "%s:%d: line contains a NUL byte", file, line);
            nul++;
            while (i + 1 < len && text[i + 1] != '\n')
                i++;
        }
    }
    if (nul > 0)
        goto fail;
    fclose(fp);
    return text;

fail:
    fclose(fp);
    free(text);
    return NULL;
}

sw_config_t *sw_config_parse_string(const char *label, const char *text,
                                    sw_errors_t *errs)
{
    sw_config_t *ret = NULL;
    ctx_t c;
    int rc;

    memset(&c, 0, sizeof c);
    c.file = label;
    c.errs = errs;
    c.cfg = config_new(label);
    c.dir = cfg_config_dir(label);
    c.kind = SEC_NONE;
    c.text = text;

    /* inih gets the text line by line from reader(), which counts lines
     * (Debian's libinih is built without INI_HANDLER_LINENO), tracks the
     * sections (the handler is not called for a header) and reports the
     * syntax errors inih would only count. */
    rc = ini_parse_stream(reader, &c, handler, &c);
    if (rc != 0 && c.nerr == 0)
        report(&c, rc > 0 ? rc : 0, NULL, NULL, "cannot parse (inih error %d)",
               rc);
    check_all(&c);
    if (c.nerr == 0) {
        set_log_files(c.cfg);
        ret = c.cfg;
        c.cfg = NULL;
    }

    for (size_t i = 0; c.side != NULL && i < c.n_side; i++) {
        free(c.side[i].mount_line.v);
        free(c.side[i].scgi_line.v);
    }
    free(c.side);
    for (size_t i = 0; c.uside != NULL && i < c.n_uside; i++)
        free(c.uside[i].scgi_line.v);
    free(c.uside);
    free(c.srv_scgi_line.v);
    free(c.buf);
    free(c.dir);
    sw_config_free(c.cfg);
    return ret;
}

sw_config_t *sw_config_quick(const char *app_spec, const char *scgi,
                             const char *admin, int interpreters, int threads,
                             const char *isolation, int watch,
                             sw_errors_t *errs)
{
    sw_config_t *cfg = config_new("(command line)");
    sw_app_config_t *app;
    size_t nerr = 0;
    char err[512], q[160];
    val_t v;
    char *cwd = getcwd(NULL, 0);
    char *name = NULL;

#define QERR(...) do { sw_errors_add(errs, __VA_ARGS__); nerr++; } while (0)

    if (cwd == NULL)
        cwd = cfg_xstrdup("/");
    cfg->apps = cfg_xmalloc(sizeof *cfg->apps);
    cfg->n_apps = 1;
    app = &cfg->apps[0];

    memset(&v, 0, sizeof v);
    if (app_spec == NULL || *app_spec == '\0') {
        QERR("--app: required (PATH.py[:CALLABLE])");
        app_init(app, "app", 0);
    } else if (cfg_parse_wsgi(app_spec, cwd, &v, err, sizeof err) < 0) {
        QERR("--app: %s", err);
        app_init(app, "app", 0);
    } else if (v.s[1] == NULL) {
        QERR("--app: must be PATH.py[:CALLABLE], got %s",
             cfg_quote(app_spec, q, sizeof q));
        app_init(app, "app", 0);
    } else {
        /* The app is named after the file: "/srv/blog.py:app" -> "blog". */
        const char *base = strrchr(v.s[1], '/');
        size_t len;

        base = base != NULL ? base + 1 : v.s[1];
        len = strlen(base) - 3;
        name = cfg_xstrndup(base, len);
        for (char *p = name; *p != '\0'; p++)
            if (!isalnum((unsigned char)*p) && !strchr("_.-", *p))
                *p = '_';
        app_init(app, *name != '\0' ? name : "app", 0);
        app->wsgi = v.s[0];
        app->wsgi_file = v.s[1];
        app->callable = v.s[3];
        v.s[0] = v.s[1] = v.s[3] = NULL;
    }
    cfg_val_free(&v);
    free(name);
    if (app->callable == NULL)
        app->callable = cfg_xstrdup("application");
    app->mounts = cfg_xmalloc(sizeof *app->mounts);
    app->mounts[0].host = NULL;
    app->mounts[0].prefix = cfg_xstrdup("");
    app->n_mounts = 1;

    if (scgi == NULL || *scgi == '\0')
        QERR("--scgi: required (HOST:PORT, [IPV6]:PORT or unix:/path)");
    else if (cfg_check_addr(scgi, err, sizeof err) < 0)
        QERR("--scgi: %s", err);
    else
        sw_strv_push(&cfg->scgi, scgi);

    if (admin != NULL && *admin != '\0' && strcmp(admin, "off") != 0) {
        if (cfg_check_addr(admin, err, sizeof err) < 0)
            QERR("--admin: %s", err);
        else if (!cfg_addr_is_loopback(admin))
            QERR("--admin: must be a loopback address (127.0.0.1, [::1], "
                 "localhost) or unix:/path in quick mode, which has no "
                 "tokens, got %s", cfg_quote(admin, q, sizeof q));
        else if (scgi != NULL && cfg_addr_equal(admin, scgi))
            QERR("--admin: same address as --scgi");
        else
            cfg->admin = cfg_xstrdup(admin);
    }

    if (interpreters > 256)
        QERR("--interpreters: must be an integer between 1 and 256, got %d",
             interpreters);
    else
        app->interpreters = interpreters > 0 ? interpreters : 1;
    if (threads > 1024)
        QERR("--threads: must be an integer between 1 and 1024, got %d",
             threads);
    else
        app->threads = threads > 0 ? threads : 1;

    if (isolation != NULL) {
        const keydef_t *k = key_find(SEC_APP, "isolation");

        memset(&v, 0, sizeof v);
        if (cfg_parse_enum(k, isolation, &v, err, sizeof err) < 0)
            QERR("--isolation: %s", err);
        else
            app->isolation = (sw_isolation_t)v.i;
    }
    app->watch = watch != 0;
#undef QERR

    free(cwd);
    if (nerr > 0) {
        sw_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void sw_config_free(sw_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->file);
    sw_strv_free(&cfg->scgi);
    free(cfg->admin);
    free(cfg->access_log);
    free(cfg->error_log);
    free(cfg->pid_file);
    free(cfg->body_temp_dir);
    free(cfg->user);
    sw_strv_free(&cfg->preload);
    free(cfg->admin_tls_cert);
    free(cfg->admin_tls_key);
    for (size_t i = 0; i < cfg->n_users; i++)
        user_free(&cfg->users[i]);
    free(cfg->users);
    for (size_t i = 0; i < cfg->n_apps; i++)
        app_free(&cfg->apps[i]);
    free(cfg->apps);
    free(cfg);
}

int sw_strv_equal(const sw_strv_t *a, const sw_strv_t *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i], b->items[i]) != 0)
            return 0;
    return 1;
}

int sw_str_equal(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *python_library;

void sw_config_set_python_library(const char *path)
{
    python_library = path;
}

static bool owns_an_app(const sw_config_t *cfg, const char *user)
{
    for (size_t a = 0; a < cfg->n_apps; a++)
        if (cfg->apps[a].owner && strcmp(cfg->apps[a].owner, user) == 0)
            return true;
    return false;
}

size_t sw_config_keep_owner(sw_config_t *cfg, const char *owner)
{
    size_t k = 0;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        if (cfg->apps[i].owner && strcmp(cfg->apps[i].owner, owner) == 0)
            cfg->apps[k++] = cfg->apps[i];
        else
            app_free(&cfg->apps[i]);
    }
    cfg->n_apps = k;
    k = 0;
    for (size_t i = 0; i < cfg->n_users; i++) {
        if (strcmp(cfg->users[i].name, owner) == 0)
            cfg->users[k++] = cfg->users[i];
        else
            user_free(&cfg->users[i]);
    }
    cfg->n_users = k;
    /* A worker has no admin port: no token hash stays in its memory. */
    for (size_t i = 0; i < cfg->n_users; i++)
        explicit_bzero(cfg->users[i].token_sha256, sizeof cfg->users[i].token_sha256);
    return cfg->n_apps;
}

const sw_user_config_t *sw_config_user(const sw_config_t *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_users; i++)
        if (strcmp(cfg->users[i].name, name) == 0)
            return &cfg->users[i];
    return NULL;
}

size_t sw_config_n_owners(const sw_config_t *cfg)
{
    size_t n = 0;

    for (size_t i = 0; i < cfg->n_users; i++) {
        for (size_t j = 0; j < cfg->n_apps; j++) {
            if (cfg->apps[j].owner != NULL &&
                strcmp(cfg->apps[j].owner, cfg->users[i].name) == 0) {
                n++;
                break;
            }
        }
    }
    return n;
}

const char *sw_isolation_name(sw_isolation_t iso)
{
    switch (iso) {
    case SW_ISOLATION_AUTO:       return "auto";
    case SW_ISOLATION_OWN_GIL:    return "own-gil";
    case SW_ISOLATION_SHARED_GIL: return "shared-gil";
    case SW_ISOLATION_MAIN:       return "main";
    }
    return "unknown";
}

void sw_strv_push(sw_strv_t *v, const char *s)
{
    v->items = cfg_xrealloc(v->items, (v->n + 1) * sizeof *v->items);
    v->items[v->n++] = cfg_xstrdup(s);
}

void sw_strv_free(sw_strv_t *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n = 0;
}

void sw_errors_add(sw_errors_t *errs, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (errs == NULL)
        return;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0) {
        fputs("subwsgi: out of memory\n", stderr);
        abort();
    }
    va_end(ap);
    errs->lines.items = cfg_xrealloc(errs->lines.items,
                                 (errs->lines.n + 1) * sizeof(char *));
    errs->lines.items[errs->lines.n++] = s;
}

void sw_errors_free(sw_errors_t *errs)
{
    if (errs != NULL)
        sw_strv_free(&errs->lines);
}

/* ---- reading the file ---------------------------------------------------- */

/* inih's reader: hands it one physical line at a time, so c->line is the
 * line of every handler call. Leading whitespace is removed, so inih never
 * sees a continuation line: an indented "threads = 4" is a key, not more of
 * the previous value. Lines inih would reject (or truncate: its buffer is
 * num bytes, 200 in Debian's build) are reported here with their line and
 * handed over as empty lines. Section headers are handled here too. */
static char *reader(char *str, int num, void *stream)
{
    ctx_t *c = stream;
    const char *from = c->text + c->pos;
    const char *nl = strchr(from, '\n');
    size_t len = nl != NULL ? (size_t)(nl - from) + 1 : strlen(from);
    char *s, *p;
    bool was_space = false;

    if (len == 0)
        return NULL;
    if (len + 1 > c->cap) {
        c->cap = len + 1;
        c->buf = cfg_xrealloc(c->buf, c->cap);
    }
    memcpy(c->buf, from, len);
    c->buf[len] = '\0';
    c->pos += len;
    c->line++;
    str[0] = '\n';
    str[1] = '\0';
    s = c->buf;
    if (c->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    s = cfg_trim(s);
    if (*s == '\0' || *s == ';' || *s == '#')
        return str;

    if (*s == '[') {
        char *end = strchr(s, ']');
        char *rest;

        if (end == NULL) {
            report(c, c->line, NULL, NULL,
                   "section header without a closing ']'");
            c->kind = SEC_SKIP;
            return str;
        }
        rest = end + 1;
        while (isspace((unsigned char)*rest))
            rest++;
        if (*rest != '\0' && *rest != ';' && *rest != '#') {
            report(c, c->line, NULL, NULL,
                   "unexpected text after the section header");
            c->kind = SEC_SKIP;
            return str;
        }
        *end = '\0';
        section_begin(c, cfg_trim(s + 1));
        return str;
    }

    /* A key line: the same scan inih makes for '=' or ':', stopping at an
     * inline comment (';' after whitespace). */
    for (p = s; *p != '\0' && *p != '=' && *p != ':'; p++) {
        if (was_space && *p == ';')
            break;
        was_space = isspace((unsigned char)*p);
    }
    if (*p != '=' && *p != ':') {
        report(c, c->line, NULL, NULL,
               "expected \"key = value\" or \"[section]\"");
        return str;
    }
    if (p == s) {
        report(c, c->line, NULL, NULL, "missing key name before '%c'", *p);
        return str;
    }
    if ((size_t)num < 3 || strlen(s) > (size_t)num - 2) {
        /* inih reads the rest of a line that fills its buffer as if it were
         * a truncated one; ours always ends in '\n' within num - 1 bytes. */
        report(c, c->line, NULL, NULL,
               "line is longer than %d characters (a libinih limit); split "
               "a repeatable key over several lines", num - 2);
        return str;
    }
    snprintf(str, (size_t)num, "%s\n", s);
    return str;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    (void)section;   /* c->kind is ours: inih truncates long section names */
    key_set(user, name, value != NULL ? value : "");
    return 1;
}

static void section_begin(ctx_t *c, const char *name)
{
    c->kind = SEC_SKIP;

    if (strcmp(name, "server") == 0) {
        if (c->server_line != 0) {
            report(c, c->line, "[server]", NULL,
                   "duplicate section (first on line %d)", c->server_line);
            return;
        }
        c->server_line = c->line;
        c->kind = SEC_SERVER;
    } else if (strncmp(name, "app:", 4) == 0) {
        sw_config_t *cfg = c->cfg;
        const char *an = name + 4;

        if (!cfg_is_name(an)) {
            report(c, c->line, NULL, NULL,
                   "[%s]: invalid app name: NAME must match [A-Za-z0-9_.-]+",
                   name);
            return;
        }
        for (size_t i = 0; i < cfg->n_apps; i++) {
            if (strcmp(cfg->apps[i].name, an) == 0) {
                report(c, c->line, NULL, NULL,
                       "[%s]: duplicate section (first on line %d)", name,
                       cfg->apps[i].line);
                return;
            }
        }
        cfg->apps = cfg_xrealloc(cfg->apps, (cfg->n_apps + 1) * sizeof *cfg->apps);
        c->side = cfg_xrealloc(c->side, (cfg->n_apps + 1) * sizeof *c->side);
        memset(&c->side[cfg->n_apps], 0, sizeof *c->side);
        c->n_side = cfg->n_apps + 1;
        app_init(&cfg->apps[cfg->n_apps], an, c->line);
        c->app = cfg->n_apps++;
        c->kind = SEC_APP;
    } else if (strncmp(name, "user:", 5) == 0) {
        sw_config_t *cfg = c->cfg;
        const char *un = name + 5;

        if (!cfg_is_name(un)) {
            report(c, c->line, NULL, NULL,
                   "[%s]: invalid user name: NAME must match [A-Za-z0-9_.-]+", name);
            return;
        }
        for (size_t i = 0; i < cfg->n_users; i++) {
            if (strcmp(cfg->users[i].name, un) == 0) {
                report(c, c->line, NULL, NULL, "[%s]: duplicate section (first on line %d)",
                       name, cfg->users[i].line);
                return;
            }
        }
        cfg->users = cfg_xrealloc(cfg->users, (cfg->n_users + 1) * sizeof *cfg->users);
        c->uside = cfg_xrealloc(c->uside, (cfg->n_users + 1) * sizeof *c->uside);
        memset(&c->uside[cfg->n_users], 0, sizeof *c->uside);
        c->n_uside = cfg->n_users + 1;
        memset(&cfg->users[cfg->n_users], 0, sizeof cfg->users[cfg->n_users]);
        cfg->users[cfg->n_users].name = cfg_xstrdup(un);
        cfg->users[cfg->n_users].line = c->line;
        cfg->users[cfg->n_users].role = SW_ROLE_USER;
        c->user = cfg->n_users++;
        c->kind = SEC_USER;
    } else {
        report(c, c->line, NULL, NULL,
               "[%s]: unknown section (expected [server], [user:NAME] or "
               "[app:NAME])", name);
    }
}

/* The generic walker: finds the key's row, then checks repetition and
 * value, and stores it. */
static void key_set(ctx_t *c, const char *name, const char *value)
{
    const keydef_t *k;
    void *base;
    val_t v;
    char err[512], label[200];
    size_t idx;
    int *seen;

    if (c->kind == SEC_SKIP)
        return;   /* the section's header was reported already */
    if (c->kind == SEC_NONE) {
        report(c, c->line, NULL, name,
               "key outside of any section (put it under [server] or "
               "[app:NAME])");
        return;
    }
    sect_label(c, label, sizeof label);
    k = key_find(c->kind, name);
    if (k == NULL) {
        static const struct {
            sect_kind_t kind;
            const char *label;
        } others[] = {
            {SEC_SERVER, "[server]"}, {SEC_APP, "[app:NAME]"},
            {SEC_USER, "[user:NAME]"},
        };

        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            if (others[i].kind != c->kind &&
                key_find(others[i].kind, name) != NULL) {
                report(c, c->line, label, name, "unknown key here (it "
                       "belongs in %s)", others[i].label);
                return;
            }
        }
        report(c, c->line, label, name, "unknown key");
        return;
    }
    idx = (size_t)(k - keys);
    seen = c->kind == SEC_SERVER ? c->srv_seen
         : c->kind == SEC_USER ? c->uside[c->user].seen : c->side[c->app].seen;
    if (!(k->flags & F_REPEAT) && seen[idx] != 0) {
        report(c, c->line, label, name, "given twice (first on line %d)",
               seen[idx]);
        return;
    }
    if (seen[idx] == 0)
        seen[idx] = c->line;

    base = c->kind == SEC_SERVER ? (void *)c->cfg
         : c->kind == SEC_USER ? (void *)&c->cfg->users[c->user]
                               : (void *)&c->cfg->apps[c->app];
    memset(&v, 0, sizeof v);
    if (parse_value(c, k, base, value, &v, err, sizeof err) < 0) {
        report(c, c->line, label, name, "%s", err);
        cfg_val_free(&v);
        return;
    }
    store_value(c, k, base, &v);
    cfg_val_free(&v);
}

/* Checks that need the whole file: required keys, listeners, mounts. They
 * look at what was mentioned, not at what was valid, so that a key with a
 * bad value (reported already) is not also reported missing. */
static void check_all(ctx_t *c)
{
    sw_config_t *cfg = c->cfg;
    size_t k_wsgi = (size_t)(key_find(SEC_APP, "wsgi") - keys);
    size_t k_mount = (size_t)(key_find(SEC_APP, "mount") - keys);
    size_t k_ascgi = (size_t)(key_find(SEC_APP, "scgi") - keys);
    size_t k_sscgi = (size_t)(key_find(SEC_SERVER, "scgi") - keys);
    bool any_listener = c->srv_seen[k_sscgi] != 0;
    bool host = cfg->mode == SW_MODE_HOST;   /* a bad value left single */
    char label[200];

    if (cfg->n_apps == 0 && c->nerr == 0)
        report(c, 0, NULL, NULL, "no [app:NAME] section: nothing to serve");

    for (size_t i = 0; i < cfg->n_apps; i++) {
        sw_app_config_t *a = &cfg->apps[i];
        const int *seen = c->side[i].seen;

        snprintf(label, sizeof label, "[app:%s]", a->name);
        if (seen[k_wsgi] == 0)
            report(c, a->line, label, "wsgi", "required key is missing");
        if (seen[k_mount] == 0 && seen[k_ascgi] == 0)
            report(c, a->line, label, "mount", "missing: the app needs a "
                   "mount (e.g. \"mount = /\") or its own scgi listener");
        if (seen[k_ascgi] != 0)
            any_listener = true;
        /* every mount or scgi entry was rejected: where it listens or what
         * it serves is unknown, so comparing it would only add noise */
        if ((seen[k_mount] != 0 && a->n_mounts == 0) ||
            (seen[k_ascgi] != 0 && a->scgi.n == 0))
            c->side[i].no_conflicts = true;
    }
    /* Users need a token; owners must be users; TLS needs both files. */
    size_t k_token = (size_t)(key_find(SEC_USER, "token-sha256") - keys);
    size_t k_owner = (size_t)(key_find(SEC_APP, "owner") - keys);
    for (size_t i = 0; i < cfg->n_users; i++) {
        if (c->uside[i].seen[k_token] == 0) {
            snprintf(label, sizeof label, "[user:%s]", cfg->users[i].name);
            report(c, cfg->users[i].line, label, "token-sha256", "required key is missing");
        }
    }
    /* One hash, one user (DESIGN section 7): the token of two users would
     * act as whichever the admin port found, an admin's perhaps. Hashes
     * are compared as bytes, so case in the hex digits hides nothing. */
    for (size_t i = 0; i < cfg->n_users; i++) {
        for (size_t j = 0; c->uside[i].token_line && j < i; j++) {
            if (!c->uside[j].token_line ||
                memcmp(cfg->users[i].token_sha256, cfg->users[j].token_sha256, 32) != 0)
                continue;
            snprintf(label, sizeof label, "[user:%s]", cfg->users[i].name);
            report(c, c->uside[i].token_line, label, "token-sha256",
                   "the same hash as [user:%s] (line %d): every user needs a token "
                   "of their own", cfg->users[j].name, c->uside[j].token_line);
            break;
        }
    }
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const char *owner = cfg->apps[i].owner;
        if (owner && !sw_config_user(cfg, owner)) {
            snprintf(label, sizeof label, "[app:%s]", cfg->apps[i].name);
            report(c, c->side[i].seen[k_owner], label, "owner",
                   "no [user:%s] section defines this user", owner);
        }
    }
    if ((cfg->admin_tls_cert == NULL) != (cfg->admin_tls_key == NULL)) {
        size_t kc = (size_t)(key_find(SEC_SERVER, "admin-tls-cert") - keys);
        size_t kk = (size_t)(key_find(SEC_SERVER, "admin-tls-key") - keys);
        int line = c->srv_seen[kc] ? c->srv_seen[kc] : c->srv_seen[kk];
        if (line)
            report(c, line, "[server]", cfg->admin_tls_cert ? "admin-tls-key" : "admin-tls-cert",
                   "missing: admin-tls-cert and admin-tls-key go together");
    }
    /* DESIGN section 7: tokens do not cross a network in clear text. Only
     * when neither TLS key was mentioned: a bad or missing one is reported
     * above. */
    if (cfg->admin && !cfg_addr_is_loopback(cfg->admin) &&
        !c->srv_seen[(size_t)(key_find(SEC_SERVER, "admin-tls-cert") - keys)] &&
        !c->srv_seen[(size_t)(key_find(SEC_SERVER, "admin-tls-key") - keys)])
        report(c, c->admin_line, "[server]", "admin",
               "\"%s\" is not a loopback address: it needs admin-tls-cert and "
               "admin-tls-key (tokens must not cross a network in clear text), "
               "or listen on 127.0.0.1, [::1] or a unix socket", cfg->admin);

    /* The main interpreter can host one app only (DESIGN section 1): one
     * per process, which in host mode is one per owner. */
    for (size_t i = 0; i < cfg->n_apps; i++) {
        size_t first = i;

        if (cfg->apps[i].isolation != SW_ISOLATION_MAIN)
            continue;
        for (size_t j = 0; j < i && first == i; j++) {
            const char *oi = cfg->apps[i].owner, *oj = cfg->apps[j].owner;

            if (cfg->apps[j].isolation == SW_ISOLATION_MAIN &&
                (!host || (oi != NULL && oj != NULL && strcmp(oi, oj) == 0)))
                first = j;
        }
        if (first == i)
            continue;
        snprintf(label, sizeof label, "[app:%s]", cfg->apps[i].name);
        int iso_line = c->side[i].seen[(size_t)(key_find(SEC_APP, "isolation") - keys)];
        report(c, iso_line ? iso_line : cfg->apps[i].line, label, "isolation",
               "only one app per process can use isolation = main "
               "([app:%s] already does)", cfg->apps[first].name);
    }
    /* host mode: an owner's scgi listens for all its apps */
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (owner_scgi(c, &cfg->apps[i])->n > 0)
            any_listener = true;
    if (cfg->n_apps > 0 && !any_listener) {
        report(c, c->server_line, c->server_line ? "[server]" : NULL, "scgi",
               "no SCGI listener: set scgi in [server] or in an app");
    } else if (c->srv_seen[k_sscgi] == 0) {
        for (size_t i = 0; i < cfg->n_apps; i++) {
            sw_app_config_t *a = &cfg->apps[i];

            if (c->side[i].seen[k_ascgi] == 0 && a->n_mounts > 0 &&
                owner_scgi(c, a)->n == 0) {
                snprintf(label, sizeof label, "[app:%s]", a->name);
                report(c, c->side[i].mount_line.v[0], label, "mount",
                       "no [server] scgi listener to mount on: add one, or "
                       "give the app its own scgi");
            }
        }
    }

    /* A listener is either shared ([server]) or private (apps): not both. */
    for (size_t i = 0; i < cfg->n_apps; i++) {
        sw_app_config_t *a = &cfg->apps[i];

        snprintf(label, sizeof label, "[app:%s]", a->name);
        for (size_t j = 0; j < a->scgi.n; j++) {
            for (size_t k = 0; k < cfg->scgi.n; k++) {
                if (!cfg_addr_equal(a->scgi.items[j], cfg->scgi.items[k]))
                    continue;
                report(c, c->side[i].scgi_line.v[j], label, "scgi",
                       "\"%s\" is already a [server] scgi listener (line %d)",
                       a->scgi.items[j], c->srv_scgi_line.v[k]);
                c->side[i].no_conflicts = true;
            }
        }
    }
    if (cfg->admin != NULL) {
        bool clash = false;

        for (size_t k = 0; k < cfg->scgi.n; k++)
            clash = clash || cfg_addr_equal(cfg->admin, cfg->scgi.items[k]);
        for (size_t i = 0; i < cfg->n_apps; i++)
            for (size_t j = 0; j < cfg->apps[i].scgi.n; j++)
                clash = clash || cfg_addr_equal(cfg->admin,
                                            cfg->apps[i].scgi.items[j]);
        if (clash)
            report(c, c->admin_line, "[server]", "admin",
                   "\"%s\" is also an scgi listener", cfg->admin);
    }

    /* Two apps reachable through a common listener must not share a mount
     * (same host and prefix). An app without mounts serves its listeners'
     * root. */
    for (size_t b = 0; b < cfg->n_apps; b++) {
        sw_app_config_t *B = &cfg->apps[b];
        sw_mount_t root = {NULL, ""};
        const sw_mount_t *mb = B->n_mounts > 0 ? B->mounts : &root;
        size_t nb = B->n_mounts > 0 ? B->n_mounts : 1;

        snprintf(label, sizeof label, "[app:%s]", B->name);
        for (size_t a = 0; a < b; a++) {
            sw_app_config_t *A = &cfg->apps[a];
            const sw_mount_t *ma = A->n_mounts > 0 ? A->mounts : &root;
            size_t na = A->n_mounts > 0 ? A->n_mounts : 1;

            if (c->side[a].no_conflicts || c->side[b].no_conflicts ||
                !apps_share_listener(c, a, b))
                continue;
            for (size_t j = 0; j < nb; j++) {
                for (size_t i = 0; i < na; i++) {
                    bool same_host = (ma[i].host == NULL && mb[j].host == NULL)
                        || (ma[i].host != NULL && mb[j].host != NULL
                            && strcmp(ma[i].host, mb[j].host) == 0);
                    char *text;

                    if (!same_host || strcmp(ma[i].prefix, mb[j].prefix) != 0)
                        continue;
                    text = cfg_mount_text(&mb[j]);
                    report(c, B->n_mounts > 0 ? c->side[b].mount_line.v[j]
                                              : B->line,
                           label, "mount", "\"%s\" on the same listener is "
                           "already mounted by [app:%s] (line %d)", text,
                           A->name, A->n_mounts > 0
                               ? c->side[a].mount_line.v[i] : A->line);
                    free(text);
                }
            }
        }
    }
    check_owners(c);
}

/* [user:NAME] as the owner of a worker process (DESIGN section 9): which
 * keys need host mode, what host mode needs, the owners' listeners, and
 * log-dir, checked for real as the OS user that will write there. */
static void check_owners(ctx_t *c)
{
    sw_config_t *cfg = c->cfg;
    size_t k_mode = (size_t)(key_find(SEC_SERVER, "mode") - keys);
    size_t k_suser = (size_t)(key_find(SEC_SERVER, "user") - keys);
    size_t k_owner = (size_t)(key_find(SEC_APP, "owner") - keys);
    size_t k_runas = (size_t)(key_find(SEC_USER, "run-as") - keys);
    size_t k_urss = (size_t)(key_find(SEC_USER, "recycle-rss") - keys);
    size_t k_logdir = (size_t)(key_find(SEC_USER, "log-dir") - keys);
    static const char *const host_only[] = {"run-as", "scgi", "recycle-rss"};
    bool known = c->srv_seen[k_mode] == 0 || c->mode_line != 0;
    bool host = known && cfg->mode == SW_MODE_HOST;
    char label[200];

    /* An owner without a budget of its own gets the server's, so that a
     * worker's budget is one field whatever the file says. */
    for (size_t i = 0; i < cfg->n_users; i++)
        if (c->uside[i].seen[k_urss] == 0)
            cfg->users[i].recycle_rss = cfg->recycle_rss;
    if (!known)
        return;

    for (size_t i = 0; !host && i < cfg->n_users; i++) {
        snprintf(label, sizeof label, "[user:%s]", cfg->users[i].name);
        for (size_t j = 0; j < sizeof host_only / sizeof host_only[0]; j++) {
            size_t k = (size_t)(key_find(SEC_USER, host_only[j]) - keys);

            if (c->uside[i].seen[k] != 0)
                report(c, c->uside[i].seen[k], label, host_only[j],
                       "needs mode = host in [server] (it configures the "
                       "owner's own worker process)");
        }
    }

    if (host) {
        if (c->srv_seen[k_suser] != 0)
            report(c, c->srv_seen[k_suser], "[server]", "user",
                   "cannot be used with mode = host: the master keeps root "
                   "to start each owner's process as its run-as");
        for (size_t i = 0; i < cfg->n_apps; i++) {
            if (c->side[i].seen[k_owner] != 0)
                continue;
            snprintf(label, sizeof label, "[app:%s]", cfg->apps[i].name);
            report(c, cfg->apps[i].line, label, "owner", "required in host "
                   "mode: the master runs no Python, so an app without an "
                   "owner has no process to run in");
        }
    }

    /* As root, a worker without run-as would run its apps as root. A master
     * that is not root starts workers as itself: run-as is optional. */
    for (size_t i = 0; host && geteuid() == 0 && i < cfg->n_users; i++) {
        char apps[400] = "";
        size_t o = 0;

        if (c->uside[i].seen[k_runas] != 0)
            continue;
        for (size_t j = 0; j < cfg->n_apps && o < sizeof apps; j++)
            if (cfg->apps[j].owner != NULL &&
                strcmp(cfg->apps[j].owner, cfg->users[i].name) == 0)
                o += (size_t)snprintf(apps + o, sizeof apps - o, "%s[app:%s]",
                                      o ? ", " : "", cfg->apps[j].name);
        if (o == 0)
            continue;   /* owns nothing: no worker */
        snprintf(label, sizeof label, "[user:%s]", cfg->users[i].name);
        report(c, cfg->users[i].line, label, "run-as", "required in host "
               "mode when the server runs as root: the OS user for %s", apps);
    }

    /* An owner's listener is its worker's alone: the same address anywhere
     * else would be bound twice or routed past the worker. */
    for (size_t i = 0; host && i < cfg->n_users; i++) {
        const sw_user_config_t *u = &cfg->users[i];

        snprintf(label, sizeof label, "[user:%s]", u->name);
        for (size_t j = 0; j < u->scgi.n; j++) {
            const char *addr = u->scgi.items[j];
            int line = c->uside[i].scgi_line.v[j];
            bool clash = false;

            for (size_t k = 0; !clash && k < cfg->scgi.n; k++) {
                if ((clash = cfg_addr_equal(addr, cfg->scgi.items[k])))
                    report(c, line, label, "scgi", "\"%s\" is already a "
                           "[server] scgi listener (line %d)", addr,
                           c->srv_scgi_line.v[k]);
            }
            for (size_t a = 0; !clash && a < cfg->n_apps; a++) {
                for (size_t k = 0; !clash && k < cfg->apps[a].scgi.n; k++) {
                    if ((clash = cfg_addr_equal(addr, cfg->apps[a].scgi.items[k])))
                        report(c, line, label, "scgi", "\"%s\" is already an "
                               "scgi listener of [app:%s] (line %d)", addr,
                               cfg->apps[a].name, c->side[a].scgi_line.v[k]);
                }
            }
            for (size_t p = 0; !clash && p < i; p++) {
                for (size_t k = 0; !clash && k < cfg->users[p].scgi.n; k++) {
                    if ((clash = cfg_addr_equal(addr, cfg->users[p].scgi.items[k])))
                        report(c, line, label, "scgi", "\"%s\" is already an "
                               "scgi listener of [user:%s] (line %d)", addr,
                               cfg->users[p].name, c->uside[p].scgi_line.v[k]);
                }
            }
            if (!clash && cfg->admin != NULL && cfg_addr_equal(addr, cfg->admin))
                report(c, line, label, "scgi", "\"%s\" is the admin address "
                       "(line %d)", addr, c->admin_line);
        }
    }

    /* The embedded CPython: a worker loads it as its owner, so each
     * run-as must read it (pyenv's under /root, mode 0700, cannot be). */
    for (size_t i = 0; host && python_library && geteuid() == 0 && i < cfg->n_users; i++) {
        const sw_user_config_t *u = &cfg->users[i];
        char who[320];
        int rc;

        if (u->run_as == NULL || !owns_an_app(cfg, u->name))
            continue;
        rc = cfg_access_as(python_library, R_OK, u->run_as, who, sizeof who);
        if (rc == 0)
            continue;
        snprintf(label, sizeof label, "[user:%s]", u->name);
        report(c, c->uside[i].seen[k_runas], label, "run-as",
               "OS user %s cannot read the CPython this subwsgi runs (%s: %s): its worker "
               "could not start Python; install CPython where that user can read it",
               who, python_library, strerror(rc > 0 ? rc : -rc));
    }

    /* log-dir: APP.log is created there by the worker as run-as (host
     * mode) or by the server as its user (single mode). */
    for (size_t i = 0; i < cfg->n_users; i++) {
        const sw_user_config_t *u = &cfg->users[i];
        bool named = host ? c->uside[i].seen[k_runas] != 0
                          : c->srv_seen[k_suser] != 0;
        const char *as = !named ? NULL : host ? u->run_as : cfg->user;
        char who[320];
        int rc;

        if (u->log_dir == NULL || (named && as == NULL))
            continue;   /* no log-dir, or a bad user name (reported) */
        rc = cfg_dir_writable_as(u->log_dir, as, who, sizeof who);
        if (rc == 0)
            continue;
        snprintf(label, sizeof label, "[user:%s]", u->name);
        if (rc > 0)
            report(c, c->uside[i].seen[k_logdir], label, "log-dir",
                   "\"%s\" is not writable and searchable by OS user %s: %s",
                   u->log_dir, who, strerror(rc));
        else
            report(c, c->uside[i].seen[k_logdir], label, "log-dir",
                   "cannot check \"%s\" as OS user %s: %s", u->log_dir, who,
                   strerror(-rc));
    }
}

/* Each app whose owner has a log-dir logs to LOG_DIR/NAME.log as well (the
 * loader opens it: applog.h). NAME matches [A-Za-z0-9_.-]+, so the file is
 * always directly in LOG_DIR. */
static void set_log_files(sw_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++) {
        sw_app_config_t *a = &cfg->apps[i];
        const sw_user_config_t *u = sw_config_user(cfg, a->owner);
        if (u == NULL || u->log_dir == NULL)
            continue;
        size_t dl = strlen(u->log_dir), nl = strlen(a->name);
        a->log_file = cfg_xmalloc(dl + nl + sizeof "/.log");
        snprintf(a->log_file, dl + nl + sizeof "/.log", "%s%s%s.log", u->log_dir,
                 dl > 0 && u->log_dir[dl - 1] == '/' ? "" : "/", a->name);
    }
}

/* An app's listeners: its own scgi, else the [server] ones; in host mode
 * also its owner's (returned by owner_scgi()). */
static bool apps_share_listener(ctx_t *c, size_t a, size_t b)
{
    const sw_config_t *cfg = c->cfg;
    const sw_app_config_t *A = &cfg->apps[a], *B = &cfg->apps[b];
    const sw_strv_t *la[2] = {A->scgi.n > 0 ? &A->scgi : &cfg->scgi,
                              owner_scgi(c, A)};
    const sw_strv_t *lb[2] = {B->scgi.n > 0 ? &B->scgi : &cfg->scgi,
                              owner_scgi(c, B)};

    for (size_t x = 0; x < 2; x++)
        for (size_t y = 0; y < 2; y++)
            for (size_t i = 0; i < la[x]->n; i++)
                for (size_t j = 0; j < lb[y]->n; j++)
                    if (cfg_addr_equal(la[x]->items[i], lb[y]->items[j]))
                        return true;
    return false;
}

/* In host mode, the listeners of app's owner ([user:NAME] scgi), which lead
 * to its worker; otherwise, or without an owner, an empty list. */
static const sw_strv_t *owner_scgi(ctx_t *c, const sw_app_config_t *app)
{
    static const sw_strv_t none = {NULL, 0};
    const sw_user_config_t *u;

    if (c->cfg->mode != SW_MODE_HOST || app->owner == NULL)
        return &none;
    u = sw_config_user(c->cfg, app->owner);
    return u != NULL ? &u->scgi : &none;
}

/* ---- values --------------------------------------------------------------- */

/* Parses raw by k->type into v (strings owned by v). Returns 0, or -1 with
 * the reason in err (without the "FILE:LINE: key:" prefix). */
static int parse_value(ctx_t *c, const keydef_t *k, void *base,
                       const char *raw, val_t *v, char *err, size_t n)
{
    char q[160];
    struct stat st;

    if (*raw == '\0') {
        snprintf(err, n, "empty value");
        return -1;
    }
    cfg_quote(raw, q, sizeof q);
    switch (k->type) {
    case T_PATH:
        v->s[0] = cfg_path_join(c->dir, raw);
        return 0;
    case T_LOG:
        if (strcmp(raw, "off") == 0 && !(k->flags & F_OFF)) {
            snprintf(err, n, "must be stderr or a path (it cannot be off)");
            return -1;
        }
        if (strcmp(raw, "stderr") == 0 || strcmp(raw, "off") == 0)
            v->s[0] = cfg_xstrdup(raw);
        else
            v->s[0] = cfg_path_join(c->dir, raw);
        return 0;
    case T_ADMIN:
        if (strcmp(raw, "off") == 0)
            return 0;   /* v->s[0] stays NULL: admin off */
        /* fall through */
    case T_ADDR:
        if (cfg_check_addr(raw, err, n) < 0)
            return -1;
        if (k->flags & F_REPEAT) {
            /* the listener list of this section: no address twice */
            const sw_strv_t *have = (const sw_strv_t *)(void *)
                ((char *)base + k->off);

            for (size_t i = 0; i < have->n; i++) {
                if (cfg_addr_equal(have->items[i], raw)) {
                    snprintf(err, n, "%s is listed twice", q);
                    return -1;
                }
            }
        }
        v->s[0] = cfg_xstrdup(raw);
        return 0;
    case T_MODE: {
        size_t len = strlen(raw);
        unsigned long m;

        if (len > 4 || strspn(raw, "01234567") != len ||
            (m = strtoul(raw, NULL, 8)) > (unsigned long)k->max) {
            snprintf(err, n, "must be an octal mode from 0000 to 0777 such as "
                     "0660, got %s", q);
            return -1;
        }
        v->u = m;
        return 0;
    }
    case T_INT:
        return cfg_parse_int(k, raw, v, err, n);
    case T_SECONDS:
    case T_MIB:
        return cfg_parse_seconds(k, raw, v, err, n);
    case T_SIZE:
        return cfg_parse_size(k, raw, v, err, n);
    case T_BOOL:
        if (!strcasecmp(raw, "yes") || !strcasecmp(raw, "on") ||
            !strcasecmp(raw, "true") || !strcmp(raw, "1")) {
            v->i = 1;
        } else if (!strcasecmp(raw, "no") || !strcasecmp(raw, "off") ||
                   !strcasecmp(raw, "false") || !strcmp(raw, "0")) {
            v->i = 0;
        } else {
            snprintf(err, n, "must be yes or no (or on/off, true/false, 1/0), "
                     "got %s", q);
            return -1;
        }
        return 0;
    case T_ENUM:
        return cfg_parse_enum(k, raw, v, err, n);
    case T_USER: {
        struct passwd *pw;

        errno = 0;
        pw = getpwnam(raw);
        if (pw == NULL) {
            if (errno != 0 && errno != ENOENT && errno != ESRCH)
                snprintf(err, n, "cannot look up user %s: %s", q,
                         strerror(errno));
            else
                snprintf(err, n, "no such user %s", q);
            return -1;
        }
        if ((k->flags & F_NOROOT) && pw->pw_uid == 0) {
            /* the point of a worker per owner is that no app runs as root */
            snprintf(err, n, "%s has uid 0: an owner's apps must not run as "
                     "root", q);
            return -1;
        }
        v->s[0] = cfg_xstrdup(raw);
        return 0;
    }
    case T_DIR:
        v->s[0] = cfg_path_join(c->dir, raw);
        if (stat(v->s[0], &st) < 0) {
            snprintf(err, n, "cannot access \"%s\": %s", v->s[0],
                     strerror(errno));
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            snprintf(err, n, "\"%s\" is not a directory", v->s[0]);
            return -1;
        }
        return 0;
    case T_WSGI:
        return cfg_parse_wsgi(raw, c->dir, v, err, n);
    case T_MOUNT:
        return cfg_parse_mount(raw, base, v, err, n);
    case T_PYPATH: {
        const char *p = raw;

        for (;;) {
            const char *e = strchr(p, ':');
            char *el = cfg_xstrndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
            char *t = cfg_trim(el);

            if (*t == '\0') {
                free(el);
                snprintf(err, n, "empty element in the ':'-separated list %s",
                         q);
                return -1;
            }
            cfg_strv_take(&v->list, cfg_path_join(c->dir, t));
            free(el);
            if (e == NULL)
                break;
            p = e + 1;
        }
        return 0;
    }
    case T_MODLIST: {
        const char *p = raw;

        for (;;) {
            const char *e = strchr(p, ',');
            char *el = cfg_xstrndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
            char *t = cfg_trim(el);

            if (!cfg_is_dotted_name(t)) {
                char qe[160];

                snprintf(err, n, "%s is not a Python module name (in %s)",
                         cfg_quote(t, qe, sizeof qe), q);
                free(el);
                return -1;
            }
            sw_strv_push(&v->list, t);
            free(el);
            if (e == NULL)
                break;
            p = e + 1;
        }
        return 0;
    }
    case T_NAME:
        if (!cfg_is_name(raw)) {
            snprintf(err, n, "must be a [user:NAME] name ([A-Za-z0-9_.-]+), got %s", q);
            return -1;
        }
        v->s[0] = cfg_xstrdup(raw);
        return 0;
    case T_SHA256: {
        size_t len = strlen(raw);
        bool hex = len == 64;
        for (size_t i = 0; hex && i < len; i++)
            hex = isxdigit((unsigned char)raw[i]) != 0;
        if (!hex) {
            /* Never echo the value: it might be a token pasted by mistake. */
            snprintf(err, n, "must be 64 hex digits (the SHA-256 of the token: "
                     "subwsgi --hash-token prints the line), got %zu characters", len);
            return -1;
        }
        v->s[0] = cfg_xstrdup(raw);
        return 0;
    }
    case T_FILE: {
        char *path = cfg_path_join(c->dir, raw);
        if (access(path, R_OK) != 0) {
            snprintf(err, n, "cannot read %s: %s", cfg_quote(path, q, sizeof q), strerror(errno));
            free(path);
            return -1;
        }
        v->s[0] = path;
        return 0;
    }
    case T_ENVIRON:
        return cfg_parse_environ(raw, (const sw_strv_t *)((const char *)base + k->off), v, err, n);
    }
    snprintf(err, n, "internal error: unknown value type");
    return -1;
}

/* Moves v into the field at base + k->off (or through k->set). */
static void store_value(ctx_t *c, const keydef_t *k, void *base, val_t *v)
{
    char *field = (char *)base + k->off;

    switch (k->store) {
    case ST_UINT:
        *(unsigned *)(void *)field = (unsigned)v->u;
        break;
    case ST_INT:
        *(int *)(void *)field = (int)v->i;
        break;
    case ST_DOUBLE:
        *(double *)(void *)field = v->d;
        break;
    case ST_SIZE:
        *(size_t *)(void *)field = (size_t)v->u;
        break;
    case ST_U64:
        *(uint64_t *)(void *)field = v->u;
        break;
    case ST_STR:
        free(*(char **)(void *)field);
        *(char **)(void *)field = v->s[0];
        v->s[0] = NULL;
        if (k->type == T_ADMIN)
            c->admin_line = c->line;
        break;
    case ST_STRV: {
        sw_strv_t *dst = (sw_strv_t *)(void *)field;

        for (size_t i = 0; i < v->list.n; i++)
            sw_strv_push(dst, v->list.items[i]);
        break;
    }
    case ST_FUNC:
        k->set(c, base, v);
        break;
    }
}

static void set_wsgi(ctx_t *c, void *base, val_t *v)
{
    sw_app_config_t *app = base;

    (void)c;
    app->wsgi = v->s[0];
    app->wsgi_file = v->s[1];
    app->wsgi_module = v->s[2];
    free(app->callable);
    app->callable = v->s[3];
    memset(v->s, 0, sizeof v->s);
}

static void set_mount(ctx_t *c, void *base, val_t *v)
{
    sw_app_config_t *app = base;

    app->mounts = cfg_xrealloc(app->mounts,
                           (app->n_mounts + 1) * sizeof *app->mounts);
    app->mounts[app->n_mounts].host = v->s[0];
    app->mounts[app->n_mounts].prefix = v->s[1];
    app->n_mounts++;
    v->s[0] = v->s[1] = NULL;
    cfg_intv_push(&c->side[c->app].mount_line, c->line);
}

/* [server], [app:NAME] and [user:NAME] scgi: the address, and its line for
 * the conflict checks of check_all(). */
static void set_scgi(ctx_t *c, void *base, val_t *v)
{
    (void)base;
    if (c->kind == SEC_SERVER) {
        cfg_strv_take(&c->cfg->scgi, v->s[0]);
        cfg_intv_push(&c->srv_scgi_line, c->line);
    } else if (c->kind == SEC_USER) {
        cfg_strv_take(&c->cfg->users[c->user].scgi, v->s[0]);
        cfg_intv_push(&c->uside[c->user].scgi_line, c->line);
    } else {
        cfg_strv_take(&c->cfg->apps[c->app].scgi, v->s[0]);
        cfg_intv_push(&c->side[c->app].scgi_line, c->line);
    }
    v->s[0] = NULL;
}

static int hexnib(char ch)
{
    return isdigit((unsigned char)ch) ? ch - '0' : tolower((unsigned char)ch) - 'a' + 10;
}

static void set_token(ctx_t *c, void *base, val_t *v)
{
    sw_user_config_t *u = base;
    c->uside[c->user].token_line = c->line;
    for (size_t i = 0; i < 32; i++)
        u->token_sha256[i] = (unsigned char)(hexnib(v->s[0][2 * i]) * 16 +
                                             hexnib(v->s[0][2 * i + 1]));
}

/* The mode, and that it is known: checks that depend on it are skipped
 * after a bad value, which is reported already. */
static void set_mode(ctx_t *c, void *base, val_t *v)
{
    ((sw_config_t *)base)->mode = (sw_mode_t)v->i;
    c->mode_line = c->line;
}

static void set_isolation(ctx_t *c, void *base, val_t *v)
{
    (void)c;
    ((sw_app_config_t *)base)->isolation = (sw_isolation_t)v->i;
}

/* ---- construction and messages ------------------------------------------ */

static sw_config_t *config_new(const char *file)
{
    sw_config_t *cfg = cfg_xmalloc(sizeof *cfg);

    memset(cfg, 0, sizeof *cfg);
    cfg->file = cfg_xstrdup(file);
    cfg->admin = NULL;
    cfg->socket_mode = 0660;
    cfg->queue_size = 1024;
    cfg->request_timeout = 60;
    cfg->header_timeout = 10;
    cfg->max_header_size = 65536;
    cfg->max_body_size = 104857600;
    cfg->body_buffer_size = 65536;
    cfg->body_timeout = 60;
    cfg->drain_timeout = 30;
    cfg->load_timeout = 60;
    cfg->access_log = cfg_xstrdup("stderr");
    cfg->error_log = cfg_xstrdup("stderr");
    return cfg;
}

static void app_init(sw_app_config_t *app, const char *name, int line)
{
    memset(app, 0, sizeof *app);
    app->name = cfg_xstrdup(name);
    app->line = line;
    app->isolation = SW_ISOLATION_AUTO;
    app->interpreters = 1;
    app->threads = 1;
    app->request_buffering = 1;
}

static void app_free(sw_app_config_t *app)
{
    free(app->name);
    free(app->wsgi);
    free(app->wsgi_file);
    free(app->wsgi_module);
    free(app->callable);
    sw_strv_free(&app->python_path);
    free(app->venv);
    for (size_t i = 0; i < app->n_mounts; i++) {
        free(app->mounts[i].host);
        free(app->mounts[i].prefix);
    }
    free(app->mounts);
    sw_strv_free(&app->scgi);
    sw_strv_free(&app->environ);
    sw_strv_free(&app->env);
    free(app->owner);
    free(app->touch_reload);
    free(app->log_file);
}

static void user_free(sw_user_config_t *u)
{
    free(u->name);
    free(u->run_as);
    sw_strv_free(&u->scgi);
    free(u->log_dir);
}

/* "FILE:LINE: [sect] key: message", parts left out when NULL. */
static void report(ctx_t *c, int line, const char *sect, const char *key,
                   const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->nerr++;
    sw_errors_add(c->errs, "%s:%d: %s%s%s%s%s", c->file, line,
                  sect != NULL ? sect : "",
                  sect != NULL ? (key != NULL ? " " : ": ") : "",
                  key != NULL ? key : "", key != NULL ? ": " : "", msg);
}

static const char *sect_label(ctx_t *c, char *buf, size_t n)
{
    if (c->kind == SEC_APP)
        snprintf(buf, n, "[app:%s]", c->cfg->apps[c->app].name);
    else if (c->kind == SEC_USER)
        snprintf(buf, n, "[user:%s]", c->cfg->users[c->user].name);
    else
        snprintf(buf, n, "[server]");
    return buf;
}

static const keydef_t *key_find(sect_kind_t sect, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (keys[i].sect == sect && strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

