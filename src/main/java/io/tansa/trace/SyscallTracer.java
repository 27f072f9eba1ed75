package io.tansa.trace;

import io.tansa.Failure;
import io.tansa.probe.ThreadEvents;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.Signals;
import io.tansa.sys.Spawn;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Syscall tracing without stopping the target: the {@code raw_syscalls:sys_enter} and
 * {@code sys_exit} tracepoints as perf events, entry and exit joined per thread.
 *
 * <p>Coverage. One event pair per target thread and per CPU (pid = tid, cpu = N), all with
 * {@code inherit} so threads born later get the events from their creator (with
 * {@code inherit_thread} unless child processes are wanted). Per-CPU events are needed because
 * the kernel refuses to mmap an inherited per-task event with cpu = -1 (and SET_OUTPUT across
 * tasks needs a per-CPU ring); every event of one CPU writes into that CPU's ring, which belongs
 * to a dummy event of tansa's own (PERF_EVENT_IOC_SET_OUTPUT). Events are opened disabled and
 * enabled together. Threads are listed again until the list is stable; a thread born in that
 * window may have both inherited and its own events, whose records are identical (same ring,
 * tid, time and type) and are dropped as duplicates. A child process forked in the instant
 * between two of the opens may inherit only part of the events (then some of its calls show
 * unreturned); threads are covered by the re-listing.
 *
 * <p>Order. Each CPU's ring is in time order; a thread that migrates has its entry in one ring
 * and its exit in another. Records carry CLOCK_MONOTONIC time ({@code use_clockid}); each round
 * merges the rings by time up to a watermark {@link #LAG_NS} behind the drain (a record is
 * committed within microseconds of its timestamp), so every thread's records come in order and
 * pairing never interleaves.
 *
 * <p>Cost. The target is never stopped: the kernel writes two records per syscall into the ring
 * and tansa reads them later. With {@code -e}, a tracepoint filter ({@code id == N || ...})
 * drops other syscalls in the kernel. Records the ring had no room for are counted
 * ({@link #lost()}).
 */
public final class SyscallTracer implements AutoCloseable {
    /** How far behind the drain time records are held back for the cross-CPU merge. */
    static final long LAG_NS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final int POLL_MS = 50;
    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_RAW;
    /** Where the sample fields are: two records per traced syscall are read in place, not decoded. */
    private static final PerfRecord.SampleLayout LAYOUT = PerfRecord.SampleLayout.of(SAMPLE_TYPE);

    /**
     * What to trace: -p pids or a command, whether to follow child processes, how long (null =
     * until the targets exit or {@link #stop}), which syscall numbers (null = all), and the ring
     * size per CPU in pages (a power of two; 0 = default).
     */
    public record Options(List<Integer> pids, List<String> command, boolean children, Duration duration,
            Set<Integer> syscalls, int ringPages) {
        public Options {
            pids = List.copyOf(pids);
            command = List.copyOf(command);
            syscalls = syscalls == null ? null : Set.copyOf(syscalls);
        }
    }

    /** Receives joined calls in time order per thread (and thread renames). */
    public interface Listener {
        void call(Call c);

        /** A thread was named (prctl PR_SET_NAME, pthread_setname_np, exec). */
        default void comm(int pid, int tid, String name) {}

        /** End of a batch of calls (a good time to flush output). */
        default void flush() {}
    }

    private final Options options;
    private final int enterId, exitId;
    private final int idOff, argsOff, retOff; // offsets inside the raw tracepoint record
    private final int[] cpus;
    private final PerfRing[] rings;
    private final List<Integer> fds = new ArrayList<>();
    private final Set<Integer> roots = new LinkedHashSet<>();
    private final Set<Integer> seenPids = new HashSet<>();
    private final Set<Integer> seenTids = new HashSet<>();
    private record ThreadName(int pid, String name) {}
    /** Names of the threads found at attach, handed to the listener first. */
    private final Map<Integer, ThreadName> names = new HashMap<>();
    private final BitSet only;
    private Process child;
    private volatile boolean stopRequested;
    private long lost, records;
    private int attached;

    private SyscallTracer(Options options) {
        this.options = options;
        Tracefs.Format enter, exit;
        try {
            enter = Tracefs.format("raw_syscalls", "sys_enter");
            exit = Tracefs.format("raw_syscalls", "sys_exit");
        } catch (SysException.PermissionException e) {
            throw new Failure(Failure.Kind.PERMISSION, "cannot use the syscall tracepoints: " + e.getMessage()
                    + "; tansa trace needs root (CAP_SYS_ADMIN to mount tracefs, read access to"
                    + " /sys/kernel/tracing, CAP_PERFMON for the events)", e);
        } catch (SysException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "no raw_syscalls tracepoints (" + e.getMessage()
                    + "); the kernel needs CONFIG_FTRACE_SYSCALLS", e);
        }
        enterId = enter.id();
        exitId = exit.id();
        idOff = enter.field("id").orElseThrow().offset();
        argsOff = enter.field("args").orElseThrow().offset();
        retOff = exit.field("ret").orElseThrow().offset();
        if (exit.field("id").orElseThrow().offset() != idOff) throw new IllegalStateException("sys_exit id offset");
        cpus = ProcFs.onlineCpus().stream().mapToInt(Integer::intValue).toArray();
        rings = new PerfRing[cpus.length];
        if (options.syscalls() != null) {
            only = new BitSet();
            options.syscalls().forEach(only::set);
        } else {
            only = null;
        }
    }

    /**
     * Opens the events on every thread of the -p processes, or starts the command (stopped before
     * its exec, so tracing begins with the program's first syscall) and lets it run.
     */
    public static SyscallTracer attach(Options options) {
        if (options.pids().isEmpty() == options.command().isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, "give -p PID or -- COMMAND (not both)");
        }
        SyscallTracer t = new SyscallTracer(options);
        try {
            t.mapRings();
            if (options.command().isEmpty()) t.attachPids();
            else t.startCommand();
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    /**
     * One ring per CPU, on a dummy software event of tansa's own thread (it records nothing):
     * mapping it before the target's events exist keeps the mmap out of the attach window.
     */
    private void mapRings() {
        for (int i = 0; i < cpus.length; i++) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_SOFTWARE;
            a.config = PerfEvent.SW_DUMMY;
            a.clockid = PerfEvent.CLOCK_MONOTONIC; // SET_OUTPUT needs the same clock on both events
            a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_WATERMARK).flag(PerfEvent.BIT_DISABLED);
            a.wakeupEvents = ringPages() * PerfRing.PAGE / 4; // wakeup_watermark, bytes
            int fd = PerfEvent.open(a, 0, cpus[i], -1);
            fds.add(fd);
            rings[i] = PerfRing.map(fd, ringPages());
        }
    }

    private void attachPids() {
        for (int pid : options.pids()) {
            if (!ProcFs.alive(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
            roots.add(pid);
        }
        // New threads of a thread already covered inherit its events; ThreadEvents lists again for
        // the others. Each round opens its events disabled and enables them together afterwards, so
        // a thread or process forked meanwhile inherits a complete set (or, if forked in the middle
        // of the opens, a set enabled at once rather than one that starts recording halfway).
        Set<Integer> gone = new HashSet<>();
        int[] first = {fds.size()};
        Set<Integer> covered = ThreadEvents.open(roots, cpus, ringFds(), opener(false, gone),
                new ThreadEvents.Listener() {
                    @Override
                    public void thread(int pid, int tid) {
                        String name = ProcFs.comm(pid, tid, null);
                        if (name != null) names.put(tid, new ThreadName(pid, name));
                    }

                    @Override
                    public void round() {
                        for (int k = first[0]; k < fds.size(); k++) PerfEvent.enable(fds.get(k));
                        first[0] = fds.size();
                    }
                });
        for (int tid : covered) if (!gone.contains(tid)) attached++;
        if (attached == 0) throw new Failure(Failure.Kind.TARGET_EXITED, "target exited before tracing began");
    }

    private void startCommand() {
        // sh stops itself, the events are opened on it with enable_on_exec, SIGCONT lets it exec the
        // command: the first traced syscall is the command's own execve.
        // The JVM's own child (not sys.Spawn): nothing here waits for ptrace stops, and the JDK's
        // Process reports the command's exit status, which tansa trace exits with.
        try {
            child = new ProcessBuilder(Spawn.stoppedBeforeExec(options.command())).inheritIO().start();
        } catch (java.io.IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot start " + options.command().get(0) + ": " + e.getMessage());
        }
        int pid = (int) child.pid();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcFs.state(pid) != 'T') {
            if (!child.isAlive() || System.nanoTime() > deadline) {
                child.destroyForcibly();
                throw new Failure(Failure.Kind.TARGET_EXITED, "could not start " + options.command().get(0));
            }
            Thread.onSpinWait();
        }
        roots.add(pid);
        attached = 1;
        try {
            // the stopped shell has one thread; its events start at the exec (enable_on_exec)
            ThreadEvents.open(List.of(pid), cpus, ringFds(), opener(true, new HashSet<>()), new ThreadEvents.Listener() {});
        } catch (RuntimeException e) {
            child.destroyForcibly();
            throw e;
        }
        Signals.kill(pid, Signals.SIGCONT);
    }

    private int[] ringFds() {
        int[] r = new int[rings.length];
        for (int i = 0; i < rings.length; i++) r[i] = rings[i].fd();
        return r;
    }

    /**
     * Opens the enter/exit pair of a thread on one CPU (ThreadEvents points them at that CPU's
     * ring); null, and the thread in {@code gone}, when the thread is already gone.
     */
    private ThreadEvents.Opener opener(boolean onExec, Set<Integer> gone) {
        String filter = only == null ? null
                : only.stream().mapToObj(n -> "id == " + n).collect(Collectors.joining(" || "));
        return (tid, cpu) -> {
            int[] pair = new int[2];
            int k = 0;
            for (int id : new int[] {enterId, exitId}) {
                PerfEvent.Attr a = new PerfEvent.Attr();
                a.type = PerfEvent.TYPE_TRACEPOINT;
                a.config = id;
                a.samplePeriod = 1;
                a.sampleType = SAMPLE_TYPE;
                a.clockid = PerfEvent.CLOCK_MONOTONIC;
                a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_INHERIT).flag(PerfEvent.BIT_WATERMARK);
                if (!options.children()) a.flag(PerfEvent.BIT_INHERIT_THREAD);
                a.flag(PerfEvent.BIT_DISABLED);
                if (onExec) a.flag(PerfEvent.BIT_ENABLE_ON_EXEC);
                if (id == enterId) a.flag(PerfEvent.BIT_COMM);
                a.wakeupEvents = ringPages() * PerfRing.PAGE / 4; // wakeup_watermark, bytes
                int fd;
                try {
                    fd = PerfEvent.open(a, tid, cpu, -1);
                } catch (SysException.ProcessGoneException e) {
                    gone.add(tid);
                    return null; // an enter event opened just before is closed with the others
                } catch (SysException.PermissionException e) {
                    throw new Failure(Failure.Kind.PERMISSION, "perf_event_open on thread " + tid
                            + " refused: needs root or CAP_PERFMON (or kernel.perf_event_paranoid <= 1 for own"
                            + " processes)", e);
                }
                fds.add(fd);
                if (filter != null) {
                    try {
                        PerfEvent.setFilter(fd, filter);
                    } catch (SysException e) {
                        // the userspace check below still applies; the kernel just does not pre-filter
                    }
                }
                pair[k++] = fd;
            }
            return pair;
        };
    }

    private int ringPages() {
        if (options.ringPages() > 0) return options.ringPages();
        // 64 MiB in all, 64 KiB..16 MiB per CPU, a power of two: at ~150 bytes per syscall a ring
        // holds ~100k calls, enough for the reader to be off the CPU for a while on a busy machine
        int pages = Integer.highestOneBit(Math.max(16, (64 << 20) / PerfRing.PAGE / Math.max(1, cpus.length)));
        return Math.min(pages, 4096);
    }

    /** The started command (with -- CMD), else null. */
    public Process child() {
        return child;
    }

    /** Number of target threads the events were opened on (threads born later are not counted). */
    public int threadsAttached() {
        return attached;
    }

    /** Records the kernel dropped because a ring was full. */
    public long lost() {
        return lost;
    }

    /** Syscall records that reached tansa (entries and exits; with -e only the chosen syscalls'). */
    public long records() {
        return records;
    }

    /** Asks {@link #run} to finish (from another thread or a shutdown hook). */
    public void stop() {
        stopRequested = true;
    }

    // ---- the read loop ----

    /** Per-ring records not yet merged, in time order (struct of arrays). */
    private static final class Pending {
        long[] time = new long[1024], ret = new long[1024], args = new long[6 * 1024];
        int[] tid = new int[1024], pid = new int[1024], nr = new int[1024];
        boolean[] exit = new boolean[1024];
        int head, tail;
        // the last record taken, to drop the identical copy from a double-covered thread
        long lastTime = -1;
        int lastTid;
        boolean lastExit;

        int add() {
            if (tail == time.length) {
                if (head > 0) compact();
                if (tail == time.length) grow();
            }
            return tail++;
        }

        private void compact() {
            int n = tail - head;
            System.arraycopy(time, head, time, 0, n);
            System.arraycopy(ret, head, ret, 0, n);
            System.arraycopy(args, 6 * head, args, 0, 6 * n);
            System.arraycopy(tid, head, tid, 0, n);
            System.arraycopy(pid, head, pid, 0, n);
            System.arraycopy(nr, head, nr, 0, n);
            System.arraycopy(exit, head, exit, 0, n);
            head = 0;
            tail = n;
        }

        private void grow() {
            int c = time.length * 2;
            time = Arrays.copyOf(time, c);
            ret = Arrays.copyOf(ret, c);
            args = Arrays.copyOf(args, 6 * c);
            tid = Arrays.copyOf(tid, c);
            pid = Arrays.copyOf(pid, c);
            nr = Arrays.copyOf(nr, c);
            exit = Arrays.copyOf(exit, c);
        }
    }

    /** Per-thread open entry. */
    private static final class Open {
        boolean pending;
        int nr;
        long time;
        final long[] args = new long[6];
    }

    private static final BitSet FORKS = new BitSet(), NO_RETURN = new BitSet();

    static {
        for (String n : List.of("clone", "clone3", "fork", "vfork")) FORKS.set(SyscallTable.number(n));
        for (String n : List.of("exit", "exit_group")) NO_RETURN.set(SyscallTable.number(n));
    }

    private final Map<Integer, Open> open = new HashMap<>();
    private int lastTid = -1;
    private Open lastOpen;
    private final Call call = new Call();

    /**
     * Reads and joins records until the targets exit, the duration passes or {@link #stop} is
     * called; then delivers what is left (calls still open are delivered unreturned).
     */
    public void run(Listener listener) {
        Pending[] pending = new Pending[rings.length];
        for (int i = 0; i < rings.length; i++) pending[i] = new Pending();
        long end = options.duration() == null ? Long.MAX_VALUE : System.nanoTime() + options.duration().toNanos();
        boolean[] hup = new boolean[rings.length];
        boolean last = false;
        names.forEach((tid, n) -> listener.comm(n.pid(), tid, n.name()));
        // vCPU threads blocked in KVM_RUN now (halted guests) are named before their first call
        for (int pid : roots) vcpuFds.put(pid, io.tansa.proc.Vcpus.fds(pid));
        for (int pid : roots) io.tansa.proc.Vcpus.blockedInRun(pid).forEach((tid, v) -> nameVcpu(listener, pid, tid, v));
        while (true) {
            long now = System.nanoTime();
            for (int i = 0; i < rings.length; i++) {
                Pending p = pending[i];
                rings[i].drain(rec -> read(rec, p, listener));
            }
            merge(pending, last ? Long.MAX_VALUE : now - LAG_NS, listener);
            listener.flush();
            if (last) break;
            if (stopRequested || now >= end || !targetsRunning()) {
                // one more full drain: records written before this point are in the rings now
                last = true;
                continue;
            }
            waitForData(hup, (int) Math.min(POLL_MS, Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - now))));
        }
        for (Map.Entry<Integer, Open> e : open.entrySet()) {
            Open o = e.getValue();
            if (o.pending) deliver(listener, tgidOf(e.getKey()), e.getKey(), o, false, 0, -1);
        }
        open.clear();
        listener.flush();
    }

    private final Map<Integer, Integer> tgids = new HashMap<>();

    private int tgidOf(int tid) {
        return tgids.getOrDefault(tid, tid);
    }

    private void waitForData(boolean[] hup, int timeoutMs) {
        int n = 0;
        int[] polled = new int[rings.length];
        int[] index = new int[rings.length];
        for (int i = 0; i < rings.length; i++) {
            if (!hup[i]) {
                index[n] = i;
                polled[n++] = rings[i].fd();
            }
        }
        if (n == 0) {
            sleep(timeoutMs);
            return;
        }
        short[] rev = Files.poll(Arrays.copyOf(polled, n), timeoutMs);
        // POLLHUP would mean the ring's event is gone; stop polling it (the drain still runs)
        for (int k = 0; k < n; k++) if ((rev[k] & Files.POLLHUP) != 0) hup[index[k]] = true;
    }

    private static void sleep(int ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** True while a target lives: the -p processes or the command, and with children every process seen. */
    private boolean targetsRunning() {
        if (child != null) {
            if (child.isAlive()) return true;
        } else {
            for (int pid : roots) if (ProcFs.alive(pid)) return true;
        }
        if (options.children()) for (int pid : seenPids) if (ProcFs.alive(pid)) return true;
        return false;
    }

    private void read(ByteBuffer rec, Pending p, Listener listener) {
        if (rec.getInt(0) == PerfEvent.RECORD_SAMPLE) {
            sample(rec, p, listener);
            return;
        }
        switch (PerfRecord.decode(rec, SAMPLE_TYPE)) {
            case PerfRecord.Lost l -> lost += l.lost();
            case PerfRecord.Comm c -> listener.comm(c.pid(), c.tid(), c.comm());
            default -> { }
        }
    }

    /**
     * A raw_syscalls record, read in place ({@link #LAYOUT}): the tracepoint's fields (format from
     * tracefs) in the sample's raw bytes.
     */
    private void sample(ByteBuffer rec, Pending p, Listener listener) {
        int raw = LAYOUT.raw();
        int common = rec.getShort(raw) & 0xffff; // common_type: the trace event id
        boolean isExit = common == exitId;
        int nr = (int) rec.getLong(raw + idOff);
        int tid = rec.getInt(LAYOUT.tid());
        long time = rec.getLong(LAYOUT.time());
        if (time == p.lastTime && tid == p.lastTid && isExit == p.lastExit) return;
        p.lastTime = time;
        p.lastTid = tid;
        p.lastExit = isExit;
        records++;
        // -e is a kernel filter; this check only matters if the kernel refused the filter
        if (nr < 0 || (only != null && !only.get(nr))) return;
        int k = p.add();
        int pid = rec.getInt(LAYOUT.pid());
        p.time[k] = time;
        p.tid[k] = tid;
        p.pid[k] = pid;
        p.nr[k] = nr;
        p.exit[k] = isExit;
        if (isExit) {
            p.ret[k] = rec.getLong(raw + retOff);
        } else {
            int a = raw + argsOff;
            for (int j = 0; j < 6; j++) p.args[6 * k + j] = rec.getLong(a + 8 * j);
        }
        if (seenPids.add(pid)) tgids.put(tid, pid);
        if (seenTids.add(tid) && !names.containsKey(tid)) {
            // a thread born while traced: name it now, while it most likely still exists
            String name = ProcFs.comm(pid, tid, null);
            if (name != null) listener.comm(pid, tid, name);
        }
    }

    /** Hands out the records older than {@code watermark} from all rings, oldest first. */
    private void merge(Pending[] pending, long watermark, Listener listener) {
        while (true) {
            int best = -1;
            long bestTime = watermark;
            for (int i = 0; i < pending.length; i++) {
                Pending p = pending[i];
                if (p.head < p.tail && p.time[p.head] < bestTime) {
                    best = i;
                    bestTime = p.time[p.head];
                }
            }
            if (best < 0) break;
            Pending p = pending[best];
            int k = p.head++;
            join(p, k, listener);
        }
        for (Pending p : pending) if (p.head == p.tail) p.head = p.tail = 0;
    }

    private void join(Pending p, int k, Listener listener) {
        int tid = p.tid[k];
        Open o;
        if (tid == lastTid) {
            o = lastOpen;
        } else {
            o = open.computeIfAbsent(tid, t -> new Open());
            tgids.putIfAbsent(tid, p.pid[k]);
            lastTid = tid;
            lastOpen = o;
        }
        if (!p.exit[k]) {
            // an entry while another is open: that one's exit never came (lost); deliver it unreturned
            if (o.pending) deliver(listener, p.pid[k], tid, o, false, 0, -1);
            o.pending = true;
            o.nr = p.nr[k];
            o.time = p.time[k];
            System.arraycopy(p.args, 6 * k, o.args, 0, 6);
            // exit and exit_group never return: deliver them now, in order
            if (NO_RETURN.get(o.nr)) deliver(listener, p.pid[k], tid, o, false, 0, -1);
            return;
        }
        if (o.pending && o.nr == p.nr[k]) {
            o.pending = false;
            deliver(listener, p.pid[k], tid, o, true, p.ret[k], p.time[k]);
            return;
        }
        if (o.pending) deliver(listener, p.pid[k], tid, o, false, 0, -1);
        o.pending = false;
        // a new thread or process returning 0 from the creator's clone/fork: the same call, seen twice
        if (p.ret[k] == 0 && FORKS.get(p.nr[k])) return;
        // an exit whose entry was before the attach (or lost)
        Call c = call;
        c.pid = p.pid[k];
        c.tid = tid;
        c.nr = p.nr[k];
        c.entered = false;
        c.returned = true;
        c.ret = p.ret[k];
        c.timeNs = p.time[k];
        c.durationNs = -1;
        listener.call(c);
    }

    private void deliver(Listener listener, int pid, int tid, Open o, boolean returned, long ret, long exitTime) {
        Call c = call;
        c.pid = pid;
        c.tid = tid;
        c.nr = o.nr;
        System.arraycopy(o.args, 0, c.args, 0, 6);
        c.entered = true;
        c.returned = returned;
        c.ret = ret;
        c.timeNs = o.time;
        c.durationNs = returned ? exitTime - o.time : -1;
        o.pending = false;
        if (c.nr == NR_IOCTL && (int) c.args[1] == (int) io.tansa.sys.Kvm.KVM_CREATE_VCPU && returned && ret >= 0) {
            // a vCPU made while traced: its fd is the return, its index the argument (a VM started since)
            vcpuFds.computeIfAbsent(pid, p -> new HashMap<>()).put((int) ret, (int) c.args[2]);
        }
        if (c.nr == NR_IOCTL && (int) c.args[1] == (int) io.tansa.sys.Kvm.KVM_RUN && !vcpuNamed.contains(tid)) {
            // the fds listed at attach first: qemu may be gone by the time its calls are read
            Integer v = vcpuFds.getOrDefault(pid, Map.of()).get((int) c.args[0]);
            nameVcpu(listener, pid, tid, v != null ? v : io.tansa.proc.Vcpus.vcpuOfFd(pid, c.args[0]));
        }
        listener.call(c);
    }

    private static final int NR_IOCTL = io.tansa.sys.Kvm.NR_IOCTL;
    /** Threads already named from their vCPU fd (or found not to need it). */
    private final Set<Integer> vcpuNamed = new HashSet<>();
    /** Per target process, its kvm-vcpu fds at attach (fd → vCPU index). */
    private final Map<Integer, Map<Integer, Integer>> vcpuFds = new HashMap<>();

    /**
     * A qemu thread with no name of its own (its comm is still the process's) is named
     * "vCPU N" from the kvm-vcpu:N fd it passes to KVM_RUN (proc.Vcpus).
     */
    private void nameVcpu(Listener listener, int pid, int tid, int index) {
        vcpuNamed.add(tid);
        if (index < 0) return;
        String proc = names.containsKey(pid) ? names.get(pid).name() : ProcFs.comm(pid, pid, null);
        String own = names.containsKey(tid) ? names.get(tid).name() : ProcFs.comm(pid, tid, null);
        // a thread born after the attach and gone by the time its calls are read: its comm was
        // inherited from the process (a vCPU thread qemu named itself was seen under that name)
        if (own == null) own = proc;
        String n = ProcFs.vcpuName(own, proc, index);
        if (n != null && !n.equals(own)) {
            names.put(tid, new ThreadName(pid, n));
            listener.comm(pid, tid, n);
        }
    }

    /** Closes every event (the target keeps running untouched) and unmaps the rings. */
    @Override
    public void close() {
        for (int fd : fds) {
            try {
                Files.close(fd);
            } catch (SysException e) {
                // already closed
            }
        }
        fds.clear();
        for (int i = 0; i < rings.length; i++) {
            if (rings[i] != null) rings[i].close();
            rings[i] = null;
        }
    }
}
