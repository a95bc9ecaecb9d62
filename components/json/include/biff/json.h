/*
 * A bounded JSON reader for small replies such as OAuth2 token responses: it checks the whole
 * document and copies out only the top-level members the caller asks for. No allocation, no
 * tree; nesting, string and number sizes are bounded; anything else is an error that says so.
 */
#ifndef BIFF_JSON_H
#define BIFF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "biff_settings.h" /* the board's build-time settings, before the defaults below */

#ifndef BIFF_JSON_DEPTH_MAX
#define BIFF_JSON_DEPTH_MAX 8 /* objects/arrays inside each other, the top object counting 1 */
#endif

typedef enum {
    BIFF_JSON_OK = 0,
    BIFF_JSON_E_ARG,
    BIFF_JSON_E_SYNTAX,     /* not JSON (bad token, bad escape, control byte, trailing bytes) */
    BIFF_JSON_E_NOT_OBJECT, /* valid start but the top level is not an object */
    BIFF_JSON_E_DEPTH,      /* nested deeper than BIFF_JSON_DEPTH_MAX */
    BIFF_JSON_E_TOO_LONG,   /* a wanted string does not fit its buffer */
    BIFF_JSON_E_TYPE,       /* a wanted member has the wrong type, or a number out of range */
    BIFF_JSON_E_DUPLICATE,  /* a wanted member appears twice */
} biff_json_status;

typedef enum {
    BIFF_JSON_STRING = 0, /* copied, unescaped, NUL-terminated into str[cap] */
    BIFF_JSON_UINT,       /* integer 0..UINT32_MAX (also accepted as a string of digits) */
} biff_json_type;

/** One member wanted from the top-level object. null counts as absent; an absent member's
 * buffer is left as it was (a refresh response without refresh_token keeps the old one). */
typedef struct {
    const char *name;
    uint8_t type;  /* biff_json_type */
    uint8_t found; /* set by biff_json_read */
    char *str;     /* BIFF_JSON_STRING */
    size_t cap;
    uint32_t *num; /* BIFF_JSON_UINT */
} biff_json_field;

/**
 * Parse in[len] as one JSON object and fill the wanted fields (found = 0 for those absent).
 * On an error *where (may be NULL) gets the byte offset, and the name of the member at fault,
 * if any, is in *member (may be NULL). On error every string this call wrote is wiped.
 */
biff_json_status biff_json_read(const char *in, size_t len, biff_json_field *fields, size_t n_fields, size_t *where,
                                const char **member);

/** Short text for a status ("nested too deep", ...). */
const char *biff_json_strerror(biff_json_status s);

#endif
