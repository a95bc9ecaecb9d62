/* lwIP compiler/platform glue for the MCU boards (newlib-nano on mps2-an385, picolibc on RV32). */
#ifndef BIFF_ARCH_CC_H
#define BIFF_ARCH_CC_H

#define LWIP_TIMEVAL_PRIVATE 0
#include <sys/time.h>
#define LWIP_ERRNO_STDINCLUDE 1

unsigned int biff_board_rand(void);
#define LWIP_RAND() (biff_board_rand())

void biff_board_panic(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x)                                                                                          \
    do {                                                                                                               \
    } while (0)
#define LWIP_PLATFORM_ASSERT(x) biff_board_panic(x, __FILE__, __LINE__)

#endif
