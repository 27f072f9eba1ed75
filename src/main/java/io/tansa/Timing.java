package io.tansa;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a run's time goes: with {@code TANSA_TIMING=1} in the environment, each {@link #mark}
 * prints one line to stderr: the milliseconds since the process started and since the last
 * mark, the CPU time of all its threads (JIT compilers included) and of the marking thread, and
 * the downcalls linked meanwhile ({@link #linked}; TANSA_TIMING=2 lists each), e.g.
 * <pre>tansa: timing   182.4 ms (+  12.1)  cpu  240.3 (+ 11.0)  this thread  150.2 (+  9.0)  symbol resolved</pre>
 * The start is the process's start from /proc/self/stat against /proc/uptime (10 ms
 * resolution), or {@code TANSA_T0} when set (ns since the epoch, as {@code date +%s%N} prints
 * it: {@code TANSA_TIMING=1 TANSA_T0=$(date +%s%N) tansa …} times from the shell's command).
 * Off, a mark is one test of a constant.
 */
public final class Timing {
    private Timing() {}

    private static final String LEVEL = System.getenv("TANSA_TIMING");
    private static final boolean ON = LEVEL != null;
    private static final PrintStream ERR = System.err;
    /** System.nanoTime of the start, and at the last mark; CPU ns at the last mark (all threads, the marking one). */
    private static long startNano = Long.MIN_VALUE, lastNano, lastCpu, lastThread;
    private static int linkedCount;
    private static long linkedNanos;

    /** Whether marks print. */
    public static boolean on() {
        return ON;
    }

    /** Prints the time of {@code phase} (with TANSA_TIMING only). */
    public static void mark(String phase) {
        if (ON) print(phase);
    }

    /** Counts a downcall linked ({@code sys.Libc}), {@code nanos} long (with TANSA_TIMING only). */
    public static synchronized void linked(String function, long nanos) {
        linkedCount++;
        linkedNanos += nanos;
        if ("2".equals(LEVEL)) ERR.printf("tansa: timing   linked %s (%.1f ms, %s)%n", function, nanos / 1e6,
                Thread.currentThread().getName());
    }

    private static synchronized void print(String phase) {
        long now = System.nanoTime();
        if (startNano == Long.MIN_VALUE) {
            startNano = now - sinceStart();
            lastNano = startNano;
        }
        long all = 0, self = threadCpu(Path.of("/proc/thread-self"));
        try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
            for (Path t : tasks) all += threadCpu(t);
        } catch (IOException e) {
            // no /proc: zero
        }
        String linked = linkedCount == 0 ? "" : String.format(" [%d downcalls linked, %.1f ms]", linkedCount, linkedNanos / 1e6);
        ERR.printf("tansa: timing %7.1f ms (+%6.1f)  cpu %6.1f (+%5.1f)  this thread %6.1f (+%5.1f)  %s%s%n",
                (now - startNano) / 1e6, (now - lastNano) / 1e6, all / 1e6, (all - lastCpu) / 1e6, self / 1e6,
                (self - lastThread) / 1e6, phase, linked);
        linkedCount = 0;
        linkedNanos = 0;
        lastNano = now;
        lastCpu = all;
        lastThread = self;
    }

    /** ns a thread ran on a cpu: the first field of its schedstat (Documentation/scheduler/sched-stats.rst). */
    private static long threadCpu(Path task) {
        try {
            String s = Files.readString(task.resolve("schedstat")).trim();
            return Long.parseLong(s.substring(0, s.indexOf(' ')));
        } catch (IOException | RuntimeException e) {
            return 0; // ended meanwhile, or no /proc
        }
    }

    /** ns since the process started: TANSA_T0, else starttime of /proc/self/stat (clock ticks since boot) against /proc/uptime. */
    private static long sinceStart() {
        String env = System.getenv("TANSA_T0");
        if (env != null) {
            try {
                java.time.Instant wall = java.time.Instant.now();
                return wall.getEpochSecond() * 1_000_000_000L + wall.getNano() - Long.parseLong(env.trim());
            } catch (NumberFormatException e) {
                // fall through to the process's start
            }
        }
        try {
            String stat = Files.readString(Path.of("/proc/self/stat"));
            // proc_pid_stat(5): field 22 is starttime; the fields after the ")" of comm start at field 3
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[22 - 3]);
            double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split(" ")[0]);
            return Math.max(0, (long) (uptime * 1e9) - ticks * 10_000_000L); // USER_HZ is 100 on Linux
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
