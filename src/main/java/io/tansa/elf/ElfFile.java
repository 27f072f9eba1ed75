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
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
    private volatile List<RawSymbols> raw;
    private volatile FullTable full;
    private volatile AddressIndex byAddress;
    private volatile List<Relocation> relocations;
    private volatile Optional<String> soname;
    private volatile Map<Long, Relocation> relocByOffset;
    private final List<Section> pltSections;
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
        pltSections = sections.stream().filter(x -> x.name().startsWith(".plt") && x.data().capacity() > 0
                && (x.flags() & Section.SHF_EXECINSTR) != 0).toList();
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
            return parse(p.toString(), ch.map(FileChannel.MapMode.READ_ONLY, 0, size));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + p + ": " + e.getMessage(), e);
        }
    }

    /** Parses an ELF image held in memory (e.g. MiniDebugInfo, or a [vdso] copied from a process). */
    public static ElfFile of(String origin, byte[] image) {
        if (image.length < 64) throw new Failure(Failure.Kind.UNSUPPORTED, origin + ": not an ELF file");
        return parse(origin, ByteBuffer.wrap(image));
    }

    private static ElfFile parse(String origin, ByteBuffer b) {
        try {
            return new ElfFile(origin, b);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, origin + ": damaged ELF file (" + e.getMessage() + ")", e);
        }
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
        return full().all;
    }

    /** Symbols called {@code name}; "name@VERSION" / "name@@VERSION" also match the version. */
    public List<Symbol> lookup(String name) {
        int at = name.indexOf('@');
        String base = at < 0 ? name : name.substring(0, at);
        FullTable f = full;
        List<Symbol> hits = f != null ? f.byName.getOrDefault(base, List.of()) : scan(base);
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
     * Among aliases the name is global before weak before local, exported, fewer leading
     * underscores, shorter.
     */
    public Optional<Symbol> symbolAt(long vaddr) {
        for (Section plt : pltSections) {
            if (vaddr >= plt.addr() && vaddr - plt.addr() < plt.size()) return pltEntry(plt, vaddr);
        }
        AddressIndex x = addressIndex();
        int i = Sorted.floor(x.starts, vaddr);
        if (i < 0) return Optional.empty();
        if (x.sizes[i] == 0 || vaddr - x.starts[i] < x.sizes[i]) return Optional.of(x.symbol(i));
        // A nested or overlapping function further back may still contain it.
        for (int j = i - 1; j >= 0 && j >= i - 8; j--) {
            if (x.sizes[j] != 0 && vaddr - x.starts[j] < x.sizes[j]) return Optional.of(x.symbol(j));
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
        Optional<String> s = soname;
        if (s == null) soname = s = readSoname();
        return s;
    }

    private Optional<String> readSoname() {
        try {
            return readSonameUnchecked();
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            return Optional.empty(); // a damaged dynamic section
        }
    }

    private Optional<String> readSonameUnchecked() {
        Optional<Section> dyn = sections.stream().filter(s -> s.type() == Section.SHT_DYNAMIC).findFirst();
        if (dyn.isPresent() && dyn.get().link() > 0 && dyn.get().link() < sections.size()) {
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

    /** The dynamic relocations (every allocated SHT_RELA section), in file order. */
    public List<Relocation> dynamicRelocations() {
        List<Relocation> r = relocations;
        if (r != null) return r;
        List<Relocation> out = new ArrayList<>();
        for (Section s : sections) {
            if (s.type() != Section.SHT_RELA || (s.flags() & Section.SHF_ALLOC) == 0) continue;
            try {
                relocationsIn(s, out);
            } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
                // a damaged table: keep what was read
            }
        }
        relocations = r = List.copyOf(out);
        return r;
    }

    private void relocationsIn(Section s, List<Relocation> out) {
        Section dynsym = s.link() > 0 && s.link() < sections.size() ? sections.get(s.link()) : null;
        long strOff = dynsym != null && dynsym.link() > 0 && dynsym.link() < sections.size()
                ? sections.get(dynsym.link()).offset() : -1;
        ByteBuffer b = s.buffer();
        for (int p = 0; p + 24 <= b.capacity(); p += 24) {
            long info = b.getLong(p + 8);
            int sym = (int) (info >>> 32);
            String name = null;
            if (sym > 0 && dynsym != null && strOff >= 0 && (sym + 1L) * 24 <= dynsym.data().capacity()) {
                name = cstring(strOff + Integer.toUnsignedLong(dynsym.buffer().getInt(sym * 24)));
            }
            out.add(new Relocation(b.getLong(p), (int) info, name, b.getLong(p + 16)));
        }
    }

    /** Adds the symbols of {@code other} (a separate debug file for this one) to {@link #symbols()}. */
    public synchronized void addSymbolSource(ElfFile other) {
        extraSymbolSources.add(other);
        raw = null;
        full = null;
        byAddress = null;
    }

    /** The separate debug files added with {@link #addSymbolSource}, in the order added. */
    public synchronized List<ElfFile> symbolSources() {
        return List.copyOf(extraSymbolSources);
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

    /**
     * The PLT stub containing {@code vaddr}, named as objdump does: "puts@plt", or
     * "*ABS*+0x9f550@plt" for an IRELATIVE slot. Each stub jumps through its GOT slot
     * (jmp *disp32(%rip), opcode ff 25, possibly after endbr64 / a bnd prefix); the dynamic
     * relocation of that slot names it.
     */
    private Optional<Symbol> pltEntry(Section plt, long vaddr) {
        long ent = plt.entsize() >= 8 ? plt.entsize() : 16;
        long entry = plt.addr() + (vaddr - plt.addr()) / ent * ent;
        ByteBuffer b = plt.buffer();
        int at = (int) (entry - plt.addr());
        for (int i = at; i + 6 <= Math.min(at + ent, b.capacity()); i++) {
            if ((b.get(i) & 0xff) != 0xff || (b.get(i + 1) & 0xff) != 0x25) continue;
            long slot = plt.addr() + i + 6 + b.getInt(i + 2);
            Relocation r = relocationsByOffset().get(slot);
            if (r == null) continue;
            String name = r.symbol() != null ? r.symbol() : "*ABS*+0x" + Long.toHexString(r.addend());
            return Optional.of(new Symbol(name + "@plt", null, entry, ent, Symbol.STT_FUNC, Symbol.STB_LOCAL, false));
        }
        return Optional.empty(); // PLT0, the lazy-binding trampoline
    }

    private Map<Long, Relocation> relocationsByOffset() {
        Map<Long, Relocation> m = relocByOffset;
        if (m == null) {
            m = new HashMap<>();
            for (Relocation r : dynamicRelocations()) m.putIfAbsent(r.offset(), r);
            relocByOffset = m;
        }
        return m;
    }

    /** The symbol tables in precedence order: .dynsym, .symtab, MiniDebugInfo, added debug files. */
    private List<RawSymbols> raw() {
        List<RawSymbols> r = raw;
        if (r != null) return r;
        synchronized (this) {
            if (raw != null) return raw;
            List<RawSymbols> out = new ArrayList<>();
            for (Section sec : sections) if (sec.type() == Section.SHT_DYNSYM) rawTable(sec, true, out);
            for (Section sec : sections) if (sec.type() == Section.SHT_SYMTAB) rawTable(sec, false, out);
            ElfFile mini = miniDebugInfo();
            List<ElfFile> extra = new ArrayList<>(extraSymbolSources);
            if (mini != null) extra.add(mini);
            for (ElfFile e : extra) {
                for (Section sec : e.sections) if (sec.type() == Section.SHT_SYMTAB) e.rawTable(sec, false, out);
            }
            raw = List.copyOf(out);
            return raw;
        }
    }

    private void rawTable(Section tab, boolean dynamic, List<RawSymbols> out) {
        if (tab.link() <= 0 || tab.link() >= sections.size() || tab.data().capacity() == 0) return;
        byte[] versym = null;
        String[] verNames = null;
        if (dynamic) {
            for (Section sec : sections) if (sec.type() == Section.SHT_GNU_VERSYM) versym = sec.bytes();
        }
        try {
            if (dynamic) verNames = versionDefinitions();
            out.add(new RawSymbols(tab.bytes(), sections.get(tab.link()).bytes(), versym, verNames, dynamic));
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            // damaged version tables: the symbols are still usable without versions
            out.add(new RawSymbols(tab.bytes(), sections.get(tab.link()).bytes(), null, null, dynamic));
        }
    }

    /**
     * Dedup key: name and value, plus the version for .dynsym (one address may carry several
     * versions, as pthread_attr_getstacksize@@GLIBC_2.34 and @GLIBC_2.2.5 do); a .symtab entry
     * repeating an earlier name and value is dropped.
     */
    private static final class Key {
        final String name;
        final long value;
        final String version;

        Key(String name, long value, String version) {
            this.name = name;
            this.value = value;
            this.version = version;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.value == value && k.name.equals(name) && Objects.equals(k.version, version);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Long.hashCode(value) + (version == null ? 0 : version.hashCode() * 7);
        }
    }

    private static boolean fresh(Symbol s, Set<Key> seen) {
        Key nv = new Key(s.name(), s.value(), null);
        boolean fresh = s.dynamic() ? seen.add(new Key(s.name(), s.value(), s.version())) : !seen.contains(nv);
        seen.add(nv);
        return fresh;
    }

    /** lookup before (or without) the full table: compare name bytes, decode only the matches. */
    private List<Symbol> scan(String name) {
        byte[] want = name.getBytes(StandardCharsets.UTF_8);
        List<Symbol> out = new ArrayList<>(2);
        Set<Key> seen = new HashSet<>();
        for (RawSymbols r : raw()) {
            for (int i = 1; i < r.count; i++) {
                if (!r.nameIs(i, want) || !r.defined(i)) continue;
                Symbol s = r.decode(i);
                if (s.name().equals(name) && fresh(s, seen)) out.add(s);
            }
        }
        return out.isEmpty() ? List.of() : out;
    }

    private record FullTable(List<Symbol> all, Map<String, List<Symbol>> byName) {}

    private FullTable full() {
        FullTable f = full;
        if (f != null) return f;
        synchronized (this) {
            if (full != null) return full;
            List<Symbol> all = new ArrayList<>();
            Set<Key> seen = new HashSet<>();
            for (RawSymbols r : raw()) {
                for (int i = 1; i < r.count; i++) {
                    if (!r.defined(i)) continue;
                    Symbol s = r.decode(i);
                    if (fresh(s, seen)) all.add(s);
                }
            }
            Map<String, List<Symbol>> byName = new HashMap<>(all.size() * 2);
            for (Symbol s : all) byName.computeIfAbsent(s.name(), k -> new ArrayList<>(1)).add(s);
            full = new FullTable(Collections.unmodifiableList(all), byName);
            return full;
        }
    }

    /**
     * Functions sorted by address, one entry per address (the best-named alias, with the largest
     * size among them), kept as arrays; Symbols are decoded when asked for.
     */
    private static final class AddressIndex {
        final long[] starts, sizes;
        final RawSymbols[] tables;
        final int[] entries;
        final Symbol[] decoded;

        AddressIndex(long[] starts, long[] sizes, RawSymbols[] tables, int[] entries) {
            this.starts = starts;
            this.sizes = sizes;
            this.tables = tables;
            this.entries = entries;
            this.decoded = new Symbol[starts.length];
        }

        Symbol symbol(int i) {
            Symbol s = decoded[i];
            if (s == null) {
                s = tables[i].decode(entries[i]);
                if (s.size() != sizes[i]) {
                    s = new Symbol(s.name(), s.version(), s.value(), sizes[i], s.type(), s.bind(), s.dynamic(), s.defaultVersion());
                }
                decoded[i] = s; // a benign race: every thread computes the same Symbol
            }
            return s;
        }
    }

    private AddressIndex addressIndex() {
        AddressIndex x = byAddress;
        if (x != null) return x;
        synchronized (this) {
            if (byAddress != null) return byAddress;
            List<RawSymbols> rs = raw();
            int n = 0;
            for (RawSymbols r : rs) n += r.count;
            long[] value = new long[n], size = new long[n];
            int[] pref = new int[n], tab = new int[n], entry = new int[n];
            int k = 0;
            for (int t = 0; t < rs.size(); t++) {
                RawSymbols r = rs.get(t);
                for (int i = 1; i < r.count; i++) {
                    if (!r.isFunction(i) || !r.defined(i) || r.value(i) == 0) continue;
                    value[k] = r.value(i);
                    size[k] = r.size(i);
                    pref[k] = preference(r, i);
                    tab[k] = t;
                    entry[k] = i;
                    k++;
                }
            }
            int[] order = new int[k];
            for (int i = 0; i < k; i++) order[i] = i;
            sortByValueThenPreference(order, value, pref);
            int u = 0;
            long[] starts = new long[k], sizes = new long[k];
            RawSymbols[] tables = new RawSymbols[k];
            int[] entries = new int[k];
            for (int o : order) {
                if (u > 0 && starts[u - 1] == value[o]) {
                    sizes[u - 1] = Math.max(sizes[u - 1], size[o]);
                    continue;
                }
                starts[u] = value[o];
                sizes[u] = size[o];
                tables[u] = rs.get(tab[o]);
                entries[u] = entry[o];
                u++;
            }
            byAddress = new AddressIndex(Arrays.copyOf(starts, u), Arrays.copyOf(sizes, u), Arrays.copyOf(tables, u),
                    Arrays.copyOf(entries, u));
            return byAddress;
        }
    }

    /** Sort key among aliases (lower is better): global, weak, local; exported; fewer leading underscores; shorter. */
    private static int preference(RawSymbols r, int i) {
        int bind = switch (r.bind(i)) {
            case Symbol.STB_GLOBAL -> 0;
            case Symbol.STB_WEAK -> 1;
            default -> 2;
        };
        return bind << 20 | (r.dynamic ? 0 : 1) << 19 | Math.min(r.underscores(i), 15) << 15 | Math.min(r.nameLength(i), 0x7fff);
    }

    /** Stable merge sort of indices by (value, preference), on primitives. */
    private static void sortByValueThenPreference(int[] a, long[] value, int[] pref) {
        int[] tmp = new int[a.length];
        for (int width = 1; width < a.length; width <<= 1) {
            for (int lo = 0; lo < a.length - width; lo += width << 1) {
                int mid = lo + width, hi = Math.min(lo + (width << 1), a.length);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi) {
                    int x = a[i], y = a[j];
                    boolean takeRight = value[y] < value[x] || (value[y] == value[x] && pref[y] < pref[x]);
                    tmp[k++] = takeRight ? a[j++] : a[i++];
                }
                while (i < mid) tmp[k++] = a[i++];
                while (j < hi) tmp[k++] = a[j++];
                System.arraycopy(tmp, lo, a, lo, hi - lo);
            }
        }
    }

    /** Version names by index from .gnu.version_d (Elf64_Verdef / Elf64_Verdaux, elf(5)). */
    private String[] versionDefinitions() {
        Section vd = null;
        for (Section s : sections) if (s.type() == Section.SHT_GNU_VERDEF) vd = s;
        if (vd == null || vd.link() <= 0 || vd.link() >= sections.size()) return null;
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
        try {
            return buildIdAt(off, size);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            return Optional.empty(); // a damaged note
        }
    }

    private Optional<String> buildIdAt(long off, long size) {
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
                for (int i = 0; i < descsz; i++) {
                    int v = buf.get((int) (desc + i)) & 0xff;
                    b.append(Character.forDigit(v >>> 4, 16)).append(Character.forDigit(v & 0xf, 16));
                }
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


    private int u16(int off) {
        return buf.getShort(off) & 0xffff;
    }

    private int checkedOffset(long off, int len) {
        if (off < 0 || off + len > buf.capacity()) throw notElf("truncated ELF header table");
        return (int) off;
    }

    private String cstring(long off) {
        int cap = buf.capacity();
        if (off < 0 || off >= cap) return ""; // a damaged offset: no name rather than an exception
        int start = (int) off;
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
