/* RTL8139 register map (offsets from the IO BAR) and the bits the driver uses. */
#ifndef PETREL_RTL8139_H
#define PETREL_RTL8139_H

#define RTL_VENDOR 0x10ec
#define RTL_DEVICE 0x8139

/* Registers */
#define RTL_IDR0    0x00 /* station address, 6 bytes (loaded from the EEPROM at reset) */
#define RTL_MAR0    0x08 /* multicast hash filter, 8 bytes */
#define RTL_TSD0    0x10 /* transmit status of descriptor 0..3, 4 bytes apart */
#define RTL_TSAD0   0x20 /* transmit buffer address of descriptor 0..3 */
#define RTL_RBSTART 0x30 /* receive ring physical address */
#define RTL_CR      0x37 /* command */
#define RTL_CAPR    0x38 /* current address of packet read (minus 16) */
#define RTL_CBR     0x3a /* current buffer address: where the card writes next */
#define RTL_IMR     0x3c /* interrupt mask, 16 bits */
#define RTL_ISR     0x3e /* interrupt status, 16 bits, write 1 to clear */
#define RTL_TCR     0x40 /* transmit configuration */
#define RTL_RCR     0x44 /* receive configuration */
#define RTL_MPC     0x4c /* missed packet counter (24 bits), any write clears it */
#define RTL_9346CR  0x50 /* EEPROM command: unlocks the config registers */
#define RTL_CONFIG1 0x52
#define RTL_MSR     0x58 /* media status */
#define RTL_BMCR    0x62 /* PHY basic mode control */
#define RTL_BMSR    0x64 /* PHY basic mode status */

#define RTL_NUM_TX 4

/* CR */
#define RTL_CR_BUFE 0x01 /* receive ring empty */
#define RTL_CR_TE   0x04
#define RTL_CR_RE   0x08
#define RTL_CR_RST  0x10

/* ISR / IMR */
#define RTL_INT_ROK     0x0001
#define RTL_INT_RER     0x0002
#define RTL_INT_TOK     0x0004
#define RTL_INT_TER     0x0008
#define RTL_INT_RXOVW   0x0010 /* receive ring full */
#define RTL_INT_LINKCHG 0x0020 /* packet underrun / link change */
#define RTL_INT_FOVW    0x0040 /* receive FIFO overflow */
#define RTL_INT_LENCHG  0x2000
#define RTL_INT_TIMEOUT 0x4000
#define RTL_INT_SERR    0x8000 /* PCI system error */
/* RXOVW is handled whenever ISR is read (every interrupt and the watchdog) but not enabled as
 * a source: QEMU drops frames instead of holding them back while it is enabled, and a full
 * ring needs no interrupt of its own because draining it is what the ROK work already does. */
#define RTL_INT_MASK                                                                               \
    (RTL_INT_ROK | RTL_INT_RER | RTL_INT_TOK | RTL_INT_TER | RTL_INT_LINKCHG | RTL_INT_FOVW |      \
     RTL_INT_SERR)

/* TSD */
#define RTL_TSD_SIZE_MASK 0x00001fff
#define RTL_TSD_OWN       0x00002000 /* set by the card when the buffer has been read */
#define RTL_TSD_TUN       0x00004000 /* FIFO underrun */
#define RTL_TSD_TOK       0x00008000
#define RTL_TSD_ERTXTH(b) ((((b) / 32u) & 0x3fu) << 16) /* early TX threshold in bytes */
#define RTL_TSD_OWC       0x20000000
#define RTL_TSD_TABT      0x40000000
#define RTL_TSD_CRS       0x80000000

/* TCR */
#define RTL_TCR_CLRABT   0x00000001 /* retransmit after an abort */
#define RTL_TCR_MXDMA_1K 0x00000600
#define RTL_TCR_IFG_STD  0x03000000

/* RCR */
#define RTL_RCR_AAP       0x00000001 /* all physical addresses (promiscuous) */
#define RTL_RCR_APM       0x00000002 /* our address */
#define RTL_RCR_AM        0x00000004 /* multicast through the MAR hash */
#define RTL_RCR_AB        0x00000008 /* broadcast */
#define RTL_RCR_WRAP      0x00000080
#define RTL_RCR_MXDMA_ALL 0x00000700 /* unlimited receive DMA burst */
/* RBLEN for a ring of `len` bytes (8, 16 or 32 KiB; nic_ring.h picks RTL_RX_RING_LEN). */
#define RTL_RCR_RBLEN(len) ((len) == 8192u ? 0x0000u : (len) == 16384u ? 0x0800u : 0x1000u)
#define RTL_RCR_RXFTH_ALL  0x0000e000 /* no receive FIFO threshold: whole frames */

/* 9346CR, CONFIG1 */
#define RTL_9346_UNLOCK   0xc0
#define RTL_9346_LOCK     0x00
#define RTL_CONFIG1_SLEEP 0x01
#define RTL_CONFIG1_PWRDN 0x02

/* MSR */
#define RTL_MSR_LINKB 0x04 /* set when the link is down */

#endif
