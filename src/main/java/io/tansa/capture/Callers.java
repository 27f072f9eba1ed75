package io.tansa.capture;

import io.tansa.Failure;
import io.tansa.probe.Engine;
import io.tansa.probe.Hit;
import io.tansa.probe.Launcher;
import io.tansa.probe.RubyProbe;
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
    /**
     * What to capture, built by name: {@code Request.builder().pids(List.of(pid)).symbol("f").count(100).build()}.
     * count ≤ 0 = unbounded, duration null = unbounded, rate ≤ 0 = no cap; {@code command}: a program
     * to start (-- CMD) instead of {@code pids}; {@code onHit}: called with the number of hits so
     * far; {@code onAttached}: once every probe is in place. Change one field of a request with
     * {@code req.toBuilder().count(5).build()}.
     */
    public record Request(List<Integer> pids, List<String> command, String symbol, long count, Duration duration, double rate,
            boolean children, int maxDepth, StackCapture.Lang lang, Mode mode, int stackCopy, Consumer<String> log,
            Consumer<Long> onHit, Runnable onAttached, boolean lines) {

        public static Builder builder() {
            return new Builder();
        }

        /** A builder holding this request's fields. */
        public Builder toBuilder() {
            return new Builder().pids(pids).command(command).symbol(symbol).count(count).duration(duration).rate(rate)
                    .children(children).maxDepth(maxDepth).lang(lang).mode(mode).stackCopy(stackCopy).log(log)
                    .onHit(onHit).onAttached(onAttached).lines(lines);
        }

        /** Builds a {@link Request}; unset fields keep the defaults of {@code tansa callers} (rate: none). */
        public static final class Builder {
            private List<Integer> pids = List.of();
            private List<String> command = List.of();
            private String symbol;
            private long count;
            private Duration duration;
            private double rate;
            private boolean children;
            private int maxDepth = 64;
            private StackCapture.Lang lang = StackCapture.Lang.AUTO;
            private Mode mode = Mode.AUTO;
            private int stackCopy = CopyEngine.DEFAULT_STACK_COPY;
            private Consumer<String> log;
            private Consumer<Long> onHit;
            private Runnable onAttached;
            private boolean lines;

            private Builder() {}

            public Builder pids(List<Integer> v) { pids = List.copyOf(v); return this; }
            public Builder command(List<String> v) { command = List.copyOf(v); return this; }
            public Builder symbol(String v) { symbol = v; return this; }
            public Builder count(long v) { count = v; return this; }
            public Builder duration(Duration v) { duration = v; return this; }
            public Builder rate(double v) { rate = v; return this; }
            public Builder children(boolean v) { children = v; return this; }
            public Builder maxDepth(int v) { maxDepth = v; return this; }
            public Builder lang(StackCapture.Lang v) { lang = v; return this; }
            public Builder mode(Mode v) { mode = v; return this; }
            public Builder stackCopy(int v) { stackCopy = v; return this; }
            public Builder log(Consumer<String> v) { log = v; return this; }
            public Builder onHit(Consumer<Long> v) { onHit = v; return this; }
            public Builder onAttached(Runnable v) { onAttached = v; return this; }
            public Builder lines(boolean v) { lines = v; return this; }

            public Request build() {
                if (symbol == null) throw new IllegalStateException("no symbol");
                return new Request(pids, command, symbol, count, duration, rate, children, maxDepth, lang, mode, stackCopy,
                        log, onHit, onAttached, lines);
            }
        }
    }

    /**
     * How a hit is captured. COPY: the thread never stops, the kernel copies its registers and
     * stack at the hit ({@link CopyEngine}) and, in a Ruby process, a kernel program copies its
     * Ruby frames ({@link RubyProbe}); STOP: the thread stops until its stack (and
     * its Ruby frames) are read ({@link StopEngine}); AUTO: KERNEL for native targets where this kernel
     * allows it (else COPY, saying why), COPY for Ruby targets, or STOP where Ruby frames are
     * wanted and this kernel or Ruby cannot snapshot them.
     */
    public enum Mode { AUTO, COPY, STOP,
        /** The stack walked in the kernel at the hit, only return addresses copied ({@link KernelCallers}). */
        KERNEL,
        /** KERNEL, and a stack copy of the same hit unwound in user space: every difference reported. */
        CHECK_WALK }

    /** A started capture that another thread may stop. */
    public static final class Run {
        private volatile Engine engine;
        private volatile boolean stopRequested;

        public boolean stopped() {
            return stopRequested;
        }

        /** Stops the capture (e.g. from a SIGINT/SIGTERM shutdown hook); it then detaches and returns. */
        public void stop() {
            stopRequested = true;
            Engine e = engine;
            if (e != null) e.requestStop(Engine.StopReason.INTERRUPTED);
        }

        /** The engine from here on; a stop asked for before it existed applies to it. */
        void started(Engine e) {
            engine = e;
            if (stopRequested) e.requestStop(Engine.StopReason.INTERRUPTED);
        }
    }

    private Callers() {}

    /**
     * Starts linking what a capture calls into the kernel with (see {@code sys.Libc.prewarm}) on a
     * daemon thread, so that it overlaps the caller's own start (option parsing): a one-shot run
     * reaches its first stack sooner where a second cpu is free.
     */
    public static void prewarm() {
        Thread.ofPlatform().daemon().name("tansa-prewarm").start(io.tansa.sys.Libc::prewarm);
    }

    public static Profile run(Request req, Run handle) {
        if (req.pids().isEmpty() && req.command().isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, "no target: give -p PID or -- CMD ARGS");
        }
        Session session = new Session(req, handle);
        if (!req.command().isEmpty()) {
            // -- CMD: started stopped at its entry point, resolved there, probed from its first instruction
            session.launched = Launcher.launch(req.command());
            int pid = session.launched.pid();
            session.log("started %s as pid %d", String.join(" ", req.command()), pid);
            try {
                return session.capture(session.symbols(pid).resolve(req.symbol()), List.of(pid));
            } finally {
                session.launched.release(); // never probed (e.g. no such symbol): it runs on untraced
            }
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
            ProcessSymbols syms = session.symbols(pid);
            io.tansa.Timing.mark("maps read, objects opened (" + syms.modules().size() + ")");
            for (ProbeTarget t : syms.resolve(req.symbol())) {
                unique.putIfAbsent(t.file() + "@" + t.fileOffset(), t);
            }
        }
        io.tansa.Timing.mark("symbol resolved");
        return session.capture(new ArrayList<>(unique.values()), pids);
    }

    /** One capture: the tracer, the stack capture and the profile they fill. */
    private static final class Session {
        final Request req;
        final Run handle;
        /** With -- CMD: the program, stopped at its entry point until the engine's probes are in place. */
        Launcher.Launched launched;
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
        }

        void log(String fmt, Object... args) {
            if (req.log() != null) req.log().accept(String.format(fmt, args));
        }

        Engine.Options options() {
            return new Engine.Options(req.count(), req.duration(), req.rate(), req.children(), req.log(), req.onAttached(),
                    launched);
        }

        private boolean onHit(Hit hit) {
            if (count == 0) io.tansa.Timing.mark("first hit taken");
            Stack s = capture.capture(hit);
            if (count == 0) io.tansa.Timing.mark("first stack unwound and named (" + s.frames().size() + " frames)");
            return record(s);
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
        RubyProbe rubyProbe(List<Integer> pids) {
            RubyProbe probe = null;
            for (int pid : pids) {
                var rb = capture.ruby(pid);
                if (rb.isEmpty()) continue;
                if (probe == null) {
                    probe = RubyProbe.load(pid, rb.get(), symbols(pid), rubyRingPages(req.count()));
                } else if (!RubyProbe.ecLocation(pid, symbols(pid)).equals(probe.location())) {
                    probe.close();
                    throw new Failure(Failure.Kind.UNSUPPORTED, "the Ruby processes keep their execution contexts"
                            + " in different TLS modules");
                }
            }
            return probe;
        }

        /** 4 MiB per cpu of Ruby snapshots (a 40-frame snapshot is ~3.6 KiB). */
        private static final int RUBY_RING_PAGES = 1024;

        /**
         * Ruby snapshot ring pages per cpu: {@link #RUBY_RING_PAGES}, or for a run of a few hits
         * a page per snapshot for twice its count (at least 64): the kernel clears a ring's pages
         * when it is mapped, which a one-shot {@code -n 1} would wait for.
         */
        static int rubyRingPages(long count) {
            if (count <= 0 || count >= RUBY_RING_PAGES / 2) return RUBY_RING_PAGES;
            return Math.min(RUBY_RING_PAGES, Integer.highestOneBit((int) Math.max(64, 2 * count) * 2 - 1));
        }

        /**
         * The one place the mode picks the engine. COPY: the kernel copies registers and stack
         * (and, with {@code rubyProbe}, the Ruby frames) at each hit; STOP: the thread stops until
         * it is read. Another engine (e.g. a stack walked in the kernel) is one more case here.
         */
        Engine.Factory engine(boolean copy, RubyProbe rubyProbe) {
            if (copy) return (o, h) -> new CopyEngine(o, req.stackCopy(), h, rubyProbe);
            return StopEngine::create;
        }

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
            io.tansa.Timing.mark("targets prepared" + (ruby ? " (Ruby found)" : ""));
            // Ruby frames without stopping: a kernel snapshot at each hit (RubyProbe), where this kernel and Ruby allow
            RubyProbe rubyProbe = null;
            if (ruby && req.mode() != Mode.STOP && req.mode() != Mode.KERNEL && req.mode() != Mode.CHECK_WALK) {
                try {
                    rubyProbe = rubyProbe(pids);
                    if (rubyProbe != null) {
                        rubyProbe.onEachSnapshot(rec -> capture.nameEarly(rec.pid(), rec.raw()));
                        for (int pid : pids) capture.ruby(pid).ifPresent(io.tansa.ruby.RubyReader::warmUp);
                    }
                } catch (Failure f) {
                    if (req.mode() == Mode.COPY) throw f;
                    log("%s; stopping each hitting thread instead (--mode stop)", f.getMessage());
                }
            }
            // --children in copy mode: forked children inherit the probes (and the Ruby program) at
            // the fork; a child's hits read after it exited are named with its parent's symbols
            boolean copy = req.mode() == Mode.COPY || (req.mode() == Mode.AUTO && (!ruby || rubyProbe != null));
            if (rubyProbe != null) io.tansa.Timing.mark("Ruby snapshot program loaded");
            boolean kernel = KernelCallers.chosen(req, ruby, this::log);
            profile.meta("mode", kernel ? "kernel" : copy ? "copy" : "stop");
            Engine.Result r;
            if (kernel) {
                r = KernelCallers.run(req, options(), handle, pids, targets, capture, this::symbols, this::record, profile);
            } else {
                if (copy && rubyProbe != null && launched != null) holdBeforeTeardown(launched.pid());
                Engine engine = engine(copy, rubyProbe).create(options(), this::onHit);
                handle.started(engine);
                try {
                    r = engine.run(pids, targets);
                } finally {
                    capture.close();
                }
            }
            io.tansa.Timing.mark("engine done, probes removed");
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
            accounting(r);
            if (!r.exited().isEmpty()) profile.meta("exited", r.exited().toString());
            if (launched != null) {
                // -- CMD ended during the capture: its exit code, for tansa to exit with
                int code = launched.exitCode();
                String how = r.exited().getOrDefault(launched.pid(), "");
                if (code < 0 && how.matches("exit \\d+")) code = Integer.parseInt(how.substring(5));
                if (code >= 0) profile.meta("exit_code", Integer.toString(code));
            }
            return profile;
        }

        /**
         * -- CMD running Ruby, in copy mode: its hits are named after they happen, from its
         * memory, which the VM frees as the program ends (ruby_vm_destruct frees the heap: iseqs,
         * strings) — before the exit stop that holds every launched program. So it is held at
         * that function too, until its hits are named (Launcher.Launched#holdAt).
         */
        private void holdBeforeTeardown(int pid) {
            try {
                launched.holdAt(symbols(pid).resolve("ruby_vm_destruct"));
            } catch (Failure f) {
                log("no ruby_vm_destruct in process %d (%s): Ruby frames of its last hits may be lost if it exits right"
                        + " after them", pid, f.getMessage());
            }
        }

        /**
         * Every hit accounted for once, in the profile's accounting (README, callers: "Hits
         * accounted"): captured, after the count or the duration (not a loss), held back by the
         * rate cap, lost to full buffers, stacks that ended early, the kernel's own count, and the
         * share of the time the probe was in the target.
         */
        private void accounting(Engine.Result r) {
            profile.account("captured", r.hits());
            profile.account("after_end", r.afterEnd());
            profile.account("rate_capped", r.capped());
            profile.account("lost", r.lost());
            profile.account("truncated", capture.truncated());
            if (r.kernelHits() >= 0) profile.account("kernel_hits", r.kernelHits());
            profile.account("armed_share", Math.round(r.armedShare() * 1000) / 1000.0);
        }
    }
}
