package io.tansa.probe;
import org.junit.jupiter.api.Tag;

import io.tansa.capture.CallersTest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SIGKILL of tansa at any moment must never kill or corrupt the target (gdb fails this: its
 * int3 stays behind). The target calls the probed function as fast as it can on 2 threads, so
 * at the kill there are threads in a stop, hits in flight and SIGTRAPs pending (stop mode), or
 * stack copies in flight (copy mode).
 */
@Tag("privileged")
class KillSafetyTest {
    @ParameterizedTest
    @ValueSource(strings = {"copy", "stop"})
    void kill9OfTansaNeverHurtsTheTarget(String mode) throws Exception {
        Privileged.requireRoot();
        Path paths = CallersTest.pathsProgram();
        Random rnd = new Random(42);
        try (Target t = Target.start(paths.toString(), "2", "0")) { // runs until told to stop
            t.awaitLine("ready");
            for (int i = 0; i < 20; i++) {
                Tansa r = Tansa.start("callers", "--mode", mode, "-p", "" + t.pid(), "-n", "0", "--rate", "0", "target");
                r.awaitErr("probing");
                // vary the moment inside the hit stream: not a timing assertion, only where the kill lands
                Thread.sleep(rnd.nextInt(30));
                Signals.kill((int) r.process.pid(), Signals.SIGKILL);
                assertEquals(137, r.waitExit());
                assertTrue(t.alive(), "target died after kill -9 #" + (i + 1));
                // the kernel detached it when the tracer died
                assertEquals("0", Target.status(t.pid(), "TracerPid"));
            }
            // a killed copy-mode run leaves its (inactive) uprobe definitions in tracefs; the next run removes them
            Tansa last = Tansa.start("callers", "--mode", mode, "-p", "" + t.pid(), "-n", "5", "--rate", "0", "target");
            assertEquals(0, last.waitExit(), last.err());
            assertEquals(List.of(), CallersTest.leftUprobes(), "uprobe definitions left behind");
            t.process.getOutputStream().write('\n');
            t.process.getOutputStream().flush();
            String rest = t.rest();
            assertEquals(0, t.waitExit(), "target exits normally");
            // every call returned what the program itself expects, and the paths kept their counts
            assertEquals("mismatches 0", line(rest, "mismatches"));
            assertEquals("a_is_3b 1", line(rest, "a_is_3b"));
        }
    }

    /**
     * The same for the Ruby snapshot program (copy mode in a Ruby process): after each SIGKILL the
     * target runs on, and once the kernel has freed them no tansa BPF program is left loaded (a
     * JITed program is listed in /proc/kallsyms as bpf_prog_TAG_NAME while it exists).
     */
    @org.junit.jupiter.api.Test
    void kill9OfTansaLeavesNoRubySnapshotProgram() throws Exception {
        Privileged.requireRoot();
        Random rnd = new Random(7);
        Path script = Path.of("src/test/ruby/bcrypt_paths.rb").toAbsolutePath();
        try (Target t = Target.start("ruby", script.toString())) {
            t.awaitLine("ready");
            for (int i = 0; i < 8; i++) {
                Tansa r = Tansa.start("callers", "--mode", "copy", "-p", "" + t.pid(), "-n", "0", "--rate", "0", "crypt_ra");
                r.awaitErr("probing");
                assertTrue(rubyPrograms() > 0, "the snapshot program is loaded while tansa runs");
                Thread.sleep(rnd.nextInt(30)); // only where the kill lands
                Signals.kill((int) r.process.pid(), Signals.SIGKILL);
                assertEquals(137, r.waitExit());
                assertTrue(t.alive(), "target died after kill -9 #" + (i + 1));
                assertEquals("0", Target.status(t.pid(), "TracerPid"));
            }
            long deadline = System.nanoTime() + 30_000_000_000L; // freed after an RCU grace period
            while (rubyPrograms() > 0 && System.nanoTime() < deadline) Thread.sleep(50);
            assertEquals(0, rubyPrograms(), "BPF programs left behind");
            Tansa last = Tansa.start("callers", "--mode", "copy", "-p", "" + t.pid(), "-n", "6", "--rate", "0",
                    "-f", "ruby", "crypt_ra");
            assertEquals(0, last.waitExit(), last.err());
            assertTrue(last.out().contains("in `<main>'"), "Ruby frames after the kills: " + last.out());
            assertEquals(List.of(), CallersTest.leftUprobes(), "uprobe definitions left behind");
            assertTrue(t.alive());
        }
    }

    private static long rubyPrograms() throws java.io.IOException {
        try (var lines = Files.lines(Path.of("/proc/kallsyms"))) {
            return lines.filter(l -> l.contains("_tansa_ruby\t")).count(); // "ADDR t bpf_prog_TAG_tansa_ruby\t[bpf]"
        }
    }

    static String line(String out, String prefix) {
        return out.lines().filter(l -> l.startsWith(prefix)).findFirst().orElse("missing " + prefix);
    }
}
