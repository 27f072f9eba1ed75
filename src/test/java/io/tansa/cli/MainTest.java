package io.tansa.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The command line as a user meets it, through {@link Main#run}: a run names one command and
 * builds only that command's model, which must behave as the whole tree does.
 */
@Tag("fast")
class MainTest {
    record Out(int code, String out, String err) {}

    static Out run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Out(code, out.toString(), err.toString());
    }

    @Test
    void enumValuesAreCaseInsensitiveInTheOneCommandPath() {
        // a pid no process has: past the options, the run fails on the pid (3), not on usage (2)
        Out r = run("callers", "--lang", "ruby", "--mode", "copy", "-p", "2147483646", "write");
        assertEquals(3, r.code, r.err);
        assertTrue(r.err.contains("no such process"), r.err);
    }

    @Test
    void inheritedVerboseAndPerCommandHelp() {
        assertEquals(3, run("--verbose", "fds", "-p", "2147483646").code);
        Out help = run("top", "--help");
        assertEquals(0, help.code);
        assertTrue(help.out.startsWith("Usage: tansa top "), help.out);
    }

    @Test
    void theWholeTreeForHelpAndUnknownCommands() {
        Out help = run("--help");
        assertEquals(0, help.code);
        for (Class<?> c : Main.COMMANDS) {
            String name = c.getAnnotation(picocli.CommandLine.Command.class).name();
            assertTrue(help.out.contains("\n  " + name + " "), name + " in: " + help.out);
        }
        assertEquals(Main.COMMANDS.size() + 1, Main.commandLine().getSubcommands().size(), "every command, and help");
        Out typo = run("calers", "-p", "1");
        assertEquals(2, typo.code);
        assertTrue(typo.err.contains("Unmatched argument") && typo.err.contains("Try 'tansa --help'"), typo.err);
        assertEquals(0, run("help", "callers").code);
    }
}
