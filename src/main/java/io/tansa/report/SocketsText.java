package io.tansa.report;

import io.tansa.net.Sockets;
import io.tansa.profile.Identity;
import java.io.PrintStream;
import java.util.function.Function;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code tansa sockets} as text: a header and one row per socket (PROTO, TYPE, STATE, LOCAL,
 * QUEUED/BACKLOG, HELD BY), as ss -xlp / -tlnp show them; with {@code --watch} one line per
 * listener and sample, with its peak and a FULL mark.
 */
public final class SocketsText {
    private SocketsText() {}

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    public static void render(List<Sockets.Row> rows, PrintStream out) {
        out.print(table(rows));
    }

    /** As above, each holder named with its pid in its own namespace and its container. */
    public static void render(List<Sockets.Row> rows, Function<Integer, Identity> ids, PrintStream out) {
        out.print(table(rows, ids));
    }

    /** One sample of {@code --watch}, time of day in the local zone. */
    public static void watch(Instant at, List<Sockets.Sample> samples, PrintStream out) {
        watch(at, samples, Identity::plain, out);
    }

    /** As above, holders named as {@link Who} does. */
    public static void watch(Instant at, List<Sockets.Sample> samples, Function<Integer, Identity> ids, PrintStream out) {
        String t = LocalTime.ofInstant(at, ZoneId.systemDefault()).format(TIME);
        for (Sockets.Sample s : samples) {
            Sockets.Row r = s.row();
            out.printf(Locale.ROOT, "%s %-5s %-40s queued %4d/%-4d peak %4d  %s%s%n", t, r.proto(),
                    r.local(), r.queued(), r.backlog(), s.peak(), owners(r, ids), r.full() ? "  ◀ FULL" : "");
        }
    }

    static String table(List<Sockets.Row> rows) {
        return table(rows, Identity::plain);
    }

    static String table(List<Sockets.Row> rows, Function<Integer, Identity> ids) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-5s %-9s %-12s %-40s %-15s %s%n", "PROTO", "TYPE", "STATE", "LOCAL",
                "QUEUED/BACKLOG", "HELD BY"));
        for (Sockets.Row r : rows) {
            String q = r.listening() ? r.queued() + "/" + r.backlog() + (r.full() ? " FULL" : "")
                    : "q " + r.queued() + "/" + r.backlog();
            String local = r.local() + (r.remote() != null ? " → " + r.remote() : "");
            b.append(String.format(Locale.ROOT, "%-5s %-9s %-12s %-40s %-15s %s%s%n", r.proto(),
                    r.type() == null ? "" : r.type(), r.state(), local, q, owners(r, ids),
                    r.netns() == null ? "" : "  (" + r.netns() + ")"));
        }
        return b.toString();
    }

    /**
     * "unicorn[12] fd 5,7 unicorn[13] fd 5": the holders grouped by process; one in a container
     * "svc[5552 (1 in its container)] fd 3 docker 3f2a1b0c9d8e".
     */
    private static String owners(Sockets.Row r, Function<Integer, Identity> ids) {
        Map<Integer, List<Sockets.Owner>> byPid = r.owners().stream()
                .collect(Collectors.groupingBy(Sockets.Owner::pid, LinkedHashMap::new, Collectors.toList()));
        return byPid.values().stream().map(os -> {
            Identity id = ids.apply(os.get(0).pid());
            String c = Who.container(id);
            return os.get(0).comm() + "[" + Who.pid(id) + "] fd "
                    + os.stream().map(o -> Integer.toString(o.fd())).collect(Collectors.joining(","))
                    + (c == null ? "" : " " + c);
        }).collect(Collectors.joining(" "));
    }
}
