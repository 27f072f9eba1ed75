package io.tansa.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The tansa CLI as a separate process (a JVM with the test classpath), so tests can signal it,
 * kill it, and see its exit code, stdout and stderr exactly as a user does.
 */
public final class Tansa implements AutoCloseable {
    public final Process process;
    private final StringBuilder out = new StringBuilder();
    private final LinkedBlockingQueue<String> errLines = new LinkedBlockingQueue<>();
    private final List<String> errAll = new ArrayList<>();
    private final Thread outReader, errReader;

    private Tansa(Process p) {
        process = p;
        outReader = Thread.ofPlatform().daemon().start(() -> pump(p.getInputStream(), null));
        errReader = Thread.ofPlatform().daemon().start(() -> pump(p.getErrorStream(), errLines));
    }

    private void pump(java.io.InputStream in, LinkedBlockingQueue<String> q) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String l;
            while ((l = r.readLine()) != null) {
                if (q == null) {
                    synchronized (out) {
                        out.append(l).append('\n');
                    }
                } else {
                    synchronized (errAll) {
                        errAll.add(l);
                    }
                    q.add(l);
                }
            }
        } catch (IOException e) {
            // process gone
        }
    }

    public static List<String> command(String... args) {
        String java = System.getenv().getOrDefault("TANSA_TEST_JAVA",
                ProcessHandle.current().info().command().orElse("java"));
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.tansa.cli.Main"));
        cmd.addAll(List.of(args));
        return cmd;
    }

    public static Tansa start(String... args) {
        requireDefaultStopSignals();
        try {
            return new Tansa(new ProcessBuilder(command(args)).start());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Tests stop tansa with SIGINT and SIGTERM. A signal ignored here is ignored in tansa too (the
     * JVM keeps an inherited SIG_IGN), and the test would hang instead of failing: say so up front.
     */
    private static void requireDefaultStopSignals() {
        String ign = Target.status((int) ProcessHandle.current().pid(), "SigIgn");
        long mask = Long.parseUnsignedLong(ign, 16);
        long stop = (1L << (io.tansa.sys.Signals.SIGINT - 1)) | (1L << (io.tansa.sys.Signals.SIGTERM - 1));
        if ((mask & stop) != 0) {
            throw new AssertionError("SIGINT or SIGTERM is ignored in the test JVM (SigIgn " + ign + "), so tansa"
                    + " would ignore it too: run the suite with bin/test (a background job of a shell without"
                    + " job control ignores SIGINT)");
        }
    }

    /**
     * tansa started through {@code prefix} (e.g. nsenter/unshare into a sidecar's namespaces:
     * {@link Container#sidecar}), to completion.
     */
    public static Tansa runWith(List<String> prefix, String... args) {
        requireDefaultStopSignals();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(command(args));
        try {
            Tansa t = new Tansa(new ProcessBuilder(cmd).start());
            t.waitExit();
            return t;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs tansa to completion (2 minute limit). */
    public static Tansa run(String... args) {
        Tansa t = start(args);
        t.waitExit();
        return t;
    }

    /** Waits for a stderr line containing {@code text} (fails if tansa exits first). */
    public String awaitErr(String text) {
        try {
            while (true) {
                String l = errLines.poll(100, TimeUnit.MILLISECONDS);
                if (l != null) {
                    if (l.contains(text)) return l;
                    continue;
                }
                if (!process.isAlive() && errLines.isEmpty()) {
                    errReader.join(1000);
                    if (errLines.isEmpty()) throw new AssertionError("tansa exited before printing '" + text + "'; stderr:\n" + err());
                }
            }
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    public int waitExit() {
        try {
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("tansa did not exit; stderr:\n" + err());
            }
            outReader.join(5000);
            errReader.join(5000);
            return process.exitValue();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    public int exitCode() {
        return waitExit();
    }

    public String out() {
        synchronized (out) {
            return out.toString();
        }
    }

    public String err() {
        synchronized (errAll) {
            return String.join("\n", errAll);
        }
    }

    @Override
    public void close() {
        process.destroyForcibly();
    }
}
