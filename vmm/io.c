/* The IOIO exit: IN/OUT and the string forms INS/OUTS with or without REP. A REP string
 * instruction is handled in one exit for its whole count (up to IO_STRING_MAX_BYTES; beyond
 * that RIP stays put with rCX/rSI/rDI updated and the guest re-executes it, as a CPU does
 * after an interrupt), moving a page-sized block per device call. The next RIP comes from
 * EXITINFO2, so no decoding is needed. */
#include "linear.h"
#include "vm.h"
#include "../kernel/lib.h"
#include "../kernel/log.h"

#define IO_BUF_BYTES        4096u
#define IO_STRING_MAX_BYTES MiB(1)

static uint8_t g_io_buf[IO_BUF_BYTES]; /* one host CPU, handlers never nest */

static void set_masked(uint64_t *reg, uint64_t val, uint64_t mask)
{
    if (mask == 0xFFFFull) {
        *reg = (*reg & ~0xFFFFull) | (val & 0xFFFFull);
    } else {
        *reg = val & mask; /* a 32-bit register write clears the upper half */
    }
}

static void reverse_elems(uint8_t *buf, uint32_t n, unsigned size)
{
    for (uint32_t i = 0, j = n - 1; i < j; i++, j--) {
        uint8_t t[4];

        memcpy(t, buf + (size_t)i * size, size);
        memcpy(buf + (size_t)i * size, buf + (size_t)j * size, size);
        memcpy(buf + (size_t)j * size, t, size);
    }
}

static enum vmm_action string_fault(struct vmm_vcpu *vcpu, int rc, uint64_t lin,
                                    const struct vmm_lin_fault *f, uint16_t port)
{
    if (rc == -EFAULT) {
        vmm_lin_inject_pf(vcpu, f);
        return VMM_ACT_CONTINUE;
    }
    if (rc == -EINVAL) {
        vmm_inject_exception(vcpu, 13, true, 0);
        return VMM_ACT_CONTINUE;
    }
    vmm_vm_fail(vcpu->vm, "string IO on port %#x: guest memory at linear %#llx is not RAM (%d)",
                port, (unsigned long long)lin, rc);
    return VMM_ACT_YIELD;
}

static enum vmm_action string_io(struct vmm_vcpu *vcpu, uint32_t info, uint64_t next_rip,
                                 uint16_t port, unsigned size)
{
    struct vmm_regs *r = &vcpu->regs;
    bool in = (info & SVM_IO_IN) != 0;
    bool rep = (info & SVM_IO_REP) != 0;
    bool down = (r->rflags & VMM_RFLAGS_DF) != 0;
    enum vmm_cpu_mode mode = vmm_cpu_mode_of(r);
    uint64_t amask;
    uint64_t *ptr = in ? &r->gpr[VMM_RDI] : &r->gpr[VMM_RSI];
    enum vmm_seg seg = in ? VMM_ES : (enum vmm_seg)((info & SVM_IO_SEG_MASK) >> SVM_IO_SEG_SHIFT);
    uint64_t count;
    uint64_t budget = IO_STRING_MAX_BYTES / size;

    if (info & SVM_IO_A16) {
        amask = 0xFFFFull;
    } else if (info & SVM_IO_A32) {
        amask = 0xFFFFFFFFull;
    } else {
        amask = ~0ull;
    }
    if (seg >= VMM_NSEG) {
        vmm_vm_fail(vcpu->vm, "string IO with segment %u in EXITINFO1 %#x", (unsigned)seg, info);
        return VMM_ACT_YIELD;
    }
    count = rep ? (r->gpr[VMM_RCX] & amask) : 1;
    while (count > 0 && budget > 0) {
        uint64_t off = *ptr & amask;
        uint64_t n = MIN(MIN(count, budget), IO_BUF_BYTES / size);
        uint64_t lo_off;
        uint64_t lin;
        size_t bytes;
        struct vmm_lin_fault f;
        int rc;

        /* Stay inside the address size: a block never wraps around it. */
        if (!down) {
            n = MIN(n, (amask - off) / size + 1);
            lo_off = off;
        } else {
            n = MIN(n, off / size + 1);
            lo_off = off - (n - 1) * size;
        }
        if (n == 0 || (!down && off + size - 1 > amask)) {
            vmm_vm_fail(vcpu->vm, "string IO on port %#x wraps the address size at %#llx", port,
                        (unsigned long long)off);
            return VMM_ACT_YIELD;
        }
        bytes = (size_t)(n * size);
        lin = vmm_linear_addr(r, seg, lo_off, mode);
        if (!in) {
            rc = vmm_lin_read(vcpu, lin, g_io_buf, bytes, &f);
            if (rc != 0) {
                return string_fault(vcpu, rc, lin, &f, port);
            }
            if (down) {
                reverse_elems(g_io_buf, (uint32_t)n, size);
            }
            rc = vmm_io_string(vcpu->vm, port, size, true, g_io_buf, (uint32_t)n);
        } else {
            rc = vmm_io_string(vcpu->vm, port, size, false, g_io_buf, (uint32_t)n);
            if (rc == 0) {
                if (down) {
                    reverse_elems(g_io_buf, (uint32_t)n, size);
                }
                rc = vmm_lin_write(vcpu, lin, g_io_buf, bytes, &f);
                if (rc != 0) {
                    return string_fault(vcpu, rc, lin, &f, port);
                }
            }
        }
        if (rc < 0) {
            return VMM_ACT_YIELD; /* the device failed the VM */
        }
        if (vcpu->vm->state != VMM_VM_RUNNING) {
            return VMM_ACT_YIELD; /* e.g. the guest wrote its exit code */
        }
        set_masked(ptr, down ? off - n * size : off + n * size, amask);
        if (rep) {
            set_masked(&r->gpr[VMM_RCX], (r->gpr[VMM_RCX] & amask) - n, amask);
        }
        vcpu->vm->stats.io_string_elems += n;
        count -= n;
        budget -= n;
    }
    if (count == 0) {
        r->rip = next_rip;
    }
    return VMM_ACT_CONTINUE;
}

enum vmm_action vmm_exit_ioio(struct vmm_vcpu *vcpu)
{
    struct vmcb_control *c = &vcpu->vmcb->ctl;
    uint32_t info = (uint32_t)c->exit_info1;
    uint16_t port = (uint16_t)(info >> SVM_IO_PORT_SHIFT);
    struct vmm_regs *r = &vcpu->regs;
    unsigned size;
    uint32_t val;

    if (info & SVM_IO_SZ8) {
        size = 1;
    } else if (info & SVM_IO_SZ16) {
        size = 2;
    } else if (info & SVM_IO_SZ32) {
        size = 4;
    } else {
        vmm_vm_fail(vcpu->vm, "IOIO exit without an operand size (EXITINFO1 %#x)", info);
        return VMM_ACT_YIELD;
    }
    if (info & SVM_IO_STR) {
        return string_io(vcpu, info, c->exit_info2, port, size);
    }
    if (info & SVM_IO_IN) {
        val = 0;
        if (vmm_io_access(vcpu->vm, port, size, false, &val) < 0) {
            return VMM_ACT_YIELD;
        }
        if (size == 4) {
            r->gpr[VMM_RAX] = val; /* IN EAX zero-extends into RAX */
        } else {
            uint64_t mask = size == 1 ? 0xFFull : 0xFFFFull;

            r->gpr[VMM_RAX] = (r->gpr[VMM_RAX] & ~mask) | (val & mask);
        }
    } else {
        val = (uint32_t)r->gpr[VMM_RAX];
        if (size < 4) {
            val &= (1u << (size * 8)) - 1;
        }
        if (vmm_io_access(vcpu->vm, port, size, true, &val) < 0) {
            return VMM_ACT_YIELD;
        }
    }
    r->rip = c->exit_info2;
    return VMM_ACT_CONTINUE;
}
