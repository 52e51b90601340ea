; cmos: reads the CMOS memory-size bytes and checks them against the VM's memory (the multiboot
; mem_upper), checks the checksum and the RTC's registers, and that the clock runs. Prints
; "cmos: ext KiB N, above 16 MiB N x 64 KiB, date YYYY-MM-DD hh:mm:ss" on COM1 and passes
; with exit code 1; a failed check k ends with 2k + 1:
;   1 0x15/0x16 base memory is not 640 KiB   2 0x17/0x18 is not min(mem_upper, 65535) KiB
;   3 0x30/0x31 differs from 0x17/0x18       4 0x34/0x35 is not the 64 KiB units above 16 MiB
;   5 the checksum at 0x2E/0x2F is wrong     6 REG D's valid-RAM bit is clear
;   7 a time register is not valid BCD       8 seconds, minutes or hours out of range
;   9 day or month out of range             10 the year is not 2000-2099
;  11 the seconds never changed (clock stopped)  12 an NVRAM byte did not keep its value
;  13 the multiboot info has no memory sizes
%include "guest.inc"
%include "lib.inc"
GUEST_HEADER

%macro CHECK 1
    mov edi, %1
%endmacro

start:
    mov esp, guest_stack_top
    mov [mbi], ebx
    call com1_init

    CHECK 13
    test dword [ebx], 1             ; flags: mem_lower/mem_upper valid
    jz fail
    mov eax, [ebx + 8]              ; mem_upper: KiB from 1 MiB
    mov [mem_upper], eax

    CHECK 1
    mov al, 0x15
    call cmos_word
    cmp eax, 640
    jne fail

    CHECK 2
    mov ebx, [mem_upper]
    cmp ebx, 65535
    jbe .ext_ok
    mov ebx, 65535
.ext_ok:
    mov al, 0x17
    call cmos_word
    mov [ext_kib], eax
    cmp eax, ebx
    jne fail
    CHECK 3
    mov al, 0x30
    call cmos_word
    cmp eax, ebx
    jne fail

    CHECK 4
    xor ebx, ebx                    ; (mem_upper - 15 MiB) / 64 KiB, or 0
    mov eax, [mem_upper]
    cmp eax, 15360
    jbe .above_ok
    lea ebx, [eax - 15360]
    shr ebx, 6
.above_ok:
    mov al, 0x34
    call cmos_word
    mov [above16], eax
    cmp eax, ebx
    jne fail

    CHECK 5                         ; sum of 0x10-0x2D, big endian at 0x2E
    xor ebx, ebx
    mov cl, 0x10
.sum:
    mov al, cl
    call cmos_read
    movzx eax, al
    add ebx, eax
    inc cl
    cmp cl, 0x2E
    jb .sum
    mov al, 0x2E
    call cmos_read
    mov ah, al
    mov al, 0x2F
    call cmos_read
    movzx eax, ax
    cmp eax, ebx
    jne fail

    CHECK 6
    mov al, 0x0D
    call cmos_read
    test al, 0x80
    jz fail

    ; The time, once no update is in progress.
    mov al, 0x0B
    call cmos_read
    mov [regb], al
    call rtc_wait_uip
    mov esi, time_regs
    mov edi, time_vals
    mov ecx, time_regs_len
.read_time:
    mov al, [esi]
    call cmos_read
    test byte [regb], 0x04          ; DM: binary
    jnz .binary
    and al, 0x7F                    ; the hour's PM bit is not a digit
    call bcd_to_bin
    jc .bad_bcd
.binary:
    mov [edi], al
    inc esi
    inc edi
    loop .read_time
    jmp .time_read
.bad_bcd:
    CHECK 7
    jmp fail
.time_read:
    CHECK 8
    cmp byte [t_sec], 59
    ja fail
    cmp byte [t_min], 59
    ja fail
    mov al, [t_hour]
    and al, 0x7F
    test byte [regb], 0x02          ; 24-hour mode
    jnz .h24
    cmp al, 1
    jb fail
    cmp al, 12
    ja fail
    jmp .hour_ok
.h24:
    cmp al, 23
    ja fail
.hour_ok:
    CHECK 9
    cmp byte [t_day], 1
    jb fail
    cmp byte [t_day], 31
    ja fail
    cmp byte [t_mon], 1
    jb fail
    cmp byte [t_mon], 12
    ja fail
    CHECK 10
    cmp byte [t_cent], 20
    jne fail
    cmp byte [t_year], 99
    ja fail

    CHECK 11                        ; the clock runs: the seconds change within ~2 s
    mov bl, [t_sec]
    mov ecx, WAIT_LOOPS
.tick:
    call rtc_wait_uip
    mov al, 0x00
    call cmos_read
    test byte [regb], 0x04
    jnz .tick_bin
    call bcd_to_bin
.tick_bin:
    cmp al, bl
    jne .ticked
    loop .tick
    jmp fail
.ticked:

    CHECK 12                        ; NVRAM keeps what is written
    mov ax, 0xA540
    call cmos_write
    mov al, 0x40
    call cmos_read
    cmp al, 0xA5
    jne fail
    mov ax, 0x5A40
    call cmos_write
    mov al, 0x40
    call cmos_read
    cmp al, 0x5A
    jne fail

    PUTS msg_cmos
    PUTDEC [ext_kib]
    PUTS msg_above
    PUTDEC [above16]
    PUTS msg_date
    movzx eax, byte [t_cent]
    imul eax, 100
    movzx ebx, byte [t_year]
    add eax, ebx
    PUTDEC eax
    PUTC '-'
    movzx eax, byte [t_mon]
    call put2
    PUTC '-'
    movzx eax, byte [t_day]
    call put2
    PUTC ' '
    movzx eax, byte [t_hour]
    call put2
    PUTC ':'
    movzx eax, byte [t_min]
    call put2
    PUTC ':'
    movzx eax, byte [t_sec]
    call put2
    PUTC 10
    PUTS msg_ok
    jmp guest_pass
fail:
    jmp guest_fail

; eax = the little-endian 16-bit CMOS word at registers al (low byte) and al + 1.
cmos_word:
    push ebx
    push ecx
    mov cl, al
    call cmos_read
    movzx ebx, al
    mov al, cl
    inc al
    call cmos_read
    movzx eax, al
    shl eax, 8
    or eax, ebx
    pop ecx
    pop ebx
    ret

; al = BCD al in binary; CF set when a digit is above 9.
bcd_to_bin:
    push ebx
    mov bl, al
    and bl, 0x0F
    cmp bl, 9
    ja .bad
    mov bh, al
    shr bh, 4
    cmp bh, 9
    ja .bad
    mov al, bh
    mov bh, 10
    mul bh
    add al, bl
    pop ebx
    clc
    ret
.bad:
    pop ebx
    stc
    ret

; Two decimal digits of eax (< 100).
put2:
    cmp eax, 10
    jae .two
    PUTC '0'
.two:
    call com1_putdec
    ret

GUEST_LIB

    align 4
mbi: dd 0
mem_upper: dd 0
ext_kib: dd 0
above16: dd 0
regb: db 0
time_regs: db 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32
time_regs_len equ $ - time_regs
time_vals:
t_sec: db 0
t_min: db 0
t_hour: db 0
t_day: db 0
t_mon: db 0
t_year: db 0
t_cent: db 0
STR msg_cmos, 'cmos: ext KiB '
STR msg_above, ', above 16 MiB '
STR msg_date, ' x 64 KiB, date '
STR msg_ok, `cmos ok\n`
GUEST_END
