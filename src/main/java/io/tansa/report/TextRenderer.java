package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
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
