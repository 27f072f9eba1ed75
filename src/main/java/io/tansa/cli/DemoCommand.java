package io.tansa.cli;

import io.tansa.capture.Callers;
import io.tansa.probe.CopyEngine;
import io.tansa.capture.StackCapture;
import io.tansa.demo.Workload;
import io.tansa.profile.Profile;
import io.tansa.report.TextRenderer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main job on a bundled workload ({@link Workload}: a small multi-threaded C "login
 * service" built with gcc and started): shows who calls its hot function — what
 * {@code tansa callers -p PID hash_password} prints on it. The workload is stopped afterwards.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run tansa callers on a bundled demo workload (a small C program built with gcc).")
public final class DemoCommand implements Callable<Integer> {
    @Option(names = {"-n", "--count"}, description = "Hits to capture (default ${DEFAULT-VALUE}).")
    long count = 400;

    @Override
    public Integer call() throws Exception {
        try (Workload w = Workload.start()) {
            int pid = w.pid();
            Path bin = w.binary();
            System.out.printf("Demo workload: %s (pid %d), two threads serving logins (3 in 4) and sign-ups (1 in 4).%n",
                    bin, pid);
            System.out.printf("$ tansa callers -p %d -n %d hash_password%n%n", pid, count);
            Progress progress = new Progress(false, "hits on hash_password", count, null);
            Profile p = Callers.run(Callers.Request.builder().pids(List.of(pid)).symbol("hash_password").count(count)
                    .duration(Duration.ofSeconds(60)).maxDepth(CallersCommand.MAX_FRAMES).onHit(progress::update)
                    .onAttached(progress::start).build(), new Callers.Run());
            progress.finish(p.meta().getOrDefault("stopped", ""));
            new TextRenderer().render(p, System.out);
            String mode = p.meta().getOrDefault("mode", "");
            System.out.printf("%n" + (mode.equals("kernel")
                    ? "The workload was never stopped: at each hit the kernel walked the thread's stack for tansa."
                    : mode.equals("copy")
                    ? "The workload was never stopped: at each hit the kernel copied the thread's registers and stack for tansa."
                    : "The workload was never stopped for more than one hit at a time.")
                    + " It is left exactly as it was.%n"
                    + "Next: tansa callers -p PID -f flamegraph -o callers.html SYMBOL, tansa top -p PID, tansa trace -c -p PID.%n");
            return 0;
        }
    }
}
