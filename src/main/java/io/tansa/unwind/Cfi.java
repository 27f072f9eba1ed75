package io.tansa.unwind;

import io.tansa.elf.Sorted;

import io.tansa.elf.ElfFile;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * One object's call-frame information (.eh_frame with its .eh_frame_hdr search table, or
 * .debug_frame): maps a link-time address to the {@link Row} that says how to find the caller.
 *
 * <p>Formats: DWARF 5 section 6.4 (CIE/FDE, DW_CFA_*), LSB Core 5.0 "Exception Frames" (.eh_frame
 * differences: CIE id 0 and relative CIE pointers, augmentation strings z/R/P/L/S/"eh",
 * DW_EH_PE pointer encodings, .eh_frame_hdr). Construction only indexes the FDEs (the hdr table
 * is used as is); an FDE's rows are computed on the first lookup that lands in it and cached.
 * Thread-safe.
 */
public final class Cfi {
    private final byte[] frame;
    private final long frameVaddr;
    private final boolean debugFrame;
    /** Sorted FDE start addresses and, at the same index, the FDE's offset in {@link #frame}. */
    private final long[] starts;
    private final int[] fdes;
    private final AtomicReferenceArray<Fde> parsed;
    private final ConcurrentHashMap<Integer, Cie> cies = new ConcurrentHashMap<>();

    private Cfi(byte[] frame, long frameVaddr, boolean debugFrame, long[] starts, int[] fdes) {
        this.frame = frame;
        this.frameVaddr = frameVaddr;
        this.debugFrame = debugFrame;
        this.starts = starts;
        this.fdes = fdes;
        this.parsed = new AtomicReferenceArray<>(starts.length);
    }

    /**
     * CFI from .eh_frame, found through the binary search table of .eh_frame_hdr (the table is
     * used in place: O(log n) lookups, no scan). Falls back to indexing .eh_frame when the header
     * has no table or an encoding other than the usual datarel|sdata4.
     *
     * @param hdrVaddr   link-time address of .eh_frame_hdr (sh_addr)
     * @param ehFrameVaddr link-time address of .eh_frame
     */
    public static Cfi parse(byte[] ehFrameHdr, long hdrVaddr, byte[] ehFrame, long ehFrameVaddr) {
        Cursor c = new Cursor(ehFrameHdr, hdrVaddr, 0);
        int version = c.u8();
        int ptrEnc = c.u8(), countEnc = c.u8(), tableEnc = c.u8();
        if (version != 1) throw new CfiException(".eh_frame_hdr version " + version);
        c.encoded(ptrEnc, hdrVaddr); // eh_frame_ptr: the caller already gave us .eh_frame
        if (countEnc == Cursor.PE_OMIT || tableEnc != (Cursor.PE_DATAREL | Cursor.PE_SDATA4)) {
            return parseEhFrame(ehFrame, ehFrameVaddr);
        }
        int n = (int) c.encoded(countEnc, hdrVaddr);
        long[] starts = new long[n];
        int[] offs = new int[n];
        for (int i = 0; i < n; i++) {
            starts[i] = hdrVaddr + c.s32();
            long fde = hdrVaddr + c.s32();
            offs[i] = (int) (fde - ehFrameVaddr);
        }
        return new Cfi(ehFrame, ehFrameVaddr, false, starts, offs);
    }

    private static final Map<ElfFile, Optional<Cfi>> BY_ELF = java.util.Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * The CFI of an ELF file: .eh_frame through .eh_frame_hdr, else .eh_frame alone, else
     * .debug_frame; null when it has none (or it is malformed). Cached per ElfFile.
     */
    public static Cfi of(ElfFile elf) {
        return BY_ELF.computeIfAbsent(elf, e -> {
            try {
                var eh = e.section(".eh_frame").filter(x -> x.size() > 0);
                var hdr = e.section(".eh_frame_hdr").filter(x -> x.size() > 0);
                if (eh.isPresent() && hdr.isPresent()) {
                    return Optional.of(parse(hdr.get().bytes(), hdr.get().addr(), eh.get().bytes(), eh.get().addr()));
                }
                if (eh.isPresent()) return Optional.of(parseEhFrame(eh.get().bytes(), eh.get().addr()));
                return e.section(".debug_frame").filter(x -> x.size() > 0).map(d -> parseDebugFrame(d.bytes()));
            } catch (RuntimeException malformed) {
                return Optional.empty();
            }
        }).orElse(null);
    }

    /** CFI from an .eh_frame section alone (no header): indexes every FDE once. */
    public static Cfi parseEhFrame(byte[] ehFrame, long ehFrameVaddr) {
        return index(ehFrame, ehFrameVaddr, false);
    }

    /** CFI from a .debug_frame section (addresses in it are absolute link-time addresses). */
    public static Cfi parseDebugFrame(byte[] debugFrame) {
        return index(debugFrame, 0, true);
    }

    /** Number of FDEs (functions or function parts covered). */
    public int size() {
        return starts.length;
    }

    /**
     * Start of the FDE covering link-time address {@code vaddr}: the entry of the function (or of
     * a part of one, such as gcc's {@code .cold} code) that holds it, found in a binary with no
     * symbol there; -1 when no FDE covers it.
     */
    public long functionStart(long vaddr) {
        int i = Sorted.floor(starts, vaddr);
        if (i < 0) return -1;
        Fde f = fde(i);
        return f == null || vaddr >= f.end ? -1 : starts[i];
    }

    /** The rules at link-time address {@code vaddr} (that is, pc - load bias), if any FDE covers it. */
    public Optional<Row> find(long vaddr) {
        return Optional.ofNullable(lookup(vaddr));
    }

    Row lookup(long vaddr) {
        int i = Sorted.floor(starts, vaddr);
        if (i < 0) return null;
        Fde f = fde(i);
        if (f == null || vaddr >= f.end) return null;
        Row[] rows = f.rows;
        int lo = 0, hi = rows.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            Row r = rows[mid];
            if (vaddr < r.start()) hi = mid - 1;
            else if (vaddr >= r.end()) lo = mid + 1;
            else return r;
        }
        return null;
    }


    /** Start address of FDE {@code i} in sorted order ({@link CompactRules}). */
    long fdeStart(int i) {
        return starts[i];
    }

    /** The rows of FDE {@code i} (sorted, contiguous from its start to its end), or null if malformed. */
    Row[] fdeRows(int i) {
        Fde f = fde(i);
        return f == null ? null : f.rows;
    }

    private record Fde(long end, Row[] rows) {}

    private static final Fde BROKEN = new Fde(0, new Row[0]);

    private Fde fde(int i) {
        Fde f = parsed.get(i);
        if (f == null) {
            try {
                f = interpret(fdes[i]);
            } catch (RuntimeException e) { // malformed FDE: uncovered, as if absent
                f = BROKEN;
            }
            parsed.compareAndSet(i, null, f);
        }
        return f == BROKEN ? null : f;
    }

    // ---- CIE / FDE records -------------------------------------------------------------------

    private record Cie(int codeAlign, long dataAlign, int raColumn, int fdeEnc, boolean augZ, boolean signal,
                       int insnStart, int insnEnd) {}

    /** Start of an entry's content after the length field(s); end is returned through {@code out}. */
    private static int header(Cursor c, int[] out) {
        long len = c.u32();
        boolean dwarf64 = len == 0xffffffffL;
        if (dwarf64) len = c.u64();
        out[0] = (int) (c.pos + len);
        out[1] = dwarf64 ? 1 : 0;
        return c.pos;
    }

    private Cie cie(int off) {
        Cie c = cies.get(off);
        if (c == null) {
            c = parseCie(frame, frameVaddr, off, debugFrame);
            cies.put(off, c);
        }
        return c;
    }

    private static Cie parseCie(byte[] b, long vaddr, int off, boolean debug) {
        Cursor c = new Cursor(b, vaddr, off);
        int[] h = new int[2];
        header(c, h);
        int end = h[0];
        if (h[1] == 1) c.u64(); else c.u32(); // CIE id
        int version = c.u8();
        String aug = c.cstring();
        if (aug.contains("eh")) c.u64(); // old gcc: address of the exception table
        if (debug && version >= 4) {
            c.u8(); // address_size
            c.u8(); // segment_selector_size
        }
        int codeAlign = (int) c.uleb();
        long dataAlign = c.sleb();
        int ra = version == 1 ? c.u8() : (int) c.uleb();
        int fdeEnc = Cursor.PE_ABSPTR;
        boolean signal = false;
        boolean z = aug.startsWith("z");
        if (z) {
            int augLen = (int) c.uleb();
            int augEnd = c.pos + augLen;
            for (int i = 1; i < aug.length(); i++) {
                char ch = aug.charAt(i);
                if (ch == 'R') fdeEnc = c.u8();
                else if (ch == 'P') c.encoded(c.u8() & 0x7f, 0); // personality: consumed, not needed
                else if (ch == 'L') c.u8(); // LSDA encoding: the FDE's LSDA pointer is skipped via its length
                else if (ch == 'S') signal = true;
                else break; // unknown letters: the rest of the data is skipped by length
            }
            c.pos = augEnd;
        }
        if (aug.indexOf('S') > 0) signal = true;
        return new Cie(codeAlign, dataAlign, ra, fdeEnc, z, signal, c.pos, end);
    }

    /** Indexes every FDE of a section by scanning it. */
    private static Cfi index(byte[] b, long vaddr, boolean debug) {
        List<long[]> list = new ArrayList<>();
        java.util.Map<Integer, Cie> cies = new java.util.HashMap<>();
        Cursor c = new Cursor(b, vaddr, 0);
        int[] h = new int[2];
        while (c.pos + 4 <= b.length) {
            int entry = c.pos;
            header(c, h);
            int end = h[0];
            if (end == entry + 4) break; // zero terminator (.eh_frame)
            int idPos = c.pos;
            long id = h[1] == 1 ? c.u64() : c.u32();
            boolean isCie = debug ? (id == 0xffffffffL || id == -1L) : id == 0;
            if (!isCie) {
                int cieOff = debug ? (int) id : (int) (idPos - id);
                Cie cie = cies.computeIfAbsent(cieOff, o -> parseCie(b, vaddr, o, debug));
                long start = debug ? c.u64() : c.encoded(cie.fdeEnc, 0);
                long range = debug ? c.u64() : c.encoded(cie.fdeEnc & 0x0f, 0);
                if (range != 0) list.add(new long[] {start, entry});
            }
            c.pos = end;
        }
        list.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        long[] starts = new long[list.size()];
        int[] offs = new int[list.size()];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = list.get(i)[0];
            offs[i] = (int) list.get(i)[1];
        }
        Cfi cfi = new Cfi(b, vaddr, debug, starts, offs);
        cfi.cies.putAll(cies);
        return cfi;
    }

    // ---- CFA program interpreter --------------------------------------------------------------

    private Fde interpret(int off) {
        Cursor c = new Cursor(frame, frameVaddr, off);
        int[] h = new int[2];
        header(c, h);
        int end = h[0];
        int idPos = c.pos;
        long id = h[1] == 1 ? c.u64() : c.u32();
        Cie cie = cie(debugFrame ? (int) id : (int) (idPos - id));
        long start = debugFrame ? c.u64() : c.encoded(cie.fdeEnc, 0);
        long range = debugFrame ? c.u64() : c.encoded(cie.fdeEnc & 0x0f, 0);
        if (cie.augZ) {
            int augLen = (int) c.uleb();
            c.pos += augLen;
        }
        State s = new State(cie, start);
        run(new Cursor(frame, frameVaddr, cie.insnStart), cie.insnEnd, s, null);
        s.initial = s.regs.clone();
        List<Row> rows = new ArrayList<>();
        run(c, end, s, rows);
        s.emit(start + range, rows);
        return new Fde(start + range, rows.toArray(new Row[0]));
    }

    private static final class State {
        final Cie cie;
        long loc;
        Rule cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, Reg.RSP.ordinal(), 0);
        Rule[] regs = new Rule[Reg.COUNT];
        Rule[] initial;
        final ArrayList<Object[]> saved = new ArrayList<>();

        State(Cie cie, long loc) {
            this.cie = cie;
            this.loc = loc;
            Arrays.fill(regs, Rule.SAME);
        }

        void emit(long to, List<Row> out) {
            if (out != null && Long.compareUnsigned(to, loc) > 0) {
                out.add(new Row(loc, to, cfa, regs.clone(), cie.raColumn, cie.signal));
            }
            loc = to;
        }

        void set(long reg, Rule r) {
            if (reg >= 0 && reg < Reg.COUNT) regs[(int) reg] = r;
        }

        void restore(long reg) {
            if (reg >= 0 && reg < Reg.COUNT) regs[(int) reg] = initial == null ? Rule.SAME : initial[(int) reg];
        }
    }

    private void run(Cursor c, int end, State s, List<Row> out) {
        Cie cie = s.cie;
        long da = cie.dataAlign;
        while (c.more(end)) {
            int op = c.u8();
            int hi = op & 0xc0, low = op & 0x3f;
            if (hi == 0x40) { // DW_CFA_advance_loc
                s.emit(s.loc + (long) low * cie.codeAlign, out);
                continue;
            }
            if (hi == 0x80) { // DW_CFA_offset
                s.set(low, Rule.of(Rule.Kind.OFFSET, 0, c.uleb() * da));
                continue;
            }
            if (hi == 0xc0) { // DW_CFA_restore
                s.restore(low);
                continue;
            }
            switch (op) {
                case 0x00 -> { } // nop
                case 0x01 -> s.emit(debugFrame ? c.u64() : c.encoded(cie.fdeEnc, 0), out); // set_loc
                case 0x02 -> s.emit(s.loc + (long) c.u8() * cie.codeAlign, out); // advance_loc1
                case 0x03 -> s.emit(s.loc + (long) c.u16() * cie.codeAlign, out); // advance_loc2
                case 0x04 -> s.emit(s.loc + c.u32() * cie.codeAlign, out); // advance_loc4
                case 0x05 -> { long r = c.uleb(); s.set(r, Rule.of(Rule.Kind.OFFSET, 0, c.uleb() * da)); } // offset_extended
                case 0x06 -> s.restore(c.uleb()); // restore_extended
                case 0x07 -> s.set(c.uleb(), Rule.UNDEFINED); // undefined
                case 0x08 -> s.set(c.uleb(), Rule.SAME); // same_value
                case 0x09 -> { // register
                    long r = c.uleb(), from = c.uleb();
                    s.set(r, from < Reg.COUNT ? Rule.of(Rule.Kind.REGISTER, (int) from, 0) : Rule.UNDEFINED);
                }
                case 0x0a -> s.saved.add(new Object[] {s.cfa, s.regs.clone()}); // remember_state
                case 0x0b -> { // restore_state
                    if (s.saved.isEmpty()) throw new CfiException("DW_CFA_restore_state without remember_state");
                    Object[] st = s.saved.removeLast();
                    s.cfa = (Rule) st[0];
                    s.regs = (Rule[]) st[1];
                }
                case 0x0c -> { long r = c.uleb(); s.cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, (int) r, c.uleb()); } // def_cfa
                case 0x0d -> s.cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, (int) c.uleb(), cfaOffset(s)); // def_cfa_register
                case 0x0e -> s.cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, s.cfa.reg(), c.uleb()); // def_cfa_offset
                case 0x0f -> s.cfa = new Rule(Rule.Kind.CFA_EXPRESSION, 0, 0, block(c)); // def_cfa_expression
                case 0x10 -> { long r = c.uleb(); s.set(r, new Rule(Rule.Kind.EXPRESSION, 0, 0, block(c))); } // expression
                case 0x11 -> { long r = c.uleb(); s.set(r, Rule.of(Rule.Kind.OFFSET, 0, c.sleb() * da)); } // offset_extended_sf
                case 0x12 -> { long r = c.uleb(); s.cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, (int) r, c.sleb() * da); } // def_cfa_sf
                case 0x13 -> s.cfa = Rule.of(Rule.Kind.CFA_REG_OFFSET, s.cfa.reg(), c.sleb() * da); // def_cfa_offset_sf
                case 0x14 -> { long r = c.uleb(); s.set(r, Rule.of(Rule.Kind.VAL_OFFSET, 0, c.uleb() * da)); } // val_offset
                case 0x15 -> { long r = c.uleb(); s.set(r, Rule.of(Rule.Kind.VAL_OFFSET, 0, c.sleb() * da)); } // val_offset_sf
                case 0x16 -> { long r = c.uleb(); s.set(r, new Rule(Rule.Kind.VAL_EXPRESSION, 0, 0, block(c))); } // val_expression
                case 0x2e -> c.uleb(); // GNU_args_size: only matters for landing pads
                case 0x2f -> { long r = c.uleb(); s.set(r, Rule.of(Rule.Kind.OFFSET, 0, -c.uleb() * da)); } // GNU_negative_offset_extended
                default -> throw new CfiException("unsupported DW_CFA op 0x" + Integer.toHexString(op));
            }
        }
    }

    private static long cfaOffset(State s) {
        return s.cfa.kind() == Rule.Kind.CFA_REG_OFFSET ? s.cfa.offset() : 0;
    }

    private static byte[] block(Cursor c) {
        int n = (int) c.uleb();
        byte[] e = Arrays.copyOfRange(c.b, c.pos, c.pos + n);
        c.pos += n;
        return e;
    }
}
