package io.tansa.capture;

import io.tansa.Failure;
import io.tansa.probe.Tracer;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Library entry point of {@code tansa callers}: resolve the symbol in every target, probe it,
 * capture a stack at each hit, aggregate. Target → trigger → capture → Profile, one way.
 */
public final class Callers {
    /** What to capture. */
    public record Request(List<Integer> pids, String symbol, long count, Duration duration, double rate,
            boolean children, int maxDepth, Consumer<String> log, Consumer<Long> onHit) {}

    /** A started capture that another thread may stop. */
    public static final class Run {
        private volatile Tracer tracer;
        private volatile boolean stopRequested;

        public boolean stopped() {
            return stopRequested;
        }

        /** Stops the capture (e.g. from a SIGINT/SIGTERM shutdown hook); it then detaches and returns. */
        public void stop() {
            stopRequested = true;
            Tracer t = tracer;
            if (t != null) t.requestStop(Tracer.StopReason.INTERRUPTED);
        }
    }

    private Callers() {}

    public static Profile run(Request req, Run handle) {
        if (req.pids().isEmpty()) throw new Failure(Failure.Kind.USAGE, "no target: give -p PID or -- CMD ARGS");
        // Resolve against the first process; a location is a (file, offset), valid for every
        // process that maps that file (forked workers, several -p of the same program).
        Map<String, ProbeTarget> unique = new LinkedHashMap<>();
        for (int pid : req.pids()) {
            if (!io.tansa.proc.ProcFs.exists(pid)) {
                throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
            }
            for (ProbeTarget t : new ProcessSymbols(pid).resolve(req.symbol())) {
                unique.putIfAbsent(t.file() + "@" + t.fileOffset(), t);
            }
        }
        List<ProbeTarget> targets = new ArrayList<>(unique.values());
        Profile profile = new Profile();
        for (ProbeTarget t : targets) profile.addLocation(t.symbol(), t.module(), t.address());
        profile.meta("symbol", req.symbol());
        StackCapture capture = new StackCapture(targets, req.maxDepth());
        long[] count = {0};
        Tracer tracer = Tracer.create(targets,
                new Tracer.Options(req.count(), req.duration(), req.rate(), req.children(), req.log()),
                hit -> {
                    Stack s = capture.capture(hit);
                    profile.record(s);
                    if (req.onHit() != null) req.onHit().accept(++count[0]);
                    return true;
                });
        handle.tracer = tracer;
        if (handle.stopRequested) tracer.requestStop(Tracer.StopReason.INTERRUPTED);
        Tracer.Result r = tracer.run(req.pids());
        profile.meta("stopped", switch (r.reason()) {
            case COUNT -> "count reached";
            case DURATION -> "duration reached";
            case INTERRUPTED -> "interrupted";
            case TARGET_EXITED -> "target exited";
        });
        if (r.dropped() > 0) profile.meta("dropped", Long.toString(r.dropped()));
        if (!r.exited().isEmpty()) profile.meta("exited", r.exited().toString());
        return profile;
    }
}
