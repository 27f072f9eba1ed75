package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * sys.PerfEvent against &lt;linux/perf_event.h&gt;, compiled with gcc (src/test/c/layout_perf_event.c):
 * the size and field offsets of struct perf_event_attr that {@code PerfEvent.write} fills, its flag
 * bits, and the enum, ioctl and clock constants tansa passes to perf_event_open(2).
 */
@Tag("fast")
class PerfEventLayoutTest {
    static Map<String, Long> c;

    @BeforeAll
    static void compile() {
        c = Native.constants(Native.build("layout_perf_event"));
    }

    @Test
    void attrSizeAndOffsets() {
        // the header may be newer than VER7 (bigger struct): tansa passes the VER7 size, which the
        // kernel accepts, and every field it writes lies below it
        assertEquals(PerfEvent.ATTR_SIZE, c.get("PERF_ATTR_SIZE_VER7"));
        org.junit.jupiter.api.Assertions.assertTrue(PerfEvent.ATTR_SIZE <= c.get("sizeof.perf_event_attr"));
        assertEquals(PerfEvent.OFF_TYPE, c.get("perf_event_attr.type"));
        assertEquals(PerfEvent.OFF_SIZE, c.get("perf_event_attr.size"));
        assertEquals(PerfEvent.OFF_CONFIG, c.get("perf_event_attr.config"));
        assertEquals(PerfEvent.OFF_SAMPLE_PERIOD, c.get("perf_event_attr.sample_period"));
        assertEquals(PerfEvent.OFF_SAMPLE_TYPE, c.get("perf_event_attr.sample_type"));
        assertEquals(PerfEvent.OFF_READ_FORMAT, c.get("perf_event_attr.read_format"));
        // the flags word is the u64 right after read_format (a bitfield: no offsetof)
        assertEquals(PerfEvent.OFF_FLAGS, c.get("perf_event_attr.read_format") + 8);
        assertEquals(PerfEvent.OFF_WAKEUP_EVENTS, c.get("perf_event_attr.wakeup_events"));
        assertEquals(PerfEvent.OFF_BP_TYPE, c.get("perf_event_attr.bp_type"));
        assertEquals(PerfEvent.OFF_CONFIG1, c.get("perf_event_attr.config1"));
        assertEquals(PerfEvent.OFF_CONFIG2, c.get("perf_event_attr.config2"));
        assertEquals(PerfEvent.OFF_BRANCH_SAMPLE_TYPE, c.get("perf_event_attr.branch_sample_type"));
        assertEquals(PerfEvent.OFF_SAMPLE_REGS_USER, c.get("perf_event_attr.sample_regs_user"));
        assertEquals(PerfEvent.OFF_SAMPLE_STACK_USER, c.get("perf_event_attr.sample_stack_user"));
        assertEquals(PerfEvent.OFF_CLOCKID, c.get("perf_event_attr.clockid"));
        assertEquals(PerfEvent.OFF_SAMPLE_REGS_INTR, c.get("perf_event_attr.sample_regs_intr"));
        assertEquals(PerfEvent.OFF_AUX_WATERMARK, c.get("perf_event_attr.aux_watermark"));
        assertEquals(PerfEvent.OFF_SAMPLE_MAX_STACK, c.get("perf_event_attr.sample_max_stack"));
        assertEquals(PerfEvent.OFF_AUX_SAMPLE_SIZE, c.get("perf_event_attr.aux_sample_size"));
        assertEquals(PerfEvent.OFF_SIG_DATA, c.get("perf_event_attr.sig_data"));
    }

    /** The flag bits of perf_event_attr (a C bitfield: no offsetof), each set alone in the header's struct. */
    @Test
    void flagBits() {
        Map<String, Integer> bits = new LinkedHashMap<>();
        bits.put("disabled", PerfEvent.BIT_DISABLED);
        bits.put("inherit", PerfEvent.BIT_INHERIT);
        bits.put("exclude_user", PerfEvent.BIT_EXCLUDE_USER);
        bits.put("exclude_kernel", PerfEvent.BIT_EXCLUDE_KERNEL);
        bits.put("exclude_hv", PerfEvent.BIT_EXCLUDE_HV);
        bits.put("exclude_idle", PerfEvent.BIT_EXCLUDE_IDLE);
        bits.put("mmap", PerfEvent.BIT_MMAP);
        bits.put("comm", PerfEvent.BIT_COMM);
        bits.put("freq", PerfEvent.BIT_FREQ);
        bits.put("enable_on_exec", PerfEvent.BIT_ENABLE_ON_EXEC);
        bits.put("task", PerfEvent.BIT_TASK);
        bits.put("watermark", PerfEvent.BIT_WATERMARK);
        bits.put("sample_id_all", PerfEvent.BIT_SAMPLE_ID_ALL);
        bits.put("exclude_callchain_kernel", PerfEvent.BIT_EXCLUDE_CALLCHAIN_KERNEL);
        bits.put("exclude_callchain_user", PerfEvent.BIT_EXCLUDE_CALLCHAIN_USER);
        bits.put("mmap2", PerfEvent.BIT_MMAP2);
        bits.put("comm_exec", PerfEvent.BIT_COMM_EXEC);
        bits.put("use_clockid", PerfEvent.BIT_USE_CLOCKID);
        bits.put("context_switch", PerfEvent.BIT_CONTEXT_SWITCH);
        bits.put("inherit_thread", PerfEvent.BIT_INHERIT_THREAD);
        bits.put("remove_on_exec", PerfEvent.BIT_REMOVE_ON_EXEC);
        bits.put("sigtrap", PerfEvent.BIT_SIGTRAP);
        for (Map.Entry<String, Integer> b : bits.entrySet()) {
            assertEquals((long) b.getValue(), c.get("bit." + b.getKey()), b.getKey());
        }
    }

    @Test
    void constants() {
        Map<String, Long> ours = new LinkedHashMap<>();
        ours.put("PERF_TYPE_HARDWARE", (long) PerfEvent.TYPE_HARDWARE);
        ours.put("PERF_TYPE_SOFTWARE", (long) PerfEvent.TYPE_SOFTWARE);
        ours.put("PERF_TYPE_TRACEPOINT", (long) PerfEvent.TYPE_TRACEPOINT);
        ours.put("PERF_TYPE_HW_CACHE", (long) PerfEvent.TYPE_HW_CACHE);
        ours.put("PERF_TYPE_RAW", (long) PerfEvent.TYPE_RAW);
        ours.put("PERF_TYPE_BREAKPOINT", (long) PerfEvent.TYPE_BREAKPOINT);
        ours.put("PERF_COUNT_SW_CPU_CLOCK", PerfEvent.SW_CPU_CLOCK);
        ours.put("PERF_COUNT_SW_TASK_CLOCK", PerfEvent.SW_TASK_CLOCK);
        ours.put("PERF_COUNT_SW_DUMMY", PerfEvent.SW_DUMMY);
        ours.put("PERF_COUNT_HW_CPU_CYCLES", PerfEvent.HW_CPU_CYCLES);
        ours.put("PERF_SAMPLE_IP", PerfEvent.SAMPLE_IP);
        ours.put("PERF_SAMPLE_TID", PerfEvent.SAMPLE_TID);
        ours.put("PERF_SAMPLE_TIME", PerfEvent.SAMPLE_TIME);
        ours.put("PERF_SAMPLE_ADDR", PerfEvent.SAMPLE_ADDR);
        ours.put("PERF_SAMPLE_READ", PerfEvent.SAMPLE_READ);
        ours.put("PERF_SAMPLE_CALLCHAIN", PerfEvent.SAMPLE_CALLCHAIN);
        ours.put("PERF_SAMPLE_ID", PerfEvent.SAMPLE_ID);
        ours.put("PERF_SAMPLE_CPU", PerfEvent.SAMPLE_CPU);
        ours.put("PERF_SAMPLE_PERIOD", PerfEvent.SAMPLE_PERIOD);
        ours.put("PERF_SAMPLE_STREAM_ID", PerfEvent.SAMPLE_STREAM_ID);
        ours.put("PERF_SAMPLE_RAW", PerfEvent.SAMPLE_RAW);
        ours.put("PERF_SAMPLE_REGS_USER", PerfEvent.SAMPLE_REGS_USER);
        ours.put("PERF_SAMPLE_STACK_USER", PerfEvent.SAMPLE_STACK_USER);
        ours.put("PERF_SAMPLE_IDENTIFIER", PerfEvent.SAMPLE_IDENTIFIER);
        ours.put("PERF_FLAG_FD_CLOEXEC", (long) PerfEvent.FLAG_FD_CLOEXEC);
        ours.put("PERF_EVENT_IOC_ENABLE", PerfEvent.IOC_ENABLE);
        ours.put("PERF_EVENT_IOC_DISABLE", PerfEvent.IOC_DISABLE);
        ours.put("PERF_EVENT_IOC_RESET", PerfEvent.IOC_RESET);
        ours.put("PERF_EVENT_IOC_SET_OUTPUT", PerfEvent.IOC_SET_OUTPUT);
        ours.put("PERF_EVENT_IOC_SET_FILTER", PerfEvent.IOC_SET_FILTER);
        ours.put("PERF_EVENT_IOC_ID", PerfEvent.IOC_ID);
        ours.put("CLOCK_MONOTONIC", (long) PerfEvent.CLOCK_MONOTONIC);
        for (Map.Entry<String, Long> e : ours.entrySet()) assertEquals(e.getValue(), c.get(e.getKey()), e.getKey());
    }
}
