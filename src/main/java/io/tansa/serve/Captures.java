package io.tansa.serve;

import io.tansa.Failure;
import io.tansa.capture.Callers;
import io.tansa.capture.CfiModules;
import io.tansa.capture.SampleStacks;
import io.tansa.capture.StackCapture;
import io.tansa.net.Sockets;
import io.tansa.proc.ProcFs;
import io.tansa.profile.Profile;
import io.tansa.profile.TopTable;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.sys.PerfRecord;
import io.tansa.top.RubyTop;
import io.tansa.top.Sampler;
import io.tansa.top.Top;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

/**
 * The profile captures of {@code tansa serve}: a CPU profile ({@code tansa top}'s sampler, with
 * DWARF call chains) or the callers of a function ({@link Callers}, Ruby frames included), at most
 * one per target and {@code maxConcurrent} in all. Each capture is tied to the HTTP client's TCP
 * connection: a watcher reads the server's own sockets through sock_diag every quarter second,
 * and when the client's connection is no longer established (it closed or was killed: the kernel
 * moved our end to CLOSE_WAIT, or reset it) the capture is stopped — the engines then detach as on
 * Ctrl-C, leaving the target running untraced.
 */
public final class Captures {
    /** What the server allows per capture. */
    public record Limits(Duration maxDuration, long maxCount, int maxConcurrent, int frequency) {}

    /** The TCP connection a capture answers: the server's local port and the client's port. */
    public record Client(int localPort, int remotePort) {}

    /** Thrown when the target already has a capture running, or every capture slot is taken. */
    static final class Busy extends RuntimeException {
        Busy(String message) {
            super(message);
        }
    }

    /** Thrown when the client went away and the capture was stopped for it. */
    static final class ClientGone extends RuntimeException {
        ClientGone() {
            super("client disconnected");
        }
    }

    /** Stack bytes the kernel copies per CPU sample (perf record --call-graph dwarf's default), per callers hit. */
    static final int CPU_STACK_COPY = 8192, CALLERS_STACK_COPY = 16384;
    /** Frames per callers hit (as tansa callers), and its hit-rate cap. */
    static final int MAX_FRAMES = 256;
    static final double CALLERS_RATE = 1000;

    private final Limits limits;
    private final Semaphore slots;
    private final Set<Integer> busy = ConcurrentHashMap.newKeySet();
    /** Running captures → how to stop each. */
    private final Map<Running, Boolean> running = new ConcurrentHashMap<>();
    private final Object watchLock = new Object();
    private Thread watcher;
    private volatile boolean closing;

    private static final class Running {
        final Client client;
        final Runnable stop;
        final AtomicBoolean gone = new AtomicBoolean();

        Running(Client client, Runnable stop) {
            this.client = client;
            this.stop = stop;
        }
    }

    public Captures(Limits limits) {
        this.limits = limits;
        this.slots = new Semaphore(limits.maxConcurrent());
    }

    public Limits limits() {
        return limits;
    }

    /** A CPU profile of {@code pids}: what {@code tansa top -g} samples, as paths with counts. */
    public Profile cpu(List<Integer> pids, Duration d, Client client) {
        AtomicBoolean stop = new AtomicBoolean();
        return guarded(pids, client, () -> stop.set(true), () -> sampleCpu(pids, d, stop));
    }

    /**
     * A Ruby CPU profile of {@code pids}: what {@code tansa top --lang ruby} samples (the Ruby frames
     * of the thread on CPU, read at the sample), as Ruby paths with counts.
     */
    public Profile rubyCpu(List<Integer> pids, Duration d, Client client) {
        AtomicBoolean stop = new AtomicBoolean();
        return guarded(pids, client, () -> stop.set(true), () -> {
            Profile profile = new Profile();
            profile.keepStacks(false);
            int hz = Math.min(limits.frequency(), RubyTop.MAX_FREQUENCY);
            Top.Result res = RubyTop.run(new RubyTop.Request(pids, hz, d, d), stop::get, t -> {}, null, profile::record);
            TopTable.Header h = res.table().header();
            profile.meta("event", h.event());
            profile.meta("frequency", hz + " Hz");
            profile.meta("target", h.target());
            profile.meta("language", "ruby");
            profile.meta("stopped", res.stop().text);
            return profile;
        });
    }

    /** The callers of {@code symbol} in {@code pids}: what {@code tansa callers} captures. */
    public Profile callers(List<Integer> pids, String symbol, Duration d, long count, Client client, Consumer<String> log) {
        Callers.Run handle = new Callers.Run();
        return guarded(pids, client, handle::stop, () -> Callers.run(callersRequest(pids, symbol, count, d, log), handle));
    }

    /** The one place the server builds a {@link Callers.Request}. */
    static Callers.Request callersRequest(List<Integer> pids, String symbol, long count, Duration d, Consumer<String> log) {
        return Callers.Request.builder().pids(pids).symbol(symbol).count(count).duration(d).rate(CALLERS_RATE)
                .maxDepth(MAX_FRAMES).lang(StackCapture.Lang.AUTO).mode(Callers.Mode.AUTO).stackCopy(CALLERS_STACK_COPY)
                .log(log).build();
    }

    private interface Body {
        Profile run();
    }

    private Profile guarded(List<Integer> pids, Client client, Runnable stop, Body body) {
        if (closing) throw new Busy("the server is shutting down");
        List<Integer> taken = new java.util.ArrayList<>(pids.size());
        try {
            for (int pid : pids) {
                if (!busy.add(pid)) throw new Busy("a capture of pid " + pid + " is already running; one per target at a time");
                taken.add(pid);
            }
            if (!slots.tryAcquire()) {
                throw new Busy("all " + limits.maxConcurrent() + " capture slots are taken; try again later");
            }
            Running r = new Running(client, stop);
            try {
                running.put(r, Boolean.TRUE);
                startWatcher();
                Profile p = body.run();
                if (r.gone.get()) throw new ClientGone();
                return p;
            } finally {
                running.remove(r);
                slots.release();
            }
        } finally {
            busy.removeAll(taken);
        }
    }

    /** Stops every running capture (server shutdown) and waits up to {@code timeout} for them to detach. */
    public void stopAll(Duration timeout) {
        closing = true;
        for (Running r : running.keySet()) r.stop.run();
        long end = System.nanoTime() + timeout.toNanos();
        while (!running.isEmpty() && System.nanoTime() - end < 0) LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }

    private void startWatcher() {
        synchronized (watchLock) {
            if (watcher != null && watcher.isAlive()) return;
            watcher = Thread.ofPlatform().daemon().name("tansa-serve-clients").start(this::watch);
        }
    }

    private static final long WATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

    /** Runs while captures run: stops those whose client's connection is gone. */
    private void watch() {
        int self = (int) ProcessHandle.current().pid();
        while (true) {
            synchronized (watchLock) {
                if (running.isEmpty()) {
                    watcher = null;
                    return;
                }
            }
            List<Sockets.Row> mine;
            try {
                mine = Sockets.query(List.of(self), false);
            } catch (RuntimeException e) {
                mine = null; // a transient failure: look again next time, never stop a capture on it
            }
            if (mine != null) {
                for (Running r : running.keySet()) {
                    if (r.client == null || established(mine, r.client)) continue;
                    if (r.gone.compareAndSet(false, true)) r.stop.run();
                }
            }
            LockSupport.parkNanos(WATCH_NANOS);
        }
    }

    /** Whether the server's end of the client's connection is in the table and established. */
    static boolean established(List<Sockets.Row> rows, Client c) {
        String local = ":" + c.localPort(), remote = ":" + c.remotePort();
        for (Sockets.Row r : rows) {
            if (r.remote() != null && r.local().endsWith(local) && r.remote().endsWith(remote)) {
                return r.state().equals("established");
            }
        }
        return false;
    }

    /**
     * {@code tansa top}'s sampling of one process with DWARF call chains, recorded as stacks into a
     * Profile (the loop of {@link io.tansa.top.Top#run}, which hands out a table, not the stacks).
     */
    private Profile sampleCpu(List<Integer> pids, Duration d, AtomicBoolean stop) {
        for (int pid : pids) {
            if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        }
        Map<Integer, ProcessSymbols> symbols = new ConcurrentHashMap<>();
        SampleStacks stacks = new SampleStacks(p -> symbols.computeIfAbsent(p, ProcessSymbols::new)::frame,
                p -> new CfiModules(symbols.computeIfAbsent(p, ProcessSymbols::new)));
        Profile profile = new Profile();
        profile.keepStacks(false);
        Sampler.Options o = new Sampler.Options(limits.frequency(), true, true, CPU_STACK_COPY);
        try (Sampler s = Sampler.attach(pids, o)) {
            long end = System.nanoTime() + d.toNanos();
            long[] window = {end};
            Consumer<PerfRecord> sink = rec -> {
                stacks.observe(rec);
                if (rec instanceof PerfRecord.Sample smp && smp.time() - window[0] <= 0) profile.record(stacks.stack(smp, true));
            };
            String why;
            while (true) {
                long wait = Math.min(TimeUnit.MILLISECONDS.toNanos(100), end - System.nanoTime());
                if (wait > 0) LockSupport.parkNanos(wait);
                s.drain(sink);
                long now = System.nanoTime();
                if (now - end >= 0) { why = "duration reached"; break; }
                if (stop.get()) { why = "interrupted"; window[0] = now; break; }
                if (pids.stream().noneMatch(Captures::alive)) { why = "target exited"; break; }
            }
            s.drain(sink);
            profile.meta("event", s.event());
            profile.meta("frequency", limits.frequency() + " Hz");
            profile.meta("target", pids.stream().map(pid -> "pid " + pid + " (" + stacks.comm(pid, pid) + ")")
                    .collect(java.util.stream.Collectors.joining(", ")));
            profile.meta("stopped", why);
            if (s.lost() > 0) profile.meta("lost", Long.toString(s.lost()));
        }
        return profile;
    }

    private static boolean alive(int pid) {
        try {
            return ProcFs.exists(pid) && ProcFs.status(pid, pid).state() != 'Z';
        } catch (RuntimeException e) {
            return false;
        }
    }
}
