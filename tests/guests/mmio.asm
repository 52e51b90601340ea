; mmio: instructions against the test device's MMIO window (vmm/devices/testdev.h), each one a
; nested page fault the VMM decodes and emulates: mov, movzx, movsx, add, or, and, xor, cmp,
; test, xchg, rep stosd, rep movsd (RAM to MMIO and back) and rep movsb (MMIO to MMIO), with
; their results and flags checked. Run twice: with paging off (device at 0xFEB00000), then with
; 32-bit paging on, the device mapped at 0x800000 and the test code run through an alias at
; 0x40000000 (a 4 MiB page), so the VMM's page-table walker fetches every instruction and
; translates every operand. Passes with exit code 1; check k fails with 2k + 1 with paging off,
; 2(k + 32) + 1 with paging on:
;   1 ID register          2 movzx/movsx        3 scratch write/read   4 add and its flags
;   5 or/and/xor           6 cmp/test flags     7 xchg                 8 rep stosd
;   9 rep movsd RAM->MMIO->RAM                  10 the access counter  11 rep movsb MMIO->MMIO
%include "guest.inc"
%include "lib.inc"
GUEST_HEADER

TD_PHYS     equ 0xFEB00000
TD_VIRT     equ 0x00800000          ; where paging maps it
TD_ID       equ 0x54535450
TD_SCRATCH  equ 0x008
TD_COUNT    equ 0x010
TD_SINK     equ 0x018
TD_RESET    equ 0x020
TD_BUF      equ 0x100
PD          equ 0x120000            ; page directory
PT0         equ 0x121000            ; identity map of 0-4 MiB in 4 KiB pages
PT_TD       equ 0x122000            ; the device's page
SRC         equ 0x130000            ; RAM buffers for rep movsd
DST         equ 0x131000
ALIAS       equ 0x40000000          ; virtual alias of physical 0-4 MiB (one 4 MiB page)

%macro CHECK 1
    mov dword [check], %1
%endmacro

start:
    mov esp, guest_stack_top
    call com1_init

    mov ebp, TD_PHYS
    call mmio_tests
    test edi, edi
    jnz guest_fail
    PUTS msg_off

    call paging_on
    mov ebp, TD_VIRT
    mov eax, mmio_tests + ALIAS
    call eax
    test edi, edi
    jz .on_ok
    add edi, 32
    jmp guest_fail
.on_ok:
    PUTS msg_on
    jmp guest_pass

; 32-bit paging: PD[0] -> PT0 (identity, 4 KiB pages), PD[2] -> PT_TD (the device at 0x800000,
; cache disabled), PD[256] a 4 MiB page: 0x40000000 -> 0.
paging_on:
    cld
    mov edi, PD
    xor eax, eax
    mov ecx, 3 * 1024               ; PD, PT0 and PT_TD cleared
    rep stosd
    mov edi, PT0
    mov eax, 0x003                  ; present, writable
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov dword [PT_TD], TD_PHYS | 0x013 ; present, writable, cache disabled
    mov dword [PD + 0 * 4], PT0 | 0x003
    mov dword [PD + 2 * 4], PT_TD | 0x003
    mov dword [PD + 256 * 4], 0x00000083 ; present, writable, 4 MiB page at 0
    mov eax, cr4
    or eax, 0x10                    ; PSE
    mov cr4, eax
    mov eax, PD
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000              ; PG
    mov cr0, eax
    jmp .paged
.paged:
    ret

; The checks, against the device at ebp. Returns edi = 0, or the failed check's number.
; Position independent (relative jumps only; data at absolute identity-mapped addresses), so
; it runs at its load address and through the alias.
mmio_tests:
    cld
    mov dword [ebp + TD_RESET], 0   ; the counter from 0 (this write is not counted)

    CHECK 1
    mov eax, [ebp]
    cmp eax, TD_ID
    jne .fail

    CHECK 2
    movzx eax, byte [ebp + 3]
    cmp eax, 'T'
    jne .fail
    movzx eax, word [ebp + 1]
    cmp eax, 0x5354
    jne .fail
    mov byte [ebp + TD_BUF], 0x80
    movsx eax, byte [ebp + TD_BUF]
    cmp eax, 0xFFFFFF80
    jne .fail
    movsx eax, word [ebp + 2]       ; "ST" = 0x5453: positive
    cmp eax, 0x5453
    jne .fail

    CHECK 3
    mov dword [ebp + TD_SCRATCH], 0x12345678
    mov word [ebp + TD_SCRATCH + 2], 0xABCD
    mov eax, [ebp + TD_SCRATCH]
    cmp eax, 0xABCD5678
    jne .fail
    mov al, [ebp + TD_SCRATCH + 1]
    cmp al, 0x56
    jne .fail

    CHECK 4
    mov dword [ebp + TD_SCRATCH], 0xFFFFFFFF
    add dword [ebp + TD_SCRATCH], 1 ; wraps to 0: CF and ZF
    jnc .fail
    jnz .fail
    mov eax, 0x11111111
    add [ebp + TD_SCRATCH], eax     ; MMIO += register
    mov ebx, 0x22222222
    add ebx, [ebp + TD_SCRATCH]     ; register += MMIO
    cmp ebx, 0x33333333
    jne .fail
    cmp dword [ebp + TD_SCRATCH], 0x11111111
    jne .fail

    CHECK 5
    or dword [ebp + TD_SCRATCH], 0xF0000000   ; 0xF1111111
    and dword [ebp + TD_SCRATCH], 0xFF00FF00  ; 0xF1001100
    xor dword [ebp + TD_SCRATCH], 0x01001100  ; 0xF0000000
    js .sign_ok                     ; xor left the sign bit set
    jmp .fail
.sign_ok:
    mov eax, [ebp + TD_SCRATCH]
    cmp eax, 0xF0000000
    jne .fail
    and dword [ebp + TD_SCRATCH], 0x0FFFFFFF  ; 0: ZF
    jnz .fail
    mov ecx, 0x0F0F
    or cx, [ebp + TD_SCRATCH + 2]   ; register |= MMIO (16 bits)
    cmp ecx, 0x0F0F
    jne .fail

    CHECK 6
    cmp dword [ebp], TD_ID
    jne .fail
    mov eax, TD_ID + 1
    cmp [ebp], eax                  ; MMIO < register: CF
    jnc .fail
    cmp eax, [ebp]                  ; register > MMIO: no CF, no ZF
    jc .fail
    jz .fail
    test byte [ebp], 0x20           ; 'P' = 0x50: bit 5 clear
    jnz .fail
    test dword [ebp], 0x50
    jz .fail

    CHECK 7
    mov dword [ebp + TD_SCRATCH], 0x01020304
    mov eax, 0xAABBCCDD
    xchg [ebp + TD_SCRATCH], eax
    cmp eax, 0x01020304
    jne .fail
    cmp dword [ebp + TD_SCRATCH], 0xAABBCCDD
    jne .fail

    CHECK 8
    lea edi, [ebp + TD_BUF]
    mov ecx, 256
    mov eax, 0x5A5A5A5A
    rep stosd
    test ecx, ecx
    jnz .fail
    lea eax, [ebp + TD_BUF + 1024]
    cmp edi, eax
    jne .fail
    cmp dword [ebp + TD_BUF], 0x5A5A5A5A
    jne .fail
    cmp dword [ebp + TD_BUF + 1020], 0x5A5A5A5A
    jne .fail

    CHECK 9
    mov edi, SRC                    ; a pattern in RAM
    mov eax, 0x03020100
    mov ecx, 256
.pattern:
    stosd
    add eax, 0x04040404
    loop .pattern
    mov esi, SRC                    ; RAM -> MMIO
    lea edi, [ebp + TD_BUF + 0x400]
    mov ecx, 256
    rep movsd
    test ecx, ecx
    jnz .fail
    lea esi, [ebp + TD_BUF + 0x400] ; MMIO -> RAM
    mov edi, DST
    mov ecx, 256
    rep movsd
    mov esi, SRC
    mov edi, DST
    mov ecx, 256
    repe cmpsd                      ; RAM against RAM
    jne .fail

    CHECK 10
    mov dword [ebp + TD_RESET], 1   ; the counter restarts
    mov eax, [ebp]                  ; 1
    mov [ebp + TD_SINK], eax        ; 2
    mov [ebp + TD_SINK], eax        ; 3
    mov eax, [ebp + TD_COUNT]       ; reads 3, the accesses before it
    cmp eax, 3
    jne .fail

    CHECK 11
    lea esi, [ebp + TD_BUF + 0x400] ; MMIO -> MMIO, bytes
    lea edi, [ebp + TD_BUF + 0x800]
    mov ecx, 64
    rep movsb
    mov eax, [ebp + TD_BUF + 0x800 + 60]
    cmp eax, [SRC + 60]
    jne .fail

    xor edi, edi
    ret
.fail:
    mov edi, [check]
    ret

GUEST_LIB

    align 4
check: dd 0
STR msg_off, `mmio: paging off ok\n`
STR msg_on, `mmio: paging on ok (code through 0x40000000, device at 0x800000)\n`
GUEST_END
