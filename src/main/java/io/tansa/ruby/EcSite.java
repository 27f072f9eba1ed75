package io.tansa.ruby;

import java.nio.ByteBuffer;

/**
 * Where a Ruby process keeps the running thread's execution context ({@code rb_execution_context_t *}):
 * <ul>
 * <li>2.7: the global {@code ruby_current_execution_context_ptr} (exported), the context of the
 *     thread holding the GVL ({@link #global});
 * <li>3.0 and later: the thread-local {@code ruby_current_ec} in libruby's TLS block, found as
 *     TLS module id and offset in that block ({@link #tlsModule}, {@link #tlsOffset}).
 * </ul>
 * From 3.3 {@code ruby_current_ec} is hidden (not in .dynsym) and Debian's libruby is stripped, so
 * the variable is found through the code of an exported function that reads it: {@code rb_errinfo()}
 * is {@code return GET_EC()->errinfo;} (eval.c), compiled in a shared library (general-dynamic TLS,
 * System V x86-64 TLS ABI, Drepper "ELF Handling For Thread-Local Storage" §4.3.5) to
 * <pre>
 *   [endbr64] sub $8,%rsp; data16 lea tls_index(%rip),%rdi; data16 data16 rex.W call __tls_get_addr
 *   mov (%rax),%rax | mov disp(%rax),%rax
 * </pre>
 * whose {@code tls_index} is two GOT words the dynamic linker filled in the live process: the
 * module id (R_X86_64_DTPMOD64) and the variable's offset in the module's block (R_X86_64_DTPOFF64,
 * or a constant for a hidden variable); a local-dynamic access adds the displacement of the load.
 * This needs no symbol of the variable itself, so it works the same on 3.1 (exported), 3.3 and 3.4
 * (hidden) and on a stripped library.
 *
 * <p>A static ruby ({@code --disable-shared}, ruby-build's default) has the VM in the executable, and
 * {@code ruby_current_ec} in the executable's own TLS block: TLS module 1 (the executable is always
 * module 1, System V x86-64 ABI §3.4.6 / Drepper §2), allocated in the static TLS area below the
 * thread pointer (variant II), and its DTV entry {@code dtv[1]} points at the block as for any
 * module, so the snapshot program and {@link RubyReader} read it as they read libruby's. The offset
 * in the block is the symbol's st_value (STT_TLS, in .symtab: a static ruby is not stripped by
 * ruby-build); without it, from rb_errinfo's code, which in an executable is a local-exec access,
 * {@code mov %fs:TPOFF,%rax} (or the initial-exec form the linker relaxed to {@code mov $TPOFF,%rax;
 * mov %fs:(%rax),%rax}), TPOFF being the variable's offset from the thread pointer: the block starts
 * at {@code tp - tlsoffset}, where glibc's _dl_determine_tlsoffset places the executable's block of
 * PT_TLS size {@code memsz}, alignment {@code align} and first-byte offset
 * {@code firstbyte = -vaddr & (align - 1)} at {@code tlsoffset = roundup(memsz - firstbyte, align) + firstbyte}.
 */
public record EcSite(long global, long tlsModule, long tlsOffset, String how) {
    /** Whether the context is a global pointer (2.7) rather than a TLS variable. */
    public boolean isGlobal() {
        return global != 0;
    }

    /**
     * The site in {@code pid}, or null (with no exception) when neither the 2.7 global nor the
     * rb_errinfo code pattern is there.
     */
    static EcSite find(int pid, Symbols syms) {
        long g = syms.address("ruby_current_execution_context_ptr");
        if (g > 0) return new EcSite(g, 0, 0, "ruby_current_execution_context_ptr");
        io.tansa.elf.ElfFile exe = syms.staticRuby();
        if (exe != null) {
            for (io.tansa.elf.Symbol s : exe.lookup("ruby_current_ec")) {
                if (s.isTls()) return new EcSite(0, 1, s.value(), "ruby_current_ec in the executable's TLS block (module 1, offset 0x"
                        + Long.toHexString(s.value()) + ")");
            }
        }
        long fn = syms.address("rb_errinfo");
        if (fn <= 0) return null;
        try {
            Remote mem = new Remote(pid);
            if (exe != null) return fromExecutableCode(mem, fn, exe.tls().orElse(null));
            return fromCode(mem, fn);
        } catch (Remote.BadState e) {
            return null;
        }
    }

    /**
     * The executable's TLS variable that rb_errinfo at {@code fn} reads with a local-exec access
     * ({@code mov %fs:TPOFF,%rax}: 64 48 8b 04 25 imm32) or a relaxed initial-exec one
     * ({@code mov $TPOFF,%rax; mov %fs:(%rax),%rax}: 48 c7 c0 imm32, 64 48 8b 00), as module 1 and
     * offset in its block, from the executable's PT_TLS {@code tls}; null when the code is neither.
     */
    static EcSite fromExecutableCode(Remote mem, long fn, io.tansa.elf.ElfFile.Tls tls) {
        if (tls == null || tls.memsz() <= 0) return null;
        ByteBuffer b = mem.read(fn, 24);
        int at = 0;
        if (b.getInt(at) == 0xfa1e0ff3) at += 4; // endbr64
        long tpoff;
        if (u(b, at) == 0x64 && u(b, at + 1) == 0x48 && u(b, at + 2) == 0x8b && u(b, at + 3) == 0x04 && u(b, at + 4) == 0x25) {
            tpoff = b.getInt(at + 5);
        } else if (u(b, at) == 0x48 && u(b, at + 1) == 0xc7 && u(b, at + 2) == 0xc0
                && u(b, at + 7) == 0x64 && u(b, at + 8) == 0x48 && u(b, at + 9) == 0x8b && u(b, at + 10) == 0x00) {
            tpoff = b.getInt(at + 3);
        } else {
            return null;
        }
        long align = Math.max(1, tls.align());
        long firstbyte = -tls.vaddr() & (align - 1);
        long tlsOffset = (tls.memsz() - firstbyte + align - 1) / align * align + firstbyte;
        long offset = tlsOffset + tpoff;
        if (tpoff >= 0 || offset < 0 || offset + 8 > tls.memsz()) return null;
        return new EcSite(0, 1, offset, "rb_errinfo's local-exec TLS access (the executable's block, module 1, offset 0x"
                + Long.toHexString(offset) + ")");
    }

    /** Why {@link #find} found no site, for the one-line message: what was looked for. */
    static String notFound(Symbols syms) {
        return syms.staticRuby() != null
                ? "a static ruby: no ruby_current_ec TLS symbol in the executable, and rb_errinfo is not a local-exec TLS access"
                : "no ruby_current_execution_context_ptr, and rb_errinfo is not the expected TLS access";
    }

    /** The TLS site read by the general- or local-dynamic access at the start of the function at {@code fn}. */
    static EcSite fromCode(Remote mem, long fn) {
        ByteBuffer b = mem.read(fn, 40);
        int at = 0;
        if (b.getInt(at) == 0xfa1e0ff3) at += 4; // endbr64 (-fcf-protection)
        if (u(b, at) == 0x48 && u(b, at + 1) == 0x83 && u(b, at + 2) == 0xec) at += 4; // sub $imm8,%rsp
        if (u(b, at) == 0x66) at++; // the data16 prefix of the general-dynamic sequence
        if (u(b, at) != 0x48 || u(b, at + 1) != 0x8d || u(b, at + 2) != 0x3d) return null; // lea disp32(%rip),%rdi
        long tlsIndex = fn + at + 7 + b.getInt(at + 3);
        at += 7;
        while (u(b, at) == 0x66 || u(b, at) == 0x48) at++; // data16 data16 rex.W
        if (u(b, at) != 0xe8 && !(u(b, at) == 0xff && u(b, at + 1) == 0x15)) return null; // call __tls_get_addr (plt or GOT)
        at += u(b, at) == 0xe8 ? 5 : 6;
        long disp;
        if (u(b, at) == 0x48 && u(b, at + 1) == 0x8b && u(b, at + 2) == 0x00) disp = 0; // mov (%rax),%rax
        else if (u(b, at) == 0x48 && u(b, at + 1) == 0x8b && u(b, at + 2) == 0x40) disp = b.get(at + 3); // mov disp8(%rax),%rax
        else if (u(b, at) == 0x48 && u(b, at + 1) == 0x8b && u(b, at + 2) == 0x80) disp = b.getInt(at + 3); // mov disp32(%rax),%rax
        else return null;
        long module = mem.word(tlsIndex), offset = mem.word(tlsIndex + 8);
        if (module <= 0 || module > 1 << 16 || offset < 0 || offset + disp < 0 || offset + disp > 1 << 24) return null;
        return new EcSite(0, module, offset + disp, "rb_errinfo's TLS access (module " + module + ", offset 0x"
                + Long.toHexString(offset + disp) + ")");
    }

    private static int u(ByteBuffer b, int i) {
        return b.get(i) & 0xff;
    }
}
