/* panel_assets.h: the control panel's files (admin/panel/), compiled into
 * the binary at build time by admin/panel/embed.sh, which writes the
 * generated panel_assets.c that defines these. http.c serves them. */
#ifndef SW_PANEL_ASSETS_H
#define SW_PANEL_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;           /* file name, served as /panel/NAME */
    const char *content_type;
    const unsigned char *data;  /* the file's bytes, not NUL-terminated */
    size_t len;
} sw_panel_asset_t;

extern const sw_panel_asset_t sw_panel_assets[];
extern const size_t sw_panel_n_assets;

#endif
