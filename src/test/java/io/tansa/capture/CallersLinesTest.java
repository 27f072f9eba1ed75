package io.tansa.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.elf.ElfFile;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * tansa callers --lines on a running C program (src/test/c/lines.c): main → nl_run (libnolines.so,
 * no debug info) → call_site → lines_target. The caller frames' lines are the marked call lines.
 */
@Tag("privileged")
@Tag("oracle")
class CallersLinesTest {
    static Path bin;

    @BeforeAll
    static void build() {
        Privileged.requireRoot();
        Path lib = Native.buildAs("libnolines", "libnolines.so", "-g0", "-O2", "-shared", "-fPIC");
        bin = Native.buildAs("lines", "lines", "-O2", "-fno-optimize-sibling-calls", "-L" + lib.getParent(), "-lnolines",
                "-Wl,-rpath," + lib.getParent());
    }

    static int lineOf(String marker) throws Exception {
        List<String> src = Files.readAllLines(Native.SRC.resolve("lines.c"));
        for (int i = 0; i < src.size(); i++) if (src.get(i).contains(marker)) return i + 1;
        throw new AssertionError(marker + " not in lines.c");
    }

    /** addr2line's line of a function's first instruction (where the probe sits). */
    static int entryLine(String function) {
        long entry = ElfFile.open(bin).lookup(function).getFirst().value();
        String out = Native.run("addr2line", "-e", bin.toString(), "0x" + Long.toHexString(entry)).out().strip();
        return Integer.parseInt(out.substring(out.lastIndexOf(':') + 1).split(" ")[0]);
    }

    /** The frames of the first path, as their JSON objects. */
    static List<String> frames(String json) {
        Matcher m = Pattern.compile("\"frames\": \\[(.*?)\\]\\}").matcher(json);
        assertTrue(m.find(), json);
        List<String> out = new ArrayList<>();
        Matcher f = Pattern.compile("\\{[^{}]*\\}").matcher(m.group(1));
        while (f.find()) out.add(f.group());
        return out;
    }

    static String run(Target t, String... args) {
        List<String> a = new ArrayList<>(List.of("callers", "-p", "" + t.pid(), "-n", "10", "-q"));
        a.addAll(List.of(args));
        a.add("lines_target");
        Tansa r = Tansa.run(a.toArray(String[]::new));
        assertEquals(0, r.waitExit(), r.err());
        return r.out();
    }

    @Test
    void callerFramesShowTheLinesOfTheirCalls() throws Exception {
        int callSite = lineOf("CALL-SITE"), mainCall = lineOf("MAIN-CALL"), entry = entryLine("lines_target");
        try (Target t = Target.start(bin.toString())) {
            t.awaitLine("ready");

            String text = run(t, "--lines");
            assertTrue(text.contains("    lines_target (lines.c:" + entry + ") "), text);
            assertTrue(text.contains("    call_site (lines.c:" + callSite + ") "), text);
            assertTrue(text.contains("    main (lines.c:" + mainCall + ") "), text);
            // an object without debug info prints as before
            assertTrue(Pattern.compile("(?m)^    nl_run +libnolines\\.so$").matcher(text).find(), text);

            List<String> f = frames(run(t, "--lines", "-f", "json"));
            String src = Native.SRC.resolve("lines.c").toString();
            assertEquals("{\"kind\": \"native\", \"name\": \"call_site\", \"module\": \"lines\", \"address\": \""
                    + f.get(1).replaceAll(".*\"address\": \"(0x[0-9a-f]+)\".*", "$1") + "\", \"file\": \"" + src
                    + "\", \"line\": " + callSite + "}", f.get(1));
            assertTrue(f.get(0).contains("\"name\": \"lines_target\"") && f.get(0).endsWith("\"line\": " + entry + "}"), f.get(0));
            assertTrue(f.get(2).contains("\"name\": \"nl_run\"") && !f.get(2).contains("\"file\"") && !f.get(2).contains("\"line\""),
                    f.get(2));
            assertTrue(f.get(3).contains("\"name\": \"main\"") && f.get(3).endsWith("\"line\": " + mainCall + "}"), f.get(3));

            // without --lines nothing changes: no file, no line
            String plain = run(t);
            assertFalse(plain.contains("lines.c"), plain);
            assertTrue(Pattern.compile("(?m)^    call_site +lines$").matcher(plain).find(), plain);
            assertFalse(frames(run(t, "-f", "json")).get(1).contains("\"line\""));
            CallersTest.assertUntouched(t);
        }
    }

    @Test
    void libcFramesGetLinesFromItsSeparateDebugFile() throws Exception {
        ElfFile libc = ElfFile.open(Path.of("/lib/x86_64-linux-gnu/libc.so.6"));
        String id = libc.buildId().orElseThrow();
        org.junit.jupiter.api.Assumptions.assumeTrue(
                Files.isRegularFile(Path.of("/usr/lib/debug/.build-id/" + id.substring(0, 2) + "/" + id.substring(2) + ".debug")),
                "libc6-dbg is not installed");
        try (Target t = Target.start(bin.toString())) {
            t.awaitLine("ready");
            // libc has no .debug_line; its debug file (found by build-id) has a zlib-compressed one
            String text = run(t, "--lines");
            assertTrue(Pattern.compile("(?m)^    __libc_start_call_main \\(libc_start_call_main\\.h:\\d+\\) +libc\\.so\\.6$")
                    .matcher(text).find(), text);
        }
    }
}
