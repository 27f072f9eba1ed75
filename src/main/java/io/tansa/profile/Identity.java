package io.tansa.profile;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Who a target process is, as its container sees it and as the host does: the pid tansa sees
 * (the first NSpid field of proc(5), i.e. in the pid namespace of tansa's /proc), the pid in the
 * process's own (innermost) pid namespace (the last NSpid field), its cgroup v2 path
 * (cgroups(7), the "0::" line of /proc/PID/cgroup), and the container that path implies, if any.
 * Pure data: resolved by {@code proc.IdentityReader}, rendered by {@code report.Who}.
 *
 * @param pid       the pid as tansa sees it
 * @param nsPid     the pid in the process's own pid namespace (equal to {@code pid} outside containers)
 * @param nsDepth   how many pid namespaces below tansa's the process lives (0: the same one)
 * @param cgroup    the cgroup v2 path ("/system.slice/docker-….scope"), or "" when unknown
 * @param container the container the cgroup path names, or null
 */
public record Identity(int pid, int nsPid, int nsDepth, String cgroup, Container container) {
    /**
     * A container recognised from its cgroup's name: {@code runtime} ∈ docker, containerd, cri-o,
     * podman, nspawn, kubepods; {@code id} the container id (64 hex digits), or the machine name for
     * systemd-nspawn, or the pod uid for a pod's own slice.
     */
    public record Container(String runtime, String id) {
        /** "docker 3f2a1b0c9d8e": runtime and short id. */
        public String label() {
            return runtime + " " + shortId();
        }

        /** The id as `docker ps` shows it: the first 12 hex digits (a name unchanged). */
        public String shortId() {
            return id.length() == 64 && HEX64.matcher(id).matches() ? id.substring(0, 12) : id;
        }
    }

    /** An identity of a process tansa sees as it sees itself: no other namespace, no container. */
    public static Identity plain(int pid) {
        return new Identity(pid, pid, 0, "", null);
    }

    /** Whether the process's own pid namespace numbers it differently from tansa's. */
    public boolean otherPid() {
        return nsPid != pid;
    }

    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    // The scope and directory names the runtimes give their cgroups (docker: libcontainer's systemd
    // and cgroupfs drivers; containerd's CRI plugin; cri-o; podman; systemd-nspawn: systemd-machined;
    // kubelet's kubepods slices, with the runtime's own scope below the pod's slice).
    private static final List<Rule> RULES = List.of(
            new Rule("docker", Pattern.compile("^docker-([0-9a-f]{64})\\.scope$")),
            new Rule("containerd", Pattern.compile("^cri-containerd-([0-9a-f]{64})\\.scope$")),
            new Rule("cri-o", Pattern.compile("^crio-(?:conmon-)?([0-9a-f]{64})\\.scope$")),
            new Rule("podman", Pattern.compile("^libpod-(?:conmon-)?([0-9a-f]{64})\\.scope$")),
            new Rule("nspawn", Pattern.compile("^machine-(.+)\\.scope$")));
    private static final Pattern DOCKER_DIR = Pattern.compile("^/(?:.*/)?docker/([0-9a-f]{64})(?:/.*)?$");
    private static final Pattern LIBPOD_DIR = Pattern.compile("^/(?:.*/)?libpod_parent/libpod-([0-9a-f]{64})(?:/.*)?$");
    private static final Pattern KUBEPODS_DIR = Pattern.compile("^/(?:.*/)?kubepods(?:/[a-z]+)?/pod([0-9a-f-]{36})/([0-9a-f]{64})(?:/.*)?$");
    private static final Pattern POD_SLICE = Pattern.compile("^kubepods(?:-[a-z]+)*-pod([0-9a-f_]{36})\\.slice$");

    private record Rule(String runtime, Pattern pattern) {}

    /**
     * The container a cgroup path implies, or null: the innermost path component named as a
     * runtime names its containers ({@code docker-<64hex>.scope}, {@code cri-containerd-<id>.scope},
     * {@code crio-<id>.scope}, {@code libpod-<id>.scope}, {@code machine-<name>.scope}), or a
     * cgroupfs-driver directory ({@code /docker/<id>}, {@code /kubepods/…/pod<uid>/<id>}); a process in
     * a pod's slice but in no container scope below it is named by the pod uid (runtime kubepods).
     */
    public static Container containerOf(String cgroup) {
        if (cgroup == null || cgroup.isEmpty()) return null;
        String[] parts = cgroup.split("/");
        for (int i = parts.length - 1; i >= 0; i--) {
            String name = parts[i];
            for (Rule r : RULES) {
                Matcher m = r.pattern().matcher(name);
                if (m.matches()) {
                    String id = m.group(1);
                    if (r.runtime().equals("nspawn")) id = unescape(id);
                    return new Container(r.runtime(), id);
                }
            }
        }
        Matcher m = DOCKER_DIR.matcher(cgroup);
        if (m.matches()) return new Container("docker", m.group(1));
        m = LIBPOD_DIR.matcher(cgroup);
        if (m.matches()) return new Container("podman", m.group(1));
        m = KUBEPODS_DIR.matcher(cgroup);
        if (m.matches()) return new Container("kubepods", m.group(2));
        for (int i = parts.length - 1; i >= 0; i--) {
            m = POD_SLICE.matcher(parts[i]);
            if (m.matches()) return new Container("kubepods", "pod" + m.group(1).replace('_', '-'));
        }
        return null;
    }

    /** systemd unit-name escaping (systemd.unit(5)): "\x2d" → "-". */
    private static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            if (s.startsWith("\\x", i) && i + 4 <= s.length()) {
                try {
                    b.append((char) Integer.parseInt(s.substring(i + 2, i + 4), 16));
                    i += 3;
                    continue;
                } catch (NumberFormatException ignored) {
                    // not an escape
                }
            }
            b.append(s.charAt(i));
        }
        return b.toString();
    }
}
