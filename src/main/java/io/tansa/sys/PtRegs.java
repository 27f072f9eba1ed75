package io.tansa.sys;

/**
 * Offsets in x86-64 {@code struct pt_regs} (/usr/include/x86_64-linux-gnu/asm/ptrace.h, the uapi
 * layout: r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi, orig_rax, rip,
 * cs, eflags, rsp, ss): the context a BPF_PROG_TYPE_KPROBE program gets at a uprobe hit holds the
 * probed thread's user registers there. Checked in BpfMapLayoutTest.
 */
public final class PtRegs {
    private PtRegs() {}

    public static final int RBP = 32, RBX = 40, RIP = 128, RSP = 152;
    public static final int SIZE = 168;
}
