/* RTL8139 guest NIC (10EC:8139, revision 0x10 so Linux binds 8139too, not 8139cp), enough for
 * Linux's 8139too and Petrel's own drivers/rtl8139.c.
 *
 * Registers (BAR0: 256 IO ports; BAR1: the same 256 bytes as memory): IDR0-5 (MAC), MAR0-7
 * (multicast hash), TSD0-3/TSAD0-3 (four transmit descriptors, used round robin: writing a TSD
 * with OWN clear sends the TSAD buffer of that size and sets OWN|TOK and ISR.TOK), RBSTART,
 * CR (RST, RE, TE, BUFE), CAPR/CBR (the receive ring read/write offsets), IMR/ISR (write 1 to
 * clear; the INTx line is ISR & IMR), TCR (with the RTL8139C hardware revision bits), RCR
 * (AAP, APM, AM through the MAR hash, AB, WRAP, ring length 8-64 KiB), MPC (missed frames),
 * 9346CR (config unlock and the 93C46 EEPROM bit-banged through EECS/EESK/EEDI/EEDO, holding
 * 0x8129 and the MAC at words 7-9 as 8139too reads it), CONFIG0-5, MSR and the PHY's
 * BMCR/BMSR/ANAR/ANLPAR (link up, 100 Mb/s full duplex when a backend is attached). Other
 * registers are plain storage. No C+ mode, no early RX/TX, no timer interrupt.
 *
 * Receive: each frame goes to the ring at CBR with its 4-byte header (status, length with CRC)
 * and a 4-byte CRC slot, dword aligned; with RCR.WRAP a frame runs past the ring's end (the
 * driver allocates the slack), without it it wraps. A ring without room for the frame sets
 * ISR.RXOVW and counts a missed frame. Every transmit and receive address is checked against
 * guest RAM: one that is not resets the card (a log line; the driver sees a dead card). */
#ifndef PETREL_VMM_DEV_RTL8139_H
#define PETREL_VMM_DEV_RTL8139_H

#include "pci_host.h"
#include "vnic.h"

#define RTL8139_IO_SIZE 256

struct vmm_rtl8139;

int vmm_dev_rtl8139_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                           const struct vmm_nic_dev_config *cfg, struct vmm_rtl8139 **out);
/* The rx hook the backend calls (exported for tests). */
bool vmm_rtl8139_rx(void *dev, const void *frame, size_t len);
const struct vmm_nic_stats *vmm_rtl8139_stats(const struct vmm_rtl8139 *r);

#endif
