/* RTL8139 driver (placeholder until the driver lands: finds no card). */
#include "nic.h"

static int probe(const char *sel, struct nic **out)
{
    (void)sel;
    (void)out;
    return -ENODEV;
}

const struct nic_driver drv_rtl8139_driver = {"rtl8139", probe};
