/* scgi_request.c: the scgi-request program, a small SCGI client for health
 * checks and scripts. Sends one request, prints the whole response (head,
 * blank line, body) and exits 0 on 2xx/3xx, 1 otherwise, 2 when it could
 * not talk to the server or was called wrongly. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listen.h"
#include "scgi_client.h"

#ifndef SW_VERSION
#define SW_VERSION "0.0.0"
#endif

#define EXIT_STATUS_BAD 1
#define EXIT_NO_TALK 2

static void usage(FILE *f);
static int read_stream(FILE *f, char **out, size_t *len);
static int read_body(const char *arg, char **out, size_t *len);

static const struct option long_options[] = {
    { "request", required_argument, NULL, 'X' },
    { "header", required_argument, NULL, 'H' },
    { "data", required_argument, NULL, 'd' },
    { "timeout", required_argument, NULL, 't' },
    { "include", no_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

int
main(int argc, char **argv)
{
    const char **headers = NULL;
    size_t n_headers = 0;
    const char *method = NULL, *data_arg = NULL, *addr_text, *uri;
    char *body = NULL, *end, err[512];
    size_t body_len = 0;
    double timeout_s = 30;
    sw_scgi_response_t resp = { 0 };
    sw_addr_t addr;
    int c, rc = EXIT_NO_TALK;

    headers = calloc((size_t) argc, sizeof(*headers));
    if (headers == NULL) {
        fprintf(stderr, "scgi-request: out of memory\n");
        return EXIT_NO_TALK;
    }
    while ((c = getopt_long(argc, argv, "X:H:d:t:ihV", long_options, NULL)) != -1) {
        switch (c) {
        case 'X':
            method = optarg;
            break;
        case 'H':
            headers[n_headers++] = optarg;
            break;
        case 'd':
            if (data_arg != NULL) {
                fprintf(stderr, "scgi-request: -d given twice\n");
                goto done;
            }
            data_arg = optarg;
            break;
        case 't':
            errno = 0;
            timeout_s = strtod(optarg, &end);
            if (errno != 0 || end == optarg || *end != '\0' || !isfinite(timeout_s)
                || timeout_s < 0) {
                fprintf(stderr, "scgi-request: bad timeout \"%s\" (seconds, "
                        "0 for none)\n", optarg);
                goto done;
            }
            break;
        case 'i':
            break;                /* the head is always printed */
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        case 'V':
            printf("scgi-request " SW_VERSION "\n");
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        goto done;
    }
    addr_text = argv[optind];
    uri = argv[optind + 1];
    if (uri[0] != '/' && strcmp(uri, "*") != 0) {
        fprintf(stderr, "scgi-request: PATH must start with '/': \"%s\"\n", uri);
        goto done;
    }
    if (sw_addr_parse(addr_text, &addr, err, sizeof(err)) != 0) {
        fprintf(stderr, "scgi-request: %s\n", err);
        goto done;
    }
    if (data_arg != NULL && read_body(data_arg, &body, &body_len) != 0)
        goto done;
    if (method == NULL)
        method = data_arg != NULL ? "POST" : "GET";

    if (sw_scgi_client_request(&addr, method, uri, headers, n_headers, body,
                               body_len, timeout_s, &resp, err, sizeof(err)) != 0) {
        fprintf(stderr, "scgi-request: %s\n", err);
        goto done;
    }
    if (resp.raw_len > 0 && fwrite(resp.raw, 1, resp.raw_len, stdout) != resp.raw_len) {
        fprintf(stderr, "scgi-request: writing the response: %s\n", strerror(errno));
        goto done;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "scgi-request: writing the response: %s\n", strerror(errno));
        goto done;
    }
    if (resp.status == 0) {
        fprintf(stderr, "scgi-request: %s from %s\n", resp.raw_len == 0
                ? "empty response" : "unparsable response", addr.text);
        rc = EXIT_STATUS_BAD;
    } else {
        rc = resp.status >= 200 && resp.status < 400 ? 0 : EXIT_STATUS_BAD;
    }

done:
    sw_scgi_response_free(&resp);
    free(body);
    free(headers);
    return rc;
}

static void
usage(FILE *f)
{
    fprintf(f,
        "usage: scgi-request ADDR [-X METHOD] [-H 'Name: value']... [-d BODY]\n"
        "                    [-t SECONDS] PATH[?QUERY]\n"
        "Sends one SCGI request to ADDR (HOST:PORT, [IPV6]:PORT or unix:/path)\n"
        "and prints the whole response (head, blank line, body).\n"
        "\n"
        "  -X, --request METHOD   request method (default GET, or POST with -d)\n"
        "  -H, --header 'N: v'    add a request header (repeatable)\n"
        "  -d, --data BODY        request body; @FILE reads it from FILE and\n"
        "                         - from stdin, byte for byte\n"
        "  -t, --timeout SECONDS  limit on each connect/send/receive (default 30,\n"
        "                         0 for none)\n"
        "  -i, --include          accepted for curl habits; the head is always printed\n"
        "  -h, --help             this text\n"
        "  -V, --version          print the version\n"
        "\n"
        "Exit status: 0 on a 2xx or 3xx answer, 1 on any other answer or an\n"
        "unparsable one, 2 when the server could not be reached (or bad usage).\n"
        "Manual: scgi-request(1).\n");
}

static int
read_body(const char *arg, char **out, size_t *len)
{
    FILE *f;
    int rc;

    if (strcmp(arg, "-") == 0) {
        if (read_stream(stdin, out, len) != 0) {
            fprintf(stderr, "scgi-request: reading stdin: %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    if (arg[0] != '@') {
        *len = strlen(arg);
        *out = strdup(arg);
        if (*out == NULL) {
            fprintf(stderr, "scgi-request: out of memory\n");
            return -1;
        }
        return 0;
    }
    f = fopen(arg + 1, "rb");
    if (f == NULL) {
        fprintf(stderr, "scgi-request: cannot open %s: %s\n", arg + 1, strerror(errno));
        return -1;
    }
    rc = read_stream(f, out, len);
    if (rc != 0)
        fprintf(stderr, "scgi-request: reading %s: %s\n", arg + 1, strerror(errno));
    fclose(f);
    return rc;
}

/* Reads f to EOF into a new buffer; -1 with errno on failure. */
static int
read_stream(FILE *f, char **out, size_t *len)
{
    char *buf = NULL, *p;
    size_t cap = 0, n = 0, r;

    for (;;) {
        if (cap - n < 65536) {
            cap = cap != 0 ? cap * 2 : 131072;
            p = realloc(buf, cap);
            if (p == NULL) {
                free(buf);
                errno = ENOMEM;
                return -1;
            }
            buf = p;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            if (ferror(f)) {
                free(buf);
                if (errno == 0)
                    errno = EIO;
                return -1;
            }
            break;
        }
    }
    *out = buf;
    *len = n;
    return 0;
}
