; hello: prints a line through the print hypercall and exits with code 0 through the exit
; hypercall. The smallest guest: checks loading, entry state and VMMCALL.
%include "guest.inc"
GUEST_HEADER

start:
    mov esp, guest_stack_top
    cmp eax, 0x2BADB002             ; multiboot entry state
    jne .bad
    HC_PRINT_STR msg, msg_len
    HC_EXIT_CODE 0
.bad:
    HC_EXIT_CODE 1

STR msg, `hello from guest\n`
GUEST_END
