package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.report.TopTable;
import io.tansa.report.TopTableJson;
import io.tansa.report.TopTableText;
import io.tansa.sample.Top;
import io.tansa.symbols.ProcessSymbols;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "top", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Which functions burn CPU: sample the targets (or every cpu) and rank functions, like perf top.",
            "Refreshes in place every second on a terminal; --once prints one table at the end."},
        footer = {"", "Examples:", "  tansa top -p 1234", "  tansa top -p 1234 --once -d 5s -f json", "  tansa top -a -g"})
public final class TopCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = {"-a", "--all-cpus"}, description = "Sample every process on every cpu (rows show the command).")
    boolean all;

    @Option(names = {"-F", "--freq"}, paramLabel = "HZ", description = "Samples per second per cpu (default ${DEFAULT-VALUE}).")
    int frequency = 999;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION",
            description = "Stop after this long (default 5s with --once, else 10m).")
    String duration;

    @Option(names = "--once", description = "Print one table when sampling ends instead of refreshing.")
    boolean once;

    @Option(names = {"-g", "--call-graph"}, description = "Record call chains (frame pointers): Children and Self columns.")
    boolean callGraph;

    @Option(names = "--lang", paramLabel = "LANG", description = "auto, native or ruby (default ${DEFAULT-VALUE}).")
    String lang = "auto";

    @Option(names = {"-n", "--rows"}, paramLabel = "N", description = "Rows in the text table (default ${DEFAULT-VALUE}; 0 = all).")
    int rows = 25;

    @Override
    public Integer call() throws IOException {
        if (all != common.pids.isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, all ? "-a and -p exclude each other" : "give -p PID or -a");
        }
        switch (lang) {
            case "auto", "native" -> { }
            case "ruby" -> throw new Failure(Failure.Kind.UNSUPPORTED,
                    "--lang ruby: the Ruby-level table is not implemented yet (use --lang native)");
            default -> throw new Failure(Failure.Kind.USAGE, "unknown --lang '" + lang + "' (auto, native, ruby)");
        }
        if (!common.format.equals("text") && !common.format.equals("json")) {
            throw new Failure(Failure.Kind.USAGE, "unknown format '" + common.format + "' (text, json)");
        }
        if (frequency <= 0) throw new Failure(Failure.Kind.USAGE, "-F must be at least 1 Hz");
        Duration d = Common.parseDuration(duration != null ? duration : once ? "5s" : "10m");
        boolean json = common.format.equals("json");
        boolean live = !once && common.output == null && System.console() != null && System.console().isTerminal() && !json;
        AtomicBoolean stop = new AtomicBoolean();
        // Ctrl-C / SIGTERM: stop, detach, print what was captured, then let the JVM exit
        try (StopOnSignal onSignal = new StopOnSignal(() -> stop.set(true)); OutputStream os = common.openOutput()) {
            PrintStream out = new PrintStream(os, false, StandardCharsets.UTF_8);
            if (!once) common.info("tansa: sampling %s at %d Hz for %s (Ctrl-C to stop)",
                    all ? "all cpus" : "pid " + common.pids.stream().map(String::valueOf)
                            .collect(java.util.stream.Collectors.joining(", ")), frequency, duration != null ? duration : "10m");
            Top.Result r = Top.run(new Top.Request(common.pids, all, frequency, d, callGraph, Duration.ofSeconds(1)),
                    pid -> new ProcessSymbols(pid)::frame, stop::get,
                    once ? t -> { } : t -> print(t, out, json, live));
            print(r.table(), out, json, live);
            out.flush();
            if (r.stop() == Top.Stop.TARGET_EXITED) {
                common.info("tansa: the target exited; the table shows what was sampled until then");
                return Failure.Kind.TARGET_EXITED.exitCode;
            }
            return 0;
        }
    }

    private void print(TopTable t, PrintStream out, boolean json, boolean live) {
        try {
            if (json) {
                TopTableJson.render(t, out);
                return;
            }
            if (live) out.print("\033[H\033[2J"); // cursor home, clear screen: refresh in place
            else if (!once) out.println();
            TopTableText.render(t, out, rows);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
