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

    /**
     * SampleLayout's in-place offsets agree with decode() on samples laid out as the kernel writes
     * them (perf_output_sample order), for every subset of the fixed-size fields with RAW.
     */
    @Test
    void sampleLayoutAgreesWithDecode() {
        long[] fields = {PerfEvent.SAMPLE_IP, PerfEvent.SAMPLE_TID, PerfEvent.SAMPLE_TIME, PerfEvent.SAMPLE_CPU,
            PerfEvent.SAMPLE_PERIOD};
        for (int mask = 0; mask < 1 << fields.length; mask++) {
            long st = PerfEvent.SAMPLE_RAW;
            for (int i = 0; i < fields.length; i++) if ((mask & 1 << i) != 0) st |= fields[i];
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(256).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.putInt(PerfEvent.RECORD_SAMPLE).putShort((short) PerfRecord.MISC_USER).putShort((short) 0);
            if ((st & PerfEvent.SAMPLE_IP) != 0) b.putLong(0x401000L);
            if ((st & PerfEvent.SAMPLE_TID) != 0) b.putInt(100).putInt(101);
            if ((st & PerfEvent.SAMPLE_TIME) != 0) b.putLong(123456789L);
            if ((st & PerfEvent.SAMPLE_CPU) != 0) b.putInt(1).putInt(0);
            if ((st & PerfEvent.SAMPLE_PERIOD) != 0) b.putLong(7);
            byte[] raw = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0};
            b.putInt(raw.length).put(raw);
            int size = b.position();
            b.putShort(6, (short) size).limit(size);
            PerfRecord.Sample d = (PerfRecord.Sample) PerfRecord.decode(b, st);
            PerfRecord.SampleLayout l = PerfRecord.SampleLayout.of(st);
            String what = "sample_type 0x" + Long.toHexString(st);
            if (l.ip() >= 0) assertEquals(d.ip(), b.getLong(l.ip()), what);
            if (l.tid() >= 0) {
                assertEquals(d.pid(), b.getInt(l.pid()), what);
                assertEquals(d.tid(), b.getInt(l.tid()), what);
            }
            if (l.time() >= 0) assertEquals(d.time(), b.getLong(l.time()), what);
            if (l.cpu() >= 0) assertEquals(d.cpu(), b.getInt(l.cpu()), what);
            if (l.period() >= 0) assertEquals(d.period(), b.getLong(l.period()), what);
            assertEquals(raw.length, b.getInt(l.raw() - 4), what);
            for (int i = 0; i < raw.length; i++) assertEquals(d.raw()[i], b.get(l.raw() + i), what);
            assertEquals(mask == 0, l.ip() < 0 && l.tid() < 0 && l.time() < 0 && l.cpu() < 0 && l.period() < 0, what);
        }
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> PerfRecord.SampleLayout.of(PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_CALLCHAIN | PerfEvent.SAMPLE_RAW));
    }
}
