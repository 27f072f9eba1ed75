package io.tansa.profile;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Compares two profiles path by path: each path's share of its profile's hits before and after,
 * so captures of different lengths compare fairly. Paths present on one side only have share 0
 * on the other.
 */
public final class ProfileDiff {
    private ProfileDiff() {}

    /** One path's counts and shares (percent) in both profiles; frames innermost first. */
    public record Row(List<Frame> frames, long before, long after, double beforeShare, double afterShare) {
        /** Change of share in percentage points (after − before). */
        public double delta() { return afterShare - beforeShare; }
    }

    /**
     * Rows whose share changed by at least {@code minDelta} percentage points (and by more than
     * rounding noise when {@code minDelta} is 0), largest |delta| first (ties: larger share after first).
     */
    public static List<Row> compare(Profile before, Profile after, double minDelta) {
        Map<String, long[]> counts = new LinkedHashMap<>();
        Map<String, List<Frame>> frames = new LinkedHashMap<>();
        for (Profile.Path p : before.paths()) {
            String k = Profile.pathKey(p.frames());
            frames.putIfAbsent(k, p.frames());
            counts.computeIfAbsent(k, x -> new long[2])[0] += p.count();
        }
        for (Profile.Path p : after.paths()) {
            String k = Profile.pathKey(p.frames());
            frames.putIfAbsent(k, p.frames());
            counts.computeIfAbsent(k, x -> new long[2])[1] += p.count();
        }
        List<Row> rows = new ArrayList<>();
        for (Map.Entry<String, long[]> e : counts.entrySet()) {
            long b = e.getValue()[0], a = e.getValue()[1];
            Row r = new Row(frames.get(e.getKey()), b, a, share(b, before.total()), share(a, after.total()));
            double d = Math.abs(r.delta());
            if (d > 1e-9 && d >= minDelta) rows.add(r);
        }
        rows.sort(Comparator.comparingDouble((Row r) -> -Math.abs(r.delta())).thenComparingDouble(r -> -r.afterShare()));
        return rows;
    }

    private static double share(long count, long total) {
        return total == 0 ? 0.0 : 100.0 * count / total;
    }
}
