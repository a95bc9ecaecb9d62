/* lwIP options for the Linux host build: the same raw-API, NO_SYS=1 stack as the MCU, so tests of
 * the lwIP transport on the host exercise the configuration the firmware runs. */
#ifndef BIFF_LWIPOPTS_H
#define BIFF_LWIPOPTS_H

#define NO_SYS               1
#define LWIP_SOCKET          0
#define LWIP_NETCONN         0
#define SYS_LIGHTWEIGHT_PROT 0

#if BIFF_LWIP_MQTT_ONLY
/* Router builds (BIFF_WITH_LWIP=OFF, cmake/deps.cmake): no IP stack, only what lwIP's MQTT
 * client needs: pbufs, the heap for the broker's bytes, one altcp pcb, timers. LWIP_TCP is on
 * because mqtt.c is compiled only with it; no TCP pcb is ever made, so the pools are minimal
 * (every pool is written at lwip_init: resident memory). */
#define LWIP_IPV4                      1
#define LWIP_IPV6                      0
#define LWIP_TCP                       1
#define LWIP_UDP                       0
#define LWIP_ICMP                      0
#define LWIP_ARP                       0
#define LWIP_ETHERNET                  0
#define LWIP_DHCP                      0
#define LWIP_DNS                       0
#define LWIP_HAVE_LOOPIF               0
#define IP_REASSEMBLY                  0
#define IP_FRAG                        0
#define MEM_ALIGNMENT                  8
#define MEM_SIZE                       (6 * 1024) /* pbufs of what the broker sends, 512 B a read */
#define MEMP_NUM_TCP_PCB               1
#define MEMP_NUM_TCP_PCB_LISTEN        1
#define MEMP_NUM_TCP_SEG               8
#define PBUF_POOL_SIZE                 2
#define MEMP_NUM_SYS_TIMEOUT           (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 2)
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1
#define LWIP_STATS                     0
#else

#define LWIP_IPV4                  1
#define LWIP_IPV6                  1
/* 64-bit hosts: the reassembly helper (with a pointer) does not fit the 8-byte fragment header
 * lwIP would otherwise overlay it on; its ip6_frag.c asserts that when its timer first runs. */
#define IPV6_FRAG_COPYHEADER       1
#define LWIP_TCP                   1
#define LWIP_UDP                   1
#define LWIP_DNS                   1
#define LWIP_DHCP                  1
#define LWIP_ETHERNET              1
#define LWIP_ARP                   1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1
#define LWIP_HAVE_LOOPIF           1
#define LWIP_NETIF_LOOPBACK        1

#define MEM_ALIGNMENT        8
#define MEM_SIZE             (64 * 1024)
#define MEMP_NUM_TCP_PCB     16
#define MEMP_NUM_TCP_SEG     32
#define PBUF_POOL_SIZE       32
#define TCP_MSS              1460
#define TCP_WND              (8 * TCP_MSS)
#define TCP_SND_BUF          (8 * TCP_MSS)
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)

#define SNTP_SERVER_DNS           1
#define SNTP_SET_SYSTEM_TIME(sec) biff_board_set_time(sec)
void biff_board_set_time(unsigned long sec);

#endif /* BIFF_LWIP_MQTT_ONLY */

/* altcp: lwIP's MQTT client connects through altcp_tls_new(), which components/mqtt provides
 * over the project's transport and TLS (no altcp_tls_mbedtls). The longest Home Assistant
 * message (components/ha: payload <= 1024 B, topic < 128 B) must fit the client's output ring. */
#define LWIP_ALTCP               1
#define LWIP_ALTCP_TLS           1
#define MQTT_OUTPUT_RINGBUF_SIZE 1280
/* components/broker: four subscriptions, the clearing of the button and a publish at once. */
#define MQTT_REQ_MAX_IN_FLIGHT 8
/* A broker that accepts the connection and never answers the CONNECT: given up after 10 s
 * (checked on lwIP's 5 s cyclic timer), as a mail server's greeting would be, not lwIP's 100 s. */
#define MQTT_CONNECT_TIMOUT 10

#if !BIFF_LWIP_MQTT_ONLY
#define LWIP_STATS 1 /* pbuf/memp counters feed the soak test's leak check */
#endif

#endif
