package io.tansa.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Builds the C programs under src/test/c with gcc (cached in target/test-bin by content) and
 * runs short helper commands. Real-target tests start what they need from here.
 */
public final class Native {
    private Native() {}

    public static final Path SRC = Path.of("src/test/c").toAbsolutePath();
    public static final Path BIN = Path.of("target/test-bin").toAbsolutePath();

    /** Compiles src/test/c/NAME.c to target/test-bin/NAME (with extra gcc flags) unless up to date. */
    public static synchronized Path build(String name, String... flags) {
        return buildAs(name, name, flags);
    }

    /** Compiles src/test/c/SOURCE.c to target/test-bin/OUT with flags. */
    public static synchronized Path buildAs(String source, String out, String... flags) {
        try {
            Files.createDirectories(BIN);
            Path src = SRC.resolve(source + ".c");
            Path bin = BIN.resolve(out);
            Path stamp = BIN.resolve(out + ".flags");
            String flagLine = String.join(" ", flags);
            if (Files.exists(bin) && Files.getLastModifiedTime(bin).compareTo(Files.getLastModifiedTime(src)) > 0
                    && Files.exists(stamp) && Files.readString(stamp).equals(flagLine)) {
                return bin;
            }
            List<String> cmd = new ArrayList<>(List.of("gcc", "-g", "-o", bin.toString(), src.toString()));
            cmd.addAll(List.of(flags));
            Result r = run(cmd);
            if (r.code != 0) throw new IllegalStateException("gcc failed: " + cmd + "\n" + r.err);
            Files.writeString(stamp, flagLine);
            return bin;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public record Result(int code, String out, String err) {}

    /** Runs a command to completion (60 s limit) and returns its exit code and output. */
    public static Result run(List<String> cmd) {
        try {
            Path out = Files.createTempFile("tansa-out", ".txt");
            Path err = Files.createTempFile("tansa-err", ".txt");
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("timed out: " + cmd);
            }
            Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
            return r;
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Runs a layout program (src/test/c/layout_*.c) that prints "NAME VALUE" lines — sizes,
     * offsets and constants from the system headers — and returns them by name.
     */
    public static java.util.Map<String, Long> constants(Path program) {
        Result r = run(program.toString());
        if (r.code != 0) throw new IllegalStateException(program + " failed: " + r.err);
        java.util.Map<String, Long> c = new java.util.HashMap<>();
        for (String l : r.out.split("\n")) {
            String[] kv = l.split(" ");
            c.put(kv[0], Long.parseLong(kv[1]));
        }
        return c;
    }

    public static Result run(String... cmd) {
        return run(List.of(cmd));
    }
}
