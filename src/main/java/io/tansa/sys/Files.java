package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** Plain fd operations: close(2), read(2), ioctl(2), poll(2). */
public final class Files {
    private Files() {}

    // int close(int fd); ssize_t read(int fd, void *buf, size_t count); in the one shape of Libc.words
    private static final MethodHandle CLOSE = Libc.words("close");
    private static final MethodHandle READ = Libc.words("read");
    // int ioctl(int fd, unsigned long request, ...)
    private static final MethodHandle IOCTL = Libc.words("ioctl");
    // int poll(struct pollfd *fds, nfds_t nfds, int timeout); struct pollfd { int fd; short events, revents; }
    private static final MethodHandle POLL = Libc.words("poll");

    public static final short POLLIN = 1, POLLERR = 8, POLLHUP = 0x10;

    public static void close(int fd) {
        try {
            int rc = (int) (long) CLOSE.invokeExact(Libc.errnoSeg(), (long) fd, 0L, 0L, 0L, 0L, 0L);
            if (rc == -1 && Libc.errno() != Errno.EINTR) throw Libc.fail("close(" + fd + ")");
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    public static int ioctl(int fd, long request, long arg) {
        int rc;
        try {
            rc = (int) (long) IOCTL.invokeExact(Libc.errnoSeg(), (long) fd, request, arg, 0L, 0L, 0L);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc == -1) throw Libc.fail("ioctl(" + fd + ", 0x" + Long.toHexString(request) + ")");
        return rc;
    }

    /** read(2) into dst; returns bytes read, 0 at EOF; EAGAIN returns -1. */
    public static int read(int fd, byte[] dst, int len) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(len);
            long n;
            while (true) {
                n = (long) READ.invokeExact(Libc.errnoSeg(), (long) fd, buf.address(), (long) len, 0L, 0L, 0L);
                if (n == -1 && Libc.errno() == Errno.EINTR) continue;
                break;
            }
            if (n == -1) {
                if (Libc.errno() == Errno.EAGAIN) return -1;
                throw Libc.fail("read(" + fd + ")");
            }
            MemorySegment.copy(buf, JAVA_BYTE, 0, dst, 0, (int) n);
            return (int) n;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * poll(2) for POLLIN on {@code fds}. Returns, per fd, the revents bits (0 when not ready).
     * EINTR returns all zeros.
     */
    public static short[] poll(int[] fds, int timeoutMs) {
        short[] out = new short[fds.length];
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(8L * Math.max(1, fds.length), 4);
            for (int i = 0; i < fds.length; i++) {
                p.set(JAVA_INT, 8L * i, fds[i]);
                p.set(JAVA_SHORT, 8L * i + 4, POLLIN);
            }
            int rc = (int) (long) POLL.invokeExact(Libc.errnoSeg(), p.address(), (long) fds.length, (long) timeoutMs, 0L, 0L, 0L);
            if (rc == -1) {
                if (Libc.errno() == Errno.EINTR) return out;
                throw Libc.fail("poll");
            }
            for (int i = 0; i < fds.length; i++) out[i] = p.get(JAVA_SHORT, 8L * i + 6);
            return out;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
