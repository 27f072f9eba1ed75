package io.tansa.symbols;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Kernel text symbols from /proc/kallsyms ("ADDRESS TYPE NAME [MODULE]", see proc(5) and
 * Documentation/admin-guide/sysctl/kernel.rst, kptr_restrict). Lookup is by the closest symbol at
 * or below the address, as perf does for kernel samples. When kptr_restrict hides the addresses
 * (all zero for this reader), {@link #restricted()} is true and nothing resolves.
 */
public final class Kallsyms {
    /** A kernel function: its name and where it lives ("[kernel]" or "[module]"). */
    public record Symbol(String name, String object, long start) {}

    private static final String KERNEL = "[kernel]";
    private final long[] starts;
    private final String[] names;
    private final String[] objects;
    private final boolean restricted;

    private Kallsyms(long[] starts, String[] names, String[] objects, boolean restricted) {
        this.starts = starts;
        this.names = names;
        this.objects = objects;
        this.restricted = restricted;
    }

    /** Reads /proc/kallsyms; an unreadable file gives an empty, restricted table. */
    public static Kallsyms load() {
        try (BufferedReader r = Files.newBufferedReader(Path.of("/proc/kallsyms"), StandardCharsets.US_ASCII)) {
            return parse(r);
        } catch (IOException e) {
            return new Kallsyms(new long[0], new String[0], new String[0], true);
        }
    }

    /** Parses the kallsyms text format; only text symbols (t, T, w, W) are kept. */
    public static Kallsyms parse(Reader in) throws IOException {
        BufferedReader r = in instanceof BufferedReader b ? b : new BufferedReader(in);
        int n = 0;
        long[] a = new long[1 << 17];
        String[] nm = new String[a.length];
        String[] obj = new String[a.length];
        boolean anyAddress = false;
        String line;
        while ((line = r.readLine()) != null) {
            int s1 = line.indexOf(' ');
            if (s1 <= 0 || s1 + 3 >= line.length()) continue;
            char t = line.charAt(s1 + 1);
            if (t != 't' && t != 'T' && t != 'w' && t != 'W') continue;
            long addr = Long.parseUnsignedLong(line, 0, s1, 16);
            if (addr != 0) anyAddress = true;
            int nameStart = s1 + 3;
            int tab = line.indexOf('\t', nameStart);
            String name = tab < 0 ? line.substring(nameStart) : line.substring(nameStart, tab);
            String object = KERNEL;
            if (tab >= 0) {
                String mod = line.substring(tab + 1).trim();
                object = mod.startsWith("[") ? mod : "[" + mod + "]";
            }
            if (n == a.length) {
                a = Arrays.copyOf(a, n * 2);
                nm = Arrays.copyOf(nm, n * 2);
                obj = Arrays.copyOf(obj, n * 2);
            }
            a[n] = addr;
            nm[n] = name;
            obj[n] = object;
            n++;
        }
        if (!anyAddress) return new Kallsyms(new long[0], new String[0], new String[0], true);
        // Sort by unsigned address (kernel addresses are "negative" as Java longs); stable keeps file order on ties.
        Integer[] idx = new Integer[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        final long[] fa = a;
        Arrays.sort(idx, (x, y) -> Long.compareUnsigned(fa[x], fa[y]));
        long[] starts = new long[n];
        String[] names = new String[n];
        String[] objects = new String[n];
        for (int i = 0; i < n; i++) {
            starts[i] = a[idx[i]];
            names[i] = nm[idx[i]];
            objects[i] = obj[idx[i]];
        }
        return new Kallsyms(starts, names, objects, false);
    }

    /** True when the addresses are hidden (kptr_restrict, or no permission): kernel samples cannot be named. */
    public boolean restricted() {
        return restricted;
    }

    public int size() {
        return starts.length;
    }

    /** The function containing {@code addr}, or null (below the first symbol, or no symbols). */
    public Symbol lookup(long addr) {
        int lo = 0, hi = starts.length - 1, found = -1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(starts[mid], addr) <= 0) {
                found = mid;
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        if (found < 0) return null;
        // Several names can share one address (aliases); the first in file order is the canonical one.
        while (found > 0 && starts[found - 1] == starts[found]) found--;
        return new Symbol(names[found], objects[found], starts[found]);
    }

    /** Address of the first symbol with this name, or 0 (tests; "what would perf resolve this to"). */
    public long address(String name) {
        for (int i = 0; i < names.length; i++) if (names[i].equals(name)) return starts[i];
        return 0;
    }
}
