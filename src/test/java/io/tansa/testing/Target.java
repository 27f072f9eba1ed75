package io.tansa.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A process a test started, killed on close. {@link #awaitLine} reads its stdout until a line
 * with the given prefix appears (how programs announce readiness: no sleeps). Its stdout is
 * drained all the time, so a program that logs a lot (Unicorn's access log) never blocks on a
 * full pipe while the test is not reading.
 */
public final class Target implements AutoCloseable {
    public final Process process;
    /** stdout lines not read yet; {@link #EOF} after the last. */
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private static final String EOF = new String("EOF"); // compared by identity
    private boolean ended;

    private Target(Process p) {
        process = p;
        Thread.ofPlatform().daemon().name("target-stdout-" + p.pid()).start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) lines.add(l);
            } catch (IOException e) {
                // the stream closed under us (close()): the end of the output
            } finally {
                lines.add(EOF);
            }
        });
    }

    /** The next stdout line, or null once the program closed its stdout. */
    private String readLine() {
        if (ended) return null;
        try {
            String l = lines.take();
            if (l == EOF) {
                ended = true;
                return null;
            }
            return l;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
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
        String l;
        while ((l = readLine()) != null) {
            if (l.startsWith(prefix)) return l;
        }
        throw new AssertionError("target ended before printing '" + prefix + "'");
    }

    /** Next stdout line containing {@code text}; fails if the program ends first. */
    public String awaitContaining(String text) {
        String l;
        while ((l = readLine()) != null) {
            if (l.contains(text)) return l;
        }
        throw new AssertionError("target ended before printing '" + text + "'");
    }

    /** All remaining stdout (waits for exit). */
    public String rest() {
        StringBuilder b = new StringBuilder();
        String l;
        while ((l = readLine()) != null) b.append(l).append('\n');
        return b.toString();
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
