package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import io.tansa.report.FlameGraphRenderer;
import io.tansa.report.FoldedRenderer;
import io.tansa.report.JsonRenderer;
import io.tansa.report.PprofRenderer;
import io.tansa.report.Recording;
import io.tansa.report.Renderer;
import io.tansa.report.RubyRenderer;
import io.tansa.report.SpeedscopeRenderer;
import io.tansa.report.TextRenderer;
import io.tansa.report.TreeRenderer;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The output formats of profile commands ({@code callers}, {@code report}):
 * format name → renderer. Commands render with {@link #output(Profile, Common, ShapeOptions)}.
 */
public final class Formats {
    private Formats() {}

    /** Extension of recordings: {@code -o FILE.tansa} writes one whatever the default format. */
    public static final String RECORDING_SUFFIX = ".tansa";

    private static final Map<String, Supplier<Renderer>> ALL = new LinkedHashMap<>();
    static {
        ALL.put("text", TextRenderer::new);
        ALL.put("tree", () -> new TreeRenderer(TreeRenderer.Direction.CALLERS));
        ALL.put("tree-topdown", () -> new TreeRenderer(TreeRenderer.Direction.CALLEES));
        ALL.put("folded", FoldedRenderer::new);
        ALL.put("flamegraph", FlameGraphRenderer::new);
        ALL.put("pprof", PprofRenderer::new);
        ALL.put("speedscope", SpeedscopeRenderer::new);
        ALL.put("json", JsonRenderer::new);
        ALL.put("ruby", () -> new RubyRenderer(RubyRenderer.Style.BACKTRACE));
        ALL.put("bugreport", () -> new RubyRenderer(RubyRenderer.Style.BUGREPORT));
        ALL.put("recording", Recording::new);
    }

    /**
     * Shapes and renders a finished capture as {@code -f}, {@code -o} and the shaping options
     * ask; the one call a profile command needs. A recording keeps the raw capture, so that
     * {@code tansa report} with the same options prints what the live command printed; shaping
     * options with a recording output are therefore a usage error (they belong to {@code report}).
     */
    public static void output(Profile capture, Common common, ShapeOptions shape) throws IOException {
        String fmt = choose(common.format, common.output);
        Shape s = shape.shape();
        if (fmt.equals("recording") && !s.isIdentity()) {
            throw new Failure(Failure.Kind.USAGE, "a recording keeps the raw capture: give " + s.describe()
                    + " to tansa report instead");
        }
        Profile p = s.apply(capture);
        try (OutputStream out = common.openOutput()) {
            renderer(fmt).render(p, out);
        }
    }

    /** Valid format names, in the order the help lists them. */
    public static Set<String> names() {
        return ALL.keySet();
    }

    /** A fresh renderer for {@code name}; a usage failure listing the valid names otherwise. */
    public static Renderer renderer(String name) {
        Supplier<Renderer> s = name == null ? null : ALL.get(name);
        if (s == null) {
            throw new Failure(Failure.Kind.USAGE, "unknown format '" + name + "' (valid: " + String.join(", ", ALL.keySet()) + ")");
        }
        return s.get();
    }

    /**
     * The format to use for {@code -f format -o output}: a {@code .tansa} output is always a
     * recording (with {@code -f} left at its default {@code text}, or {@code -f recording}); any
     * other explicit format there is a usage error, so a file named .tansa is always readable by
     * {@code tansa report}.
     */
    public static String choose(String format, String output) {
        if (output != null && output.endsWith(RECORDING_SUFFIX)) {
            if (format == null || format.equals("text") || format.equals("recording")) return "recording";
            throw new Failure(Failure.Kind.USAGE, "-o " + output + " writes a recording; drop -f " + format
                    + " or choose another file name");
        }
        renderer(format);
        return format;
    }
}
