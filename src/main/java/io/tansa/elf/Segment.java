package io.tansa.elf;

/** A PT_LOAD program header (elf(5) Elf64_Phdr). flags: PF_X=1, PF_W=2, PF_R=4. */
public record Segment(long vaddr, long memsz, long offset, long filesz, int flags) {
    public static final int PF_X = 1, PF_W = 2, PF_R = 4;

    public boolean executable() {
        return (flags & PF_X) != 0;
    }
}
