package io.tansa.top;

import io.tansa.capture.SampleStacks;

import io.tansa.Failure;
import io.tansa.capture.StackCapture;
import io.tansa.probe.Engine;
import io.tansa.probe.StopEngine;
import io.tansa.proc.ProcFs;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.profile.TopTable;
import io.tansa.ruby.RubyReader;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.sys.Regs;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * {@code tansa top --lang ruby} as a library call: timed sampling of the Ruby frames of whichever
 * thread is on CPU, counted per Ruby method into a {@link TopTable#ruby()} table.
 *
 * <p>How: {@link StopEngine#runTimed} gives every thread of the targets (and threads born later) a
 * {@code cpu-clock} perf event with {@code sigtrap}: after every 1/frequency s of a thread's CPU
 * time the kernel stops that very thread, at that instruction, with a synchronous SIGTRAP that the
 * tracer (PTRACE_SEIZE) takes. While it is stopped its Ruby frames are read from the VM's memory
 * ({@link RubyReader}); then it resumes with the trap suppressed. Threads that are off CPU are never
 * touched. The StopEngine's discipline applies unchanged: the target's own signals are delivered, the
 * SIGTRAP guard makes a trap still in flight harmless if tansa dies, and every exit path closes the
 * events and detaches.
 */
public final class RubyTop {
    private RubyTop() {}

    /**
     * @param pids      Ruby processes to sample
     * @param frequency samples per second of CPU time, per thread
     * @param duration  when to stop
     * @param refresh   how often the listener sees the table
     */
    public record Request(List<Integer> pids, int frequency, Duration duration, Duration refresh) {}

    /** The highest --freq: every sample stops the sampled thread for the Ruby read (tens to hundreds of µs). */
    public static final int MAX_FREQUENCY = 1000;

    /** Usage error (exit 2) unless {@code hz} is a frequency Ruby sampling takes. */
    public static void checkFrequency(int hz) {
        if (hz <= 0 || hz > MAX_FREQUENCY) {
            throw new Failure(Failure.Kind.USAGE, "-F for Ruby must be between 1 and " + MAX_FREQUENCY
                    + " Hz (each sample stops the sampled thread while its Ruby frames are read)");
        }
    }

    /**
     * Samples until the duration passes, {@code stop} answers true, or every target exited; the
     * target is detached and running again when this returns (also on exceptions).
     *
     * @param update called with the live table every {@code refresh} (on another thread than the caller's)
     * @param log    progress lines (attach, targets that ended), or null
     */
    public static Top.Result run(Request r, BooleanSupplier stop, Consumer<TopTable> update, Consumer<String> log) {
        return run(r, stop, update, log, null);
    }

    /** {@link #run}, also handing every sample's stack (Ruby frames innermost first) to {@code each} (tansa serve). */
    public static Top.Result run(Request r, BooleanSupplier stop, Consumer<TopTable> update, Consumer<String> log,
                                 Consumer<Stack> each) {
        checkFrequency(r.frequency());
        Map<Integer, ProcessSymbols> symbols = new HashMap<>();
        Map<Integer, RubyReader> readers = new LinkedHashMap<>();
        for (int pid : r.pids()) {
            if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
            ProcessSymbols syms = symbols.computeIfAbsent(pid, ProcessSymbols::new);
            RubyReader reader = StackCapture.rubyReader(pid, syms).orElse(null);
            if (reader == null) {
                String why = RubyReader.unsupported(pid, io.tansa.ruby.Symbols.of(pid, syms));
                if (why != null) throw new Failure(Failure.Kind.UNSUPPORTED, "--lang ruby: " + why);
                throw new Failure(Failure.Kind.USAGE, "--lang ruby: process " + pid + " (" + ProcFs.comm(pid, pid)
                        + ") runs no Ruby (no libruby or ruby executable with the VM's symbols); use --lang native");
            }
            if (reader.unverifiedNote() != null && log != null) log.accept(reader.unverifiedNote());
            readers.put(pid, reader);
        }
        String target = r.pids().stream()
                .map(p -> "pid " + p + " (" + ProcFs.comm(p, p) + ", Ruby " + readers.get(p).version() + ")")
                .collect(Collectors.joining(", "));
        TopTable table = TopTable.ruby();
        table.targets(io.tansa.proc.IdentityReader.of(r.pids()).values());
        table.header(new TopTable.Header("cpu-clock", r.frequency(), target, 0, null));
        Map<Integer, String> threadNames = new HashMap<>();
        long[][] readNanos = {new long[1024]}; // per sample, for the median in the log
        int[] reads = {0};

        // The cap on the whole run: as many samples as the targets could make with every cpu busy.
        double rateCap = (double) r.frequency() * Math.max(1, ProcFs.onlineCpus().size());
        StopEngine tracer = StopEngine.create(new Engine.Options(0, r.duration(), rateCap, false, log, null), hit -> {
            RubyReader reader = readers.get(hit.pid());
            List<Frame> frames = reader == null ? List.of() : reader.frames(hit.tid(), hit.stopped());
            if (frames.isEmpty()) frames = List.of(nativeFrame(symbols.computeIfAbsent(hit.pid(), ProcessSymbols::new),
                    hit.stopped()));
            String thread = threadNames.computeIfAbsent(hit.tid(), tid -> comm(hit.pid(), tid));
            Stack sample = new Stack(hit.pid(), hit.tid(), thread, hit.timeNanos(), -1, frames);
            table.add(sample, null);
            if (each != null) each.accept(sample);
            if (reads[0] == readNanos[0].length && reads[0] < 1 << 20) readNanos[0] = java.util.Arrays.copyOf(readNanos[0], 2 * reads[0]);
            if (reads[0] < readNanos[0].length) readNanos[0][reads[0]++] = System.nanoTime() - hit.timeNanos(); // registers, Ruby frames, counting
            return true;
        });

        // Stop requests and live tables from a second thread: the tracer thread blocks in waitpid.
        long refresh = Math.max(100_000_000L, r.refresh().toNanos());
        boolean[] finished = {false};
        Thread watcher = Thread.ofPlatform().daemon().name("tansa-top-ruby").start(() -> {
            long next = System.nanoTime() + refresh;
            while (true) {
                synchronized (finished) {
                    if (finished[0]) return;
                    try {
                        finished.wait(50);
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (finished[0]) return;
                }
                if (stop.getAsBoolean()) tracer.requestStop(Engine.StopReason.INTERRUPTED);
                if (System.nanoTime() - next >= 0) {
                    update.accept(table);
                    next += refresh;
                }
            }
        });
        Engine.Result res;
        try {
            res = tracer.runTimed(r.pids(), 1_000_000_000L / r.frequency());
        } finally {
            synchronized (finished) {
                finished[0] = true;
                finished.notifyAll();
            }
            try {
                watcher.join(5000); // the last live table is out before the final one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Top.Stop why = switch (res.reason()) {
            case DURATION, COUNT -> Top.Stop.DURATION;
            case INTERRUPTED -> Top.Stop.INTERRUPTED;
            case TARGET_EXITED -> Top.Stop.TARGET_EXITED;
        };
        if (log != null) {
            if (res.capped() > 0) log.accept(res.capped() + " samples over the rate cap of " + (long) rateCap + "/s were not read");
            if (reads[0] > 0) {
                long[] d = java.util.Arrays.copyOf(readNanos[0], reads[0]);
                java.util.Arrays.sort(d);
                log.accept(String.format(java.util.Locale.ROOT, "%d samples; reading registers and Ruby frames took %.0f µs"
                        + " per sample (median; 90%%: %.0f µs), the sampled thread stopped meanwhile",
                        res.hits(), d[d.length / 2] / 1e3, d[(int) (d.length * 0.9)] / 1e3));
            }
        }
        table.header(new TopTable.Header("cpu-clock", r.frequency(), target, 0, why.text));
        return new Top.Result(table, why);
    }

    /** A sample of a thread that runs no Ruby (not a Ruby thread, or the VM mid-update): its native function. */
    private static Frame nativeFrame(ProcessSymbols syms, Regs regs) {
        try {
            Frame f = syms.frame(regs.ip());
            if (f != null) return Frame.nativeFrame(f.name(), f.module() == null ? "[unknown]" : f.module(), regs.ip());
        } catch (RuntimeException e) {
            // unreadable mapping: unknown
        }
        return Frame.nativeFrame(SampleStacks.UNKNOWN, "[unknown]", regs.ip());
    }

    private static String comm(int pid, int tid) {
        return ProcFs.threadName(pid, tid, "?");
    }
}
