#include "biff/tls.h"

#include <stdio.h>
#include <string.h>

#include "mbedtls/asn1.h"
#include "mbedtls/bignum.h"
#include "mbedtls/ecp.h"
#include "mbedtls/error.h"
#include "mbedtls/pk.h"
#include "mbedtls/sha256.h"
#include "psa/crypto.h"

#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static biff_tls_status ctx_common(biff_tls_ctx *ctx)
{
    int ret;
    mbedtls_ssl_config_init(&ctx->conf);
    mbedtls_entropy_init(&ctx->entropy);
    mbedtls_ctr_drbg_init(&ctx->drbg);
    ctx->detail[0] = 0;
    if (psa_crypto_init() != PSA_SUCCESS) {
        snprintf(ctx->detail, sizeof ctx->detail, "PSA crypto init failed");
        return BIFF_TLS_E_SETUP;
    }
    ret = mbedtls_ctr_drbg_seed(&ctx->drbg, mbedtls_entropy_func, &ctx->entropy, (const unsigned char *)"tinybiff", 8);
    if (ret == 0) {
        ret = mbedtls_ssl_config_defaults(&ctx->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    }
    if (ret != 0) {
        snprintf(ctx->detail, sizeof ctx->detail, "TLS setup failed (-0x%04x)", (unsigned)-ret);
        return BIFF_TLS_E_SETUP;
    }
    mbedtls_ssl_conf_authmode(&ctx->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&ctx->conf, &ctx->ca, NULL);
    mbedtls_ssl_conf_rng(&ctx->conf, mbedtls_ctr_drbg_random, &ctx->drbg);
#if MBEDTLS_SSL_IN_CONTENT_LEN < 16384
    /* A build with small record buffers asks servers for small records (RFC 6066). */
    mbedtls_ssl_conf_max_frag_len(&ctx->conf, MBEDTLS_SSL_IN_CONTENT_LEN <= 512    ? MBEDTLS_SSL_MAX_FRAG_LEN_512
                                              : MBEDTLS_SSL_IN_CONTENT_LEN <= 1024 ? MBEDTLS_SSL_MAX_FRAG_LEN_1024
                                              : MBEDTLS_SSL_IN_CONTENT_LEN <= 2048 ? MBEDTLS_SSL_MAX_FRAG_LEN_2048
                                                                                   : MBEDTLS_SSL_MAX_FRAG_LEN_4096);
#endif
    mbedtls_ssl_conf_min_tls_version(&ctx->conf, MBEDTLS_SSL_VERSION_TLS1_2);
    mbedtls_ssl_conf_max_tls_version(&ctx->conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_session_tickets(&ctx->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
    /* mbedTLS 3.6 ignores TLS 1.3 tickets unless asked to keep them: resumption needs them. */
    mbedtls_ssl_conf_tls13_enable_signal_new_session_tickets(&ctx->conf,
                                                             MBEDTLS_SSL_TLS1_3_SIGNAL_NEW_SESSION_TICKETS_ENABLED);
    return BIFF_TLS_OK;
}

/* Trust anchors that did not parse for want of memory are a memory problem, not a CA one. */
static biff_tls_status ca_unusable(biff_tls_ctx *ctx, uint32_t failures_before, const char *where)
{
    if (biff_tls_heap_failures() != failures_before) {
        snprintf(ctx->detail, sizeof ctx->detail, "TLS memory exhausted (pool %u bytes) loading the CA bundle",
                 (unsigned)biff_tls_heap_capacity());
        return BIFF_TLS_E_MEMORY;
    }
    snprintf(ctx->detail, sizeof ctx->detail, "no usable CA certificate in %.80s", where);
    return BIFF_TLS_E_CA;
}

biff_tls_status biff_tls_ctx_init(biff_tls_ctx *ctx, const char *ca_path)
{
    mbedtls_x509_crt_init(&ctx->ca);
    biff_tls_status st = ctx_common(ctx);
    if (st != BIFF_TLS_OK) return st;
    const char *path = ca_path ? ca_path : SYSTEM_CA_BUNDLE;
#if defined(MBEDTLS_FS_IO)
    uint32_t failures = biff_tls_heap_failures();
    FILE *probe = fopen(path, "r");
    int is_file = 0;
    if (probe) {
        /* fopen succeeds on a directory too; a read tells them apart. */
        is_file = fgetc(probe) != EOF || !ferror(probe);
        fclose(probe);
    }
    if (!probe) {
        snprintf(ctx->detail, sizeof ctx->detail, "CA bundle %.80s cannot be opened", path);
        return BIFF_TLS_E_CA;
    }
    int ret = is_file ? mbedtls_x509_crt_parse_file(&ctx->ca, path) : mbedtls_x509_crt_parse_path(&ctx->ca, path);
    /* A positive count means some certificates of a bundle did not parse: the rest are usable,
     * unless memory ran out (the missing ones would make servers look untrusted). */
    if (ret < 0 || ctx->ca.version == 0 || biff_tls_heap_failures() != failures) {
        return ca_unusable(ctx, failures, path);
    }
    return BIFF_TLS_OK;
#else
    (void)path;
    snprintf(ctx->detail, sizeof ctx->detail, "no file system: use a compiled-in CA bundle");
    return BIFF_TLS_E_CA;
#endif
}

biff_tls_status biff_tls_ctx_init_ca_buffer(biff_tls_ctx *ctx, const uint8_t *ca, size_t len)
{
    uint32_t failures = biff_tls_heap_failures();
    mbedtls_x509_crt_init(&ctx->ca);
    biff_tls_status st = ctx_common(ctx);
    if (st != BIFF_TLS_OK) return st;
    if (mbedtls_x509_crt_parse(&ctx->ca, ca, len) < 0 || ctx->ca.version == 0 || biff_tls_heap_failures() != failures) {
        return ca_unusable(ctx, failures, "the built-in bundle");
    }
    return BIFF_TLS_OK;
}

void biff_tls_ctx_free(biff_tls_ctx *ctx)
{
    mbedtls_ssl_config_free(&ctx->conf);
    mbedtls_x509_crt_free(&ctx->ca);
    mbedtls_ctr_drbg_free(&ctx->drbg);
    mbedtls_entropy_free(&ctx->entropy);
}

/* ---- BIO: mbedTLS reads and writes through the lower transport ---- */
static int bio_send(void *p, const unsigned char *buf, size_t len)
{
    biff_tls *t = p;
    int32_t n = t->lower->send(t->lower->ctx, buf, len);
    if (n > 0) return (int)n;
    if (n == 0) return MBEDTLS_ERR_SSL_WANT_WRITE;
    t->lower_status = n;
    return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int bio_recv(void *p, unsigned char *buf, size_t len)
{
    biff_tls *t = p;
    int32_t n = t->lower->recv(t->lower->ctx, buf, len);
    if (n > 0) return (int)n;
    if (n == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    t->lower_status = n;
    return n == BIFF_NET_E_CLOSED ? 0 /* EOF */ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

uint32_t biff_tls_x509_time_unix(const mbedtls_x509_time *t)
{
    /* Days since 1970 counted in years that start on 1 March, so the leap day ends a year. */
    int32_t y = t->year - (t->mon <= 2), m = t->mon <= 2 ? t->mon + 9 : t->mon - 3;
    int32_t days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + t->day - 1 - 719468;
    if (days < 0) return 0;
    uint64_t s = (uint64_t)days * 86400u + (uint32_t)(t->hour * 3600 + t->min * 60 + t->sec);
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* Runs for every certificate of the chain, trust anchor included: the pin is checked on the
 * server's own (depth 0); the newest notBefore counts once the whole chain has verified. */
static int on_cert(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    biff_tls *t = p;
    uint32_t since = biff_tls_x509_time_unix(&crt->valid_from);
    t->cert_seen = 1;
    if (since > t->chain_since) t->chain_since = since;
    if (depth == 0 && t->has_pin) {
        uint8_t h[32];
        if (mbedtls_sha256(crt->pk_raw.p, crt->pk_raw.len, h, 0) != 0 || memcmp(h, t->pin, 32) != 0) {
            t->pin_failed = 1;
            *flags |= MBEDTLS_X509_BADCERT_OTHER;
        }
    }
    return 0;
}

/* ---- upper transport: what the engines read and write ---- */
static int32_t tls_send(void *p, const uint8_t *buf, size_t len)
{
    biff_tls *t = p;
    int ret = mbedtls_ssl_write(&t->ssl, buf, len);
    if (ret >= 0) return ret;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    return t->lower_status ? t->lower_status : BIFF_NET_E_IO;
}

static int32_t tls_recv(void *p, uint8_t *buf, size_t len)
{
    biff_tls *t = p;
    int ret;
    /* A ticket is not data: read on, or the caller would wait on a socket while records it
     * needs sit in mbedTLS's buffer. */
    do {
        ret = mbedtls_ssl_read(&t->ssl, buf, len);
    } while (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET);
    if (ret > 0) return ret;
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) return 0;
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return BIFF_NET_E_CLOSED;
    return t->lower_status ? t->lower_status : BIFF_NET_E_IO;
}

/* Where a handshake stopped, by mbedTLS 3.6's client state (mbedtls_ssl_states). */
static const char *const step_names[] = {
    "hello request",
    "ClientHello",
    "ServerHello",
    "server Certificate",
    "ServerKeyExchange",
    /* this state reads whatever comes next and only then knows whether it is a CertificateRequest
     * (under TLS 1.3 usually the server's Certificate) */
    "CertificateRequest (or the next message)",
    "ServerHelloDone",
    "client Certificate",
    "ClientKeyExchange",
    "CertificateVerify",
    "client ChangeCipherSpec",
    "client Finished",
    "server ChangeCipherSpec",
    "server Finished",
    "flush",
    "wrap-up",
    "NewSessionTicket",
    "HelloVerifyRequest",
    "HelloRetryRequest",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "client CertificateVerify",
    "client ChangeCipherSpec",
    "client ChangeCipherSpec",
    "server ChangeCipherSpec",
    "client ChangeCipherSpec",
    "server ChangeCipherSpec",
    "handshake over",
    "NewSessionTicket",
    "NewSessionTicket",
};

const char *biff_tls_step_name(const biff_tls *t)
{
    static char other[12];
    int st = t->ssl.MBEDTLS_PRIVATE(state);
    if (st >= 0 && (size_t)st < sizeof step_names / sizeof step_names[0]) return step_names[st];
    snprintf(other, sizeof other, "step %d", st);
    return other;
}

/* Whether the connection ran out of memory: an allocation the heap refused since it started
 * (biff/tls_heap.h), or else an mbedTLS "allocation failed" code (an embedder's own allocator).
 * mbedTLS turns some of these into other errors, the worst being a chain that looks untrusted
 * because the memory to check a signature was missing. */
static int out_of_memory(biff_tls *t, int ret)
{
    unsigned hi = (unsigned)-ret & 0xFF80u, lo = (unsigned)-ret & 0x007Fu;
    int oom = biff_tls_heap_failures() != t->heap_failures;
    if (!oom) {
        oom = hi == (unsigned)-MBEDTLS_ERR_SSL_ALLOC_FAILED || hi == (unsigned)-MBEDTLS_ERR_X509_ALLOC_FAILED ||
              hi == (unsigned)-MBEDTLS_ERR_PK_ALLOC_FAILED || hi == (unsigned)-MBEDTLS_ERR_ECP_ALLOC_FAILED ||
              lo == (unsigned)-MBEDTLS_ERR_MPI_ALLOC_FAILED || lo == (unsigned)-MBEDTLS_ERR_ASN1_ALLOC_FAILED;
    }
    if (!oom) return 0;
    size_t cap = biff_tls_heap_capacity();
    if (cap) {
        snprintf(t->detail, sizeof t->detail, "TLS memory exhausted (pool %u bytes, -0x%04x at %s)", (unsigned)cap,
                 (unsigned)-ret, biff_tls_step_name(t));
    } else {
        snprintf(t->detail, sizeof t->detail, "TLS memory exhausted (-0x%04x at %s)", (unsigned)-ret,
                 biff_tls_step_name(t));
    }
    return 1;
}

biff_tls_status biff_tls_start(biff_tls *t, biff_tls_ctx *ctx, biff_transport *lower, const char *host,
                               const uint8_t *pin_sha256, const mbedtls_ssl_session *resume)
{
    memset(t, 0, sizeof *t);
    mbedtls_ssl_init(&t->ssl);
    t->lower = lower;
    t->heap_failures = biff_tls_heap_failures();
    if (!host || !*host) {
        snprintf(t->detail, sizeof t->detail, "no server name to verify the certificate against");
        return BIFF_TLS_E_SETUP;
    }
    int ret = mbedtls_ssl_setup(&t->ssl, &ctx->conf);
    if (ret == 0) ret = mbedtls_ssl_set_hostname(&t->ssl, host);
    if (ret == 0 && resume) ret = mbedtls_ssl_set_session(&t->ssl, resume);
    if (ret != 0) {
        if (out_of_memory(t, ret)) return BIFF_TLS_E_MEMORY;
        snprintf(t->detail, sizeof t->detail, "TLS setup failed (-0x%04x)", (unsigned)-ret);
        return BIFF_TLS_E_SETUP;
    }
    if (pin_sha256) {
        memcpy(t->pin, pin_sha256, 32);
        t->has_pin = 1;
    }
    mbedtls_ssl_set_verify(&t->ssl, on_cert, t);
    mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, NULL);
    t->upper.send = tls_send;
    t->upper.recv = tls_recv;
    t->upper.ctx = t;
    return BIFF_TLS_OK;
}

static void describe_verify(biff_tls *t, uint32_t flags)
{
    const char *why;
    if (t->pin_failed)
        why = "server key does not match the configured pin";
    else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        why = "certificate not issued by a trusted CA";
    else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        why = "certificate is for another host name";
    else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        why = "certificate has expired";
    else if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        why = "certificate is not valid yet";
    else if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        why = "certificate revoked";
    else if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
        why = "certificate uses a rejected algorithm or key size";
    else
        why = "certificate rejected";
    snprintf(t->detail, sizeof t->detail, "%s (verify flags 0x%05x)", why, (unsigned)flags);
}

biff_tls_status biff_tls_handshake(biff_tls *t)
{
    int ret = mbedtls_ssl_handshake(&t->ssl);
    if (ret == 0) {
        /* mbedTLS 3.6 has no public "was resumed" query; a resumed handshake (TLS 1.2 ticket or
         * TLS 1.3 PSK) carries no certificate, so the verify callback never ran. */
        t->resumed = !t->cert_seen;
        return BIFF_TLS_OK;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ) return BIFF_TLS_WANT_READ;
    if (ret == MBEDTLS_ERR_SSL_WANT_WRITE) return BIFF_TLS_WANT_WRITE;
    if (out_of_memory(t, ret)) return BIFF_TLS_E_MEMORY;
    if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        describe_verify(t, mbedtls_ssl_get_verify_result(&t->ssl));
        return t->pin_failed ? BIFF_TLS_E_PIN : BIFF_TLS_E_VERIFY;
    }
    if (t->lower_status < 0) {
        snprintf(t->detail, sizeof t->detail, "TLS handshake: %s at %s",
                 biff_net_strerror((biff_net_status)t->lower_status), biff_tls_step_name(t));
        return t->lower_status == BIFF_NET_E_CLOSED ? BIFF_TLS_E_HANDSHAKE : BIFF_TLS_E_NET;
    }
#if MBEDTLS_SSL_IN_CONTENT_LEN < 16384
    /* A record over the buffer, or a handshake message over it: mbedTLS reassembles a message
     * split over several records in the input buffer, so max_fragment_length cannot help with
     * a Certificate message larger than the buffer. */
    if (ret == MBEDTLS_ERR_SSL_INVALID_RECORD || ret == MBEDTLS_ERR_SSL_BAD_INPUT_DATA ||
        ret == MBEDTLS_ERR_SSL_BUFFER_TOO_SMALL) {
        snprintf(t->detail, sizeof t->detail,
                 "server sent a TLS record or handshake message over %u bytes "
                 "(-0x%04x at %s); this build takes at most that",
                 (unsigned)MBEDTLS_SSL_IN_CONTENT_LEN, (unsigned)-ret, biff_tls_step_name(t));
        return BIFF_TLS_E_HANDSHAKE;
    }
#endif
#if defined(MBEDTLS_ERROR_C)
    char err[64];
    mbedtls_strerror(ret, err, sizeof err);
    snprintf(t->detail, sizeof t->detail, "TLS handshake failed: %s (-0x%04x at %s)", err, (unsigned)-ret,
             biff_tls_step_name(t));
#else
    /* Without mbedTLS's error texts (a small part), the code and the step still say where. */
    snprintf(t->detail, sizeof t->detail, "TLS handshake failed (-0x%04x at %s)", (unsigned)-ret,
             biff_tls_step_name(t));
#endif
    return BIFF_TLS_E_HANDSHAKE;
}

biff_transport *biff_tls_transport(biff_tls *t)
{
    return &t->upper;
}

uint32_t biff_tls_verified_since(const biff_tls *t)
{
    return mbedtls_ssl_is_handshake_over((mbedtls_ssl_context *)&t->ssl) ? t->chain_since : 0;
}

const char *biff_tls_version(const biff_tls *t)
{
    return mbedtls_ssl_is_handshake_over((mbedtls_ssl_context *)&t->ssl) ? mbedtls_ssl_get_version(&t->ssl) : "";
}

int biff_tls_save_session(biff_tls *t, mbedtls_ssl_session *out)
{
    return mbedtls_ssl_get_session(&t->ssl, out);
}

const char *biff_tls_detail(const biff_tls *t)
{
    return t->detail;
}

void biff_tls_close(biff_tls *t)
{
    if (t->lower && t->lower_status == 0) (void)mbedtls_ssl_close_notify(&t->ssl);
    mbedtls_ssl_free(&t->ssl);
    t->lower = NULL;
}

biff_error_class biff_tls_error_class(biff_tls_status st)
{
    return st == BIFF_TLS_OK ? BIFF_ERR_NONE : st == BIFF_TLS_E_NET ? BIFF_ERR_NETWORK : BIFF_ERR_TLS;
}
