/*
 * Thin TLS test client: connects to HOST:PORT over TCP, runs an mbedTLS handshake with the
 * project's configuration (verification REQUIRED against CA_FILE, hostname checked), and reads
 * the first server line (an IMAP or POP3 greeting). Prints what was negotiated.
 *
 * usage: tls_probe HOST PORT CA_FILE [--expect TLSv1.3|TLSv1.2] [--expect-verify-failure]
 * exit 0 when the outcome is the expected one.
 */
#define _POSIX_C_SOURCE 200809L
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/error.h"
#include "mbedtls/ssl.h"
#include "mbedtls/x509_crt.h"
#include "psa/crypto.h"

static int fd = -1;

static int sock_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

static int sock_recv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    ssize_t n = recv(fd, buf, len, 0);
    if (n == 0) return MBEDTLS_ERR_SSL_CONN_EOF;
    return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

static int tcp_connect(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int s = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        s = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (s >= 0 && connect(s, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (s >= 0) close(s);
        s = -1;
    }
    freeaddrinfo(res);
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: tls_probe HOST PORT CA_FILE [--expect VERSION] [--expect-verify-failure] [--sni NAME]\n");
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *ca = argv[3], *expect = NULL, *sni = host;
    int expect_verify_failure = 0;
    for (int i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
            expect = argv[++i];
        else if (strcmp(argv[i], "--sni") == 0 && i + 1 < argc)
            sni = argv[++i];
        else if (strcmp(argv[i], "--expect-verify-failure") == 0)
            expect_verify_failure = 1;
    }

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_x509_crt cacert;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    char err[128];
    int ret, status = 1;

    psa_crypto_init();
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_x509_crt_init(&cacert);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);

    if ((ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0)) != 0 ||
        (ret = mbedtls_x509_crt_parse_file(&cacert, ca)) != 0 ||
        (ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                           MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
        mbedtls_strerror(ret, err, sizeof err);
        fprintf(stderr, "tls_probe: setup failed: %s\n", err);
        goto out;
    }
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &cacert, NULL);
    mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0 || (ret = mbedtls_ssl_set_hostname(&ssl, sni)) != 0) {
        fprintf(stderr, "tls_probe: ssl setup failed: -0x%04x\n", (unsigned)-ret);
        goto out;
    }
    fd = tcp_connect(host, port);
    if (fd < 0) {
        fprintf(stderr, "tls_probe: cannot connect to %s:%s\n", host, port);
        goto out;
    }
    mbedtls_ssl_set_bio(&ssl, NULL, sock_send, sock_recv, NULL);
    while ((ret = mbedtls_ssl_handshake(&ssl)) != 0) {
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE) continue;
        uint32_t flags = mbedtls_ssl_get_verify_result(&ssl);
        mbedtls_strerror(ret, err, sizeof err);
        printf("handshake failed: %s (verify flags 0x%x)\n", err, (unsigned)flags);
        if (expect_verify_failure && ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
            printf("certificate rejected as expected\n");
            status = 0;
        }
        goto out;
    }
    if (expect_verify_failure) {
        printf("tls_probe: handshake succeeded but a verification failure was expected\n");
        goto out;
    }
    const char *version = mbedtls_ssl_get_version(&ssl);
    printf("handshake ok: %s %s, certificate verified for %s\n", version, mbedtls_ssl_get_ciphersuite(&ssl), sni);
    if (expect && strcmp(expect, version) != 0) {
        printf("tls_probe: negotiated %s, expected %s\n", version, expect);
        goto out;
    }
    unsigned char line[512];
    size_t got = 0;
    while (got < sizeof line - 1) {
        ret = mbedtls_ssl_read(&ssl, line + got, sizeof line - 1 - got);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET) continue;
        if (ret <= 0) break;
        got += (size_t)ret;
        if (memchr(line, '\n', got)) break;
    }
    line[got] = 0;
    printf("server: %s", (char *)line);
    if (got >= 3 && (memcmp(line, "* OK", 4) == 0 || memcmp(line, "+OK", 3) == 0))
        status = 0;
    else
        printf("tls_probe: no IMAP/POP3 greeting\n");
    mbedtls_ssl_close_notify(&ssl);
out:
    if (fd >= 0) close(fd);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&cacert);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    mbedtls_psa_crypto_free();
    return status;
}
