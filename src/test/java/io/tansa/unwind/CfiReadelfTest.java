package io.tansa.unwind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every CFI row of real objects (a test program, glibc, libstdc++ with its "zPLR" CIEs, libruby,
 * and a .debug_frame) equals binutils' interpretation, {@code readelf --debug-dump=frames-interp}:
 * same CFA rule and same rule for every register column at every row start.
 */
@Tag("oracle")
class CfiReadelfTest {
    private static final String[] COLUMNS = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "ra"};

    @Test
    void testProgram() throws Exception {
        check(Native.build("unwind_target", UnwindTest.FLAGS), ".eh_frame");
    }

    @Test
    void glibc() throws Exception {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        check(libc, ".eh_frame");
        // the same table through the elf package (what a live unwind uses)
        Cfi viaElf = Cfi.of(io.tansa.elf.ElfFile.open(libc));
        assertEquals(new TestElf(libc).cfi().size(), viaElf.size());
        long restoreRt = restorer(libc);
        assertTrue(viaElf.find(restoreRt).orElseThrow().signalFrame(), "glibc's __restore_rt FDE has the S augmentation");
    }

    /** glibc's __restore_rt, which its .dynsym lacks, found by its code: mov $15,%rax; syscall. */
    private static long restorer(Path file) throws Exception {
        TestElf elf = new TestElf(file);
        TestElf.Section text = elf.sections.get(".text");
        byte[] code = io.tansa.sys.SigFrame.RESTORER_CODE;
        outer:
        for (int i = (int) text.offset(); i < text.offset() + text.size() - code.length; i++) {
            for (int j = 0; j < code.length; j++) if (elf.data[i + j] != code[j]) continue outer;
            return i - text.offset() + text.addr();
        }
        throw new AssertionError("no restorer in " + file);
    }

    @Test
    void libstdcxxWithPersonalityAndLsda() throws Exception {
        check(Path.of("/usr/lib/x86_64-linux-gnu/libstdc++.so.6"), ".eh_frame");
    }

    @Test
    void libruby() throws Exception {
        Path ruby = Path.of("/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(ruby), "ruby not installed");
        check(ruby, ".eh_frame");
    }

    @Test
    void debugFrame() throws Exception {
        Path p = Native.buildAs("unwind_target", "unwind_target_debug_frame", "-O2",
                "-fno-asynchronous-unwind-tables", "-fno-exceptions");
        assertNotNull(new TestElf(p).sections.get(".debug_frame"));
        check(p, ".debug_frame");
    }

    /** Compares our rows with readelf's for one section; returns nothing, asserts all rows. */
    private static void check(Path file, String section) throws Exception {
        TestElf elf = new TestElf(file);
        Cfi cfi = section.equals(".debug_frame") ? Cfi.parseDebugFrame(elf.bytes(".debug_frame")) : elf.cfi();
        var r = Native.run("readelf", "--debug-dump=frames-interp", file.toString());
        // readelf exits 1 on libc for its warning about the absent separate debug file
        assertTrue(r.out().contains("Contents of the " + section), r.err());
        boolean in = false, inFde = false;
        int fdes = 0, rows = 0;
        List<Integer> cols = null;
        for (String line : r.out().split("\n")) {
            if (line.startsWith("Contents of the ")) {
                in = line.startsWith("Contents of the " + section + " section");
                continue;
            }
            if (!in) continue;
            if (line.contains(" FDE ")) {
                String range = line.substring(line.indexOf("pc=") + 3);
                String[] se = range.split("\\.\\.");
                if (!se[0].equals(se[1])) fdes++;
                cols = null;
                inFde = true;
                continue;
            }
            if (line.contains(" CIE ") || line.contains("ZERO terminator")) {
                cols = null;
                inFde = false; // a CIE's own table follows, or nothing
                continue;
            }
            if (line.trim().startsWith("LOC")) {
                cols = new ArrayList<>();
                String[] h = line.trim().split("\\s+");
                for (int i = 2; i < h.length; i++) cols.add(List.of(COLUMNS).indexOf(h[i]));
                continue;
            }
            if (!inFde || cols == null || line.isBlank() || !Character.isLetterOrDigit(line.charAt(0))) continue;
            List<String> t = tokens(line);
            long loc = Long.parseUnsignedLong(t.get(0), 16);
            Row row = cfi.find(loc).orElse(null);
            assertNotNull(row, file + ": no row at 0x" + Long.toHexString(loc) + "\n" + line);
            java.util.function.Supplier<String> where =
                    () -> file + " @0x" + Long.toHexString(loc) + "\nreadelf: " + line + "\nours:    " + row;
            assertEquals(t.get(1), cfa(row.cfa()), where);
            for (int i = 0; i < cols.size(); i++) {
                int reg = cols.get(i);
                Rule rule = reg == 16 ? row.rule(row.raColumn()) : row.rule(reg);
                String theirs = t.get(i + 2);
                String ours = rule(rule);
                if (rule.kind() == Rule.Kind.SAME_VALUE) assertTrue(theirs.equals("u") || theirs.equals("s"), where);
                else assertEquals(theirs, ours, where);
            }
            rows++;
        }
        assertTrue(rows > 0, "no rows compared for " + file);
        assertEquals(fdes, cfi.size(), file + ": FDE count");
    }

    /** Whitespace-split, with "r1 (rdx)" (a register rule) kept as one token "rdx". */
    private static List<String> tokens(String line) {
        List<String> out = new ArrayList<>();
        for (String s : line.trim().split("\\s+")) {
            if (s.startsWith("(") && s.endsWith(")")) out.set(out.size() - 1, s.substring(1, s.length() - 1));
            else out.add(s);
        }
        return out;
    }

    private static String cfa(Rule r) {
        if (r.kind() == Rule.Kind.CFA_EXPRESSION) return "exp";
        return COLUMNS[r.reg()] + (r.offset() >= 0 ? "+" : "") + r.offset();
    }

    private static String rule(Rule r) {
        return switch (r.kind()) {
            case UNDEFINED -> "u";
            case SAME_VALUE -> "s";
            case OFFSET -> "c" + (r.offset() >= 0 ? "+" : "") + r.offset();
            case VAL_OFFSET -> "v" + (r.offset() >= 0 ? "+" : "") + r.offset();
            case REGISTER -> COLUMNS[r.reg()].toLowerCase(Locale.ROOT);
            case EXPRESSION -> "exp";
            case VAL_EXPRESSION -> "vexp";
            default -> r.kind().toString();
        };
    }
}
