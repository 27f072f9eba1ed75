package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.sys.Regs;
import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The seed's case: a Ruby process stopped where it enters libcrypt's {@code crypt_ra} (gdb
 * breakpoint, as the diary did). At each hit our frames equal {@code call rb_backtrace()}'s, and
 * over two rounds of the script all three code paths are seen.
 */
class BcryptFramesTest {
    static final Path SCRIPT = Path.of("src/test/ruby/bcrypt_paths.rb").toAbsolutePath();

    @Test
    @Timeout(180)
    void framesAtCryptRaEqualRbBacktrace() throws IOException {
        Privileged.requireRoot();
        Path stderr = Files.createTempFile("tansa-bcrypt", ".err");
        int pid = 0;
        // a grandchild, not a child: see RubyReaderTest.start
        try (Target target = Target.start("sh", "-c", "ruby " + SCRIPT + " 2>" + stderr + " & wait")) {
            pid = Integer.parseInt(target.awaitLine("ready").split(" ")[1]);
            RubyReader reader = RubyReader.detect(pid, new NmSymbols(pid)).orElseThrow();
            Set<String> paths = new HashSet<>();
            try (Gdb gdb = new Gdb()) {
                gdb.run("attach " + pid);
                gdb.run("break crypt_ra"); // 2 locations (bcrypt_ext.so has an unused one); hits are in libcrypt
                for (int hit = 0; hit < 12; hit++) {
                    List<String> stop = gdb.run("continue");
                    assertTrue(stop.stream().anyMatch(l -> l.contains("in crypt_ra () from") && l.contains("libcrypt.so.1")), stop.toString());
                    Regs regs = new Regs();
                    regs.r[Regs.FS_BASE] = gdb.hex("$fs_base");
                    List<Frame> ours = reader.frames(pid, regs);

                    long before = Files.size(stderr);
                    gdb.run("call (void)rb_backtrace()");
                    String printed = Files.readString(stderr).substring((int) before);
                    assertEquals(Arrays.asList(printed.split("\n")), RubyReaderTest.rbBacktrace(ours), "hit " + hit);
                    assertEquals("__bc_crypt", ours.getFirst().name());
                    assertTrue(ours.getFirst().file().endsWith("/bcrypt/engine.rb"), ours.getFirst().toString());
                    ours.stream().map(Frame::name).filter(n -> Set.of("signup", "login", "rehash").contains(n)).forEach(paths::add);
                }
                gdb.run("delete");
            }
            assertEquals(Set.of("signup", "login", "rehash"), paths);
            assertTrue(Signals.alive(pid), "target survives");
        } finally {
            if (pid > 0) Signals.kill(pid, Signals.SIGKILL);
            Files.deleteIfExists(stderr);
        }
    }
    /**
     * The no-stop engine (Ruby frames snapshotted in the kernel at each hit) against the seed's
     * oracle on the same process: the distinct Ruby paths of 120 hits of tansa callers equal the
     * distinct paths gdb's {@code call rb_backtrace()} prints over two rounds of the script, line
     * for line; every hit carries Ruby frames, and the target runs on untraced.
     */
    @Test
    @Timeout(180)
    void noStopPathsEqualRbBacktraceUnderGdb() throws IOException {
        Privileged.requireRoot();
        Path stderr = Files.createTempFile("tansa-bcrypt", ".err");
        int pid = 0;
        try (Target target = Target.start("sh", "-c", "ruby " + SCRIPT + " 2>" + stderr + " & wait")) {
            pid = Integer.parseInt(target.awaitLine("ready").split(" ")[1]);
            io.tansa.testing.Tansa t = io.tansa.testing.Tansa.run("callers", "-q", "-p", "" + pid, "-n", "120",
                    "--rate", "0", "--mode", "copy", "-f", "ruby", "crypt_ra");
            assertEquals(0, t.exitCode(), t.err());
            Set<List<String>> ours = new HashSet<>();
            int hits = 0;
            for (String block : t.out().strip().split("\n\n")) {
                List<String> lines = Arrays.asList(block.split("\n"));
                hits += Integer.parseInt(lines.getFirst().split(" ")[0]);
                ours.add(lines.subList(1, lines.size()));
            }
            assertEquals(120, hits, t.out());
            assertEquals(3, ours.size(), "signup, login, rehash: " + t.out());
            assertEquals(0, io.tansa.testing.Target.status(pid, "TracerPid").compareTo("0"), "untraced");

            Set<List<String>> oracle = new HashSet<>();
            try (Gdb gdb = new Gdb()) {
                gdb.run("attach " + pid);
                gdb.run("break crypt_ra");
                for (int hit = 0; hit < 12; hit++) {
                    gdb.run("continue");
                    long before = Files.size(stderr);
                    gdb.run("call (void)rb_backtrace()");
                    oracle.add(Arrays.asList(Files.readString(stderr).substring((int) before).split("\n")));
                }
                gdb.run("delete");
            }
            assertEquals(oracle, ours);
            assertTrue(Signals.alive(pid), "target survives");
        } finally {
            if (pid > 0) Signals.kill(pid, Signals.SIGKILL);
            Files.deleteIfExists(stderr);
        }
    }
}
