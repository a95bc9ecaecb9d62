/* Streaming modified UTF-7 encoder (RFC 3501 5.1.3): one output byte per call, so the same code
 * writes STATUS commands and compares mailbox names in replies without a scratch buffer. */
#ifndef BIFF_IMAP_MUTF7_H
#define BIFF_IMAP_MUTF7_H

#include <stdint.h>

typedef struct {
    const uint8_t *s; /* rest of the NUL-terminated UTF-8 input */
    uint32_t bits;    /* pending base64 bits */
    uint8_t nbits;
    uint8_t b64; /* inside an &...- run */
    uint8_t q_len, q_pos;
    char q[8]; /* bytes produced by the last input character */
} biff_mutf7;

void biff_mutf7_start(biff_mutf7 *m, const char *utf8);

/* Next output byte; -1 at the end; -2 on invalid UTF-8. */
int biff_mutf7_next(biff_mutf7 *m);

#endif
