package io.tansa.unwind;

/**
 * Where the unwinder reads the target's memory: a stopped thread (remote reads), a stack copy
 * from a perf sample, or both stacked ({@link StackMemory} with a fallback).
 */
public interface Memory {
    /**
     * Reads {@code len} bytes at {@code addr} into {@code dst[off..]}; returns the number of bytes
     * read (possibly fewer than asked at the end of a mapping) or -1 when nothing is readable.
     */
    int read(long addr, byte[] dst, int off, int len);

    /** The little-endian 64-bit word at {@code addr}; throws {@link Fault} when unreadable. */
    default long readLong(long addr) {
        byte[] b = new byte[8];
        if (read(addr, b, 0, 8) != 8) throw new Fault(addr);
        return Bytes.le64(b, 0);
    }

    /**
     * An unreadable address met while unwinding. Thrown without a stack trace: it is an expected
     * outcome (the sampled stack copy ends, a register held garbage) and ends the walk.
     */
    final class Fault extends RuntimeException {
        private static final long serialVersionUID = 1L;
        public final long address;

        public Fault(long address) {
            super("unreadable memory at 0x" + Long.toHexString(address), null, false, false);
            this.address = address;
        }
    }
}
