package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Facts about tansa's own process and the wake-up signal of the tracer thread.
 *
 * <p>The tracer thread blocks in waitpid(2). To wake it (timeout, Ctrl-C, rate-cap window)
 * another thread sends it {@link #WAKE_SIGNAL} with tgkill(2); a handler installed
 * <em>without</em> SA_RESTART makes the blocked waitpid return EINTR. The handler is libc's
 * {@code getpid}: it ignores its argument and returns, so no Java upcall runs in signal context.
 * SIGURG is unused by HotSpot and ignored by default, so a stray one is harmless.
 */
public final class Self {
    private Self() {}

    public static final int WAKE_SIGNAL = Signals.SIGURG;

    private static final MethodHandle GETPID = Libc.plain("getpid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle SYSCALL0 = Libc.plain("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    // int sigaction(int, const struct sigaction *, struct sigaction *); glibc's struct sigaction
    // (<bits/sigaction.h>): handler @0, sa_mask (128 bytes) @8, sa_flags @136, sa_restorer @144, size 152.
    private static final MethodHandle SIGACTION = Libc.downcall("sigaction",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final long SYS_GETTID = 186;
    static final int SIGACTION_SIZE = 152;
    static final long SA_FLAGS_OFFSET = 136;

    private static volatile boolean wakeInstalled;

    public static int pid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    public static int tid() {
        try {
            return (int) (long) SYSCALL0.invokeExact(SYS_GETTID);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Installs the no-op, non-restarting handler for {@link #WAKE_SIGNAL} (idempotent). */
    public static synchronized void installWakeHandler() {
        if (wakeInstalled) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment act = a.allocate(SIGACTION_SIZE, 8);
            act.set(ADDRESS, 0, Libc.LOOKUP.find("getpid").orElseThrow());
            act.set(JAVA_INT, SA_FLAGS_OFFSET, 0); // no SA_RESTART: blocked syscalls return EINTR
            int rc = (int) SIGACTION.invokeExact(Libc.errnoSeg(), WAKE_SIGNAL, act, MemorySegment.NULL);
            if (rc != 0) throw Libc.fail("sigaction(SIGURG)");
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        wakeInstalled = true;
    }

    /** Interrupts a blocking syscall of thread {@code tid} of this process. */
    public static void wake(int tid) {
        Signals.tgkill(pid(), tid, WAKE_SIGNAL);
    }
}
