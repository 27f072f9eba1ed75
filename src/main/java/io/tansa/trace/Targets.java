package io.tansa.trace;

import io.tansa.proc.ProcFs;
import java.util.Arrays;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What tansa trace reads of a target from /proc (proc(5)): threads, names, state, fd targets. */
final class Targets {
    private Targets() {}

    /** Thread ids of process {@code pid} ({@link ProcFs#tasks}), empty when it is gone. */
    static List<Integer> threads(int pid) {
        try {
            return Arrays.stream(ProcFs.tasks(pid)).boxed().toList();
        } catch (RuntimeException gone) {
            return List.of();
        }
    }

    /** The thread's name ({@link ProcFs#comm}), or null when it is gone. */
    static String comm(int pid, int tid) {
        try {
            return ProcFs.comm(pid, tid).strip();
        } catch (RuntimeException gone) {
            return null;
        }
    }

    /** The state letter of /proc/PID/stat (R, S, T, Z, ...), or 0 when the process is gone. */
    static char state(int pid) {
        try {
            String s = Files.readString(Path.of("/proc", Integer.toString(pid), "stat"));
            int i = s.lastIndexOf(')');
            return i > 0 && i + 2 < s.length() ? s.charAt(i + 2) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    /** True while the process exists and is not a zombie. */
    static boolean running(int pid) {
        char c = state(pid);
        return c != 0 && c != 'Z' && c != 'X' && c != 'x';
    }

    /** What fd {@code fd} of {@code pid} refers to ("anon_inode:kvm-vcpu:0", "/dev/null", "pipe:[123]"), or null. */
    static String fdTarget(int pid, long fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Long.toString(fd))).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
