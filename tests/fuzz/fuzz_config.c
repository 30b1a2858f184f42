/* fuzz_config.c: libFuzzer target for the config reader (src/config.c,
 * src/config_value.c, libinih): each input is written to one temp file and
 * loaded with sw_config_load() (sw_config_read(), whose NUL-byte check a
 * string would skip, then sw_config_parse_string()). Then:
 * errors and a config never come together; every error names the file;
 * a config that loads keeps DESIGN section 7's rules (no token hash given
 * to two users, no non-loopback admin without TLS) and each app has its
 * callable. Any broken invariant traps. See tests/fuzz/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_value.h"

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *temp_file(void);
static void check_config(const sw_config_t *cfg);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = temp_file();
    FILE *f = fopen(path, "w");
    if (!f)
        return 0;
    size_t n = fwrite(data, 1, size, f);
    if (fclose(f) != 0 || n != size)
        return 0;

    sw_errors_t errs = {0};
    sw_config_t *cfg = sw_config_load(path, &errs);
    CHECK((cfg == NULL) == (errs.lines.n > 0));
    for (size_t i = 0; i < errs.lines.n; i++)
        CHECK(strncmp(errs.lines.items[i], path, strlen(path)) == 0 &&
              errs.lines.items[i][strlen(path)] == ':');
    if (cfg)
        check_config(cfg);
    sw_config_free(cfg);
    sw_errors_free(&errs);
    return 0;
}

/* One file per process, in its own directory (relative paths in an input
 * resolve there), removed at exit. */
static char dir[64];
static char file[96];

static void remove_temp(void)
{
    unlink(file);
    rmdir(dir);
}

static const char *temp_file(void)
{
    if (!file[0]) {
        /* TMPDIR=/dev/shm (a tmpfs) makes long runs several times faster. */
        const char *tmp = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/fuzz_config_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(dir))
            abort();
        snprintf(file, sizeof file, "%s/subwsgi.ini", dir);
        atexit(remove_temp);
    }
    return file;
}

static void check_config(const sw_config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_users; i++)
        for (size_t j = 0; j < i; j++)
            CHECK(memcmp(cfg->users[i].token_sha256, cfg->users[j].token_sha256, 32) != 0);
    if (cfg->admin)
        CHECK(cfg_addr_is_loopback(cfg->admin) || (cfg->admin_tls_cert && cfg->admin_tls_key));
    CHECK(cfg->n_apps > 0);
    for (size_t i = 0; i < cfg->n_apps; i++) {
        CHECK(cfg->apps[i].name && cfg->apps[i].wsgi && cfg->apps[i].callable);
        CHECK(cfg->apps[i].interpreters >= 1 && cfg->apps[i].threads >= 1);
    }
}
