package io.tansa.trace;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The -c summary: per syscall (and per ioctl request, and optionally per thread) the calls,
 * errors, total / average / maximum time between entry and exit. Time is wall-clock latency
 * (strace -c -w), counted for the calls whose entry and exit were both seen. Rendered by
 * report.TraceSummaryText and report.TraceSummaryJson.
 */
public final class Summary implements SyscallTracer.Listener {
    /** Counters of one syscall or ioctl request. */
    /**
     * One row. {@code calls} counts every call seen, {@code timed} those seen from entry to exit;
     * time and averages come from the timed ones only: calls - timed are partly seen (running
     * when tracing began, or still running at its end) and reported apart as "partial".
     */
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
        /** This thread's ioctls by request (a vCPU thread's KVM_RUN apart from the main loop's). */
        final Map<Integer, Stat> byIoctl = new LinkedHashMap<>();

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
    private long ioctlsUnentered;

    /**
     * ioctl calls whose entry was not seen (running when tracing began): their request is
     * unknown, so they are in the ioctl row of the syscall table but in no request row.
     */
    public long ioctlsUnentered() {
        return ioctlsUnentered;
    }
    private static final int NR_IOCTL = SyscallTable.number("ioctl");

    public Summary(boolean perThread) {
        this.perThread = perThread;
    }

    @Override
    public void call(Call c) {
        if (c.nr >= SyscallTable.MAX) return;
        stat(bySyscall, c.nr).add(c);
        if (c.nr == NR_IOCTL && c.entered) byIoctl.computeIfAbsent((int) c.args[1], k -> new Stat()).add(c);
        if (c.nr == NR_IOCTL && !c.entered) ioctlsUnentered++;
        if (perThread) {
            ThreadStats t = lastThread;
            if (t == null || t.tid != c.tid) {
                t = byThread.computeIfAbsent(c.tid, k -> new ThreadStats(c.pid, c.tid, name(c.pid, c.tid)));
                lastThread = t;
            }
            stat(t.bySyscall, c.nr).add(c);
            if (c.nr == NR_IOCTL && c.entered) t.byIoctl.computeIfAbsent((int) c.args[1], k -> new Stat()).add(c);
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
        return ioctlRows(byIoctl);
    }

    /** One thread's ioctl rows by request name, most calls first. */
    public static List<Map.Entry<String, Stat>> ioctls(ThreadStats t) {
        return ioctlRows(t.byIoctl);
    }

    private static List<Map.Entry<String, Stat>> ioctlRows(Map<Integer, Stat> byIoctl) {
        List<Map.Entry<String, Stat>> out = new ArrayList<>();
        byIoctl.forEach((req, s) -> out.add(Map.entry(IoctlTable.name(req), s)));
        out.sort(Comparator.comparingLong((Map.Entry<String, Stat> e) -> -e.getValue().calls)
                .thenComparing(Map.Entry::getKey));
        return out;
    }

    /** Whether per-thread tables are kept. */
    public boolean perThread() {
        return perThread;
    }

    /** One thread's syscall rows, ordered as {@link #syscalls()}. */
    public static List<Map.Entry<String, Stat>> syscalls(ThreadStats t) {
        return rows(t.bySyscall);
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
}
