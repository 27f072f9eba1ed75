package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.net.Sockets;
import io.tansa.report.JsonValue;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "sockets", mixinStandardHelpOptions = true,
        description = {"How listeners queue: connections waiting for accept() vs backlog.",
            "For each UNIX (stream/seqpacket) and TCP listener: queued and backlog from sock_diag (as ss -xlp / "
                + "-tlnp print them), and the processes holding it; other network namespaces are entered."})
public final class SocketsCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = {"-a", "--all"}, description = "All processes (the default without -p).")
    boolean all;

    @Option(names = {"-l", "--listen"}, description = "Listeners only.")
    boolean listen;

    @Option(names = "--watch", paramLabel = "INTERVAL",
            description = "Sample the listeners every INTERVAL (e.g. 1s, 200ms): current/peak queue; until Ctrl-C or -d.")
    String watch;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", description = "With --watch: stop after DURATION.")
    String duration;

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSS");

    @Override
    public Integer call() {
        if (all && !common.pids.isEmpty()) throw new Failure(Failure.Kind.USAGE, "use either -p PID or -a, not both");
        if (!List.of("text", "json").contains(common.format)) {
            throw new Failure(Failure.Kind.USAGE, "sockets formats: text, json (not '" + common.format + "')");
        }
        if (duration != null && watch == null) throw new Failure(Failure.Kind.USAGE, "-d goes with --watch");
        OutputStream os = common.openOutput();
        PrintStream out = new PrintStream(os, true, StandardCharsets.UTF_8);
        boolean json = common.format.equals("json");
        if (watch != null) {
            Duration interval = Common.parseDuration(watch);
            if (interval.isZero() || interval.isNegative()) throw new Failure(Failure.Kind.USAGE, "--watch needs an interval > 0");
            common.info("watching listeners every %s%s (Ctrl-C stops)", watch, duration == null ? "" : " for " + duration);
            Sockets.watch(common.pids, interval, Common.parseDuration(duration), (at, samples) -> {
                String t = LocalTime.ofInstant(at, ZoneId.systemDefault()).format(TIME);
                if (json) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("time", at.toString());
                    m.put("sockets", samples.stream().map(s -> {
                        Map<String, Object> r = row(s.row());
                        r.put("peak", s.peak());
                        r.put("full", s.row().full());
                        return r;
                    }).toList());
                    out.println(JsonValue.of(m));
                } else {
                    for (Sockets.Sample s : samples) {
                        Sockets.Row r = s.row();
                        out.printf(Locale.ROOT, "%s %-5s %-40s queued %4d/%-4d peak %4d  %s%s%n", t, r.proto(),
                                r.local(), r.queued(), r.backlog(), s.peak(), owners(r), r.full() ? "  ◀ FULL" : "");
                    }
                }
            });
        } else {
            List<Sockets.Row> rows = Sockets.query(common.pids, listen);
            if (json) out.println(JsonValue.of(Map.of("sockets", rows.stream().map(SocketsCommand::row).toList())));
            else out.print(text(rows));
        }
        out.flush();
        Common.uncheckedClose(os);
        return 0;
    }

    static Map<String, Object> row(Sockets.Row r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("proto", r.proto());
        if (r.type() != null) m.put("type", r.type());
        m.put("local", r.local());
        if (r.remote() != null) m.put("remote", r.remote());
        m.put("state", r.state());
        m.put(r.listening() ? "queued" : "recv_q", r.queued());
        m.put(r.listening() ? "backlog" : "send_q", r.backlog());
        m.put("pids", r.owners().stream().map(Sockets.Owner::pid).distinct().toList());
        m.put("owners", r.owners());
        m.put("inode", r.inode());
        if (r.netns() != null) m.put("netns", r.netns());
        return m;
    }

    static String text(List<Sockets.Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-5s %-9s %-12s %-40s %-15s %s%n", "PROTO", "TYPE", "STATE", "LOCAL",
                "QUEUED/BACKLOG", "HELD BY"));
        for (Sockets.Row r : rows) {
            String q = r.listening() ? r.queued() + "/" + r.backlog() + (r.full() ? " FULL" : "")
                    : "q " + r.queued() + "/" + r.backlog();
            String local = r.local() + (r.remote() != null ? " → " + r.remote() : "");
            b.append(String.format(Locale.ROOT, "%-5s %-9s %-12s %-40s %-15s %s%s%n", r.proto(),
                    r.type() == null ? "" : r.type(), r.state(), local, q, owners(r),
                    r.netns() == null ? "" : "  (" + r.netns() + ")"));
        }
        return b.toString();
    }

    private static String owners(Sockets.Row r) {
        Map<Integer, List<Sockets.Owner>> byPid = r.owners().stream()
                .collect(Collectors.groupingBy(Sockets.Owner::pid, LinkedHashMap::new, Collectors.toList()));
        return byPid.values().stream().map(os -> os.get(0).comm() + "[" + os.get(0).pid() + "] fd "
                + os.stream().map(o -> Integer.toString(o.fd())).collect(Collectors.joining(",")))
                .collect(Collectors.joining(" "));
    }
}
