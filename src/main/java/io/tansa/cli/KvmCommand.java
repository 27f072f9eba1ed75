package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.kvm.KvmReport;
import io.tansa.kvm.KvmStat;
import io.tansa.proc.Vcpus;
import io.tansa.report.Format;
import io.tansa.report.KvmRender;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "kvm", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Per vCPU of a qemu-kvm: KVM_RUN calls and time inside, exits to user space by reason,",
            "I/O ports and MMIO addresses. From the kvm tracepoints; qemu is never stopped."},
        footer = {"", "Examples:", "  tansa kvm -p 1234 -d 5s", "  tansa kvm -a --watch 1s", "  tansa kvm -p 1234 -f json -d 10s",
            "  tansa kvm -- qemu-system-x86_64 -enable-kvm -smp 4 ..."})
public final class KvmCommand implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = {"-a", "--all"}, description = "Every VM on the host (every process holding a kvm-vm fd).")
    boolean all;

    @Option(names = {"-d", "--duration"}, paramLabel = "DURATION", description = "Stop after this long (10s, 500ms).")
    String duration;

    @Option(names = "--watch", paramLabel = "INTERVAL", description = "Print the counts so far every INTERVAL.")
    String watch;

    @Option(names = "--top", paramLabel = "N", description = "Ports and MMIO addresses shown per vCPU in text (default 5).")
    int top = 5;

    @Parameters(paramLabel = "QEMU_CMD", arity = "0..*",
            description = "A qemu-kvm to start and count from its first KVM_RUN (after --); tansa exits with its exit code.")
    List<String> command = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Format format = common.tableFormat(null);
        Duration d = Common.parseDuration(duration);
        Duration w = Common.parseDuration(watch);
        if (w != null && w.isZero()) throw new Failure(Failure.Kind.USAGE, "--watch needs an interval > 0");
        List<Integer> pids = new ArrayList<>(common.pids());
        if (all && !pids.isEmpty()) {
            throw new Failure(Failure.Kind.USAGE, "give -p PID or -a (not both)");
        }
        if (!command.isEmpty() && (all || !pids.isEmpty())) {
            throw new Failure(Failure.Kind.USAGE, "give -p PID, -a or -- QEMU_CMD (one of them)");
        }
        if (!command.isEmpty()) return launch(format, d, w);
        if (all) {
            for (java.nio.file.Path p : java.nio.file.Files.newDirectoryStream(java.nio.file.Path.of("/proc"), "[0-9]*")) {
                int pid = Integer.parseInt(p.getFileName().toString());
                if (pid != ProcessHandle.current().pid() && Vcpus.isVm(pid)) pids.add(pid);
            }
            if (pids.isEmpty()) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no KVM VM on this host");
        }
        if (pids.isEmpty()) throw new Failure(Failure.Kind.USAGE, "give -p PID or -a");
        PrintStream out = new PrintStream(common.openOutput(), false);
        List<KvmStat> stats = new ArrayList<>();
        try {
            for (int pid : pids) stats.add(KvmStat.attach(pid));
            common.info("tansa kvm: %d VM%s (%s); %s", stats.size(), stats.size() == 1 ? "" : "s", pids,
                    d != null ? "for " + duration : "Ctrl-C to stop");
            // Ctrl-C / SIGTERM: stop, close the events, print what was counted
            List<KvmReport> reports = new ArrayList<>();
            try (StopOnSignal onSignal = new StopOnSignal(() -> stats.forEach(KvmStat::stop))) {
                if (stats.size() == 1) {
                    reports.add(stats.get(0).run(d, w, r -> print(r, format, out)));
                } else {
                    // several VMs: one drain thread each, printed together at the end
                    List<Thread> ts = new ArrayList<>();
                    KvmReport[] rs = new KvmReport[stats.size()];
                    for (int i = 0; i < stats.size(); i++) {
                        int k = i;
                        ts.add(Thread.ofPlatform().start(() -> rs[k] = stats.get(k).run(d, null, r -> {})));
                    }
                    for (Thread t : ts) t.join();
                    reports.addAll(List.of(rs));
                }
                for (KvmReport r : reports) print(r, format, out);
                out.flush();
                if (common.output != null) out.close();
            }
        } finally {
            stats.forEach(KvmStat::close);
        }
        return 0;
    }

    /**
     * {@code -- QEMU_CMD}: started under the events, reported at its exit (or at -d, Ctrl-C: then the
     * events are closed and qemu runs on untraced until it exits); its exit code is tansa's.
     */
    private int launch(Format format, Duration d, Duration w) throws Exception {
        Process child;
        try (KvmStat k = KvmStat.launch(command)) {
            child = k.child();
            PrintStream out = new PrintStream(common.openOutput(), false);
            common.info("tansa kvm: started %s (pid %d); %s", command.get(0), k.child().pid(),
                    d != null ? "for " + duration : "report at its exit or Ctrl-C");
            try (StopOnSignal onSignal = new StopOnSignal(k::stop)) {
                KvmReport r = k.run(d, w, x -> print(x, format, out));
                print(r, format, out);
                out.flush();
                if (common.output != null) out.close();
            }
        }
        return child.waitFor();
    }

    private void print(KvmReport r, Format format, PrintStream out) {
        if (format == Format.JSON) KvmRender.json(r, r.comm(), out);
        else KvmRender.text(r, r.comm(), top, out);
        out.flush();
    }
}
