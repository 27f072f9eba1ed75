package io.tansa.serve;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.net.NetNs;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Signals;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.URI;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real Prometheus (Debian's) scrapes tansa serve every second; its query API must return the
 * exact queue of test listeners holding a known number of connections never accepted — on the
 * host, in a network namespace of its own, and of a Unicorn behind its UNIX socket — and follow
 * when that number changes.
 */
@Tag("oracle")
class PrometheusTest {
    static Path dir;
    static Serve serve;
    static Process prometheus;
    static String api;
    static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        Privileged.requireRoot();
        dir = Files.createTempDirectory("tansa-prom");
        serve = Serve.start();
        int port = freePort();
        Files.writeString(dir.resolve("prometheus.yml"), """
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                scrape_configs:
                  - job_name: tansa
                    static_configs:
                      - targets: ['127.0.0.1:%d']
                """.formatted(serve.port()));
        prometheus = new ProcessBuilder("prometheus", "--config.file=" + dir.resolve("prometheus.yml"),
                "--storage.tsdb.path=" + dir.resolve("data"), "--web.listen-address=127.0.0.1:" + port)
                .redirectErrorStream(true).redirectOutput(dir.resolve("prometheus.log").toFile()).start();
        api = "http://127.0.0.1:" + port;
        for (int i = 0; ; i++) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(api + "/-/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200) break;
            } catch (IOException notYet) {
                // not listening yet
            }
            if (i > 600 || !prometheus.isAlive()) throw new AssertionError("prometheus did not start: " + log());
            Thread.sleep(100);
        }
    }

    private static String log() throws IOException {
        return Files.readString(dir.resolve("prometheus.log"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (prometheus != null) {
            prometheus.destroy();
            if (!prometheus.waitFor(20, TimeUnit.SECONDS)) prometheus.destroyForcibly().waitFor();
        }
        if (serve != null) serve.close();
        if (dir != null) {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static final Pattern SAMPLE = Pattern.compile("\"metric\":\\{([^}]*)\\},\"value\":\\[[0-9.]+,\"([^\"]+)\"\\]");

    /** The series Prometheus has now for {@code promql}: label text → value. */
    static List<String[]> query(String promql) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api + "/api/v1/query?query="
                + URLEncoder.encode(promql, StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        List<String[]> out = new ArrayList<>();
        Matcher m = SAMPLE.matcher(r.body());
        while (m.find()) out.add(new String[] {m.group(1), m.group(2)});
        return out;
    }

    /**
     * Waits until Prometheus has scraped {@code expected} for {@code promql} (one series), and
     * returns its labels; fails after a minute with what it had.
     */
    static String await(String promql, long expected) throws Exception {
        List<String[]> last = List.of();
        for (int i = 0; i < 600; i++) {
            last = query(promql);
            if (last.size() == 1 && Double.parseDouble(last.get(0)[1]) == expected) return last.get(0)[0];
            Thread.sleep(100);
        }
        throw new AssertionError(promql + ": expected one series = " + expected + ", Prometheus has "
                + last.stream().map(s -> "{" + s[0] + "} " + s[1]).toList() + "\nprometheus log:\n" + log());
    }

    @Test
    void prometheusSeesTheExactQueueAndItFollows() throws Exception {
        Path sock = dir.resolve("u.sock");
        try (Target lq = Target.start(Native.build("listen_queue").toString(), "tcp:32:5", "unix:" + sock + ":64:9")) {
            int pid = Integer.parseInt(lq.awaitLine("pid ").split(" ")[1]);
            String tcp = lq.awaitLine("listener tcp").split(" ")[3];
            lq.awaitLine("ready");
            String labels = await("tansa_listen_queued{local=\"" + tcp + "\"}", 5);
            assertTrue(labels.contains("\"pid\":\"" + pid + "\""), labels);
            assertTrue(labels.contains("\"comm\":\"listen_queue\""), labels);
            assertTrue(labels.contains("\"proto\":\"tcp\""), labels);
            assertTrue(labels.contains("\"netns\":\"" + NetNs.self() + "\""), labels);
            await("tansa_listen_backlog{local=\"" + tcp + "\"}", 32);
            await("tansa_listen_queued{local=\"" + sock + "\",proto=\"unix\"}", 9);
            await("tansa_listen_backlog{local=\"" + sock + "\"}", 64);
            // three more connections the program never accepts: the queue follows, 5 → 8
            int colon = tcp.lastIndexOf(':');
            InetSocketAddress addr = new InetSocketAddress(tcp.substring(0, colon), Integer.parseInt(tcp.substring(colon + 1)));
            List<SocketChannel> more = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) more.add(SocketChannel.open(addr));
                await("tansa_listen_queued{local=\"" + tcp + "\"}", 8);
            } finally {
                for (SocketChannel c : more) c.close();
            }
            await("up{job=\"tansa\"}", 1);
        }
    }

    /**
     * A listener in a network namespace of its own (unshare --net), invisible to ss on the host,
     * and that namespace's ListenOverflows counter after a connection its full queue refused.
     */
    @Test
    void aListenerInItsOwnNetworkNamespace() throws Exception {
        Path sock = dir.resolve("ns.sock");
        try (Target lq = Target.start("unshare", "--net", "sh", "-c", "ip link set lo up && exec "
                + Native.build("listen_queue") + " tcp:1:2 unix:" + sock + ":16:3")) {
            int pid = Integer.parseInt(lq.awaitLine("pid ").split(" ")[1]);
            String tcp = lq.awaitLine("listener tcp").split(" ")[3];
            lq.awaitLine("ready");
            String ns = NetNs.of(pid);
            assertTrue(!ns.equals(NetNs.self()), "a namespace of its own");
            String sel = "{netns=\"" + ns + "\",local=\"" + tcp + "\"}";
            String labels = await("tansa_listen_queued" + sel, 2);
            assertTrue(labels.contains("\"pid\":\"" + pid + "\""), labels);
            await("tansa_listen_backlog" + sel, 1);
            await("tansa_listen_queued{netns=\"" + ns + "\",local=\"" + sock + "\"}", 3);
            await("tansa_listen_backlog{netns=\"" + ns + "\",local=\"" + sock + "\"}", 16);
            // a third connection finds the queue (backlog 1: the kernel holds 2) full: its SYNs are dropped
            // and counted as ListenOverflows in that namespace only
            await("tansa_listen_overflows_total{netns=\"" + ns + "\"}", 0);
            Native.Result r = Native.run("nsenter", "-t", Integer.toString(pid), "-n", "timeout", "3", "bash", "-c",
                    "echo > /dev/tcp/127.0.0.1/" + tcp.substring(tcp.lastIndexOf(':') + 1));
            assertTrue(r.code() != 0, "the connect could not complete: " + r);
            long overflows = tcpExt(pid, "ListenOverflows");
            assertTrue(overflows > 0, "the kernel counted overflows");
            await("tansa_listen_overflows_total{netns=\"" + ns + "\"}", overflows);
            await("tansa_listen_drops_total{netns=\"" + ns + "\"}", tcpExt(pid, "ListenDrops"));
        }
    }

    /** The kernel's TcpExt counter of the network namespace of {@code pid}. */
    static long tcpExt(int pid, String name) throws IOException {
        List<String> l = Files.readAllLines(Path.of("/proc/" + pid + "/net/netstat"));
        for (int i = 0; i + 1 < l.size(); i++) {
            if (!l.get(i).startsWith("TcpExt:")) continue;
            List<String> names = List.of(l.get(i).split("\\s+"));
            return Long.parseLong(l.get(i + 1).split("\\s+")[names.indexOf(name)]);
        }
        throw new AssertionError("no TcpExt in netstat");
    }

    /**
     * Unicorn (one worker) listening on a UNIX socket: with the worker stopped (SIGSTOP: busy), five
     * requests queue, and Prometheus shows 5 on the master's series; the worker resumed serves them
     * and the queue goes back to 0.
     */
    @Test
    void aUnicornBehindItsUnixSocket() throws Exception {
        Path sock = dir.resolve("unicorn.sock");
        Path conf = dir.resolve("unicorn.conf.rb");
        Files.writeString(conf, "worker_processes 1\nlisten \"" + sock + "\", backlog: 16\ntimeout 120\n");
        Path app = Path.of("src/test/ruby/unicorn").toAbsolutePath();
        try (Target master = Target.start("sh", "-c", "cd " + app + " && exec unicorn -c " + conf + " config.ru 2>&1")) {
            master.awaitContaining("worker=0 ready");
            List<Integer> workers = ProcFs.children(master.pid());
            assertEquals(1, workers.size(), workers.toString());
            String sel = "{local=\"" + sock + "\"}";
            String labels = await("tansa_listen_queued" + sel, 0);
            assertTrue(labels.contains("\"pid\":\"" + master.pid() + "\""), "the master's pid, lowest of the holders: " + labels);
            await("tansa_listen_backlog" + sel, 16);
            List<SocketChannel> clients = new ArrayList<>();
            Signals.kill(workers.get(0), Signals.SIGSTOP);
            try {
                for (int i = 0; i < 5; i++) {
                    SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                    c.connect(UnixDomainSocketAddress.of(sock));
                    c.write(ByteBuffer.wrap("GET /login HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
                    clients.add(c);
                }
                await("tansa_listen_queued" + sel, 5);
            } finally {
                Signals.kill(workers.get(0), Signals.SIGCONT);
            }
            for (SocketChannel c : clients) {
                ByteBuffer b = ByteBuffer.allocate(256);
                c.read(b);
                assertTrue(new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200"));
                c.close();
            }
            await("tansa_listen_queued" + sel, 0);
        }
    }
}
