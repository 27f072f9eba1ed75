package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.capture.Callers;
import io.tansa.cli.Formats;
import io.tansa.cli.Main;
import io.tansa.profile.Profile;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real captures of src/test/c/mix.c (a program whose path_a/path_b call mix is chosen by its
 * arguments) through every format and its consumer; recordings replayed by {@code tansa report}
 * byte for byte; {@code tansa diff} of two captures whose mix changed.
 */
// A capture that hangs must fail this test, not stall the suite (the waitpid downcall cannot be interrupted).
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@Tag("privileged")
class CaptureReportTest {
    @TempDir Path dir;

    static Profile capture(String a, String b, long hits) {
        Path bin = Native.build("mix", "-O1", "-fno-omit-frame-pointer", "-lpthread");
        // Not a child of this JVM: its process reaper waitpid()s for its children and would take
        // the ptrace stops of the target's main thread away from the tracer.
        try (Target sh = Target.start("sh", "-c", bin + " " + a + " " + b + " 2 100 & wait")) {
            int pid = Integer.parseInt(sh.awaitLine("ready ").substring(6).strip());
            try {
                Profile p = Callers.run(Callers.Request.builder().pids(List.of(pid)).symbol("target").count(hits)
                        .duration(Duration.ofSeconds(30)).maxDepth(64).lang(io.tansa.capture.StackCapture.Lang.NATIVE)
                        .build(), new Callers.Run());
                assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "target survives the capture");
                return p;
            } finally {
                ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    static int cli(String... args) {
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(err));
        assertEquals(0, rc, String.join(" ", args) + ": " + err);
        return rc;
    }

    static String innermostCaller(Profile.Path p) {
        return p.frames().get(1).name();
    }

    @Test
    void realCaptureInEveryFormatAndItsRecordingReplayed() throws IOException {
        Privileged.requireRoot();
        Profile live = capture("3", "1", 400);
        assertEquals(400, live.total());
        List<Profile.Path> paths = live.paths();
        assertEquals("target", paths.get(0).frames().get(0).name());
        assertEquals("path_a", innermostCaller(paths.get(0)));

        // Folded counts sum to the hits.
        String folded = new String(RecordingTest.bytes("folded", live), java.nio.charset.StandardCharsets.UTF_8);
        long sum = 0;
        for (String line : folded.split("\n")) {
            sum += Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            assertTrue(line.matches("\\S.*;worker;path_[ab];target \\d+"), line);
        }
        assertEquals(400, sum);
        ConsumersTest.checkPprof(dir, live);
        ConsumersTest.checkSpeedscope(live, dir);
        ConsumersTest.checkFlameGraph(dir, live);

        // The recording renders as the live capture did, through the CLI too.
        Path rec = dir.resolve("live.tansa");
        Recording.write(live, rec);
        RecordingTest.assertSameOutput(live, Recording.read(rec));
        for (String f : Formats.names()) {
            if (f.equals("recording")) continue;
            Path out = dir.resolve("report." + f);
            cli("report", rec.toString(), "-f", f, "-o", out.toString());
            assertArrayEquals(RecordingTest.bytes(f, live), Files.readAllBytes(out), "tansa report -f " + f);
        }
        // Shaping on the replay equals shaping live.
        Path grouped = dir.resolve("grouped.txt");
        cli("report", rec.toString(), "--group-by", "thread", "--max-depth", "2", "-o", grouped.toString());
        Profile shaped = new io.tansa.profile.Shape(io.tansa.profile.Shape.Group.THREAD, null, null, 2, 0).apply(live);
        assertArrayEquals(RecordingTest.bytes("text", shaped), Files.readAllBytes(grouped));
        assertEquals(2 * 2, shaped.paths().size(), "2 threads × 2 callers");
    }

    @Test
    void diffOfTwoRecordingsShowsTheMixChange() throws IOException {
        Privileged.requireRoot();
        Path before = dir.resolve("before.tansa");
        Path after = dir.resolve("after.tansa");
        Recording.write(capture("3", "1", 400), before);   // path_a 75%, path_b 25%
        Recording.write(capture("1", "3", 400), after);    // path_a 25%, path_b 75%
        Path out = dir.resolve("diff.json");
        cli("diff", before.toString(), after.toString(), "-f", "json", "-o", out.toString(), "--max-depth", "2");
        Map<?, ?> d = (Map<?, ?>) Json.parse(Files.readString(out));
        assertEquals(400L, ((Map<?, ?>) d.get("before")).get("hits"));
        List<?> rows = (List<?>) d.get("paths");
        assertEquals(2, rows.size(), rows.toString());
        Map<?, ?> up = (Map<?, ?>) rows.get(0), down = (Map<?, ?>) rows.get(1);
        assertEquals("path_b", ((Map<?, ?>) ((List<?>) up.get("frames")).get(1)).get("name"));
        assertEquals("path_a", ((Map<?, ?>) ((List<?>) down.get("frames")).get(1)).get("name"));
        // Expected +50 and −50 points; hit sampling across two threads leaves some noise.
        assertEquals(50.0, (Double) up.get("delta"), 10.0);
        assertEquals(-50.0, (Double) down.get("delta"), 10.0);

        Path text = dir.resolve("diff.txt");
        cli("diff", before.toString(), after.toString(), "-o", text.toString(), "--max-depth", "2");
        String t = Files.readString(text);
        assertTrue(t.lines().anyMatch(l -> l.matches("\\s*\\+\\d+\\.\\d% .* target <- path_b")), t);
    }
}
