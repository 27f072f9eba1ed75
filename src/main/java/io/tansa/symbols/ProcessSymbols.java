package io.tansa.symbols;

import io.tansa.Failure;
import io.tansa.elf.DebugLine;
import io.tansa.elf.ElfFile;
import io.tansa.elf.Relocation;
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
import java.util.TreeMap;

/**
 * Symbols of one live process: address → frame (symbolize) and symbol spec → probe locations
 * (resolve), over the objects in /proc/PID/maps. ELF files are parsed once per JVM and shared
 * (see {@link ElfCache}); a lookup is a binary search. Thread-safe: refresh swaps an immutable
 * snapshot.
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
            String name = symbolIn(h.module, addr).map(Symbol::name).orElse(UNKNOWN);
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
     * Resolves a symbol spec — "name", "name@VERSION", "object:name", "name+0xOFF",
     * "object:name+0xOFF" — to every definition in every loaded object (aliases at one address in
     * one object are one target). The object may be a file name ("libcrypt.so.1"), a path, or a
     * prefix of the file name ("libcrypt"). Functions only, unless only data symbols match.
     * Throws {@code Failure(SYMBOL_NOT_FOUND)} with close names, or with the loaded objects when
     * the object matches none.
     */
    public List<ProbeTarget> resolve(String spec) {
        Spec sp = Spec.parse(spec);
        try {
            return resolve(sp, snap);
        } catch (Failure f) {
            if (f.kind() != Failure.Kind.SYMBOL_NOT_FOUND) throw f;
            // An object dlopen'ed since the maps were read: look once more.
            Snapshot fresh = load();
            snap = fresh;
            return resolve(sp, fresh);
        }
    }

    /**
     * Absolute address of the symbol {@code name} (data or function, not TLS) in the first loaded
     * object whose file name starts with {@code objectPrefix}.
     */
    public OptionalLong symbolAddress(String objectPrefix, String name) {
        for (Module m : snap.modules) {
            if (m.elf() == null || !(objectIs(m, objectPrefix) || objectPrefixAtBoundary(m, objectPrefix)
                    || m.name().startsWith(objectPrefix))) continue;
            for (Symbol s : m.elf().lookup(name)) {
                if (!s.isTls() && s.value() != 0) return OptionalLong.of(m.bias() + s.value());
            }
        }
        return OptionalLong.empty();
    }

    /** The first loaded object whose file name starts with {@code objectPrefix}. */
    public Optional<Module> module(String objectPrefix) {
        return snap.modules.stream().filter(m -> m.name().startsWith(objectPrefix)).findFirst();
    }

    // ---- resolve ----

    private record Spec(String text, String object, String name, long offset) {
        static Spec parse(String spec) {
            String s = spec.strip();
            if (s.isEmpty()) throw new Failure(Failure.Kind.USAGE, "empty symbol");
            String object = null;
            int colon = s.lastIndexOf(':');
            if (colon >= 0) {
                object = s.substring(0, colon);
                s = s.substring(colon + 1);
                if (object.isEmpty()) throw new Failure(Failure.Kind.USAGE, "empty object name in '" + spec + "'");
            }
            long off = 0;
            int plus = s.lastIndexOf('+');
            if (plus > 0) {
                String o = s.substring(plus + 1);
                try {
                    off = o.startsWith("0x") || o.startsWith("0X") ? Long.parseUnsignedLong(o.substring(2), 16)
                            : Long.parseLong(o);
                } catch (NumberFormatException e) {
                    throw new Failure(Failure.Kind.USAGE, "bad offset '" + o + "' in '" + spec + "' (use name+0x1f or name+31)");
                }
                s = s.substring(0, plus);
            }
            if (s.isEmpty()) throw new Failure(Failure.Kind.USAGE, "no symbol name in '" + spec + "'");
            return new Spec(spec, object, s, off);
        }
    }

    private List<ProbeTarget> resolve(Spec sp, Snapshot st) {
        List<Module> scope = st.modules.stream().filter(m -> m.elf() != null && m.file() != null).toList();
        if (sp.object != null) {
            scope = scope.stream().filter(m -> objectMatches(m, sp.object)).toList();
            if (scope.isEmpty()) {
                List<ProbeTarget> pending = pending(sp);
                if (!pending.isEmpty()) return pending;
                List<String> loaded = st.modules.stream().map(Module::name).distinct().toList();
                String list = loaded.size() <= 40 ? String.join(", ", loaded)
                        : String.join(", ", loaded.subList(0, 40)) + ", … (" + loaded.size() + " in all)";
                throw new Failure(Failure.Kind.SYMBOL_NOT_FOUND, "no object '" + sp.object + "' is loaded in " + pid
                        + "; loaded: " + list);
            }
            // An exact name beats a prefix at a name boundary ("libc" → libc.so.6, not libcrypt.so.1), which beats any prefix.
            List<Module> exact = scope.stream().filter(m -> objectIs(m, sp.object)).toList();
            List<Module> bounded = scope.stream().filter(m -> objectPrefixAtBoundary(m, sp.object)).toList();
            if (!exact.isEmpty()) scope = exact;
            else if (!bounded.isEmpty()) scope = bounded;
        }
        List<ProbeTarget> funcs = new ArrayList<>();
        List<ProbeTarget> data = new ArrayList<>();
        for (Module m : scope) {
            Map<Long, Symbol> byValue = new TreeMap<>();
            for (Symbol s : m.elf().lookup(sp.name)) {
                if (s.isTls() || s.value() == 0) continue;
                byValue.merge(s.value(), s, (a, b) -> a.isFunction() ? a : b);
            }
            for (Symbol s : byValue.values()) {
                long base = s.value();
                if (s.isIfunc()) {
                    // Callers run what the resolver chose (e.g. __memmove_avx_unaligned_erms), not the resolver.
                    OptionalLong impl = ifuncImplementation(m, s, st);
                    if (impl.isPresent()) base = impl.getAsLong() - m.bias();
                } else if (sp.offset != 0 && s.size() != 0 && sp.offset >= s.size()) {
                    throw new Failure(Failure.Kind.USAGE, sp.text + ": offset 0x" + Long.toHexString(sp.offset)
                            + " is past the end of " + sp.name + " in " + m.name() + " (size 0x" + Long.toHexString(s.size()) + ")");
                }
                long vaddr = base + sp.offset;
                long fileOff = m.elf().vaddrToFileOffset(vaddr);
                if (fileOff < 0) continue; // not backed by the file (e.g. .bss data)
                String label = sp.offset == 0 ? sp.name : sp.name + "+0x" + Long.toHexString(sp.offset);
                ProbeTarget t = new ProbeTarget(label, m.name(), m.file(), fileOff, m.bias() + vaddr);
                List<ProbeTarget> into = s.isFunction() ? funcs : data;
                if (into.stream().noneMatch(o -> o.address() == t.address())) into.add(t);
            }
        }
        if (!funcs.isEmpty()) return funcs;
        if (!data.isEmpty()) return data;
        throw notFound(sp, scope, st);
    }

    /** Where a library not loaded yet is looked for when named without a directory (ld.so's defaults on Debian). */
    private static final List<String> LIBRARY_DIRS = List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
            "/usr/local/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib");

    /**
     * Definitions in an object that is not loaded yet, named by its path or found by file name in
     * the usual library directories (as the process sees them): probed now, hit once the process
     * maps it (dlopen), as gdb's pending breakpoints. A uprobe is placed on the file, and the
     * kernel puts the breakpoint into every later mapping of it by the probed threads. Their
     * {@code address} is 0 (not known before the mapping). Empty when there is no such file.
     */
    private List<ProbeTarget> pending(Spec sp) {
        List<String> candidates = sp.object.contains("/")
                ? List.of(sp.object.startsWith("/") ? sp.object : Path.of(sp.object).toAbsolutePath().normalize().toString())
                : LIBRARY_DIRS.stream().map(d -> d + "/" + sp.object).toList();
        for (String c : candidates) {
            Path file = root.resolve(c.substring(1));
            if (!java.nio.file.Files.isRegularFile(file)) continue;
            ElfFile elf;
            try {
                elf = ElfCache.get(file, root, c);
            } catch (IOException | RuntimeException e) {
                continue; // not an ELF object
            }
            List<ProbeTarget> out = new ArrayList<>();
            for (Symbol s : elf.lookup(sp.name)) {
                if (!s.isFunction() || s.isIfunc() || s.value() == 0) continue;
                long fileOff = elf.vaddrToFileOffset(s.value() + sp.offset);
                String label = sp.offset == 0 ? sp.name : sp.name + "+0x" + Long.toHexString(sp.offset);
                if (fileOff >= 0 && out.stream().noneMatch(o -> o.fileOffset() == fileOff)) {
                    out.add(new ProbeTarget(label, fileName(c), file, fileOff, 0));
                }
            }
            if (out.isEmpty()) {
                List<String> names = new ArrayList<>();
                for (Symbol s : elf.symbols()) if (s.isFunction()) names.add(s.name());
                List<String> close = Suggest.closest(sp.name, names, 5);
                throw new Failure(Failure.Kind.SYMBOL_NOT_FOUND, "no function '" + sp.name + "' in " + c
                        + (close.isEmpty() ? "" : "; did you mean: " + String.join(", ", close) + "?"));
            }
            return out;
        }
        return List.of();
    }

    /**
     * Where IFUNC {@code s} of {@code m} was resolved to in this process: the GOT slot of an
     * R_X86_64_IRELATIVE relocation in {@code m} whose addend is the resolver, else a
     * JUMP_SLOT/GLOB_DAT slot naming it in any object, when it points into {@code m}'s code.
     * Empty when no slot is bound yet (lazy binding) or memory cannot be read.
     */
    private OptionalLong ifuncImplementation(Module m, Symbol s, Snapshot st) {
        for (Relocation r : m.elf().dynamicRelocations()) {
            if (r.type() == Relocation.R_X86_64_IRELATIVE && r.addend() == s.value()) {
                OptionalLong v = slotInto(m.bias() + r.offset(), m);
                if (v.isPresent()) return v;
            }
        }
        for (Module other : st.modules) {
            if (other.elf() == null) continue;
            for (Relocation r : other.elf().dynamicRelocations()) {
                if ((r.type() == Relocation.R_X86_64_JUMP_SLOT || r.type() == Relocation.R_X86_64_GLOB_DAT)
                        && s.name().equals(r.symbol())) {
                    OptionalLong v = slotInto(other.bias() + r.offset(), m);
                    if (v.isPresent()) return v;
                }
            }
        }
        return OptionalLong.empty();
    }

    /** The pointer stored at {@code slot}, when it points into an executable mapping of {@code m}. */
    private OptionalLong slotInto(long slot, Module m) {
        byte[] b;
        try {
            b = ProcFs.readMemory(pid, slot, 8);
        } catch (Failure f) {
            return OptionalLong.empty();
        }
        if (b.length < 8) return OptionalLong.empty();
        long v = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        for (Mapping map : m.mappings()) if (map.executable() && map.contains(v)) return OptionalLong.of(v);
        return OptionalLong.empty();
    }

    private Failure notFound(Spec sp, List<Module> scope, Snapshot st) {
        List<String> names = new ArrayList<>();
        for (Module m : scope) for (Symbol s : m.elf().symbols()) if (s.isFunction()) names.add(s.name());
        List<String> close = Suggest.closest(sp.name, names, 5);
        String where = sp.object == null ? Integer.toString(pid) : sp.object + " in " + pid;
        String msg = "symbol '" + sp.name + "' not found in " + where
                + (close.isEmpty() ? " (searched " + scope.size() + " objects)" : "; did you mean: " + String.join(", ", close) + "?");
        List<String> unread = st.modules.stream()
                .filter(m -> (m.elf() == null || m.file() == null) && !m.name().equals("[vdso]")
                        && (sp.object == null || objectMatches(m, sp.object)))
                .map(Module::path).distinct().toList();
        if (!unread.isEmpty()) msg += " (could not read: " + String.join(", ", unread) + ")";
        return new Failure(Failure.Kind.SYMBOL_NOT_FOUND, msg);
    }

    private boolean objectMatches(Module m, String object) {
        if (object.contains("/")) {
            if (m.path().equals(object)) return true;
            try {
                // A symlink (/lib/x86_64-linux-gnu/libcrypt.so.1) names the file mapped under its real name.
                return root.resolve(object.substring(object.startsWith("/") ? 1 : 0)).toRealPath()
                        .equals(root.resolve(m.path().substring(1)).toRealPath());
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        return m.name().startsWith(object) || soname(m).startsWith(object);
    }

    /** The object is named exactly: file name, path or DT_SONAME ("libcrypt.so.1" for libcrypt.so.1.1.0). */
    private static boolean objectIs(Module m, String object) {
        return m.name().equals(object) || m.path().equals(object) || soname(m).equals(object);
    }

    /** "libc" for libc.so.6 / libc-2.31.so, "libruby" for libruby-3.1.so.3.1: the prefix ends at '.', '-' or '_'. */
    private static boolean objectPrefixAtBoundary(Module m, String object) {
        for (String n : List.of(m.name(), soname(m))) {
            if (n.length() > object.length() && n.startsWith(object) && ".-_".indexOf(n.charAt(object.length())) >= 0) return true;
        }
        return false;
    }

    private static String soname(Module m) {
        return m.elf() == null ? "" : m.elf().soname().orElse("");
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

        /** Index of the last start &lt;= addr, or -1. */
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
