package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.proc.Status;
import io.tansa.symbols.ProbeTarget;
import io.tansa.sys.Errno;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import io.tansa.sys.Self;
import io.tansa.sys.SigInfo;
import io.tansa.sys.Signals;
import io.tansa.sys.SysException;
import java.util.List;
import java.util.Map;

/**
 * The stop engine ({@code --mode stop}): kernel-owned uprobes (perf_event_open on the uprobe PMU,
 * one event per thread and location) with {@code sigtrap}, and PTRACE_SEIZE so the hitting thread
 * reports a signal-delivery-stop where its registers and memory can be read; then it is resumed
 * with the signal suppressed. See ARCHITECTURE.md ("The probe engines") for why, and for the
 * teardown order.
 *
 * <p>This class is the attach and dispatch of a run; its other concerns have classes of their own:
 * {@link Launcher} (-- CMD), {@link Trigger} (the events: uprobes or a timer, armed and disarmed
 * by the rate cap), {@link Tracees} (processes and threads held), {@link Teardown} (the order of
 * the end) and {@link Watchdog} (waking the blocked waitpid).
 *
 * <p>All ptrace calls happen on the thread that calls {@link #run}; other threads only call
 * {@link #requestStop}.
 */
public final class StopEngine implements Engine {
    private static final long SIGTRAP_MASK = Tracees.SIGTRAP_MASK;
    private static final int SEIZE_OPTIONS = Tracees.SEIZE_OPTIONS;

    private final Options opt;
    private final HitHandler handler;
    private final Launcher.Launched launched;
    private Trigger trigger;
    private Tracees tracees;
    private Map<Integer, Tracees.Proc> procs;
    private Map<Integer, Tracees.Task> tasks;
    private Map<Integer, Integer> expected;

    private volatile StopReason stopRequest;
    private long hits, afterEnd, capped;
    private RateCap cap;
    private volatile long reenableAtNanos;
    /** A launched program's thread, stopped at its entry point until probes are in place; else -1. */
    private int launchedStopped = -1;

    private StopEngine(Options opt, HitHandler handler) {
        this.opt = opt;
        this.handler = handler;
        this.launched = opt.launched();
    }

    /** Creates an engine; nothing touches a process until {@link #run}. */
    public static StopEngine create(Options opt, HitHandler handler) {
        return new StopEngine(opt, handler);
    }

    @Override
    public void requestStop(StopReason why) {
        if (stopRequest == null) stopRequest = why;
    }

    /**
     * Attaches to {@code pids}, probes every thread (and threads born later) until a bound is
     * reached, then removes every probe and detaches. Always detaches, also on exceptions.
     */
    @Override
    public Result run(List<Integer> pids, List<ProbeTarget> targets) {
        if (targets.isEmpty()) throw new IllegalArgumentException("no probe targets");
        return runAttached(pids, Trigger.uprobes(targets));
    }

    /**
     * As {@link #run}, but the trigger is time instead of a function: one {@code cpu-clock} event per
     * thread (threads born later included) that fires after every {@code periodNanos} of that
     * thread's CPU time, with {@code sigtrap}, so the thread that was on CPU stops right there, at the
     * sample, and the handler reads it (location -1). Same attach, signal and teardown discipline.
     */
    public Result runTimed(List<Integer> pids, long periodNanos) {
        if (periodNanos <= 0) throw new IllegalArgumentException("period must be positive");
        return runAttached(pids, Trigger.timer(periodNanos));
    }

    private Result runAttached(List<Integer> pids, Trigger trigger) {
        this.trigger = trigger;
        this.tracees = new Tracees(opt.log(), trigger);
        this.procs = tracees.procs;
        this.tasks = tracees.tasks;
        this.expected = tracees.expected;
        int tracerTid = Self.tid();
        Self.installWakeHandler();
        Watchdog watchdog = Watchdog.start(tracerTid, opt.duration(), () -> requestStop(StopReason.DURATION),
                () -> stopRequest != null || (!trigger.armed() && System.nanoTime() >= reenableAtNanos));
        try {
            for (int pid : pids) attach(pid);
            for (Tracees.Proc p : List.copyOf(procs.values())) openAll(p);
            trigger.started();
            if (launchedStopped > 0) {
                Ptrace.cont(launchedStopped, 0); // from its entry point, probes in place
                launchedStopped = -1;
            }
            if (trigger.timed()) {
                log("sampling %d thread%s of %s every %.1f ms of CPU time", tasks.size(), tasks.size() == 1 ? "" : "s",
                        pids, trigger.periodNanos() / 1e6);
            } else {
                log("probing %d location%s in %d thread%s of %s", trigger.locations(), trigger.locations() == 1 ? "" : "s",
                        tasks.size(), tasks.size() == 1 ? "" : "s", pids);
            }
            if (opt.attached() != null) opt.attached().run();
            loop();
        } finally {
            trigger.ended();
            watchdog.stop();
            afterEnd += Teardown.run(tracees, trigger);
        }
        StopReason reason = stopRequest != null ? stopRequest : StopReason.TARGET_EXITED;
        return new Result(hits, afterEnd, capped, 0, trigger.kernelHits(), reason, tracees.exited, trigger.armedShare());
    }

    // ---- attach -------------------------------------------------------------------------------

    private void attach(int pid) {
        if (pid == Self.pid()) throw new Failure(Failure.Kind.USAGE, "refusing to trace tansa itself");
        if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        if (launched != null && pid == launched.pid() && launched.held()) {
            launched.takeOver();
            Tracees.Proc p = new Tracees.Proc(pid);
            procs.put(pid, p);
            tasks.put(pid, new Tracees.Task(pid, p));
            launchedStopped = pid;
            p.syscallInsn = Injector.findSyscallInsn(pid);
            Status st = ProcFs.status(pid, pid);
            if (((st.sigIgn() | st.sigCgt()) & SIGTRAP_MASK) == 0) {
                p.guard.set(pid, p.syscallInsn, new Injector.Deferred()); // stopped already: no interrupt
            }
            return;
        }
        Tracees.Proc p = new Tracees.Proc(pid);
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
                tasks.put(tid, new Tracees.Task(tid, p));
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
    private void guard(Tracees.Proc p) {
        Status st = ProcFs.status(p.pid, p.pid);
        if (((st.sigIgn() | st.sigCgt()) & SIGTRAP_MASK) != 0) return;
        for (Tracees.Task t : tasksOf(p)) {
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
    private int awaitStop(Tracees.Task t) {
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

    // ---- events -------------------------------------------------------------------------------

    private void openAll(Tracees.Proc p) {
        for (Tracees.Task t : tasksOf(p)) open(t);
    }

    private void open(Tracees.Task t) {
        trigger.open(t);
    }

    private void closeEvents(Tracees.Task t) {
        trigger.close(t);
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
            if (!trigger.armed() && System.nanoTime() >= reenableAtNanos) {
                cap.restart(System.nanoTime());
                trigger.arm(tasks.values()); // the next window: the probe back in every thread
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
        Tracees.Task t = tasks.get(tid);
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

    private void onHit(Tracees.Task t, int location) {
        long now = System.nanoTime();
        if (opt.count() > 0 && hits >= opt.count()) {
            afterEnd++;
            return;
        }
        if (!cap.admit(now)) {
            capped++;
            if (trigger.armed()) {
                // the window is full: the probe out of the target until it ends (it pays for no trap)
                reenableAtNanos = cap.windowEnd();
                trigger.disarm(tasks.values());
            }
            return;
        }
        Regs regs = Ptrace.getRegs(t.tid);
        if (handler.onHit(Hit.stopped(t.proc.pid, t.tid, location, now, regs))) hits++;
    }

    private void noteChild(Tracees.Task parent, int ev) {
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
        Tracees.Proc p = procs.get(tgid);
        if (p == null) {
            // a forked child (--children): same mappings and SIGTRAP disposition as its parent
            Tracees.Proc parent = procs.values().iterator().next();
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
        Tracees.Task t = new Tracees.Task(tid, p);
        tasks.put(tid, t);
        open(t);
        Ptrace.cont(tid, 0);
    }

    /** A forked child that is not to be traced: restore its SIGTRAP disposition, detach it. */
    private void release(int tid, Tracees.Proc p) {
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

    private Tracees.Proc adoptProcess(int pid, Tracees.Proc parent) {
        Tracees.Proc p = procs.computeIfAbsent(pid, Tracees.Proc::new);
        p.syscallInsn = parent.syscallInsn; // fork keeps the address space layout
        p.guard.inherit(parent.guard);
        if (opt.children()) log("following child process %d", pid);
        return p;
    }

    private void onExec(Tracees.Task t) {
        // The new image has no probes (remove_on_exec) and other code: stop tracing this process,
        // leaving SIGTRAP as it would be after exec without tansa.
        Tracees.Proc p = t.proc;
        log("process %d called exec; no longer traced", p.pid);
        for (Tracees.Task x : tasksOf(p)) {
            closeEvents(x);
            if (x != t) tasks.remove(x.tid);
        }
        p.syscallInsn = Injector.findSyscallInsn(p.pid);
        p.guard.afterExec();
        Injector.Deferred d = new Injector.Deferred();
        p.guard.restore(t.tid, p.syscallInsn, d);
        tasks.remove(t.tid);
        procs.remove(p.pid);
        tracees.exited.put(p.pid, "exec");
        Ptrace.detach(t.tid, d.signals.isEmpty() ? 0 : d.signals.get(0));
    }

    private List<Tracees.Task> tasksOf(Tracees.Proc p) {
        return tracees.tasksOf(p);
    }

    private void threadGone(int tid, Ptrace.Wait w) {
        tracees.threadGone(tid, w);
    }

    private void log(String fmt, Object... args) {
        tracees.log(fmt, args);
    }
}
