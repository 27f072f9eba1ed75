package io.tansa.top;

import io.tansa.capture.SampleStacks;

import io.tansa.proc.IdentityReader;
import io.tansa.proc.ProcFs;
import io.tansa.profile.Identity;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.profile.TopTable;
import io.tansa.sys.PerfRecord;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.LongFunction;
import java.util.stream.Collectors;

/**
 * tansa top as a library call: samples the targets (or every cpu), names the sampled frames and
 * counts them into a {@link TopTable}, handing the table to a listener at every refresh.
 */
public final class Top {
    private Top() {}

    /**
     * @param pids      processes to sample (ignored with allCpus)
     * @param allCpus   sample every process on every cpu
     * @param frequency samples per second per cpu a target runs on
     * @param duration  when to stop
     * @param callchain record call chains (children column)
     * @param stackCopy with call chains: bytes of user stack copied per sample and unwound with
     *                  DWARF CFI (0: the kernel's frame-pointer chain)
     * @param refresh   how often the listener sees the table
     */
    public record Request(List<Integer> pids, boolean allCpus, int frequency, Duration duration, boolean callchain,
            Duration refresh, int stackCopy, Group group) {
        public Request {
            if (group == null) group = allCpus ? Group.COMMAND : Group.NONE;
        }

        /** Rows of a system-wide table per command. */
        public Request(List<Integer> pids, boolean allCpus, int frequency, Duration duration, boolean callchain,
                Duration refresh, int stackCopy) {
            this(pids, allCpus, frequency, duration, callchain, refresh, stackCopy, (Group) null);
        }

        /** With frame-pointer call chains. */
        public Request(List<Integer> pids, boolean allCpus, int frequency, Duration duration, boolean callchain,
                Duration refresh) {
            this(pids, allCpus, frequency, duration, callchain, refresh, 0);
        }
    }

    /**
     * How rows are split besides the function: NONE (-p), COMMAND (-a's default), CONTAINER (with
     * -a), THREAD (the thread's name, as {@code perf report --sort comm,tid}: "vCPU N" for a qemu
     * vCPU thread without a name of its own) or PROCESS (as {@code --sort comm,pid}).
     */
    public enum Group {
        NONE(null), COMMAND(TopTable.COMMAND), CONTAINER(TopTable.CONTAINER), THREAD(TopTable.THREAD),
        PROCESS(TopTable.PROCESS);

        final String column;

        Group(String column) { this.column = column; }
    }

    /** Why sampling ended. */
    public enum Stop {
        DURATION("duration reached"), INTERRUPTED("interrupted"), TARGET_EXITED("target exited");

        public final String text;

        Stop(String text) { this.text = text; }
    }

    /** The final table and why sampling ended. */
    public record Result(TopTable table, Stop stop) {}

    private static final long TICK_NANOS = 100_000_000L;

    /** The identity of a sampled process, read once (a process gone since: the plain one). */
    private static Identity identify(TopTable table, int pid) {
        if (table.knows(pid)) return table.identity(pid);
        Identity id = IdentityReader.of(List.of(pid)).get(pid);
        table.identity(id);
        return id;
    }

    /**
     * Samples until the duration passes, {@code stop} answers true, or every target exited.
     *
     * @param symbols pid → resolver of user-space addresses of that process
     * @param update  called with the live table every {@code refresh} (on this thread)
     */
    public static Result run(Request r, IntFunction<LongFunction<Frame>> symbols, BooleanSupplier stop,
            Consumer<TopTable> update) {
        return run(r, symbols, null, stop, update);
    }

    /** As above; {@code unwinding}: pid → CFI of its objects, for DWARF call graphs (stackCopy > 0). */
    public static Result run(Request r, IntFunction<LongFunction<Frame>> symbols,
            IntFunction<io.tansa.unwind.Unwinder.Modules> unwinding, BooleanSupplier stop, Consumer<TopTable> update) {
        Sampler.Options o = new Sampler.Options(r.frequency(), r.callchain(), true,
                unwinding == null ? 0 : r.stackCopy());
        TopTable table = new TopTable(r.group() != Group.NONE, r.callchain());
        if (!r.allCpus()) table.targets(IdentityReader.of(r.pids()).values());
        if (r.group() != Group.NONE) table.groupColumn(r.group().column);
        SampleStacks stacks = new SampleStacks(symbols, unwinding);
        try (Sampler s = r.allCpus() ? Sampler.systemWide(o) : Sampler.attach(r.pids(), o)) {
            String target = r.allCpus() ? "all cpus" : r.pids().stream()
                    .map(p -> "pid " + p + " (" + stacks.comm(p, p) + ")").collect(Collectors.joining(", "));
            if (!s.kernelSampled()) target += ", user space only (perf_event_paranoid)";
            String tgt = target;
            long start = System.nanoTime();
            long end = start + r.duration().toNanos();
            long refresh = Math.max(TICK_NANOS, r.refresh().toNanos());
            long nextRefresh = start + refresh;
            // Sample times are CLOCK_MONOTONIC, as System.nanoTime on Linux: samples after the end are not
            // counted even when naming frames (first use of a big binary) made the loop late.
            long[] window = {end};
            Consumer<PerfRecord> sink = rec -> {
                stacks.observe(rec);
                if (rec instanceof PerfRecord.Sample smp && smp.time() - window[0] <= 0) {
                    Stack st = stacks.stack(smp, r.callchain());
                    String group = switch (r.group()) {
                        case NONE -> null;
                        case COMMAND, PROCESS -> {
                            if (r.allCpus()) identify(table, smp.pid());
                            yield stacks.comm(smp.pid(), smp.pid());
                        }
                        case CONTAINER -> {
                            Identity id = identify(table, smp.pid());
                            yield id.container() != null ? id.container().label() : "-";
                        }
                        case THREAD -> {
                            if (r.allCpus()) identify(table, smp.pid());
                            yield st.thread();
                        }
                    };
                    table.add(st, group);
                }
            };
            Stop why;
            while (true) {
                long now = System.nanoTime();
                long wait = Math.min(TICK_NANOS, end - now);
                if (wait > 0) java.util.concurrent.locks.LockSupport.parkNanos(wait);
                s.drain(sink);
                now = System.nanoTime();
                if (now - end >= 0) { why = Stop.DURATION; break; }
                if (stop.getAsBoolean()) { why = Stop.INTERRUPTED; window[0] = now; break; }
                if (!r.allCpus() && r.pids().stream().noneMatch(ProcFs::alive)) { why = Stop.TARGET_EXITED; break; }
                if (now - nextRefresh >= 0) {
                    table.header(new TopTable.Header(s.event(), r.frequency(), tgt, s.lost(), null));
                    update.accept(table);
                    nextRefresh += refresh;
                }
            }
            s.drain(sink);
            table.header(new TopTable.Header(s.event(), r.frequency(), tgt, s.lost(), why.text));
            return new Result(table, why);
        }
    }
}
