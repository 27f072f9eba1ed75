package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Another process's memory through process_vm_readv(2) / process_vm_writev(2): one syscall per
 * batch of ranges, no stop needed for reads (the caller decides whether the data is stable).
 * struct iovec { void *iov_base; size_t iov_len; } is 16 bytes (&lt;bits/types/struct_iovec.h&gt;).
 */
public final class Mem {
    private Mem() {}

    // ssize_t process_vm_readv(pid_t, const struct iovec *local, unsigned long liovcnt,
    //                          const struct iovec *remote, unsigned long riovcnt, unsigned long flags)
    // (and process_vm_writev alike), in the one shape of Libc.words
    private static final MethodHandle READV = Libc.words("process_vm_readv");
    private static final MethodHandle WRITEV = Libc.words("process_vm_writev");

    private static final int SCRATCH_SIZE = 1 << 20;

    private static final class Scratch {
        final MemorySegment buf = Arena.global().allocate(SCRATCH_SIZE, 16);
        final MemorySegment local = Arena.global().allocate(16L * 1024, 8);
        final MemorySegment remote = Arena.global().allocate(16L * 1024, 8);
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * Reads up to {@code len} bytes at {@code addr} of {@code pid} into {@code dst[off..]}.
     * Returns the bytes read: fewer than asked when the range runs into unmapped memory, -1 when
     * nothing at all could be read (EFAULT). ESRCH and EPERM throw.
     */
    public static int read(int pid, long addr, byte[] dst, int off, int len) {
        Scratch s = SCRATCH.get();
        int done = 0;
        while (done < len) {
            int chunk = Math.min(len - done, SCRATCH_SIZE);
            long n = transfer(READV, pid, s, addr + done, chunk, "process_vm_readv");
            if (n <= 0) return done == 0 ? -1 : done;
            MemorySegment.copy(s.buf, JAVA_BYTE, 0, dst, off + done, (int) n);
            done += (int) n;
            if (n < chunk) break;
        }
        return done;
    }

    /** Reads one little-endian 64-bit word; throws {@link SysException} (EFAULT) when unmapped. */
    public static long readLong(int pid, long addr) {
        Scratch s = SCRATCH.get();
        long n = transfer(READV, pid, s, addr, 8, "process_vm_readv");
        if (n != 8) throw new SysException("process_vm_readv(" + pid + ", 0x" + Long.toHexString(addr) + "): EFAULT", Errno.EFAULT);
        return s.buf.get(JAVA_LONG, 0);
    }

    /** Most ranges one {@link #readv} call takes: IOV_MAX, the remote iovec limit of process_vm_readv(2). */
    public static final int MAX_RANGES = 1024;

    /**
     * Reads {@code count} ranges ({@code addrs[i]}, {@code lens[i]}) in ONE process_vm_readv call,
     * packed back to back into {@code dst} from offset 0. Returns the bytes read: the kernel stops
     * at the first range that faults, so a result below the sum of the lengths means every range
     * before the faulting one is complete and the rest are not. ESRCH and EPERM throw.
     */
    public static long readv(int pid, long[] addrs, int[] lens, int count, byte[] dst) {
        if (count > MAX_RANGES) throw new IllegalArgumentException("more than " + MAX_RANGES + " ranges");
        Scratch s = SCRATCH.get();
        long total = 0;
        for (int i = 0; i < count; i++) {
            s.remote.set(JAVA_LONG, 16L * i, addrs[i]);
            s.remote.set(JAVA_LONG, 16L * i + 8, lens[i]);
            total += lens[i];
        }
        if (total > SCRATCH_SIZE || total > dst.length) throw new IllegalArgumentException("readv too large");
        s.local.set(ADDRESS, 0, s.buf);
        s.local.set(JAVA_LONG, 8, total);
        long n;
        try {
            n = (long) READV.invokeExact(Libc.errnoSeg(), (long) pid, s.local.address(), 1L, s.remote.address(), (long) count, 0L);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (n < 0) {
            int e = Libc.errno();
            if (e == Errno.EFAULT || e == Errno.EIO) return 0;
            throw SysException.of("process_vm_readv(" + pid + ")", e);
        }
        MemorySegment.copy(s.buf, JAVA_BYTE, 0, dst, 0, (int) n);
        return n;
    }

    /** Writes {@code src} at {@code addr}; the pages must be writable in the target (stack, heap). */
    public static void write(int pid, long addr, byte[] src) {
        Scratch s = SCRATCH.get();
        if (src.length > SCRATCH_SIZE) throw new IllegalArgumentException("write too large");
        MemorySegment.copy(src, 0, s.buf, JAVA_BYTE, 0, src.length);
        long n = transfer(WRITEV, pid, s, addr, src.length, "process_vm_writev");
        if (n != src.length) throw new SysException("process_vm_writev(" + pid + "): short write", Errno.EFAULT);
    }

    private static long transfer(MethodHandle h, int pid, Scratch s, long addr, long len, String name) {
        s.local.set(ADDRESS, 0, s.buf);
        s.local.set(JAVA_LONG, 8, len);
        s.remote.set(JAVA_LONG, 0, addr);
        s.remote.set(JAVA_LONG, 8, len);
        long n;
        try {
            n = (long) h.invokeExact(Libc.errnoSeg(), (long) pid, s.local.address(), 1L, s.remote.address(), 1L, 0L);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (n < 0) {
            int e = Libc.errno();
            if (e == Errno.EFAULT || e == Errno.EIO) return -1;
            throw SysException.of(name + "(" + pid + ")", e);
        }
        return n;
    }
}
