/* SASL client initial responses (PLAIN, XOAUTH2, OAUTHBEARER) for the IMAP and POP3 engines. */
#ifndef BIFF_SASL_H
#define BIFF_SASL_H

#include <stddef.h>

typedef enum {
    BIFF_SASL_OK = 0,
    BIFF_SASL_E_SPACE, /* output buffer too small (out is scrubbed, set to "") */
    BIFF_SASL_E_ARG,   /* missing/empty argument or a byte the mechanism cannot carry */
} biff_sasl_status;

typedef enum {
    BIFF_SASL_PLAIN,       /* RFC 4616 */
    BIFF_SASL_XOAUTH2,     /* Google/Microsoft "user=..^Aauth=Bearer ..^A^A" */
    BIFF_SASL_OAUTHBEARER, /* RFC 7628 */
} biff_sasl_mech;

#define BIFF_SASL_MECH_COUNT 3
/** Bit for a mechanism in the masks below. */
#define BIFF_SASL_BIT(m) (1u << (unsigned)(m))

/**
 * Base64 of the mechanism's initial client response, NUL-terminated, into out[cap].
 * secret is the password (PLAIN) or the bearer token (XOAUTH2, OAUTHBEARER).
 * host/port are used by OAUTHBEARER only (omitted from the message when NULL/"" or 0).
 * The raw response is never materialised: only its base64 lands in out. On any error out is
 * wiped and set to "" (when cap > 0) and *out_len is 0. out_len may be NULL.
 */
biff_sasl_status biff_sasl_initial_response(biff_sasl_mech mech, const char *user, const char *secret, const char *host,
                                            unsigned port, char *out, size_t cap, size_t *out_len);

/** IANA name: "PLAIN", "XOAUTH2", "OAUTHBEARER"; "" for an unknown value. */
const char *biff_sasl_mech_name(biff_sasl_mech mech);

/** Case-insensitive name (len bytes, not NUL-terminated) to mechanism. 0 on success, -1 unknown. */
int biff_sasl_mech_parse(const char *name, size_t len, biff_sasl_mech *out);

/**
 * Mask of BIFF_SASL_BIT()s for the known mechanisms in a list separated by spaces/tabs
 * (the tail of a POP3 "SASL PLAIN XOAUTH2" CAPA line). Unknown names are ignored.
 */
unsigned biff_sasl_mech_mask(const char *list, size_t len);

/**
 * Decode a base64 server challenge (e.g. the JSON error an XOAUTH2 server sends) into out[cap],
 * NUL-terminated; *out_len excludes the NUL. Syntax rules are mbedtls_base64_decode's.
 */
biff_sasl_status biff_sasl_b64_decode(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/** What an engine shows instead of server text that gave the secret away: the text is not
 *  masked in place, which would still tell the secret's length. */
#define BIFF_SASL_WITHHELD "(withheld: server echoed the password)"

/**
 * Does server text (len raw bytes, before any mapping for display) give the secret away?
 * It does when it holds, anywhere and whatever surrounds it (quotes, "key="):
 *   - the secret, or its first 3 bytes or more cut off by the end of the text;
 *   - base64 or base64url of the secret at any of the three byte alignments, which covers the
 *     base64 of every SASL message that carried it (a start of it counts too: 4 characters or
 *     more where the text ends, 8 or more anywhere);
 *   - the base64 or base64url of the SASL PLAIN message of user and secret, for a secret too
 *     short (under 5 bytes) for the rule above.
 * Returns 1 or 0.
 */
int biff_sasl_leaks_secret(const char *text, size_t len, const char *user, const char *secret);

/**
 * Whether a failed OAuth login may succeed with a fresh access token. challenge is the base64
 * text of the server's error report (RFC 7628 3.2.2: JSON): a token refusal when it names no
 * status (or is unreadable) or says "invalid_token" (OAUTHBEARER) or "401" (XOAUTH2, as Google
 * and Dovecot write it); any other status ("insufficient_scope", "400") is not one.
 */
int biff_sasl_oauth_token_refused(const char *challenge, size_t len);

#endif
