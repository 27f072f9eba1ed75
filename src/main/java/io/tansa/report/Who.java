package io.tansa.report;

import io.tansa.profile.Identity;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pids both ways and the container, as every command prints them. Text: {@code 5552 (1 in its
 * container)} where the process's own pid namespace numbers it differently, the plain pid
 * otherwise; a header line {@code container docker 3f2a1b0c9d8e, cgroup /system.slice/docker-….scope}.
 * JSON (README, "Containers"): {@code "pid"} is always the pid tansa sees; {@code "ns_pid"} (and
 * {@code "ns_tid"} for threads) only where it differs; {@code "cgroup"} the cgroup v2 path;
 * {@code "container": {"runtime", "id"}} where the cgroup names one.
 */
public final class Who {
    private Who() {}

    /** "5552" or "5552 (1 in its container)". */
    public static String pid(Identity id) {
        return id.otherPid() ? id.pid() + " (" + id.nsPid() + " in its container)" : Integer.toString(id.pid());
    }

    /** The same for a thread: "5553 (2 in its container)". */
    public static String tid(int tid, int nsTid) {
        return nsTid != tid ? tid + " (" + nsTid + " in its container)" : Integer.toString(tid);
    }

    /** "docker 3f2a1b0c9d8e" or null outside a known container. */
    public static String container(Identity id) {
        return id.container() == null ? null : id.container().label();
    }

    /**
     * The header line of a target in a container or another pid namespace: "pid 5552 (1 in its
     * container), container docker 3f2a1b0c9d8e, cgroup /…"; null for a plain host process.
     */
    public static String line(Identity id) {
        if (id.container() == null && !id.otherPid()) return null;
        StringBuilder b = new StringBuilder("pid ").append(pid(id));
        if (id.container() != null) b.append(", container ").append(container(id));
        if (!id.cgroup().isEmpty()) b.append(", cgroup ").append(id.cgroup());
        return b.toString();
    }

    /** The header lines of several targets (those with something to say), each ending in a newline. */
    public static String lines(Collection<Identity> ids) {
        StringBuilder b = new StringBuilder();
        for (Identity id : ids) {
            String l = line(id);
            if (l != null) b.append(l).append('\n');
        }
        return b.toString();
    }

    /** The JSON fields of a process beside its "pid": ns_pid where it differs, cgroup, container. */
    public static void fields(Identity id, Map<String, Object> m) {
        if (id.otherPid()) m.put("ns_pid", id.nsPid());
        if (!id.cgroup().isEmpty()) m.put("cgroup", id.cgroup());
        if (id.container() != null) {
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("runtime", id.container().runtime());
            c.put("id", id.container().id());
            m.put("container", c);
        }
    }

    /** {"pid", ns_pid, cgroup, container} of one target. */
    public static Map<String, Object> target(Identity id) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", id.pid());
        fields(id, m);
        return m;
    }

    /** A target read back from JSON (a recording's "targets"). */
    public static Identity parse(Map<?, ?> m) {
        int pid = ((Number) m.get("pid")).intValue();
        int ns = m.get("ns_pid") instanceof Number n ? n.intValue() : pid;
        String cg = m.get("cgroup") instanceof String c ? c : "";
        Identity.Container c = m.get("container") instanceof Map<?, ?> cm
                ? new Identity.Container((String) cm.get("runtime"), (String) cm.get("id")) : null;
        return new Identity(pid, ns, ns != pid ? 1 : 0, cg, c);
    }

    /** The "targets" array of a command's JSON. */
    public static List<Map<String, Object>> targets(Collection<Identity> ids) {
        return ids.stream().map(Who::target).toList();
    }
}
