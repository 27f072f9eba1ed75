package io.tansa.unwind;

/**
 * One column of a CFI row: how to recover a register (or the CFA) of the caller, DWARF 5
 * section 6.4.1. {@code reg}/{@code offset} are used by the kinds that need them, {@code expr}
 * holds the DWARF expression of the expression kinds.
 */
public record Rule(Kind kind, int reg, long offset, byte[] expr) {
    public enum Kind {
        /** The caller's value is unrecoverable (e.g. the return address of the outermost frame). */
        UNDEFINED,
        /** Unchanged from this frame. */
        SAME_VALUE,
        /** Saved at CFA + offset. */
        OFFSET,
        /** Is CFA + offset. */
        VAL_OFFSET,
        /** Held in register {@code reg} of this frame. */
        REGISTER,
        /** Saved at the address the expression computes (CFA pushed first). */
        EXPRESSION,
        /** Is the value the expression computes (CFA pushed first). */
        VAL_EXPRESSION,
        /** CFA only: register {@code reg} + offset. */
        CFA_REG_OFFSET,
        /** CFA only: the value of the expression. */
        CFA_EXPRESSION
    }

    static final Rule UNDEFINED = new Rule(Kind.UNDEFINED, 0, 0, null);
    static final Rule SAME = new Rule(Kind.SAME_VALUE, 0, 0, null);

    static Rule of(Kind k, int reg, long offset) {
        return new Rule(k, reg, offset, null);
    }

    @Override
    public String toString() {
        return switch (kind) {
            case UNDEFINED -> "u";
            case SAME_VALUE -> "s";
            case OFFSET -> "c" + (offset >= 0 ? "+" : "") + offset;
            case VAL_OFFSET -> "v:c" + (offset >= 0 ? "+" : "") + offset;
            case REGISTER -> Reg.values()[reg].name().toLowerCase(java.util.Locale.ROOT);
            case EXPRESSION -> "exp";
            case VAL_EXPRESSION -> "vexp";
            case CFA_REG_OFFSET -> Reg.values()[reg].name().toLowerCase(java.util.Locale.ROOT)
                    + (offset >= 0 ? "+" : "") + offset;
            case CFA_EXPRESSION -> "exp";
        };
    }
}
