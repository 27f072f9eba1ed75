package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

/**
 * The mmap'ed ring buffer of a perf event (perf_event_open(2), "MMAP layout"): one metadata
 * page (struct perf_event_mmap_page: data_head @1024, data_tail @1032, data_offset @1040,
 * data_size @1048) followed by 2^n data pages. Records are struct perf_event_header
 * { u32 type; u16 misc; u16 size; } followed by the body; they may wrap at the end.
 */
public final class PerfRing implements AutoCloseable {
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); int munmap(void *addr, size_t length)
    private static final MethodHandle MMAP = Libc.words("mmap");
    private static final MethodHandle MUNMAP = Libc.words("munmap");
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1;
    public static final int PAGE = 4096;
    static final long OFF_DATA_HEAD = 1024, OFF_DATA_TAIL = 1032;
    private static final VarHandle LONG_VH = JAVA_LONG.varHandle();

    private final int fd;
    private final MemorySegment map;
    private final MemorySegment data;
    private final long size;
    private final ByteBuffer rec = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private final byte[] recBytes = rec.array();

    private PerfRing(int fd, MemorySegment map, long dataPages) {
        this.fd = fd;
        this.map = map;
        this.size = dataPages * PAGE;
        this.data = map.asSlice(PAGE, size);
    }

    /** Maps the ring buffer of {@code fd} with {@code dataPages} (a power of two) data pages. */
    public static PerfRing map(int fd, int dataPages) {
        if (Integer.bitCount(dataPages) != 1) throw new IllegalArgumentException("dataPages must be a power of 2");
        long len = (long) (dataPages + 1) * PAGE;
        MemorySegment m;
        try {
            m = MemorySegment.ofAddress((long) MMAP.invokeExact(Libc.errnoSeg(), 0L, len,
                    (long) (PROT_READ | PROT_WRITE), (long) MAP_SHARED, (long) fd, 0L));
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (m.address() == -1L) throw Libc.fail("mmap(perf fd " + fd + ")");
        return new PerfRing(fd, m.reinterpret(len), dataPages);
    }

    public int fd() {
        return fd;
    }

    /**
     * Hands every complete record to {@code sink} as a little-endian buffer positioned at the
     * header (type at 0, misc at 4, size at 6, body from 8), valid only during the call; then
     * frees the space. Returns the number of records.
     */
    public int drain(Consumer<ByteBuffer> sink) {
        long head = (long) LONG_VH.getAcquire(map, OFF_DATA_HEAD);
        long tail = map.get(JAVA_LONG, OFF_DATA_TAIL);
        int n = 0;
        while (tail < head) {
            long off = tail % size;
            int hdrSize = readU16(off + 6);
            if (hdrSize < 8) break; // corrupt; drop the rest
            copyOut(off, hdrSize);
            rec.clear().limit(hdrSize);
            sink.accept(rec);
            tail += hdrSize;
            n++;
        }
        LONG_VH.setRelease(map, OFF_DATA_TAIL, tail);
        return n;
    }

    private int readU16(long off) {
        int lo = data.get(JAVA_BYTE, off % size) & 0xff;
        int hi = data.get(JAVA_BYTE, (off + 1) % size) & 0xff;
        return lo | hi << 8;
    }

    private void copyOut(long off, int len) {
        long first = Math.min(len, size - off);
        MemorySegment.copy(data, JAVA_BYTE, off, recBytes, 0, (int) first);
        if (first < len) MemorySegment.copy(data, JAVA_BYTE, 0, recBytes, (int) first, (int) (len - first));
    }

    /**
     * Unmaps {@code rings}, then closes the perf event {@code fds} (which ends the events, inherited
     * copies included), and empties both lists.
     */
    public static void closeAll(java.util.List<PerfRing> rings, java.util.List<Integer> fds) {
        for (PerfRing r : rings) r.close();
        rings.clear();
        for (int fd : fds) Files.close(fd);
        fds.clear();
    }

    @Override
    public void close() {
        try {
            long rc = (long) MUNMAP.invokeExact(Libc.errnoSeg(), map.address(), map.byteSize(), 0L, 0L, 0L, 0L);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
