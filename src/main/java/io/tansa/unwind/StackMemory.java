package io.tansa.unwind;

/**
 * A copy of a thread's stack (PERF_SAMPLE_STACK_USER bytes, or a window read once from a stopped
 * thread) starting at virtual address {@code base}. Reads inside the copy are served from it;
 * anything else goes to {@code fallback} (may be null: then such reads fail).
 */
public final class StackMemory implements Memory {
    private final long base;
    private final byte[] bytes;
    private final Memory fallback;

    public StackMemory(long base, byte[] bytes, Memory fallback) {
        this.base = base;
        this.bytes = bytes;
        this.fallback = fallback;
    }

    @Override
    public int read(long addr, byte[] dst, int off, int len) {
        long rel = addr - base;
        if (rel >= 0 && rel <= bytes.length - (long) len) {
            System.arraycopy(bytes, (int) rel, dst, off, len);
            return len;
        }
        return fallback == null ? -1 : fallback.read(addr, dst, off, len);
    }

    @Override
    public long readLong(long addr) {
        long rel = addr - base;
        if (rel >= 0 && rel <= bytes.length - 8L) return Bytes.le64(bytes, (int) rel);
        if (fallback == null) throw new Fault(addr);
        return fallback.readLong(addr);
    }
}
