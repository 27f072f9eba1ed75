package io.tansa.probe;

import io.tansa.symbols.ProbeTarget;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The contract of a probe engine: probe {@link ProbeTarget}s in every thread of some processes
 * (and threads born later) until a bound is reached, hand each hit to a {@link HitHandler} as one
 * {@link Hit} shape, then undo everything. The engines, named as users choose them:
 * {@link StopEngine} ({@code --mode stop}: the hitting thread stops until it is read) and
 * {@link CopyEngine} ({@code --mode copy}: the kernel copies registers and stack at the hit, the
 * thread goes on). A capture (capture.Callers) picks one and never looks at which it got; a third
 * engine (a stack walked in the kernel) delivers {@link Hit#walked}.
 */
public interface Engine {
    /** Why a run ended. */
    enum StopReason { COUNT, DURATION, INTERRUPTED, TARGET_EXITED }

    /**
     * Bounds of a run. count ≤ 0 = unbounded, duration null = unbounded, rate ≤ 0 = no cap;
     * {@code attached} runs once every probe is in place; {@code launched}: a program started by
     * {@link Launcher}, stopped at its entry point, among the pids (or null) — the engine lets it
     * run once its probes are in place (stop mode traced, copy mode released).
     */
    record Options(long count, Duration duration, double rate, boolean children, Consumer<String> log,
            Runnable attached, Launcher.Launched launched) {
        public Options(long count, Duration duration, double rate, boolean children, Consumer<String> log,
                Runnable attached) {
            this(count, duration, rate, children, log, attached, null);
        }
    }

    /**
     * What a run did, every hit accounted for once.
     *
     * @param hits captured (handed to the handler and taken)
     * @param afterEnd hits that came after the count or the duration was reached, or the stop
     *     (not a loss: nobody asked for them)
     * @param capped hits held back by the rate cap (the probe was armed, the window was full)
     * @param lost hits the kernel counted but could not deliver: its buffers were full
     *     (PERF_RECORD_LOST, or missing from the rings at the end) — a real loss
     * @param kernelHits the kernel's own count of the probe's hits (read() of the events), -1 when
     *     unknown
     * @param armedShare share of the run's time the probe was in the target (0..1; below 1 when the
     *     rate cap took it out for the rest of a window)
     */
    record Result(long hits, long afterEnd, long capped, long lost, long kernelHits, StopReason reason,
            Map<Integer, String> exited, double armedShare) {
        /**
         * Hits missed while capturing: held back by the rate cap or lost. Not those after the count
         * or the duration: nobody asked for them (a program that goes on calling the function after
         * {@code -n} hits is not a loss).
         */
        public long dropped() {
            return capped + lost;
        }
    }

    /** Called on the engine's thread at each hit; return true if captured. */
    interface HitHandler {
        boolean onHit(Hit hit);
    }

    /** Makes an engine; nothing touches a process until {@link #run}. */
    interface Factory {
        Engine create(Options options, HitHandler handler);
    }

    /**
     * Probes {@code targets} in every thread of {@code pids} until a bound is reached or a stop is
     * requested, then removes every probe. Always cleans up, also on exceptions. Call on one thread.
     */
    Result run(List<Integer> pids, List<ProbeTarget> targets);

    /** Asks a running (or not yet started) run to end (any thread; e.g. a shutdown hook). */
    void requestStop(StopReason why);
}
