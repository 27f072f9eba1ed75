package io.tansa.unwind;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Just enough ELF64 reading for the unwinder's tests (sections, first PT_LOAD, function symbols),
 * so they do not depend on the elf package. Layouts from &lt;elf.h&gt;.
 */
final class TestElf {
    record Section(String name, long addr, long offset, long size) {}

    record Sym(String name, long value, long size) {}

    final Path path;
    final byte[] data;
    final Map<String, Section> sections = new HashMap<>();
    final long firstLoadVaddr;
    final List<Sym> syms = new ArrayList<>();

    TestElf(Path path) throws IOException {
        this.path = path;
        data = Files.readAllBytes(path);
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(0x20), shoff = b.getLong(0x28);
        int phentsize = b.getShort(0x36) & 0xffff, phnum = b.getShort(0x38) & 0xffff;
        int shentsize = b.getShort(0x3a) & 0xffff, shnum = b.getShort(0x3c) & 0xffff, shstrndx = b.getShort(0x3e) & 0xffff;
        long load = -1;
        for (int i = 0; i < phnum && load < 0; i++) {
            int p = (int) (phoff + (long) i * phentsize);
            if (b.getInt(p) == 1) load = b.getLong(p + 16) - b.getLong(p + 8); // PT_LOAD: p_vaddr - p_offset
        }
        firstLoadVaddr = load;
        long strOff = b.getLong((int) (shoff + (long) shstrndx * shentsize) + 24);
        List<int[]> symtabs = new ArrayList<>();
        for (int i = 0; i < shnum; i++) {
            int s = (int) (shoff + (long) i * shentsize);
            String name = cstr(strOff + b.getInt(s));
            int type = b.getInt(s + 4);
            sections.put(name, new Section(name, b.getLong(s + 16), b.getLong(s + 24), b.getLong(s + 32)));
            if (type == 2 || type == 11) symtabs.add(new int[] {s}); // SHT_SYMTAB, SHT_DYNSYM
        }
        for (int[] st : symtabs) {
            int s = st[0];
            long off = b.getLong(s + 24), size = b.getLong(s + 32);
            int link = b.getInt(s + 40);
            long strs = b.getLong((int) (shoff + (long) link * shentsize) + 24);
            for (long e = off; e + 24 <= off + size; e += 24) {
                int info = data[(int) e + 4] & 0xf;
                long value = b.getLong((int) e + 8);
                if ((info == 2 || info == 10) && value != 0) { // STT_FUNC, STT_GNU_IFUNC
                    syms.add(new Sym(cstr(strs + b.getInt((int) e)), value, b.getLong((int) e + 16)));
                }
            }
        }
        syms.sort((x, y) -> Long.compareUnsigned(x.value, y.value));
    }

    private String cstr(long off) {
        int o = (int) off, e = o;
        while (data[e] != 0) e++;
        return new String(data, o, e - o, StandardCharsets.ISO_8859_1);
    }

    byte[] bytes(String section) {
        Section s = sections.get(section);
        return Arrays.copyOfRange(data, (int) s.offset, (int) (s.offset + s.size));
    }

    /** The .eh_frame CFI through .eh_frame_hdr, or null when the file has none. */
    Cfi cfi() {
        Section hdr = sections.get(".eh_frame_hdr"), eh = sections.get(".eh_frame");
        if (hdr == null || eh == null) return null;
        return Cfi.parse(bytes(".eh_frame_hdr"), hdr.addr, bytes(".eh_frame"), eh.addr);
    }

    /** Function containing link-time address {@code vaddr}. */
    Optional<String> symbol(long vaddr) {
        String best = null;
        for (Sym s : syms) {
            if (Long.compareUnsigned(s.value, vaddr) > 0) break;
            if (vaddr < s.value + Math.max(1, s.size)) best = s.name;
        }
        return Optional.ofNullable(best);
    }
}
