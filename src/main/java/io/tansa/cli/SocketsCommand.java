package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.proc.IdentityReader;
import io.tansa.profile.Identity;
import io.tansa.net.Sockets;
import io.tansa.report.Format;
import io.tansa.report.SocketsJson;
import io.tansa.report.SocketsText;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
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

    @Override
    public Integer call() {
        if (all && !common.pids().isEmpty()) throw new Failure(Failure.Kind.USAGE, "use either -p PID or -a, not both");
        Format format = common.tableFormat("sockets");
        if (duration != null && watch == null) throw new Failure(Failure.Kind.USAGE, "-d goes with --watch");
        OutputStream os = common.openOutput();
        PrintStream out = new PrintStream(os, true, StandardCharsets.UTF_8);
        boolean json = format == Format.JSON;
        java.util.Map<Integer, Identity> known = new java.util.HashMap<>();
        java.util.function.Function<Integer, Identity> ids = pid -> known.computeIfAbsent(pid, p -> {
            try {
                return IdentityReader.of(p);
            } catch (Failure gone) {
                return Identity.plain(p);
            }
        });
        if (watch != null) {
            Duration interval = Common.parseDuration(watch);
            if (interval.isZero() || interval.isNegative()) throw new Failure(Failure.Kind.USAGE, "--watch needs an interval > 0");
            common.info("watching listeners every %s%s (Ctrl-C stops)", watch, duration == null ? "" : " for " + duration);
            Sockets.watch(common.pids(), interval, Common.parseDuration(duration), (at, samples) -> {
                if (json) SocketsJson.watch(at, samples, ids, out);
                else SocketsText.watch(at, samples, ids, out);
            });
        } else {
            List<Sockets.Row> rows = Sockets.query(common.pids(), listen);
            if (json) SocketsJson.render(rows, ids, out);
            else SocketsText.render(rows, ids, out);
        }
        out.flush();
        Common.uncheckedClose(os);
        return 0;
    }
}
