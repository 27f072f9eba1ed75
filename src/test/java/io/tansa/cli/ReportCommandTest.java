package io.tansa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Profile;
import io.tansa.report.Fixtures;
import io.tansa.report.Recording;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tansa report} and {@code tansa diff} through the CLI: outputs, and exit code 2 with a clear message for bad input. */
@Tag("fast")
class ReportCommandTest {
    @TempDir Path dir;

    record Run(int code, String err) {}

    static Run run(String... args) {
        StringWriter err = new StringWriter();
        int rc = Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(err));
        return new Run(rc, err.toString());
    }

    Path recording() throws IOException {
        Path f = dir.resolve("seed.tansa");
        Recording.write(Fixtures.seed(), f);
        return f;
    }

    @Test
    void reportRewritesARecordingAndRendersShaped() throws IOException {
        Path rec = recording();
        Path copy = dir.resolve("copy.tansa");
        assertEquals(0, run("report", rec.toString(), "-o", copy.toString()).code());
        Profile back = Recording.read(copy);
        assertEquals(Fixtures.seed().stacks(), back.stacks());

        Path out = dir.resolve("top.txt");
        assertEquals(0, run("report", rec.toString(), "--top", "1", "--exclude", "kernel", "-o", out.toString()).code());
        String text = Files.readString(out);
        assertTrue(text.contains("shaped: --exclude kernel --top 1; 90 of 100 hits\n"), text);
        assertTrue(text.contains("#2  30 hits  33.3%\n    [1 other paths]"), text);
    }

    @Test
    void badInputIsAUsageError() throws IOException {
        Path rec = recording();
        Run r = run("report", rec.toString(), "-f", "flame");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown format 'flame' (valid: text, tree,"), r.err());

        r = run("report", rec.toString(), "--focus", "crypt", "-o", dir.resolve("x.tansa").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("a recording keeps the raw capture: give --focus crypt to tansa report instead"), r.err());

        r = run("report", dir.resolve("none.tansa").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("no such file"), r.err());

        r = run("report", rec.toString(), "--focus", "(");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--focus: bad regex"), r.err());

        r = run("report", rec.toString(), "--group-by", "cpu");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--group-by must be thread, process or none, not 'cpu'"), r.err());

        r = run("diff", rec.toString(), rec.toString(), "-f", "pprof");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("diff formats: text, json"), r.err());
    }

    @Test
    void diffOfARecordingWithItselfHasNoChange() throws IOException {
        Path rec = recording();
        Path out = dir.resolve("diff.txt");
        assertEquals(0, run("diff", rec.toString(), rec.toString(), "-o", out.toString()).code());
        assertTrue(Files.readString(out).endsWith("no path changed its share\n"), Files.readString(out));
    }
}
