package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Locale;

/** Default output: distinct paths ranked by count with their share, innermost frame first. */
public final class TextRenderer implements Renderer {
    @Override
    public void render(Profile p, OutputStream os) throws IOException {
        StringBuilder b = new StringBuilder(header(p));
        long total = p.total();
        int rank = 0;
        for (Profile.Path path : p.paths()) {
            rank++;
            b.append("\n#").append(rank).append("  ").append(path.count()).append(" hits  ")
                    .append(Names.percent(path.count(), total)).append('\n');
            // Plain appends, not String.format: this loop runs once per frame of every path.
            for (Frame f : path.frames()) {
                if (f.kind() == Frame.Kind.RUBY) {
                    b.append("    ").append(f.file()).append(':').append(f.line()).append(":in `").append(Names.name(f)).append("'\n");
                } else {
                    String name = Names.nameWithLine(f);
                    b.append("    ").append(name).repeat(' ', Math.max(0, 40 - name.length())).append(' ')
                            .append(f.module() == null ? "" : f.module()).append('\n');
                }
            }
        }
        os.write(b.toString().getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    /**
     * The accounting of a capture's hits as one line (the summary of {@code tansa callers}), each
     * cause with its own number: "1000 captured; 12 after the count (not lost); 3400 held back by
     * the rate cap; 0 lost to full buffers; 2 stacks ended early; probe armed 31% of the time".
     * Empty when the profile has no accounting (a recording of an older tansa).
     */
    public static String accounting(Profile p) {
        Map<String, String> a = p.accounting();
        if (a.isEmpty()) return "";
        StringBuilder b = new StringBuilder();
        b.append(a.getOrDefault("captured", "0")).append(" captured");
        String after = switch (p.meta().getOrDefault("stopped", "")) {
            case "count reached" -> "after the count";
            case "duration reached" -> "after the duration";
            case "interrupted" -> "after the stop";
            default -> "after the end";
        };
        if (num(a, "after_end") > 0) b.append("; ").append(a.get("after_end")).append(' ').append(after).append(" (not lost)");
        if (num(a, "rate_capped") > 0) b.append("; ").append(a.get("rate_capped")).append(" held back by the rate cap");
        b.append("; ").append(a.getOrDefault("lost", "0")).append(" lost to full buffers");
        if (num(a, "truncated") > 0) b.append("; ").append(a.get("truncated")).append(" stacks ended early ([unknown])");
        if (a.containsKey("kernel_hits")) b.append("; ").append(a.get("kernel_hits")).append(" hits counted by the kernel");
        double armed = a.containsKey("armed_share") ? Double.parseDouble(a.get("armed_share")) : 1;
        if (armed < 1) b.append(String.format(Locale.ROOT, "; probe armed %.0f%% of the time", armed * 100));
        return b.toString();
    }

    private static double num(Map<String, String> a, String key) {
        try {
            return Double.parseDouble(a.getOrDefault(key, "0"));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** "N hits on SYMBOL (stopped: …)", the probed locations when there are several, and the shaping applied. */
    static String header(Profile p) {
        StringBuilder b = new StringBuilder();
        List<Profile.Location> locs = p.locations();
        String sym = p.meta().getOrDefault("symbol", "");
        b.append(String.format(Locale.ROOT, "%d hits%s%s%n", p.total(), sym.isEmpty() ? "" : " on " + sym,
                p.meta().containsKey("stopped") ? " (stopped: " + p.meta().get("stopped") + ")" : ""));
        if (locs.size() > 1) {
            b.append(String.format(Locale.ROOT, "%d locations:%n", locs.size()));
            for (Profile.Location l : locs) {
                b.append(String.format(Locale.ROOT, "  %-30s %-28s 0x%x  %d hits%s%n", l.symbol(), l.module(), l.address(),
                        l.hits(), l.hits() == 0 ? " (never hit)" : ""));
            }
        }
        b.append(Who.lines(p.targets()));
        if (p.meta().containsKey("shape")) b.append("shaped: ").append(p.meta().get("shape")).append('\n');
        return b.toString();
    }
}
