package io.tansa.sys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The one place where libc symbols are bound. Every downcall in tansa is built here with
 * {@link #downcall} (errno captured by the linker, read only when the return value says failure)
 * and every failure becomes a typed {@link SysException} through {@link #fail}.
 */
public final class Libc {
    private Libc() {}

    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LOOKUP = LINKER.defaultLookup();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    /** Per-thread errno capture buffer: the first argument of every errno-capturing downcall. */
    private static final ThreadLocal<MemorySegment> CAPTURE_SEG =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    /**
     * The one shape of {@link #words} downcalls: long f(long, long, long, long, long, long), the
     * first of them variadic (which only sets %al, the count of vector registers, to 0).
     */
    private static final FunctionDescriptor WORDS = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG);

    /**
     * An errno-capturing downcall of libc's {@code name} in one shape shared by all of them:
     * {@code (long) h.invokeExact(errnoSeg(), a, b, c, d, e, f)}, every argument widened to a long
     * (pointers as their address, unused ones 0), an int result in the low half of the long.
     * The JDK spins a class per downcall shape, 2–20 ms each on a cold JVM (TANSA_TIMING=2): the
     * second and later handles of one shape cost a symbol lookup. Sound for functions of at most
     * six integer or pointer parameters under the x86-64 System V ABI (psABI §3.2.3): such
     * arguments go in rdi, rsi, rdx, rcx, r8, r9, where a 32-bit parameter is the register's low
     * half and registers beyond a function's parameters are ignored, and an int result is eax, the
     * low half of rax (callers cast the long to int).
     */
    static MethodHandle words(String name) {
        return downcall(name, WORDS, Linker.Option.firstVariadicArg(1));
    }

    /** A downcall whose first Java argument is the errno capture segment (see {@link #errnoSeg()}). */
    static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option... extra) {
        Linker.Option[] opts = new Linker.Option[extra.length + 1];
        opts[0] = Linker.Option.captureCallState("errno");
        System.arraycopy(extra, 0, opts, 1, extra.length);
        return plain(name, fd, opts);
    }

    /** A downcall that never sets errno (no capture argument). */
    static MethodHandle plain(String name, FunctionDescriptor fd, Linker.Option... opts) {
        long t = io.tansa.Timing.on() ? System.nanoTime() : 0;
        MemorySegment sym = LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
        MethodHandle h = LINKER.downcallHandle(sym, fd, opts);
        if (t != 0) io.tansa.Timing.linked(name, System.nanoTime() - t);
        return h;
    }

    /**
     * Links the downcalls of the classes a probing run uses (perf_event_open, mmap, ioctl, poll,
     * read, close, open, readlink, process_vm_readv, bpf), by initializing those classes: meant for
     * a daemon thread started before the options are parsed. Each link spins a class (2–20 ms on a
     * cold JVM, measured with TANSA_TIMING=2), and each of these classes needs only this one in its
     * initializer, so the thread that uses one first waits for this one's link or makes its own.
     */
    public static void prewarm() {
        for (Class<?> c : new Class<?>[] {Libc.class, PerfEvent.class, PerfRing.class, Files.class, SmallFiles.class,
            Mem.class, Bpf.class, BpfMap.class}) {
            try {
                java.lang.invoke.MethodHandles.lookup().ensureInitialized(c);
            } catch (IllegalAccessException | RuntimeException | LinkageError e) {
                return; // the thread that uses it will say what failed
            }
        }
    }

    static MemorySegment errnoSeg() {
        return CAPTURE_SEG.get();
    }

    static int errno() {
        return (int) ERRNO.get(CAPTURE_SEG.get(), 0L);
    }

    /** Builds the typed exception for the errno of the last failed call on this thread. */
    static SysException fail(String call) {
        return SysException.of(call, errno());
    }

    static SysException fail(String call, String detail) {
        return SysException.of(call + " " + detail, errno());
    }

    /** Wraps a Throwable from invokeExact: errors pass, checked ones cannot happen for downcalls. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
