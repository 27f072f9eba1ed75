package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The seed's view: each distinct Ruby-level path as Ruby itself prints it, oldest frame first,
 * preceded by its count and share. Native frames are left out (as rb_backtrace does), so native
 * paths with the same Ruby frames merge; hits without any Ruby frame are counted at the end.
 * <ul>
 *   <li>{@link Style#BACKTRACE} (format {@code ruby}): rb_backtrace()'s lines, every one
 *       {@code \tfrom FILE:LINE:in `NAME'} (vm_backtrace.c oldbt_print; checked against
 *       {@code gdb -p PID -ex 'call rb_backtrace()'} on Ruby 3.1).</li>
 *   <li>{@link Style#BUGREPORT} (format {@code bugreport}): the
 *       {@code -- Ruby level backtrace information ---…} section of a [BUG] report, then
 *       {@code FILE:LINE:in `NAME'} lines (vm_backtrace.c oldbt_bugreport).</li>
 * </ul>
 * The method is quoted as the target's own Ruby quotes it (the profile's {@code ruby} meta, the
 * version tansa read): {@code `NAME'} up to 3.3, {@code 'NAME'} from 3.4 on (vm_backtrace.c of
 * 3.4.5: {@code "\tfrom %s:%d:in '%s'\n"}; both checked against rb_backtrace() in Debian's Rubies).
 * Pseudo-frames from {@code --group-by} name the thread or process in the count line.
 */
public final class RubyRenderer implements Renderer {
    public enum Style { BACKTRACE, BUGREPORT }

    /** Ruby's own section header (vm_backtrace.c), dashes included. */
    static final String BUGREPORT_HEADER = "-- Ruby level backtrace information ----------------------------------------";

    private final Style style;

    public RubyRenderer(Style style) {
        this.style = style;
    }

    private record Group(String where, List<Frame> ruby) {}

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        Map<Group, long[]> groups = new LinkedHashMap<>();
        long nonRuby = 0;
        for (Profile.Path path : p.paths()) {
            List<Frame> ruby = new ArrayList<>();
            List<String> where = new ArrayList<>();
            for (Frame f : path.frames()) {
                if (f.kind() == Frame.Kind.RUBY) ruby.add(0, f);
                else if (Shape.isPseudo(f)) where.add(0, f.name());
            }
            if (ruby.isEmpty()) {
                nonRuby += path.count();
                continue;
            }
            groups.computeIfAbsent(new Group(String.join(", ", where), ruby), g -> new long[1])[0] += path.count();
        }
        List<Map.Entry<Group, long[]>> ranked = new ArrayList<>(groups.entrySet());
        ranked.sort(Comparator.comparingLong((Map.Entry<Group, long[]> e) -> e.getValue()[0]).reversed());
        long total = p.total();
        String open = plainQuotes(p.meta().get("ruby")) ? "'" : "`";
        StringBuilder b = new StringBuilder();
        for (Map.Entry<Group, long[]> e : ranked) {
            long c = e.getValue()[0];
            b.append(c).append(c == 1 ? " hit (" : " hits (").append(Names.percent(c, total)).append(')');
            if (!e.getKey().where().isEmpty()) b.append(" in ").append(e.getKey().where());
            b.append(":\n");
            if (style == Style.BUGREPORT) b.append(BUGREPORT_HEADER).append('\n');
            for (Frame f : e.getKey().ruby()) {
                if (style == Style.BACKTRACE) b.append("\tfrom ");
                // oldbt_bugreport prints "ruby" for a frame without a file.
                b.append(f.file() == null ? "ruby" : f.file()).append(':').append(f.line()).append(":in ").append(open)
                        .append(Names.name(f)).append("'\n");
            }
            b.append('\n');
        }
        if (nonRuby > 0) {
            b.append(nonRuby).append(nonRuby == 1 ? " hit (" : " hits (").append(Names.percent(nonRuby, total))
                    .append(") without Ruby frames (use -f text to see their native paths)\n");
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** Ruby 3.4 and later quote a method as {@code 'NAME'}; earlier ones (and an unknown version) as {@code `NAME'}. */
    static boolean plainQuotes(String version) {
        if (version == null) return false;
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(version);
        if (!m.find()) return false;
        int major = Integer.parseInt(m.group(1)), minor = Integer.parseInt(m.group(2));
        return major > 3 || major == 3 && minor >= 4;
    }
}
