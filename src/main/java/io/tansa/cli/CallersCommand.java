package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.proc.IdentityReader;
import io.tansa.proc.Needs;
import io.tansa.proc.ProcFs;
import io.tansa.capture.Callers;
import io.tansa.capture.StackCapture;
import io.tansa.probe.CopyEngine;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "callers", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Who calls this function: probe SYMBOL in every thread of the targets and rank the call paths.",
            "SYMBOL is name, object:name (e.g. libcrypt.so.1:crypt_ra) or name+0xOFF.",
            "With -- CMD ARGS the program is started under tansa and traced from its first instruction."},
        footer = {"", "Examples:", "  tansa callers -p 1234 crypt_ra", "  tansa callers -p 1234 -n 200 -f json libc.so.6:malloc", "  tansa callers -n 0 crypt_ra -- ruby app.rb"})
public final class CallersCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = {"-n", "--count"}, paramLabel = "COUNT", description = "Stop after COUNT hits (default ${DEFAULT-VALUE}; 0 = no limit).")
    long count = 1000;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", description = "Stop after this long (e.g. 10s, 500ms; default ${DEFAULT-VALUE}).")
    String duration = "60s";

    @Option(names = "--rate", paramLabel = "HZ", description = "At most HZ captured hits per second (default ${DEFAULT-VALUE}; 0 = no cap). Hits above the cap are not stopped for.")
    double rate = 1000;

    @Option(names = "--children", description = "Also trace child processes forked by the targets while tracing.")
    boolean children;

    @Mixin ShapeOptions shape;

    @Option(names = "--ruby-layout", paramLabel = "SERIES", description = "Read a Ruby whose series tansa has no layout"
            + " for with the layout of SERIES (e.g. 3.4), marked unverified.")
    void rubyLayout(String series) {
        io.tansa.ruby.RubyReader.forceLayout(series);
    }

    @Option(names = "--lang", paramLabel = "LANG", description = "auto, native or ruby (default auto).")
    StackCapture.Lang lang = StackCapture.Lang.AUTO;

    @Option(names = "--mode", paramLabel = "MODE", description = "copy: the thread never stops, the kernel copies its"
            + " registers and stack (--stack-copy) and, in Ruby, its Ruby frames at each hit; stop: the thread stops while"
            + " its stack is read (for stacks deeper than the copy); kernel: the stack is walked in the kernel at the hit"
            + " (DWARF rules reduced to eBPF tables, up to 256 frames), only return addresses copied; auto (default): kernel"
            + " where this kernel allows it (it says why not), copy in Ruby processes, or stop where Ruby frames cannot"
            + " be copied (no BTF or CAP_BPF).")
    Callers.Mode mode = Callers.Mode.AUTO;

    @Option(names = "--check-walk", description = "Walk each hit's stack in the kernel and also copy it, unwind the copy"
            + " in user space and report every difference (implies --mode kernel).")
    boolean checkWalk;

    @Option(names = "--stack-copy", paramLabel = "BYTES", description = "Bytes of stack the kernel copies at each hit"
            + " in copy mode (default 16k, at most 65016); deeper callers show as [unknown].")
    String stackCopy = "16k";

    @Option(names = "--lines", description = "Show the source file and line of native frames whose objects have DWARF line tables"
            + " (in the object or its separate debug file); calls from different lines of a function become different paths.")
    boolean lines;

    @Parameters(index = "0", paramLabel = "SYMBOL", description = "Function to probe.")
    String symbol;

    @Parameters(index = "1..*", paramLabel = "CMD", description = "After --: a program to start and trace from its first instruction.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws IOException {
        io.tansa.Timing.mark("options parsed");
        List<Integer> pids = new ArrayList<>(common.pids());
        if (!pids.isEmpty() && !command.isEmpty()) throw new Failure(Failure.Kind.USAGE, "give -p PID or -- CMD, not both");
        Formats.choose(common.format, common.output); // a bad -f or shaping option fails before attaching
        shape.shape();
        Duration limit = Common.parseDuration(duration);
        // what this mode needs, named before anything touches a target (README, "Containers")
        if (mode == Callers.Mode.STOP) Needs.callersStop(pids);
        else Needs.callersCopy(pids, lang != io.tansa.capture.StackCapture.Lang.NATIVE);
        io.tansa.Timing.mark("needs checked");
        Progress progress = new Progress(common.quiet, "hits on " + symbol, count, limit);
        Callers.Run handle = new Callers.Run();
        // Ctrl-C / SIGTERM: stop, detach, print what was captured, then let the JVM exit
        try (StopOnSignal onSignal = new StopOnSignal(handle::stop)) {
            return capture(pids, limit, progress, handle);
        }
    }

    private int capture(List<Integer> pids, Duration limit, Progress progress, Callers.Run handle) throws IOException {
        try {
            // named both ways before the capture: a target that exits during it keeps its container pid
            java.util.Map<Integer, io.tansa.profile.Identity> ids = new java.util.LinkedHashMap<>(IdentityReader.of(pids));
            Profile p = Callers.run(Callers.Request.builder().pids(pids).command(command).symbol(symbol).count(count)
                    .duration(limit).rate(rate).children(children).maxDepth(MAX_FRAMES).lang(lang).mode(checkWalk ? Callers.Mode.CHECK_WALK : mode)
                    .stackCopy(stackCopy()).log(common.quiet ? null : s -> common.info("tansa: %s", s))
                    .onHit(progress::update).onAttached(progress::start).lines(lines).build(), handle);
            for (io.tansa.profile.Stack s : p.stacks()) {
                if (!ids.containsKey(s.pid()) && ProcFs.exists(s.pid())) ids.putAll(IdentityReader.of(List.of(s.pid())));
            }
            p.targets(List.copyOf(ids.values()));
            String stopped = p.meta().getOrDefault("stopped", "");
            String accounting = io.tansa.report.TextRenderer.accounting(p);
            progress.finish(stopped + (accounting.isEmpty() ? "" : "; " + accounting));
            Formats.output(p, common, shape);
            io.tansa.Timing.mark("output written");
            if (stopped.equals("target exited") && !common.pids().isEmpty()) {
                common.info("tansa: target exited during the capture: %s", p.meta().getOrDefault("exited", ""));
                return Failure.Kind.TARGET_EXITED.exitCode;
            }
            // -- CMD that ended during the capture: its exit code (128 + N when killed by signal N)
            String exit = p.meta().get("exit_code");
            if (!command.isEmpty() && exit != null) return Integer.parseInt(exit);
            return 0;
        } catch (RuntimeException | Error e) {
            // during a SIGINT/SIGTERM shutdown the JVM halts as soon as StopOnSignal is closed,
            // before picocli could print this: say it here
            if (handle.stopped()) System.err.println("tansa: " + Main.classify(e) + ": " + e);
            throw e;
        }
    }

    private int stackCopy() {
        String v = stackCopy.trim().toLowerCase(java.util.Locale.ROOT);
        int n;
        try {
            n = v.endsWith("k") ? Integer.parseInt(v.substring(0, v.length() - 1)) * 1024 : Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new Failure(Failure.Kind.USAGE, "--stack-copy takes a byte count such as 16384 or 16k, not '" + stackCopy + "'");
        }
        if (n < 8 || n > CopyEngine.MAX_STACK_COPY || n % 8 != 0) {
            throw new Failure(Failure.Kind.USAGE, "--stack-copy must be a multiple of 8 between 8 and "
                    + CopyEngine.MAX_STACK_COPY + ", not " + n);
        }
        return n;
    }

    /** Frames captured per hit (shaping's --max-depth cuts what is shown). */
    static final int MAX_FRAMES = 256;
}
