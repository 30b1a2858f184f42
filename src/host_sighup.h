/* host_sighup.h: what SIGHUP changes for one owner in host mode (DESIGN
 * section 9): an owner's worker is handed over to one started with the new
 * config when, and only when, what makes that worker changed: the [server]
 * section, the owner's [user:NAME] and the [app:NAME] sections it owns.
 * Other owners' workers never notice. */
#ifndef SW_HOST_SIGHUP_H
#define SW_HOST_SIGHUP_H

#include "config.h"

/* Those sections of text (cfg parsed from it) as "[SECTION] KEY=VALUE"
 * lines in file order: a new string (the caller frees it), or NULL when
 * out of memory. Comments, blank lines and other sections do not count. */
char *sw_host_owner_fingerprint(const char *text, const sw_config_t *cfg, const char *owner);

#endif
