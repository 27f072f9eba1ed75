package io.tansa.profile;

import io.tansa.Failure;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A pure Profile → Profile transformation applied before rendering, in this order:
 * <ol>
 *   <li>{@code exclude}: drop every hit whose path has a frame matching the regex;</li>
 *   <li>{@code focus}: keep only hits whose path has a frame matching the regex;</li>
 *   <li>{@code maxDepth}: keep the N innermost frames of each path (for "who calls", the probed
 *       function and its nearest callers), so paths that differ only further out merge;</li>
 *   <li>{@code groupBy}: add an outermost pseudo-frame per thread or process, so every renderer
 *       splits its output by it (as async-profiler's {@code --threads});</li>
 *   <li>{@code top}: keep the K most frequent paths and fold the rest into one
 *       {@code [N other paths]} path, so counts still sum to the hits and shares stay true.</li>
 * </ol>
 * Regexes are searched ({@link java.util.regex.Matcher#find()}) in each frame's
 * {@link Frame#label()}: "func (module)" or "label (file:line)". The result's total is the hits it
 * still holds; meta {@code shape} says what was applied. Raw stacks are kept and transformed
 * when the input has them for every hit, so a shaped profile can still be recorded or grouped.
 */
public record Shape(Group groupBy, Pattern focus, Pattern exclude, int maxDepth, int top) {
    /** How hits are split into separate trees. */
    public enum Group { NONE, THREAD, PROCESS }

    /** Module of the pseudo-frames that {@link Group} and {@code top} add. */
    public static final String THREAD_MODULE = "[thread]";
    public static final String PROCESS_MODULE = "[process]";
    public static final String OTHER_MODULE = "[other]";

    public static final Shape NONE = new Shape(Group.NONE, null, null, 0, 0);

    public Shape {
        if (groupBy == null) groupBy = Group.NONE;
        if (maxDepth < 0) throw new Failure(Failure.Kind.USAGE, "--max-depth must be positive");
        if (top < 0) throw new Failure(Failure.Kind.USAGE, "--top must be positive");
    }

    /** True when applying this shape returns its input unchanged. */
    public boolean isIdentity() {
        return groupBy == Group.NONE && focus == null && exclude == null && maxDepth == 0 && top == 0;
    }

    /** True for the frames this class adds (group roots and the "other paths" bucket). */
    public static boolean isPseudo(Frame f) {
        return f.kind() == Frame.Kind.NATIVE && f.address() == 0 && f.module() != null
                && (f.module().equals(THREAD_MODULE) || f.module().equals(PROCESS_MODULE) || f.module().equals(OTHER_MODULE));
    }

    public Profile apply(Profile in) {
        if (isIdentity()) return in;
        List<Stack> stacks = in.stacks();
        boolean raw = stacks.size() == in.total();
        if (groupBy != Group.NONE && !raw) {
            throw new Failure(Failure.Kind.USAGE, "--group-by needs the raw stacks, and this profile kept only aggregated paths");
        }
        Profile out = new Profile();
        in.meta().forEach(out::meta);
        out.targets(in.targets());
        for (Profile.Location l : in.locations()) out.addLocation(l.symbol(), l.module(), l.address());

        if (raw) {
            List<Stack> kept = new ArrayList<>();
            for (Stack s : stacks) {
                List<Frame> f = frames(s.frames(), s);
                if (f != null) kept.add(new Stack(s.pid(), s.tid(), s.thread(), s.timeNanos(), s.location(), f));
            }
            Set<String> topKeys = topKeys(kept.stream().map(Stack::frames).toList(), null);
            Frame other = topKeys == null ? null : otherFrame(kept.stream().map(Stack::frames).toList(), topKeys);
            for (Stack s : kept) {
                if (topKeys != null && !topKeys.contains(Profile.pathKey(s.frames()))) {
                    s = new Stack(s.pid(), s.tid(), s.thread(), s.timeNanos(), s.location(), List.of(other));
                }
                out.record(s);
            }
        } else {
            List<List<Frame>> frames = new ArrayList<>();
            List<Long> counts = new ArrayList<>();
            for (Profile.Path p : in.paths()) {
                List<Frame> f = frames(p.frames(), null);
                if (f != null) {
                    frames.add(f);
                    counts.add(p.count());
                }
            }
            Set<String> topKeys = topKeys(frames, counts);
            Frame other = topKeys == null ? null : otherFrame(frames, topKeys);
            for (int i = 0; i < frames.size(); i++) {
                boolean inTop = topKeys == null || topKeys.contains(Profile.pathKey(frames.get(i)));
                out.record(inTop ? frames.get(i) : List.of(other), counts.get(i));
            }
            // Which definition each aggregated path hit is unknown here: keep the capture's counts.
            List<Profile.Location> locs = in.locations();
            for (int i = 0; i < locs.size(); i++) out.addLocationHits(i, locs.get(i).hits());
        }
        out.meta("shape", describe() + "; " + out.total() + " of " + in.total() + " hits");
        return out;
    }

    /** What this shape does, as the command-line options that make it. */
    public String describe() {
        List<String> parts = new ArrayList<>();
        if (exclude != null) parts.add("--exclude " + exclude.pattern());
        if (focus != null) parts.add("--focus " + focus.pattern());
        if (maxDepth > 0) parts.add("--max-depth " + maxDepth);
        if (groupBy != Group.NONE) parts.add("--group-by " + groupBy.name().toLowerCase(java.util.Locale.ROOT));
        if (top > 0) parts.add("--top " + top);
        return String.join(" ", parts);
    }

    /** The path after exclude/focus/depth/group, or null when the hit is filtered out. */
    private List<Frame> frames(List<Frame> frames, Stack s) {
        if (exclude != null && frames.stream().anyMatch(f -> exclude.matcher(f.label()).find())) return null;
        if (focus != null && frames.stream().noneMatch(f -> focus.matcher(f.label()).find())) return null;
        List<Frame> f = new ArrayList<>(maxDepth > 0 && frames.size() > maxDepth ? frames.subList(0, maxDepth) : frames);
        switch (groupBy) {
            case THREAD -> f.add(Frame.nativeFrame("thread " + s.tid() + (s.thread() == null ? "" : " (" + s.thread() + ")"), THREAD_MODULE, 0));
            case PROCESS -> f.add(Frame.nativeFrame("process " + s.pid(), PROCESS_MODULE, 0));
            case NONE -> { }
        }
        return f;
    }

    /** Keys of the {@code top} most frequent paths (ties: first seen), or null when all stay. */
    private Set<String> topKeys(List<List<Frame>> frames, List<Long> counts) {
        if (top == 0) return null;
        Profile rank = new Profile();
        rank.keepStacks(false);
        for (int i = 0; i < frames.size(); i++) rank.record(frames.get(i), counts == null ? 1 : counts.get(i));
        List<Profile.Path> ranked = rank.paths();
        if (ranked.size() <= top) return null;
        Set<String> keys = new HashSet<>();
        for (Profile.Path p : ranked.subList(0, top)) keys.add(Profile.pathKey(p.frames()));
        return keys;
    }

    private static Frame otherFrame(List<List<Frame>> frames, Set<String> topKeys) {
        Set<String> others = new HashSet<>();
        for (List<Frame> f : frames) {
            String k = Profile.pathKey(f);
            if (!topKeys.contains(k)) others.add(k);
        }
        return Frame.nativeFrame("[" + others.size() + " other paths]", OTHER_MODULE, 0);
    }
}
