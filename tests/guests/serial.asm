; serial: says hello on COM1 the way a small kernel does (8N1 at 115200, then each byte when
; the transmitter holding register is empty), then a line in one `rep outsb`, and ends with
; the isa-debug-exit device: writing 0 to port 0xF4 gives exit code 1 (QEMU's (v << 1) | 1).
%include "guest.inc"
GUEST_HEADER

COM1 equ 0x3F8

start:
    mov esp, guest_stack_top
    mov dx, COM1 + 3
    mov al, 0x80                    ; DLAB
    out dx, al
    mov dx, COM1
    mov al, 1                       ; divisor 1: 115200 baud
    out dx, al
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03                    ; 8N1
    out dx, al
    mov esi, msg
    mov ecx, msg_len
.next:
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20                   ; THR empty
    jz .wait
    mov dx, COM1
    lodsb
    out dx, al
    loop .next
    cld
    mov esi, msg2
    mov ecx, msg2_len
    mov dx, COM1
    rep outsb
    xor eax, eax
    out EXIT_PORT, al
    HC_EXIT_CODE 99                 ; not reached

STR msg, `hello from COM1\n`
STR msg2, `second line in one exit\n`
GUEST_END
