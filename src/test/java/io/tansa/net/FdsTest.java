package io.tansa.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.cli.Main;
import io.tansa.testing.Native;
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

/** tansa fds on fd_zoo, a program holding one fd of every kind and printing their numbers as ground truth. */
@Tag("privileged")
@Tag("oracle")
class FdsTest {
    static Path dir;
    static Target zoo;
    static int pid;
    static Map<String, String[]> truth = new HashMap<>();
    static FdReport report;

    @BeforeAll
    static void start() throws Exception {
        dir = Files.createTempDirectory("tansa-zoo");
        zoo = Target.start(Native.build("fd_zoo").toString(), dir.toString());
        pid = zoo.pid();
        for (String k : List.of("eventfd", "signalfd", "timerfd", "pipe", "epoll", "inotify", "socketpair", "tcp",
                "udp6", "netlink", "memfd", "deleted", "null", "dir", "file", "pidfd", "userfaultfd", "fanotify",
                "perf_event", "io_uring", "cross")) {
            String[] f = zoo.awaitLine(k + " ").split(" ");
            truth.put(k, f);
        }
        zoo.awaitLine("ready");
        report = FdReport.inspect(pid);
    }

    @AfterAll
    static void stop() throws Exception {
        if (zoo != null) zoo.close();
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
    }

    static int fd(String kind, int i) {
        return Integer.parseInt(truth.get(kind)[i]);
    }

    static FdReport.Entry at(int fd) {
        return report.fds().stream().filter(e -> e.fd() == fd).findFirst()
                .orElseThrow(() -> new AssertionError("fd " + fd + " not reported"));
    }

    static void type(String want, int fd) {
        assertEquals(want, at(fd).type(), "type of fd " + fd + " (" + at(fd).target() + ")");
    }

    @Test
    void anonInodeKindsWithFdinfoDetails() {
        type("eventfd", fd("eventfd", 1));
        assertEquals(42L, at(fd("eventfd", 1)).details().get("count"));
        // the id lsof shows as [eventfd:N] (fdinfo eventfd-id)
        var lsof = Native.run("lsof", "-w", "-n", "-P", "-a", "-p", Integer.toString(pid), "-d",
                Integer.toString(fd("eventfd", 1)), "-F", "n");
        String name = java.util.Arrays.stream(lsof.out().split("\n")).filter(l -> l.startsWith("n")).findFirst()
                .orElseThrow(() -> new AssertionError(lsof.out() + lsof.err()));
        assertEquals("n[eventfd:" + at(fd("eventfd", 1)).details().get("id") + "]", name);
        type("signalfd", fd("signalfd", 1));
        assertEquals(List.of("SIGUSR1", "SIGTERM"), at(fd("signalfd", 1)).details().get("signals"));
        type("timerfd", fd("timerfd", 1));
        var t = at(fd("timerfd", 1)).details();
        assertEquals("CLOCK_MONOTONIC", t.get("clock"));
        assertEquals(1.5, t.get("interval"));
        double next = (Double) t.get("next");
        assertTrue(next > 3000 && next <= 3600, "next expiry " + next);
        type("epoll", fd("epoll", 1));
        assertEquals(List.of(fd("epoll", 2), fd("epoll", 3)), at(fd("epoll", 1)).details().get("watches"));
        type("inotify", fd("inotify", 1));
        List<?> ws = (List<?>) at(fd("inotify", 1)).details().get("watches");
        assertEquals(1, ws.size());
        Map<?, ?> w = (Map<?, ?>) ws.get(0);
        assertEquals(fd("inotify", 2), w.get("wd"));
        try {
            assertEquals(((Number) Files.getAttribute(dir, "unix:ino")).longValue(), w.get("inode"));
        } catch (java.io.IOException e) {
            throw new AssertionError(e);
        }
        assertEquals("0x300", w.get("mask")); // IN_CREATE | IN_DELETE
    }

    /** Kinds the kernel may refuse (privileges, sysctls): checked where fd_zoo got them. */
    @Test
    void moreAnonInodeKinds() {
        for (String k : List.of("pidfd", "fanotify", "perf_event", "io_uring")) {
            if (fd(k, 1) >= 0) type(k, fd(k, 1));
        }
        if (fd("userfaultfd", 1) >= 0) {
            var u = at(fd("userfaultfd", 1));
            assertEquals("anon_inode", u.type());
            assertEquals("userfaultfd", u.details().get("kind"));
        }
        io.tansa.testing.Privileged.assume(fd("pidfd", 1) >= 0 && fd("perf_event", 1) >= 0, "pidfd/perf_event refused");
    }

    @Test
    void filesWithFlagsPositionsAndDeletion() {
        type("memfd", fd("memfd", 1));
        assertEquals("zoo-memfd", at(fd("memfd", 1)).details().get("name"));
        var del = at(fd("deleted", 1));
        assertEquals("file", del.type());
        assertEquals(true, del.details().get("deleted"));
        assertEquals(truth.get("deleted")[2] + " (deleted)", del.target());
        assertEquals(5L, del.details().get("pos"));
        var nul = at(fd("null", 1));
        assertEquals("chr", nul.type());
        assertEquals("/dev/null", nul.target());
        assertEquals("O_WRONLY|O_APPEND|O_CLOEXEC", nul.details().get("flags"));
        type("dir", fd("dir", 1));
        var file = at(fd("file", 1));
        assertEquals("file", file.type());
        assertEquals(7L, file.details().get("pos"));
        assertEquals("O_RDWR|O_CLOEXEC", file.details().get("flags"));
        assertTrue(!file.details().containsKey("deleted"));
    }

    @Test
    void socketsWithAddressesAndState() {
        var tcp = at(fd("tcp", 1));
        assertEquals("tcp", tcp.type());
        assertEquals("127.0.0.1:" + truth.get("tcp")[2], tcp.details().get("local"));
        assertEquals("listen", tcp.details().get("state"));
        assertEquals(16L, tcp.details().get("backlog"));
        assertEquals(0L, tcp.details().get("queued"));
        var udp = at(fd("udp6", 1));
        assertEquals("udp6", udp.type());
        assertEquals("[::1]:" + truth.get("udp6")[2], udp.details().get("local"));
        type("netlink", fd("netlink", 1));
        var a = at(fd("socketpair", 1));
        assertEquals("unix", a.type());
        assertEquals("stream", a.details().get("socket_type"));
        assertEquals("established", a.details().get("state"));
    }

    @Test
    void peersInThisAndAnotherProcess() {
        int s0 = fd("socketpair", 1), s1 = fd("socketpair", 2), p0 = fd("pipe", 1), p1 = fd("pipe", 2);
        assertEquals(new FdReport.Peer(pid, s1, "fd_zoo"), at(s0).details().get("peer"));
        assertEquals(new FdReport.Peer(pid, s0, "fd_zoo"), at(s1).details().get("peer"));
        assertEquals(new FdReport.Peer(pid, p1, "fd_zoo"), at(p0).details().get("peer"));
        assertEquals(new FdReport.Peer(pid, p0, "fd_zoo"), at(p1).details().get("peer"));
        int child = fd("cross", 3);
        var xs = at(fd("cross", 1));
        assertEquals("unix", xs.type());
        assertEquals(new FdReport.Peer(child, fd("cross", 4), "fd_zoo"), xs.details().get("peer"));
        var xp = at(fd("cross", 2));
        assertEquals("pipe", xp.type());
        assertEquals(new FdReport.Peer(child, fd("cross", 5), "fd_zoo"), xp.details().get("peer"));
    }

    /** lsof -p is the oracle: same fds, same kinds, same inodes for sockets and pipes. */
    @Test
    void agreesWithLsof() {
        var r = Native.run("lsof", "-w", "-n", "-P", "-p", Integer.toString(pid), "-F", "fti");
        assertEquals(0, r.code(), r.err());
        Map<Integer, String[]> lsof = new HashMap<>(); // fd → {type, inode}
        Integer cur = null;
        for (String l : r.out().split("\n")) {
            if (l.isEmpty()) continue;
            char k = l.charAt(0);
            String v = l.substring(1);
            if (k == 'f') {
                cur = v.chars().allMatch(Character::isDigit) ? Integer.valueOf(v) : null;
                if (cur != null) lsof.put(cur, new String[] {"", ""});
            } else if (cur != null && k == 't') {
                lsof.get(cur)[0] = v;
            } else if (cur != null && k == 'i') {
                lsof.get(cur)[1] = v;
            }
        }
        Map<String, String> lsofType = Map.ofEntries(Map.entry("file", "REG"), Map.entry("memfd", "REG"),
                Map.entry("dir", "DIR"), Map.entry("chr", "CHR"), Map.entry("pipe", "FIFO"), Map.entry("unix", "unix"),
                Map.entry("tcp", "IPv4"), Map.entry("udp6", "IPv6"), Map.entry("netlink", "netlink"),
                Map.entry("eventfd", "a_inode"), Map.entry("signalfd", "a_inode"), Map.entry("timerfd", "a_inode"),
                Map.entry("epoll", "a_inode"), Map.entry("inotify", "a_inode"), Map.entry("pidfd", "a_inode"),
                Map.entry("fanotify", "a_inode"), Map.entry("perf_event", "a_inode"), Map.entry("io_uring", "a_inode"),
                Map.entry("anon_inode", "a_inode"));
        assertEquals(lsof.keySet(), report.fds().stream().map(FdReport.Entry::fd).collect(java.util.stream.Collectors.toSet()));
        for (FdReport.Entry e : report.fds()) {
            String[] l = lsof.get(e.fd());
            // lsof 4.95 names a netlink socket "sock" when it cannot match /proc/net/netlink
            if (!(e.type().equals("netlink") && l[0].equals("sock"))) {
                assertEquals(lsofType.get(e.type()), l[0], "fd " + e.fd() + " " + e.type());
            }
            if (e.details().get("inode") instanceof Long ino && !l[1].isEmpty()) {
                assertEquals(Long.toString(ino), l[1], "inode of fd " + e.fd());
            }
        }
    }

    @Test
    void jsonAndSummaryThroughTheCli() throws Exception {
        Path out = Files.createTempFile("tansa-fds", ".json");
        try {
            assertEquals(0, cli("fds", "-p", Integer.toString(pid), "-f", "json", "-o", out.toString()));
            String json = Files.readString(out);
            assertTrue(json.startsWith("{\"pid\": " + pid + ", "), json);
            assertTrue(json.contains("{\"fd\": " + fd("eventfd", 1)
                    + ", \"type\": \"eventfd\", \"target\": \"anon_inode:[eventfd]\", \"flags\": \"O_RDWR|O_CLOEXEC\", \"count\": 42, \"id\": "
                    + at(fd("eventfd", 1)).details().get("id") + "}"), json);
            assertTrue(json.contains("\"watches\": [" + fd("epoll", 2) + ", " + fd("epoll", 3) + "]"), json);
            assertTrue(json.contains("\"peer\": {\"pid\": " + fd("cross", 3) + ", \"fd\": " + fd("cross", 4)), json);
            assertEquals(0, cli("fds", "-p", Integer.toString(pid), "--summary", "-o", out.toString()));
            String sum = Files.readString(out);
            assertTrue(sum.contains("1 × tcp listen"), sum);
            assertTrue(sum.contains("3 × unix established"), sum); // the socketpair and the child's
            long pipes = report.fds().stream().filter(e -> e.type().equals("pipe")).count();
            assertTrue(sum.contains(pipes + " × pipe\n"), sum);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void badInputGetsItsExitCode() {
        assertEquals(3, cli("fds", "-p", "999999999"));
        assertEquals(2, cli("fds"));
        assertEquals(2, cli("fds", "-p", Integer.toString(pid), "-f", "yaml"));
    }

    static int cli(String... args) {
        return Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()));
    }
}
