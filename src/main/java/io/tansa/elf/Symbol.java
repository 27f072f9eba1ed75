package io.tansa.elf;

/**
 * A defined ELF symbol (elf(5) Elf64_Sym). {@code name} is without version; {@code version} is the
 * symbol version from .gnu.version_d ("GLIBC_2.14") or null; {@code defaultVersion} tells
 * "name@@VERSION" (the one a new link binds to) from a hidden "name@VERSION". {@code value} is
 * the link-time virtual address (the offset into the TLS block for TLS symbols), {@code dynamic}
 * whether it came from .dynsym (exported).
 */
public record Symbol(String name, String version, long value, long size, int type, int bind, boolean dynamic,
                     boolean defaultVersion) {
    public static final int STT_NOTYPE = 0, STT_OBJECT = 1, STT_FUNC = 2, STT_SECTION = 3, STT_FILE = 4,
            STT_COMMON = 5, STT_TLS = 6, STT_GNU_IFUNC = 10;
    public static final int STB_LOCAL = 0, STB_GLOBAL = 1, STB_WEAK = 2, STB_GNU_UNIQUE = 10;

    public Symbol(String name, String version, long value, long size, int type, int bind, boolean dynamic) {
        this(name, version, value, size, type, bind, dynamic, true);
    }

    /** Code: STT_FUNC or STT_GNU_IFUNC. */
    public boolean isFunction() {
        return type == STT_FUNC || type == STT_GNU_IFUNC;
    }

    /** Thread-local: value is an offset in the module's TLS block. */
    public boolean isTls() {
        return type == STT_TLS;
    }

    /** Whether the symbol is an IFUNC resolver (its callers run what it returns, not it). */
    public boolean isIfunc() {
        return type == STT_GNU_IFUNC;
    }

    /** "name", "name@@VERSION" or "name@VERSION", as readelf prints it. */
    public String fullName() {
        if (version == null) return name;
        return name + (defaultVersion ? "@@" : "@") + version;
    }
}
