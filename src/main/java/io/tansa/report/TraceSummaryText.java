package io.tansa.report;

import io.tansa.trace.Summary;
import io.tansa.trace.Summary.Stat;
import io.tansa.trace.Summary.ThreadStats;
import io.tansa.profile.Identity;
import java.io.PrintStream;
import java.util.function.IntUnaryOperator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code tansa trace -c} as strace -c prints it: % time, seconds, usecs/call, max usecs, calls,
 * errors per syscall with a total row; then the ioctl requests, the per-thread tables and the
 * count of lost records.
 */
public final class TraceSummaryText {
    private TraceSummaryText() {}

    private static final String RULE = "------ ----------- ----------- ----------- --------- --------- ------- ----------------";

    public static void render(Summary sum, long lost, PrintStream out) {
        render(sum, lost, List.of(), t -> t, out);
    }

    /**
     * As above, the targets in containers named first ({@link Who#lines}), and each thread of a
     * per-thread table with its tid in its own namespace ({@code nsTid}: tid → that tid).
     */
    public static void render(Summary sum, long lost, List<Identity> targets, IntUnaryOperator nsTid, PrintStream out) {
        Map<Integer, Identity> byPid = new java.util.HashMap<>();
        for (Identity id : targets) byPid.put(id.pid(), id);
        out.print(Who.lines(targets));
        table(out, sum.syscalls());
        ioctls(out, sum.ioctls());
        if (sum.ioctlsUnentered() > 0) {
            out.printf(Locale.ROOT, "%-32s %9d%n", "(entered before tracing)", sum.ioctlsUnentered());
        }
        for (ThreadStats t : sum.threads()) {
            out.println();
            Identity proc = byPid.getOrDefault(t.pid, Identity.plain(t.pid));
            out.printf(Locale.ROOT, "thread %s (%s) of process %s%n", Who.tid(t.tid, nsTid.applyAsInt(t.tid)), t.name,
                    Who.pid(proc));
            table(out, Summary.syscalls(t));
            ioctls(out, Summary.ioctls(t));
        }
        if (lost > 0) {
            out.println();
            out.printf(Locale.ROOT, "lost %d records (ring buffer full): counts are low%n", lost);
        }
        out.flush();
    }

    private static void ioctls(PrintStream out, List<Map.Entry<String, Stat>> io) {
        if (io.isEmpty()) return;
        out.println();
        out.printf(Locale.ROOT, "%-32s %9s %9s %11s %11s%n", "ioctl request", "calls", "errors", "seconds",
                "usecs/call");
        for (Map.Entry<String, Stat> e : io) {
            Stat s = e.getValue();
            out.printf(Locale.ROOT, "%-32s %9d %9s %11.6f %11d%n", e.getKey(), s.calls, s.errors == 0 ? "" : s.errors,
                    s.totalNs / 1e9, s.timed == 0 ? 0 : s.totalNs / s.timed / 1000);
        }
    }

    private static void table(PrintStream out, List<Map.Entry<String, Stat>> rows) {
        long total = 0, calls = 0, errors = 0, timed = 0, max = 0;
        for (Map.Entry<String, Stat> e : rows) {
            Stat s = e.getValue();
            total += s.totalNs;
            calls += s.calls;
            errors += s.errors;
            timed += s.timed;
            max = Math.max(max, s.maxNs);
        }
        out.printf(Locale.ROOT, "%6s %11s %11s %11s %9s %9s %7s %s%n", "% time", "seconds", "usecs/call", "max usecs",
                "calls", "errors", "partial", "syscall");
        out.println(RULE);
        for (Map.Entry<String, Stat> e : rows) {
            Stat s = e.getValue();
            out.printf(Locale.ROOT, "%6.2f %11.6f %11d %11d %9d %9s %7s %s%n", total == 0 ? 0.0 : 100.0 * s.totalNs / total,
                    s.totalNs / 1e9, s.timed == 0 ? 0 : s.totalNs / s.timed / 1000, s.maxNs / 1000, s.calls,
                    s.errors == 0 ? "" : Long.toString(s.errors), s.calls == s.timed ? "" : Long.toString(s.calls - s.timed),
                    e.getKey());
        }
        out.println(RULE);
        out.printf(Locale.ROOT, "%6.2f %11.6f %11d %11d %9d %9s %7s %s%n", total == 0 ? 0.0 : 100.0, total / 1e9,
                timed == 0 ? 0 : total / timed / 1000, max / 1000, calls, errors == 0 ? "" : Long.toString(errors),
                calls == timed ? "" : Long.toString(calls - timed), "total");
        if (calls != timed) {
            out.println("partial: calls seen only at their start or end (running when tracing began or ended):"
                    + " in calls, not in seconds or usecs/call");
        }
    }
}
