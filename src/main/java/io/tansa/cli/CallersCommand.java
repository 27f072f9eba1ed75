package io.tansa.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "callers", mixinStandardHelpOptions = true, description = "Who calls this function.")
public final class CallersCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}
