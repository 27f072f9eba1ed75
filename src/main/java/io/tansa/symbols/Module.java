package io.tansa.symbols;

import io.tansa.elf.ElfFile;
import io.tansa.proc.Mapping;
import java.nio.file.Path;
import java.util.List;

/**
 * A loaded object in a process: its {@code path} as mapped ("/usr/lib/x86_64-linux-gnu/libc.so.6",
 * "[vdso]"), file {@code name} ("libc.so.6"), load {@code bias} (runtime address = bias + link-time
 * address), its {@code mappings}, an openable {@code file} (see ProcFs.objectPath; null when
 * none, e.g. [vdso]), {@code buildId} (hex or null) and the parsed {@code elf} (null when it
 * could not be read).
 */
public record Module(String path, String name, long bias, List<Mapping> mappings, Path file, String buildId,
                     ElfFile elf) {
    /** Lowest mapped address. */
    public long start() {
        return mappings.getFirst().start();
    }

    /** End of the highest mapping. */
    public long end() {
        return mappings.getLast().end();
    }
}
