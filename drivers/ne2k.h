/* NE2000 (DP8390 core) register map, offsets from the card's IO base, and the card's memory
 * layout as this driver uses it. */
#ifndef PETREL_NE2K_H
#define PETREL_NE2K_H

#define NE_IO_SIZE  0x20
#define NE_ISA_BASE 0x300 /* QEMU: -device ne2k_isa,iobase=0x300,irq=9 */
#define NE_ISA_IRQ  9

/* Registers shared by all pages */
#define NE_CR    0x00 /* command */
#define NE_DATA  0x10 /* remote DMA data port */
#define NE_RESET 0x1f /* read starts a reset */

/* Page 0 */
#define NE_P0_PSTART 0x01 /* w */
#define NE_P0_PSTOP  0x02 /* w */
#define NE_P0_BNRY   0x03 /* r/w */
#define NE_P0_TPSR   0x04 /* w: transmit page start */
#define NE_P0_TSR    0x04 /* r: transmit status */
#define NE_P0_TBCR0  0x05 /* w */
#define NE_P0_TBCR1  0x06 /* w */
#define NE_P0_ISR    0x07 /* r/w, write 1 to clear */
#define NE_P0_RSAR0  0x08 /* w: remote start address */
#define NE_P0_RSAR1  0x09
#define NE_P0_RBCR0  0x0a /* w: remote byte count */
#define NE_P0_RBCR1  0x0b
#define NE_P0_RCR    0x0c /* w */
#define NE_P0_RSR    0x0c /* r: receive status */
#define NE_P0_TCR    0x0d /* w */
#define NE_P0_CNTR0  0x0d /* r: frame alignment errors */
#define NE_P0_DCR    0x0e /* w */
#define NE_P0_CNTR1  0x0e /* r: CRC errors */
#define NE_P0_IMR    0x0f /* w */
#define NE_P0_CNTR2  0x0f /* r: missed packets */

/* Page 1 */
#define NE_P1_PAR0 0x01 /* station address, 6 registers */
#define NE_P1_CURR 0x07 /* current page the card writes to */
#define NE_P1_MAR0 0x08 /* multicast hash, 8 registers */
#define NE_P1_MAR5 0x0d

/* CR */
#define NE_CR_STP    0x01
#define NE_CR_STA    0x02
#define NE_CR_TXP    0x04
#define NE_CR_RREAD  0x08
#define NE_CR_RWRITE 0x10
#define NE_CR_NODMA  0x20
#define NE_CR_PAGE0  0x00
#define NE_CR_PAGE1  0x40

/* ISR / IMR */
#define NE_ISR_PRX  0x01
#define NE_ISR_PTX  0x02
#define NE_ISR_RXE  0x04
#define NE_ISR_TXE  0x08
#define NE_ISR_OVW  0x10
#define NE_ISR_CNT  0x20
#define NE_ISR_RDC  0x40
#define NE_ISR_RST  0x80
#define NE_INT_MASK (NE_ISR_PRX | NE_ISR_PTX | NE_ISR_RXE | NE_ISR_TXE | NE_ISR_OVW | NE_ISR_CNT)

/* TSR */
#define NE_TSR_PTX 0x01
#define NE_TSR_ABT 0x08 /* too many collisions */
#define NE_TSR_FU  0x20 /* FIFO underrun */

/* RCR */
#define NE_RCR_AB  0x04 /* broadcast */
#define NE_RCR_AM  0x08 /* multicast through the MAR hash */
#define NE_RCR_PRO 0x10 /* promiscuous */
#define NE_RCR_MON 0x20 /* monitor: check addresses but store nothing */

/* TCR */
#define NE_TCR_NORMAL 0x00
#define NE_TCR_LOOP1  0x02 /* internal loopback */

/* DCR: word-wide transfers, normal operation (not loopback), FIFO threshold 8 bytes. */
#define NE_DCR_BYTE 0x48
#define NE_DCR_WORD 0x49

/* Card memory: the station PROM at 0x0000 (each byte doubled in word mode), 16 KiB of
 * buffer at pages 0x40..0x7f. One transmit area, then the receive ring. */
#define NE_PROM_LEN 32
#define NE_TX_PAGE  0x40
#define NE_TX_PAGES 6 /* 1536 bytes: one full frame */
#define NE_RX_START (NE_TX_PAGE + NE_TX_PAGES)
#define NE_RX_STOP  0x80

#endif
