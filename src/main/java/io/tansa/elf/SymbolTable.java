package io.tansa.elf;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
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
 * The symbols of one {@link ElfFile}, built from its tables on first use and then kept: .dynsym
 * (with versions from .gnu.version / .gnu.version_d), .symtab, the MiniDebugInfo symtab
 * (.gnu_debugdata, xz) and the separate debug files added to it; by name (a scan of the raw
 * tables until the full table is built) and by address (functions sorted, one best-named alias
 * per address; PLT stubs named by their GOT slot's relocation). Thread-safe: the file is shared
 * between processes by the symbols cache.
 */
final class SymbolTable {
    private final ElfFile elf;
    private final List<Section> pltSections;
    private final List<ElfFile> extraSources = new ArrayList<>();
    private volatile List<RawSymbols> raw;
    private volatile FullTable full;
    private volatile AddressIndex byAddress;
    private volatile Map<Long, Relocation> relocByOffset;

    SymbolTable(ElfFile elf) {
        this.elf = elf;
        pltSections = elf.sections().stream().filter(x -> x.name().startsWith(".plt") && x.data().capacity() > 0
                && (x.flags() & Section.SHF_EXECINSTR) != 0).toList();
    }

    List<Symbol> all() {
        return full().all;
    }

    List<Symbol> lookup(String name) {
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

    Optional<Symbol> symbolAt(long vaddr) {
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

    synchronized void addSource(ElfFile other) {
        extraSources.add(other);
        raw = null;
        full = null;
        byAddress = null;
    }

    synchronized List<ElfFile> sources() {
        return List.copyOf(extraSources);
    }

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
            for (Relocation r : elf.dynamicRelocations()) m.putIfAbsent(r.offset(), r);
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
            for (Section sec : elf.sections()) if (sec.type() == Section.SHT_DYNSYM) rawTable(elf, sec, true, out);
            for (Section sec : elf.sections()) if (sec.type() == Section.SHT_SYMTAB) rawTable(elf, sec, false, out);
            ElfFile mini = miniDebugInfo();
            List<ElfFile> extra = new ArrayList<>(extraSources);
            if (mini != null) extra.add(mini);
            for (ElfFile e : extra) {
                for (Section sec : e.sections()) if (sec.type() == Section.SHT_SYMTAB) rawTable(e, sec, false, out);
            }
            raw = List.copyOf(out);
            return raw;
        }
    }

    /** The symbol table {@code tab} of {@code file} (this table's file, or a debug file of it). */
    private static void rawTable(ElfFile file, Section tab, boolean dynamic, List<RawSymbols> out) {
        Optional<Section> strtab = file.sectionAt(tab.link());
        if (strtab.isEmpty() || tab.data().capacity() == 0) return;
        byte[] versym = null;
        String[] verNames = null;
        if (dynamic) {
            for (Section sec : file.sections()) if (sec.type() == Section.SHT_GNU_VERSYM) versym = sec.bytes();
        }
        try {
            if (dynamic) verNames = versionDefinitions(file);
            out.add(new RawSymbols(tab.bytes(), strtab.get().bytes(), versym, verNames, dynamic));
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            // damaged version tables: the symbols are still usable without versions
            out.add(new RawSymbols(tab.bytes(), strtab.get().bytes(), null, null, dynamic));
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
    private static String[] versionDefinitions(ElfFile file) {
        Section vd = null;
        for (Section s : file.sections()) if (s.type() == Section.SHT_GNU_VERDEF) vd = s;
        if (vd == null || file.sectionAt(vd.link()).isEmpty()) return null;
        long str = file.sectionAt(vd.link()).get().offset();
        Map<Integer, String> names = new HashMap<>();
        int max = 0;
        long p = vd.offset();
        long end = vd.offset() + vd.data().capacity();
        for (int n = 0; n < vd.info() && p + 20 <= end; n++) {
            int ndx = file.u16((int) p + 4);
            int cnt = file.u16((int) p + 6);
            long aux = file.u32(p + 12);
            long next = file.u32(p + 16);
            if (cnt > 0) {
                long a = p + aux;
                names.put(ndx, file.cstring(str + file.u32(a)));
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
        Optional<Section> s = elf.section(".gnu_debugdata");
        if (s.isEmpty() || s.get().data().capacity() == 0) return null;
        try (InputStream in = new XZInputStream(new ByteArrayInputStream(s.get().bytes()))) {
            return ElfFile.of(elf.origin() + "[.gnu_debugdata]", in.readAllBytes());
        } catch (IOException | RuntimeException e) {
            return null; // a corrupt MiniDebugInfo only costs symbols, it must not break the main file
        }
    }
}
