package io.tansa.sys;

/**
 * x86-64 user registers as PTRACE_GETREGS returns them: struct user_regs_struct from
 * &lt;sys/user.h&gt;, 27 unsigned longs in this order. Mutable so a caller can change and SETREGS.
 */
public final class Regs {
    public static final int R15 = 0, R14 = 1, R13 = 2, R12 = 3, RBP = 4, RBX = 5, R11 = 6, R10 = 7,
            R9 = 8, R8 = 9, RAX = 10, RCX = 11, RDX = 12, RSI = 13, RDI = 14, ORIG_RAX = 15, RIP = 16,
            CS = 17, EFLAGS = 18, RSP = 19, SS = 20, FS_BASE = 21, GS_BASE = 22, DS = 23, ES = 24, FS = 25,
            GS = 26;
    public static final int COUNT = 27;
    public static final long SIZE = COUNT * 8L; // sizeof(struct user_regs_struct) == 216

    public final long[] r = new long[COUNT];

    public long ip() { return r[RIP]; }
    public long sp() { return r[RSP]; }
    public long fsBase() { return r[FS_BASE]; }

    public Regs copy() {
        Regs c = new Regs();
        System.arraycopy(r, 0, c.r, 0, COUNT);
        return c;
    }
}
