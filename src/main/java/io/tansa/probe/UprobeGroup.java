package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.symbols.ProbeTarget;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The uprobe trace events of one run of a kernel-owned engine (copy mode, the kernel walk): a
 * group of its own in tracefs, {@code tansa_PID_N/pI} (copy) or {@code tansa_PID_kN/pI} (kernel
 * walk), one event per probe target. A tansa killed with SIGKILL cannot remove its group; its
 * definitions are inactive (no breakpoint without an open event) and the next run removes every
 * group whose tansa is gone.
 */
final class UprobeGroup {
    static final String PREFIX = "tansa_";
    private static final AtomicInteger RUNS = new AtomicInteger();

    final String name;
    private int defined;

    /** {@code kind}: "" for copy mode, "k" for the kernel walk. */
    UprobeGroup(String kind) {
        name = PREFIX + ProcessHandle.current().pid() + "_" + kind + RUNS.incrementAndGet();
    }

    /** Defines one event per target (after removing the groups of tansa runs that are gone); their trace event ids. */
    int[] define(List<ProbeTarget> targets) {
        sweepStale(name);
        int[] ids = new int[targets.size()];
        for (int i = 0; i < targets.size(); i++) {
            ProbeTarget t = targets.get(i);
            try {
                ids[i] = Tracefs.addUprobe(name, "p" + i, t.file().toString(), t.fileOffset());
            } catch (SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "defining a uprobe event: " + e.getMessage()
                        + " (needs root: CAP_SYS_ADMIN for tracefs)", e);
            }
            defined = i + 1;
        }
        return ids;
    }

    /** Removes the events defined so far; a failure is said to {@code log} (may be null). */
    void remove(Consumer<String> log) {
        for (int i = 0; i < defined; i++) {
            try {
                Tracefs.removeUprobe(name, "p" + i);
            } catch (SysException e) {
                if (log != null) log.accept(String.format("could not remove the uprobe event %s/p%d: %s", name, i, e.getMessage()));
            }
        }
        defined = 0;
    }

    /** Removes the definitions of tansa runs that are gone, except {@code own}. */
    static void sweepStale(String own) {
        for (String event : Tracefs.uprobes()) {
            String g = event.substring(0, Math.max(0, event.indexOf('/')));
            if (!g.startsWith(PREFIX) || g.equals(own)) continue;
            try {
                String pid = g.substring(PREFIX.length());
                if (pid.contains("_")) pid = pid.substring(0, pid.indexOf('_'));
                if (ProcFs.exists(Integer.parseInt(pid))) continue;
                Tracefs.removeUprobe(g, event.substring(g.length() + 1));
            } catch (NumberFormatException | SysException e) {
                // not ours, or in use
            }
        }
    }
}
