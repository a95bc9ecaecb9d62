/* lwIP options for the notifier on the MCU boards: NO_SYS=1 raw API, sized for one TLS
 * connection at a time plus DHCP, DNS, SNTP and the status page. */
#ifndef BIFF_LWIPOPTS_H
#define BIFF_LWIPOPTS_H

/* Home Assistant through MQTT (issue 17), a build-time feature of the board's settings
 * (BIFF_FEATURE_MQTT, board/<name>/settings/biff_settings.h; CMake defines the same value for
 * every target of a build). */
#include "biff_settings.h"

#define NO_SYS               1
#define LWIP_SOCKET          0
#define LWIP_NETCONN         0
#define SYS_LIGHTWEIGHT_PROT 0

#define LWIP_IPV4                  1
#define LWIP_IPV6                  0
#define LWIP_TCP                   1
#define LWIP_UDP                   1
#define LWIP_DNS                   1
#define LWIP_DHCP                  1
#define LWIP_ETHERNET              1
#define LWIP_ARP                   1
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1
/* The address-conflict probe would add seconds to every boot; QEMU's user network has no
 * one to conflict with, and a product that wants it turns it back on. */
#define LWIP_DHCP_DOES_ACD_CHECK 0

/* DNS: two queries in flight, names up to 63 bytes. A small host table (filled from the
 * provisioning file) answers before the DNS server is asked: the e2e test maps the fixture's
 * certificate name "localhost" to QEMU's host address 10.0.2.2 that way. */
#define DNS_TABLE_SIZE                 2
#define DNS_MAX_NAME_LENGTH            64
#define DNS_LOCAL_HOSTLIST             1
#define DNS_LOCAL_HOSTLIST_IS_DYNAMIC  1
#define DNS_LOCAL_HOSTLIST_MAX_NAMELEN 63
#define MEMP_NUM_LOCALHOSTLIST         2

#define MEM_ALIGNMENT 4
/* MEM_SIZE: copied TCP send data (TCP_SND_BUF), UDP, ARP queue. One TCP pcb more for the
 * broker's connection. */
#define MEM_SIZE                (6 * 1024)
#define MEMP_NUM_TCP_PCB        (4 + BIFF_FEATURE_MQTT)
#define MEMP_NUM_TCP_PCB_LISTEN 2
#define MEMP_NUM_TCP_SEG        16
#define PBUF_POOL_SIZE          8 /* received frames: one receive window plus DHCP/ARP */
#define TCP_MSS                 536
#define TCP_WND                 (4 * TCP_MSS)
#define TCP_SND_BUF             (4 * TCP_MSS)
#define IP_REASSEMBLY           0 /* mail and DHCP/DNS traffic never needs IP fragments */
#define IP_FRAG                 0
#define TCP_QUEUE_OOSEQ         0 /* one connection, in-order LAN/NAT path: no reorder buffer */
#define MEMP_NUM_SYS_TIMEOUT    (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 2)

/* SNTP (lwIP's app): one server, by name or address, on a port the firmware sets (the e2e
 * test's server is not on 123). The request carries a random transmit time and an answer must
 * echo it (SNTP_CHECK_RESPONSE 2), so an off-path sender cannot set the clock. The firmware
 * decides whether to take the time (notifier_sntp_time: never before the build time). */
#define SNTP_SERVER_DNS           1
#define SNTP_MAX_SERVERS          1
#define SNTP_STARTUP_DELAY        0
#define SNTP_CHECK_RESPONSE       2
#define SNTP_PORT                 notifier_sntp_port
#define SNTP_SET_SYSTEM_TIME(sec) notifier_sntp_time(sec)
#define SNTP_GET_SYSTEM_TIME(sec, us)                                                                                  \
    do {                                                                                                               \
        (sec) = (u32_t)biff_board_time();                                                                              \
        (us) = biff_board_rand() % 1000000u;                                                                           \
    } while (0)
#include "board.h"
extern unsigned short notifier_sntp_port;
void notifier_sntp_time(unsigned long sec);

/* Status page: lwIP's httpd. Every file is the firmware's (custom files with their headers, see
 * firmware/notifier/src/web.c), so there is no file system image. /status.json is read in
 * pieces (dynamic file read) into a buffer httpd takes from the lwIP heap for the response
 * (at most 2 * TCP_MSS) and reuses for each piece, so data is copied into the send buffer. */
#define LWIP_HTTPD_CUSTOM_FILES      1
#define LWIP_HTTPD_DYNAMIC_FILE_READ 1
#define LWIP_HTTPD_SUPPORT_POST      1
#define LWIP_HTTPD_DYNAMIC_HEADERS   0
#define LWIP_HTTPD_SUPPORT_V09       0
#define HTTPD_FSDATA_FILE            "fsdata_none.h"
#define HTTP_IS_DATA_VOLATILE(hs)    TCP_WRITE_FLAG_COPY
/* httpd asks for its 501 page for a request the Host/Origin check refused (web.c). */
#define LWIP_HTTPD_SUPPORT_EXTSTATUS 1

/* MQTT (BIFF_FEATURE_MQTT above; 0 for the "base" image). lwIP's MQTT client connects
 * through altcp_tls_new(), which components/mqtt provides over the project's transport and
 * TLS. LWIP_ALTCP also puts httpd on altcp_tcp; web.c's Host/Origin guard stays on the TCP
 * callbacks under it. The client's output ring holds the longest Home Assistant message
 * (payload <= 1024 B, topic < 128 B); components/broker has up to 6 requests in flight; a
 * broker that never answers the CONNECT is given up after 10 s, not lwIP's 100 s. */
#if BIFF_FEATURE_MQTT
#define LWIP_ALTCP               1
#define LWIP_ALTCP_TLS           1
#define MQTT_OUTPUT_RINGBUF_SIZE 1280
#define MQTT_REQ_MAX_IN_FLIGHT   8
#define MQTT_CONNECT_TIMOUT      10
/* altcp pcbs for httpd's listener and connections and for the broker's link. */
#define MEMP_NUM_ALTCPPCB (MEMP_NUM_TCP_PCB + 2)
#endif

#define LWIP_STATS    0
#define LWIP_NOASSERT 1

#endif
