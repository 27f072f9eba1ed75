package io.tansa.serve;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * tansa serve's rules, against a real server process and a real target (top_burn, which runs
 * burn_a and burn_b forever): bearer token, --allow, caps, one capture per target, every capture
 * logged, and a client killed mid-capture leaving the target running untraced with no probe left.
 */
@Tag("privileged")
class ServeSecurityTest {
    static Path dir;
    static Target burn;
    static Serve serve;
    static final String TOKEN = "0123456789abcdef-test-token";

    @BeforeAll
    static void start() throws Exception {
        Privileged.requireRoot();
        dir = Files.createTempDirectory("tansa-serve");
        Path token = dir.resolve("token");
        Files.writeString(token, TOKEN + "\n");
        burn = Target.start(Native.build("top_burn").toString());
        burn.awaitLine("ready");
        serve = Serve.start("--token-file", token.toString(), "--allow", "pid=" + burn.pid(), "--max-seconds", "30",
                "--max-count", "500");
    }

    @AfterAll
    static void stop() throws Exception {
        if (serve != null) serve.close();
        if (burn != null) burn.close();
        if (dir != null) {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    private static String oneLine(HttpResponse<byte[]> r) {
        String t = Serve.text(r);
        assertTrue(t.endsWith("\n") && t.indexOf('\n') == t.length() - 1, "one-line reason: '" + t + "'");
        return t.strip();
    }

    @Test
    void everyPathNeedsTheToken() throws Exception {
        HttpResponse<byte[]> none = serve.get("/metrics");
        assertEquals(401, none.statusCode());
        assertEquals("Bearer realm=\"tansa\"", none.headers().firstValue("WWW-Authenticate").orElse(""));
        assertFalse(Serve.text(none).contains("tansa_listen"), "no metrics without the token");
        assertEquals(401, serve.get("/metrics", TOKEN + "x").statusCode());
        assertEquals(401, serve.get("/metrics", TOKEN.substring(1)).statusCode());
        assertEquals(401, serve.get("/debug/pprof/profile?pid=" + burn.pid() + "&seconds=1", "wrong").statusCode());
        HttpResponse<byte[]> ok = serve.get("/metrics", TOKEN);
        assertEquals(200, ok.statusCode());
        assertTrue(Serve.text(ok).contains("# TYPE tansa_listen_queued gauge"), Serve.text(ok));
    }

    /** The processes --allow selects get their fds by type and threads: as many as /proc/PID/fd and /task hold. */
    @Test
    void selectedProcessesFdsAndThreads() throws Exception {
        String m = Serve.text(serve.get("/metrics", TOKEN));
        String id = "comm=\"top_burn\",pid=\"" + burn.pid() + "\"";
        assertTrue(m.contains("tansa_process_threads{" + id + "} 1.0"), m);
        long sum = m.lines().filter(l -> l.startsWith("tansa_process_fds{" + id + ","))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        try (var fds = Files.list(Path.of("/proc/" + burn.pid() + "/fd"))) {
            assertEquals(fds.count(), sum, m);
        }
        assertTrue(m.contains("tansa_process_fds{" + id + ",type=\"pipe\"}"), "its stdout is a pipe: " + m);
        assertFalse(m.contains("tansa_process_threads{comm=\"systemd\""), "only selected processes");
    }

    @Test
    void aPidOutsideAllowIsForbidden() throws Exception {
        HttpResponse<byte[]> r = serve.get("/debug/pprof/profile?pid=1&seconds=1", TOKEN);
        assertEquals(403, r.statusCode());
        assertEquals("pid 1 is not matched by --allow [pid=" + burn.pid() + "]", oneLine(r));
        assertEquals(403, serve.get("/debug/pprof/callers?pid=" + serve.pid() + "&symbol=malloc&seconds=1", TOKEN).statusCode());
    }

    @Test
    void badRequestsGetAReason() throws Exception {
        int p = burn.pid();
        assertEquals("seconds must be more than 0 and at most 30 (the server's --max-seconds), not 31",
                oneLine(expect(400, "/debug/pprof/profile?pid=" + p + "&seconds=31")));
        expect(400, "/debug/pprof/profile?pid=" + p + "&seconds=0");
        expect(400, "/debug/pprof/profile?pid=" + p + "&seconds=soon");
        assertEquals("give the target as pid=PID or comm=NAME (every process of that name --allow matches)",
                oneLine(expect(400, "/debug/pprof/profile?seconds=1")));
        expect(400, "/debug/pprof/profile?seconds=1&pid=" + p + "&comm=top_burn");
        assertEquals("no process named 'no_such_name'", oneLine(expect(404, "/debug/pprof/profile?comm=no_such_name&seconds=1")));
        // processes of that name exist (this JVM), none that --allow matches
        assertEquals("no process named 'java' is matched by --allow [pid=" + p + "]",
                oneLine(expect(403, "/debug/pprof/profile?comm=java&seconds=1")));
        expect(400, "/debug/pprof/profile?pid=-3&seconds=1");
        expect(400, "/debug/pprof/profile?pid=" + p + "&seconds=1&format=svg");
        assertEquals("lang must be native or ruby, not 'python'",
                oneLine(expect(400, "/debug/pprof/profile?pid=" + p + "&seconds=1&lang=python")));
        expect(400, "/debug/pprof/callers?pid=" + p + "&seconds=1");
        expect(400, "/debug/pprof/callers?pid=" + p + "&symbol=burn_a&count=501");
        expect(400, "/debug/pprof/callers?pid=" + p + "&symbol=burn_a&count=1.5");
        expect(400, "/debug/pprof/profile?pid=" + p + "&pid=1&seconds=1");
        assertEquals("no such path: /debug/pprof/heap", oneLine(expect(404, "/debug/pprof/heap")));
        var head = serve.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(serve.url + "/debug/pprof/profile?pid="
                + p)).method("HEAD", java.net.http.HttpRequest.BodyPublishers.noBody()).header("Authorization", "Bearer " + TOKEN)
                .build(), java.net.http.HttpResponse.BodyHandlers.discarding());
        assertEquals(405, head.statusCode(), "HEAD does not start a capture");
        assertTrue(oneLine(expect(404, "/debug/pprof/callers?pid=" + p + "&symbol=no_such_function&seconds=1"))
                .contains("no_such_function"));
        // a newline in a parameter forges no log line and no second line of the reason
        String reason = oneLine(expect(404, "/debug/pprof/callers?pid=" + p + "&symbol=x%0Aforged&seconds=1"));
        assertTrue(reason.contains("x?forged"), reason);
        serve.tansa.awaitErr("symbol=x?forged seconds=1 → 404");
        assertFalse(serve.tansa.err().lines().anyMatch(l -> l.startsWith("forged")), serve.tansa.err());
        assertEquals(Integer.toString(p), Target.status(p, "Pid"), "the target was left alone");
    }

    private static HttpResponse<byte[]> expect(int status, String path) throws Exception {
        HttpResponse<byte[]> r = serve.get(path, TOKEN);
        assertEquals(status, r.statusCode(), path + ": " + Serve.text(r));
        return r;
    }

    @Test
    void aCpuProfileAndTheCallersOfAFunction() throws Exception {
        HttpResponse<byte[]> cpu = expect(200, "/debug/pprof/profile?pid=" + burn.pid() + "&seconds=1&format=folded");
        String folded = Serve.text(cpu);
        assertTrue(folded.lines().anyMatch(l -> l.matches(".*main;work;burn_a \\d+")), folded);
        HttpResponse<byte[]> callers = expect(200, "/debug/pprof/callers?pid=" + burn.pid()
                + "&symbol=burn_b&seconds=20&count=7&format=folded");
        assertTrue(Serve.text(callers).strip().matches(".*main;work;burn_b 7"), Serve.text(callers));
        // by name: the processes called top_burn that --allow matches (this one; others of the name are left alone)
        HttpResponse<byte[]> byName = expect(200, "/debug/pprof/callers?comm=top_burn&symbol=burn_b&count=4&format=folded");
        assertTrue(Serve.text(byName).strip().matches(".*main;work;burn_b 4"), Serve.text(byName));
        HttpResponse<byte[]> json = expect(200, "/debug/pprof/callers?pid=" + burn.pid() + "&symbol=burn_b&count=3&format=json");
        assertEquals("application/json", json.headers().firstValue("Content-Type").orElse(""));
        // every capture is logged with client, target, symbol and duration
        String log = serve.tansa.awaitErr("symbol=burn_b seconds=20 count=7 format=folded → 200");
        assertTrue(log.matches("tansa serve: 127\\.0\\.0\\.1:\\d+ GET /debug/pprof/callers pid=" + burn.pid() + " .*"), log);
    }

    /** One capture per target: a second request for the same pid while one runs is refused (429). */
    @Test
    void oneCapturePerTarget() throws Exception {
        CompletableFuture<HttpResponse<byte[]>> first = CompletableFuture.supplyAsync(() -> {
            try {
                return serve.get("/debug/pprof/callers?pid=" + burn.pid() + "&symbol=burn_a&seconds=20&count=500", TOKEN);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        awaitProbes(true);
        HttpResponse<byte[]> second = serve.get("/debug/pprof/profile?pid=" + burn.pid() + "&seconds=1", TOKEN);
        assertEquals(429, second.statusCode(), Serve.text(second));
        assertTrue(Serve.text(second).contains("already running"), Serve.text(second));
        assertEquals(200, first.get().statusCode());
    }

    /**
     * A client killed mid-capture (curl, SIGKILL): the server sees its connection close, stops the
     * capture; the target runs on, untraced, and no uprobe event of the server is left in tracefs.
     */
    @Test
    void aClientKilledMidCaptureEndsTheCapture() throws Exception {
        Process curl = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-H", "Authorization: Bearer " + TOKEN,
                serve.url + "/debug/pprof/callers?pid=" + burn.pid() + "&symbol=burn_a&seconds=30&count=500")
                .redirectErrorStream(true).start();
        try {
            awaitProbes(true);
            curl.destroyForcibly();
            serve.tansa.awaitErr("client disconnected: capture stopped, target detached");
            awaitProbes(false);
            assertTrue(burn.alive());
            assertEquals("0", Target.status(burn.pid(), "TracerPid"));
            assertTrue(List.of("R", "S").contains(Target.status(burn.pid(), "State").substring(0, 1)));
            // and the server goes on serving
            assertEquals(200, serve.get("/metrics", TOKEN).statusCode());
        } finally {
            curl.destroyForcibly();
        }
    }

    /** The same for a CPU profile: the server's perf events on the target are closed when its client is killed. */
    @Test
    void aClientKilledMidCpuProfileEndsIt() throws Exception {
        long before = perfEvents();
        Process curl = new ProcessBuilder("curl", "-s", "-o", "/dev/null", "-H", "Authorization: Bearer " + TOKEN,
                serve.url + "/debug/pprof/profile?pid=" + burn.pid() + "&seconds=30").redirectErrorStream(true).start();
        try {
            for (int i = 0; i < 3000 && perfEvents() == before; i++) Thread.sleep(10);
            assertTrue(perfEvents() > before, "sampling began");
            curl.destroyForcibly();
            serve.tansa.awaitErr("GET /debug/pprof/profile pid=" + burn.pid() + " seconds=30 → client disconnected");
            for (int i = 0; i < 3000 && perfEvents() > before; i++) Thread.sleep(10);
            assertEquals(before, perfEvents(), "the perf events are closed");
            assertTrue(burn.alive());
            assertEquals("0", Target.status(burn.pid(), "TracerPid"));
        } finally {
            curl.destroyForcibly();
        }
    }

    /** perf_event fds the server holds. */
    private static long perfEvents() throws Exception {
        long n = 0;
        try (var s = Files.list(Path.of("/proc/" + serve.pid() + "/fd"))) {
            for (Path p : s.toList()) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals("anon_inode:[perf_event]")) n++;
                } catch (java.io.IOException closed) {
                    // closed while listed
                }
            }
        }
        return n;
    }

    /** Waits until the server has (or no longer has) uprobe events defined in tracefs. */
    private static void awaitProbes(boolean present) throws Exception {
        String group = "tansa_" + serve.pid() + "_";
        Path events = Files.exists(Path.of("/sys/kernel/tracing/uprobe_events")) ? Path.of("/sys/kernel/tracing/uprobe_events")
                : Path.of("/sys/kernel/debug/tracing/uprobe_events");
        for (int i = 0; i < 3000; i++) {
            if (Files.readString(events).contains(group) == present) return;
            Thread.sleep(10);
        }
        throw new AssertionError("uprobe events of " + group + (present ? " never appeared" : " were left: ")
                + Files.readString(events));
    }

    @Test
    void aNonLoopbackAddressNeedsAToken() throws Exception {
        Tansa t = Tansa.run("serve", "--listen", "0.0.0.0:0");
        assertEquals(2, t.exitCode(), t.err());
        assertTrue(t.err().contains("needs --token-file"), t.err());
        Tansa shortToken = Tansa.run("serve", "--listen", "0.0.0.0:0", "--token-file", "/proc/self/comm");
        assertEquals(2, shortToken.exitCode(), shortToken.err());
        assertEquals(2, Tansa.run("serve", "--allow", "name=ruby").exitCode());
        // with a token it serves on every address, and asks for the token
        try (Serve any = Serve.start("--listen", "0.0.0.0:0", "--token-file", dir.resolve("token").toString())) {
            assertTrue(any.url.startsWith("http://0.0.0.0:"), any.url);
            String local = "/metrics";
            var r = any.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + any.port()
                    + local)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(401, r.statusCode());
        }
    }

    @Test
    void withoutAllowOnlyMetrics() throws Exception {
        try (Serve open = Serve.start()) {
            assertEquals(200, open.get("/metrics").statusCode());
            HttpResponse<byte[]> r = open.get("/debug/pprof/profile?pid=" + burn.pid() + "&seconds=1");
            assertEquals(403, r.statusCode());
            assertEquals("profiles are off: this server was started without --allow (metrics only)", oneLine(r));
        }
    }

    /** HTTPS from PEM files (a PKCS#8 key, and the same key as PKCS#1); curl checks the chain against the certificate. */
    @Test
    void tlsFromPem() throws Exception {
        Path cert = dir.resolve("cert.pem"), key = dir.resolve("key.pem"), rsa = dir.resolve("rsa.pem");
        assertEquals(0, Native.run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(), "-out",
                cert.toString()).code());
        assertEquals(0, Native.run("openssl", "rsa", "-in", key.toString(), "-traditional", "-out", rsa.toString()).code());
        assertTrue(Files.readString(rsa).contains("BEGIN RSA PRIVATE KEY"));
        for (Path k : List.of(key, rsa)) {
            try (Serve tls = Serve.start("--tls-cert", cert.toString(), "--tls-key", k.toString())) {
                assertTrue(tls.url.startsWith("https://127.0.0.1:"), tls.url);
                Native.Result r = Native.run("curl", "-sS", "--cacert", cert.toString(), tls.url + "/metrics");
                assertEquals(0, r.code(), r.err());
                assertTrue(r.out().contains("# TYPE tansa_listen_backlog gauge"), r.out());
                Native.Result plain = Native.run("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                        tls.url.replace("https:", "http:") + "/metrics");
                assertFalse(plain.out().equals("200"), "plain HTTP is not answered on the TLS port");
            }
        }
    }
}
