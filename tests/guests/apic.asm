; apic: the local APIC and IOAPIC of a VM started with the `apic` option, seen from inside.
; Routes the PIT (ISA IRQ 0) through IOAPIC pin 2 at 100 Hz and uses it as the clock to
; calibrate the LAPIC timer, runs the LAPIC timer periodic at 1 kHz and counts its interrupts
; over 200 ms, fires a TSC-deadline interrupt 10 ms ahead, and takes a level-triggered
; interrupt (COM2's THRE on pin 3, held high) three times through remote IRR and the EOI
; broadcast. Prints what it measured and exits with code 0, else the number of the first
; failing check:
;   1 CPUID.1:EDX.APIC clear          2 CPUID.1:ECX.TSC-deadline clear   3 x2APIC offered
;   4 APIC base MSR not 0xFEE00900    5 LAPIC version not 0x50014        6 IOAPIC version
;   8 LAPIC timer does not count      9 1 kHz timer: ticks in 200 ms outside 100..300
;  10 no TSC-deadline interrupt       11 TSC-deadline MSR not 0 after    12 level pin count
;  13 remote IRR still set            14 an unexpected interrupt or exception
;  15 TSC-deadline interrupt before the deadline
%include "guest.inc"
GUEST_HEADER

LAPIC      equ 0xFEE00000
IOAPIC     equ 0xFEC00000
VEC_TIMER  equ 0x40
VEC_PIT    equ 0x41
VEC_TSC    equ 0x42
VEC_LEVEL  equ 0x43
PIT_COUNT  equ 11932                ; 1193182 Hz / 100
COM2_IER   equ 0x2F9
COM2_MCR   equ 0x2FC

; IOAPIC register %1 = %2
%macro IOAPIC_SET 2
    mov dword [IOAPIC], %1
    mov dword [IOAPIC + 0x10], %2
%endmacro

%macro LAPIC_EOI 0
    mov dword [LAPIC + 0xB0], 0
%endmacro

start:
    mov esp, guest_stack_top
    GUEST_GDT
    xor ecx, ecx
.idt:
    IDT_GATE ecx, unexpected
    inc ecx
    cmp ecx, 256
    jb .idt
    IDT_GATE VEC_TIMER, isr_timer
    IDT_GATE VEC_PIT, isr_pit
    IDT_GATE VEC_TSC, isr_tsc
    IDT_GATE VEC_LEVEL, isr_level
    IDT_LOAD
    PIC_REMAP 0xFF                  ; the 8259 masked: everything comes through the APICs

    mov eax, 1
    xor ecx, ecx
    cpuid
    mov edi, 1
    test edx, 1 << 9
    jz fail
    mov edi, 2
    test ecx, 1 << 24
    jz fail
    mov edi, 3
    test ecx, 1 << 21
    jnz fail

    mov ecx, 0x1B
    rdmsr
    mov edi, 4
    cmp eax, 0xFEE00900
    jne fail
    test edx, edx
    jnz fail

    mov edi, 5
    cmp dword [LAPIC + 0x30], 0x00050014
    jne fail
    mov dword [IOAPIC], 1
    mov edi, 6
    cmp dword [IOAPIC + 0x10], 0x00170011
    jne fail

    ; LAPIC on, the 8259 cut off LINT0 (as Linux does once the IOAPIC has the timer).
    mov dword [LAPIC + 0xF0], 0x1FF
    mov dword [LAPIC + 0x80], 0
    mov dword [LAPIC + 0x350], 0x10700
    ; IOAPIC pin 2 (ISA IRQ 0 through the override): edge, fixed, physical APIC 0.
    IOAPIC_SET 0x15, 0
    IOAPIC_SET 0x14, VEC_PIT
    mov al, 0x34                    ; PIT channel 0, lobyte/hibyte, mode 2
    out 0x43, al
    mov al, PIT_COUNT & 0xFF
    out 0x40, al
    mov al, PIT_COUNT >> 8
    out 0x40, al
    sti
    call wait_tick

    ; Calibration over 10 PIT ticks: the LAPIC timer counting down from 2^32-1 (divide by
    ; 1, masked) and the TSC.
    mov dword [LAPIC + 0x3E0], 0xB
    mov dword [LAPIC + 0x320], 0x10000 | VEC_TIMER
    mov dword [LAPIC + 0x380], 0xFFFFFFFF
    rdtsc
    mov [tsc0], eax
    mov [tsc0 + 4], edx
    mov ecx, 10
    call wait_ticks
    mov ebx, 0xFFFFFFFF
    sub ebx, [LAPIC + 0x390]        ; bus clocks in 100 ms
    rdtsc
    sub eax, [tsc0]
    sbb edx, [tsc0 + 4]
    mov ecx, 10
    div ecx
    mov [tsc_10ms], eax
    mov dword [LAPIC + 0x380], 0
    mov edi, 8
    cmp ebx, 100000
    jb fail

    ; Periodic at 1 kHz for 20 PIT ticks.
    mov eax, ebx
    xor edx, edx
    mov ecx, 100
    div ecx
    mov [period], eax
    mov dword [LAPIC + 0x320], 0x20000 | VEC_TIMER
    call wait_tick
    mov dword [lapic_ticks], 0
    mov eax, [period]
    mov [LAPIC + 0x380], eax
    mov ecx, 20
    call wait_ticks
    mov dword [LAPIC + 0x380], 0
    mov eax, [lapic_ticks]
    mov [periodic_ticks], eax
    mov edi, 9
    cmp eax, 100
    jb fail
    cmp eax, 300
    ja fail

    ; TSC deadline 10 ms ahead, waited for at most 50 PIT ticks.
    mov dword [LAPIC + 0x320], 0x40000 | VEC_TSC
    rdtsc
    add eax, [tsc_10ms]
    adc edx, 0
    mov [deadline], eax
    mov [deadline + 4], edx
    mov ecx, 0x6E0
    wrmsr
    mov esi, 50
.tsc_wait:
    cmp dword [tsc_fired], 0
    jne .tsc_got
    mov ecx, 1
    call wait_ticks
    dec esi
    jnz .tsc_wait
    mov edi, 10
    jmp fail
.tsc_got:
    mov edi, 15
    mov eax, [fired_tsc]
    mov edx, [fired_tsc + 4]
    sub eax, [deadline]
    sbb edx, [deadline + 4]
    jb fail
    mov ecx, 0x6E0
    rdmsr
    or eax, edx
    mov edi, 11
    jnz fail

    ; Level-triggered: COM2's THRE interrupt holds ISA line 3 high; pin 3 level, vector
    ; VEC_LEVEL. The handler lets it come back twice through EOI, then drops the line.
    IOAPIC_SET 0x17, 0
    IOAPIC_SET 0x16, VEC_LEVEL | (1 << 15)
    mov dx, COM2_MCR
    mov al, 0x08                    ; OUT2: the line is driven
    out dx, al
    mov dx, COM2_IER
    mov al, 0x02                    ; THRE interrupt: pending at once
    out dx, al
    mov ecx, 5
    call wait_ticks
    mov edi, 12
    cmp dword [level_count], 3
    jne fail
    mov dword [IOAPIC], 0x16
    mov edi, 13
    test dword [IOAPIC + 0x10], 1 << 14
    jnz fail
    cli

    ; "apic ok: 1 kHz LAPIC timer N ticks in 200 ms, TSC deadline, level pin 3 times"
    mov edi, outbuf
    mov esi, msg1
    mov ecx, msg1_len
    rep movsb
    mov eax, [periodic_ticks]
    call put_dec
    mov esi, msg2
    mov ecx, msg2_len
    rep movsb
    mov eax, [level_count]
    call put_dec
    mov esi, msg3
    mov ecx, msg3_len
    rep movsb
    mov ecx, edi
    sub ecx, outbuf
    mov eax, HC_PRINT
    mov ebx, outbuf
    vmmcall
    HC_EXIT_CODE 0

fail:
    cli
    HC_PRINT_STR bad, bad_len
    mov eax, HC_EXIT
    mov ebx, edi
    vmmcall

; wait_tick: until the next PIT tick. wait_ticks: ECX ticks. Clobbers EAX.
wait_tick:
    mov ecx, 1
wait_ticks:
    mov eax, [pit_ticks]
    add eax, ecx
.w:
    hlt
    cmp [pit_ticks], eax
    jb .w
    ret

; put_dec: EAX in decimal at [EDI], EDI advanced. Clobbers EAX, EBX, ECX, EDX.
put_dec:
    mov ebx, 10
    xor ecx, ecx
.div:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .div
.out:
    pop eax
    add al, '0'
    stosb
    loop .out
    ret

isr_pit:
    inc dword [pit_ticks]
    LAPIC_EOI
    iret

isr_timer:
    inc dword [lapic_ticks]
    LAPIC_EOI
    iret

isr_tsc:
    push eax
    push edx
    rdtsc
    mov [fired_tsc], eax
    mov [fired_tsc + 4], edx
    mov dword [tsc_fired], 1
    LAPIC_EOI
    pop edx
    pop eax
    iret

isr_level:
    push eax
    push edx
    inc dword [level_count]
    cmp dword [level_count], 3
    jb .keep
    mov dx, COM2_MCR
    xor al, al                      ; OUT2 off: the line drops
    out dx, al
.keep:
    LAPIC_EOI                       ; a line still high comes back after this
    pop edx
    pop eax
    iret

unexpected:
    mov edi, 14
    jmp fail

    align 8
tsc0:           dq 0
deadline:       dq 0
fired_tsc:      dq 0
tsc_10ms:       dd 0
period:         dd 0
pit_ticks:      dd 0
lapic_ticks:    dd 0
periodic_ticks: dd 0
tsc_fired:      dd 0
level_count:    dd 0
STR msg1, `apic ok: 1 kHz LAPIC timer `
STR msg2, ` ticks in 200 ms (PIT through IOAPIC pin 2), TSC deadline, level pin taken `
STR msg3, ` times\n`
STR bad, `apic check failed\n`
outbuf: times 160 db 0
GUEST_END
