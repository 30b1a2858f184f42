/* auth.h: who is asking the admin port: the Bearer token of a request,
 * hashed (SHA-256, GnuTLS) and compared in constant time with every user's
 * token-sha256, and what that user may see (DESIGN section 6 and 7).
 * Pure functions on the config: no lock of their own; the caller holds the
 * server read lock while it uses the config and the returned user. */
#ifndef SW_ADMIN_AUTH_H
#define SW_ADMIN_AUTH_H

#include <stddef.h>

#include "app.h"
#include "config.h"

/* The token of an Authorization header value ("Bearer TOKEN"; the scheme is
 * case-insensitive, spaces around the token are ignored): points into
 * header, with its length in *len. NULL when there is no header, another
 * scheme, or an empty or malformed token (containing a space or a control
 * character). */
const char *sw_auth_bearer_token(const char *header, size_t *len);

/* SHA-256 of data into out. Returns 0, or -1 when GnuTLS fails. */
int sw_auth_sha256(const void *data, size_t len, unsigned char out[32]);

/* The user whose token-sha256 matches the SHA-256 of the token in header,
 * or NULL (unauthorized). Every user's hash is compared in full, whatever
 * matches, so the time taken does not depend on the token. Neither the
 * token nor its hash is logged or kept. Borrowed from cfg. */
const sw_user_config_t *sw_auth_user(const sw_config_t *cfg, const char *authorization_header);

/* 1 when u may see and control an app whose owner is owner (NULL: no
 * owner): an admin sees every app, a user the apps whose owner is that
 * user; else 0 (the caller then answers exactly as for an app that does
 * not exist). The one visibility rule of the admin port. */
int sw_auth_can_see_owner(const sw_user_config_t *u, const char *owner);

/* sw_auth_can_see_owner for app's current owner (0 for a NULL app). */
int sw_auth_can_see(const sw_user_config_t *u, const sw_app_t *app);

#endif
