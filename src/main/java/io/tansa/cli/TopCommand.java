package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.profile.TopTable;
import io.tansa.report.Format;
import io.tansa.report.TopTableJson;
import io.tansa.report.TopTableText;
import io.tansa.top.RubyTop;
import io.tansa.top.Top;
import io.tansa.top.TopSession;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
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

    @Option(names = {"-F", "--freq"}, paramLabel = "HZ",
            description = "Samples per second per cpu (default 999; with --lang ruby per thread's CPU second, default 99, at most 1000).")
    Integer frequency;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION",
            description = "Stop after this long (default 5s with --once, else 10m).")
    String duration;

    @Option(names = "--once", description = "Print one table when sampling ends instead of refreshing.")
    boolean once;

    @Option(names = "-g", description = "Record call chains: Children and Self columns (DWARF unwinding, see --call-graph).")
    boolean callGraph;

    @Option(names = "--call-graph", paramLabel = "dwarf|fp", description = "How -g finds callers: dwarf (default) unwinds"
            + " 8 KiB of user stack copied per sample with the objects' CFI, right for code built without frame pointers;"
            + " fp follows frame pointers in the kernel (cheaper, wrong where they are omitted). Implies -g.")
    String callGraphMode;

    @Option(names = "--ruby-layout", paramLabel = "SERIES", description = "Read a Ruby whose series tansa has no layout"
            + " for with the layout of SERIES (e.g. 3.4), marked unverified.")
    void rubyLayout(String series) {
        io.tansa.ruby.RubyReader.forceLayout(series);
    }

    @Option(names = "--lang", paramLabel = "LANG",
            description = "auto, native or ruby: Ruby methods of the thread on CPU (default ${DEFAULT-VALUE}: native functions).")
    String lang = "auto";

    @Option(names = "--group-by", paramLabel = "command|container|thread|process",
            description = "One row per function and command (-a's default), container (with -a: runtime and short id"
                    + " from the process's cgroup; '-' for processes in no container), thread (TID:name, a qemu vCPU"
                    + " thread without a name of its own is 'vCPU N') or process (PID:name).")
    String groupBy;

    @Option(names = {"-n", "--rows"}, paramLabel = "N", description = "Rows in the text table (default ${DEFAULT-VALUE}; 0 = all).")
    int rows = 25;

    private boolean callGraph() {
        return callGraph || callGraphMode != null;
    }

    private boolean dwarf() {
        if (callGraphMode == null) return callGraph;
        return switch (callGraphMode) {
            case "dwarf" -> true;
            case "fp" -> false;
            default -> throw new Failure(Failure.Kind.USAGE, "--call-graph must be dwarf or fp, not '" + callGraphMode + "'");
        };
    }

    @Override
    public Integer call() throws IOException {
        if (all != common.pids().isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, all ? "-a and -p exclude each other" : "give -p PID or -a");
        }
        boolean ruby = switch (lang) {
            case "auto", "native" -> false;
            case "ruby" -> true;
            default -> throw new Failure(Failure.Kind.USAGE, "unknown --lang '" + lang + "' (auto, native, ruby)");
        };
        Top.Group group = groupBy == null ? null : switch (groupBy) {
            case "command" -> Top.Group.COMMAND;
            case "container" -> Top.Group.CONTAINER;
            case "thread" -> Top.Group.THREAD;
            case "process" -> Top.Group.PROCESS;
            default -> throw new Failure(Failure.Kind.USAGE,
                    "--group-by must be command, container, thread or process, not '" + groupBy + "'");
        };
        if (group == Top.Group.CONTAINER && !all) throw new Failure(Failure.Kind.USAGE, "--group-by container goes with -a");
        if (group != null && ruby) throw new Failure(Failure.Kind.USAGE, "--group-by does not go with --lang ruby");
        if (ruby && all) throw new Failure(Failure.Kind.USAGE, "--lang ruby samples Ruby processes: give -p PID, not -a");
        Format format = common.tableFormat(null);
        int frequency = this.frequency != null ? this.frequency : ruby ? 99 : 999;
        if (frequency <= 0) throw new Failure(Failure.Kind.USAGE, "-F must be at least 1 Hz");
        if (ruby) RubyTop.checkFrequency(frequency);
        // bad input first (exit 2), then what the run needs (exit 4, 12)
        io.tansa.proc.Needs.top(all, ruby, common.pids());
        Duration d = Common.parseDuration(duration != null ? duration : once ? "5s" : "10m");
        boolean json = format == Format.JSON;
        boolean live = !once && common.output == null && System.console() != null && System.console().isTerminal() && !json;
        if (ruby && frequency > RubyTop.MAX_FREQUENCY) {
            throw new Failure(Failure.Kind.USAGE, "-F for Ruby must be between 1 and " + RubyTop.MAX_FREQUENCY
                    + " Hz (each sample stops the sampled thread while its Ruby frames are read)");
        }
        io.tansa.proc.Needs.top(all, ruby, common.pids()); // after the usage checks, before any target is touched
        AtomicBoolean stop = new AtomicBoolean();
        // Ctrl-C / SIGTERM: stop, detach, print what was captured, then let the JVM exit
        try (StopOnSignal onSignal = new StopOnSignal(() -> stop.set(true)); OutputStream os = common.openOutput()) {
            PrintStream out = new PrintStream(os, false, StandardCharsets.UTF_8);
            if (!once) common.info("tansa: sampling %s at %d Hz for %s (Ctrl-C to stop)",
                    all ? "all cpus" : "pid " + common.pids().stream().map(String::valueOf)
                            .collect(java.util.stream.Collectors.joining(", ")), frequency, duration != null ? duration : "10m");
            Consumer<TopTable> update = once ? t -> { } : t -> print(t, out, json, live);
            Top.Result r = ruby
                    ? RubyTop.run(new RubyTop.Request(common.pids(), frequency, d, Duration.ofSeconds(1)), stop::get, update,
                            common.quiet ? null : s -> common.info("tansa: %s", s))
                    : TopSession.run(new Top.Request(common.pids(), all, frequency, d, callGraph(), Duration.ofSeconds(1),
                            dwarf() ? TopSession.DWARF_STACK_COPY : 0, group), stop::get, update);
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
            if (once) TopTableText.render(t, out, rows);
            else TopTableText.refresh(t, out, rows, live);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
