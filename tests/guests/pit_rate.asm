; pit_rate: the PIT at 100 Hz (channel 0, mode 2) counted against the RTC: IRQ 0s are counted
; from one RTC second boundary to the second boundary after it (2 RTC seconds), sleeping in HLT
; between ticks. Prints "pit: N irq0 in 2 rtc seconds" on COM1 and passes (exit code 1) when N
; is within 20% of 200. Checks (exit code 2k + 1):
;   1 fewer than 160 or more than 240 ticks      2 the RTC seconds did not advance
%include "guest.inc"
%include "lib.inc"
GUEST_HEADER

PIT_HZ_WANTED equ 100
PIT_COUNT     equ 11932             ; 1193182 Hz / 100
SECONDS       equ 2
TICKS_MIN     equ PIT_HZ_WANTED * SECONDS * 8 / 10
TICKS_MAX     equ PIT_HZ_WANTED * SECONDS * 12 / 10
TICKS_LIMIT   equ PIT_HZ_WANTED * 10 ; no RTC second in 10 s of ticks: the RTC is stuck

start:
    mov esp, guest_stack_top
    GUEST_GDT
    call com1_init
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

    call rtc_seconds                ; wait for a second boundary
    mov bl, al
.to_boundary:
    hlt
    mov edi, 2
    cmp dword [ticks], TICKS_LIMIT
    ja fail
    call rtc_seconds
    cmp al, bl
    je .to_boundary
    mov bl, al
    mov dword [ticks], 0            ; count from here
    mov esi, SECONDS
.count:
    hlt
    mov edi, 2
    cmp dword [ticks], TICKS_LIMIT
    ja fail
    call rtc_seconds
    cmp al, bl
    je .count
    mov bl, al
    dec esi
    jnz .count
    mov ebx, [ticks]
    cli

    PUTS msg_pit
    PUTDEC ebx
    PUTS msg_in
    mov edi, 1
    cmp ebx, TICKS_MIN
    jb fail
    cmp ebx, TICKS_MAX
    ja fail
    PUTS msg_ok
    jmp guest_pass
fail:
    cli
    jmp guest_fail

; al = the RTC's seconds register (whatever its format: only changes matter here).
rtc_seconds:
    call rtc_wait_uip
    mov al, 0x00
    call cmos_read
    ret

irq0:
    inc dword [ticks]
    push eax
    mov al, 0x20                    ; non-specific EOI
    out 0x20, al
    pop eax
    iret

GUEST_LIB

    align 4
ticks: dd 0
STR msg_pit, 'pit: '
STR msg_in, ` irq0 in 2 rtc seconds (want 200)\n`
STR msg_ok, `pit rate ok\n`
GUEST_END
