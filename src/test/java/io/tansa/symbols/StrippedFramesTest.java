package io.tansa.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Tansa;
import io.tansa.testing.Target;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A stripped binary (strip --strip-all: no .symtab, its static functions nameless): code no
 * symbol covers is named "module+0xSTART" from its CFI, START being the function's link-time
 * address (the unstripped copy's nm is the ground truth), so distinct callers stay apart; and
 * that name is a SYMBOL tansa callers probes.
 */
@Tag("privileged")
class StrippedFramesTest {
    @Test
    void namelessFunctionsAreNamedByTheirEntryAndCanBeProbed() {
        Privileged.requireRoot();
        Path full = Native.build("stripped_paths", "-O2", "-g");
        Path stripped = full.resolveSibling("stripped_paths.stripped");
        assertEquals(0, Native.run("strip", "--strip-all", "-o", stripped.toString(), full.toString()).code());
        Map<String, Long> at = new HashMap<>();
        for (String l : Native.run("nm", full.toString()).out().split("\n")) {
            String[] f = l.trim().split(" ");
            if (f.length == 3) at.put(f[2], Long.parseUnsignedLong(f[0], 16));
        }
        assertTrue(Native.run("nm", stripped.toString()).err().contains("no symbols"), "stripped");
        String mod = stripped.getFileName().toString();
        String leaf = mod + "+0x" + Long.toHexString(at.get("leaf"));
        String one = mod + "+0x" + Long.toHexString(at.get("one_way"));
        String two = mod + "+0x" + Long.toHexString(at.get("two_way"));
        try (Target t = Target.start(stripped.toString())) {
            t.awaitLine("ready");
            // ProcessSymbols: an address inside each function names that function's entry
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            Module m = ps.module(mod).orElseThrow();
            Frame inLeaf = ps.frame(m.bias() + at.get("leaf") + 9);
            assertEquals(leaf, inLeaf.name());
            assertEquals(mod, inLeaf.module());
            assertEquals(one, ps.frame(m.bias() + at.get("one_way") + 5).name());

            // callers on the nameless leaf, by that name: two paths, apart, in the program's 1 : 2
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "300", "--rate", "0", "-f", "json", leaf);
            assertEquals(0, r.exitCode(), r.err());
            Matcher p = Pattern.compile("\\{\"count\": (\\d+), \"frames\": \\[\\{[^]]*?\"name\": \"" + Pattern.quote(leaf)
                    + "\"[^]]*?\\}, \\{[^]]*?\"name\": \"([^\"]+)\"").matcher(r.out());
            Map<String, Integer> byCaller = new HashMap<>();
            while (p.find()) byCaller.merge(p.group(2), Integer.parseInt(p.group(1)), Integer::sum);
            assertEquals(List.of(one, two).stream().sorted().toList(), byCaller.keySet().stream().sorted().toList(), r.out());
            assertEquals(300, byCaller.get(one) + byCaller.get(two));
            assertTrue(Math.abs(byCaller.get(two) / 300.0 - 2 / 3.0) < 0.05, "two_way's share: " + byCaller);
            assertTrue(t.alive());
            assertEquals("0", Target.status(t.pid(), "TracerPid").strip());
        }
    }

    /** A static function's name in a stripped binary: not found, and the message says why and what to do. */
    @Test
    void aStaticFunctionOfAStrippedBinaryIsNotFoundAndTheMessageSaysWhy() {
        Privileged.requireRoot();
        Path full = Native.build("stripped_paths", "-O2", "-g");
        Path stripped = full.resolveSibling("stripped_paths.stripped");
        assertEquals(0, Native.run("strip", "--strip-all", "-o", stripped.toString(), full.toString()).code());
        try (Target t = Target.start(stripped.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "1", "leaf");
            assertEquals(5, r.exitCode(), r.err());
            assertTrue(r.err().contains("stripped_paths.stripped is stripped: only exported functions have names there")
                    && r.err().contains("stripped_paths.stripped+0xADDR"), r.err());
            // the unstripped program names it
            try (Target u = Target.start(full.toString())) {
                u.awaitLine("ready");
                Tansa named = Tansa.run("callers", "-q", "-p", "" + u.pid(), "-n", "1", "leaf");
                assertEquals(0, named.exitCode(), named.err());
            }
        }
    }

    @Test
    void anAddressOutsideTheFileIsAUsageError() {
        Privileged.requireRoot();
        Path full = Native.build("stripped_paths", "-O2", "-g");
        try (Target t = Target.start(full.toString())) {
            t.awaitLine("ready");
            Tansa r = Tansa.run("callers", "-q", "-p", "" + t.pid(), "-n", "1", full.getFileName() + "+0x7fffffff0");
            assertEquals(2, r.exitCode(), r.err());
            assertTrue(r.err().contains("is not an address in stripped_paths's file"), r.err());
        }
    }
}
