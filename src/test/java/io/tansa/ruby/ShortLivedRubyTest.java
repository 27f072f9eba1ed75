package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Privileged;
import io.tansa.testing.RubyRoots;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 13 item 7: a short-lived Ruby command (a cron job, a Rake task, a test run) keeps its Ruby
 * frames. The copy engine names a hit's Ruby methods after the hit, from the process's memory; a
 * program that exits right after its hits used to lose them (native frames only, most runs). The
 * system ruby (Debian 12, 3.1) runs {@code exits_at_once.rb}: exactly N calls of zlib's crc32 from
 * known methods at known lines, then {@code exit STATUS}. Run again and again (the old failure
 * was a race), every run must have every hit with its Ruby frames, exact labels and lines, the
 * hits accounted exactly, and the command's exit status passed through.
 */
@Tag("privileged")
class ShortLivedRubyTest {
    static final Path SCRIPT = RubyCallersTest.SCRIPTS.resolve("exits_at_once.rb");
    static final int N = 100, RUNS = 10, STATUS = 5;

    /** The script's lines, from its own text: leaf's call, outer's block, the main call. */
    record Lines(int leaf, int outer, int main, int first) {
        static Lines of(Path script) throws IOException {
            List<String> l = Files.readAllLines(script);
            return new Lines(lineOf(l, "Zlib.crc32(s, 0)"), lineOf(l, "n.times"), lineOf(l, "ShortLived.outer(n)"),
                    lineOf(l, "ShortLived.outer(1)"));
        }

        private static int lineOf(List<String> lines, String text) {
            for (int i = 0; i < lines.size(); i++) if (lines.get(i).strip().startsWith(text)) return i + 1; // code, not a comment
            throw new AssertionError(text + " not in the script");
        }
    }

    /** Every hit: the probed function innermost, then leaf, outer's block and main at the script's lines. */
    static void assertRubyFrames(String json, Lines at, String run) {
        assertRubyFrames(json, at, run, "crc32");
    }

    static void assertRubyFrames(String json, Lines at, String run, String function) {
        int hits = 0;
        for (RubyCallersTest.Hit h : RubyCallersTest.paths(json)) {
            assertEquals(function, h.frames().get(0)[1], run + ": innermost, the probed function: " + json);
            String[] leaf = RubyCallersTest.frameNamed(h, "leaf"), outer = RubyCallersTest.frameNamed(h, "outer"),
                    main = RubyCallersTest.frameNamed(h, "<main>");
            assertNotNull(leaf, run + ": Ruby frames (leaf): " + json);
            assertNotNull(outer, run + ": Ruby frames (outer): " + json);
            assertNotNull(main, run + ": Ruby frames (<main>): " + json);
            assertTrue(leaf[2].endsWith("exits_at_once.rb") && ("" + at.leaf()).equals(leaf[3]), run + ": leaf's line: " + json);
            assertEquals("" + at.outer(), outer[3], run + ": outer's block line: " + json);
            assertTrue(("" + at.main()).equals(main[3]) || (h.count() == 1 && ("" + at.first()).equals(main[3])),
                    run + ": the main call's line: " + json);
            hits += h.count();
        }
        assertEquals(N, hits, run + ": every hit has its Ruby frames: " + json);
    }

    static void assertAccounted(String json, String run) {
        // exactly N hits in the kernel's own count, all captured: nothing "after the count" or lost
        String acc = "\"accounting\": {\"captured\": " + N + ", \"after_end\": 0, \"rate_capped\": 0, \"lost\": 0, ";
        assertTrue(json.contains(acc), run + ": " + json);
        assertTrue(json.contains("\"kernel_hits\": " + N + ","), run + ": " + json);
        assertTrue(!json.contains("\"dropped\""), run + ": nothing dropped: " + json);
    }

    /**
     * {@code tansa callers -- ruby exits_at_once.rb}: held at the VM's teardown (ruby_vm_destruct)
     * and at its exit until its hits are named. Until the command ends ({@code -n 0}) tansa exits
     * with the command's status; with {@code -n N} the count is reached at its last hit.
     */
    @Test
    @Timeout(600)
    void aCommandExitingRightAfterItsHitsKeepsItsRubyFrames() throws IOException {
        Privileged.requireRoot();
        Lines at = Lines.of(SCRIPT);
        for (int run = 0; run < RUNS; run++) {
            boolean count = run % 2 == 1;
            String what = "run " + (run + 1) + (count ? " (-n " + N + ")" : " (-n 0)");
            Tansa r = Tansa.run("callers", "-n", count ? "" + N : "0", "--rate", "0", "-f", "json", "crc32", "--",
                    "ruby", SCRIPT.toString(), "" + N, "" + STATUS);
            String json = r.out();
            assertTrue(!r.err().contains("native frames only"), what + ": " + r.err());
            assertTrue(json.contains("\"mode\": \"copy\""), what + ": the default engine: " + json);
            assertRubyFrames(json, at, what);
            assertAccounted(json, what);
            if (count) {
                assertTrue(json.contains("\"stopped\": \"count reached\""), what + ": " + json);
                assertEquals(0, r.exitCode(), what + ": the capture ended first: " + r.err());
            } else {
                assertTrue(json.contains("\"stopped\": \"target exited\""), what + ": " + json);
                assertTrue(json.matches("(?s).*\"exited\": \"\\{\\d+=exit " + STATUS + "}\".*"), what + ": " + json);
                assertEquals(STATUS, r.exitCode(), what + ": the command's exit status: " + r.err());
            }
        }
    }

    /**
     * {@code -p PID}, nothing stopped: a process that makes its calls and exits while tansa is
     * attached; most of its hits are unwound after it is gone. Its methods were seen once while it
     * lived (one call, then, a second later, the other N - 1 and the exit): a snapshot showing
     * methods not seen before wakes tansa at once, which reads them then (RubyReader.warm), and every
     * hit is named from them — at the lines of each hit, from each method's cached line table.
     * The same on 3.3 (a stripped libruby, its VM found through the snapshot), in its Debian root.
     */
    @Test
    @Timeout(600)
    void aProcessExitingWhileAttachedKeepsItsRubyFrames() throws Exception {
        Privileged.requireRoot();
        Lines at = Lines.of(SCRIPT);
        for (int run = 0; run < RUNS; run++) {
            boolean series33 = run % 2 == 1;
            String what = "run " + (run + 1) + (series33 ? " (Ruby 3.3, in its root)" : " (Ruby 3.1)");
            Target t;
            if (series33) {
                Path root = RubyRoots.root(RubyRoots.Series.RUBY_3_3);
                String inRoot = RubyRoots.copyIn(root, SCRIPT);
                String cmd = String.join(" ", RubyRoots.inRoot(root, RubyRoots.Series.RUBY_3_3.executable, inRoot,
                        "" + N, "" + STATUS, "first"));
                t = Target.start("sh", "-c", "exec 2>&1; unshare --mount " + cmd + " & wait");
            } else {
                t = Target.start("ruby", SCRIPT.toString(), "" + N, "" + STATUS, "first");
            }
            try (t) {
                int pid = Integer.parseInt(t.awaitLine("ready").split(" ")[1]);
                Tansa r = Tansa.start("callers", "-p", "" + pid, "-n", "0", "--rate", "0", "-d", "120s", "-f", "json",
                        series33 ? "libz:crc32_z" : "crc32"); // 3.3's zlib calls crc32_z
                r.awaitErr("probing");
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGUSR1);
                t.awaitLine("first done");
                Thread.sleep(1000); // it lives on a while after its first hit (no timing is asserted)
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGUSR1);
                assertEquals(7, r.waitExit(), what + ": the target exited during the capture: " + r.err());
                String json = r.out();
                assertTrue(!r.err().contains("native frames only"), what + ": " + r.err());
                assertRubyFrames(json, at, what, series33 ? "crc32_z" : "crc32");
                assertAccounted(json, what);
            }
        }
    }
}
