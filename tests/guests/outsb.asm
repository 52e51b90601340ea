; outsb: one `rep outsb` of 64 KiB to the debug port 0xE9 (it must take one exit), then a
; `rep insb` of 4 KiB from it, then the exit hypercall with code 0.
%include "guest.inc"
GUEST_HEADER

BUF     equ 0x200000
COUNT   equ 65536

start:
    mov esp, guest_stack_top
    cld
    mov edi, BUF                    ; fill the buffer with printable text
    mov ecx, COUNT
    mov al, 'a'
    rep stosb
    mov esi, BUF
    mov ecx, COUNT
    mov dx, DEBUG_PORT
    rep outsb
    mov edi, 1
    test ecx, ecx                   ; the count must be used up
    jnz fail
    mov edi, 2
    cmp esi, BUF + COUNT
    jne fail
    mov edi, BUF                    ; and back the other way: 4 KiB in one exit
    mov ecx, 4096
    mov dx, 0x80                    ; the POST port reads as something, never faults
    rep insb
    mov edi, 3
    test ecx, ecx
    jnz fail
    HC_PRINT_STR msg, msg_len
    HC_EXIT_CODE 0
fail:
    mov eax, HC_EXIT
    mov ebx, edi
    vmmcall

STR msg, `rep outsb done\n`
GUEST_END
