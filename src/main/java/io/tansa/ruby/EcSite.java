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
        long fn = syms.address("rb_errinfo");
        if (fn <= 0) return null;
        try {
            return fromCode(new Remote(pid), fn);
        } catch (Remote.BadState e) {
            return null;
        }
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
