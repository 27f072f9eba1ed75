package io.tansa.unwind;

/**
 * DWARF expression evaluator for CFI (DWARF 5 section 2.5): the stack operations, arithmetic and
 * comparisons, constants, register-relative values and memory dereferences that CFA and register
 * rules use — glibc's PLT CFA expression (breg7, breg16, lit, and, ge, shl, plus) and its signal
 * trampoline's ucontext expressions (breg7, deref) among them.
 */
final class Expr {
    private Expr() {}

    /**
     * Evaluates {@code expr}; {@code initial} is pushed first when {@code push} (the CFA, for
     * DW_CFA_expression and DW_CFA_val_expression). Registers not in {@code known} (a bit per DWARF
     * number) cannot be used.
     */
    static long eval(byte[] expr, long[] regs, int known, Memory mem, long initial, boolean push) {
        long[] st = new long[64];
        int sp = 0;
        if (push) st[sp++] = initial;
        Cursor c = new Cursor(expr, 0, 0);
        int end = expr.length;
        while (c.more(end)) {
            int op = c.u8();
            if (op >= 0x30 && op <= 0x4f) { // DW_OP_lit0..31
                st[sp++] = op - 0x30;
                continue;
            }
            if (op >= 0x70 && op <= 0x8f) { // DW_OP_breg0..31
                st[sp++] = reg(regs, known, op - 0x70) + c.sleb();
                continue;
            }
            switch (op) {
                case 0x03 -> st[sp++] = c.u64(); // addr
                case 0x06 -> { // deref
                    st[sp - 1] = mem.readLong(st[sp - 1]);
                }
                case 0x08 -> st[sp++] = c.u8(); // const1u
                case 0x09 -> st[sp++] = (byte) c.u8(); // const1s
                case 0x0a -> st[sp++] = c.u16(); // const2u
                case 0x0b -> st[sp++] = (short) c.u16(); // const2s
                case 0x0c -> st[sp++] = c.u32(); // const4u
                case 0x0d -> st[sp++] = c.s32(); // const4s
                case 0x0e, 0x0f -> st[sp++] = c.u64(); // const8u, const8s
                case 0x10 -> st[sp++] = c.uleb(); // constu
                case 0x11 -> st[sp++] = c.sleb(); // consts
                case 0x12 -> { st[sp] = st[sp - 1]; sp++; } // dup
                case 0x13 -> sp--; // drop
                case 0x14 -> { st[sp] = st[sp - 2]; sp++; } // over
                case 0x15 -> { int i = c.u8(); st[sp] = st[sp - 1 - i]; sp++; } // pick
                case 0x16 -> { long t = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = t; } // swap
                case 0x17 -> { // rot: top three (a b c) -> (c a b)
                    long t = st[sp - 1];
                    st[sp - 1] = st[sp - 2];
                    st[sp - 2] = st[sp - 3];
                    st[sp - 3] = t;
                }
                case 0x19 -> st[sp - 1] = Math.abs(st[sp - 1]); // abs
                case 0x1a -> { sp--; st[sp - 1] &= st[sp]; } // and
                case 0x1b -> { sp--; if (st[sp] == 0) throw new CfiException("division by zero"); st[sp - 1] /= st[sp]; } // div
                case 0x1c -> { sp--; st[sp - 1] -= st[sp]; } // minus
                case 0x1d -> { sp--; if (st[sp] == 0) throw new CfiException("division by zero"); st[sp - 1] = Long.remainderUnsigned(st[sp - 1], st[sp]); } // mod
                case 0x1e -> { sp--; st[sp - 1] *= st[sp]; } // mul
                case 0x1f -> st[sp - 1] = -st[sp - 1]; // neg
                case 0x20 -> st[sp - 1] = ~st[sp - 1]; // not
                case 0x21 -> { sp--; st[sp - 1] |= st[sp]; } // or
                case 0x22 -> { sp--; st[sp - 1] += st[sp]; } // plus
                case 0x23 -> st[sp - 1] += c.uleb(); // plus_uconst
                case 0x24 -> { sp--; st[sp - 1] <<= st[sp]; } // shl
                case 0x25 -> { sp--; st[sp - 1] >>>= st[sp]; } // shr
                case 0x26 -> { sp--; st[sp - 1] >>= st[sp]; } // shra
                case 0x27 -> { sp--; st[sp - 1] ^= st[sp]; } // xor
                case 0x28 -> { int off = (short) c.u16(); if (st[--sp] != 0) c.pos += off; } // bra
                case 0x29 -> { sp--; st[sp - 1] = st[sp - 1] == st[sp] ? 1 : 0; } // eq
                case 0x2a -> { sp--; st[sp - 1] = st[sp - 1] >= st[sp] ? 1 : 0; } // ge
                case 0x2b -> { sp--; st[sp - 1] = st[sp - 1] > st[sp] ? 1 : 0; } // gt
                case 0x2c -> { sp--; st[sp - 1] = st[sp - 1] <= st[sp] ? 1 : 0; } // le
                case 0x2d -> { sp--; st[sp - 1] = st[sp - 1] < st[sp] ? 1 : 0; } // lt
                case 0x2e -> { sp--; st[sp - 1] = st[sp - 1] != st[sp] ? 1 : 0; } // ne
                case 0x2f -> { int off = (short) c.u16(); c.pos += off; } // skip
                case 0x92 -> { int r = (int) c.uleb(); st[sp++] = reg(regs, known, r) + c.sleb(); } // bregx
                case 0x94 -> { // deref_size
                    int n = c.u8();
                    byte[] b = new byte[8];
                    if (mem.read(st[sp - 1], b, 0, n) != n) throw new Memory.Fault(st[sp - 1]);
                    st[sp - 1] = Bytes.le64(b, 0);
                }
                case 0x96 -> { } // nop
                default -> throw new CfiException("unsupported DWARF expression op 0x" + Integer.toHexString(op));
            }
        }
        if (sp < 1) throw new CfiException("empty DWARF expression stack");
        return st[sp - 1];
    }

    private static long reg(long[] regs, int known, int r) {
        if (r >= Reg.COUNT || (known & (1 << r)) == 0) {
            throw new CfiException("DWARF expression uses unknown register " + r);
        }
        return regs[r];
    }
}
