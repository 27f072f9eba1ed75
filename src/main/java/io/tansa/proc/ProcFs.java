package io.tansa.proc;

import io.tansa.Failure;
import io.tansa.sys.SmallFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Readers for /proc/PID (proc(5)). A process that is gone surfaces as
 * {@code Failure(NO_SUCH_PROCESS)}, one we may not read as {@code Failure(PERMISSION)}.
 */
public final class ProcFs {
    private ProcFs() {}

    private static final Path PROC = Path.of("/proc");

    /** Whether process {@code pid} exists (zombies included). */
    public static boolean exists(int pid) {
        return pid > 0 && Files.exists(PROC.resolve(Integer.toString(pid)).resolve("stat"));
    }

    /**
     * The state letter of /proc/PID/stat (R, S, D, T, t, Z, X, ...; proc(5)), or 0 when the
     * process is gone. It is the state of the thread group leader.
     */
    public static char state(int pid) {
        String s = SmallFiles.read("/proc/" + pid + "/stat");
        if (s == null) return 0;
        int i = s.lastIndexOf(')'); // comm may contain spaces and parentheses
        return i > 0 && i + 2 < s.length() ? s.charAt(i + 2) : 0;
    }

    /**
     * Whether tansa itself runs in the initial pid namespace (the host's): /proc/self/ns/pid names
     * the inode PROC_PID_INIT_INO = 0xEFFFFFFC there (include/linux/proc_ns.h). False in a
     * container or sidecar, where the kernel's own pids (bpf_get_current_pid_tgid) are not the
     * pids tansa sees.
     */
    public static boolean inInitialPidNamespace() {
        try {
            return Files.readSymbolicLink(PROC.resolve("self/ns/pid")).toString().equals("pid:[4026531836]");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            return true; // no namespaces to tell apart
        }
    }

    /**
     * Whether process {@code pid} is running: it exists and is not a zombie (Z) or dead (X, x).
     * The one liveness check of tansa's loops: a zombie's /proc/PID remains until it is reaped,
     * and kill(pid, 0) succeeds on it too.
     */
    public static boolean alive(int pid) {
        char c = pid > 0 ? state(pid) : 0;
        return c != 0 && c != 'Z' && c != 'X' && c != 'x';
    }

    /** The mappings of /proc/PID/maps, in address order. */
    public static List<Mapping> maps(int pid) {
        String text = readString(pid, "/proc/" + pid + "/maps");
        List<Mapping> out = new ArrayList<>(256);
        int i = 0;
        int n = text.length();
        while (i < n) {
            int nl = text.indexOf('\n', i);
            if (nl < 0) nl = n;
            if (nl > i) out.add(Mapping.parse(text.substring(i, nl)));
            i = nl + 1;
        }
        return out;
    }

    /** Online cpus from /sys/devices/system/cpu/online ("0-3,8"; cpu(4) sysfs ABI). */
    public static List<Integer> onlineCpus() {
        List<Integer> out = new ArrayList<>();
        try {
            String s = Files.readString(Path.of("/sys/devices/system/cpu/online")).trim();
            for (String part : s.split(",")) {
                String[] r = part.split("-");
                int a = Integer.parseInt(r[0]), b = r.length > 1 ? Integer.parseInt(r[1]) : a;
                for (int c = a; c <= b; c++) out.add(c);
            }
        } catch (IOException | NumberFormatException e) {
            out.clear();
            for (int c = 0; c < Runtime.getRuntime().availableProcessors(); c++) out.add(c);
        }
        return out;
    }

    /** Thread ids of {@code pid} (from /proc/PID/task), sorted. */
    public static int[] tasks(int pid) {
        Path dir = PROC.resolve(pid + "/task");
        List<Integer> tids = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path p : ds) {
                String s = p.getFileName().toString();
                if (!s.isEmpty() && Character.isDigit(s.charAt(0))) tids.add(Integer.parseInt(s));
            }
        } catch (IOException e) {
            throw translate(pid, dir.toString(), e);
        }
        int[] a = tids.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(a);
        return a;
    }

    /** Parsed /proc/PID/task/TID/status. */
    public static Status status(int pid, int tid) {
        String text = readString(pid, "/proc/" + pid + "/task/" + tid + "/status");
        String name = "";
        int tgid = 0, ppid = 0, uid = -1;
        char state = '?';
        long pnd = 0, shd = 0, blk = 0, ign = 0, cgt = 0;
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon);
            String v = line.substring(colon + 1).strip();
            switch (key) {
                case "Name" -> name = v;
                case "State" -> state = v.isEmpty() ? '?' : v.charAt(0);
                case "Tgid" -> tgid = Integer.parseInt(v);
                case "PPid" -> ppid = Integer.parseInt(v);
                case "Uid" -> uid = Integer.parseInt(v.split("\\s+")[0]);
                case "SigPnd" -> pnd = Long.parseUnsignedLong(v, 16);
                case "ShdPnd" -> shd = Long.parseUnsignedLong(v, 16);
                case "SigBlk" -> blk = Long.parseUnsignedLong(v, 16);
                case "SigIgn" -> ign = Long.parseUnsignedLong(v, 16);
                case "SigCgt" -> cgt = Long.parseUnsignedLong(v, 16);
                default -> { }
            }
        }
        return new Status(name, tgid, ppid, state, pnd, shd, blk, ign, cgt, uid);
    }

    /** The process's pid in its own (innermost) pid namespace: the last NSpid field of /proc/PID/status. */
    public static int nsPid(int pid) {
        for (String line : readString(pid, "/proc/" + pid + "/status").split("\n")) {
            if (line.startsWith("NSpid:")) {
                String[] f = line.substring(6).strip().split("\\s+");
                return Integer.parseInt(f[f.length - 1]);
            }
        }
        return pid;
    }

    /** Thread name (/proc/PID/task/TID/comm, without the newline). */
    public static String comm(int pid, int tid) {
        String s = readString(pid, "/proc/" + pid + "/task/" + tid + "/comm");
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /**
     * Thread name as {@link #comm}, or {@code fallback} when the thread is gone (or cannot be
     * read): the one fallback for naming a thread that may have exited since it was seen.
     */
    public static String comm(int pid, int tid, String fallback) {
        try {
            return comm(pid, tid);
        } catch (RuntimeException gone) {
            return fallback;
        }
    }

    /**
     * The one thread-name rule: a thread of a VMM with no name of its own ({@code own} is still the
     * process's name, or qemu's "qemu-system-…": no {@code -name …,debug-threads=on}) that runs
     * vCPU {@code index} is "vCPU N"; any other thread keeps {@code own}. {@code index} comes from
     * wherever the caller learned it (the fd of a traced KVM_RUN, or {@link Vcpus#indexOf}).
     */
    public static String vcpuName(String own, String process, int index) {
        if (index < 0 || own == null) return own;
        return own.equals(process) || own.startsWith("qemu-system") ? "vCPU " + index : own;
    }

    /**
     * Thread name as {@link #comm(int, int, String)}, with {@link #vcpuName} applied: a qemu vCPU
     * thread without a name of its own is "vCPU N" ({@link Vcpus#indexOf}: the kvm-vcpu fd it
     * is blocked in KVM_RUN on). For naming threads in top, callers and fds.
     */
    public static String threadName(int pid, int tid, String fallback) {
        String own = comm(pid, tid, fallback);
        return threadName(pid, tid, own, null);
    }

    /** As {@link #threadName(int, int, String)}, for a thread whose {@code own} name is known already (a COMM record). */
    public static String threadName(int pid, int tid, String own, String process) {
        if (own == null || tid == pid) return own;
        String proc = process != null ? process : comm(pid, pid, null);
        if (!own.equals(proc) && !own.startsWith("qemu-system")) return own;
        return vcpuName(own, proc, Vcpus.indexOf(pid, tid));
    }

    /** Command line arguments (/proc/PID/cmdline split at NULs). */
    public static List<String> cmdline(int pid) {
        String s = readString(pid, "/proc/" + pid + "/cmdline");
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            int z = s.indexOf('\0', i);
            if (z < 0) z = s.length();
            out.add(s.substring(i, z));
            i = z + 1;
        }
        return out;
    }

    /** Child processes: the union of /proc/PID/task/{@literal *}/children, sorted. */
    public static List<Integer> children(int pid) {
        TreeSet<Integer> kids = new TreeSet<>();
        for (int tid : tasks(pid)) {
            String s;
            try {
                s = Files.readString(PROC.resolve(pid + "/task/" + tid + "/children"), StandardCharsets.ISO_8859_1);
            } catch (IOException e) {
                continue; // the thread exited between listing and reading
            }
            for (String t : s.trim().split("\\s+")) if (!t.isEmpty()) kids.add(Integer.parseInt(t));
        }
        return new ArrayList<>(kids);
    }

    /** The executable's path (readlink /proc/PID/exe), " (deleted)" included when it was. */
    public static String exe(int pid) {
        Path link = PROC.resolve(pid + "/exe");
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException e) {
            throw translate(pid, link.toString(), e);
        }
    }

    /**
     * A path tansa (and the kernel, for uprobes) can open that is the object mapped at {@code m}:
     * the mapped path when it still names the same file in our mount namespace; otherwise
     * /proc/PID/root/PATH when the process lives in another mount namespace and the file there is
     * the mapped one; otherwise (deleted or replaced since it was mapped) /proc/PID/map_files/START-END,
     * which needs CAP_SYS_ADMIN. Throws {@code Failure(BINARY_CHANGED)} when none of these works.
     */
    public static Path objectPath(int pid, Mapping m) {
        if (!m.deleted() && m.path().startsWith("/")) {
            Path direct = sameMountNamespace(pid) ? Path.of(m.path())
                    : PROC.resolve(pid + "/root").resolve(m.path().substring(1));
            if (Objects.equals(inode(direct), m.inode())) return direct;
        }
        Path mf = PROC.resolve(pid + "/map_files/" + Long.toHexString(m.start()) + "-" + Long.toHexString(m.end()));
        if (Files.isReadable(mf)) return mf;
        if (!exists(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        throw new Failure(Failure.Kind.BINARY_CHANGED, m.path() + " mapped by " + pid + " was "
                + (m.deleted() ? "deleted" : "replaced") + " since it was loaded, and " + mf
                + " cannot be opened (needs CAP_SYS_ADMIN)");
    }

    /** Whether {@code pid} shares tansa's mount namespace (also true when that cannot be read). */
    public static boolean sameMountNamespace(int pid) {
        try {
            return Files.readSymbolicLink(PROC.resolve("self/ns/mnt"))
                    .equals(Files.readSymbolicLink(PROC.resolve(pid + "/ns/mnt")));
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Reads up to {@code len} bytes of the process's memory at {@code addr} through /proc/PID/mem
     * (needs ptrace access, as process_vm_readv does). Returns the bytes read (fewer near an
     * unmapped end, an empty array when the address is unmapped).
     */
    public static byte[] readMemory(int pid, long addr, int len) {
        Path mem = PROC.resolve(pid + "/mem");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(mem, java.nio.file.StandardOpenOption.READ)) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(len);
            long pos = addr;
            while (b.hasRemaining()) {
                int n = ch.read(b, pos);
                if (n <= 0) break;
                pos += n;
            }
            return java.util.Arrays.copyOf(b.array(), b.position());
        } catch (IOException e) {
            if (e.getMessage() != null && e.getMessage().contains("Input/output error")) {
                return new byte[0]; // EIO: address not mapped
            }
            throw translate(pid, mem.toString(), e);
        }
    }

    private static Long inode(Path p) {
        try {
            return ((Number) Files.getAttribute(p, "unix:ino")).longValue();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static String readString(int pid, String path) {
        try {
            return new String(Files.readAllBytes(Path.of(path)), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw translate(pid, path, e);
        }
    }

    private static Failure translate(int pid, String path, IOException e) {
        if (!exists(pid)) return new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid, e);
        if (e instanceof java.nio.file.FileSystemException f && "No such process".equals(f.getReason())) {
            // ESRCH: a process that has exited and is not reaped yet (a zombie: its /proc/PID/stat remains)
            return new Failure(Failure.Kind.NO_SUCH_PROCESS, "process " + pid + " has exited", e);
        }
        if (e instanceof NoSuchFileException) {
            // The process is there but not this file: a thread that exited, or exe of a kernel thread.
            return new Failure(Failure.Kind.NO_SUCH_PROCESS, path + " is gone (no such thread, or a kernel thread)", e);
        }
        if (e instanceof AccessDeniedException) {
            return new Failure(Failure.Kind.PERMISSION, "cannot read " + path + " (needs the same uid or CAP_SYS_PTRACE)", e);
        }
        return new Failure(Failure.Kind.INTERNAL, "cannot read " + path + ": " + e, e);
    }

    /** AT_ENTRY in the aux vector (getauxval(3)): the program's entry point address. */
    public static final long AT_ENTRY = 9;

    /**
     * A value from /proc/PID/auxv (pairs of unsigned longs, ending with AT_NULL), or 0 when
     * absent. Failure(NO_SUCH_PROCESS) when the process is gone.
     */
    public static long auxv(int pid, long type) {
        byte[] b;
        try {
            b = java.nio.file.Files.readAllBytes(Path.of("/proc/" + pid + "/auxv"));
        } catch (java.io.IOException e) {
            throw new io.tansa.Failure(io.tansa.Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        }
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        while (bb.remaining() >= 16) {
            long t = bb.getLong(), v = bb.getLong();
            if (t == type) return v;
            if (t == 0) break;
        }
        return 0;
    }
}
