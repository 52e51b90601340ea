; oob: a guest that writes outside its memory (1 GiB, far above its RAM). The VM must fail stop
; on the nested page fault, naming the guest-physical address; nothing else is touched.
%include "guest.inc"
GUEST_HEADER

start:
    mov esp, guest_stack_top
    HC_PRINT_STR msg, msg_len
    mov dword [0x40000000], 0xDEADBEEF
    HC_EXIT_CODE 99                 ; not reached

STR msg, `about to write outside guest RAM\n`
GUEST_END
