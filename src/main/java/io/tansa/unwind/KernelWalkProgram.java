package io.tansa.unwind;

import static io.tansa.sys.BpfAsm.*;

import io.tansa.sys.BpfAsm;
import io.tansa.sys.PtRegs;
import io.tansa.sys.SigFrame;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The kernel stack walker: a BPF program (BPF_PROG_TYPE_KPROBE, run at each hit of a uprobe
 * trace event) that walks the hitting thread's user stack with {@link CompactRules} rows and
 * writes only the return addresses, through a BPF_OUTPUT perf ring — no stack copy. It is
 * {@link CompactRules#walk} step for step (the tests hold them equal).
 *
 * <p>Maps (created by the loader, fds passed in):
 * <ul>
 *   <li>{@code rows}: ARRAY of {@link CompactRules#ROW_BYTES}-byte rows, every object's rows one after
 *       another (mmap-able: written in place).</li>
 *   <li>{@code procs}: HASH tgid → the process's executable mappings: u32 count, 12 bytes pad, then
 *       {@link #MAX_MAPPINGS} × {u64 start, u64 end, u64 bias, u32 first row, u32 rows}, sorted by start.</li>
 *   <li>{@code scratch}: PERCPU_ARRAY, one {@link #scratchSize} value: the record being built and the walk's state.</li>
 *   <li>{@code stats}: PERCPU_ARRAY, one value of {@link #STATS} u64 counters.</li>
 *   <li>{@code progs}: PROG_ARRAY whose slot 0 is this program: each run walks {@code framesPerCall}
 *       frames, then tail-calls itself to go on (the kernel allows 33 tail calls: MAX_TAIL_CALL_CNT).</li>
 *   <li>{@code events}: PERF_EVENT_ARRAY of the cpus' BPF_OUTPUT events.</li>
 * </ul>
 *
 * <p>The record: u32 tgid, u32 tid, u64 time (bpf_ktime_get_ns: CLOCK_MONOTONIC), u32 n, u32 stop
 * ({@link CompactRules.Stop} ordinal, or {@link #NO_MAPS}), u64 ip at the hit, then n u64 pcs:
 * frame 0 at its pc, callers at their return addresses, bit 63 set where a pc is exact (the frame a
 * signal interrupted).
 *
 * <p>A walk that is preempted and whose cpu runs another hit meanwhile is restarted from the hit's
 * registers when it resumes (the scratch holds the tid it belongs to); counted in {@link #STAT_RESTARTS}.
 */
public final class KernelWalkProgram {
    private KernelWalkProgram() {}

    public static final int MAX_MAPPINGS = 64;
    public static final int MAPPING_BYTES = 32, PROCS_HEADER = 16;
    public static final int PROCS_VALUE = PROCS_HEADER + MAX_MAPPINGS * MAPPING_BYTES;
    /** Binary-search steps over one object's rows: at most 2^20 rows per object. */
    public static final int ROW_STEPS = 20;
    public static final int MAX_ROWS_PER_OBJECT = 1 << ROW_STEPS;
    /** Stop code of a hit in a process whose mappings are not in {@code procs} (yet). */
    public static final int NO_MAPS = 8;
    /** Record header bytes (before the pcs). */
    public static final int HEADER = 32;
    static final int OFF_TGID = 0, OFF_TID = 4, OFF_TIME = 8, OFF_N = 16, OFF_STOP = 20, OFF_IP = 24;
    // stats counters (u64 each)
    public static final int STAT_WALKS = 0, STAT_STOPS = 1 /* + stop code, 0..8 */, STAT_OUTPUT_FAILED = 10,
            STAT_RESTARTS = 11, STATS = 12;

    private static final int FLAG_EXACT = 1, FLAG_RBP_KNOWN = 2;

    /** Bytes of the scratch value for {@code maxFrames} pcs. */
    public static int scratchSize(int maxFrames) {
        return HEADER + 8 * maxFrames + 32 + 64;
    }

    /** The fds the program refers to. */
    public record Maps(int rows, int procs, int scratch, int stats, int progs, int events) {}

    /**
     * The program. {@code maxFrames}: a power of two; {@code framesPerCall}: frames walked per run
     * (34 runs at most); {@code returnValue}: 0 keeps the uprobe event from writing its own sample
     * (kernel walk) except for walks that stopped at an unknown pc or without maps (a copy to unwind
     * in user space), 1 lets it always (the oracle: a stack copy of every hit).
     */
    public static long[] program(Maps m, int maxFrames, int framesPerCall, int returnValue) {
        if (Integer.bitCount(maxFrames) != 1) throw new IllegalArgumentException("maxFrames: a power of two");
        final int S = HEADER + 8 * maxFrames; // walk state: pc, sp, bp, u32 flags, u32 active, tmp[64]
        final int PC = S, SP = S + 8, BP = S + 16, FLAGS = S + 24, ACTIVE = S + 28, TMP = S + 32;
        BpfAsm a = new BpfAsm();
        a.movReg(R6, R1); // ctx: struct pt_regs of the hit
        a.storeImm(W, FP, -4, 0).movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.scratch()).call(FN_MAP_LOOKUP_ELEM);
        a.jump(JEQ, R0, 0, "out").movReg(R7, R0);
        a.call(FN_GET_CURRENT_PID_TGID).movReg(R8, R0);
        a.load(W, R1, R7, ACTIVE).jump(JEQ, R1, 0, "init");
        a.load(W, R1, R7, OFF_TID).movReg(R2, R8).alu(LSH, R2, 32).alu(RSH, R2, 32).jumpReg(JEQ, R1, R2, "cont");
        stat(a, m, STAT_RESTARTS);
        a.label("init");
        a.movReg(R1, R8).alu(RSH, R1, 32).store(W, R7, OFF_TGID, R1);
        a.movReg(R1, R8).alu(LSH, R1, 32).alu(RSH, R1, 32).store(W, R7, OFF_TID, R1);
        a.call(FN_KTIME_GET_NS).store(DW, R7, OFF_TIME, R0);
        a.storeImm(W, R7, OFF_N, 0).storeImm(W, R7, OFF_STOP, 0);
        a.load(DW, R1, R6, PtRegs.RIP).store(DW, R7, OFF_IP, R1).store(DW, R7, PC, R1);
        a.load(DW, R1, R6, PtRegs.RSP).store(DW, R7, SP, R1);
        a.load(DW, R1, R6, PtRegs.RBP).store(DW, R7, BP, R1);
        a.storeImm(W, R7, FLAGS, FLAG_EXACT | FLAG_RBP_KNOWN).storeImm(W, R7, ACTIVE, 1);
        a.label("cont");
        a.load(W, R1, R7, OFF_TGID).store(W, FP, -4, R1);
        a.movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.procs()).call(FN_MAP_LOOKUP_ELEM);
        a.jump(JEQ, R0, 0, "stop" + NO_MAPS).movReg(R8, R0); // r8: the process's mappings
        for (int f = 0; f < framesPerCall; f++) frame(a, m, f, maxFrames, PC, SP, BP, FLAGS, TMP);
        a.movReg(R1, R6).loadMap(R2, m.progs()).mov(R3, 0).call(FN_TAIL_CALL);
        a.jump("stop" + CompactRules.Stop.DEPTH.ordinal()); // the kernel's tail call limit
        for (int s = 0; s <= NO_MAPS; s++) a.label("stop" + s).storeImm(W, R7, OFF_STOP, s).jump("emit");
        // emit: header + n pcs
        a.label("emit").storeImm(W, R7, ACTIVE, 0);
        a.load(W, R5, R7, OFF_N).jump(JGT, R5, maxFrames, "ret").alu(LSH, R5, 3).alu(ADD, R5, HEADER);
        a.movReg(R1, R6).loadMap(R2, m.events()).mov32(R3, -1) /* BPF_F_CURRENT_CPU */.movReg(R4, R7);
        a.call(FN_PERF_EVENT_OUTPUT).movReg(R9, R0);
        a.storeImm(W, FP, -4, 0).movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.stats()).call(FN_MAP_LOOKUP_ELEM);
        a.jump(JEQ, R0, 0, "ret");
        a.load(DW, R1, R0, STAT_WALKS * 8).alu(ADD, R1, 1).store(DW, R0, STAT_WALKS * 8, R1);
        a.load(W, R2, R7, OFF_STOP).jump(JGT, R2, NO_MAPS, "counted").alu(LSH, R2, 3).aluReg(ADD, R2, R0);
        a.load(DW, R1, R2, STAT_STOPS * 8).alu(ADD, R1, 1).store(DW, R2, STAT_STOPS * 8, R1);
        a.label("counted").jump(JSGE, R9, 0, "ret");
        a.load(DW, R1, R0, STAT_OUTPUT_FAILED * 8).alu(ADD, R1, 1).store(DW, R0, STAT_OUTPUT_FAILED * 8, R1);
        // the return value: 1 lets the uprobe event write its own sample (registers + stack copy):
        // always for the oracle; for a walk that met a pc in no known mapping or a process without
        // a table, so that user space unwinds that hit from the copy instead (a dlopen, a fork since)
        a.label("ret").mov(R0, returnValue).jump(JNE, R0, 0, "exit");
        a.load(W, R1, R7, OFF_STOP).jump(JEQ, R1, CompactRules.Stop.UNKNOWN_PC.ordinal(), "copy");
        a.jump(JEQ, R1, NO_MAPS, "copy").jump("exit");
        a.label("copy").mov(R0, 1).jump("exit");
        a.label("out").mov(R0, 0);
        a.label("exit").exit();
        return a.build();
    }

    private static int statLabels;

    /** stats[i]++ (clobbers r0-r5). */
    private static void stat(BpfAsm a, Maps m, int i) {
        String done = "stat" + (statLabels++);
        a.storeImm(W, FP, -4, 0).movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.stats()).call(FN_MAP_LOOKUP_ELEM);
        a.jump(JEQ, R0, 0, done).load(DW, R1, R0, i * 8).alu(ADD, R1, 1).store(DW, R0, i * 8, R1).label(done);
    }

    /** One frame: append the pc, find its object and row, compute the caller. r6 ctx, r7 scratch, r8 mappings. */
    private static void frame(BpfAsm a, Maps m, int f, int maxFrames, int PC, int SP, int BP, int FLAGS, int TMP) {
        String p = "f" + f + "_";
        String depth = "stop" + CompactRules.Stop.DEPTH.ordinal(), unknownPc = "stop" + CompactRules.Stop.UNKNOWN_PC.ordinal(),
                noCfi = "stop" + CompactRules.Stop.NO_CFI.ordinal(), fault = "stop" + CompactRules.Stop.FAULT.ordinal();
        // pcs[n] = pc | exact << 63; n++
        a.load(W, R1, R7, OFF_N).jump(JGE, R1, maxFrames, depth);
        a.movReg(R2, R1).alu(LSH, R2, 3).aluReg(ADD, R2, R7);
        a.load(DW, R3, R7, PC).load(W, R4, R7, FLAGS).alu(AND, R4, FLAG_EXACT).alu(LSH, R4, 63).aluReg(OR, R4, R3);
        a.store(DW, R2, HEADER, R4);
        a.alu(ADD, R1, 1).store(W, R7, OFF_N, R1).jump(JGE, R1, maxFrames, depth);
        // r9 = the address looked up: pc, or pc - 1 for a return address
        a.movReg(R9, R3).load(W, R1, R7, FLAGS).alu(AND, R1, FLAG_EXACT).jump(JNE, R1, 0, p + "exact").alu(ADD, R9, -1);
        a.label(p + "exact");
        // the mapping: the last one starting at or below r9 (r1 = len, r2 = lo)
        a.load(W, R1, R8, 0).jump(JEQ, R1, 0, unknownPc).jump(JGT, R1, MAX_MAPPINGS, unknownPc).mov(R2, 0);
        for (int i = 0; i < 6; i++) {
            a.movReg(R3, R1).alu(RSH, R3, 1).jump(JEQ, R3, 0, p + "mapped");
            a.movReg(R4, R2).aluReg(ADD, R4, R3).alu(AND, R4, MAX_MAPPINGS - 1).alu(LSH, R4, 5).aluReg(ADD, R4, R8);
            a.load(DW, R5, R4, PROCS_HEADER).jumpReg(JGT, R5, R9, p + "m" + i).aluReg(ADD, R2, R3);
            a.label(p + "m" + i).aluReg(SUB, R1, R3);
        }
        a.label(p + "mapped");
        a.alu(AND, R2, MAX_MAPPINGS - 1).alu(LSH, R2, 5).aluReg(ADD, R2, R8);
        a.load(DW, R3, R2, PROCS_HEADER).jumpReg(JGT, R3, R9, unknownPc);
        a.load(DW, R3, R2, PROCS_HEADER + 8).jumpReg(JGE, R9, R3, unknownPc);
        a.load(DW, R3, R2, PROCS_HEADER + 16).movReg(R4, R9).aluReg(SUB, R4, R3).store(DW, FP, -32, R4); // rel
        a.load(W, R3, R2, PROCS_HEADER + 24).store(DW, FP, -16, R3); // lo = first row
        a.load(W, R3, R2, PROCS_HEADER + 28).jump(JEQ, R3, 0, noCfi).store(DW, FP, -24, R3); // len
        // the row: the last one of the object's starting at or below rel
        for (int i = 0; i < ROW_STEPS; i++) {
            a.load(DW, R1, FP, -24).movReg(R3, R1).alu(RSH, R3, 1).jump(JEQ, R3, 0, p + "found").store(DW, FP, -40, R3);
            a.load(DW, R1, FP, -16).aluReg(ADD, R1, R3).store(W, FP, -4, R1);
            a.movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.rows()).call(FN_MAP_LOOKUP_ELEM).jump(JEQ, R0, 0, noCfi);
            a.load(DW, R1, R0, 0).load(DW, R2, FP, -32).load(DW, R3, FP, -40).jumpReg(JGT, R1, R2, p + "r" + i);
            a.load(DW, R4, FP, -16).aluReg(ADD, R4, R3).store(DW, FP, -16, R4);
            a.label(p + "r" + i).load(DW, R4, FP, -24).aluReg(SUB, R4, R3).store(DW, FP, -24, R4);
        }
        a.label(p + "found");
        a.load(DW, R1, FP, -16).store(W, FP, -4, R1);
        a.movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, m.rows()).call(FN_MAP_LOOKUP_ELEM).jump(JEQ, R0, 0, noCfi);
        a.load(DW, R1, R0, 0).load(DW, R2, FP, -32).jumpReg(JGT, R1, R2, noCfi);
        // decode: r1 kind, r2 flags, r3 rbp offset (s16), r4 cfa offset (s32), r5 sp
        a.load(B, R1, R0, 8).load(B, R2, R0, 9);
        a.load(H, R3, R0, 10).alu(LSH, R3, 48).alu(ARSH, R3, 48);
        a.load(W, R4, R0, 12).alu(LSH, R4, 32).alu(ARSH, R4, 32);
        a.load(DW, R5, R7, SP);
        a.jump(JEQ, R1, CompactRules.RSP, p + "rsp").jump(JEQ, R1, CompactRules.RBP, p + "rbp");
        a.jump(JEQ, R1, CompactRules.PLT, p + "plt").jump(JEQ, R1, CompactRules.SIGNAL, p + "sig");
        a.jump(JEQ, R1, CompactRules.END, "stop" + CompactRules.Stop.END.ordinal());
        a.jump(JEQ, R1, CompactRules.UNREDUCIBLE, "stop" + CompactRules.Stop.UNREDUCIBLE.ordinal());
        a.jump(noCfi);
        a.label(p + "rbp").load(W, R0, R7, FLAGS).alu(AND, R0, FLAG_RBP_KNOWN);
        a.jump(JEQ, R0, 0, "stop" + CompactRules.Stop.RBP_LOST.ordinal()).load(DW, R5, R7, BP);
        a.label(p + "rsp").aluReg(ADD, R5, R4).jump(p + "cfa");
        a.label(p + "plt").load(DW, R0, R7, PC).alu(AND, R0, 15).alu(ADD, R5, 8).jumpReg(JLT, R0, R3, p + "cfa");
        a.alu(ADD, R5, 8);
        // r5 = CFA: the caller's rsp; the return address below it
        a.label(p + "cfa").load(DW, R0, R7, SP).jumpReg(JLE, R5, R0, "stop" + CompactRules.Stop.LOOP.ordinal());
        a.store(DW, R7, SP, R5).store(DW, FP, -48, R2).store(DW, FP, -56, R3);
        a.movReg(R3, R5).alu(ADD, R3, -8).movReg(R1, R7).alu(ADD, R1, TMP).mov(R2, 8).call(FN_PROBE_READ_USER);
        a.jump(JNE, R0, 0, fault);
        a.load(DW, R1, R7, TMP).store(DW, R7, PC, R1);
        a.load(W, R0, R7, FLAGS).alu(AND, R0, FLAG_RBP_KNOWN).store(W, R7, FLAGS, R0); // not exact
        a.load(DW, R2, FP, -48).movReg(R1, R2).alu(AND, R1, CompactRules.RBP_SAVED).jump(JEQ, R1, 0, p + "nosave");
        a.load(DW, R3, R7, SP).load(DW, R4, FP, -56).aluReg(ADD, R3, R4);
        a.movReg(R1, R7).alu(ADD, R1, TMP).mov(R2, 8).call(FN_PROBE_READ_USER).jump(JNE, R0, 0, fault);
        a.load(DW, R1, R7, TMP).store(DW, R7, BP, R1).storeImm(W, R7, FLAGS, FLAG_RBP_KNOWN).jump(p + "next");
        a.label(p + "nosave").alu(AND, R2, CompactRules.RBP_LOST).jump(JEQ, R2, 0, p + "next");
        a.storeImm(W, R7, FLAGS, 0).jump(p + "next");
        // a signal trampoline: the interrupted registers from the sigcontext at rsp + UC_MCONTEXT
        int from = SigFrame.SC_RBP, len = SigFrame.SC_RIP + 8 - SigFrame.SC_RBP;
        a.label(p + "sig").movReg(R3, R5).alu(ADD, R3, SigFrame.UC_MCONTEXT + from);
        a.movReg(R1, R7).alu(ADD, R1, TMP).mov(R2, len).call(FN_PROBE_READ_USER).jump(JNE, R0, 0, fault);
        a.load(DW, R1, R7, TMP).store(DW, R7, BP, R1);
        a.load(DW, R1, R7, TMP + SigFrame.SC_RSP - from).store(DW, R7, SP, R1);
        a.load(DW, R1, R7, TMP + SigFrame.SC_RIP - from).store(DW, R7, PC, R1);
        a.storeImm(W, R7, FLAGS, FLAG_EXACT | FLAG_RBP_KNOWN);
        a.label(p + "next").load(DW, R1, R7, PC).jump(JEQ, R1, 0, "stop" + CompactRules.Stop.END.ordinal());
    }

    /** A record as the program wrote it. */
    public record Record(int tgid, int tid, long timeNanos, long ip, CompactRules.Walk walk, int stopCode) {}

    /** Decodes one record (the raw bytes of a PERF_SAMPLE_RAW). */
    public static Record decode(byte[] raw) {
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int tgid = b.getInt(OFF_TGID), tid = b.getInt(OFF_TID);
        long time = b.getLong(OFF_TIME), ip = b.getLong(OFF_IP);
        int n = Math.min(b.getInt(OFF_N), (raw.length - HEADER) / 8), stop = b.getInt(OFF_STOP);
        long[] pcs;
        boolean[] exact;
        if (n == 0) {
            pcs = new long[] {ip};
            exact = new boolean[] {true};
        } else {
            pcs = new long[n];
            exact = new boolean[n];
            for (int i = 0; i < n; i++) {
                long v = b.getLong(HEADER + 8 * i);
                pcs[i] = v & Long.MAX_VALUE;
                exact[i] = v < 0 || i == 0;
            }
        }
        CompactRules.Stop[] stops = CompactRules.Stop.values();
        CompactRules.Stop s = stop >= 0 && stop < stops.length ? stops[stop] : CompactRules.Stop.UNKNOWN_PC;
        return new Record(tgid, tid, time, ip, new CompactRules.Walk(pcs, exact, s), stop);
    }
}
