package io.tansa.top;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.cli.Main;
import io.tansa.proc.ProcFs;
import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * tansa top --lang ruby on a real Ruby process (src/test/ruby/top_split.rb) whose main thread
 * splits its CPU 3:1 between two methods and measures the split itself: the table agrees, the
 * target's signals arrive while it is sampled, and it runs on untraced afterwards.
 */
@Tag("privileged")
class RubyTopTest {
    static final Path SCRIPT = Path.of("src/test/ruby/top_split.rb").toAbsolutePath();

    @BeforeAll
    static void root() {
        Privileged.requireRoot();
    }

    /**
     * ruby runs as a grandchild (sh -c "ruby … & wait"): the JDK's process reaper must not be
     * its parent. Its pid comes from its "ready" line.
     */
    static Target ruby() {
        return Target.start("sh", "-c", "exec 2>&1; ruby " + SCRIPT + " & wait");
    }

    record Row(String symbol, String file, double self, double total, int line) {}

    static Row row(String json, String symbol) {
        Matcher m = Pattern.compile("\\{\"symbol\": \"" + Pattern.quote(symbol) + "\", \"object\": \"([^\"]*)\", "
                + "\"overhead\": ([0-9.]+), \"children\": ([0-9.]+), \"kernel\": false, \"kind\": \"ruby\", "
                + "\"line\": (\\d+)\\}").matcher(json);
        if (!m.find()) throw new AssertionError("no row " + symbol + " in " + json);
        return new Row(symbol, m.group(1), Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                Integer.parseInt(m.group(4)));
    }

    /** The program's own measurement: burn_a's share of burn_a + burn_b CPU time, in percent. */
    static double measuredShare(Target t, int pid) {
        Signals.kill(pid, Signals.SIGUSR1);
        Matcher m = Pattern.compile("usr1 a=([0-9.]+) b=([0-9.]+)").matcher(t.awaitLine("usr1"));
        assertTrue(m.find());
        double a = Double.parseDouble(m.group(1)), b = Double.parseDouble(m.group(2));
        return 100 * a / (a + b);
    }

    @Test
    @Timeout(180)
    void threeToOneSplitMatchesTheProgramsOwnClock() throws IOException {
        try (Target t = ruby()) {
            int pid = Integer.parseInt(t.awaitLine("ready").split(" ")[1]);
            try {
                Tansa top = Tansa.start("top", "-p", Integer.toString(pid), "--lang", "ruby", "--once", "-d", "3s",
                        "-F", "299", "-f", "json");
                top.awaitErr("sampling 1 thread");
                // a signal the target receives while sampled is delivered unchanged (its handler prints)
                double during = measuredShare(t, pid);
                assertEquals(0, top.waitExit(), top.err());
                String json = top.out();
                System.out.println(json);
                System.out.println(top.err());

                Matcher n = Pattern.compile("^\\{\"samples\": (\\d+), ").matcher(json);
                assertTrue(n.find(), json);
                long samples = Long.parseLong(n.group(1));
                assertTrue(json.contains("\"language\": \"ruby\""), json);
                assertTrue(json.contains("\"stopped\": \"duration reached\""), json);
                Row a = row(json, "burn_a"), b = row(json, "burn_b"), main = row(json, "<main>");
                double share = 100 * a.self() / (a.self() + b.self());
                double after = measuredShare(t, pid);
                double sd = 100 * Math.sqrt(0.75 * 0.25 / samples);
                System.out.printf("tansa: %d samples, burn_a %.2f%% burn_b %.2f%% (share %.1f%%); program: %.1f%% / %.1f%%%n",
                        samples, a.self(), b.self(), share, during, after);
                assertTrue(samples > 100, "samples: " + samples);
                assertTrue(a.self() + b.self() > 85, "burn_a + burn_b: " + (a.self() + b.self()));
                assertEquals(after, share, Math.max(4, 3 * sd), "burn_a's share of burn_a + burn_b vs the program's clock");
                // rows name the method, its file, a line inside it; every sample is under <main>
                assertTrue(a.self() > b.self());
                assertEquals(SCRIPT.toString(), a.file());
                assertTrue(a.line() >= 7 && a.line() <= 12, "burn_a line " + a.line());
                assertTrue(b.line() >= 15 && b.line() <= 20, "burn_b line " + b.line());
                assertEquals(a.self(), a.total(), 0.01, "burn_a calls no Ruby method");
                assertTrue(main.total() > 99.0 && main.self() < 1.0, "<main>: " + main);

                // afterwards: running, untraced, and its signals still work
                assertEquals("0", Target.status(pid, "TracerPid"));
                assertTrue(ProcFs.status(pid, pid).state() != 'Z');
                measuredShare(t, pid);
            } finally {
                Signals.kill(pid, Signals.SIGKILL);
            }
        }
    }

    @Test
    @Timeout(180)
    void sigtermStopsEarlyPrintsTheTableAndDetaches() throws IOException {
        try (Target t = ruby()) {
            int pid = Integer.parseInt(t.awaitLine("ready").split(" ")[1]);
            try {
                Tansa top = Tansa.start("top", "-p", Integer.toString(pid), "--lang", "ruby", "--once", "-d", "60s");
                top.awaitErr("sampling 1 thread");
                measuredShare(t, pid); // sampling is under way: a round trip through the target
                Signals.kill((int) top.process.pid(), Signals.SIGTERM);
                assertEquals(143, top.waitExit(), top.err()); // 128 + SIGTERM, as tansa callers
                String text = top.out();
                System.out.println(text);
                assertTrue(text.contains("(interrupted)"), text);
                assertTrue(text.contains("Self     Total  Method"), text);
                // what was sampled before the signal: at least one sample, in the script's own methods
                // (on a loaded machine that can be a single sample, of either method)
                assertTrue(text.contains("burn_a") || text.contains("burn_b"), text);
                assertEquals("0", Target.status(pid, "TracerPid"));
                measuredShare(t, pid);
            } finally {
                Signals.kill(pid, Signals.SIGKILL);
            }
        }
    }

    record Run(int code, String err) {}

    static Run tansa(String... args) {
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(err));
        return new Run(code, err.toString());
    }

    @Test
    void badInput() throws IOException {
        try (Target sleep = Target.start("sh", "-c", "echo up; exec sleep 60")) {
            sleep.awaitLine("up");
            Run r = tansa("top", "-p", Integer.toString(sleep.pid()), "--lang", "ruby", "--once", "-d", "1s");
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("runs no Ruby"), r.err());
            assertEquals("0", Target.status(sleep.pid(), "TracerPid"));
        }
        assertEquals(2, tansa("top", "-a", "--lang", "ruby", "--once").code(), "-a with --lang ruby");
        assertEquals(2, tansa("top", "-p", "1", "--lang", "ruby", "-F", "5000", "--once").code(), "-F over the cap");
        assertEquals(3, tansa("top", "-p", "999999999", "--lang", "ruby", "--once").code(), "no such process");
    }
}
