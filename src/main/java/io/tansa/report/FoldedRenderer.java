package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Folded stacks as flamegraph.pl, inferno and speedscope import them: one line per distinct
 * path, root first and leaf last, {@code a;b;c COUNT}. Kernel frames get flamegraph.pl's
 * {@code _[k]} suffix. Paths whose folded names coincide are merged, so counts sum to the hits.
 */
public final class FoldedRenderer implements Renderer {
    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        Map<String, Long> lines = new LinkedHashMap<>();
        for (Profile.Path path : p.paths()) lines.merge(line(path.frames()), path.count(), Long::sum);
        StringBuilder b = new StringBuilder();
        lines.forEach((l, c) -> b.append(l).append(' ').append(c).append('\n'));
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static String line(List<Frame> frames) {
        StringBuilder b = new StringBuilder();
        for (int i = frames.size() - 1; i >= 0; i--) {
            Frame f = frames.get(i);
            // flamegraph.pl splits the count off at the last space; a newline would break the line.
            b.append(Names.name(f).replace(';', ':').replace('\n', ' '));
            if (f.kind() == Frame.Kind.RUBY) b.append(' ').append(f.file()).append(':').append(f.line());
            else if (f.hasLine()) b.append(' ').append(f.shortLine().replace(';', ':').replace(' ', '_'));
            if (f.kind() == Frame.Kind.KERNEL) b.append("_[k]");
            if (i > 0) b.append(';');
        }
        return b.toString();
    }
}
