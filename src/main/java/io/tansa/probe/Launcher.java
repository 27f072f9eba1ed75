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

    /** A program stopped at its entry point, seized by the thread that launched it. */
    public static final class Launched {
        private final int pid;
        private boolean held = true;

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
         * Lets it run on from its entry point, untraced (for an engine that needs no ptrace: call
         * once the probes are in place). No-op when already released or taken over.
         */
        public void release() {
            if (!held) return;
            held = false;
            Ptrace.detach(pid, 0); // the entry probe's SIGTRAP is discarded, as at cont
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
