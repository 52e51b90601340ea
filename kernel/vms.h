/* Guests started at boot (petrel.conf [vm] sections and vm= command-line keys), petrel.conf's
 * [appliance] keys, and the VMM's bring-up. */
#ifndef PETREL_VMS_H
#define PETREL_VMS_H

#include "bootinfo.h"
#include "config.h"

#define VMS_CONFIG_MODULE "petrel.conf"

/* Reads petrel.conf (the GRUB module of that name, if any), reports it line by line and applies
 * its [appliance] keys through the command line's handlers (a key also on the command line is
 * left alone: the command line wins). Call it right after params_apply(), before anything those
 * keys configure (network, console) starts. Runs once; vms_init() calls it if nobody did. */
void vms_config_load(const struct bootinfo *bi);

/* Brings the VMM up and creates the guests: first one per vm= key (started), then one per
 * valid [vm] section (started when autostart = yes, else left created for the console). */
void vms_init(const struct bootinfo *bi);

/* The petrel.conf section VM `name` comes from (console_port, autostart, nic, initrd, ...), or
 * NULL (no such section, or a VM from a vm= key). Valid for the appliance's life. */
const struct config_vm *vms_config(const char *name);
/* The whole parsed petrel.conf ([vnet] lines for kernel/vnet_glue.c), or NULL before
 * vms_config_load. */
const struct config *vms_config_file(void);
/* The valid sections one by one: i from 0 until NULL. */
const struct config_vm *vms_config_at(size_t i);

/* Starts VM `name`: a VM that was created and never started starts; a VM that ended (stopped,
 * exited, failed) is rebuilt from its vm= key or [vm] section, keeping its console ring, and
 * starts. The rebuilt VM is a new struct vmm_vm: look it up by name again (vmm_vm_find).
 * -ENOENT when no key or section names it, -EBUSY when it runs or is paused. */
int vms_start(const char *name);

#endif
