/* Network stack bring-up (placeholder until the lwIP port lands). */
#include "net.h"
#include "../kernel/log.h"

int net_init(struct nic *nic, const struct net_boot_config *cfg)
{
    (void)nic;
    (void)cfg;
    LOG_WARN(NET, "network stack not built in yet");
    return -ENOSYS;
}
