package io.tansa.elf;

import io.tansa.Failure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A read-only ELF64 little-endian file (elf(5)), mapped whole with {@link FileChannel#map}: the
 * file model (headers, segments, sections, notes, dynamic section, relocations). Headers are
 * parsed on open; the symbols (its {@link SymbolTable}) on first use, then kept (instances are
 * shared between processes by the symbols cache, so everything here is thread-safe).
 */
public final class ElfFile implements AutoCloseable {
    public static final int ET_EXEC = 2, ET_DYN = 3;
    private static final int PT_LOAD = 1, PT_DYNAMIC = 2, PT_NOTE = 4, PT_TLS = 7;
    private static final int NT_GNU_BUILD_ID = 3;
    private static final int DT_NULL = 0, DT_STRTAB = 5, DT_SONAME = 14;

    private final String origin;
    private final ByteBuffer buf;
    private final int type;
    private final List<Segment> loads;
    private final List<long[]> notes; // {offset, size} of PT_NOTE segments
    private final List<long[]> dynamicSeg; // {offset, size} of PT_DYNAMIC
    private final List<Section> sections;
    private volatile List<Relocation> relocations;
    private volatile Optional<String> soname;
    private final SymbolTable symbols;

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
            else if (pt == PT_TLS) tlsSeg = new Tls(vaddr, memsz, buf.getLong(p + 48));
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
        symbols = new SymbolTable(this);
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

    /**
     * The object's TLS template (PT_TLS, elf(5)): its link-time address, size in memory and
     * alignment; the initial thread-local storage image of the object's TLS variables, whose
     * symbols' values (STT_TLS) are offsets in it.
     */
    public record Tls(long vaddr, long memsz, long align) {}

    private Tls tlsSeg;

    /** The PT_TLS segment, if the object has thread-local variables. */
    public Optional<Tls> tls() {
        return Optional.ofNullable(tlsSeg);
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

    /** The section at index {@code i} of the section header table, if there is one. */
    Optional<Section> sectionAt(int i) {
        return i > 0 && i < sections.size() ? Optional.of(sections.get(i)) : Optional.empty();
    }

    /**
     * Every defined symbol: .dynsym, then .symtab, then the MiniDebugInfo (.gnu_debugdata) symtab
     * and any separate debug file added with {@link #addSymbolSource}; an entry with the same name
     * and value as an earlier one is dropped.
     */
    public List<Symbol> symbols() {
        return symbols.all();
    }

    /** Symbols called {@code name}; "name@VERSION" / "name@@VERSION" also match the version. */
    public List<Symbol> lookup(String name) {
        return symbols.lookup(name);
    }

    /**
     * The function containing link-time address {@code vaddr}: the best-named symbol with
     * value &lt;= vaddr &lt; value + size, or, for a size-0 symbol, the nearest preceding one
     * (a PLT stub is named "puts@plt"). Among aliases the name is global before weak before
     * local, exported, fewer leading underscores, shorter.
     */
    public Optional<Symbol> symbolAt(long vaddr) {
        return symbols.symbolAt(vaddr);
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
    public void addSymbolSource(ElfFile other) {
        symbols.addSource(other);
    }

    /** The separate debug files added with {@link #addSymbolSource}, in the order added. */
    public List<ElfFile> symbolSources() {
        return symbols.sources();
    }

    /** Nothing to release eagerly: the mapping is unmapped when the object is collected. */
    @Override
    public void close() {
    }

    @Override
    public String toString() {
        return "ElfFile[" + origin + "]";
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

    int u16(int off) {
        return buf.getShort(off) & 0xffff;
    }

    /** The little-endian u32 at file offset {@code off}, as an unsigned long. */
    long u32(long off) {
        return Integer.toUnsignedLong(buf.getInt((int) off));
    }

    private int checkedOffset(long off, int len) {
        if (off < 0 || off + len > buf.capacity()) throw notElf("truncated ELF header table");
        return (int) off;
    }

    /** The NUL-terminated string at file offset {@code off} ("" outside the file). */
    String cstring(long off) {
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
