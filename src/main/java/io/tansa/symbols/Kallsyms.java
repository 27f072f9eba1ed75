package io.tansa.symbols;

import io.tansa.elf.Sorted;

import java.io.IOException;
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
    private final byte[] text;
    private final long[] starts;
    private final int[] names; // per symbol: offset of its name in text; the name ends at '\t' or '\n'
    private final int[] objects; // per symbol: offset of "[module]" in text, or -1 for the kernel itself
    private final boolean restricted;

    private Kallsyms(byte[] text, long[] starts, int[] names, int[] objects, boolean restricted) {
        this.text = text;
        this.starts = starts;
        this.names = names;
        this.objects = objects;
        this.restricted = restricted;
    }

    /** Reads /proc/kallsyms; an unreadable file gives an empty, restricted table. */
    public static Kallsyms load() {
        try {
            return parse(Files.readAllBytes(Path.of("/proc/kallsyms")));
        } catch (IOException e) {
            return parse(new byte[0]);
        }
    }

    /**
     * Parses the kallsyms text format; only text symbols (t, T, w, W) are kept. Names stay bytes
     * of {@code text} until looked up: the file has ~10^5 lines and is read at the first kernel sample.
     */
    public static Kallsyms parse(byte[] text) {
        int cap = 1 << 14, n = 0;
        long[] a = new long[cap];
        int[] nm = new int[cap], obj = new int[cap];
        boolean anyAddress = false;
        int i = 0, len = text.length;
        while (i < len) {
            int eol = i;
            while (eol < len && text[eol] != '\n') eol++;
            // "ffffffff81000000 T name[\t[module]]"
            long addr = 0;
            int p = i;
            for (; p < eol && text[p] != ' '; p++) addr = addr << 4 | Character.digit(text[p], 16);
            if (p + 3 < eol) {
                byte t = text[p + 1];
                if (t == 't' || t == 'T' || t == 'w' || t == 'W') {
                    int nameStart = p + 3, tab = nameStart;
                    while (tab < eol && text[tab] != '\t') tab++;
                    if (n == cap) {
                        cap *= 2;
                        a = Arrays.copyOf(a, cap);
                        nm = Arrays.copyOf(nm, cap);
                        obj = Arrays.copyOf(obj, cap);
                    }
                    a[n] = addr;
                    nm[n] = nameStart;
                    obj[n] = tab < eol ? tab + 1 : -1;
                    anyAddress |= addr != 0;
                    n++;
                }
            }
            i = eol + 1;
        }
        if (!anyAddress) return new Kallsyms(text, new long[0], new int[0], new int[0], true);
        int[] order = sortedOrder(a, n);
        long[] starts = new long[n];
        int[] names = new int[n], objects = new int[n];
        for (int k = 0; k < n; k++) {
            starts[k] = a[order[k]];
            names[k] = nm[order[k]];
            objects[k] = obj[order[k]];
        }
        return new Kallsyms(text, starts, names, objects, false);
    }

    /**
     * Indices of {@code a[0..n)} in unsigned address order, stable. Kernel text and modules lie
     * within a few GiB, so (address - lowest) and the index pack into one long and a primitive
     * sort does it; anything wider falls back to a boxed sort.
     */
    private static int[] sortedOrder(long[] a, int n) {
        long min = -1L, max = 0;
        for (int k = 0; k < n; k++) {
            if (Long.compareUnsigned(a[k], min) < 0) min = a[k];
            if (Long.compareUnsigned(a[k], max) > 0) max = a[k];
        }
        int[] order = new int[n];
        if (max - min < (1L << 40) && n < (1 << 22)) {
            long[] keys = new long[n];
            for (int k = 0; k < n; k++) keys[k] = (a[k] - min) << 22 | k;
            Arrays.sort(keys);
            for (int k = 0; k < n; k++) order[k] = (int) (keys[k] & ((1 << 22) - 1));
            return order;
        }
        Integer[] idx = new Integer[n];
        for (int k = 0; k < n; k++) idx[k] = k;
        Arrays.sort(idx, (x, y) -> Long.compareUnsigned(a[x], a[y]));
        for (int k = 0; k < n; k++) order[k] = idx[k];
        return order;
    }

    private String string(int from, byte stop) {
        int end = from;
        while (end < text.length && text[end] != stop && text[end] != '\n') end++;
        return new String(text, from, end - from, StandardCharsets.US_ASCII);
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
        int found = Sorted.floor(starts, addr);
        if (found < 0) return null;
        // Several names can share one address (aliases); the first in file order is the canonical one.
        while (found > 0 && starts[found - 1] == starts[found]) found--;
        String object = objects[found] < 0 ? KERNEL : string(objects[found], (byte) '\n');
        if (!object.startsWith("[")) object = "[" + object + "]";
        return new Symbol(string(names[found], (byte) '\t'), object, starts[found]);
    }

    /** Address of the first symbol with this name, or 0 (tests; "what would perf resolve this to"). */
    public long address(String name) {
        for (int i = 0; i < names.length; i++) if (string(names[i], (byte) '\t').equals(name)) return starts[i];
        return 0;
    }
}
