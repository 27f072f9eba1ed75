package io.tansa.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Stacks through code without frame pointers and through libc (qsort's comparator), unwound with
 * DWARF CFI. Oracle: gdb's {@code bt} at the same function of the same program.
 */
@Tag("privileged")
@Tag("oracle")
class CfiStacksTest {
    @Test
    void pathsThroughLibcMatchGdb() {
        Privileged.requireRoot();
        Path bin = Native.build("qsortpaths", "-O2", "-fomit-frame-pointer", "-fno-optimize-sibling-calls");
        try (Target t = Target.start(bin.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "60", "--rate", "0", "-f", "json", "target");
            assertEquals(0, r.exitCode(), r.err());
            Set<List<String>> ours = new LinkedHashSet<>();
            for (Object[] p : CallersTest.paths(r.out())) {
                @SuppressWarnings("unchecked") List<String> names = (List<String>) p[1];
                ours.add(names);
            }
            List<String> viaDirect = ours.stream().filter(n -> n.get(1).equals("direct")).findFirst().orElseThrow(
                    () -> new AssertionError("no direct path: " + ours));
            assertEquals(List.of("target", "direct", "main"), viaDirect.subList(0, 3));
            List<String> viaQsort = ours.stream().filter(n -> n.contains("compare")).findFirst().orElseThrow(
                    () -> new AssertionError("no path through qsort: " + ours));
            assertTrue(viaQsort.contains("sorter") && viaQsort.indexOf("sorter") < viaQsort.indexOf("main"), viaQsort.toString());

            // gdb on the same program, stopped at target (several stops: paths and recursion depths vary)
            Native.Result gdb = Native.run("gdb", "-q", "-batch", "-p", "" + t.pid(), "-ex", "break target",
                    "-ex", "continue", "-ex", "bt", "-ex", "continue", "-ex", "bt", "-ex", "continue", "-ex", "bt");
            List<List<String>> gdbStacks = gdbStacks(gdb.out());
            assertTrue(gdbStacks.size() >= 2, gdb.out() + gdb.err());
            // gdb adds frames no unwinder finds on the stack: inlined calls (printed without an
            // address) and tail calls it reconstructs from DWARF call-site info (qsort's jmp to
            // qsort_r). Every frame of ours must be one of gdb's, in order, same address.
            // gdb's frames are named here by the same symbol tables (checked against gdb's own
            // "info symbol" in SymbolizeVsGdbTest), so this compares what the unwinders found.
            io.tansa.symbols.ProcessSymbols syms = new io.tansa.symbols.ProcessSymbols(t.pid());
            for (List<String> gAddrs : gdbStacks) {
                List<String> g = gAddrs.stream().map(a -> a.equals("main") ? "main"
                        : syms.frame(Long.decode(a) - 1).name()).toList();
                boolean found = false;
                for (List<String> o : ours) {
                    List<String> mine = o.subList(1, o.indexOf("main") + 1);
                    if (isSubsequence(mine, g) && g.size() - mine.size() <= 1) found = true;
                }
                assertTrue(found, "gdb stack " + g + " not among tansa's " + ours);
            }
            assertTrue(t.alive());
        }
    }

    static boolean isSubsequence(List<String> small, List<String> big) {
        int j = 0;
        for (String b : big) if (j < small.size() && small.get(j).equals(b)) j++;
        return j == small.size();
    }

    /** Per stop, gdb's physical frames 1.. (those printed with "0x… in") as addresses, up to main. */
    static List<List<String>> gdbStacks(String out) {
        List<List<String>> stacks = new ArrayList<>();
        List<String> cur = null;
        Pattern frame = Pattern.compile("^#(\\d+)\\s+(?:(0x[0-9a-f]+) in )?(\\S+) \\(");
        for (String l : out.split("\n")) {
            Matcher m = frame.matcher(l);
            if (!m.find()) continue;
            if (m.group(1).equals("0")) {
                cur = new ArrayList<>();
                stacks.add(cur);
                continue;
            }
            if (cur != null && m.group(2) != null && (cur.isEmpty() || !cur.getLast().equals("main"))) {
                cur.add(m.group(3).equals("main") ? "main" : m.group(2).replaceFirst("^0x0*", "0x"));
            }
        }
        return stacks;
    }
}
