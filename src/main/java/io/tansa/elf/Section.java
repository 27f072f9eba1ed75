package io.tansa.elf;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A section header (elf(5) Elf64_Shdr) with its contents ({@code data}: a read-only little-endian
 * view; empty for SHT_NOBITS).
 */
public record Section(String name, int type, long addr, long offset, long size, long flags, int link, int info,
                      long entsize, ByteBuffer data) {
    public static final int SHT_PROGBITS = 1, SHT_SYMTAB = 2, SHT_STRTAB = 3, SHT_RELA = 4, SHT_NOTE = 7, SHT_NOBITS = 8,
            SHT_DYNSYM = 11, SHT_DYNAMIC = 6, SHT_GNU_VERDEF = 0x6ffffffd, SHT_GNU_VERSYM = 0x6fffffff;
    public static final long SHF_ALLOC = 2, SHF_EXECINSTR = 4;

    /** A copy of the contents. */
    public byte[] bytes() {
        ByteBuffer b = data.duplicate();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    /** A fresh little-endian view of the contents (position 0). */
    public ByteBuffer buffer() {
        return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }
}
