/*
 * Router builds (BIFF_WITH_LWIP=OFF): lwIP's core for its MQTT client only, without lwIP's TCP.
 * lwIP's mqtt_client_connect() makes its pcb with altcp_tls_new() whenever the client info has a
 * tls_config, which a biff_mqtt_link always is (mqtts:// and mqtt:// alike); its other branch,
 * lwIP's own TCP, is this function and is never taken. Leaving lwIP's altcp_tcp.c out keeps all
 * of lwIP's TCP/IP out of the daemon (the linker's --gc-sections drops what nothing reaches).
 */
#include "lwip/altcp.h"
#include "lwip/altcp_tcp.h"

struct altcp_pcb *altcp_tcp_new_ip_type(u8_t ip_type)
{
    (void)ip_type;
    return NULL;
}
