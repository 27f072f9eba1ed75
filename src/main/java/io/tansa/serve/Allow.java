package io.tansa.serve;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The processes {@code tansa serve} may profile: {@code --allow} selectors {@code comm=NAME},
 * {@code cgroup=PATH}, {@code uid=UID}, {@code pid=PID}. A process is allowed when any selector
 * matches it; with no selector, none is (the server then answers metrics only).
 */
public record Allow(List<Selector> selectors) {
    /** One {@code KEY=VALUE} selector. */
    public record Selector(String key, String value) {
        @Override
        public String toString() {
            return key + "=" + value;
        }
    }

    /** Parses {@code --allow} values; a usage failure names the bad one. */
    public static Allow parse(List<String> specs) {
        return new Allow(specs.stream().map(Allow::selector).toList());
    }

    private static Selector selector(String spec) {
        int eq = spec.indexOf('=');
        String key = eq < 0 ? "" : spec.substring(0, eq);
        String value = eq < 0 ? "" : spec.substring(eq + 1);
        if (!List.of("comm", "cgroup", "uid", "pid").contains(key) || value.isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, "--allow takes comm=NAME, cgroup=PATH, uid=UID or pid=PID, not '" + spec + "'");
        }
        if ((key.equals("uid") || key.equals("pid")) && !value.chars().allMatch(Character::isDigit)) {
            throw new Failure(Failure.Kind.USAGE, "--allow " + key + "= takes a number, not '" + value + "'");
        }
        if (key.equals("cgroup") && !value.startsWith("/")) {
            throw new Failure(Failure.Kind.USAGE, "--allow cgroup= takes a path as /proc/PID/cgroup shows it"
                    + " (starting with /), not '" + value + "'");
        }
        return new Selector(key, value);
    }

    public boolean none() {
        return selectors.isEmpty();
    }

    /** The first selector that matches {@code pid}, or null; a process that vanished matches none. */
    public Selector match(int pid) {
        for (Selector s : selectors) {
            try {
                if (matches(s, pid)) return s;
            } catch (IOException | RuntimeException e) {
                return null; // gone (or unreadable) while we looked: not allowed
            }
        }
        return null;
    }

    private static boolean matches(Selector s, int pid) throws IOException {
        return switch (s.key()) {
            case "pid" -> Integer.parseInt(s.value()) == pid;
            case "comm" -> ProcFs.comm(pid, pid).equals(s.value());
            case "uid" -> ProcFs.status(pid, pid).uid() == Integer.parseInt(s.value());
            case "cgroup" -> inCgroup(pid, s.value());
            default -> false;
        };
    }

    /**
     * Whether a cgroup path of the process (cgroup(7): lines "ID:CONTROLLERS:PATH", one "0::PATH"
     * on cgroup v2) is {@code path} or below it.
     */
    static boolean inCgroup(int pid, String path) throws IOException {
        String base = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
            int c = line.indexOf(':', line.indexOf(':') + 1);
            if (c < 0) continue;
            String p = line.substring(c + 1);
            if (p.equals(base) || base.equals("/") || p.startsWith(base + "/")) return true;
        }
        return false;
    }
}
