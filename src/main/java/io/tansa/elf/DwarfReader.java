package io.tansa.elf;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Sequential little-endian reader over a DWARF section's bytes: fixed-size integers, LEB128
 * (DWARF 5 §7.6) and NUL-terminated strings. The one LEB128 reader of tansa: the CFI parser's
 * {@code unwind.Cursor} extends it with the DW_EH_PE pointer encodings, {@link DebugLine} reads
 * line-number programs with it. Reads past the end throw {@link IndexOutOfBoundsException}.
 */
public class DwarfReader {
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    public final byte[] b;
    public int pos;

    public DwarfReader(byte[] b, int pos) {
        this.b = b;
        this.pos = pos;
    }

    public final boolean more(int end) {
        return pos < end;
    }

    public final int u8() {
        return b[pos++] & 0xff;
    }

    public final int u16() {
        int v = (short) LE16.get(b, pos) & 0xffff;
        pos += 2;
        return v;
    }

    public final long u32() {
        long v = (int) LE32.get(b, pos) & 0xffffffffL;
        pos += 4;
        return v;
    }

    public final int s32() {
        int v = (int) LE32.get(b, pos);
        pos += 4;
        return v;
    }

    public final long u64() {
        long v = (long) LE64.get(b, pos);
        pos += 8;
        return v;
    }

    /** An unsigned little-endian integer of {@code size} bytes (1, 2, 4 or 8). */
    public final long unsigned(int size) {
        return switch (size) {
            case 1 -> u8();
            case 2 -> u16();
            case 4 -> u32();
            case 8 -> u64();
            default -> throw new IllegalArgumentException("integer of " + size + " bytes");
        };
    }

    public final long uleb() {
        return leb(false);
    }

    public final long sleb() {
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

    /** A NUL-terminated string (bytes as ISO-8859-1: names in CFI augmentations are ASCII). */
    public final String cstring() {
        return cstring(StandardCharsets.ISO_8859_1);
    }

    public final String cstring(java.nio.charset.Charset cs) {
        int start = pos;
        while (b[pos] != 0) pos++;
        String s = new String(b, start, pos - start, cs);
        pos++;
        return s;
    }
}
