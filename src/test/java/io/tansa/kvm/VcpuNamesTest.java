package io.tansa.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.proc.ProcFs;
import io.tansa.proc.Vcpus;
import io.tansa.testing.Tansa;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * vCPU names without tracing (proc.Vcpus, ProcFs.threadName) in fds, callers and top, on the
 * ticking guest (src/test/c/kvm_tick.S: vCPU 0 halted between 1 ms timer ticks, each one port
 * write, so its thread blocks in KVM_RUN and re-enters it 1000 times a second; vCPU 1 waits for a
 * SIPI inside KVM_RUN). Oracles: qemu's own names with {@code -name guest,debug-threads=on}
 * ("CPU N/KVM"), and without them strace -p TID, whose KVM_RUN line names the thread's vCPU fd.
 */
@Tag("privileged")
class VcpuNamesTest {
    /** tid → vCPU index as proc.Vcpus reads it, once both vCPU threads are in KVM_RUN (qemu starting). */
    static Map<Integer, Integer> vcpuThreads(KvmTest.Qemu q, int smp) throws Exception {
        int pid = (int) q.p().pid();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            Map<Integer, Integer> m = Vcpus.threads(pid);
            if (m.size() == smp) return m;
            assertTrue(q.p().isAlive() && System.nanoTime() < deadline, "vCPU threads not found: " + m + " " + q.log());
            Thread.sleep(50);
        }
    }

    /** The fd that strace -p TID sees thread TID pass to KVM_RUN. */
    static int straceKvmRunFd(int tid) throws Exception {
        Process p = new ProcessBuilder("strace", "-e", "trace=ioctl", "-p", Integer.toString(tid))
                .redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            Pattern run = Pattern.compile("ioctl\\((\\d+), KVM_RUN");
            StringBuilder seen = new StringBuilder();
            // a call blocked at attach is printed unfinished, without its newline: read characters
            for (int c; (c = r.read()) >= 0; ) {
                seen.append((char) c);
                Matcher m = run.matcher(seen);
                if (c == 'N' && m.find()) return Integer.parseInt(m.group(1));
            }
            throw new AssertionError("strace saw no KVM_RUN of " + tid + ": " + seen);
        } finally {
            p.destroy(); // strace detaches on SIGTERM
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    static int vcpuOfLink(int pid, int fd) throws Exception {
        String t = Files.readSymbolicLink(Path.of("/proc/" + pid + "/fd/" + fd)).toString();
        assertTrue(t.startsWith("anon_inode:kvm-vcpu:"), t);
        return Integer.parseInt(t.substring("anon_inode:kvm-vcpu:".length()));
    }

    /** tid → index of the kvm-vcpu fds in {@code tansa fds -f json}, with the thread names it gives. */
    static Map<Integer, Integer> fdsThreads(String json, Map<Integer, String> names) {
        Map<Integer, Integer> m = new HashMap<>();
        Matcher f = Pattern.compile("\"kind\": \"kvm-vcpu\", \"index\": (\\d+), \"flags\": \"[^\"]*\", \"tid\": (\\d+), "
                + "\"thread\": \"([^\"]*)\"").matcher(json);
        while (f.find()) {
            m.put(Integer.parseInt(f.group(2)), Integer.parseInt(f.group(1)));
            names.put(Integer.parseInt(f.group(2)), f.group(3));
        }
        return m;
    }

    @Test
    void vcpuThreadsAreQemusOwnCpuThreads() throws Exception {
        KvmTest.requireKvm();
        try (KvmTest.Qemu q = KvmTest.Qemu.ticking(2, "-name", "guest,debug-threads=on")) {
            int pid = (int) q.p().pid();
            Map<Integer, Integer> m = vcpuThreads(q, 2);
            assertEquals(java.util.Set.of(0, 1), new java.util.HashSet<>(m.values()), m.toString());
            // qemu names its vCPU threads "CPU N/KVM": tansa's index is qemu's
            m.forEach((tid, index) -> assertEquals("CPU " + index + "/KVM", ProcFs.comm(pid, tid), "tid " + tid));
            // a thread with a name of its own keeps it
            Tansa fds = Tansa.run("fds", "-p", Integer.toString(pid), "-f", "json");
            assertEquals(0, fds.exitCode(), fds.err());
            Map<Integer, String> names = new HashMap<>();
            assertEquals(m, fdsThreads(fds.out(), names), fds.out());
            m.forEach((tid, index) -> assertEquals("CPU " + index + "/KVM", names.get(tid)));
        }
    }

    @Test
    void unnamedQemuThreadsAreNamedVcpuNInFdsAndCallers() throws Exception {
        KvmTest.requireKvm();
        try (KvmTest.Qemu q = KvmTest.Qemu.ticking(2)) {
            int pid = (int) q.p().pid();
            Map<Integer, Integer> m = vcpuThreads(q, 2);
            assertEquals(2, m.size(), m.toString());
            for (int tid : m.keySet()) assertEquals(ProcFs.comm(pid, pid), ProcFs.comm(pid, tid)); // no names of their own
            // strace: the fd each thread passes to KVM_RUN is the kvm-vcpu fd of the index tansa gives
            for (Map.Entry<Integer, Integer> e : m.entrySet()) {
                assertEquals((int) e.getValue(), vcpuOfLink(pid, straceKvmRunFd(e.getKey())), "tid " + e.getKey());
            }
            Tansa fds = Tansa.run("fds", "-p", Integer.toString(pid), "-f", "json");
            assertEquals(0, fds.exitCode(), fds.err());
            Map<Integer, String> names = new HashMap<>();
            assertEquals(m, fdsThreads(fds.out(), names), fds.out());
            m.forEach((tid, index) -> assertEquals("vCPU " + index, names.get(tid)));
            Tansa text = Tansa.run("fds", "-p", Integer.toString(pid));
            int tid0 = m.entrySet().stream().filter(e -> e.getValue() == 0).findFirst().orElseThrow().getKey();
            assertTrue(text.out().contains("anon_inode:kvm-vcpu:0  thread " + tid0 + " (vCPU 0)"), text.out());
            // vCPU 0 re-enters KVM_RUN through libc's ioctl at every tick
            Tansa callers = Tansa.run("callers", "-p", Integer.toString(pid), "-n", "300", "-d", "20s",
                    "--group-by", "thread", "ioctl");
            assertEquals(0, callers.exitCode(), callers.err());
            assertTrue(callers.out().contains("thread " + tid0 + " (vCPU 0)"), callers.out());
            assertTrue(!callers.out().contains("thread " + tid0 + " (qemu"), callers.out());
            // top per thread: vCPU 0's CPU time (about 10%: a tick a millisecond) in rows named vCPU 0, under its tid
            Tansa top = Tansa.run("top", "-p", Integer.toString(pid), "--once", "-d", "3s", "--group-by", "thread", "-f", "json");
            assertEquals(0, top.exitCode(), top.err());
            Matcher r = Pattern.compile("\"thread\": \"([^\"]*)\", \"tid\": (\\d+)").matcher(top.out());
            int vcpu0Rows = 0;
            while (r.find()) {
                int tid = Integer.parseInt(r.group(2));
                if (m.containsKey(tid)) assertEquals("vCPU " + m.get(tid), r.group(1), top.out());
                else assertEquals(ProcFs.comm(pid, pid), r.group(1), top.out()); // qemu's other threads keep its name
                if (tid == tid0) vcpu0Rows++;
            }
            assertTrue(vcpu0Rows > 0, top.out());
        }
    }
}
