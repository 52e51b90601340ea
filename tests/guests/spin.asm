; spin: prints a numbered line every few million loop iterations, 5 lines, then exits with
; code 0. It never exits to the VMM on its own between lines, so two of them side by side
; only interleave if the host timer slices them. Run two to see the round robin.
%include "guest.inc"
GUEST_HEADER

LINES equ 5

start:
    mov esp, guest_stack_top
    xor edi, edi
.line:
    mov ecx, 3000000
.busy:
    dec ecx
    jnz .busy
    mov eax, edi
    add al, '0'
    mov [msg_digit], al
    HC_PRINT_STR msg, msg_len
    inc edi
    cmp edi, LINES
    jb .line
    HC_EXIT_CODE 0

msg: db 'tick '
msg_digit: db '0', 10
msg_len equ $ - msg
GUEST_END
