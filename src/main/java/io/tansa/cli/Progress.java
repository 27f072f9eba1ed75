package io.tansa.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of a bounded capture on stderr. While stderr is a terminal (or TANSA_PROGRESS=1;
 * TANSA_PROGRESS=0 turns it off) one line is redrawn in place, at most 4 times a second:
 * hits, captures per second, elapsed time and what will stop the capture. {@link #finish} then
 * prints a one-line summary — always, terminal or not — unless quiet. Colors only on a terminal
 * and never when NO_COLOR is set (https://no-color.org).
 * <p>Callers call {@link #start} once attached, {@link #update} after each hit or from their poll
 * loop (it is cheap and thread-safe; it redraws only when due), and {@link #finish} once with the
 * stop reason.
 */
public final class Progress {
    private static final long REDRAW_NANOS = 250_000_000L;

    private final boolean quiet;
    private final String what;
    private final long countLimit;
    private final Duration timeLimit;
    private final PrintStream err;
    private final boolean live;
    private final boolean color;
    private final LongSupplier clock;
    private long start;
    private long lastDraw = Long.MIN_VALUE;
    private long hits;
    private boolean drawn;
    private boolean finished;

    /**
     * @param quiet      -q: print nothing at all
     * @param what       what is counted, e.g. "hits on crypt_ra"
     * @param countLimit the count that stops the capture, or 0 for none
     * @param timeLimit  the duration that stops the capture, or null for none
     */
    public Progress(boolean quiet, String what, long countLimit, Duration timeLimit) {
        this(quiet, what, countLimit, timeLimit, System.err, liveWanted(), System.getenv("NO_COLOR") == null
                || System.getenv("NO_COLOR").isEmpty(), System::nanoTime);
    }

    Progress(boolean quiet, String what, long countLimit, Duration timeLimit, PrintStream err, boolean live,
            boolean colorAllowed, LongSupplier clock) {
        this.quiet = quiet;
        this.what = what;
        this.countLimit = countLimit;
        this.timeLimit = timeLimit;
        this.err = err;
        this.live = live && !quiet;
        this.color = this.live && colorAllowed;
        this.clock = clock;
        this.start = clock.getAsLong();
    }

    /**
     * Restarts the clock: call it when the capture really starts (targets attached), so elapsed
     * time and rate do not include the setup. Without it the clock starts at construction.
     */
    public synchronized void start() {
        start = clock.getAsLong();
    }

    /** Records the hit count so far; redraws the live line when a quarter second has passed. */
    public synchronized void update(long hits) {
        this.hits = hits;
        if (!live || finished) return;
        long now = clock.getAsLong();
        if (lastDraw != Long.MIN_VALUE && now - lastDraw < REDRAW_NANOS) return;
        lastDraw = now;
        // \r + "erase to end of line" (ECMA-48 EL) redraws in place; not a color, so sent even with NO_COLOR.
        err.print("\r\033[K" + liveLine(now));
        err.flush();
        drawn = true;
    }

    /** Clears the live line and prints the summary, e.g. "1000 hits on crypt_ra in 1.2s (833/s); stopped: count reached". */
    public synchronized void finish(String reason) {
        if (finished) return;
        finished = true;
        if (quiet) return;
        if (drawn) err.print("\r\033[K");
        err.println(summary(clock.getAsLong(), reason));
        err.flush();
    }

    String liveLine(long now) {
        double secs = (now - start) / 1e9;
        StringBuilder b = new StringBuilder();
        b.append(bold(Long.toString(hits))).append(' ').append(what)
                .append("  ").append(rate(hits, secs)).append("/s  ").append(elapsed(secs));
        String stops = stops();
        if (!stops.isEmpty()) b.append("  ").append(dim("(stops at " + stops + ")"));
        return b.toString();
    }

    String summary(long now, String reason) {
        double secs = (now - start) / 1e9;
        return hits + " " + what + " in " + elapsed(secs) + " (" + rate(hits, secs) + "/s)"
                + (reason == null || reason.isEmpty() ? "" : "; stopped: " + reason);
    }

    private String stops() {
        StringBuilder b = new StringBuilder();
        if (countLimit > 0) b.append(countLimit);
        if (timeLimit != null) b.append(b.isEmpty() ? "" : " or ").append(elapsed(timeLimit.toMillis() / 1000.0));
        return b.toString();
    }

    private static String rate(long hits, double secs) {
        return secs <= 0 ? "0" : String.format(Locale.ROOT, "%.0f", hits / secs);
    }

    static String elapsed(double secs) {
        if (secs < 60) return String.format(Locale.ROOT, "%.1fs", secs);
        long s = (long) secs;
        return s < 3600 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60)
                : String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s % 3600 / 60, s % 60);
    }

    private String bold(String s) {
        return color ? "\033[1m" + s + "\033[0m" : s;
    }

    private String dim(String s) {
        return color ? "\033[2m" + s + "\033[0m" : s;
    }

    /** TANSA_PROGRESS=1/0 forces the live line on/off; otherwise only when stderr is a terminal. */
    static boolean liveWanted() {
        String env = System.getenv("TANSA_PROGRESS");
        if ("1".equals(env)) return true;
        if ("0".equals(env)) return false;
        return System.console() != null && stderrIsTerminal();
    }

    /** Whether fd 2 is a tty: the JDK has no isatty for stderr; /proc/self/fd/2 names the device (proc(5)). */
    private static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
