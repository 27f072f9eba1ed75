package io.tansa.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.sys.Signals;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * {@code tansa callers --mode kernel} / {@code --check-walk} end to end on src/test/c/kwalk_target.c
 * (-O2, no frame pointers, two threads): every hit's kernel walk equals the user-space unwind of
 * the same hit's stack copy, the paths have the shapes gdb's bt gives at the same function, the
 * recursion has its known depth, and kill -9 of tansa mid-capture leaves the target running.
 */
@Tag("privileged")
@Tag("oracle")
class KernelCallersTest {
    static Path prog;

    @BeforeAll
    static void build() {
        prog = Native.build("kwalk_target", "-O2", "-fomit-frame-pointer", "-pthread");
    }

    static List<String> names(List<Frame> frames) {
        List<String> out = new ArrayList<>();
        for (Frame f : frames) out.add(f.name());
        return out;
    }

    static Profile capture(int pid, Callers.Mode mode, long n, List<String> log) {
        return Callers.run(Callers.Request.builder().pids(List.of(pid)).symbol("probe_me").count(n)
                .duration(Duration.ofSeconds(60)).rate(0).maxDepth(256).lang(StackCapture.Lang.AUTO).mode(mode)
                .stackCopy(32 * 1024).log(log::add).build(), new Callers.Run());
    }

    @Test
    void checkWalkFindsNoDifferenceAndTheRecursionHasItsDepth() {
        Privileged.requireRoot();
        try (Target t = Target.start(prog.toString(), "0")) {
            t.awaitLine("ready");
            List<String> log = new ArrayList<>();
            Profile p = capture(t.pid(), Callers.Mode.CHECK_WALK, 2000, log);
            assertEquals("kernel", p.meta().get("mode"));
            assertEquals("0", p.meta().get("walk_differences"), log.toString());
            assertTrue(Long.parseLong(p.meta().get("walk_checked")) >= 1900, log.toString());
            assertTrue(!p.meta().containsKey("walk_ended_early"), log.toString());
            Map<Integer, Long> depths = new TreeMap<>();
            for (Profile.Path path : p.paths()) {
                List<String> n = names(path.frames());
                assertEquals("probe_me", n.getFirst());
                String last = n.getLast();
                assertTrue(last.equals("_start") || last.equals("clone3"), n.toString());
                int recs = Collections.frequency(n, "rec");
                if (recs > 0) depths.merge(recs, path.count(), Long::sum);
            }
            assertEquals(List.of(11, 51, 101), new ArrayList<>(depths.keySet()), depths.toString());
        }
    }

    private static final Pattern FRAME = Pattern.compile("^#\\d+\\s+(?:0x[0-9a-f]+ in )?(\\S+) \\(");

    /** gdb's bt at probe_me for each path (one stop per distinct shape) is a path of tansa's kernel walk. */
    @Test
    void kernelPathsHaveGdbsShapes() {
        Privileged.requireRoot();
        // gdb runs its own copy, one round, stopping at every probe_me of the main thread
        var r = Native.run(List.of("gdb", "-q", "-batch", "-nx", "-iex", "set debuginfod enabled off",
                "-iex", "set debug-file-directory /nonexistent", // libc by its CFI, no inlined frames (as UnwindTest)
                "-ex", "set pagination off", "-ex", "handle SIGUSR1 nostop noprint pass", "-ex", "break probe_me",
                "-ex", "run", "-ex", "bt", "-ex", "c", "-ex", "bt", "-ex", "c", "-ex", "bt", "-ex", "c", "-ex", "bt",
                "-ex", "c", "-ex", "bt", "-ex", "c", "-ex", "bt", "-ex", "kill", "--args", prog.toString(), "1"));
        List<List<String>> gdb = new ArrayList<>();
        List<String> cur = null;
        for (String line : r.out().split("\n")) {
            if (line.startsWith("#0")) gdb.add(cur = new ArrayList<>());
            if (cur == null || !line.startsWith("#")) continue;
            if (line.contains("<signal handler called>")) {
                cur.add("<signal>");
                continue;
            }
            Matcher m = FRAME.matcher(line);
            if (m.find()) cur.add(m.group(1));
        }
        assertTrue(gdb.size() >= 4, r.out() + r.err());
        try (Target t = Target.start(prog.toString(), "0")) {
            t.awaitLine("ready");
            Profile p = capture(t.pid(), Callers.Mode.KERNEL, 3000, new ArrayList<>());
            List<List<String>> ours = new ArrayList<>();
            for (Profile.Path path : p.paths()) {
                List<String> n = new ArrayList<>(names(path.frames()));
                n.replaceAll(s -> s.equals("[unknown]") ? "<signal>" : s); // libc's __restore_rt has no symbol
                ours.add(n);
            }
            for (List<String> g0 : gdb) {
                // without libc's debug files gdb may not name a worker thread's start frames: up to them
                List<String> g = g0.contains("??") ? g0.subList(0, g0.indexOf("??")) : g0;
                // gdb stops at main (the thread's start frames below main are not shown)
                boolean found = ours.stream().anyMatch(o -> o.size() >= g.size() && o.subList(0, g.size()).equals(g));
                assertTrue(found, "gdb " + g + "\nours " + ours);
            }
        }
    }

    /**
     * A library dlopen'ed after the capture began (gdb's pending breakpoint): its code is in no
     * mapping the kernel's tables know, so those walks let the kernel copy the stack and are
     * unwound here; tansa writes the tables again and later hits walk in the kernel. Every hit
     * is pend_fn ← caller_a ← main, or (its copy lost in a burst) marked and counted, never guessed.
     */
    @Test
    void aLibraryDlopenedDuringTheCaptureIsWalkedExactly() throws Exception {
        Privileged.requireRoot();
        Path pending = Native.build("pending", "-O1", "-ldl");
        Path libpend = Native.buildAs("libpend", "libpend.so", "-O1", "-shared", "-fPIC");
        try (Target t = Target.start(pending.toString(), libpend.toString(), "3000")) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "--mode", "kernel", "-p", "" + t.pid(), "-n", "3000", "--rate", "0",
                    "-f", "folded", libpend + ":pend_fn");
            r.awaitErr("probing");
            try (var in = t.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                assertEquals(0, r.waitExit(), r.err());
                t.awaitLine("done");
            }
            long total = 0, exact = 0, marked = 0;
            for (String line : r.out().split("\n")) {
                if (line.isBlank()) continue;
                long n = Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
                total += n;
                if (line.startsWith("_start;__libc_start_main;__libc_start_call_main;main;caller_a;pend_fn ")) exact += n;
                else if (line.startsWith("[unknown];pend_fn ")) marked += n; // its copy was lost: marked, never guessed
                else throw new AssertionError(line + "\n" + r.err());
            }
            assertEquals(3000, total, r.out() + r.err());
            // on a quiet machine all 3000 are exact; under load a burst can outrun the copies' ring
            // before the tables are rewritten: each such hit is marked and counted as such
            if (marked > 0) {
                assertTrue(r.err().contains(marked + " walks that met code mapped since lost their stack copies"), r.err());
            }
            assertTrue(exact >= 1000, "exact " + exact + "\n" + r.err());
            assertTrue(r.err().contains("were unwound from a stack copy"), r.err());
        }
    }

    /**
     * Forked children with --children: the probe is inherited at the fork; the kernel has no table
     * for the child at its first hits, so those are unwound from their stack copies — every stack
     * exact (target ← main ← libc's start), the results unchanged.
     */
    @Test
    void forkedChildrenAreWalkedExactly() throws Exception {
        Privileged.requireRoot();
        Path forker = Native.build("forker", "-O1");
        try (Target t = Target.start(forker.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.start("callers", "--children", "--mode", "kernel", "-p", "" + t.pid(), "-n", "0",
                    "--rate", "0", "-d", "60s", "-f", "folded", "target");
            r.awaitErr("probing");
            try (var in = t.process.getOutputStream()) {
                in.write("go\n".getBytes());
                in.flush();
                assertEquals("done 3075 0", t.awaitLine("done"), "results and the child's own check unchanged");
                assertEquals(7, r.waitExit(), r.err()); // the target exited
            }
            long total = 0;
            for (String line : r.out().split("\n")) {
                if (line.isBlank()) continue;
                assertTrue(line.startsWith("_start;__libc_start_main;__libc_start_call_main;main;target "), line + "\n" + r.err());
                total += Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
            }
            assertEquals(80, total, r.out() + r.err());
        }
    }

    @Test
    void kill9OfTansaInKernelModeLeavesTheTargetRunning() throws Exception {
        Privileged.requireRoot();
        try (Target t = Target.start(prog.toString(), "0")) {
            t.awaitLine("ready");
            for (int i = 0; i < 8; i++) {
                Tansa r = Tansa.start("callers", "--mode", "kernel", "-p", "" + t.pid(), "-n", "0", "--rate", "0", "probe_me");
                r.awaitErr("probing");
                Signals.kill((int) r.process.pid(), Signals.SIGKILL);
                assertEquals(137, r.waitExit());
                assertTrue(t.alive(), "target died after kill -9 #" + (i + 1));
            }
            // the next run still works (programs and maps went with the killed tansa's fds)
            Tansa last = Tansa.start("callers", "--mode", "kernel", "-p", "" + t.pid(), "-n", "50", "--rate", "0", "probe_me");
            assertEquals(0, last.waitExit(), last.err());
            assertTrue(t.alive());
        }
    }
}
