package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The kernel walker's bpf(2) constants and struct pt_regs offsets, against linux/bpf.h and asm/ptrace.h via gcc. */
@Tag("fast")
class BpfMapLayoutTest {
    @Test
    void constantsAndLayouts() {
        Map<String, Long> c = Native.constants(Native.build("layout_kwalk"));
        assertEquals(BpfMap.OFF_MAP_FLAGS, c.get("bpf_attr.map_flags"));
        assertEquals(BpfMap.MAP_LOOKUP_ELEM, c.get("BPF_MAP_LOOKUP_ELEM"));
        assertEquals(BpfMap.MAP_UPDATE_ELEM, c.get("BPF_MAP_UPDATE_ELEM"));
        assertEquals(BpfMap.MAP_DELETE_ELEM, c.get("BPF_MAP_DELETE_ELEM"));
        assertEquals(BpfMap.TYPE_HASH, c.get("BPF_MAP_TYPE_HASH"));
        assertEquals(BpfMap.TYPE_ARRAY, c.get("BPF_MAP_TYPE_ARRAY"));
        assertEquals(BpfMap.TYPE_PROG_ARRAY, c.get("BPF_MAP_TYPE_PROG_ARRAY"));
        assertEquals(BpfMap.F_MMAPABLE, c.get("BPF_F_MMAPABLE"));
        assertEquals(BpfAsm.FN_KTIME_GET_NS, c.get("BPF_FUNC_ktime_get_ns"));
        assertEquals(BpfAsm.FN_TAIL_CALL, c.get("BPF_FUNC_tail_call"));
        assertEquals(BpfAsm.FN_GET_CURRENT_PID_TGID, c.get("BPF_FUNC_get_current_pid_tgid"));
        assertEquals(BpfAsm.OR, c.get("BPF_OR"));
        assertEquals(BpfAsm.RSH, c.get("BPF_RSH"));
        assertEquals(BpfAsm.ARSH, c.get("BPF_ARSH"));
        assertEquals(BpfAsm.JLT, c.get("BPF_JLT"));
        assertEquals(BpfAsm.JSGE, c.get("BPF_JSGE"));
        assertEquals(BpfAsm.JSLT, c.get("BPF_JSLT"));
        assertEquals(PtRegs.RBP, c.get("pt_regs.rbp"));
        assertEquals(PtRegs.RBX, c.get("pt_regs.rbx"));
        assertEquals(PtRegs.RIP, c.get("pt_regs.rip"));
        assertEquals(PtRegs.RSP, c.get("pt_regs.rsp"));
        assertEquals(PtRegs.SIZE, c.get("pt_regs.size"));
    }
}
