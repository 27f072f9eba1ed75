package io.tansa.probe;

import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Mem;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import io.tansa.sys.Signals;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one system call inside a stopped tracee: point rip at a {@code syscall} instruction
 * that already exists in the target (the vDSO's, else libc's), set the argument registers, and
 * let the thread run exactly that instruction with PTRACE_SYSCALL (enter-stop, exit-stop) —
 * not PTRACE_SINGLESTEP, whose trap is a forced SIGTRAP that would reset an ignored SIGTRAP
 * disposition to SIG_DFL (kernel/signal.c force_sig_info_to_task). Registers are restored
 * afterwards, including orig_rax, so an interrupted syscall of the thread restarts as before.
 * No code or data of the target is changed except a scratch area below the stack red zone,
 * which is restored too.
 */
final class Injector {
    private Injector() {}

    /** Signals that arrived at the thread while injecting; the caller must deliver them later. */
    static final class Deferred {
        final List<Integer> signals = new ArrayList<>();
    }

    /** Finds the address of a {@code syscall} (0f 05) instruction in an executable mapping. */
    static long findSyscallInsn(int pid) {
        List<Mapping> maps = ProcFs.maps(pid);
        List<Mapping> order = new ArrayList<>();
        for (Mapping m : maps) if (m.executable() && "[vdso]".equals(m.path())) order.add(m);
        for (Mapping m : maps) if (m.executable() && m.path() != null && m.path().contains("libc.so")) order.add(m);
        for (Mapping m : maps) if (m.executable() && !order.contains(m)) order.add(m);
        byte[] buf = new byte[1 << 16];
        for (Mapping m : order) {
            for (long a = m.start(); a < m.end(); a += buf.length - 1) {
                int n = Mem.read(pid, a, buf, 0, (int) Math.min(buf.length, m.end() - a));
                if (n <= 0) break;
                for (int i = 0; i + 1 < n; i++) {
                    if (buf[i] == 0x0f && buf[i + 1] == 0x05) return a + i;
                }
            }
        }
        throw new IllegalStateException("no syscall instruction found in process " + pid);
    }

    /**
     * Executes syscall {@code nr} with up to 6 arguments in stopped thread {@code tid}; returns
     * its raw result (negative errno on failure). The thread ends in a syscall-exit-stop with its
     * registers restored.
     */
    static long syscall(int tid, long syscallInsn, Deferred deferred, long nr, long... args) {
        Regs saved = Ptrace.getRegs(tid);
        Regs r = saved.copy();
        r.r[Regs.RIP] = syscallInsn;
        r.r[Regs.RAX] = nr;
        r.r[Regs.ORIG_RAX] = -1; // no syscall restart on the way back to user mode
        int[] argRegs = {Regs.RDI, Regs.RSI, Regs.RDX, Regs.R10, Regs.R8, Regs.R9};
        for (int i = 0; i < args.length; i++) r.r[argRegs[i]] = args[i];
        Ptrace.setRegs(tid, r);
        try {
            runTo(tid, deferred); // syscall-enter-stop
            runTo(tid, deferred); // syscall-exit-stop
            return Ptrace.getRegs(tid).r[Regs.RAX];
        } finally {
            Ptrace.setRegs(tid, restartable(saved));
        }
    }

    // include/linux/errno.h (kernel-internal restart codes)
    private static final long ERESTARTSYS = -512, ERESTARTNOINTR = -513, ERESTARTNOHAND = -514,
            ERESTART_RESTARTBLOCK = -516;
    private static final long NR_RESTART_SYSCALL = 219;

    /**
     * The registers to resume with so that a syscall the thread was in when it stopped is
     * restarted. The kernel restarts it on the way out of a signal/interrupt stop only when a
     * signal is pending (arch_do_signal_or_restart); after our injected syscall nothing is
     * pending, so do what it would do without a handler (arch/x86/kernel/signal.c): rip back over
     * the syscall instruction, rax = the syscall number (or restart_syscall).
     */
    static Regs restartable(Regs saved) {
        long orig = saved.r[Regs.ORIG_RAX];
        long ax = saved.r[Regs.RAX];
        if (orig < 0) return saved;
        Regs r = saved.copy();
        if (ax == ERESTARTSYS || ax == ERESTARTNOINTR || ax == ERESTARTNOHAND) {
            r.r[Regs.RAX] = orig;
        } else if (ax == ERESTART_RESTARTBLOCK) {
            r.r[Regs.RAX] = NR_RESTART_SYSCALL;
        } else {
            return saved;
        }
        r.r[Regs.RIP] -= 2;
        r.r[Regs.ORIG_RAX] = -1;
        return r;
    }

    private static void runTo(int tid, Deferred deferred) {
        Ptrace.syscall(tid, 0);
        while (true) {
            Ptrace.Wait w = Ptrace.waitpid(tid, Ptrace.WALL);
            if (w.gone()) throw new io.tansa.sys.SysException.ProcessGoneException("thread " + tid + " exited", 3);
            if (!w.stopped()) continue;
            if (w.stopSig() == (Signals.SIGTRAP | 0x80)) return; // syscall-stop (PTRACE_O_TRACESYSGOOD)
            if (w.event() == 0) {
                // a signal arrived first: hold it back, deliver it when the thread is released
                deferred.signals.add(w.stopSig());
            }
            Ptrace.syscall(tid, 0);
        }
    }

    /** Bytes at {@code addr} in the target (for saving a scratch area). */
    static byte[] read(int pid, long addr, int len) {
        byte[] b = new byte[len];
        if (Mem.read(pid, addr, b, 0, len) != len) throw new IllegalStateException("cannot read target stack");
        return b;
    }
}
