package io.tansa.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.cli.Main;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * tansa sockets on listen_queue, whose listeners hold a known number of connections never
 * accepted; ss is the oracle for queued/backlog.
 */
@Tag("privileged")
@Tag("oracle")
class SocketsTest {
    static Path dir;
    static Target lq;
    static int pid;
    /** local address → {kind, fd, queued} as the program printed them. */
    static Map<String, String[]> truth = new HashMap<>();

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("tansa-lq");
        lq = Target.start(Native.build("listen_queue").toString(), "unix:" + dir.resolve("u.sock") + ":64:9",
                "tcp:32:5", "tcp6:8:2", "seqpacket:" + dir.resolve("s.sock") + ":4:1",
                "unixfull:" + dir.resolve("full.sock") + ":2");
        pid = Integer.parseInt(lq.awaitLine("pid ").split(" ")[1]);
        for (int i = 0; i < 5; i++) {
            String[] f = lq.awaitLine("listener ").split(" ");
            truth.put(f[3], new String[] {f[1], f[2], f[4]});
        }
        lq.awaitLine("ready");
    }

    @AfterAll
    static void stop() throws Exception {
        if (lq != null) lq.close();
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
    }

    static Sockets.Row row(List<Sockets.Row> rows, String local) {
        return rows.stream().filter(r -> r.local().equals(local)).findFirst()
                .orElseThrow(() -> new AssertionError(local + " not in " + rows));
    }

    @Test
    void queuedAndBacklogExactly() {
        List<Sockets.Row> rows = Sockets.query(List.of(pid), true);
        assertEquals(5, rows.size(), rows.toString());
        Sockets.Row u = row(rows, dir.resolve("u.sock").toString());
        assertEquals("unix", u.proto());
        assertEquals("stream", u.type());
        assertEquals("listen", u.state());
        assertEquals(9, u.queued());
        assertEquals(64, u.backlog());
        assertEquals(List.of(new Sockets.Owner(pid, Integer.parseInt(truth.get(u.local())[1]), "listen_queue")),
                u.owners());
        Sockets.Row s = row(rows, dir.resolve("s.sock").toString());
        assertEquals("seqpacket", s.type());
        assertEquals(1, s.queued());
        assertEquals(4, s.backlog());
        for (var e : truth.entrySet()) {
            if (!e.getValue()[0].startsWith("tcp")) continue;
            Sockets.Row t = row(rows, e.getKey());
            assertEquals(e.getValue()[0], t.proto());
            assertEquals(Long.parseLong(e.getValue()[2]), t.queued());
            assertEquals(t.proto().equals("tcp") ? 32 : 8, t.backlog());
            assertTrue(!t.full());
        }
        Sockets.Row f = row(rows, dir.resolve("full.sock").toString());
        assertEquals(Long.parseLong(truth.get(f.local())[2]), f.queued()); // the kernel takes backlog + 1
        assertEquals(2, f.backlog());
        assertTrue(f.full());
    }

    /** ss -xlp / -tlnp print Recv-Q (queued) and Send-Q (backlog) of listeners: same numbers. */
    @Test
    void sameNumbersAsSs() {
        List<Sockets.Row> rows = Sockets.query(List.of(pid), true);
        var x = Native.run("ss", "-xlpH");
        var t = Native.run("ss", "-tlnpH");
        for (Sockets.Row r : rows) {
            String ss = r.proto().equals("unix") ? x.out() : t.out();
            String line = ss.lines().filter(l -> List.of(l.trim().split("\\s+")).contains(r.local())).findFirst()
                    .orElseThrow(() -> new AssertionError(r.local() + " not in ss:\n" + ss));
            String[] f = line.trim().split("\\s+");
            int q = r.proto().equals("unix") ? 2 : 1; // u_str LISTEN Q B ... / LISTEN Q B ...
            assertEquals(Long.parseLong(f[q]), r.queued(), line);
            assertEquals(Long.parseLong(f[q + 1]), r.backlog(), line);
            assertTrue(line.contains("pid=" + pid + ",fd=" + r.owners().get(0).fd()), line);
        }
    }

    @Test
    void allProcessesIncludeTheseListeners() {
        List<Sockets.Row> all = Sockets.query(List.of(), true);
        for (Sockets.Row mine : Sockets.query(List.of(pid), true)) {
            Sockets.Row r = row(all, mine.local());
            assertEquals(mine.queued(), r.queued());
            assertEquals(mine.owners(), r.owners());
        }
    }

    @Test
    void watchPrintsPeakAndMarksAFullQueue() throws Exception {
        Path out = Files.createTempFile("tansa-watch", ".json");
        try {
            long t0 = System.nanoTime();
            assertEquals(0, cli("sockets", "-p", Integer.toString(pid), "--watch", "100ms", "-d", "600ms", "-f", "json",
                    "-o", out.toString(), "-q"));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            List<String> lines = Files.readAllLines(out);
            // one line per tick at 0, 100, ... 600 ms; a tick a slow (busy machine) sample overran is skipped
            assertTrue(lines.size() >= 2 && lines.size() <= 7, lines.size() + " samples in " + ms + " ms");
            String full = dir.resolve("full.sock").toString();
            for (String l : lines) {
                assertTrue(l.startsWith("{\"time\": "), l);
                assertTrue(l.contains("\"local\": \"" + full + "\", \"state\": \"listen\", \"queued\": "
                        + truth.get(full)[2] + ", \"backlog\": 2"), l);
                assertTrue(l.contains("\"peak\": " + truth.get(full)[2] + ", \"full\": true"), l);
                assertTrue(l.contains("\"queued\": 9, \"backlog\": 64"), l);
            }
            assertEquals(0, cli("sockets", "-p", Integer.toString(pid), "--watch", "50ms", "-d", "60ms", "-o",
                    out.toString(), "-q"));
            String text = Files.readString(out);
            assertTrue(text.lines().anyMatch(l -> l.contains(full) && l.endsWith("FULL")), text);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void jsonContract() throws Exception {
        Path out = Files.createTempFile("tansa-sockets", ".json");
        try {
            assertEquals(0, cli("sockets", "-p", Integer.toString(pid), "--listen", "-f", "json", "-o", out.toString()));
            String json = Files.readString(out);
            assertTrue(json.startsWith("{\"sockets\": [{\"proto\": \"unix\""), json);
            assertTrue(json.contains("\"local\": \"" + dir.resolve("u.sock") + "\", \"state\": \"listen\", \"queued\": 9, "
                    + "\"backlog\": 64, \"pids\": [" + pid + "]"), json);
            String tcp = truth.keySet().stream().filter(k -> k.startsWith("127.")).findFirst().orElseThrow();
            assertTrue(json.contains("{\"proto\": \"tcp\", \"local\": \"" + tcp + "\", \"state\": \"listen\", \"queued\": 5, "
                    + "\"backlog\": 32, \"pids\": [" + pid + "]"), json);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void badInputGetsItsExitCode() {
        assertEquals(3, cli("sockets", "-p", "999999999"));
        assertEquals(2, cli("sockets", "-a", "-p", Integer.toString(pid)));
        assertEquals(2, cli("sockets", "--watch", "0s"));
    }

    /** A listener in another network namespace: tansa enters it (setns in a thread) and agrees with ss there. */
    @Test
    void listenerInAnotherNetworkNamespace() {
        Privileged.requireRoot();
        String ns = "tansa-test-" + ProcessHandle.current().pid();
        assertEquals(0, Native.run("ip", "netns", "add", ns).code());
        Target t = null;
        int inner = -1;
        try {
            assertEquals(0, Native.run("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up").code());
            t = Target.start("ip", "netns", "exec", ns, Native.build("listen_queue").toString(),
                    "unix:" + dir.resolve("ns.sock") + ":16:3", "tcp:7:2");
            inner = Integer.parseInt(t.awaitLine("pid ").split(" ")[1]);
            t.awaitLine("listener unix");
            String tcp = t.awaitLine("listener tcp").split(" ")[3];
            t.awaitLine("ready");
            List<Sockets.Row> rows = Sockets.query(List.of(inner), true);
            assertEquals(2, rows.size(), rows.toString());
            Sockets.Row u = row(rows, dir.resolve("ns.sock").toString());
            assertEquals(3, u.queued());
            assertEquals(16, u.backlog());
            assertEquals(NetNs.of(inner), u.netns());
            Sockets.Row r = row(rows, tcp);
            assertEquals(2, r.queued());
            assertEquals(7, r.backlog());
            // not visible from tansa's own namespace: ss here does not list it, ss inside does
            assertTrue(!Native.run("ss", "-tlnH").out().contains(tcp));
            String inside = Native.run("ip", "netns", "exec", ns, "ss", "-tlnH").out();
            String[] f = inside.lines().filter(l -> l.contains(tcp)).findFirst().orElseThrow().trim().split("\\s+");
            assertEquals("2", f[1]);
            assertEquals("7", f[2]);
            // fds of that process reach its sockets too
            FdReport fr = FdReport.inspect(inner);
            var l = fr.fds().stream().filter(e -> tcp.equals(e.details().get("local"))).findFirst();
            assertTrue(l.isPresent(), fr.toString());
            assertEquals(7L, l.get().details().get("backlog"));
            assertNotNull(Sockets.query(List.of(), true).stream().filter(x -> x.local().equals(tcp)).findFirst()
                    .orElse(null), "-a covers other namespaces");
        } finally {
            if (inner > 0) ProcessHandle.of(inner).ifPresent(ProcessHandle::destroyForcibly);
            if (t != null) t.close();
            Native.run("ip", "netns", "del", ns);
        }
    }

    static int cli(String... args) {
        return Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
    }
}
