package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * posix_spawnp(3): starts a program that is this process's child but not the JVM's — the JDK's
 * process reaper would otherwise waitpid(2) for it and take the ptrace stops a tracer needs.
 * File descriptors and the environment are inherited.
 */
public final class Spawn {
    private Spawn() {}

    // int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
    //                  const posix_spawnattr_t *attrp, char *const argv[], char *const envp[]);
    private static final MethodHandle SPAWNP = Libc.plain("posix_spawnp",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    /** char **environ (unistd.h): the process environment. */
    private static final MemorySegment ENVIRON = Libc.LOOKUP.find("environ").orElseThrow()
            .reinterpret(ADDRESS.byteSize());

    /**
     * The command line that runs {@code argv} stopped before its exec: a shell that sends itself
     * SIGSTOP, then (once continued) execs the program in place (same pid). The caller opens its
     * events or seizes the stopped shell, then sends SIGCONT: tansa is in place from the program's
     * first instruction (its execve). Started with {@link #spawn} when the caller must own the
     * waitpid (ptrace), with a ProcessBuilder when the JVM may reap it and report its exit status.
     */
    public static List<String> stoppedBeforeExec(List<String> argv) {
        List<String> cmd = new java.util.ArrayList<>(List.of("/bin/sh", "-c", "kill -STOP $$ && exec \"$0\" \"$@\""));
        cmd.addAll(argv);
        return cmd;
    }

    /** Starts {@code argv} (searched in PATH) and returns its pid. Errors are returned, not in errno. */
    public static int spawn(List<String> argv) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pid = a.allocate(JAVA_INT);
            MemorySegment args = a.allocate(ADDRESS, argv.size() + 1);
            for (int i = 0; i < argv.size(); i++) args.setAtIndex(ADDRESS, i, a.allocateFrom(argv.get(i)));
            args.setAtIndex(ADDRESS, argv.size(), MemorySegment.NULL);
            MemorySegment env = ENVIRON.get(ADDRESS, 0);
            int rc = (int) SPAWNP.invokeExact(pid, a.allocateFrom(argv.get(0)), MemorySegment.NULL,
                    MemorySegment.NULL, args, env);
            if (rc != 0) throw SysException.of("posix_spawnp(" + argv.get(0) + ")", rc);
            return pid.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
