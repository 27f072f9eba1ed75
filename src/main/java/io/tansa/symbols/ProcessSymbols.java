package io.tansa.symbols;

import io.tansa.Failure;
import io.tansa.elf.DebugLine;
import io.tansa.elf.ElfFile;
import io.tansa.elf.Segment;
import io.tansa.elf.Sorted;
import io.tansa.elf.Symbol;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.profile.Frame;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The loaded objects of one live process, from /proc/PID/maps, and address → frame over them
 * (symbolize). Symbol spec → probe locations is {@link SymbolResolver}, over the same objects.
 * ELF files are parsed once per JVM and shared (see {@link ElfCache}); a lookup is a binary
 * search. Thread-safe: refresh swaps an immutable snapshot.
 */
public final class ProcessSymbols {
    private static final long PAGE = 4096;
    /** End of the x86-64 user address space (47-bit); above it are kernel addresses. */
    private static final long USER_END = 1L << 47;
    private static final String UNKNOWN = "[unknown]";
    /** Module name of frames named by the JIT's /tmp/perf-PID.map. */
    public static final String JIT = "[jit]";

    private final int pid;
    private volatile Snapshot snap;
    private volatile long lastMissRefreshNanos;
    private volatile PerfMap perfMap;
    private volatile Path root; // where the process's files are seen from here: "/" or /proc/PID/root

    /** Reads the process's maps; throws {@code Failure(NO_SUCH_PROCESS)} when it is gone. */
    public ProcessSymbols(int pid) {
        this.pid = pid;
        this.snap = load();
    }

    public int pid() {
        return pid;
    }

    /** Re-reads /proc/PID/maps (objects loaded or unloaded since). */
    public void refresh() {
        snap = load();
    }

    /** The loaded objects in address order. */
    public List<Module> modules() {
        return snap.modules;
    }

    /**
     * The native frame for absolute address {@code addr}: function name (or "[unknown]") and
     * module file name ("libc.so.6", "[vdso]"; "[anon]"/"[unknown]" outside any object). An address
     * in no mapping at all makes the maps be read again once (an object dlopen'ed since).
     */
    public Frame frame(long addr) {
        return frame(addr, false);
    }

    /**
     * {@link #frame(long)}, with the source file and line of {@code addr} when {@code lines} is
     * set and the object has a DWARF line table (its own, or its separate debug file's).
     */
    public Frame frame(long addr, boolean lines) {
        Hit h = find(addr);
        if (h.module != null && h.module.elf() != null) {
            String name = symbolIn(h.module, addr).map(Symbol::name).orElseGet(() -> unnamed(h.module, addr));
            if (lines) {
                Optional<DebugLine.Line> l = lineTable(h.module).lookup(addr - h.module.bias());
                if (l.isPresent()) return Frame.nativeFrame(name, h.module.name(), addr, l.get().file(), l.get().line());
            }
            return Frame.nativeFrame(name, h.module.name(), addr);
        }
        Optional<String> jit = jitSymbol(h, addr);
        if (jit.isPresent()) return Frame.nativeFrame(jit.get(), JIT, addr);
        return Frame.nativeFrame(UNKNOWN, h.module != null ? h.module.name() : h.region, addr);
    }

    /**
     * A name for code no symbol covers (a stripped binary's static functions): "module+0xSTART",
     * START the link-time address of the function's entry from its CFI (objdump's and addr2line's
     * address; {@code tansa callers module+0xSTART} probes it), so that distinct functions stay
     * distinct and one function's addresses are one; "[unknown]" where no CFI covers it either.
     */
    private static String unnamed(Module m, long addr) {
        io.tansa.unwind.Cfi cfi = io.tansa.unwind.Cfi.of(m.elf());
        long start = cfi == null ? -1 : cfi.functionStart(addr - m.bias());
        return start < 0 ? UNKNOWN : m.name() + "+0x" + Long.toHexString(start);
    }

    /** "work+0x12" for display; "libx.so+0x1f30" when the object has no symbol there; "0x7f…" outside objects. */
    public String describe(long addr) {
        Hit h = find(addr);
        if (h.module == null || h.module.elf() == null) return jitSymbol(h, addr).orElse("0x" + Long.toHexString(addr));
        Optional<Symbol> s = symbolIn(h.module, addr);
        if (s.isPresent()) {
            long off = addr - h.module.bias() - s.get().value();
            return off == 0 ? s.get().name() : s.get().name() + "+0x" + Long.toHexString(off);
        }
        return h.module.name() + "+0x" + Long.toHexString(addr - h.module.bias());
    }

    /**
     * Reads the line tables of every loaded object now (each is parsed once per JVM), so that
     * the first {@link #frame(long, boolean)} in an object does not pay for it while a thread waits.
     */
    public void loadLineTables() {
        for (Module m : snap.modules) if (m.elf() != null) lineTable(m);
    }

    private DebugLine lineTable(Module m) {
        return ElfCache.lines(m.elf(), root, m.path());
    }

    /** The module mapping {@code addr}, if any. */
    public Optional<Module> moduleAt(long addr) {
        return Optional.ofNullable(find(addr).module);
    }

    /**
     * Every probe location of a symbol spec in this process: {@link SymbolResolver#resolve}.
     * Throws {@code Failure(SYMBOL_NOT_FOUND)} with close names, or with the loaded objects.
     */
    public List<ProbeTarget> resolve(String spec) {
        return new SymbolResolver(this).resolve(spec);
    }

    /**
     * Absolute address of the symbol {@code name} (data or function, not TLS) in the first loaded
     * object whose file name starts with {@code objectPrefix}: {@link SymbolResolver#symbolAddress}.
     */
    public OptionalLong symbolAddress(String objectPrefix, String name) {
        return new SymbolResolver(this).symbolAddress(objectPrefix, name);
    }

    /** Reads /proc/PID/maps again and returns the loaded objects (an object dlopen'ed since). */
    List<Module> reload() {
        Snapshot fresh = load();
        snap = fresh;
        return fresh.modules;
    }

    /** Where the process's files are seen from here: "/" or /proc/PID/root. */
    Path root() {
        return root;
    }

    /** The first loaded object whose file name starts with {@code objectPrefix}. */
    public Optional<Module> module(String objectPrefix) {
        return snap.modules.stream().filter(m -> m.name().startsWith(objectPrefix)).findFirst();
    }

    // ---- symbolize ----

    /** The perf map name for an address in executable memory that belongs to no object (JIT code). */
    private Optional<String> jitSymbol(Hit h, long addr) {
        if (h.region == null || h.region.equals(UNKNOWN)) return Optional.empty();
        PerfMap pm = perfMap;
        if (pm == null) {
            int nsPid = ProcFs.nsPid(pid);
            Path p = root.toString().equals("/") ? Path.of("/tmp/perf-" + nsPid + ".map")
                    : root.resolve("tmp/perf-" + nsPid + ".map");
            perfMap = pm = new PerfMap(p);
        }
        return pm.lookup(addr);
    }

    private record Hit(Module module, String region) {}

    private static Optional<Symbol> symbolIn(Module m, long addr) {
        return m.elf() == null ? Optional.empty() : m.elf().symbolAt(addr - m.bias());
    }

    private Hit find(long addr) {
        Snapshot st = snap;
        Hit h = st.find(addr);
        if (h != null) return h;
        // In no executable mapping. Not worth re-reading the maps for data or kernel addresses;
        // otherwise maybe mapped since: re-read, but not more than every 10 ms for garbage addresses.
        if (addr < 4096 || addr >= USER_END || st.inAnyMapping(addr)) return new Hit(null, UNKNOWN);
        long now = System.nanoTime();
        if (now - lastMissRefreshNanos > 10_000_000L) {
            lastMissRefreshNanos = now;
            try {
                st = load();
                snap = st;
            } catch (Failure f) {
                return new Hit(null, UNKNOWN); // the process is gone: keep what we know
            }
            h = st.find(addr);
            if (h != null) return h;
        }
        return new Hit(null, UNKNOWN);
    }

    /** Immutable view of the maps: executable ranges sorted by start, each with its module (or none). */
    private record Snapshot(List<Module> modules, long[] starts, long[] ends, Module[] owners, String[] regions,
                            long[] allStarts, long[] allEnds) {
        Hit find(long addr) {
            int i = Sorted.floor(starts, addr);
            if (i < 0 || addr >= ends[i]) return null;
            return new Hit(owners[i], regions[i]);
        }

        boolean inAnyMapping(long addr) {
            int i = Sorted.floor(allStarts, addr);
            return i >= 0 && addr < allEnds[i];
        }
    }

    private Snapshot load() {
        // [vsyscall] (ffffffffff600000, negative as a long) would break the sorted arrays; it holds no symbols.
        List<Mapping> maps = ProcFs.maps(pid).stream().filter(m -> m.start() >= 0 && m.start() < USER_END).toList();
        root = ProcFs.sameMountNamespace(pid) ? Path.of("/") : Path.of("/proc/" + pid + "/root");
        // Group file mappings per object instance; an offset-0 mapping of a file seen before starts a new instance.
        Map<String, List<List<Mapping>>> groups = new LinkedHashMap<>();
        for (Mapping m : maps) {
            if (!m.fileBacked() && !m.path().equals("[vdso]")) continue;
            String key = m.dev() + ":" + m.inode() + ":" + m.path();
            List<List<Mapping>> inst = groups.computeIfAbsent(key, k -> new ArrayList<>());
            if (inst.isEmpty() || (m.offset() == 0 && m.fileBacked())) inst.add(new ArrayList<>());
            inst.getLast().add(m);
        }
        List<Module> modules = new ArrayList<>();
        for (List<List<Mapping>> inst : groups.values()) {
            for (List<Mapping> ms : inst) {
                if (ms.stream().noneMatch(Mapping::executable)) continue; // data files (locale archive, jars)
                Module mod = module(ms);
                if (mod != null) modules.add(mod);
            }
        }
        modules.sort((a, b) -> Long.compare(a.start(), b.start()));
        Map<Mapping, Module> owner = new java.util.IdentityHashMap<>();
        for (Module mod : modules) for (Mapping m : mod.mappings()) owner.put(m, mod);
        List<Mapping> exec = maps.stream().filter(Mapping::executable).toList();
        long[] starts = new long[exec.size()], ends = new long[exec.size()];
        Module[] owners = new Module[exec.size()];
        String[] regions = new String[exec.size()];
        for (int i = 0; i < exec.size(); i++) {
            Mapping m = exec.get(i);
            starts[i] = m.start();
            ends[i] = m.end();
            owners[i] = owner.get(m);
            regions[i] = m.path().isEmpty() ? "[anon]" : m.path().startsWith("/") ? fileName(m.path()) : m.path();
        }
        long[] allStarts = maps.stream().mapToLong(Mapping::start).toArray();
        long[] allEnds = maps.stream().mapToLong(Mapping::end).toArray();
        return new Snapshot(List.copyOf(modules), starts, ends, owners, regions, allStarts, allEnds);
    }

    private Module module(List<Mapping> ms) {
        Mapping first = ms.getFirst();
        String path = first.path();
        if (path.equals("[vdso]")) return vdso(first);
        Path file;
        ElfFile elf;
        try {
            file = ProcFs.objectPath(pid, first);
            elf = ElfCache.get(file, root, path);
        } catch (Failure | UncheckedIOException | IOException e) {
            if (e instanceof Failure f && f.kind() == Failure.Kind.NO_SUCH_PROCESS) throw f;
            // Unreadable or not ELF: still a module (frames name it), but without symbols.
            return new Module(path, fileName(path), first.start() - first.offset(), List.copyOf(ms), null, null, null);
        }
        return new Module(path, fileName(path), bias(elf, ms), List.copyOf(ms), file, elf.buildId().orElse(null), elf);
    }

    private Module vdso(Mapping m) {
        byte[] image = ProcFs.readMemory(pid, m.start(), (int) (m.end() - m.start()));
        ElfFile elf = null;
        try {
            if (image.length > 0) elf = ElfCache.image("[vdso]", image);
        } catch (Failure e) {
            elf = null;
        }
        long bias = m.start();
        if (elf != null && !elf.loadSegments().isEmpty()) bias = m.start() - pageDown(elf.loadSegments().getFirst().vaddr());
        return new Module("[vdso]", "[vdso]", bias, List.of(m), null, elf == null ? null : elf.buildId().orElse(null), elf);
    }

    /**
     * Load bias: the mapping of a PT_LOAD segment starts at bias + pageDown(p_vaddr) and maps the
     * file from pageDown(p_offset). Matched on an executable mapping when there is one.
     */
    static long bias(ElfFile elf, Collection<Mapping> ms) {
        List<Mapping> order = new ArrayList<>();
        ms.stream().filter(Mapping::executable).forEach(order::add);
        ms.stream().filter(m -> !m.executable()).forEach(order::add);
        for (Mapping m : order) {
            Segment best = null;
            for (Segment s : elf.loadSegments()) {
                if (pageDown(s.offset()) != m.offset()) continue;
                if (best == null || (s.executable() == m.executable() && best.executable() != m.executable())) best = s;
            }
            if (best != null) return m.start() - pageDown(best.vaddr());
        }
        Mapping f = ms.iterator().next();
        return f.start() - f.offset();
    }

    private static long pageDown(long v) {
        return v & -PAGE;
    }

    static String fileName(String path) {
        int slash = path.lastIndexOf('/');
        return slash < 0 ? path : path.substring(slash + 1);
    }
}
