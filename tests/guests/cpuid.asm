; cpuid: checks the CPUID policy from inside the guest. Exit code 0 when every check passes,
; else the number of the first failing check:
;   1 hypervisor bit (1:ECX[31]) clear      2 VMX (1:ECX[5]) set       3 MONITOR (1:ECX[3]) set
;   4 x2APIC (1:ECX[21]) set                5 TSC deadline (1:ECX[24]) 6 XSAVE (1:ECX[26]) set
;   7 SVM (8000_0001:ECX[2]) set            8 leaf 0x40000000 signature is not "PetrelPetrel"
;   9 leaf 0x40000000 EAX is not 0x40000001 10 SVM leaf 8000_000A not zero
;  11 logical CPU count (1:EBX[23:16]) is not 1
%include "guest.inc"
GUEST_HEADER

%macro CHECK_CLEAR 3                ; register, bit, check number
    test %1, 1 << %2
    jz %%ok
    mov edi, %3
    jmp fail
%%ok:
%endmacro

start:
    mov esp, guest_stack_top
    mov eax, 1
    xor ecx, ecx
    cpuid
    mov edi, 1
    test ecx, 1 << 31
    jz fail
    CHECK_CLEAR ecx, 5, 2
    CHECK_CLEAR ecx, 3, 3
    CHECK_CLEAR ecx, 21, 4
    CHECK_CLEAR ecx, 24, 5
    CHECK_CLEAR ecx, 26, 6
    shr ebx, 16
    and ebx, 0xFF
    mov edi, 11
    cmp ebx, 1
    jne fail

    mov eax, 0x80000001
    xor ecx, ecx
    cpuid
    CHECK_CLEAR ecx, 2, 7

    mov eax, 0x40000000
    cpuid
    mov edi, 9
    cmp eax, 0x40000001
    jne fail
    mov edi, 8
    cmp ebx, 'Petr'
    jne fail
    cmp ecx, 'elPe'
    jne fail
    cmp edx, 'trel'
    jne fail

    mov eax, 0x8000000A
    cpuid
    mov edi, 10
    or eax, ebx
    or eax, ecx
    or eax, edx
    jnz fail

    HC_PRINT_STR ok, ok_len
    HC_EXIT_CODE 0
fail:
    HC_PRINT_STR bad, bad_len
    mov eax, HC_EXIT
    mov ebx, edi
    vmmcall

STR ok, `cpuid policy ok\n`
STR bad, `cpuid policy check failed\n`
GUEST_END
