package io.tansa.report;

import io.tansa.net.FdReport;
import io.tansa.profile.Identity;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code tansa fds} as text: a header line, then one row per fd (FD, TYPE, RW, WHAT: the details
 * that matter for the type, and the peer at the other end), or with {@code --summary} one line
 * per group ("    24 × anon_inode:kvm-vcpu").
 */
public final class FdsText {
    private FdsText() {}

    public static void render(FdReport r, boolean summary, PrintStream out) {
        render(r, Identity.plain(r.pid()), summary, out);
    }

    /** As above, the header naming the pid in the target's own namespace and its container. */
    public static void render(FdReport r, Identity id, boolean summary, PrintStream out) {
        out.print(summary ? summary(r, id) : table(r, id));
    }

    /** "svc (pid 5552): 3 fds", or "svc, pid 5552 (1 in its container): 3 fds" and a container line. */
    static String header(FdReport r, Identity id) {
        String h = id.otherPid()
                ? String.format(Locale.ROOT, "%s, pid %s: %d fds%n", r.comm(), Who.pid(id), r.fds().size())
                : String.format(Locale.ROOT, "%s (pid %d): %d fds%n", r.comm(), r.pid(), r.fds().size());
        if (id.container() != null) h += "container " + Who.container(id) + ", cgroup " + id.cgroup() + "\n";
        return h;
    }

    static String summary(FdReport r) {
        return summary(r, Identity.plain(r.pid()));
    }

    static String summary(FdReport r, Identity id) {
        StringBuilder b = new StringBuilder(header(r, id));
        for (FdReport.Group g : r.summary()) b.append(String.format(Locale.ROOT, "%6d × %s%n", g.count(), g.what()));
        return b.toString();
    }

    static String table(FdReport r) {
        return table(r, Identity.plain(r.pid()));
    }

    static String table(FdReport r, Identity id) {
        StringBuilder b = new StringBuilder(header(r, id));
        b.append(String.format(Locale.ROOT, "%5s  %-10s %-3s %s%n", "FD", "TYPE", "RW", "WHAT"));
        for (FdReport.Entry e : r.fds()) {
            b.append(String.format(Locale.ROOT, "%5d  %-10s %-3s %s%n", e.fd(), e.type(), mode(e), what(e)));
        }
        return b.toString();
    }

    private static String mode(FdReport.Entry e) {
        String f = (String) e.details().getOrDefault("flags", "");
        if (f.startsWith("O_RDWR")) return "rw";
        if (f.startsWith("O_WRONLY")) return "w";
        return "r";
    }

    private static String what(FdReport.Entry e) {
        Map<String, Object> d = e.details();
        StringBuilder b = new StringBuilder();
        switch (e.type()) {
            case "eventfd" -> {
                if (d.containsKey("id")) b.append("[eventfd:").append(d.get("id")).append("] ");
                b.append("count ").append(d.get("count"));
            }
            case "epoll" -> b.append("watches fds ").append(join(d.get("watches")));
            case "io_uring" -> {
                b.append(e.target());
                if (d.containsKey("sq_entries")) {
                    b.append("  sq ").append(d.get("sq_entries")).append(" (").append(d.get("sq_pending"))
                            .append(" pending), cq ").append(d.get("cq_entries")).append(" (").append(d.get("cq_pending"))
                            .append(" pending)");
                    if (d.containsKey("sq_thread")) b.append(", sq thread ").append(d.get("sq_thread"));
                    List<?> files = (List<?>) d.get("registered_files");
                    if (!files.isEmpty()) {
                        b.append("; registered files");
                        for (Object o : files) {
                            Map<?, ?> m = (Map<?, ?>) o;
                            b.append(' ').append(m.get("index")).append(':').append(m.get("path"));
                        }
                    }
                    long bufs = ((Number) d.get("registered_buffers")).longValue();
                    if (bufs > 0) b.append("; ").append(bufs).append(bufs == 1 ? " registered buffer" : " registered buffers");
                }
            }
            case "timerfd" -> b.append(d.get("clock")).append(", every ").append(secs(d.get("interval")))
                    .append(", next in ").append(secs(d.get("next")));
            case "signalfd" -> b.append(join(d.get("signals")));
            case "inotify" -> {
                List<?> ws = (List<?>) d.get("watches");
                b.append(ws.size()).append(ws.size() == 1 ? " watch" : " watches");
                for (Object o : ws) {
                    Map<?, ?> w = (Map<?, ?>) o;
                    b.append("; wd ").append(w.get("wd")).append(" inode ").append(w.get("inode"))
                            .append(" mask ").append(w.get("mask"));
                }
            }
            case "memfd" -> b.append(d.get("name")).append("  pos ").append(d.get("pos"));
            case "anon_inode" -> {
                b.append(e.target());
                if (d.containsKey("tid")) {
                    b.append("  thread ").append(d.get("tid"));
                    if (d.get("thread") != null) b.append(" (").append(d.get("thread")).append(')');
                }
            }
            case "unix" -> {
                b.append(d.getOrDefault("socket_type", "")).append(' ')
                        .append(String.valueOf(d.getOrDefault("state", "?")).toUpperCase(Locale.ROOT));
                if (d.get("local") != null) b.append(' ').append(d.get("local"));
                queues(b, d);
            }
            case "tcp", "tcp6", "udp", "udp6" -> {
                b.append(String.valueOf(d.getOrDefault("state", "?")).toUpperCase(Locale.ROOT));
                if (d.get("local") != null) b.append(' ').append(d.get("local"));
                if (d.get("remote") != null) b.append(" → ").append(d.get("remote"));
                queues(b, d);
            }
            case "file", "dir", "chr", "blk", "fifo" -> {
                b.append(e.target());
                if (e.type().equals("file")) b.append("  pos ").append(d.get("pos"));
            }
            default -> b.append(e.target());
        }
        if (d.get("peer") instanceof FdReport.Peer p) {
            b.append("  ⇄ ").append(p.comm()).append('[').append(p.pid()).append("] fd ").append(p.fd());
        }
        if (d.get("holders") instanceof List<?> hs) {
            b.append("  held by");
            for (Object o : hs) {
                FdReport.Holder h = (FdReport.Holder) o;
                b.append(' ').append(h.comm()).append('[').append(h.pid()).append("] ").append(h.fd()).append(h.mode());
            }
        }
        return b.toString();
    }

    private static void queues(StringBuilder b, Map<String, Object> d) {
        if (d.containsKey("queued")) b.append("  queued ").append(d.get("queued")).append('/').append(d.get("backlog"));
        else if (d.containsKey("recv_q")) b.append("  q ").append(d.get("recv_q")).append('/').append(d.get("send_q"));
    }

    private static String join(Object list) {
        return ((List<?>) list).stream().map(String::valueOf).collect(Collectors.joining(" "));
    }

    /** Seconds with at most 6 significant digits and no trailing zeros ("0.5s"); "?" when unknown. */
    private static String secs(Object s) {
        double v = (Double) s;
        return Double.isNaN(v) ? "?" : new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros()
                .toPlainString() + "s";
    }
}
