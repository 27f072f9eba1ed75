package io.tansa.symbols;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Close names for "did you mean": small edit distance (with transpositions), then substrings. */
final class Suggest {
    private Suggest() {}

    private record Scored(String name, int score) {}

    /** Up to {@code max} of {@code names} closest to {@code wanted}, best first. */
    static List<String> closest(String wanted, Iterable<String> names, int max) {
        String w = wanted.toLowerCase(Locale.ROOT);
        int limit = Math.max(1, Math.min(3, w.length() / 3));
        Set<String> unique = new LinkedHashSet<>();
        for (String n : names) unique.add(n);
        List<Scored> hits = new ArrayList<>();
        for (String n : unique) {
            String l = n.toLowerCase(Locale.ROOT);
            int d = Math.abs(l.length() - w.length()) > limit ? Integer.MAX_VALUE : distance(w, l, limit);
            if (d <= limit) hits.add(new Scored(n, d));
            else if (w.length() >= 3 && (l.contains(w) || (l.length() >= 4 && w.contains(l)))) {
                hits.add(new Scored(n, limit + 1 + Math.abs(l.length() - w.length())));
            }
        }
        hits.sort(Comparator.comparingInt(Scored::score).thenComparingInt(s -> s.name.length()).thenComparing(Scored::name));
        return hits.stream().limit(max).map(Scored::name).toList();
    }

    /** Optimal string alignment distance, giving up (returning limit+1) once every cell of a row exceeds limit. */
    static int distance(String a, String b, int limit) {
        int n = a.length(), m = b.length();
        int[] prev2 = new int[m + 1], prev = new int[m + 1], cur = new int[m + 1];
        for (int j = 0; j <= m; j++) prev[j] = j;
        for (int i = 1; i <= n; i++) {
            cur[0] = i;
            int rowMin = cur[0];
            for (int j = 1; j <= m; j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int v = Math.min(Math.min(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    v = Math.min(v, prev2[j - 2] + 1);
                }
                cur[j] = v;
                rowMin = Math.min(rowMin, v);
            }
            if (rowMin > limit) return limit + 1;
            int[] t = prev2;
            prev2 = prev;
            prev = cur;
            cur = t;
        }
        return prev[m];
    }
}
