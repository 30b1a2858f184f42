/* host_sighup.c: an owner's part of the config, to compare across a
 * SIGHUP (see host_sighup.h). libinih reads the text again: the same
 * sections and keys the config loader saw. */
#include "host_sighup.h"

#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const sw_config_t *cfg;
    const char *owner;
    FILE *out;
} walk_t;

static int owns(const walk_t *w, const char *section)
{
    if (strcmp(section, "server") == 0)
        return 1;
    if (strncmp(section, "user:", 5) == 0)
        return strcmp(section + 5, w->owner) == 0;
    if (strncmp(section, "app:", 4) == 0)
        for (size_t i = 0; i < w->cfg->n_apps; i++)
            if (strcmp(w->cfg->apps[i].name, section + 4) == 0)
                return w->cfg->apps[i].owner && strcmp(w->cfg->apps[i].owner, w->owner) == 0;
    return 0;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    walk_t *w = user;
    if (owns(w, section))
        fprintf(w->out, "[%s] %s=%s\n", section, name, value);
    return 1;
}

char *sw_host_owner_fingerprint(const char *text, const sw_config_t *cfg, const char *owner)
{
    char *buf = NULL;
    size_t len = 0;
    walk_t w = {.cfg = cfg, .owner = owner, .out = open_memstream(&buf, &len)};
    if (!w.out)
        return NULL;
    /* The text parsed already: errors cannot come back here. */
    ini_parse_string(text, on_value, &w);
    if (fclose(w.out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
