/* NE2000 PCI guest NIC (10EC:8029, a RealTek RTL8029: Linux's ne2k-pci, Petrel's drivers/ne2k.c).
 *
 * BAR0 is 32 IO ports: the DP8390 registers at 0x00-0x0F in pages 0-3 (CR.PS), the remote DMA
 * data port at 0x10 and the reset port at 0x1F (a read or write resets the card and sets
 * ISR.RST). The card has 48 KiB of its own memory: the station PROM at 0x0000 (the MAC, each
 * byte doubled as a 16-bit card shows it, 'W' 'W' at 28 and 30) and 32 KiB of buffer RAM at
 * 0x4000-0xBFFF (Linux uses pages 0x40-0x7F: the transmit area and the receive ring).
 *
 * Remote DMA (RSAR/RBCR, CR.RD read or write) moves bytes between the data port and card
 * memory: word-wide (DCR.WTS) an access of 1 or 2 bytes moves 2, a 4-byte access moves 4
 * (Linux's insl/outsl; one exit for a whole REP through the string hook); the address wraps
 * from PSTOP to PSTART as on the chip; the count reaching 0 sets ISR.RDC. Transmit (CR.TXP)
 * sends TBCR bytes from page TPSR (ISR.PTX). Receive writes the 4-byte header (status, next
 * page, length) and the frame (padded to 60 bytes) at CURR, wrapping at PSTOP; a ring without
 * room for a full frame before BNRY sets ISR.OVW and drops the frame. Filters: own address,
 * broadcast (RCR.AB), multicast through MAR (RCR.AM), promiscuous (RCR.PRO). The INTx line is
 * ISR & IMR. All card memory accesses are bounds checked: a ring or transmit area a guest
 * programs outside the buffer RAM drops the frame with a log line and resets the card (there
 * is no DMA into guest memory: everything is port IO). */
#ifndef PETREL_VMM_DEV_NE2K_H
#define PETREL_VMM_DEV_NE2K_H

#include "pci_host.h"
#include "vnic.h"

#define NE2K_IO_SIZE 32

struct vmm_ne2k;

int vmm_dev_ne2k_create(struct vmm_vm *vm, struct vmm_pci_host *pci,
                        const struct vmm_nic_dev_config *cfg, struct vmm_ne2k **out);
bool vmm_ne2k_rx(void *dev, const void *frame, size_t len);
const struct vmm_nic_stats *vmm_ne2k_stats(const struct vmm_ne2k *n);

#endif
