; flat: raw code without a multiboot header, started with vm=NAME:flat.bin:flat=0x100000: the
; VMM loads the bytes at that address and enters there in 32-bit protected mode (EAX = 0, not
; the multiboot magic). Prints a line and exits with code 0.
%include "guest.inc"

start:
    mov esp, guest_stack_top
    test eax, eax
    jnz .bad
    HC_PRINT_STR msg, msg_len
    HC_EXIT_CODE 0
.bad:
    HC_EXIT_CODE 1

STR msg, `flat binary ok\n`
GUEST_END
