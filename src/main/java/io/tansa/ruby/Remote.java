package io.tansa.ruby;

import io.tansa.sys.Mem;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads of the target's memory for the Ruby walker; a short read means the VM state is not what we expect. */
final class Remote {
    /** A read that hit unmapped memory or a structure that failed a sanity check. */
    static final class BadState extends RuntimeException {
        BadState(String what) { super(what, null, false, false); }
    }

    final int pid;

    Remote(int pid) { this.pid = pid; }

    /** {@code len} bytes at {@code addr}, little-endian; throws {@link BadState} if not all readable. */
    ByteBuffer read(long addr, int len) {
        if (addr == 0 || len < 0) throw new BadState("read at 0x" + Long.toHexString(addr));
        byte[] b = new byte[len];
        if (len > 0 && read(addr, b, len) != len) {
            throw new BadState("unreadable 0x" + Long.toHexString(addr) + "+" + len);
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Several ranges in one system call, packed back to back in the result (range i starts at
     * the sum of the lengths before it); throws {@link BadState} unless all are readable.
     */
    ByteBuffer readAll(long[] addrs, int[] lens, int count) {
        int total = 0;
        for (int i = 0; i < count; i++) {
            if (addrs[i] == 0) throw new BadState("read at 0");
            total += lens[i];
        }
        byte[] b = new byte[total];
        for (int from = 0, at = 0; from < count; ) {
            int n = Math.min(count - from, Mem.MAX_RANGES);
            long[] a = from == 0 && n == count ? addrs : java.util.Arrays.copyOfRange(addrs, from, from + n);
            int[] l = from == 0 && n == count ? lens : java.util.Arrays.copyOfRange(lens, from, from + n);
            int want = 0;
            for (int i = 0; i < n; i++) want += l[i];
            byte[] part = at == 0 && want == total ? b : new byte[want];
            long got;
            try {
                got = Mem.readv(pid, a, l, n, part);
            } catch (io.tansa.sys.SysException.ProcessGoneException e) {
                throw new BadState("process gone");
            }
            if (got != want) throw new BadState("unreadable range in batch");
            if (part != b) System.arraycopy(part, 0, b, at, want);
            at += want;
            from += n;
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private int read(long addr, byte[] b, int len) {
        try {
            return Mem.read(pid, addr, b, 0, len);
        } catch (io.tansa.sys.SysException.ProcessGoneException e) {
            throw new BadState("process gone");
        }
    }

    long word(long addr) {
        return read(addr, 8).getLong(0);
    }
}
