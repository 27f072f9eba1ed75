package io.tansa.unwind;

import io.tansa.elf.ElfFile;
import io.tansa.elf.Sorted;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

/**
 * One object's CFI reduced to what a walk that tracks only rsp, rbp and the return address
 * needs (the form a BPF program can follow, see {@link KernelWalkProgram}): sorted link-time pc
 * ranges, each with a {@code kind} and two numbers.
 *
 * <ul>
 *   <li>{@link #RSP}/{@link #RBP}: CFA = rsp|rbp + cfaOffset; return address at CFA − 8; rbp of the
 *       caller unchanged, or (flag {@link #RBP_SAVED}) at CFA + rbpOffset, or (flag
 *       {@link #RBP_LOST}) not recoverable (a later CFA = rbp row then ends the walk).</li>
 *   <li>{@link #PLT}: the PLT's DWARF expression, CFA = rsp + 8 + ((rip &amp; 15) ≥ rbpOffset ? 8 : 0).</li>
 *   <li>{@link #SIGNAL}: a signal trampoline ("S" augmentation, CFA = *(rsp + 160)): the interrupted
 *       registers are in the rt_sigframe's sigcontext at rsp + {@code SigFrame.UC_MCONTEXT}, its pc exact.</li>
 *   <li>{@link #END}: the return address is undefined: the outermost frame (_start, clone3's child).</li>
 *   <li>{@link #UNREDUCIBLE}: a rule outside these forms; the walk stops there, marked, never guessing.</li>
 *   <li>{@link #NONE}: no FDE covers the range (between functions, after the last one).</li>
 * </ul>
 *
 * The ranges are contiguous from the first FDE's start: each row holds until the next row's pc;
 * the last row is a NONE. Adjacent equal rows are merged. Lookup semantics are {@link Cfi}'s:
 * an address belongs to the FDE with the greatest start not above it, if it lies before its end.
 */
public final class CompactRules {
    // kinds (the u8 at offset 8 of an encoded row; KernelWalkProgram switches on them)
    public static final int NONE = 0, RSP = 1, RBP = 2, PLT = 3, SIGNAL = 4, END = 5, UNREDUCIBLE = 6;
    // flags (the u8 at offset 9)
    public static final int RBP_SAVED = 1, RBP_LOST = 2;
    /** Bytes of one encoded row: u64 pc, u8 kind, u8 flags, s16 rbpOffset, s32 cfaOffset. */
    public static final int ROW_BYTES = 16;

    private final long[] pcs;
    private final byte[] kinds;
    private final byte[] flags;
    private final short[] rbpOffsets;
    private final int[] cfaOffsets;
    /** Rows of the original CFI, and how many of them reduced to each kind. */
    private final long fullRows;
    private final long[] byKind;

    private CompactRules(long[] pcs, byte[] kinds, byte[] flags, short[] rbpOffsets, int[] cfaOffsets, long fullRows,
            long[] byKind) {
        this.pcs = pcs;
        this.kinds = kinds;
        this.flags = flags;
        this.rbpOffsets = rbpOffsets;
        this.cfaOffsets = cfaOffsets;
        this.fullRows = fullRows;
        this.byKind = byKind;
    }

    private static final Map<ElfFile, Optional<CompactRules>> BY_ELF =
            java.util.Collections.synchronizedMap(new WeakHashMap<>());

    /** The reduced rules of an object (cached per ElfFile); null when it has no CFI. */
    public static CompactRules of(ElfFile elf) {
        return BY_ELF.computeIfAbsent(elf, e -> Optional.ofNullable(Cfi.of(e)).map(CompactRules::reduce)).orElse(null);
    }

    /** Reduces every FDE's rows. */
    public static CompactRules reduce(Cfi cfi) {
        Builder b = new Builder();
        long[] byKind = new long[7];
        long full = 0;
        int n = cfi.size();
        long prevEnd = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            Row[] rows = cfi.fdeRows(i);
            long start = cfi.fdeStart(i);
            long limit = i + 1 < n ? cfi.fdeStart(i + 1) : Long.MAX_VALUE; // the next FDE takes over (floor lookup)
            if (prevEnd != Long.MIN_VALUE && Long.compareUnsigned(prevEnd, start) < 0) b.add(prevEnd, NONE, 0, 0, 0);
            if (rows == null || rows.length == 0) {
                b.add(start, NONE, 0, 0, 0);
                prevEnd = start;
                continue;
            }
            long end = start;
            for (Row r : rows) {
                if (Long.compareUnsigned(r.start(), limit) >= 0) break;
                full++;
                long[] red = reduceRow(r);
                byKind[(int) red[0]]++;
                b.add(r.start(), (int) red[0], (int) red[1], (int) red[2], (int) red[3]);
                end = r.end();
            }
            prevEnd = Long.compareUnsigned(end, limit) > 0 ? limit : end;
        }
        if (prevEnd != Long.MIN_VALUE) b.add(prevEnd, NONE, 0, 0, 0);
        return b.build(full, byKind);
    }

    private static final byte[] SIGNAL_CFA = {0x77, (byte) 0xa0, 0x01, 0x06}; // DW_OP_breg7 160; DW_OP_deref

    /** {kind, flags, rbpOffset, cfaOffset} for one row. */
    static long[] reduceRow(Row r) {
        Rule cfa = r.cfa();
        if (r.signalFrame()) {
            if (cfa.kind() == Rule.Kind.CFA_EXPRESSION && Arrays.equals(cfa.expr(), SIGNAL_CFA)) {
                return new long[] {SIGNAL, 0, 0, 0};
            }
            return new long[] {UNREDUCIBLE, 0, 0, 0};
        }
        if (cfa.kind() == Rule.Kind.CFA_EXPRESSION) {
            int threshold = pltThreshold(cfa.expr());
            if (threshold < 0) return new long[] {UNREDUCIBLE, 0, 0, 0};
            if (!returnAddressAtCfaMinus8(r)) return new long[] {UNREDUCIBLE, 0, 0, 0};
            return new long[] {PLT, 0, threshold, 8};
        }
        if (cfa.kind() != Rule.Kind.CFA_REG_OFFSET) return new long[] {UNREDUCIBLE, 0, 0, 0};
        int base;
        if (cfa.reg() == Reg.RSP.ordinal()) base = RSP;
        else if (cfa.reg() == Reg.RBP.ordinal()) base = RBP;
        else return new long[] {UNREDUCIBLE, 0, 0, 0};
        if (cfa.offset() != (int) cfa.offset()) return new long[] {UNREDUCIBLE, 0, 0, 0};
        Rule ra = r.raColumn() < r.regs().length ? r.regs()[r.raColumn()] : Rule.UNDEFINED;
        if (ra.kind() == Rule.Kind.UNDEFINED) return new long[] {END, 0, 0, 0};
        if (!returnAddressAtCfaMinus8(r)) return new long[] {UNREDUCIBLE, 0, 0, 0};
        Rule sp = r.regs()[Reg.RSP.ordinal()];
        if (sp.kind() != Rule.Kind.SAME_VALUE) return new long[] {UNREDUCIBLE, 0, 0, 0};
        Rule bp = r.regs()[Reg.RBP.ordinal()];
        return switch (bp.kind()) {
            case SAME_VALUE -> new long[] {base, 0, 0, cfa.offset()};
            case OFFSET -> bp.offset() == (short) bp.offset() ? new long[] {base, RBP_SAVED, bp.offset(), cfa.offset()}
                    : new long[] {UNREDUCIBLE, 0, 0, 0};
            // the caller's rbp cannot be followed from here: fine unless some caller's CFA needs it
            default -> new long[] {base, RBP_LOST, 0, cfa.offset()};
        };
    }

    private static boolean returnAddressAtCfaMinus8(Row r) {
        Rule ra = r.raColumn() < r.regs().length ? r.regs()[r.raColumn()] : Rule.UNDEFINED;
        return ra.kind() == Rule.Kind.OFFSET && ra.offset() == -8;
    }

    /**
     * The x86-64 PLT's CFA expression (binutils elf_x86_64_eh_frame_plt):
     * {@code DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litN; DW_OP_ge;
     * DW_OP_lit3; DW_OP_shl; DW_OP_plus}: returns N (11 for the lazy PLT, 10 for IBT's), or -1.
     */
    static int pltThreshold(byte[] e) {
        if (e == null || e.length != 11) return -1;
        int[] want = {0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a, -1, 0x2a, 0x33, 0x24, 0x22};
        for (int i = 0; i < want.length; i++) if (want[i] >= 0 && (e[i] & 0xff) != want[i]) return -1;
        int lit = e[6] & 0xff;
        if (lit < 0x30 || lit > 0x4f) return -1;
        return lit - 0x30;
    }

    private static final class Builder {
        long[] pcs = new long[1024];
        byte[] kinds = new byte[1024], flags = new byte[1024];
        short[] rbp = new short[1024];
        int[] cfa = new int[1024];
        int n;

        void add(long pc, int kind, int fl, int rbpOff, int cfaOff) {
            if (n > 0 && pcs[n - 1] == pc) n--; // an empty range: the later row wins
            if (n > 0 && kinds[n - 1] == kind && flags[n - 1] == fl && rbp[n - 1] == rbpOff && cfa[n - 1] == cfaOff) {
                return; // the same rule goes on
            }
            if (n == pcs.length) {
                int m = n * 2;
                pcs = Arrays.copyOf(pcs, m);
                kinds = Arrays.copyOf(kinds, m);
                flags = Arrays.copyOf(flags, m);
                rbp = Arrays.copyOf(rbp, m);
                cfa = Arrays.copyOf(cfa, m);
            }
            pcs[n] = pc;
            kinds[n] = (byte) kind;
            flags[n] = (byte) fl;
            rbp[n] = (short) rbpOff;
            cfa[n] = cfaOff;
            n++;
        }

        CompactRules build(long full, long[] byKind) {
            return new CompactRules(Arrays.copyOf(pcs, n), Arrays.copyOf(kinds, n), Arrays.copyOf(flags, n),
                    Arrays.copyOf(rbp, n), Arrays.copyOf(cfa, n), full, byKind);
        }
    }

    /** Number of compact rows (after merging equal neighbours). */
    public int size() {
        return pcs.length;
    }

    public long pc(int i) { return pcs[i]; }
    public int kind(int i) { return kinds[i]; }
    public int flags(int i) { return flags[i]; }
    public int rbpOffset(int i) { return rbpOffsets[i]; }
    public int cfaOffset(int i) { return cfaOffsets[i]; }

    /** Rows of the full CFI that were reduced. */
    public long fullRows() {
        return fullRows;
    }

    /** Of {@link #fullRows}, how many reduced to {@code kind}. */
    public long rowsOfKind(int kind) {
        return byKind[kind];
    }

    /** Share of the full rows that reduced (every kind but {@link #UNREDUCIBLE}). */
    public double reducedShare() {
        return fullRows == 0 ? 1 : 1 - (double) byKind[UNREDUCIBLE] / fullRows;
    }

    /** Index of the row covering link-time address {@code vaddr}, or -1 before the first. */
    public int find(long vaddr) {
        return Sorted.floor(pcs, vaddr);
    }

    /** Writes row {@code i} in the layout the BPF program reads (little endian, {@link #ROW_BYTES}). */
    public void encode(int i, java.nio.ByteBuffer out) {
        out.putLong(pcs[i]).put(kinds[i]).put(flags[i]).putShort(rbpOffsets[i]).putInt(cfaOffsets[i]);
    }

    /** Why a {@link #walk} ended. Same numbers as the BPF program's stop codes. */
    public enum Stop {
        /** The outermost frame (return address undefined, or 0). */
        END,
        /** The frame limit. */
        DEPTH,
        /** A pc in no known object (code mapped since the maps were read, JIT code). */
        UNKNOWN_PC,
        /** A pc in an object where no CFI covers it. */
        NO_CFI,
        /** A row outside the compact forms. */
        UNREDUCIBLE,
        /** Stack memory unreadable. */
        FAULT,
        /** The stack pointer did not grow. */
        LOOP,
        /** A CFA based on an rbp that could not be recovered. */
        RBP_LOST,
        /** The kernel walker had no mappings of the process (not registered yet: a child forked since). */
        NO_MAPS
    }

    /** Finds an object's rules and load bias for a pc; null when no known object holds it. */
    public interface Objects {
        Located at(long pc);
    }

    /** An object's rules (null without CFI) and its bias. */
    public record Located(CompactRules rules, long bias) {}

    /** A walk: the pcs (frame 0 at its exact pc, callers at their return addresses), which are exact, and the stop. */
    public record Walk(long[] pcs, boolean[] exact, Stop stop) {
        /** As the unwinder's result, for the symbolization of capture. */
        public Unwinder.Result asResult() {
            Unwinder.Via[] via = new Unwinder.Via[pcs.length];
            for (int i = 0; i < via.length; i++) via[i] = i == 0 ? Unwinder.Via.REGISTERS : Unwinder.Via.CFI;
            Unwinder.Stop s = switch (stop) {
                case END -> Unwinder.Stop.END;
                case DEPTH -> Unwinder.Stop.MAX_FRAMES;
                case LOOP -> Unwinder.Stop.LOOP;
                default -> Unwinder.Stop.UNKNOWN;
            };
            return new Unwinder.Result(pcs, via, exact, s);
        }
    }

    /**
     * The walk {@link KernelWalkProgram} does in the kernel, in Java over {@code mem}: the reference
     * for the program, and the check of the reduction against {@link Unwinder}.
     */
    public static Walk walk(long rip, long rsp, long rbp, Memory mem, Objects objects, int maxFrames) {
        long[] pcs = new long[maxFrames];
        boolean[] exact = new boolean[maxFrames];
        int n = 0;
        boolean isExact = true, rbpKnown = true;
        Stop stop = Stop.DEPTH;
        long pc = rip;
        while (true) {
            pcs[n] = pc;
            exact[n] = isExact;
            n++;
            if (n == maxFrames) break;
            long lookup = isExact ? pc : pc - 1;
            Located o = objects.at(lookup);
            if (o == null) { stop = Stop.UNKNOWN_PC; break; }
            int i = o.rules() == null ? -1 : o.rules().find(lookup - o.bias());
            int kind = i < 0 ? NONE : o.rules().kind(i);
            CompactRules c = o.rules();
            try {
                if (kind == RSP || kind == RBP || kind == PLT) {
                    long cfa;
                    if (kind == RBP) {
                        if (!rbpKnown) { stop = Stop.RBP_LOST; break; }
                        cfa = rbp + c.cfaOffset(i);
                    } else if (kind == PLT) {
                        cfa = rsp + 8 + ((pc & 15) >= c.rbpOffset(i) ? 8 : 0);
                    } else {
                        cfa = rsp + c.cfaOffset(i);
                    }
                    if (Long.compareUnsigned(cfa, rsp) <= 0) { stop = Stop.LOOP; break; }
                    long ra = mem.readLong(cfa - 8);
                    if (kind != PLT) {
                        int f = c.flags(i);
                        if ((f & RBP_SAVED) != 0) { rbp = mem.readLong(cfa + c.rbpOffset(i)); rbpKnown = true; }
                        else if ((f & RBP_LOST) != 0) rbpKnown = false;
                    }
                    rsp = cfa;
                    pc = ra;
                    isExact = false;
                } else if (kind == SIGNAL) {
                    long sc = rsp + io.tansa.sys.SigFrame.UC_MCONTEXT;
                    pc = mem.readLong(sc + io.tansa.sys.SigFrame.SC_RIP);
                    long nsp = mem.readLong(sc + io.tansa.sys.SigFrame.SC_RSP);
                    rbp = mem.readLong(sc + io.tansa.sys.SigFrame.SC_RBP);
                    rbpKnown = true;
                    rsp = nsp;
                    isExact = true;
                } else {
                    stop = switch (kind) {
                        case END -> Stop.END;
                        case UNREDUCIBLE -> Stop.UNREDUCIBLE;
                        default -> Stop.NO_CFI;
                    };
                    break;
                }
            } catch (Memory.Fault e) {
                stop = Stop.FAULT;
                break;
            }
            if (pc == 0) { stop = Stop.END; break; }
        }
        return new Walk(Arrays.copyOf(pcs, n), Arrays.copyOf(exact, n), stop);
    }
}
