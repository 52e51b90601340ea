; The SVM world switch. C calls it with GIF clear and interrupts enabled (host IF = 1, so a
; host interrupt that arrives in the guest causes an INTR exit); it returns with GIF still
; clear and the host's FS/GS/TR/LDTR and syscall MSRs restored, and the caller sets GIF.
;
; void svm_world_switch(uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa, uint64_t *gpr)
;   rdi  guest VMCB (VMLOAD/VMRUN/VMSAVE operand)
;   rsi  host VMCB-format page for the state VMRUN does not switch
;   rdx  the guest GPRs in x86 order (struct vmm_regs.gpr); RAX and RSP live in the VMCB

bits 64
section .text

%define GPR(n) (n * 8)

global svm_world_switch
svm_world_switch:
    push rbp
    push rbx
    push r12
    push r13
    push r14
    push r15
    push rdx                    ; [rsp + 8] after the next push: the GPR array
    push rsi                    ; [rsp]: host save page

    mov rax, rsi
    vmsave                      ; host FS, GS, TR, LDTR, KernelGsBase, STAR..SFMASK, SYSENTER

    mov rax, rdi                ; VMRUN restores this RAX on #VMEXIT
    mov rcx, [rdx + GPR(1)]
    mov rbx, [rdx + GPR(3)]
    mov rbp, [rdx + GPR(5)]
    mov rsi, [rdx + GPR(6)]
    mov rdi, [rdx + GPR(7)]
    mov r8,  [rdx + GPR(8)]
    mov r9,  [rdx + GPR(9)]
    mov r10, [rdx + GPR(10)]
    mov r11, [rdx + GPR(11)]
    mov r12, [rdx + GPR(12)]
    mov r13, [rdx + GPR(13)]
    mov r14, [rdx + GPR(14)]
    mov r15, [rdx + GPR(15)]
    mov rdx, [rdx + GPR(2)]

    vmload
    vmrun
    vmsave

    ; Host RSP and RAX are back; every other GPR still holds the guest's value.
    mov rax, [rsp + 8]
    mov [rax + GPR(1)], rcx
    mov [rax + GPR(2)], rdx
    mov [rax + GPR(3)], rbx
    mov [rax + GPR(5)], rbp
    mov [rax + GPR(6)], rsi
    mov [rax + GPR(7)], rdi
    mov [rax + GPR(8)], r8
    mov [rax + GPR(9)], r9
    mov [rax + GPR(10)], r10
    mov [rax + GPR(11)], r11
    mov [rax + GPR(12)], r12
    mov [rax + GPR(13)], r13
    mov [rax + GPR(14)], r14
    mov [rax + GPR(15)], r15

    pop rax
    vmload                  ; the host's TR and friends again, before any interrupt
    add rsp, 8
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbx
    pop rbp
    ret
