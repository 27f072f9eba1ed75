package io.tansa.probe;


import io.tansa.Failure;
import io.tansa.elf.ElfFile;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.symbols.Module;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.sys.Bpf;
import io.tansa.sys.BpfMap;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import io.tansa.unwind.CompactRules;
import io.tansa.unwind.KernelWalkProgram;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The kernel side of the kernel stack walk: the {@link KernelWalkProgram}, its maps, the cpus'
 * BPF_OUTPUT rings it writes into, and the per-process tables of executable mappings, which
 * tansa keeps current ({@link #register}: at the start, and again when a walk reports a pc in
 * no known mapping or a process it has no table for). Every object's {@link CompactRules} rows
 * are written once into the mmap'ed rows array, shared by all processes that map the object.
 * Everything is fds: closing them (also the kernel, when tansa dies) removes it all.
 */
public final class KernelWalk implements AutoCloseable {
    /** Frames walked at most (a power of two); per run of the program, {@link #FRAMES_PER_CALL}. */
    public static final int MAX_FRAMES = 256;
    public static final int FRAMES_PER_CALL = 8;
    /** Default capacity of the rows array: 2^20 rows, 16 MiB. */
    public static final int DEFAULT_ROWS = 1 << 20;
    private static final int MAX_PROCS = 4096;
    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_RAW;

    private final List<Integer> fds = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    private int rowsFd, procsFd, statsFd, progFd = -1;
    private BpfMap.Mapped rows;
    private int rowCapacity, nextRow;
    private final Map<ElfFile, int[]> placed = new IdentityHashMap<>();
    private final Consumer<String> log;
    /** Instructions of the program (for the report). */
    private int insns;

    private KernelWalk(Consumer<String> log) {
        this.log = log;
    }

    /**
     * Creates the maps and rings and loads the program. {@code oracle}: the program lets the uprobe
     * event write its own sample too (registers and stack copy), for {@code --check-walk}. Throws
     * Failure(UNSUPPORTED) saying why when this kernel refuses (no eBPF, verifier, memlock).
     */
    public static KernelWalk load(int ringPages, int rowCapacity, boolean oracle, Consumer<String> log) {
        KernelWalk w = new KernelWalk(log);
        try {
            w.rowCapacity = rowCapacity;
            w.rowsFd = w.keep(BpfMap.create(BpfMap.TYPE_ARRAY, 4, CompactRules.ROW_BYTES, rowCapacity, BpfMap.F_MMAPABLE));
            w.rows = BpfMap.map(w.rowsFd, (long) rowCapacity * CompactRules.ROW_BYTES);
            w.procsFd = w.keep(BpfMap.create(BpfMap.TYPE_HASH, 4, KernelWalkProgram.PROCS_VALUE, MAX_PROCS, 0));
            int scratch = w.keep(BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, 4, KernelWalkProgram.scratchSize(MAX_FRAMES), 1, 0));
            w.statsFd = w.keep(BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, 4, 8 * KernelWalkProgram.STATS, 1, 0));
            int progs = w.keep(BpfMap.create(BpfMap.TYPE_PROG_ARRAY, 4, 4, 1, 0));
            List<Integer> cpus = ProcFs.onlineCpus();
            int events = w.keep(BpfMap.create(Bpf.MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, cpus.getLast() + 1, 0));
            ThreadEvents.bpfOutputRings(cpus, events, SAMPLE_TYPE, ringPages, false, w::keep, w.rings);
            long[] prog = KernelWalkProgram.program(new KernelWalkProgram.Maps(w.rowsFd, w.procsFd, scratch, w.statsFd,
                    progs, events), MAX_FRAMES, FRAMES_PER_CALL, oracle ? 1 : 0);
            w.insns = prog.length;
            w.progFd = w.keep(Bpf.progLoad(Bpf.PROG_TYPE_KPROBE, prog, "tansa_kwalk"));
            BpfMap.updateInt(progs, 0, w.progFd);
            return w;
        } catch (SysException e) {
            w.close();
            throw new Failure(Failure.Kind.UNSUPPORTED, "cannot walk stacks in the kernel: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            w.close();
            throw e;
        }
    }

    /**
     * Loads the program with {@code framesPerCall} frames per run against small maps, with the
     * verifier's statistics (BPF_LOG_STATS), and unloads it: the verifier's summary ("processed N
     * insns (limit 1000000) ..."), prefixed by the program's size. Throws Bpf.VerifierException when
     * the verifier refuses it. For measuring this kernel's limits.
     */
    public static String verifierStats(int framesPerCall) {
        List<Integer> fds = new ArrayList<>();
        try {
            int rows = BpfMap.create(BpfMap.TYPE_ARRAY, 4, CompactRules.ROW_BYTES, 16, BpfMap.F_MMAPABLE);
            fds.add(rows);
            int procs = BpfMap.create(BpfMap.TYPE_HASH, 4, KernelWalkProgram.PROCS_VALUE, 16, 0);
            fds.add(procs);
            int scratch = BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, 4, KernelWalkProgram.scratchSize(MAX_FRAMES), 1, 0);
            fds.add(scratch);
            int stats = BpfMap.create(Bpf.MAP_TYPE_PERCPU_ARRAY, 4, 8 * KernelWalkProgram.STATS, 1, 0);
            fds.add(stats);
            int progs = BpfMap.create(BpfMap.TYPE_PROG_ARRAY, 4, 4, 1, 0);
            fds.add(progs);
            int events = BpfMap.create(Bpf.MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 1, 0);
            fds.add(events);
            long[] prog = KernelWalkProgram.program(new KernelWalkProgram.Maps(rows, procs, scratch, stats, progs, events),
                    MAX_FRAMES, framesPerCall, 0);
            BpfMap.Loaded l = BpfMap.progLoadLogged(Bpf.PROG_TYPE_KPROBE, prog, "tansa_kwalk_v", 4 /* BPF_LOG_STATS */);
            fds.add(l.fd());
            return prog.length + " instructions; " + l.log().trim().replace('\n', ' ');
        } finally {
            for (int fd : fds) io.tansa.sys.Files.close(fd);
        }
    }

    private final List<Integer> holders = new ArrayList<>();

    private int keep(int fd) {
        fds.add(fd);
        return fd;
    }

    public int instructions() {
        return insns;
    }

    public int rowsUsed() {
        return nextRow;
    }

    /**
     * Writes (or rewrites) the table of {@code pid}'s executable mappings from {@code syms} (read
     * again first when {@code refresh}), placing the rows of objects not seen before.
     */
    public synchronized void register(int pid, ProcessSymbols syms, boolean refresh) {
        if (refresh) syms.refresh();
        record Entry(long start, long end, long bias, int first, int count) {}
        List<Entry> entries = new ArrayList<>();
        for (Module m : syms.modules()) {
            int[] at = m.elf() == null ? new int[] {0, 0} : place(m);
            for (Mapping map : m.mappings()) {
                if (map.executable()) entries.add(new Entry(map.start(), map.end(), m.bias(), at[0], at[1]));
            }
        }
        entries.sort(Comparator.comparingLong(Entry::start));
        if (entries.size() > KernelWalkProgram.MAX_MAPPINGS) {
            log("process %d has %d executable mappings; the kernel walk knows the first %d (beyond: ends marked)", pid,
                    entries.size(), KernelWalkProgram.MAX_MAPPINGS);
            entries = entries.subList(0, KernelWalkProgram.MAX_MAPPINGS);
        }
        ByteBuffer v = ByteBuffer.allocate(KernelWalkProgram.PROCS_VALUE).order(ByteOrder.LITTLE_ENDIAN);
        v.putInt(0, entries.size());
        int off = KernelWalkProgram.PROCS_HEADER;
        for (Entry e : entries) {
            v.putLong(off, e.start()).putLong(off + 8, e.end()).putLong(off + 16, e.bias()).putInt(off + 24, e.first())
                    .putInt(off + 28, e.count());
            off += KernelWalkProgram.MAPPING_BYTES;
        }
        BpfMap.update(procsFd, key(pid), v.array());
    }

    /** Forgets a process that exited. */
    public void unregister(int pid) {
        BpfMap.delete(procsFd, key(pid));
    }

    private static byte[] key(int pid) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, pid).array();
    }

    /** {first row, rows} of the module's object, its rows written into the array on first sight. */
    private int[] place(Module m) {
        int[] at = placed.get(m.elf());
        if (at != null) return at;
        CompactRules c = CompactRules.of(m.elf());
        if (c == null || c.size() == 0) {
            at = new int[] {0, 0};
        } else if (c.size() > KernelWalkProgram.MAX_ROWS_PER_OBJECT || nextRow + c.size() > rowCapacity) {
            log("%s: %d unwind rows do not fit the kernel walker's table; its frames end the walk (marked)", m.name(),
                    c.size());
            at = new int[] {0, 0};
        } else {
            ByteBuffer b = ByteBuffer.allocate(c.size() * CompactRules.ROW_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < c.size(); i++) c.encode(i, b);
            rows.put((long) nextRow * CompactRules.ROW_BYTES, b.array(), b.position());
            at = new int[] {nextRow, c.size()};
            nextRow += c.size();
        }
        placed.put(m.elf(), at);
        return at;
    }

    /**
     * Runs the program at every hit of uprobe trace event {@code eventId}, held by a disabled,
     * uninherited event of its own on target thread {@code tid} (see {@link RubyProbe#attach}: a
     * program set on an inherited event goes when any copy of it is freed). Throws
     * ProcessGoneException if the thread is gone.
     */
    public void attach(int eventId, int tid) {
        holders.add(ThreadEvents.programHolder(eventId, tid, progFd));
    }

    /**
     * Closes every holder of {@link #attach}: with the sampling events closed too, no event of the
     * uprobes is open and the kernel takes the breakpoints out (the rate cap's disarm).
     */
    public synchronized void detachAll() {
        for (int fd : holders) io.tansa.sys.Files.close(fd);
        holders.clear();
    }

    List<PerfRing> rings() {
        return rings;
    }

    /** Moves every walk waiting in the rings to {@code sink}; returns how many; lost records go to {@code lost}. */
    int drain(Consumer<KernelWalkProgram.Record> sink, java.util.function.LongConsumer lost) {
        int n = 0;
        for (PerfRing r : rings) {
            n += r.drain(b -> {
                PerfRecord rec = PerfRecord.decode(b, SAMPLE_TYPE);
                if (rec instanceof PerfRecord.Sample s && s.raw() != null) sink.accept(KernelWalkProgram.decode(s.raw()));
                else if (rec instanceof PerfRecord.Lost l) lost.accept(l.lost());
            });
        }
        return n;
    }

    /** The program's counters summed over the cpus ({@link KernelWalkProgram#STATS} of them). */
    public long[] stats() {
        int cpus = BpfMap.possibleCpus(), each = 8 * KernelWalkProgram.STATS;
        byte[] v = BpfMap.lookup(statsFd, key(0), cpus * each);
        long[] out = new long[KernelWalkProgram.STATS];
        if (v == null) return out;
        ByteBuffer b = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN);
        for (int c = 0; c < cpus; c++) for (int i = 0; i < out.length; i++) out[i] += b.getLong(c * each + 8 * i);
        return out;
    }

    private void log(String fmt, Object... args) {
        if (log != null) log.accept(String.format(fmt, args));
    }

    @Override
    public synchronized void close() {
        detachAll();
        PerfRing.closeAll(rings, fds);
        rings.clear();
        fds.clear();
        if (rows != null) rows.close();
    }
}
