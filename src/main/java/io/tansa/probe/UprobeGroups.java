package io.tansa.probe;

import io.tansa.proc.ProcFs;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;

/**
 * The uprobe trace events of the kernel-owned engines (copy and kernel walk): each run defines
 * its own group, {@code tansa_PID_N}. A tansa killed with SIGKILL cannot remove its definitions;
 * they are inactive (no breakpoint without an open event) and the next run removes every group
 * whose tansa is gone.
 */
final class UprobeGroups {
    static final String PREFIX = "tansa_";

    private UprobeGroups() {}

    /** Removes the definitions of tansa runs that are gone, except {@code own}. */
    static void sweepStale(String own) {
        for (String name : Tracefs.uprobes()) {
            String g = name.substring(0, Math.max(0, name.indexOf('/')));
            if (!g.startsWith(PREFIX) || g.equals(own)) continue;
            try {
                String pid = g.substring(PREFIX.length());
                if (pid.contains("_")) pid = pid.substring(0, pid.indexOf('_'));
                if (ProcFs.exists(Integer.parseInt(pid))) continue;
                Tracefs.removeUprobe(g, name.substring(g.length() + 1));
            } catch (NumberFormatException | SysException e) {
                // not ours, or in use
            }
        }
    }
}
