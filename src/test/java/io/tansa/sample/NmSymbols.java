package io.tansa.sample;

import io.tansa.profile.Frame;
import io.tansa.testing.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongFunction;

/**
 * Oracle symbolizer for the test programs: function ranges from {@code nm -S} of the main
 * executable, relocated by its load address from /proc/PID/maps. Independent of tansa's own
 * symbol code, and only knows the main binary (everything else is null).
 */
final class NmSymbols implements LongFunction<Frame> {
    private record Fn(String name, long size) {}

    private final TreeMap<Long, Fn> fns = new TreeMap<>();
    private final String module;
    private final long base;

    NmSymbols(int pid) {
        try {
            Path exe = Path.of("/proc", Integer.toString(pid), "exe").toRealPath();
            module = exe.getFileName().toString();
            long b = -1;
            for (String l : Files.readAllLines(Path.of("/proc", Integer.toString(pid), "maps"))) {
                String[] f = l.trim().split("\\s+");
                if (f.length >= 6 && f[5].equals(exe.toString()) && Long.parseLong(f[2], 16) == 0) {
                    b = Long.parseUnsignedLong(f[0].split("-")[0], 16);
                    break;
                }
            }
            base = b;
            for (String l : Native.run("nm", "-S", "--defined-only", exe.toString()).out().split("\n")) {
                String[] f = l.trim().split("\\s+");
                if (f.length == 4 && (f[2].equalsIgnoreCase("t"))) {
                    fns.put(Long.parseUnsignedLong(f[0], 16), new Fn(f[3], Long.parseUnsignedLong(f[1], 16)));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public Frame apply(long addr) {
        Map.Entry<Long, Fn> e = fns.floorEntry(addr - base);
        if (e == null || addr - base >= e.getKey() + e.getValue().size()) return null;
        return Frame.nativeFrame(e.getValue().name(), module, addr);
    }
}
