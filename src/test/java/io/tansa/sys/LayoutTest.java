package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Struct sizes and offsets declared in sys, checked against the kernel/glibc headers via gcc. */
class LayoutTest {
    static Map<String, Long> c = new HashMap<>();

    @BeforeAll
    static void compile() {
        c.putAll(Native.constants(Native.build("layout_perf")));
    }

    /** The flag bits of perf_event_attr (a C bitfield: no offsetof), each set alone in the header's struct. */
    @Test
    void perfEventAttrFlagBits() {
        Map<String, Integer> bits = new java.util.LinkedHashMap<>();
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
    void perfEventAttr() {
        assertEquals(PerfEvent.ATTR_SIZE, c.get("perf_event_attr.size"));
        assertEquals(PerfEvent.OFF_CONFIG, c.get("perf_event_attr.config"));
        assertEquals(PerfEvent.OFF_SAMPLE_PERIOD, c.get("perf_event_attr.sample_period"));
        assertEquals(PerfEvent.OFF_SAMPLE_TYPE, c.get("perf_event_attr.sample_type"));
        assertEquals(PerfEvent.OFF_READ_FORMAT, c.get("perf_event_attr.read_format"));
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
        assertEquals(PerfRing.OFF_DATA_HEAD, c.get("perf_event_mmap_page.data_head"));
        assertEquals(PerfRing.OFF_DATA_TAIL, c.get("perf_event_mmap_page.data_tail"));
    }

    @Test
    void userRegs() {
        assertEquals(Regs.SIZE, c.get("user_regs_struct.size"));
        assertEquals(Regs.RBP * 8L, c.get("user_regs_struct.rbp"));
        assertEquals(Regs.RIP * 8L, c.get("user_regs_struct.rip"));
        assertEquals(Regs.RSP * 8L, c.get("user_regs_struct.rsp"));
        assertEquals(Regs.FS_BASE * 8L, c.get("user_regs_struct.fs_base"));
        assertEquals(Regs.RAX * 8L, c.get("user_regs_struct.rax"));
        assertEquals(Regs.ORIG_RAX * 8L, c.get("user_regs_struct.orig_rax"));
        assertEquals(Regs.RDI * 8L, c.get("user_regs_struct.rdi"));
    }

    @Test
    void siginfo() {
        assertEquals(SigInfo.SIZE, c.get("siginfo.size"));
        assertEquals(8L, c.get("siginfo.si_code"));
        assertEquals(16L, c.get("siginfo.si_addr"));
        assertEquals(24L, c.get("siginfo.si_perf_data"));
        assertEquals(32L, c.get("siginfo.si_perf_type"));
    }
}
