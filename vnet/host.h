/* struct vnet_host: everything the OS-independent switch needs from the OS that hosts it.
 *
 * The kernel fills it on Petrel; unit tests and fuzz targets fill it with hosted fakes. vnet/
 * reaches the host only through this struct, plus the shared pure modules (kernel/lib.h string
 * functions, kernel/log.h logging), which compile hosted too. */
#ifndef PETREL_VNET_HOST_H
#define PETREL_VNET_HOST_H

#include "../kernel/types.h"

struct vnet_host {
    /* Heap memory, zeroed; free(NULL) must be harmless. Required. */
    void *(*zalloc)(size_t size);
    void (*free)(void *p);
    /* Monotonic time in ns: MAC aging, VXLAN remote learning. Required. */
    uint64_t (*now_ns)(void);
    /* Wall-clock time in ns since the Unix epoch, for capture time stamps (Wireshark shows
     * dates). Optional: NULL stamps captures with now_ns. */
    uint64_t (*wall_ns)(void);
    /* Sends one UDP datagram (the VXLAN header and the inner frame, `len` bytes) from the
     * appliance's own address to dst_ip:dst_port, from src_port. Addresses are IPv4 in host
     * byte order (10.0.2.15 is 0x0a00020f). The buffer is only valid during the call: copy it.
     * Datagrams larger than the outer MTU allows are the host's to fragment (lwIP IP_FRAG).
     * Returns 0, -EAGAIN when it cannot take the datagram now, or another negative errno.
     * Optional: without it every VXLAN transmission is dropped and counted. */
    int (*udp_send)(void *ctx, uint32_t dst_ip, uint16_t dst_port, uint16_t src_port,
                    const void *buf, size_t len);
    void *udp_ctx; /* passed to udp_send */
};

/* Installs the host interface. A switch takes the host that is installed when it is created
 * (vnet_switch_create), so tests may install another one for another switch. */
void vnet_host_set(const struct vnet_host *host);
const struct vnet_host *vnet_host(void);

#endif
