/* lwIP compiler/platform glue for the Linux host build. */
#ifndef BIFF_ARCH_CC_H
#define BIFF_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>

#define LWIP_TIMEVAL_PRIVATE  0
#define LWIP_ERRNO_STDINCLUDE 1

unsigned int biff_board_rand(void);
#define LWIP_RAND() (biff_board_rand())

#define LWIP_PLATFORM_DIAG(x)                                                                                          \
    do {                                                                                                               \
        printf x;                                                                                                      \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                                                        \
    do {                                                                                                               \
        fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__);                             \
        abort();                                                                                                       \
    } while (0)

#endif
