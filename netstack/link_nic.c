/* The host NIC as the netstack's link: the one place the network stack touches drivers/nic.h.
 * When the VNET switch lands, its "local" port replaces this file's functions. */
#include "link.h"
#include "../drivers/nic.h"
#include "../kernel/lib.h"

_Static_assert(NET_LINK_MAC_LEN == NIC_MAC_LEN, "MAC length mismatch");
_Static_assert(NET_LINK_FRAME_MAX == NIC_FRAME_MAX, "frame size mismatch");

static int nic_link_send(void *ctx, const void *frame, size_t len)
{
    return nic_send(ctx, frame, len);
}

static void nic_link_set_rx(void *ctx, net_link_rx_fn fn, void *arg)
{
    nic_set_rx(ctx, fn, arg);
}

static bool nic_link_up(void *ctx)
{
    struct nic *nic = ctx;

    return nic->ops->link_up != NULL ? nic->ops->link_up(nic) : true;
}

void net_link_from_nic(struct nic *nic, struct net_link *out)
{
    memset(out, 0, sizeof(*out));
    out->name = nic->name;
    memcpy(out->mac, nic->mac, NET_LINK_MAC_LEN);
    out->mtu = NIC_MTU;
    out->ctx = nic;
    out->send = nic_link_send;
    out->set_rx = nic_link_set_rx;
    out->link_up = nic_link_up;
}
