/* mbedTLS platform choices for the Linux host build. */
#ifndef BIFF_MBEDTLS_BOARD_H
#define BIFF_MBEDTLS_BOARD_H

#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE /* certificate validity dates are checked */
#define MBEDTLS_FS_IO          /* CA bundle from a file or directory */
/* Entropy: getrandom(2) through mbedTLS's platform source. */

/* Servers' records can be 16 KB; the client's own never are (the largest is an OAuth2
 * AUTHENTICATE line of about 1.5 KB, which mbedTLS splits if needed). */
#define MBEDTLS_SSL_OUT_CONTENT_LEN 2048

#endif
