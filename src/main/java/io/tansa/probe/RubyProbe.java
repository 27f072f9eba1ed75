package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.elf.Relocation;
import io.tansa.elf.Symbol;
import io.tansa.proc.ProcFs;
import io.tansa.ruby.RubyReader;
import io.tansa.ruby.RubySnapshots;
import io.tansa.symbols.Module;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.sys.Bpf;
import io.tansa.sys.Btf;
import io.tansa.sys.Mem;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The kernel side of Ruby frames without stopping the thread: the {@link RubySnapshots} program,
 * its maps, and one BPF_OUTPUT perf event with its ring per cpu, where the program writes one
 * snapshot per hit. {@link CopyEngine} attaches the program to its uprobe events and joins
 * each snapshot to the hit's sample.
 */
public final class RubyProbe implements AutoCloseable {
    /** One hit's snapshot as written by the program. */
    public record Record(int pid, int tid, long timeNanos, byte[] raw) {}

    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_RAW;

    private final List<Integer> fds = new ArrayList<>();
    /** The events holding the program on the trace events ({@link #attach}). */
    private final List<Integer> holders = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    /** Per cpu: where the program says a snapshot shows new methods (it only wakes the ring thread). */
    private final List<PerfRing> wakeRings = new ArrayList<>();
    private int progFd = -1;
    private RubySnapshots.EcLocation location;
    private volatile Consumer<Record> early;

    private RubyProbe() {}

    /**
     * Loads the program for the Ruby of {@code pid} (its reader and symbols) and opens the cpus'
     * output rings of {@code ringPages} pages each. Throws Failure(UNSUPPORTED) saying why when
     * this kernel or this Ruby cannot do it (no BTF, no eBPF, a TLS model it does not know).
     */
    public static RubyProbe load(int pid, RubyReader reader, ProcessSymbols syms, int ringPages) {
        RubyProbe p = new RubyProbe();
        try {
            RubySnapshots.EcLocation at = p.location = ecLocation(pid, syms);
            io.tansa.Timing.mark("Ruby execution context located (kernel BTF read)");
            int scratch = p.keep(Bpf.mapCreate(Bpf.MAP_TYPE_PERCPU_ARRAY, 4, RubySnapshots.valueSize(reader), 1));
            List<Integer> cpus = ProcFs.onlineCpus();
            int events = p.keep(Bpf.mapCreate(Bpf.MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, cpus.getLast() + 1));
            ThreadEvents.bpfOutputRings(cpus, events, SAMPLE_TYPE, ringPages, false, p::keep, p.rings);
            // the wake: methods not seen before wake tansa at once (RubySnapshots.program)
            int seen = p.keep(Bpf.mapCreate(Bpf.MAP_TYPE_LRU_HASH, RubySnapshots.SEEN_KEY, RubySnapshots.SEEN_VALUE, 1 << 16));
            int wake = p.keep(Bpf.mapCreate(Bpf.MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, cpus.getLast() + 1));
            ThreadEvents.bpfOutputRings(cpus, wake, PerfEvent.SAMPLE_RAW, 1, true, p::keep, p.wakeRings); // rare: a new method's first hits
            io.tansa.Timing.mark("Ruby snapshot maps and rings made");
            p.progFd = p.keep(Bpf.progLoad(Bpf.PROG_TYPE_KPROBE, RubySnapshots.program(reader, at, scratch, events, seen, wake),
                    "tansa_ruby"));
            return p;
        } catch (SysException e) {
            p.close();
            throw new Failure(Failure.Kind.UNSUPPORTED, "cannot snapshot Ruby frames in the kernel: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /** Where the program finds each thread's execution context. */
    public RubySnapshots.EcLocation location() {
        return location;
    }

    private int keep(int fd) {
        fds.add(fd);
        return fd;
    }

    /**
     * Runs the program at every hit of the uprobe trace event {@code eventId}, in any thread and
     * process whose perf events probe it. The kernel keeps the program per trace event, but
     * removes it from the trace event when <em>the perf event it was set on, or any inherited copy
     * of that event</em>, is freed: set on one of the sampler's inherited events, the first forked
     * child or thread to exit would take the program away from every other. So it is set on an
     * event of its own, opened on target thread {@code tid} (already probed: it adds no breakpoint
     * anywhere, where one on tansa's own thread would trap tansa's calls of a probed libc
     * function), disabled (it counts nothing), not inherited, freed only by {@link #close} — also
     * after its thread exits. Throws ProcessGoneException if that thread is gone.
     */
    public void attach(int eventId, int tid) {
        // removed from its thread at an exec, as the sampler's events are: the new program gets no
        // breakpoint from it (the kernel keeps the event, and the program, until the fd closes)
        holders.add(ThreadEvents.programHolder(eventId, tid, progFd));
    }

    /**
     * Closes every event {@link #attach} opened: the program leaves the trace events, and the
     * holders no longer keep the breakpoints in the target (any open perf event of a uprobe trace
     * event on a thread keeps its breakpoint in that thread's address space, disabled or not).
     * The rate cap does this when it takes the probe out; {@link #attach} again puts it back.
     */
    public void detachAll() {
        for (int fd : holders) Files.close(fd);
        holders.clear();
    }

    /** The output rings, drained by {@link #drain}, and the wake rings: poll them all. */
    List<PerfRing> rings() {
        List<PerfRing> all = new ArrayList<>(rings);
        all.addAll(wakeRings);
        return all;
    }

    /**
     * Every snapshot is also handed to {@code c} as soon as it is taken from the kernel's ring
     * (on the ring thread: {@code c} must only queue), before its sample reaches the hit handler:
     * for naming what it shows while its process still lives.
     */
    public void onEachSnapshot(Consumer<Record> c) {
        early = c;
    }

    /** Moves every snapshot waiting in the rings to {@code sink} (and the {@linkplain #onEachSnapshot early consumer}). */
    int drain(Consumer<Record> sink) {
        int n = 0;
        Consumer<Record> first = early;
        // the wakes first: the snapshot of a wake taken here was written before it, so is drained below
        for (PerfRing r : wakeRings) r.drain(b -> {});
        for (PerfRing r : rings) {
            n += r.drain(b -> {
                if (PerfRecord.decode(b, SAMPLE_TYPE) instanceof PerfRecord.Sample s) {
                    Record rec = new Record(s.pid(), s.tid(), s.time(), s.raw());
                    if (first != null) first.accept(rec);
                    sink.accept(rec);
                }
            });
        }
        return n; // a lost snapshot shows as a sample without one (CopyEngine counts those)
    }

    @Override
    public void close() {
        detachAll();
        PerfRing.closeAll(wakeRings, new ArrayList<>());
        PerfRing.closeAll(rings, fds);
    }

    /**
     * Where {@code ruby_current_ec} is for every thread of {@code pid}: the fs base offset in the
     * kernel's task_struct (BTF), libruby's TLS module id (the word the dynamic linker wrote at its
     * R_X86_64_DTPMOD64 relocation; 1, the executable's, for a ruby without a shared libruby) and
     * the variable's offset in that module's TLS block.
     */
    public static RubySnapshots.EcLocation ecLocation(int pid, ProcessSymbols syms) {
        return RubySnapshots.locate(pid, io.tansa.ruby.Symbols.of(pid, syms)); // ruby: 2.7 global, 3.3+ hidden TLS
    }

    private static final int R_X86_64_DTPMOD64 = 16; // elf.h
}
