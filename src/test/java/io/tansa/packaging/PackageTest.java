package io.tansa.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Privileged;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/**
 * The packages as a user of a production host gets them: {@code bin/package} builds the .deb and
 * the tarball; the .deb is installed into a Debian 12 root without a JDK (an overlay, so the
 * cached root stays clean) and used there; the tarball is unpacked under a path with spaces and
 * runs every command on real processes, with no JDK on PATH or in JAVA_HOME.
 */
@Timeout(value = 20, unit = TimeUnit.MINUTES)
@Tag("privileged")
class PackageTest {
    static Path dir;
    static Path deb;
    static Path tarball;
    static String version;

    @BeforeAll
    @Timeout(value = 15, unit = TimeUnit.MINUTES) // bin/package's own limit below; the suite's 4 m default is for tests
    static void build() throws IOException {
        Privileged.requireRoot();
        dir = Files.createTempDirectory("tansa-package");
        Run r = run(Path.of("."), 900, "bin/package", "--out", dir.resolve("dist").toString());
        assertEquals(0, r.code, r.err);
        version = Files.readString(Path.of("pom.xml")).replaceFirst("(?s).*?<version>([^<]+)</version>.*", "$1");
        deb = dir.resolve("dist/tansa_" + version + "_amd64.deb");
        tarball = dir.resolve("dist/tansa-" + version + "-linux-x86_64.tar.gz");
        assertTrue(Files.isRegularFile(deb) && Files.isRegularFile(tarball), r.err);
    }

    @AfterAll
    static void clean() throws IOException {
        if (dir != null) run(Path.of("."), 60, "rm", "-rf", dir.toString());
    }

    /** Debian 12 (bookworm) and 13 (trixie), each a root of its own with no JDK. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"bookworm", "trixie"})
    void debInstallsRunsAndPurgesCleanlyOnDebianWithoutAJdk(String release) throws IOException {
        Run root = run(Path.of("."), 1800, "src/test/scripts/debian-root.sh", release, "man-db", "bash-completion");
        assertEquals(0, root.code, root.err);
        Run smoke = run(Path.of("."), 600, "src/test/scripts/deb-smoke.sh", root.out.strip(), deb.toString(),
                dir.resolve("smoke-" + release).toString());
        assertEquals(0, smoke.code, smoke.out + smoke.err);
        Map<String, String> step = steps(smoke.out);

        assertEquals("none", step.get("java on PATH").strip(), "the root has no JDK: the package brings its runtime");
        assertTrue(step.get("version").matches("tansa " + Pattern.quote(version) + " \\(commit \\w+(-dirty)?, built \\d{4}-\\d\\d-\\d\\d, Java 25[^)]*\\)\\n"),
                step.get("version"));
        // dash's echo: one write(2) per line, 20 lines, the count stops at 10
        assertTrue(step.get("callers").contains("10 hits on write"), step.get("callers"));
        assertTrue(step.get("man").contains("/usr/share/man/man1/tansa-callers.1.gz"), step.get("man"));
        assertTrue(step.get("man").strip().endsWith("\n2"), "PRIVILEGES and EXIT STATUS sections: " + step.get("man"));
        assertTrue(step.get("completion").contains("option --mode"), step.get("completion"));
        assertTrue(step.get("completion").strip().endsWith("1"), "pid 1 among the pids completed: " + step.get("completion"));
        assertTrue(step.get("remove").contains("Removing tansa")
                && step.get("remove").contains("no packages found matching tansa"), step.get("remove"));
        assertEquals("", step.get("left behind").strip(), "files left after dpkg --purge");
    }

    @Test
    void tarballUnpackedUnderAPathWithSpacesRunsEveryCommandWithoutAJdk() throws IOException, InterruptedException {
        Path where = dir.resolve("with spaces/opt");
        Files.createDirectories(where);
        assertEquals(0, run(Path.of("."), 120, "tar", "-xzf", tarball.toString(), "-C", where.toString()).code);
        Path home = where.resolve("tansa-" + version);
        Path tansa = home.resolve("bin/tansa");
        Run train = run(home, 300, home.resolve("lib/tansa/train").toString());
        assertEquals(0, train.code, train.err);
        assertTrue(Files.isRegularFile(home.resolve("lib/tansa/tansa.aot")), "train made the AOT cache: " + train.err);

        Run v = packaged(tansa, "--version");
        assertTrue(v.out.startsWith("tansa " + version + " (commit "), v.out + v.err);
        assertTrue(v.err.isEmpty(), "the AOT cache is taken without complaint: " + v.err);

        // callers, native: the same program as in the .deb's root
        Run callers = packaged(tansa, "callers", "-q", "-n", "10", "write", "--", "/bin/sh", "-c",
                "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo $i; done");
        assertTrue(callers.out.contains("10 hits on write"), callers.out + callers.err);

        // callers, Ruby: the Ruby method and line that reach write(2)
        Path rb = dir.resolve("with spaces/tick.rb");
        // (it lives on after its writes: the Ruby frames of a copy-mode hit are named from the live process)
        Files.writeString(rb, "def tick_writer(i)\n  $stdout.syswrite(\"#{i}\\n\")\nend\n50.times { |i| tick_writer(i) }\nsleep 1\n");
        Run ruby = packaged(tansa, "callers", "-q", "-n", "5", "--lang", "ruby", "write", "--", "ruby", rb.toString());
        assertTrue(ruby.out.contains("5 hits on write") && ruby.out.contains(rb + ":2:in `tick_writer'"), ruby.out + ruby.err);

        // trace: dash's two echo lines are two write(2) calls
        Run trace = packaged(tansa, "trace", "-c", "-f", "json", "--", "/bin/sh", "-c", "echo a; echo b");
        Matcher w = Pattern.compile("\"name\": \"write\", \"calls\": (\\d+)").matcher(trace.out);
        assertTrue(w.find(), trace.out + trace.err);
        assertEquals("2", w.group(1), trace.out);

        // fds, sockets and top on one process: a Ruby listener that also burns CPU
        Process server = new ProcessBuilder("ruby", "-rsocket", "-e",
                "s = TCPServer.new('127.0.0.1', 0); puts s.addr[1]; $stdout.flush; x = 0; loop { x += 1 }")
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            String port = new String(server.getInputStream().readNBytes(6)).strip().split("\n")[0];
            String pid = Long.toString(server.pid());
            Run fds = packaged(tansa, "fds", "-p", pid);
            long held;
            try (var list = Files.list(Path.of("/proc", pid, "fd"))) {
                held = list.count();
            }
            assertTrue(fds.out.contains("127.0.0.1:" + port), fds.out + fds.err);
            assertTrue(fds.out.lines().filter(l -> l.matches("\\s*\\d+\\s.*")).count() >= held, fds.out);
            Run sockets = packaged(tansa, "sockets", "-l", "-p", pid);
            assertTrue(sockets.out.contains("127.0.0.1:" + port), sockets.out + sockets.err);
            Run top = packaged(tansa, "top", "-q", "--once", "-d", "2s", "-p", pid);
            assertTrue(top.code == 0 && top.out.contains("Samples:"), top.out + top.err);
            assertTrue(server.isAlive(), "the target outlives every command");
        } finally {
            server.destroyForcibly().waitFor();
        }
    }

    /** Runs the packaged launcher as a host without a JDK would: a bare environment. */
    static Run packaged(Path tansa, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                tansa.toString()));
        cmd.addAll(List.of(args));
        return run(Path.of("."), 180, cmd.toArray(String[]::new));
    }

    /** deb-smoke.sh's output by "== STEP" heading. */
    static Map<String, String> steps(String out) {
        Map<String, String> steps = new LinkedHashMap<>();
        String name = null;
        StringBuilder body = new StringBuilder();
        for (String line : out.split("\n", -1)) {
            if (line.startsWith("== ")) {
                if (name != null) steps.put(name, body.toString());
                name = line.substring(3);
                body.setLength(0);
            } else if (name != null) {
                body.append(line).append('\n');
            }
        }
        if (name != null) steps.put(name, body.toString());
        assertTrue(steps.containsKey("end"), "deb-smoke.sh ran to its end: " + out);
        return steps;
    }

    record Run(int code, String out, String err) {}

    static Run run(Path cwd, int seconds, String... cmd) throws IOException {
        Path out = Files.createTempFile("tansa-pkg", ".out");
        Path err = Files.createTempFile("tansa-pkg", ".err");
        try {
            Process p = new ProcessBuilder(cmd).directory(cwd.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("timed out after " + seconds + " s: " + String.join(" ", cmd)
                        + "\n" + Files.readString(err));
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
