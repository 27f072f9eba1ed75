package io.tansa.unwind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Ptrace;
import io.tansa.sys.SigFrame;
import io.tansa.sys.Signals;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unwinds stacks that src/test/c/unwind_target.c (built -O2 without frame pointers) captured of
 * itself, the way a perf sample carries them, and checks them against gdb's bt at the same stop
 * (the program runs under gdb, which stops it right after the capture) and against the program's
 * known call sequence.
 */
@Tag("privileged")
@Tag("oracle")
class UnwindTest {
    static final String[] FLAGS = {"-O2", "-fomit-frame-pointer", "-fasynchronous-unwind-tables"};
    static Path prog;

    @TempDir
    Path tmp;

    @BeforeAll
    static void build() {
        prog = Native.build("unwind_target", FLAGS);
    }

    /** One physical frame of gdb's bt: pc (0 for frame 0, -1 for a signal frame) and function. */
    record GdbFrame(long pc, String name) {}

    private static final Pattern FRAME = Pattern.compile("^#\\d+\\s+(?:0x([0-9a-f]+) in )?(\\S+) \\(");

    /** Runs the scenario under gdb, stops after the capture, returns bt's physical frames. */
    private List<GdbFrame> underGdb(Path prefix, String scenario) {
        // Without separate debug files (libc6-dbg): gdb then unwinds libc by its CFI, like we do,
        // instead of adding the tail-call frames it derives from DWARF call-site info (with them,
        // bt shows qsort between qsort_r and sorter although qsort jumps to qsort_r).
        var r = Native.run("gdb", "-q", "-batch", "-nx", "-iex", "set debug-file-directory /nonexistent",
                "-iex", "set debuginfod enabled off",
                "-ex", "handle SIGUSR1 nostop noprint pass", "-ex", "break dump_written", "-ex", "run",
                "-ex", "bt", "-ex", "kill", "--args", prog.toString(), prefix.toString(), scenario);
        List<GdbFrame> frames = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (!line.startsWith("#")) continue;
            if (line.contains("<signal handler called>")) {
                frames.add(new GdbFrame(-1, "<signal handler called>"));
                continue;
            }
            Matcher m = FRAME.matcher(line);
            if (!m.find()) continue;
            if (m.group(1) != null || frames.isEmpty()) {
                frames.add(new GdbFrame(m.group(1) == null ? 0 : Long.parseUnsignedLong(m.group(1), 16), m.group(2)));
            } else { // an inlined frame: the physical function is the outermost name of the group
                GdbFrame last = frames.removeLast();
                frames.add(new GdbFrame(last.pc(), m.group(2)));
            }
        }
        assertTrue(frames.size() > 3 && frames.getFirst().name().equals("dump_written"), "gdb bt:\n" + r.out() + r.err());
        return frames;
    }

    /**
     * Our unwind of the captured stack (frame 0 = capture at its capture point) equals gdb's bt from
     * capture's caller on (gdb's frame 0 is dump_written, frame 1 capture at a later pc): the same
     * return addresses, a signal frame where gdb has one, and for the program's own functions the
     * same names. gdb stops at main; we go on to _start and end there.
     */
    private Unwinder.Result matchGdb(String scenario) throws Exception {
        Path prefix = tmp.resolve(scenario);
        List<GdbFrame> gdb = underGdb(prefix, scenario);
        Capture cap = new Capture(prefix);
        Unwinder.Result r = Unwinder.unwind(cap.regs(), cap.memory(null), cap.cfi(), 128);
        List<String> ours = cap.names(r);
        String both = "ours " + ours + "\ngdb  " + gdb;
        assertEquals("capture", ours.getFirst(), both);
        assertTrue(r.size() >= gdb.size() - 1, both);
        for (int k = 1; k < gdb.size() - 1; k++) {
            GdbFrame g = gdb.get(k + 1);
            if (g.pc() == -1) {
                assertTrue(r.exact()[k + 1], "frame after the trampoline is looked up exactly\n" + both);
                continue;
            }
            assertEquals(Long.toHexString(g.pc()), Long.toHexString(r.pc(k)), "frame " + k + "\n" + both);
            if (cap.module(r.pc(k)).path().equals(prog)) assertEquals(g.name(), ours.get(k), both);
        }
        assertEquals(Unwinder.Stop.END, r.stop(), both);
        assertEquals("_start", ours.getLast(), both);
        for (int i = 1; i < r.size(); i++) assertEquals(Unwinder.Via.CFI, r.via(i), both);
        return r;
    }

    @Test
    void directCallsMatchGdb() throws Exception {
        Unwinder.Result r = matchGdb("direct");
        assertEquals(List.of("capture", "f3", "f2", "f1", "main"),
                new Capture(tmp.resolve("direct")).names(r).subList(0, 5));
    }

    @Test
    void throughLibcQsortMatchesGdb() throws Exception {
        Unwinder.Result r = matchGdb("qsort");
        Capture cap = new Capture(tmp.resolve("qsort"));
        List<String> names = cap.names(r);
        assertEquals(List.of("capture", "cmp"), names.subList(0, 2));
        int sorter = names.indexOf("sorter");
        assertTrue(sorter > 3, names.toString());
        assertEquals("main", names.get(sorter + 1));
        for (int i = 2; i < sorter; i++) assertEquals("libc.so.6", cap.module(r.pc(i)).name(), names.toString());
        // qsort is `xor %r8d,%r8d; jmp qsort_r`: a tail call, so qsort_r's caller is sorter.
        assertEquals("qsort_r", names.get(sorter - 1), names.toString());
    }

    @Test
    void signalHandlerMatchesGdb() throws Exception {
        Unwinder.Result r = matchGdb("signal");
        Capture cap = new Capture(tmp.resolve("signal"));
        List<String> names = cap.names(r);
        assertEquals(List.of("capture", "handler"), names.subList(0, 2));
        assertRestorer(cap, r.pc(2));
        assertEquals(List.of("spin", "f1s", "main"), names.subList(3, 6));
    }

    /** pc is the start of glibc's __restore_rt (mov $15,%rax; syscall), read from the file. */
    private static void assertRestorer(Capture cap, long pc) {
        Capture.Module libc = cap.module(pc);
        assertEquals("libc.so.6", libc.name());
        long vaddr = pc - libc.bias();
        TestElf.Section text = libc.elf().sections.get(".text");
        int off = (int) (vaddr - text.addr() + text.offset());
        assertTrue(Arrays.equals(SigFrame.RESTORER_CODE,
                Arrays.copyOfRange(libc.elf().data, off, off + SigFrame.RESTORER_CODE.length)));
    }

    /**
     * Without libc's CFI the trampoline is recognized by its code (read from the live process) and
     * the interrupted registers come from the kernel's sigcontext; without the code either, the walk
     * stops there, marked unknown, instead of guessing.
     */
    @Test
    void signalFrameFromSigcontextWithoutCfi() throws Exception {
        Path prefix = tmp.resolve("sig");
        try (Target t = Target.start(prog.toString(), prefix.toString(), "signal")) {
            t.awaitLine("ready");
            Capture cap = new Capture(prefix);
            Unwinder.Modules noLibcCfi = cap.cfi(m -> m.name().startsWith("libc"));
            Unwinder.Result r = Unwinder.unwind(cap.regs(), cap.memory(new ProcessMemory(t.pid())), noLibcCfi, 64);
            List<String> names = cap.names(r);
            assertEquals(List.of("capture", "handler"), names.subList(0, 2), names.toString());
            assertRestorer(cap, r.pc(2));
            assertEquals(Unwinder.Via.SIGNAL, r.via(3));
            assertEquals(List.of("spin", "f1s", "main"), names.subList(3, 6), names.toString());

            Unwinder.Result copyOnly = Unwinder.unwind(cap.regs(), cap.memory(null), noLibcCfi, 64);
            assertEquals(3, copyOnly.size(), cap.names(copyOnly).toString());
            assertEquals(Unwinder.Stop.UNKNOWN, copyOnly.stop());
            assertTrue(copyOnly.truncated());
        }
    }

    /** Code with frame pointers but no CFI (hidden) is walked by the rbp chain, then CFI again in libc. */
    @Test
    void framePointerFallback() throws Exception {
        Path fp = Native.buildAs("unwind_target", "unwind_target_fp", "-O2", "-fno-omit-frame-pointer");
        Path prefix = tmp.resolve("fp");
        try (Target t = Target.start(fp.toString(), prefix.toString(), "direct")) {
            t.awaitLine("ready");
            Capture cap = new Capture(prefix);
            Unwinder.Result r = Unwinder.unwind(cap.regs(), cap.memory(null), cap.cfi(m -> m.path().equals(fp)), 64);
            List<String> names = cap.names(r);
            assertEquals(List.of("capture", "f3", "f2", "f1", "main"), names.subList(0, 5), names.toString());
            for (int i = 1; i <= 5; i++) assertEquals(Unwinder.Via.FRAME_POINTER, r.via(i), names.toString());
            assertEquals(Unwinder.Via.CFI, r.via(6), names.toString()); // main's caller in libc has CFI
            // _start's own CFI (return address undefined: the end) is hidden too, and _start zeroes
            // rbp, so the walk cannot tell it is the end: it stops there marked unknown.
            assertEquals("_start", names.getLast(), names.toString());
            assertEquals(Unwinder.Stop.UNKNOWN, r.stop(), names.toString());
        }
    }

    /**
     * A live thread, stopped with PTRACE_INTERRUPT while blocked in read(2) inside libc, unwound
     * through remote reads ({@link ProcessMemory}); then gdb attaches to the same, still blocked
     * thread: same callers.
     */
    @Test
    void stoppedThreadMatchesGdbAttach() throws Exception {
        Privileged.requireRoot();
        // Started through sh so that it is not this JVM's child: the JVM's process reaper waits for
        // its children and would take the ptrace stop notification meant for our waitpid.
        try (Target t = Target.start("sh", "-c", "\"$0\" - block & wait", prog.toString())) {
            int pid = Integer.parseInt(t.awaitLine("ready ").substring(6));
            try {
                stoppedThread(pid);
            } finally {
                Signals.kill(pid, Signals.SIGKILL);
            }
        }
    }

    /** Stops the blocked thread, unwinds it through remote reads, detaches, then asks gdb. */
    private static void stoppedThread(int pid) throws Exception {
        awaitBlockedInRead(pid);
        // the production path: objects, biases and names from symbols.ProcessSymbols, CFI via Cfi.of
        ProcessSymbols ps = new ProcessSymbols(pid);
        Unwinder.Modules modules = pc -> ps.moduleAt(pc)
                .map(m -> new Unwinder.ModuleCfi(m.elf() == null ? null : Cfi.of(m.elf()), m.bias())).orElse(null);
        Ptrace.seize(pid, 0);
        Unwinder.Result r;
        try {
            Ptrace.interrupt(pid);
            Ptrace.waitpid(pid, Ptrace.WALL);
            r = Unwinder.unwind(Reg.fromPtrace(Ptrace.getRegs(pid)), new ProcessMemory(pid), modules, 64);
        } finally {
            Ptrace.detach(pid, 0);
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) names.add(ps.frame(r.lookupPc(i)).name());
        assertEquals("libc.so.6", ps.frame(r.pc(0)).module(), names.toString());
        assertEquals(List.of("b3", "b2", "b1", "main"), names.subList(1, 5), names.toString());
        assertEquals(Unwinder.Stop.END, r.stop(), names.toString());

        var g = Native.run("gdb", "-q", "-batch", "-nx", "-iex", "set debug-file-directory /nonexistent",
                "-iex", "set debuginfod enabled off", "-p", String.valueOf(pid), "-ex", "bt");
        List<Long> gdbPcs = new ArrayList<>();
        for (String line : g.out().split("\n")) {
            Matcher m = FRAME.matcher(line);
            if (line.startsWith("#") && m.find() && m.group(1) != null) gdbPcs.add(Long.parseUnsignedLong(m.group(1), 16));
        }
        List<Long> ours = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) ours.add(r.pc(i));
        // gdb stops at main: its last four frames are b3, b2, b1, main
        assertTrue(gdbPcs.size() >= 4, g.out() + g.err());
        assertEquals(gdbPcs.subList(gdbPcs.size() - 4, gdbPcs.size()), ours.subList(1, 5), "gdb:\n" + g.out() + "\nours " + names);
        assertTrue(io.tansa.proc.ProcFs.alive(pid));
    }

    /** Waits (bounded) until the thread sits in read(2): /proc/PID/syscall starts with its number, 0. */
    private static void awaitBlockedInRead(int pid) throws Exception {
        for (int i = 0; i < 2000; i++) {
            if (Files.readString(Path.of("/proc/" + pid + "/syscall")).startsWith("0 ")) return;
            Thread.onSpinWait();
            Thread.sleep(1);
        }
        throw new AssertionError("target never blocked in read");
    }

    /** A frame limit is honoured and reported as such. */
    @Test
    void maxFrames() throws Exception {
        Path prefix = tmp.resolve("max");
        try (Target t = Target.start(prog.toString(), prefix.toString(), "direct")) {
            t.awaitLine("ready");
            Capture cap = new Capture(prefix);
            Unwinder.Result r = Unwinder.unwind(cap.regs(), cap.memory(null), cap.cfi(), 3);
            assertEquals(List.of("capture", "f3", "f2"), cap.names(r));
            assertEquals(Unwinder.Stop.MAX_FRAMES, r.stop());
        }
    }

    @Test
    void stackCopyFromTheTargetIsWhatTheUnwinderReads() throws Exception {
        // Sanity of the fixture: the dump's rsp is the copy's base and the copy reaches main's frame.
        Path prefix = tmp.resolve("fixture");
        try (Target t = Target.start(prog.toString(), prefix.toString(), "direct")) {
            t.awaitLine("ready");
            Capture cap = new Capture(prefix);
            assertEquals(cap.regs[Reg.RSP.ordinal()], cap.base);
            assertTrue(Files.size(Path.of(prefix + ".dump")) > 8 * 19 + 1024);
        }
    }
}
