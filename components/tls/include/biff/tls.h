/*
 * TLS client layer: mbedTLS 3.6 over any biff_transport, exposing TLS as a biff_transport again.
 *
 * Verification is always REQUIRED and the host name is always checked (there is no switch to
 * turn either off). TLS 1.3 is preferred, TLS 1.2 accepted. An optional SHA-256 pin of the
 * server's SubjectPublicKeyInfo is checked during the handshake, so nothing is sent to a server
 * that fails it.
 */
#ifndef BIFF_TLS_H
#define BIFF_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "biff/net.h"
#include "biff/result.h"
#include "biff/tls_heap.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"

typedef enum {
    BIFF_TLS_OK = 0,
    BIFF_TLS_WANT_READ,   /* handshake waits for the peer: wait until the socket is readable */
    BIFF_TLS_WANT_WRITE,  /* handshake waits to send: wait until the socket is writable */
    BIFF_TLS_E_CA,        /* CA bundle missing or unreadable */
    BIFF_TLS_E_VERIFY,    /* certificate rejected (see detail) */
    BIFF_TLS_E_PIN,       /* certificate valid but its key does not match the pin */
    BIFF_TLS_E_HANDSHAKE, /* protocol failure, alert, or peer closed during the handshake */
    BIFF_TLS_E_NET,       /* the link under TLS failed */
    BIFF_TLS_E_SETUP,     /* bad argument or configuration */
    BIFF_TLS_E_MEMORY,    /* mbedTLS ran out of memory (see biff/tls_heap.h); never reported as a CA problem */
} biff_tls_status;

/** Settings and trust shared by every connection: CA chain, RNG, mbedTLS config. */
typedef struct {
    mbedtls_ssl_config conf;
    mbedtls_x509_crt ca;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    char detail[128];
} biff_tls_ctx;

/** One TLS connection. */
typedef struct {
    mbedtls_ssl_context ssl;
    biff_transport *lower;
    biff_transport upper;
    int32_t lower_status; /* last negative status from the lower transport */
    uint8_t pin[32];
    uint8_t has_pin;
    uint8_t pin_failed;
    uint8_t cert_seen;      /* the verify callback ran: a full handshake */
    uint8_t resumed;        /* handshake resumed an earlier session */
    uint32_t chain_since;   /* newest notBefore seen in the chain (unix seconds) */
    uint32_t heap_failures; /* biff_tls_heap_failures() when the connection started */
    char detail[128];
} biff_tls;

/**
 * Initialise the shared context and load trust anchors from ca_path: a PEM/DER file or a
 * directory of them (NULL: the system bundle /etc/ssl/certs/ca-certificates.crt).
 * On failure ctx->detail says what was wrong.
 */
biff_tls_status biff_tls_ctx_init(biff_tls_ctx *ctx, const char *ca_path);

/** Same with trust anchors from memory (PEM with its NUL counted in len, or DER). */
biff_tls_status biff_tls_ctx_init_ca_buffer(biff_tls_ctx *ctx, const uint8_t *ca, size_t len);

/** Release the shared context. */
void biff_tls_ctx_free(biff_tls_ctx *ctx);

/**
 * Begin a client connection over lower, for server name host (SNI and certificate check).
 * pin_sha256 (32 bytes or NULL) pins the server key. resume (or NULL) is a session saved from
 * an earlier connection to the same account; it is offered for resumption.
 */
biff_tls_status biff_tls_start(biff_tls *t, biff_tls_ctx *ctx, biff_transport *lower, const char *host,
                               const uint8_t *pin_sha256, const mbedtls_ssl_session *resume);

/**
 * Advance the handshake without blocking. BIFF_TLS_OK once the connection is up. On failure
 * the detail names the cause; without a better one, the mbedTLS code in hex and the handshake
 * step it failed at. An allocation refused during the handshake makes it BIFF_TLS_E_MEMORY
 * ("TLS memory exhausted (pool N bytes)"), whatever error mbedTLS made of it.
 */
biff_tls_status biff_tls_handshake(biff_tls *t);

/** The connection as a transport for the protocol engines (valid after a successful handshake). */
biff_transport *biff_tls_transport(biff_tls *t);

/** Non-zero when the handshake resumed the session passed to biff_tls_start(). */
static inline int biff_tls_resumed(const biff_tls *t)
{
    return t->resumed;
}

/**
 * After a full handshake: the newest notBefore (unix seconds) of the chain that was verified,
 * leaf to trust anchor. A CA attests that this moment has passed, so it is a lower bound for
 * the time that no network answer can forge (a clock without an RTC can start from it).
 * 0 before the handshake is done and for a resumed session (no certificate was sent).
 */
uint32_t biff_tls_verified_since(const biff_tls *t);

/** An X.509 time as unix seconds (UTC); 0 before 1970, UINT32_MAX past 2106. */
uint32_t biff_tls_x509_time_unix(const mbedtls_x509_time *t);

/** Negotiated version text ("TLSv1.3"); empty before the handshake. */
const char *biff_tls_version(const biff_tls *t);

/** Copy the session for resumption by the next connection (call after the check's exchange). */
int biff_tls_save_session(biff_tls *t, mbedtls_ssl_session *out);

/** The error class users see for a failed TLS call: the link under it failing is a network
 *  error, anything else (certificate, pin, handshake, memory, setup) a TLS one. */
biff_error_class biff_tls_error_class(biff_tls_status st);

/** The handshake step the connection is at (or stopped at), for error messages. */
const char *biff_tls_step_name(const biff_tls *t);

/** Why the last call failed: one line for a person, never secret. */
const char *biff_tls_detail(const biff_tls *t);

/** Send close_notify (best effort) and free the connection. */
void biff_tls_close(biff_tls *t);

#endif
