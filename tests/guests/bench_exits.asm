; bench_exits: the exit benchmark's guest (bench/exits.sh). Times, with RDTSC around each loop,
; 100,000 iterations of one intercepted instruction per kind, in 5 rounds of 20,000 that take
; the kinds in turn (so a change in the host's load hits every kind alike):
;   bare     VMMCALL nop (hypercall 2), which the VMM handles first and only advances RIP: the
;            bare VMRUN/#VMEXIT round trip plus the VMM's fixed per-exit work
;   out      OUT to port 0x80 (the POST port: a device write and nothing else)
;   cpuid    CPUID leaf 0 (the host's value through the CPUID policy)
;   vmmcall  the print hypercall with 0 bytes: the whole hypercall path, argument checks, no
;            output
;   mmio     a 32-bit write to the test device's SINK register (nested page fault, instruction
;            fetch through the page-table walker, decode, emulation)
; then one REP OUTSB of 64 KiB to port 0x80, timed the same way. (INVD would be the classic
; bare exit, but QEMU 7.2 checks the WBINVD intercept for it, so it never exits.) Each loop's
; result is printed through the print hypercall (so the IO exit counter holds only the loops'
; exits) as
;   "bench: KIND ITERATIONS iterations CYCLES cycles"
; and the VM ends with the exit hypercall, code 0.
%include "guest.inc"
GUEST_HEADER

ROUNDS    equ 5
ITERS     equ 20000               ; per round
HC_NOP    equ 2
TD_SINK   equ 0xFEB00018
OUTS_BUF  equ 0x200000
OUTS_LEN  equ 65536

; TIMED iterations ... END_TIMED kind-label: runs the instructions between them `iterations`
; times (ebp counts) between two RDTSCs, then prints the result. They may use eax, ebx, ecx,
; edx, esi, edi.
%macro TIMED 1
%push timed
    mov dword [iters], %1
    rdtsc
    mov [t0], eax
    mov [t0 + 4], edx
    mov ebp, %1
%$loop:
%endmacro

%macro END_TIMED 1
    dec ebp
    jnz %$loop
    rdtsc
    mov ebx, [iters]
    mov esi, %1
    mov ecx, %1_len
    call report
%pop
%endmacro

start:
    mov esp, guest_stack_top
    cld
    mov edi, OUTS_BUF               ; the 64 KiB that rep outsb sends
    mov ecx, OUTS_LEN
    mov al, 'x'
    rep stosb

    mov dword [round], ROUNDS
next_round:
    TIMED ITERS
    mov eax, HC_NOP
    vmmcall
    END_TIMED k_bare

    TIMED ITERS
    out 0x80, al
    END_TIMED k_out

    TIMED ITERS
    xor eax, eax
    cpuid
    END_TIMED k_cpuid

    TIMED ITERS
    mov eax, HC_PRINT
    mov ebx, line
    xor ecx, ecx
    vmmcall
    END_TIMED k_vmmcall

    TIMED ITERS
    mov dword [TD_SINK], eax
    END_TIMED k_mmio
    dec dword [round]
    jnz next_round

    TIMED 1
    mov esi, OUTS_BUF
    mov ecx, OUTS_LEN
    mov dx, 0x80
    rep outsb
    END_TIMED k_outsb

    mov eax, HC_EXIT
    xor ebx, ebx
    vmmcall

; report: edx:eax = the TSC at the loop's end, [t0] at its start, ebx iterations, esi/ecx the
; kind's name. Prints "bench: KIND N iterations C cycles\n" through the print hypercall.
report:
    sub eax, [t0]
    sbb edx, [t0 + 4]
    mov [cycles], eax
    mov [cycles + 4], edx
    mov edi, line
    mov eax, 'benc'
    stosd
    mov eax, 'h:  '
    stosd
    dec edi
    rep movsb                       ; the kind
    mov al, ' '
    stosb
    mov eax, ebx
    xor edx, edx
    call fmt_u64
    mov esi, s_iters
    mov ecx, s_iters_len
    rep movsb
    mov eax, [cycles]
    mov edx, [cycles + 4]
    call fmt_u64
    mov esi, s_cycles
    mov ecx, s_cycles_len
    rep movsb
    mov ecx, edi
    sub ecx, line
    mov eax, HC_PRINT
    mov ebx, line
    vmmcall
    ret

; fmt_u64: edx:eax in decimal at edi (edi advances). Repeated 64/32 division by 10.
fmt_u64:
    push ebx
    push ecx
    push esi
    mov esi, digits_end
.next:
    mov ecx, eax                    ; low half
    mov eax, edx                    ; divide the high half first
    xor edx, edx
    mov ebx, 10
    div ebx
    mov [hi], eax
    mov eax, ecx
    div ebx                         ; edx:eax = remainder:low
    dec esi
    add dl, '0'
    mov [esi], dl
    mov edx, [hi]
    mov ecx, eax
    or ecx, edx
    jnz .next
    mov ecx, digits_end
    sub ecx, esi
    rep movsb
    pop esi
    pop ecx
    pop ebx
    ret

    align 8
t0: dq 0
cycles: dq 0
hi: dd 0
iters: dd 0
round: dd 0
digits: times 24 db 0
digits_end:
line: times 96 db 0
STR k_bare, 'bare'
STR k_out, 'out'
STR k_cpuid, 'cpuid'
STR k_vmmcall, 'vmmcall'
STR k_mmio, 'mmio'
STR k_outsb, 'outsb64k'
STR s_iters, ' iterations '
STR s_cycles, ` cycles\n`
GUEST_END
