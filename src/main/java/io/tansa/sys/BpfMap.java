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

/**
 * The bpf(2) map operations the kernel stack walker needs beyond {@link Bpf}'s: maps created
 * with flags (an mmap-able array, written in place), element update/lookup/delete with byte
 * keys and values, a program array for tail calls. Constants from /usr/include/linux/bpf.h
 * (checked in {@code BpfMapLayoutTest}); bpf(2) and bpf-helpers(7) describe them.
 */
public final class BpfMap {
    private BpfMap() {}

    // enum bpf_cmd (linux/bpf.h): BPF_MAP_LOOKUP_ELEM = 1, BPF_MAP_UPDATE_ELEM = 2, BPF_MAP_DELETE_ELEM = 3
    static final int MAP_LOOKUP_ELEM = 1, MAP_UPDATE_ELEM = 2, MAP_DELETE_ELEM = 3;
    // enum bpf_map_type: BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PROG_ARRAY = 3
    public static final int TYPE_HASH = 1, TYPE_ARRAY = 2, TYPE_PROG_ARRAY = 3;
    /** BPF_F_MMAPABLE (linux/bpf.h, "Enable memory-mapping BPF map"): an ARRAY user space can mmap. */
    public static final int F_MMAPABLE = 1 << 10;
    /** union bpf_attr, BPF_MAP_CREATE: u32 map_flags after map_type, key_size, value_size, max_entries. */
    static final long OFF_MAP_FLAGS = 16;

    private static final long SYS_BPF = 321; // x86-64 (asm/unistd_64.h __NR_bpf)
    private static final MethodHandle SYSCALL3 = Libc.words("syscall");
    private static final MethodHandle MMAP = Libc.words("mmap");
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1; // mmap(2), asm-generic/mman-common.h

    private static long bpf(int cmd, MemorySegment attr, String what) {
        try {
            long rc = (long) SYSCALL3.invokeExact(Libc.errnoSeg(), SYS_BPF, (long) cmd, attr.address(), (long) Bpf.ATTR_SIZE, 0L, 0L);
            if (rc == -1) throw Libc.fail(what);
            return rc;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** BPF_MAP_CREATE with map_flags; returns the map fd. */
    public static int create(int type, int keySize, int valueSize, int maxEntries, int flags) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = a.allocate(Bpf.ATTR_SIZE, 8);
            attr.set(JAVA_INT, Bpf.OFF_MAP_TYPE, type);
            attr.set(JAVA_INT, Bpf.OFF_KEY_SIZE, keySize);
            attr.set(JAVA_INT, Bpf.OFF_VALUE_SIZE, valueSize);
            attr.set(JAVA_INT, Bpf.OFF_MAX_ENTRIES, maxEntries);
            attr.set(JAVA_INT, OFF_MAP_FLAGS, flags);
            return (int) bpf(Bpf.MAP_CREATE, attr, "bpf(BPF_MAP_CREATE, type=" + type + ", value_size=" + valueSize
                    + ", max_entries=" + maxEntries + ")");
        }
    }

    private static MemorySegment elemAttr(Arena a, int fd, byte[] key, byte[] value, int valueBytes) {
        MemorySegment k = a.allocate(key.length, 8);
        MemorySegment.copy(key, 0, k, JAVA_BYTE, 0, key.length);
        MemorySegment v = a.allocate(Math.max(8, valueBytes), 8);
        if (value != null) MemorySegment.copy(value, 0, v, JAVA_BYTE, 0, value.length);
        MemorySegment attr = a.allocate(Bpf.ATTR_SIZE, 8);
        attr.set(JAVA_INT, Bpf.OFF_ELEM_MAP_FD, fd);
        attr.set(JAVA_LONG, Bpf.OFF_ELEM_KEY, k.address());
        attr.set(JAVA_LONG, Bpf.OFF_ELEM_VALUE, v.address());
        return attr;
    }

    /** BPF_MAP_UPDATE_ELEM (BPF_ANY). */
    public static void update(int fd, byte[] key, byte[] value) {
        try (Arena a = Arena.ofConfined()) {
            bpf(MAP_UPDATE_ELEM, elemAttr(a, fd, key, value, value.length), "bpf(BPF_MAP_UPDATE_ELEM, map " + fd + ")");
        }
    }

    /** BPF_MAP_DELETE_ELEM; false when there was no such key. */
    public static boolean delete(int fd, byte[] key) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = elemAttr(a, fd, key, null, 8);
            attr.set(JAVA_LONG, Bpf.OFF_ELEM_VALUE, 0L);
            bpf(MAP_DELETE_ELEM, attr, "bpf(BPF_MAP_DELETE_ELEM, map " + fd + ")");
            return true;
        } catch (SysException e) {
            if (e.errno() == Errno.ENOENT) return false;
            throw e;
        }
    }

    /**
     * BPF_MAP_LOOKUP_ELEM into {@code valueBytes} bytes (for a per-cpu map: value size rounded up
     * to 8, times the possible cpus, bpf(2)); null when there is no such key.
     */
    public static byte[] lookup(int fd, byte[] key, int valueBytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attr = elemAttr(a, fd, key, null, valueBytes);
            MemorySegment v = MemorySegment.ofAddress(attr.get(JAVA_LONG, Bpf.OFF_ELEM_VALUE)).reinterpret(valueBytes);
            bpf(MAP_LOOKUP_ELEM, attr, "bpf(BPF_MAP_LOOKUP_ELEM, map " + fd + ")");
            return v.toArray(JAVA_BYTE);
        } catch (SysException e) {
            if (e.errno() == Errno.ENOENT) return null;
            throw e;
        }
    }

    /** Sets the u32 {@code value} (a program fd for a PROG_ARRAY) at the u32 {@code key}. */
    public static void updateInt(int fd, int key, int value) {
        Bpf.mapUpdate(fd, key, value);
    }

    /** An mmap'ed array map (created with {@link #F_MMAPABLE}): user space writes its values in place. */
    public static final class Mapped implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final MemorySegment seg;

        private Mapped(int fd, long bytes) {
            seg = mmap(fd, bytes, arena);
        }

        /** Copies {@code len} bytes of {@code src} to byte {@code offset} of the array's values. */
        public void put(long offset, byte[] src, int len) {
            MemorySegment.copy(src, 0, seg, JAVA_BYTE, offset, len);
        }

        public long size() {
            return seg.byteSize();
        }

        @Override
        public void close() {
            if (arena.scope().isAlive()) arena.close();
        }
    }

    /** Maps {@code bytes} (max_entries × value_size) of an mmap-able array read-write. */
    public static Mapped map(int fd, long bytes) {
        return new Mapped(fd, bytes);
    }

    private static MemorySegment mmap(int fd, long bytes, Arena arena) {
        long len = (bytes + 4095) & -4096L;
        MemorySegment m;
        try {
            m = MemorySegment.ofAddress((long) MMAP.invokeExact(Libc.errnoSeg(), 0L, len, (long) (PROT_READ | PROT_WRITE),
                    (long) MAP_SHARED, (long) fd, 0L));
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (m.address() == -1L) throw Libc.fail("mmap(bpf map " + fd + ")");
        return m.reinterpret(len, arena, Munmap.of(len));
    }

    private record Munmap(long len) implements java.util.function.Consumer<MemorySegment> {
        private static final MethodHandle MUNMAP = Libc.words("munmap");

        static Munmap of(long len) {
            return new Munmap(len);
        }

        @Override
        public void accept(MemorySegment s) {
            try {
                long rc = (long) MUNMAP.invokeExact(Libc.errnoSeg(), s.address(), len, 0L, 0L, 0L, 0L);
            } catch (Throwable t) {
                throw Libc.rethrow(t);
            }
        }
    }


    /** A loaded program and the verifier's log of it. */
    public record Loaded(int fd, String log) {}

    /**
     * BPF_PROG_LOAD with the verifier's log at {@code logLevel} (1: the instructions as verified,
     * 4: BPF_LOG_STATS only, "processed N insns ..." — linux/bpf.h BPF_LOG_LEVEL1/BPF_LOG_STATS),
     * for measuring what the verifier does with a program; a refusal throws Bpf.VerifierException.
     */
    public static Loaded progLoadLogged(int type, long[] insns, String name, int logLevel) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(JAVA_LONG, insns.length);
            for (int i = 0; i < insns.length; i++) code.setAtIndex(JAVA_LONG, i, insns[i]);
            MemorySegment license = a.allocateFrom("GPL");
            int logSize = 1 << 24;
            MemorySegment log = a.allocate(logSize);
            MemorySegment attr = a.allocate(Bpf.ATTR_SIZE, 8);
            attr.set(JAVA_INT, Bpf.OFF_PROG_TYPE, type);
            attr.set(JAVA_INT, Bpf.OFF_INSN_CNT, insns.length);
            attr.set(JAVA_LONG, Bpf.OFF_INSNS, code.address());
            attr.set(JAVA_LONG, Bpf.OFF_LICENSE, license.address());
            attr.set(JAVA_INT, Bpf.OFF_LOG_LEVEL, logLevel);
            attr.set(JAVA_INT, Bpf.OFF_LOG_SIZE, logSize);
            attr.set(JAVA_LONG, Bpf.OFF_LOG_BUF, log.address());
            byte[] n = name.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            for (int i = 0; i < Math.min(n.length, Bpf.OBJ_NAME_LEN - 1); i++) attr.set(JAVA_BYTE, Bpf.OFF_PROG_NAME + i, n[i]);
            try {
                int fd = (int) bpf(Bpf.PROG_LOAD, attr, "bpf(BPF_PROG_LOAD, " + name + ")");
                return new Loaded(fd, log.getString(0));
            } catch (SysException e) {
                String text = log.getString(0);
                throw new Bpf.VerifierException(e, text.length() > 4000 ? text.substring(text.length() - 4000) : text);
            }
        }
    }

    /** Number of possible cpus (/sys/devices/system/cpu/possible), the per-cpu value count bpf(2) uses. */
    public static int possibleCpus() {
        try {
            String s = java.nio.file.Files.readString(java.nio.file.Path.of("/sys/devices/system/cpu/possible")).trim();
            int max = 0;
            for (String part : s.split(",")) {
                String[] r = part.split("-");
                max = Math.max(max, Integer.parseInt(r[r.length - 1]));
            }
            return max + 1;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
