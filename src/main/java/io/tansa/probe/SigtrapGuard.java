package io.tansa.probe;

import io.tansa.sys.Mem;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import io.tansa.sys.Signals;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Makes a SIGTRAP that is still pending when tansa dies harmless: while attached, the target's
 * SIGTRAP disposition is SIG_IGN (a traced task still reports ignored signals to its tracer; an
 * untraced one discards them — kernel/signal.c sig_ignored), and the original disposition is put
 * back before detaching. Set and restored with an injected rt_sigaction(2).
 *
 * <p>The kernel's struct sigaction for rt_sigaction on x86-64 (arch/x86/include/uapi/asm/signal.h
 * via kernel/signal.c) is {handler, flags, restorer, mask} = 4 × 8 bytes, sigsetsize 8.
 */
final class SigtrapGuard {
    static final long SYS_RT_SIGACTION = 13; // arch/x86/entry/syscalls/syscall_64.tbl
    static final int KSIGACTION_SIZE = 32;
    static final long SIG_IGN = 1;

    private final int pid;
    private byte[] original; // the kernel sigaction of SIGTRAP before tansa, null if unchanged

    SigtrapGuard(int pid) {
        this.pid = pid;
    }

    boolean active() {
        return original != null;
    }

    /** Sets SIGTRAP to SIG_IGN in the stopped thread {@code tid}'s process, saving the original. */
    void set(int tid, long syscallInsn, Injector.Deferred deferred) {
        byte[] ign = new byte[KSIGACTION_SIZE];
        ByteBuffer.wrap(ign).order(ByteOrder.LITTLE_ENDIAN).putLong(0, SIG_IGN);
        byte[] old = call(tid, syscallInsn, deferred, ign, true);
        long handler = ByteBuffer.wrap(old).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        original = handler == SIG_IGN ? null : old;
    }

    /** Puts the original disposition back (no-op when it was SIG_IGN to begin with). */
    void restore(int tid, long syscallInsn, Injector.Deferred deferred) {
        if (original == null) return;
        call(tid, syscallInsn, deferred, original, false);
        original = null;
    }

    /** A forked child shares its parent's original disposition (fork copies dispositions). */
    void inherit(SigtrapGuard parent) {
        original = parent.original == null ? null : parent.original.clone();
    }

    /**
     * The original disposition after an exec: handlers are reset to SIG_DFL by execve(2), an
     * ignored signal stays ignored — so restore SIG_DFL unless it was ignored.
     */
    void afterExec() {
        if (original == null) return;
        original = new byte[KSIGACTION_SIZE]; // SIG_DFL = 0
    }

    private byte[] call(int tid, long syscallInsn, Injector.Deferred deferred, byte[] act, boolean wantOld) {
        Regs regs = Ptrace.getRegs(tid);
        // scratch below the 128-byte red zone of the interrupted code, 16-byte aligned
        long scratch = ((regs.sp() - 128 - 2 * KSIGACTION_SIZE) & ~15L) - 64;
        byte[] saved = Injector.read(pid, scratch, 2 * KSIGACTION_SIZE);
        try {
            Mem.write(pid, scratch, act);
            long rc = Injector.syscall(tid, syscallInsn, deferred, SYS_RT_SIGACTION, Signals.SIGTRAP, scratch,
                    wantOld ? scratch + KSIGACTION_SIZE : 0, 8);
            if (rc != 0) throw new IllegalStateException("rt_sigaction in target failed: " + rc);
            return wantOld ? Injector.read(pid, scratch + KSIGACTION_SIZE, KSIGACTION_SIZE) : null;
        } finally {
            Mem.write(pid, scratch, saved);
        }
    }
}
