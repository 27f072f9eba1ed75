package io.tansa.top;

import io.tansa.probe.ThreadEvents;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Errno;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Timed CPU sampling through perf_event_open(2): hardware cycles when the machine has a PMU,
 * else the cpu-clock software event (VMs). Two scopes:
 * <ul>
 * <li>{@link #attach}: one event per (thread, cpu) of each target with {@code inherit = 1}
 * ({@link ThreadEvents}), so threads and processes the targets create later are sampled too. Only
 * the targets' CPU time is sampled; the rest of the machine pays nothing.</li>
 * <li>{@link #systemWide}: one event per cpu for every process ({@code exclude_idle}: the idle
 * task is not a process anyone wants in the table).</li>
 * </ul>
 * Samples carry IP, TID, TIME (CLOCK_MONOTONIC), CPU, PERIOD and, with callchains, the
 * kernel's frame-pointer call chain. COMM, FORK/EXIT and MMAP2 records come through the same rings.
 */
public final class Sampler implements AutoCloseable {
    /**
     * What to sample: frequency in Hz, call chains, kernel-mode IPs, and {@code stackCopy} bytes of
     * user stack with the user registers per sample for DWARF unwinding (0: the kernel's
     * frame-pointer chain for user code too).
     */
    public record Options(int frequency, boolean callchain, boolean kernel, int stackCopy) {
        public Options(int frequency, boolean callchain, boolean kernel) {
            this(frequency, callchain, kernel, 0);
        }
    }

    private static final int RING_PAGES = 128; // 512 KiB per cpu, perf record's default for root

    private final Options options;
    private final List<Integer> fds = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    private final Set<Integer> threads = new TreeSet<>();
    private final long sampleType;
    private int type = PerfEvent.TYPE_HARDWARE;
    private long config = PerfEvent.HW_CPU_CYCLES;
    private boolean kernel;
    private long lost;

    private Sampler(Options o) {
        this.options = o;
        this.kernel = o.kernel();
        long st = PerfEvent.SAMPLE_IP | PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_CPU
                | PerfEvent.SAMPLE_PERIOD;
        if (o.callchain()) st |= PerfEvent.SAMPLE_CALLCHAIN;
        if (o.callchain() && o.stackCopy() > 0) st |= PerfEvent.SAMPLE_REGS_USER | PerfEvent.SAMPLE_STACK_USER;
        this.sampleType = st;
        if (o.frequency() <= 0) throw new Failure(Failure.Kind.USAGE, "frequency must be at least 1 Hz");
    }

    /**
     * Samples every thread of the processes {@code pids}, including threads and children they
     * create later. Throws Failure(NO_SUCH_PROCESS) for a pid that does not exist.
     */
    public static Sampler attach(Collection<Integer> pids, Options o) {
        Sampler s = new Sampler(o);
        try {
            s.threads.addAll(ThreadEvents.open(pids, s.ringPages(), (tid, cpu) -> {
                int fd = s.openFor(tid, cpu, true);
                return fd < 0 ? null : new int[] {fd};
            }, s.rings));
            if (s.rings.isEmpty()) throw new Failure(Failure.Kind.TARGET_EXITED, "the target exited before sampling began");
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Samples every process on every online cpu. */
    public static Sampler systemWide(Options o) {
        Sampler s = new Sampler(o);
        try {
            for (int cpu : ProcFs.onlineCpus()) {
                int fd = s.openFor(-1, cpu, false);
                s.rings.add(PerfRing.map(fd, s.ringPages()));
            }
            return s;
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** Data pages per ring: with stack copies, room for a quarter second at 999 Hz. */
    private int ringPages() {
        return options.callchain() && options.stackCopy() > 0 ? 1024 : RING_PAGES;
    }

    /** Opens one event; -1 when the thread is gone. Picks the event type on the first call. */
    private int openFor(int tid, int cpu, boolean inherit) {
        while (true) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = type;
            a.config = config;
            a.samplePeriod = options.frequency();
            a.sampleType = sampleType;
            a.clockid = PerfEvent.CLOCK_MONOTONIC;
            a.flag(PerfEvent.BIT_FREQ).flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_EXCLUDE_HV)
                    .flag(PerfEvent.BIT_COMM).flag(PerfEvent.BIT_TASK).flag(PerfEvent.BIT_MMAP)
                    .flag(PerfEvent.BIT_MMAP2);
            if (inherit) a.flag(PerfEvent.BIT_INHERIT);
            if (tid == -1) a.flag(PerfEvent.BIT_EXCLUDE_IDLE);
            if (!kernel) a.flag(PerfEvent.BIT_EXCLUDE_KERNEL).flag(PerfEvent.BIT_EXCLUDE_CALLCHAIN_KERNEL);
            if ((sampleType & PerfEvent.SAMPLE_STACK_USER) != 0) {
                // user frames come from unwinding the copy, not from the frame-pointer chain
                a.sampleRegsUser = PerfRecord.UNWIND_REGS;
                a.sampleStackUser = options.stackCopy();
                a.flag(PerfEvent.BIT_EXCLUDE_CALLCHAIN_USER);
            }
            try {
                int fd = PerfEvent.open(a, tid, cpu, -1);
                fds.add(fd);
                return fd;
            } catch (SysException.ProcessGoneException e) {
                return -1;
            } catch (SysException e) {
                if (type == PerfEvent.TYPE_HARDWARE && fds.isEmpty()
                        && (e.errno() == Errno.ENOENT || e.errno() == Errno.EOPNOTSUPP || e.errno() == Errno.EINVAL)) {
                    // No PMU (typical VM): fall back to the hrtimer-driven software clock, as perf does.
                    type = PerfEvent.TYPE_SOFTWARE;
                    config = PerfEvent.SW_CPU_CLOCK;
                    continue;
                }
                if (e instanceof SysException.PermissionException && kernel && fds.isEmpty()) {
                    // perf_event_paranoid 2 still allows user-mode samples of one's own processes.
                    kernel = false;
                    continue;
                }
                int max = maxSampleRate();
                if (e.errno() == Errno.EINVAL && max > 0 && options.frequency() > max) {
                    // The kernel lowers this limit by itself when sampling interrupts take too long.
                    throw new Failure(Failure.Kind.USAGE, "-F " + options.frequency() + " is above the kernel's"
                            + " limit of " + max + " Hz (sysctl kernel.perf_event_max_sample_rate)");
                }
                if (e instanceof SysException.PermissionException) {
                    throw new Failure(Failure.Kind.PERMISSION, e.getMessage(), e);
                }
                throw e;
            }
        }
    }

    /** "cycles" or "cpu-clock": the event that drives the samples. */
    public String event() {
        return type == PerfEvent.TYPE_HARDWARE ? "cycles" : "cpu-clock";
    }

    /** False when kernel-mode samples were refused (perf_event_paranoid) and only user mode is sampled. */
    public boolean kernelSampled() {
        return kernel;
    }

    /** Threads the events were opened on (later threads inherit them and are not listed). */
    public Set<Integer> threads() {
        return Set.copyOf(threads);
    }

    /** Records the kernel dropped because a ring was full (PERF_RECORD_LOST). */
    public long lost() {
        return lost;
    }

    /** Hands every waiting record of every ring to {@code sink}; returns how many. */
    public int drain(Consumer<PerfRecord> sink) {
        int n = 0;
        for (PerfRing r : rings) {
            n += r.drain(b -> {
                PerfRecord rec = PerfRecord.decode(b, sampleType);
                if (rec instanceof PerfRecord.Lost l) lost += l.lost();
                sink.accept(rec);
            });
        }
        return n;
    }

    @Override
    public void close() {
        // Closing the fds ends the events everywhere, inherited copies included: nothing stays in the target.
        PerfRing.closeAll(rings, fds);
    }

    private static int maxSampleRate() {
        try {
            return Integer.parseInt(java.nio.file.Files.readString(
                    Path.of("/proc/sys/kernel/perf_event_max_sample_rate")).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
