/* What every polled Ethernet netif driver does the same: set up the netif, deliver received
 * frames, follow the link state. */
#include <string.h>

#include "board_net.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

static uint32_t drops;

unsigned biff_netif_deliver(struct netif *netif, struct pbuf *p)
{
    if (p && netif->input(p, netif) == ERR_OK) return 1;
    if (p) pbuf_free(p);
    drops++;
    return 0;
}

void biff_netif_link(struct netif *netif, int up)
{
    if (up && !netif_is_link_up(netif))
        netif_set_link_up(netif);
    else if (!up && netif_is_link_up(netif))
        netif_set_link_down(netif);
}

uint32_t biff_board_netif_drops(void)
{
    return drops;
}

void biff_netif_ethernet(struct netif *netif, netif_linkoutput_fn linkoutput)
{
    memcpy(netif->hwaddr, netif->state, 6);
    netif->hwaddr_len = 6;
    netif->mtu = 1500;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif->output = etharp_output;
    netif->linkoutput = linkoutput;
}
