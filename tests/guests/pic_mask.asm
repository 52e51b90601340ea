; pic_mask: the 8259 pair's masking and EOI, driven by the PIT (IRQ 0, master) and the RTC's
; periodic interrupt (IRQ 8, slave). Passes with exit code 1; a failed check k ends with 2k + 1:
;   1 masked IRQ 0 was delivered              2 IRR never showed IRQ 0 (the PIT does not run)
;   3 IRQ 0 not in service in its handler     4 unmasked IRQ 0 was not delivered
;   5 IRQ 0 delivered again before its EOI    6 a specific EOI for IRQ 3 cleared IRQ 0
;   7 the specific EOI for IRQ 0 did not clear it   8 no IRQ 0 after the EOI
;   9 IRQ 0 delivered after masking it again 10 masked IRQ 8 (slave) was delivered
;  11 IRR never showed IRQ 8                  12 unmasked IRQ 8 not delivered 3 times
;  13 something left in service at the end
%include "guest.inc"
%include "lib.inc"
GUEST_HEADER

PIT_COUNT equ 11932                 ; 100 Hz

; CHECK n: the number a failure of the following test reports.
%macro CHECK 1
    mov edi, %1
%endmacro

start:
    mov esp, guest_stack_top
    GUEST_GDT
    call com1_init
    IDT_GATE 0x20, irq0
    IDT_GATE 0x28, irq8
    IDT_LOAD
    PIC_REMAP 0xFF                  ; everything masked (the slave too)
    mov al, 0x34                    ; PIT channel 0, mode 2, 100 Hz
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    sti

    ; 1-2: a masked line still requests (IRR) but is not delivered.
    CHECK 2
    mov ecx, WAIT_LOOPS
.irr0:
    call master_irr
    test al, 1
    jnz .irr0_set
    loop .irr0
    jmp fail
.irr0_set:
    CHECK 1
    cmp dword [ticks0], 0
    jne fail

    ; 3-4: unmasked, the pending request is delivered at once; the handler (no EOI) sees it in
    ; service.
    mov al, 0xFE
    out 0x21, al
    CHECK 4
    mov ecx, WAIT_LOOPS
.deliver0:
    cmp dword [ticks0], 1
    jae .delivered0
    pause
    loop .deliver0
    jmp fail
.delivered0:
    CHECK 3
    test byte [isr_in_handler], 1
    jz fail

    ; 5: in service without an EOI, the next request waits in IRR.
    call wait_irr0
    CHECK 5
    cmp dword [ticks0], 1
    jne fail

    ; 6-7: a specific EOI names the level it ends.
    cli
    mov al, 0x63                    ; specific EOI, IRQ 3 (not in service)
    out 0x20, al
    call master_isr
    CHECK 6
    test al, 1
    jz fail
    mov al, 0x60                    ; specific EOI, IRQ 0
    out 0x20, al
    call master_isr
    CHECK 7
    test al, 1
    jnz fail

    ; 8: the waiting request comes in once interrupts are on again.
    sti
    CHECK 8
    mov ecx, WAIT_LOOPS
.deliver1:
    cmp dword [ticks0], 2
    jae .delivered1
    pause
    loop .deliver1
    jmp fail
.delivered1:

    ; 9: masked again (and its in-service bit ended), IRQ 0 stays out.
    mov al, 0xFF
    out 0x21, al
    mov al, 0x20                    ; non-specific EOI
    out 0x20, al
    call wait_pit_periods
    CHECK 9
    cmp dword [ticks0], 2
    jne fail

    ; 10-12: the slave. The RTC's periodic interrupt at 64 Hz on IRQ 8, the cascade (IRQ 2)
    ; open on the master, IRQ 8 masked on the slave first.
    mov al, 0xFB
    out 0x21, al
    mov ax, 0x2A0A                  ; REG A = 0x2A: divider on, rate 10 (64 Hz)
    call cmos_write
    mov al, 0x0B
    call cmos_read
    or al, 0x40                     ; PIE
    mov ah, al
    mov al, 0x0B
    call cmos_write
    CHECK 11
    mov ecx, WAIT_LOOPS
.irr8:
    call slave_irr
    test al, 1
    jnz .irr8_set
    loop .irr8
    jmp fail
.irr8_set:
    CHECK 10
    cmp dword [ticks8], 0
    jne fail
    mov al, 0xFE                    ; unmask IRQ 8 on the slave
    out 0xA1, al
    CHECK 12
    mov ecx, WAIT_LOOPS
.deliver8:
    cmp dword [ticks8], 3
    jae .delivered8
    pause
    loop .deliver8
    jmp fail
.delivered8:
    cli
    mov al, 0xFF
    out 0xA1, al
    out 0x21, al
    mov al, 0x0B                    ; periodic interrupt off
    call cmos_read
    and al, 0xBF
    mov ah, al
    mov al, 0x0B
    call cmos_write

    ; 13: nothing left in service on either chip.
    CHECK 13
    call master_isr
    test al, al
    jnz fail
    call slave_isr
    test al, al
    jnz fail

    PUTS msg_ok
    jmp guest_pass
fail:
    cli
    jmp guest_fail

; OCW3 reads: al = IRR or ISR of the master or the slave.
master_irr:
    mov al, 0x0A
    out 0x20, al
    in al, 0x20
    ret
master_isr:
    mov al, 0x0B
    out 0x20, al
    in al, 0x20
    ret
slave_irr:
    mov al, 0x0A
    out 0xA0, al
    in al, 0xA0
    ret
slave_isr:
    mov al, 0x0B
    out 0xA0, al
    in al, 0xA0
    ret

; Returns once the master's IRR shows IRQ 0 (bounded; a PIT that stopped fails check 2).
wait_irr0:
    push ecx
    mov ecx, WAIT_LOOPS
.poll:
    call master_irr
    test al, 1
    jnz .done
    loop .poll
    pop ecx
    mov edi, 2
    jmp fail
.done:
    pop ecx
    ret

; Returns after 3 wraps of PIT channel 0 (3 periods, 30 ms), read through the counter latch;
; bounded like every wait. Gives a masked line time to misbehave.
wait_pit_periods:
    push ebx
    push ecx
    push edx
    mov edx, 3
    call pit_count
    mov bx, ax
    mov ecx, WAIT_LOOPS
.poll:
    call pit_count
    cmp ax, bx                      ; the count goes down; a rise is a wrap
    mov bx, ax
    jbe .same
    dec edx
    jz .done
.same:
    loop .poll
.done:
    pop edx
    pop ecx
    pop ebx
    ret

; ax = PIT channel 0's current count (latched).
pit_count:
    mov al, 0x00                    ; latch channel 0
    out 0x43, al
    in al, 0x40
    mov ah, al
    in al, 0x40
    xchg al, ah
    ret

; IRQ 0 without an EOI: what is in service is recorded for check 3.
irq0:
    push eax
    inc dword [ticks0]
    call master_isr
    mov [isr_in_handler], al
    pop eax
    iret

; IRQ 8: acknowledge the RTC (reading REG C lowers the line), then specific EOIs on both chips.
irq8:
    push eax
    inc dword [ticks8]
    mov al, 0x0C
    call cmos_read
    mov al, 0x60                    ; slave: specific EOI, its IRQ 0 (line 8)
    out 0xA0, al
    mov al, 0x62                    ; master: specific EOI, IRQ 2 (the cascade)
    out 0x20, al
    pop eax
    iret

GUEST_LIB

    align 4
ticks0: dd 0
ticks8: dd 0
isr_in_handler: db 0
STR msg_ok, `pic masking and eoi ok\n`
GUEST_END
