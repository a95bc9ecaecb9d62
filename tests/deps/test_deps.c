/* The libraries linked are the pinned ones, built with the project's configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcp.h"
#include "mbedtls/build_info.h"
#include "mbedtls/ssl.h"
#include "mbedtls/version.h"
#include "psa/crypto.h"

static void mbedtls_linked_is_pinned(void **state)
{
    (void)state;
    char runtime[18] = { 0 };
    /* Runtime answer comes from the linked library; the pin comes from cmake/deps.lock. */
    mbedtls_version_get_string(runtime);
    assert_string_equal(runtime, BIFF_PINNED_MBEDTLS_VERSION);
    assert_string_equal(MBEDTLS_VERSION_STRING, BIFF_PINNED_MBEDTLS_VERSION);
    assert_int_equal(mbedtls_version_get_number(), MBEDTLS_VERSION_NUMBER);
}

static void mbedtls_built_with_project_config(void **state)
{
    (void)state;
    /* Present in our config ... */
#if !defined(MBEDTLS_SSL_PROTO_TLS1_3) || !defined(MBEDTLS_SSL_PROTO_TLS1_2) || !defined(MBEDTLS_SSL_CLI_C)
    fail_msg("TLS 1.3 / 1.2 client missing from the configuration");
#endif
    /* ... and what a mail client must not carry. */
#if defined(MBEDTLS_SSL_SRV_C) || defined(MBEDTLS_SSL_PROTO_DTLS) || defined(MBEDTLS_SHA1_C)
    fail_msg("server side, DTLS or SHA-1 compiled in");
#endif
    /* The TLS 1.3 suites we promise are offered by the linked library. */
    const int *suites = mbedtls_ssl_list_ciphersuites();
    int gcm = 0, chacha = 0;
    for (; *suites; suites++) {
        if (*suites == MBEDTLS_TLS1_3_AES_128_GCM_SHA256) gcm = 1;
        if (*suites == MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256) chacha = 1;
    }
    assert_true(gcm);
    assert_true(chacha);
    assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
}

static void lwip_linked_is_pinned(void **state)
{
    (void)state;
    char v[32];
    snprintf(v, sizeof v, "%u.%u.%u", LWIP_VERSION_MAJOR, LWIP_VERSION_MINOR, LWIP_VERSION_REVISION);
    assert_string_equal(v, BIFF_PINNED_LWIP_VERSION);
    assert_true(LWIP_VERSION_IS_RELEASE);
    /* The stack initialises and hands out a TCP control block in this process. */
    lwip_init();
    struct tcp_pcb *pcb = tcp_new();
    assert_non_null(pcb);
    assert_int_equal(tcp_close(pcb), ERR_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mbedtls_linked_is_pinned),
        cmocka_unit_test(mbedtls_built_with_project_config),
        cmocka_unit_test(lwip_linked_is_pinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
