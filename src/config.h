/* config.h: the parsed configuration (DESIGN section 4) and its loader.
 * Owns: sw_config_t and everything it points to; built once by
 * sw_config_load() or sw_config_quick(), read-only afterwards (no lock). */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A growable list of owned strings. */
typedef struct {
    char **items;
    size_t n;
} sw_strv_t;

/* Error messages collected while loading, each "FILE:LINE: message". */
typedef struct {
    sw_strv_t lines;
} sw_errors_t;

typedef enum {
    SW_ISOLATION_AUTO = 0,
    SW_ISOLATION_OWN_GIL,
    SW_ISOLATION_SHARED_GIL,
    SW_ISOLATION_MAIN
} sw_isolation_t;

/* mount = [host][/prefix]: host NULL matches any host; prefix is "" for the
 * root or "/a/b" (never a trailing slash). */
typedef struct {
    char *host;
    char *prefix;
} sw_mount_t;

typedef enum { SW_ROLE_USER = 0, SW_ROLE_ADMIN } sw_role_t;

/* [server] mode (DESIGN section 9): one process, or a master that runs no
 * Python and one worker process per owner of apps. */
typedef enum { SW_MODE_SINGLE = 0, SW_MODE_HOST } sw_mode_t;

/* [user:NAME]: who may use the admin API and, in host mode, the owner
 * whose apps share one worker process. */
typedef struct {
    char *name;
    int line;
    unsigned char token_sha256[32];   /* SHA-256 of the token; never the token */
    sw_role_t role;
    char *run_as;             /* host mode: OS user (and its primary group) of
                                 this owner's worker; never uid 0; NULL: not
                                 set (allowed only when the master is not root) */
    sw_strv_t scgi;           /* host mode: listeners for all this owner's apps,
                                 served by its worker; distinct from every other
                                 listener and the admin address */
    double recycle_rss;       /* host mode: MiB budget of this owner's worker, as
                                 [server] recycle-rss; [server]'s when not set */
    char *log_dir;            /* this owner's apps log to LOG_DIR/APP.log; NULL:
                                 the error log. Checked writable by run-as
                                 (host mode) or the server's user (single) */
} sw_user_config_t;

typedef enum { SW_RELOAD_AUTO = 0, SW_RELOAD_INTERPRETER, SW_RELOAD_PROCESS } sw_reload_cfg_t;

typedef struct {
    char *name;               /* section [app:NAME] */
    int line;                 /* line of the section header */
    char *wsgi;               /* as written, e.g. "/srv/a/wsgi.py:app" */
    char *wsgi_file;          /* PATH.py form: the file; else NULL */
    char *wsgi_module;        /* module.path form: the module; else NULL */
    char *callable;           /* default "application" */
    sw_strv_t python_path;    /* prepended to sys.path, in order */
    char *venv;               /* NULL when not set */
    sw_mount_t *mounts;
    size_t n_mounts;
    sw_strv_t scgi;           /* private listeners of this app */
    sw_isolation_t isolation;
    int interpreters;         /* >= 1 */
    int threads;              /* >= 1 */
    sw_strv_t environ;        /* "KEY=VALUE", added to every environ */
    sw_strv_t env;            /* "KEY=VALUE", this app's os.environ */
    char *owner;              /* a [user:NAME]; NULL: admins only */
    int watch;                /* reload when a loaded source file changes */
    char *touch_reload;       /* reload when this file's mtime changes; NULL */
    double idle_timeout;      /* seconds; 0 = never destroy when idle */
    int max_requests;         /* reload once a generation served this many; 0 = never */
    sw_reload_cfg_t reload;   /* auto | interpreter | process */
    int request_buffering;    /* read the body before queuing (default); 0: stream */
    char *log_file;           /* LOG_DIR/NAME.log when the owner has a log-dir
                                 (derived, not a key); else NULL */
} sw_app_config_t;

typedef struct {
    char *file;               /* path of the config file, or "(command line)" */
    sw_mode_t mode;           /* default single; host: DESIGN section 9 */
    sw_strv_t scgi;           /* shared listeners */
    char *admin;              /* admin address; NULL when off */
    char *admin_tls_cert;     /* PEM files; both or neither */
    char *admin_tls_key;
    double load_timeout;      /* default 60 */
    double recycle_rss;       /* MiB of growth before a reload becomes a handover; 0 = none */
    sw_user_config_t *users;
    size_t n_users;
    unsigned socket_mode;     /* default 0660 */
    int queue_size;           /* default 1024 */
    double request_timeout;   /* seconds, 0 = none; default 60 */
    double header_timeout;    /* default 10 */
    size_t max_header_size;   /* default 65536 */
    uint64_t max_body_size;   /* default 104857600 */
    size_t body_buffer_size;  /* bodies up to it in memory, larger in a file; 65536 */
    double body_timeout;      /* seconds to receive a buffered body; default 60 */
    char *body_temp_dir;      /* NULL: $TMPDIR, else /tmp */
    double drain_timeout;     /* default 30 */
    char *access_log;         /* "stderr", "off" or a path */
    char *error_log;          /* "stderr" or a path */
    char *pid_file;           /* NULL when not set */
    char *user;               /* NULL when not set */
    sw_strv_t preload;        /* modules imported in the main interpreter */
    sw_app_config_t *apps;
    size_t n_apps;
} sw_config_t;

/* Parses and validates FILE: sw_config_read() then sw_config_parse_string().
 * Returns the config, or NULL with every problem appended to errs as
 * "FILE:LINE: message". Also checks that each app's wsgi file exists and is
 * readable. */
sw_config_t *sw_config_load(const char *file, sw_errors_t *errs);

/* The largest config file sw_config_read() takes, in bytes. */
#define SW_CONFIG_MAX_SIZE (16 * 1024 * 1024)

/* FILE's whole text, NUL-terminated (the caller frees it), or NULL with
 * "FILE:LINE: message" in errs: cannot open or read it, larger than
 * SW_CONFIG_MAX_SIZE, or a line holding a NUL byte. */
char *sw_config_read(const char *file, sw_errors_t *errs);

/* As sw_config_load(), from text already read (up to its NUL): label
 * stands for the file name in messages and in cfg->file, and relative paths
 * are relative to label's directory. The host-mode master reads the file
 * once and parses and hands these same bytes to its workers. */
sw_config_t *sw_config_parse_string(const char *label, const char *text,
                                    sw_errors_t *errs);

/* Quick mode (--app/--scgi): one app named after the file, mounted at "/".
 * isolation may be NULL (auto). Returns NULL with errors in errs. */
sw_config_t *sw_config_quick(const char *app_spec, const char *scgi,
                             const char *admin, int interpreters, int threads,
                             const char *isolation, int watch,
                             sw_errors_t *errs);

void sw_config_free(sw_config_t *cfg);

const char *sw_isolation_name(sw_isolation_t iso);

/* Host mode's worker: keeps the apps owner owns and that [user:] alone
 * (its token hash wiped), frees the rest. Returns the apps kept. */
size_t sw_config_keep_owner(sw_config_t *cfg, const char *owner);

/* The CPython library this binary embeds (main.c sets it before loading a
 * config; NULL: not checked). Host mode's --check, as root, then requires
 * each run-as to be able to read it: a worker runs Python as its owner. */
void sw_config_set_python_library(const char *path);

/* The user NAME of cfg, or NULL. */
const sw_user_config_t *sw_config_user(const sw_config_t *cfg, const char *name);

/* How many users own at least one app: in host mode, the worker processes. */
size_t sw_config_n_owners(const sw_config_t *cfg);

void sw_strv_push(sw_strv_t *v, const char *s);
/* Same items in the same order; same string, or both NULL. */
int sw_strv_equal(const sw_strv_t *a, const sw_strv_t *b);
int sw_str_equal(const char *a, const char *b);
void sw_strv_free(sw_strv_t *v);
void sw_errors_add(sw_errors_t *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sw_errors_free(sw_errors_t *errs);

#endif
