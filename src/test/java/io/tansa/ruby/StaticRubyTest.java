package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.RubyRoots;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Ruby 3.3.8 built from source as ruby-build/rbenv builds it (src/test/scripts/ruby-build.sh:
 * {@code ./configure --disable-shared}): a static {@code ruby} executable holding the VM, no
 * libruby.so, full DWARF, YJIT. The execution context is the executable's own TLS variable (its
 * static TLS block, module 1). The same three known paths to zlib's crc32_z as RubySeriesTest
 * (src/test/ruby/jit_paths.rb, warmed up so that under {@code --yjit} every method on them is
 * compiled), interpreted and under {@code --yjit --yjit-perf}: ranked Ruby paths with the script's
 * exact lines and labels in copy and stop mode and in {@code top --lang ruby}; under YJIT the hits
 * reached from JIT code, and their JIT frames named from Ruby's perf map; the oracle, gdb's
 * {@code call rb_backtrace()} at 30 stops, gives the same Ruby paths.
 */
@Tag("privileged")
class StaticRubyTest {
    static final Path SCRIPT = Path.of("src/test/ruby/jit_paths.rb").toAbsolutePath();
    static final String FUNCTION = "libz:crc32_z";

    static Path ruby() {
        return RubyRoots.sourceBuild(RubyRoots.Series.RUBY_3_3, "--disable-shared").resolve("bin/ruby");
    }

    static Target start(boolean yjit) {
        return start(ruby(), yjit);
    }

    static Target start(Path ruby, boolean yjit) {
        List<String> cmd = new ArrayList<>(List.of(ruby.toString()));
        if (yjit) cmd.addAll(List.of("--yjit", "--yjit-perf"));
        cmd.add(SCRIPT.toString());
        // a grandchild: the JDK's reaper must not be its parent
        return Target.start("sh", "-c", "exec 2>&1; " + String.join(" ", cmd) + " & wait");
    }

    /** The pid from the script's ready line, after checking that YJIT is on (or off) as asked. */
    static int pid(Target t, boolean yjit) {
        String ready = t.awaitLine("ready");
        assertTrue(ready.contains("yjit=" + yjit), ready);
        if (yjit) assertTrue(Long.parseLong(ready.replaceAll(".*compiled=(\\d+).*", "$1")) >= 4, "methods compiled: " + ready);
        return Integer.parseInt(ready.split(" ")[1]);
    }

    /** Kills the target and removes the perf map --yjit-perf left. */
    static void stop(int pid) throws java.io.IOException {
        if (io.tansa.proc.ProcFs.alive(pid)) io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
        Files.deleteIfExists(Path.of("/tmp/perf-" + pid + ".map"));
    }

    @Test
    void theBuildIsStaticWithDwarfAndYjit() throws Exception {
        Path ruby = ruby();
        Native.Result ldd = Native.run("ldd", ruby.toString());
        assertFalse(ldd.out().contains("libruby"), "no libruby: " + ldd.out());
        Native.Result sections = Native.run("readelf", "-S", "-W", ruby.toString());
        assertTrue(sections.out().contains(".debug_info") && sections.out().contains(".symtab"), sections.out());
        Native.Result tls = Native.run("readelf", "-s", "-W", ruby.toString());
        assertTrue(Pattern.compile("TLS .* ruby_current_ec$", Pattern.MULTILINE).matcher(tls.out()).find(),
                "ruby_current_ec is the executable's TLS variable");
        Native.Result yjit = Native.run(ruby.toString(), "--yjit", "-e", "p RubyVM::YJIT.enabled?");
        assertEquals("true", yjit.out().strip(), yjit.err());
    }

    /**
     * The 3.3 row holds for this build: gcc prints the offsets from 3.3.8's headers with the
     * static YJIT build's own config.h (USE_YJIT 1, RJIT as configured), the same as the row.
     */
    @Test
    void theRowHoldsForTheStaticYjitBuild() {
        Path prefix = ruby().getParent().getParent();
        Path src = RubyRoots.source(RubyRoots.Series.RUBY_3_3);
        Path bin = Native.buildAs("layout_ruby", "layout_ruby_3.3_static", "-w",
                "-I" + prefix.resolve("include/ruby-3.3.0/x86_64-linux"), "-I" + src.resolve("include"), "-I" + src);
        RubyLayoutTest.check("3.3", Native.constants(bin));
    }

    /** readelf's value of the executable's TLS symbol ruby_current_ec: its offset in the executable's TLS block. */
    static long tlsOffsetByReadelf(Path ruby) {
        Matcher m = Pattern.compile("(?m)^\\s*\\d+: ([0-9a-f]+) +\\d+ TLS .* ruby_current_ec$")
                .matcher(Native.run("readelf", "-s", "-W", ruby.toString()).out());
        assertTrue(m.find(), "readelf shows ruby_current_ec");
        return Long.parseLong(m.group(1), 16);
    }

    /**
     * Where the execution context is: module 1 (the executable), at readelf's offset of
     * ruby_current_ec; and in a copy of the executable without .symtab (strip), where
     * ruby_current_ec is gone, the same site from rb_errinfo's local-exec TLS access and PT_TLS,
     * and then the same Ruby paths with the same exact lines, under YJIT, in both modes.
     */
    @Test
    @Timeout(300)
    void aStrippedStaticRubyFindsTheSameSiteThroughRbErrinfo(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        long expected = tlsOffsetByReadelf(ruby());
        try (Target t = start(false)) {
            int pid = pid(t, false);
            try {
                EcSite site = EcSite.find(pid, Symbols.of(pid, new io.tansa.symbols.ProcessSymbols(pid)));
                assertTrue(site != null && !site.isGlobal(), "a TLS site: " + site);
                assertEquals(1, site.tlsModule());
                assertEquals(expected, site.tlsOffset(), site.how());
                assertTrue(site.how().contains("ruby_current_ec"), site.how());
            } finally {
                stop(pid);
            }
        }
        Path stripped = dir.resolve("ruby3.3-stripped"); // a name of its own: its frames are still the VM's
        // without its build-id too: this JVM must not take it for the unstripped build it parsed above
        Native.Result strip = Native.run("strip", "--remove-section=.note.gnu.build-id", "-o", stripped.toString(), ruby().toString());
        assertEquals(0, strip.code(), strip.err());
        assertFalse(Native.run("readelf", "-s", "-W", stripped.toString()).out().contains("ruby_current_ec"), "stripped");
        try (Target t = start(stripped, true)) {
            int pid = pid(t, true);
            try {
                EcSite site = EcSite.find(pid, Symbols.of(pid, new io.tansa.symbols.ProcessSymbols(pid)));
                assertTrue(site != null && !site.isGlobal(), "a TLS site: " + site);
                assertEquals(1, site.tlsModule());
                assertEquals(expected, site.tlsOffset(), site.how());
                assertTrue(site.how().contains("rb_errinfo's local-exec"), site.how());
                rankedPaths(t, pid, true, RubySeriesTest.callLines(SCRIPT), stripped.getFileName().toString());
            } finally {
                stop(pid);
            }
        }
    }

    @ParameterizedTest(name = "yjit={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(600)
    void rankedRubyPathsWithExactLinesInBothModes(boolean yjit) throws Exception {
        Map<String, Integer> line = RubySeriesTest.callLines(SCRIPT);
        try (Target t = start(yjit)) {
            int pid = pid(t, yjit);
            try {
                assertFalse(Files.readString(Path.of("/proc/" + pid + "/maps")).contains("libruby"), "a static ruby");
                rankedPaths(t, pid, yjit, line, "ruby");
                Tansa top = Tansa.run("top", "-p", "" + pid, "--lang", "ruby", "--once", "-d", "3s", "-f", "json");
                assertEquals(0, top.exitCode(), top.err());
                for (String m : List.of("signup", "login", "rehash")) {
                    Matcher row = Pattern.compile("\\{\"symbol\": \"" + m + "\", \"object\": \"([^\"]*)\", [^}]*\"children\": ([\\d.]+), "
                            + "[^}]*\"kind\": \"ruby\", \"line\": (\\d+)\\}").matcher(top.out());
                    int bestLine = -1;
                    double best = -1;
                    while (row.find()) {
                        assertEquals(SCRIPT.toString(), row.group(1));
                        int at = Integer.parseInt(row.group(3));
                        assertTrue(at == line.get(m) || at == line.get(m) + 1, "top: " + m + " at line " + at + ", outside its body");
                        if (Double.parseDouble(row.group(2)) > best) {
                            best = Double.parseDouble(row.group(2));
                            bestLine = at;
                        }
                    }
                    assertTrue(best >= 0, "top: no row " + m + ": " + top.out());
                    assertEquals(line.get(m), bestLine, "top: " + m + "'s line: " + top.out());
                }
                assertTrue(top.out().contains("Ruby 3.3.8"), "the version seen: " + top.out().substring(0, 200));
            } finally {
                stop(pid);
            }
        }
    }

    /**
     * callers in copy and stop mode: 240 hits, each on one of the three paths at its exact line, in
     * their proportions, with the Ruby frames in place of the VM's own (no native frame of the
     * executable {@code exe}).
     */
    static void rankedPaths(Target t, int pid, boolean yjit, Map<String, Integer> line, String exe) {
        for (String mode : List.of("copy", "stop")) {
            Tansa r = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "240", "--rate", "0", "--mode", mode,
                    "-f", "json", FUNCTION);
            assertEquals(0, r.exitCode(), r.err());
            String json = r.out();
            assertTrue(json.contains("\"mode\": \"" + mode + "\""), json);
            int[] n = new int[3];
            int jitHits = 0;
            String[] names = {"signup", "login", "rehash"};
            for (RubyCallersTest.Hit h : RubyCallersTest.paths(json)) {
                assertEquals("crc32_z", h.frames().get(0)[1]);
                int found = 0;
                for (int k = 0; k < 3; k++) {
                    String[] f = RubyCallersTest.frameNamed(h, names[k]);
                    if (f == null) continue;
                    found++;
                    n[k] += h.count();
                    assertEquals(SCRIPT.toString(), f[2], mode + ": " + names[k] + "'s file");
                    assertEquals(String.valueOf(line.get(names[k])), f[3], mode + ": " + names[k] + "'s line");
                }
                assertEquals(1, found, mode + ": one path per stack: " + json);
                assertTrue(h.frames().stream().noneMatch(f -> f[0].equals("native") && exe.equals(f[2])),
                        mode + ": the VM's frames replaced by the Ruby frames: " + json);
                String[] main = RubyCallersTest.frameNamed(h, "<main>");
                assertTrue(main != null && main[2].equals(SCRIPT.toString()), mode + ": outermost is <main>");
                List<String[]> jit = h.frames().stream().filter(f -> f[0].equals("native") && "[jit]".equals(f[2])).toList();
                if (!jit.isEmpty()) jitHits += h.count();
                for (String[] f : jit) assertTrue(f[1].startsWith("[JIT]") || f[1].contains("yjit"), "a JIT frame named from the perf map: " + f[1]);
                if (yjit) {
                    assertTrue(h.frames().stream().noneMatch(f -> f[0].equals("native") && f[1].equals("[unknown]")),
                            mode + ": no [unknown] native frame: " + json);
                }
            }
            assertEquals(240, n[0] + n[1] + n[2], mode + ": every hit has Ruby frames: " + json);
            assertTrue(Math.abs(n[0] / 240.0 - 1 / 6.0) < 0.06, mode + " signup " + n[0]);
            assertTrue(Math.abs(n[1] / 240.0 - 2 / 6.0) < 0.07, mode + " login " + n[1]);
            assertTrue(Math.abs(n[2] / 240.0 - 3 / 6.0) < 0.07, mode + " rehash " + n[2]);
            if (yjit) assertEquals(240, jitHits, mode + ": every hit is reached from JIT code: " + json);
            else assertEquals(0, jitHits, mode + ": no JIT code without --yjit");
            assertTrue(t.alive() && io.tansa.proc.ProcFs.exists(pid), "the target runs on");
            assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced after " + mode);
        }
    }

    /**
     * The oracle: gdb stops the static ruby at crc32_z 30 times and calls {@code rb_backtrace()}
     * there; the distinct Ruby paths it prints (file:line of every frame, innermost first) are
     * the distinct Ruby paths tansa captures in stop and in copy mode, interpreted and under YJIT.
     */
    @ParameterizedTest(name = "yjit={0}")
    @ValueSource(booleans = {false, true})
    @Timeout(600)
    @Tag("oracle")
    void sameRubyPathsAsGdbsRbBacktrace(boolean yjit) throws Exception {
        try (Target t = start(yjit)) {
            int pid = pid(t, yjit);
            try {
                Set<List<String>> ours = new java.util.TreeSet<>(java.util.Comparator.comparing(Object::toString));
                for (String mode : List.of("stop", "copy")) {
                    Tansa r = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "120", "--rate", "0", "--mode", mode,
                            "-f", "json", FUNCTION);
                    assertEquals(0, r.exitCode(), r.err());
                    Set<List<String>> paths = new java.util.TreeSet<>(java.util.Comparator.comparing(Object::toString));
                    for (RubyCallersTest.Hit h : RubyCallersTest.paths(r.out())) {
                        paths.add(h.frames().stream().filter(f -> f[0].equals("ruby")).map(f -> f[2] + ":" + f[3]).toList());
                    }
                    if (mode.equals("stop")) ours.addAll(paths);
                    else assertEquals(ours, paths, "copy mode's Ruby paths are stop mode's");
                }
                assertEquals(3, ours.size(), "the script's three paths: " + ours);

                Path cmds = Files.createTempFile("tansa-gdb", ".cmds");
                Files.writeString(cmds, "set pagination off\nset $n = 0\nbreak crc32_z\ncommands\nsilent\n"
                        + "call (void)rb_backtrace()\nset $n = $n + 1\nif $n >= 30\ndetach\nquit\nend\ncontinue\nend\ncontinue\n");
                Native.Result gdb = Native.run("gdb", "-q", "-batch", "-nx", "-p", "" + pid, "-x", cmds.toString());
                Files.deleteIfExists(cmds);
                assertTrue(t.alive(), "the target outlived gdb's calls: " + gdb.out() + gdb.err());
                assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced after gdb detached");
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
                String printed = t.rest();
                Set<List<String>> theirs = RubySeriesTest.rbBacktracePaths(printed);
                assertEquals(ours, theirs, "gdb's rb_backtrace() paths\n" + printed);
            } finally {
                stop(pid);
            }
        }
    }

    /**
     * A static ruby whose execution context cannot be found: a stripped copy (no ruby_current_ec)
     * whose rb_errinfo is re-encoded to the same effect in a form EcSite does not read ({@code mov
     * %fs:moffs64,%rax}, 64 48 a1, in place of the relaxed initial-exec pair, in the same 16
     * bytes). callers says once why, naming the version and what it looked for, and goes on with
     * native frames; --lang ruby and top --lang ruby stop with that line and one exit code.
     */
    @Test
    @Timeout(300)
    void aStaticRubyWithoutAFoundContextSaysWhyOnce(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Path patched = dir.resolve("ruby");
        Native.Result strip = Native.run("strip", "--remove-section=.note.gnu.build-id", "-o", patched.toString(), ruby().toString());
        assertEquals(0, strip.code(), strip.err());
        long at;
        try (io.tansa.elf.ElfFile elf = io.tansa.elf.ElfFile.open(patched)) {
            at = elf.vaddrToFileOffset(elf.lookup("rb_errinfo").getFirst().value());
        }
        byte[] exe = Files.readAllBytes(patched);
        byte[] was = java.util.HexFormat.of().parseHex("48c7c0b0ffffff64488b00488b4078c3"); // as built: mov $-0x50,%rax; mov %fs:(%rax),%rax
        assertEquals(java.util.HexFormat.of().formatHex(was), java.util.HexFormat.of().formatHex(exe, (int) at, (int) at + 16),
                "rb_errinfo as this build compiles it");
        byte[] now = java.util.HexFormat.of().parseHex("6448a1b0ffffffffffffff488b4078c3"); // mov %fs:0xff..b0,%rax
        System.arraycopy(now, 0, exe, (int) at, now.length);
        Files.write(patched, exe);
        try (Target t = start(patched, false)) {
            int pid = pid(t, false);
            try {
                String why = "no Ruby frames: Ruby 3.3.8 in process " + pid + ": cannot find its execution context (a static ruby: "
                        + "no ruby_current_ec TLS symbol in the executable, and rb_errinfo is not a local-exec TLS access)";
                Tansa r = Tansa.run("callers", "-p", "" + pid, "-n", "20", "--rate", "0", "-f", "json", FUNCTION);
                assertEquals(0, r.exitCode(), r.err());
                assertEquals(1, r.err().split(Pattern.quote(why), -1).length - 1, "said once: " + r.err());
                assertTrue(r.out().contains("\"hits\": 20"), r.out());
                assertTrue(RubyCallersTest.paths(r.out()).stream().allMatch(h -> h.frames().stream().noneMatch(f -> f[0].equals("ruby"))),
                        "native frames only: " + r.out());
                Tansa lang = Tansa.run("callers", "-p", "" + pid, "-n", "5", "--lang", "ruby", FUNCTION);
                assertTrue(lang.exitCode() != 0 && lang.err().contains(why), lang.err());
                Tansa top = Tansa.run("top", "-p", "" + pid, "--lang", "ruby", "--once", "-d", "1s");
                assertTrue(top.exitCode() != 0 && top.err().contains(why), top.err());
                assertEquals(lang.exitCode(), top.exitCode(), "one cause, one exit code");
                assertTrue(t.alive());
                assertEquals("0", Target.status(pid, "TracerPid").strip());
            } finally {
                stop(pid);
            }
        }
    }
}
