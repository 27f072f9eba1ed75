package io.tansa.report;

import io.tansa.trace.Call;
import io.tansa.trace.IoctlTable;
import io.tansa.trace.NamedCall;
import io.tansa.trace.NamedCalls;
import io.tansa.trace.SyscallArgs;
import io.tansa.trace.SyscallTable;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.function.IntUnaryOperator;

/**
 * {@code tansa trace} without -c: one line per syscall, strace style but joined:
 * {@code [1234 CPU 0/KVM] ioctl(15<anon_inode:kvm-vcpu:0>, KVM_RUN, 0) = 0 <0.000031>}. Strings
 * show as their address (trace.NamedCalls says why); with timing on, the time spent in the call.
 * A thread numbered differently in its own pid namespace (a container) shows both:
 * {@code [5553 (2) unicorn]}, the tid in its namespace in parentheses, as the header says.
 */
public final class TraceLines implements NamedCalls.Sink {
    private final PrintStream out;
    private final boolean timing;
    private final IntUnaryOperator nsTid;
    private final StringBuilder b = new StringBuilder(256);

    private static final int NR_MMAP = SyscallTable.number("mmap"), NR_BRK = SyscallTable.number("brk"),
            NR_MREMAP = SyscallTable.number("mremap");

    /** @param timing show the time spent in each call */
    public TraceLines(PrintStream out, boolean timing) {
        this(out, timing, IntUnaryOperator.identity());
    }

    /** @param nsTid a tid → the same thread's tid in its own pid namespace */
    public TraceLines(PrintStream out, boolean timing, IntUnaryOperator nsTid) {
        this.out = out;
        this.timing = timing;
        this.nsTid = nsTid;
    }

    @Override
    public void call(NamedCall n) {
        Call c = n.call();
        b.setLength(0);
        b.append('[').append(c.tid);
        int ns = nsTid.applyAsInt(c.tid);
        if (ns != c.tid) b.append(" (").append(ns).append(')');
        b.append(' ').append(n.thread()).append("] ");
        b.append(SyscallTable.name(c.nr)).append('(');
        if (c.entered) {
            List<SyscallArgs.Arg> args = n.args();
            for (int i = 0; i < args.size() && i < 6; i++) {
                if (i > 0) b.append(", ");
                arg(args.get(i).kind(), c.args[i], n.fds() == null ? null : n.fds()[i]);
            }
        } else {
            b.append("<entered before tracing>");
        }
        b.append(") = ");
        if (!c.returned) {
            b.append('?');
        } else if (c.failed()) {
            int errno = (int) -c.ret;
            b.append("-1 ").append(n.errno() == null ? "E" + errno : n.errno());
            if (n.errnoText() != null) b.append(" (").append(n.errnoText()).append(')');
        } else if (c.nr == NR_MMAP || c.nr == NR_BRK || c.nr == NR_MREMAP) {
            b.append("0x").append(Long.toHexString(c.ret));
        } else {
            b.append(c.ret);
            if (n.returnedFd() != null) b.append('<').append(n.returnedFd()).append('>');
        }
        if (timing && c.durationNs >= 0) b.append(String.format(Locale.ROOT, " <%.6f>", c.durationNs / 1e9));
        out.println(b);
    }

    @Override
    public void flush() {
        out.flush();
    }

    private void arg(SyscallArgs.Kind kind, long v, String fdName) {
        switch (kind) {
            case FD -> {
                int fd = (int) v;
                if (fd == NamedCall.AT_FDCWD) b.append("AT_FDCWD");
                else b.append(fd);
                if (fdName != null) b.append('<').append(fdName).append('>');
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
}
