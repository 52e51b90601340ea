/* The host interface the switch was given (host.h): installed once, read at switch creation. */
#include "host.h"

static const struct vnet_host *g_vnet_host;

void vnet_host_set(const struct vnet_host *host)
{
    g_vnet_host = host;
}

const struct vnet_host *vnet_host(void)
{
    return g_vnet_host;
}
