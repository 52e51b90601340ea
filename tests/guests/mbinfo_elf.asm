; mbinfo_elf: a multiboot kernel in ELF form (no address fields in its header, as
; kvm-unit-tests builds them): the loader places it by its program headers and enters at
; e_entry. It checks the multiboot information and exits (VMMCALL) with 0, or with the number
; of the first failing check:
;   1 EAX is not 0x2BADB002          2 flags lack MEM, CMDLINE or MMAP
;   3 mem_lower is not 639           4 mem_upper is not (16 MiB - 1 MiB) / 1 KiB
;   5 the command line does not start with the VM name "mbinfo"
;   6 the memory map's last entry is not RAM from 1 MiB to 16 MiB
; Built with nasm -f elf32 and ld -m elf_i386 (tests/guests/guests.mk).
bits 32

MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000002            ; memory info; no address fields: ELF

section .multiboot progbits alloc noexec nowrite align=4
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)

section .text
global _start
_start:
    mov esp, stack_top
    mov edi, 1
    cmp eax, 0x2BADB002
    jne fail
    mov edi, 2
    mov eax, [ebx]                  ; flags
    and eax, (1 << 0) | (1 << 2) | (1 << 6)
    cmp eax, (1 << 0) | (1 << 2) | (1 << 6)
    jne fail
    mov edi, 3
    cmp dword [ebx + 4], 639
    jne fail
    mov edi, 4
    cmp dword [ebx + 8], (16 * 1024) - 1024
    jne fail
    mov edi, 5
    mov esi, [ebx + 16]             ; cmdline
    cmp dword [esi], 'mbin'
    jne fail
    cmp word [esi + 4], 'fo'
    jne fail
    mov edi, 6
    mov esi, [ebx + 48]             ; mmap_addr
    add esi, [ebx + 44]             ; + mmap_length
    sub esi, 24                     ; the last entry (size 20 + 4)
    cmp dword [esi + 4], 0x100000   ; addr low
    jne fail
    cmp dword [esi + 12], 0xF00000  ; len low
    jne fail
    cmp dword [esi + 20], 1         ; RAM
    jne fail
    mov eax, 0
    mov ebx, msg
    mov ecx, msg_len
    vmmcall
    xor edi, edi
fail:
    mov eax, 1
    mov ebx, edi
    vmmcall

section .rodata
msg: db `multiboot info ok\n`
msg_len equ $ - msg

section .bss
    resb 4096
stack_top:
