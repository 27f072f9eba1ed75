package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.proc.IdentityReader;
import io.tansa.report.Format;
import io.tansa.report.TraceLines;
import io.tansa.report.TraceSummaryJson;
import io.tansa.report.TraceSummaryText;
import io.tansa.trace.NamedCalls;
import io.tansa.trace.Summary;
import io.tansa.trace.SyscallTable;
import io.tansa.trace.SyscallTracer;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "trace", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Which syscalls and ioctls a process makes, per thread, without stopping it.",
            "Reads the raw_syscalls tracepoints through perf events; entry and exit are joined per thread."},
        footer = {"", "Examples:", "  tansa trace -p 1234 -c            summary until Ctrl-C",
            "  tansa trace -p 1234 -e ioctl --fds -T", "  tansa trace -c -f json -- ./prog arg"})
public final class TraceCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = {"-c", "--summary"}, description = "Print a summary (calls, errors, time) at the end instead of each call.")
    boolean summary;

    @Option(names = "--per-thread", description = "With -c: a table per thread too.")
    boolean perThread;

    @Option(names = {"-e", "--syscalls"}, paramLabel = "SYSCALLS", split = ",",
            description = "Only these syscalls (comma list, e.g. ioctl,read); filtered in the kernel.")
    List<String> syscalls = new ArrayList<>();

    @Option(names = "-T", description = "Show the time spent in each call.")
    boolean timing;

    @Option(names = "--fds", description = "Show what fd arguments are (15<anon_inode:kvm-vcpu:0>).")
    boolean fds;

    @Option(names = "--children", description = "Follow child processes too (threads are always followed).")
    boolean children;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", description = "Stop after this long (10s, 500ms, 2m).")
    String duration;

    @Option(names = "--buffer", paramLabel = "MIB", description = "Ring buffer per CPU in MiB (default: 64 MiB over all CPUs, at most 16 per CPU).")
    int bufferMib;

    @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "Program to start and trace (after --).")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Format format = common.tableFormat(null);
        if (format == Format.JSON && !summary) {
            throw new Failure(Failure.Kind.USAGE, "-f json needs -c (the summary is the JSON output)");
        }
        if (perThread && !summary) throw new Failure(Failure.Kind.USAGE, "--per-thread needs -c");
        Set<Integer> only = parseSyscalls(syscalls);
        Duration d = Common.parseDuration(duration);
        if (bufferMib < 0 || bufferMib > 1024) throw new Failure(Failure.Kind.USAGE, "--buffer takes 1..1024 (MiB)");
        // pages, rounded down to a power of two as perf requires
        int pages = bufferMib == 0 ? 0 : Integer.highestOneBit(bufferMib * 256);
        io.tansa.proc.Needs.trace();
        SyscallTracer.Options opts = new SyscallTracer.Options(common.pids(), command, children, d, only, pages);
        PrintStream out = new PrintStream(common.openOutput(), false);
        Summary sum = summary ? new Summary(perThread) : null;
        java.util.List<io.tansa.profile.Identity> targets = List.copyOf(IdentityReader.of(common.pids()).values());
        java.util.Map<Integer, Integer> nsTids = new java.util.concurrent.ConcurrentHashMap<>();
        boolean otherNs = targets.stream().anyMatch(io.tansa.profile.Identity::otherPid);
        // a thread seen first in a line (born during the trace, or of a child): its NSpid read then
        java.util.function.IntUnaryOperator lineNs = !otherNs ? java.util.function.IntUnaryOperator.identity()
                : tid -> nsTids.computeIfAbsent(tid, t -> IdentityReader.nsTid(t, t));
        SyscallTracer.Listener listener = sum != null ? sum : new NamedCalls(new TraceLines(out, timing, lineNs), fds);

        try (SyscallTracer tracer = SyscallTracer.attach(opts)) {
            for (io.tansa.profile.Identity id : targets) { // before they exit: a gone thread has no NSpid
                if (!id.otherPid()) continue;
                try {
                    for (int tid : io.tansa.proc.ProcFs.tasks(id.pid())) nsTids.put(tid, IdentityReader.nsTid(id.pid(), tid));
                } catch (Failure gone) {
                    // exited already
                }
            }
            if (!summary && !common.quiet) System.err.print(io.tansa.report.Who.lines(targets));
            common.info("tansa trace: %s (%d thread%s); %s", command.isEmpty() ? "pid " + common.pids() : command.get(0),
                    tracer.threadsAttached(), tracer.threadsAttached() == 1 ? "" : "s",
                    d != null ? (summary ? "summary after " : "for ") + duration
                            : summary ? "summary at exit or Ctrl-C" : "Ctrl-C to stop");
            // Ctrl-C / SIGTERM: stop, detach, print what was captured, then let the JVM exit
            try (StopOnSignal onSignal = new StopOnSignal(tracer::stop)) {
                tracer.run(listener);
                if (tracer.lost() > 0) {
                    common.info("tansa trace: %d records lost (ring buffer full); counts are low", tracer.lost());
                }
                if (sum != null) {
                    java.util.function.IntUnaryOperator ns = tid -> nsTids.getOrDefault(tid, tid);
                    if (format == Format.JSON) TraceSummaryJson.render(sum, tracer.lost(), targets, ns, out);
                    else TraceSummaryText.render(sum, tracer.lost(), targets, ns, out);
                }
                out.flush();
                if (common.output != null) out.close();
            }
            Process child = tracer.child();
            return child == null ? 0 : child.waitFor();
        }
    }

    static Set<Integer> parseSyscalls(List<String> names) {
        if (names.isEmpty()) return null;
        Set<Integer> out = new LinkedHashSet<>();
        for (String n : names) {
            int nr = SyscallTable.number(n.trim());
            if (nr < 0) throw new Failure(Failure.Kind.USAGE, "unknown syscall '" + n + "'");
            out.add(nr);
        }
        return out;
    }
}
