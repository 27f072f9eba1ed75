package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.ProfileDiff;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

/**
 * Output of {@code tansa diff}: paths whose share changed, largest change first. Text shows the
 * change in percentage points, both shares and counts, and the path innermost first on one line;
 * JSON is {@code {"before": {"hits": N}, "after": {"hits": M}, "paths": [{"delta", "before":
 * {"count", "share"}, "after": {…}, "frames": [FRAME…]}…]}} with shares in percent.
 */
public final class DiffRenderer {
    private DiffRenderer() {}

    public static void text(List<ProfileDiff.Row> rows, String beforeName, long beforeHits, String afterName, long afterHits,
            OutputStream out) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "before: %s, %d hits%nafter:  %s, %d hits%n", beforeName, beforeHits, afterName, afterHits));
        if (rows.isEmpty()) b.append("no path changed its share\n");
        else b.append(String.format(Locale.ROOT, "%n%8s %8s %8s %8s %8s  %s%n", "delta", "before", "after", "n_before", "n_after",
                "path (innermost first)"));
        for (ProfileDiff.Row r : rows) {
            StringBuilder path = new StringBuilder();
            for (Frame f : r.frames()) {
                if (!path.isEmpty()) path.append(" <- ");
                path.append(f.kind() == Frame.Kind.RUBY ? Names.name(f) + " (" + f.file() + ":" + f.line() + ")" : Names.nameWithLine(f));
            }
            b.append(String.format(Locale.ROOT, "%+7.1f%% %7.1f%% %7.1f%% %8d %8d  %s%n", r.delta(), r.beforeShare(), r.afterShare(),
                    r.before(), r.after(), path));
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    public static void json(List<ProfileDiff.Row> rows, long beforeHits, long afterHits, OutputStream out) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("{\"before\": {\"hits\": ").append(beforeHits).append("}, \"after\": {\"hits\": ").append(afterHits)
                .append("}, \"paths\": [");
        for (int i = 0; i < rows.size(); i++) {
            ProfileDiff.Row r = rows.get(i);
            if (i > 0) b.append(", ");
            b.append(String.format(Locale.ROOT, "{\"delta\": %.3f, \"before\": {\"count\": %d, \"share\": %.3f}, "
                    + "\"after\": {\"count\": %d, \"share\": %.3f}, \"frames\": [", r.delta(), r.before(), r.beforeShare(),
                    r.after(), r.afterShare()));
            for (int j = 0; j < r.frames().size(); j++) {
                if (j > 0) b.append(", ");
                JsonRenderer.frame(b, r.frames().get(j));
            }
            b.append("]}");
        }
        b.append("]}\n");
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
