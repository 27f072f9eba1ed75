package io.tansa.ruby;
import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** tansa callers on Debian's real ruby + ruby-bcrypt: Ruby paths to libcrypt's crypt_ra at each hit. */
@Tag("privileged")
class RubyCallersTest {
    static final Path SCRIPTS = Path.of("src/test/ruby").toAbsolutePath();

    record Hit(int count, List<String[]> frames) {} // frame: kind, name, file-or-module, line

    static List<Hit> paths(String json) {
        List<Hit> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\{\"count\": (\\d+), \"frames\": \\[(.*?)\\]\\}").matcher(json);
        while (m.find()) {
            List<String[]> fs = new ArrayList<>();
            Matcher f = Pattern.compile("\\{\"kind\": \"(\\w+)\", \"name\": \"([^\"]*)\", \"(?:file|module)\": (?:\"([^\"]*)\"|null)(?:, \"line\": (\\d+))?")
                    .matcher(m.group(2));
            while (f.find()) fs.add(new String[] {f.group(1), f.group(2), f.group(3), f.group(4)});
            out.add(new Hit(Integer.parseInt(m.group(1)), fs));
        }
        return out;
    }

    static String[] frameNamed(Hit h, String nameSuffix) {
        for (String[] f : h.frames()) if (f[0].equals("ruby") && f[1].endsWith(nameSuffix)) return f;
        return null;
    }

    /** copy: Ruby frames snapshotted in the kernel, no thread stops; stop: read from the stopped thread. */
    @ParameterizedTest
    @ValueSource(strings = {"copy", "stop"})
    void threeRubyPathsInTheirProportionsWithExactLines(String mode) {
        Privileged.requireRoot();
        try (Target t = Target.start("ruby", SCRIPTS.resolve("bcrypt_paths.rb").toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "240", "--rate", "0", "--mode", mode,
                    "-f", "json", "crypt_ra");
            assertEquals(0, r.exitCode(), r.err());
            String json = r.out();
            // Debian's bcrypt calls libcrypt's crypt_ra; bcrypt_ext.so's own definition is never hit
            assertTrue(json.matches("(?s).*\"module\": \"libcrypt[^\"]*\", \"address\": \"[^\"]+\", \"hits\": 240.*"), json);
            assertTrue(json.contains("\"mode\": \"" + mode + "\""), "the engine asked for: " + json);
            int signup = 0, login = 0, rehash = 0;
            for (Hit h : paths(json)) {
                assertEquals("crypt_ra", h.frames().get(0)[1], "innermost: the probed function");
                String[] s = frameNamed(h, "signup"), l = frameNamed(h, "login"), x = frameNamed(h, "rehash");
                if (s != null) {
                    signup += h.count();
                    assertEquals("11", s[3], "signup's call line");
                } else if (l != null) {
                    login += h.count();
                    assertEquals("15", l[3]);
                } else if (x != null) {
                    rehash += h.count();
                    assertEquals("19", x[3]);
                }
                for (String[] f : h.frames()) {
                    if (f[0].equals("ruby") && f[2].endsWith("bcrypt_paths.rb")) {
                        assertTrue(f[2].startsWith("/"), "absolute path as Ruby reports it: " + f[2]);
                    }
                }
                String[] main = frameNamed(h, "<main>");
                assertTrue(main != null && main[2].endsWith("bcrypt_paths.rb"), "outermost Ruby frame is <main>");
            }
            assertEquals(240, signup + login + rehash, json);
            // per round: 1 signup, 2 logins, 3 rehashes
            assertTrue(Math.abs(signup / 240.0 - 1 / 6.0) < 0.05, "signup " + signup);
            assertTrue(Math.abs(login / 240.0 - 2 / 6.0) < 0.06, "login " + login);
            assertTrue(Math.abs(rehash / 240.0 - 3 / 6.0) < 0.06, "rehash " + rehash);
            assertTrue(t.alive());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"copy", "stop"})
    void eachHitCarriesTheFramesOfTheThreadThatMadeIt(String mode) {
        Privileged.requireRoot();
        try (Target t = Target.start("ruby", SCRIPTS.resolve("threads_crypt.rb").toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "100", "--rate", "0", "--mode", mode,
                    "-f", "json", "--group-by", "thread", "libcrypt:crypt_ra");
            assertEquals(0, r.exitCode(), r.err());
            int alpha = 0, beta = 0;
            for (Hit h : paths(r.out())) {
                String group = h.frames().getLast()[1];
                boolean a = frameNamed(h, "work_alpha") != null, b = frameNamed(h, "work_beta") != null;
                assertTrue(a != b, "one of the two methods: " + group);
                if (group.contains("alpha")) {
                    assertTrue(a, "thread alpha's hit shows work_alpha");
                    alpha += h.count();
                } else {
                    assertTrue(group.contains("beta") && b, "thread beta's hit shows work_beta: " + group);
                    beta += h.count();
                }
            }
            assertEquals(100, alpha + beta);
            assertTrue(alpha > 0 && beta > 0, alpha + " / " + beta);
        }
    }

    /**
     * Short-lived forked children (--children) and threads, each hashing once and exiting before
     * the next starts, in the default engine (copy): every hit has its Ruby frames. The kernel takes
     * the snapshot program off its uprobe when the perf event it was set on, or an inherited copy of
     * it, is freed: set on a sampling event, the first child or thread to exit took it away.
     */
    @ParameterizedTest
    @ValueSource(strings = {"fork", "thread"})
    void shortLivedChildrenAndThreadsKeepTheirRubyFrames(String kind) {
        Privileged.requireRoot();
        int n = 30;
        try (Target t = Target.start("ruby", SCRIPTS.resolve("short_lived.rb").toString(), kind, "" + n)) {
            t.awaitLine("ready");
            List<String> args = new ArrayList<>(List.of("callers", "-p", "" + t.pid(), "-n", "" + n, "--rate", "0",
                    "-d", "120s", "-f", "json", "libcrypt:crypt_ra"));
            if (kind.equals("fork")) args.add(1, "--children");
            Tansa r = Tansa.start(args.toArray(String[]::new));
            r.awaitErr("probing");
            io.tansa.sys.Signals.kill(t.pid(), io.tansa.sys.Signals.SIGUSR1);
            assertEquals(0, r.waitExit(), r.err());
            assertEquals("done " + n, t.awaitLine("done"), "the program ran to its end");
            String json = r.out();
            assertTrue(json.contains("\"mode\": \"copy\""), "auto picks copy mode: " + json);
            assertTrue(!r.err().contains("native frames only"), r.err());
            int hits = 0;
            for (Hit h : paths(json)) {
                String[] job = frameNamed(h, "job"), block = frameNamed(h, "block (2 levels) in <main>");
                assertTrue(job != null && "6".equals(job[3]), "job's call line: " + json);
                assertTrue(block != null && (kind.equals("fork") ? "17" : "19").equals(block[3]),
                        "the " + kind + "'s block and its line: " + json);
                hits += h.count();
            }
            assertEquals(n, hits, json);
        }
    }

    /**
     * A probed libc function that tansa's JVM calls too (clock_gettime, under System.nanoTime): the
     * Ruby snapshot program must be held without probing tansa itself. A thread that ever took a
     * uprobe trap has the kernel's "[uprobes]" mapping; tansa's process must never get one.
     */
    @org.junit.jupiter.api.Test
    void aLibcFunctionTansaCallsTooIsProbedInTheTargetOnly() throws Exception {
        Privileged.requireRoot();
        try (Target t = Target.start("ruby", SCRIPTS.resolve("clock_calls.rb").toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "1000", "--rate", "0", "-d", "120s",
                    "-f", "json", "libc:clock_gettime");
            java.nio.file.Path maps = java.nio.file.Path.of("/proc/" + r.process.pid() + "/maps");
            r.awaitErr("probing");
            while (r.process.isAlive()) { // until the 1000 hits are in
                try {
                    assertTrue(!java.nio.file.Files.readString(maps).contains("[uprobes]"), "tansa probed itself");
                } catch (java.io.IOException ended) { // tansa exited
                    break;
                }
            }
            assertEquals(0, r.waitExit(), r.err());
            int hits = 0;
            for (Hit h : paths(r.out())) {
                // from tick, or from inside sleep: Ruby frames either way
                assertTrue(frameNamed(h, "block in <main>") != null, "the Ruby caller: " + r.out());
                hits += h.count();
            }
            assertEquals(1000, hits, r.out());
            assertTrue(!r.err().contains("native frames only"), r.err());
        }
    }

    /**
     * The Ruby program is held by an event on a target thread. That thread's process execs another
     * program (as a Unicorn master does on an upgrade) while its forked child goes on hashing: the
     * child's hits after the exec keep their Ruby frames.
     */
    @org.junit.jupiter.api.Test
    void aTargetThatExecsLeavesItsChildsRubyFrames() {
        Privileged.requireRoot();
        try (Target t = Target.start("ruby", SCRIPTS.resolve("exec_parent.rb").toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "--children", "-n", "300", "--rate", "0", "-d", "120s",
                    "-f", "json", "libcrypt:crypt_ra");
            r.awaitErr("probing");
            io.tansa.sys.Signals.kill(t.pid(), io.tansa.sys.Signals.SIGUSR1);
            t.awaitLine("after exec"); // the child saw its parent become `sleep`
            assertEquals(0, r.waitExit(), r.err());
            assertTrue(!r.err().contains("native frames only"), r.err());
            int after = 0, hits = 0;
            for (Hit h : paths(r.out())) {
                boolean b = frameNamed(h, "work_before") != null, a = frameNamed(h, "work_after") != null;
                assertTrue(a || b, "Ruby frames in every path: " + r.out());
                if (a) after += h.count();
                hits += h.count();
            }
            assertEquals(300, hits, r.out());
            assertTrue(after > 0, "hits after the exec, with their Ruby frames: " + r.out());
        }
    }
}
