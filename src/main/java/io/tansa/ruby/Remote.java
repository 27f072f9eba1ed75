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
        if (len > 0 && Mem.read(pid, addr, b, 0, len) != len) {
            throw new BadState("unreadable 0x" + Long.toHexString(addr) + "+" + len);
        }
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    long word(long addr) {
        return read(addr, 8).getLong(0);
    }
}
