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
 * {@code tansa trace -c -f json}, the product brief's contract: {"syscalls": [{"name", "calls",
 * "errors", "total_us"}...], "ioctls": [{"request", "calls", "errors"}...]}, plus avg_us/max_us
 * per row, "lost", and with per-thread tables a "threads" array; one line.
 */
public final class TraceSummaryJson {
    private TraceSummaryJson() {}

    public static void render(Summary sum, long lost, PrintStream out) {
        render(sum, lost, List.of(), t -> t, out);
    }

    /** As above, with "targets" ({@link Who}) and each thread's "ns_tid"/"ns_pid" where they differ. */
    public static void render(Summary sum, long lost, List<Identity> targets, IntUnaryOperator nsTid, PrintStream out) {
        Map<Integer, Identity> byPid = new java.util.HashMap<>();
        for (Identity id : targets) byPid.put(id.pid(), id);
        StringBuilder b = new StringBuilder();
        b.append("{\"syscalls\": ");
        rows(b, sum.syscalls(), "name");
        b.append(", \"ioctls\": ");
        rows(b, sum.ioctls(), "request");
        b.append(", \"ioctls_unentered\": ").append(sum.ioctlsUnentered());
        if (sum.perThread()) {
            b.append(", \"threads\": [");
            boolean first = true;
            for (ThreadStats t : sum.threads()) {
                if (!first) b.append(", ");
                first = false;
                b.append("{\"tid\": ").append(t.tid).append(", \"pid\": ").append(t.pid);
                int nt = nsTid.applyAsInt(t.tid);
                if (nt != t.tid) b.append(", \"ns_tid\": ").append(nt);
                Identity proc = byPid.get(t.pid);
                if (proc != null && proc.otherPid()) b.append(", \"ns_pid\": ").append(proc.nsPid());
                b.append(", \"name\": ")
                        .append(Json.quote(t.name)).append(", \"syscalls\": ");
                rows(b, Summary.syscalls(t), "name");
                b.append(", \"ioctls\": ");
                rows(b, Summary.ioctls(t), "request");
                b.append('}');
            }
            b.append(']');
        }
        b.append(", \"lost\": ").append(lost);
        if (!targets.isEmpty()) b.append(", \"targets\": ").append(JsonValue.of(Who.targets(targets)));
        b.append("}");
        out.println(b);
        out.flush();
    }

    private static void rows(StringBuilder b, List<Map.Entry<String, Stat>> rows, String key) {
        b.append('[');
        boolean first = true;
        for (Map.Entry<String, Stat> e : rows) {
            Stat s = e.getValue();
            if (!first) b.append(", ");
            first = false;
            b.append("{\"").append(key).append("\": ").append(Json.quote(e.getKey()))
                    .append(", \"calls\": ").append(s.calls)
                    .append(", \"errors\": ").append(s.errors)
                    .append(", \"partial\": ").append(s.calls - s.timed)
                    .append(", \"total_us\": ").append(us(s.totalNs))
                    .append(", \"avg_us\": ").append(us(s.timed == 0 ? 0 : s.totalNs / s.timed))
                    .append(", \"max_us\": ").append(us(s.maxNs)).append('}');
        }
        b.append(']');
    }

    private static String us(long ns) {
        return String.format(Locale.ROOT, "%.1f", ns / 1000.0);
    }
}
