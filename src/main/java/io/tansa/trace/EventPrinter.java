package io.tansa.trace;

import io.tansa.sys.Strerror;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * One line per syscall, strace style but joined: {@code [1234 CPU 0/KVM] ioctl(15<anon_inode:kvm-vcpu:0>,
 * KVM_RUN, 0) = 0 <0.000031>}. Thread names come from /proc and from COMM records; with fds on,
 * fd arguments carry what /proc/PID/fd/N points to (cached per fd until close/dup2/exec).
 * fd targets are read from the live target when the line is printed (tens of ms after the call):
 * for a process that has exited by then they show as plain numbers. Strings are shown as their
 * address: read that late, the buffer may hold something else already, and what tansa prints
 * must be true.
 */
public final class EventPrinter implements SyscallTracer.Listener {
    private final PrintStream out;
    private final boolean timing, fds;
    private final SyscallArgs argTable = new SyscallArgs();
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Long, String> fdNames = new HashMap<>();
    private final StringBuilder b = new StringBuilder(256);

    private static final int NR_CLOSE = SyscallTable.number("close"), NR_DUP2 = SyscallTable.number("dup2"),
            NR_DUP3 = SyscallTable.number("dup3"), NR_CLOSE_RANGE = SyscallTable.number("close_range"),
            NR_EXECVE = SyscallTable.number("execve"), NR_EXECVEAT = SyscallTable.number("execveat"),
            NR_MMAP = SyscallTable.number("mmap"), NR_BRK = SyscallTable.number("brk"),
            NR_MREMAP = SyscallTable.number("mremap");
    /** Syscalls whose return value is a new fd. */
    private static final Set<Integer> RETURNS_FD = Set.of(SyscallTable.number("open"), SyscallTable.number("openat"),
            SyscallTable.number("openat2"), SyscallTable.number("creat"), SyscallTable.number("dup"), NR_DUP2, NR_DUP3,
            SyscallTable.number("socket"), SyscallTable.number("accept"), SyscallTable.number("accept4"),
            SyscallTable.number("eventfd"), SyscallTable.number("eventfd2"), SyscallTable.number("epoll_create"),
            SyscallTable.number("epoll_create1"), SyscallTable.number("timerfd_create"),
            SyscallTable.number("signalfd"), SyscallTable.number("signalfd4"), SyscallTable.number("inotify_init"),
            SyscallTable.number("inotify_init1"), SyscallTable.number("memfd_create"),
            SyscallTable.number("pidfd_open"), SyscallTable.number("perf_event_open"),
            SyscallTable.number("userfaultfd"), SyscallTable.number("fanotify_init"),
            SyscallTable.number("io_uring_setup"));

    /** &lt;fcntl.h&gt;: "relative to the current directory" for the *at() calls. */
    private static final int AT_FDCWD = -100;

    public EventPrinter(PrintStream out, boolean timing, boolean fds) {
        this.out = out;
        this.timing = timing;
        this.fds = fds;
    }

    @Override
    public void comm(int pid, int tid, String name) {
        names.put(tid, name);
    }

    @Override
    public void call(Call c) {
        b.setLength(0);
        b.append('[').append(c.tid).append(' ').append(threadName(c.pid, c.tid)).append("] ");
        b.append(SyscallTable.name(c.nr)).append('(');
        if (c.entered) {
            List<SyscallArgs.Arg> args = argTable.of(c.nr);
            for (int i = 0; i < args.size() && i < 6; i++) {
                if (i > 0) b.append(", ");
                arg(c, args.get(i).kind(), c.args[i]);
            }
        } else {
            b.append("<entered before tracing>");
        }
        b.append(") = ");
        if (!c.returned) {
            b.append('?');
        } else if (c.failed()) {
            int errno = (int) -c.ret;
            String n = Strerror.name(errno), d = Strerror.description(errno);
            b.append("-1 ").append(n == null ? "E" + errno : n);
            if (d != null) b.append(" (").append(d).append(')');
        } else if (c.nr == NR_MMAP || c.nr == NR_BRK || c.nr == NR_MREMAP) {
            b.append("0x").append(Long.toHexString(c.ret));
        } else {
            b.append(c.ret);
            if (fds && RETURNS_FD.contains(c.nr)) {
                fdNames.remove(key(c.pid, c.ret));
                fd(c.pid, c.ret);
            }
        }
        if (timing && c.durationNs >= 0) b.append(String.format(Locale.ROOT, " <%.6f>", c.durationNs / 1e9));
        out.println(b);
        if (fds) forget(c);
    }

    @Override
    public void flush() {
        out.flush();
    }

    private String threadName(int pid, int tid) {
        String n = names.get(tid);
        if (n == null) {
            n = io.tansa.proc.ProcFs.comm(pid, tid, null);
            names.put(tid, n = n == null ? "?" : n);
        }
        return n;
    }

    private void arg(Call c, SyscallArgs.Kind kind, long v) {
        switch (kind) {
            case FD -> {
                int fd = (int) v;
                if (fd == AT_FDCWD) b.append("AT_FDCWD");
                else b.append(fd);
                if (fds && fd >= 0) fd(c.pid, fd);
            }
            case FLAGS -> b.append("0x").append(Long.toHexString(v));
            case MODE -> b.append(v == 0 ? "0" : "0" + Long.toOctalString(v));
            case IOCTL_REQUEST -> b.append(IoctlTable.name(v));
            case POINTER -> {
                if (v == 0) b.append("NULL");
                else b.append("0x").append(Long.toHexString(v));
            }
            case SIGNED -> b.append(v);
            case INT -> b.append((int) v);
            case UNSIGNED -> {
                if (v >= 0 && v < 0x10000) b.append(v);
                else b.append("0x").append(Long.toHexString(v));
            }
        }
    }

    private void fd(int pid, long fd) {
        long k = key(pid, fd);
        String t = fdNames.get(k);
        if (t == null) {
            t = Targets.fdTarget(pid, fd);
            if (t == null) return;
            fdNames.put(k, t);
        }
        b.append('<').append(t).append('>');
    }

    /** Drops cached fd names the call made stale. */
    private void forget(Call c) {
        if (!c.entered || !c.returned || c.failed()) return;
        if (c.nr == NR_CLOSE) fdNames.remove(key(c.pid, c.args[0]));
        else if (c.nr == NR_DUP2 || c.nr == NR_DUP3) fdNames.remove(key(c.pid, c.args[1]));
        else if (c.nr == NR_CLOSE_RANGE) {
            long lo = c.args[0], hi = Math.min(c.args[1], 1 << 20);
            fdNames.keySet().removeIf(k -> (k >>> 32) == c.pid && (k & 0xffffffffL) >= lo && (k & 0xffffffffL) <= hi);
        } else if (c.nr == NR_EXECVE || c.nr == NR_EXECVEAT) {
            fdNames.keySet().removeIf(k -> (k >>> 32) == c.pid);
        }
    }

    private static long key(int pid, long fd) {
        return ((long) pid << 32) | (fd & 0xffffffffL);
    }
}
