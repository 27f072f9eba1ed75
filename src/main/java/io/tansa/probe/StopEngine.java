package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.proc.Status;
import io.tansa.symbols.ProbeTarget;
import io.tansa.sys.Errno;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import io.tansa.sys.Self;
import io.tansa.sys.SigInfo;
import io.tansa.sys.Spawn;
import io.tansa.sys.Signals;
import io.tansa.sys.SysException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The probe engine: kernel-owned uprobes (perf_event_open on the uprobe PMU, one event per
 * thread and location) with {@code sigtrap}, and PTRACE_SEIZE so the hitting thread reports a
 * signal-delivery-stop where its registers and memory can be read; then it is resumed with the
 * signal suppressed. See ARCHITECTURE.md ("The probe engine") for why, and for the teardown order.
 *
 * <p>All ptrace calls happen on the thread that calls {@link #run}; other threads only call
 * {@link #requestStop}.
 */
public final class StopEngine {
    /** Why a run ended. */
    public enum StopReason { COUNT, DURATION, INTERRUPTED, TARGET_EXITED }

    /** A probe hit, handed to the capture code while the thread is stopped. */
    public record Hit(int pid, int tid, int location, long timeNanos, Regs regs) {}

    /** Bounds of a run. count ≤ 0 = unbounded, duration null = unbounded, rate ≤ 0 = no cap. */
    public record Options(long count, Duration duration, double rate, boolean children, Consumer<String> log,
            Runnable attached) {}

    /** What a run did. {@code capped}: of the dropped hits, those over the rate cap. */
    public record Result(long hits, long dropped, StopReason reason, Map<Integer, String> exited, long capped) {}

    /** Called on the tracer thread at each hit while the thread is stopped; return true if captured. */
    public interface HitHandler {
        boolean onHit(Hit hit);
    }

    /**
     * Forks are always followed: with --children the child is probed; without, it is released at
     * its first stop with the SIGTRAP disposition it would have had (fork copies the guard's SIG_IGN).
     */
    private static final int SEIZE_OPTIONS = Ptrace.O_TRACECLONE | Ptrace.O_TRACESYSGOOD | Ptrace.O_TRACEEXEC
            | Ptrace.O_TRACEFORK | Ptrace.O_TRACEVFORK;
    private static final long SIGTRAP_MASK = 1L << (Signals.SIGTRAP - 1);

    private List<ProbeTarget> targets = List.of();
    /** With {@link #runTimed}: the cpu-clock period of each thread's event, in ns; 0 with uprobes. */
    private long clockPeriodNanos;
    /** The timer events sample kernel-mode time too, until the kernel refuses it (perf_event_paranoid). */
    private boolean clockKernel = true;
    private final Options opt;
    private final HitHandler handler;
    private final int uprobeType;

    private final Map<Integer, Proc> procs = new LinkedHashMap<>();
    private final Map<Integer, Task> tasks = new LinkedHashMap<>();
    /** tids announced by a clone/fork event whose first stop has not been seen yet → their tgid. */
    private final Map<Integer, Integer> expected = new LinkedHashMap<>();
    private final Map<Integer, String> exited = new LinkedHashMap<>();

    private volatile StopReason stopRequest;
    private volatile boolean running;
    private volatile int tracerTid;
    private long hits, dropped, capped;
    private RateCap cap;
    private boolean eventsDisabled;
    private volatile long reenableAtNanos;
    /** A launched program's thread, stopped at its entry point until probes are in place; else -1. */
    private int launchedStopped = -1;

    private static final class Proc {
        final int pid;
        final SigtrapGuard guard;
        long syscallInsn;
        Proc(int pid) { this.pid = pid; this.guard = new SigtrapGuard(pid); }
    }

    private static final class Task {
        final int tid;
        final Proc proc;
        final List<Integer> fds = new ArrayList<>();
        Task(int tid, Proc proc) { this.tid = tid; this.proc = proc; }
    }

    private StopEngine(Options opt, HitHandler handler) {
        this.opt = opt;
        this.handler = handler;
        this.uprobeType = PerfEvent.pmuType("uprobe");
    }

    /** Creates a tracer; nothing touches a process until {@link #run}. */
    public static StopEngine create(Options opt, HitHandler handler) {
        return new StopEngine(opt, handler);
    }

    /** Asks a running tracer to stop (any thread; e.g. a shutdown hook on SIGINT/SIGTERM). */
    public void requestStop(StopReason why) {
        if (stopRequest == null) stopRequest = why;
    }

    /**
     * Attaches to {@code pids}, probes every thread (and threads born later) until a bound is
     * reached, then removes every probe and detaches. Always detaches, also on exceptions.
     */
    public Result run(List<Integer> pids, List<ProbeTarget> targets) {
        if (targets.isEmpty()) throw new IllegalArgumentException("no probe targets");
        this.targets = List.copyOf(targets);
        return runAttached(pids);
    }

    /**
     * As {@link #run}, but the trigger is time instead of a function: one {@code cpu-clock} event per
     * thread (threads born later included) that fires after every {@code periodNanos} of that
     * thread's CPU time, with {@code sigtrap}, so the thread that was on CPU stops right there, at the
     * sample, and the handler reads it (location -1). Same attach, signal and teardown discipline.
     */
    public Result runTimed(List<Integer> pids, long periodNanos) {
        if (periodNanos <= 0) throw new IllegalArgumentException("period must be positive");
        this.clockPeriodNanos = periodNanos;
        return runAttached(pids);
    }

    private Result runAttached(List<Integer> pids) {
        tracerTid = Self.tid();
        Self.installWakeHandler();
        running = true;
        Thread watchdog = Thread.ofPlatform().daemon().name("tansa-watchdog").start(this::watchdog);
        try {
            for (int pid : pids) attach(pid);
            for (Proc p : List.copyOf(procs.values())) openAll(p);
            if (launchedStopped > 0) {
                Ptrace.cont(launchedStopped, 0); // from its entry point, probes in place
                launchedStopped = -1;
            }
            if (clockPeriodNanos > 0) {
                log("sampling %d thread%s of %s every %.1f ms of CPU time", tasks.size(), tasks.size() == 1 ? "" : "s",
                        pids, clockPeriodNanos / 1e6);
            } else {
                log("probing %d location%s in %d thread%s of %s", targets.size(), targets.size() == 1 ? "" : "s",
                        tasks.size(), tasks.size() == 1 ? "" : "s", pids);
            }
            if (opt.attached() != null) opt.attached().run();
            loop();
        } finally {
            running = false;
            watchdog.interrupt();
            teardown();
        }
        StopReason reason = stopRequest != null ? stopRequest : StopReason.TARGET_EXITED;
        return new Result(hits, dropped, reason, exited, capped);
    }

    // ---- launch -------------------------------------------------------------------------------

    /**
     * Starts {@code argv} traced and returns its pid, stopped at the program's entry point: after
     * the dynamic loader mapped its libraries (so symbols resolve) and before any of its code ran.
     * The program is started by a shell that stops itself, is seized, then execs the command; at
     * the exec a one-shot uprobe on AT_ENTRY stops it. Call {@link #run} next, on the same thread.
     */
    public int launch(List<String> argv) {
        int pid = Spawn.spawn(Spawn.stoppedBeforeExec(argv));
        Ptrace.Wait w = Ptrace.waitpid(pid, Ptrace.WUNTRACED);
        if (!w.stopped()) throw new Failure(Failure.Kind.INTERNAL, "could not start " + argv.get(0));
        Ptrace.seize(pid, SEIZE_OPTIONS);
        Signals.kill(pid, Signals.SIGCONT);
        int entryFd = -1;
        try {
            while (true) {
                w = Ptrace.waitpid(pid, Ptrace.WALL);
                if (w.gone()) throw new Failure(Failure.Kind.TARGET_EXITED, argv.get(0) + " ended before it started ("
                        + (w.exited() ? "exit " + w.exitCode() : Signals.name(w.termSig())) + ")");
                if (!w.stopped()) continue;
                int ev = w.event();
                if (ev == Ptrace.EVENT_EXEC && entryFd < 0) {
                    entryFd = entryProbe(pid);
                    Ptrace.cont(pid, 0);
                } else if (ev == 0 && w.stopSig() == Signals.SIGTRAP && entryFd >= 0
                        && Ptrace.getSigInfo(pid).isPerfTrap()) {
                    break; // at the entry point, stopped
                } else if (ev == 0) {
                    Ptrace.cont(pid, w.stopSig() == Signals.SIGSTOP ? 0 : w.stopSig());
                } else {
                    Ptrace.cont(pid, 0);
                }
            }
        } finally {
            if (entryFd >= 0) Files.close(entryFd);
        }
        Proc p = new Proc(pid);
        procs.put(pid, p);
        tasks.put(pid, new Task(pid, p));
        launchedStopped = pid;
        return pid;
    }

    /**
     * Lets the program {@link #launch} started run on from its entry point, untraced (for a
     * capture that needs no ptrace: call it once the probes are in place). No-op without one.
     */
    public void releaseLaunched() {
        if (launchedStopped <= 0) return;
        Ptrace.detach(launchedStopped, 0); // the entry probe's SIGTRAP is discarded, as at cont
        procs.remove(launchedStopped);
        tasks.remove(launchedStopped);
        launchedStopped = -1;
    }

    private int entryProbe(int pid) {
        long entry = ProcFs.auxv(pid, ProcFs.AT_ENTRY);
        for (io.tansa.proc.Mapping m : ProcFs.maps(pid)) {
            if (entry >= m.start() && entry < m.end() && m.path() != null) {
                return PerfEvent.open(uprobe(ProcFs.objectPath(pid, m).toString(), m.offset() + (entry - m.start()), 0),
                        pid, -1, -1);
            }
        }
        throw new Failure(Failure.Kind.UNSUPPORTED, "cannot find the entry point of process " + pid);
    }

    // ---- attach -------------------------------------------------------------------------------

    private void attach(int pid) {
        if (pid == Self.pid()) throw new Failure(Failure.Kind.USAGE, "refusing to trace tansa itself");
        if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        if (pid == launchedStopped) {
            Proc p = procs.get(pid);
            p.syscallInsn = Injector.findSyscallInsn(pid);
            Status st = ProcFs.status(pid, pid);
            if (((st.sigIgn() | st.sigCgt()) & SIGTRAP_MASK) == 0) {
                p.guard.set(pid, p.syscallInsn, new Injector.Deferred()); // stopped already: no interrupt
            }
            return;
        }
        Proc p = new Proc(pid);
        procs.put(pid, p);
        // Seize every thread; repeat until the listing is stable (threads may be born meanwhile —
        // those born of an already seized thread are auto-attached through PTRACE_O_TRACECLONE).
        boolean more = true;
        while (more) {
            more = false;
            for (int tid : ProcFs.tasks(pid)) {
                if (tasks.containsKey(tid)) continue;
                try {
                    Ptrace.seize(tid, SEIZE_OPTIONS);
                } catch (SysException.ProcessGoneException e) {
                    continue; // the thread exited meanwhile
                } catch (SysException.PermissionException e) {
                    if (tasks.isEmpty()) throw new Failure(Failure.Kind.PERMISSION, "cannot attach to " + pid
                            + ": " + e.getMessage());
                    throw e;
                }
                tasks.put(tid, new Task(tid, p));
                more = true;
            }
        }
        if (tasks.values().stream().noneMatch(t -> t.proc == p)) {
            procs.remove(pid);
            throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "process " + pid + " exited before it could be attached");
        }
        p.syscallInsn = Injector.findSyscallInsn(pid);
        guard(p);
    }

    /**
     * Stops one thread of {@code p}, sets SIGTRAP to SIG_IGN there, resumes it. Only when the
     * disposition is SIG_DFL: an ignored SIGTRAP needs nothing, and a program with its own
     * SIGTRAP handler keeps it (it must see its own SIGTRAPs; a stray perf trap after a SIGKILL
     * of tansa reaches its handler instead of killing it).
     */
    private void guard(Proc p) {
        Status st = ProcFs.status(p.pid, p.pid);
        if (((st.sigIgn() | st.sigCgt()) & SIGTRAP_MASK) != 0) return;
        for (Task t : tasksOf(p)) {
            try {
                Ptrace.interrupt(t.tid);
            } catch (SysException.ProcessGoneException e) {
                continue;
            }
            int sig = awaitStop(t);
            if (sig < 0) continue; // exited
            Injector.Deferred d = new Injector.Deferred();
            p.guard.set(t.tid, p.syscallInsn, d);
            resume(t.tid, sig, d);
            return;
        }
    }

    /**
     * Waits for {@code t} to stop after PTRACE_INTERRUPT. Returns the signal to deliver when it is
     * resumed (0 for none), or -1 when the thread exited. Events of that thread met on the way
     * (clone) are recorded.
     */
    private int awaitStop(Task t) {
        while (true) {
            Ptrace.Wait w = Ptrace.waitpid(t.tid, Ptrace.WALL);
            if (w.gone()) {
                threadGone(t.tid, w);
                return -1;
            }
            if (!w.stopped()) continue;
            int ev = w.event();
            if (ev == Ptrace.EVENT_CLONE || ev == Ptrace.EVENT_FORK || ev == Ptrace.EVENT_VFORK) {
                noteChild(t, ev);
                Ptrace.cont(t.tid, 0); // the interrupt is still pending: it traps next
                continue;
            }
            if (ev != 0) return 0; // PTRACE_EVENT_STOP (interrupt or group-stop)
            int sig = w.stopSig();
            if (sig == Signals.SIGTRAP && Ptrace.getSigInfo(t.tid).isPerfTrap()) return 0;
            return sig; // a real signal: stopped here, deliver it on resume
        }
    }

    private void resume(int tid, int sig, Injector.Deferred d) {
        // a signal held back during injection goes first; others are re-raised by the kernel's
        // pending set (only one can be delivered per resume)
        int deliver = sig;
        for (int s : d.signals) {
            if (deliver == 0) deliver = s;
            else Signals.tgkill(tasks.get(tid).proc.pid, tid, s);
        }
        Ptrace.cont(tid, deliver);
    }

    // ---- probes -------------------------------------------------------------------------------

    private void openAll(Proc p) {
        for (Task t : tasksOf(p)) open(t);
    }

    private void open(Task t) {
        if (clockPeriodNanos > 0) {
            openClock(t);
            return;
        }
        for (int i = 0; i < targets.size(); i++) {
            ProbeTarget pt = targets.get(i);
            PerfEvent.Attr a = uprobe(pt.file().toString(), pt.fileOffset(), i); // i comes back as si_perf_data
            if (eventsDisabled) a.flag(PerfEvent.BIT_DISABLED);
            try {
                t.fds.add(PerfEvent.open(a, t.tid, -1, -1));
            } catch (SysException.ProcessGoneException e) {
                return; // thread exited; its exit is reported by waitpid
            } catch (SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "cannot create uprobe: " + e.getMessage());
            } catch (SysException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "cannot create uprobe on " + pt.file() + " at offset 0x"
                        + Long.toHexString(pt.fileOffset()) + " (" + pt.symbol() + "): " + e.getMessage()
                        + (e.errno() == Errno.EINVAL ? " (is the offset an instruction boundary?)" : ""));
            }
        }
    }

    /** The timer trigger of {@link #runTimed} on one thread. */
    private void openClock(Task t) {
        while (true) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_SOFTWARE;
            a.config = PerfEvent.SW_CPU_CLOCK;
            a.samplePeriod = clockPeriodNanos;
            a.sigData = -1;
            a.flag(PerfEvent.BIT_SIGTRAP).flag(PerfEvent.BIT_REMOVE_ON_EXEC).flag(PerfEvent.BIT_EXCLUDE_HV);
            if (!clockKernel) a.flag(PerfEvent.BIT_EXCLUDE_KERNEL);
            if (eventsDisabled) a.flag(PerfEvent.BIT_DISABLED);
            try {
                t.fds.add(PerfEvent.open(a, t.tid, -1, -1));
                return;
            } catch (SysException.ProcessGoneException e) {
                return; // thread exited; its exit is reported by waitpid
            } catch (SysException.PermissionException e) {
                if (clockKernel) {
                    clockKernel = false; // perf_event_paranoid 2 without CAP_PERFMON: user-mode time only
                    continue;
                }
                throw new Failure(Failure.Kind.PERMISSION, "cannot create a cpu-clock event (needs CAP_PERFMON or "
                        + "sysctl kernel.perf_event_paranoid <= 2): " + e.getMessage());
            } catch (SysException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "cannot create a cpu-clock event with sigtrap (kernel 5.13+): "
                        + e.getMessage());
            }
        }
    }

    /**
     * A uprobe at {@code offset} of {@code path} that sends the hitting thread a synchronous
     * SIGTRAP (si_perf_data = {@code sigData}) on every hit, and is removed by an exec.
     */
    private PerfEvent.Attr uprobe(String path, long offset, long sigData) {
        PerfEvent.Attr a = PerfEvent.uprobe(uprobeType, path, offset);
        a.sigData = sigData;
        return a.flag(PerfEvent.BIT_SIGTRAP);
    }

    private void closeEvents(Task t) {
        for (int fd : t.fds) Files.close(fd);
        t.fds.clear();
    }

    private void setEnabled(boolean on) {
        for (Task t : tasks.values()) {
            for (int fd : t.fds) {
                try {
                    if (on) PerfEvent.enable(fd);
                    else PerfEvent.disable(fd);
                } catch (SysException e) {
                    // the thread is exiting; its fd goes with it
                }
            }
        }
        eventsDisabled = !on;
    }

    // ---- the event loop -----------------------------------------------------------------------

    private void loop() {
        cap = new RateCap(opt.rate());
        while (true) {
            if (opt.count() > 0 && hits >= opt.count()) requestStop(StopReason.COUNT);
            if (stopRequest != null) return;
            if (procs.isEmpty()) {
                requestStop(StopReason.TARGET_EXITED);
                return;
            }
            if (eventsDisabled && System.nanoTime() >= reenableAtNanos) {
                cap.restart(System.nanoTime());
                setEnabled(true);
            }
            Ptrace.Wait w;
            try {
                w = Ptrace.waitpidInterruptible(-1, Ptrace.WALL);
            } catch (SysException e) {
                if (e.errno() == Errno.ECHILD) {
                    procs.clear();
                    continue;
                }
                throw e;
            }
            if (w == null) continue; // woken by the watchdog
            try {
                dispatch(w);
            } catch (SysException.ProcessGoneException e) {
                // the thread was killed between its stop and our reading it (e.g. SIGKILL of a
                // Unicorn worker): its exit is reported by the next waitpid
            } catch (Failure e) {
                if (e.kind() != Failure.Kind.NO_SUCH_PROCESS) throw e; // as above, seen through /proc
            }
        }
    }

    private void dispatch(Ptrace.Wait w) {
        int tid = w.pid();
        if (w.gone()) {
            threadGone(tid, w);
            return;
        }
        if (!w.stopped()) return;
        Task t = tasks.get(tid);
        if (t == null) {
            newTask(tid);
            return;
        }
        int ev = w.event();
        switch (ev) {
            case Ptrace.EVENT_CLONE, Ptrace.EVENT_FORK, Ptrace.EVENT_VFORK -> {
                noteChild(t, ev);
                Ptrace.cont(tid, 0);
            }
            case Ptrace.EVENT_EXEC -> onExec(t);
            case Ptrace.EVENT_STOP -> {
                int sig = w.stopSig();
                if (sig == Signals.SIGSTOP || sig == Signals.SIGTSTP || sig == Signals.SIGTTIN || sig == Signals.SIGTTOU) {
                    Ptrace.listen(tid); // group-stop: stay stopped, as without tansa
                } else {
                    Ptrace.cont(tid, 0);
                }
            }
            case 0 -> {
                int sig = w.stopSig();
                if (sig == Signals.SIGTRAP) {
                    SigInfo si = Ptrace.getSigInfo(tid);
                    if (si.isPerfTrap()) {
                        // resumed also when the capture fails: a thread left in this stop would
                        // never report the stop teardown waits for
                        try {
                            onHit(t, (int) si.perfData());
                        } finally {
                            Ptrace.cont(tid, 0);
                        }
                        return;
                    }
                }
                Ptrace.cont(tid, sig); // the target's own signal: delivered unchanged
            }
            default -> Ptrace.cont(tid, 0);
        }
    }

    private void onHit(Task t, int location) {
        long now = System.nanoTime();
        if (!cap.admit(now)) {
            dropped++;
            capped++;
            if (!eventsDisabled) {
                reenableAtNanos = cap.windowEnd();
                setEnabled(false);
            }
            return;
        }
        if (opt.count() > 0 && hits >= opt.count()) {
            dropped++;
            return;
        }
        Regs regs = Ptrace.getRegs(t.tid);
        if (handler.onHit(new Hit(t.proc.pid, t.tid, location, now, regs))) hits++;
    }

    private void noteChild(Task parent, int ev) {
        int child = (int) Ptrace.eventMsg(parent.tid);
        int tgid = ev == Ptrace.EVENT_CLONE ? parent.proc.pid : child;
        if (ev == Ptrace.EVENT_CLONE) {
            // CLONE_THREAD or not: the kernel says which via the child's Tgid
            try {
                tgid = ProcFs.status(child, child).tgid();
            } catch (RuntimeException e) {
                tgid = parent.proc.pid;
            }
        }
        if (!tasks.containsKey(child)) expected.put(child, tgid);
        else if (ev != Ptrace.EVENT_CLONE || tgid != parent.proc.pid) adoptProcess(child, parent.proc);
    }

    /** First stop of an auto-attached thread or process: probe it, then let it run. */
    private void newTask(int tid) {
        Integer tgid = expected.remove(tid);
        if (tgid == null) {
            try {
                tgid = ProcFs.status(tid, tid).tgid();
            } catch (RuntimeException e) {
                return;
            }
        }
        Proc p = procs.get(tgid);
        if (p == null) {
            // a forked child (--children): same mappings and SIGTRAP disposition as its parent
            Proc parent = procs.values().iterator().next();
            try {
                int ppid = ProcFs.status(tgid, tgid).ppid();
                if (procs.containsKey(ppid)) parent = procs.get(ppid);
            } catch (RuntimeException ignored) {
                // keep the first process as the model
            }
            p = adoptProcess(tgid, parent);
            if (!opt.children()) {
                release(tid, p);
                return;
            }
        }
        Task t = new Task(tid, p);
        tasks.put(tid, t);
        open(t);
        Ptrace.cont(tid, 0);
    }

    /** A forked child that is not to be traced: restore its SIGTRAP disposition, detach it. */
    private void release(int tid, Proc p) {
        Injector.Deferred d = new Injector.Deferred();
        try {
            p.guard.restore(tid, p.syscallInsn, d);
        } catch (RuntimeException e) {
            log("could not restore SIGTRAP disposition in child %d: %s", p.pid, e.getMessage());
        }
        procs.remove(p.pid);
        try {
            Ptrace.detach(tid, d.signals.isEmpty() ? 0 : d.signals.get(0));
        } catch (SysException e) {
            // gone already
        }
    }

    private Proc adoptProcess(int pid, Proc parent) {
        Proc p = procs.computeIfAbsent(pid, Proc::new);
        p.syscallInsn = parent.syscallInsn; // fork keeps the address space layout
        p.guard.inherit(parent.guard);
        if (opt.children()) log("following child process %d", pid);
        return p;
    }

    private void onExec(Task t) {
        // The new image has no probes (remove_on_exec) and other code: stop tracing this process,
        // leaving SIGTRAP as it would be after exec without tansa.
        Proc p = t.proc;
        log("process %d called exec; no longer traced", p.pid);
        for (Task x : tasksOf(p)) {
            closeEvents(x);
            if (x != t) tasks.remove(x.tid);
        }
        p.syscallInsn = Injector.findSyscallInsn(p.pid);
        p.guard.afterExec();
        Injector.Deferred d = new Injector.Deferred();
        p.guard.restore(t.tid, p.syscallInsn, d);
        tasks.remove(t.tid);
        procs.remove(p.pid);
        exited.put(p.pid, "exec");
        Ptrace.detach(t.tid, d.signals.isEmpty() ? 0 : d.signals.get(0));
    }

    private void threadGone(int tid, Ptrace.Wait w) {
        Task t = tasks.remove(tid);
        if (t == null) return;
        closeEvents(t);
        Proc p = t.proc;
        if (tasksOf(p).isEmpty()) {
            procs.remove(p.pid);
            exited.put(p.pid, w.exited() ? "exit " + w.exitCode() : "killed by " + Signals.name(w.termSig()));
            log("process %d ended (%s)", p.pid, exited.get(p.pid));
        }
    }

    private List<Task> tasksOf(Proc p) {
        List<Task> out = new ArrayList<>();
        for (Task t : tasks.values()) if (t.proc == p) out.add(t);
        return out;
    }

    // ---- teardown -----------------------------------------------------------------------------

    /**
     * Order matters (ARCHITECTURE.md, teardown): close every event first (no new traps), stop
     * every thread and consume any SIGTRAP still pending, restore the SIGTRAP disposition, then
     * detach. Detaching with an event open or a trap pending could kill the target.
     */
    private void teardown() {
        for (Task t : tasks.values()) closeEvents(t);
        Set<Integer> unparked = new HashSet<>();
        Map<Integer, Integer> deliver = new LinkedHashMap<>();
        for (Task t : List.copyOf(tasks.values())) {
            try {
                Ptrace.interrupt(t.tid);
                unparked.add(t.tid);
            } catch (SysException e) {
                tasks.remove(t.tid);
            }
        }
        while (!unparked.isEmpty()) {
            Ptrace.Wait w;
            try {
                w = Ptrace.waitpid(-1, Ptrace.WALL);
            } catch (SysException e) {
                break; // ECHILD: nothing left
            }
            int tid = w.pid();
            if (w.gone()) {
                unparked.remove(tid);
                threadGone(tid, w);
                continue;
            }
            if (!w.stopped()) continue;
            Task t = tasks.get(tid);
            if (t == null) {
                // a thread born during teardown: attached automatically, no probes; park it too
                Integer tgid = expected.remove(tid);
                Proc p = tgid != null ? procs.get(tgid) : null;
                if (p == null) p = procs.values().stream().findFirst().orElse(null);
                if (p == null) continue;
                t = new Task(tid, p);
                tasks.put(tid, t);
                unparked.add(tid);
            }
            int ev = w.event();
            if (ev == Ptrace.EVENT_CLONE || ev == Ptrace.EVENT_FORK || ev == Ptrace.EVENT_VFORK) {
                int child = (int) Ptrace.eventMsg(tid);
                if (!tasks.containsKey(child)) expected.put(child, ev == Ptrace.EVENT_CLONE ? t.proc.pid : child);
                Ptrace.cont(tid, 0);
                continue;
            }
            if (ev == 0) {
                int sig = w.stopSig();
                if (sig == Signals.SIGTRAP && Ptrace.getSigInfo(tid).isPerfTrap()) {
                    dropped++; // a hit that raced with the end: consumed, thread parked here
                    unparked.remove(tid);
                    continue;
                }
                // the target's own signal: it must be delivered; hold it for the detach
                deliver.put(tid, sig);
                unparked.remove(tid);
                continue;
            }
            // an interrupt/group stop: park unless a SIGTRAP is still pending for it
            if (trapPending(t)) {
                Ptrace.cont(tid, 0); // its signal-delivery-stop comes next
                continue;
            }
            unparked.remove(tid);
        }
        for (Proc p : List.copyOf(procs.values())) {
            List<Task> ts = tasksOf(p);
            if (ts.isEmpty() || !p.guard.active()) continue;
            Task t = ts.get(0);
            Injector.Deferred d = new Injector.Deferred();
            try {
                p.guard.restore(t.tid, p.syscallInsn, d);
            } catch (RuntimeException e) {
                log("could not restore SIGTRAP disposition in %d: %s", p.pid, e.getMessage());
            }
            if (!d.signals.isEmpty() && !deliver.containsKey(t.tid)) deliver.put(t.tid, d.signals.get(0));
        }
        for (Task t : tasks.values()) {
            try {
                Ptrace.detach(t.tid, deliver.getOrDefault(t.tid, 0));
            } catch (SysException e) {
                // already gone
            }
        }
        tasks.clear();
    }

    private boolean trapPending(Task t) {
        try {
            Status s = ProcFs.status(t.proc.pid, t.tid);
            return ((s.sigPnd() | s.shdPnd()) & SIGTRAP_MASK) != 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    // ---- watchdog -----------------------------------------------------------------------------

    /** Wakes the tracer thread for the duration limit, stop requests and the rate-cap window. */
    private void watchdog() {
        long deadline = opt.duration() == null ? Long.MAX_VALUE : System.nanoTime() + opt.duration().toNanos();
        while (running) {
            long now = System.nanoTime();
            if (now >= deadline) requestStop(StopReason.DURATION);
            boolean wake = stopRequest != null || (eventsDisabled && now >= reenableAtNanos);
            if (wake && running) {
                try {
                    Self.wake(tracerTid);
                } catch (SysException e) {
                    return;
                }
            }
            try {
                Thread.sleep(wake ? 5 : 20);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void log(String fmt, Object... args) {
        if (opt.log() != null) opt.log().accept(String.format(fmt, args));
    }
}
