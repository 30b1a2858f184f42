/* scgi.h: the SCGI request header parser. Pure: no I/O, no allocation, no
 * Python. Fed the bytes received so far, it finds the netstring header and
 * then splits it into name/value pairs with the checks of the SCGI spec. */
#ifndef SW_SCGI_H
#define SW_SCGI_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SW_SCGI_MORE = 0,        /* need more bytes */
    SW_SCGI_DONE = 1,        /* header complete; see header_off/len, body_off */
    SW_SCGI_BAD = -1,        /* malformed -> 400 */
    SW_SCGI_TOO_BIG = -2     /* netstring length over the limit -> 431 */
} sw_scgi_status_t;

typedef struct {
    size_t max_header_size;  /* limit on the netstring length */
    /* private state */
    size_t pos;              /* bytes of the buffer already examined */
    size_t length;           /* netstring length, valid once ':' was seen */
    int state;
    /* results, valid after SW_SCGI_DONE */
    size_t header_off;       /* offset of the first header byte */
    size_t header_len;       /* == length */
    size_t body_off;         /* offset just past the ',' */
} sw_scgi_parser_t;

typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} sw_scgi_header_t;

void sw_scgi_init(sw_scgi_parser_t *p, size_t max_header_size);

/* buf holds ALL bytes received so far on the connection (len of them);
 * the parser resumes where the previous call stopped (p->pos), so each byte
 * is examined once and feeding one byte at a time gives the same result and
 * offsets as feeding the whole request. buf may move between calls (realloc)
 * but the bytes before len must not change.
 * - MORE until the ',' after the header has arrived;
 * - DONE then, with header_off/header_len/body_off set
 *   (body_off == header_off + header_len + 1; the body starts at body_off);
 * - BAD for a non-digit before ':', an empty length (":" first), a leading
 *   zero ("05:"; "0:" alone is fine), or a byte other than ',' after the
 *   header. Decided at the first byte that proves it;
 * - TOO_BIG as soon as the digits seen exceed max_header_size, before the
 *   ':' arrives (no overflow for any number of digits).
 * DONE, BAD and TOO_BIG are final: later calls return them again. The
 * header bytes themselves are checked by sw_scgi_split, not here. */
sw_scgi_status_t sw_scgi_feed(sw_scgi_parser_t *p, const char *buf, size_t len);

/* Splits the completed header (buf + header_off, header_len) into at most
 * max pairs. Checks: NUL-terminated pairs, non-empty names, no duplicate
 * names, CONTENT_LENGTH first with a decimal value (digits only, fits in
 * 63 bits). On success returns the number of pairs and sets *content_length;
 * on failure returns -1 and points *why at a static reason string. */
/* Details: the pairs point into header (nothing is copied) and each name and
 * value is followed by its NUL there, so they are also C strings; values may
 * be empty, names may not. CONTENT_LENGTH is 1..19 ASCII digits, leading
 * zeros allowed, <= INT64_MAX. Duplicate detection is O(n^2) in the number
 * of pairs, so keep max in the hundreds. Structural problems are reported
 * before CONTENT_LENGTH ones. On success *why is set to NULL; on failure
 * *content_length is left alone. content_length and why may be NULL.
 * The reasons (static strings, for log lines):
 *   "header does not end in NUL", "header name without a value",
 *   "empty header name", "duplicate header name", "too many headers",
 *   "CONTENT_LENGTH is missing" (also for an empty header, "0:,"),
 *   "CONTENT_LENGTH is not the first header",
 *   "CONTENT_LENGTH is not a decimal number", "CONTENT_LENGTH is too large" */
int sw_scgi_split(const char *header, size_t header_len,
                  sw_scgi_header_t *out, size_t max,
                  uint64_t *content_length, const char **why);

/* Finds a header by name in a split array; NULL when absent. Exact,
 * case-sensitive match of the whole name. */
const sw_scgi_header_t *sw_scgi_find(const sw_scgi_header_t *h, size_t n,
                                     const char *name);

#endif
