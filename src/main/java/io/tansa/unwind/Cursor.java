package io.tansa.unwind;

/**
 * Sequential little-endian reader over a section's bytes, with the DWARF variable-length and
 * DW_EH_PE pointer encodings. {@code vaddr} is the section's link-time address, needed for
 * pc-relative pointers.
 */
final class Cursor {
    // Pointer encodings, LSB Core spec "DWARF Exception Header Encoding" (DW_EH_PE_*).
    static final int PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
            PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c;
    static final int PE_PCREL = 0x10, PE_TEXTREL = 0x20, PE_DATAREL = 0x30, PE_FUNCREL = 0x40, PE_ALIGNED = 0x50;
    static final int PE_OMIT = 0xff; // DW_EH_PE_indirect (0x80) is ignored, see encoded()

    final byte[] b;
    final long vaddr;
    int pos;

    Cursor(byte[] b, long vaddr, int pos) {
        this.b = b;
        this.vaddr = vaddr;
        this.pos = pos;
    }

    boolean more(int end) {
        return pos < end;
    }

    int u8() {
        return b[pos++] & 0xff;
    }

    int u16() {
        int v = Bytes.le16(b, pos) & 0xffff;
        pos += 2;
        return v;
    }

    long u32() {
        long v = Bytes.le32(b, pos) & 0xffffffffL;
        pos += 4;
        return v;
    }

    int s32() {
        int v = Bytes.le32(b, pos);
        pos += 4;
        return v;
    }

    long u64() {
        long v = Bytes.le64(b, pos);
        pos += 8;
        return v;
    }

    long uleb() {
        return leb(false);
    }

    long sleb() {
        return leb(true);
    }

    /** LEB128 (DWARF 5 §7.6), sign-extended from its last group when {@code signed}. */
    private long leb(boolean signed) {
        long v = 0;
        int shift = 0;
        int x;
        do {
            x = b[pos++] & 0xff;
            if (shift < 64) v |= (long) (x & 0x7f) << shift;
            shift += 7;
        } while ((x & 0x80) != 0);
        if (signed && shift < 64 && (x & 0x40) != 0) v |= -1L << shift;
        return v;
    }

    String cstring() {
        int start = pos;
        while (b[pos] != 0) pos++;
        String s = new String(b, start, pos - start, java.nio.charset.StandardCharsets.ISO_8859_1);
        pos++;
        return s;
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
