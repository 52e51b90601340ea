; hlt_timer: sleeps in HLT until the PIT (100 Hz, mode 2) wakes it through the 8259, ten
; times, then exits with code 0. Checks interrupt injection, HLT wake-up and EOI.
%include "guest.inc"
GUEST_HEADER

TICKS_WANTED equ 10
PIT_COUNT    equ 11932              ; 1193182 Hz / 100

start:
    mov esp, guest_stack_top
    GUEST_GDT
    IDT_GATE 0x20, irq0
    IDT_LOAD
    PIC_REMAP 0xFE                  ; only IRQ 0
    mov al, 0x34                    ; channel 0, lobyte/hibyte, mode 2
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    sti
.wait:
    hlt
    cmp dword [ticks], TICKS_WANTED
    jb .wait
    cli
    HC_PRINT_STR msg, msg_len
    HC_EXIT_CODE 0

irq0:
    inc dword [ticks]
    push eax
    mov al, 0x20                    ; non-specific EOI
    out 0x20, al
    pop eax
    iret

    align 4
ticks: dd 0
STR msg, `woke up 10 times\n`
GUEST_END
