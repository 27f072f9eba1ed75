package io.tansa.capture;

import io.tansa.unwind.Reg;
import io.tansa.unwind.StackMemory;
import io.tansa.unwind.Unwinder;

import io.tansa.proc.ProcFs;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.symbols.Kallsyms;
import io.tansa.sys.PerfRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import java.util.function.LongFunction;

/**
 * Turns decoded samples into {@link Stack}s of named frames: kernel addresses through
 * /proc/kallsyms, user addresses through a per-process resolver (address → frame). Keeps the
 * process and thread names current from COMM records, and forgets a process's cached frames when
 * it maps new code (MMAP2) or execs (COMM with exec).
 */
public final class SampleStacks {
    /** Frame for an address nothing could name (perf's "[unknown]"). */
    public static final String UNKNOWN = "[unknown]";
    private static final int CACHE_LIMIT = 200_000;

    private final IntFunction<LongFunction<Frame>> resolvers;
    private final IntFunction<Unwinder.Modules> unwinding;
    private final Map<Integer, Unwinder.Modules> modules = new HashMap<>();
    private Kallsyms kallsyms;
    private final Map<Integer, LongFunction<Frame>> perPid = new HashMap<>();
    private final FrameCache cache = new FrameCache(CACHE_LIMIT, true);
    private final Map<Integer, String> comms = new HashMap<>();

    /**
     * @param resolvers pid → resolver of that process's user addresses (called once per process;
     *                  may throw if the process is gone, which leaves its frames unknown)
     */
    public SampleStacks(IntFunction<LongFunction<Frame>> resolvers) {
        this(resolvers, null);
    }

    /**
     * @param unwinding pid → the CFI of that process's objects, for samples that carry user
     *                  registers and a stack copy (DWARF call graphs); null: frame pointers only
     */
    public SampleStacks(IntFunction<LongFunction<Frame>> resolvers, IntFunction<Unwinder.Modules> unwinding) {
        this.resolvers = resolvers;
        this.unwinding = unwinding;
    }

    /** Follows the records that change names and mappings. */
    public void observe(PerfRecord r) {
        switch (r) {
            case PerfRecord.Comm c -> {
                comms.put(c.tid(), c.comm());
                if (c.exec()) forget(c.pid());
            }
            case PerfRecord.Mmap2 m -> {
                if ((m.prot() & 4) != 0) cache.forget(m.pid()); // PROT_EXEC: new code may reuse old addresses
            }
            default -> { }
        }
    }

    private void forget(int pid) {
        perPid.remove(pid);
        modules.remove(pid);
        cache.forget(pid);
    }

    /** The name of thread {@code tid} of process {@code pid}: last COMM record, else /proc, else "?". */
    public String comm(int pid, int tid) {
        return comms.computeIfAbsent(tid, t -> {
            try {
                return ProcFs.comm(pid, t);
            } catch (RuntimeException e) {
                return "?"; // exited before we looked, and no COMM record seen
            }
        });
    }

    /**
     * The name of thread {@code tid} as {@link #comm}, with the one thread-name rule applied
     * ({@link ProcFs#threadName}: "vCPU N" for a qemu vCPU thread without a name of its own; not
     * cached here, as a vCPU thread not yet seen in KVM_RUN may be named at a later read).
     */
    public String threadName(int pid, int tid) {
        return ProcFs.threadName(pid, tid, comm(pid, tid), comm(pid, pid));
    }

    /**
     * The sample as a stack, innermost frame first: just the sampled IP, or with
     * {@code callchain} every frame of the kernel's call chain (kernel part, then user part).
     */
    public Stack stack(PerfRecord.Sample s, boolean callchain) {
        List<Frame> frames = new ArrayList<>();
        if (callchain && unwinding != null && s.user() != null && s.user().abi() != PerfRecord.REGS_ABI_NONE) {
            dwarfStack(s, frames);
        } else if (callchain && s.callchain().length > 0) {
            boolean inKernel = s.kernel();
            boolean first = true;
            for (long ip : s.callchain()) {
                if (PerfRecord.isContextMarker(ip)) {
                    if (ip == PerfRecord.CONTEXT_KERNEL) inKernel = true;
                    else if (ip == PerfRecord.CONTEXT_USER) inKernel = false;
                    first = true; // the first address of each part is where that mode was interrupted
                    continue;
                }
                // Callers' entries are return addresses: look up ip - 1 so a call at a function's end stays in it.
                frames.add(frame(s.pid(), ip, inKernel, first ? ip : ip - 1));
                first = false;
            }
        }
        if (frames.isEmpty()) frames.add(frame(s.pid(), s.ip(), s.kernel(), s.ip()));
        return new Stack(s.pid(), s.tid(), threadName(s.pid(), s.tid()), s.time(), -1, frames);
    }

    /**
     * The kernel part of the chain (when the sample hit kernel code), then the user part unwound
     * with DWARF CFI from the sampled user registers through the stack copy; a walk that could not
     * reach the stack's end (deeper than the copy, or no CFI) ends in an [unknown] frame.
     */
    private void dwarfStack(PerfRecord.Sample s, List<Frame> frames) {
        boolean first = true;
        for (long ip : s.callchain()) {
            if (ip == PerfRecord.CONTEXT_USER) break;
            if (PerfRecord.isContextMarker(ip)) continue;
            frames.add(kernelFrame(ip, first ? ip : ip - 1));
            first = false;
        }
        long[] regs = Reg.fromPerf(s.user().regs());
        Unwinder.Modules m = modules.computeIfAbsent(s.pid(), p -> {
            try {
                return unwinding.apply(p);
            } catch (RuntimeException e) {
                return pc -> null; // process gone: only the sampled pc
            }
        });
        Unwinder.Result r = Unwinder.unwind(regs, new StackMemory(regs[Reg.RSP.ordinal()], s.user().stack(), null), m, 128);
        for (int i = 0; i < r.size(); i++) frames.add(frame(s.pid(), r.pc(i), false, r.lookupPc(i)));
        if (r.truncated()) frames.add(Frame.nativeFrame(UNKNOWN, UNKNOWN, 0));
    }

    private Frame frame(int pid, long ip, boolean kernelMode, long lookup) {
        if (kernelMode) return kernelFrame(ip, lookup);
        return cache.get(pid, lookup, a -> userFrame(pid, ip, a));
    }

    private Frame userFrame(int pid, long ip, long lookup) {
        LongFunction<Frame> r = perPid.computeIfAbsent(pid, p -> {
            try {
                return resolvers.apply(p);
            } catch (RuntimeException e) {
                return a -> null; // process gone or unreadable: its frames stay unknown
            }
        });
        Frame f;
        try {
            f = r.apply(lookup);
        } catch (RuntimeException e) {
            f = null;
        }
        if (f == null || f.name() == null) {
            return Frame.nativeFrame(UNKNOWN, f != null && f.module() != null ? f.module() : UNKNOWN, ip);
        }
        return f.address() == ip ? f : Frame.nativeFrame(f.name(), f.module(), ip);
    }

    private Frame kernelFrame(long ip, long lookup) {
        if (kallsyms == null) kallsyms = Kallsyms.load();
        Kallsyms.Symbol k = kallsyms.lookup(lookup);
        if (k == null) return Frame.kernel(UNKNOWN, ip);
        return new Frame(Frame.Kind.KERNEL, k.name(), k.object(), ip, null, 0);
    }
}
