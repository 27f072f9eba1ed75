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
 * ptrace(2) and waitpid(2). Requests and options from &lt;linux/ptrace.h&gt;; the wait status
 * macros from &lt;bits/waitstatus.h&gt;. All calls are made by the one tracer thread.
 */
public final class Ptrace {
    private Ptrace() {}

    /** PTRACE_SYSCALL: resume until the next syscall entry or exit (a syscall-stop, not a signal). */
    public static void syscall(int tid, int sig) { call(SYSCALL, tid, 0, sig, "PTRACE_SYSCALL"); }

    // request numbers: <linux/ptrace.h>, <asm/ptrace-abi.h>
    public static final int PEEKDATA = 2, POKEDATA = 5, CONT = 7, SINGLESTEP = 9, GETREGS = 12, SETREGS = 13,
            DETACH = 17, SYSCALL = 24, SETOPTIONS = 0x4200, GETEVENTMSG = 0x4201, GETSIGINFO = 0x4202,
            SEIZE = 0x4206, INTERRUPT = 0x4207, LISTEN = 0x4208;

    public static final int O_TRACESYSGOOD = 1, O_TRACEFORK = 1 << 1, O_TRACEVFORK = 1 << 2,
            O_TRACECLONE = 1 << 3, O_TRACEEXEC = 1 << 4, O_TRACEEXIT = 1 << 6, O_EXITKILL = 1 << 20;

    public static final int EVENT_FORK = 1, EVENT_VFORK = 2, EVENT_CLONE = 3, EVENT_EXEC = 4,
            EVENT_VFORK_DONE = 5, EVENT_EXIT = 6, EVENT_STOP = 128;

    /** waitpid flags: &lt;linux/wait.h&gt;. */
    public static final int WNOHANG = 1, WUNTRACED = 2, WALL = 0x40000000;

    // long ptrace(enum __ptrace_request request, pid_t pid, void *addr, void *data) -- variadic in glibc
    private static final MethodHandle PTRACE = Libc.downcall("ptrace",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    // pid_t waitpid(pid_t pid, int *wstatus, int options)
    private static final MethodHandle WAITPID = Libc.downcall("waitpid",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));

    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.global().allocate(256, 8));

    private static long call(int req, int pid, long addr, long data, String what) {
        long rc;
        try {
            rc = (long) PTRACE.invokeExact(Libc.errnoSeg(), req, pid, addr, data);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc == -1) throw Libc.fail("ptrace(" + what + ", " + pid + ")");
        return rc;
    }

    /** PTRACE_SEIZE: attach without stopping the thread. */
    public static void seize(int tid, int options) { call(SEIZE, tid, 0, options, "PTRACE_SEIZE"); }
    public static void interrupt(int tid) { call(INTERRUPT, tid, 0, 0, "PTRACE_INTERRUPT"); }
    /** PTRACE_CONT, delivering {@code sig} (0 = suppress the signal of this stop). */
    public static void cont(int tid, int sig) { call(CONT, tid, 0, sig, "PTRACE_CONT"); }
    public static void listen(int tid) { call(LISTEN, tid, 0, 0, "PTRACE_LISTEN"); }
    public static void detach(int tid, int sig) { call(DETACH, tid, 0, sig, "PTRACE_DETACH"); }
    /**
     * PTRACE_SETOPTIONS: replaces the tracee's PTRACE_O_* options (those of PTRACE_SEIZE too);
     * the tracee must be in a ptrace-stop. ptrace(2).
     */
    public static void setOptions(int tid, int options) { call(SETOPTIONS, tid, 0, options, "PTRACE_SETOPTIONS"); }

    public static long eventMsg(int tid) {
        MemorySegment s = SCRATCH.get();
        call(GETEVENTMSG, tid, 0, s.address(), "PTRACE_GETEVENTMSG");
        return s.get(JAVA_LONG, 0);
    }

    public static void getRegs(int tid, Regs into) {
        MemorySegment s = SCRATCH.get();
        call(GETREGS, tid, 0, s.address(), "PTRACE_GETREGS");
        for (int i = 0; i < Regs.COUNT; i++) into.r[i] = s.getAtIndex(JAVA_LONG, i);
    }

    public static Regs getRegs(int tid) {
        Regs r = new Regs();
        getRegs(tid, r);
        return r;
    }

    public static void setRegs(int tid, Regs regs) {
        MemorySegment s = SCRATCH.get();
        for (int i = 0; i < Regs.COUNT; i++) s.setAtIndex(JAVA_LONG, i, regs.r[i]);
        call(SETREGS, tid, 0, s.address(), "PTRACE_SETREGS");
    }

    public static SigInfo getSigInfo(int tid) {
        MemorySegment s = SCRATCH.get();
        call(GETSIGINFO, tid, 0, s.address(), "PTRACE_GETSIGINFO");
        return SigInfo.read(s);
    }

    /** Result of waitpid: the pid (0 with WNOHANG and nothing ready) and the raw status. */
    public record Wait(int pid, int status) {
        public boolean exited() { return (status & 0x7f) == 0; }
        public int exitCode() { return (status >> 8) & 0xff; }
        public boolean signaled() { return ((status & 0x7f) + 1) >> 1 > 0 && !stopped() && !exited(); }
        public int termSig() { return status & 0x7f; }
        public boolean stopped() { return (status & 0xff) == 0x7f; }
        public int stopSig() { return (status >> 8) & 0xff; }
        /** PTRACE_EVENT_* of a ptrace-event-stop, else 0. */
        public int event() { return (status >> 16) & 0xff; }
        public boolean gone() { return exited() || signaled(); }
    }

    /** waitpid(pid, &status, flags); EINTR is retried; ECHILD surfaces as SysException. */
    public static Wait waitpid(int pid, int flags) {
        while (true) {
            Wait w = waitpidInterruptible(pid, flags);
            if (w != null) return w;
        }
    }

    /** As {@link #waitpid} but returns null when a signal interrupted the wait (see Self#wake). */
    public static Wait waitpidInterruptible(int pid, int flags) {
        MemorySegment s = SCRATCH.get();
        {
            int rc;
            try {
                rc = (int) WAITPID.invokeExact(Libc.errnoSeg(), pid, s, flags);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
            if (rc == -1) {
                if (Libc.errno() == Errno.EINTR) return null;
                throw Libc.fail("waitpid(" + pid + ")");
            }
            return new Wait(rc, rc == 0 ? 0 : s.get(JAVA_INT, 0));
        }
    }
}
