; Multiboot2 header and the 32-bit entry: check the CPU, build identity-mapped page tables for the
; first 4 GiB (2 MiB pages), enable long mode and call kmain(magic, info) in 64-bit mode.
;
; Petrel runs identity-mapped (virtual == physical) so the VMM can hand physical addresses of host
; pages straight to nested page tables and DMA models without a translation step.

%include "boot/segments.inc"

MB2_MAGIC       equ 0xE85250D6
MB2_ARCH_I386   equ 0
MB2_HEADER_LEN  equ mb2_header_end - mb2_header
MB2_BOOT_MAGIC  equ 0x36D76289

CR0_PE          equ 1 << 0
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PAE         equ 1 << 5
EFER_MSR        equ 0xC0000080
EFER_LME        equ 1 << 8
EFER_NXE        equ 1 << 11

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_PWT         equ 1 << 3
PTE_PCD         equ 1 << 4
PTE_PS          equ 1 << 7

section .multiboot2 progbits alloc noexec nowrite align=8
mb2_header:
    dd MB2_MAGIC
    dd MB2_ARCH_I386
    dd MB2_HEADER_LEN
    dd (0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + MB2_HEADER_LEN)) & 0xFFFFFFFF
    ; end tag
    dw 0
    dw 0
    dd 8
mb2_header_end:

section .boot.text progbits alloc exec nowrite align=16
bits 32
global _start
_start:
    cli
    cld
    mov esp, boot_stack_top
    mov edi, eax                ; multiboot2 magic, passed on to kmain
    mov esi, ebx                ; physical address of the multiboot2 info

    ; Long mode needs CPUID leaf 0x80000001 with EDX.LM; without it we cannot go on.
    mov eax, 0x80000000
    cpuid
    cmp eax, 0x80000001
    jb .no_long_mode
    mov eax, 0x80000001
    cpuid
    test edx, 1 << 29
    jz .no_long_mode

    ; Clear PML4, PDPT and the four page directories (6 pages).
    push edi
    mov edi, boot_pml4
    xor eax, eax
    mov ecx, (6 * 4096) / 4
    rep stosd
    pop edi

    mov eax, boot_pdpt
    or eax, PTE_P | PTE_W
    mov [boot_pml4], eax

    ; PDPT[0..3] -> PD0..PD3
    mov ecx, 0
.fill_pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, boot_pd
    or eax, PTE_P | PTE_W
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, 4
    jb .fill_pdpt

    ; 2048 PDEs of 2 MiB each = 4 GiB. The top GiB (APIC, IOAPIC, PCI MMIO) is uncached.
    mov ecx, 0
.fill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PTE_P | PTE_W | PTE_PS
    cmp ecx, 1536
    jb .cached
    or eax, PTE_PCD | PTE_PWT
.cached:
    mov [boot_pd + ecx * 8], eax
    mov dword [boot_pd + ecx * 8 + 4], 0
    inc ecx
    cmp ecx, 2048
    jb .fill_pd

    mov eax, boot_pml4
    mov cr3, eax

    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax

    mov ecx, EFER_MSR
    rdmsr
    or eax, EFER_LME
    wrmsr

    mov eax, cr0
    or eax, CR0_PG | CR0_PE | CR0_WP
    mov cr0, eax

    lgdt [boot_gdt_ptr]
    jmp 0x08:long_mode_entry

.no_long_mode:
    ; Say why on COM1 (polled, no init needed by most BIOSes) and stop.
    mov esi, no_lm_msg
.putc:
    lodsb
    test al, al
    jz .halt
    mov dx, 0x3F8
    out dx, al
    jmp .putc
.halt:
    hlt
    jmp .halt

bits 64
long_mode_entry:
    LOAD_DATA_SEGMENTS
    mov rsp, boot_stack_top
    xor rbp, rbp
    mov edi, edi                ; zero-extend magic
    mov esi, esi                ; zero-extend info pointer
    extern kmain
    call kmain
.hang:
    cli
    hlt
    jmp .hang

section .boot.rodata progbits alloc noexec nowrite align=16
no_lm_msg:
    db "petrel: this CPU has no long mode (x86-64); cannot boot", 13, 10, 0

align 16
boot_gdt:
    dq 0                        ; null
    dq 0x00AF9A000000FFFF       ; 0x08: 64-bit code
    dq 0x00CF92000000FFFF       ; 0x10: data
boot_gdt_end:
boot_gdt_ptr:
    dw boot_gdt_end - boot_gdt - 1
    dd boot_gdt

section .bss nobits alloc noexec write align=4096
global boot_pml4, boot_stack_top
boot_pml4:
    resb 4096
boot_pdpt:
    resb 4096
boot_pd:
    resb 4 * 4096
boot_stack:
    resb 32768
boot_stack_top:
