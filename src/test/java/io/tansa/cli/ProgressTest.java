package io.tansa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Progress output driven by a controlled clock (nanoseconds), so redraw pacing is exact. */
@Tag("fast")
class ProgressTest {
    final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    final PrintStream err = new PrintStream(buf, true, StandardCharsets.UTF_8);
    long now = 5_000_000_000L;

    Progress progress(boolean quiet, boolean live, boolean color) {
        return new Progress(quiet, "hits on crypt_ra", 1000, Duration.ofSeconds(10), err, live, color, () -> now);
    }

    String out() {
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    void liveLineRedrawsAtMostFourTimesASecondThenSummary() {
        Progress p = progress(false, true, false);
        // 1000 updates over 2 s, one every 2 ms.
        for (int i = 1; i <= 1000; i++) {
            now += 2_000_000L;
            p.update(i);
        }
        String o = out();
        long redraws = o.chars().filter(c -> c == '\r').count();
        assertEquals(8, redraws, o); // t = 2 ms, then every 250 ms over 2 s
        assertTrue(o.contains("\r\033[K501 hits on crypt_ra  500/s  1.0s  (stops at 1000 or 10.0s)"), o);
        p.finish("count reached");
        assertTrue(out().endsWith("\r\033[K1000 hits on crypt_ra in 2.0s (500/s); stopped: count reached\n"), out());
        assertFalse(out().contains("\033[1m"), "no color codes when colors are off (NO_COLOR)");
    }

    @Test
    void colorsOnlyWhenAllowed() {
        Progress p = progress(false, true, true);
        now += 1_000_000_000L;
        p.update(3);
        assertTrue(out().contains("\033[1m3\033[0m hits on crypt_ra"), out());
    }

    @Test
    void notATerminalGivesOnlyTheSummary() {
        Progress p = progress(false, false, true);
        now += 1_500_000_000L;
        p.update(42);
        p.finish("duration reached");
        assertEquals("42 hits on crypt_ra in 1.5s (28/s); stopped: duration reached\n", out());
    }

    @Test
    void startRestartsTheClockAfterSetup() {
        Progress p = progress(false, false, false);
        now += 4_000_000_000L; // attaching took 4 s
        p.start();
        now += 2_000_000_000L;
        p.update(300);
        p.finish("count reached");
        assertEquals("300 hits on crypt_ra in 2.0s (150/s); stopped: count reached\n", out());
    }

    @Test
    void quietPrintsNothing() {
        Progress p = progress(true, true, true);
        now += 1_000_000_000L;
        p.update(1);
        p.finish("count reached");
        assertEquals("", out());
    }

    @Test
    void elapsedFormats() {
        assertEquals("0.3s", Progress.elapsed(0.25));
        assertEquals("2m05s", Progress.elapsed(125));
        assertEquals("1h01m01s", Progress.elapsed(3661));
    }
}
