package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * bpf(2): creating maps, loading a program, attaching it to a perf event. Layouts of
 * {@code union bpf_attr} and the constants from &lt;linux/bpf.h&gt; (checked in LayoutTest);
 * instructions are built with {@link BpfAsm}.
 */
public final class Bpf {
    private Bpf() {}

    // enum bpf_cmd
    static final int MAP_CREATE = 0, MAP_UPDATE_ELEM = 2, PROG_LOAD = 5;
    // enum bpf_map_type
    public static final int MAP_TYPE_PERF_EVENT_ARRAY = 4, MAP_TYPE_PERCPU_ARRAY = 6;
    /** BPF_MAP_TYPE_LRU_HASH: a hash that evicts its least recently used entries when full (bpf(2), linux/bpf.h). */
    public static final int MAP_TYPE_LRU_HASH = 9;
    // enum bpf_prog_type: uprobe (and kprobe) events run BPF_PROG_TYPE_KPROBE programs
    public static final int PROG_TYPE_KPROBE = 2;

    // union bpf_attr, BPF_MAP_CREATE: map_type, key_size, value_size, max_entries (u32 each)
    static final long OFF_MAP_TYPE = 0, OFF_KEY_SIZE = 4, OFF_VALUE_SIZE = 8, OFF_MAX_ENTRIES = 12;
    // BPF_MAP_*_ELEM: u32 map_fd; u64 key (aligned); u64 value; u64 flags
    static final long OFF_ELEM_MAP_FD = 0, OFF_ELEM_KEY = 8, OFF_ELEM_VALUE = 16, OFF_ELEM_FLAGS = 24;
    // BPF_PROG_LOAD
    static final long OFF_PROG_TYPE = 0, OFF_INSN_CNT = 4, OFF_INSNS = 8, OFF_LICENSE = 16, OFF_LOG_LEVEL = 24,
            OFF_LOG_SIZE = 28, OFF_LOG_BUF = 32, OFF_KERN_VERSION = 40, OFF_PROG_FLAGS = 44, OFF_PROG_NAME = 48;
    /** Bytes of union bpf_attr passed: covers every field used; the kernel wants the rest zero. */
    static final int ATTR_SIZE = 128;
    /** BPF_OBJ_NAME_LEN. */
    static final int OBJ_NAME_LEN = 16;

    // PERF_EVENT_IOC_SET_BPF = _IOW('$', 8, __u32) (linux/perf_event.h)
    static final long IOC_SET_BPF = 0x40042408L;

    // long syscall(SYS_bpf = 321 on x86-64, int cmd, union bpf_attr *attr, unsigned int size)
    private static final long SYS_BPF = 321;
    private static final MethodHandle SYSCALL3 = Libc.words("syscall");

    private static long bpf(int cmd, MemorySegment attr, String what) {
        try {
            long rc = (long) SYSCALL3.invokeExact(Libc.errnoSeg(), SYS_BPF, (long) cmd, attr.address(), (long) ATTR_SIZE, 0L, 0L);
            if (rc == -1) throw Libc.fail(what);
            return rc;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** Creates a map; returns its fd (close-on-exec, as every bpf fd). */
    public static int mapCreate(int type, int keySize, int valueSize, int maxEntries) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, OFF_MAP_TYPE, type);
            attr.set(JAVA_INT, OFF_KEY_SIZE, keySize);
            attr.set(JAVA_INT, OFF_VALUE_SIZE, valueSize);
            attr.set(JAVA_INT, OFF_MAX_ENTRIES, maxEntries);
            return (int) bpf(MAP_CREATE, attr, "bpf(BPF_MAP_CREATE, type=" + type + ", value_size=" + valueSize + ")");
        }
    }

    /** Sets the u32 {@code value} at the u32 {@code key} (BPF_ANY). */
    public static void mapUpdate(int mapFd, int key, int value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocateFrom(JAVA_INT, key), v = a.allocateFrom(JAVA_INT, value);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, OFF_ELEM_MAP_FD, mapFd);
            attr.set(JAVA_LONG, OFF_ELEM_KEY, k.address());
            attr.set(JAVA_LONG, OFF_ELEM_VALUE, v.address());
            bpf(MAP_UPDATE_ELEM, attr, "bpf(BPF_MAP_UPDATE_ELEM, map " + mapFd + ")");
        }
    }

    /** A program the verifier refused, with its log. */
    public static final class VerifierException extends SysException {
        public final String log;

        VerifierException(SysException cause, String log) {
            super(cause.getMessage() + "\n" + log, cause.errno());
            this.log = log;
        }
    }

    /**
     * Loads a program (GPL: the probe_read_kernel helper is GPL-only); returns its fd. A refusal
     * by the verifier throws {@link VerifierException} with the verifier's log.
     */
    public static int progLoad(int type, long[] insns, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(JAVA_LONG, insns.length);
            for (int i = 0; i < insns.length; i++) code.setAtIndex(JAVA_LONG, i, insns[i]);
            MemorySegment license = a.allocateFrom("GPL");
            int logSize = 1 << 20;
            MemorySegment log = a.allocate(logSize);
            MemorySegment attr = a.allocate(ATTR_SIZE, 8);
            attr.set(JAVA_INT, OFF_PROG_TYPE, type);
            attr.set(JAVA_INT, OFF_INSN_CNT, insns.length);
            attr.set(JAVA_LONG, OFF_INSNS, code.address());
            attr.set(JAVA_LONG, OFF_LICENSE, license.address());
            byte[] n = name.getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < Math.min(n.length, OBJ_NAME_LEN - 1); i++) attr.set(JAVA_BYTE, OFF_PROG_NAME + i, n[i]);
            try {
                return (int) bpf(PROG_LOAD, attr, "bpf(BPF_PROG_LOAD, " + name + ")");
            } catch (SysException first) {
                if (first.errno() != Errno.EINVAL && first.errno() != Errno.EACCES) throw first;
                // again with the verifier's log, to say why
                attr.set(JAVA_INT, OFF_LOG_LEVEL, 1);
                attr.set(JAVA_INT, OFF_LOG_SIZE, logSize);
                attr.set(JAVA_LONG, OFF_LOG_BUF, log.address());
                try {
                    return (int) bpf(PROG_LOAD, attr, "bpf(BPF_PROG_LOAD, " + name + ")");
                } catch (SysException e) {
                    String text = log.getString(0);
                    throw new VerifierException(e, text.length() > 4000 ? text.substring(text.length() - 4000) : text);
                }
            }
        }
    }

    /** Attaches program {@code progFd} to the tracepoint (uprobe, kprobe) perf event {@code eventFd}. */
    public static void attach(int eventFd, int progFd) {
        Files.ioctl(eventFd, IOC_SET_BPF, progFd);
    }
}
