package io.tansa.symbols;

import java.nio.file.Path;

/**
 * One place to put a uprobe: {@code symbol} as the user named it ("work", "work+0x4"), the
 * {@code module} file name ("libc.so.6"), an openable {@code file} for the kernel
 * (perf_event_attr.config1), the instruction's {@code fileOffset} in it (config2), and its
 * runtime {@code address} in the process.
 */
public record ProbeTarget(String symbol, String module, Path file, long fileOffset, long address) {
    /** The runtime address of this target in a process with these maps (file offset → mapping), or -1. */
    public long addressIn(java.util.List<io.tansa.proc.Mapping> maps) {
        for (io.tansa.proc.Mapping m : maps) {
            if (m.executable() && m.path() != null && (m.path().equals(file.toString()) || m.path().endsWith("/" + module))
                    && fileOffset >= m.offset() && fileOffset < m.offset() + (m.end() - m.start())) {
                return m.start() + (fileOffset - m.offset());
            }
        }
        return -1;
    }
}
