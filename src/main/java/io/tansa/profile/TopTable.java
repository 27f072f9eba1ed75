package io.tansa.profile;

import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The perf-top table: samples counted per function (symbol + shared object, and the command with
 * system-wide sampling). "Self" counts samples whose innermost frame is the function; with call
 * chains, "children" counts samples with the function anywhere on the stack (once per sample, as
 * perf's --children). Built from {@link Stack}s; rendered by {@link TopTableText} and
 * {@link TopTableJson}. Overhead is in percent of samples (perf top weights by the event's period;
 * with the cpu-clock event every period is the same, 1/frequency, so the two agree).
 *
 * <p>A Ruby table ({@link #ruby()}) counts Ruby frames per method: label and source file, with the
 * line that has most of the method's samples; "children" is then the method's total (anywhere on
 * the Ruby stack), and rows are ranked by self.
 */
public final class TopTable {
    /**
     * One line of the table. {@code pid} is the process with most of this row's samples. Ruby rows:
     * symbol = the method's label, object = its file, {@code line} = its line with most samples
     * (self, else total); 0 for native rows.
     */
    public record Row(String symbol, String object, boolean kernel, String command, int pid, long self,
            long children, boolean ruby, int line, int tid) {}

    /** {@code tid}: the sampled thread in a table grouped by thread, else 0. */
    private record Key(String symbol, String object, boolean kernel, String command, boolean ruby, int tid) {}

    private static final class Acc {
        long self, children;
        final Map<Integer, Long> pids = new HashMap<>(2);
        /** Ruby rows: samples per line, self and total. */
        Map<Integer, Long> selfLines, totalLines;
    }

    private final boolean byCommand;
    private final boolean callchains;
    private final boolean ruby;
    private final Map<Key, Acc> rows = new HashMap<>();
    private Header header = new Header("cpu-clock", 0, "", 0, null);
    private long samples;

    /**
     * @param byCommand  one row per (group, function): system-wide tables, and --group-by thread|process
     * @param callchains stacks carry whole call chains: fill the children column
     */
    public TopTable(boolean byCommand, boolean callchains) {
        this(byCommand, callchains, false);
    }

    private TopTable(boolean byCommand, boolean callchains, boolean ruby) {
        this.byCommand = byCommand;
        this.callchains = callchains;
        this.ruby = ruby;
    }

    /** A table of Ruby methods: self and total, ranked by self (stacks hold whole Ruby stacks). */
    public static TopTable ruby() {
        return new TopTable(false, true, true);
    }

    public boolean byCommand() { return byCommand; }

    /** Rows are Ruby methods (with native rows for samples of threads that ran no Ruby). */
    public boolean rubyTable() { return ruby; }

    public boolean callchains() { return callchains; }

    /** Counts one sample; {@code command} is the sampled process's name (used when byCommand). */
    public synchronized void add(Stack s, String command) {
        samples++;
        List<Frame> frames = s.frames();
        if (frames.isEmpty()) return;
        String cmd = byCommand ? command : null;
        int tid = byCommand && groupColumn.equals(THREAD) ? s.tid() : 0;
        Frame leaf = frames.get(0);
        Acc self = acc(leaf, cmd, s.pid(), tid);
        self.self++;
        if (leaf.kind() == Frame.Kind.RUBY) {
            if (self.selfLines == null) self.selfLines = new HashMap<>(4);
            self.selfLines.merge(leaf.line(), 1L, Long::sum);
        }
        if (!callchains) return;
        Set<Key> seen = new HashSet<>();
        for (Frame f : frames) {
            Key k = key(f, cmd, tid);
            if (!seen.add(k)) continue;
            Acc a = rows.computeIfAbsent(k, x -> new Acc());
            a.children++;
            if (f.kind() == Frame.Kind.RUBY) {
                if (a.totalLines == null) a.totalLines = new HashMap<>(4);
                a.totalLines.merge(f.line(), 1L, Long::sum);
            }
        }
    }

    private Acc acc(Frame f, String cmd, int pid, int tid) {
        Acc a = rows.computeIfAbsent(key(f, cmd, tid), x -> new Acc());
        a.pids.merge(pid, 1L, Long::sum);
        return a;
    }

    private static Key key(Frame f, String cmd, int tid) {
        if (f.kind() == Frame.Kind.RUBY) return new Key(f.name(), f.file(), false, cmd, true, tid);
        return new Key(f.name(), f.module(), f.kind() == Frame.Kind.KERNEL, cmd, false, tid);
    }

    /** Group column names: per command (system-wide default), container, thread, process. */
    public static final String COMMAND = "Command", CONTAINER = "Container", THREAD = "Thread", PROCESS = "Process";

    private final Map<Integer, Identity> identities = new HashMap<>();
    private final List<Identity> targets = new ArrayList<>();
    private String groupColumn = "Command";

    /** Records how process {@code id.pid()} is named in its own namespace and container. */
    public synchronized void identity(Identity id) {
        identities.put(id.pid(), id);
    }

    /** Whether {@link #identity(Identity)} was given for {@code pid}. */
    public synchronized boolean knows(int pid) {
        return identities.containsKey(pid);
    }

    /** The identity of {@code pid} as recorded, or the plain one. */
    public synchronized Identity identity(int pid) {
        Identity id = identities.get(pid);
        return id != null ? id : Identity.plain(pid);
    }

    /** The -p targets, named both ways (the header shows them). */
    public synchronized void targets(java.util.Collection<Identity> ids) {
        targets.clear();
        targets.addAll(ids);
        for (Identity id : ids) identities.put(id.pid(), id);
    }

    public synchronized List<Identity> targets() {
        return List.copyOf(targets);
    }

    /**
     * The name of the group column of a table with one: {@link #COMMAND}, {@link #CONTAINER},
     * {@link #THREAD} (rows per thread: {@link Row#tid}, the group is the thread's name) or
     * {@link #PROCESS} (the group is the process's name). Set before the first sample.
     */
    public synchronized void groupColumn(String name) {
        groupColumn = name;
    }

    public synchronized String groupColumn() {
        return groupColumn;
    }

    /** Samples counted so far. */
    public synchronized long samples() {
        return samples;
    }

    /**
     * What the table is about: the sampling event ("cpu-clock", "cycles"), its frequency, the
     * target ("pid 42 (burn)", "all cpus"), records the kernel lost, and why sampling ended (null while running).
     */
    public record Header(String event, int frequency, String target, long lost, String stopped) {}

    public synchronized void header(Header h) {
        header = h;
    }

    public synchronized Header header() {
        return header;
    }

    /** Rows, hottest first: by children with call chains (as perf top -g), else by self; then by name. */
    public synchronized List<Row> rows() {
        List<Row> out = new ArrayList<>(rows.size());
        for (Map.Entry<Key, Acc> e : rows.entrySet()) {
            Key k = e.getKey();
            Acc a = e.getValue();
            int pid = a.pids.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(0);
            Map<Integer, Long> lines = a.selfLines != null ? a.selfLines : a.totalLines;
            int line = 0;
            long most = -1;
            if (lines != null) {
                for (Map.Entry<Integer, Long> l : lines.entrySet()) {
                    // most samples; on a tie the lower line, so the table does not flicker
                    if (l.getValue() > most || (l.getValue() == most && l.getKey() < line)) {
                        most = l.getValue();
                        line = l.getKey();
                    }
                }
            }
            out.add(new Row(k.symbol(), k.object() == null ? "" : k.object(), k.kernel(), k.command(), pid, a.self,
                    callchains ? a.children : a.self, k.ruby(), line, k.tid()));
        }
        Comparator<Row> c = ruby ? Comparator.comparingLong(Row::self).thenComparingLong(Row::children)
                : callchains ? Comparator.comparingLong(Row::children).thenComparingLong(Row::self)
                : Comparator.comparingLong(Row::self);
        out.sort(c.reversed().thenComparing(Row::symbol).thenComparing(Row::object).thenComparingInt(Row::pid)
                .thenComparingInt(Row::tid));
        return out;
    }

    /** Percent of all samples. */
    public synchronized double percent(long count) {
        return samples == 0 ? 0.0 : 100.0 * count / samples;
    }

    /**
     * What to run next: {@code tansa callers -p PID SYMBOL} for the user-space function with the
     * most self samples (a named one: unknown addresses cannot be probed), or null (always for Ruby tables).
     */
    public synchronized String nextCommand() {
        if (ruby) return null; // Ruby methods are not probe locations
        Row best = null;
        for (Row r : rows()) {
            if (r.kernel() || r.ruby() || r.self() == 0 || r.symbol().startsWith("[") || r.symbol().startsWith("0x")) continue;
            if (best == null || r.self() > best.self()) best = r;
        }
        return best == null ? null : "tansa callers -p " + best.pid() + " " + best.symbol();
    }
}
