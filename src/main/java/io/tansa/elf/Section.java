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
    public static final long SHF_ALLOC = 2, SHF_EXECINSTR = 4, SHF_COMPRESSED = 0x800;
    private static final int ELFCOMPRESS_ZLIB = 1;

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

    /**
     * The contents, decompressed when the section is compressed: SHF_COMPRESSED with an
     * Elf64_Chdr and zlib (what {@code objcopy --compress-debug-sections} and Debian's debug
     * files use), or the older ".zdebug_*" form ("ZLIB", 8-byte big-endian size). Throws
     * {@code Failure(UNSUPPORTED)} for other compressions (zstd) or a damaged stream.
     */
    public byte[] contents() {
        byte[] raw = bytes();
        if ((flags & SHF_COMPRESSED) != 0) {
            ByteBuffer h = buffer();
            if (raw.length < 24) throw unsupported("truncated compression header");
            int type = h.getInt(0);
            long size = h.getLong(8);
            if (type != ELFCOMPRESS_ZLIB) throw unsupported("compression type " + type + " (only zlib is supported)");
            return inflate(raw, 24, size);
        }
        if (name.startsWith(".zdebug") && raw.length >= 12 && raw[0] == 'Z' && raw[1] == 'L' && raw[2] == 'I' && raw[3] == 'B') {
            return inflate(raw, 12, ByteBuffer.wrap(raw, 4, 8).order(ByteOrder.BIG_ENDIAN).getLong());
        }
        return raw;
    }

    private byte[] inflate(byte[] raw, int from, long size) {
        if (size < 0 || size > Integer.MAX_VALUE - 8) throw unsupported("uncompressed size " + size);
        java.util.zip.Inflater inf = new java.util.zip.Inflater();
        try {
            inf.setInput(raw, from, raw.length - from);
            byte[] out = new byte[(int) size];
            int n = 0;
            while (n < out.length && !inf.finished()) {
                int k = inf.inflate(out, n, out.length - n);
                if (k == 0 && (inf.needsInput() || inf.needsDictionary())) break;
                n += k;
            }
            if (n != out.length) throw unsupported("compressed contents end after " + n + " of " + size + " bytes");
            return out;
        } catch (java.util.zip.DataFormatException e) {
            throw unsupported("damaged compressed contents (" + e.getMessage() + ")");
        } finally {
            inf.end();
        }
    }

    private io.tansa.Failure unsupported(String why) {
        return new io.tansa.Failure(io.tansa.Failure.Kind.UNSUPPORTED, "section " + name + ": " + why);
    }
}
