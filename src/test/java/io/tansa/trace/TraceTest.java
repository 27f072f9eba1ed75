package io.tansa.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Signals;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tansa trace on trace_target.c, a program making known numbers of known syscalls on three named
 * threads: counts checked against the program's own and against strace -c -f.
 */
@Tag("privileged")
@Tag("oracle")
class TraceTest {
    static Path target;
    static final String DONE = "done ioctl=1000 enotty=1000 getppid=500 write=200 read=200";

    @TempDir Path tmp;

    @BeforeAll
    static void build() {
        Privileged.requireRoot();
        target = Native.build("trace_target", "-O1", "-pthread");
    }

    @Test
    void commandSummaryEqualsStraceAndOutputIsUnchanged() throws IOException {
        Path json = tmp.resolve("sum.json");
        Native.Result r = tansa("trace", "-c", "-f", "json", "--per-thread", "-o", json.toString(), "--",
                target.toString());
        assertEquals(0, r.code(), r.err());
        // the traced program's own output, unchanged (the summary went to -o)
        assertEquals(Native.run(target.toString()).out(), r.out());
        assertEquals(DONE + "\n", r.out());

        String j = Files.readString(json);
        Map<String, long[]> ours = rows(j.substring(0, j.indexOf("\"ioctls\"")), "name");
        Path st = tmp.resolve("strace.txt");
        Native.Result s = Native.run("strace", "-c", "-f", "-o", st.toString(), target.toString());
        assertEquals(DONE + "\n", s.out());
        Map<String, long[]> oracle = straceTable(Files.readString(st));
        assertEquals(1000, oracle.get("ioctl")[0]);
        for (Map.Entry<String, long[]> e : oracle.entrySet()) {
            long[] o = ours.get(e.getKey());
            assertNotNull(o, "tansa misses " + e.getKey() + "\n" + j);
            // futex calls depend on lock contention (barrier, join), which differs between two runs
            if (e.getKey().equals("futex")) continue;
            assertEquals(e.getValue()[0], o[0], "calls of " + e.getKey());
            assertEquals(e.getValue()[1], o[1], "errors of " + e.getKey());
        }
        // strace -c leaves out the calls that never return; tansa counts them
        for (String extra : ours.keySet()) {
            if (!oracle.containsKey(extra)) assertTrue(extra.equals("exit") || extra.equals("exit_group"), extra);
        }
        assertEquals(3, ours.get("exit")[0]);

        Map<String, long[]> ioctls = rows(j.substring(j.indexOf("\"ioctls\""), j.indexOf("\"threads\"")), "request");
        assertEquals(List.of("KVM_RUN"), List.copyOf(ioctls.keySet()));
        assertEquals(1000, ioctls.get("KVM_RUN")[0]);
        assertEquals(1000, ioctls.get("KVM_RUN")[1]);

        // per thread: each worker's calls land on it, under its name
        Map<String, Map<String, long[]>> threads = threads(j);
        assertEquals(1000, threads.get("CPU 0/KVM").get("ioctl")[0]);
        assertFalse(threads.get("CPU 0/KVM").containsKey("getppid"));
        assertEquals(500, threads.get("getppid").get("getppid")[0]);
        assertFalse(threads.get("getppid").containsKey("ioctl"));
        assertEquals(200, threads.get("piper").get("read")[0]);
        assertEquals(200, threads.get("piper").get("write")[0]);
    }

    @Test
    void attachesToEveryThreadOfARunningProcess() throws Exception {
        try (Target t = Target.start(target.toString(), "wait")) {
            t.awaitLine("ready");
            Summary sum = new Summary(true);
            // the three workers exist already (blocked on a barrier): each needs its own events
            SyscallTracer tracer = SyscallTracer.attach(new SyscallTracer.Options(List.of(t.pid()), List.of(), false, null, null, 0));
            assertEquals(4, tracer.threadsAttached());
            CompletableFuture<Void> run = CompletableFuture.runAsync(() -> {
                try (tracer) {
                    tracer.run(sum);
                }
            });
            Signals.kill(t.pid(), Signals.SIGUSR1);
            assertEquals(DONE, t.awaitLine("done"));
            Signals.kill(t.pid(), Signals.SIGUSR1);
            run.get(60, TimeUnit.SECONDS);
            assertEquals(0, t.waitExit());
            assertEquals(1000, sum.calls("ioctl"));
            assertEquals(500, sum.calls("getppid"));
            assertEquals(200, sum.calls("read"));
            assertEquals(0, tracer.lost());
            Map<String, Long> ioctlByThread = new HashMap<>();
            for (Summary.ThreadStats ts : sum.threads()) {
                int nr = SyscallTable.number("ioctl");
                if (ts.bySyscall[nr] != null) ioctlByThread.put(ts.name, ts.bySyscall[nr].calls);
            }
            assertEquals(Map.of("CPU 0/KVM", 1000L), ioctlByThread);
        }
    }

    @Test
    void syscallFilterRunsInTheKernel() {
        Summary sum = new Summary(false);
        int ioctl = SyscallTable.number("ioctl");
        SyscallTracer tracer = SyscallTracer.attach(new SyscallTracer.Options(List.of(), List.of(target.toString()), false, null,
                java.util.Set.of(ioctl), 0));
        try (tracer) {
            tracer.run(sum);
        }
        assertEquals(0, tracer.child().exitValue());
        // only the 1000 KVM_RUN entries and exits ever reached userspace
        assertEquals(2000, tracer.records());
        assertEquals(0, tracer.lost());
        assertEquals(1000, sum.calls("ioctl"));
        assertEquals(List.of("ioctl"), sum.syscalls().stream().map(Map.Entry::getKey).toList());
    }

    @Test
    void childProcessesOnlyWithChildren() {
        // the first run is a child process of sh, the second replaces sh (exec)
        List<String> cmd = List.of("/bin/sh", "-c", target + " & wait; exec " + target);
        for (boolean children : new boolean[] {false, true}) {
            Summary sum = new Summary(false);
            SyscallTracer tracer = SyscallTracer.attach(new SyscallTracer.Options(List.of(), cmd, children, null, null, 0));
            try (tracer) {
                tracer.run(sum);
            }
            assertEquals(0, tracer.child().exitValue());
            assertEquals(children ? 2000 : 1000, sum.calls("ioctl"), "children " + children);
            // + sh's own getppid (for $PPID)
            assertEquals(children ? 1001 : 501, sum.calls("getppid"), "children " + children);
        }
    }

    private static final Pattern IOCTL_LINE = Pattern.compile(
            "\\[(\\d+) CPU 0/KVM\\] ioctl\\(3<pipe:\\[\\d+\\]>, KVM_RUN, 0\\) = -1 ENOTTY \\(Inappropriate ioctl for device\\)"
                    + " <0\\.\\d{6}>");

    @Test
    void printsJoinedCallsWithThreadNamesAndFds() throws Exception {
        Path out = tmp.resolve("trace.txt");
        try (Target t = Target.start(target.toString(), "wait")) {
            t.awaitLine("ready");
            Process p = tansaProcess("trace", "-p", Integer.toString(t.pid()), "-e", "ioctl", "--fds", "-T", "-o",
                    out.toString());
            try {
                awaitAttached(p);
                Signals.kill(t.pid(), Signals.SIGUSR1);
                t.awaitLine("done");
                // keep the target (and its fds) alive until every call is printed
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (lines(out).size() < 1000 && System.nanoTime() < deadline) Thread.sleep(20);
                Signals.kill(t.pid(), Signals.SIGUSR1);
                assertEquals(0, t.waitExit());
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue());
            } finally {
                p.destroyForcibly();
            }
        }
        List<String> lines = lines(out);
        assertEquals(1000, lines.size(), String.join("\n", lines.subList(0, Math.min(5, lines.size()))));
        for (String l : lines) assertTrue(IOCTL_LINE.matcher(l).matches(), l);
    }

    @Test
    void killingTansaLeavesTheTargetRunningAndSigtermPrintsTheSummary() throws Exception {
        try (Target t = Target.start(target.toString(), "wait")) {
            t.awaitLine("ready");
            Process k = tansaProcess("trace", "-p", Integer.toString(t.pid()));
            try {
                awaitAttached(k);
                Signals.kill((int) k.pid(), Signals.SIGKILL);
                assertTrue(k.waitFor(60, TimeUnit.SECONDS));
            } finally {
                k.destroyForcibly();
            }
            assertTrue(t.alive());
            Process p = tansaProcess("trace", "-p", Integer.toString(t.pid()), "-c");
            try {
                awaitAttached(p);
                Signals.kill((int) p.pid(), Signals.SIGTERM);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                String out = new String(p.getInputStream().readAllBytes());
                assertTrue(out.contains("% time") && out.contains("total"), out);
            } finally {
                p.destroyForcibly();
            }
            assertTrue(t.alive());
            Signals.kill(t.pid(), Signals.SIGUSR1);
            assertEquals(DONE, t.awaitLine("done"));
            Signals.kill(t.pid(), Signals.SIGUSR1);
            assertEquals(0, t.waitExit());
        }
    }

    @Test
    void mountsTracefsWhenItIsNotMounted() {
        // in a private mount namespace (unshare -m), so the host's mounts stay as they are
        List<String> cmd = new ArrayList<>(List.of("unshare", "-m", "--propagation", "private", "sh", "-c",
                "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null;"
                        + " ! grep -q tracefs /proc/self/mounts || exit 99; exec \"$@\"", "sh"));
        cmd.addAll(cli("trace", "-c", "-e", "ioctl", "--", target.toString()));
        Native.Result r = Native.run(cmd);
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("KVM_RUN") && r.out().contains("1000"), r.out());
    }

    @Test
    void badInputGetsAClearMessageAndExitCode() {
        Native.Result r = tansa("trace", "-c", "-p", "999999999");
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("no such process"), r.err());
        r = tansa("trace", "-e", "ioctl,no_such_call", "-p", "1");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("unknown syscall 'no_such_call'"), r.err());
    }

    // ---- helpers ----

    static List<String> cli(String... args) {
        List<String> cmd = new ArrayList<>(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), "io.tansa.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static String java() {
        String j = System.getenv("TANSA_TEST_JAVA");
        return j != null ? j : Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    static Native.Result tansa(String... args) {
        return Native.run(cli(args));
    }

    @Test
    void callsSeenOnlyInPartAreCountedApartNotAveragedIn() throws Exception {
        Privileged.requireRoot();
        // a thread in clock_nanosleep(0.7 s) over a 1 s trace: the call running at the start and
        // the one running at the end are partial; only a call seen whole has time
        Process t = new ProcessBuilder("python3", "-c", "import time\nwhile True: time.sleep(0.7)").start();
        try {
            Thread.sleep(300); // python is in its loop (not a timing assertion)
            io.tansa.testing.Tansa tr = io.tansa.testing.Tansa.run("trace", "-c", "-f", "json", "-d", "1s", "-p",
                    Long.toString(t.pid()));
            String json = tr.out();
            Matcher m = Pattern.compile("\\{\"name\": \"clock_nanosleep\", \"calls\": (\\d+), \"errors\": 0, "
                    + "\"partial\": (\\d+), \"total_us\": ([0-9.]+)").matcher(json);
            assertTrue(m.find(), json);
            long calls = Long.parseLong(m.group(1)), partial = Long.parseLong(m.group(2));
            double totalUs = Double.parseDouble(m.group(3));
            assertEquals(2, partial, json);
            // whole calls: each ~700 ms; none of the partial calls' time is in the total
            long whole = calls - partial;
            assertTrue(whole <= 1, json);
            assertTrue(whole == 0 ? totalUs == 0 : totalUs > 650_000 && totalUs < 1_000_000, json);
        } finally {
            t.destroyForcibly();
        }
    }

    static Process tansaProcess(String... args) throws IOException {
        return new ProcessBuilder(cli(args)).start();
    }

    /** Waits for tansa's "tansa trace: ... (N threads)" progress line on stderr. */
    static void awaitAttached(Process p) throws IOException {
        BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream()));
        String l;
        while ((l = err.readLine()) != null) {
            if (l.startsWith("tansa trace:")) return;
            if (l.startsWith("tansa:")) throw new AssertionError(l);
        }
        throw new AssertionError("tansa ended before attaching");
    }

    static List<String> lines(Path p) throws IOException {
        if (!Files.exists(p)) return List.of();
        return Files.readAllLines(p).stream().filter(s -> !s.isBlank()).toList();
    }

    /** JSON rows {"KEY": "x", "calls": N, "errors": E, ...} to x -> [N, E]. */
    static Map<String, long[]> rows(String json, String key) {
        Map<String, long[]> out = new HashMap<>();
        Matcher m = Pattern.compile("\\{\"" + key + "\": \"([^\"]+)\", \"calls\": (\\d+), \"errors\": (\\d+)")
                .matcher(json);
        while (m.find()) out.put(m.group(1), new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
        return out;
    }

    /** Per-thread tables of the JSON summary by thread name. */
    static Map<String, Map<String, long[]>> threads(String json) {
        Map<String, Map<String, long[]>> out = new HashMap<>();
        String[] parts = json.substring(json.indexOf("\"threads\"")).split("\\{\"tid\": ");
        for (int i = 1; i < parts.length; i++) {
            Matcher m = Pattern.compile("\"name\": \"([^\"]*)\"").matcher(parts[i]);
            assertTrue(m.find(), parts[i]);
            out.put(m.group(1), rows(parts[i], "name"));
        }
        return out;
    }

    /** strace -c table rows: name -> [calls, errors]. */
    static Map<String, long[]> straceTable(String text) {
        Map<String, long[]> out = new HashMap<>();
        for (String l : text.split("\n")) {
            String[] f = l.trim().split("\\s+");
            if (f.length < 5 || !f[0].matches("[0-9.]+") || f[f.length - 1].equals("total")) continue;
            boolean withErrors = f.length == 6;
            out.put(f[f.length - 1], new long[] {Long.parseLong(f[3]), withErrors ? Long.parseLong(f[4]) : 0});
        }
        return out;
    }
}
