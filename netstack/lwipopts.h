/* lwIP 2.1.3 configuration for Petrel: NO_SYS raw API on the main loop, IPv4 only.
 *
 * Every size below is chosen for the appliance, not for a microcontroller: the host has hundreds
 * of MiB, so the limits are set by what the console, the log stream and iperf need at once, and
 * every pool is static (bss) so that the stack's worst case is fixed at link time and a busy
 * network can never eat the heap the VMM needs for guests. Memory figures are for x86-64. */
#ifndef PETREL_LWIPOPTS_H
#define PETREL_LWIPOPTS_H

/* ---- system --------------------------------------------------------------------------------
 * One CPU, one main loop: lwIP runs only from the loop (received frames, timers, console), never
 * from an interrupt handler, so there are no threads, no locks and no lightweight protection. */
#define NO_SYS               1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS          1 /* sys_check_timeouts() from a main-loop poll hook */
#define LWIP_SOCKET          0
#define LWIP_NETCONN         0
#define LWIP_NETIF_API       0
#define LWIP_ALTCP           0

/* ---- memory --------------------------------------------------------------------------------
 * MEM_LIBC_MALLOC=0: lwIP keeps its own first-fit heap in a static array (mem.c's ram_heap)
 * instead of mapping mem_malloc to kmalloc. The network then has a hard budget that shows in the
 * lwIP stats (mem.used/max/err), and a flood of traffic fails inside lwIP (counted, recovered)
 * rather than starving guest allocations.
 *
 * MEM_SIZE 2.5 MiB: the heap holds outgoing TCP data (with LWIP_NETIF_TX_SINGLE_PBUF every TCP
 * segment is one PBUF_RAM) and UDP/ICMP/ARP/DHCP packets (the iperf server keeps its state in
 * its own static table, netstack/iperf.c). The worst case that matters is every console,
 * log-stream and VM-console connection with a full send buffer while its reader stalls:
 * 32 PCBs x TCP_SND_BUF (62.7 KiB) = 2.0 MiB of data, plus a pbuf and heap header (~40 bytes)
 * per 1460-byte segment, ~2.1 MiB: it still fits, with room for UDP and ICMP beside it. The
 * cost is static bss, which the host (hundreds of MiB) does not miss. */
#define MEM_LIBC_MALLOC  0
#define MEMP_MEM_MALLOC  0
#define MEM_ALIGNMENT    8 /* pointers and u64 on x86-64 */
#define MEM_SIZE         (2560 * 1024)
#define MEM_SANITY_CHECK 0

/* PBUF_POOL: every received frame is copied into one pool pbuf (PBUF_POOL_BUFSIZE defaults to a
 * full 1514-byte frame rounded to 1520). 256 buffers (~400 KiB) cover a full receive window
 * (16 segments, TCP_WND) on several busy connections plus the out-of-sequence queue (at most
 * TCP_OOSEQ_MAX_PBUFS per connection) and ARP/IP reassembly, with room for bursts the main
 * loop takes a moment to drain. Received data rarely stays in the pool anyway: the iperf
 * server frees each pbuf at once and the console copies input into its own buffer. */
#define PBUF_POOL_SIZE 256
/* PBUF_REF/ROM headers, for callers that wrap their own buffers (pbuf_alloc(PBUF_REF)); lwIP
 * itself hardly needs them here, because LWIP_NETIF_TX_SINGLE_PBUF makes tcp_write and IP
 * fragmentation copy into PBUF_RAM. */
#define MEMP_NUM_PBUF 32

/* ---- protocols ------------------------------------------------------------------------------ */
#define LWIP_IPV4     1
#define LWIP_IPV6     0
#define LWIP_ARP      1
#define LWIP_ETHERNET 1
#define LWIP_ICMP     1
#define LWIP_RAW      1 /* a future console `ping` sends ICMP echo through a raw PCB */
#define LWIP_UDP      1
#define LWIP_TCP      1
#define LWIP_DHCP     1
#define LWIP_AUTOIP   0
#define LWIP_IGMP     0 /* VXLAN links are unicast; multicast groups can come later */
#define LWIP_DNS      0
#define IP_FORWARD    0

/* IP fragmentation both ways: VXLAN encapsulation of a full 1500-byte guest frame gives a
 * 1550-byte packet that must be fragmented, and peers may send fragments to us. */
#define IP_REASSEMBLY      1
#define IP_FRAG            1
#define IP_REASS_MAX_PBUFS 64
#define MEMP_NUM_REASSDATA 8

/* ARP: a /24 lab with guests, the gateway and a few peers; queue a few packets per unresolved
 * address so the first TCP SYN or UDP datagram to a new peer is not lost. */
#define ARP_TABLE_SIZE                32
#define ARP_QUEUEING                  1
#define MEMP_NUM_ARP_QUEUE            64
#define ETHARP_SUPPORT_STATIC_ENTRIES 0

/* DHCP: probe the offered address with ARP before using it (RFC 2131 3.1.5), and send our
 * hostname so the lab's DHCP server logs show who asked. */
#define DHCP_DOES_ARP_CHECK 1
#define LWIP_NETIF_HOSTNAME 1

/* ---- PCBs ------------------------------------------------------------------------------------
 * TCP: 8+ console sessions, log-stream readers, capture streams, one console port per VM,
 * iperf tests (up to IPERF_MAX_SESSIONS, each the client's connection plus the one opened back
 * for -r/-d: 8 PCBs at most), and PCBs in TIME-WAIT after sessions close (lwIP reuses the
 * oldest TIME-WAIT PCB when the pool runs out). */
#define MEMP_NUM_TCP_PCB        32
#define MEMP_NUM_TCP_PCB_LISTEN 16 /* telnet, log stream, capture, iperf, VM consoles */
#define MEMP_NUM_UDP_PCB        8  /* DHCP, VXLAN links, iperf's UDP notice */
#define MEMP_NUM_RAW_PCB        4
/* lwIP's own timers plus ours (the DHCP wait warning) and room for the console's. */
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)

/* ---- TCP -------------------------------------------------------------------------------------
 * TCP_MSS 1460: a full Ethernet frame (1500 - 20 IP - 20 TCP).
 *
 * TCP_WND, per NIC (net_tcp_wnd, set in net_init from the NIC's rx_burst_frames): what a peer
 * may have in flight towards us. It is bounded by how much the NIC can take in one burst, not
 * by the round trip: the ne2k's receive ring (122 pages, about 20 full frames) cannot take a
 * larger burst while the emulated CPU is busy, and what does not fit is lost (with 44 segments
 * the host retransmitted a third of its segments while the NIC counted 10 overruns), whereas
 * QEMU's rtl8139, with a ring of the same size, holds frames back and loses almost none.
 * Measured side by side on the bench/net.sh lab (iperf Mbit/s, medians of 3 runs,
 * rx = host -> appliance, tx = appliance -> host under iperf -d):
 *              16 segments     22 segments     44 segments (64240, no scaling)
 *   rtl8139    rx ~730         -               rx ~1090 (+46%)
 *   ne2k       rx ~400, tx ~250  rx ~340, tx ~120  rx ~210, tx ~65
 * So the rtl8139 driver asks for 44 segments and the ne2k driver for 16. Window scaling
 * (LWIP_WND_SCALE, a 128 KiB window) was also tried on rtl8139: rx +10-15% over 44 segments,
 * but the send direction under two-way load (iperf -d) lost as much.
 *
 * TCP_SND_BUF 44 * MSS = 64240 bytes, the largest whole number of segments below 64 KiB: what
 * we may have in flight towards a peer (the host has large buffers, so our own NIC's ring does
 * not limit it). With 16 segments the sender was window-limited: tx (iperf -d, the reverse
 * stream) rose from ~450 to ~600 Mbit/s on rtl8139 and from ~205 to ~270 on ne2k, side by side
 * with the old build (with the checksum below); rx stayed the same. It must stay below 64 KiB: without window
 * scaling lwIP keeps it in 16 bits, tcp_write takes a u16_t length, and the iperf sender writes
 * up to TCP_SND_BUF at once. */
#define TCP_MSS 1460
/* The receive window is chosen per boot from the NIC (net_tcp_wnd, netstack/net.c): between
 * NET_TCP_WND_MIN and NET_TCP_WND_MAX, the NIC's rx_burst_frames segments. lwIP reads TCP_WND
 * only when a PCB is set up, so a variable works; its preprocessor sanity checks cannot read a
 * variable, so net.c checks the same rules with _Static_assert (LWIP_DISABLE_TCP_SANITY_CHECKS
 * below). */
#define NET_TCP_WND_MIN (16 * TCP_MSS)
#define NET_TCP_WND_MAX (44 * TCP_MSS)
extern unsigned int net_tcp_wnd;
#define TCP_WND                        net_tcp_wnd
#define LWIP_DISABLE_TCP_SANITY_CHECKS 1
#define TCP_SND_BUF                    (44 * TCP_MSS)
/* The segment queue per PCB: at least 2 * SND_BUF / MSS so small console writes (several pbufs
 * per segment) do not exhaust it before the byte budget. */
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
/* The segment pool is shared by all PCBs (send queues and out-of-sequence queues): a busy
 * sender holds up to one segment per MSS of TCP_SND_BUF (44), more with small writes
 * (TCP_SND_QUEUELEN, 176); 1024 (~60 KiB) lets several senders run with full buffers beside
 * the out-of-sequence queues. When it runs out, tcp_write says ERR_MEM and callers retry. */
#define MEMP_NUM_TCP_SEG 1024
#define TCP_QUEUE_OOSEQ  1
#define TCP_OOSEQ_MAX_PBUFS                                                                        \
    16 /* one window per connection: a single lossy peer cannot take the pool */
/* Listen backlogs: a listener admits only as many half-open connections as its owner allows, so
 * a SYN flood on one port cannot take every PCB. (The iperf server asks for a backlog of
 * IPERF_MAX_SESSIONS; with `iperf -P N` beyond that, extra SYNs wait for the client's retry.) */
#define TCP_LISTEN_BACKLOG         1
#define TCP_DEFAULT_LISTEN_BACKLOG 8
/* Keepalive lets the console notice telnet clients that vanished without a FIN. */
#define LWIP_TCP_KEEPALIVE 1
/* SACK_OUT: after a lost frame (a NIC ring overrun under TCG is the usual cause) the peer learns
 * which later segments arrived and resends only the hole, instead of the rest of the
 * window. lwIP does not use SACKs it receives (there is no SACK_IN in 2.1.3). Costs four
 * sequence ranges (32 bytes) per PCB and 8 option bytes per range in ACKs while segments are
 * out of order. (Not measured on its own: the lab loses too few frames to show it.) */
#define LWIP_TCP_SACK_OUT 1
#define LWIP_WND_SCALE    0 /* see TCP_WND */
/* Delayed ACKs stay lwIP's: every second full segment is acknowledged at once, a lone one
 * within TCP_TMR_INTERVAL (250 ms). A 100 ms timer was measured: no difference. */

/* ---- netif -----------------------------------------------------------------------------------
 * One Ethernet netif (the appliance's own "local" port). TX_SINGLE_PBUF: lwIP builds each
 * outgoing packet in one contiguous pbuf, so linkoutput hands it to the link without a bounce
 * copy (the NIC copies into its own TX buffer anyway: there is no scatter-gather to use). */
#define LWIP_SINGLE_NETIF          0
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1 /* lets the console hear of carrier changes */
#define LWIP_NETIF_TX_SINGLE_PBUF  1
#define LWIP_NETIF_LOOPBACK        0
#define LWIP_HAVE_LOOPIF           0
#define ETH_PAD_SIZE               0

/* ---- checksums -------------------------------------------------------------------------------
 * Software checksums on every layer, both ways (neither NIC offloads them). CHECKSUM_ON_COPY
 * computes the TCP checksum while tcp_write copies the data, saving a second pass when the
 * segment is built. LWIP_CHKSUM: kernel/lib/inet_csum.c (through arch/chksum.h) sums
 * 8 bytes a step instead of lwIP's 2; verifying each received segment's checksum is the largest per-byte cost in lwIP, and under
 * TCG a 64-bit add costs what a 16-bit one does (part of the tx gain above; the checksum is
 * verified on every received segment too). */
#define CHECKSUM_GEN_IP       1
#define CHECKSUM_GEN_UDP      1
#define CHECKSUM_GEN_TCP      1
#define CHECKSUM_GEN_ICMP     1
#define CHECKSUM_CHECK_IP     1
#define CHECKSUM_CHECK_UDP    1
#define CHECKSUM_CHECK_TCP    1
#define CHECKSUM_CHECK_ICMP   1
#define LWIP_CHECKSUM_ON_COPY 1
#define LWIP_CHKSUM           net_chksum /* declared in arch/cc.h */

/* ---- statistics ------------------------------------------------------------------------------
 * Counters for the console's ifconfig/netstat (net_get_info gives a pointer to lwip_stats).
 * The console formats them itself, so lwIP's printf-based display stays out. */
#define LWIP_STATS         1
#define LWIP_STATS_LARGE   1 /* 32-bit counters: 16-bit ones wrap within a second of iperf */
#define LWIP_STATS_DISPLAY 0
#define LINK_STATS         1
#define ETHARP_STATS       1
#define IP_STATS           1
#define IPFRAG_STATS       1
#define ICMP_STATS         1
#define UDP_STATS          1
#define TCP_STATS          1
#define MEM_STATS          1
#define MEMP_STATS         1
#define SYS_STATS          0 /* no semaphores or mailboxes with NO_SYS */

/* ---- debugging -------------------------------------------------------------------------------
 * Assertions stay on (cc.h turns a failed one into panic(): an lwIP assertion is a kernel bug).
 * `make DEBUG_NET=1` also builds lwIP's own debug messages for the modules below; they go to the
 * log at debug level (netstack/arch/sys_arch.c). */
#if PETREL_LWIP_DEBUG
#define LWIP_DEBUG         1
#define LWIP_DBG_MIN_LEVEL LWIP_DBG_LEVEL_ALL
#define LWIP_DBG_TYPES_ON  LWIP_DBG_ON
#define NETIF_DEBUG        LWIP_DBG_ON
#define ETHARP_DEBUG       LWIP_DBG_ON
#define DHCP_DEBUG         LWIP_DBG_ON
#define TCP_DEBUG          LWIP_DBG_ON
#define TCP_RST_DEBUG      LWIP_DBG_ON
#endif

#endif
