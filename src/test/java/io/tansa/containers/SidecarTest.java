package io.tansa.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.report.Json;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.testing.Container;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * tansa as a sidecar (Kubernetes' shared process namespace, `kubectl debug --target`): started in
 * the container's pid namespace with a mount namespace of its own (testing.Container#sidecar) — it
 * names the target as pid 1, finds the target's objects through /proc/1/root (they are not in its
 * own mount namespace), enters the target's network namespace for sockets, and without tracefs
 * and CAP_SYS_ADMIN says what to mount instead of printing nothing. Oracles run the same way: gdb
 * in the same namespaces, ss in the target's netns.
 */
@Tag("privileged")
@Tag("oracle")
class SidecarTest {
    static Container svc, burn;
    static String burnId;

    @BeforeAll
    static void start() {
        Privileged.requireRoot();
        svc = Container.start(Native.build("listen_queue"), "docker-" + Container.randomId() + ".scope",
                "tcp:16:3", "unix:/tmp/app.sock:8:2");
        burnId = Container.randomId();
        burn = Container.start(Native.build("top_burn", "-O0"), "crio-" + burnId + ".scope");
        svc.awaitLine("ready");
        burn.awaitLine("ready");
    }

    @AfterAll
    static void stop() {
        if (svc != null) svc.close();
        if (burn != null) burn.close();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Tansa t) {
        assertEquals(0, t.exitCode(), t.err());
        return (Map<String, Object>) Json.parse(t.out());
    }

    @Test
    @SuppressWarnings("unchecked")
    void callersNamesPid1AndMatchesGdbThere() {
        Tansa t = Tansa.runWith(burn.sidecar(null), "callers", "-p", "1", "-n", "3", "-f", "json", "burn_b");
        Map<String, Object> j = json(t);
        assertEquals(3, ((Number) j.get("hits")).intValue());
        Map<String, Object> target = ((List<Map<String, Object>>) j.get("targets")).get(0);
        assertEquals(1, ((Number) target.get("pid")).intValue(), "pid as the sidecar's namespace sees it");
        assertFalse(target.containsKey("ns_pid"), "same pid namespace: no second pid");
        assertEquals(Map.of("runtime", "cri-o", "id", burnId), target.get("container"));
        List<Map<String, Object>> frames = (List<Map<String, Object>>) ((List<Map<String, Object>>) j.get("paths")).get(0).get("frames");
        List<String> names = frames.stream().map(f -> (String) f.get("name")).toList();
        assertEquals("top_burn", frames.get(0).get("module"), "symbols of an object only in the container's root");

        // oracle: gdb run as the sidecar is (same pid and mount namespaces)
        List<String> gdb = new ArrayList<>(burn.sidecar(null));
        gdb.addAll(List.of("gdb", "-q", "-batch", "-p", "1", "-ex", "break burn_b", "-ex", "continue", "-ex", "bt"));
        Native.Result g = Native.run(gdb);
        Matcher m = Pattern.compile("^#\\d+\\s+(?:0x[0-9a-f]+ in )?(\\w+) \\(", Pattern.MULTILINE).matcher(g.out());
        List<String> gdbNames = new ArrayList<>();
        while (m.find()) gdbNames.add(m.group(1));
        assertTrue(gdbNames.size() >= 3, g.out() + g.err());
        assertEquals(gdbNames.subList(0, 3), names.subList(0, 3), "gdb: " + g.out());
        assertTrue(burn.launcher.alive());
        assertEquals("0", Target.status(burn.pid, "TracerPid"));
        assertTrue(t.err().contains("the kernel walk needs tansa in the host's pid namespace"), "auto says why not: " + t.err());

        // the kernel walk keys processes by the kernel's own pids: asked for in a sidecar, it refuses
        Tansa k = Tansa.runWith(burn.sidecar(null), "callers", "-p", "1", "-n", "3", "--mode", "kernel", "burn_b");
        assertEquals(8, k.exitCode(), k.err());
        assertTrue(k.err().contains("--mode kernel: the kernel walk needs tansa in the host's pid namespace"), k.err());
        assertTrue(burn.launcher.alive());
        assertEquals("0", Target.status(burn.pid, "TracerPid"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void socketsAndFdsInTheTargetsNetnsMatchSs() {
        Map<String, Object> j = json(Tansa.runWith(svc.sidecar(null), "sockets", "-p", "1", "--listen", "-f", "json"));
        Map<String, Object> tcp = ((List<Map<String, Object>>) j.get("sockets")).stream()
                .filter(r -> r.get("proto").equals("tcp")).findFirst().orElseThrow();
        assertEquals(List.of(1L), ((List<Number>) tcp.get("pids")).stream().map(Number::longValue).toList());
        Native.Result ss = Native.run("nsenter", "-t", Integer.toString(svc.pid), "-n", "ss", "-Htln");
        String[] f = ss.out().strip().split("\\s+");
        assertEquals(f[3], tcp.get("local"));
        assertEquals(Long.parseLong(f[1]), ((Number) tcp.get("queued")).longValue());
        assertEquals(Long.parseLong(f[2]), ((Number) tcp.get("backlog")).longValue());
        Tansa fds = Tansa.runWith(svc.sidecar(null), "fds", "-p", "1");
        assertEquals(0, fds.exitCode(), fds.err());
        assertTrue(fds.out().startsWith("listen_queue (pid 1): "), fds.out());
        assertTrue(fds.out().contains("LISTEN /tmp/app.sock  queued 2/8"), fds.out());
    }

    @Test
    void withoutTracefsOrCapSysAdminItSaysWhatToMount() {
        List<String> bare = burn.sidecar("umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null",
                "cap_sys_admin");
        Tansa c = Tansa.runWith(bare, "callers", "-p", "1", "-n", "1", "-d", "5s", "burn_b");
        assertEquals(12, c.exitCode(), c.err());
        assertTrue(c.err().contains("mount -t tracefs nodev /sys/kernel/tracing"), c.err());
        Tansa t = Tansa.runWith(bare, "trace", "-p", "1", "-c", "-d", "1s");
        assertEquals(12, t.exitCode(), t.err());
        assertTrue(t.err().contains("mount -t tracefs nodev /sys/kernel/tracing"), t.err());
        assertEquals("", c.out() + t.out(), "no empty result on stdout");
        // what needs no tracefs still works there
        Tansa top = Tansa.runWith(bare, "top", "-p", "1", "--once", "-d", "1s");
        assertEquals(0, top.exitCode(), top.err());
        assertTrue(top.out().contains("[.] burn_a"), top.out());
        assertTrue(burn.launcher.alive());
    }

    @Test
    void aJitMapInTheContainersTmpNamesItsCode() {
        try (Container jit = Container.start(Native.build("jitmap"), "docker-" + Container.randomId() + ".scope")) {
            long addr = Long.parseUnsignedLong(jit.awaitLine("addr code ").substring("addr code 0x".length()), 16);
            jit.awaitLine("ready");
            // the map is /tmp/perf-1.map in the container's root: not in this mount namespace
            assertTrue(java.nio.file.Files.exists(jit.merged.resolve("tmp/perf-1.map")));
            Frame f = new ProcessSymbols(jit.pid).frame(addr + 4);
            assertEquals("jit_add(int, int)", f.name(), f.toString());
        }
    }

    @Test
    void killMinus9OfTansaInTheSidecarLeavesTheTargetRunning() throws Exception {
        List<String> cmd = new ArrayList<>(burn.sidecar(null));
        cmd.addAll(Tansa.command("callers", "--mode", "stop", "-p", "1", "-n", "0", "-d", "60s", "burn_b"));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try (var err = new java.io.BufferedReader(new java.io.InputStreamReader(p.getErrorStream()))) {
            String l;
            while ((l = err.readLine()) != null && !l.contains("probing")) { }
            assertTrue(l != null, "tansa started probing");
            for (ProcessHandle h : p.descendants().toList()) h.destroyForcibly();
            p.destroyForcibly();
            p.waitFor();
        }
        // the tracer is gone when TracerPid is 0; then the target must still be running
        for (int i = 0; i < 500 && !"0".equals(Target.status(burn.pid, "TracerPid")); i++) Thread.sleep(10);
        assertEquals("0", Target.status(burn.pid, "TracerPid"));
        assertTrue(burn.launcher.alive(), "target survived kill -9 of tansa");
        Tansa again = Tansa.runWith(burn.sidecar(null), "callers", "-p", "1", "-n", "2", "burn_b");
        assertEquals(0, again.exitCode(), again.err());
    }
}
