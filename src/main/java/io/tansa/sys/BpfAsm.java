package io.tansa.sys;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds eBPF instructions (Documentation/bpf/standardization/instruction-set.rst, struct bpf_insn
 * in &lt;linux/bpf.h&gt;: u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm), with named labels
 * for jumps. Only what tansa's programs use.
 */
public final class BpfAsm {
    // instruction classes
    static final int LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, ALU64 = 0x07;
    // sizes and modes
    public static final int W = 0x00, H = 0x08, B = 0x10, DW = 0x18;
    static final int IMM = 0x00, MEM = 0x60;
    // sources
    static final int K = 0x00, X = 0x08;
    // ALU operations
    public static final int ADD = 0x00, SUB = 0x10, MUL = 0x20, LSH = 0x60, AND = 0x50, MOV = 0xb0;
    // more ALU operations (kernel walker): BPF_OR, BPF_RSH, BPF_ARSH (linux/bpf_common.h, linux/bpf.h)
    public static final int OR = 0x40, RSH = 0x70, ARSH = 0xc0;
    // more jumps: BPF_JLT, BPF_JSGE, BPF_JSLT (linux/bpf.h, "jmp encodings")
    public static final int JLT = 0xa0, JSGE = 0x70, JSLT = 0xc0;
    // jump operations
    public static final int JA = 0x00, JEQ = 0x10, JGT = 0x20, JGE = 0x30, JNE = 0x50, JSGT = 0x60, JLE = 0xb0,
            JSLE = 0xd0;
    static final int CALL = 0x80, EXIT = 0x90;
    /** BPF_PSEUDO_MAP_FD: src_reg of a 64-bit immediate load that names a map by fd. */
    static final int PSEUDO_MAP_FD = 1;

    // helper function ids (enum bpf_func_id, the order of ___BPF_FUNC_MAPPER)
    public static final int FN_MAP_LOOKUP_ELEM = 1, FN_PERF_EVENT_OUTPUT = 25, FN_GET_CURRENT_TASK = 35,
            FN_PROBE_READ_USER = 112, FN_PROBE_READ_KERNEL = 113;
    // bpf_ktime_get_ns, bpf_tail_call, bpf_get_current_pid_tgid (bpf-helpers(7); ids from linux/bpf.h)
    public static final int FN_KTIME_GET_NS = 5, FN_TAIL_CALL = 12, FN_GET_CURRENT_PID_TGID = 14;
    /** bpf_map_update_elem(map, key, value, flags) (bpf-helpers(7)). */
    public static final int FN_MAP_UPDATE_ELEM = 2;

    public static final int R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6, R7 = 7, R8 = 8, R9 = 9, FP = 10;

    private final List<Long> insns = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private final Map<Integer, String> jumps = new HashMap<>();

    private static long insn(int code, int dst, int src, int off, int imm) {
        return (code & 0xffL) | ((long) (dst & 0xf) << 8) | ((long) (src & 0xf) << 12) | ((off & 0xffffL) << 16)
                | ((imm & 0xffffffffL) << 32);
    }

    private BpfAsm emit(int code, int dst, int src, int off, int imm) {
        insns.add(insn(code, dst, src, off, imm));
        return this;
    }

    /** dst = imm (64-bit register, imm sign-extended). */
    public BpfAsm mov(int dst, int imm) { return emit(ALU64 | MOV | K, dst, 0, 0, imm); }
    /** dst = src. */
    public BpfAsm movReg(int dst, int src) { return emit(ALU64 | MOV | X, dst, src, 0, 0); }
    /** dst = (u32) imm: zero-extended (e.g. 0xffffffff). */
    public BpfAsm mov32(int dst, int imm) { return emit(ALU | MOV | K, dst, 0, 0, imm); }
    /** dst op= imm (64-bit). */
    public BpfAsm alu(int op, int dst, int imm) { return emit(ALU64 | op | K, dst, 0, 0, imm); }
    /** dst op= src (64-bit). */
    public BpfAsm aluReg(int op, int dst, int src) { return emit(ALU64 | op | X, dst, src, 0, 0); }
    /** dst = *(size *)(src + off). */
    public BpfAsm load(int size, int dst, int src, int off) { return emit(LDX | MEM | size, dst, src, off, 0); }
    /** *(size *)(dst + off) = src. */
    public BpfAsm store(int size, int dst, int off, int src) { return emit(STX | MEM | size, dst, src, off, 0); }
    /** *(size *)(dst + off) = imm. */
    public BpfAsm storeImm(int size, int dst, int off, int imm) { return emit(ST | MEM | size, dst, 0, off, imm); }
    /** dst = the map with this fd (a two-slot 64-bit immediate load). */
    public BpfAsm loadMap(int dst, int mapFd) {
        emit(LD | DW | IMM, dst, PSEUDO_MAP_FD, 0, mapFd);
        return emit(0, 0, 0, 0, 0);
    }
    public BpfAsm call(int helper) { return emit(JMP | CALL, 0, 0, 0, helper); }
    public BpfAsm exit() { return emit(JMP | EXIT, 0, 0, 0, 0); }
    /** if (dst op imm) goto label (64-bit compare). */
    public BpfAsm jump(int op, int dst, int imm, String label) {
        jumps.put(insns.size(), label);
        return emit(JMP | op | K, dst, 0, 0, imm);
    }
    /** if (dst op src) goto label (64-bit compare of two registers). */
    public BpfAsm jumpReg(int op, int dst, int src, String label) {
        jumps.put(insns.size(), label);
        return emit(JMP | op | X, dst, src, 0, 0);
    }
    /** Instructions so far (for limits and measurements). */
    public int size() { return insns.size(); }
    /** goto label. */
    public BpfAsm jump(String label) { return jump(JA, 0, 0, label); }
    /** Marks the next instruction. */
    public BpfAsm label(String name) {
        if (labels.putIfAbsent(name, insns.size()) != null) throw new IllegalArgumentException("label twice: " + name);
        return this;
    }

    /** The program, jump offsets resolved. */
    public long[] build() {
        long[] out = new long[insns.size()];
        for (int i = 0; i < out.length; i++) {
            long in = insns.get(i);
            String l = jumps.get(i);
            if (l != null) {
                Integer to = labels.get(l);
                if (to == null) throw new IllegalArgumentException("no label " + l);
                int off = to - i - 1;
                if (off != (short) off) throw new IllegalArgumentException("jump too far: " + l);
                in = (in & ~(0xffffL << 16)) | ((off & 0xffffL) << 16);
            }
            out[i] = in;
        }
        return out;
    }
}
