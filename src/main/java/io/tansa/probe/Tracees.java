package io.tansa.probe;

import io.tansa.sys.Ptrace;
import io.tansa.sys.Signals;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * What the stop engine holds of its targets: the processes (with their SIGTRAP guard), the
 * seized threads (with their trigger events), threads announced but not yet seen, and how the
 * processes that left ended. Used by the engine's thread only.
 */
final class Tracees {
    /**
     * Forks are always followed: with --children the child is probed; without, it is released at
     * its first stop with the SIGTRAP disposition it would have had (fork copies the guard's SIG_IGN).
     * (ptrace(2): PTRACE_O_*.)
     */
    static final int SEIZE_OPTIONS = Ptrace.O_TRACECLONE | Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACEEXEC
            | Ptrace.O_TRACEFORK | Ptrace.O_TRACEVFORK;
    /** SIGTRAP's bit in the masks of /proc/PID/status (SigPnd, SigIgn, …: bit signo − 1; proc(5)). */
    static final long SIGTRAP_MASK = 1L << (Signals.SIGTRAP - 1);

    static final class Proc {
        final int pid;
        final SigtrapGuard guard;
        long syscallInsn;
        Proc(int pid) { this.pid = pid; this.guard = new SigtrapGuard(pid); }
    }

    static final class Task {
        final int tid;
        final Proc proc;
        final List<Integer> fds = new ArrayList<>();
        Task(int tid, Proc proc) { this.tid = tid; this.proc = proc; }
    }

    final Map<Integer, Proc> procs = new LinkedHashMap<>();
    final Map<Integer, Task> tasks = new LinkedHashMap<>();
    /** tids announced by a clone/fork event whose first stop has not been seen yet → their tgid. */
    final Map<Integer, Integer> expected = new LinkedHashMap<>();
    final Map<Integer, String> exited = new LinkedHashMap<>();
    private final Consumer<String> log;
    private final Trigger trigger;

    Tracees(Consumer<String> log, Trigger trigger) {
        this.log = log;
        this.trigger = trigger;
    }

    List<Task> tasksOf(Proc p) {
        List<Task> out = new ArrayList<>();
        for (Task t : tasks.values()) if (t.proc == p) out.add(t);
        return out;
    }

    /** A thread that exited (or was killed): its events closed, its process ended with its last thread. */
    void threadGone(int tid, Ptrace.Wait w) {
        Task t = tasks.remove(tid);
        if (t == null) return;
        trigger.close(t);
        Proc p = t.proc;
        if (tasksOf(p).isEmpty()) {
            procs.remove(p.pid);
            exited.put(p.pid, w.exited() ? "exit " + w.exitCode() : "killed by " + Signals.name(w.termSig()));
            log("process %d ended (%s)", p.pid, exited.get(p.pid));
        }
    }

    void log(String fmt, Object... args) {
        if (log != null) log.accept(String.format(fmt, args));
    }
}
