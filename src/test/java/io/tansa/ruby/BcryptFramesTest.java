package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.sys.Regs;
import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The seed's case: a Ruby process stopped where it enters libcrypt's {@code crypt_ra} (gdb
 * breakpoint, as the diary did). At each hit our frames equal {@code call rb_backtrace()}'s, and
 * over two rounds of the script all three code paths are seen.
 */
@Tag("privileged")
class BcryptFramesTest {
    static final Path SCRIPT = Path.of("src/test/ruby/bcrypt_paths.rb").toAbsolutePath();

    /**
     * The script as a grandchild, not a child (see RubyReaderTest.start), with its stderr — where
     * rb_backtrace() prints — in a file; killed at the end.
     */
    private record Script(Target target, int pid, Path stderr) implements AutoCloseable {
        static Script start() throws IOException {
            Path stderr = Files.createTempFile("tansa-bcrypt", ".err");
            Target target = Target.start("sh", "-c", "ruby " + SCRIPT + " 2>" + stderr + " & wait");
            try {
                return new Script(target, Integer.parseInt(target.awaitLine("ready").split(" ")[1]), stderr);
            } catch (RuntimeException e) {
                target.close();
                throw e;
            }
        }

        /** What gdb's {@code call rb_backtrace()} prints at its current stop, line by line. */
        List<String> rbBacktrace(Gdb gdb) throws IOException {
            long before = Files.size(stderr);
            gdb.run("call (void)rb_backtrace()");
            return Arrays.asList(Files.readString(stderr).substring((int) before).split("\n"));
        }

        /** gdb attached with a breakpoint on crypt_ra: 2 locations (bcrypt_ext.so has an unused one); hits are in libcrypt. */
        Gdb gdbAtCryptRa() {
            Gdb gdb = new Gdb();
            gdb.run("attach " + pid);
            gdb.run("break crypt_ra");
            return gdb;
        }

        @Override
        public void close() throws IOException {
            Signals.kill(pid, Signals.SIGKILL);
            target.close();
            Files.deleteIfExists(stderr);
        }
    }

    @Test
    @Timeout(180)
    void framesAtCryptRaEqualRbBacktrace() throws IOException {
        Privileged.requireRoot();
        try (Script script = Script.start()) {
            int pid = script.pid();
            RubyReader reader = RubyReader.detect(pid, new NmSymbols(pid)).orElseThrow();
            Set<String> paths = new HashSet<>();
            try (Gdb gdb = script.gdbAtCryptRa()) {
                for (int hit = 0; hit < 12; hit++) {
                    List<String> stop = gdb.run("continue");
                    assertTrue(stop.stream().anyMatch(l -> l.contains("in crypt_ra () from") && l.contains("libcrypt.so.1")), stop.toString());
                    Regs regs = new Regs();
                    regs.r[Regs.FS_BASE] = gdb.hex("$fs_base");
                    List<Frame> ours = reader.frames(pid, regs);
                    assertEquals(script.rbBacktrace(gdb), RubyReaderTest.rbBacktrace(ours), "hit " + hit);
                    assertEquals("__bc_crypt", ours.getFirst().name());
                    assertTrue(ours.getFirst().file().endsWith("/bcrypt/engine.rb"), ours.getFirst().toString());
                    ours.stream().map(Frame::name).filter(n -> Set.of("signup", "login", "rehash").contains(n)).forEach(paths::add);
                }
                gdb.run("delete");
            }
            assertEquals(Set.of("signup", "login", "rehash"), paths);
            assertTrue(io.tansa.proc.ProcFs.alive(pid), "target survives");
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
        try (Script script = Script.start()) {
            int pid = script.pid();
            Tansa t = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "120", "--rate", "0", "--mode", "copy",
                    "-f", "ruby", "crypt_ra");
            assertEquals(0, t.exitCode(), t.err());
            Set<List<String>> ours = new HashSet<>();
            int hits = 0;
            for (String block : t.out().strip().split("\n\n")) {
                List<String> lines = Arrays.asList(block.split("\n"));
                hits += Integer.parseInt(lines.getFirst().split(" ")[0]);
                ours.add(lines.subList(1, lines.size()));
            }
            assertEquals(120, hits, t.out());
            assertTrue(!t.out().contains("without Ruby frames"), "every hit has its Ruby frames: " + t.out());
            assertEquals(3, ours.size(), "signup, login, rehash: " + t.out());
            assertEquals("0", Target.status(pid, "TracerPid"), "untraced");

            Set<List<String>> oracle = new HashSet<>();
            try (Gdb gdb = script.gdbAtCryptRa()) {
                for (int hit = 0; hit < 12; hit++) {
                    gdb.run("continue");
                    oracle.add(script.rbBacktrace(gdb));
                }
                gdb.run("delete");
            }
            assertEquals(oracle, ours);
            assertTrue(io.tansa.proc.ProcFs.alive(pid), "target survives");
        }
    }
}
