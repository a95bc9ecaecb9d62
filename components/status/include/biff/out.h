/*
 * The bounded writer the renderers share (the status documents, the Home Assistant messages):
 * it counts every byte it is given and stores what fits, so one pass tells both the text and
 * the length it needs. No NUL is written; the caller ends the text (or refuses a cut one).
 *
 * A writer may keep a window instead of the start: with skip, the first skip bytes are only
 * counted and buf gets the cap bytes after them. A renderer that gives the same bytes for the
 * same input can so send a text of any length in pieces through one small buffer; sum, a
 * checksum of every byte given, tells whether the input changed between the pieces.
 */
#ifndef BIFF_OUT_H
#define BIFF_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *buf;
    size_t cap;
    size_t pos;   /* bytes given so far (may pass skip + cap: then the text did not fit) */
    size_t skip;  /* bytes counted before the window buf holds (0: buf holds the start) */
    uint32_t sum; /* FNV-1a over every byte given, from the value it starts with */
} biff_out;

typedef enum { BIFF_OUT_JSON, BIFF_OUT_HTML, BIFF_OUT_PLAIN } biff_out_esc;

/** Append n bytes of s. */
void biff_out_put(biff_out *o, const char *s, size_t n);

/** Append the NUL-terminated s. */
void biff_out_str(biff_out *o, const char *s);

/** Append v in decimal. */
void biff_out_u32(biff_out *o, uint32_t v);

/**
 * Append the string field s (at most max bytes, it may lack its NUL) escaped for mode: JSON
 * string content, HTML text, or a plain console line. Invalid UTF-8 becomes U+FFFD ('?' plain);
 * HTML and plain text get no control characters.
 */
void biff_out_text(biff_out *o, const char *s, size_t max, biff_out_esc mode);

#endif
