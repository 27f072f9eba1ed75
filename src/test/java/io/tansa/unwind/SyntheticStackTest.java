package io.tansa.unwind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Native;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Frames at the spots a sampled pc can land on where the usual "CFA = rsp + n" rule is not
 * enough: a PLT stub (glibc/binutils' CFA expression over rip), the first instruction of a
 * function, and a frame-pointer-based CFA holding garbage. Stacks are hand-built byte arrays,
 * the CFI and addresses the test program's and glibc's own.
 */
@Tag("fast")
class SyntheticStackTest {
    static final long BIAS = 0x555555554000L, RSP = 0x7ffc00001000L;
    static TestElf prog;
    static Cfi cfi;

    @BeforeAll
    static void load() throws Exception {
        prog = new TestElf(Native.build("unwind_target", UnwindTest.FLAGS));
        cfi = prog.cfi();
    }

    static long sym(TestElf elf, String name) {
        return elf.syms.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow().value();
    }

    static Memory stack(long... words) {
        ByteBuffer b = ByteBuffer.allocate(words.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : words) b.putLong(w);
        return new StackMemory(RSP, b.array(), null);
    }

    static Unwinder.Result unwind(long pc, long rbp, Memory mem, Unwinder.Modules modules) {
        long[] regs = new long[Reg.COUNT];
        regs[Reg.RIP.ordinal()] = pc;
        regs[Reg.RSP.ordinal()] = RSP;
        regs[Reg.RBP.ordinal()] = rbp;
        return Unwinder.unwind(regs, mem, modules, 2);
    }

    static Unwinder.Result unwind(long pc, Memory mem) {
        return unwind(pc, 0, mem, p -> new Unwinder.ModuleCfi(cfi, BIAS));
    }

    @Test
    void pltStubBeforeAndAfterItsPush() {
        long plt = prog.sections.get(".plt").addr();
        long ret = BIAS + sym(prog, "sorter") + 4;
        // first instruction of the second PLT entry (jmp *GOT): CFA = rsp + 8
        assertEquals(ret, unwind(BIAS + plt + 16, stack(ret, 0)).pc(1));
        // at its third instruction, after `push $index`: CFA = rsp + 16 by the (rip & 15) >= 11 term
        Unwinder.Result r = unwind(BIAS + plt + 16 + 11, stack(3, ret));
        assertEquals(ret, r.pc(1));
        assertEquals(Unwinder.Via.CFI, r.via(1));
    }

    @Test
    void firstInstructionOfAFunction() {
        long ret = BIAS + sym(prog, "f1") + 5;
        Unwinder.Result r = unwind(BIAS + sym(prog, "f2"), stack(ret, 0));
        assertEquals(ret, r.pc(1));
        assertEquals("f1", prog.symbol(r.lookupPc(1) - BIAS).orElseThrow());
    }

    /** A CFA below the current rsp (rbp-based rule, rbp not a frame pointer) ends the walk as a loop. */
    @Test
    void cfaThatDoesNotGrowStopsTheWalk() throws Exception {
        TestElf libc = new TestElf(Path.of("/lib/x86_64-linux-gnu/libc.so.6"));
        Cfi libcCfi = libc.cfi();
        long pc = -1;
        for (long a = sym(libc, "qsort_r"); a < sym(libc, "qsort_r") + 0x100; a++) {
            Row row = libcCfi.find(a).orElseThrow();
            if (row.cfa().reg() == Reg.RBP.ordinal() && row.cfa().kind() == Rule.Kind.CFA_REG_OFFSET) {
                pc = a;
                break;
            }
        }
        assertTrue(pc > 0, "qsort_r has an rbp-based CFA rule in this glibc");
        long base = 0x7f0000000000L;
        Memory mem = stack(new long[64]);
        Unwinder.Result r = unwind(base + pc, RSP - 256, mem, p -> new Unwinder.ModuleCfi(libcCfi, base));
        assertEquals(1, r.size());
        assertEquals(Unwinder.Stop.LOOP, r.stop());
        assertTrue(r.truncated());
    }
}
