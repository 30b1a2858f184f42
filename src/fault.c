/* fault.c: the fault points' switch in src/subwsgi-fault (see fault.h);
 * not part of src/subwsgi. SUBWSGI_FAULTS is a comma-separated list of
 * fault point names, each optionally NAME@N: fail only the N-th call of
 * that point in this process (counted from 1), else every call. Parsed
 * once (pthread_once) into a fixed table, so a call allocates nothing and
 * takes no lock: a scan and, for a listed name, one atomic increment. */
#include "fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define MAX_FAULTS 16
#define NAME_MAX_LEN 47

typedef struct {
    char name[NAME_MAX_LEN + 1];
    unsigned long nth;             /* 0: every call; else only the nth */
    atomic_ulong calls;            /* calls of this point so far */
} fault_t;

static fault_t faults[MAX_FAULTS];
static size_t n_faults;            /* written once, under once */
static pthread_once_t parsed = PTHREAD_ONCE_INIT;

static void parse(void);
static void bad_spec(const char *spec, size_t len, const char *why);

int sw_fault_hit(const char *name)
{
    pthread_once(&parsed, parse);
    for (size_t i = 0; i < n_faults; i++) {
        fault_t *f = &faults[i];
        if (strcmp(f->name, name) != 0)
            continue;
        unsigned long call = atomic_fetch_add(&f->calls, 1) + 1;
        if (f->nth && call != f->nth)
            return 0;
        /* The line tells a reader of a test's log which failure was made
         * up. log.c's locks are leaves, so any caller's locks allow it. */
        sw_log(SW_LOG_WARN, NULL, "fault injected: %s (call %lu)", name, call);
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

/* A malformed SUBWSGI_FAULTS is a broken test: say so and stop, rather
 * than run without the fault the test expects. */
static void bad_spec(const char *spec, size_t len, const char *why)
{
    fprintf(stderr, "subwsgi-fault: SUBWSGI_FAULTS: \"%.*s\": %s\n", (int)len, spec, why);
    _exit(2);
}

static void parse(void)
{
    const char *p = getenv("SUBWSGI_FAULTS");
    while (p && *p) {
        size_t len = strcspn(p, ",");
        if (len > 0) {
            if (n_faults == MAX_FAULTS)
                bad_spec(p, len, "more than 16 fault points");
            size_t name_len = strcspn(p, ",@");
            if (name_len == 0 || name_len > NAME_MAX_LEN)
                bad_spec(p, len, "a name of 1 to 47 characters expected");
            fault_t *f = &faults[n_faults];
            memcpy(f->name, p, name_len);
            f->name[name_len] = '\0';
            if (name_len < len) {   /* NAME@N */
                char *end;
                errno = 0;
                f->nth = strtoul(p + name_len + 1, &end, 10);
                if (errno || f->nth == 0 || end != p + len || p[name_len + 1] == '-')
                    bad_spec(p, len, "NAME@N needs a whole number N from 1");
            }
            atomic_init(&f->calls, 0);
            n_faults++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
}
