/* tinybiff: Linux daemon and one-shot checker. */
#include <stdio.h>
#include <string.h>

#include "mbedtls/version.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("tinybiff 0.1.0 (mbedTLS %s)\n", MBEDTLS_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "usage: tinybiff --version\n");
    return 2;
}
