package io.tansa.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.report.Json;
import io.tansa.testing.Container;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Pids both ways and container identity, from the host, on a service in a container made the way
 * Docker's overlay2 makes one (testing.Container: overlay over a Debian root; own pid, mount, net
 * and uts namespaces; a real cgroup named docker-ID.scope): every command names the host pid and
 * the pid inside (1), and the container; -p takes the container id or its cgroup path.
 * Oracles: the program's own getpid() inside the container, /proc/PID/cgroup, ss in its netns.
 */
@Tag("privileged")
@Tag("oracle")
class ContainerIdentityTest {
    static Container svc, burn, reader;
    static String svcId, burnId;

    @BeforeAll
    static void start() {
        Privileged.requireRoot();
        Privileged.assume(Container.canMakeCgroups(), "cgroup v2 is not writable here");
        Path lq = Native.build("listen_queue");
        Path tb = Native.build("top_burn", "-O0");
        // ids sharing their first two digits: "fa" is ambiguous (and not a pid), 12 digits are not
        svcId = "fa" + Container.randomId().substring(2);
        burnId = "fa" + Container.randomId().substring(2);
        svc = Container.start(lq, "docker-" + svcId + ".scope", "tcp:16:3", "unix:/tmp/app.sock:8:2");
        burn = Container.start(tb, "cri-containerd-" + burnId + ".scope");
        assertEquals("pid 1", svc.awaitLine("pid "), "the service's own getpid()");
        svc.awaitLine("ready");
        assertEquals("ready 1", burn.awaitLine("ready"));
        reader = Container.start(Native.build("top_syscalls"), "docker-" + Container.randomId() + ".scope");
        assertEquals("ready 1", reader.awaitLine("ready"));
    }

    @AfterAll
    static void stop() {
        if (svc != null) svc.close();
        if (burn != null) burn.close();
        if (reader != null) reader.close();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Tansa t) {
        assertEquals(0, t.exitCode(), t.err());
        return (Map<String, Object>) Json.parse(t.out());
    }

    @Test
    void fdsNamesBothPidsAndTheContainer() {
        Map<String, Object> j = json(Tansa.run("fds", "-p", Integer.toString(svc.pid), "-f", "json"));
        assertEquals(svc.pid, ((Number) j.get("pid")).intValue());
        assertEquals(1, ((Number) j.get("ns_pid")).intValue());
        assertEquals(svc.cgroup, j.get("cgroup"));
        assertEquals(Map.of("runtime", "docker", "id", svcId), j.get("container"));
        Tansa text = Tansa.run("fds", "-p", Integer.toString(svc.pid));
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().startsWith("listen_queue, pid " + svc.pid + " (1 in its container): "), text.out());
        assertTrue(text.out().contains("container docker " + svcId.substring(0, 12) + ", cgroup " + svc.cgroup + "\n"), text.out());
    }

    @Test
    @SuppressWarnings("unchecked")
    void socketsInTheContainersNetnsMatchSsThere() {
        Map<String, Object> j = json(Tansa.run("sockets", "-p", Integer.toString(svc.pid), "--listen", "-f", "json"));
        List<Map<String, Object>> rows = (List<Map<String, Object>>) j.get("sockets");
        Map<String, Object> tcp = rows.stream().filter(r -> r.get("proto").equals("tcp")).findFirst().orElseThrow();
        assertEquals(List.of(1L), ((List<Number>) tcp.get("ns_pids")).stream().map(Number::longValue).toList());
        assertEquals(List.of(Map.of("runtime", "docker", "id", svcId)), tcp.get("containers"));
        // oracle: ss in the container's network namespace, Recv-Q of a listener = its accept queue
        Native.Result ss = Native.run("nsenter", "-t", Integer.toString(svc.pid), "-n", "ss", "-Htln");
        String[] f = ss.out().strip().split("\\s+");
        assertEquals(f[3], tcp.get("local"), ss.out());
        assertEquals(Long.parseLong(f[1]), ((Number) tcp.get("queued")).longValue());
        assertEquals(Long.parseLong(f[2]), ((Number) tcp.get("backlog")).longValue());
        Tansa text = Tansa.run("sockets", "-p", Integer.toString(svc.pid), "--listen");
        assertTrue(text.out().contains("listen_queue[" + svc.pid + " (1 in its container)] fd "), text.out());
        assertTrue(text.out().contains(" docker " + svcId.substring(0, 12)), text.out());
    }

    @Test
    void pTakesAContainerIdPrefixOrCgroupPath() {
        Map<String, Object> j = json(Tansa.run("fds", "-p", svcId.substring(0, 12), "-f", "json", "--summary"));
        assertEquals(svc.pid, ((Number) j.get("pid")).intValue());
        j = json(Tansa.run("fds", "-p", svc.cgroup, "-f", "json", "--summary"));
        assertEquals(svc.pid, ((Number) j.get("pid")).intValue());
        Tansa many = Tansa.run("fds", "-p", "/" + Container.SLICE);
        assertEquals(2, many.exitCode(), many.err());
        assertTrue(many.err().contains("fds takes one process; /" + Container.SLICE + " holds "), many.err());
        Tansa amb = Tansa.run("fds", "-p", "fa");
        assertEquals(6, amb.exitCode(), amb.err());
        assertTrue(amb.err().contains("matches 2 containers"), amb.err());
        assertTrue(amb.err().contains("docker " + svcId.substring(0, 12)) && amb.err().contains("containerd " + burnId.substring(0, 12)), amb.err());
        Tansa none = Tansa.run("fds", "-p", "feedfacecafe");
        assertEquals(11, none.exitCode(), none.err());
        assertTrue(none.err().contains("no process, no container matches 'feedfacecafe'"), none.err());
        Tansa noCg = Tansa.run("fds", "-p", "/tansa-test.slice/docker-0000.scope");
        assertEquals(11, noCg.exitCode(), noCg.err());
        assertTrue(noCg.err().contains("no such cgroup: /tansa-test.slice/docker-0000.scope"), noCg.err());
    }

    @Test
    @SuppressWarnings("unchecked")
    void topNamesTheTargetAndGroupsByContainer() {
        Map<String, Object> j = json(Tansa.run("top", "-p", burnId.substring(0, 12), "--once", "-d", "1s", "-f", "json"));
        List<Map<String, Object>> targets = (List<Map<String, Object>>) j.get("targets");
        assertEquals(1, targets.size());
        assertEquals(burn.pid, ((Number) targets.get(0).get("pid")).intValue());
        assertEquals(1, ((Number) targets.get(0).get("ns_pid")).intValue());
        assertEquals(Map.of("runtime", "containerd", "id", burnId), targets.get(0).get("container"));
        Tansa text = Tansa.run("top", "-p", Integer.toString(burn.pid), "--once", "-d", "1s");
        assertTrue(text.out().contains("\npid " + burn.pid + " (1 in its container), container containerd "
                + burnId.substring(0, 12) + ", cgroup " + burn.cgroup + "\n"), text.out());

        Map<String, Object> a = json(Tansa.run("top", "-a", "--group-by", "container", "--once", "-d", "2s", "-f", "json"));
        assertEquals("container", a.get("group_by"));
        // other top_burns may run on the host (other test runs): the container's own row
        Map<String, Object> row = ((List<Map<String, Object>>) a.get("rows")).stream()
                .filter(r -> "burn_a".equals(r.get("symbol")) && ("containerd " + burnId.substring(0, 12)).equals(r.get("container")))
                .findFirst().orElseThrow(() -> new AssertionError(a));
        assertEquals(burn.pid, ((Number) row.get("pid")).intValue());
        assertEquals(1, ((Number) row.get("ns_pid")).intValue());
        Tansa all = Tansa.run("top", "-a", "--group-by", "container", "--once", "-d", "1s", "-n", "0");
        assertTrue(all.out().contains("Container"), all.out());
        assertTrue(all.out().lines().anyMatch(l -> l.contains("containerd " + burnId.substring(0, 12)) && l.contains("burn_")), all.out());
    }

    @Test
    @SuppressWarnings("unchecked")
    void traceAndCallersNameTheTarget() {
        Map<String, Object> j = json(Tansa.run("trace", "-p", Integer.toString(reader.pid), "-c", "--per-thread", "-d", "1s", "-f", "json"));
        Map<String, Object> t = ((List<Map<String, Object>>) j.get("targets")).get(0);
        assertEquals(1, ((Number) t.get("ns_pid")).intValue());
        assertEquals(Map.of("runtime", "docker", "id", reader.id), t.get("container"));
        Map<String, Object> main = ((List<Map<String, Object>>) j.get("threads")).stream()
                .filter(x -> ((Number) x.get("tid")).intValue() == reader.pid).findFirst().orElseThrow(() -> new AssertionError("no thread " + reader.pid));
        assertEquals(1, ((Number) main.get("ns_tid")).intValue(), "the main thread is tid 1 in its container");
        assertEquals(1, ((Number) main.get("ns_pid")).intValue());
        Tansa lines = Tansa.run("trace", "-p", Integer.toString(reader.pid), "-d", "1s");
        assertEquals(0, lines.exitCode(), lines.err());
        assertTrue(lines.out().lines().anyMatch(l -> l.startsWith("[" + reader.pid + " (1) ")),
                "each line: the host tid, then the tid in the container: " + lines.out().lines().limit(3).toList());
        assertTrue(lines.err().contains("pid " + reader.pid + " (1 in its container), container docker "), lines.err());

        j = json(Tansa.run("callers", "-p", Integer.toString(burn.pid), "-n", "3", "-f", "json", "burn_b"));
        assertEquals(3, ((Number) j.get("hits")).intValue());
        t = ((List<Map<String, Object>>) j.get("targets")).get(0);
        assertEquals(burn.pid, ((Number) t.get("pid")).intValue());
        assertEquals(1, ((Number) t.get("ns_pid")).intValue());
        assertEquals(Map.of("runtime", "containerd", "id", burnId), t.get("container"));
        Tansa text = Tansa.run("callers", "-p", Integer.toString(burn.pid), "-n", "2", "burn_b");
        assertEquals(0, text.exitCode(), text.err());
        assertTrue(text.out().contains("pid " + burn.pid + " (1 in its container), container containerd "), text.out());
        assertTrue(burn.launcher.alive(), "target still running");
        assertEquals("0", io.tansa.testing.Target.status(burn.pid, "TracerPid"), "untraced afterwards");
    }
}
