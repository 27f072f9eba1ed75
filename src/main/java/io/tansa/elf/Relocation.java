package io.tansa.elf;

/**
 * A dynamic relocation (elf(5) Elf64_Rela from .rela.dyn / .rela.plt): the slot at link-time
 * address {@code offset}, x86-64 {@code type}, the .dynsym entry's name (null for none) and the
 * addend (for R_X86_64_IRELATIVE: the IFUNC resolver's address).
 */
public record Relocation(long offset, int type, String symbol, long addend) {
    public static final int R_X86_64_GLOB_DAT = 6, R_X86_64_JUMP_SLOT = 7, R_X86_64_IRELATIVE = 37;
}
