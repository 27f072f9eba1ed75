package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.sys.SysException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Entry point. Parses options, calls one library entry point per command, and turns failures
 * into one message on stderr and the exit code of their kind ({@link Failure.Kind}).
 */
@Command(name = "tansa", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Look inside a live Linux process without restarting it.",
        footer = {"", "Exit codes: 0 ok, 1 internal error, 2 usage, 3 no such process,",
            "  4 permission, 5 symbol not found, 6 ambiguous, 7 target exited,",
            "  8 unsupported by this kernel, 9 binary deleted or replaced, 10 namespace,",
            "  11 no such container or cgroup, 12 tracefs not mounted."})
public class Main implements Runnable {
    /**
     * Every subcommand. Picocli builds the model of each from its annotations by reflection, a
     * tenth of a second for all of them on a cold JVM: a run of one command builds only its own
     * ({@link #commandLine(String[])}); help, man pages and completion use {@link Full}.
     */
    static final List<Class<?>> COMMANDS = List.of(CallersCommand.class, TraceCommand.class, KvmCommand.class, DemoCommand.class,
            ReportCommand.class, DiffCommand.class, FdsCommand.class, SocketsCommand.class, TopCommand.class,
            ServeCommand.class);

    /** The whole command tree, as man pages, completion and `tansa --help` show it. */
    @Command(subcommands = {
        CallersCommand.class,
        TraceCommand.class,
        KvmCommand.class,
        DemoCommand.class,
        ReportCommand.class,
        DiffCommand.class,
        FdsCommand.class,
        SocketsCommand.class,
        TopCommand.class,
        ServeCommand.class,
        CommandLine.HelpCommand.class,
    })
    public static final class Full extends Main {}

    @Option(names = "--verbose", description = "Show stack traces of internal errors.", scope = CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    public static void main(String[] args) {
        io.tansa.Timing.mark("main");
        // callers: the kernel interfaces linked while picocli builds the command and parses the options
        if ("callers".equals(commandName(args))) io.tansa.capture.Callers.prewarm();
        int code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        io.tansa.Timing.mark("exit");
        System.exit(code);
    }

    /** Runs the CLI in-process (tests use this with captured writers). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        if (args.length == 1 && (args[0].equals("--version") || args[0].equals("-V"))) {
            // the version alone: no command model to build (picocli would build the whole tree)
            try {
                for (String line : new Version().getVersion()) out.println(line);
            } catch (java.io.IOException e) {
                err.println("tansa: " + e.getMessage());
                return Failure.Kind.INTERNAL.exitCode;
            }
            out.flush();
            return 0;
        }
        CommandLine cl = commandLine(args);
        io.tansa.Timing.mark("command line model built");
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    /** The command line for these arguments: only the named subcommand's model when one is named. */
    static CommandLine commandLine(String[] args) {
        String name = commandName(args);
        for (Class<?> c : COMMANDS) {
            if (c.getAnnotation(Command.class).name().equals(name)) {
                CommandLine cl = new CommandLine(new Main());
                try {
                    cl.addSubcommand(c.getDeclaredConstructor().newInstance());
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
                return configure(cl); // after the subcommand: picocli's setters reach only those added before
            }
        }
        return commandLine();
    }

    /** The subcommand named (the first argument that is not an option), or null. */
    private static String commandName(String[] args) {
        for (String a : args) if (!a.startsWith("-")) return a;
        return null;
    }

    /** The whole command tree. */
    public static CommandLine commandLine() {
        return configure(new CommandLine(new Full()));
    }

    private static CommandLine configure(CommandLine cl) {
        cl.setCaseInsensitiveEnumValuesAllowed(true); // --mode copy, --lang ruby
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            boolean verbose = parsed.originalArgs().contains("--verbose");
            Failure.Kind kind = classify(ex);
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            err.println("tansa: " + msg);
            if (verbose || kind == Failure.Kind.INTERNAL) {
                if (verbose) ex.printStackTrace(err);
                else err.println("tansa: (internal error; run with --verbose for the stack trace)");
            }
            err.flush();
            return kind.exitCode;
        });
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("tansa: " + ex.getMessage());
            err.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
            return Failure.Kind.USAGE.exitCode;
        });
        return cl;
    }

    static Failure.Kind classify(Throwable ex) {
        if (ex instanceof Failure f) return f.kind();
        if (ex instanceof SysException.ProcessGoneException) return Failure.Kind.NO_SUCH_PROCESS;
        if (ex instanceof SysException.PermissionException) return Failure.Kind.PERMISSION;
        return Failure.Kind.INTERNAL;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws java.io.IOException {
            var p = new java.util.Properties();
            try (var in = Main.class.getResourceAsStream("version.properties")) {
                if (in != null) p.load(in);
            }
            return new String[] {"tansa " + p.getProperty("version", "dev") + " (commit "
                    + p.getProperty("commit", "dev") + ", built " + p.getProperty("date", "unknown")
                    + ", Java " + Runtime.version() + ")"};
        }
    }
}
