/* The host interface the VMM was given (host.h): installed once, read everywhere. */
#include "host.h"

static const struct vmm_host *g_host;

void vmm_host_set(const struct vmm_host *host)
{
    g_host = host;
}

const struct vmm_host *vmm_host(void)
{
    return g_host;
}
