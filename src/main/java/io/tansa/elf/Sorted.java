package io.tansa.elf;

/** Binary search over sorted addresses, shared by every address → entry table (symbols, CFI, maps, kallsyms). */
public final class Sorted {
    private Sorted() {}

    /**
     * Index of the last element of {@code a} (sorted ascending as unsigned 64-bit values: kernel
     * addresses are "negative" as a long) that is ≤ {@code key}, or -1 when every element is above it.
     */
    public static int floor(long[] a, long key) {
        int lo = 0, hi = a.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(a[mid], key) <= 0) lo = mid + 1;
            else hi = mid;
        }
        return lo - 1;
    }
}
