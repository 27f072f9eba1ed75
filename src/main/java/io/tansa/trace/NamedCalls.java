package io.tansa.trace;

import io.tansa.sys.Strerror;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Names each call's numbers for the one-line-per-call output ({@link NamedCall}), then hands it
 * to a {@link Sink}. Thread names come from /proc and from COMM records; with fds on, fd
 * arguments get what /proc/PID/fd/N points to (cached per fd until close/dup2/exec). fd targets
 * are read from the live target when the call is named (tens of ms after the call): for a
 * process that has exited by then they are unknown (null). Strings are not read: read that late,
 * the buffer may hold something else already, and what tansa prints must be true.
 */
public final class NamedCalls implements SyscallTracer.Listener {
    /** Where named calls go (report.TraceLines). */
    public interface Sink {
        void call(NamedCall c);

        /** End of a batch of calls. */
        default void flush() {}
    }

    private final Sink sink;
    private final boolean fds;
    private final SyscallArgs argTable = new SyscallArgs();
    private final Map<Integer, String> names = new HashMap<>();
    private final Map<Long, String> fdNames = new HashMap<>();

    private static final int NR_CLOSE = SyscallTable.number("close"), NR_DUP2 = SyscallTable.number("dup2"),
            NR_DUP3 = SyscallTable.number("dup3"), NR_CLOSE_RANGE = SyscallTable.number("close_range"),
            NR_EXECVE = SyscallTable.number("execve"), NR_EXECVEAT = SyscallTable.number("execveat");
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

    /** @param fds name fd arguments and returned fds */
    public NamedCalls(Sink sink, boolean fds) {
        this.sink = sink;
        this.fds = fds;
    }

    @Override
    public void comm(int pid, int tid, String name) {
        names.put(tid, name);
    }

    @Override
    public void call(Call c) {
        String thread = threadName(c.pid, c.tid);
        String[] argFds = null;
        List<SyscallArgs.Arg> args = c.entered ? argTable.of(c.nr) : List.of();
        if (fds) {
            for (int i = 0; i < args.size() && i < 6; i++) {
                int fd = (int) c.args[i];
                if (args.get(i).kind() == SyscallArgs.Kind.FD && fd >= 0) {
                    if (argFds == null) argFds = new String[6];
                    argFds[i] = fd(c.pid, fd);
                }
            }
        }
        String returnedFd = null, errno = null, errnoText = null;
        if (c.returned && c.failed()) {
            errno = Strerror.name((int) -c.ret);
            errnoText = Strerror.description((int) -c.ret);
        } else if (c.returned && fds && RETURNS_FD.contains(c.nr)) {
            fdNames.remove(key(c.pid, c.ret));
            returnedFd = fd(c.pid, c.ret);
        }
        sink.call(new NamedCall(c, args, thread, argFds, returnedFd, errno, errnoText));
        if (fds) forget(c);
    }

    @Override
    public void flush() {
        sink.flush();
    }

    private String threadName(int pid, int tid) {
        String n = names.get(tid);
        if (n == null) {
            n = io.tansa.proc.ProcFs.comm(pid, tid, null);
            names.put(tid, n = n == null ? "?" : n);
        }
        return n;
    }

    /** What fd points to (cached), null when not known. */
    private String fd(int pid, long fd) {
        long k = key(pid, fd);
        String t = fdNames.get(k);
        if (t == null) {
            t = Targets.fdTarget(pid, fd);
            if (t == null) return null;
            fdNames.put(k, t);
        }
        return t;
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
