package io.tansa.symbols;

import io.tansa.elf.DebugLine;
import io.tansa.elf.ElfFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Parsed ELF files shared by every {@link ProcessSymbols} in this JVM: many processes map the
 * same libc, whose symbols should be parsed once. Keyed by file identity (device, inode, size,
 * mtime), then by build-id, so copies of one build in different containers are shared too.
 */
final class ElfCache {
    private ElfCache() {}

    private static final int MAX = 512;

    private static final Map<String, ElfFile> BY_FILE = lru();
    private static final Map<String, ElfFile> BY_BUILD_ID = lru();

    private static <V> Map<String, V> lru() {
        return new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, V> e) {
                return size() > MAX;
            }
        };
    }

    /**
     * The parsed ELF file at {@code p}, from cache when this file (or its build) was seen before.
     * A stripped object gets the symbols of its separate debug file (see {@link DebugFiles}),
     * looked up under {@code root} for {@code mappedPath}, its path in the process.
     */
    static ElfFile get(Path p, Path root, String mappedPath) throws IOException {
        BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
        String fileKey = a.fileKey() + "/" + a.size() + "/" + a.lastModifiedTime().toMillis();
        synchronized (ElfCache.class) {
            ElfFile e = BY_FILE.get(fileKey);
            if (e != null) return e;
        }
        ElfFile fresh = ElfFile.open(p);
        String id = fresh.buildId().orElse(null);
        synchronized (ElfCache.class) {
            ElfFile e = id == null ? null : BY_BUILD_ID.get(id);
            if (e == null) {
                e = fresh;
                if (!DebugFiles.hasFullSymbols(e)) DebugFiles.find(e, root, mappedPath).ifPresent(e::addSymbolSource);
                if (id != null) BY_BUILD_ID.put(id, e);
            }
            BY_FILE.put(fileKey, e);
            return e;
        }
    }

    private static final Map<ElfFile, DebugLine> SEPARATE_LINES = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    /**
     * The line table of {@code elf} ({@link DebugLine#of}: its own .debug_line, else its added
     * debug file's). An object with a .symtab of its own got no debug file for symbols; when it has
     * no line table either, its separate debug file is looked for here, once.
     */
    static DebugLine lines(ElfFile elf, Path root, String mappedPath) {
        DebugLine d = DebugLine.of(elf);
        if (!d.isEmpty() || !elf.symbolSources().isEmpty() || !mappedPath.startsWith("/")) return d;
        DebugLine sep = SEPARATE_LINES.get(elf);
        if (sep == null) {
            sep = DebugFiles.find(elf, root, mappedPath).map(DebugLine::of).orElse(d);
            SEPARATE_LINES.put(elf, sep);
        }
        return sep;
    }

    /** An in-memory image (e.g. [vdso]) shared by build-id when it has one. */
    static ElfFile image(String origin, byte[] bytes) {
        ElfFile fresh = ElfFile.of(origin, bytes);
        String id = fresh.buildId().orElse(null);
        if (id == null) return fresh;
        synchronized (ElfCache.class) {
            return BY_BUILD_ID.computeIfAbsent(id, k -> fresh);
        }
    }
}
