package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRing;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Opens one perf event per (thread, cpu) of each target process, with {@code inherit} set by the
 * opener so that threads and processes created later carry the event too (their records go into
 * the parent's ring). Per-thread events are opened per cpu because the kernel refuses to mmap an
 * inherited event opened for "any cpu" (perf_mmap: {@code cpu == -1 && inherit}); all events of
 * one cpu share that cpu's ring (PERF_EVENT_IOC_SET_OUTPUT).
 */
public final class ThreadEvents {
    private ThreadEvents() {}

    /**
     * Opens the events of thread {@code tid} on {@code cpu}; returns their fds (the first gets the
     * cpu's ring unless it has one, the others write into it), or null when the thread is gone.
     */
    public interface Opener {
        int[] open(int tid, int cpu);
    }

    /**
     * What {@link #open(Collection, int[], int[], Opener, Listener)} tells its caller besides
     * opening: which threads it found, and when one listing round of new threads has its events.
     */
    public interface Listener {
        /** Thread {@code tid} of {@code pid} was listed for the first time; its events are opened next. */
        default void thread(int pid, int tid) {}

        /** The events of the threads new in one listing are open (e.g. enable them together now). */
        default void round() {}
    }

    /**
     * Opens events for every thread of every pid, mapping one ring of {@code ringPages} per cpu
     * into {@code rings}; returns the threads covered. Throws Failure(NO_SUCH_PROCESS) for a pid
     * without threads. The caller closes the fds and rings (also when this throws).
     */
    public static Set<Integer> open(Collection<Integer> pids, int ringPages, Opener opener, List<PerfRing> rings) {
        int[] cpus = ProcFs.onlineCpus().stream().mapToInt(Integer::intValue).toArray();
        int[] ringFd = new int[cpus.length];
        Arrays.fill(ringFd, -1);
        return open(pids, cpus, ringFd, ringPages, opener, rings, new Listener() {});
    }

    /**
     * As {@link #open(Collection, int, Opener, List)}, on rings the caller has mapped already:
     * every event opened on {@code cpus[i]} writes into the ring of {@code ringFds[i]}
     * (PERF_EVENT_IOC_SET_OUTPUT needs the same clockid on both events).
     */
    public static Set<Integer> open(Collection<Integer> pids, int[] cpus, int[] ringFds, Opener opener,
            Listener listener) {
        if (cpus.length != ringFds.length) throw new IllegalArgumentException("one ring per cpu");
        for (int fd : ringFds) if (fd < 0) throw new IllegalArgumentException("ring fd " + fd);
        return open(pids, cpus, ringFds.clone(), 0, opener, null, listener);
    }

    /** ringFd[i] < 0: the first event opened on cpus[i] gets a ring of {@code ringPages}, added to rings. */
    private static Set<Integer> open(Collection<Integer> pids, int[] cpus, int[] ringFd, int ringPages, Opener opener,
            List<PerfRing> rings, Listener listener) {
        Set<Integer> threads = new TreeSet<>();
        for (int pid : pids) {
            if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no process " + pid);
            // A thread created between listing and opening is covered only if its creator already had
            // its event; list again until no new thread shows up.
            Set<Integer> done = new LinkedHashSet<>();
            while (true) {
                List<Integer> todo = new ArrayList<>();
                for (int tid : tasks(pid)) if (done.add(tid)) todo.add(tid);
                if (todo.isEmpty()) break;
                for (int tid : todo) {
                    listener.thread(pid, tid);
                    for (int i = 0; i < cpus.length; i++) {
                        int[] fds = opener.open(tid, cpus[i]);
                        if (fds == null) break; // thread exited meanwhile
                        for (int fd : fds) {
                            if (ringFd[i] < 0) {
                                ringFd[i] = fd;
                                rings.add(PerfRing.map(fd, ringPages));
                            } else {
                                PerfEvent.setOutput(fd, ringFd[i]);
                            }
                        }
                    }
                }
                listener.round();
            }
            if (done.isEmpty()) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no process " + pid);
            threads.addAll(done);
        }
        return threads;
    }

    private static int[] tasks(int pid) {
        try {
            return ProcFs.tasks(pid);
        } catch (RuntimeException e) {
            return new int[0]; // exited meanwhile
        }
    }

    /**
     * One ring per cpu on a dummy software event of tansa's own thread (it records nothing), so
     * that the events writing into them can be closed and opened again (the rate cap) without
     * losing the rings (perf_event_open(2): PERF_COUNT_SW_DUMMY; PERF_EVENT_IOC_SET_OUTPUT needs
     * the same cpu and clock on both events). Returns the ring fds, one per {@code cpus[i]}; the
     * rings of {@code pages} pages, waking poll at {@code wakeupBytes}, are added to {@code rings}.
     */
    static int[] dummyRings(int[] cpus, int pages, int wakeupBytes, List<PerfRing> rings) {
        int[] ringFds = new int[cpus.length];
        for (int i = 0; i < cpus.length; i++) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_SOFTWARE;
            a.config = PerfEvent.SW_DUMMY;
            a.clockid = PerfEvent.CLOCK_MONOTONIC;
            a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_WATERMARK).flag(PerfEvent.BIT_DISABLED);
            a.wakeupEvents = wakeupBytes; // wakeup_watermark
            ringFds[i] = PerfEvent.open(a, 0, cpus[i], -1);
            rings.add(PerfRing.map(ringFds[i], pages));
        }
        return ringFds;
    }

    /**
     * The processes to open events in when the probe is put (back) into the targets: the first
     * time all of {@code pids}; at a re-arm those still alive and, with {@code children}, the
     * children they forked while the probe was out (those inherited nothing).
     */
    static List<Integer> toArm(Collection<Integer> pids, boolean first, boolean children) {
        List<Integer> live = new ArrayList<>();
        for (int pid : pids) if (first || ProcFs.alive(pid)) live.add(pid);
        if (children && !first) {
            for (int i = 0; i < live.size(); i++) {
                try {
                    for (int c : ProcFs.children(live.get(i))) if (!live.contains(c)) live.add(c);
                } catch (RuntimeException e) {
                    // exited meanwhile
                }
            }
        }
        return live;
    }

    /**
     * The sampling events of a kernel-owned engine on thread {@code tid} × {@code cpu}: one per
     * uprobe trace event of {@code eventIds}, every hit sampled with {@code sampleType} (user
     * registers and {@code stackCopy} bytes of stack where asked), CLOCK_MONOTONIC times, opened
     * disabled (enabled together once all are open: no location starts ahead of another),
     * inherited by threads born later and, with {@code children}, by forked children, gone at exec.
     * Each fd is added to {@code fds}; null when the thread is gone. {@code needs} is said when the
     * kernel refuses (PERMISSION).
     */
    static int[] uprobeSamplers(int[] eventIds, long sampleType, int stackCopy, boolean children, int tid, int cpu,
            List<Integer> fds, String needs) {
        int[] out = new int[eventIds.length];
        for (int i = 0; i < out.length; i++) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_TRACEPOINT;
            a.config = eventIds[i];
            a.samplePeriod = 1;
            a.sampleType = sampleType;
            a.sampleRegsUser = io.tansa.sys.PerfRecord.UNWIND_REGS;
            a.sampleStackUser = stackCopy;
            a.clockid = PerfEvent.CLOCK_MONOTONIC;
            a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_INHERIT).flag(PerfEvent.BIT_DISABLED)
                    .flag(PerfEvent.BIT_REMOVE_ON_EXEC);
            if (!children) a.flag(PerfEvent.BIT_INHERIT_THREAD);
            try {
                out[i] = PerfEvent.open(a, tid, cpu, -1);
                fds.add(out[i]);
            } catch (io.tansa.sys.SysException.ProcessGoneException e) {
                return null;
            } catch (io.tansa.sys.SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "perf_event_open on thread " + tid + ": " + e.getMessage()
                        + " (" + needs + ")", e);
            }
        }
        return out;
    }

    /**
     * Sets BPF program {@code progFd} on uprobe trace event {@code eventId} through a holder of its
     * own (see {@link RubyProbe#attach} for why not a sampling event): opened on target thread
     * {@code tid}, disabled (it counts nothing), not inherited, removed from its thread at an exec
     * as the samplers are. Returns the holder's fd; throws ProcessGoneException if the thread is gone.
     */
    static int programHolder(int eventId, int tid, int progFd) {
        PerfEvent.Attr a = new PerfEvent.Attr();
        a.type = PerfEvent.TYPE_TRACEPOINT;
        a.config = eventId;
        a.flag(PerfEvent.BIT_DISABLED).flag(PerfEvent.BIT_REMOVE_ON_EXEC);
        int fd = PerfEvent.open(a, tid, -1, -1);
        try {
            io.tansa.sys.Bpf.attach(fd, progFd);
        } catch (RuntimeException e) {
            io.tansa.sys.Files.close(fd);
            throw e;
        }
        return fd;
    }

    /**
     * The output rings of a BPF program: one PERF_COUNT_SW_BPF_OUTPUT event per cpu of
     * {@code cpus}, stored at its cpu in the PERF_EVENT_ARRAY map {@code eventsMap}, its ring of
     * {@code pages} pages added to {@code rings}, each fd passed to {@code keep} (its owner closes
     * it). {@code everyRecord}: wake the reader at each record (rare ones); else by watermark, when
     * a quarter is full (a wakeup is an irq_work raised from the probed thread's hit).
     */
    static void bpfOutputRings(List<Integer> cpus, int eventsMap, long sampleType, int pages, boolean everyRecord,
            java.util.function.IntConsumer keep, List<PerfRing> rings) {
        for (int cpu : cpus) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_SOFTWARE;
            a.config = PerfEvent.SW_BPF_OUTPUT;
            a.samplePeriod = 1;
            a.sampleType = sampleType;
            if (everyRecord) {
                a.wakeupEvents = 1;
            } else {
                a.flag(PerfEvent.BIT_WATERMARK);
                a.wakeupEvents = pages * PerfRing.PAGE / 4;
            }
            a.clockid = PerfEvent.CLOCK_MONOTONIC;
            a.flag(PerfEvent.BIT_USE_CLOCKID);
            int fd = PerfEvent.open(a, -1, cpu, -1);
            keep.accept(fd);
            rings.add(PerfRing.map(fd, pages));
            io.tansa.sys.Bpf.mapUpdate(eventsMap, cpu, fd);
        }
    }
}
