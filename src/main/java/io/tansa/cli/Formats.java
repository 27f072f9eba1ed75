package io.tansa.cli;

import io.tansa.Failure;
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
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The output formats of profile commands ({@code callers}, {@code report}, later {@code top}):
 * format name → renderer. Commands render with
 * {@code Formats.renderer(Formats.choose(common.format, common.output)).render(profile, out)}.
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
