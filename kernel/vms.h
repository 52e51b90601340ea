/* Guests started at boot (vm= command-line keys) and the VMM's bring-up. */
#ifndef PETREL_VMS_H
#define PETREL_VMS_H

#include "bootinfo.h"

void vms_init(const struct bootinfo *bi);

#endif
