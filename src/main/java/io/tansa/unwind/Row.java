package io.tansa.unwind;

/**
 * The unwind rules valid for link-time addresses {@code [start, end)} of one function: how to
 * compute the CFA and each register of the caller ({@code regs} indexed by DWARF number, see
 * {@link Reg}). {@code signalFrame} is set for FDEs whose CIE has the "S" augmentation (signal
 * trampolines): the caller's pc is then exact, not a return address.
 */
public record Row(long start, long end, Rule cfa, Rule[] regs, int raColumn, boolean signalFrame) {
    /** The rule for DWARF register {@code reg}. */
    public Rule rule(int reg) {
        return regs[reg];
    }

    /** readelf --debug-dump=frames-interp style, for diagnostics: "cfa=rsp+8 rip=c-8". */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("0x").append(Long.toHexString(start)).append(" cfa=").append(cfa);
        for (int i = 0; i < regs.length; i++) {
            if (regs[i].kind() != Rule.Kind.SAME_VALUE) {
                b.append(' ').append(Reg.values()[i].name().toLowerCase(java.util.Locale.ROOT)).append('=').append(regs[i]);
            }
        }
        return b.toString();
    }
}
