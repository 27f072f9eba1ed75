package io.tansa.proc;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Which thread of a qemu-kvm runs which vCPU, from outside: the vCPU fds are the process's
 * {@code anon_inode:kvm-vcpu:N} links in /proc/PID/fd (proc(5)), and a thread blocked in
 * ioctl(fd, KVM_RUN) shows "16 FD 0xae80 …" in /proc/PID/task/TID/syscall (proc(5): syscall
 * number and arguments in hex). A vCPU thread running guest code at that instant shows
 * "running"; tansa kvm and trace learn it from its next KVM_RUN instead ({@link #vcpuOfFd}).
 */
public final class Vcpus {
    private Vcpus() {}

    private static final String PREFIX = "anon_inode:kvm-vcpu:";

    /** fd → vCPU index for every kvm-vcpu fd of {@code pid} (empty when it has none or is gone). */
    public static Map<Integer, Integer> fds(int pid) {
        Map<Integer, Integer> m = new HashMap<>();
        try (var s = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path p : s) {
                try {
                    String t = Files.readSymbolicLink(p).toString();
                    if (t.startsWith(PREFIX)) {
                        m.put(Integer.parseInt(p.getFileName().toString()), Integer.parseInt(t.substring(PREFIX.length())));
                    }
                } catch (IOException | NumberFormatException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return m;
        }
        return m;
    }

    /** The vCPU index of fd {@code fd} of {@code pid}, or -1. */
    public static int vcpuOfFd(int pid, long fd) {
        try {
            String t = Files.readSymbolicLink(Path.of("/proc", Integer.toString(pid), "fd", Long.toString(fd))).toString();
            return t.startsWith(PREFIX) ? Integer.parseInt(t.substring(PREFIX.length())) : -1;
        } catch (IOException | NumberFormatException | UnsupportedOperationException e) {
            return -1;
        }
    }

    /** True for a kernel worker thread in the process (kvm-nx-lpage-recovery): PF_KTHREAD/PF_USER_WORKER in stat. */
    public static boolean kernelWorker(int pid, int tid) {
        try {
            String s = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid), "stat"));
            String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
            long flags = Long.parseLong(f[6]); // field 9, flags (proc(5))
            // PF_USER_WORKER 0x4000, PF_KTHREAD 0x00200000: include/linux/sched.h
            return (flags & (0x4000L | 0x00200000L)) != 0;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /**
     * tid → vCPU index for the threads of {@code pid} blocked in KVM_RUN right now (a halted
     * vCPU, or one waiting in the kernel). Kernel workers (kvm-nx-lpage-recovery shows its
     * parent's registers there) are left out.
     */
    public static Map<Integer, Integer> blockedInRun(int pid) {
        Map<Integer, Integer> fds = fds(pid);
        Map<Integer, Integer> m = new HashMap<>();
        if (fds.isEmpty()) return m;
        for (int tid : ProcFs.tasks(pid)) {
            try {
                String[] f = Files.readString(Path.of("/proc", Integer.toString(pid), "task", Integer.toString(tid),
                        "syscall")).trim().split(" ");
                if (f.length >= 3 && f[0].equals("16") && Long.decode(f[2]) == 0xae80L && !kernelWorker(pid, tid)) {
                    Integer v = fds.get((int) (long) Long.decode(f[1]));
                    if (v != null) m.put(tid, v);
                }
            } catch (IOException | RuntimeException e) {
                // gone, or "running"
            }
        }
        return m;
    }

    /** Rounds of /proc/PID/task/{@literal *}/syscall reads that {@link #threads} makes at most, and the pause between. */
    static final int ROUNDS = 25;
    static final long ROUND_PAUSE_NS = 2_000_000L;

    /**
     * tid → vCPU index for the vCPU threads of {@code pid}, without tracing: {@link #blockedInRun}
     * read up to {@link #ROUNDS} times, until every kvm-vcpu fd has its thread. A vCPU thread
     * spends most of its time blocked in KVM_RUN (a halted or idle guest), so a few reads find
     * it; one that is on a CPU at every read (a guest that never halts) stays unmapped.
     */
    public static Map<Integer, Integer> threads(int pid) {
        Map<Integer, Integer> fds = fds(pid);
        Map<Integer, Integer> m = new HashMap<>();
        if (fds.isEmpty()) return m;
        int vcpus = (int) fds.values().stream().distinct().count();
        for (int round = 0; round < ROUNDS; round++) {
            if (round > 0) LockSupport.parkNanos(ROUND_PAUSE_NS);
            m.putAll(blockedInRun(pid));
            if (m.values().stream().distinct().count() >= vcpus) break;
        }
        return m;
    }

    /** What {@link #indexOf} learned of a process: whether it is a VM, its vCPU threads, and when. */
    private record Known(boolean vm, Map<Integer, Integer> threads, long readAt, boolean complete) {}

    private static final Map<Integer, Known> KNOWN = new ConcurrentHashMap<>();
    /** A process whose thread was not found among its vCPU threads is read again after this long. */
    static final long REREAD_NS = 1_000_000_000L;

    /**
     * The vCPU index that thread {@code tid} of {@code pid} runs, or -1 (not a VM, not a vCPU
     * thread, or never seen blocked in KVM_RUN): {@link #threads}, cached per process and read
     * again at most once a second for a thread it does not know while some vCPU has no thread yet.
     */
    public static int indexOf(int pid, int tid) {
        Known k = KNOWN.get(pid);
        long now = System.nanoTime();
        if (k == null || (k.vm() && !k.complete() && !k.threads().containsKey(tid) && now - k.readAt() > REREAD_NS)) {
            boolean vm = k != null ? k.vm() : isVm(pid);
            Map<Integer, Integer> t = vm ? threads(pid) : Map.of();
            boolean complete = !vm || new java.util.HashSet<>(t.values()).containsAll(fds(pid).values());
            k = new Known(vm, t, now, complete);
            KNOWN.put(pid, k);
        }
        return k.threads().getOrDefault(tid, -1);
    }

    /** True when {@code pid} holds a KVM VM (an anon_inode:kvm-vm fd): a qemu-kvm or another VMM. */
    public static boolean isVm(int pid) {
        try (var s = Files.newDirectoryStream(Path.of("/proc", Integer.toString(pid), "fd"))) {
            for (Path p : s) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals("anon_inode:kvm-vm")) return true;
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }
}
