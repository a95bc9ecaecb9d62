/* lwIP options for the mps2-an385 notifier: NO_SYS=1 raw API, sized for one TLS connection at a
 * time plus DHCP, DNS, SNTP and the status page. */
#ifndef BIFF_LWIPOPTS_H
#define BIFF_LWIPOPTS_H

#define NO_SYS                    1
#define LWIP_SOCKET               0
#define LWIP_NETCONN              0
#define SYS_LIGHTWEIGHT_PROT      0

#define LWIP_IPV4                 1
#define LWIP_IPV6                 0
#define LWIP_TCP                  1
#define LWIP_UDP                  1
#define LWIP_DNS                  1
#define LWIP_DHCP                 1
#define LWIP_ETHERNET             1
#define LWIP_ARP                  1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK  1

#define MEM_ALIGNMENT             4
#define MEM_SIZE                  (10 * 1024)
#define MEMP_NUM_TCP_PCB          4
#define MEMP_NUM_TCP_PCB_LISTEN   2
#define MEMP_NUM_TCP_SEG          16
#define PBUF_POOL_SIZE            10
#define TCP_MSS                   536
#define TCP_WND                   (4 * TCP_MSS)
#define TCP_SND_BUF               (4 * TCP_MSS)
#define MEMP_NUM_SYS_TIMEOUT      (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 2)

#define SNTP_SERVER_DNS           1
#define SNTP_SET_SYSTEM_TIME(sec) biff_board_set_time(sec)
void biff_board_set_time(unsigned long sec);

#define LWIP_STATS                0
#define LWIP_NOASSERT             1

#endif
