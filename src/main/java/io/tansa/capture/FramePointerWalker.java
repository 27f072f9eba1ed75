package io.tansa.capture;

import io.tansa.sys.Mem;
import io.tansa.sys.Regs;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Frame-pointer stack walk for a thread stopped at a uprobe hit. The kernel reports the
 * sigtrap after it has executed the probed instruction out of line, so at a function's entry
 * the first instruction (push %rbp, sub $n,%rsp, endbr64, …) has already moved rsp; the return
 * address is found by decoding that instruction from the file (the process's copy holds the
 * uprobe's int3). From the caller on, the rbp chain is followed while it stays on the stack and
 * points at executable code. Used where no CFI unwinder is available.
 */
public final class FramePointerWalker {
    private FramePointerWalker() {}

    /** How far rsp moved over the probed first instruction (bytes), from its encoding. */
    static long entryAdjust(byte[] insn) {
        int b0 = insn[0] & 0xff;
        if (b0 == 0x55 || (b0 >= 0x50 && b0 <= 0x57)) return 8; // push %rbp / push %reg
        if (b0 == 0x41 && (insn[1] & 0xff) >= 0x50 && (insn[1] & 0xff) <= 0x57) return 8; // push %r8-%r15
        if (b0 == 0x48 && (insn[1] & 0xff) == 0x83 && (insn[2] & 0xff) == 0xec) return insn[3] & 0xff; // sub $imm8,%rsp
        if (b0 == 0x48 && (insn[1] & 0xff) == 0x81 && (insn[2] & 0xff) == 0xec) {
            return (insn[3] & 0xffL) | (insn[4] & 0xffL) << 8 | (insn[5] & 0xffL) << 16 | (insn[6] & 0xffL) << 24;
        }
        return 0; // endbr64, mov, … leave rsp alone
    }

    /** The first bytes of the probed instruction, read from the object file. */
    public static byte[] insnAt(Path file, long fileOffset) {
        byte[] b = new byte[16];
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            f.seek(fileOffset);
            f.readFully(b);
        } catch (IOException e) {
            return b; // zeros: treated as "rsp unchanged"
        }
        return b;
    }

    /**
     * Return addresses, innermost first, starting with {@code pc0}. {@code atEntry}: the probe is
     * at a function's first instruction (whose bytes are {@code insn}).
     */
    public static long[] walk(int pid, Regs regs, long pc0, boolean atEntry, byte[] insn, long stackLo, long stackHi,
            AddressCheck code, int max) {
        List<Long> out = new ArrayList<>();
        out.add(pc0);
        long rbp = regs.bp();
        if (atEntry) {
            long ra = read(pid, regs.sp() + entryAdjust(insn));
            if (ra == 0 || !code.executable(ra)) return toArray(out);
            out.add(ra);
        }
        while (out.size() < max && rbp != 0 && rbp >= stackLo && rbp + 16 <= stackHi && (rbp & 7) == 0) {
            long ra = read(pid, rbp + 8);
            long next = read(pid, rbp);
            if (ra == 0 || !code.executable(ra)) break;
            out.add(ra);
            if (next <= rbp) break;
            rbp = next;
        }
        return toArray(out);
    }

    /** Whether an address is in executable memory of the process. */
    public interface AddressCheck {
        boolean executable(long addr);
    }

    private static long read(int pid, long addr) {
        try {
            return Mem.readLong(pid, addr);
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static long[] toArray(List<Long> l) {
        long[] a = new long[l.size()];
        for (int i = 0; i < a.length; i++) a[i] = l.get(i);
        return a;
    }
}
