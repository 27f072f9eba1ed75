package io.tansa.sys;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What this process may do, as the kernel decides it: its effective capability set (the CapEff
 * line of /proc/self/status, proc(5); bit numbers from linux/capability.h, capabilities(7)),
 * kernel.perf_event_paranoid (perf_event_open(2), "/proc/sys/kernel/perf_event_paranoid"), kernel
 * BTF (/sys/kernel/btf/vmlinux, Documentation/bpf/btf.rst) and whether tracefs is mounted.
 */
public final class Capabilities {
    private Capabilities() {}

    /** The capabilities tansa's commands need (linux/capability.h numbers). */
    public enum Cap {
        DAC_OVERRIDE(1), KILL(5), IPC_LOCK(14), SYS_PTRACE(19), SYS_ADMIN(21), PERFMON(38), BPF(39);

        public final int bit;

        Cap(int bit) { this.bit = bit; }

        /** "CAP_SYS_PTRACE". */
        public String capName() {
            return "CAP_" + name();
        }
    }

    /** The effective set (CapEff of /proc/self/status); all bits set when it cannot be read. */
    public static long effective() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("CapEff:")) return Long.parseUnsignedLong(l.substring(7).strip(), 16);
            }
        } catch (IOException | NumberFormatException e) {
            // no /proc: let the kernel decide
        }
        return -1L;
    }

    public static boolean has(Cap c) {
        return (effective() & (1L << c.bit)) != 0;
    }

    /**
     * CAP_PERFMON, or CAP_SYS_ADMIN, which the kernel accepts in its place (perfmon_capable(),
     * include/linux/capability.h).
     */
    public static boolean perfmon() {
        return has(Cap.PERFMON) || has(Cap.SYS_ADMIN);
    }

    /** kernel.perf_event_paranoid (2 when it cannot be read: the kernel's default). */
    public static int perfEventParanoid() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/perf_event_paranoid")).strip());
        } catch (IOException | NumberFormatException e) {
            return 2;
        }
    }

    /**
     * kernel.perf_event_mlock_kb: how much perf ring buffer an unprivileged user may lock beyond
     * RLIMIT_MEMLOCK (perf_event_open(2); 516 by default); 516 when it cannot be read.
     */
    public static int perfEventMlockKb() {
        try {
            return Integer.parseInt(Files.readString(Path.of("/proc/sys/kernel/perf_event_mlock_kb")).strip());
        } catch (IOException | NumberFormatException e) {
            return 516;
        }
    }

    /** The real uid (Uid line of /proc/self/status); -1 when unknown. */
    public static int uid() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) return Integer.parseInt(l.substring(4).strip().split("\\s+")[0]);
            }
        } catch (IOException | NumberFormatException e) {
            // unknown
        }
        return -1;
    }

    /** Whether tracefs's event formats can be read here (root-only files: 0640 root). */
    public static boolean tracefsReadable() {
        Path root = Tracefs.mounted();
        return root == null || Files.isReadable(root.resolve("events/raw_syscalls/sys_enter/format"));
    }

    /** Whether the kernel describes itself in BTF (needed for the Ruby snapshot program). */
    public static boolean btf() {
        return Files.isReadable(Path.of("/sys/kernel/btf/vmlinux"));
    }

    /** Whether tracefs is mounted (or debugfs's tracing directory is there), in this mount namespace. */
    public static boolean tracefs() {
        return Tracefs.mounted() != null;
    }
}
