package io.tansa.probe;

import io.tansa.proc.ProcFs;
import io.tansa.proc.Status;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Signals;
import io.tansa.sys.SysException;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The end of a stop-mode run. Order matters (ARCHITECTURE.md, "The probe engines"): close every
 * event first (no new traps), stop every thread and consume any SIGTRAP still pending, restore
 * the SIGTRAP disposition, then detach. Detaching with an event open or a trap pending could
 * kill the target.
 */
final class Teardown {
    private Teardown() {}

    /** Detaches from every thread of {@code t}; returns the hits that raced with the end (consumed, not captured). */
    static long run(Tracees t, Trigger trigger) {
        long raced = 0;
        for (Tracees.Task x : t.tasks.values()) trigger.close(x);
        Set<Integer> unparked = new HashSet<>();
        Map<Integer, Integer> deliver = new LinkedHashMap<>();
        for (Tracees.Task x : List.copyOf(t.tasks.values())) {
            try {
                Ptrace.interrupt(x.tid);
                unparked.add(x.tid);
            } catch (SysException e) {
                t.tasks.remove(x.tid);
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
                t.threadGone(tid, w);
                continue;
            }
            if (!w.stopped()) continue;
            Tracees.Task task = t.tasks.get(tid);
            if (task == null) {
                // a thread born during teardown: attached automatically, no probes; park it too
                Integer tgid = t.expected.remove(tid);
                Tracees.Proc p = tgid != null ? t.procs.get(tgid) : null;
                if (p == null) p = t.procs.values().stream().findFirst().orElse(null);
                if (p == null) continue;
                task = new Tracees.Task(tid, p);
                t.tasks.put(tid, task);
                unparked.add(tid);
            }
            int ev = w.event();
            if (ev == Ptrace.EVENT_CLONE || ev == Ptrace.EVENT_FORK || ev == Ptrace.EVENT_VFORK) {
                int child = (int) Ptrace.eventMsg(tid);
                if (!t.tasks.containsKey(child)) t.expected.put(child, ev == Ptrace.EVENT_CLONE ? task.proc.pid : child);
                Ptrace.cont(tid, 0);
                continue;
            }
            if (ev == 0) {
                int sig = w.stopSig();
                if (sig == Signals.SIGTRAP && Ptrace.getSigInfo(tid).isPerfTrap()) {
                    raced++; // a hit that raced with the end: consumed, thread parked here
                    unparked.remove(tid);
                    continue;
                }
                // the target's own signal: it must be delivered; hold it for the detach
                deliver.put(tid, sig);
                unparked.remove(tid);
                continue;
            }
            // an interrupt/group stop: park unless a SIGTRAP is still pending for it
            if (trapPending(task)) {
                Ptrace.cont(tid, 0); // its signal-delivery-stop comes next
                continue;
            }
            unparked.remove(tid);
        }
        for (Tracees.Proc p : List.copyOf(t.procs.values())) {
            List<Tracees.Task> ts = t.tasksOf(p);
            if (ts.isEmpty() || !p.guard.active()) continue;
            Tracees.Task first = ts.get(0);
            Injector.Deferred d = new Injector.Deferred();
            try {
                p.guard.restore(first.tid, p.syscallInsn, d);
            } catch (RuntimeException e) {
                t.log("could not restore SIGTRAP disposition in %d: %s", p.pid, e.getMessage());
            }
            if (!d.signals.isEmpty() && !deliver.containsKey(first.tid)) deliver.put(first.tid, d.signals.get(0));
        }
        for (Tracees.Task x : t.tasks.values()) {
            try {
                Ptrace.detach(x.tid, deliver.getOrDefault(x.tid, 0));
            } catch (SysException e) {
                // already gone
            }
        }
        t.tasks.clear();
        return raced;
    }

    private static boolean trapPending(Tracees.Task t) {
        try {
            Status s = ProcFs.status(t.proc.pid, t.tid);
            return ((s.sigPnd() | s.shdPnd()) & Tracees.SIGTRAP_MASK) != 0;
        } catch (RuntimeException e) {
            return false;
        }
    }
}
