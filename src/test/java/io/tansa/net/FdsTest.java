package io.tansa.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

    /**
     * An io_uring of 4 entries with /dev/null and the zoo's plain file registered (fd_zoo's own
     * io_uring_setup and IORING_REGISTER_FILES): the ring sizes (4, and the kernel's default of
     * twice as many completions), nothing pending, and the registered files by index and path,
     * as the program registered them; in text too.
     */
    @Test
    void ioUringRingSizesAndRegisteredFiles() {
        Privileged.assume(fd("io_uring", 1) >= 0, "io_uring_setup refused here (kernel.io_uring_disabled?)");
        assertEquals("0", truth.get("io_uring")[2], "fd_zoo registered its files");
        var d = at(fd("io_uring", 1)).details();
        assertEquals(4L, d.get("sq_entries"), d.toString());
        assertEquals(8L, d.get("cq_entries"), d.toString());
        assertEquals(0L, d.get("sq_pending"));
        assertEquals(0L, d.get("cq_pending"));
        assertEquals(List.of(Map.of("index", 0, "path", "/dev/null"), Map.of("index", 1, "path", truth.get("file")[2])),
                d.get("registered_files"));
        assertEquals(0L, d.get("registered_buffers"));
        String text = io.tansa.testing.Tansa.run("fds", "-p", Integer.toString(pid)).out();
        assertTrue(text.contains("sq 4 (0 pending), cq 8 (0 pending); registered files 0:/dev/null 1:" + truth.get("file")[2]),
                text);
    }

    /** A registered file's path as the kernel prints it (seq_file_path: a space as \\040) reads back whole. */
    @Test
    void ioUringRegisteredPathsAreUnescaped() {
        var info = io.tansa.proc.FdInfo.parse("pos:\t0\nflags:\t02000002\nSqMask:\t0x3\nUserFiles:\t2\n"
                + "    0: /tmp/a b\\040(deleted)\n    3: /x\\134y\nUserBufs:\t0\n");
        assertEquals(List.of(new io.tansa.proc.FdInfo.RegisteredFile(0, "/tmp/a b (deleted)"),
                new io.tansa.proc.FdInfo.RegisteredFile(3, "/x\\y")), info.uringFiles());
        assertEquals(3, info.number("SqMask", -1));
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

    /** lsof +E's endpoints of fd {@code fd} of {@code pid}: "PID,COMM,FDMODE" after "pipe". */
    static java.util.Set<String> lsofEndpoints(int pid, int fd) {
        Native.Result r = Native.run(List.of("lsof", "-n", "-P", "+E", "-a", "-p", Integer.toString(pid), "-d", Integer.toString(fd)));
        java.util.Set<String> out = new java.util.TreeSet<>();
        for (String line : r.out().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 2 || !f[1].equals(Integer.toString(pid))) continue;
            int at = java.util.Arrays.asList(f).indexOf("pipe");
            assertTrue(at > 0, line);
            for (int k = at + 1; k < f.length; k++) out.add(f[k]);
        }
        assertTrue(!out.isEmpty(), "lsof +E: " + r.out() + r.err());
        return out;
    }

    /** tansa's holders of fd {@code fd} (or its one peer) in lsof's "PID,COMM,FDMODE" form. */
    static java.util.Set<String> tansaHolders(int pid, int fd) {
        FdReport.Entry e = FdReport.inspect(pid).fds().stream().filter(x -> x.fd() == fd).findFirst().orElseThrow();
        java.util.Set<String> out = new java.util.TreeSet<>();
        if (e.details().get("holders") instanceof List<?> hs) {
            for (Object o : hs) {
                FdReport.Holder h = (FdReport.Holder) o;
                out.add(h.pid() + "," + h.comm() + "," + h.fd() + h.mode());
            }
        } else if (e.details().get("peer") instanceof FdReport.Peer p) {
            out.add(p.pid() + "," + p.comm() + "," + p.fd() + "?");
        }
        return out;
    }

    @Test
    void pipeEndSharedByTwoWritersListsEveryHolderAsLsof() throws Exception {
        // the subshell's two sleeps share the pipe's write end (fd 1); the third sleep reads it (fd 0)
        Process sh = new ProcessBuilder("sh", "-c", "(sleep 100 & sleep 100) | sleep 100")
                .redirectInput(new java.io.File("/dev/null")).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            List<Integer> sleeps;
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (true) {
                sleeps = new java.util.ArrayList<>();
                List<Integer> todo = new java.util.ArrayList<>(List.of((int) sh.pid()));
                while (!todo.isEmpty()) {
                    int p = todo.remove(0);
                    try {
                        todo.addAll(io.tansa.proc.ProcFs.children(p));
                        if (p != sh.pid() && io.tansa.proc.ProcFs.comm(p, p).equals("sleep")) sleeps.add(p);
                    } catch (RuntimeException gone) {
                        // between fork and exec
                    }
                }
                if (sleeps.size() == 3) break;
                assertTrue(System.nanoTime() < deadline, "sleeps: " + sleeps);
                Thread.sleep(20);
            }
            int reader = -1;
            List<Integer> writers = new java.util.ArrayList<>();
            for (int p : sleeps) {
                String in = Files.readSymbolicLink(Path.of("/proc/" + p + "/fd/0")).toString();
                if (in.startsWith("pipe:")) reader = p;
                else writers.add(p);
            }
            assertEquals(2, writers.size(), sleeps.toString());
            // the reader: both writers, each "1w", as lsof +E says
            java.util.Set<String> expect = new java.util.TreeSet<>();
            for (int w : writers) expect.add(w + ",sleep,1w");
            assertEquals(expect, lsofEndpoints(reader, 0));
            assertEquals(expect, tansaHolders(reader, 0));
            // a writer: the other writer (same end) and the reader
            int w0 = writers.get(0);
            java.util.Set<String> lsof = lsofEndpoints(w0, 1);
            assertEquals(java.util.Set.of(writers.get(1) + ",sleep,1w", reader + ",sleep,0r"), lsof);
            assertEquals(lsof, tansaHolders(w0, 1));
            // text: the peer, then every holder
            java.io.ByteArrayOutputStream bo = new java.io.ByteArrayOutputStream();
            io.tansa.report.FdsText.render(FdReport.inspect(reader), false, new java.io.PrintStream(bo, true, "UTF-8"));
            String text = bo.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertTrue(text.contains("held by sleep[" + Math.min(writers.get(0), writers.get(1)) + "] 1w sleep["
                    + Math.max(writers.get(0), writers.get(1)) + "] 1w"), text);
        } finally {
            for (ProcessHandle c : sh.descendants().toList()) c.destroy();
            sh.destroy();
        }
    }
}
