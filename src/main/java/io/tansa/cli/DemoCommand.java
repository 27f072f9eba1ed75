package io.tansa.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run tansa callers on a bundled demo workload (builds it with gcc).")
public final class DemoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        System.out.println("demo: not yet");
        return 0;
    }
}
