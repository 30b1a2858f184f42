/* config_value.h: what config.c and config_value.c share: the types of the
 * key table (keys[] in config.c) and the value parsers and text helpers of
 * config_value.c (prefix cfg_). Internal to the configuration module; the
 * public API is config.h. */
#ifndef SW_CONFIG_VALUE_H
#define SW_CONFIG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- types ------------------------------------------------------------- */

typedef enum { SEC_NONE, SEC_SERVER, SEC_APP, SEC_USER, SEC_SKIP } sect_kind_t;

typedef enum {
    T_PATH,      /* a path; relative means relative to the config's dir */
    T_LOG,       /* "stderr", "off" (with F_OFF) or a path */
    T_ADDR,      /* HOST:PORT, [IPV6]:PORT, unix:/path */
    T_ADMIN,     /* "off" or an address */
    T_MODE,      /* octal permission bits */
    T_INT,       /* integer in [min, max] */
    T_SECONDS,   /* non-negative decimal seconds in [min, max] */
    T_MIB,       /* the same, in MiB */
    T_SIZE,      /* bytes in [min, max] */
    T_BOOL,      /* yes/no/on/off/true/false/1/0 */
    T_ENUM,      /* one of enums[] */
    T_USER,      /* an existing user name (F_NOROOT: not uid 0) */
    T_DIR,       /* a path that must be a directory */
    T_WSGI,      /* PATH.py[:callable] or module.path[:callable] */
    T_MOUNT,     /* [host][/prefix] */
    T_PYPATH,    /* ':'-separated paths */
    T_MODLIST,   /* ','-separated dotted module names */
    T_ENVIRON,   /* KEY=VALUE */
    T_SHA256,    /* 64 hex digits */
    T_FILE,      /* a readable regular file */
    T_NAME       /* a section name: [A-Za-z0-9_.-]+ */
} vtype_t;

typedef enum {
    ST_UINT,     /* unsigned */
    ST_INT,      /* int */
    ST_DOUBLE,   /* double */
    ST_SIZE,     /* size_t */
    ST_U64,      /* uint64_t */
    ST_STR,      /* char *, replaced */
    ST_STRV,     /* sw_strv_t, appended */
    ST_FUNC      /* the row's setter */
} store_t;

enum { F_REPEAT = 1, F_POSITIVE = 2, F_OFF = 4, F_NOMAX = 8, F_NOROOT = 16 };

typedef struct {
    const char *name;
    int value;
} enum_val_t;

/* A parsed value. s[] and list own their strings until stored. */
typedef struct {
    long long i;
    uint64_t u;
    double d;
    char *s[4];
    sw_strv_t list;
} val_t;

typedef struct ctx ctx_t;

typedef struct {
    sect_kind_t sect;
    const char *name;
    vtype_t type;
    unsigned flags;
    store_t store;
    size_t off;
    void (*set)(ctx_t *c, void *base, val_t *v);
    double min, max;
    const enum_val_t *enums;
} keydef_t;

typedef struct {
    int *v;
    size_t n;
} intv_t;

/* ---- value parsers: 0, or -1 with the reason in err ---------------------- */

int cfg_parse_int(const keydef_t *k, const char *raw, val_t *v,
                  char *err, size_t n);
int cfg_parse_seconds(const keydef_t *k, const char *raw, val_t *v,
                      char *err, size_t n);
int cfg_parse_size(const keydef_t *k, const char *raw, val_t *v,
                   char *err, size_t n);
int cfg_parse_enum(const keydef_t *k, const char *raw, val_t *v,
                   char *err, size_t n);
int cfg_parse_wsgi(const char *raw, const char *dir, val_t *v,
                   char *err, size_t n);
int cfg_parse_mount(const char *raw, sw_app_config_t *app, val_t *v,
                    char *err, size_t n);
int cfg_parse_environ(const char *raw, const sw_strv_t *have_list, val_t *v,
                      char *err, size_t n);
void cfg_val_free(val_t *v);
int cfg_check_addr(const char *s, char *err, size_t n);
bool cfg_addr_is_loopback(const char *s);
bool cfg_addr_equal(const char *a, const char *b);
/* 0 when OS user as (NULL: the effective user) may create files in dir, an
 * errno of access() (> 0), or -errno when it cannot be checked; who gets
 * the user checked, quoted. Needs root to check as another user. */
int cfg_dir_writable_as(const char *dir, const char *as, char *who, size_t n);
/* The same for access(path, mode): 0, an errno (> 0) or -errno. */
int cfg_access_as(const char *path, int mode, const char *as, char *who, size_t n);
char *cfg_mount_text(const sw_mount_t *m);
bool cfg_is_identifier(const char *s, size_t n);
bool cfg_is_dotted_name(const char *s);
bool cfg_is_name(const char *s);
char *cfg_trim(char *s);
const char *cfg_quote(const char *s, char *buf, size_t n);
char *cfg_path_join(const char *dir, const char *p);
char *cfg_config_dir(const char *file);
void cfg_strv_take(sw_strv_t *v, char *s);
void cfg_intv_push(intv_t *v, int x);
void *cfg_xmalloc(size_t n);
void *cfg_xrealloc(void *p, size_t n);
char *cfg_xstrdup(const char *s);
char *cfg_xstrndup(const char *s, size_t n);
char *cfg_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
