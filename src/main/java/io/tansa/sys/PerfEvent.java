package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * perf_event_open(2): the attribute struct, the call, and the event ioctls. Layout of struct
 * perf_event_attr from &lt;linux/perf_event.h&gt; (PERF_ATTR_SIZE_VER7 = 128 bytes; the kernel
 * accepts older sizes and zero-fills the rest). Offsets are checked in PerfEventLayoutTest.
 */
public final class PerfEvent {
    private PerfEvent() {}

    // enum perf_type_id
    public static final int TYPE_HARDWARE = 0, TYPE_SOFTWARE = 1, TYPE_TRACEPOINT = 2, TYPE_HW_CACHE = 3,
            TYPE_RAW = 4, TYPE_BREAKPOINT = 5;
    // enum perf_sw_ids
    public static final long SW_CPU_CLOCK = 0, SW_TASK_CLOCK = 1, SW_DUMMY = 9, SW_BPF_OUTPUT = 10;
    public static final long HW_CPU_CYCLES = 0;
    // enum perf_event_sample_format
    public static final long SAMPLE_IP = 1, SAMPLE_TID = 1 << 1, SAMPLE_TIME = 1 << 2, SAMPLE_ADDR = 1 << 3,
            SAMPLE_READ = 1 << 4, SAMPLE_CALLCHAIN = 1 << 5, SAMPLE_ID = 1 << 6, SAMPLE_CPU = 1 << 7,
            SAMPLE_PERIOD = 1 << 8, SAMPLE_STREAM_ID = 1 << 9, SAMPLE_RAW = 1 << 10,
            SAMPLE_REGS_USER = 1 << 12, SAMPLE_STACK_USER = 1 << 13, SAMPLE_IDENTIFIER = 1 << 16;
    // enum perf_event_type (records in the ring buffer)
    public static final int RECORD_MMAP = 1, RECORD_LOST = 2, RECORD_COMM = 3, RECORD_EXIT = 4,
            RECORD_THROTTLE = 5, RECORD_UNTHROTTLE = 6, RECORD_FORK = 7, RECORD_SAMPLE = 9, RECORD_MMAP2 = 10;
    public static final int FLAG_FD_CLOEXEC = 8;
    /**
     * attr.clockid with BIT_USE_CLOCKID: CLOCK_MONOTONIC from &lt;linux/time.h&gt;, the clock of
     * System.nanoTime on Linux, so record times compare with tansa's own.
     */
    public static final int CLOCK_MONOTONIC = 1;

    // ioctls: _IO('$', n) etc. from <linux/perf_event.h>
    public static final long IOC_ENABLE = 0x2400, IOC_DISABLE = 0x2401, IOC_RESET = 0x2403,
            IOC_SET_OUTPUT = 0x2405, IOC_SET_FILTER = 0x40082406L, IOC_ID = 0x80082407L;

    public static final int ATTR_SIZE = 128;
    // byte offsets in struct perf_event_attr
    static final long OFF_TYPE = 0, OFF_SIZE = 4, OFF_CONFIG = 8, OFF_SAMPLE_PERIOD = 16, OFF_SAMPLE_TYPE = 24,
            OFF_READ_FORMAT = 32, OFF_FLAGS = 40, OFF_WAKEUP_EVENTS = 48, OFF_BP_TYPE = 52, OFF_CONFIG1 = 56,
            OFF_CONFIG2 = 64, OFF_BRANCH_SAMPLE_TYPE = 72, OFF_SAMPLE_REGS_USER = 80, OFF_SAMPLE_STACK_USER = 88,
            OFF_CLOCKID = 92, OFF_SAMPLE_REGS_INTR = 96, OFF_AUX_WATERMARK = 104, OFF_SAMPLE_MAX_STACK = 108,
            OFF_AUX_SAMPLE_SIZE = 112, OFF_SIG_DATA = 120;

    // bit numbers in the flags word (the bitfield after read_format)
    public static final int BIT_DISABLED = 0, BIT_INHERIT = 1, BIT_EXCLUDE_USER = 4, BIT_EXCLUDE_KERNEL = 5,
            BIT_EXCLUDE_HV = 6, BIT_EXCLUDE_IDLE = 7, BIT_MMAP = 8, BIT_COMM = 9, BIT_FREQ = 10,
            BIT_ENABLE_ON_EXEC = 12, BIT_TASK = 13, BIT_WATERMARK = 14, BIT_SAMPLE_ID_ALL = 18,
            BIT_EXCLUDE_CALLCHAIN_KERNEL = 21, BIT_EXCLUDE_CALLCHAIN_USER = 22, BIT_MMAP2 = 23, BIT_COMM_EXEC = 24, BIT_USE_CLOCKID = 25,
            BIT_CONTEXT_SWITCH = 26, BIT_INHERIT_THREAD = 35, BIT_REMOVE_ON_EXEC = 36, BIT_SIGTRAP = 37;

    /** The attribute fields, set by the caller and written into the C struct at open. */
    public static final class Attr {
        public int type;
        public long config;
        public long samplePeriod; // or sample_freq with BIT_FREQ
        public long sampleType;
        public long readFormat;
        public long flags;
        public int wakeupEvents;
        /** config1; for the uprobe PMU this is the path, passed as a C string pointer. */
        public long config1;
        public String uprobePath;
        public long config2;
        public long sampleRegsUser;
        public int sampleStackUser;
        public int clockid;
        public int sampleMaxStack;
        public long sigData;

        public Attr flag(int bit) {
            flags |= 1L << bit;
            return this;
        }
    }

    // int syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags); nr 298 on x86-64
    private static final long SYS_PERF_EVENT_OPEN = 298;
    private static final MethodHandle SYSCALL5 = Libc.words("syscall");

    static void write(Attr a, MemorySegment s, MemorySegment path) {
        s.fill((byte) 0);
        s.set(JAVA_INT, OFF_TYPE, a.type);
        s.set(JAVA_INT, OFF_SIZE, ATTR_SIZE);
        s.set(JAVA_LONG, OFF_CONFIG, a.config);
        s.set(JAVA_LONG, OFF_SAMPLE_PERIOD, a.samplePeriod);
        s.set(JAVA_LONG, OFF_SAMPLE_TYPE, a.sampleType);
        s.set(JAVA_LONG, OFF_READ_FORMAT, a.readFormat);
        s.set(JAVA_LONG, OFF_FLAGS, a.flags);
        s.set(JAVA_INT, OFF_WAKEUP_EVENTS, a.wakeupEvents);
        s.set(JAVA_LONG, OFF_CONFIG1, path != null ? path.address() : a.config1);
        s.set(JAVA_LONG, OFF_CONFIG2, a.config2);
        s.set(JAVA_LONG, OFF_SAMPLE_REGS_USER, a.sampleRegsUser);
        s.set(JAVA_INT, OFF_SAMPLE_STACK_USER, a.sampleStackUser);
        s.set(JAVA_INT, OFF_CLOCKID, a.clockid);
        s.set(JAVA_SHORT, OFF_SAMPLE_MAX_STACK, (short) a.sampleMaxStack);
        s.set(JAVA_LONG, OFF_SIG_DATA, a.sigData);
    }

    /**
     * Opens an event. {@code pid} = thread id (or -1 with a cpu), {@code cpu} = -1 for any cpu.
     * Returns the fd (close-on-exec).
     */
    public static int open(Attr a, int pid, int cpu, int groupFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(ATTR_SIZE, 8);
            MemorySegment path = a.uprobePath != null ? arena.allocateFrom(a.uprobePath) : null;
            write(a, s, path);
            long fd = (long) SYSCALL5.invokeExact(Libc.errnoSeg(), SYS_PERF_EVENT_OPEN, s.address(), (long) pid, (long) cpu,
                    (long) groupFd, (long) FLAG_FD_CLOEXEC);
            if (fd == -1) {
                throw Libc.fail("perf_event_open(type=" + a.type + ", pid=" + pid + ", cpu=" + cpu + ")");
            }
            return (int) fd;
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /**
     * A uprobe event on the instruction at file offset {@code offset} of the object {@code path}
     * (config1 = path, config2 = offset: Documentation/trace/uprobetracer.rst and the uprobe PMU's
     * format in /sys/bus/event_source/devices/uprobe/format). One sample per hit. The kernel
     * installs the breakpoint in every mapping of that file by the event's task, present and
     * future, and removes it when the last fd closes. Removed at exec.
     */
    public static Attr uprobe(int uprobeType, String path, long offset) {
        Attr a = new Attr();
        a.type = uprobeType;
        a.uprobePath = path;
        a.config2 = offset;
        a.samplePeriod = 1;
        return a.flag(BIT_REMOVE_ON_EXEC);
    }

    /** PMU type number of a dynamic PMU, e.g. "uprobe": /sys/bus/event_source/devices/NAME/type. */
    public static int pmuType(String pmu) {
        try {
            return Integer.parseInt(java.nio.file.Files.readString(
                    Path.of("/sys/bus/event_source/devices", pmu, "type")).trim());
        } catch (java.io.IOException | NumberFormatException e) {
            throw new SysException("no '" + pmu + "' PMU in /sys/bus/event_source/devices (kernel without"
                    + " CONFIG_UPROBE_EVENTS / CONFIG_PERF_EVENTS?)", Errno.ENOENT);
        }
    }

    public static void enable(int fd) { Files.ioctl(fd, IOC_ENABLE, 0); }
    public static void disable(int fd) { Files.ioctl(fd, IOC_DISABLE, 0); }

    /**
     * Sets a tracepoint filter (PERF_EVENT_IOC_SET_FILTER; syntax of Documentation/trace/events.rst
     * "Event filtering", e.g. {@code "id == 16 || id == 110"}): records that do not match are
     * dropped in the kernel. EINVAL when the expression does not parse.
     */
    public static void setFilter(int fd, String filter) {
        try (Arena arena = Arena.ofConfined()) {
            Files.ioctl(fd, IOC_SET_FILTER, arena.allocateFrom(filter).address());
        }
    }

    /** Redirects samples of {@code fd} into the ring buffer of {@code targetFd}. */
    public static void setOutput(int fd, int targetFd) { Files.ioctl(fd, IOC_SET_OUTPUT, targetFd); }

    /**
     * Reads the 8-byte counter value (read_format = 0: perf_event_open(2), "Reading results"): for
     * a uprobe or tracepoint event, the kernel's count of its hits, copies inherited by threads and
     * children included (those that exited folded in). Disable the event first for a final count.
     */
    public static long readCount(int fd) {
        byte[] b = new byte[8];
        int n = Files.read(fd, b, 8);
        if (n != 8) return 0;
        return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
