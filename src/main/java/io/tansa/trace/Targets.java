package io.tansa.trace;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What tansa trace reads of a target from /proc (proc(5)) besides io.tansa.proc's readers: fd
 * targets. (Threads, names and liveness: {@link io.tansa.proc.ProcFs}.)
 */
final class Targets {
    private Targets() {}

    /** What fd {@code fd} of {@code pid} refers to ("anon_inode:kvm-vcpu:0", "/dev/null", "pipe:[123]"), or null. */
    static String fdTarget(int pid, long fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Long.toString(fd))).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }
}
