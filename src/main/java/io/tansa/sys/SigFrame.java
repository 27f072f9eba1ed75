package io.tansa.sys;

/**
 * The x86-64 signal frame the kernel pushes before running a handler (arch/x86/kernel/signal_64.c,
 * struct rt_sigframe { char *pretcode; struct ucontext uc; struct siginfo info; }). When the
 * handler returns into the restorer ({@code __restore_rt}: {@code mov $15,%rax; syscall}), the
 * ret has popped pretcode, so rsp points at {@code uc}. Offsets from &lt;asm-generic/ucontext.h&gt;
 * (struct ucontext: uc_flags, uc_link, stack_t uc_stack, struct sigcontext uc_mcontext) and
 * &lt;asm/sigcontext.h&gt; (struct sigcontext, x86_64 branch); verified by SigFrameLayoutTest.
 */
public final class SigFrame {
    private SigFrame() {}

    /** offsetof(struct ucontext, uc_mcontext). */
    public static final int UC_MCONTEXT = 40;

    /** Offsets inside struct sigcontext (x86_64). */
    public static final int SC_R8 = 0, SC_R9 = 8, SC_R10 = 16, SC_R11 = 24, SC_R12 = 32, SC_R13 = 40,
            SC_R14 = 48, SC_R15 = 56, SC_RDI = 64, SC_RSI = 72, SC_RBP = 80, SC_RBX = 88, SC_RDX = 96,
            SC_RAX = 104, SC_RCX = 112, SC_RSP = 120, SC_RIP = 128;

    /** __NR_rt_sigreturn on x86-64 (&lt;asm/unistd_64.h&gt;). */
    public static final int NR_RT_SIGRETURN = 15;

    /**
     * The restorer's code, {@code mov $__NR_rt_sigreturn,%rax; syscall} (48 c7 c0 0f 00 00 00 0f 05),
     * as glibc's and musl's x86-64 restorers are written.
     */
    public static final byte[] RESTORER_CODE = {0x48, (byte) 0xc7, (byte) 0xc0, NR_RT_SIGRETURN, 0, 0, 0, 0x0f, 0x05};
}
