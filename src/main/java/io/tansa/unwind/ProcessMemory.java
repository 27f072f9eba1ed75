package io.tansa.unwind;

import io.tansa.sys.Mem;
import java.util.HashMap;
import java.util.Map;

/**
 * A stopped process's memory read with process_vm_readv(2), a page at a time and cached: one
 * walk touches few stack pages, so a stack of 30 frames costs a handful of syscalls instead of
 * one per word. Create one per stop (the cache assumes the memory does not change meanwhile).
 */
public final class ProcessMemory implements Memory {
    private static final int PAGE = 4096;
    private final int pid;
    private final Map<Long, byte[]> pages = new HashMap<>();

    public ProcessMemory(int pid) {
        this.pid = pid;
    }

    @Override
    public int read(long addr, byte[] dst, int off, int len) {
        int done = 0;
        while (done < len) {
            long a = addr + done;
            byte[] page = page(a & -PAGE);
            if (page == null) return done == 0 ? -1 : done;
            int in = (int) (a & (PAGE - 1));
            int n = Math.min(len - done, PAGE - in);
            System.arraycopy(page, in, dst, off + done, n);
            done += n;
        }
        return done;
    }

    @Override
    public long readLong(long addr) {
        if ((addr & (PAGE - 1)) <= PAGE - 8) {
            byte[] page = page(addr & -PAGE);
            if (page == null) throw new Fault(addr);
            return Bytes.le64(page, (int) (addr & (PAGE - 1)));
        }
        return Memory.super.readLong(addr);
    }

    private static final byte[] UNREADABLE = new byte[0];

    private byte[] page(long start) {
        byte[] p = pages.get(start);
        if (p == null) {
            p = new byte[PAGE];
            if (Mem.read(pid, start, p, 0, PAGE) != PAGE) p = UNREADABLE;
            pages.put(start, p);
        }
        return p == UNREADABLE ? null : p;
    }
}
