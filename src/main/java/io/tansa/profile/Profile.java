package io.tansa.profile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Aggregation of stacks into distinct paths with counts. Independent of where the stacks came
 * from and of how they will be shown (rbspy's Outputter shape: record, then read).
 */
public final class Profile {
    /** A distinct path and how many stacks had it; frames innermost first. */
    public record Path(List<Frame> frames, long count) {}

    /** A probed location (one definition of the symbol) and its hits. */
    public record Location(String symbol, String module, long address, long hits) {}

    private final Map<String, PathAcc> paths = new LinkedHashMap<>();
    private final List<Stack> stacks = new ArrayList<>();
    private final List<String> locationNames = new ArrayList<>();
    private final List<String> locationModules = new ArrayList<>();
    private final List<Long> locationAddrs = new ArrayList<>();
    private final List<Long> locationHits = new ArrayList<>();
    private final Map<String, String> meta = new LinkedHashMap<>();
    private boolean keepStacks = true;
    private long total;

    private static final class PathAcc {
        final List<Frame> frames;
        long count;
        PathAcc(List<Frame> f) { frames = f; }
    }

    public synchronized int addLocation(String symbol, String module, long address) {
        locationNames.add(symbol);
        locationModules.add(module);
        locationAddrs.add(address);
        locationHits.add(0L);
        return locationNames.size() - 1;
    }

    public synchronized void keepStacks(boolean keep) { keepStacks = keep; }

    /** Aggregation identity of a path: two stacks with equal keys are the same path. */
    public static String pathKey(List<Frame> frames) {
        StringBuilder k = new StringBuilder();
        for (Frame f : frames) k.append(f.key()).append('\u0001');
        return k.toString();
    }

    public synchronized void record(Stack s) {
        paths.computeIfAbsent(pathKey(s.frames()), x -> new PathAcc(s.frames())).count++;
        if (s.location() >= 0 && s.location() < locationHits.size()) {
            locationHits.set(s.location(), locationHits.get(s.location()) + 1);
        }
        if (keepStacks) stacks.add(s);
        total++;
    }

    /**
     * Adds {@code count} hits of an already aggregated path (a recording or a shaped profile
     * without raw stacks); no {@link Stack} is kept for them.
     */
    public synchronized void record(List<Frame> frames, long count) {
        if (count <= 0) return;
        paths.computeIfAbsent(pathKey(frames), x -> new PathAcc(List.copyOf(frames))).count += count;
        total += count;
    }

    /** Adds hits to a location directly (for paths recorded without their stacks). */
    public synchronized void addLocationHits(int location, long hits) {
        locationHits.set(location, locationHits.get(location) + hits);
    }

    public synchronized long total() { return total; }

    /** Distinct paths, most frequent first (ties: first seen first). */
    public synchronized List<Path> paths() {
        List<Path> out = new ArrayList<>();
        for (PathAcc a : paths.values()) out.add(new Path(a.frames, a.count));
        out.sort(Comparator.comparingLong(Path::count).reversed());
        return out;
    }

    public synchronized List<Stack> stacks() { return List.copyOf(stacks); }

    public synchronized List<Location> locations() {
        List<Location> out = new ArrayList<>();
        for (int i = 0; i < locationNames.size(); i++) {
            out.add(new Location(locationNames.get(i), locationModules.get(i), locationAddrs.get(i), locationHits.get(i)));
        }
        return out;
    }

    /** Free-form facts about the capture (target, symbol, stop reason), shown by renderers. */
    public synchronized void meta(String key, String value) { meta.put(key, value); }

    private final List<Identity> targets = new ArrayList<>();

    /** The traced processes as they are named both ways (host pid, pid in its container, container). */
    public synchronized void targets(List<Identity> ids) {
        targets.clear();
        targets.addAll(ids);
    }

    public synchronized List<Identity> targets() { return List.copyOf(targets); }
    public synchronized Map<String, String> meta() { return new LinkedHashMap<>(meta); }

    /** Prefix of the meta keys that hold the run's accounting of hits (numbers). */
    public static final String ACCOUNTING = "accounting.";

    /**
     * One number of the run's accounting of hits ({@code captured}, {@code after_end},
     * {@code rate_capped}, {@code lost}, {@code truncated}, {@code kernel_hits}, {@code armed_share});
     * kept in the meta (so shaping and recordings carry it) under {@link #ACCOUNTING}.
     */
    public synchronized void account(String key, Number value) { meta.put(ACCOUNTING + key, value.toString()); }

    /** The accounting of hits, key → number as text, in the order recorded. */
    public synchronized Map<String, String> accounting() {
        Map<String, String> out = new LinkedHashMap<>();
        meta.forEach((k, v) -> {
            if (k.startsWith(ACCOUNTING)) out.put(k.substring(ACCOUNTING.length()), v);
        });
        return out;
    }
}
