/* auth.c: Bearer tokens of the admin port: parsing the Authorization header,
 * SHA-256 with GnuTLS, a constant-time search of the configured users, and
 * the visibility rule (admin: every app; user: the apps it owns). */
#include "auth.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <strings.h>

static int is_space(char c);

const char *sw_auth_bearer_token(const char *header, size_t *len)
{
    if (!header)
        return NULL;
    const char *p = header;
    while (is_space(*p))
        p++;
    /* RFC 7235: "It uses a case-insensitive token as a means to identify
     * the authentication scheme", followed by 1*SP. */
    if (strncasecmp(p, "Bearer", 6) != 0 || !is_space(p[6]))
        return NULL;
    p += 6;
    while (is_space(*p))
        p++;
    const char *end = p + strlen(p);
    while (end > p && is_space(end[-1]))
        end--;
    if (end == p)
        return NULL;
    /* Any printable byte may be part of a token (--hash-token takes any
     * line), but no space or control character: "Bearer a b" is not one
     * token. */
    for (const char *q = p; q < end; q++) {
        unsigned char c = (unsigned char)*q;
        if (c <= 0x20 || c == 0x7f)
            return NULL;
    }
    *len = (size_t)(end - p);
    return p;
}

int sw_auth_sha256(const void *data, size_t len, unsigned char out[32])
{
    return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) < 0 ? -1 : 0;
}

const sw_user_config_t *sw_auth_user(const sw_config_t *cfg, const char *authorization_header)
{
    size_t len = 0;
    const char *token = sw_auth_bearer_token(authorization_header, &len);
    if (!cfg || !token)
        return NULL;
    unsigned char hash[32];
    if (sw_auth_sha256(token, len, hash) != 0)
        return NULL;
    /* Every user, every byte, no branch on the data: the time taken tells
     * nothing about which user (if any) matched, or how many bytes did.
     * found is 1 + the index of the matching user, 0 for none; were two
     * users given the same hash, the last one wins. */
    size_t found = 0;
    for (size_t i = 0; i < cfg->n_users; i++) {
        const volatile unsigned char *want = cfg->users[i].token_sha256;
        unsigned diff = 0;
        for (size_t k = 0; k < sizeof hash; k++)
            diff |= (unsigned)(hash[k] ^ want[k]);
        /* diff is 0..255; (diff - 1) >> 8 has its low bit set exactly when
         * diff == 0. mask: all ones on a match, else 0. */
        size_t mask = (size_t)0 - (size_t)(((diff - 1u) >> 8) & 1u);
        found = (found & ~mask) | ((i + 1) & mask);
    }
    gnutls_memset(hash, 0, sizeof hash);
    return found ? &cfg->users[found - 1] : NULL;
}

int sw_auth_can_see_owner(const sw_user_config_t *u, const char *owner)
{
    if (!u)
        return 0;
    if (u->role == SW_ROLE_ADMIN)
        return 1;
    return owner && u->name && strcmp(owner, u->name) == 0;
}

int sw_auth_can_see(const sw_user_config_t *u, const sw_app_t *app)
{
    if (!app)
        return 0;
    const sw_app_config_t *cfg = app->cfg;   /* one read: SIGHUP swaps it */
    return sw_auth_can_see_owner(u, cfg ? cfg->owner : NULL);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}
