package io.tansa.symbols;

import io.tansa.Failure;
import io.tansa.elf.ElfFile;
import io.tansa.elf.Relocation;
import io.tansa.elf.Symbol;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Symbol spec → probe locations in one process: a SYMBOL as users write it ("name",
 * "name@VERSION", "object:name", "name+0xOFF") becomes every definition in the objects
 * {@link ProcessSymbols} found loaded (or, for an object named but not loaded yet, in its file):
 * IFUNCs followed to the implementation the process bound, close names suggested when nothing
 * matches. The reverse direction, address → frame, is {@link ProcessSymbols#frame}.
 */
public final class SymbolResolver {
    private final ProcessSymbols symbols;

    public SymbolResolver(ProcessSymbols symbols) {
        this.symbols = symbols;
    }

    /**
     * Resolves a symbol spec — "name", "name@VERSION", "object:name", "name+0xOFF",
     * "object:name+0xOFF", and "module+0xADDR" for code with no symbol (a link-time address in the
     * loaded object of that file name) — to every definition in every loaded object (aliases at one address in
     * one object are one target). The object may be a file name ("libcrypt.so.1"), a path, or a
     * prefix of the file name ("libcrypt"). Functions only, unless only data symbols match.
     * Throws {@code Failure(SYMBOL_NOT_FOUND)} with close names, or with the loaded objects when
     * the object matches none.
     */
    public List<ProbeTarget> resolve(String spec) {
        Spec sp = Spec.parse(spec);
        try {
            return resolve(sp, symbols.modules());
        } catch (Failure f) {
            if (f.kind() != Failure.Kind.SYMBOL_NOT_FOUND) throw f;
            // An object dlopen'ed since the maps were read: look once more.
            return resolve(sp, symbols.reload());
        }
    }

    /**
     * Absolute address of the symbol {@code name} (data or function, not TLS) in the first loaded
     * object whose file name starts with {@code objectPrefix}.
     */
    public OptionalLong symbolAddress(String objectPrefix, String name) {
        for (Module m : symbols.modules()) {
            if (m.elf() == null || !(objectIs(m, objectPrefix) || objectPrefixAtBoundary(m, objectPrefix)
                    || m.name().startsWith(objectPrefix))) continue;
            for (Symbol s : m.elf().lookup(name)) {
                if (!s.isTls() && s.value() != 0) return OptionalLong.of(m.bias() + s.value());
            }
        }
        return OptionalLong.empty();
    }

    /** A parsed SYMBOL: [object:]name[+offset], or module+0xADDR (a link-time address in that object). */
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

    private List<ProbeTarget> resolve(Spec sp, List<Module> loaded) {
        List<Module> scope = loaded.stream().filter(m -> m.elf() != null && m.file() != null).toList();
        if (sp.object != null) {
            scope = scope.stream().filter(m -> objectMatches(m, sp.object)).toList();
            if (scope.isEmpty()) {
                List<ProbeTarget> pending = pending(sp);
                if (!pending.isEmpty()) return pending;
                List<String> names = loaded.stream().map(Module::name).distinct().toList();
                String list = names.size() <= 40 ? String.join(", ", names)
                        : String.join(", ", names.subList(0, 40)) + ", … (" + names.size() + " in all)";
                throw new Failure(Failure.Kind.SYMBOL_NOT_FOUND, "no object '" + sp.object + "' is loaded in " + symbols.pid()
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
                    OptionalLong impl = ifuncImplementation(m, s, loaded);
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
        if (sp.object == null && sp.offset != 0) {
            // "module+0xADDR": a link-time address in a loaded object, as frames without a symbol are named
            for (Module m : scope) {
                if (!m.name().equals(sp.name)) continue;
                long fileOff = m.elf().vaddrToFileOffset(sp.offset);
                if (fileOff < 0) throw new Failure(Failure.Kind.USAGE, sp.text + ": 0x" + Long.toHexString(sp.offset)
                        + " is not an address in " + m.name() + "'s file");
                funcs.add(new ProbeTarget(sp.text, m.name(), m.file(), fileOff, m.bias() + sp.offset));
            }
            if (!funcs.isEmpty()) return funcs;
        }
        throw notFound(sp, scope, loaded);
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
            Path file = symbols.root().resolve(c.substring(1));
            if (!java.nio.file.Files.isRegularFile(file)) continue;
            ElfFile elf;
            try {
                elf = ElfCache.get(file, symbols.root(), c);
            } catch (IOException | RuntimeException e) {
                continue; // not an ELF object
            }
            List<ProbeTarget> out = new ArrayList<>();
            for (Symbol s : elf.lookup(sp.name)) {
                if (!s.isFunction() || s.isIfunc() || s.value() == 0) continue;
                long fileOff = elf.vaddrToFileOffset(s.value() + sp.offset);
                String label = sp.offset == 0 ? sp.name : sp.name + "+0x" + Long.toHexString(sp.offset);
                if (fileOff >= 0 && out.stream().noneMatch(o -> o.fileOffset() == fileOff)) {
                    out.add(new ProbeTarget(label, ProcessSymbols.fileName(c), file, fileOff, 0));
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
    private OptionalLong ifuncImplementation(Module m, Symbol s, List<Module> loaded) {
        for (Relocation r : m.elf().dynamicRelocations()) {
            if (r.type() == Relocation.R_X86_64_IRELATIVE && r.addend() == s.value()) {
                OptionalLong v = slotInto(m.bias() + r.offset(), m);
                if (v.isPresent()) return v;
            }
        }
        for (Module other : loaded) {
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
            b = ProcFs.readMemory(symbols.pid(), slot, 8);
        } catch (Failure f) {
            return OptionalLong.empty();
        }
        if (b.length < 8) return OptionalLong.empty();
        long v = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        for (Mapping map : m.mappings()) if (map.executable() && map.contains(v)) return OptionalLong.of(v);
        return OptionalLong.empty();
    }

    private Failure notFound(Spec sp, List<Module> scope, List<Module> loaded) {
        List<String> names = new ArrayList<>();
        for (Module m : scope) for (Symbol s : m.elf().symbols()) if (s.isFunction()) names.add(s.name());
        List<String> close = Suggest.closest(sp.name, names, 5);
        String where = sp.object == null ? Integer.toString(symbols.pid()) : sp.object + " in " + symbols.pid();
        String msg = "symbol '" + sp.name + "' not found in " + where
                + (close.isEmpty() ? " (searched " + scope.size() + " objects)" : "; did you mean: " + String.join(", ", close) + "?");
        List<String> unread = loaded.stream()
                .filter(m -> (m.elf() == null || m.file() == null) && !m.name().equals("[vdso]")
                        && (sp.object == null || objectMatches(m, sp.object)))
                .map(Module::path).distinct().toList();
        if (!unread.isEmpty()) msg += " (could not read: " + String.join(", ", unread) + ")";
        // objects with only .dynsym (no .symtab, MiniDebugInfo or debug file): their static functions have no
        // names here. Said unless the name looks like a typo of a known one (within 2 edits).
        boolean typo = !close.isEmpty() && Suggest.distance(sp.name, close.getFirst(), 3) <= 2;
        List<String> stripped = typo ? List.of() : scope.stream()
                .filter(m -> !m.name().equals("[vdso]") && m.elf().symbols().stream().allMatch(Symbol::dynamic))
                .map(Module::name).distinct().toList();
        if (!stripped.isEmpty()) {
            String one = stripped.getFirst(); // the executable, where it is stripped: the maps list it first
            String list = stripped.size() <= 3 ? String.join(", ", stripped)
                    : String.join(", ", stripped.subList(0, 3)) + " and " + (stripped.size() - 3) + " more";
            msg += "; " + list + (stripped.size() == 1 ? " is" : " are") + " stripped: only exported"
                    + " functions have names there, static ones do not (install " + (stripped.size() == 1 ? "its" : "their")
                    + " debug symbols, e.g. Debian's -dbgsym"
                    + " package, or probe an address as tansa names it in frames: " + one + "+0xADDR)";
        }
        return new Failure(Failure.Kind.SYMBOL_NOT_FOUND, msg);
    }

    private boolean objectMatches(Module m, String object) {
        if (object.contains("/")) {
            if (m.path().equals(object)) return true;
            try {
                // A symlink (/lib/x86_64-linux-gnu/libcrypt.so.1) names the file mapped under its real name.
                Path root = symbols.root();
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
}
