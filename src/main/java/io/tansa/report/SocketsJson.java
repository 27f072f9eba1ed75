package io.tansa.report;

import io.tansa.net.Sockets;
import io.tansa.profile.Identity;
import java.io.PrintStream;
import java.util.function.Function;
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
        render(rows, Identity::plain, out);
    }

    /** As above; holders in another pid namespace or a container get "ns_pids", "containers" (see {@link Who}). */
    public static void render(List<Sockets.Row> rows, Function<Integer, Identity> ids, PrintStream out) {
        out.println(JsonValue.of(Map.of("sockets", rows.stream().map(r -> row(r, ids)).toList())));
    }

    /** One sample of {@code --watch}. */
    public static void watch(Instant at, List<Sockets.Sample> samples, PrintStream out) {
        watch(at, samples, Identity::plain, out);
    }

    /** As above, with the holders' identities. */
    public static void watch(Instant at, List<Sockets.Sample> samples, Function<Integer, Identity> ids, PrintStream out) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", at.toString());
        m.put("sockets", samples.stream().map(s -> {
            Map<String, Object> r = row(s.row(), ids);
            r.put("peak", s.peak());
            r.put("full", s.row().full());
            return r;
        }).toList());
        out.println(JsonValue.of(m));
    }

    static Map<String, Object> row(Sockets.Row r) {
        return row(r, Identity::plain);
    }

    static Map<String, Object> row(Sockets.Row r, Function<Integer, Identity> ids) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("proto", r.proto());
        if (r.type() != null) m.put("type", r.type());
        m.put("local", r.local());
        if (r.remote() != null) m.put("remote", r.remote());
        m.put("state", r.state());
        m.put(r.listening() ? "queued" : "recv_q", r.queued());
        m.put(r.listening() ? "backlog" : "send_q", r.backlog());
        List<Integer> pids = r.owners().stream().map(Sockets.Owner::pid).distinct().toList();
        m.put("pids", pids);
        List<Identity> who = pids.stream().map(ids).toList();
        if (who.stream().anyMatch(Identity::otherPid)) m.put("ns_pids", who.stream().map(Identity::nsPid).toList());
        List<Map<String, Object>> containers = who.stream().filter(i -> i.container() != null).map(i -> {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("runtime", i.container().runtime());
            c.put("id", i.container().id());
            return c;
        }).distinct().toList();
        if (!containers.isEmpty()) m.put("containers", containers);
        m.put("owners", r.owners().stream().map(o -> {
            Map<String, Object> om = new LinkedHashMap<>();
            om.put("pid", o.pid());
            om.put("fd", o.fd());
            om.put("comm", o.comm());
            Identity id = ids.apply(o.pid());
            if (id.otherPid()) om.put("ns_pid", id.nsPid());
            return om;
        }).toList());
        m.put("inode", r.inode());
        if (r.netns() != null) m.put("netns", r.netns());
        return m;
    }
}
