package io.tansa.kvm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * tansa kvm on a real qemu-kvm with a guest of known behaviour: src/test/c/kvm_guest.S, a 64 KiB
 * real-mode firmware (-bios) whose vCPU 0 does 500 `out` to port 0x80, 13 to COM1 (0x3f8, the
 * line "tansa kvm ok\n") and one to isa-debug-exit (0xf4: qemu exits with (0x10 << 1) | 1 = 33).
 * Every such `out` is one return from KVM_RUN to qemu, whatever a tracer's slowdown. qemu starts
 * paused (-S) and is let go ("cont" on its monitor) once tansa has attached.
 */
@Tag("privileged")
class KvmTest {
    static final int OUT_80 = 500, OUT_COM1 = "tansa kvm ok\n".length(), OUT_EXIT = 1;

    static Path firmware() {
        return firmware("kvm_guest");
    }

    /** src/test/c/NAME.S assembled into a 64 KiB -bios image. */
    static Path firmware(String name) {
        Path bin = Native.BIN.resolve(name + ".bin");
        Path src = Native.SRC.resolve(name + ".S");
        try {
            Files.createDirectories(Native.BIN);
            if (Files.exists(bin) && Files.getLastModifiedTime(bin).compareTo(Files.getLastModifiedTime(src)) > 0) return bin;
            Path o = Native.BIN.resolve(name + ".o"), elf = Native.BIN.resolve(name + ".elf");
            for (List<String> c : List.of(List.of("gcc", "-m32", "-c", "-o", o.toString(), src.toString()),
                    List.of("ld", "-m", "elf_i386", "-Ttext", "0", "-e", "0", "-o", elf.toString(), o.toString()),
                    List.of("objcopy", "-O", "binary", elf.toString(), bin.toString()))) {
                Native.Result r = Native.run(c);
                assertEquals(0, r.code(), c + ": " + r.err());
            }
            assertEquals(65536, Files.size(bin));
            return bin;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void requireKvm() {
        Privileged.requireRoot();
        // The kernel lists its kvm device in /proc/misc; a container's /dev may lack the node (.ci/run
        // makes it from /sys/devices/virtual/misc/kvm/dev). No kvm in the kernel is the machine's lack.
        Privileged.assumeMachineHas(Files.exists(Path.of("/sys/devices/virtual/misc/kvm/dev")), "KVM in its kernel");
        Privileged.assume(Files.exists(Path.of("/dev/kvm")),
                "no /dev/kvm though the kernel has kvm: mknod /dev/kvm c $(tr : ' ' </sys/devices/virtual/misc/kvm/dev)");
        Privileged.assume(Files.isExecutable(Path.of("/usr/bin/qemu-system-x86_64")), "no qemu-system-x86 installed");
    }

    /** A paused qemu with the firmware, its monitor on a unix socket, serial output to a file. */
    record Qemu(Process p, Path dir) implements AutoCloseable {
        static Qemu start(int smp, boolean paused, String... wrap) throws Exception {
            return start(smp, paused, firmware(), List.of("-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"), wrap);
        }

        /**
         * The ticking guest (src/test/c/kvm_tick.S: vCPU 0 halted between 1 ms timer ticks, each
         * one port write; vCPU 1 waiting for a SIPI), running until closed; {@code extra}: more
         * qemu options (-name guest,debug-threads=on).
         */
        static Qemu ticking(int smp, String... extra) throws Exception {
            return start(smp, false, firmware("kvm_tick"), List.of(extra));
        }

        static Qemu start(int smp, boolean paused, Path bios, List<String> extra, String... wrap) throws Exception {
            Path dir = Files.createTempDirectory("tansa-kvm");
            List<String> cmd = new java.util.ArrayList<>(List.of(wrap));
            cmd.addAll(List.of("qemu-system-x86_64", "-enable-kvm", "-smp", Integer.toString(smp), "-m", "16",
                    "-nodefaults", "-display", "none", "-bios", bios.toString(),
                    "-serial", "file:" + dir.resolve("serial.txt"),
                    "-monitor", "unix:" + dir.resolve("mon.sock") + ",server,nowait"));
            cmd.addAll(extra);
            if (paused) cmd.add("-S");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
            Qemu q = new Qemu(p, dir);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (wrap.length == 0 && (!Files.exists(dir.resolve("mon.sock")) || !Files.exists(Path.of("/proc/" + p.pid() + "/fd"))
                    || !io.tansa.proc.Vcpus.isVm((int) p.pid()) || io.tansa.proc.Vcpus.fds((int) p.pid()).size() < smp)) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "qemu did not start: " + q.log());
                Thread.sleep(20);
            }
            return q;
        }

        void monitor(String command) throws Exception {
            try (SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                s.connect(UnixDomainSocketAddress.of(dir.resolve("mon.sock")));
                s.write(ByteBuffer.wrap((command + "\n").getBytes(StandardCharsets.US_ASCII)));
                ByteBuffer b = ByteBuffer.allocate(4096);
                s.read(b); // the banner; the command is read by qemu once it is written
                Thread.sleep(200);
            }
        }

        int waitExit() throws Exception {
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "qemu did not exit: " + log());
            return p.exitValue();
        }

        String serial() throws Exception {
            return Files.readString(dir.resolve("serial.txt"));
        }

        String log() {
            try {
                return Files.readString(dir.resolve("qemu.log"));
            } catch (java.io.IOException e) {
                return "";
            }
        }

        @Override
        public void close() {
            p.destroyForcibly();
        }
    }

    static String vcpu(String json, int index) {
        Matcher m = Pattern.compile("\\{\"index\": " + index + ", .*?\"kernel_exits\": \\{[^}]*\\}\\}").matcher(json);
        assertTrue(m.find(), "no vCPU " + index + " in " + json);
        return m.group();
    }

    static long num(String s, String regex) {
        Matcher m = Pattern.compile(regex).matcher(s);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    @Test
    void countsEveryExitOfTheGuestExactly() throws Exception {
        requireKvm();
        try (Qemu q = Qemu.start(2, true); Tansa t = Tansa.start("kvm", "-p", Long.toString(q.p().pid()), "-f", "json")) {
            t.awaitErr("tansa kvm:");
            q.monitor("cont");
            assertEquals(33, q.waitExit(), q.log()); // (0x10 << 1) | 1: the guest reached its last out
            assertEquals(0, t.waitExit(), t.err());
            assertEquals("tansa kvm ok\n", q.serial());
            String json = t.out();
            String v0 = vcpu(json, 0), v1 = vcpu(json, 1);
            assertTrue(v0.contains("\"name\": \"vCPU 0\""), v0);
            assertTrue(v1.contains("\"name\": \"vCPU 1\""), v1);
            assertEquals(OUT_80, num(v0, "\"port\": \"0x80\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
            assertEquals(OUT_COM1, num(v0, "\"port\": \"0x3f8\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
            assertEquals(OUT_EXIT, num(v0, "\"port\": \"0xf4\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
            assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, num(v0, "\"IO\": (\\d+)"), v0);
            // the application processor never gets a SIPI: no I/O at all
            assertEquals(0, num(v1, "\"IO\": (\\d+)"), v1);
            assertTrue(v1.contains("\"io\": []"), v1);
            // every return of KVM_RUN is one exit to user space, and qemu was paused at attach:
            // every run was entered while traced
            long exits = 0;
            Matcher m = Pattern.compile("\"([A-Z_]+)\": (\\d+)").matcher(v0.substring(v0.indexOf("\"exits\""), v0.indexOf("\"io\"")));
            while (m.find()) exits += Long.parseLong(m.group(2));
            assertEquals(num(v0, "\"runs\": (\\d+)"), exits, v0);
            assertEquals(0, num(v0, "\"runs_open\": (\\d+)"), v0);
            assertTrue(json.contains("\"qemu_exited\": true"), json);
            assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, num(json, "\"kvm:kvm_pio\": (\\d+)"), json);
        }
    }

    @Test
    void launchedQemuIsCountedFromItsFirstRunAndItsExitCodePassedThrough() throws Exception {
        requireKvm();
        Path dir = Files.createTempDirectory("tansa-kvm-launch");
        // not paused: the guest runs as soon as qemu has set up its machine; tansa was there before the exec
        Tansa t = Tansa.run("kvm", "-f", "json", "--", "qemu-system-x86_64", "-enable-kvm", "-smp", "2", "-m", "16",
                "-nodefaults", "-display", "none", "-bios", firmware().toString(), "-serial", "file:" + dir.resolve("serial.txt"),
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04");
        assertEquals(33, t.exitCode(), t.err()); // qemu's: (0x10 << 1) | 1
        assertEquals("tansa kvm ok\n", Files.readString(dir.resolve("serial.txt")));
        String json = t.out();
        String v0 = vcpu(json, 0), v1 = vcpu(json, 1);
        // names and indexes from the trace itself (COMM records, KVM_CREATE_VCPU's returned fd)
        assertTrue(json.startsWith("{\"pid\": "), json);
        assertTrue(v0.contains("\"name\": \"vCPU 0\""), v0);
        assertTrue(v1.contains("\"name\": \"vCPU 1\""), v1);
        assertEquals(OUT_80, num(v0, "\"port\": \"0x80\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
        assertEquals(OUT_COM1, num(v0, "\"port\": \"0x3f8\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
        assertEquals(OUT_EXIT, num(v0, "\"port\": \"0xf4\", \"dir\": \"out\", \"count\": (\\d+)"), v0);
        assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, num(v0, "\"IO\": (\\d+)"), v0);
        assertEquals(0, num(v1, "\"IO\": (\\d+)"), v1);
        // every KVM_RUN was entered under the events: none open at the start, each return one exit
        long exits = 0;
        Matcher m = Pattern.compile("\"([A-Z_]+)\": (\\d+)").matcher(v0.substring(v0.indexOf("\"exits\""), v0.indexOf("\"io\"")));
        while (m.find()) exits += Long.parseLong(m.group(2));
        assertEquals(num(v0, "\"runs\": (\\d+)"), exits, v0);
        assertEquals(0, num(v0, "\"runs_open\": (\\d+)"), v0);
        assertEquals(0, num(v1, "\"runs_open\": (\\d+)"), v1);
        assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, num(json, "\"kvm:kvm_pio\": (\\d+)"), json);
        assertTrue(json.contains("\"qemu_exited\": true"), json);
        // one target only
        Tansa both = Tansa.run("kvm", "-p", "1", "--", "qemu-system-x86_64");
        assertEquals(2, both.exitCode(), both.err());
    }

    @Test
    @Tag("oracle")
    void portWritesMatchStraceAndPerfStat() throws Exception {
        requireKvm();
        // strace -f: every KVM_RUN that returned 0 on vCPU 0 ended in an exit qemu handled
        Path dir = Files.createTempDirectory("tansa-kvm-strace");
        Path log = dir.resolve("strace.txt");
        try (Qemu q = Qemu.start(1, false, "strace", "-f", "-e", "trace=ioctl", "-o", log.toString())) {
            assertEquals(33, q.waitExit(), q.log());
        }
        long runsOk = Files.readAllLines(log).stream().filter(l -> l.matches(".*KVM_RUN, 0\\)\\s+= 0$")).count();
        assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, runsOk, "KVM_RUN = 0 lines in " + log);
        // perf stat counts kvm:kvm_pio in the kernel
        Path perf = dir.resolve("perf.txt");
        try (Qemu q = Qemu.start(1, false, "perf", "stat", "-x,", "-e", "kvm:kvm_pio", "-o", perf.toString())) {
            assertEquals(33, q.waitExit(), q.log());
        }
        String p = Files.readString(perf);
        assertEquals(OUT_80 + OUT_COM1 + OUT_EXIT, num(p, "(?m)^(\\d+),,kvm:kvm_pio"), p);
    }

    @Test
    void traceNamesVcpuThreadsAndSplitsIoctlsPerThread() throws Exception {
        requireKvm();
        // no -name debug-threads=on: every qemu thread is "qemu-system-x86" until named from its vCPU fd
        try (Qemu q = Qemu.start(2, true);
                Tansa t = Tansa.start("trace", "-c", "--per-thread", "-f", "json", "-p", Long.toString(q.p().pid()))) {
            t.awaitErr("tansa trace:");
            q.monitor("cont");
            assertEquals(33, q.waitExit(), q.log());
            assertEquals(0, t.waitExit(), t.err());
            String json = t.out();
            Matcher m = Pattern.compile("\\{\"tid\": \\d+, \"pid\": \\d+, \"name\": \"vCPU 0\", \"syscalls\": \\[.*?\\], "
                    + "\"ioctls\": \\[\\{\"request\": \"KVM_RUN\", \"calls\": (\\d+)").matcher(json);
            assertTrue(m.find(), json);
            // each out is one KVM_RUN returning to qemu; a signal kick may add a few
            assertTrue(Long.parseLong(m.group(1)) >= OUT_80 + OUT_COM1 + OUT_EXIT, m.group());
            assertTrue(json.contains("\"name\": \"vCPU 1\""), json);
        }
    }

    @Test
    void badInputGetsAMessageAndItsExitCode() throws Exception {
        requireKvm();
        // not a VM: usage (2), naming what is missing; no such process: 3; -a with -p: usage
        Tansa notVm = Tansa.run("kvm", "-p", Long.toString(ProcessHandle.current().pid()), "-d", "1s");
        assertEquals(2, notVm.exitCode(), notVm.err());
        assertTrue(notVm.err().contains("holds no KVM VM"), notVm.err());
        Tansa gone = Tansa.run("kvm", "-p", "999999999", "-d", "1s");
        assertEquals(3, gone.exitCode(), gone.err());
        Tansa both = Tansa.run("kvm", "-a", "-p", "1");
        assertEquals(2, both.exitCode(), both.err());
    }

    @Test
    void sigtermLeavesQemuRunningAndUntraced() throws Exception {
        requireKvm();
        try (Qemu q = Qemu.start(1, true)) {
            int pid = (int) q.p().pid();
            try (Tansa t = Tansa.start("kvm", "-p", Integer.toString(pid))) {
                t.awaitErr("tansa kvm:");
                io.tansa.sys.Signals.kill((int) t.process.pid(), io.tansa.sys.Signals.SIGTERM);
                t.waitExit(); // the JVM's status after SIGTERM (143), the report printed first
                // paused qemu: no KVM_RUN yet, so the table is empty but printed
                assertTrue(t.out().contains("VCPU"), t.out() + t.err());
            }
            assertTrue(q.p().isAlive(), "qemu died with tansa");
            // no perf event of tansa's is left: nothing in the system counts kvm_pio for this qemu
            q.monitor("cont");
            assertEquals(33, q.waitExit(), q.log());
            assertEquals("tansa kvm ok\n", q.serial());
        }
    }
}
