package io.tansa.symbols;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A JIT's symbol file, /tmp/perf-PID.map (the perf convention, written by the JVM with
 * -XX:+DumpPerfMapAtExit/jcmd Compiler.perfmap, by V8, LuaJIT, …): one "START SIZE name" line per
 * code blob, START and SIZE in hex. Re-read when the file grows or changes (JITs append).
 */
final class PerfMap {
    private final Path path;
    private long stamp = Long.MIN_VALUE;
    private long[] starts = new long[0];
    private long[] ends = new long[0];
    private String[] names = new String[0];

    PerfMap(Path path) {
        this.path = path;
    }

    /** The JIT symbol covering {@code addr}, the latest entry winning where code was replaced. */
    synchronized Optional<String> lookup(long addr) {
        reloadIfChanged();
        int lo = 0, hi = starts.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= addr) lo = mid + 1;
            else hi = mid;
        }
        for (int i = lo - 1; i >= 0 && i >= lo - 4; i--) if (addr < ends[i]) return Optional.of(names[i]);
        return Optional.empty();
    }

    private void reloadIfChanged() {
        long s;
        try {
            BasicFileAttributes a = Files.readAttributes(path, BasicFileAttributes.class);
            s = a.size() * 31 + a.lastModifiedTime().toMillis();
        } catch (IOException e) {
            s = -1;
        }
        if (s == stamp) return;
        stamp = s;
        record E(long start, long end, String name, int line) {}
        List<E> es = new ArrayList<>();
        if (s != -1) {
            try {
                int n = 0;
                for (String l : Files.readAllLines(path, StandardCharsets.UTF_8)) {
                    n++;
                    int a = l.indexOf(' ');
                    int b = a < 0 ? -1 : l.indexOf(' ', a + 1);
                    if (b < 0) continue;
                    try {
                        long start = hex(l.substring(0, a)), size = hex(l.substring(a + 1, b));
                        es.add(new E(start, start + size, l.substring(b + 1), n));
                    } catch (NumberFormatException e) {
                        // not an entry: skip, as perf does
                    }
                }
            } catch (IOException e) {
                es.clear();
            }
        }
        // Sorted by start; among equal starts the later line (newer code) last, so it is found first.
        es.sort(Comparator.comparingLong(E::start).thenComparingInt(E::line));
        starts = es.stream().mapToLong(E::start).toArray();
        ends = es.stream().mapToLong(E::end).toArray();
        names = es.stream().map(E::name).toArray(String[]::new);
    }

    private static long hex(String s) {
        return Long.parseUnsignedLong(s.startsWith("0x") ? s.substring(2) : s, 16);
    }
}
