package io.tansa.report;

import io.tansa.net.FdReport;
import io.tansa.profile.Identity;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code tansa fds -f json}: {"pid", "comm", "fds": [{"fd", "type", "target", details...}]}, or
 * with {@code --summary} {"pid", "comm", "total", "summary": [{"what", "count"}]}; one line.
 */
public final class FdsJson {
    private FdsJson() {}

    public static void render(FdReport r, boolean summary, PrintStream out) {
        render(r, Identity.plain(r.pid()), summary, out);
    }

    /** As above, with the target's "ns_pid", "cgroup" and "container" (see {@link Who}). */
    public static void render(FdReport r, Identity id, boolean summary, PrintStream out) {
        out.println(json(r, id, summary));
    }

    static String json(FdReport r, boolean summary) {
        return json(r, Identity.plain(r.pid()), summary);
    }

    static String json(FdReport r, Identity id, boolean summary) {
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("pid", r.pid());
        Who.fields(id, top);
        top.put("comm", r.comm());
        if (summary) {
            top.put("total", r.fds().size());
            top.put("summary", r.summary());
        } else {
            top.put("fds", r.fds().stream().map(e -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("fd", e.fd());
                m.put("type", e.type());
                m.put("target", e.target());
                m.putAll(e.details());
                return m;
            }).toList());
        }
        return JsonValue.of(top);
    }
}
