package io.tansa.unwind;

import io.tansa.sys.SigFrame;
import java.util.Arrays;

/**
 * Walks a native x86-64 stack: DWARF CFI where an object's call-frame information covers the
 * pc, the kernel's signal frame at a signal trampoline, the rbp chain where neither applies, and
 * a stop marked {@link Stop#UNKNOWN} rather than a guessed frame when none of these works.
 *
 * <p>Lookup rule (as libgcc and gdb): the pc of frame 0 and of a frame interrupted by a signal is
 * where execution is, so it is looked up as is; every other pc is a return address, the
 * instruction after a call, and is looked up at pc - 1 so that a call ending a function (a
 * noreturn call) still resolves to the calling function.
 */
public final class Unwinder {
    private Unwinder() {}

    /** Finds the CFI of the object that contains a pc. */
    public interface Modules {
        /**
         * The CFI and load bias (runtime address - link-time address) of the object containing pc;
         * null when pc lies in no executable mapping (a JIT region is a module without CFI).
         */
        ModuleCfi forPc(long pc);
    }

    /** An object's CFI and its load bias. {@code cfi} may be null for an object without CFI. */
    public record ModuleCfi(Cfi cfi, long bias) {}

    /** How a frame's pc was recovered. */
    public enum Via {
        /** Frame 0: the thread's own rip. */
        REGISTERS,
        /** From the callee's DWARF CFI row. */
        CFI,
        /** From the kernel's signal frame (sigcontext), the callee being a signal trampoline. */
        SIGNAL,
        /** From the rbp chain: no CFI covered the callee's pc. */
        FRAME_POINTER
    }

    /** Why the walk ended. */
    public enum Stop {
        /** The outermost frame was reached (its CFI says the return address is undefined, or it is 0). */
        END,
        /** maxFrames frames were collected. */
        MAX_FRAMES,
        /** The next caller could not be found: no CFI and no usable frame pointer, or memory unreadable. */
        UNKNOWN,
        /** The stack pointer did not move towards the stack's base: a loop or corrupt stack. */
        LOOP
    }

    /**
     * Frames found, innermost first. {@link #pc} is the raw pc (for frames after the first usually a
     * return address); {@link #lookupPc} is the address to symbolize.
     */
    public record Result(long[] pcs, Via[] via, boolean[] exact, Stop stop) {
        public int size() {
            return pcs.length;
        }

        public long pc(int i) {
            return pcs[i];
        }

        /** The address to symbolize: pc for frame 0 and signal-interrupted frames, else pc - 1. */
        public long lookupPc(int i) {
            return exact[i] ? pcs[i] : pcs[i] - 1;
        }

        public Via via(int i) {
            return via[i];
        }

        /** True when the stack goes on beyond the last frame but could not be followed ([unknown]). */
        public boolean truncated() {
            return stop == Stop.UNKNOWN || stop == Stop.LOOP;
        }
    }

    private static final int RSP = Reg.RSP.ordinal(), RBP = Reg.RBP.ordinal(), RIP = Reg.RIP.ordinal();
    private static final int ALL = (1 << Reg.COUNT) - 1;

    /**
     * Walks from {@code regs} (a DWARF register file, {@link Reg}; at least rip, rsp and rbp must be
     * real, the callee-saved rbx, r12..r15 should be) through {@code mem} to at most
     * {@code maxFrames} frames. {@code regs} is not modified.
     */
    public static Result unwind(long[] regs, Memory mem, Modules modules, int maxFrames) {
        return unwind(regs, mem, modules, maxFrames, null);
    }

    /**
     * As above, but the walk also ends (as {@link Stop#MAX_FRAMES}) after the first frame whose pc
     * {@code last} accepts (e.g. the first frame of an interpreter whose callers are known).
     */
    public static Result unwind(long[] regs, Memory mem, Modules modules, int maxFrames, java.util.function.LongPredicate last) {
        long[] r = Arrays.copyOf(regs, Reg.COUNT);
        long[] next = new long[Reg.COUNT];
        int known = ALL;
        long[] pcs = new long[Math.min(maxFrames, 64)];
        Via[] via = new Via[pcs.length];
        boolean[] exact = new boolean[pcs.length];
        int n = 0;
        Via how = Via.REGISTERS;
        boolean isExact = true;
        Stop stop = Stop.MAX_FRAMES;
        while (n < maxFrames) {
            if (n == pcs.length) {
                pcs = Arrays.copyOf(pcs, Math.min(maxFrames, n * 2));
                via = Arrays.copyOf(via, pcs.length);
                exact = Arrays.copyOf(exact, pcs.length);
            }
            pcs[n] = r[RIP];
            via[n] = how;
            exact[n] = isExact;
            n++;
            if (n == maxFrames || (last != null && last.test(isExact ? r[RIP] : r[RIP] - 1))) break;

            long pc = r[RIP];
            long lookup = isExact ? pc : pc - 1;
            Row row = null;
            ModuleCfi m = modules.forPc(lookup);
            if (m != null && m.cfi() != null) row = m.cfi().lookup(lookup - m.bias());
            int nextKnown;
            try {
                if (row != null) {
                    long cfa = cfa(row, r, known, mem);
                    if (!row.signalFrame() && Long.compareUnsigned(cfa, r[RSP]) <= 0) {
                        stop = Stop.LOOP; // checked before reading through a CFA that cannot be right
                        break;
                    }
                    nextKnown = applyRow(row, cfa, r, known, mem, next);
                    if ((nextKnown & (1 << RIP)) == 0) {
                        stop = Stop.END;
                        break;
                    }
                    how = Via.CFI;
                    isExact = row.signalFrame();
                } else if (isRestorer(mem, pc)) {
                    readSigcontext(mem, r[RSP], next);
                    nextKnown = ALL;
                    how = Via.SIGNAL;
                    isExact = true;
                } else {
                    // An rbp that is not a frame pointer still often points into the stack; the
                    // return address it yields must at least lie in a mapped object.
                    if ((known & (1 << RBP)) == 0 || !framePointer(r, mem, next)
                            || modules.forPc(next[RIP] - 1) == null) {
                        stop = Stop.UNKNOWN;
                        break;
                    }
                    nextKnown = known;
                    how = Via.FRAME_POINTER;
                    isExact = false;
                }
            } catch (Memory.Fault | CfiException | ArrayIndexOutOfBoundsException e) {
                stop = Stop.UNKNOWN;
                break;
            }
            if (next[RIP] == 0) {
                stop = Stop.END;
                break;
            }
            // The stack grows down: every caller's frame lies above its callee's. The frame a signal
            // interrupted (isExact now) may be on another stack (sigaltstack), so it is exempt;
            // maxFrames bounds it still.
            if (!isExact && Long.compareUnsigned(next[RSP], r[RSP]) <= 0) {
                stop = Stop.LOOP;
                break;
            }
            long[] t = r;
            r = next;
            next = t;
            known = nextKnown;
        }
        if (n < pcs.length) {
            pcs = Arrays.copyOf(pcs, n);
            via = Arrays.copyOf(via, n);
            exact = Arrays.copyOf(exact, n);
        }
        return new Result(pcs, via, exact, stop);
    }

    private static long cfa(Row row, long[] r, int known, Memory mem) {
        Rule c = row.cfa();
        if (c.kind() == Rule.Kind.CFA_REG_OFFSET) {
            if ((known & (1 << c.reg())) == 0) throw new CfiException("CFA register unknown");
            return r[c.reg()] + c.offset();
        }
        return Expr.eval(c.expr(), r, known, mem, 0, false);
    }

    /** Computes the caller's registers into {@code out}; returns which of them are known. */
    private static int applyRow(Row row, long cfa, long[] r, int known, Memory mem, long[] out) {
        int outKnown = 0;
        Rule[] rules = row.regs();
        for (int i = 0; i < Reg.COUNT; i++) {
            int col = i == RIP ? row.raColumn() : i;
            Rule rule = col < rules.length ? rules[col] : Rule.UNDEFINED;
            long v;
            boolean ok = true;
            switch (rule.kind()) {
                case SAME_VALUE -> {
                    if (i == RSP) v = cfa; // the CFA is by definition the caller's rsp
                    else {
                        v = r[col];
                        ok = (known & (1 << col)) != 0;
                    }
                }
                case UNDEFINED -> { v = 0; ok = false; }
                case OFFSET -> v = mem.readLong(cfa + rule.offset());
                case VAL_OFFSET -> v = cfa + rule.offset();
                case REGISTER -> { v = r[rule.reg()]; ok = (known & (1 << rule.reg())) != 0; }
                case EXPRESSION -> v = mem.readLong(Expr.eval(rule.expr(), r, known, mem, cfa, true));
                case VAL_EXPRESSION -> v = Expr.eval(rule.expr(), r, known, mem, cfa, true);
                default -> throw new CfiException("bad register rule " + rule.kind());
            }
            out[i] = v;
            if (ok) outKnown |= 1 << i;
        }
        return outKnown;
    }

    private static boolean isRestorer(Memory mem, long pc) {
        byte[] code = new byte[SigFrame.RESTORER_CODE.length];
        return mem.read(pc, code, 0, code.length) == code.length && Arrays.equals(code, SigFrame.RESTORER_CODE);
    }

    /** The interrupted registers from the sigcontext at {@code rsp} (rsp points at the ucontext). */
    private static void readSigcontext(Memory mem, long rsp, long[] out) {
        long sc = rsp + SigFrame.UC_MCONTEXT;
        out[Reg.R8.ordinal()] = mem.readLong(sc + SigFrame.SC_R8);
        out[Reg.R9.ordinal()] = mem.readLong(sc + SigFrame.SC_R9);
        out[Reg.R10.ordinal()] = mem.readLong(sc + SigFrame.SC_R10);
        out[Reg.R11.ordinal()] = mem.readLong(sc + SigFrame.SC_R11);
        out[Reg.R12.ordinal()] = mem.readLong(sc + SigFrame.SC_R12);
        out[Reg.R13.ordinal()] = mem.readLong(sc + SigFrame.SC_R13);
        out[Reg.R14.ordinal()] = mem.readLong(sc + SigFrame.SC_R14);
        out[Reg.R15.ordinal()] = mem.readLong(sc + SigFrame.SC_R15);
        out[Reg.RDI.ordinal()] = mem.readLong(sc + SigFrame.SC_RDI);
        out[Reg.RSI.ordinal()] = mem.readLong(sc + SigFrame.SC_RSI);
        out[Reg.RBP.ordinal()] = mem.readLong(sc + SigFrame.SC_RBP);
        out[Reg.RBX.ordinal()] = mem.readLong(sc + SigFrame.SC_RBX);
        out[Reg.RDX.ordinal()] = mem.readLong(sc + SigFrame.SC_RDX);
        out[Reg.RAX.ordinal()] = mem.readLong(sc + SigFrame.SC_RAX);
        out[Reg.RCX.ordinal()] = mem.readLong(sc + SigFrame.SC_RCX);
        out[RSP] = mem.readLong(sc + SigFrame.SC_RSP);
        out[RIP] = mem.readLong(sc + SigFrame.SC_RIP);
    }

    /**
     * One step of the rbp chain ([rbp] = caller's rbp, [rbp+8] = return address). Accepted only if
     * rbp points into the stack above rsp and 8-aligned: code built without frame pointers uses
     * rbp as an ordinary register, and following it then would invent callers.
     */
    private static boolean framePointer(long[] r, Memory mem, long[] out) {
        long rbp = r[RBP];
        if ((rbp & 7) != 0 || Long.compareUnsigned(rbp, r[RSP]) < 0 || rbp - r[RSP] > (64L << 20)) return false;
        System.arraycopy(r, 0, out, 0, Reg.COUNT);
        out[RBP] = mem.readLong(rbp);
        out[RIP] = mem.readLong(rbp + 8);
        out[RSP] = rbp + 16;
        return true;
    }
}
