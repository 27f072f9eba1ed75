package io.tansa.probe;

/**
 * The {@code --rate} bound of both probe engines: at most {@code rate} captured hits per
 * one-second window (rate ≤ 0: no cap). Over the cap, the engine takes its probe out of the
 * target until {@link #windowEnd()} (closes its uprobe events: a disabled one still traps) so that
 * the target stops paying for hits nobody takes.
 */
public final class RateCap {
    private static final long WINDOW = 1_000_000_000L;
    private final double rate;
    private long windowStart = System.nanoTime();
    private long windowHits;

    public RateCap(double rate) {
        this.rate = rate;
    }

    /** Counts a hit at {@code now} (System.nanoTime) and says whether it is within the cap. */
    public boolean admit(long now) {
        if (rate <= 0) return true;
        if (now - windowStart >= WINDOW) restart(now);
        if (windowHits >= rate) return false;
        windowHits++;
        return true;
    }

    /** Whether the window at {@code now} has had its cap of hits already (then a hit now is held back). */
    public boolean full(long now) {
        return rate > 0 && now - windowStart < WINDOW && windowHits >= rate;
    }

    /** When the current window ends: the time to enable events again. */
    public long windowEnd() {
        return windowStart + WINDOW;
    }

    /** Starts a new window at {@code now} (the events are enabled again). */
    public void restart(long now) {
        windowStart = now;
        windowHits = 0;
    }
}
