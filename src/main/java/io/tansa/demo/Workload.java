package io.tansa.demo;

import io.tansa.Failure;
import io.tansa.sys.Signals;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The bundled demo workload of {@code tansa demo}: a small multi-threaded C "login service"
 * (resource demo.c) built with gcc into a temporary directory and started; two threads serve
 * logins (3 in 4) and sign-ups (1 in 4), both through {@code hash_password}. {@link #close} kills
 * it and removes the files.
 */
public final class Workload implements AutoCloseable {
    private final Path dir, src, bin;
    private final Process sh;
    private final int pid;

    private Workload(Path dir, Path src, Path bin, Process sh, int pid) {
        this.dir = dir;
        this.src = src;
        this.bin = bin;
        this.sh = sh;
        this.pid = pid;
    }

    /** Builds and starts the workload; returns once it has printed its pid ("ready PID"). */
    public static Workload start() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("tansa-demo");
        Path src = dir.resolve("login_service.c");
        Path bin = dir.resolve("login_service");
        try (InputStream in = Workload.class.getResourceAsStream("/io/tansa/demo/demo.c")) {
            Files.copy(in, src);
        }
        Process gcc = new ProcessBuilder("gcc", "-O2", "-g", "-pthread", "-o", bin.toString(), src.toString())
                .inheritIO().start();
        if (gcc.waitFor() != 0) throw new Failure(Failure.Kind.UNSUPPORTED, "gcc failed to build the demo workload");
        // Started through sh so it is not this JVM's child: the JDK's process reaper would
        // otherwise wait for it and take the ptrace stops tansa needs.
        Process sh = new ProcessBuilder("/bin/sh", "-c", "\"$0\" & wait", bin.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(sh.getInputStream(), StandardCharsets.UTF_8));
        String ready = out.readLine();
        if (ready == null || !ready.startsWith("ready ")) throw new Failure(Failure.Kind.INTERNAL, "demo workload did not start");
        return new Workload(dir, src, bin, sh, Integer.parseInt(ready.substring(6).trim()));
    }

    /** The workload's process id. */
    public int pid() {
        return pid;
    }

    /** The built program. */
    public Path binary() {
        return bin;
    }

    /** Kills the workload (SIGKILL) and deletes the program and its source. */
    @Override
    public void close() throws IOException, InterruptedException {
        Signals.kill(pid, Signals.SIGKILL);
        sh.waitFor(5, TimeUnit.SECONDS);
        Files.deleteIfExists(bin);
        Files.deleteIfExists(src);
        Files.deleteIfExists(dir);
    }
}
