package io.tansa.report;

import io.tansa.net.Sockets;
import java.io.PrintStream;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code tansa sockets -f json}: {"sockets": [{"proto", "type", "local", "remote", "state",
 * "queued"/"recv_q", "backlog"/"send_q", "pids", "owners", "inode", "netns"}]} on one line; with
 * {@code --watch} one such line per sample, with "time" and each row's "peak" and "full".
 */
public final class SocketsJson {
    private SocketsJson() {}

    public static void render(List<Sockets.Row> rows, PrintStream out) {
        out.println(JsonValue.of(Map.of("sockets", rows.stream().map(SocketsJson::row).toList())));
    }

    /** One sample of {@code --watch}. */
    public static void watch(Instant at, List<Sockets.Sample> samples, PrintStream out) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", at.toString());
        m.put("sockets", samples.stream().map(s -> {
            Map<String, Object> r = row(s.row());
            r.put("peak", s.peak());
            r.put("full", s.row().full());
            return r;
        }).toList());
        out.println(JsonValue.of(m));
    }

    static Map<String, Object> row(Sockets.Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("proto", r.proto());
        if (r.type() != null) m.put("type", r.type());
        m.put("local", r.local());
        if (r.remote() != null) m.put("remote", r.remote());
        m.put("state", r.state());
        m.put(r.listening() ? "queued" : "recv_q", r.queued());
        m.put(r.listening() ? "backlog" : "send_q", r.backlog());
        m.put("pids", r.owners().stream().map(Sockets.Owner::pid).distinct().toList());
        m.put("owners", r.owners());
        m.put("inode", r.inode());
        if (r.netns() != null) m.put("netns", r.netns());
        return m;
    }
}
