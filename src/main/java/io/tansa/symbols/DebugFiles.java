package io.tansa.symbols;

import io.tansa.Failure;
import io.tansa.elf.ElfFile;
import io.tansa.elf.Section;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32;

/**
 * Separate debug files for stripped objects, where gdb looks for them (gdb "Separate Debug
 * Files"): /usr/lib/debug/.build-id/xx/rest.debug by build-id, then the .gnu_debuglink name next
 * to the object, in its .debug/ directory, and under /usr/lib/debug/DIR. A build-id candidate must
 * carry the same build-id; a debuglink candidate the recorded CRC32.
 */
final class DebugFiles {
    private DebugFiles() {}

    static final Path DEBUG_ROOT = Path.of("/usr/lib/debug");

    /**
     * The separate debug file for {@code elf}, which is the object at {@code mappedPath} (its path
     * in the process) seen under {@code root} ("/" or /proc/PID/root).
     */
    static Optional<ElfFile> find(ElfFile elf, Path root, String mappedPath) {
        Path debugRoot = root.resolve(DEBUG_ROOT.toString().substring(1));
        Optional<String> id = elf.buildId();
        if (id.isPresent() && id.get().length() > 2) {
            Path p = debugRoot.resolve(".build-id").resolve(id.get().substring(0, 2)).resolve(id.get().substring(2) + ".debug");
            Optional<ElfFile> d = open(p);
            if (d.isPresent() && d.get().buildId().equals(id)) return d;
        }
        Optional<String> link = elf.debugLink();
        Optional<Integer> crc = elf.debugLinkCrc();
        if (link.isEmpty() || crc.isEmpty() || !mappedPath.startsWith("/")) return Optional.empty();
        Path dir = Path.of(mappedPath).getParent();
        String rel = dir.toString().substring(1);
        List<Path> candidates = new ArrayList<>();
        candidates.add(root.resolve(rel).resolve(link.get()));
        candidates.add(root.resolve(rel).resolve(".debug").resolve(link.get()));
        candidates.add(debugRoot.resolve(rel).resolve(link.get()));
        for (Path c : candidates) {
            if (!Files.isRegularFile(c) || c.toString().equals(root.resolve(mappedPath.substring(1)).toString())) continue;
            if (crc32(c) != Integer.toUnsignedLong(crc.get())) continue;
            Optional<ElfFile> d = open(c);
            if (d.isPresent()) return d;
        }
        return Optional.empty();
    }

    /** Whether {@code elf} has function symbols beyond the exported ones (a .symtab or MiniDebugInfo). */
    static boolean hasFullSymbols(ElfFile elf) {
        return elf.sections().stream().anyMatch(s -> s.type() == Section.SHT_SYMTAB)
                || elf.section(".gnu_debugdata").isPresent();
    }

    private static Optional<ElfFile> open(Path p) {
        if (!Files.isRegularFile(p)) return Optional.empty();
        try {
            return Optional.of(ElfFile.open(p));
        } catch (Failure | UncheckedIOException e) {
            return Optional.empty();
        }
    }

    private static long crc32(Path p) {
        CRC32 crc = new CRC32();
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = new byte[1 << 16];
            int n;
            while ((n = in.read(b)) > 0) crc.update(b, 0, n);
        } catch (IOException e) {
            return -1;
        }
        return crc.getValue();
    }
}
