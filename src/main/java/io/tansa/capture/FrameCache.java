package io.tansa.capture;

import io.tansa.profile.Frame;
import java.util.HashMap;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Named frames per process and lookup address, for both hit → Stack builders ({@link StackCapture}
 * for probe hits, {@link SampleStacks} for timed samples): the same callers recur at every hit, and
 * naming one (symbol table search, line table) is what costs. Bounded per process (cleared when
 * full: an unloaded object's names go too); forgotten for a process that maps new code or execs.
 */
public final class FrameCache {
    private final int limit;
    private final boolean cacheUnknown;
    private final Map<Integer, Map<Long, Frame>> byPid = new HashMap<>();

    /**
     * @param limit most addresses kept per process
     * @param cacheUnknown whether an address nothing named ({@code [unknown]}) is kept too (else it
     *     is asked again next time: an object mapped since, a dlopen, may name it)
     */
    public FrameCache(int limit, boolean cacheUnknown) {
        this.limit = limit;
        this.cacheUnknown = cacheUnknown;
    }

    /** The frame of {@code lookup} in {@code pid}, named by {@code name} the first time. */
    public Frame get(int pid, long lookup, LongFunction<Frame> name) {
        Map<Long, Frame> c = byPid.computeIfAbsent(pid, p -> new HashMap<>());
        Frame f = c.get(lookup);
        if (f != null) return f;
        f = name.apply(lookup);
        if (cacheUnknown || !SampleStacks.UNKNOWN.equals(f.name())) {
            if (c.size() >= limit) c.clear();
            c.put(lookup, f);
        }
        return f;
    }

    /** Forgets the names of {@code pid} (new code mapped, an exec). */
    public void forget(int pid) {
        byPid.remove(pid);
    }
}
