package io.tansa.proc;

import io.tansa.Failure;
import io.tansa.sys.Capabilities;
import io.tansa.sys.Capabilities.Cap;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * What each command needs, checked before it touches a target, so a missing capability or mount
 * is named up front (README, "Containers": the capability matrix, measured with capsh --drop on
 * kernel 6.18, perf_event_paranoid 2). A missing capability is Failure(PERMISSION, exit 4) naming
 * it; tracefs that is not mounted and cannot be (no CAP_SYS_ADMIN) is Failure(NOT_MOUNTED, exit
 * 12) saying what to mount.
 */
public final class Needs {
    private Needs() {}

    /**
     * tansa callers in copy mode: uprobe trace events (tracefs), sampled (perfmon), stacks read
     * (ptrace); in a Ruby process ({@code ruby}: Ruby frames wanted) the kernel snapshot program
     * needs CAP_BPF and BTF, and without them the fallback, stop mode, needs CAP_SYS_ADMIN.
     */
    public static void callersCopy(List<Integer> pids, boolean ruby) {
        for (int pid : pids) ptrace("callers", pid);
        perfmon("callers", "for the uprobe events");
        tracefs("callers (copy mode: uprobe events are defined in tracefs)");
        ipcLock("callers (copy mode)");
        if (!ruby || Capabilities.has(Cap.SYS_ADMIN)) return;
        boolean bpf = Capabilities.has(Cap.BPF) && Capabilities.btf();
        if (bpf) return;
        for (int pid : pids) {
            if (runsRuby(pid)) {
                throw new Failure(Failure.Kind.PERMISSION, "callers: process " + pid + " runs Ruby; its frames "
                        + "without stopping it need " + (Capabilities.has(Cap.BPF) ? "kernel BTF (/sys/kernel/btf/vmlinux)"
                                : "CAP_BPF") + ", and stopping each hitting thread instead (--mode stop) needs "
                        + "CAP_SYS_ADMIN: give one of them, or --lang native for native frames only");
            }
        }
    }

    /** tansa callers --mode stop: the uprobe PMU, which refuses perf_event_open without CAP_SYS_ADMIN (measured). */
    public static void callersStop(List<Integer> pids) {
        for (int pid : pids) ptrace("callers", pid);
        if (!Capabilities.has(Cap.SYS_ADMIN)) {
            throw new Failure(Failure.Kind.PERMISSION, "callers --mode stop needs CAP_SYS_ADMIN: the kernel's "
                    + "uprobe PMU refuses perf_event_open without it (EACCES, also with CAP_PERFMON); copy mode "
                    + "(--mode copy) needs only CAP_PERFMON and CAP_SYS_PTRACE where tracefs is mounted");
        }
    }

    /** tansa top: system-wide sampling needs CAP_PERFMON above paranoid 0; Ruby frames need ptrace. */
    public static void top(boolean allCpus, boolean ruby, List<Integer> pids) {
        if (allCpus && Capabilities.perfEventParanoid() > 0) perfmon("top -a", "to sample every cpu");
        if (ruby) for (int pid : pids) ptrace("top --lang ruby", pid);
        // functions are named from the process's objects and its vDSO, read from its memory: that
        // access also lets perf_event_open(2) sample it without CAP_PERFMON
        if (!allCpus && !ruby) for (int pid : pids) ptrace("top (to name the functions of the process)", pid);
    }

    /** tansa trace: the raw_syscalls tracepoints (tracefs for their ids; perfmon for their records). */
    public static void trace() {
        tracefs("trace (the syscall tracepoints are found in tracefs)");
        if (Capabilities.perfEventParanoid() > -1) perfmon("trace", "for the syscall tracepoints");
        ipcLock("trace");
    }

    /** Whether the process maps a libruby or runs a ruby executable (where Ruby frames come from). */
    static boolean runsRuby(int pid) {
        try {
            for (Mapping m : ProcFs.maps(pid)) {
                String p = m.path();
                String base = p.substring(p.lastIndexOf('/') + 1);
                if (base.startsWith("libruby") || base.startsWith("ruby")) return true;
            }
        } catch (Failure gone) {
            return false;
        }
        return false;
    }

    private static void perfmon(String what, String why) {
        if (!Capabilities.perfmon()) {
            throw new Failure(Failure.Kind.PERMISSION, what + " needs CAP_PERFMON (or CAP_SYS_ADMIN) " + why
                    + " (kernel.perf_event_paranoid is " + Capabilities.perfEventParanoid() + ")");
        }
    }

    /**
     * The ring buffers of copy mode and trace are bigger than kernel.perf_event_mlock_kb lets a
     * task lock without CAP_IPC_LOCK (perf_mmap: EPERM; measured for root too). Not checked when
     * the sysctl was raised from its default or perf_event_paranoid is -1 (no limit then).
     */
    private static void ipcLock(String what) {
        if (Capabilities.has(Cap.IPC_LOCK) || Capabilities.perfEventParanoid() < 0
                || Capabilities.perfEventMlockKb() > 516) return;
        throw new Failure(Failure.Kind.PERMISSION, what + " needs CAP_IPC_LOCK: its perf ring buffers are bigger than "
                + "kernel.perf_event_mlock_kb (" + Capabilities.perfEventMlockKb() + " KiB) lets it lock without it "
                + "(or raise that sysctl)");
    }

    private static void tracefs(String what) {
        if (Capabilities.tracefs() && !Capabilities.tracefsReadable() && !Capabilities.has(Cap.DAC_OVERRIDE)) {
            throw new Failure(Failure.Kind.PERMISSION, what + ": tracefs files are root's (mode 0640); as uid "
                    + Capabilities.uid() + " this needs CAP_DAC_OVERRIDE");
        }
        if (Capabilities.tracefs() || Capabilities.has(Cap.SYS_ADMIN)) return; // mounted, or tansa mounts it
        throw new Failure(Failure.Kind.NOT_MOUNTED, what + ": tracefs is not mounted here and mounting it needs "
                + "CAP_SYS_ADMIN; mount it (mount -t tracefs nodev /sys/kernel/tracing — in a container, a "
                + "hostPath/bind mount of the host's /sys/kernel/tracing) or give CAP_SYS_ADMIN");
    }

    /**
     * Whether tansa may read {@code pid}'s memory (ptrace access mode ATTACH, ptrace(2)): opening
     * /proc/PID/mem is exactly that check. Denied: CAP_SYS_PTRACE is missing (the target runs as
     * another user or holds capabilities tansa lacks) or kernel.yama.ptrace_scope forbids it.
     */
    public static void ptrace(String what, int pid) {
        if (pid <= 0 || !ProcFs.exists(pid)) return; // the command reports "no such process" itself
        try (FileChannel ch = FileChannel.open(Path.of("/proc/" + pid + "/mem"), StandardOpenOption.READ)) {
            // allowed
        } catch (AccessDeniedException e) {
            if (!Capabilities.has(Cap.SYS_PTRACE)) {
                throw new Failure(Failure.Kind.PERMISSION, what + " needs CAP_SYS_PTRACE to read process " + pid
                        + " (it runs as another user or holds capabilities tansa lacks)", e);
            }
            if (!Capabilities.has(Cap.DAC_OVERRIDE)) {
                // /proc/PID/mem and /proc/PID/fd are mode 0600/0500, owned by the process's uid (proc(5))
                throw new Failure(Failure.Kind.PERMISSION, what + " needs CAP_DAC_OVERRIDE besides CAP_SYS_PTRACE to "
                        + "read process " + pid + ": its /proc/" + pid + "/mem belongs to another user (mode 0600)", e);
            }
            throw new Failure(Failure.Kind.PERMISSION, what + " may not read process " + pid + " although it has "
                    + "CAP_SYS_PTRACE and CAP_DAC_OVERRIDE: kernel.yama.ptrace_scope or a security module forbids it", e);
        } catch (IOException e) {
            // gone, or another error the command reports in its own words
        }
    }
}
