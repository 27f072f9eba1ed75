package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.RubyRoots;
import io.tansa.testing.RubyRoots.Series;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The seed's investigation on Debian's own Rubies of other releases: 2.7.4 (bullseye), 3.3.8
 * (trixie, stripped libruby, hidden ruby_current_ec), 3.4.5 (experimental), each running in a
 * debootstrap root of its own (chroot in a mount namespace, as a container) with tansa outside.
 * A program with three known paths to a native function in known proportions (1 : 2 : 3 per
 * round) — bcrypt's crypt_ra where Debian builds ruby-bcrypt for the series, else zlib's crc32_z —
 * gives ranked Ruby paths with the program's exact lines and labels in copy mode, stop mode and
 * {@code top --lang ruby}, and keeps running.
 */
@Tag("privileged")
class RubySeriesTest {
    static final Path SCRIPTS = Path.of("src/test/ruby").toAbsolutePath();

    /** The workload of a series: its script and the native function its three paths reach. */
    record Workload(String script, String function, String module) {}

    static final Map<Series, Workload> WORK = Map.of(
            Series.RUBY_2_7, new Workload("bcrypt_paths.rb", "libcrypt:crypt_ra", "libcrypt"),
            Series.RUBY_3_3, new Workload("bcrypt_paths.rb", "libcrypt:crypt_ra", "libcrypt"),
            Series.RUBY_3_4, new Workload("crc_paths.rb", "libz:crc32_z", "libz"));

    /** The script's ground truth: the line of each path's call, from the script's own text. */
    static Map<String, Integer> callLines(String script) throws IOException {
        return callLines(SCRIPTS.resolve(script));
    }

    static Map<String, Integer> callLines(Path script) throws IOException {
        List<String> lines = Files.readAllLines(script);
        Map<String, Integer> out = new java.util.HashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = Pattern.compile("def (?:self\\.)?(\\w+)").matcher(lines.get(i));
            if (m.find()) out.put(m.group(1), i + 2); // the body's one line
        }
        return out;
    }

    /** The script in the series' root, started as a grandchild (the JDK's reaper must not be its parent). */
    static Target start(Series s, Path root, String script) {
        String inRoot = RubyRoots.copyIn(root, SCRIPTS.resolve(script));
        String cmd = String.join(" ", RubyRoots.inRoot(root, s.executable, inRoot));
        return Target.start("sh", "-c", "exec 2>&1; unshare --mount " + cmd + " & wait");
    }

    static int pid(Target t) {
        return Integer.parseInt(t.awaitLine("ready").split(" ")[1]);
    }

    @ParameterizedTest
    @EnumSource(Series.class)
    @Timeout(600)
    void rankedRubyPathsWithExactLinesInBothModes(Series s) throws IOException {
        Path root = RubyRoots.root(s);
        Workload w = WORK.get(s);
        Map<String, Integer> line = callLines(w.script);
        try (Target t = start(s, root, w.script)) {
            int pid = pid(t);
            try {
                for (String mode : List.of("copy", "stop")) {
                    Tansa r = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "240", "--rate", "0", "--mode", mode,
                            "-f", "json", w.function);
                    assertEquals(0, r.exitCode(), r.err());
                    String json = r.out();
                    assertTrue(json.contains("\"mode\": \"" + mode + "\""), json);
                    int[] n = new int[3];
                    String[] names = {"signup", "login", "rehash"};
                    for (RubyCallersTest.Hit h : RubyCallersTest.paths(json)) {
                        assertEquals(w.function.substring(w.function.indexOf(':') + 1), h.frames().get(0)[1]);
                        int found = 0;
                        for (int k = 0; k < 3; k++) {
                            String[] f = RubyCallersTest.frameNamed(h, names[k]);
                            if (f == null) continue;
                            found++;
                            n[k] += h.count();
                            assertEquals("/tmp/tansa-test/" + w.script, f[2], s + " " + mode + ": " + names[k] + "'s file");
                            assertEquals(String.valueOf(line.get(names[k])), f[3], s + " " + mode + ": " + names[k] + "'s line");
                        }
                        assertEquals(1, found, s + " " + mode + ": one path per stack: " + json);
                        String[] main = RubyCallersTest.frameNamed(h, "<main>");
                        assertTrue(main != null && main[2].endsWith(w.script), s + " " + mode + ": outermost is <main>");
                    }
                    assertEquals(240, n[0] + n[1] + n[2], s + " " + mode + ": every hit has Ruby frames: " + json);
                    assertTrue(Math.abs(n[0] / 240.0 - 1 / 6.0) < 0.06, s + " " + mode + " signup " + n[0]);
                    assertTrue(Math.abs(n[1] / 240.0 - 2 / 6.0) < 0.07, s + " " + mode + " login " + n[1]);
                    assertTrue(Math.abs(n[2] / 240.0 - 3 / 6.0) < 0.07, s + " " + mode + " rehash " + n[2]);
                    assertTrue(t.alive() && io.tansa.proc.ProcFs.exists(pid), "the target runs on");
                    assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced after " + mode);
                }
                // top --lang ruby: the three methods at their lines, sampled from CPU time. A sample
                // can catch a method on its own `end` (the leave instruction, the line after its
                // call): that is a true row too, but the method's largest total is its call's line.
                Tansa top = Tansa.run("top", "-p", "" + pid, "--lang", "ruby", "--once", "-d", "3s", "-f", "json");
                assertEquals(0, top.exitCode(), top.err());
                for (String m : List.of("signup", "login", "rehash")) {
                    Matcher row = Pattern.compile("\\{\"symbol\": \"" + m + "\", \"object\": \"([^\"]*)\", [^}]*\"children\": ([\\d.]+), "
                            + "[^}]*\"kind\": \"ruby\", \"line\": (\\d+)\\}").matcher(top.out());
                    int bestLine = -1;
                    double best = -1;
                    while (row.find()) {
                        assertEquals("/tmp/tansa-test/" + w.script, row.group(1));
                        int at = Integer.parseInt(row.group(3));
                        assertTrue(at == line.get(m) || at == line.get(m) + 1, s + " top: " + m + " at line " + at + ", outside its body");
                        if (Double.parseDouble(row.group(2)) > best) {
                            best = Double.parseDouble(row.group(2));
                            bestLine = at;
                        }
                    }
                    assertTrue(best >= 0, s + " top: no row " + m + ": " + top.out());
                    assertEquals(line.get(m), bestLine, s + " top: " + m + "'s line: " + top.out());
                }
                assertTrue(top.out().contains("Ruby " + s.series + "."), "the version seen: " + top.out().substring(0, 200));
            } finally {
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
            }
        }
    }

    /**
     * Two named Ruby threads of the series reach crc32_z through their own method
     * (src/test/ruby/threads_crc.rb): in copy and in stop mode each hit, grouped by its thread,
     * carries that thread's method at the script's line — never the other thread's frames.
     */
    @ParameterizedTest
    @EnumSource(Series.class)
    @Timeout(600)
    void eachHitCarriesItsOwnThreadsFramesOnEverySeries(Series s) throws IOException {
        Path root = RubyRoots.root(s);
        Map<String, Integer> line = callLines("threads_crc.rb");
        try (Target t = start(s, root, "threads_crc.rb")) {
            int pid = pid(t);
            try {
                for (String mode : List.of("copy", "stop")) {
                    Tansa r = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "100", "--rate", "0", "--mode", mode,
                            "-f", "json", "--group-by", "thread", "libz:crc32_z");
                    assertEquals(0, r.exitCode(), r.err());
                    int alpha = 0, beta = 0;
                    for (RubyCallersTest.Hit h : RubyCallersTest.paths(r.out())) {
                        String group = h.frames().getLast()[1];
                        String[] a = RubyCallersTest.frameNamed(h, "work_alpha"), b = RubyCallersTest.frameNamed(h, "work_beta");
                        assertTrue((a == null) != (b == null), s + " " + mode + ": one of the two methods in " + group);
                        String[] own = group.contains("alpha") ? a : b;
                        assertTrue(own != null && (group.contains("alpha") || group.contains("beta")),
                                s + " " + mode + ": the thread's own method: " + group + " " + r.out());
                        assertEquals(String.valueOf(line.get(own[1])), own[3], s + " " + mode + ": " + own[1] + "'s line");
                        if (group.contains("alpha")) alpha += h.count();
                        else beta += h.count();
                    }
                    assertEquals(100, alpha + beta, s + " " + mode);
                    assertTrue(alpha > 0 && beta > 0, s + " " + mode + ": both threads hit: " + alpha + " / " + beta);
                }
                assertTrue(t.alive(), "the target outlived both captures");
                assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced");
            } finally {
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
            }
        }
    }

    /**
     * The oracle, as on a container host: the host's gdb with the root as its sysroot stops the
     * series' Ruby at the workload's function 30 times and calls {@code rb_backtrace()} there; the
     * distinct Ruby paths it prints (file:line of every frame, innermost first) are the distinct Ruby
     * paths tansa captures in the same process, in stop and in copy mode; and {@code -f ruby} prints
     * each of them exactly as rb_backtrace() does, labels and the series' quotes included.
     */
    @ParameterizedTest
    @EnumSource(Series.class)
    @Timeout(600)
    @Tag("oracle")
    void sameRubyPathsAsGdbsRbBacktraceInTheRoot(Series s) throws Exception {
        Path root = RubyRoots.root(s);
        Workload w = WORK.get(s);
        String fn = w.function.substring(w.function.indexOf(':') + 1);
        try (Target t = start(s, root, w.script)) {
            int pid = pid(t);
            try {
                Set<List<String>> ours = new java.util.TreeSet<>(java.util.Comparator.comparing(Object::toString));
                for (String mode : List.of("stop", "copy")) {
                    Tansa r = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "120", "--rate", "0", "--mode", mode,
                            "-f", "json", w.function);
                    assertEquals(0, r.exitCode(), r.err());
                    Set<List<String>> paths = new java.util.TreeSet<>(java.util.Comparator.comparing(Object::toString));
                    for (RubyCallersTest.Hit h : RubyCallersTest.paths(r.out())) {
                        paths.add(h.frames().stream().filter(f -> f[0].equals("ruby")).map(f -> f[2] + ":" + f[3]).toList());
                    }
                    if (mode.equals("stop")) ours.addAll(paths);
                    else assertEquals(ours, paths, s + ": copy mode's Ruby paths are stop mode's");
                }
                assertEquals(3, ours.size(), s + ": the script's three paths: " + ours);
                // -f ruby: each path as the series' own rb_backtrace() prints it (its quotes: `x' to 3.3, 'x' from 3.4)
                Tansa text = Tansa.run("callers", "-q", "-p", "" + pid, "-n", "120", "--rate", "0", "--mode", "copy",
                        "-f", "ruby", w.function);
                assertEquals(0, text.exitCode(), text.err());
                Set<String> rendered = new java.util.TreeSet<>();
                for (String b : text.out().split("\n\n")) {
                    if (b.startsWith("\n")) b = b.substring(1);
                    if (b.contains(" hit") && b.contains("):\n")) rendered.add(b.substring(b.indexOf('\n') + 1).stripTrailing());
                }

                Path cmds = Files.createTempFile("tansa-gdb", ".cmds");
                Files.writeString(cmds, "set pagination off\nset $n = 0\nbreak " + fn + "\ncommands\nsilent\n"
                        + "call (void)rb_backtrace()\nset $n = $n + 1\nif $n >= 30\ndetach\nquit\nend\ncontinue\nend\ncontinue\n");
                Native.Result gdb = Native.run("gdb", "-q", "-batch", "-nx", "-ex", "set sysroot " + root, "-p", "" + pid,
                        "-x", cmds.toString());
                Files.deleteIfExists(cmds);
                assertTrue(t.alive(), "the target outlived gdb's calls: " + gdb.out() + gdb.err());
                assertEquals("0", Target.status(pid, "TracerPid").strip(), "untraced after gdb detached");
                // rb_backtrace() wrote to the target's stderr (its output here): one block per stop, innermost first
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
                String printed = t.rest();
                Set<List<String>> theirs = rbBacktracePaths(printed);
                boolean oldestFirst = !Pattern.compile("(?m)^/").matcher(printed).find();
                Set<String> theirText = rbBacktraceTexts(printed);
                assertEquals(ours, theirs, s + ": gdb's rb_backtrace() paths\n" + printed);
                assertTrue(oldestFirst, s + ": rb_backtrace() prints oldest first, as -f ruby does\n" + printed);
                assertEquals(theirText, rendered, s + ": -f ruby prints what rb_backtrace() prints\n" + text.out());
            } finally {
                if (io.tansa.proc.ProcFs.alive(pid)) io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
            }
        }
    }

    /**
     * The distinct Ruby paths in what {@code rb_backtrace()} printed at each stop, each as file:line
     * innermost first.
     */
    static Set<List<String>> rbBacktracePaths(String printed) {
        Set<List<String>> theirs = new java.util.TreeSet<>(java.util.Comparator.comparing(Object::toString));
        // innermost first with "\tfrom" on all but the first line (3.x), or oldest first with
        // "\tfrom" on every line (2.5 to 2.7): then each block starts at <main>
        boolean oldestFirst = !Pattern.compile("(?m)^/").matcher(printed).find();
        List<String> block = new ArrayList<>();
        Matcher line = Pattern.compile("(?m)^(\\tfrom )?(\\S+):(\\d+):in .(.*).$").matcher(printed);
        while (line.find()) {
            boolean starts = oldestFirst ? line.group(4).equals("<main>") && (block.isEmpty() || !block.getLast().endsWith("!main"))
                    : line.group(1) == null;
            if (starts && !block.isEmpty()) {
                theirs.add(strip(block, oldestFirst));
                block = new ArrayList<>();
            }
            block.add(line.group(2) + ":" + line.group(3) + (line.group(4).equals("<main>") ? "!main" : ""));
        }
        if (!block.isEmpty()) theirs.add(strip(block, oldestFirst));
        return theirs;
    }

    /** The blocks rb_backtrace() printed (oldest first, as 2.7 to 3.4 print them), each as its lines' text. */
    static Set<String> rbBacktraceTexts(String printed) {
        Set<String> out = new java.util.TreeSet<>();
        StringBuilder raw = new StringBuilder();
        boolean mainSeen = false;
        Matcher line = Pattern.compile("(?m)^(\\tfrom )?(\\S+):(\\d+):in .(.*).$").matcher(printed);
        while (line.find()) {
            boolean main = line.group(4).equals("<main>");
            // a block starts at <main>; a second <main> right after the first (a required file) is its own frame
            if (main && !mainSeen && !raw.isEmpty()) {
                out.add(raw.toString().stripTrailing());
                raw.setLength(0);
            }
            mainSeen = main;
            raw.append(line.group()).append('\n');
        }
        if (!raw.isEmpty()) out.add(raw.toString().stripTrailing());
        return out;
    }

    /** A printed block as file:line innermost first, without the marks the parser added. */
    static List<String> strip(List<String> block, boolean oldestFirst) {
        List<String> out = new ArrayList<>(block.stream().map(l -> l.replace("!main", "")).toList());
        if (oldestFirst) java.util.Collections.reverse(out);
        return out;
    }

    /** tansa run with the test-only switch that hides layout rows; its exit code, stdout and stderr. */
    static Native.Result tansaHiding(String series, String... args) throws IOException, InterruptedException {
        Path out = Files.createTempFile("tansa-out", ".txt"), err = Files.createTempFile("tansa-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(Tansa.command(args)).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().put("TANSA_TEST_HIDE_RUBY_LAYOUT", series);
            Process p = pb.start();
            if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
            return new Native.Result(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * A Ruby whose series has no row (3.3's row hidden by the test-only switch): callers says once
     * why, with the version it saw and what would make it work, and goes on with native frames;
     * --lang ruby and top --lang ruby fail with that same line; --ruby-layout 3.3 reads the frames
     * again, said to be unverified.
     */
    @org.junit.jupiter.api.Test
    @Timeout(300)
    void aSeriesWithoutARowSaysWhyOnceAndCanBeForced() throws Exception {
        Series s = Series.RUBY_3_3;
        Path root = RubyRoots.root(s);
        Workload w = WORK.get(s);
        try (Target t = start(s, root, w.script)) {
            int pid = pid(t);
            try {
                String why = "no Ruby frames: process " + pid + " runs Ruby 3.3.";
                Native.Result r = tansaHiding("3.3", "callers", "-p", "" + pid, "-n", "20", "--rate", "0", "-f", "json", w.function);
                assertEquals(0, r.code(), r.err());
                assertEquals(1, r.err().split(Pattern.quote(why), -1).length - 1, "said once: " + r.err());
                assertTrue(r.err().contains("--ruby-layout SERIES"), r.err());
                assertTrue(RubyCallersTest.paths(r.out()).stream().allMatch(h -> h.frames().stream().noneMatch(f -> f[0].equals("ruby"))),
                        "native frames only: " + r.out());
                assertTrue(r.out().contains("\"hits\": 20"), r.out());

                Native.Result lang = tansaHiding("3.3", "callers", "-p", "" + pid, "-n", "5", "--lang", "ruby", w.function);
                assertTrue(lang.code() != 0 && lang.err().contains(why), lang.err());
                Native.Result top = tansaHiding("3.3", "top", "-p", "" + pid, "--lang", "ruby", "--once", "-d", "1s");
                assertTrue(top.code() != 0 && top.err().contains(why), top.err());
                assertEquals(lang.code(), top.code(), "one cause, one exit code");

                Native.Result forced = tansaHiding("3.3", "callers", "-p", "" + pid, "-n", "60", "--rate", "0", "-f", "json",
                        "--ruby-layout", "3.4", w.function);
                assertEquals(0, forced.code(), forced.err());
                assertTrue(forced.err().contains("Ruby 3.3.") && forced.err().contains("not verified"), forced.err());
                Native.Result unknown = tansaHiding("3.3", "callers", "-p", "" + pid, "-n", "5", "--ruby-layout", "9.9", w.function);
                assertEquals(io.tansa.Failure.Kind.USAGE.exitCode, unknown.code(), unknown.err());
                assertTrue(t.alive());
                assertEquals("0", Target.status(pid, "TracerPid").strip());
            } finally {
                io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGKILL);
            }
        }
    }
}
