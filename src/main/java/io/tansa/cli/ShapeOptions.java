package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import java.util.Locale;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import picocli.CommandLine.Option;

/** Shaping options shared by profile commands (picocli {@code @Mixin}); see {@link Shape}. */
public final class ShapeOptions {
    @Option(names = "--group-by", paramLabel = "thread|process|none",
            description = "Split the output by thread or process (an outermost frame per group). Default: none.")
    String groupBy = "none";

    @Option(names = "--focus", paramLabel = "REGEX", description = "Keep only hits with a frame matching REGEX (searched in \"func (module)\" / \"label (file:line)\").")
    String focus;

    @Option(names = "--exclude", paramLabel = "REGEX", description = "Drop hits with a frame matching REGEX.")
    String exclude;

    @Option(names = "--max-depth", paramLabel = "N", description = "Keep the N innermost frames of each path (the probed function and its nearest callers).")
    int maxDepth;

    @Option(names = "--top", paramLabel = "K", description = "Keep the K most frequent paths; the rest become one \"[N other paths]\" path.")
    int top;

    /** The shape these options describe; usage failures for bad values. */
    public Shape shape() {
        Shape.Group g;
        try {
            g = Shape.Group.valueOf(groupBy.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new Failure(Failure.Kind.USAGE, "--group-by must be thread, process or none, not '" + groupBy + "'");
        }
        return new Shape(g, regex("--focus", focus), regex("--exclude", exclude), maxDepth, top);
    }

    public Profile apply(Profile p) {
        return shape().apply(p);
    }

    private static Pattern regex(String option, String s) {
        if (s == null) return null;
        try {
            return Pattern.compile(s);
        } catch (PatternSyntaxException e) {
            throw new Failure(Failure.Kind.USAGE, option + ": bad regex: " + e.getDescription() + " in '" + s + "'");
        }
    }
}
