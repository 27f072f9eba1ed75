package io.tansa.unwind;

/**
 * x86-64 registers in DWARF numbering (System V AMD64 psABI, figure 3.36 "DWARF Register Number
 * Mapping"): the index of each constant is its DWARF register number, so a register file is a
 * {@code long[Reg.COUNT]} indexed by {@code ordinal()}. {@link #RIP} is column 16, the
 * return-address column gcc, clang and glibc use.
 */
public enum Reg {
    RAX, RDX, RCX, RBX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, RIP;

    /** Size of a register file covering every DWARF column the unwinder tracks (0..16). */
    public static final int COUNT = 17;

    /**
     * A DWARF register file from PTRACE_GETREGS / PERF_SAMPLE_REGS_USER order
     * (struct user_regs_struct, see {@link io.tansa.sys.Regs}).
     */
    public static long[] fromPtrace(io.tansa.sys.Regs r) {
        long[] d = new long[COUNT];
        d[RAX.ordinal()] = r.r[io.tansa.sys.Regs.RAX];
        d[RDX.ordinal()] = r.r[io.tansa.sys.Regs.RDX];
        d[RCX.ordinal()] = r.r[io.tansa.sys.Regs.RCX];
        d[RBX.ordinal()] = r.r[io.tansa.sys.Regs.RBX];
        d[RSI.ordinal()] = r.r[io.tansa.sys.Regs.RSI];
        d[RDI.ordinal()] = r.r[io.tansa.sys.Regs.RDI];
        d[RBP.ordinal()] = r.r[io.tansa.sys.Regs.RBP];
        d[RSP.ordinal()] = r.r[io.tansa.sys.Regs.RSP];
        d[R8.ordinal()] = r.r[io.tansa.sys.Regs.R8];
        d[R9.ordinal()] = r.r[io.tansa.sys.Regs.R9];
        d[R10.ordinal()] = r.r[io.tansa.sys.Regs.R10];
        d[R11.ordinal()] = r.r[io.tansa.sys.Regs.R11];
        d[R12.ordinal()] = r.r[io.tansa.sys.Regs.R12];
        d[R13.ordinal()] = r.r[io.tansa.sys.Regs.R13];
        d[R14.ordinal()] = r.r[io.tansa.sys.Regs.R14];
        d[R15.ordinal()] = r.r[io.tansa.sys.Regs.R15];
        d[RIP.ordinal()] = r.r[io.tansa.sys.Regs.RIP];
        return d;
    }

    /**
     * A DWARF register file from the registers of a perf sample (PERF_SAMPLE_REGS_USER, indexed by
     * the enum perf_event_x86_regs bit numbers, see {@link io.tansa.sys.PerfRecord#UNWIND_REGS}).
     */
    public static long[] fromPerf(long[] p) {
        long[] d = new long[COUNT];
        d[RAX.ordinal()] = p[io.tansa.sys.PerfRecord.REG_AX];
        d[RBX.ordinal()] = p[io.tansa.sys.PerfRecord.REG_BX];
        d[RCX.ordinal()] = p[io.tansa.sys.PerfRecord.REG_CX];
        d[RDX.ordinal()] = p[io.tansa.sys.PerfRecord.REG_DX];
        d[RSI.ordinal()] = p[io.tansa.sys.PerfRecord.REG_SI];
        d[RDI.ordinal()] = p[io.tansa.sys.PerfRecord.REG_DI];
        d[RBP.ordinal()] = p[io.tansa.sys.PerfRecord.REG_BP];
        d[RSP.ordinal()] = p[io.tansa.sys.PerfRecord.REG_SP];
        d[RIP.ordinal()] = p[io.tansa.sys.PerfRecord.REG_IP];
        for (int i = 0; i < 8; i++) d[R8.ordinal() + i] = p[io.tansa.sys.PerfRecord.REG_R8 + i];
        return d;
    }
}
