package io.tansa.elf;

import io.tansa.Failure;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.tukaani.xz.XZInputStream;

/**
 * A read-only ELF64 little-endian file (elf(5)), mapped whole with {@link FileChannel#map}.
 * Headers are parsed on open; symbols on first use, then kept (instances are shared between
 * processes by the symbols cache, so everything here is thread-safe).
 */
public final class ElfFile implements AutoCloseable {
    public static final int ET_EXEC = 2, ET_DYN = 3;
    private static final int PT_LOAD = 1, PT_DYNAMIC = 2, PT_NOTE = 4;
    private static final int NT_GNU_BUILD_ID = 3;
    private static final int DT_NULL = 0, DT_STRTAB = 5, DT_SONAME = 14;

    private final String origin;
    private final ByteBuffer buf;
    private final int type;
    private final List<Segment> loads;
    private final List<long[]> notes; // {offset, size} of PT_NOTE segments
    private final List<long[]> dynamicSeg; // {offset, size} of PT_DYNAMIC
    private final List<Section> sections;
    private volatile SymbolTable table;
    private final List<ElfFile> extraSymbolSources = new ArrayList<>();

    private ElfFile(String origin, ByteBuffer buf) {
        this.origin = origin;
        this.buf = buf.order(ByteOrder.LITTLE_ENDIAN);
        if (buf.capacity() < 64 || buf.getInt(0) != 0x464c457f) throw notElf("not an ELF file");
        if (buf.get(4) != 2) throw notElf("not a 64-bit ELF file");
        if (buf.get(5) != 1) throw notElf("not a little-endian ELF file");
        type = u16(16);
        long phoff = buf.getLong(32);
        long shoff = buf.getLong(40);
        int phentsize = u16(54), phnum = u16(56), shentsize = u16(58);
        long shnum = u16(60);
        int shstrndx = u16(62);
        List<Segment> l = new ArrayList<>();
        List<long[]> n = new ArrayList<>();
        List<long[]> d = new ArrayList<>();
        for (int i = 0; i < phnum && phoff != 0; i++) {
            int p = checkedOffset(phoff + (long) i * phentsize, 56);
            int pt = buf.getInt(p);
            int flags = buf.getInt(p + 4);
            long off = buf.getLong(p + 8), vaddr = buf.getLong(p + 16), filesz = buf.getLong(p + 32),
                    memsz = buf.getLong(p + 40);
            if (pt == PT_LOAD) l.add(new Segment(vaddr, memsz, off, filesz, flags));
            else if (pt == PT_NOTE) n.add(new long[] {off, filesz});
            else if (pt == PT_DYNAMIC) d.add(new long[] {off, filesz});
        }
        loads = List.copyOf(l);
        notes = n;
        dynamicSeg = d;
        List<Section> secs = new ArrayList<>();
        if (shoff != 0 && shentsize >= 64) {
            int s0 = checkedOffset(shoff, 64);
            if (shnum == 0) shnum = buf.getLong(s0 + 32); // extended numbering: count in section 0's sh_size
            if (shstrndx == 0xffff) shstrndx = buf.getInt(s0 + 40); // SHN_XINDEX: index in sh_link
            int strOff = -1;
            if (shstrndx < shnum) {
                int sp = checkedOffset(shoff + (long) shstrndx * shentsize, 64);
                strOff = (int) buf.getLong(sp + 24);
            }
            for (int i = 0; i < shnum; i++) {
                int p = checkedOffset(shoff + (long) i * shentsize, 64);
                int nameOff = buf.getInt(p);
                int stype = buf.getInt(p + 4);
                long flags = buf.getLong(p + 8), addr = buf.getLong(p + 16), off = buf.getLong(p + 24),
                        size = buf.getLong(p + 32);
                int link = buf.getInt(p + 40), info = buf.getInt(p + 44);
                long entsize = buf.getLong(p + 56);
                String name = strOff >= 0 ? cstring(strOff + (long) nameOff) : "";
                ByteBuffer data;
                if (stype == Section.SHT_NOBITS || size == 0 || off + size > buf.capacity() || off < 0) {
                    data = ByteBuffer.allocate(0);
                } else {
                    data = buf.slice((int) off, (int) size).asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
                }
                secs.add(new Section(name, stype, addr, off, size, flags, link, info, entsize, data));
            }
        }
        sections = List.copyOf(secs);
    }

    /**
     * Opens and maps {@code p}. Throws {@code Failure(UNSUPPORTED)} when it is not an ELF64
     * little-endian file, {@link UncheckedIOException} when it cannot be read.
     */
    public static ElfFile open(Path p) {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) throw new Failure(Failure.Kind.UNSUPPORTED, p + ": ELF files over 2 GiB are not supported");
            if (size < 64) throw new Failure(Failure.Kind.UNSUPPORTED, p + ": not an ELF file (" + size + " bytes)");
            return new ElfFile(p.toString(), ch.map(FileChannel.MapMode.READ_ONLY, 0, size));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + p + ": " + e.getMessage(), e);
        }
    }

    /** Parses an ELF image held in memory (e.g. MiniDebugInfo, or a [vdso] copied from a process). */
    public static ElfFile of(String origin, byte[] image) {
        if (image.length < 64) throw new Failure(Failure.Kind.UNSUPPORTED, origin + ": not an ELF file");
        return new ElfFile(origin, ByteBuffer.wrap(image));
    }

    /** Where this image came from (a path, or a label for in-memory images). */
    public String origin() {
        return origin;
    }

    /** e_type: {@link #ET_EXEC} (fixed addresses) or {@link #ET_DYN} (PIE / shared object). */
    public int type() {
        return type;
    }

    /** The PT_LOAD segments in header order. */
    public List<Segment> loadSegments() {
        return loads;
    }

    public List<Section> sections() {
        return sections;
    }

    /** The first section called {@code name}. */
    public Optional<Section> section(String name) {
        for (Section s : sections) if (s.name().equals(name)) return Optional.of(s);
        return Optional.empty();
    }

    /**
     * Every defined symbol: .dynsym, then .symtab, then the MiniDebugInfo (.gnu_debugdata) symtab
     * and any separate debug file added with {@link #addSymbolSource}; an entry with the same name
     * and value as an earlier one is dropped.
     */
    public List<Symbol> symbols() {
        return table().all;
    }

    /** Symbols called {@code name}; "name@VERSION" / "name@@VERSION" also match the version. */
    public List<Symbol> lookup(String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        List<Symbol> hits = table().byName.getOrDefault(base, List.of());
        if (at < 0) return hits;
        boolean wantDefault = name.startsWith("@@", at);
        String ver = name.substring(at + (wantDefault ? 2 : 1));
        List<Symbol> out = new ArrayList<>();
        for (Symbol s : hits) {
            if (ver.equals(s.version()) && (!wantDefault || s.defaultVersion())) out.add(s);
        }
        return out;
    }

    /**
     * The function containing link-time address {@code vaddr}: the best-named symbol with
     * value &lt;= vaddr &lt; value + size, or, for a size-0 symbol, the nearest preceding one.
     */
    public Optional<Symbol> symbolAt(long vaddr) {
        SymbolTable t = table();
        int i = upperBound(t.starts, vaddr) - 1;
        if (i < 0) return Optional.empty();
        Symbol s = t.funcs[i];
        if (s.size() == 0 || vaddr - s.value() < s.size()) return Optional.of(s);
        // A nested or overlapping function further back may still contain it.
        for (int j = i - 1; j >= 0 && j >= i - 8; j--) {
            Symbol o = t.funcs[j];
            if (o.size() != 0 && vaddr - o.value() < o.size()) return Optional.of(o);
        }
        return Optional.empty();
    }

    /** File offset holding link-time address {@code vaddr} (via PT_LOAD), or -1 when no segment maps it from the file. */
    public long vaddrToFileOffset(long vaddr) {
        for (Segment s : loads) {
            if (vaddr >= s.vaddr() && vaddr - s.vaddr() < s.filesz()) return s.offset() + (vaddr - s.vaddr());
        }
        return -1;
    }

    /** The GNU build-id as lowercase hex (.note.gnu.build-id, or any PT_NOTE). */
    public Optional<String> buildId() {
        for (Section s : sections) {
            if (s.type() == Section.SHT_NOTE) {
                Optional<String> id = buildIdIn(s.offset(), s.data().capacity());
                if (id.isPresent()) return id;
            }
        }
        for (long[] n : notes) {
            Optional<String> id = buildIdIn(n[0], n[1]);
            if (id.isPresent()) return id;
        }
        return Optional.empty();
    }

    /** The file name recorded in .gnu_debuglink (the separate debug file). */
    public Optional<String> debugLink() {
        return section(".gnu_debuglink").filter(s -> s.data().capacity() > 0).map(s -> cstring(s.offset()));
    }

    /** CRC32 of the debug file recorded in .gnu_debuglink (after the name, 4-aligned). */
    public Optional<Integer> debugLinkCrc() {
        return section(".gnu_debuglink").filter(s -> s.data().capacity() > 4).map(s -> {
            int nameLen = cstring(s.offset()).getBytes(StandardCharsets.UTF_8).length + 1;
            int at = (nameLen + 3) & ~3;
            return at + 4 <= s.data().capacity() ? s.buffer().getInt(at) : null;
        });
    }

    /** DT_SONAME from the dynamic section. */
    public Optional<String> soname() {
        Optional<Section> dyn = sections.stream().filter(s -> s.type() == Section.SHT_DYNAMIC).findFirst();
        if (dyn.isPresent() && dyn.get().link() < sections.size()) {
            Section d = dyn.get();
            long str = sections.get(d.link()).offset();
            return dynamicString(d.offset(), d.data().capacity(), DT_SONAME, off -> str + off);
        }
        for (long[] seg : dynamicSeg) {
            long strtabVaddr = dynamicValue(seg[0], seg[1], DT_STRTAB);
            if (strtabVaddr < 0) continue;
            long strOff = vaddrToFileOffset(strtabVaddr);
            if (strOff < 0) continue;
            Optional<String> s = dynamicString(seg[0], seg[1], DT_SONAME, off -> strOff + off);
            if (s.isPresent()) return s;
        }
        return Optional.empty();
    }

    /** Adds the symbols of {@code other} (a separate debug file for this one) to {@link #symbols()}. */
    public synchronized void addSymbolSource(ElfFile other) {
        extraSymbolSources.add(other);
        table = null;
    }

    /** Nothing to release eagerly: the mapping is unmapped when the object is collected. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "ElfFile[" + origin + "]";
    }

    // ---- symbols ----

    private record SymbolTable(List<Symbol> all, Map<String, List<Symbol>> byName, long[] starts, Symbol[] funcs) {}

    private SymbolTable table() {
        SymbolTable t = table;
        if (t != null) return t;
        synchronized (this) {
            if (table == null) table = buildTable();
            return table;
        }
    }

    private SymbolTable buildTable() {
        List<Symbol> all = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Section s : sections) if (s.type() == Section.SHT_DYNSYM) readSymbols(s, true, all, seen);
        for (Section s : sections) if (s.type() == Section.SHT_SYMTAB) readSymbols(s, false, all, seen);
        ElfFile mini = miniDebugInfo();
        List<ElfFile> extra = new ArrayList<>(extraSymbolSources);
        if (mini != null) extra.add(mini);
        for (ElfFile e : extra) {
            for (Section s : e.sections) if (s.type() == Section.SHT_SYMTAB) e.readSymbols(s, false, all, seen);
        }
        Map<String, List<Symbol>> byName = new HashMap<>(all.size() * 2);
        for (Symbol s : all) byName.computeIfAbsent(s.name(), k -> new ArrayList<>(1)).add(s);
        List<Symbol> funcs = new ArrayList<>();
        for (Symbol s : all) if (s.isFunction() && s.value() != 0) funcs.add(s);
        funcs.sort(Comparator.comparingLong(Symbol::value).thenComparing(ElfFile::preference));
        // One entry per address: the best-named alias, with the largest size among them.
        List<Symbol> uniq = new ArrayList<>(funcs.size());
        for (Symbol s : funcs) {
            if (!uniq.isEmpty() && uniq.getLast().value() == s.value()) {
                Symbol b = uniq.getLast();
                if (s.size() > b.size()) uniq.set(uniq.size() - 1, withSize(b, s.size()));
                continue;
            }
            uniq.add(s);
        }
        long[] starts = new long[uniq.size()];
        for (int i = 0; i < starts.length; i++) starts[i] = uniq.get(i).value();
        return new SymbolTable(Collections.unmodifiableList(all), byName, starts, uniq.toArray(Symbol[]::new));
    }

    private static Symbol withSize(Symbol s, long size) {
        return new Symbol(s.name(), s.version(), s.value(), size, s.type(), s.bind(), s.dynamic(), s.defaultVersion());
    }

    /** Sort key among aliases (lower is better): global, then weak, then local; exported; fewer leading underscores; shorter. */
    private static int preference(Symbol s) {
        int bind = switch (s.bind()) {
            case Symbol.STB_GLOBAL -> 0;
            case Symbol.STB_WEAK -> 1;
            default -> 2;
        };
        int us = 0;
        while (us < s.name().length() && s.name().charAt(us) == '_') us++;
        return bind * 1_000_000 + (s.dynamic() ? 0 : 100_000) + Math.min(us, 9) * 10_000 + Math.min(s.name().length(), 9999);
    }

    private void readSymbols(Section symtab, boolean dynamic, List<Symbol> out, Set<String> seen) {
        if (symtab.link() >= sections.size() || symtab.data().capacity() == 0) return;
        long strOff = sections.get(symtab.link()).offset();
        long strSize = sections.get(symtab.link()).size();
        ByteBuffer versym = null;
        String[] verNames = null;
        if (dynamic) {
            for (Section s : sections) if (s.type() == Section.SHT_GNU_VERSYM) versym = s.buffer();
            verNames = versionDefinitions();
        }
        long base = symtab.offset();
        int count = (int) (symtab.data().capacity() / 24);
        for (int i = 1; i < count; i++) {
            int p = (int) (base + i * 24L);
            int info = buf.get(p + 4) & 0xff;
            int stype = info & 0xf, bind = info >>> 4;
            int shndx = u16(p + 6);
            if (shndx == 0) continue; // undefined: defined elsewhere
            if (stype == Symbol.STT_SECTION || stype == Symbol.STT_FILE) continue;
            long value = buf.getLong(p + 8), size = buf.getLong(p + 16);
            if (shndx == 0xfff1 && value == 0) continue; // SHN_ABS markers such as version names
            int nameOff = buf.getInt(p) ;
            if (nameOff == 0 || Integer.toUnsignedLong(nameOff) >= strSize) continue;
            String name = cstring(strOff + Integer.toUnsignedLong(nameOff));
            String version = null;
            boolean dflt = true;
            if (versym != null && verNames != null && i * 2 + 1 < versym.capacity()) {
                int v = versym.getShort(i * 2) & 0xffff;
                int idx = v & 0x7fff;
                if (idx > 1 && idx < verNames.length && verNames[idx] != null) {
                    version = verNames[idx];
                    dflt = (v & 0x8000) == 0;
                }
            } else if (!dynamic) {
                // .symtab spells versions into the name: "memcpy@@GLIBC_2.14", "memcpy@GLIBC_2.2.5".
                int at = name.indexOf('@');
                if (at > 0) {
                    dflt = name.startsWith("@@", at);
                    version = name.substring(at + (dflt ? 2 : 1));
                    name = name.substring(0, at);
                }
            }
            if (!seen.add(name + '\0' + value)) continue;
            out.add(new Symbol(name, version, value, size, stype, bind, dynamic, dflt));
        }
    }

    /** Version names by index from .gnu.version_d (Elf64_Verdef / Elf64_Verdaux, elf(5)). */
    private String[] versionDefinitions() {
        Section vd = null;
        for (Section s : sections) if (s.type() == Section.SHT_GNU_VERDEF) vd = s;
        if (vd == null || vd.link() >= sections.size()) return null;
        long str = sections.get(vd.link()).offset();
        Map<Integer, String> names = new HashMap<>();
        int max = 0;
        long p = vd.offset();
        long end = vd.offset() + vd.data().capacity();
        for (int n = 0; n < vd.info() && p + 20 <= end; n++) {
            int ndx = u16((int) p + 4);
            int cnt = u16((int) p + 6);
            long aux = Integer.toUnsignedLong(buf.getInt((int) p + 12));
            long next = Integer.toUnsignedLong(buf.getInt((int) p + 16));
            if (cnt > 0) {
                long a = p + aux;
                names.put(ndx, cstring(str + Integer.toUnsignedLong(buf.getInt((int) a))));
                max = Math.max(max, ndx);
            }
            if (next == 0) break;
            p += next;
        }
        String[] out = new String[max + 1];
        names.forEach((k, v) -> out[k] = v);
        return out;
    }

    /** The ELF image in .gnu_debugdata (xz-compressed MiniDebugInfo), or null. */
    private ElfFile miniDebugInfo() {
        Optional<Section> s = section(".gnu_debugdata");
        if (s.isEmpty() || s.get().data().capacity() == 0) return null;
        try (InputStream in = new XZInputStream(new ByteArrayInputStream(s.get().bytes()))) {
            return new ElfFile(origin + "[.gnu_debugdata]", ByteBuffer.wrap(in.readAllBytes()));
        } catch (IOException | RuntimeException e) {
            return null; // a corrupt MiniDebugInfo only costs symbols, it must not break the main file
        }
    }

    // ---- helpers ----

    private Optional<String> buildIdIn(long off, long size) {
        long p = off, end = Math.min(off + size, buf.capacity());
        while (p + 12 <= end) {
            long namesz = Integer.toUnsignedLong(buf.getInt((int) p));
            long descsz = Integer.toUnsignedLong(buf.getInt((int) p + 4));
            int ntype = buf.getInt((int) p + 8);
            long name = p + 12;
            long desc = name + ((namesz + 3) & ~3L);
            if (desc + descsz > end) break;
            if (ntype == NT_GNU_BUILD_ID && namesz == 4 && buf.getInt((int) name) == 0x00554e47) { // "GNU\0"
                StringBuilder b = new StringBuilder();
                for (int i = 0; i < descsz; i++) b.append(String.format("%02x", buf.get((int) (desc + i)) & 0xff));
                return Optional.of(b.toString());
            }
            p = desc + ((descsz + 3) & ~3L);
        }
        return Optional.empty();
    }

    private long dynamicValue(long off, long size, long tag) {
        for (long p = off; p + 16 <= off + size && p + 16 <= buf.capacity(); p += 16) {
            long t = buf.getLong((int) p);
            if (t == DT_NULL) break;
            if (t == tag) return buf.getLong((int) p + 8);
        }
        return -1;
    }

    private Optional<String> dynamicString(long off, long size, long tag, java.util.function.LongUnaryOperator toFileOffset) {
        long v = dynamicValue(off, size, tag);
        if (v < 0) return Optional.empty();
        long at = toFileOffset.applyAsLong(v);
        return at >= 0 && at < buf.capacity() ? Optional.of(cstring(at)) : Optional.empty();
    }

    private static int upperBound(long[] a, long key) {
        int lo = 0, hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= key) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private int u16(int off) {
        return buf.getShort(off) & 0xffff;
    }

    private int checkedOffset(long off, int len) {
        if (off < 0 || off + len > buf.capacity()) throw notElf("truncated ELF header table");
        return (int) off;
    }

    private String cstring(long off) {
        int start = (int) off;
        int cap = buf.capacity();
        int end = start;
        while (end < cap && buf.get(end) != 0) end++;
        byte[] b = new byte[end - start];
        buf.get(start, b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Failure notElf(String why) {
        return new Failure(Failure.Kind.UNSUPPORTED, origin + ": " + why);
    }

}
