package io.tansa.trace;

import io.tansa.report.Json;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The -c summary: per syscall (and per ioctl request, and optionally per thread) the calls,
 * errors, total / average / maximum time between entry and exit. Time is wall-clock latency
 * (strace -c -w), counted for the calls whose entry and exit were both seen.
 */
public final class Summary implements SyscallTracer.Listener {
    /** Counters of one syscall or ioctl request. */
    public static final class Stat {
        public long calls, errors, timed, totalNs, maxNs;

        void add(Call c) {
            calls++;
            if (c.failed()) errors++;
            if (c.durationNs >= 0) {
                timed++;
                totalNs += c.durationNs;
                if (c.durationNs > maxNs) maxNs = c.durationNs;
            }
        }
    }

    /** One thread's table. */
    public static final class ThreadStats {
        public final int pid, tid;
        public String name;
        public final Stat[] bySyscall = new Stat[SyscallTable.MAX];

        ThreadStats(int pid, int tid, String name) {
            this.pid = pid;
            this.tid = tid;
            this.name = name;
        }
    }

    private final boolean perThread;
    private final Stat[] bySyscall = new Stat[SyscallTable.MAX];
    private final Map<Integer, Stat> byIoctl = new LinkedHashMap<>();
    private final Map<Integer, ThreadStats> byThread = new LinkedHashMap<>();
    private final Map<Integer, String> renamed = new HashMap<>();
    private ThreadStats lastThread;
    private static final int NR_IOCTL = SyscallTable.number("ioctl");

    public Summary(boolean perThread) {
        this.perThread = perThread;
    }

    @Override
    public void call(Call c) {
        if (c.nr >= SyscallTable.MAX) return;
        stat(bySyscall, c.nr).add(c);
        if (c.nr == NR_IOCTL && c.entered) byIoctl.computeIfAbsent((int) c.args[1], k -> new Stat()).add(c);
        if (perThread) {
            ThreadStats t = lastThread;
            if (t == null || t.tid != c.tid) {
                t = byThread.computeIfAbsent(c.tid, k -> new ThreadStats(c.pid, c.tid, name(c.pid, c.tid)));
                lastThread = t;
            }
            stat(t.bySyscall, c.nr).add(c);
        }
    }

    private String name(int pid, int tid) {
        String n = renamed.get(tid);
        if (n != null) return n;
        n = io.tansa.proc.ProcFs.comm(pid, tid, null);
        return n == null ? "?" : n;
    }

    @Override
    public void comm(int pid, int tid, String name) {
        renamed.put(tid, name);
        ThreadStats t = byThread.get(tid);
        if (t != null) t.name = name;
    }

    private static Stat stat(Stat[] table, int nr) {
        Stat s = table[nr];
        if (s == null) table[nr] = s = new Stat();
        return s;
    }

    /** Calls of syscall {@code name} so far (0 when none). */
    public long calls(String name) {
        int nr = SyscallTable.number(name);
        return nr < 0 || bySyscall[nr] == null ? 0 : bySyscall[nr].calls;
    }

    /** Syscall rows, most total time first (then most calls). */
    public List<Map.Entry<String, Stat>> syscalls() {
        return rows(bySyscall);
    }

    /** ioctl rows by request name, most calls first. */
    public List<Map.Entry<String, Stat>> ioctls() {
        List<Map.Entry<String, Stat>> out = new ArrayList<>();
        byIoctl.forEach((req, s) -> out.add(Map.entry(IoctlTable.name(req), s)));
        out.sort(Comparator.comparingLong((Map.Entry<String, Stat> e) -> -e.getValue().calls)
                .thenComparing(Map.Entry::getKey));
        return out;
    }

    /** Per-thread tables in order of first call (empty unless per-thread). */
    public List<ThreadStats> threads() {
        return new ArrayList<>(byThread.values());
    }

    private static List<Map.Entry<String, Stat>> rows(Stat[] table) {
        List<Map.Entry<String, Stat>> out = new ArrayList<>();
        for (int nr = 0; nr < table.length; nr++) {
            if (table[nr] != null) out.add(Map.entry(SyscallTable.name(nr), table[nr]));
        }
        out.sort(Comparator.comparingLong((Map.Entry<String, Stat> e) -> -e.getValue().totalNs)
                .thenComparingLong(e -> -e.getValue().calls).thenComparing(Map.Entry::getKey));
        return out;
    }

    // ---- rendering ----

    private static final String RULE = "------ ----------- ----------- ----------- --------- --------- ----------------";

    /** strace -c style tables. */
    public void renderText(PrintStream out, long lost) {
        table(out, syscalls());
        List<Map.Entry<String, Stat>> io = ioctls();
        if (!io.isEmpty()) {
            out.println();
            out.printf(Locale.ROOT, "%-32s %9s %9s %11s %11s%n", "ioctl request", "calls", "errors", "seconds",
                    "usecs/call");
            for (Map.Entry<String, Stat> e : io) {
                Stat s = e.getValue();
                out.printf(Locale.ROOT, "%-32s %9d %9s %11.6f %11d%n", e.getKey(), s.calls, s.errors == 0 ? "" : s.errors,
                        s.totalNs / 1e9, s.timed == 0 ? 0 : s.totalNs / s.timed / 1000);
            }
        }
        for (ThreadStats t : threads()) {
            out.println();
            out.printf(Locale.ROOT, "thread %d (%s) of process %d%n", t.tid, t.name, t.pid);
            table(out, rows(t.bySyscall));
        }
        if (lost > 0) {
            out.println();
            out.printf(Locale.ROOT, "lost %d records (ring buffer full): counts are low%n", lost);
        }
        out.flush();
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
        out.printf(Locale.ROOT, "%6s %11s %11s %11s %9s %9s %s%n", "% time", "seconds", "usecs/call", "max usecs",
                "calls", "errors", "syscall");
        out.println(RULE);
        for (Map.Entry<String, Stat> e : rows) {
            Stat s = e.getValue();
            out.printf(Locale.ROOT, "%6.2f %11.6f %11d %11d %9d %9s %s%n", total == 0 ? 0.0 : 100.0 * s.totalNs / total,
                    s.totalNs / 1e9, s.timed == 0 ? 0 : s.totalNs / s.timed / 1000, s.maxNs / 1000, s.calls,
                    s.errors == 0 ? "" : Long.toString(s.errors), e.getKey());
        }
        out.println(RULE);
        out.printf(Locale.ROOT, "%6.2f %11.6f %11d %11d %9d %9s %s%n", total == 0 ? 0.0 : 100.0, total / 1e9,
                timed == 0 ? 0 : total / timed / 1000, max / 1000, calls, errors == 0 ? "" : Long.toString(errors),
                "total");
    }

    /**
     * The JSON contract (README.md, "tansa trace"): {"syscalls": [{"name", "calls", "errors", "total_us"}...],
     * "ioctls": [{"request", "calls", "errors"}...]}, plus avg_us/max_us per row, "lost", and
     * with per-thread a "threads" array.
     */
    public void renderJson(PrintStream out, long lost) {
        StringBuilder b = new StringBuilder();
        b.append("{\"syscalls\": ");
        jsonRows(b, syscalls(), "name");
        b.append(", \"ioctls\": ");
        jsonRows(b, ioctls(), "request");
        if (perThread) {
            b.append(", \"threads\": [");
            boolean first = true;
            for (ThreadStats t : threads()) {
                if (!first) b.append(", ");
                first = false;
                b.append("{\"tid\": ").append(t.tid).append(", \"pid\": ").append(t.pid).append(", \"name\": ")
                        .append(Json.quote(t.name)).append(", \"syscalls\": ");
                jsonRows(b, rows(t.bySyscall), "name");
                b.append('}');
            }
            b.append(']');
        }
        b.append(", \"lost\": ").append(lost).append("}");
        out.println(b);
        out.flush();
    }

    private static void jsonRows(StringBuilder b, List<Map.Entry<String, Stat>> rows, String key) {
        b.append('[');
        boolean first = true;
        for (Map.Entry<String, Stat> e : rows) {
            Stat s = e.getValue();
            if (!first) b.append(", ");
            first = false;
            b.append("{\"").append(key).append("\": ").append(Json.quote(e.getKey()))
                    .append(", \"calls\": ").append(s.calls)
                    .append(", \"errors\": ").append(s.errors)
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
