package io.tansa.cli;

import io.tansa.Failure;
import io.tansa.report.Format;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** Options every command shares: -p, -f, -o, -q. */
public class Common {
    @Option(names = {"-p", "--pid"}, paramLabel = "PID|CGROUP|CONTAINER",
            description = "Target process id (repeatable), or a cgroup v2 path (/system.slice/docker-ID.scope) "
                    + "or a container id prefix: all processes of that container.")
    public List<String> pidSpecs = new ArrayList<>();

    private List<Integer> resolved;

    /**
     * The target pids of -p: a number is a pid (when no such process exists but a container id
     * starts with those digits, the container); a path starting with '/' is a cgroup (its processes
     * and those of cgroups below it); anything else a container id prefix (or nspawn machine name).
     */
    public List<Integer> pids() {
        if (resolved == null) {
            java.util.LinkedHashSet<Integer> out = new java.util.LinkedHashSet<>();
            for (String spec : pidSpecs) {
                String s = spec.strip();
                if (!s.isEmpty() && s.chars().allMatch(Character::isDigit) && s.length() < 10) {
                    int pid = Integer.parseInt(s);
                    if (io.tansa.proc.ProcFs.exists(pid) || pid <= 0) {
                        out.add(pid);
                        continue;
                    }
                    try {
                        out.addAll(io.tansa.proc.IdentityReader.members(s));
                    } catch (Failure none) {
                        if (none.kind() != Failure.Kind.CONTAINER_NOT_FOUND) throw none;
                        out.add(pid); // reported as "no such process" by the command, as before
                    }
                    continue;
                }
                if (s.isEmpty()) throw new Failure(Failure.Kind.USAGE, "-p needs a pid, a cgroup path or a container id");
                out.addAll(io.tansa.proc.IdentityReader.members(s));
            }
            resolved = new ArrayList<>(out);
        }
        return resolved;
    }

    @Option(names = {"-f", "--format"}, paramLabel = "FORMAT", description = "Output format (text, json, ...).")
    public String format = "text";

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Write the result to FILE instead of stdout.")
    public String output;

    @Option(names = {"-q", "--quiet"}, description = "No progress or diagnostics on stderr.")
    public boolean quiet;

    /**
     * {@code -f} of a command whose output is a table or a document ({@code fds}, {@code sockets},
     * {@code trace}, {@code top}): text or json, else a usage failure worded for {@code command}
     * (null: the generic wording trace and top have always used).
     */
    public Format tableFormat(String command) {
        return Format.parse(format, command);
    }

    /** Where results go: -o FILE or stdout. */
    public OutputStream openOutput() {
        if (output == null || output.equals("-")) return new PrintStream(System.out, false) {
            @Override public void close() { flush(); }
        };
        try {
            return new FileOutputStream(output);
        } catch (IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot write " + output + ": " + e.getMessage());
        }
    }

    public void info(String fmt, Object... args) {
        if (!quiet) {
            System.err.printf(Locale.ROOT, fmt + "%n", args);
            System.err.flush();
        }
    }

    /** Parses "10s", "500ms", "2m", "1h" or plain seconds. */
    public static Duration parseDuration(String s) {
        if (s == null) return null;
        String t = s.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("ms")) return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            if (t.endsWith("s")) return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 1000));
            if (t.endsWith("m")) return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 60_000));
            if (t.endsWith("h")) return Duration.ofMillis((long) (Double.parseDouble(t.substring(0, t.length() - 1)) * 3_600_000));
            return Duration.ofMillis((long) (Double.parseDouble(t) * 1000));
        } catch (NumberFormatException e) {
            throw new Failure(Failure.Kind.USAGE, "bad duration '" + s + "' (use e.g. 10s, 500ms, 2m)");
        }
    }

    static void uncheckedClose(OutputStream os) {
        try {
            os.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
