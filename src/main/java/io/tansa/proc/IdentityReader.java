package io.tansa.proc;

import io.tansa.Failure;
import io.tansa.profile.Identity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A process's {@link Identity}: its pids in each pid namespace from the NSpid line of
 * /proc/PID/status (proc(5): "NSpid: thread ID in each of the PID namespaces of which [it] is a
 * member", outermost first — the first is the pid in the namespace of the /proc tansa reads), its
 * cgroup v2 path from /proc/PID/cgroup (cgroups(7): the "0::PATH" line; on a v1-only host the
 * name=systemd line), and the container that path names. Also the other direction: every
 * process of a container, named by cgroup path or container-id prefix.
 */
public final class IdentityReader {
    private IdentityReader() {}

    private static final Path PROC = Path.of("/proc");

    /** The identity of process {@code pid}; Failure(NO_SUCH_PROCESS) when it is gone. */
    public static Identity of(int pid) {
        int[] ns = nsPids(pid, pid);
        String cg = cgroup(pid);
        return new Identity(pid, ns[ns.length - 1], ns.length - 1, cg, Identity.containerOf(cg));
    }

    /** Identities of {@code pids} (a process gone meanwhile gets {@link Identity#plain}), in order. */
    public static Map<Integer, Identity> of(Collection<Integer> pids) {
        Map<Integer, Identity> out = new LinkedHashMap<>();
        for (int p : pids) {
            if (out.containsKey(p)) continue;
            try {
                out.put(p, of(p));
            } catch (Failure gone) {
                out.put(p, Identity.plain(p));
            }
        }
        return out;
    }

    /** The thread's id in its own pid namespace (last NSpid field of its status), or {@code tid} when unknown. */
    public static int nsTid(int pid, int tid) {
        try {
            int[] ns = nsPids(pid, tid);
            return ns[ns.length - 1];
        } catch (Failure gone) {
            return tid;
        }
    }

    /** NSpid of /proc/PID/task/TID/status, outermost first; {tid} on a kernel without it (before 4.1). */
    static int[] nsPids(int pid, int tid) {
        String text = read(pid, "/proc/" + pid + "/task/" + tid + "/status");
        for (String line : text.split("\n")) {
            if (line.startsWith("NSpid:")) {
                String[] f = line.substring(6).strip().split("\\s+");
                int[] out = new int[f.length];
                for (int i = 0; i < f.length; i++) out[i] = Integer.parseInt(f[i]);
                return out;
            }
        }
        return new int[] {tid};
    }

    /** The process's cgroup v2 path ("0::" line), else its name=systemd v1 path, else "". */
    public static String cgroup(int pid) {
        String v1 = "";
        for (String line : read(pid, "/proc/" + pid + "/cgroup").split("\n")) {
            if (line.startsWith("0::")) return line.substring(3).strip();
            int c = line.indexOf(":name=systemd:");
            if (c >= 0) v1 = line.substring(c + ":name=systemd:".length()).strip();
        }
        return v1;
    }

    /**
     * Every process of the container named by {@code spec}, sorted: a cgroup path (starts with '/':
     * the processes in it or below it) or a prefix of a container id (or an nspawn machine name),
     * matched against the containers of all processes. Failure(CONTAINER_NOT_FOUND) when nothing
     * matches, Failure(AMBIGUOUS) naming the candidates when a prefix fits several containers.
     */
    public static List<Integer> members(String spec) {
        boolean path = spec.startsWith("/");
        String want = path ? (spec.length() > 1 && spec.endsWith("/") ? spec.substring(0, spec.length() - 1) : spec)
                : spec.toLowerCase(Locale.ROOT);
        Map<String, TreeSet<Integer>> byContainer = new TreeMap<>();
        TreeSet<Integer> inPath = new TreeSet<>();
        for (int pid : allPids()) {
            String cg;
            try {
                cg = cgroup(pid);
            } catch (Failure gone) {
                continue;
            }
            if (path) {
                if (cg.equals(want) || want.equals("/") || cg.startsWith(want + "/")) inPath.add(pid);
                continue;
            }
            Identity.Container c = Identity.containerOf(cg);
            if (c != null && (c.id().startsWith(want) || c.id().equals(spec))) {
                byContainer.computeIfAbsent(c.runtime() + " " + c.id(), k -> new TreeSet<>()).add(pid);
            }
        }
        if (path) {
            if (inPath.isEmpty()) {
                throw new Failure(Failure.Kind.CONTAINER_NOT_FOUND, Files.isDirectory(cgroupDir(want))
                        ? "cgroup " + want + " holds no process" : "no such cgroup: " + want
                        + " (a cgroup v2 path as /proc/PID/cgroup shows it, e.g. /system.slice/docker-ID.scope)");
            }
            return new ArrayList<>(inPath);
        }
        if (byContainer.isEmpty()) {
            // digits alone are a pid first: a gone process stays "no such process" (exit 3), as before containers
            if (spec.chars().allMatch(Character::isDigit)) {
                throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + spec);
            }
            throw new Failure(Failure.Kind.CONTAINER_NOT_FOUND, "no process, no container matches '" + spec
                    + "' (-p takes a pid, a cgroup path starting with /, or a container id prefix)");
        }
        if (byContainer.size() > 1) {
            throw new Failure(Failure.Kind.AMBIGUOUS, "container id prefix '" + spec + "' matches "
                    + byContainer.size() + " containers: " + String.join(", ", byContainer.keySet().stream()
                            .map(k -> k.substring(0, Math.min(k.length(), k.indexOf(' ') + 13))).toList())
                    + " (give more digits)");
        }
        return new ArrayList<>(byContainer.values().iterator().next());
    }

    /** Where cgroup {@code path} lives: under the v2 mount (/sys/fs/cgroup or its hybrid /unified). */
    static Path cgroupDir(String path) {
        Path unified = Path.of("/sys/fs/cgroup/unified");
        Path base = Files.isRegularFile(unified.resolve("cgroup.procs")) ? unified : Path.of("/sys/fs/cgroup");
        return base.resolve(path.substring(1));
    }

    private static List<Integer> allPids() {
        List<Integer> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(PROC)) {
            for (Path p : ds) {
                String s = p.getFileName().toString();
                if (!s.isEmpty() && s.chars().allMatch(Character::isDigit)) out.add(Integer.parseInt(s));
            }
        } catch (IOException e) {
            throw new Failure(Failure.Kind.INTERNAL, "cannot list /proc: " + e, e);
        }
        return out;
    }

    private static String read(int pid, String path) {
        try {
            return new String(Files.readAllBytes(Path.of(path)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            if (!ProcFs.exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid, e);
            throw new Failure(Failure.Kind.NO_SUCH_PROCESS, path + " cannot be read: " + e.getMessage(), e);
        }
    }
}
