; The application processors' start-up trampoline: the code an AP runs after the start-up IPI,
; from real mode through 32-bit protected mode into 64-bit mode on the kernel's page tables, then
; into kernel/smp.c's C entry on a stack of its own.
;
; It is linked into .rodata and never runs there: smp_start() copies ap_tramp_start..ap_tramp_end
; to AP_TRAMP_BASE, fills the data block at its end (ap_tramp_data, struct ap_tramp_data in
; kernel/smp.c, offsets TD_* below) and sends SIPI vector AP_TRAMP_BASE >> 12. So every address
; the code uses is T(label), where the copy has it, never the label itself.
;
; Why 0x8000 (AP_TRAMP_BASE, the same in kernel/smp.c): the SIPI vector is a page number, so the
; page must lie below 1 MiB and outside 0xA0000-0xBFFFF (the VGA window). The page allocator
; reserves the whole low MiB (kernel/memory.c), so nothing in the kernel gets this page; the
; real-mode IVT and BIOS data area (0-0x4FF), the boot sector (0x7C00-0x7DFF) and the EBDA
; (just below 0xA0000) are elsewhere; GRUB's own use of low memory ended when it jumped to the
; kernel, and what the kernel keeps of its information (kernel/bootinfo.c) it copied first.
;
; APs arrive together (a broadcast SIPI), so the one thing they share is the check-in counter:
; each takes its slot with LOCK XADD, and slot k gets stack[k] and CPU index k + 1. The BSP sets
; CHECKIN_CLOSED in the counter when it stops waiting, so a late AP (or one beyond the slots)
; reads a huge slot number and parks here, without touching a stack or the kernel.

%include "boot/segments.inc"

AP_TRAMP_BASE   equ 0x8000
AP_SLOTS        equ 7               ; SMP_MAX_CPUS - 1 (kernel/smp.h); smp.c checks the size

CR0_PE          equ 1 << 0
MSR_EFER        equ 0xC0000080

; struct ap_tramp_data (kernel/smp.c asserts the same offsets)
TD_CHECKIN      equ 0               ; u32: next free slot; bit 31 = closed
TD_MAX_APS      equ 4               ; u32: slots with a stack
TD_CR0          equ 8               ; u32: the BSP's CR0 (PG, PE, WP, ...)
TD_CR3          equ 12              ; u32: the kernel's PML4 (below 4 GiB)
TD_CR4          equ 16              ; u64: the BSP's CR4 (PAE, ...)
TD_EFER         equ 24              ; u64: the BSP's EFER without SVME and LMA
TD_ENTRY        equ 32              ; u64: void (*)(unsigned cpu), never returns
TD_STACK        equ 40              ; u64[AP_SLOTS]: stack tops, 16-byte aligned
TD_SIZE         equ TD_STACK + 8 * AP_SLOTS

; The address of a trampoline label in the copy at AP_TRAMP_BASE.
%define T(label) (AP_TRAMP_BASE + ((label) - ap_tramp_start))
%define TD(field) (T(ap_tramp_data) + (field))

section .rodata progbits alloc noexec nowrite align=16
global ap_tramp_start, ap_tramp_data, ap_tramp_end

align 16
bits 16
ap_tramp_start:
    ; The SIPI starts us at CS:IP = (AP_TRAMP_BASE >> 4):0 in real mode, interrupts off.
    cli
    cld
    xor ax, ax
    mov ds, ax                  ; flat: T() addresses are below 64 KiB
    o32 lgdt [T(tramp_gdt_ptr)]  ; o32: the full 32-bit base
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    jmp dword 0x18:T(pm32)

bits 32
pm32:
    LOAD_DATA_SEGMENTS

    ; Long mode the way boot/entry.asm entered it, with the BSP's values: PAE (CR4), the kernel's
    ; PML4, EFER.LME, then paging on (CR0) makes it active. smp.c made sure CR4 has nothing
    ; (PCIDE) that 32-bit mode refuses and that CR3 fits 32 bits.
    mov eax, [TD(TD_CR4)]
    mov cr4, eax
    mov eax, [TD(TD_CR3)]
    mov cr3, eax
    mov ecx, MSR_EFER
    mov eax, [TD(TD_EFER)]
    mov edx, [TD(TD_EFER) + 4]
    wrmsr
    mov eax, [TD(TD_CR0)]
    mov cr0, eax
    jmp 0x08:T(lm64)

bits 64
lm64:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax
    mov gs, ax

    ; Check in: our slot, unless the BSP closed the door or the slots ran out (one unsigned
    ; compare covers both: a closed counter has bit 31 set).
    mov eax, 1
    lock xadd [TD(TD_CHECKIN)], eax
    cmp eax, [TD(TD_MAX_APS)]
    jae .park
    mov rsp, [TD(TD_STACK) + rax * 8]
    lea edi, [rax + 1]          ; the CPU index: 0 is the BSP
    xor ebp, ebp                ; the end of the frame-pointer chain
    call [TD(TD_ENTRY)]         ; never returns; park if it does
.park:
    cli
    hlt
    jmp .park

align 8
; Flat segments with the kernel GDT's selectors (kernel/gdt.h: 0x08 code, 0x10 data), so the
; segment registers mean the same before and after gdt_init_cpu(); 0x18 for the 32-bit hop.
tramp_gdt:
    dq 0                        ; null
    dq 0x00AF9A000000FFFF       ; 0x08: 64-bit code
    dq 0x00CF92000000FFFF       ; 0x10: data
    dq 0x00CF9A000000FFFF       ; 0x18: 32-bit code
tramp_gdt_end:
tramp_gdt_ptr:
    dw tramp_gdt_end - tramp_gdt - 1
    dd T(tramp_gdt)

align 8
ap_tramp_data:
    times TD_SIZE db 0
ap_tramp_end:
