package io.tansa.ruby;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** An interactive gdb session driven over pipes: the oracle for Ruby frames (call rb_backtrace()). */
final class Gdb implements AutoCloseable {
    private static final String END = "@@tansa-end@@";
    private final Process p;
    private final Writer in;
    private final BufferedReader out;

    Gdb() {
        try {
            p = new ProcessBuilder("gdb", "-q", "-nx").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        in = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8);
        out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        run("set pagination off");
        run("set confirm off");
        run("set width 0");
        run("set breakpoint pending off"); // a query would read our next command as its answer
    }

    /** Runs one command and returns its output lines. */
    List<String> run(String command) {
        try {
            in.write(command + "\necho " + END + "\\n\n");
            in.flush();
            List<String> lines = new ArrayList<>();
            String l;
            while ((l = out.readLine()) != null) {
                while (l.startsWith("(gdb) ")) l = l.substring(6);
                if (l.equals(END)) return lines;
                lines.add(l);
            }
            throw new IllegalStateException("gdb ended: " + lines);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The value of a gdb expression printed with p/x, e.g. $fs_base. */
    long hex(String expr) {
        for (String l : run("p/x " + expr)) {
            int i = l.indexOf("= 0x");
            if (i >= 0) return Long.parseUnsignedLong(l.substring(i + 4).trim(), 16);
        }
        throw new IllegalStateException("no value for " + expr);
    }

    @Override
    public void close() {
        try {
            in.write("detach\nquit\n");
            in.flush();
        } catch (IOException ignored) {
            // gdb already gone
        }
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
