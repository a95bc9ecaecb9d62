/*
 * tinybiff's mbedTLS 3.6 configuration: a TLS client for mail servers and nothing else.
 *
 * Kept: TLS 1.3 and 1.2 client, ECDHE on X25519 / P-256 / P-384, RSA (PKCS#1 v1.5 and PSS, as
 * TLS 1.3 servers with RSA keys sign with PSS) and ECDSA verification, AES-GCM and
 * ChaCha20-Poly1305, X.509 parsing, session tickets, SNI, max_fragment_length.
 * Dropped: server side, DTLS, static RSA/DH/PSK key exchanges, CBC suites, SHA-1, MD5 beyond
 * what APOP needs, key and certificate writing.
 * Board specifics (entropy source, time, heap pool) come from MBEDTLS_USER_CONFIG_FILE, one per
 * board (board/<name>/include/biff_mbedtls_board.h).
 */
#ifndef BIFF_MBEDTLS_CONFIG_H
#define BIFF_MBEDTLS_CONFIG_H

/* Platform */
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_MEMORY /* lets the firmware hand mbedTLS a fixed pool */
#define MBEDTLS_HAVE_ASM

/* Big numbers and curves */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_OID_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C /* ECDSA signature conversion for TLS 1.3 */
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C

/* Symmetric crypto and hashes */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_GCM_C
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_MD5_C /* POP3 APOP only; never used for certificates */
#define MBEDTLS_SHA224_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA384_C
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA512_SMALLER
#define MBEDTLS_HKDF_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C

/* Randomness: CTR_DRBG seeded from the board's entropy source */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* PSA: TLS 1.3 in mbedTLS 3.6 runs its key schedule through PSA */
#define MBEDTLS_PSA_CRYPTO_C

/* X.509 */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_RSASSA_PSS_SUPPORT

/* TLS client */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED /* resumption */
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_SESSION_TICKETS
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE /* TLS 1.3 in mbedTLS 3.6 requires it */

#define MBEDTLS_VERSION_C
#define MBEDTLS_ERROR_C

/* Board: entropy, time, memory pool, record sizes */
#if defined(MBEDTLS_USER_CONFIG_FILE)
#include MBEDTLS_USER_CONFIG_FILE
#endif

#endif
