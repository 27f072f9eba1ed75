package io.tansa.containers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Container;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The capability matrix of README "Containers", cell by cell: tansa started as root with
 * capabilities dropped from its bounding set (capsh --drop) and, for the "no tracefs" cells, in a
 * private mount namespace where tracefs is unmounted. Allowed → it works (exit 0, a result);
 * missing → the message names what is missing and the exit code says which kind (4 capability,
 * 10 namespace, 12 tracefs). Every target is still running and untraced afterwards.
 */
@Tag("privileged")
@Tag("oracle")
class CapabilityMatrixTest {
    static Target burn, lq, loop, ruby;
    static Container ctr;

    @BeforeAll
    static void start() {
        Privileged.requireRoot();
        burn = Target.start(Native.build("top_burn", "-O0").toString());
        burn.awaitLine("ready");
        lq = Target.start(Native.build("listen_queue").toString(), "tcp:16:3");
        lq.awaitLine("ready");
        loop = Target.start("sh", "-c", "echo ready; while :; do /bin/true; done");
        loop.awaitLine("ready");
        ruby = Target.start("ruby", "-e", "STDOUT.sync = true; puts 'ready'; loop { 'x'.crypt('ab') }");
        ruby.awaitLine("ready");
        ctr = Container.start(Native.build("listen_queue"), null, "tcp:16:3");
        ctr.awaitLine("ready");
    }

    @AfterAll
    static void stop() {
        if (cpCopy != null) Native.run("rm", "-rf", cpCopy.toString());
        for (AutoCloseable c : new AutoCloseable[] {burn, lq, loop, ruby, ctr}) {
            try {
                if (c != null) c.close();
            } catch (Exception e) {
                // closing the rest
            }
        }
    }

    /**
     * Not root: uid 65534 with only {@code caps} (ambient, setpriv(1)), running a copy of the
     * test classpath it can read. The matrix's root column.
     */
    @ParameterizedTest(name = "{0} as uid 65534 with {1}: exit {2}")
    @CsvSource(delimiter = '|', textBlock = """
            callers -n 2 -d 20s burn_b | +sys_ptrace,+perfmon,+ipc_lock,+dac_override | 0 | 2 hits on burn_b
            callers -n 2 -d 20s burn_b | +sys_ptrace,+perfmon,+ipc_lock                | 4 | needs CAP_DAC_OVERRIDE besides CAP_SYS_PTRACE
            callers -n 2 -d 20s burn_b | +perfmon,+ipc_lock,+dac_override              | 4 | needs CAP_SYS_PTRACE
            top --once -d 1s           | +perfmon                                       | 4 | needs CAP_SYS_PTRACE
            top --once -d 1s           | +perfmon,+sys_ptrace                           | 4 | needs CAP_DAC_OVERRIDE besides CAP_SYS_PTRACE
            top --once -d 1s           | +sys_ptrace,+dac_override                      | 0 | [.] burn_a
            trace -c -d 1s             | +perfmon,+ipc_lock                             | 4 | needs CAP_DAC_OVERRIDE
            trace -c -d 1s             | +perfmon,+ipc_lock,+dac_override               | 0 | total
            """)
    void notRoot(String command, String caps, int exit, String says) throws Exception {
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        args.addAll(1, List.of("-p", command.startsWith("trace") ? pidOf("loop") : pidOf("burn")));
        List<String> cmd = new ArrayList<>(List.of("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps", caps, "--ambient-caps", caps));
        for (String a : Tansa.command(args.toArray(String[]::new))) {
            cmd.add(a.equals(System.getProperty("java.class.path")) ? readableClasspath() : a);
        }
        Native.Result r = Native.run(cmd);
        assertEquals(exit, r.code(), r.out() + r.err());
        assertTrue((exit == 0 ? r.out() : r.err()).contains(says), r.out() + r.err());
        assertTrue(burn.alive() && loop.alive());
        assertEquals("0", Target.status(burn.pid(), "TracerPid"));
    }

    static java.nio.file.Path cpCopy;
    static String cpString;

    /** The test classpath copied where uid 65534 can read it (the build tree and ~/.m2 may not be). */
    static synchronized String readableClasspath() throws java.io.IOException {
        if (cpString != null) return cpString;
        cpCopy = java.nio.file.Files.createTempDirectory("tansa-cp");
        List<String> entries = new ArrayList<>();
        int i = 0;
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            java.nio.file.Path src = java.nio.file.Path.of(e), dst = cpCopy.resolve(i++ + "-" + src.getFileName());
            try (var walk = java.nio.file.Files.walk(src)) {
                for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) walk::iterator) {
                    java.nio.file.Path to = dst.resolve(src.relativize(f).toString());
                    if (java.nio.file.Files.isDirectory(f)) java.nio.file.Files.createDirectories(to);
                    else java.nio.file.Files.copy(f, to);
                }
            }
            entries.add(dst.toString());
        }
        Native.run("chmod", "-R", "a+rX", cpCopy.toString());
        return cpString = String.join(":", entries);
    }

    static String pidOf(String target) {
        return switch (target) {
            case "burn" -> Integer.toString(burn.pid());
            case "lq" -> Integer.toString(lq.pid());
            case "loop" -> Integer.toString(loop.pid());
            case "ruby" -> Integer.toString(ruby.pid());
            case "ctr" -> Integer.toString(ctr.pid);
            default -> throw new IllegalArgumentException(target);
        };
    }

    /** tansa with {@code drop} removed from its bounding set, tracefs unmounted when {@code noTracefs}. */
    static Tansa run(String drop, boolean noTracefs, List<String> args) {
        String setup = noTracefs ? "umount -l /sys/kernel/tracing 2>/dev/null; umount -l /sys/kernel/debug 2>/dev/null; " : "";
        String exec = drop.equals("-") ? "exec \"$@\"" : "exec capsh --drop=" + drop + " -- -c 'exec \"$0\" \"$@\"' \"$@\"";
        List<String> prefix = List.of("unshare", "--mount", "--propagation", "private", "--", "sh", "-c", setup + exec, "cell");
        return Tansa.runWith(prefix, args.toArray(String[]::new));
    }

    @ParameterizedTest(name = "{0} on {1} without {2}{3}: exit {4}")
    @CsvSource(delimiter = '|', textBlock = """
            callers -n 2 -d 20s burn_b           | burn | -                          | false | 0  | 2 hits on burn_b
            callers -n 2 -d 20s burn_b           | burn | cap_sys_admin              | false | 0  | 2 hits on burn_b
            callers -n 2 -d 20s burn_b           | burn | cap_sys_ptrace             | false | 4  | needs CAP_SYS_PTRACE
            callers -n 2 -d 20s burn_b           | burn | cap_sys_admin,cap_perfmon  | false | 4  | needs CAP_PERFMON
            callers -n 2 -d 20s burn_b           | burn | -                          | true  | 0  | 2 hits on burn_b
            callers -n 2 -d 20s burn_b           | burn | cap_sys_admin              | true  | 12 | mount -t tracefs nodev /sys/kernel/tracing
            callers -n 2 -d 20s burn_b           | burn | cap_ipc_lock               | false | 4  | needs CAP_IPC_LOCK
            callers --mode stop -n 2 -d 20s burn_b | burn | -                        | false | 0  | 2 hits on burn_b
            callers --mode stop -n 2 -d 20s burn_b | burn | cap_ipc_lock             | false | 0  | 2 hits on burn_b
            callers --mode stop -n 2 -d 20s burn_b | burn | cap_sys_admin            | false | 4  | needs CAP_SYS_ADMIN
            callers --mode stop -n 2 -d 20s burn_b | burn | cap_sys_ptrace           | false | 4  | needs CAP_SYS_PTRACE
            callers -n 2 -d 20s crypt_r          | ruby | cap_bpf                    | false | 0  | 2 hits on crypt_r
            callers -n 2 -d 20s crypt_r          | ruby | cap_bpf,cap_sys_admin      | false | 4  | its frames without stopping it need CAP_BPF
            callers --lang native -n 2 -d 20s crypt_r | ruby | cap_bpf,cap_sys_admin | false | 0  | 2 hits on crypt_r
            top --once -d 1s                     | burn | cap_sys_admin,cap_perfmon  | true  | 0  | user space only
            top --once -d 1s                     | burn | cap_sys_admin,cap_perfmon,cap_sys_ptrace | false | 4 | needs CAP_SYS_PTRACE
            top --once -d 1s                     | burn | cap_sys_ptrace             | false | 4  | needs CAP_SYS_PTRACE
            top -a --once -d 1s                  | -    | cap_sys_admin              | true  | 0  | Samples:
            top -a --once -d 1s                  | -    | cap_sys_admin,cap_perfmon  | false | 4  | top -a needs CAP_PERFMON
            trace -c -d 1s                       | loop | cap_sys_admin              | false | 0  | total
            trace -c -d 1s                       | loop | cap_sys_admin,cap_perfmon  | false | 4  | trace needs CAP_PERFMON
            trace -c -d 1s                       | loop | -                          | true  | 0  | total
            trace -c -d 1s                       | loop | cap_ipc_lock               | false | 4  | needs CAP_IPC_LOCK
            top -a --once -d 1s                  | -    | cap_ipc_lock               | false | 0  | Samples:
            trace -c -d 1s                       | loop | cap_sys_admin              | true  | 12 | mount -t tracefs nodev /sys/kernel/tracing
            fds                                  | lq   | cap_sys_admin,cap_perfmon,cap_bpf | true | 0 | LISTEN 127.0.0.1:
            sockets --listen                     | lq   | cap_sys_admin,cap_perfmon,cap_bpf | true | 0 | 127.0.0.1:
            fds                                  | lq   | cap_sys_ptrace             | false | 4  | (CAP_SYS_PTRACE)
            sockets --listen                     | lq   | cap_sys_ptrace             | false | 4  | needs CAP_SYS_PTRACE
            fds                                  | ctr  | -                          | false | 0  | LISTEN 127.0.0.1:
            fds                                  | ctr  | cap_sys_admin              | false | 10 | needs CAP_SYS_ADMIN
            sockets --listen                     | ctr  | cap_sys_admin              | false | 10 | needs CAP_SYS_ADMIN
            """)
    void cell(String command, String target, String drop, boolean noTracefs, int exit, String says) {
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        if (!target.equals("-")) args.addAll(1, List.of("-p", pidOf(target))); // after the command's name
        Tansa t = run(drop, noTracefs, args);
        assertEquals(exit, t.exitCode(), t.out() + t.err());
        String text = exit == 0 ? t.out() : t.err();
        assertTrue(text.contains(says), "expected '" + says + "' in:\n" + text);
        if (exit != 0) assertEquals("", t.out(), "no result printed on failure");
        for (Target x : new Target[] {burn, lq, loop, ruby}) {
            assertTrue(x.alive());
            assertEquals("0", Target.status(x.pid(), "TracerPid"));
        }
    }
}
