package io.tansa.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** tansa callers against real multi-threaded C programs, checked against their own ground truth. */
@Tag("privileged")
public class CallersTest {
    static Path paths, late, sigs, dup, pending, libpend;

    @BeforeAll
    static void build() {
        Privileged.requireRoot();
        // frame pointers on and no sibling calls: the walk must see path_a/path_b (CFI tests cover -O2 without)
        paths = pathsProgram();
        late = Native.build("late", "-O1", "-fno-omit-frame-pointer", "-pthread");
        pending = Native.build("pending", "-O1", "-ldl");
        libpend = Native.buildAs("libpend", "libpend.so", "-O1", "-shared", "-fPIC");
        sigs = Native.build("sigs", "-O1", "-fno-omit-frame-pointer");
        Path lib = Native.buildAs("libdup", "libdup.so", "-O1", "-fno-omit-frame-pointer", "-shared", "-fPIC");
        dup = Native.build("dup", "-O1", "-fno-omit-frame-pointer", "-L" + lib.getParent(), "-ldup",
                "-Wl,-rpath," + lib.getParent());
    }

    static int count(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\": (\\d+)").matcher(json);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** {"count": C, "frames": [...]} entries as (count, list of frame names). */
    static List<Object[]> paths(String json) {
        List<Object[]> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\{\"count\": (\\d+), \"frames\": \\[(.*?)\\]\\}").matcher(json);
        while (m.find()) {
            List<String> names = new ArrayList<>();
            Matcher n = Pattern.compile("\"name\": \"([^\"]*)\"").matcher(m.group(2));
            while (n.find()) names.add(n.group(1));
            out.add(new Object[] {Integer.parseInt(m.group(1)), names});
        }
        return out;
    }

    /** Per path, frame addresses ("0x…"), except main's, given as "main". */
    static List<List<String>> pathsWithAddresses(String json) {
        List<List<String>> out = new ArrayList<>();
        Matcher m = Pattern.compile("\\{\"count\": (\\d+), \"frames\": \\[(.*?)\\]\\}").matcher(json);
        while (m.find()) {
            List<String> frames = new ArrayList<>();
            Matcher n = Pattern.compile("\"name\": \"([^\"]*)\", \"module\": [^,]*, \"address\": \"(0x[0-9a-f]+)\"").matcher(m.group(2));
            while (n.find()) frames.add(n.group(1).equals("main") ? "main" : n.group(2));
            out.add(frames);
        }
        return out;
    }

    /** The target is running, no longer traced, and its SIGTRAP disposition is back to default. */
    /**
     * uprobe trace events defined by tansa processes that are gone (tracefs is machine-wide:
     * another tansa running meanwhile may have live ones).
     */
    public static List<String> leftUprobes() throws IOException {
        List<String> left = new java.util.ArrayList<>();
        for (String l : Files.readAllLines(Path.of("/sys/kernel/tracing/uprobe_events"))) {
            Matcher m = Pattern.compile("^\\w:tansa_(\\d+)_").matcher(l);
            if (m.find() && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) left.add(l);
        }
        return left;
    }

    /** src/test/c/paths.c, built so that every call keeps its frame (the paths are the ground truth). */
    public static Path pathsProgram() {
        return Native.build("paths", "-O2", "-fno-omit-frame-pointer", "-fno-optimize-sibling-calls", "-pthread");
    }

    static void assertUntouched(Target t) throws IOException {
        assertTrue(t.alive(), "target must survive");
        assertEquals("0", Target.status(t.pid(), "TracerPid"), "target must be detached");
        long ign = Long.parseUnsignedLong(Target.status(t.pid(), "SigIgn"), 16);
        assertEquals(0, ign & (1L << 4), "SIGTRAP must not stay ignored");
    }

    @Test
    void pathsRankedInTheProgramsProportions() throws IOException {
        // untraced run: the program's own result
        Native.Result plain = Native.run(paths.toString(), "4", "20000");
        try (Target t = Target.start(paths.toString(), "4", "20000", "0", "wait")) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "400", "--rate", "0", "-f", "json", "target");
            r.awaitErr("probing");
            t.process.getOutputStream().write('\n');
            t.process.getOutputStream().flush();
            assertEquals(0, r.waitExit(), r.err());
            String json = r.out();
            assertEquals(400, count(json, "hits"));
            int viaA = 0, viaB = 0;
            for (Object[] p : paths(json)) {
                @SuppressWarnings("unchecked") List<String> names = (List<String>) p[1];
                assertEquals("target", names.get(0), "innermost frame first");
                if (names.get(1).equals("path_a")) viaA += (int) p[0];
                else if (names.get(1).equals("path_b")) viaB += (int) p[0];
                assertTrue(names.contains("worker"), "frames reach worker: " + names);
            }
            assertEquals(400, viaA + viaB, json);
            // the program calls path_a's target 3× per path_b call: 75% ± sampling of a contiguous window
            assertTrue(Math.abs(viaA / 400.0 - 0.75) < 0.05, "share via path_a " + viaA + "/400");
            // the traced program computes exactly what it computes untraced
            String rest = t.rest();
            assertEquals(0, t.waitExit());
            assertEquals(plain.out().lines().filter(l -> l.startsWith("checksum")).findFirst().orElseThrow(),
                    rest.lines().filter(l -> l.startsWith("checksum")).findFirst().orElseThrow());
        }
    }

    @Test
    void threadsBornAfterAttachAreProbed() throws IOException {
        try (Target t = Target.start(late.toString(), "4", "50")) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "200", "--rate", "0", "-f", "json", "target");
            r.awaitErr("probing");
            try (OutputStream in = t.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                Set<Integer> tids = new HashSet<>();
                for (int i = 0; i < 4; i++) tids.add(Integer.parseInt(t.awaitLine("thread ").split(" ")[1]));
                assertEquals(0, r.waitExit(), r.err());
                assertEquals(200, count(r.out(), "hits"), "every call in every new thread: " + r.out());
                t.awaitLine("done");
                assertUntouched(t);
                assertEquals(4, tids.size());
            }
        }
    }

    /**
     * Forked children in copy mode: their hits are captured with --children (the probe is
     * inherited at fork), and without it the child is not probed at all; results unchanged.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
    void forkedChildrenAreProbedOnlyWithChildren(boolean children) throws IOException {
        Path forker = Native.build("forker", "-O1");
        try (Target t = Target.start(forker.toString())) {
            t.awaitLine("ready");
            List<String> args = new ArrayList<>(List.of("callers", "--mode", "copy", "-p", "" + t.pid(), "-n", "0",
                    "--rate", "0", "-d", "60s", "-f", "json", "target"));
            if (children) args.add(1, "--children");
            Tansa r = Tansa.start(args.toArray(String[]::new));
            r.awaitErr("probing");
            try (OutputStream in = t.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                assertEquals("done 3075 0", t.awaitLine("done"), "results and the child's own check unchanged");
                assertEquals(7, r.waitExit(), r.err()); // the target exited
                assertEquals(children ? 80 : 30, count(r.out(), "hits"), r.out());
            }
        }
    }

    /** gdb's pending breakpoint: the library is named by path before the target dlopen()s it. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"copy", "stop"})
    void aLibraryLoadedAfterAttachIsProbedWhenItIsLoaded(String mode) throws IOException {
        // untraced first: the program's own result
        try (Target u = Target.start(pending.toString(), libpend.toString(), "100")) {
            u.awaitLine("ready");
            try (OutputStream in = u.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                String done = u.awaitLine("done");
                try (Target t = Target.start(pending.toString(), libpend.toString(), "100")) {
                    t.awaitLine("ready");
                    Tansa r = Tansa.start("callers", "--mode", mode, "-p", "" + t.pid(), "-n", "100", "--rate", "0",
                            "-f", "json", libpend + ":pend_fn");
                    r.awaitErr("probing");
                    assertTrue(r.err().contains("pending"), r.err());
                    try (OutputStream tin = t.process.getOutputStream()) {
                        tin.write("go\n".getBytes());
                        tin.flush();
                        assertEquals(0, r.waitExit(), r.err());
                        assertEquals(done, t.awaitLine("done"), "the same results traced");
                        assertEquals(100, count(r.out(), "hits"), r.out());
                        for (Object[] p : paths(r.out())) {
                            @SuppressWarnings("unchecked") List<String> names = (List<String>) p[1];
                            assertEquals(List.of("pend_fn", "caller_a", "main"), names.subList(0, 3), r.out());
                        }
                        assertUntouched(t);
                    }
                }
            }
        }
    }

    /**
     * Without the right to trace the target (another user, no CAP_SYS_PTRACE / CAP_PERFMON):
     * exit 4 with a message that names what is missing, and the target is untouched. tansa runs
     * as nobody, from a copy of the test classpath that nobody can read.
     */
    @Test
    void noPermissionIsExit4AndNamesTheCapability() throws IOException {
        Path cp = Files.createTempDirectory("tansa-cp");
        try (Target t = Target.start(sigs.toString())) {
            t.awaitLine("ready");
            List<String> entries = new java.util.ArrayList<>();
            int i = 0;
            for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path src = Path.of(e), dst = cp.resolve(i++ + "-" + src.getFileName());
                try (var walk = Files.walk(src)) {
                    for (Path f : (Iterable<Path>) walk::iterator) {
                        Path to = dst.resolve(src.relativize(f).toString());
                        if (Files.isDirectory(f)) Files.createDirectories(to);
                        else Files.copy(f, to);
                    }
                }
                entries.add(dst.toString());
            }
            Native.run("chmod", "-R", "a+rX", cp.toString());
            List<String> cmd = new java.util.ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"));
            for (String a : Tansa.command("callers", "-p", "" + t.pid(), "-n", "1", "target")) {
                cmd.add(a.equals(System.getProperty("java.class.path")) ? String.join(":", entries) : a);
            }
            Native.Result r = Native.run(cmd);
            assertEquals(4, r.code(), r.out() + r.err());
            assertTrue(r.err().contains("CAP_SYS_PTRACE"), r.err());
            assertUntouched(t);
        } finally {
            Native.run("rm", "-rf", cp.toString());
        }
    }

    @Test
    void signalsAreDeliveredUnchanged() throws Exception {
        try (Target t = Target.start(sigs.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "0", "-d", "60s", "target");
            r.awaitErr("probing");
            for (int i = 1; i <= 20; i++) {
                io.tansa.sys.Signals.kill(t.pid(), io.tansa.sys.Signals.SIGUSR1);
                assertEquals("usr1 " + i, t.awaitLine("usr1"));
            }
            // SIGTERM (not Process.destroy(), which also closes our end of its pipes): prints what it has, detaches
            io.tansa.sys.Signals.kill((int) r.process.pid(), io.tansa.sys.Signals.SIGTERM);
            assertEquals(143, r.waitExit(), r.err());
            assertTrue(r.out().contains("hits on target"), r.out() + r.err());
            assertUntouched(t);
            io.tansa.sys.Signals.kill(t.pid(), io.tansa.sys.Signals.SIGUSR1);
            assertEquals("usr1 21", t.awaitLine("usr1"));
        }
    }

    @Test
    void sigintPrintsWhatWasCapturedAndDetaches() throws Exception {
        try (Target t = Target.start(sigs.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "0", "--rate", "0", "-f", "json", "target");
            r.awaitErr("probing");
            io.tansa.sys.Signals.kill((int) r.process.pid(), io.tansa.sys.Signals.SIGINT);
            assertEquals(130, r.waitExit(), r.err());
            assertTrue(count(r.out(), "hits") >= 0, r.out());
            assertTrue(r.out().contains("\"stopped\": \"interrupted\""), r.out());
            assertUntouched(t);
        }
    }

    @Test
    void durationBoundsTheRun() throws Exception {
        try (Target t = Target.start(sigs.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-p", "" + t.pid(), "-n", "0", "-d", "2s", "-f", "json", "target");
            assertEquals(0, r.exitCode(), r.err());
            assertTrue(r.out().contains("\"stopped\": \"duration reached\""), r.out());
            assertTrue(count(r.out(), "hits") > 0, r.out());
            assertUntouched(t);
        }
    }

    @Test
    void targetExitingMidRunPrintsCaptureAndExits7() {
        try (Target t = Target.start(late.toString(), "2", "100")) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "-p", "" + t.pid(), "-n", "0", "--rate", "0", "-f", "json", "target");
            r.awaitErr("probing");
            try (OutputStream in = t.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                t.awaitLine("done");
                in.write("exit\n".getBytes());
                in.flush();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            assertEquals(0, t.waitExit());
            assertEquals(7, r.waitExit(), r.err());
            assertEquals(200, count(r.out(), "hits"), r.out());
            assertTrue(r.err().contains("target exited"), r.err());
        }
    }

    @Test
    void commandIsTracedFromItsFirstInstruction() throws IOException {
        // -- CMD: started under tansa, probed before any of its code runs; the program's own output is intact
        Tansa r = Tansa.start("callers", "-n", "0", "--rate", "0", "-f", "json", "-o", "/dev/stderr", "target", "--",
                late.toString(), "2", "50");
        r.process.getOutputStream().write("go\n".getBytes());
        r.process.getOutputStream().close();
        assertEquals(0, r.waitExit(), r.err());
        assertTrue(r.out().contains("done 7600"), "program output: " + r.out());
        assertEquals(100, count(r.err(), "hits"), r.err());
    }

    @Test
    void ambiguousSymbolProbesEveryDefinition() {
        try (Target t = Target.start(dup.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "300", "--rate", "0", "-f", "json", "target");
            assertEquals(0, r.exitCode(), r.err());
            String json = r.out();
            Matcher m = Pattern.compile("\\{\"name\": \"target\", \"module\": \"([^\"]+)\", \"address\": \"[^\"]+\", \"hits\": (\\d+)\\}")
                    .matcher(json);
            int exe = -1, lib = -1;
            while (m.find()) {
                if (m.group(1).equals("dup")) exe = Integer.parseInt(m.group(2));
                if (m.group(1).equals("libdup.so")) lib = Integer.parseInt(m.group(2));
            }
            assertTrue(exe > 0 && lib > 0, "both definitions hit: " + json);
            assertEquals(300, exe + lib);
            // two calls in the executable per call in the library
            assertTrue(Math.abs(exe / 300.0 - 2.0 / 3) < 0.05, "exe share " + exe);
            assertTrue(json.contains("\"name\": \"lib_work\""), json);
        }
    }

    @Test
    void objectQualifiedSymbolInASharedLibrary() {
        try (Target t = Target.start(dup.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "50", "--rate", "0", "-f", "json", "libdup.so:target");
            assertEquals(0, r.exitCode(), r.err());
            for (Object[] p : paths(r.out())) {
                @SuppressWarnings("unchecked") List<String> names = (List<String>) p[1];
                assertEquals(List.of("target", "lib_work", "main"), names.subList(0, 3));
            }
            assertEquals(50, count(r.out(), "hits"));
        }
    }

    @Test
    void badInputGetsDistinctExitCodes() throws IOException {
        Tansa noPid = Tansa.run("callers", "-p", "999999", "target");
        assertEquals(3, noPid.exitCode());
        assertTrue(noPid.err().contains("no such process"), noPid.err());
        try (Target t = Target.start(sigs.toString())) {
            t.awaitLine("ready");
            Tansa typo = Tansa.run("callers", "-p", "" + t.pid(), "targte");
            assertEquals(5, typo.exitCode(), typo.err());
            assertTrue(typo.err().contains("target"), "suggests the close name: " + typo.err());
            Tansa usage = Tansa.run("callers", "-p", "" + t.pid(), "-f", "nope", "target");
            assertEquals(2, usage.exitCode(), usage.err());
            for (String[] bad : List.of(new String[] {"--mode", "fast"}, new String[] {"--stack-copy", "64k"},
                    new String[] {"--stack-copy", "12q"})) {
                Tansa r = Tansa.run("callers", "-p", "" + t.pid(), bad[0], bad[1], "target");
                assertEquals(2, r.exitCode(), String.join(" ", bad) + ": " + r.err());
                assertTrue(r.err().contains(bad[0]), "names the option: " + r.err());
            }
            assertUntouched(t);
        }
    }
}
