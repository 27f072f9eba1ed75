package io.tansa.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A process a test started, killed on close. {@link #awaitLine} reads its stdout until a line
 * with the given prefix appears (how programs announce readiness: no sleeps).
 */
public final class Target implements AutoCloseable {
    public final Process process;
    private final BufferedReader out;

    private Target(Process p) {
        process = p;
        out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    }

    public static Target start(List<String> cmd) {
        try {
            return new Target(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Target start(String... cmd) {
        return start(List.of(cmd));
    }

    /** A field of /proc/PID/status ("TracerPid", "SigIgn"), trimmed; null when absent. */
    public static String status(int pid, String field) {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + pid + "/status"))) {
                if (l.startsWith(field + ":")) return l.substring(field.length() + 1).trim();
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return null;
    }

    public int pid() {
        return (int) process.pid();
    }

    /** Next stdout line starting with {@code prefix}; fails if the program ends first. */
    public String awaitLine(String prefix) {
        try {
            String l;
            while ((l = out.readLine()) != null) {
                if (l.startsWith(prefix)) return l;
            }
            throw new AssertionError("target ended before printing '" + prefix + "'");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Next stdout line containing {@code text}; fails if the program ends first. */
    public String awaitContaining(String text) {
        try {
            String l;
            while ((l = out.readLine()) != null) {
                if (l.contains(text)) return l;
            }
            throw new AssertionError("target ended before printing '" + text + "'");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** All remaining stdout (waits for exit). */
    public String rest() {
        try {
            StringBuilder b = new StringBuilder();
            String l;
            while ((l = out.readLine()) != null) b.append(l).append('\n');
            return b.toString();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public boolean alive() {
        return process.isAlive();
    }

    public int waitExit() {
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) throw new AssertionError("target did not exit");
            return process.exitValue();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
