/* The appliance's own network stack (lwIP): bring-up on a NIC and address configuration. */
#ifndef PETREL_NET_H
#define PETREL_NET_H

#include "../kernel/types.h"

struct nic;

/* Address configuration from the command line: ip=dhcp (default, NULL or "") or
 * ip=A.B.C.D/PREFIX, and gw=A.B.C.D. */
struct net_boot_config {
    const char *ip;
    const char *gw;
};

/* Starts lwIP on `nic` and begins address configuration. Registers its own main-loop hook. */
int net_init(struct nic *nic, const struct net_boot_config *cfg);

#endif
