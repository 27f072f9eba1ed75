package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.net.FdReport;
import io.tansa.report.JsonValue;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "fds", mixinStandardHelpOptions = true,
        description = {"What a process holds: every fd typed, with details and peers.",
            "Types: file, pipe, unix, tcp, eventfd, epoll, anon_inode:kvm-vcpu, ...; details from fdinfo "
                + "(flags, pos, counts, watches, timers), socket addresses and queues from sock_diag, and the "
                + "process/fd at the other end of UNIX sockets and pipes."})
public final class FdsCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--summary", description = "Group the fds: '24 × anon_inode:kvm-vcpu', '3 × tcp listen'.")
    boolean summary;

    @Override
    public Integer call() {
        if (common.pids.size() != 1) throw new Failure(Failure.Kind.USAGE, "fds needs exactly one -p PID");
        if (!List.of("text", "json").contains(common.format)) {
            throw new Failure(Failure.Kind.USAGE, "fds formats: text, json (not '" + common.format + "')");
        }
        FdReport r = FdReport.inspect(common.pids.get(0));
        OutputStream os = common.openOutput();
        PrintStream out = new PrintStream(os, false, StandardCharsets.UTF_8);
        if (common.format.equals("json")) out.println(json(r, summary));
        else out.print(summary ? summaryText(r) : text(r));
        out.flush();
        Common.uncheckedClose(os);
        return 0;
    }

    static String json(FdReport r, boolean summary) {
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("pid", r.pid());
        top.put("comm", r.comm());
        if (summary) {
            top.put("total", r.fds().size());
            top.put("summary", r.summary());
        } else {
            top.put("fds", r.fds().stream().map(e -> {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("fd", e.fd());
                m.put("type", e.type());
                m.put("target", e.target());
                m.putAll(e.details());
                return m;
            }).toList());
        }
        return JsonValue.of(top);
    }

    static String summaryText(FdReport r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s (pid %d): %d fds%n", r.comm(), r.pid(), r.fds().size()));
        for (FdReport.Group g : r.summary()) b.append(String.format(Locale.ROOT, "%6d × %s%n", g.count(), g.what()));
        return b.toString();
    }

    static String text(FdReport r) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%s (pid %d): %d fds%n", r.comm(), r.pid(), r.fds().size()));
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
            case "eventfd" -> b.append("count ").append(d.get("count"));
            case "epoll" -> b.append("watches fds ").append(join(d.get("watches")));
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
            case "anon_inode" -> b.append(e.target());
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
        return b.toString();
    }

    private static void queues(StringBuilder b, Map<String, Object> d) {
        if (d.containsKey("queued")) b.append("  queued ").append(d.get("queued")).append('/').append(d.get("backlog"));
        else if (d.containsKey("recv_q")) b.append("  q ").append(d.get("recv_q")).append('/').append(d.get("send_q"));
    }

    private static String join(Object list) {
        return ((List<?>) list).stream().map(String::valueOf).collect(Collectors.joining(" "));
    }

    private static String secs(Object s) {
        double v = (Double) s;
        return Double.isNaN(v) ? "?" : new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros()
                .toPlainString() + "s";
    }
}
