package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.symbols.ProbeTarget;
import io.tansa.sys.Errno;
import io.tansa.sys.Files;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.SysException;
import java.util.Collection;
import java.util.List;

/**
 * The stop engine's trigger strategy, one set of events per thread: a uprobe per target location
 * (perf_event_open on the uprobe PMU) or, for {@link StopEngine#runTimed}, a cpu-clock timer; each
 * with {@code sigtrap}, so the thread that hits gets a synchronous SIGTRAP whose si_perf_data is
 * the location (-1 for the timer).
 *
 * <p>The rate cap takes the trigger out of the target for the rest of a window ({@link #disarm})
 * and puts it back at the next ({@link #arm}). A disabled uprobe event still traps (the kernel keeps
 * the breakpoint while any event of the probe is open: PERF_EVENT_IOC_DISABLE only stops it from
 * counting — measured: a call loop runs as slow with the event disabled as enabled), so uprobes
 * are closed and opened again; a disabled timer costs nothing, so timers are only disabled.
 */
final class Trigger {
    private final List<ProbeTarget> targets;
    /** The cpu-clock period of each thread's event, in ns; 0 with uprobes. */
    private final long clockPeriodNanos;
    /** The timer events sample kernel-mode time too, until the kernel refuses it (perf_event_paranoid). */
    private boolean clockKernel = true;
    private final int uprobeType;
    private volatile boolean armed = true; // read by the watchdog
    /** The events' counts (the kernel's count of hits), read as each is closed. */
    private long kernelHits;
    private boolean countKnown = true;
    private long armedSince = System.nanoTime();
    private long armedNanos;
    private long startNanos = System.nanoTime();

    private Trigger(List<ProbeTarget> targets, long clockPeriodNanos, int uprobeType) {
        this.targets = targets;
        this.clockPeriodNanos = clockPeriodNanos;
        this.uprobeType = uprobeType;
    }

    static Trigger uprobes(List<ProbeTarget> targets) {
        return new Trigger(List.copyOf(targets), 0, PerfEvent.pmuType("uprobe"));
    }

    static Trigger timer(long periodNanos) {
        return new Trigger(List.of(), periodNanos, -1);
    }

    boolean timed() {
        return clockPeriodNanos > 0;
    }

    long periodNanos() {
        return clockPeriodNanos;
    }

    int locations() {
        return targets.size();
    }

    boolean armed() {
        return armed;
    }

    /** Opens the events of one thread (none while the rate cap holds uprobes out; a timer disabled). */
    void open(Tracees.Task t) {
        if (clockPeriodNanos > 0) {
            openClock(t);
            return;
        }
        if (!armed) return; // opened at the next arm
        for (int i = 0; i < targets.size(); i++) {
            ProbeTarget pt = targets.get(i);
            PerfEvent.Attr a = uprobe(uprobeType, pt.file().toString(), pt.fileOffset(), i); // i comes back as si_perf_data
            try {
                t.fds.add(PerfEvent.open(a, t.tid, -1, -1));
            } catch (SysException.ProcessGoneException e) {
                return; // thread exited; its exit is reported by waitpid
            } catch (SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "cannot create uprobe: " + e.getMessage());
            } catch (SysException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "cannot create uprobe on " + pt.file() + " at offset 0x"
                        + Long.toHexString(pt.fileOffset()) + " (" + pt.symbol() + "): " + e.getMessage()
                        + (e.errno() == Errno.EINVAL ? " (is the offset an instruction boundary?)" : ""));
            }
        }
    }

    /** The timer trigger of {@link StopEngine#runTimed} on one thread. */
    private void openClock(Tracees.Task t) {
        while (true) {
            PerfEvent.Attr a = new PerfEvent.Attr();
            a.type = PerfEvent.TYPE_SOFTWARE;
            a.config = PerfEvent.SW_CPU_CLOCK;
            a.samplePeriod = clockPeriodNanos;
            a.sigData = -1;
            a.flag(PerfEvent.BIT_SIGTRAP).flag(PerfEvent.BIT_REMOVE_ON_EXEC).flag(PerfEvent.BIT_EXCLUDE_HV);
            if (!clockKernel) a.flag(PerfEvent.BIT_EXCLUDE_KERNEL);
            if (!armed) a.flag(PerfEvent.BIT_DISABLED);
            try {
                t.fds.add(PerfEvent.open(a, t.tid, -1, -1));
                return;
            } catch (SysException.ProcessGoneException e) {
                return; // thread exited; its exit is reported by waitpid
            } catch (SysException.PermissionException e) {
                if (clockKernel) {
                    clockKernel = false; // perf_event_paranoid 2 without CAP_PERFMON: user-mode time only
                    continue;
                }
                throw new Failure(Failure.Kind.PERMISSION, "cannot create a cpu-clock event (needs CAP_PERFMON or "
                        + "sysctl kernel.perf_event_paranoid <= 2): " + e.getMessage());
            } catch (SysException e) {
                throw new Failure(Failure.Kind.UNSUPPORTED, "cannot create a cpu-clock event with sigtrap (kernel 5.13+): "
                        + e.getMessage());
            }
        }
    }

    /**
     * A uprobe at {@code offset} of {@code path} that sends the hitting thread a synchronous
     * SIGTRAP (si_perf_data = {@code sigData}) on every hit, and is removed by an exec.
     */
    static PerfEvent.Attr uprobe(int uprobeType, String path, long offset, long sigData) {
        PerfEvent.Attr a = PerfEvent.uprobe(uprobeType, path, offset);
        a.sigData = sigData;
        return a.flag(PerfEvent.BIT_SIGTRAP);
    }

    /** Closes the events of one thread, adding their counts to the kernel's count of hits first. */
    void close(Tracees.Task t) {
        // disabled first: a hit between reading a count and closing its event would trap but not be counted
        if (clockPeriodNanos == 0) setEnabled(List.of(t), false);
        for (int fd : t.fds) {
            if (clockPeriodNanos == 0) {
                try {
                    kernelHits += PerfEvent.readCount(fd);
                } catch (SysException e) {
                    countKnown = false;
                }
            }
            Files.close(fd);
        }
        t.fds.clear();
    }

    /** Takes the trigger out of every thread until {@link #arm} (the rate cap's window is full). */
    void disarm(Collection<Tracees.Task> tasks) {
        if (!armed) return;
        if (clockPeriodNanos > 0) setEnabled(tasks, false);
        else for (Tracees.Task t : tasks) close(t);
        armed = false;
        armedNanos += System.nanoTime() - armedSince;
    }

    /** Puts the trigger back into every thread. */
    void arm(Collection<Tracees.Task> tasks) {
        if (armed) return;
        armed = true;
        armedSince = System.nanoTime();
        if (clockPeriodNanos > 0) setEnabled(tasks, true);
        else for (Tracees.Task t : tasks) open(t);
    }

    private static void setEnabled(Collection<Tracees.Task> tasks, boolean on) {
        for (Tracees.Task t : tasks) {
            for (int fd : t.fds) {
                try {
                    if (on) PerfEvent.enable(fd);
                    else PerfEvent.disable(fd);
                } catch (SysException e) {
                    // the thread is exiting; its fd goes with it
                }
            }
        }
    }

    /** The kernel's count of uprobe hits over the run (call after every event is closed); -1 unknown or timed. */
    long kernelHits() {
        return clockPeriodNanos > 0 || !countKnown ? -1 : kernelHits;
    }

    /** The events are in every thread from now on: the time the armed share is measured over begins. */
    void started() {
        startNanos = armedSince = System.nanoTime();
        armedNanos = 0;
    }

    private long endNanos = -1;

    /** The run's loop ended (teardown follows): the time the armed share is measured over ends. */
    void ended() {
        if (endNanos < 0) endNanos = System.nanoTime();
    }

    /** Share of the time from {@link #started} to {@link #ended} (or now) that the trigger was armed. */
    double armedShare() {
        long now = endNanos >= 0 ? endNanos : System.nanoTime();
        long total = now - startNanos;
        long on = armedNanos + (armed ? now - armedSince : 0);
        return total <= 0 ? 1 : Math.min(1, (double) on / total);
    }
}
