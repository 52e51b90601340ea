; triple: a guest that triple-faults (an empty IDT, then int3: #GP, #DF, shutdown). The VM
; must fail stop with a dump; the appliance and other VMs keep running.
%include "guest.inc"
GUEST_HEADER

start:
    mov esp, guest_stack_top
    HC_PRINT_STR msg, msg_len
    lidt [empty_idt]
    int3
    HC_EXIT_CODE 99                 ; not reached

empty_idt:
    dw 0
    dd 0
STR msg, `about to triple fault\n`
GUEST_END
