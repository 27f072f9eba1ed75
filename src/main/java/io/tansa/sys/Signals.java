package io.tansa.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/** kill(2), tgkill(2) and signal numbers (x86-64, &lt;asm/signal.h&gt;). */
public final class Signals {
    private Signals() {}

    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7, SIGKILL = 9,
            SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14, SIGTERM = 15, SIGCHLD = 17,
            SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22, SIGURG = 23, SIGPROF = 27,
            SIGWINCH = 28, SIGSYS = 31;

    private static final MethodHandle KILL = Libc.downcall("kill",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    // long syscall(long number, ...): tgkill has no glibc wrapper before 2.30; use the raw call
    private static final MethodHandle SYSCALL3 = Libc.downcall("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    private static final long SYS_TGKILL = 234; // arch/x86/entry/syscalls/syscall_64.tbl

    public static void kill(int pid, int sig) {
        int rc;
        try {
            rc = (int) KILL.invokeExact(Libc.errnoSeg(), pid, sig);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc == -1) throw Libc.fail("kill(" + pid + ", " + sig + ")");
    }

    public static void tgkill(int tgid, int tid, int sig) {
        long rc;
        try {
            rc = (long) SYSCALL3.invokeExact(Libc.errnoSeg(), SYS_TGKILL, (long) tgid, (long) tid, (long) sig);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (rc == -1) throw Libc.fail("tgkill(" + tgid + ", " + tid + ", " + sig + ")");
    }

    private static final String[] NAMES = {null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT",
        "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
        "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS"};

    public static String name(int sig) {
        return sig > 0 && sig < NAMES.length ? NAMES[sig] : "SIG" + sig;
    }
}
