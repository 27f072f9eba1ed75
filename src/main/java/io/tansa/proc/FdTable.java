package io.tansa.proc;

import io.tansa.sys.Errno;
import io.tansa.sys.SmallFiles;
import io.tansa.sys.SysException;
import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The open file descriptors of processes, from /proc/PID/fd (proc(5)): each fd's number and the
 * target its magic link names ("socket:[123]", "pipe:[45]", "anon_inode:[eventfd]", a path).
 */
public final class FdTable {
    private FdTable() {}

    /** One open fd of {@code pid}. */
    public record Fd(int pid, int fd, String target) {
        /** The inode in "socket:[N]" / "pipe:[N]" targets, -1 for others. */
        public long bracketInode() {
            int open = target.indexOf(":[");
            if (open < 0 || !target.endsWith("]")) return -1;
            try {
                return Long.parseLong(target, open + 2, target.length() - 1, 10);
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        public boolean isSocket() {
            return target.startsWith("socket:[");
        }

        public boolean isPipe() {
            return target.startsWith("pipe:[");
        }

        /** /proc/PID/fd/N: stat(2) and getxattr(2) on it reach the open file itself. */
        public String procPath() {
            return "/proc/" + pid + "/fd/" + fd;
        }
    }

    /**
     * Every fd of {@code pid}, sorted by number. fds closed while listing are skipped.
     *
     * @throws SysException.ProcessGoneException when there is no such process
     * @throws SysException.PermissionException when /proc/PID/fd is not readable
     */
    public static List<Fd> list(int pid) {
        String dir = "/proc/" + pid + "/fd";
        // File.list: plain names from readdir, no Path object per entry (10,000s of fds)
        String[] names = new File(dir).list();
        if (names == null) {
            if (!new File("/proc/" + pid).exists()) {
                throw new SysException.ProcessGoneException("no such process: " + pid, Errno.ESRCH);
            }
            throw new SysException.PermissionException("cannot read " + dir, Errno.EACCES);
        }
        List<Fd> out = new ArrayList<>(names.length);
        for (String name : names) {
            String target = SmallFiles.readlink(dir + "/" + name);
            if (target != null) out.add(new Fd(pid, Integer.parseInt(name), target)); // else closed meanwhile
        }
        if (out.isEmpty()) denied(pid, dir);
        out.sort(Comparator.comparingInt(Fd::fd));
        return out;
    }

    /**
     * An empty /proc/PID/fd is also what tansa sees when it may not look (ptrace access mode READ,
     * proc(5): the process runs as another user or holds capabilities tansa lacks, and tansa has no
     * CAP_SYS_PTRACE): the readdir succeeds with no entries. /proc/PID/cwd is under the same check;
     * when it cannot be read either, say so instead of reporting "0 fds".
     */
    private static void denied(int pid, String dir) {
        try {
            java.nio.file.Files.readSymbolicLink(Path.of("/proc/" + pid + "/cwd"));
        } catch (java.nio.file.AccessDeniedException e) {
            throw new SysException.PermissionException("cannot read " + dir + " (needs CAP_SYS_PTRACE: process " + pid
                    + " runs as another user or holds capabilities tansa lacks)", Errno.EACCES);
        } catch (IOException e) {
            // gone meanwhile, or a kernel thread: nothing to list
        }
    }

    /** The pids under /proc, ascending. */
    public static List<Integer> pids() {
        List<Integer> out = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(Path.of("/proc"))) {
            for (Path p : ds) {
                String n = p.getFileName().toString();
                if (!n.isEmpty() && Character.isDigit(n.charAt(0))) out.add(Integer.parseInt(n));
            }
        } catch (IOException e) {
            throw new SysException("cannot list /proc: " + e.getMessage(), Errno.EIO);
        }
        out.sort(null);
        return out;
    }

    /**
     * Who holds the objects named "PREFIX[INODE]" ({@code prefix} "socket:" or "pipe:") for the
     * given inodes, over every process this one may inspect (others are skipped, as lsof does).
     * Map: inode → holders in pid, fd order.
     */
    public static Map<Long, List<Fd>> holders(String prefix, Set<Long> inodes) {
        Map<Long, List<Fd>> out = new HashMap<>();
        if (inodes.isEmpty()) return out;
        for (int pid : pids()) {
            List<Fd> fds;
            try {
                fds = list(pid);
            } catch (SysException e) {
                continue; // exited or not ours to read
            }
            for (Fd f : fds) {
                if (!f.target.startsWith(prefix)) continue;
                long ino = f.bracketInode();
                if (inodes.contains(ino)) out.computeIfAbsent(ino, k -> new ArrayList<>()).add(f);
            }
        }
        return out;
    }

    /** Every socket fd of every readable process: inode → holders. */
    public static Map<Long, List<Fd>> allSockets() {
        Map<Long, List<Fd>> out = new HashMap<>();
        for (int pid : pids()) {
            List<Fd> fds;
            try {
                fds = list(pid);
            } catch (SysException e) {
                continue;
            }
            for (Fd f : fds) {
                if (f.isSocket()) out.computeIfAbsent(f.bracketInode(), k -> new ArrayList<>()).add(f);
            }
        }
        return out;
    }

    /** The process's name (its main thread's: {@link ProcFs#comm(int, int, String)}), or "?" when gone. */
    public static String comm(int pid) {
        return ProcFs.comm(pid, pid, "?");
    }
}
