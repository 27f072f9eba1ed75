package io.tansa.capture;

import io.tansa.Failure;
import io.tansa.probe.StopEngine;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import io.tansa.probe.CopyEngine;
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
            boolean children, int maxDepth, StackCapture.Lang lang, Mode mode, int stackCopy, Consumer<String> log,
            Consumer<Long> onHit, Runnable onAttached, boolean lines) {
        /** Without source lines. */
        public Request(List<Integer> pids, List<String> command, String symbol, long count, Duration duration, double rate,
                boolean children, int maxDepth, StackCapture.Lang lang, Mode mode, int stackCopy, Consumer<String> log,
                Consumer<Long> onHit, Runnable onAttached) {
            this(pids, command, symbol, count, duration, rate, children, maxDepth, lang, mode, stackCopy, log, onHit,
                    onAttached, false);
        }
    }

    /**
     * How a hit is captured. COPY: the thread never stops, the kernel copies its registers and
     * stack at the hit ({@link CopyEngine}) and, in a Ruby process, a kernel program copies its
     * Ruby frames ({@link io.tansa.probe.RubyProbe}); STOP: the thread stops until its stack (and
     * its Ruby frames) are read ({@link StopEngine}); AUTO: COPY, or STOP where Ruby frames are wanted
     * and this kernel or Ruby cannot snapshot them.
     */
    public enum Mode { AUTO, COPY, STOP,
        /** The stack walked in the kernel at the hit, only return addresses copied ({@link KernelCallers}). */
        KERNEL,
        /** KERNEL, and a stack copy of the same hit unwound in user space: every difference reported. */
        CHECK_WALK }

    /** A started capture that another thread may stop. */
    public static final class Run {
        private volatile StopEngine tracer;
        private volatile CopyEngine sampler;
        volatile io.tansa.probe.KernelWalkEngine kernel;
        private volatile boolean stopRequested;

        public boolean stopped() {
            return stopRequested;
        }

        /** Stops the capture (e.g. from a SIGINT/SIGTERM shutdown hook); it then detaches and returns. */
        public void stop() {
            stopRequested = true;
            StopEngine t = tracer;
            if (t != null) t.requestStop(StopEngine.StopReason.INTERRUPTED);
            CopyEngine s = sampler;
            if (s != null) s.requestStop(StopEngine.StopReason.INTERRUPTED);
            io.tansa.probe.KernelWalkEngine k = kernel;
            if (k != null) k.requestStop(StopEngine.StopReason.INTERRUPTED);
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
            return session.capture(session.symbols(pid).resolve(req.symbol()), List.of(pid));
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
            for (ProbeTarget t : session.symbols(pid).resolve(req.symbol())) {
                unique.putIfAbsent(t.file() + "@" + t.fileOffset(), t);
            }
        }
        return session.capture(new ArrayList<>(unique.values()), pids);
    }

    /** One capture: the tracer, the stack capture and the profile they fill. */
    private static final class Session {
        final Request req;
        final Run handle;
        final StopEngine tracer;
        final Profile profile = new Profile();
        StackCapture capture;
        long count;
        /** Each target's symbols, read once: for resolving the symbol, then for naming the frames. */
        final Map<Integer, ProcessSymbols> symbols = new java.util.HashMap<>();

        ProcessSymbols symbols(int pid) {
            return symbols.computeIfAbsent(pid, ProcessSymbols::new);
        }

        Session(Request req, Run handle) {
            this.req = req;
            this.handle = handle;
            this.tracer = StopEngine.create(options(), this::onHit);
            handle.tracer = tracer;
            if (handle.stopRequested) tracer.requestStop(StopEngine.StopReason.INTERRUPTED);
        }

        void log(String fmt, Object... args) {
            if (req.log() != null) req.log().accept(String.format(fmt, args));
        }

        StopEngine.Options options() {
            return new StopEngine.Options(req.count(), req.duration(), req.rate(), req.children(), req.log(), req.onAttached());
        }

        private boolean onHit(StopEngine.Hit hit) {
            return record(capture.capture(hit));
        }

        private boolean onHit(CopyEngine.Hit hit) {
            return record(capture.capture(hit));
        }

        boolean record(Stack s) {
            profile.record(s);
            if (req.onHit() != null) req.onHit().accept(++count);
            return true;
        }

        /**
         * The kernel snapshot of Ruby frames for the Ruby processes among {@code pids}; one program
         * serves them all, so their execution contexts must be found the same way (forked workers
         * and runs of one ruby are).
         */
        io.tansa.probe.RubyProbe rubyProbe(List<Integer> pids) {
            io.tansa.probe.RubyProbe probe = null;
            for (int pid : pids) {
                var rb = capture.ruby(pid);
                if (rb.isEmpty()) continue;
                if (probe == null) {
                    probe = io.tansa.probe.RubyProbe.load(pid, rb.get(), symbols(pid), RUBY_RING_PAGES);
                } else if (!io.tansa.probe.RubyProbe.ecLocation(pid, symbols(pid)).equals(probe.location())) {
                    probe.close();
                    throw new Failure(Failure.Kind.UNSUPPORTED, "the Ruby processes keep their execution contexts"
                            + " in different TLS modules");
                }
            }
            return probe;
        }

        /** 4 MiB per cpu of Ruby snapshots (a 40-frame snapshot is ~3.6 KiB). */
        private static final int RUBY_RING_PAGES = 1024;

        Profile capture(List<ProbeTarget> targets, List<Integer> pids) {
            for (ProbeTarget t : targets) {
                profile.addLocation(t.symbol(), t.module(), t.address());
                if (t.address() == 0) log("%s is not loaded yet: %s is probed once it is (pending)", t.module(), t.symbol());
            }
            profile.meta("symbol", req.symbol());
            capture = new StackCapture(targets, req.maxDepth(), req.lang(), req.lines(), symbols);
            boolean ruby = false;
            for (int pid : pids) {
                capture.prepare(pid);
                var rb = capture.ruby(pid);
                if (rb.isPresent()) {
                    profile.meta("ruby", rb.get().version());
                    ruby = true;
                    if (rb.get().unverifiedNote() != null) log("%s", rb.get().unverifiedNote());
                } else {
                    String why = io.tansa.ruby.RubyReader.unsupported(pid, io.tansa.ruby.Symbols.of(pid, symbols(pid)));
                    if (req.lang() == StackCapture.Lang.RUBY) {
                        throw new Failure(why != null ? Failure.Kind.UNSUPPORTED : Failure.Kind.USAGE, "--lang ruby: "
                                + (why != null ? why : "process " + pid + " runs no Ruby (no libruby or ruby executable with the VM's symbols)"));
                    }
                    if (why != null) log("%s; going on with native frames", why);
                }
            }
            // Ruby frames without stopping: a kernel snapshot at each hit (RubyProbe), where this kernel and Ruby allow
            io.tansa.probe.RubyProbe rubyProbe = null;
            if (ruby && req.mode() != Mode.STOP && req.mode() != Mode.KERNEL && req.mode() != Mode.CHECK_WALK) {
                try {
                    rubyProbe = rubyProbe(pids);
                } catch (Failure f) {
                    if (req.mode() == Mode.COPY) throw f;
                    log("%s; stopping each hitting thread instead (--mode stop)", f.getMessage());
                }
            }
            // --children in copy mode: forked children inherit the probes (and the Ruby program) at
            // the fork; a child's hits read after it exited are named with its parent's symbols
            boolean copy = req.mode() == Mode.COPY || (req.mode() == Mode.AUTO && (!ruby || rubyProbe != null));
            boolean kernel = KernelCallers.chosen(req, ruby, this::log);
            profile.meta("mode", kernel ? "kernel" : copy ? "copy" : "stop");
            StopEngine.Result r;
            if (kernel) {
                r = KernelCallers.run(req, options(), tracer, handle, pids, targets, capture, this::symbols, this::record, profile);
            } else if (copy) {
                StopEngine.Options o = options();
                // -- CMD: stopped at its entry point until the uprobes are in place; then it runs untraced
                CopyEngine sampler = new CopyEngine(new StopEngine.Options(o.count(), o.duration(), o.rate(),
                        o.children(), o.log(), () -> {
                            tracer.releaseLaunched();
                            if (req.onAttached() != null) req.onAttached().run();
                        }), req.stackCopy(), this::onHit, rubyProbe);
                handle.sampler = sampler;
                if (handle.stopRequested) sampler.requestStop(StopEngine.StopReason.INTERRUPTED);
                try {
                    r = sampler.run(pids, targets);
                } finally {
                    tracer.releaseLaunched();
                }
            } else {
                r = tracer.run(pids, targets);
            }
            if (capture.rubyUnread() > 0) {
                log("%d hits have native frames only: their process (and its parent) exited before their Ruby methods were read",
                        capture.rubyUnread());
            }
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
