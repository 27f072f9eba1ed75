package io.tansa.unwind;

/**
 * {@link io.tansa.elf.DwarfReader} (integers, LEB128, strings) with the DW_EH_PE pointer
 * encodings. {@code vaddr} is the section's link-time address, needed for
 * pc-relative pointers.
 */
final class Cursor extends io.tansa.elf.DwarfReader {
    // Pointer encodings, LSB Core spec "DWARF Exception Header Encoding" (DW_EH_PE_*).
    static final int PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
            PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c;
    static final int PE_PCREL = 0x10, PE_TEXTREL = 0x20, PE_DATAREL = 0x30, PE_FUNCREL = 0x40, PE_ALIGNED = 0x50;
    static final int PE_OMIT = 0xff; // DW_EH_PE_indirect (0x80) is ignored, see encoded()

    final long vaddr;

    Cursor(byte[] b, long vaddr, int pos) {
        super(b, pos);
        this.vaddr = vaddr;
    }

    /**
     * A DW_EH_PE-encoded pointer. {@code dataBase} is the base for datarel (the .eh_frame_hdr
     * address, in the hdr table). Indirect pointers are returned as the address of the pointer:
     * only personality routines use them, and the unwinder never needs their value.
     */
    long encoded(int enc, long dataBase) {
        if (enc == PE_OMIT) return 0;
        long here = vaddr + pos;
        if ((enc & 0x70) == PE_ALIGNED) {
            pos = (pos + 7) & ~7;
            here = vaddr + pos;
        }
        long v = switch (enc & 0x0f) {
            case PE_ABSPTR, PE_UDATA8, PE_SDATA8 -> u64();
            case PE_ULEB128 -> uleb();
            case PE_UDATA2 -> u16();
            case PE_UDATA4 -> u32();
            case PE_SLEB128 -> sleb();
            case PE_SDATA2 -> (short) u16();
            case PE_SDATA4 -> s32();
            default -> throw new CfiException("unsupported pointer encoding 0x" + Integer.toHexString(enc));
        };
        return switch (enc & 0x70) {
            case PE_ABSPTR, PE_ALIGNED -> v;
            case PE_PCREL -> here + v;
            case PE_DATAREL -> dataBase + v;
            case PE_TEXTREL, PE_FUNCREL -> throw new CfiException("unsupported pointer base 0x" + Integer.toHexString(enc));
            default -> throw new CfiException("bad pointer encoding 0x" + Integer.toHexString(enc));
        };
    }
}
