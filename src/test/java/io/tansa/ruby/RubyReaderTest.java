package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.tansa.profile.Frame;
import io.tansa.sys.Ptrace;
import io.tansa.sys.Regs;
import io.tansa.sys.Signals;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Ruby frames of stopped threads of a real Ruby 3.1 process (src/test/ruby/frames.rb): equal to
 * what {@code call rb_backtrace()} prints in the same thread at the same stop (gdb), and at
 * PTRACE_INTERRUPT stops every frame is a real line of the script inside the method it names.
 */
// A hang must fail the test, not stall the suite (a blocking waitpid cannot be interrupted).
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@Tag("privileged")
class RubyReaderTest {
    static final Path SCRIPT = Path.of("src/test/ruby/frames.rb").toAbsolutePath();
    /** Block labels: "block in m", "block (2 levels) in m". */
    static final String BLOCK = "^block (\\(\\d+ levels\\) )?in ";
    static List<String> source;
    static Path stderr;
    static Target target;
    static int pid;
    static RubyReader reader;

    @BeforeAll
    static void start() throws IOException {
        Privileged.requireRoot();
        source = Files.readAllLines(SCRIPT);
        stderr = Files.createTempFile("tansa-ruby", ".err");
        // ruby runs as a grandchild: the JDK's process reaper thread waits for the JVM's own
        // children and would swallow the ptrace stops of a traced child
        target = Target.start("sh", "-c", "ruby " + SCRIPT + " 2>" + stderr + " & wait");
        pid = Integer.parseInt(target.awaitLine("ready").split(" ")[1]);
        reader = RubyReader.detect(pid, new NmSymbols(pid)).orElseThrow();
        awaitMainLoop();
    }

    /**
     * The "ready" line arrives while puts may still be returning (write → puts → puts → main):
     * wait, by looking, until the main thread has entered its loop.
     */
    static void awaitMainLoop() {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            Ptrace.seize(pid, 0);
            List<Frame> frames;
            try {
                interrupt(pid);
                frames = reader.frames(pid, Ptrace.getRegs(pid));
            } finally {
                Ptrace.detach(pid, 0);
            }
            if (frames.stream().anyMatch(f -> f.name().equals("deep"))) return;
            if (System.nanoTime() > deadline) fail("main thread never entered its loop: " + frames);
            Thread.onSpinWait();
        }
    }

    /** A test that let gdb crash the target (see below) leaves the next one a fresh target. */
    @BeforeEach
    void aliveTarget() throws IOException {
        if (!io.tansa.proc.ProcFs.alive(pid)) {
            stop();
            start();
        }
    }

    @AfterAll
    static void stop() throws IOException {
        if (pid > 0 && io.tansa.proc.ProcFs.alive(pid)) Signals.kill(pid, Signals.SIGKILL);
        if (target != null) target.close();
        if (stderr != null) Files.deleteIfExists(stderr);
    }

    @Test
    void detectsTheVersionAndIgnoresOtherProcesses() {
        assertEquals(io.tansa.testing.Native.run("ruby", "-e", "print RUBY_VERSION").out(), reader.version());
        try (Target sleep = Target.start("sh", "-c", "echo up; exec sleep 30")) {
            sleep.awaitLine("up");
            Symbols none = new NmSymbols(sleep.pid());
            assertTrue(RubyReader.detect(sleep.pid(), none).isEmpty());
        }
    }

    /** The oracle: in each Ruby thread, at one gdb stop, our frames == rb_backtrace()'s lines. */
    @Test
    void equalsRbBacktraceInEveryRubyThread() throws IOException {
        int restarts = 0;
        for (int round = 0; round < 3; round++) {
            try {
                rbBacktraceRound(round);
            } catch (TargetCrashed e) {
                // gdb's inferior call can land mid-update of the VM (e.g. inside a frame push) and
                // crash the target: the hazard tansa's read-only reader avoids. Start it again.
                if (++restarts > 3) throw new AssertionError("gdb's rb_backtrace crashed the target " + restarts + " times");
                System.out.println("gdb's call rb_backtrace() crashed the target; restarting it (" + restarts + ")");
                stop();
                start();
                round--;
            }
        }
    }

    /** The target died while gdb ran an inferior call in it. */
    static final class TargetCrashed extends RuntimeException {
        TargetCrashed() {
            super("target crashed under gdb");
        }
    }

    void rbBacktraceRound(int round) throws IOException {
        try (Gdb gdb = new Gdb()) {
            {
                gdb.run("attach " + pid);
                Map<String, Integer> seen = new HashMap<>();
                for (Map.Entry<Integer, String[]> t : threads(gdb).entrySet()) {
                    String name = t.getValue()[1];
                    if (!List.of("ruby", "alpha", "beta", "gamma").contains(name)) continue;
                    gdb.run("thread " + t.getKey());
                    Regs regs = new Regs();
                    regs.r[Regs.FS_BASE] = gdb.hex("$fs_base");
                    int tid = Integer.parseInt(t.getValue()[0]);
                    List<Frame> ours = reader.frames(tid, regs);

                    long before = Files.size(stderr);
                    gdb.run("call (void)rb_backtrace()");
                    String printed = Files.readString(stderr).substring((int) before);
                    // nothing printed: the call did not return normally (the target is dying)
                    if (printed.isEmpty() || printed.contains("[BUG]") || !io.tansa.proc.ProcFs.alive(pid)) throw new TargetCrashed();
                    List<String> expected = Arrays.asList(printed.split("\n"));
                    assertEquals(expected, rbBacktrace(ours), "thread " + name + " round " + round);
                    assertFalse(ours.isEmpty(), name);
                    seen.merge(name, 1, Integer::sum);
                    // each thread runs its own code: its frames name its own methods
                    // (gamma may be between fibers, at Fiber.yield in "block in gamma_loop")
                    String own = name.equals("ruby") ? "deep" : name + "_";
                    assertTrue(ours.stream().anyMatch(f -> f.name().replaceFirst(BLOCK, "").startsWith(own)), name + ": " + ours);
                }
                assertEquals(Map.of("ruby", 1, "alpha", 1, "beta", 1, "gamma", 1), seen);
                gdb.run("detach");
                if (!io.tansa.proc.ProcFs.alive(pid)) throw new TargetCrashed();
            }
        }
    }

    /** PTRACE_INTERRUPT at arbitrary moments: every frame is a real line inside the method it names. */
    @Test
    void interruptSamplesAreTheScriptsOwnLines() {
        List<Integer> tids = tids(pid);
        for (int tid : tids) Ptrace.seize(tid, 0);
        List<Long> micros = new ArrayList<>();
        try {
            for (int i = 0; i < 150; i++) {
                for (int tid : tids) {
                    interrupt(tid);
                    try {
                        Regs regs = Ptrace.getRegs(tid);
                        long t0 = System.nanoTime();
                        List<Frame> frames = reader.frames(tid, regs);
                        long t1 = System.nanoTime();
                        if (tid == pid) {
                            micros.add((t1 - t0) / 1000);
                            assertFalse(frames.isEmpty(), "main thread has Ruby frames");
                            Frame outer = frames.getLast();
                            assertEquals("<main>", outer.name());
                            assertEquals(lineOf("loop { Walk.deep"), outer.line());
                        }
                        checkAgainstSource(frames);
                    } finally {
                        Ptrace.cont(tid, 0);
                    }
                }
            }
        } finally {
            for (int tid : tids) {
                interrupt(tid);
                Ptrace.detach(tid, 0);
            }
        }
        micros.sort(null);
        System.out.println("RubyReader.frames() on a ~22-frame stack: median " + micros.get(micros.size() / 2)
                + " us, p90 " + micros.get(micros.size() * 9 / 10) + " us (n=" + micros.size() + ")");
        assertTrue(io.tansa.proc.ProcFs.alive(pid));
    }

    /**
     * Stops a seized thread in its PTRACE_INTERRUPT stop. Signals that arrive first (Ruby's
     * SIGVTALRM to wake blocked threads) are delivered unchanged on the way.
     */
    static void interrupt(int tid) {
        Ptrace.interrupt(tid);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (true) {
            Ptrace.Wait w = Ptrace.waitpid(tid, Ptrace.WALL | Ptrace.WNOHANG);
            if (w == null || w.pid() == 0) {
                if (System.nanoTime() > deadline) fail("thread " + tid + " never stopped (target alive: " + io.tansa.proc.ProcFs.alive(pid) + ")");
                Thread.onSpinWait();
                continue;
            }
            if (w.gone()) fail("thread " + tid + " ended");
            if (w.event() == Ptrace.EVENT_STOP) return;
            Ptrace.cont(tid, w.stopSig());
        }
    }

    /** The frames as rb_backtrace() prints them: oldest first, "\tfrom FILE:LINE:in `NAME'". */
    static List<String> rbBacktrace(List<Frame> frames) {
        List<String> lines = new ArrayList<>();
        for (Frame f : frames.reversed()) lines.add("\tfrom " + f.file() + ":" + f.line() + ":in `" + f.name() + "'");
        return lines;
    }

    /** gdb thread number → {LWP, name}. */
    static Map<Integer, String[]> threads(Gdb gdb) {
        Pattern p = Pattern.compile("^\\*?\\s*(\\d+)\\s+Thread 0x\\p{XDigit}+ \\(LWP (\\d+)\\) \"([^\"]*)\"");
        Map<Integer, String[]> m = new LinkedHashMap<>();
        for (String l : gdb.run("info threads")) {
            Matcher x = p.matcher(l);
            if (x.find()) m.put(Integer.parseInt(x.group(1)), new String[] {x.group(2), x.group(3)});
        }
        return m;
    }

    static List<Integer> tids(int pid) {
        try (var s = Files.list(Path.of("/proc/" + pid + "/task"))) {
            return s.map(t -> Integer.parseInt(t.getFileName().toString())).sorted().toList();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static int lineOf(String text) {
        for (int i = 0; i < source.size(); i++) if (source.get(i).contains(text)) return i + 1;
        throw new AssertionError("not in script: " + text);
    }

    /**
     * Ruby frames: the line holds code (not blank, a comment, or a bare end except while the
     * innermost frame returns) and lies inside the method the label names ("block in m" → m).
     * C-method frames: the calling line names the method, unless a C method called it
     * (Enumerable#sum → each).
     */
    void checkAgainstSource(List<Frame> frames) {
        for (int i = 0; i < frames.size(); i++) {
            Frame f = frames.get(i);
            assertEquals(Frame.Kind.RUBY, f.kind());
            if (f.file().startsWith("<internal:")) continue; // core methods written in Ruby (Integer#zero?)
            assertEquals(SCRIPT.toString(), f.file(), f.toString());
            assertTrue(f.line() >= 1 && f.line() <= source.size(), f.toString());
            String text = source.get(f.line() - 1).trim();
            // a frame executing its `leave` (only ever the innermost) is at its method's `end` line
            assertFalse(text.isEmpty() || text.startsWith("#") || (text.equals("end") && i > 0), f + ": " + text);
            String method = f.name().replaceFirst(BLOCK, "");
            int[] range = methodRange(method);
            if (range != null) {
                assertTrue(f.line() >= range[0] && f.line() <= range[1], f + " outside " + method + " " + Arrays.toString(range));
            } else if (!method.equals("<main>")) {
                boolean calledByC = i + 1 < frames.size() && methodRange(frames.get(i + 1).name().replaceFirst(BLOCK, "")) == null
                        && !frames.get(i + 1).name().contains("<main>");
                assertTrue(text.contains(f.name()) || calledByC, "C method " + f + " not called at: " + text);
            }
        }
    }

    /** [def line, end line] of a method defined in the script, or null. */
    static int[] methodRange(String name) {
        Pattern def = Pattern.compile("^(\\s*)def (self\\.)?" + Pattern.quote(name) + "\\b");
        for (int i = 0; i < source.size(); i++) {
            Matcher m = def.matcher(source.get(i));
            if (!m.find()) continue;
            String end = m.group(1) + "end";
            for (int j = i + 1; j < source.size(); j++) {
                if (source.get(j).equals(end)) return new int[] {i + 1, j + 1};
            }
        }
        return null;
    }
}
