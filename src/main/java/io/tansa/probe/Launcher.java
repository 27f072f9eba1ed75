package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Signals;
import io.tansa.sys.Spawn;
import java.util.List;

/**
 * Starts a program for {@code -- CMD}: traced, stopped at its entry point, after the dynamic
 * loader mapped its libraries (so symbols resolve) and before any of its code ran. The program
 * is started by a shell that stops itself, is seized, then execs the command; at the exec a
 * one-shot uprobe on AT_ENTRY stops it. Hand the result to an engine through
 * {@link Engine.Options#launched}, on the same thread (ptrace is per thread).
 */
public final class Launcher {
    private Launcher() {}

    /**
     * A program stopped at its entry point, seized by the thread that launched it. From there it
     * is released (it runs on untraced), taken over by the stop engine, or — for the copy engine —
     * {@linkplain #watchExit watched}: it runs on seized, stopping only where its end begins (the
     * {@linkplain #holdAt hold points}, e.g. the Ruby VM's teardown) and at its exit, where tansa
     * names its hits from its intact memory before it {@linkplain #resume goes on}.
     */
    public static final class Launched {
        private final int pid;
        private boolean held = true;
        /** Released from the entry stop but still seized, for its hold and exit stops. */
        private boolean watching;
        /** Stopped at PTRACE_EVENT_EXIT (memory intact), or at a hold point (SIGTRAP of its perf event). */
        private boolean atExit, atHold;
        /** Where to stop before the program tears down what naming its hits needs. */
        private List<io.tansa.symbols.ProbeTarget> holdAt = List.of();
        private final List<Integer> holdFds = new java.util.ArrayList<>();
        /** How it ended ("exit 3", "killed by SIGKILL"), once known; its exit status (wait(2) format), or -1. */
        private String ended;
        private int status = -1;

        Launched(int pid) {
            this.pid = pid;
        }

        public int pid() {
            return pid;
        }

        /** True until an engine took it over or it was released. */
        boolean held() {
            return held;
        }

        /** The stop engine traces it from here on (it resumes it once its probes are in place). */
        void takeOver() {
            held = false;
        }

        /**
         * Functions at whose entry a {@linkplain #watchExit watched} program stops once, its
         * memory still whole (set before {@link #watchExit}): for Ruby, {@code ruby_vm_destruct},
         * which frees the heap (iseqs, strings) before the process exits.
         */
        public void holdAt(List<io.tansa.symbols.ProbeTarget> at) {
            holdAt = List.copyOf(at);
        }

        /**
         * Lets it run on untraced: from its entry point (for an engine that needs no ptrace: call
         * once the probes are in place), or, {@linkplain #watchExit watched}, from wherever it is.
         * No-op when already released or taken over.
         */
        public void release() {
            if (held) {
                held = false;
                Ptrace.detach(pid, 0); // the entry probe's SIGTRAP is discarded, as at cont
                return;
            }
            if (!watching) return;
            watching = false;
            closeHolds(); // no trap after this one
            if (atExit || atHold) {
                atExit = atHold = false;
                detachQuietly(0); // a hold's SIGTRAP is discarded; at its exit stop, it completes its exit
                return;
            }
            // running: PTRACE_DETACH needs a ptrace-stop, so interrupt it first (ptrace(2))
            try {
                Ptrace.interrupt(pid);
            } catch (io.tansa.sys.SysException e) {
                return; // gone
            }
            while (true) {
                Ptrace.Wait w = Ptrace.waitpid(pid, Ptrace.WALL);
                if (w.gone()) {
                    ended(w.status());
                    return;
                }
                if (!w.stopped()) continue;
                int sig = w.event() == 0 ? w.stopSig() : 0;
                if (sig == Signals.SIGTRAP && isPerfTrap()) sig = 0; // a hold's trap: discarded
                if (sig == 0 && w.event() == Ptrace.EVENT_STOP && holdTrapPending()) {
                    // a hold's trap already queued would kill it once untraced: take its stop first
                    contQuietly(0);
                    continue;
                }
                // a signal-delivery-stop that came first: the signal goes with the detach; else the
                // interrupt's (or a group-stop's, which the detach leaves in place) PTRACE_EVENT_STOP
                detachQuietly(sig);
                return;
            }
        }

        private boolean isPerfTrap() {
            try {
                return Ptrace.getSigInfo(pid).isPerfTrap();
            } catch (io.tansa.sys.SysException e) {
                return false;
            }
        }

        /** A SIGTRAP pending on the thread (ours: the program was stopped at none). */
        private boolean holdTrapPending() {
            if (holdAt.isEmpty()) return false;
            try {
                io.tansa.proc.Status st = ProcFs.status(pid, pid);
                return io.tansa.proc.Status.has(st.sigPnd() | st.shdPnd(), Signals.SIGTRAP);
            } catch (RuntimeException e) {
                return false;
            }
        }

        private void detachQuietly(int sig) {
            try {
                Ptrace.detach(pid, sig);
            } catch (io.tansa.sys.SysException e) {
                // killed meanwhile (SIGKILL ends a ptrace-stop): nothing traced is left
            }
        }

        private void contQuietly(int sig) {
            try {
                Ptrace.cont(pid, sig);
            } catch (io.tansa.sys.SysException e) {
                // killed meanwhile: its end comes with the next wait
            }
        }

        private void closeHolds() {
            for (int fd : holdFds) Files.close(fd);
            holdFds.clear();
        }

        /**
         * From its entry stop, lets it run on still seized but with only PTRACE_O_TRACEEXIT (no
         * clone, fork or exec events: its threads and children are not traced), so that it stops
         * at its exit with its address space intact (ptrace(2), PTRACE_EVENT_EXIT: before the
         * address space is released), and, first, at each hold point: a one-shot uprobe perf event
         * with sigtrap on its main thread (the thread that tears the VM down). Call
         * {@link #pollExit} on this thread from then on, {@link #resume} at each hold, and
         * {@link #release} to let it go.
         */
        public void watchExit() {
            if (!held) return;
            for (io.tansa.symbols.ProbeTarget t : holdAt) {
                if (t.fileOffset() <= 0) continue;
                try {
                    holdFds.add(PerfEvent.open(Trigger.uprobe(PerfEvent.pmuType("uprobe"), t.file().toString(),
                            t.fileOffset(), 0), pid, -1, -1));
                } catch (io.tansa.sys.SysException e) {
                    // no hold there: the exit stop still holds it
                }
            }
            held = false;
            Ptrace.setOptions(pid, Ptrace.O_TRACEEXIT);
            Ptrace.cont(pid, 0); // the entry probe's SIGTRAP is discarded
            watching = true;
        }

        /**
         * Takes its pending ptrace stops without waiting (WNOHANG): signals are delivered as
         * without tansa, group-stops stay stopped (PTRACE_LISTEN). True while it is held at a hold
         * point or its exit stop.
         */
        public boolean pollExit() {
            if (!watching) return false;
            while (!atExit && !atHold) {
                Ptrace.Wait w = Ptrace.waitpid(pid, Ptrace.WNOHANG | Ptrace.WALL);
                if (w.pid() == 0) return false;
                if (w.gone()) { // killed without an exit stop
                    watching = false;
                    closeHolds();
                    ended(w.status());
                    return false;
                }
                if (!w.stopped()) continue;
                int ev = w.event();
                try {
                    if (ev == Ptrace.EVENT_EXIT) {
                        atExit = true;
                        ended((int) Ptrace.eventMsg(pid)); // the exit status it will report (ptrace(2))
                    } else if (ev == 0 && w.stopSig() == Signals.SIGTRAP && !holdFds.isEmpty() && isPerfTrap()) {
                        atHold = true; // at a hold point: its trap is discarded at resume
                    } else if (ev == Ptrace.EVENT_STOP) {
                        int sig = w.stopSig();
                        if (sig == Signals.SIGSTOP || sig == Signals.SIGTSTP || sig == Signals.SIGTTIN || sig == Signals.SIGTTOU) {
                            Ptrace.listen(pid); // group-stop: stay stopped, as without tansa
                        } else {
                            Ptrace.cont(pid, 0);
                        }
                    } else {
                        Ptrace.cont(pid, ev == 0 ? w.stopSig() : 0); // a signal: delivered
                    }
                } catch (io.tansa.sys.SysException e) {
                    // killed meanwhile: its end comes with the next wait
                }
            }
            return true;
        }

        /**
         * From a hold: at a hold point it runs on (its trap discarded, the hold points removed),
         * still watched for its exit stop; at its exit stop it is let go ({@link #release}).
         */
        public void resume() {
            if (atHold) {
                atHold = false;
                closeHolds();
                contQuietly(0);
            } else if (atExit) {
                release();
            }
        }

        /** True while it is watched (between {@link #watchExit} and its release or end). */
        public boolean watched() {
            return watching;
        }

        /** How it ended, as "exit 3" or "killed by SIGKILL"; null while not known. */
        public String ended() {
            return ended;
        }

        /** Its exit code (exit(3)'s status, or 128 + the signal that killed it), or -1 while not known. */
        public int exitCode() {
            if (status < 0) return -1;
            Ptrace.Wait w = new Ptrace.Wait(pid, status);
            return w.exited() ? w.exitCode() : 128 + w.termSig();
        }

        private void ended(int status) {
            this.status = status;
            Ptrace.Wait w = new Ptrace.Wait(pid, status);
            ended = w.exited() ? "exit " + w.exitCode() : "killed by " + Signals.name(w.termSig());
        }
    }

    /** Starts {@code argv} traced and returns it stopped at the program's entry point. */
    public static Launched launch(List<String> argv) {
        int pid = Spawn.spawn(Spawn.stoppedBeforeExec(argv));
        Ptrace.Wait w = Ptrace.waitpid(pid, Ptrace.WUNTRACED);
        if (!w.stopped()) throw new Failure(Failure.Kind.INTERNAL, "could not start " + argv.get(0));
        Ptrace.seize(pid, Tracees.SEIZE_OPTIONS);
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
        return new Launched(pid);
    }

    private static int entryProbe(int pid) {
        long entry = ProcFs.auxv(pid, ProcFs.AT_ENTRY);
        for (Mapping m : ProcFs.maps(pid)) {
            if (entry >= m.start() && entry < m.end() && m.path() != null) {
                PerfEvent.Attr a = Trigger.uprobe(PerfEvent.pmuType("uprobe"), ProcFs.objectPath(pid, m).toString(),
                        m.offset() + (entry - m.start()), 0);
                return PerfEvent.open(a, pid, -1, -1);
            }
        }
        throw new Failure(Failure.Kind.UNSUPPORTED, "cannot find the entry point of process " + pid);
    }
}
