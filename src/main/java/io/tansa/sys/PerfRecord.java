package io.tansa.sys;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Records of a perf ring buffer ({@link PerfRing#drain}), decoded. Body layouts are the ones
 * documented next to {@code enum perf_event_type} in &lt;linux/perf_event.h&gt; (and
 * perf_event_open(2), "MMAP layout"); the constants are checked against the header in
 * PerfRecordLayoutTest. Sample bodies depend on the event's {@code sample_type}: only the
 * fields tansa asks for are decoded (IP, TID, TIME, CPU, PERIOD, CALLCHAIN, REGS_USER, STACK_USER,
 * in that kernel order).
 */
public sealed interface PerfRecord {

    // struct perf_event_header.misc
    int MISC_CPUMODE_MASK = 7, MISC_KERNEL = 1, MISC_USER = 2, MISC_HYPERVISOR = 3, MISC_GUEST_KERNEL = 4,
            MISC_GUEST_USER = 5;
    int MISC_COMM_EXEC = 1 << 13;

    // enum perf_callchain_context: markers inside PERF_SAMPLE_CALLCHAIN ips (as unsigned 64-bit values)
    long CONTEXT_HV = -32, CONTEXT_KERNEL = -128, CONTEXT_USER = -512, CONTEXT_GUEST = -2048,
            CONTEXT_GUEST_KERNEL = -2176, CONTEXT_GUEST_USER = -2560, CONTEXT_MAX = -4095;

    /** True for a callchain entry that is a context marker rather than an address. */
    static boolean isContextMarker(long ip) {
        return Long.compareUnsigned(ip, CONTEXT_MAX) >= 0;
    }

    /**
     * PERF_RECORD_SAMPLE. {@code cpumode} is header.misc &amp; MISC_CPUMODE_MASK (MISC_KERNEL or
     * MISC_USER for the IP); {@code callchain} holds the raw ips with their context markers, or is
     * empty without PERF_SAMPLE_CALLCHAIN. Fields not in the sample type are 0 (cpu: -1).
     * {@code user} is the user-mode state of PERF_SAMPLE_REGS_USER + STACK_USER, or null;
     * {@code raw} the PERF_SAMPLE_RAW bytes (e.g. what a BPF program output), or null.
     */
    record Sample(int cpumode, long ip, int pid, int tid, long time, int cpu, long period, long[] callchain,
            UserState user, byte[] raw) implements PerfRecord {
        public Sample(int cpumode, long ip, int pid, int tid, long time, int cpu, long period, long[] callchain) {
            this(cpumode, ip, pid, tid, time, cpu, period, callchain, null, null);
        }

        public boolean kernel() {
            return cpumode == MISC_KERNEL || cpumode == MISC_GUEST_KERNEL;
        }
    }

    /**
     * x86-64 sample_regs_user bits, enum perf_event_x86_regs in &lt;asm/perf_regs.h&gt;: the
     * registers a DWARF unwind needs (ax..ip and r8..r15; not flags and segments).
     */
    int REG_AX = 0, REG_BX = 1, REG_CX = 2, REG_DX = 3, REG_SI = 4, REG_DI = 5, REG_BP = 6, REG_SP = 7, REG_IP = 8,
            REG_R8 = 16;
    long UNWIND_REGS = 0x1ffL | 0xffL << REG_R8;

    /** perf_sample_regs_abi: PERF_SAMPLE_REGS_ABI_NONE when the sample has no user registers. */
    long REGS_ABI_NONE = 0, REGS_ABI_64 = 2;

    /**
     * The user-mode registers and stack copy of a sample. {@code regs} is indexed by the REG_*
     * bit numbers (registers not in the mask are 0); {@code stack} holds the bytes copied from
     * rsp upwards (the kernel's dyn_size of them are valid; it stops early at the stack's end).
     */
    record UserState(long abi, long[] regs, byte[] stack) {}

    /** PERF_RECORD_MMAP2: {@code filename} mapped at [addr, addr+len) from file offset pgoff. */
    record Mmap2(int pid, int tid, long addr, long len, long pgoff, int prot, String filename) implements PerfRecord {}

    /** PERF_RECORD_COMM: thread {@code tid} is now called {@code comm} ({@code exec}: by execve). */
    record Comm(int pid, int tid, String comm, boolean exec) implements PerfRecord {}

    /** PERF_RECORD_FORK (exit = false) or PERF_RECORD_EXIT (exit = true). */
    record Task(boolean exit, int pid, int ppid, int tid, int ptid, long time) implements PerfRecord {}

    /** PERF_RECORD_LOST: {@code lost} records dropped because the ring was full. */
    record Lost(long id, long lost) implements PerfRecord {}

    /** PERF_RECORD_THROTTLE / UNTHROTTLE: the kernel lowered (or restored) the sample rate. */
    record Throttle(boolean throttled) implements PerfRecord {}

    /** Any other record type, kept only by type. */
    record Other(int type) implements PerfRecord {}

    /**
     * Where the fields of a PERF_RECORD_SAMPLE lie for one sample_type, for a reader that takes a
     * few fields of every record in place, without {@link #decode}'s copies (tansa trace reads two
     * records per syscall of the target: an allocation per record shows in its drain rate).
     * Offsets from the record's start (the header), -1 for a field not in the type; {@code raw}
     * is where the PERF_SAMPLE_RAW bytes start (after their u32 size). Only for sample types made
     * of IP, TID, TIME, CPU, PERIOD and RAW (the fields before RAW then have fixed sizes).
     */
    record SampleLayout(int ip, int pid, int tid, int time, int cpu, int period, int raw) {
        public static SampleLayout of(long st) {
            long fixed = PerfEvent.SAMPLE_IP | PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_CPU
                    | PerfEvent.SAMPLE_PERIOD | PerfEvent.SAMPLE_RAW;
            if ((st & ~fixed) != 0) throw new IllegalArgumentException("sample_type 0x" + Long.toHexString(st)
                    + " has fields of variable size or unknown to this layout");
            // the kernel's order, as in decode(): IP, TID (pid, tid), TIME, CPU (cpu, res), PERIOD, RAW
            int p = 8, ip = -1, pid = -1, tid = -1, time = -1, cpu = -1, period = -1, raw = -1;
            if ((st & PerfEvent.SAMPLE_IP) != 0) { ip = p; p += 8; }
            if ((st & PerfEvent.SAMPLE_TID) != 0) { pid = p; tid = p + 4; p += 8; }
            if ((st & PerfEvent.SAMPLE_TIME) != 0) { time = p; p += 8; }
            if ((st & PerfEvent.SAMPLE_CPU) != 0) { cpu = p; p += 8; }
            if ((st & PerfEvent.SAMPLE_PERIOD) != 0) { period = p; p += 8; }
            if ((st & PerfEvent.SAMPLE_RAW) != 0) raw = p + 4; // { u32 size; char data[size]; }
            return new SampleLayout(ip, pid, tid, time, cpu, period, raw);
        }
    }

    /**
     * Decodes one record as handed out by {@link PerfRing#drain} (little-endian, positioned at
     * the header). {@code sampleType} is the event's attr.sample_type (a combination of
     * PerfEvent.SAMPLE_IP, SAMPLE_TID, SAMPLE_TIME, SAMPLE_CPU, SAMPLE_PERIOD, SAMPLE_CALLCHAIN, SAMPLE_RAW;
     * SAMPLE_REGS_USER with sample_regs_user = {@link #UNWIND_REGS}, SAMPLE_STACK_USER; other bits
     * are rejected because their fields would shift the layout).
     */
    static PerfRecord decode(ByteBuffer b, long sampleType) {
        int type = b.getInt(0);
        int misc = b.getShort(4) & 0xffff;
        int size = b.getShort(6) & 0xffff;
        return switch (type) {
            case PerfEvent.RECORD_SAMPLE -> sample(b, misc, sampleType);
            // struct { header; u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino, ino_generation;
            //          u32 prot, flags; char filename[]; sample_id }
            case PerfEvent.RECORD_MMAP2 -> new Mmap2(b.getInt(8), b.getInt(12), b.getLong(16), b.getLong(24),
                    b.getLong(32), b.getInt(64), cString(b, 72, size));
            // struct { header; u32 pid, tid; char comm[]; sample_id }
            case PerfEvent.RECORD_COMM -> new Comm(b.getInt(8), b.getInt(12), cString(b, 16, size),
                    (misc & MISC_COMM_EXEC) != 0);
            // struct { header; u32 pid, ppid; u32 tid, ptid; u64 time; sample_id }
            case PerfEvent.RECORD_FORK, PerfEvent.RECORD_EXIT -> new Task(type == PerfEvent.RECORD_EXIT,
                    b.getInt(8), b.getInt(12), b.getInt(16), b.getInt(20), b.getLong(24));
            // struct { header; u64 id; u64 lost; sample_id }
            case PerfEvent.RECORD_LOST -> new Lost(b.getLong(8), b.getLong(16));
            case PerfEvent.RECORD_THROTTLE, PerfEvent.RECORD_UNTHROTTLE ->
                    new Throttle(type == PerfEvent.RECORD_THROTTLE);
            default -> new Other(type);
        };
    }

    private static Sample sample(ByteBuffer b, int misc, long st) {
        long known = PerfEvent.SAMPLE_IP | PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_CPU
                | PerfEvent.SAMPLE_PERIOD | PerfEvent.SAMPLE_CALLCHAIN | PerfEvent.SAMPLE_REGS_USER
                | PerfEvent.SAMPLE_STACK_USER | PerfEvent.SAMPLE_RAW;
        if ((st & ~known) != 0) throw new IllegalArgumentException("sample_type 0x" + Long.toHexString(st)
                + " has fields this decoder does not know");
        int p = 8;
        long ip = 0, time = 0, period = 0;
        int pid = 0, tid = 0, cpu = -1;
        long[] chain = new long[0];
        if ((st & PerfEvent.SAMPLE_IP) != 0) { ip = b.getLong(p); p += 8; }
        if ((st & PerfEvent.SAMPLE_TID) != 0) { pid = b.getInt(p); tid = b.getInt(p + 4); p += 8; }
        if ((st & PerfEvent.SAMPLE_TIME) != 0) { time = b.getLong(p); p += 8; }
        if ((st & PerfEvent.SAMPLE_CPU) != 0) { cpu = b.getInt(p); p += 8; } // u32 cpu, res
        if ((st & PerfEvent.SAMPLE_PERIOD) != 0) { period = b.getLong(p); p += 8; }
        if ((st & PerfEvent.SAMPLE_CALLCHAIN) != 0) {
            long nr = b.getLong(p);
            p += 8;
            int n = (int) Math.max(0, Math.min(nr, (b.limit() - p) / 8));
            chain = new long[n];
            for (int i = 0; i < n; i++) chain[i] = b.getLong(p + 8 * i);
            p += 8 * n;
        }
        byte[] raw = null;
        if ((st & PerfEvent.SAMPLE_RAW) != 0) {
            // { u32 size; char data[size]; } (size includes the kernel's padding to 8 bytes)
            int size = (int) Math.max(0, Math.min(b.getInt(p) & 0xffffffffL, b.limit() - p - 4));
            raw = new byte[size];
            b.get(p + 4, raw);
            p += 4 + size;
        }
        UserState user = null;
        long[] regs = null;
        long abi = REGS_ABI_NONE;
        if ((st & PerfEvent.SAMPLE_REGS_USER) != 0) {
            // { u64 abi; u64 regs[weight(sample_regs_user)]; } — the mask is ours: UNWIND_REGS
            abi = b.getLong(p);
            p += 8;
            regs = new long[Long.SIZE - Long.numberOfLeadingZeros(UNWIND_REGS)];
            if (abi != REGS_ABI_NONE) {
                for (long m = UNWIND_REGS; m != 0; m &= m - 1) {
                    regs[Long.numberOfTrailingZeros(m)] = b.getLong(p);
                    p += 8;
                }
            }
        }
        if ((st & PerfEvent.SAMPLE_STACK_USER) != 0) {
            // { u64 size; char data[size]; u64 dyn_size; } (dyn_size only when size != 0)
            long size = b.getLong(p);
            p += 8;
            byte[] stack = new byte[0];
            if (size > 0 && p + size + 8 <= b.limit()) {
                long dyn = b.getLong(p + (int) size);
                stack = new byte[(int) Math.max(0, Math.min(dyn, size))];
                b.get(p, stack);
            }
            if (regs != null) user = new UserState(abi, regs, stack);
        } else if (regs != null) {
            user = new UserState(abi, regs, new byte[0]);
        }
        return new Sample(misc & MISC_CPUMODE_MASK, ip, pid, tid, time, cpu, period, chain, user, raw);
    }

    /** NUL-terminated string starting at {@code off}, within the record (names are padded to 8 bytes). */
    private static String cString(ByteBuffer b, int off, int size) {
        int end = off;
        int lim = Math.min(size, b.limit());
        while (end < lim && b.get(end) != 0) end++;
        byte[] s = new byte[Math.max(0, end - off)];
        b.get(off, s);
        return new String(s, StandardCharsets.UTF_8);
    }
}
