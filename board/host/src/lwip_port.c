/* What lwIP needs from the host when it runs NO_SYS=1 in-process: a millisecond clock, random
 * numbers for ports and ISNs, and somewhere to put SNTP's time. */
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "lwip/sys.h"

u32_t sys_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

unsigned int biff_board_rand(void)
{
    unsigned int r = 0;
    /* getrandom() without flags only fails before the kernel pool is seeded. */
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) {
        r = (unsigned int)sys_now() * 2654435761u;
    }
    return r;
}

void biff_board_set_time(unsigned long sec)
{
    /* The host keeps its own clock; SNTP through lwIP is only exercised, never applied. */
    (void)sec;
}
