package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Struct sizes and offsets declared in sys, checked against the kernel/glibc headers via gcc. */
@Tag("fast")
class LayoutTest {
    static Map<String, Long> c = new HashMap<>();

    @BeforeAll
    static void compile() {
        c.putAll(Native.constants(Native.build("layout_perf")));
    }

    /** struct perf_event_mmap_page (perf_event_attr itself: PerfEventLayoutTest). */
    @Test
    void perfRingPage() {
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

    /** union bpf_attr, the enums and the instruction encoding of sys.Bpf / sys.BpfAsm, against linux/bpf.h. */
    @Test
    void bpfAttrAndInstructions() {
        Map<String, Long> b = Native.constants(Native.build("layout_bpf"));
        assertEquals(Bpf.OFF_MAP_TYPE, b.get("bpf_attr.map_type"));
        assertEquals(Bpf.OFF_KEY_SIZE, b.get("bpf_attr.key_size"));
        assertEquals(Bpf.OFF_VALUE_SIZE, b.get("bpf_attr.value_size"));
        assertEquals(Bpf.OFF_MAX_ENTRIES, b.get("bpf_attr.max_entries"));
        assertEquals(Bpf.OFF_ELEM_MAP_FD, b.get("bpf_attr.map_fd"));
        assertEquals(Bpf.OFF_ELEM_KEY, b.get("bpf_attr.key"));
        assertEquals(Bpf.OFF_ELEM_VALUE, b.get("bpf_attr.value"));
        assertEquals(Bpf.OFF_ELEM_FLAGS, b.get("bpf_attr.flags"));
        assertEquals(Bpf.OFF_PROG_TYPE, b.get("bpf_attr.prog_type"));
        assertEquals(Bpf.OFF_INSN_CNT, b.get("bpf_attr.insn_cnt"));
        assertEquals(Bpf.OFF_INSNS, b.get("bpf_attr.insns"));
        assertEquals(Bpf.OFF_LICENSE, b.get("bpf_attr.license"));
        assertEquals(Bpf.OFF_LOG_LEVEL, b.get("bpf_attr.log_level"));
        assertEquals(Bpf.OFF_LOG_SIZE, b.get("bpf_attr.log_size"));
        assertEquals(Bpf.OFF_LOG_BUF, b.get("bpf_attr.log_buf"));
        assertEquals(Bpf.OFF_KERN_VERSION, b.get("bpf_attr.kern_version"));
        assertEquals(Bpf.OFF_PROG_FLAGS, b.get("bpf_attr.prog_flags"));
        assertEquals(Bpf.OFF_PROG_NAME, b.get("bpf_attr.prog_name"));
        org.junit.jupiter.api.Assertions.assertTrue(Bpf.ATTR_SIZE <= b.get("bpf_attr.size"), "passed size within the union");
        assertEquals(Bpf.OBJ_NAME_LEN, b.get("BPF_OBJ_NAME_LEN"));
        assertEquals(8L, b.get("bpf_insn.size"));
        assertEquals(Bpf.MAP_CREATE, b.get("BPF_MAP_CREATE"));
        assertEquals(Bpf.MAP_UPDATE_ELEM, b.get("BPF_MAP_UPDATE_ELEM"));
        assertEquals(Bpf.PROG_LOAD, b.get("BPF_PROG_LOAD"));
        assertEquals(Bpf.MAP_TYPE_PERF_EVENT_ARRAY, b.get("BPF_MAP_TYPE_PERF_EVENT_ARRAY"));
        assertEquals(Bpf.MAP_TYPE_PERCPU_ARRAY, b.get("BPF_MAP_TYPE_PERCPU_ARRAY"));
        assertEquals(Bpf.PROG_TYPE_KPROBE, b.get("BPF_PROG_TYPE_KPROBE"));
        assertEquals(Bpf.IOC_SET_BPF, b.get("PERF_EVENT_IOC_SET_BPF"));
        assertEquals(PerfEvent.SW_BPF_OUTPUT, b.get("PERF_COUNT_SW_BPF_OUTPUT"), "PerfEvent.SW_BPF_OUTPUT");
        assertEquals(0xffffffffL, b.get("BPF_F_CURRENT_CPU"), "what BpfAsm.mov32(r, -1) loads");
        assertEquals(BpfAsm.FN_MAP_LOOKUP_ELEM, b.get("BPF_FUNC_map_lookup_elem"));
        assertEquals(BpfAsm.FN_PERF_EVENT_OUTPUT, b.get("BPF_FUNC_perf_event_output"));
        assertEquals(BpfAsm.FN_GET_CURRENT_TASK, b.get("BPF_FUNC_get_current_task"));
        assertEquals(BpfAsm.FN_PROBE_READ_USER, b.get("BPF_FUNC_probe_read_user"));
        assertEquals(BpfAsm.FN_PROBE_READ_KERNEL, b.get("BPF_FUNC_probe_read_kernel"));
        assertEquals(BpfAsm.PSEUDO_MAP_FD, b.get("BPF_PSEUDO_MAP_FD"));
        String[] names = {"LD", "LDX", "ST", "STX", "ALU", "JMP", "ALU64", "W", "H", "B", "DW", "IMM", "MEM", "K", "X",
                "ADD", "SUB", "MUL", "LSH", "AND", "MOV", "JA", "JEQ", "JGT", "JGE", "JNE", "JSGT", "JLE", "JSLE", "CALL", "EXIT"};
        int[] ours = {BpfAsm.LD, BpfAsm.LDX, BpfAsm.ST, BpfAsm.STX, BpfAsm.ALU, BpfAsm.JMP, BpfAsm.ALU64, BpfAsm.W,
                BpfAsm.H, BpfAsm.B, BpfAsm.DW, BpfAsm.IMM, BpfAsm.MEM, BpfAsm.K, BpfAsm.X, BpfAsm.ADD, BpfAsm.SUB,
                BpfAsm.MUL, BpfAsm.LSH, BpfAsm.AND, BpfAsm.MOV, BpfAsm.JA, BpfAsm.JEQ, BpfAsm.JGT, BpfAsm.JGE,
                BpfAsm.JNE, BpfAsm.JSGT, BpfAsm.JLE, BpfAsm.JSLE, BpfAsm.CALL, BpfAsm.EXIT};
        for (int i = 0; i < names.length; i++) assertEquals((long) ours[i], b.get("BPF_" + names[i]), names[i]);
        long[] one = new BpfAsm().load(BpfAsm.DW, BpfAsm.R3, BpfAsm.R7, 24).build();
        assertEquals(b.get("insn.ldx"), one[0]);
    }
}
