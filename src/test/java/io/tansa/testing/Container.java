package io.tansa.testing;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A program in a container as Docker's overlay2 makes one, with no container runtime: an overlay
 * mount over the cached Debian bookworm root (the lower layer), the program copied into the upper
 * layer as /app/NAME, started with {@code unshare --pid --mount --net --uts --fork
 * --mount-proc=MERGED/proc chroot MERGED}, loopback brought up with {@code nsenter -t PID -n ip
 * link set lo up} before the program runs, and — where the machine's cgroup v2 hierarchy allows it —
 * a child cgroup named as a runtime names its containers
 * ({@code /tansa-test.slice/docker-<64 hex>.scope}), the container's init moved into it before the
 * program runs.
 * {@link #close} kills the namespace's init (and with it every process of the namespace),
 * removes the cgroup, unmounts the overlay and deletes its directories, also after a failure.
 */
public final class Container implements AutoCloseable {
    /** The cgroup v2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
    public static final Path CGROUP_ROOT = Files.isRegularFile(Path.of("/sys/fs/cgroup/unified/cgroup.procs"))
            ? Path.of("/sys/fs/cgroup/unified") : Path.of("/sys/fs/cgroup");
    public static final String SLICE = "tansa-test.slice";

    public final Target launcher;
    /** The program's pid as the host sees it, and in its container (1). */
    public final int pid;
    public final int nsPid;
    /** The overlay's merged directory (the container's /). */
    public final Path merged;
    /** The cgroup path as /proc/PID/cgroup shows it ("/tansa-test.slice/docker-….scope"), or null. */
    public final String cgroup;
    public final String id;
    private final Path dir;
    private final Path cgroupDir;

    private Container(Target launcher, int pid, int nsPid, Path merged, String cgroup, String id, Path dir, Path cgroupDir) {
        this.launcher = launcher;
        this.pid = pid;
        this.nsPid = nsPid;
        this.merged = merged;
        this.cgroup = cgroup;
        this.id = id;
        this.dir = dir;
        this.cgroupDir = cgroupDir;
    }

    /** The cached bookworm root (any complete one), else built by debian-root.sh; or a skip. */
    public static Path debianRoot() {
        Privileged.requireRoot();
        Path cache = Path.of(System.getenv().getOrDefault("TANSA_TEST_CACHE", "/var/cache/tansa-test"));
        try (Stream<Path> s = Files.list(cache)) {
            var found = s.filter(p -> p.getFileName().toString().startsWith("root-bookworm-"))
                    .filter(p -> Files.exists(p.resolve(".complete")) && Files.exists(p.resolve("bin/sh"))).sorted().findFirst();
            if (found.isPresent()) return found.get();
        } catch (IOException e) {
            // no cache yet
        }
        Native.Result r = Native.run(RubyRoots.SCRIPTS.resolve("debian-root.sh").toString(), "bookworm");
        Privileged.assume(r.code() == 0, "cannot build a bookworm root: " + r.err());
        return Path.of(r.out().strip());
    }

    /** A random docker-style container id (64 hex digits). */
    public static String randomId() {
        byte[] b = new byte[32];
        ThreadLocalRandom.current().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * Starts {@code program} (a host binary, run against the root's libraries: both are bookworm)
     * with {@code args} in a new container; {@code scope} names its cgroup
     * ("docker-ID.scope", "crio-ID.scope", …; null: no cgroup). Waits until the program is running.
     */
    public static Container start(Path program, String scope, String... args) {
        Path root = debianRoot();
        cleanStale();
        Path dir = null, cg = null;
        Target launcher = null;
        try {
            dir = Files.createTempDirectory("tansa-ctr");
            Path lower = root, upper = dir.resolve("upper"), work = dir.resolve("work"), merged = dir.resolve("merged");
            for (Path p : List.of(upper, work, merged)) Files.createDirectories(p);
            Native.Result m = Native.run("mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work, merged.toString());
            Privileged.assume(m.code() == 0, "cannot mount an overlay: " + m.err());
            Files.createDirectories(merged.resolve("app"));
            Path inside = merged.resolve("app").resolve(program.getFileName().toString());
            Files.copy(program, inside);
            inside.toFile().setExecutable(true);
            String cgroupPath = null;
            if (scope != null && canMakeCgroups()) {
                cg = CGROUP_ROOT.resolve(SLICE).resolve(scope);
                Files.createDirectories(cg);
                cgroupPath = "/" + SLICE + "/" + scope;
            }
            StringBuilder cmd = new StringBuilder("/app/" + program.getFileName());
            for (String a : args) cmd.append(" '").append(a.replace("'", "'\\''")).append('\'');
            // the shell in the container waits for a line on stdin: loopback is up by then
            String script = "exec unshare --pid --mount --net --uts --fork --mount-proc=" + merged + "/proc"
                    + " chroot " + merged + " /bin/sh -c 'read go; exec \"$0\" \"$@\"' " + cmd;
            launcher = Target.start("sh", "-c", script);
            int pid = awaitChild(launcher);
            // the container's init joins its cgroup before the program runs (as runc does; the
            // launcher, like containerd-shim, stays outside)
            if (cg != null) Files.writeString(cg.resolve("cgroup.procs"), Integer.toString(pid));
            Native.Result lo = Native.run("nsenter", "-t", Integer.toString(pid), "-n", "ip", "link", "set", "lo", "up");
            if (lo.code() != 0) throw new AssertionError("ip link set lo up in the container: " + lo.err());
            OutputStream in = launcher.process.getOutputStream();
            in.write("go\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            String id = scope == null ? null : scope.replaceAll("^.*?-([0-9a-f]{64})\\.scope$", "$1");
            Container c = new Container(launcher, pid, nsPidOf(pid), merged, cgroupPath, id, dir, cg);
            launcher = null;
            return c;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } finally {
            if (launcher != null) cleanup(launcher, dir, cg); // failed half way: leave nothing behind
        }
    }

    /** Whether a child cgroup can be made here (cgroup v2 mounted and writable). */
    public static boolean canMakeCgroups() {
        Path probe = CGROUP_ROOT.resolve(SLICE);
        try {
            Files.createDirectories(probe);
            return Files.isRegularFile(probe.resolve("cgroup.procs"));
        } catch (IOException e) {
            return false;
        }
    }

    /** The container's init: the child of the unshare (the shell that execs the program). */
    private static int awaitChild(Target launcher) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int unshare = launcher.pid();
        while (System.nanoTime() < deadline) {
            List<Integer> kids = io.tansa.proc.ProcFs.children(unshare);
            if (!kids.isEmpty()) {
                int k = kids.get(0);
                // past chroot: the shell runs in the merged root
                try {
                    if (Files.readSymbolicLink(Path.of("/proc/" + k + "/root")).toString().endsWith("merged")) return k;
                } catch (IOException gone) {
                    // not yet
                }
            }
            if (!launcher.alive()) throw new AssertionError("the container launcher exited: " + launcher.rest());
            Thread.onSpinWait();
        }
        throw new AssertionError("the container did not start");
    }

    private static int nsPidOf(int pid) {
        String[] f = Target.status(pid, "NSpid").split("\\s+");
        return Integer.parseInt(f[f.length - 1]);
    }

    /**
     * The command prefix that runs a program as a sidecar of this container (Kubernetes' shared
     * process namespace, `kubectl debug --target`): in the container's pid namespace (nsenter
     * --pid), with a mount namespace of its own (unshare --mount: the host's files, not the
     * container's) and a /proc mounted there for that pid namespace; {@code setup} runs first in
     * that mount namespace (e.g. "umount /sys/kernel/tracing": a sidecar without tracefs). The
     * mounts are private to the sidecar and vanish with it. {@code dropCaps} (e.g. "cap_sys_admin")
     * are dropped from the bounding set before tansa starts (capsh(1)): a sidecar with fewer
     * capabilities.
     */
    public List<String> sidecar(String setup, String... dropCaps) {
        String script = "mount -t proc proc /proc && " + (setup == null || setup.isEmpty() ? "" : setup + " ; ")
                + (dropCaps.length == 0 ? "exec \"$@\""
                        : "exec capsh --drop=" + String.join(",", dropCaps) + " -- -c 'exec \"$0\" \"$@\"' \"$@\"");
        return List.of("nsenter", "-t", Integer.toString(pid), "--pid", "--", "unshare", "--mount", "--propagation",
                "private", "--", "sh", "-c", script, "sidecar");
    }

    /** Waits for the program's line starting with {@code prefix}. */
    public String awaitLine(String prefix) {
        return launcher.awaitLine(prefix);
    }

    /** Host pids of every process in the container's pid namespace. */
    public List<Integer> members() {
        List<Integer> out = new ArrayList<>();
        out.add(pid);
        out.addAll(io.tansa.proc.ProcFs.children(pid));
        return out;
    }

    /** Runs {@code cmd} in the container's namespaces (nsenter --all into its init, root and cwd). */
    public Native.Result exec(String... cmd) {
        List<String> c = new ArrayList<>(List.of("nsenter", "-t", Integer.toString(pid), "-a", "-r", "-w"));
        c.addAll(List.of(cmd));
        return Native.run(c);
    }

    @Override
    public void close() {
        cleanup(launcher, dir, cgroupDir);
    }

    private static void cleanup(Target launcher, Path dir, Path cg) {
        if (launcher != null) {
            for (int k : safeChildren(launcher.pid())) Native.run("kill", "-9", Integer.toString(k)); // pid 1 of the namespace
            launcher.close();
        }
        if (cg != null) {
            for (int i = 0; i < 200 && Files.exists(cg); i++) {
                try {
                    Files.delete(cg); // EBUSY while a dying member is still there
                } catch (IOException busy) {
                    Thread.onSpinWait();
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            try {
                Files.deleteIfExists(cg.getParent()); // the slice, when no other test uses it
            } catch (IOException inUse) {
                // another container of a concurrent test
            }
        }
        if (dir != null) {
            Native.run("umount", "-l", dir.resolve("merged").toString());
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                // best effort
            }
        }
    }

    private static List<Integer> safeChildren(int pid) {
        try {
            return io.tansa.proc.ProcFs.children(pid);
        } catch (RuntimeException gone) {
            return List.of();
        }
    }

    /** Empty test cgroups a killed earlier run left behind. */
    private static void cleanStale() {
        Path slice = CGROUP_ROOT.resolve(SLICE);
        if (!Files.isDirectory(slice)) return;
        try (Stream<Path> s = Files.list(slice)) {
            s.filter(Files::isDirectory).forEach(p -> {
                try {
                    if (Files.readString(p.resolve("cgroup.procs")).isBlank()) Files.delete(p);
                } catch (IOException busy) {
                    // in use by a concurrent test
                }
            });
        } catch (IOException e) {
            // nothing to clean
        }
    }
}
