package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.testing.Native;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The perf record constants in sys.PerfRecord / sys.PerfEvent against &lt;linux/perf_event.h&gt;. */
@Tag("fast")
class PerfRecordLayoutTest {
    @Test
    void constantsMatchHeader() {
        Map<String, Long> c = Native.constants(Native.build("layout_perf_records"));
        assertEquals(PerfRecord.MISC_CPUMODE_MASK, c.get("MISC_CPUMODE_MASK"));
        assertEquals(PerfRecord.MISC_KERNEL, c.get("MISC_KERNEL"));
        assertEquals(PerfRecord.MISC_USER, c.get("MISC_USER"));
        assertEquals(PerfRecord.MISC_HYPERVISOR, c.get("MISC_HYPERVISOR"));
        assertEquals(PerfRecord.MISC_GUEST_KERNEL, c.get("MISC_GUEST_KERNEL"));
        assertEquals(PerfRecord.MISC_GUEST_USER, c.get("MISC_GUEST_USER"));
        assertEquals(PerfRecord.MISC_COMM_EXEC, c.get("MISC_COMM_EXEC"));
        assertEquals(PerfRecord.CONTEXT_HV, c.get("CONTEXT_HV"));
        assertEquals(PerfRecord.CONTEXT_KERNEL, c.get("CONTEXT_KERNEL"));
        assertEquals(PerfRecord.CONTEXT_USER, c.get("CONTEXT_USER"));
        assertEquals(PerfRecord.CONTEXT_GUEST, c.get("CONTEXT_GUEST"));
        assertEquals(PerfRecord.CONTEXT_GUEST_KERNEL, c.get("CONTEXT_GUEST_KERNEL"));
        assertEquals(PerfRecord.CONTEXT_GUEST_USER, c.get("CONTEXT_GUEST_USER"));
        assertEquals(PerfRecord.CONTEXT_MAX, c.get("CONTEXT_MAX"));
        assertEquals(PerfEvent.RECORD_MMAP, c.get("RECORD_MMAP"));
        assertEquals(PerfEvent.RECORD_LOST, c.get("RECORD_LOST"));
        assertEquals(PerfEvent.RECORD_COMM, c.get("RECORD_COMM"));
        assertEquals(PerfEvent.RECORD_EXIT, c.get("RECORD_EXIT"));
        assertEquals(PerfEvent.RECORD_THROTTLE, c.get("RECORD_THROTTLE"));
        assertEquals(PerfEvent.RECORD_UNTHROTTLE, c.get("RECORD_UNTHROTTLE"));
        assertEquals(PerfEvent.RECORD_FORK, c.get("RECORD_FORK"));
        assertEquals(PerfEvent.RECORD_SAMPLE, c.get("RECORD_SAMPLE"));
        assertEquals(PerfEvent.RECORD_MMAP2, c.get("RECORD_MMAP2"));
        assertEquals(PerfEvent.SAMPLE_CALLCHAIN, c.get("SAMPLE_CALLCHAIN"));
        assertEquals(PerfEvent.SAMPLE_RAW, c.get("SAMPLE_RAW"));
        assertEquals(PerfEvent.SAMPLE_CPU, c.get("SAMPLE_CPU"));
        assertEquals(PerfEvent.SAMPLE_PERIOD, c.get("SAMPLE_PERIOD"));
        assertEquals(PerfEvent.SAMPLE_REGS_USER, c.get("SAMPLE_REGS_USER"));
        assertEquals(PerfEvent.SAMPLE_STACK_USER, c.get("SAMPLE_STACK_USER"));
        assertEquals(PerfRecord.REGS_ABI_NONE, c.get("REGS_ABI_NONE"));
        assertEquals(PerfRecord.REGS_ABI_64, c.get("REGS_ABI_64"));
        assertEquals(PerfRecord.REG_AX, c.get("REG_AX"));
        assertEquals(PerfRecord.REG_BX, c.get("REG_BX"));
        assertEquals(PerfRecord.REG_CX, c.get("REG_CX"));
        assertEquals(PerfRecord.REG_DX, c.get("REG_DX"));
        assertEquals(PerfRecord.REG_SI, c.get("REG_SI"));
        assertEquals(PerfRecord.REG_DI, c.get("REG_DI"));
        assertEquals(PerfRecord.REG_BP, c.get("REG_BP"));
        assertEquals(PerfRecord.REG_SP, c.get("REG_SP"));
        assertEquals(PerfRecord.REG_IP, c.get("REG_IP"));
        assertEquals(PerfRecord.REG_R8, c.get("REG_R8"));
        assertEquals(PerfRecord.REG_R8 + 7, c.get("REG_R15"));
    }
}
