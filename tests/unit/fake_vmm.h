/* A fake of the VMM core's device API (vmm/vmm_dev.h, vmm/host.h) for hosted device tests and
 * the device fuzzer: a VM that records device registrations, IRQ line levels and edges, console
 * output, exit and reset requests, with a controllable clock (which is also the guest TSC, at
 * 1 GHz). Test files #include "fake_vmm.c"
 * (the unit test rule links only the test file and libpetrel.a). */
#ifndef PETREL_FAKE_VMM_H
#define PETREL_FAKE_VMM_H

#include "../../kernel/lib/netoff.h"
#include "../../vmm/host.h"
#include "../../vmm/nic_config.h"
#include "../../vmm/vmm_dev.h"

#define FAKE_MAX_DEVS    16
#define FAKE_LINES       32
#define FAKE_CONSOLE_MAX 65536
#define FAKE_RAM_SIZE    0x40000 /* room for a 64 KiB frame spread over buffers */
#define FAKE_LOG_LINES   64

struct vmm_vm {
    char name[16];
    struct vmm_dev_reg devs[FAKE_MAX_DEVS];
    size_t ndevs;
    bool line[FAKE_LINES];
    unsigned rises[FAKE_LINES]; /* low-to-high transitions per line */
    /* Line controllers (every vmm_irq_set) and the CPU controller, as in the core. */
    struct {
        const struct vmm_intc_ops *ops;
        void *intc;
    } intc_lines[VMM_INTC_MAX];
    size_t nintc_lines;
    const struct vmm_intc_ops *intc_ops;
    void *intc;
    uint64_t tsc_offset; /* vmm_guest_tsc() = fake_now (1 GHz TSC) + tsc_offset */
    uint8_t console[FAKE_CONSOLE_MAX];
    size_t console_len;
    unsigned console_calls;
    unsigned kicks; /* vmm_vm_kick calls */
    bool elsewhere; /* what vmm_vm_elsewhere says */
    bool io_polled; /* what vmm_vm_io_polled says */
    size_t (*console_rx)(void *dev, const uint8_t *buf, size_t len);
    void *console_dev;
    bool exit_requested;
    int exit_code;
    char exit_why[64];
    unsigned resets;
    bool failed;
    char fail_msg[256];
    uint64_t unclaimed; /* IO to ports no device claimed */
    uint8_t ram[FAKE_RAM_SIZE];
};

/* The fake clock, in ns (what vmm_host()->now_ns() returns). */
extern uint64_t fake_now;
/* What vmm_host()->poll_deadline() says: UINT64_MAX (set by fake_host_install) when the host
 * is not busy polling. */
extern uint64_t fake_poll_deadline;
/* Live allocations made through vmm_host()->zalloc. */
extern long fake_live_allocs;

/* Installs the fake host (once) and the log capture; resets the clock to `start_ns`. */
void fake_host_install(uint64_t start_ns);
struct vmm_vm *fake_vm_new(const char *name);
/* Destroys every device (reverse order) and the VM. */
void fake_vm_free(struct vmm_vm *vm);

/* Port IO as the core routes it: the first device whose range holds the port and does not
 * answer VMM_NOT_MINE; unclaimed reads give all ones. Returns the handler's result. */
int fake_io(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, uint32_t *val);
int fake_io_string(struct vmm_vm *vm, uint16_t port, unsigned size, bool write, void *buf,
                   uint32_t count);
uint32_t fake_in(struct vmm_vm *vm, uint16_t port, unsigned size);
void fake_out(struct vmm_vm *vm, uint16_t port, unsigned size, uint32_t val);
static inline uint8_t fake_inb(struct vmm_vm *vm, uint16_t port)
{
    return (uint8_t)fake_in(vm, port, 1);
}
static inline void fake_outb(struct vmm_vm *vm, uint16_t port, uint8_t val)
{
    fake_out(vm, port, 1, val);
}
/* MMIO as the core routes it: the device whose range holds gpa; -ENOENT when none. */
int fake_mmio(struct vmm_vm *vm, uint64_t gpa, unsigned size, bool write, uint64_t *val);
uint32_t fake_read32(struct vmm_vm *vm, uint64_t gpa);
void fake_write32(struct vmm_vm *vm, uint64_t gpa, uint32_t val);
/* Calls every device's poll at fake_now; returns the earliest deadline. */
uint64_t fake_poll(struct vmm_vm *vm);
/* Advances the clock and polls. */
uint64_t fake_advance(struct vmm_vm *vm, uint64_t ns);
/* Calls every device's reset hook. */
void fake_reset_devices(struct vmm_vm *vm);
const struct vmm_dev_reg *fake_find_dev(struct vmm_vm *vm, const char *name);

/* The fake network backend (vmm_host nic_attach/nic_send/nic_detach) NIC models attach to:
 * the last NIC attached, the frames it sent (the last FAKE_NIC_FRAMES kept). With
 * fake_nic_enable(false) the host has no backend (NICs come up unplugged). The optional
 * offload hooks (nic_set_offloads, nic_send_off) are there only after fake_nic_offloads(true)
 * (before the NIC is created, as a host has them or not): they record what they got, and
 * nic_send_off checks the metadata as the host does (netoff_check, plain frames and segments
 * up to VMM_NIC_FRAME_MAX), refusing a bad one with -EINVAL (counted in off_refused). */
#define FAKE_NIC_FRAMES    16
#define FAKE_NIC_FRAME_MAX 2048
#define FAKE_NIC_MTU       1450 /* what nic_mtu reports: a network a VXLAN link carries */
struct fake_nic {
    bool attached;
    char name[16];
    uint8_t mac[6];
    bool (*rx)(void *dev, const void *frame, size_t len);
    void *dev;
    unsigned attaches;
    unsigned detaches;
    unsigned nsent;
    uint8_t sent[FAKE_NIC_FRAMES][FAKE_NIC_FRAME_MAX];
    size_t sent_len[FAKE_NIC_FRAMES];
    /* nic_set_offloads: the last caps and receive hook, and the calls. */
    unsigned caps;
    bool (*rx_off)(void *dev, const void *frame, size_t len, const struct netoff *off);
    unsigned set_offloads_calls;
    /* nic_send_off: the frames it took, the last one whole (a super-frame too) with its
     * metadata (off_null: none), refusals; send_off_rc, when negative, is returned instead. */
    unsigned nsent_off;
    unsigned off_refused;
    int send_off_rc;
    bool off_null;
    struct netoff off;
    size_t off_len;
    uint8_t off_frame[NETOFF_FRAME_MAX];
};
extern struct fake_nic fake_nic;
void fake_nic_enable(bool on);
void fake_nic_offloads(bool on);
/* Delivers a frame to the attached NIC as the host would (false: no NIC or it dropped it). */
bool fake_nic_deliver(const void *frame, size_t len);
/* The same with metadata, through the receive hook nic_set_offloads installed (without one,
 * through rx, the metadata dropped: the fake does not segment). */
bool fake_nic_deliver_off(const void *frame, size_t len, const struct netoff *off);

/* Log lines captured since the last clear (text only). */
bool fake_log_has(const char *needle);
void fake_log_clear(void);

#endif
