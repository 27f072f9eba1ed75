package io.tansa.unwind;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.elf.ElfFile;
import io.tansa.testing.Native;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CFI of real objects reduced to compact rows (the kernel walker's rules): nearly every row
 * reduces, and on real stacks copied by src/test/c/unwind_target.c (built -O2 without frame
 * pointers: direct calls, through libc's qsort comparator, through a signal handler) the walk over
 * the compact rows gives exactly the full DWARF unwinder's return addresses.
 */
@Tag("oracle")
class CompactRulesTest {
    static Path prog;

    @TempDir
    Path tmp;

    @BeforeAll
    static void build() {
        prog = Native.build("unwind_target", UnwindTest.FLAGS);
    }

    static Path lib(String name) {
        for (String dir : List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64")) {
            Path p = Path.of(dir, name);
            if (Files.exists(p)) return p;
        }
        throw new IllegalStateException(name + " not found");
    }

    @Test
    void nearlyEveryRowReduces() {
        for (Path p : List.of(lib("libc.so.6"), lib("ld-linux-x86-64.so.2"), prog)) {
            CompactRules c = CompactRules.of(ElfFile.open(p));
            long[] k = new long[7];
            for (int i = 0; i < 7; i++) k[i] = c.rowsOfKind(i);
            System.out.printf("%s: %d CFI rows -> %d compact rows; reduced %.4f%% (rsp %d, rbp %d, plt %d, signal %d,"
                    + " end %d, unreducible %d)%n", p.getFileName(), c.fullRows(), c.size(), 100 * c.reducedShare(),
                    k[CompactRules.RSP], k[CompactRules.RBP], k[CompactRules.PLT], k[CompactRules.SIGNAL],
                    k[CompactRules.END], k[CompactRules.UNREDUCIBLE]);
            assertTrue(c.fullRows() > 0);
            // ld.so: _dl_runtime_resolve_{fxsave,xsave,xsavec} and _dl_tlsdesc_dynamic keep the CFA in rbx
            // (CFA = rbx + 56 / + 32, 9 rows), __restore_rt-like expressions aside: 99.5% reduce there
            double want = p.getFileName().toString().startsWith("ld-linux") ? 0.995 : 0.999;
            assertTrue(c.reducedShare() > want, p + ": " + c.reducedShare());
            // the rows are sorted, strictly
            for (int i = 1; i < c.size(); i++) assertTrue(Long.compareUnsigned(c.pc(i - 1), c.pc(i)) < 0, p + " row " + i);
            assertEquals(CompactRules.NONE, c.kind(c.size() - 1), "ends with an uncovered range");
        }
        // libc's signal trampoline and its PLT reduce to their special kinds
        CompactRules libc = CompactRules.of(ElfFile.open(lib("libc.so.6")));
        assertEquals(1, libc.rowsOfKind(CompactRules.SIGNAL));
        assertTrue(libc.rowsOfKind(CompactRules.PLT) > 0);
        assertTrue(CompactRules.of(ElfFile.open(prog)).rowsOfKind(CompactRules.END) > 0, "_start");
    }

    /** Every compact row, looked up at every address it covers in the test program, agrees with the full row there. */
    @Test
    void compactRowsAgreeWithTheFullRowsAtEveryAddress() {
        ElfFile elf = ElfFile.open(prog);
        Cfi cfi = Cfi.of(elf);
        CompactRules c = CompactRules.of(elf);
        int checked = 0;
        for (int i = 0; i + 1 < c.size(); i++) {
            for (long a = c.pc(i); a < c.pc(i + 1); a++) {
                Row full = cfi.lookup(a);
                if (full == null) {
                    assertEquals(CompactRules.NONE, c.kind(i), "0x" + Long.toHexString(a));
                    continue;
                }
                long[] r = CompactRules.reduceRow(full);
                assertEquals(r[0], c.kind(i), "0x" + Long.toHexString(a) + " " + full);
                assertEquals(r[1], c.flags(i), "0x" + Long.toHexString(a) + " " + full);
                assertEquals(r[2], c.rbpOffset(i), "0x" + Long.toHexString(a) + " " + full);
                assertEquals(r[3], c.cfaOffset(i), "0x" + Long.toHexString(a) + " " + full);
                checked++;
            }
        }
        assertTrue(checked > 500, "addresses checked: " + checked);
    }

    static CompactRules.Objects objects(Capture cap) {
        return pc -> {
            Capture.Module m = cap.module(pc);
            return m == null ? null : new CompactRules.Located(CompactRules.of(ElfFile.open(m.path())), m.bias());
        };
    }

    @ParameterizedTest
    @ValueSource(strings = {"direct", "qsort", "signal"})
    void walkOverCompactRowsEqualsTheFullUnwinder(String scenario) throws Exception {
        Path prefix = tmp.resolve(scenario);
        try (Target t = Target.start(prog.toString(), prefix.toString(), scenario)) {
            t.awaitLine("ready");
            Capture cap = new Capture(prefix);
            Unwinder.Result full = Unwinder.unwind(cap.regs(), cap.memory(null), cap.cfi(), 128);
            long[] r = cap.regs();
            CompactRules.Walk w = CompactRules.walk(r[Reg.RIP.ordinal()], r[Reg.RSP.ordinal()], r[Reg.RBP.ordinal()],
                    cap.memory(null), objects(cap), 128);
            String both = "full    " + cap.names(full) + "\ncompact " + cap.names(w.asResult());
            assertEquals(Unwinder.Stop.END, full.stop(), both);
            assertEquals(CompactRules.Stop.END, w.stop(), both);
            assertArrayEquals(full.pcs(), w.pcs(), both);
            assertTrue(Arrays.equals(full.exact(), w.exact()), both);
            assertEquals("_start", cap.names(w.asResult()).getLast(), both);
        }
    }
}
