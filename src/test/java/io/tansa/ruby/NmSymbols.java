package io.tansa.ruby;

import io.tansa.testing.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Test-side {@link Symbols}: libruby's dynamic symbols from {@code nm -D --defined-only} plus the
 * library's load base from /proc/PID/maps (the mapping at file offset 0; libruby's first PT_LOAD
 * has vaddr 0, so base + st_value is the address).
 */
public final class NmSymbols implements Symbols {
    static final Path LIBRUBY = Path.of("/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1");

    private static Map<String, Long> table;
    private final long base;

    public NmSymbols(int pid) {
        base = base(pid);
    }

    @Override
    public long address(String name) {
        Long v = symbols().get(name);
        return v == null || base < 0 ? -1 : base + v;
    }

    private static synchronized Map<String, Long> symbols() {
        if (table == null) {
            var r = Native.run("nm", "-D", "--defined-only", LIBRUBY.toString());
            Map<String, Long> t = new HashMap<>();
            for (String l : r.out().split("\n")) {
                String[] f = l.trim().split("\\s+");
                if (f.length == 3) t.put(f[2].replaceAll("@.*", ""), Long.parseUnsignedLong(f[0], 16));
            }
            table = t;
        }
        return table;
    }

    private static long base(int pid) {
        try {
            String real = LIBRUBY.toRealPath().toString();
            for (String l : Files.readAllLines(Path.of("/proc/" + pid + "/maps"))) {
                String[] f = l.trim().split("\\s+");
                if (f.length >= 6 && f[5].equals(real) && Long.parseLong(f[2], 16) == 0) {
                    return Long.parseUnsignedLong(f[0].substring(0, f[0].indexOf('-')), 16);
                }
            }
            return -1;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
