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
    public record Request(List<Integer> pids, List<String> command, String symbol, long count, Duration duration, double rate,
            boolean children, int maxDepth, StackCapture.Lang lang, Consumer<String> log, Consumer<Long> onHit,
            Runnable onAttached, boolean lines) {
        /** Without source lines. */
        public Request(List<Integer> pids, List<String> command, String symbol, long count, Duration duration, double rate,
                boolean children, int maxDepth, StackCapture.Lang lang, Consumer<String> log, Consumer<Long> onHit,
                Runnable onAttached) {
            this(pids, command, symbol, count, duration, rate, children, maxDepth, lang, log, onHit, onAttached, false);
        }
    }

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
        if (req.pids().isEmpty() && req.command().isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, "no target: give -p PID or -- CMD ARGS");
        }
        Session session = new Session(req, handle);
        if (!req.command().isEmpty()) {
            // -- CMD: started stopped at its entry point, resolved there, probed from its first instruction
            int pid = session.tracer.launch(req.command());
            session.log("started %s as pid %d", String.join(" ", req.command()), pid);
            return session.capture(new ProcessSymbols(pid).resolve(req.symbol()), List.of(pid));
        }
        List<Integer> pids = new ArrayList<>(req.pids());
        if (req.children()) {
            // the targets' existing descendants too (a Unicorn master's workers); later ones are followed
            for (int i = 0; i < pids.size(); i++) {
                for (int c : io.tansa.proc.ProcFs.children(pids.get(i))) if (!pids.contains(c)) pids.add(c);
            }
        }
        // Resolve in every target; a location is a (file, offset), valid for every process that
        // maps that file (forked workers, several -p of the same program).
        Map<String, ProbeTarget> unique = new LinkedHashMap<>();
        for (int pid : pids) {
            if (!io.tansa.proc.ProcFs.exists(pid)) {
                throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
            }
            for (ProbeTarget t : new ProcessSymbols(pid).resolve(req.symbol())) {
                unique.putIfAbsent(t.file() + "@" + t.fileOffset(), t);
            }
        }
        return session.capture(new ArrayList<>(unique.values()), pids);
    }

    /** One capture: the tracer, the stack capture and the profile they fill. */
    private static final class Session {
        final Request req;
        final Tracer tracer;
        final Profile profile = new Profile();
        StackCapture capture;
        long count;

        Session(Request req, Run handle) {
            this.req = req;
            this.tracer = Tracer.create(
                    new Tracer.Options(req.count(), req.duration(), req.rate(), req.children(), req.log(), req.onAttached()),
                    this::onHit);
            handle.tracer = tracer;
            if (handle.stopRequested) tracer.requestStop(Tracer.StopReason.INTERRUPTED);
        }

        void log(String fmt, Object... args) {
            if (req.log() != null) req.log().accept(String.format(fmt, args));
        }

        private boolean onHit(Tracer.Hit hit) {
            Stack s = capture.capture(hit);
            profile.record(s);
            if (req.onHit() != null) req.onHit().accept(++count);
            return true;
        }

        Profile capture(List<ProbeTarget> targets, List<Integer> pids) {
            for (ProbeTarget t : targets) profile.addLocation(t.symbol(), t.module(), t.address());
            profile.meta("symbol", req.symbol());
            capture = new StackCapture(targets, req.maxDepth(), req.lang(), req.lines());
            for (int pid : pids) {
                capture.prepare(pid);
                var rb = capture.ruby(pid);
                if (rb.isPresent()) {
                    profile.meta("ruby", rb.get().version());
                } else if (req.lang() == StackCapture.Lang.RUBY) {
                    throw new Failure(Failure.Kind.USAGE, "--lang ruby: process " + pid
                            + " runs no supported Ruby (needs libruby or a ruby executable; Ruby 3.1 layouts)");
                }
            }
            Tracer.Result r = tracer.run(pids, targets);
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
}
