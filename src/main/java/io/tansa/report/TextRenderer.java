package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Default output: distinct paths ranked by count with their share, innermost frame first. */
public final class TextRenderer implements Renderer {
    @Override
    public void render(Profile p, OutputStream os) throws IOException {
        PrintStream out = new PrintStream(os, false, StandardCharsets.UTF_8);
        long total = p.total();
        List<Profile.Location> locs = p.locations();
        String sym = p.meta().getOrDefault("symbol", "");
        out.printf("%d hits%s%s%n", total, sym.isEmpty() ? "" : " on " + sym,
                p.meta().containsKey("stopped") ? " (stopped: " + p.meta().get("stopped") + ")" : "");
        if (locs.size() > 1) {
            out.printf("%d locations:%n", locs.size());
            for (Profile.Location l : locs) {
                out.printf("  %-30s %-28s 0x%x  %d hits%s%n", l.symbol(), l.module(), l.address(), l.hits(),
                        l.hits() == 0 ? " (never hit)" : "");
            }
        }
        int rank = 0;
        for (Profile.Path path : p.paths()) {
            rank++;
            out.printf("%n#%d  %d hits  %.1f%%%n", rank, path.count(), total == 0 ? 0.0 : 100.0 * path.count() / total);
            for (Frame f : path.frames()) {
                if (f.kind() == Frame.Kind.RUBY) {
                    out.printf("    %s:%d:in `%s'%n", f.file(), f.line(), f.name());
                } else {
                    out.printf("    %-40s %s%n", f.name(), f.module() == null ? "" : f.module());
                }
            }
        }
        out.flush();
    }
}
