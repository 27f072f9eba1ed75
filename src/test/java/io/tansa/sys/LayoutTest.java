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
        var r = Native.run(Native.build("layout_perf").toString());
        for (String l : r.out().split("\n")) {
            String[] kv = l.split(" ");
            c.put(kv[0], Long.parseLong(kv[1]));
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
