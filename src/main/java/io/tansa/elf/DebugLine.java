package io.tansa.elf;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;

/**
 * An object's DWARF line table (.debug_line): link-time address → source file and line, as
 * {@code addr2line} answers it. Reads the line-number programs of DWARF 2 to 5 (DWARF 5 §6.2:
 * header, v5 directory/file entry formats with DW_FORM_line_strp/strp/string/udata/data*,
 * standard, extended and special opcodes) into one sorted table of rows.
 *
 * <p>Rules, as binutils' addr2line: a row covers its address up to the next row of its sequence;
 * of several rows at one address the last counts; sequences starting at address 0 (or a -1/-2
 * tombstone) belong to code the linker discarded and are skipped. File names are joined with their
 * directory (v5: directory 0 is the compilation directory; v2–4 do not name it in .debug_line, so a
 * file in it keeps its relative name). Immutable, thread-safe.
 */
public final class DebugLine {
    /** A source position. {@code file} is the path as the line table names it. */
    public record Line(String file, int line) {
        /** "file.c:42": the file's last path component and the line. */
        public String shortForm() {
            return file.substring(file.lastIndexOf('/') + 1) + ":" + line;
        }
    }

    private static final DebugLine EMPTY = new DebugLine(new long[0], new int[0], new int[0], new String[0]);

    /** Row start addresses, sorted; {@code files[i] < 0} marks the end of a sequence (no line). */
    private final long[] addrs;
    private final int[] lines;
    private final int[] files;
    private final String[] fileNames;

    private DebugLine(long[] addrs, int[] lines, int[] files, String[] fileNames) {
        this.addrs = addrs;
        this.lines = lines;
        this.files = files;
        this.fileNames = fileNames;
    }

    private static final Map<ElfFile, DebugLine> BY_ELF = java.util.Collections.synchronizedMap(new WeakHashMap<>());

    /**
     * The line table of {@code elf}: its own .debug_line, else that of the first separate debug
     * file added to it ({@link ElfFile#symbolSources()}). Empty when there is none or it cannot be
     * read (a damaged or zstd-compressed section). Parsed once per ElfFile, then cached.
     */
    public static DebugLine of(ElfFile elf) {
        DebugLine d = BY_ELF.get(elf);
        if (d != null) return d;
        // parse outside the lock: a large table takes a while, and other objects' lookups must not wait for it
        d = load(elf);
        DebugLine prev = BY_ELF.putIfAbsent(elf, d);
        return prev != null ? prev : d;
    }

    private static DebugLine load(ElfFile elf) {
        List<ElfFile> candidates = new ArrayList<>();
        candidates.add(elf);
        candidates.addAll(elf.symbolSources());
        for (ElfFile e : candidates) {
            Optional<Section> s = e.section(".debug_line").or(() -> e.section(".zdebug_line"));
            if (s.isEmpty() || s.get().size() == 0 || s.get().type() == Section.SHT_NOBITS) continue;
            try {
                return parse(s.get().contents(), contents(e, ".debug_line_str"), contents(e, ".debug_str"));
            } catch (RuntimeException ex) {
                return EMPTY; // damaged or unsupported: frames simply carry no line
            }
        }
        return EMPTY;
    }

    private static byte[] contents(ElfFile e, String name) {
        Optional<Section> s = e.section(name).or(() -> e.section(".z" + name.substring(1)));
        return s.isEmpty() || s.get().type() == Section.SHT_NOBITS ? new byte[0] : s.get().contents();
    }

    /** Rows in the table (end-of-sequence markers included). */
    public int size() {
        return addrs.length;
    }

    public boolean isEmpty() {
        return addrs.length == 0;
    }

    /** The source line of link-time address {@code vaddr}, if a sequence covers it. */
    public Optional<Line> lookup(long vaddr) {
        int lo = 0, hi = addrs.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(addrs[mid], vaddr) <= 0) lo = mid + 1;
            else hi = mid;
        }
        int i = lo - 1;
        if (i < 0 || files[i] < 0) return Optional.empty();
        return Optional.of(new Line(fileNames[files[i]], lines[i]));
    }

    // ---- parsing ----

    // DW_LNS_*, DW_LNE_*, DW_LNCT_*, DW_FORM_* (DWARF 5 §7.22, §7.5.6)
    private static final int LNS_COPY = 1, LNS_ADVANCE_PC = 2, LNS_ADVANCE_LINE = 3, LNS_SET_FILE = 4, LNS_CONST_ADD_PC = 8,
            LNS_FIXED_ADVANCE_PC = 9;
    private static final int LNE_END_SEQUENCE = 1, LNE_SET_ADDRESS = 2, LNE_DEFINE_FILE = 3;
    private static final int LNCT_PATH = 1, LNCT_DIRECTORY_INDEX = 2;
    private static final int FORM_BLOCK2 = 0x03, FORM_BLOCK4 = 0x04, FORM_DATA2 = 0x05, FORM_DATA4 = 0x06, FORM_DATA8 = 0x07,
            FORM_STRING = 0x08, FORM_BLOCK = 0x09, FORM_BLOCK1 = 0x0a, FORM_DATA1 = 0x0b, FORM_SDATA = 0x0d, FORM_STRP = 0x0e,
            FORM_UDATA = 0x0f, FORM_DATA16 = 0x1e, FORM_LINE_STRP = 0x1f, FORM_STRX = 0x1a, FORM_STRX1 = 0x25, FORM_STRX2 = 0x26,
            FORM_STRX3 = 0x27, FORM_STRX4 = 0x28;

    /** One sequence's rows, before the sequences are sorted into one table. */
    private static final class Seq {
        long[] addr = new long[16];
        int[] line = new int[16];
        int[] file = new int[16];
        int n;

        void add(long a, int l, int f) {
            if (n > 0 && addr[n - 1] == a) n--; // of several rows at one address the last counts
            if (n == addr.length) {
                addr = Arrays.copyOf(addr, n * 2);
                line = Arrays.copyOf(line, n * 2);
                file = Arrays.copyOf(file, n * 2);
            }
            addr[n] = a;
            line[n] = l;
            file[n] = f;
            n++;
        }
    }

    /**
     * Parses a whole .debug_line section. {@code lineStr} and {@code str} are .debug_line_str and
     * .debug_str (either may be empty). Throws an unchecked exception on a damaged section.
     */
    public static DebugLine parse(byte[] debugLine, byte[] lineStr, byte[] str) {
        List<Seq> seqs = new ArrayList<>();
        Map<String, Integer> fileIds = new HashMap<>();
        List<String> fileNames = new ArrayList<>();
        DwarfReader r = new DwarfReader(debugLine, 0);
        while (r.pos + 4 <= debugLine.length) {
            long len = r.u32();
            boolean dwarf64 = len == 0xffffffffL;
            if (dwarf64) len = r.u64();
            if (len == 0) continue;
            int end = len < 0 || len > debugLine.length - r.pos ? debugLine.length : (int) (r.pos + len);
            try {
                unit(r, end, dwarf64, lineStr, str, seqs, fileIds, fileNames);
            } catch (RuntimeException e) {
                // one damaged or unsupported unit: keep the others (a sequence it left unfinished is dropped)
            }
            r.pos = end;
        }
        seqs.sort((a, b) -> Long.compareUnsigned(a.addr[0], b.addr[0]));
        int total = 0;
        for (Seq s : seqs) total += s.n;
        long[] addrs = new long[total];
        int[] lines = new int[total], files = new int[total];
        int k = 0;
        for (Seq s : seqs) {
            if (k > 0 && addrs[k - 1] == s.addr[0]) k--; // a sequence starting where the previous one ended
            System.arraycopy(s.addr, 0, addrs, k, s.n);
            System.arraycopy(s.line, 0, lines, k, s.n);
            System.arraycopy(s.file, 0, files, k, s.n);
            k += s.n;
        }
        return new DebugLine(Arrays.copyOf(addrs, k), Arrays.copyOf(lines, k), Arrays.copyOf(files, k),
                fileNames.toArray(String[]::new));
    }

    private static void unit(DwarfReader r, int end, boolean dwarf64, byte[] lineStr, byte[] str, List<Seq> seqs,
                             Map<String, Integer> fileIds, List<String> fileNames) {
        int version = r.u16();
        if (version < 2 || version > 5) throw new UnsupportedOperationException("line table version " + version);
        if (version >= 5) {
            r.u8(); // address size: DW_LNE_set_address carries its own length
            r.u8(); // segment selector size
        }
        long headerLen = dwarf64 ? r.u64() : r.u32();
        if (headerLen < 0 || headerLen > end - r.pos) throw new UnsupportedOperationException("header length " + headerLen);
        int program = (int) (r.pos + headerLen);
        int minInst = r.u8();
        if (version >= 4) r.u8(); // maximum_operations_per_instruction: 1 except on VLIW machines
        boolean defaultIsStmt = r.u8() != 0;
        int lineBase = (byte) r.u8();
        int lineRange = r.u8();
        int opcodeBase = r.u8();
        int[] argCounts = new int[Math.max(opcodeBase, 1)];
        for (int i = 1; i < opcodeBase; i++) argCounts[i] = r.u8();
        if (lineRange == 0) throw new UnsupportedOperationException("line_range 0");

        List<String> dirs = new ArrayList<>();
        List<String> files = new ArrayList<>(); // full paths, by the unit's file index
        if (version >= 5) {
            for (String[] e : entries(r, program, dwarf64, lineStr, str)) dirs.add(e[0]);
            for (String[] e : entries(r, program, dwarf64, lineStr, str)) files.add(join(dirs, e[0], e[1], true));
        } else {
            dirs.add(null); // directory 0: the compilation directory, named only in .debug_info
            for (String d = r.cstring(StandardCharsets.UTF_8); !d.isEmpty(); d = r.cstring(StandardCharsets.UTF_8)) dirs.add(d);
            files.add(null); // file numbers start at 1 before DWARF 5
            for (String f = r.cstring(StandardCharsets.UTF_8); !f.isEmpty(); f = r.cstring(StandardCharsets.UTF_8)) {
                String dir = Long.toString(r.uleb());
                r.uleb(); // mtime
                r.uleb(); // length
                files.add(join(dirs, f, dir, false));
            }
        }
        int[] ids = new int[files.size()];
        for (int i = 0; i < ids.length; i++) ids[i] = files.get(i) == null ? -1 : id(files.get(i), fileIds, fileNames);

        r.pos = program;
        long addr = 0;
        int file = 1, line = 1;
        Seq seq = new Seq();
        while (r.pos < end) {
            int op = r.u8();
            if (op >= opcodeBase) { // special opcode
                int adj = op - opcodeBase;
                addr += (long) (adj / lineRange) * minInst;
                line += lineBase + adj % lineRange;
                seq.add(addr, line, fileId(ids, file, files, fileIds, fileNames));
                continue;
            }
            switch (op) {
                case 0 -> { // extended opcode
                    long len = r.uleb();
                    if (len < 0 || len > end - r.pos) throw new UnsupportedOperationException("extended opcode length " + len);
                    int next = (int) (r.pos + len);
                    if (len == 0) break;
                    int sub = r.u8();
                    switch (sub) {
                        case LNE_END_SEQUENCE -> {
                            seq.add(addr, line, -1);
                            if (seq.n > 1 && live(seq.addr[0])) seqs.add(seq);
                            seq = new Seq();
                            addr = 0;
                            file = 1;
                            line = 1;
                        }
                        case LNE_SET_ADDRESS -> addr = len == 5 || len == 9 ? r.unsigned((int) len - 1) : addr;
                        case LNE_DEFINE_FILE -> {
                            String f = r.cstring(StandardCharsets.UTF_8);
                            String dir = Long.toString(r.uleb());
                            files.add(join(dirs, f, dir, false));
                            ids = Arrays.copyOf(ids, files.size());
                            ids[ids.length - 1] = id(files.getLast(), fileIds, fileNames);
                        }
                        default -> { } // set_discriminator, vendor extensions: skipped by length
                    }
                    r.pos = next;
                }
                case LNS_COPY -> seq.add(addr, line, fileId(ids, file, files, fileIds, fileNames));
                case LNS_ADVANCE_PC -> addr += r.uleb() * minInst;
                case LNS_ADVANCE_LINE -> line += (int) r.sleb();
                case LNS_SET_FILE -> file = (int) r.uleb();
                case LNS_CONST_ADD_PC -> addr += (long) ((255 - opcodeBase) / lineRange) * minInst;
                case LNS_FIXED_ADVANCE_PC -> addr += r.u16();
                default -> { // set_column, negate_stmt, basic_block, prologue_end, …: skip their operands
                    for (int i = 0; i < argCounts[op]; i++) r.uleb();
                }
            }
        }
    }

    /** Code the linker discarded keeps address 0 (ld) or a -1/-2 tombstone (lld). */
    private static boolean live(long start) {
        return start != 0 && start != -1 && start != -2;
    }

    private static int fileId(int[] ids, int file, List<String> files, Map<String, Integer> fileIds, List<String> names) {
        if (file >= 0 && file < ids.length && ids[file] >= 0) return ids[file];
        return id("<unknown file " + file + ">", fileIds, names);
    }

    private static int id(String path, Map<String, Integer> fileIds, List<String> names) {
        return fileIds.computeIfAbsent(path, p -> {
            names.add(p);
            return names.size() - 1;
        });
    }

    /**
     * A file's path: absolute names as they are; else under its directory, a relative directory
     * under the compilation directory (v5: directory 0).
     */
    private static String join(List<String> dirs, String name, String dirIndex, boolean v5) {
        if (name == null) name = "<unknown>";
        if (name.startsWith("/")) return name;
        int di;
        try {
            di = Integer.parseInt(dirIndex == null ? "0" : dirIndex);
        } catch (NumberFormatException e) {
            di = 0;
        }
        String dir = di >= 0 && di < dirs.size() ? dirs.get(di) : null;
        if (dir != null && !dir.startsWith("/") && v5 && di != 0 && dirs.getFirst() != null) {
            dir = dirs.getFirst() + "/" + dir;
        }
        return dir == null || dir.isEmpty() ? name : dir + "/" + name;
    }

    /** A v5 directory or file table: {path, directory index} per entry (DWARF 5 §6.2.4.1). */
    private static List<String[]> entries(DwarfReader r, int end, boolean dwarf64, byte[] lineStr, byte[] str) {
        int formatCount = r.u8();
        long[] kinds = new long[formatCount], forms = new long[formatCount];
        for (int i = 0; i < formatCount; i++) {
            kinds[i] = r.uleb();
            forms[i] = r.uleb();
        }
        long count = r.uleb();
        List<String[]> out = new ArrayList<>();
        for (long n = 0; n < count; n++) {
            if (r.pos > end) throw new UnsupportedOperationException("file table runs past the header");
            String[] e = new String[2];
            for (int i = 0; i < formatCount; i++) {
                int form = (int) forms[i];
                if (kinds[i] == LNCT_PATH) {
                    e[0] = string(r, form, dwarf64, lineStr, str);
                } else if (kinds[i] == LNCT_DIRECTORY_INDEX) {
                    e[1] = Long.toString(number(r, form));
                } else {
                    skip(r, form, dwarf64);
                }
            }
            out.add(e);
        }
        return out;
    }

    private static String string(DwarfReader r, int form, boolean dwarf64, byte[] lineStr, byte[] str) {
        return switch (form) {
            case FORM_STRING -> r.cstring(StandardCharsets.UTF_8);
            case FORM_LINE_STRP -> at(lineStr, dwarf64 ? r.u64() : r.u32());
            case FORM_STRP -> at(str, dwarf64 ? r.u64() : r.u32());
            default -> { // strx needs .debug_str_offsets and the unit's base from .debug_info: no name
                skip(r, form, dwarf64);
                yield null;
            }
        };
    }

    private static long number(DwarfReader r, int form) {
        return switch (form) {
            case FORM_UDATA -> r.uleb();
            case FORM_SDATA -> r.sleb();
            case FORM_DATA1 -> r.u8();
            case FORM_DATA2 -> r.u16();
            case FORM_DATA4 -> r.u32();
            case FORM_DATA8 -> r.u64();
            default -> throw new UnsupportedOperationException("directory index form 0x" + Integer.toHexString(form));
        };
    }

    private static void skip(DwarfReader r, int form, boolean dwarf64) {
        switch (form) {
            case FORM_STRING -> r.cstring();
            case FORM_LINE_STRP, FORM_STRP -> r.pos += dwarf64 ? 8 : 4;
            case FORM_UDATA, FORM_STRX -> r.uleb();
            case FORM_SDATA -> r.sleb();
            case FORM_DATA1, FORM_STRX1 -> r.pos += 1;
            case FORM_DATA2, FORM_STRX2 -> r.pos += 2;
            case FORM_STRX3 -> r.pos += 3;
            case FORM_DATA4, FORM_STRX4 -> r.pos += 4;
            case FORM_DATA8 -> r.pos += 8;
            case FORM_DATA16 -> r.pos += 16; // DW_LNCT_MD5
            case FORM_BLOCK -> r.pos += (int) r.uleb();
            case FORM_BLOCK1 -> r.pos += r.u8();
            case FORM_BLOCK2 -> r.pos += r.u16();
            case FORM_BLOCK4 -> r.pos += (int) r.u32();
            default -> throw new UnsupportedOperationException("form 0x" + Integer.toHexString(form) + " in a line table header");
        }
    }

    private static String at(byte[] strings, long off) {
        if (off < 0 || off >= strings.length) return null;
        int e = (int) off;
        while (e < strings.length && strings[e] != 0) e++;
        return new String(strings, (int) off, e - (int) off, StandardCharsets.UTF_8);
    }
}
