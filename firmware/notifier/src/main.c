/*
 * tinybiff notifier, first light: brings up the board, lwIP and mbedTLS, and builds a real TLS
 * 1.3 ClientHello in the fixed mbedTLS heap pool. It prints what it did on the UART and leaves
 * QEMU through semihosting with 0 when every step worked. The poller and the network driver
 * arrive with the firmware issue; this is the footprint and bring-up baseline.
 */
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "lwip/init.h"
#include "lwip/timeouts.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/memory_buffer_alloc.h"
#include "mbedtls/ssl.h"
#include "mbedtls/version.h"
#include "psa/crypto.h"

#define TLS_POOL_SIZE (28 * 1024)

static unsigned char tls_pool[TLS_POOL_SIZE];
static unsigned char hello[1024];
static size_t hello_len;

static void say(const char *s)
{
    biff_board_console_write(s, strlen(s));
}

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    if (hello_len + len > sizeof hello) {
        len = sizeof hello - hello_len;
    }
    memcpy(hello + hello_len, buf, len);
    hello_len += len;
    return (int)len;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    (void)buf;
    (void)len;
    return MBEDTLS_ERR_SSL_WANT_READ; /* no network yet: the handshake stops after ClientHello */
}

static int tls_first_flight(void)
{
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    int ret;

    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_init(&ssl);
    ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, (const unsigned char *)"biff", 4);
    if (ret == 0) {
        ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                          MBEDTLS_SSL_PRESET_DEFAULT);
    }
    if (ret == 0) {
        mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
        mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
        ret = mbedtls_ssl_setup(&ssl, &conf);
    }
    if (ret == 0) {
        ret = mbedtls_ssl_set_hostname(&ssl, "mail.example");
    }
    if (ret == 0) {
        mbedtls_ssl_set_bio(&ssl, NULL, bio_send, bio_recv, NULL);
        ret = mbedtls_ssl_handshake(&ssl);
        if (ret == MBEDTLS_ERR_SSL_WANT_READ) {
            ret = 0;
        }
    }
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return ret;
}

int main(void)
{
    char line[160];
    size_t peak = 0, blocks = 0;

    biff_board_init();
    say("tinybiff notifier: board up\n");

    lwip_init();
    snprintf(line, sizeof line, "lwIP %s initialised\n", LWIP_VERSION_STRING);
    say(line);

    mbedtls_memory_buffer_alloc_init(tls_pool, sizeof tls_pool);
    if (psa_crypto_init() != PSA_SUCCESS) {
        say("PSA crypto init failed\n");
        biff_board_exit(1);
    }
    int ret = tls_first_flight();
    mbedtls_memory_buffer_alloc_max_get(&peak, &blocks);
    snprintf(line, sizeof line, "mbedTLS %s: ClientHello %u bytes (ret %d), TLS heap peak %u of %u bytes\n",
             MBEDTLS_VERSION_STRING, (unsigned)hello_len, ret, (unsigned)peak, (unsigned)sizeof tls_pool);
    say(line);
    /* A TLS 1.3 ClientHello starts with a handshake record (0x16) holding a client_hello (0x01). */
    int ok = ret == 0 && hello_len > 9 && hello[0] == 0x16 && hello[5] == 0x01;
    say(ok ? "first light ok\n" : "first light FAILED\n");
    biff_board_exit(ok ? 0 : 1);
    return 0;
}
