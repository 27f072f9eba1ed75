package io.tansa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** tansa top through the CLI: the JSON contract, exit codes. */
@Tag("privileged")
class TopCommandTest {
    record Run(int code, String out, String err) {}

    static Run tansa(String... args) throws Exception {
        Path out = Files.createTempFile("tansa-top", ".out");
        try {
            String[] full = new String[args.length + 2];
            System.arraycopy(args, 0, full, 0, args.length);
            full[args.length] = "-o";
            full[args.length + 1] = out.toString();
            StringWriter err = new StringWriter();
            int code = Main.run(full, new PrintWriter(new StringWriter()), new PrintWriter(err));
            return new Run(code, Files.readString(out), err.toString());
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void onceJsonFollowsTheContract() throws Exception {
        Privileged.requireRoot();
        try (Target t = Target.start(Native.build("top_burn", "-O0").toString())) {
            t.awaitLine("ready");
            Run r = tansa("top", "-p", Integer.toString(t.pid()), "--once", "-d", "1s", "-f", "json", "-q");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().startsWith("{\"samples\": "), r.out());
            Matcher first = Pattern.compile("\"rows\": \\[\\{\"symbol\": \"(\\w+)\", \"object\": \"([^\"]+)\", "
                    + "\"overhead\": ([0-9.]+), \"kernel\": (true|false)\\}").matcher(r.out());
            assertTrue(first.find(), r.out());
            assertEquals("burn_a", first.group(1));
            assertEquals("top_burn", first.group(2));
            assertEquals("false", first.group(4));
            assertTrue(Double.parseDouble(first.group(3)) > 50, r.out());
            assertTrue(r.out().contains("\"next\": \"tansa callers -p " + t.pid() + " burn_a\""), r.out());
        }
    }

    @Test
    void targetExitingPrintsTheTableAndExits7() throws Exception {
        Privileged.requireRoot();
        Path out = Files.createTempFile("tansa-top", ".out");
        try (Target t = Target.start(Native.build("top_burn", "-O0").toString())) {
            t.awaitLine("ready");
            // Refreshing mode writes a table every second: once the first one is out, the target dies.
            java.util.concurrent.CompletableFuture<Integer> code = java.util.concurrent.CompletableFuture.supplyAsync(
                    () -> Main.run(new String[] {"top", "-p", Integer.toString(t.pid()), "-d", "60s", "-q", "-o",
                        out.toString()}, new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter())));
            long deadline = System.nanoTime() + 30_000_000_000L;
            while (Files.size(out) == 0 && System.nanoTime() < deadline && !code.isDone()) {
                java.util.concurrent.locks.LockSupport.parkNanos(20_000_000L);
            }
            t.process.destroyForcibly();
            assertEquals(7, code.get(30, java.util.concurrent.TimeUnit.SECONDS));
            String text = Files.readString(out);
            assertTrue(text.contains("[.] burn_a"), text);
            assertTrue(text.contains("(target exited)"), text);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void badInput() throws Exception {
        assertEquals(3, tansa("top", "-p", "999999999", "--once", "-d", "1s").code());
        assertEquals(2, tansa("top", "--once").code(), "neither -p nor -a");
        assertEquals(2, tansa("top", "-a", "-p", "1").code());
        assertEquals(2, tansa("top", "-p", "1", "--lang", "cobol").code());
        assertEquals(2, tansa("top", "-p", "1", "-f", "xml").code());
        assertEquals(2, tansa("top", "-p", "1", "-F", "0").code());
    }
}
