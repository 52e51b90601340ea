/* struct vmm_host: everything the OS-independent VMM needs from the OS that hosts it.
 * kernel/vmm_host.c fills it on Petrel; unit tests fill it with hosted fakes. The VMM reaches
 * the host only through this struct (plus the shared pure modules: kernel/lib.h string
 * functions and kernel/log.h logging, which compile hosted too). */
#ifndef PETREL_VMM_HOST_H
#define PETREL_VMM_HOST_H

#include "../kernel/types.h"

struct vmm_vm;
struct netoff;

struct vmm_host {
    /* Heap memory, zeroed. */
    void *(*zalloc)(size_t size);
    void (*free)(void *p);
    /* Physically contiguous pages; phys is the host-physical address. */
    int (*page_alloc)(size_t npages, uint64_t *phys);
    int (*page_alloc_2m)(uint64_t *phys);
    void (*page_free)(uint64_t phys, size_t npages);
    /* Host-physical to a pointer the VMM can use (identity on Petrel). */
    void *(*phys_to_virt)(uint64_t phys);
    uint64_t (*virt_to_phys)(const void *p);
    /* Monotonic time. */
    uint64_t (*now_ns)(void);
    uint64_t tsc_hz;
    /* Bytes the VM's serial console printed (the host queues them for console readers). */
    void (*console_out)(struct vmm_vm *vm, const uint8_t *buf, size_t len);
    /* Makes the host interrupt the CPU (and so exit the guest) at deadline_ns at the latest.
     * Called before each VMRUN with the vCPU's next device deadline or slice end. Optional:
     * without it, guest timers run at the host's tick. */
    void (*arm_wakeup)(uint64_t deadline_ns);
    /* Busy polling (optional). The host polls a device instead of taking its interrupts (say
     * a NIC whose frames keep coming, where each interrupt would be a world switch):
     * poll_deadline, asked before each VMRUN, is when the host must look at it next at the
     * latest (the guest is made to exit by then; UINT64_MAX: not polling); busy_poll (may be
     * NULL: then the host looks only when the guest exits to it) does the looking, called
     * after each exit while polling, and returns the next deadline. */
    uint64_t (*poll_deadline)(void);
    uint64_t (*busy_poll)(void);
    /* A VM changed state (started, halted with a reason, exited with a code): the host may
     * wake console readers, free resources, update listings. Optional. */
    void (*vm_state_changed)(struct vmm_vm *vm);
    /* Virtual NIC backends: connects a guest NIC to the host's network (a VNET vnic port
     * named "<vm>.<nic_name>", e.g. "linux.eth0", on the network the VM config names).
     * rx(dev, frame, len) delivers a frame to the guest NIC (main-loop context); it returns
     * false when the guest's RX ring is full (the frame is dropped and counted). */
    int (*nic_attach)(struct vmm_vm *vm, const char *nic_name, const uint8_t mac[6],
                      bool (*rx)(void *dev, const void *frame, size_t len), void *dev,
                      void **backend);
    int (*nic_send)(void *backend, const void *frame, size_t len);
    void (*nic_detach)(void *backend);
    /* Optional offloads (kernel/lib/netoff.h), for a model whose guest driver negotiated them:
     * nic_set_offloads makes rx_off the NIC's receive hook, given each frame's metadata but only
     * what caps (NETOFF_CAP_*) cover (the host segments or completes the rest first); caps 0
     * with rx_off NULL goes back to rx. nic_send_off is nic_send with metadata, which the host
     * checks (netoff_check; a bad one is refused with -EINVAL). */
    int (*nic_set_offloads)(void *backend, unsigned caps,
                            bool (*rx_off)(void *dev, const void *frame, size_t len,
                                           const struct netoff *off));
    int (*nic_send_off)(void *backend, const void *frame, size_t len, const struct netoff *off);
    /* The IP MTU of an attached NIC's network port (on Petrel: the nic line's mtu=, else 1450
     * on a VNET network a VXLAN link carries, else 1500). A model that can tell its guest
     * (virtio-net, VIRTIO_NET_F_MTU) offers it. Optional: without it nothing is offered and
     * guests assume 1500. */
    uint16_t (*nic_mtu)(void *backend);
    /* A host with a CPU of its own for guests (optional, all three): guest_enter is called
     * right before each VMRUN, with the guest's state prepared, and guest_exit right after
     * the #VMEXIT (host interrupts taken): between the two the host's other CPUs may work on
     * shared state, the VM's devices included. vcpu_kick says the VM's vCPU has something
     * new to see (an interrupt request, console input, a state change): the host makes the
     * CPU that runs it leave the guest or wake up; called on any CPU, often, so it should
     * coalesce. */
    void (*guest_enter)(void);
    void (*guest_exit)(void);
    void (*vcpu_kick)(struct vmm_vm *vm);
    /* Whether the VM's vCPU runs on another CPU than the caller's (so it sees device state
     * only at its exits: a device decides its interrupt at once instead of at the vCPU's next
     * poll). Optional: without it, never. */
    bool (*vcpu_elsewhere)(struct vmm_vm *vm);
    /* Whether the host is calling vmm_vm_io_poll for the VM from another CPU often enough
     * that its devices need no kicks from the guest (a promise held until the host next
     * says false; it then polls once more). Optional: without it, never. */
    bool (*io_polling)(struct vmm_vm *vm);
};

/* Installed once at start; every VMM module uses it. */
void vmm_host_set(const struct vmm_host *host);
const struct vmm_host *vmm_host(void);
/* The host is busy polling (poll_deadline says so): a guest exits at least that often anyway,
 * so a device may look at its rings at each entry instead of asking the guest for kicks. */
static inline bool vmm_host_polling(void)
{
    const struct vmm_host *h = vmm_host();

    return h != NULL && h->poll_deadline != NULL && h->poll_deadline() != UINT64_MAX;
}

#endif
