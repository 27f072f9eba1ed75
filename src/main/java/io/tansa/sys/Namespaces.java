package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/** setns(2): moving the calling thread into another process's namespace. */
public final class Namespaces {
    private Namespaces() {}

    public static final int CLONE_NEWNET = 0x40000000; // <linux/sched.h>
    private static final int O_RDONLY = 0, O_CLOEXEC = 0x80000; // <asm-generic/fcntl.h>

    private static final MethodHandle OPEN = Libc.downcall("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SETNS = Libc.downcall("setns",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    /**
     * Moves the calling thread (only it: setns affects the calling thread) into the network
     * namespace of {@code pid}, through /proc/PID/ns/net. Sockets it opens afterwards belong to
     * that namespace. Needs CAP_SYS_ADMIN; a thread that called this should not be reused.
     */
    public static void enterNet(int pid) {
        String path = "/proc/" + pid + "/ns/net";
        int fd;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocateFrom(path);
            fd = (int) OPEN.invokeExact(Libc.errnoSeg(), p, O_RDONLY | O_CLOEXEC);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (fd == -1) {
            if (Libc.errno() == Errno.ENOENT) throw SysException.of("open(" + path + ")", Errno.ESRCH);
            throw Libc.fail("open(" + path + ")");
        }
        try {
            int rc = (int) SETNS.invokeExact(Libc.errnoSeg(), fd, CLONE_NEWNET);
            if (rc == -1) throw Libc.fail("setns(" + path + ", CLONE_NEWNET)", "(needs CAP_SYS_ADMIN)");
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        } finally {
            Files.close(fd);
        }
    }
}
