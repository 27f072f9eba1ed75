package io.tansa.ruby;

import static io.tansa.sys.BpfAsm.*;

import io.tansa.sys.BpfAsm;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Ruby frames of a thread, snapshotted in the kernel at the instant it hits a probe, so that
 * the thread need not stop: an eBPF program run by the uprobe (before the perf sample of the same
 * hit) copies what changes from one instant to the next — the thread's control frames and each
 * frame's environment words — into a perf record. What does not change while a method runs (its
 * iseq: path, label, line table; a method entry's name) is read afterwards by {@link RubyReader}
 * from the live process and cached.
 *
 * <p>The program, per hit:
 * <ol>
 * <li>the thread's fs base (its TCB) from {@code task_struct.thread.fsbase} (offset from the
 *     kernel's BTF);
 * <li>{@code ruby_current_ec}, a TLS variable of libruby (general-dynamic model), or of a static
 *     ruby's executable (module 1, its block in the static TLS area): the thread's DTV is the
 *     TCB's second word (glibc tcbhead_t), the module's block is {@code dtv[module]} (16-byte
 *     dtv_t entries), the variable is at its st_value in that block;
 * <li>the ec's vm_stack, vm_stack_size and cfp; every control frame from cfp to the end of the VM
 *     stack (at most {@link #MAX_FRAMES}), each with {@code ep[-2..0]} (method entry or cref,
 *     specval, flags) for C frames.
 * </ol>
 * Record: u32 frames, u32 status (0 or the step that failed), u64 fs base, u64 ec, the ec's head,
 * then per frame the control frame and its three env words.
 */
public final class RubySnapshots {
    private RubySnapshots() {}

    /** Control frames copied at most per hit (deeper stacks lose their outermost frames). */
    public static final int MAX_FRAMES = 256;

    /**
     * Where a thread's execution context is (kernel and TLS offsets), and where in the kernel's
     * task_struct its parent's pid is (real_parent, then tgid).
     */
    public record EcLocation(long fsbaseOffset, long tlsModule, long tlsOffset, long realParentOffset, long tgidOffset,
            long globalEc) {
        /** A TLS location ({@code ruby_current_ec}, 3.0 and later). */
        public EcLocation(long fsbaseOffset, long tlsModule, long tlsOffset, long realParentOffset, long tgidOffset) {
            this(fsbaseOffset, tlsModule, tlsOffset, realParentOffset, tgidOffset, 0);
        }
    }

    /**
     * Where the program finds the hitting thread's execution context in process {@code pid}:
     * its {@link EcSite} (2.7's global, or the TLS variable found through rb_errinfo's code) and
     * the kernel's task_struct offsets (BTF). Throws Failure(UNSUPPORTED) saying why when either
     * cannot be found.
     */
    public static EcLocation locate(int pid, Symbols syms) {
        EcSite site = EcSite.find(pid, syms);
        if (site == null) {
            String v = RubyReader.version(pid, syms);
            throw new io.tansa.Failure(io.tansa.Failure.Kind.UNSUPPORTED, "Ruby " + v + " in process " + pid
                    + ": cannot find its execution context (" + EcSite.notFound(syms) + ")");
        }
        io.tansa.sys.Btf btf = io.tansa.sys.Btf.kernel();
        return new EcLocation(btf.offsetOf("task_struct", "thread.fsbase"), site.tlsModule(), site.tlsOffset(),
                btf.offsetOf("task_struct", "real_parent"), btf.offsetOf("task_struct", "tgid"), site.global());
    }

    static final int OFF_N = 0, OFF_STATUS = 4, OFF_FSBASE = 8, OFF_EC = 16, OFF_PPID = 24, OFF_HEAD = 32;
    /** Status: the snapshot's step that failed (0: complete). */
    public static final int OK = 0, NO_FSBASE = 1, NO_DTV = 2, NO_TLS_BLOCK = 3, NO_EC = 4, NO_EC_HEAD = 5, BAD_CFP = 6;

    private static int headSize(RubyLayout l) {
        return l.ecHeadSize();
    }

    private static int header(RubyLayout l) {
        return OFF_HEAD + (headSize(l) + 7) / 8 * 8;
    }

    private static int record(RubyLayout l) {
        return l.cfpSize() + 24;
    }

    /** Bytes of the per-cpu scratch buffer the program builds a record in. */
    public static int valueSize(RubyReader r) {
        return header(r.layout()) + MAX_FRAMES * record(r.layout());
    }

    /**
     * The program: {@code scratchFd} is a one-entry BPF_MAP_TYPE_PERCPU_ARRAY of
     * {@link #valueSize} bytes, {@code eventsFd} a BPF_MAP_TYPE_PERF_EVENT_ARRAY of the cpus'
     * BPF_OUTPUT events. It returns 1: the hit's perf sample (registers, stack) follows.
     */
    public static long[] program(RubyReader r, EcLocation at, int scratchFd, int eventsFd) {
        return program(r, at, scratchFd, eventsFd, -1, -1);
    }

    /** Frames of a snapshot checked for methods not seen before (the wake, below). */
    public static final int WAKE_FRAMES = 24;
    /** A seen map's entry: {tgid, iseq or method entry} → 8 bytes. */
    public static final int SEEN_KEY = 16, SEEN_VALUE = 8;

    /**
     * As {@link #program(RubyReader, EcLocation, int, int)}, and with {@code seenFd} (a
     * BPF_MAP_TYPE_LRU_HASH of {@link #SEEN_KEY}-byte keys) and {@code wakeFd} (a
     * PERF_EVENT_ARRAY of BPF_OUTPUT events that wake their reader at every record): when one of
     * the snapshot's first {@link #WAKE_FRAMES} frames shows an iseq or C method entry the
     * process's snapshots have not shown before, the program writes an 8-byte record (the tgid)
     * to {@code wakeFd} after the snapshot — so tansa takes the snapshot at once and reads the new
     * methods while the process lives, not at the snapshot ring's watermark, maybe after it
     * exited. Every later hit of known methods costs the lookups only.
     */
    public static long[] program(RubyReader r, EcLocation at, int scratchFd, int eventsFd, int seenFd, int wakeFd) {
        RubyLayout l = r.layout();
        int hdr = header(l), rec = record(l), cfp = l.cfpSize();
        BpfAsm a = new BpfAsm();
        a.movReg(R6, R1); // ctx
        a.storeImm(W, FP, -4, 0).movReg(R2, FP).alu(ADD, R2, -4).loadMap(R1, scratchFd).call(FN_MAP_LOOKUP_ELEM);
        a.jump(JEQ, R0, 0, "out").movReg(R7, R0); // r7: the record
        a.storeImm(DW, R7, OFF_N, 0);
        a.call(FN_GET_CURRENT_TASK).movReg(R8, R0); // r8: the task (until step 3)
        // 0. the parent's pid, task->real_parent->tgid (0 if unreadable): a forked child that exits
        //    before tansa reads it is named through its parent
        a.movReg(R3, R8).alu(ADD, R3, (int) at.realParentOffset());
        readKernel(a, OFF_PPID, 8);
        a.load(DW, R3, R7, OFF_PPID).alu(ADD, R3, (int) at.tgidOffset());
        readKernel(a, OFF_PPID, 4);
        a.storeImm(W, R7, OFF_PPID + 4, 0);
        // 1. fs base
        a.movReg(R3, R8).alu(ADD, R3, (int) at.fsbaseOffset());
        readKernel(a, OFF_FSBASE, 8).jump(JNE, R0, 0, "fail" + NO_FSBASE);
        // 2. 2.7: ec = *ruby_current_execution_context_ptr (the GVL holder's: the hitting thread's
        //    unless it released the GVL and another thread took it)
        if (at.globalEc() != 0) {
            long g = at.globalEc(); // r3 = g: high half shifted up, plus the zero-extended low half
            a.mov32(R3, (int) (g >>> 32)).alu(LSH, R3, 32).mov32(R1, (int) g).aluReg(ADD, R3, R1);
            readUser(a, OFF_EC, 8).jump(JNE, R0, 0, "fail" + NO_EC);
        } else {
        // 2. dtv = tcb->dtv; block = dtv[module].val; ec = *(block + offset)
        a.load(DW, R3, R7, OFF_FSBASE).alu(ADD, R3, 8);
        readUser(a, OFF_EC, 8).jump(JNE, R0, 0, "fail" + NO_DTV);
        a.load(DW, R3, R7, OFF_EC).alu(ADD, R3, (int) (at.tlsModule() * 16));
        readUser(a, OFF_EC, 8).jump(JNE, R0, 0, "fail" + NO_TLS_BLOCK);
        a.load(DW, R3, R7, OFF_EC).jump(JEQ, R3, 0, "fail" + NO_TLS_BLOCK).jump(JEQ, R3, -1, "fail" + NO_TLS_BLOCK);
        a.alu(ADD, R3, (int) at.tlsOffset());
        readUser(a, OFF_EC, 8).jump(JNE, R0, 0, "fail" + NO_EC);
        }
        a.load(DW, R3, R7, OFF_EC).jump(JEQ, R3, 0, "fail" + NO_EC); // a thread that runs no Ruby
        readUser(a, OFF_HEAD, headSize(l)).jump(JNE, R0, 0, "fail" + NO_EC_HEAD);
        // 3. r8 = bytes from cfp to the end of the VM stack, r9 = cfp
        a.load(DW, R8, R7, OFF_HEAD + l.ecVmStackSize()).alu(LSH, R8, 3);
        a.load(DW, R1, R7, OFF_HEAD + l.ecVmStack()).aluReg(ADD, R8, R1);
        a.load(DW, R9, R7, OFF_HEAD + l.ecCfp()).aluReg(SUB, R8, R9);
        a.jump(JSLE, R8, 0, "fail" + BAD_CFP);
        for (int i = 0; i < MAX_FRAMES; i++) {
            a.jump(JLE, R8, i * cfp, "emit" + i);
            int at0 = hdr + i * rec;
            a.movReg(R3, R9).alu(ADD, R3, i * cfp);
            readUser(a, at0, cfp); // a failed read leaves zeros: the reader stops there
            a.load(DW, R3, R7, at0 + l.cfpEp()).alu(ADD, R3, -16);
            readUser(a, at0 + cfp, 24);
        }
        a.jump("emit" + MAX_FRAMES);
        for (int i = 0; i <= MAX_FRAMES; i++) a.label("emit" + i).mov(R9, i).jump("emit");
        for (int s = NO_FSBASE; s <= BAD_CFP; s++) {
            if (at.globalEc() != 0 && (s == NO_DTV || s == NO_TLS_BLOCK)) continue; // no TLS steps: unreachable
            a.label("fail" + s).storeImm(W, R7, OFF_STATUS, s).mov(R9, 0).jump("emit");
        }
        // emit: n = r9, size = header + n records
        a.label("emit").store(W, R7, OFF_N, R9);
        a.movReg(R5, R9).alu(MUL, R5, rec).alu(ADD, R5, hdr);
        a.movReg(R1, R6).loadMap(R2, eventsFd).mov32(R3, -1) /* BPF_F_CURRENT_CPU */.movReg(R4, R7);
        a.call(FN_PERF_EVENT_OUTPUT);
        if (seenFd >= 0 && wakeFd >= 0) {
            // key at fp-24: {tgid, iseq (a Ruby frame) or ep[-2] (a C frame's method entry)}
            a.mov(R8, 0).call(FN_GET_CURRENT_PID_TGID).alu(RSH, R0, 32).store(DW, FP, -24, R0);
            for (int i = 0; i < WAKE_FRAMES && i < MAX_FRAMES; i++) {
                int at0 = hdr + i * rec;
                a.jump(JLE, R9, i, "woken");
                a.load(DW, R1, R7, at0 + l.cfpIseq()).jump(JNE, R1, 0, "key" + i);
                a.load(DW, R1, R7, at0 + cfp);
                a.label("key" + i).jump(JEQ, R1, 0, "seen" + i).store(DW, FP, -16, R1);
                a.loadMap(R1, seenFd).movReg(R2, FP).alu(ADD, R2, -24).call(FN_MAP_LOOKUP_ELEM);
                a.jump(JNE, R0, 0, "seen" + i);
                a.loadMap(R1, seenFd).movReg(R2, FP).alu(ADD, R2, -24).movReg(R3, FP).alu(ADD, R3, -24).mov(R4, 0)
                        .call(FN_MAP_UPDATE_ELEM).mov(R8, 1); // BPF_ANY
                a.label("seen" + i);
            }
            a.label("woken").jump(JEQ, R8, 0, "out");
            a.movReg(R1, R6).loadMap(R2, wakeFd).mov32(R3, -1) /* BPF_F_CURRENT_CPU */.movReg(R4, FP).alu(ADD, R4, -24)
                    .mov(R5, 8).call(FN_PERF_EVENT_OUTPUT);
        }
        a.label("out").mov(R0, 1).exit();
        return a.build();
    }

    /** probe_read_user(r7 + at, size, r3). */
    private static BpfAsm readUser(BpfAsm a, int at, int size) {
        return a.movReg(R1, R7).alu(ADD, R1, at).mov(R2, size).call(FN_PROBE_READ_USER);
    }

    private static BpfAsm readKernel(BpfAsm a, int at, int size) {
        return a.movReg(R1, R7).alu(ADD, R1, at).mov(R2, size).call(FN_PROBE_READ_KERNEL);
    }

    /** One hit's snapshot: the control frames from cfp outwards and, per frame, ep[-2], ep[-1], ep[0]. */
    public record Snapshot(int status, long ec, long vmStack, long vmStackSize, long cfp, int frames, ByteBuffer data) {
        public boolean complete() {
            return status == OK;
        }
    }

    /** The pid of the hitting process's parent when the snapshot was taken (0: unknown). */
    public static int parentPid(byte[] raw) {
        return raw.length >= OFF_HEAD ? ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getInt(OFF_PPID) : 0;
    }

    /** Whether the program found the thread's Ruby frames (before knowing the process's layout). */
    public static boolean complete(byte[] raw) {
        return raw.length >= OFF_HEAD && ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).getInt(OFF_STATUS) == OK;
    }

    /** Decodes a record the program wrote (the raw data of a BPF_OUTPUT sample). */
    public static Snapshot parse(RubyReader r, byte[] raw) {
        RubyLayout l = r.layout();
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int n = b.getInt(OFF_N), status = b.getInt(OFF_STATUS);
        if (status != OK || raw.length < header(l) + (long) n * record(l)) {
            return new Snapshot(status == OK ? BAD_CFP : status, 0, 0, 0, 0, 0, null);
        }
        return new Snapshot(OK, b.getLong(OFF_EC), b.getLong(OFF_HEAD + l.ecVmStack()),
                b.getLong(OFF_HEAD + l.ecVmStackSize()), b.getLong(OFF_HEAD + l.ecCfp()), n,
                b.slice(header(l), n * record(l)).order(ByteOrder.LITTLE_ENDIAN));
    }
}
