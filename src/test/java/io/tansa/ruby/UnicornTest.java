package io.tansa.ruby;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.proc.ProcFs;
import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.RubyRoots;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The seed's case: a Unicorn app with 2 workers under load; `tansa callers -p MASTER --children`
 * finds both endpoints' Ruby paths to crypt_ra in both workers, follows a worker respawned
 * mid-capture, and the server keeps answering every request: the host's Unicorn on Ruby 3.1, and
 * Debian 13's Unicorn on Ruby 3.3 in a trixie root.
 */
@Tag("privileged")
class UnicornTest {
    /**
     * auto: copy mode, the Ruby frames snapshotted in the kernel, probes inherited by forked
     * workers; stop: each worker attached, and each forked one followed from its fork.
     */
    @ParameterizedTest
    @ValueSource(strings = {"auto", "stop", "trixie:auto", "trixie:stop"})
    void workersAndRespawnedWorkersAreTraced(String how) throws Exception {
        Privileged.requireRoot();
        String mode = how.substring(how.indexOf(':') + 1);
        Path dir = Path.of("src/test/ruby/unicorn").toAbsolutePath();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String start = "cd " + dir + " && TANSA_TEST_PORT=" + port + " exec unicorn -c unicorn.conf.rb config.ru 2>&1";
        if (how.startsWith("trixie:")) {
            // Debian 13's Unicorn on its Ruby 3.3 (stripped libruby, hidden ruby_current_ec), in its own
            // root as a container has it; the host's loopback, so the load reaches it by port
            Path root = RubyRoots.root(RubyRoots.Series.RUBY_3_3);
            for (String f : List.of("config.ru", "unicorn.conf.rb")) RubyRoots.copyIn(root, dir.resolve(f));
            start = "exec chroot " + root + " sh -c 'cd /tmp/tansa-test && TANSA_TEST_PORT=" + port
                    + " exec unicorn -c unicorn.conf.rb config.ru 2>&1'";
        }
        try (Target master = Target.start("sh", "-c", start)) {
            for (int ready = 0; ready < 2; ) if (master.awaitContaining(" ready").contains("worker=")) ready++;
            int masterPid = master.pid();
            List<Integer> workers = ProcFs.children(masterPid);
            assertEquals(2, workers.size(), "two workers: " + workers);

            HttpClient http = HttpClient.newHttpClient();
            AtomicInteger ok = new AtomicInteger(), failed = new AtomicInteger();
            AtomicReference<Boolean> run = new AtomicReference<>(true);
            List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            // two clients, so that while one worker serves one of them the other worker serves the
            // other: every worker gets requests, whichever wins the accept races. The app answers
            // with the pid of the worker that served (the ground truth of who served what).
            java.util.Map<Integer, AtomicInteger> servedBy = new java.util.concurrent.ConcurrentHashMap<>();
            AtomicInteger[] done = {new AtomicInteger(), new AtomicInteger()};
            List<Thread> load = new java.util.ArrayList<>();
            for (int c = 0; c < 2; c++) {
                AtomicInteger mine = done[c];
                load.add(Thread.ofPlatform().daemon().start(() -> {
                    for (long i = 0; run.get(); i++) {
                        String path = i % 4 == 3 ? "/signup" : "/login";
                        try {
                            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(java.time.Duration.ofSeconds(20)).build(),
                                    HttpResponse.BodyHandlers.ofString());
                            if (r.statusCode() == 200) {
                                ok.incrementAndGet();
                                servedBy.computeIfAbsent(Integer.parseInt(r.body().strip().split(" ")[1]), k -> new AtomicInteger())
                                        .incrementAndGet();
                            } else {
                                fail(failures, failed, path + ": HTTP " + r.statusCode());
                            }
                        } catch (Exception e) {
                            fail(failures, failed, path + ": " + e);
                        }
                        mine.incrementAndGet();
                    }
                }));
            }
            Tansa tansa = Tansa.start("callers", "-p", "" + masterPid, "--children", "--mode", mode, "-n", "0", "--rate", "0",
                    "-d", "120s", "--group-by", "process", "-f", "json", "crypt_ra");
            tansa.awaitErr("probing");
            int okBeforeKill = ok.get();
            while (ok.get() < okBeforeKill + 20) Thread.sleep(20); // served while traced (not a timing assertion)
            assertEquals(0, failed.get(), "the server answered every request while traced: " + failures);
            // kill a worker mid-capture: the master forks a new one, which tansa must follow
            int[] doneAtKill = {done[0].get(), done[1].get()};
            Signals.kill(workers.get(0), Signals.SIGKILL);
            while (!master.awaitContaining(" ready").contains("worker=")) { } // the new worker is up
            // each client is sequential: two more requests done by each mean the ones in flight at the
            // kill have ended. The killed worker serves one at a time: at most one is lost with it (the
            // kill, not tansa).
            while (done[0].get() < doneAtKill[0] + 2 || done[1].get() < doneAtKill[1] + 2) Thread.sleep(20);
            int lostToKill = failed.get();
            assertTrue(lostToKill <= 1, "at most the killed worker's one request failed: " + failures);
            Set<Integer> now = new HashSet<>(ProcFs.children(masterPid));
            now.removeAll(workers);
            assertEquals(1, now.size(), "one respawned worker");
            int respawned = now.iterator().next();
            int before = ok.get();
            // let the new worker serve (not a timing assertion: counted in requests it answered)
            while (served(servedBy, respawned) < 10 && ok.get() < before + 2000) Thread.sleep(20);
            assertTrue(served(servedBy, respawned) >= 10, "the respawned worker served: " + servedBy);
            assertTrue(tansa.process.isAlive(), "tansa ended early: " + tansa.err());
            Signals.kill((int) tansa.process.pid(), Signals.SIGINT);
            assertEquals(130, tansa.waitExit(), tansa.err());
            run.set(false);
            for (Thread l : load) l.join(30_000);

            String json = tansa.out();
            assertTrue(json.contains("\"mode\": \"" + (mode.equals("auto") ? "copy" : "stop") + "\""), json);
            assertTrue(json.contains("\"name\": \"login\"") && json.contains("\"name\": \"signup\""),
                    "both endpoints' Ruby paths: " + json);
            assertTrue(json.contains("config.ru"), json);
            assertTrue(json.contains("process " + workers.get(1)), "the surviving original worker was traced");
            assertTrue(json.contains("process " + respawned), "the respawned worker was traced: " + json);
            // Every hit of the surviving and the respawned worker has its Ruby frames (in copy mode,
            // the snapshot program must outlive the killed worker's inherited probes). The killed
            // worker's last hits may have native frames only: without preload_app, the app's code
            // is its own, and it died before tansa had read it (reported, never misnamed).
            int respawnedHits = 0;
            for (RubyCallersTest.Hit h : RubyCallersTest.paths(json)) {
                String process = h.frames().getLast()[1];
                if (process.equals("process " + workers.get(0))) continue;
                assertTrue(RubyCallersTest.frameNamed(h, "login") != null || RubyCallersTest.frameNamed(h, "signup") != null,
                        "an endpoint's Ruby frames in every path of " + process + ": " + json);
                if (process.equals("process " + respawned)) respawnedHits += h.count();
            }
            assertTrue(respawnedHits > 0, "the respawned worker's hits have Ruby frames: " + json);
            assertEquals(lostToKill, failed.get(), "the server answered every request after the respawn: " + failures);
            // nothing of tansa remains in the master or the workers
            for (int pid : ProcFs.children(masterPid)) assertUntraced(pid);
            assertUntraced(masterPid);
        }
    }

    private static int served(java.util.Map<Integer, AtomicInteger> servedBy, int pid) {
        AtomicInteger n = servedBy.get(pid);
        return n == null ? 0 : n.get();
    }

    private static void fail(List<String> failures, AtomicInteger failed, String why) {
        failures.add(why);
        failed.incrementAndGet();
    }

    static void assertUntraced(int pid) throws Exception {
        var st = ProcFs.status(pid, pid);
        assertEquals(0, st.sigIgn() & (1L << 4), "SIGTRAP not left ignored in " + pid);
        assertEquals("0", io.tansa.testing.Target.status(pid, "TracerPid"), "detached: " + pid);
    }
}
