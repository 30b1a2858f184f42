/* main.c: the command line (DESIGN section 3): -c FILE [--check], quick
 * mode (--app/--scgi ...), --version, --hash-token, --help. */
#include <getopt.h>
#include <gnutls/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "handover.h"
#include "host.h"
#include "interp.h"
#include "server.h"

static const char usage[] =
    "usage: subwsgi -c FILE [--check]\n"
    "       subwsgi --app PATH.py[:CALLABLE] --scgi ADDR [--admin ADDR]\n"
    "               [--interpreters N] [--threads N] [--isolation MODE] [--watch]\n"
    "       subwsgi --version | --hash-token | --help\n"
    "\n"
    "  -c, --config FILE     run with this config file (INI, see subwsgi.ini(5))\n"
    "      --check           validate the config and exit: 0 valid, 1 invalid\n"
    "      --app SPEC        quick mode: serve one WSGI app, mounted at /\n"
    "      --scgi ADDR       quick mode SCGI listener: HOST:PORT, [IPV6]:PORT, unix:/path\n"
    "      --admin ADDR      quick mode admin port (loopback or unix socket only)\n"
    "      --interpreters N  sub-interpreters for the app (default 1)\n"
    "      --threads N       worker threads per interpreter (default 1)\n"
    "      --isolation MODE  auto | shared-gil | own-gil | main\n"
    "      --watch           reload when a source file changes\n"
    "      --version         version, embedded CPython, own-gil availability\n"
    "      --hash-token      read a token on stdin, print its token-sha256 line\n"
    "  -h, --help            this text\n"
    "\n"
    "Signals: HUP re-reads the config, USR1 reopens the log files, USR2 hands\n"
    "over to a fresh process, TERM/INT drain and exit.\n"
    "Exit codes: 0 clean shutdown, 1 config error, 2 runtime failure.\n"
    "Manuals: subwsgi(8), subwsgi.ini(5), scgi-request(1).\n";

enum { OPT_CHECK = 256, OPT_APP, OPT_SCGI, OPT_ADMIN, OPT_INTERPRETERS, OPT_THREADS,
       OPT_ISOLATION, OPT_WATCH, OPT_VERSION, OPT_HASH_TOKEN, OPT_HOST_WORKER };

static const struct option options[] = {
    {"config", required_argument, NULL, 'c'},
    {"check", no_argument, NULL, OPT_CHECK},
    {"app", required_argument, NULL, OPT_APP},
    {"scgi", required_argument, NULL, OPT_SCGI},
    {"admin", required_argument, NULL, OPT_ADMIN},
    {"interpreters", required_argument, NULL, OPT_INTERPRETERS},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"isolation", required_argument, NULL, OPT_ISOLATION},
    {"watch", no_argument, NULL, OPT_WATCH},
    {"version", no_argument, NULL, OPT_VERSION},
    {"hash-token", no_argument, NULL, OPT_HASH_TOKEN},
    /* Not for people: how a host-mode master starts an owner's process
     * (host.h). In the argv so that ps shows whose process it is. */
    {"host-worker", required_argument, NULL, OPT_HOST_WORKER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_count(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 1024) {
        fprintf(stderr, "subwsgi: --%s: want a number from 1 to 1024, got \"%s\"\n", opt, s);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int print_version(void)
{
    char py[128];
    sw_python_describe(py, sizeof py);
    printf("subwsgi %s\n%s\n", SW_VERSION, py);
    return 0;
}

/* Prints the config line for a token read from stdin (one line). */
static int hash_token(void)
{
    char line[4096];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "subwsgi: --hash-token: no token on stdin\n");
        return 1;
    }
    line[strcspn(line, "\r\n")] = '\0';
    if (strlen(line) < 16) {
        fprintf(stderr, "subwsgi: --hash-token: a token needs at least 16 characters\n");
        return 1;
    }
    unsigned char digest[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, line, strlen(line), digest) < 0) {
        fprintf(stderr, "subwsgi: --hash-token: SHA-256 failed\n");
        return 1;
    }
    printf("token-sha256 = ");
    for (size_t i = 0; i < sizeof digest; i++)
        printf("%02x", digest[i]);
    printf("\n");
    return 0;
}

static void print_errors(const sw_errors_t *errs)
{
    for (size_t i = 0; i < errs->lines.n; i++)
        fprintf(stderr, "%s\n", errs->lines.items[i]);
}

int main(int argc, char **argv)
{
    const char *config = NULL, *app = NULL, *scgi = NULL, *admin = NULL, *isolation = NULL;
    const char *host_worker = NULL;
    int check = 0, watch = 0, interpreters = 0, threads = 0, opt;
    sw_handover_init(argc, argv);

    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': config = optarg; break;
        case OPT_CHECK: check = 1; break;
        case OPT_APP: app = optarg; break;
        case OPT_SCGI: scgi = optarg; break;
        case OPT_ADMIN: admin = optarg; break;
        case OPT_INTERPRETERS:
            if (parse_count("interpreters", optarg, &interpreters) < 0)
                return 1;
            break;
        case OPT_THREADS:
            if (parse_count("threads", optarg, &threads) < 0)
                return 1;
            break;
        case OPT_ISOLATION: isolation = optarg; break;
        case OPT_WATCH: watch = 1; break;
        case OPT_VERSION: return print_version();
        case OPT_HASH_TOKEN: return hash_token();
        case OPT_HOST_WORKER: host_worker = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "subwsgi: unexpected argument \"%s\"\n%s", argv[optind], usage);
        return 1;
    }
    if (config && app) {
        fprintf(stderr, "subwsgi: -c and --app cannot be combined\n");
        return 1;
    }
    if (!config && !app) {
        fputs(usage, stderr);
        return 1;
    }

    if (host_worker) {
        if (!config || app || check) {
            fprintf(stderr, "subwsgi: --host-worker needs -c FILE and nothing else\n");
            return 1;
        }
        return sw_host_worker_main(host_worker, config);
    }

    sw_errors_t errs = {0};
    sw_config_t *cfg = NULL;
    char *text = NULL;
    if (config) {
        /* Host mode's --check asks whether each run-as can read it. */
        sw_config_set_python_library(sw_python_library());
        /* Read once: host mode hands these very bytes to its workers. */
        text = sw_config_read(config, &errs);
        if (text)
            cfg = sw_config_parse_string(config, text, &errs);
    } else {
        if (!scgi) {
            fprintf(stderr, "subwsgi: --app needs --scgi ADDR\n");
            return 1;
        }
        cfg = sw_config_quick(app, scgi, admin, interpreters, threads, isolation, watch, &errs);
    }
    if (!cfg) {
        print_errors(&errs);
        sw_errors_free(&errs);
        free(text);
        return 1;
    }
    sw_errors_free(&errs);
    if (check) {
        if (cfg->mode == SW_MODE_HOST)
            printf("%s: OK (%zu apps, host mode, %zu owners)\n", cfg->file,
                   cfg->n_apps, sw_config_n_owners(cfg));
        else
            printf("%s: OK (%zu apps)\n", cfg->file, cfg->n_apps);
        sw_config_free(cfg);
        free(text);
        return 0;
    }
    if (cfg->mode == SW_MODE_HOST) {
        int rc = sw_host_run(cfg, text, strlen(text));
        free(text);
        return rc;
    }
    free(text);
    /* Returns only when start-up fails early; else it ends the process
     * itself (server.h says why). */
    return sw_server_run(cfg, app != NULL);
}
