package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import io.tansa.unwind.KernelWalkProgram;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.IntFunction;

/**
 * The kernel-walk engine ({@code --mode kernel}): the same kernel-owned uprobes as
 * {@link CopyEngine} (tracepoint events on uprobe trace events, per thread×cpu with inherit), but
 * at each hit the {@link KernelWalk} program walks the user stack in the kernel and writes only
 * the return addresses; the event itself writes nothing (the program returns 0), so nothing of
 * the stack is copied. With {@code oracle} ({@code --check-walk}) the program lets the event write
 * its usual sample too — registers and a stack copy — and each hit carries both, for comparing
 * the kernel's walk with the user-space unwinder's on the very same hit.
 *
 * <p>The rate cap takes the probe out of the target for the rest of a full window, as in copy
 * mode: the sampling events and the program's holders are closed (with no event of a uprobe open,
 * the kernel removes its breakpoint; a disabled event would still trap) and opened again at the
 * next window. The sample rings live on dummy events of tansa's own, the walk rings and maps in
 * {@link KernelWalk}, so nothing written before the disarm is lost.
 */
public final class KernelWalkEngine implements Engine {
    /**
     * A hit: the kernel's walk and the copy-mode sample of the same hit — with the oracle, of every
     * hit (null if lost); else only of a walk that met code or a process not in its tables yet.
     */
    public record Hit(int pid, int tid, int location, long timeNanos, KernelWalkProgram.Record walk, Copy copy) {}

    /** The stack the kernel copied at a hit (the oracle's, or a walk's that met code not in its tables). */
    public record Copy(int pid, int tid, int location, long timeNanos, long[] regs, byte[] stack) {}

    public interface HitHandler {
        boolean onHit(Hit hit);
    }

    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_IP | PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME;
    private static final long ORACLE_TYPE = SAMPLE_TYPE | PerfEvent.SAMPLE_REGS_USER | PerfEvent.SAMPLE_STACK_USER;
    private final UprobeGroup group = new UprobeGroup("k");

    private final Engine.Options opt;
    private final HitHandler handler;
    private final IntFunction<ProcessSymbols> symbols;
    private final boolean oracle;
    private final int stackCopy;
    private KernelWalk walk;
    private int[] eventIds;
    private final List<Integer> fds = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    private TargetAddresses addresses;
    private final Map<Integer, Long> registeredAt = new HashMap<>();
    private final Map<Integer, String> exited = new LinkedHashMap<>();
    private final Map<Integer, TreeMap<Long, KernelWalkProgram.Record>> walksByTid = new HashMap<>();
    /** Kernel mode: the pass in which each walk waiting for its copy was drained (by its time). */
    private final Map<Long, Long> heldAt = new HashMap<>();
    private List<ProbeTarget> targets = List.of();
    private volatile Engine.StopReason stopRequest;
    private long hits, dropped, capped, lost, early, unjoined, unwoundHere, passes, copiesLost;
    private final long[] stops = new long[KernelWalkProgram.NO_MAPS + 1];
    private RateCap cap;
    private boolean armed;
    private long startNanos, armedSince, armedNanos, endNanos = -1;
    private int[] cpus, ringFds;
    private int samplePages, wakeupBytes;
    private Set<Integer> pidsProbed = new LinkedHashSet<>();
    private long[] kernelStats = new long[KernelWalkProgram.STATS];
    private boolean statsRead;

    /**
     * {@code symbols}: each process's symbols (its objects and mappings). {@code oracle}: also copy
     * {@code stackCopy} bytes of stack per hit (the user-space unwinder's input).
     */
    public KernelWalkEngine(Engine.Options opt, IntFunction<ProcessSymbols> symbols, boolean oracle, int stackCopy,
            HitHandler handler) {
        this.opt = opt;
        this.symbols = symbols;
        this.oracle = oracle;
        this.stackCopy = stackCopy;
        this.handler = handler;
        this.cap = new RateCap(opt.rate());
    }

    @Override
    public void requestStop(Engine.StopReason why) {
        if (stopRequest == null) stopRequest = why;
    }

    /** The program's counters at the end of the run ({@link KernelWalkProgram#STATS}). */
    public long[] kernelStats() {
        return kernelStats.clone();
    }

    /** Hits per stop code of their walk (index: {@link io.tansa.unwind.CompactRules.Stop} ordinal). */
    public long[] stops() {
        return stops.clone();
    }

    /**
     * Loads the program and small maps once and closes them: null when this kernel allows the
     * kernel walk, else why not (for {@code --mode auto}).
     */
    public static String unavailable() {
        if (!ProcFs.inInitialPidNamespace()) return NOT_HOST_PIDS;
        try (KernelWalk w = KernelWalk.load(1, 1 << 12, false, null)) {
            return null;
        } catch (Failure f) {
            return f.getMessage();
        }
    }

    /**
     * The program keys processes and joins its walks with their copies by the kernel's own pids
     * (bpf_get_current_pid_tgid), which are the pids tansa sees only in the host's pid namespace.
     */
    static final String NOT_HOST_PIDS = "the kernel walk needs tansa in the host's pid namespace (here, in a container"
            + " or sidecar, the kernel's pids are not the ones tansa sees)";

    @Override
    public Engine.Result run(List<Integer> pids, List<ProbeTarget> targets) {
        if (targets.isEmpty()) throw new IllegalArgumentException("no probe targets");
        if (!ProcFs.inInitialPidNamespace()) throw new Failure(Failure.Kind.UNSUPPORTED, "--mode kernel: " + NOT_HOST_PIDS
                + "; use --mode copy");
        this.targets = List.copyOf(targets);
        this.addresses = new TargetAddresses(targets);
        int cpus = Math.max(1, ProcFs.onlineCpus().size());
        // walk records are small (32 bytes + 8 per frame): 4 MiB a cpu holds ~2,000 256-frame walks
        int walkPages = 1024;
        // sample rings: every hit's copy for the oracle; else only the copies of walks that met a pc
        // in no known mapping or a process without a table (a dlopen, a fork since), unwound here
        samplePages = oracle ? Integer.highestOneBit((int) Math.max(512, (64L << 20) / cpus / PerfRing.PAGE))
                : Integer.highestOneBit((int) Math.max(256, (16L << 20) / cpus / PerfRing.PAGE));
        try {
            walk = KernelWalk.load(walkPages, KernelWalk.DEFAULT_ROWS, oracle, opt.log());
            for (int pid : pids) {
                walk.register(pid, symbols.apply(pid), false);
            }
            eventIds = group.define(targets);
            // a few copies gather before a wakeup: the walks waiting for them are marked until then
            wakeupBytes = oracle ? 1 << 20 : 64 * 1024;
            this.cpus = ProcFs.onlineCpus().stream().mapToInt(Integer::intValue).toArray();
            ringFds = ThreadEvents.dummyRings(this.cpus, samplePages, wakeupBytes, rings);
            pidsProbed = new LinkedHashSet<>(pids);
            startNanos = System.nanoTime();
            Set<Integer> threads = arm(true);
            log("probing %d location%s in %d thread%s of %s (kernel walk: %d rows of unwind rules in the kernel, %d"
                    + " instructions, only return addresses copied%s)", targets.size(), targets.size() == 1 ? "" : "s",
                    threads.size(), threads.size() == 1 ? "" : "s", pids, walk.rowsUsed(), walk.instructions(),
                    oracle ? "; and a stack copy per hit for --check-walk" : "");
            if (opt.launched() != null) opt.launched().release(); // -- CMD: it runs from here, probed
            if (opt.attached() != null) opt.attached().run();
            loop(pidsProbed);
        } finally {
            endNanos = System.nanoTime();
            close();
            if (opt.launched() != null) opt.launched().release();
        }
        if (lost > 0) log("%d hits were lost: the kernel's buffer was full", lost);
        if (early > 0) {
            log("%d of %d stacks end early, marked [unknown] (%s)", early, hits, stopSummary());
        }
        if (unjoined > 0) {
            log(oracle ? "--check-walk: %d hits had no stack copy to compare with (lost)"
                    : "%d stack copies had no walk to go with (lost)", unjoined);
        }
        if (copiesLost > 0) {
            log("%d walks that met code mapped since lost their stack copies (the buffer was full): marked", copiesLost);
        }
        if (unwoundHere > 0) {
            log("%d hits were unwound from a stack copy (code mapped or a process started since the tables were written)",
                    unwoundHere);
        }
        Engine.StopReason reason = stopRequest != null ? stopRequest : Engine.StopReason.TARGET_EXITED;
        // dropped: after the count or the stop (dropped - capped), or held back by the rate cap (capped)
        // the kernel's count: the program emits one walk per hit it runs at (written or failed)
        long kernelHits = statsRead ? kernelStats[KernelWalkProgram.STAT_WALKS] : -1;
        return new Engine.Result(hits, dropped - capped, capped, lost, kernelHits, reason, exited, armedShare());
    }

    /**
     * Puts the probe into the target: the sampling events of every thread of the probed processes
     * (disabled), the program on each trace event, then all enabled together; returns the threads.
     * The first time a process without threads fails (TARGET_EXITED / NO_SUCH_PROCESS); at a re-arm
     * one that exited meanwhile is passed over, and children forked while the probe was out
     * (--children) are listed, as they inherited nothing.
     */
    private Set<Integer> arm(boolean first) {
        List<Integer> live = ThreadEvents.toArm(pidsProbed, first, opt.children());
        Set<Integer> threads = new java.util.TreeSet<>();
        for (int pid : live) {
            try {
                threads.addAll(ThreadEvents.open(List.of(pid), cpus, ringFds, this::open, new ThreadEvents.Listener() {}));
                pidsProbed.add(pid);
            } catch (Failure f) {
                if (first || f.kind() != Failure.Kind.NO_SUCH_PROCESS) throw f;
            }
        }
        if (threads.isEmpty()) {
            if (first) throw new Failure(Failure.Kind.TARGET_EXITED, "the target exited before probing began");
            armed = true; // nothing left to probe: the loop ends as the targets are gone
            armedSince = System.nanoTime();
            return threads;
        }
        for (int id : eventIds) {
            boolean attached = false;
            for (int tid : threads) {
                try {
                    walk.attach(id, tid);
                    attached = true;
                    break;
                } catch (SysException.ProcessGoneException e) {
                    // that thread exited meanwhile: the next one
                }
            }
            if (!attached && first) throw new Failure(Failure.Kind.TARGET_EXITED, "the target exited before probing began");
        }
        armed = true;
        armedSince = System.nanoTime();
        cap.restart(armedSince);
        setEnabled(true); // (enabling an event enables the copies threads born meanwhile inherited)
        return threads;
    }

    /**
     * Takes the probe out of the target until the window ends: every sampling event and every
     * holder of the program closed. What the rings hold already is still drained.
     */
    private void disarm() {
        if (!armed) return;
        setEnabled(false);
        for (int fd : fds) Files.close(fd);
        fds.clear();
        walk.detachAll();
        armed = false;
        armedNanos += System.nanoTime() - armedSince;
    }

    private double armedShare() {
        long now = endNanos >= 0 ? endNanos : System.nanoTime();
        long on = armedNanos + (armed ? now - armedSince : 0);
        return now <= startNanos ? 1 : Math.min(1, (double) on / (now - startNanos));
    }

    private String stopSummary() {
        StringBuilder b = new StringBuilder();
        io.tansa.unwind.CompactRules.Stop[] names = io.tansa.unwind.CompactRules.Stop.values();
        for (int i = 1; i < stops.length; i++) {
            if (stops[i] == 0) continue;
            if (b.length() > 0) b.append(", ");
            b.append(names[i].name().toLowerCase(java.util.Locale.ROOT)).append(' ').append(stops[i]);
        }
        return b.toString();
    }

    private int[] open(int tid, int cpu) {
        return ThreadEvents.uprobeSamplers(eventIds, ORACLE_TYPE, stackCopy, opt.children(), tid, cpu, fds,
                "needs CAP_PERFMON or CAP_SYS_ADMIN, and CAP_BPF for the kernel walk");
    }

    private void loop(Set<Integer> pids) {
        Set<Integer> alive = new LinkedHashSet<>(pids);
        long goneAt = -1;
        long deadline = opt.duration() == null ? Long.MAX_VALUE : System.nanoTime() + opt.duration().toNanos();
        List<PerfRing> all = new ArrayList<>(walk.rings());
        all.addAll(rings);
        int[] ringFds = all.stream().mapToInt(PerfRing::fd).toArray();
        List<PerfRecord.Sample> samples = new ArrayList<>();
        while (true) {
            // the oracle: first the samples, then the walks — the program writes a hit's walk before
            // the kernel writes its sample, so every sample drained has its walk among those drained after
            int n = 0;
            {
                for (PerfRing ring : rings) {
                    n += ring.drain(b -> {
                        PerfRecord rec = PerfRecord.decode(b, ORACLE_TYPE);
                        if (rec instanceof PerfRecord.Sample s && s.user() != null) samples.add(s);
                        else if (rec instanceof PerfRecord.Lost l) lost += l.lost();
                    });
                }
            }
            n += walk.drain(r -> {
                if (oracle || copied(r)) {
                    var byTime = walksByTid.computeIfAbsent(r.tid(), t -> new TreeMap<>());
                    byTime.put(r.timeNanos(), r);
                    if (!oracle) {
                        heldAt.put(r.timeNanos(), passes);
                        refresh(r.tgid()); // now, not when its copy is unwound: the hits meanwhile walk through
                    }
                    if (byTime.size() > (1 << 16)) byTime.pollFirstEntry(); // their samples were lost
                } else {
                    onWalk(r, null, pids, alive);
                }
            }, l -> lost += l);
            {
                // in time order: the cpus' rings are drained one after another, and a thread moves
                // between cpus (every sample written before a pass's later ones is in that pass)
                samples.sort(java.util.Comparator.comparingLong(PerfRecord.Sample::time));
                for (PerfRecord.Sample s : samples) {
                    KernelWalkProgram.Record w = walkOf(s);
                    long[] regs = io.tansa.unwind.Reg.fromPerf(s.user().regs());
                    Copy copy = new Copy(s.pid(), s.tid(), -1, s.time(), regs, s.user().stack());
                    if (w == null) {
                        unjoined++;
                        continue;
                    }
                    if (!oracle) {
                        // a thread's hits are sequential: its earlier walks still waiting lost their copies
                        var byTime = walksByTid.get(s.tid());
                        while (byTime != null && !byTime.isEmpty() && byTime.firstKey() < w.timeNanos()) {
                            heldAt.remove(byTime.firstKey());
                            onWalk(byTime.pollFirstEntry().getValue(), null, pids, alive);
                        }
                        heldAt.remove(w.timeNanos());
                    }
                    onWalk(w, copy, pids, alive);
                }
                samples.clear();
                if (!oracle) flushUncopied(pids, alive);
                passes++;
            }
            if (opt.count() > 0 && hits >= opt.count()) requestStop(Engine.StopReason.COUNT);
            if (stopRequest != null) {
                try {
                    // records the program could not write while tansa was still taking them: lost
                    // (later ones, after the count or the stop, are not)
                    long failed = walk.stats()[KernelWalkProgram.STAT_OUTPUT_FAILED];
                    if (failed > lost) lost = failed;
                } catch (SysException e) {
                    // the rings' LOST records stand
                }
                break;
            }
            long now = System.nanoTime();
            if (now >= deadline) requestStop(Engine.StopReason.DURATION);
            if (!armed && now >= cap.windowEnd()) arm(false);
            if (n == 0) {
                alive.removeIf(pid -> {
                    if (ProcFs.alive(pid)) return false;
                    exited.put(pid, "exited");
                    return true;
                });
                if (alive.isEmpty()) {
                    if (goneAt < 0) goneAt = now;
                    else if (now - goneAt > 50_000_000L) break; // what they left in the rings is drained
                }
                Files.poll(ringFds, 10);
            } else if (n < 256 && !oracle) {
                // a trickle: let records gather for a millisecond rather than spin on the rings
                // (a 4 MiB ring holds ~45,000 walks; the cpus are the target's too)
                Files.poll(ringFds, 1);
            }
        }
        if (!oracle) { // walks whose copies never came: marked (or, after the count, not captured)
            for (var byTime : walksByTid.values()) for (var w : byTime.values()) onWalk(w, null, pids, alive);
            walksByTid.clear();
        }
    }

    /** A walk the program let the event copy the stack for (its sample follows). */
    private static boolean copied(KernelWalkProgram.Record r) {
        return r.stopCode() == io.tansa.unwind.CompactRules.Stop.UNKNOWN_PC.ordinal() || r.stopCode() == KernelWalkProgram.NO_MAPS;
    }

    /**
     * Walks still waiting for their stack copy two passes after they were drained: each pass drains
     * every sample written before it began, and the copy follows its walk by microseconds, so it was
     * lost (a full ring, counted); they count marked.
     */
    private void flushUncopied(Set<Integer> pids, Set<Integer> alive) {
        for (var byTime : walksByTid.values()) {
            while (!byTime.isEmpty() && heldAt.getOrDefault(byTime.firstKey(), 0L) + 2 < passes) {
                heldAt.remove(byTime.firstKey());
                copiesLost++;
                onWalk(byTime.pollFirstEntry().getValue(), null, pids, alive);
            }
        }
    }

    private KernelWalkProgram.Record walkOf(PerfRecord.Sample s) {
        var byTime = walksByTid.get(s.tid());
        if (byTime == null) return null;
        var match = byTime.floorEntry(s.time());
        if (match != null) byTime.remove(match.getKey());
        byTime.headMap(s.time() - 1_000_000_000L).clear();
        return match == null ? null : match.getValue();
    }

    private void onWalk(KernelWalkProgram.Record r, Copy copy, Set<Integer> pids, Set<Integer> alive) {
        int pid = r.tgid();
        if (pids.add(pid)) alive.add(pid); // a child forked since (--children)
        if (stopRequest != null || (opt.count() > 0 && hits >= opt.count())) {
            dropped++;
            return;
        }
        if (!cap.admit(System.nanoTime())) {
            dropped++;
            capped++;
            disarm();
            return;
        }
        int stop = r.stopCode();
        if (copied(r)) {
            refresh(pid); // code mapped since (dlopen), or a process not known yet: later hits walk through it
        }
        if (copy != null && !oracle) {
            unwoundHere++; // this hit is unwound from its stack copy, in user space
        } else {
            if (stop >= 0 && stop < stops.length) stops[stop]++;
            if (stop != io.tansa.unwind.CompactRules.Stop.END.ordinal()) early++;
        }
        int location = addresses.location(pid, r.ip());
        long[] pcs = r.walk().pcs();
        if (location >= 0) {
            pcs[0] = addresses.of(pid)[location];
            if (copy != null) copy.regs()[io.tansa.unwind.Reg.RIP.ordinal()] = pcs[0];
        }
        Copy c = copy == null ? null : new Copy(copy.pid(), copy.tid(), location, copy.timeNanos(), copy.regs(), copy.stack());
        if (handler.onHit(new Hit(pid, r.tid(), location, r.timeNanos(), r, c))) hits++;
    }

    /** Registers the process's mappings again, at most every 10 ms per process. */
    private void refresh(int pid) {
        long now = System.nanoTime();
        Long at = registeredAt.get(pid);
        if (at != null && now - at < 10_000_000L) return;
        registeredAt.put(pid, now);
        try {
            walk.register(pid, symbols.apply(pid), true);
        } catch (Failure | SysException e) {
            // gone: its hits stay marked
        }
    }

    private void setEnabled(boolean on) {
        for (int fd : fds) {
            try {
                if (on) PerfEvent.enable(fd);
                else PerfEvent.disable(fd);
            } catch (SysException e) {
                // its thread is gone
            }
        }
    }

    private void close() {
        if (walk != null) {
            try {
                kernelStats = walk.stats();
                statsRead = true;
            } catch (SysException e) {
                // counters unreadable: the rings' LOST records stand
            }
        }
        if (armed) armedNanos += (endNanos >= 0 ? endNanos : System.nanoTime()) - armedSince;
        armed = false;
        PerfRing.closeAll(rings, fds);
        if (ringFds != null) for (int fd : ringFds) if (fd > 0) Files.close(fd);
        if (walk != null) walk.close();
        group.remove(opt.log());
    }


    private void log(String fmt, Object... args) {
        if (opt.log() != null) opt.log().accept(String.format(fmt, args));
    }
}
