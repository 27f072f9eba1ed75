package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.RubyRoots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every row of layouts.txt against gcc's offsetof and constants over that release's own headers
 * (src/test/c/layout_ruby.c): 3.1 from the installed ruby3.1-dev's MJIT header, 2.7, 3.3 and 3.4
 * from Debian's configured source trees of bullseye, trixie and experimental (RubyRoots). The row
 * must hold exactly the members gcc prints for that series — no more (a member the series does not
 * have), no fewer — with the same values; the constants all series share must equal RubyLayout's.
 */
// privileged: the source trees of 2.7/3.3/3.4 are built as root (RubyRoots)
@Tag("privileged")
class RubyLayoutTest {
    static final Path INCLUDE = Path.of("/usr/include/x86_64-linux-gnu/ruby-3.1.0");

    /** Members that RubyLayout holds as constants shared by every series, by gcc's names. */
    static final Map<String, Long> SHARED = Map.ofEntries(
            Map.entry("T_STRING", RubyLayout.T_STRING), Map.entry("T_ARRAY", RubyLayout.T_ARRAY),
            Map.entry("T_IMEMO", RubyLayout.T_IMEMO), Map.entry("T_MASK", RubyLayout.T_MASK),
            Map.entry("FL_USHIFT", (long) RubyLayout.FL_USHIFT), Map.entry("imemo_ment", RubyLayout.IMEMO_MENT),
            Map.entry("imemo_svar", RubyLayout.IMEMO_SVAR), Map.entry("imemo_iseq", RubyLayout.IMEMO_ISEQ),
            Map.entry("VM_FRAME_MAGIC_CFUNC", RubyLayout.VM_FRAME_MAGIC_CFUNC),
            Map.entry("VM_FRAME_MAGIC_MASK", RubyLayout.VM_FRAME_MAGIC_MASK),
            Map.entry("VM_ENV_FLAG_LOCAL", RubyLayout.VM_ENV_FLAG_LOCAL));

    static void check(String series, Map<String, Long> gcc) {
        RubyLayout row = RubyLayout.forVersion(series).orElseThrow(() -> new AssertionError("no row " + series));
        Map<String, Long> expected = new TreeMap<>();
        gcc.forEach((k, v) -> {
            if (SHARED.containsKey(k)) assertEquals(v, SHARED.get(k), series + " " + k);
            else expected.put(k, v);
        });
        assertEquals(expected, new TreeMap<>(row.members()), "Ruby " + series + " row vs its headers");
        assertEquals(SHARED.size(), gcc.keySet().stream().filter(SHARED::containsKey).count(), series + " constants printed");
    }

    static Map<String, Long> fromSource(RubyRoots.Series s) {
        Path src = RubyRoots.source(s);
        Path bin = Native.buildAs("layout_ruby", "layout_ruby_" + s.series, "-w",
                "-I" + src.resolve(".ext/include/x86_64-linux"), "-I" + src.resolve("include"), "-I" + src);
        return Native.constants(bin);
    }

    @Test
    void ruby27Row() {
        check("2.7", fromSource(RubyRoots.Series.RUBY_2_7));
    }

    @Test
    void ruby31Row() throws IOException {
        Path header = null;
        if (Files.isDirectory(INCLUDE)) {
            try (var s = Files.list(INCLUDE)) {
                header = s.filter(p -> p.getFileName().toString().startsWith("rb_mjit_min_header-3.1.")).findFirst().orElse(null);
            }
        }
        // ruby3.1-dev is installed by .ci/run: there a missing header is a failure, not a skip
        Privileged.assume(header != null, "no Ruby 3.1 internal header (apt-get install ruby3.1-dev)");
        Path bin = Native.buildAs("layout_ruby", "layout_ruby_3.1", "-w", "-DTANSA_MJIT_HEADER", "-DSERIES=301",
                "-I/usr/include/ruby-3.1.0", "-I" + INCLUDE, "-include", header.toString(), "-lruby-3.1");
        check("3.1", Native.constants(bin));
    }

    @Test
    void ruby33Row() {
        check("3.3", fromSource(RubyRoots.Series.RUBY_3_3));
    }

    @Test
    void ruby34Row() {
        check("3.4", fromSource(RubyRoots.Series.RUBY_3_4));
    }

    @Test
    void everyRowIsTested() {
        assertEquals(java.util.List.of("2.7", "3.1", "3.3", "3.4"), RubyLayout.knownSeries());
    }
}
