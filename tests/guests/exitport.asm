; exitport: ends through the isa-debug-exit device at 0xF4 with value 0x10, so the VM's exit
; code is (0x10 << 1) | 1 = 33. A debugcon line on 0xE9 first.
%include "guest.inc"
GUEST_HEADER

start:
    mov esp, guest_stack_top
    cld
    mov esi, msg
    mov ecx, msg_len
    mov dx, DEBUG_PORT
    rep outsb
    mov al, 0x10
    out EXIT_PORT, al
    HC_EXIT_CODE 99                 ; not reached

STR msg, `exit through port 0xf4\n`
GUEST_END
