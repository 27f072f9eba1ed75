package io.tansa.unwind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * DWARF expression operations that real CFI uses rarely (so the readelf and gdb comparisons may
 * not reach them), each against its definition in DWARF 5 section 2.5.1.
 */
@Tag("fast")
class ExprTest {
    static final long[] REGS = new long[Reg.COUNT];
    static final int ALL = (1 << Reg.COUNT) - 1;

    static {
        for (int i = 0; i < Reg.COUNT; i++) REGS[i] = 1000L * i;
    }

    static long eval(int... ops) {
        byte[] b = new byte[ops.length];
        for (int i = 0; i < ops.length; i++) b[i] = (byte) ops[i];
        Memory mem = new StackMemory(0x1000, new byte[] {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, (byte) 0x88}, null);
        return Expr.eval(b, REGS, ALL, mem, 7, true);
    }

    @Test
    void glibcPltCfa() {
        // DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_lit11; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus
        int[] plt = {0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22};
        byte[] b = new byte[plt.length];
        for (int i = 0; i < b.length; i++) b[i] = (byte) plt[i];
        long[] r = REGS.clone();
        r[Reg.RSP.ordinal()] = 0x7000;
        r[Reg.RIP.ordinal()] = 0x1036; // before the push: offset 6 in its 16-byte entry
        assertEquals(0x7008, Expr.eval(b, r, ALL, null, 0, false));
        r[Reg.RIP.ordinal()] = 0x103b; // after it: offset 11
        assertEquals(0x7010, Expr.eval(b, r, ALL, null, 0, false));
    }

    @Test
    void stackOperations() {
        assertEquals(7, eval()); // the pushed CFA alone
        assertEquals(14, eval(0x12, 0x22)); // dup plus
        assertEquals(5, eval(0x35, 0x16, 0x13)); // lit5 swap drop -> 5
        assertEquals(5, eval(0x35, 0x14, 0x1c, 0x22)); // lit5 over: 7 5 7; minus: 7 -2; plus: 5
    }

    @Test
    void pickRotAndArithmetic() {
        assertEquals(7, eval(0x31, 0x32, 0x15, 2)); // lit1 lit2 pick 2 -> 7
        assertEquals(1, eval(0x31, 0x32, 0x17)); // 7 1 2 rot -> 2 7 1: top 1
        assertEquals(-7, eval(0x1f)); // neg
        assertEquals(3, eval(0x32, 0x1b)); // 7 / 2
        assertEquals(1, eval(0x32, 0x1d)); // 7 mod 2
        assertEquals(21, eval(0x33, 0x1e)); // 7 * 3
        assertEquals(7 | 8, eval(0x38, 0x21)); // or
        assertEquals(7 ^ 5, eval(0x35, 0x27)); // xor
        assertEquals(3, eval(0x31, 0x25)); // shr
        assertEquals(-8, eval(0x11, 0x70, 0x31, 0x26)); // consts -16; lit1; shra
        assertEquals(~7L, eval(0x20)); // not
        assertEquals(7 + 300, eval(0x23, 0xac, 0x02)); // plus_uconst 300
        assertEquals(1, eval(0x37, 0x29)); // 7 == 7
        assertEquals(1, eval(0x38, 0x2d, 0x30, 0x2e)); // lit8 lt: 7 < 8 = 1; lit0 ne: 1 != 0 = 1
        assertEquals(0, eval(0x38, 0x2a)); // lit8 ge: 7 >= 8 = 0
    }

    @Test
    void registersConstantsAndMemory() {
        assertEquals(6000 - 3, eval(0x76, 0x7d)); // breg6 -3
        assertEquals(16000 + 5, eval(0x92, 16, 5)); // bregx 16, 5
        assertEquals(0x8877665544332211L, eval(0x0c, 0x00, 0x10, 0, 0, 0x06)); // const4u 0x1000; deref
        assertEquals(0x2211, eval(0x0c, 0x00, 0x10, 0, 0, 0x94, 2)); // deref_size 2
        assertEquals(-2, eval(0x09, 0xfe)); // const1s
        assertEquals(0xfffe, eval(0x0a, 0xfe, 0xff)); // const2u
        assertThrows(Memory.Fault.class, () -> eval(0x06)); // deref of 7: not in the stack copy
    }

    @Test
    void branches() {
        // lit0; bra +1 (not taken); lit1; skip +1; lit2 (skipped) -> 1
        assertEquals(1, eval(0x30, 0x28, 1, 0, 0x31, 0x2f, 1, 0, 0x32));
        // lit1; bra +1 (taken, over lit3) ; lit4 -> 4 on top of 7
        assertEquals(4, eval(0x31, 0x28, 1, 0, 0x33, 0x34));
    }

    @Test
    void unknownRegisterOrOpIsAnError() {
        byte[] b = {0x73, 0}; // breg3 0
        assertThrows(CfiException.class, () -> Expr.eval(b, REGS, ALL & ~(1 << 3), null, 0, false));
        assertThrows(CfiException.class, () -> eval(0xe0)); // DW_OP_lo_user
    }
}
