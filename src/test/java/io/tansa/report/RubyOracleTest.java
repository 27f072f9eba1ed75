package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ruby and bugreport formats against Ruby itself: for the stack of
 * src/test/ruby/backtrace_oracle.rb, tansa's lines must equal what rb_backtrace() prints when gdb
 * calls it in the sleeping process, and the "Ruby level backtrace" section of Ruby's own [BUG] report.
 */
@Tag("privileged")
@Tag("oracle")
class RubyOracleTest {
    static final Path SCRIPT = Path.of("src/test/ruby/backtrace_oracle.rb").toAbsolutePath();
    @TempDir Path dir;

    /** The script's frames, innermost first, ending in the cfunc {@code top} (sleep or kill). */
    static Profile profile(String top) {
        String f = SCRIPT.toString();
        Profile p = new Profile();
        p.record(new Stack(1, 1, "main", 0, -1, List.of(
                Frame.nativeFrame("rb_f_sleep", "libruby-3.1.so.3.1", 0x7f00_0000_1000L),
                Frame.ruby(top, f, 6), Frame.ruby("bar", f, 6), Frame.ruby("block in baz", f, 10),
                Frame.ruby("each", f, 10), Frame.ruby("baz", f, 10), Frame.ruby("<main>", f, 12),
                Frame.nativeFrame("main", "ruby3.1", 0x5500_0000_1000L))));
        return p;
    }

    /** A format's output for the single path, without tansa's count line and trailing blank line. */
    static String lines(String format, Profile p) throws IOException {
        String out = FormatsTest.render(format, p);
        assertTrue(out.startsWith("1 hit (100.0%):\n"), out);
        return out.substring(out.indexOf('\n') + 1).stripTrailing() + "\n";
    }

    @Test
    void rubyFormatEqualsRbBacktraceCalledByGdb() throws IOException, InterruptedException {
        Privileged.requireRoot();
        Path err = dir.resolve("ruby.err");
        try (Target t = Target.start("sh", "-c", "exec ruby " + SCRIPT + " 2>" + err)) {
            t.awaitLine("ready");
            Native.Result gdb = Native.run("gdb", "-p", Integer.toString(t.pid()), "-batch", "-ex", "call (void)rb_backtrace()");
            assertEquals(0, gdb.code(), gdb.err());
            String oracle = Files.readString(err);
            assertTrue(oracle.startsWith("\tfrom "), oracle);
            assertEquals(oracle, lines("ruby", profile("sleep")));
        }
    }

    @Test
    void bugreportFormatEqualsRubysBugReportSection() throws IOException {
        Native.Result r = Native.run(List.of("env", "CRASH=1", "ruby", SCRIPT.toString()));
        String report = r.err();
        int start = report.indexOf(RubyRenderer.BUGREPORT_HEADER);
        assertTrue(start >= 0, report);
        String section = report.substring(start, report.indexOf("\n\n", start) + 1);
        assertEquals(section, lines("bugreport", profile("kill")));
    }
}
