package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.symbols.ProbeTarget;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The no-stop probe engine (copy mode): kernel-owned uprobes (tracepoint events on uprobe trace
 * events, below) whose every hit writes the thread's user registers and a copy of its stack
 * (PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER) into a ring buffer, and the thread goes on
 * without stopping. The stack is unwound afterwards from that copy. Nothing attaches to the
 * target: no ptrace, no signal; closing the fds (also by the kernel when tansa dies, even by
 * SIGKILL) removes every breakpoint. The price: a stack deeper than the copy ends in
 * {@code [unknown]}, and no other memory can be read at the hit — in a Ruby process the Ruby
 * frames come from an eBPF snapshot taken in the kernel at the same hit ({@link RubyProbe}), or,
 * where that is unavailable, from the stopping engine ({@link StopEngine}).
 *
 * <p>The rate cap takes the probe out of the target for the rest of a full window: the events are
 * closed (a disabled uprobe event still traps — the kernel keeps the breakpoint while any event of
 * the probe is open; PERF_EVENT_IOC_DISABLE only stops the counting) and opened again at the next
 * window. The rings survive: they belong to a dummy event per cpu on tansa's own thread.
 *
 * <p>Events are per (location, thread, cpu) with {@code inherit}, so threads (and, with
 * children, processes) created later are probed too; see {@link ThreadEvents}. They are tracepoint
 * events on uprobe trace events defined in tracefs ("tansa_PID_N/pN"), not events of the uprobe
 * PMU: the kernel cannot inherit a uprobe-PMU event (creating the child's copy reads the path
 * through the attr's config1 pointer again, in the new thread's context), so with inherit every
 * clone() of the target would fail. The definitions are removed at the end; ones left by a
 * tansa that was killed (inactive: no breakpoint without an open event) are removed by the next run.
 */
public final class CopyEngine implements Engine {
    /** Default bytes of stack copied at each hit (perf record's --call-graph dwarf copies 8192). */
    public static final int DEFAULT_STACK_COPY = 16 * 1024;
    /** The most the kernel copies: the sample's size field is 16 bits (perf_sample_ustack_size). */
    public static final int MAX_STACK_COPY = 65528 - 512;

    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_IP | PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME
            | PerfEvent.SAMPLE_REGS_USER | PerfEvent.SAMPLE_STACK_USER;

    private final Options opt;
    private final int stackCopy;
    private final HitHandler handler;
    private final RubyProbe ruby;
    private long rubyMissing;
    /** "tansa_PID_N": this process's Nth run (the pid tells later runs whether it is gone). */
    private final UprobeGroup group = new UprobeGroup("");
    private int[] eventIds;
    private final List<Integer> fds = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    private TargetAddresses addresses;
    private final Map<Integer, String> exited = new LinkedHashMap<>();
    private List<ProbeTarget> targets = List.of();
    private volatile StopReason stopRequest;
    private long hits, afterEnd, capped;
    private RateCap cap;
    private volatile boolean armed = true;
    private int ringBytes, ringPages;
    /** Hits lost to full buffers (capture thread only: the drainer queues its losses in ring order). */
    private long lost;
    /**
     * The drainer saw the cap of samples of the window armed at this time arrive: disarm now,
     * before they are all unwound (Long.MIN_VALUE: not yet).
     */
    private volatile long wantDisarm = Long.MIN_VALUE;
    /** When the probe was last armed (CLOCK_MONOTONIC ns): the drainer counts the samples after it. */
    private volatile long armedAtNanos = Long.MAX_VALUE;
    /** Hits the count still needed when the probe was last armed (Long.MAX_VALUE: no count). */
    private volatile long neededAtArm = Long.MAX_VALUE;
    /** The kernel's count of hits of the events closed so far (read before each close); -1 once unknown. */
    private long kernelHits;
    /** Per cpu: the dummy event owning that cpu's ring (every sampler event of the cpu writes into it). */
    private int[] cpus, ringFds;
    private Set<Integer> pidsProbed = new LinkedHashSet<>();
    private long startNanos = System.nanoTime(), endNanos = -1;
    private long armedSince = startNanos, armedNanos;

    /** {@code stackCopy}: bytes of stack copied at each hit, a multiple of 8 up to {@link #MAX_STACK_COPY}. */
    public CopyEngine(Options opt, int stackCopy, HitHandler handler) {
        this(opt, stackCopy, handler, null);
    }

    /**
     * With {@code ruby}, its program runs at every hit and each hit carries its Ruby snapshot;
     * the sampler closes it at the end.
     */
    public CopyEngine(Options opt, int stackCopy, HitHandler handler, RubyProbe ruby) {
        this.ruby = ruby;
        this.cap = new RateCap(opt.rate());
        if (stackCopy < 8 || stackCopy > MAX_STACK_COPY || stackCopy % 8 != 0) {
            throw new Failure(Failure.Kind.USAGE, "the stack copy must be a multiple of 8 bytes between 8 and " + MAX_STACK_COPY);
        }
        this.opt = opt;
        this.stackCopy = stackCopy;
        this.handler = handler;
    }

    @Override
    public void requestStop(StopReason why) {
        if (stopRequest == null) stopRequest = why;
    }

    /**
     * Probes {@code targets} in every thread of {@code pids} (and threads born later) until a bound
     * is reached; then closes every event. Always closes, also on exceptions.
     */
    @Override
    public Result run(List<Integer> pids, List<ProbeTarget> targets) {
        if (targets.isEmpty()) throw new IllegalArgumentException("no probe targets");
        this.targets = List.copyOf(targets);
        this.addresses = new TargetAddresses(targets);
        // Rings: a burst of hits lands before tansa wakes; what does not fit is lost (PERF_RECORD_LOST,
        // and the last losses of a run are never even reported). 128 MiB over all cpus, 2 to 32 MiB
        // each (a 16 KiB copy per hit: ~2,000 hits a ring), at least 64 hits.
        int cpus = Math.max(1, ProcFs.onlineCpus().size());
        long perCpu = Math.max(Math.min(32L << 20, Math.max(2L << 20, (128L << 20) / cpus)), 64L * (stackCopy + 512));
        // a run of a few hits needs no more than twice its count (at least 64): the kernel allocates
        // and clears a ring's pages when it is mapped, ~10 ms for 64 MiB (a one-shot -n 1 waits for it)
        if (opt.count() > 0) perCpu = Math.min(perCpu, Math.max(64L, 2 * opt.count()) * (stackCopy + 512));
        ringPages = Integer.highestOneBit((int) (perCpu / PerfRing.PAGE));
        ringBytes = ringPages * PerfRing.PAGE;
        pidsProbed.addAll(pids);
        try {
            eventIds = group.define(targets);
            io.tansa.Timing.mark("uprobe events defined (tracefs)");
            this.cpus = ProcFs.onlineCpus().stream().mapToInt(Integer::intValue).toArray();
            ringFds = ThreadEvents.dummyRings(this.cpus, ringPages, ringBytes / 4, rings); // poll returns when a quarter is full
            io.tansa.Timing.mark("rings mapped");
            Set<Integer> threads = openEvents(pidsProbed, true);
            io.tansa.Timing.mark("events opened and enabled");
            if (threads.isEmpty()) throw new Failure(Failure.Kind.TARGET_EXITED, "the target exited before probing began");
            cap.restart(System.nanoTime()); // the first window begins with the probe in place
            if (opt.count() > 0) neededAtArm = opt.count();
            armedAtNanos = armedSince = startNanos = System.nanoTime(); // the armed share is measured from here
            // -- CMD: it runs on probed, seized only to stop at its exit (its hits named before it goes)
            if (opt.launched() != null) opt.launched().watchExit();
            log("probing %d location%s in %d thread%s of %s (no-stop: registers and %d KiB of stack%s copied at each hit)",
                    targets.size(), targets.size() == 1 ? "" : "s", threads.size(), threads.size() == 1 ? "" : "s", pids,
                    stackCopy / 1024, ruby == null ? "" : ", and the Ruby frames,");
            if (opt.attached() != null) opt.attached().run();
            loop(pidsProbed);
        } finally {
            if (opt.launched() != null) opt.launched().release();
            io.tansa.Timing.mark("capture loop ended");
            close();
        }
        if (rubyMissing > 0) {
            log("%d hits have native frames only: their Ruby snapshots were lost (the kernel's buffer was full)",
                    rubyMissing);
        }
        if (lost > 0) {
            log("%d hits were not captured: they came faster than tansa could take them from the kernel's buffer", lost);
        }
        StopReason reason = stopRequest != null ? stopRequest : StopReason.TARGET_EXITED;
        return new Result(hits, afterEnd, capped, lost, kernelHits, reason, exited, armedShare());
    }

    /**
     * Opens the events of every thread of {@code pids} (disabled), the Ruby program's holders on
     * them, then enables them together; returns the threads covered. Also at each re-arm
     * ({@code first} false), where a process that exited meanwhile is passed over; the first
     * time, a pid without threads fails (Failure NO_SUCH_PROCESS).
     */
    private synchronized Set<Integer> openEvents(Set<Integer> pids, boolean first) {
        List<Integer> live = ThreadEvents.toArm(pids, first, opt.children());
        Set<Integer> threads = new java.util.TreeSet<>();
        for (int pid : live) {
            try {
                threads.addAll(ThreadEvents.open(List.of(pid), cpus, ringFds, this::open, new ThreadEvents.Listener() {}));
                pids.add(pid);
            } catch (Failure f) {
                if (first || f.kind() != Failure.Kind.NO_SUCH_PROCESS) throw f; // else exited meanwhile
            }
        }
        if (ruby != null && !threads.isEmpty()) attachRuby(threads); // before any hit: the events are enabled below
        setEnabled(true); // (enabling an event enables the copies threads born meanwhile inherited)
        return threads;
    }

    private int[] open(int tid, int cpu) {
        return ThreadEvents.uprobeSamplers(eventIds, SAMPLE_TYPE, stackCopy, opt.children(), tid, cpu, fds,
                "needs CAP_PERFMON or CAP_SYS_ADMIN, or kernel.perf_event_paranoid <= 1 for one's own processes");
    }

    /** The Ruby snapshot program on every trace event, held by an event on a live target thread. */
    private void attachRuby(Set<Integer> threads) {
        ruby.detachAll(); // a re-arm: the holders of the last window were closed with the events
        for (int id : eventIds) {
            boolean attached = false;
            for (int tid : threads) {
                try {
                    ruby.attach(id, tid);
                    attached = true;
                    break;
                } catch (SysException.ProcessGoneException e) {
                    // that thread exited meanwhile: the next one
                }
            }
            if (!attached) throw new Failure(Failure.Kind.TARGET_EXITED, "the target exited before probing began");
        }
    }

    /**
     * The capture loop. A second thread ({@link #drainRings}) only moves samples out of the
     * kernel's rings into a queue, so that a burst of hits fits while this thread unwinds.
     */
    private void loop(Set<Integer> pids) {
        Set<Integer> alive = new LinkedHashSet<>(pids);
        long goneAtPass = -1, exitAtPass = -1, polledAt = 0;
        Launcher.Launched launched = opt.launched();
        long deadline = opt.duration() == null ? Long.MAX_VALUE : System.nanoTime() + opt.duration().toNanos();
        Thread drainer = Thread.ofPlatform().daemon().name("tansa-rings").start(this::drainRings);
        try {
            while (true) {
                Queued next = queue.poll(10, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (next != null && next.sample() == null) {
                    account(next.lost(), false);
                } else if (next != null) {
                    queuedBytes.addAndGet(-next.sample().user().stack().length);
                    onSample(next.sample(), next.ruby(), pids, alive);
                }
                if (drainFailure != null) throw new IllegalStateException("reading the rings failed", drainFailure);
                if (opt.count() > 0 && hits >= opt.count()) requestStop(StopReason.COUNT);
                if (stopRequest != null) return;
                long now = System.nanoTime();
                if (now >= deadline) requestStop(StopReason.DURATION);
                if (!armed && now >= cap.windowEnd()) arm();
                if (launched != null && (next == null || now - polledAt > 5_000_000L)) {
                    polledAt = now;
                    if (launched.pollExit()) {
                        // -- CMD held where its end begins (the Ruby VM's teardown) or at its exit
                        // stop, its memory intact: every hit before is in the rings; once they are
                        // all named (a pass begun after the stop, and the queue empty), it goes on
                        if (exitAtPass < 0) exitAtPass = passes;
                        if (passes >= exitAtPass + 2 && queue.isEmpty()) {
                            launched.resume();
                            exitAtPass = -1;
                            if (launched.ended() != null) exited.put(launched.pid(), launched.ended());
                        }
                    } else if (launched.ended() != null) {
                        exited.put(launched.pid(), launched.ended());
                    }
                }
                if (next == null) {
                    alive.removeIf(pid -> {
                        if (ProcFs.alive(pid)) return false;
                        exited.putIfAbsent(pid, "exited");
                        return true;
                    });
                    if (alive.isEmpty()) {
                        // all gone: first what they left in the rings (a pass begun after we saw it)
                        if (goneAtPass < 0) goneAtPass = passes;
                        if (passes >= goneAtPass + 2 && queue.isEmpty()) return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            endNanos = System.nanoTime(); // the armed share is measured until here
            draining = false;
            try {
                drainer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Queued q : queue) {
                if (q.sample() == null) account(q.lost(), true);
                else afterEnd++; // arrived after the count or the stop
            }
            queue.clear();
            countUnreported();
        }
    }

    /** Bytes of stack copies queued at most (beyond: counted as lost). */
    private static final long MAX_QUEUED_BYTES = 256L << 20;
    /** A sample and, with a Ruby probe, its hit's snapshot. */
    private record Queued(PerfRecord.Sample sample, RubyProbe.Record ruby, Lost lost) {}

    /** Hits the kernel could not write (its ring full) or tansa could not queue, and what they were. */
    private record Lost(long hits, int why) {
        static final int LOST = 0, CAPPED = 1, AFTER_END = 2;
    }

    /** Accounts lost hits: held back by the cap if the window was full when they came, else as the drainer saw them. */
    private void account(Lost l, boolean atEnd) {
        if (l.why() == Lost.AFTER_END) afterEnd += l.hits();
        else if (l.why() == Lost.CAPPED || (!atEnd && (!armed || cap.full(System.nanoTime())))) capped += l.hits();
        else lost += l.hits();
    }

    private final java.util.concurrent.LinkedBlockingQueue<Queued> queue = new java.util.concurrent.LinkedBlockingQueue<>();
    /** Ruby snapshots per thread not yet joined to their samples (drainer thread only). */
    private final Map<Integer, java.util.TreeMap<Long, RubyProbe.Record>> snapshots = new HashMap<>();
    private final java.util.concurrent.atomic.AtomicLong queuedBytes = new java.util.concurrent.atomic.AtomicLong();
    private volatile boolean draining = true;
    /** Passes the drainer completed over all rings. */
    private volatile long passes;
    /** What ended the drainer early, rethrown by the capture loop. */
    private volatile Throwable drainFailure;

    /** The drainer thread: rings → queue, until {@link #draining} ends. Only it touches the rings. */
    private void drainRings() {
        try {
            drainUntilStopped();
        } catch (RuntimeException | Error e) {
            drainFailure = e;
        }
    }

    /**
     * Each pass drains the sample rings, then the Ruby snapshot rings, then joins them: the program
     * writes a hit's snapshot before the kernel writes its sample, so every sample of this pass has
     * its snapshot among those drained by its end (also when the thread moved to another cpu in
     * between). A thread's hits are sequential, so the snapshot of a sample is the thread's latest
     * one not later than the sample, whatever order the samples are drained in (the cpus' rings
     * are drained one after another). A snapshot can only be missed (its hit then has native
     * frames only), never joined to another hit.
     */
    private void drainUntilStopped() {
        List<PerfRing> all = new ArrayList<>(rings);
        if (ruby != null) all.addAll(ruby.rings());
        int[] ringFds = all.stream().mapToInt(PerfRing::fd).toArray();
        // samples, and hits lost, in ring order
        List<Object> got = new ArrayList<>();
        long[] windowSamples = {0, 0}; // samples since the last arm, and that arm's time
        long drained = 0; // samples and losses moved to the queue
        while (draining) {
            int n = 0;
            long since = armedAtNanos;
            if (since != windowSamples[1]) {
                windowSamples[0] = 0;
                windowSamples[1] = since;
            }
            // as many samples as this window can take (the cap) or the run still needs (the count):
            // more would only cost the target traps nobody takes
            long enough = Math.min(opt.rate() > 0 ? (long) Math.ceil(opt.rate()) : Long.MAX_VALUE, neededAtArm);
            for (PerfRing r : rings) {
                n += r.drain(b -> {
                    PerfRecord rec = PerfRecord.decode(b, SAMPLE_TYPE);
                    if (rec instanceof PerfRecord.Sample s && s.user() != null) {
                        if (queuedBytes.addAndGet(s.user().stack().length) > MAX_QUEUED_BYTES) {
                            queuedBytes.addAndGet(-s.user().stack().length);
                            got.add(new Lost(1, Lost.LOST));
                        } else {
                            got.add(s);
                            if (s.time() >= since && ++windowSamples[0] >= enough) wantDisarm = since;
                        }
                    } else if (rec instanceof PerfRecord.Lost l) {
                        // after what the count still needed arrived: after the end; after the window's
                        // cap arrived: hits the cap would have held back; else a real loss
                        int why = windowSamples[0] >= neededAtArm ? Lost.AFTER_END
                                : opt.rate() > 0 && windowSamples[0] >= opt.rate() ? Lost.CAPPED : Lost.LOST;
                        got.add(new Lost(l.lost(), why));
                    }
                });
            }
            // the window's cap (or what the count needs) has arrived: the probe out now, from this
            // thread, which is woken by the rings — the capture thread may be busy unwinding
            if (armed && wantDisarm == since && since == armedAtNanos) disarm();
            if (ruby != null) {
                n += ruby.drain(r -> {
                    // in time order: the cpus' rings are drained one after another
                    var byTime = snapshots.computeIfAbsent(r.tid(), t -> new java.util.TreeMap<>());
                    byTime.put(r.timeNanos(), r);
                    if (byTime.size() > 4096) byTime.pollFirstEntry(); // samples lost: bounded
                });
            }
            for (Object o : got) {
                if (o instanceof PerfRecord.Sample s) queue.add(new Queued(s, ruby == null ? null : snapshotOf(s), null));
                else queue.add(new Queued(null, null, (Lost) o));
            }
            drained += got.size();
            got.clear();
            passes++;
            // the rings wake the poll only when a quarter full: a 10 ms timeout bounds the wait, 1 ms
            // until the first sample (a one-shot run waits for it) and once the count has arrived (the run ends)
            if (n == 0) Files.poll(ringFds, drained == 0 || (opt.count() > 0 && drained >= opt.count()) ? 1 : 10);
        }
    }

    private RubyProbe.Record snapshotOf(PerfRecord.Sample s) {
        var byTime = snapshots.get(s.tid());
        if (byTime == null) return null;
        var match = byTime.floorEntry(s.time());
        if (match != null) byTime.remove(match.getKey());
        byTime.headMap(s.time() - 1_000_000_000L).clear(); // their samples were lost
        return match == null ? null : match.getValue();
    }

    private void onSample(PerfRecord.Sample s, RubyProbe.Record snapshot, Set<Integer> pids, Set<Integer> alive) {
        if (pids.add(s.pid())) alive.add(s.pid()); // a child forked since (--children): a target too
        if (stopRequest != null || (opt.count() > 0 && hits >= opt.count())) {
            afterEnd++;
            return;
        }
        if (!cap.admit(System.nanoTime())) {
            capped++;
            if (armed) disarm(); // the window is full: the probe out of the target until it ends
            return;
        }
        if (hits == 0) io.tansa.Timing.mark("first sample taken from the queue");
        long[] regs = io.tansa.unwind.Reg.fromPerf(s.user().regs());
        int location = addresses.location(s.pid(), s.user().regs()[PerfRecord.REG_IP]);
        if (location >= 0) regs[io.tansa.unwind.Reg.RIP.ordinal()] = addresses.of(s.pid())[location];
        if (ruby != null && snapshot == null) rubyMissing++;
        if (handler.onHit(Hit.copied(s.pid(), s.tid(), location, s.time(), regs, s.user().stack(), snapshot))) hits++;
    }

    private synchronized void setEnabled(boolean on) {
        for (int fd : fds) {
            try {
                if (on) PerfEvent.enable(fd);
                else PerfEvent.disable(fd);
            } catch (SysException e) {
                // its thread is gone
            }
        }
    }

    /**
     * Takes the probe out of the target until the window ends: every sampler event closed (their
     * counts read first), and the Ruby program's holders, which would keep the breakpoint too.
     * What the rings hold already is still drained.
     */
    private synchronized void disarm() {
        if (!armed) return;
        closeEvents();
        if (ruby != null) ruby.detachAll();
        armed = false;
        armedNanos += System.nanoTime() - armedSince;
    }

    /** The next window: the events opened again in every thread (children forked meanwhile too). */
    private synchronized void arm() {
        armed = true;
        armedSince = System.nanoTime();
        cap.restart(armedSince);
        if (opt.count() > 0) neededAtArm = opt.count() - hits;
        armedAtNanos = armedSince;
        openEvents(pidsProbed, false);
    }

    private synchronized void closeEvents() {
        // disabled first: a hit between reading a count and closing its event would be delivered
        // but not counted (PERF_EVENT_IOC_DISABLE stops both counting and sampling at once)
        setEnabled(false);
        for (int fd : fds) {
            if (kernelHits >= 0) {
                try {
                    kernelHits += PerfEvent.readCount(fd);
                } catch (SysException e) {
                    kernelHits = -1; // unknown from here on
                }
            }
            Files.close(fd);
        }
        fds.clear();
    }

    private double armedShare() {
        long now = endNanos >= 0 ? endNanos : System.nanoTime();
        long on = armedNanos + (armed ? now - armedSince : 0);
        return now <= startNanos ? 1 : Math.min(1, (double) on / (now - startNanos));
    }

    /**
     * Hits the kernel counted but neither delivered nor reported lost: a ring that was full at
     * the end of a run never gets to write its PERF_RECORD_LOST. The events' counts (threads and
     * --children processes that exited folded in) say how many hits there were.
     */
    private void countUnreported() {
        if (armed) armedNanos += endNanos - armedSince;
        armedSince = endNanos;
        closeEvents(); // no new hits from here on; the counts are final
        armed = false;
        if (kernelHits < 0) return; // unknown: say nothing
        long missing = kernelHits - hits - afterEnd - capped - lost;
        if (missing <= 0) return;
        if (stopRequest == null) lost += missing; // the targets ended: all should have been drained
        else afterEnd += missing; // after the count, the duration or the stop: still in the rings
    }

    private void close() {
        // Closing the fds removes the breakpoints everywhere, inherited copies included.
        closeEvents();
        PerfRing.closeAll(rings, fds);
        if (ringFds != null) for (int fd : ringFds) if (fd > 0) Files.close(fd);
        ringFds = null;
        if (ruby != null) ruby.close();
        group.remove(opt.log());
    }


    private void log(String fmt, Object... args) {
        if (opt.log() != null) opt.log().accept(String.format(fmt, args));
    }
}
