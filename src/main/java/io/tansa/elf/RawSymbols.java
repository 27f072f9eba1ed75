package io.tansa.elf;

import java.nio.charset.StandardCharsets;

/**
 * One symbol table (elf(5) Elf64_Sym entries) with its string table, held as plain arrays and
 * decoded only on demand: a lookup by name compares bytes without making a String per symbol,
 * which matters for libjvm's 70k symbols in a short-lived, not yet JIT-compiled CLI.
 */
final class RawSymbols {
    private static final int SHN_UNDEF = 0, SHN_ABS = 0xfff1;

    private final byte[] tab;
    private final byte[] str;
    private final byte[] versym; // .gnu.version: one u16 per .dynsym entry, or null
    private final String[] verNames; // version name by index (from .gnu.version_d), or null
    final boolean dynamic;
    final int count;

    RawSymbols(byte[] tab, byte[] str, byte[] versym, String[] verNames, boolean dynamic) {
        this.tab = tab;
        this.str = str;
        this.versym = versym;
        this.verNames = verNames;
        this.dynamic = dynamic;
        this.count = tab.length / 24;
    }

    int type(int i) {
        return tab[i * 24 + 4] & 0xf;
    }

    int bind(int i) {
        return (tab[i * 24 + 4] & 0xff) >>> 4;
    }

    long value(int i) {
        return le64(tab, i * 24 + 8);
    }

    long size(int i) {
        return le64(tab, i * 24 + 16);
    }

    private int shndx(int i) {
        return (tab[i * 24 + 6] & 0xff) | (tab[i * 24 + 7] & 0xff) << 8;
    }

    private int nameOff(int i) {
        return le32(tab, i * 24);
    }

    /** A symbol defined here with a name: not undefined, section, file, or an absolute version marker. */
    boolean defined(int i) {
        if (i == 0 || shndx(i) == SHN_UNDEF) return false;
        int t = type(i);
        if (t == Symbol.STT_SECTION || t == Symbol.STT_FILE) return false;
        if (shndx(i) == SHN_ABS && value(i) == 0) return false;
        int n = nameOff(i);
        return n > 0 && n < str.length;
    }

    boolean isFunction(int i) {
        int t = type(i);
        return t == Symbol.STT_FUNC || t == Symbol.STT_GNU_IFUNC;
    }

    /** Whether the name (before any "@VERSION" a .symtab spells into it) is exactly {@code want}. */
    boolean nameIs(int i, byte[] want) {
        int n = nameOff(i);
        if (n <= 0 || n + want.length >= str.length) return false;
        for (int k = 0; k < want.length; k++) if (str[n + k] != want[k]) return false;
        byte next = str[n + want.length];
        return next == 0 || (next == '@' && !dynamic);
    }

    /** Length of the name up to its NUL or (for .symtab) '@'. */
    int nameLength(int i) {
        int n = nameOff(i), e = n;
        while (e < str.length && str[e] != 0 && (dynamic || str[e] != '@')) e++;
        return e - n;
    }

    /** Leading underscores of the name. */
    int underscores(int i) {
        int n = nameOff(i), e = n;
        while (e < str.length && str[e] == '_') e++;
        return e - n;
    }

    /** The entry as a Symbol, with version from .gnu.version (dynsym) or spelled in the name (symtab). */
    Symbol decode(int i) {
        int n = nameOff(i), e = n;
        while (e < str.length && str[e] != 0) e++;
        String name = new String(str, n, e - n, StandardCharsets.UTF_8);
        String version = null;
        boolean dflt = true;
        if (versym != null && verNames != null && i * 2 + 1 < versym.length) {
            int v = (versym[i * 2] & 0xff) | (versym[i * 2 + 1] & 0xff) << 8;
            int idx = v & 0x7fff;
            if (idx > 1 && idx < verNames.length && verNames[idx] != null) {
                version = verNames[idx];
                dflt = (v & 0x8000) == 0; // VERSYM_HIDDEN: "name@VERSION"
            }
        } else if (!dynamic) {
            // .symtab spells versions into the name: "memcpy@@GLIBC_2.14", "memcpy@GLIBC_2.2.5".
            int at = name.indexOf('@');
            if (at > 0) {
                dflt = name.startsWith("@@", at);
                version = name.substring(at + (dflt ? 2 : 1));
                name = name.substring(0, at);
            }
        }
        return new Symbol(name, version, value(i), size(i), type(i), bind(i), dynamic, dflt);
    }

    static int le32(byte[] b, int p) {
        return (b[p] & 0xff) | (b[p + 1] & 0xff) << 8 | (b[p + 2] & 0xff) << 16 | (b[p + 3] & 0xff) << 24;
    }

    static long le64(byte[] b, int p) {
        return (le32(b, p) & 0xffffffffL) | (long) le32(b, p + 4) << 32;
    }
}
