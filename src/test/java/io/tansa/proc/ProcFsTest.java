package io.tansa.proc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.testing.Native;
import io.tansa.testing.Target;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** /proc readers against a 4-thread program that prints its own tids, names and child. */
@Tag("fast")
class ProcFsTest {
    private static final int SIGHUP = 1, SIGUSR1 = 10, SIGUSR2 = 12;

    @Test
    void threadsNamesStatusChildren() {
        Path bin = Native.build("proc_threads", "-pthread");
        int pid;
        try (Target t = Target.start(bin.toString(), "arg1")) {
            pid = t.pid();
            Map<Integer, String> names = new TreeMap<>();
            int child = -1;
            String l;
            while (!(l = t.awaitLine("")).equals("ready")) {
                String[] f = l.split(" ");
                if (f[0].equals("tid")) names.put(Integer.parseInt(f[1]), f[2]);
                if (f[0].equals("child")) child = Integer.parseInt(f[1]);
            }
            assertTrue(ProcFs.exists(pid));
            assertArrayEquals(names.keySet().stream().mapToInt(Integer::intValue).toArray(), ProcFs.tasks(pid));
            assertEquals(4, ProcFs.tasks(pid).length);
            for (var e : names.entrySet()) {
                assertEquals(e.getValue(), ProcFs.comm(pid, e.getKey()));
                assertEquals(e.getValue(), ProcFs.status(pid, e.getKey()).name());
            }
            Status main = ProcFs.status(pid, pid);
            assertEquals(pid, main.tgid());
            assertEquals(ProcessHandle.current().pid(), main.ppid());
            assertTrue(Status.has(main.sigIgn(), SIGUSR1), "SigIgn has SIGUSR1: " + Long.toHexString(main.sigIgn()));
            assertFalse(Status.has(main.sigIgn(), SIGUSR2));
            assertTrue(Status.has(main.sigCgt(), SIGUSR2), "SigCgt has SIGUSR2");
            assertTrue(Status.has(main.sigBlk(), SIGHUP), "main blocks SIGHUP");
            int worker = names.keySet().stream().filter(x -> x != t.pid()).findFirst().orElseThrow();
            assertFalse(Status.has(ProcFs.status(pid, worker).sigBlk(), SIGHUP), "workers do not block SIGHUP");
            assertTrue("SR".indexOf(main.state()) >= 0, "state " + main.state());
            assertEquals(0, main.sigPnd());
            assertEquals(List.of(child), ProcFs.children(pid));
            assertEquals(List.of(bin.toString(), "arg1"), ProcFs.cmdline(pid));
            assertEquals(bin.toString(), ProcFs.exe(pid));
            assertEquals(pid, ProcFs.nsPid(pid), "same pid namespace");
            List<Mapping> maps = ProcFs.maps(pid);
            Mapping text = maps.stream().filter(m -> m.path().equals(bin.toString()) && m.executable()).findFirst().orElseThrow();
            assertFalse(text.deleted());
            assertEquals(Path.of(bin.toString()), ProcFs.objectPath(pid, text));
            assertTrue(maps.stream().anyMatch(m -> m.path().equals("[stack]")));
            // Oracle: the same line count as the file itself.
            assertEquals(Native.run("cat", "/proc/" + pid + "/maps").out().lines().count(), maps.size());
        }
        Failure f = assertThrows(Failure.class, () -> ProcFs.maps(pid));
        assertEquals(Failure.Kind.NO_SUCH_PROCESS, f.kind());
        assertFalse(ProcFs.exists(pid));
    }

    @Test
    void parsesMapsLinesWithSpacesAndDeleted() {
        Mapping m = Mapping.parse("7f00aa000000-7f00aa021000 r-xp 00002000 fd:01 1234                       /tmp/a b/x.so (deleted)");
        assertEquals(0x7f00aa000000L, m.start());
        assertEquals(0x7f00aa021000L, m.end());
        assertEquals(0x2000, m.offset());
        assertEquals("/tmp/a b/x.so", m.path());
        assertTrue(m.deleted() && m.executable() && m.fileBacked());
        Mapping anon = Mapping.parse("7ffd1000-7ffd2000 rw-p 00000000 00:00 0");
        assertEquals("", anon.path());
        assertFalse(anon.fileBacked() || anon.executable());
        assertTrue(Arrays.asList("[vdso]").contains(Mapping.parse("7ffd1000-7ffd2000 r-xp 00000000 00:00 0                  [vdso]").path()));
    }
}
