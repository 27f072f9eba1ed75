package io.tansa.serve;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * 50 clients scraping /metrics in a loop for a bounded time: every scrape answered in full, the
 * server's open fds back where they were afterwards; and clients that send half a request and
 * stall do not keep others from being answered.
 */
@Tag("privileged")
class ServeLoadTest {
    static final int CLIENTS = 50;
    static final Duration LOAD = Duration.ofSeconds(8);

    @Test
    void fiftyConcurrentScrapersAndStalledClients() throws Exception {
        Privileged.requireRoot();
        try (Serve serve = Serve.start("--threads", "8")) {
            assertEquals(200, serve.get("/metrics").statusCode()); // warm: classes loaded, pool started
            long fdsBefore = serve.fds();
            long rssBefore = rssKb(serve.pid());
            // clients that connect, send part of a request line and stall, holding request threads
            List<Socket> stalled = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket("127.0.0.1", serve.port());
                OutputStream o = s.getOutputStream();
                o.write("GET /met".getBytes(StandardCharsets.US_ASCII));
                o.flush();
                stalled.add(s);
            }
            AtomicLong ok = new AtomicLong();
            ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
            long end = System.nanoTime() + LOAD.toNanos();
            List<Thread> threads = new ArrayList<>();
            try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()) {
                for (int c = 0; c < CLIENTS; c++) {
                    threads.add(Thread.ofPlatform().start(() -> {
                        HttpRequest req = HttpRequest.newBuilder(URI.create(serve.url + "/metrics"))
                                .timeout(Duration.ofSeconds(30)).build();
                        while (System.nanoTime() - end < 0) {
                            try {
                                HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
                                if (r.statusCode() != 200 || !r.body().contains("# TYPE tansa_listen_queued gauge")
                                        || !r.body().contains("tansa_scrape_duration_seconds ")) {
                                    errors.add("HTTP " + r.statusCode() + ": " + r.body());
                                } else {
                                    ok.incrementAndGet();
                                }
                            } catch (Exception e) {
                                errors.add(e.toString());
                            }
                        }
                    }));
                }
                for (Thread t : threads) t.join();
            }
            for (Socket s : stalled) s.close();
            assertTrue(errors.isEmpty(), errors.size() + " failed scrapes, e.g. " + errors.peek());
            assertTrue(ok.get() >= CLIENTS, ok.get() + " scrapes");
            // connections closed by the clients are closed by the server: back to the fds it had
            long fdsAfter = serve.fds();
            for (int i = 0; i < 200 && fdsAfter > fdsBefore; i++) {
                Thread.sleep(50);
                fdsAfter = serve.fds();
            }
            long rssAfter = rssKb(serve.pid());
            System.out.printf("serve load: %d scrapes by %d clients in %s; fds %d → %d; RSS %d → %d KiB%n", ok.get(), CLIENTS,
                    LOAD, fdsBefore, fdsAfter, rssBefore, rssAfter);
            assertTrue(fdsAfter <= fdsBefore, "fds " + fdsBefore + " before, " + fdsAfter + " after");
        }
    }

    static long rssKb(int pid) {
        return Long.parseLong(Target.status(pid, "VmRSS").split("\\s+")[0]);
    }
}
