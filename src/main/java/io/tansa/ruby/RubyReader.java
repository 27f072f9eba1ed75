package io.tansa.ruby;

import io.tansa.profile.Frame;
import io.tansa.sys.Regs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The Ruby frames of one stopped thread of a live Ruby process, read from the VM's memory without
 * running any code in the target (no inferior calls: nothing to allocate, no GVL, no reentrancy).
 *
 * <p>How: {@code ruby_current_vm_ptr} → the VM's ractors → each ractor's threads; the thread whose
 * {@code thread_id} (its pthread_t, which on x86-64 glibc is the thread's TCB address, i.e. its
 * fs base) equals the stopped thread's fs_base is the one; its {@code ec} gives the control frame
 * stack, walked exactly as {@code rb_backtrace()} does (vm_backtrace.c backtrace_each): iseq frames
 * with a pc give {@code label} and {@code path} of the iseq and the line of the instruction
 * before pc through the iseq's succinct line table (iseq.c get_insn_info); C-method frames give the
 * method's original id resolved through the global symbol table, at the file:line of the next
 * older Ruby frame. Decoded iseqs and id names are cached; each call still re-reads the control
 * frames and checks every cached iseq's body pointer, so the cost is a few reads per frame.
 *
 * <p>Struct offsets come from {@link RubyLayout} per Ruby series. The public readers are
 * synchronized: {@link #warm} may run on another thread than the one naming the hits.
 */
public final class RubyReader {
    private final Remote mem;
    private final RubyLayout l;
    private final String version;
    private final long vmPtrAddr;
    private final long symbolsAddr;

    /** Decoded iseq, valid while the iseq's body pointer is unchanged. */
    private record Iseq(long body, String path, String label, long encoded, int size, int[] lines, long[] succ) {}

    private final Map<Long, Iseq> iseqs = new HashMap<>();
    private final Map<Long, String> idNames = new HashMap<>();
    private final Map<Integer, Long> threadByTid = new HashMap<>();

    private final EcSite ec;

    private RubyReader(int pid, RubyLayout layout, String version, long vmPtrAddr, long symbolsAddr, EcSite ec) {
        this.mem = new Remote(pid);
        this.l = layout;
        this.version = version;
        this.vmPtrAddr = vmPtrAddr;
        this.symbolsAddr = symbolsAddr;
        this.ec = ec;
    }

    /**
     * A reader for {@code pid} if it runs a Ruby whose series is in the layout table (see
     * {@link #detect(int, Symbols, String)}); empty for a process without libruby or with a Ruby
     * whose frames cannot be read ({@link #unsupported} says why).
     */
    public static Optional<RubyReader> detect(int pid, Symbols syms) {
        return detect(pid, syms, forced);
    }

    /** The series forced by --ruby-layout for every process of this run, or null. */
    private static volatile String forced;

    /**
     * Forces the layout row of {@code series} (--ruby-layout) onto every Ruby process this run
     * reads whose own series has no row (rbspy's --force-version); such readers say
     * {@link #verified()} false. Throws Failure(USAGE) for a series with no row.
     */
    public static void forceLayout(String series) {
        if (series != null && RubyLayout.forVersion(series).isEmpty()) {
            throw new io.tansa.Failure(io.tansa.Failure.Kind.USAGE, "--ruby-layout " + series
                    + ": no such layout (known: " + String.join(", ", RubyLayout.knownSeries()) + ")");
        }
        forced = series;
    }

    /** Why the Ruby frames of {@code pid} cannot be read (one line), or null; see {@link #unsupported(int, Symbols, String)}. */
    public static String unsupported(int pid, Symbols syms) {
        return unsupported(pid, syms, forced);
    }

    /**
     * The line to print once when this reader's layout is forced (--ruby-layout), else null.
     */
    public String unverifiedNote() {
        return l.verified() ? null : "Ruby " + version + ": read with the Ruby " + l.series()
                + " layout (--ruby-layout), not verified for this version: frames may be wrong or missing";
    }

    /**
     * A reader for {@code pid}: needs the symbols {@code ruby_version} and
     * {@code rb_sym_immortal_count}, the execution context's site ({@link EcSite}) and a layout
     * row: the row of the process's series, or with {@code forceSeries} (--ruby-layout) that
     * series' row, marked unverified.
     */
    public static Optional<RubyReader> detect(int pid, Symbols syms, String forceSeries) {
        String v = version(pid, syms);
        if (v == null) return Optional.empty();
        Optional<RubyLayout> layout = RubyLayout.forVersion(v);
        if (layout.isEmpty() && forceSeries != null) layout = RubyLayout.forVersion(forceSeries).map(RubyLayout::unverified);
        long vmPtr = syms.address("ruby_current_vm_ptr"); // exported up to 3.2; found through an ec from 3.3
        long symbols = globalSymbols(new Remote(pid), syms.address("rb_sym_immortal_count"));
        EcSite site = EcSite.find(pid, syms);
        if (layout.isEmpty() || symbols <= 0 || site == null) return Optional.empty();
        if (site.isGlobal() && vmPtr <= 0) return Optional.empty();
        return Optional.of(new RubyReader(pid, layout.get(), v, vmPtr, symbols, site));
    }

    /**
     * Why the Ruby frames of {@code pid} cannot be read, in one line naming the version seen and
     * what would make it work; null when they can (or the process runs no Ruby).
     */
    public static String unsupported(int pid, Symbols syms, String forceSeries) {
        String v = version(pid, syms);
        if (v == null) return null;
        if (forceSeries != null && RubyLayout.forVersion(forceSeries).isEmpty()) {
            return "--ruby-layout " + forceSeries + ": no such layout (known: " + String.join(", ", RubyLayout.knownSeries()) + ")";
        }
        if (RubyLayout.forVersion(v).isEmpty() && forceSeries == null) {
            return "no Ruby frames: process " + pid + " runs Ruby " + v + ", a series whose VM layout tansa does not know"
                    + " (verified: " + String.join(", ", RubyLayout.knownSeries()) + "); --ruby-layout SERIES tries one, unverified";
        }
        if (globalSymbols(new Remote(pid), syms.address("rb_sym_immortal_count")) <= 0) {
            return "no Ruby frames: Ruby " + v + " in process " + pid + ": rb_sym_immortal_count is missing or not the"
                    + " expected code, so method names cannot be read";
        }
        if (EcSite.find(pid, syms) == null) {
            return "no Ruby frames: Ruby " + v + " in process " + pid + ": cannot find its execution context ("
                    + EcSite.notFound(syms) + ")";
        }
        if (syms.address("ruby_current_execution_context_ptr") > 0 && syms.address("ruby_current_vm_ptr") <= 0) {
            return "no Ruby frames: Ruby " + v + " in process " + pid + " has no ruby_current_vm_ptr";
        }
        return null;
    }

    /** Whether the layout in use is the process's own series' row (false: forced with --ruby-layout). */
    public boolean verified() {
        return l.verified();
    }

    /** Where this Ruby keeps the running thread's execution context. */
    public EcSite ecSite() {
        return ec;
    }

    /** The Ruby version string ("3.1.2") from the {@code ruby_version} symbol, or null if not a Ruby process. */
    public static String version(int pid, Symbols syms) {
        long a = syms.address("ruby_version");
        if (a <= 0) return null;
        try {
            String v = cString(new Remote(pid).read(a, 16));
            return v.matches("\\d+\\.\\d+\\.\\d+") ? v : null;
        } catch (Remote.BadState e) {
            return null;
        }
    }

    /** The Ruby version this reader was built for. */
    public String version() {
        return version;
    }

    /**
     * {@code ruby_global_symbols} is a hidden symbol in Debian's stripped libruby, but the exported
     * {@code rb_sym_immortal_count()} is {@code return ruby_global_symbols.last_id;} (symbol.c),
     * which compiles to one RIP-relative load: {@code mov disp32(%rip),%eax} (8b 05) or its REX.W
     * form (48 8b 05), possibly after an endbr64. Its target is the struct's address (last_id is the
     * first member). Returns -1 when the code is not that instruction.
     */
    static long globalSymbols(Remote mem, long fn) {
        if (fn <= 0) return -1;
        try {
            ByteBuffer b = mem.read(fn, 12);
            int at = b.getInt(0) == 0xfa1e0ff3 ? 4 : 0; // endbr64, in builds with CET (-fcf-protection)
            if ((b.get(at) & 0xff) == 0x48) at++;
            if ((b.get(at) & 0xff) != 0x8b || (b.get(at + 1) & 0xff) != 0x05) return -1;
            return fn + at + 6 + b.getInt(at + 2);
        } catch (Remote.BadState e) {
            return -1;
        }
    }

    /**
     * The Ruby frames of thread {@code tid} at this stop, innermost first, as {@code rb_backtrace()}
     * in that thread would print them (reversed). Empty if the thread runs no Ruby (not a Ruby
     * thread, not started, or the VM is mid-update in a way that fails the sanity checks).
     */
    public synchronized List<Frame> frames(int tid, Regs regs) {
        try {
            if (!ec.isGlobal()) return walk(tlsEc(regs.fsBase()));
            long th = thread(tid, regs.fsBase());
            if (th == 0) return List.of();
            return walk(mem.word(th + l.threadEc()));
        } catch (Remote.BadState e) {
            return List.of();
        }
    }

    /**
     * The thread's {@code ruby_current_ec}, as the snapshot program reads it: the thread's DTV is
     * the second word of its TCB (glibc tcbhead_t, at the fs base), the module's block is
     * {@code dtv[module]} (16-byte dtv_t), the variable at its offset there. 0 when the thread has
     * not allocated the block (not a Ruby thread).
     */
    private long tlsEc(long fsBase) {
        long dtv = mem.word(fsBase + 8);
        long block = mem.word(dtv + ec.tlsModule() * 16);
        if (block == 0 || block == -1) return 0;
        long e = mem.word(block + ec.tlsOffset());
        if (e != 0 && vmAddr == 0) vmAddr = mem.word(mem.word(e + l.ecThreadPtr()) + l.threadVm());
        return e;
    }

    /** The VM (rb_vm_t *): ruby_current_vm_ptr where exported, else learnt from an ec. */
    private long vmAddr;

    private long vm() {
        if (vmPtrAddr > 0) return mem.word(vmPtrAddr);
        return vmAddr;
    }

    /** The pthread_t of a rb_thread_t (from 3.3 in its native thread). */
    private long pthreadOf(long th) {
        if (!l.pthreadInNativeThread()) return mem.word(th + l.threadPthread());
        long nt = mem.word(th + l.threadPthread());
        return nt == 0 ? 0 : mem.word(nt + l.ntThreadId());
    }

    /** rb_thread_t* whose pthread_t is {@code pthread} (remembered per tid while it still matches), or 0. */
    private long thread(int tid, long pthread) {
        Long cached = threadByTid.get(tid);
        if (cached != null && pthreadOf(cached) == pthread) return cached;
        threadByTid.remove(tid);
        for (long th : threads()) {
            if (pthreadOf(th) == pthread) {
                threadByTid.put(tid, th);
                return th;
            }
        }
        return 0;
    }

    /** Every rb_thread_t* of the VM: vm->living_threads (2.7), else each ractor's threads; empty without the VM. */
    private List<Long> threads() {
        List<Long> out = new ArrayList<>();
        long vm = vm();
        if (vm == 0) return out;
        int guard = 0;
        if (!l.hasRactors()) {
            long head = vm + l.vmLivingThreads();
            for (long tn = mem.word(head); tn != head && tn != 0 && guard++ < 10_000; tn = mem.word(tn)) out.add(tn - l.threadLtNode());
            return out;
        }
        long ractorHead = vm + l.vmRactorSet();
        for (long rn = mem.word(ractorHead); rn != ractorHead && rn != 0 && guard++ < 10_000; rn = mem.word(rn)) {
            long threadHead = rn - l.ractorVmlrNode() + l.ractorThreadsSet();
            for (long tn = mem.word(threadHead); tn != threadHead && tn != 0 && guard++ < 10_000; tn = mem.word(tn)) {
                out.add(tn - l.threadLtNode());
            }
        }
        return out;
    }

    /**
     * Reads the methods on every Ruby thread's stack now, without stopping it (a torn read is
     * passed over: {@link #warm} and the later reads check what they use): they are cached before
     * the first hit, and the reading code is loaded and run once — so that the first hits of a
     * process that exits right after them are named in time. Needs the VM's address (a Ruby with
     * {@code ruby_current_vm_ptr}); else a no-op.
     */
    public synchronized void warmUp() {
        try {
            if (vm() == 0) return;
            progname();
            for (long th : threads()) {
                try {
                    walk(mem.word(th + l.threadEc()));
                } catch (Remote.BadState e) {
                    // it moved on while read: its methods are read at its hits
                }
            }
        } catch (Remote.BadState e) {
            // nothing to warm: the hits read what they need
        }
    }

    private List<Frame> walk(long ec) {
        if (ec == 0) return List.of();
        ByteBuffer e = mem.read(ec, Math.max(l.ecCfp(), l.ecVmStackSize()) + 8);
        long stack = e.getLong(l.ecVmStack()), size = e.getLong(l.ecVmStackSize()), cfp = e.getLong(l.ecCfp());
        int n = frameCount(stack, size, cfp);
        if (n <= 0) return List.of();
        return decode(mem.read(cfp, n * l.cfpSize()), l.cfpSize(), n, null);
    }

    /**
     * Control frames between {@code cfp} and the end of the VM stack, less the two dummy frames at
     * its end that backtrace_each skips; 0 when cfp is not a frame of that stack.
     */
    private int frameCount(long stack, long size, long cfp) {
        if (stack == 0 || cfp == 0) return 0;
        long start = stack + size * 8 - 2L * l.cfpSize();
        if (cfp > start || cfp < stack || (start - cfp) % l.cfpSize() != 0) return 0;
        return (int) ((start - cfp) / l.cfpSize()) + 1;
    }

    RubyLayout layout() {
        return l;
    }

    /**
     * The Ruby frames of a snapshot taken in the kernel at a hit ({@link RubySnapshots}),
     * innermost first, as {@link #frames(int, Regs)} would have read them from the thread stopped
     * there: the control frames and env words come from the snapshot, the iseqs and method
     * entries they point to (which do not change while their methods run) from the process.
     * A stack deeper than the snapshot ends early. Empty for an incomplete snapshot.
     */
    public synchronized List<Frame> frames(RubySnapshots.Snapshot s) {
        if (!s.complete()) return List.of();
        findVm(s);
        int n = Math.min(frameCount(s.vmStack(), s.vmStackSize(), s.cfp()), s.frames());
        if (n <= 0) return List.of();
        try {
            return decode(s.data(), l.cfpSize() + 24, n, s.data());
        } catch (Remote.BadState e) {
            return List.of();
        }
    }

    /** The VM of a Ruby without {@code ruby_current_vm_ptr}, found through the snapshot's ec. */
    private void findVm(RubySnapshots.Snapshot s) {
        if (vmAddr == 0 && vmPtrAddr <= 0 && s.ec() != 0) {
            try {
                vmAddr = mem.word(mem.word(s.ec() + l.ecThreadPtr()) + l.threadVm());
            } catch (Remote.BadState e) {
                // its progname is then unknown; only C frames before any Ruby frame need it
            }
        }
    }

    /**
     * Reads, while the process still lives, what naming the frames of snapshot {@code s} needs
     * and is not cached yet: each iseq seen for the first time (label, path, the pc → line table)
     * and each C method entry's name, and the progname. Once warm, {@link #frames(RubySnapshots.Snapshot)}
     * names this snapshot (and any other of the same methods, at any line) from the cache alone,
     * also after the process exited. Cheap when all is cached: a lookup per frame. True when the
     * snapshot's frames are all cached (now or already).
     */
    public synchronized boolean warm(RubySnapshots.Snapshot s) {
        if (!s.complete()) return false;
        int n = Math.min(frameCount(s.vmStack(), s.vmStackSize(), s.cfp()), s.frames());
        if (n <= 0) return true;
        if (cached(s.data(), l.cfpSize() + 24, n) && (progname != null || prognameTried)) return true;
        findVm(s);
        if (progname == null) {
            prognameTried = true;
            try {
                progname();
            } catch (Remote.BadState e) {
                // only C frames before any Ruby frame need it
            }
        }
        try {
            decode(s.data(), l.cfpSize() + 24, n, s.data());
            return true;
        } catch (Remote.BadState e) {
            return false;
        }
    }

    /** True when every iseq and usual C method entry of the frames is cached. */
    private boolean cached(ByteBuffer frames, int stride, int n) {
        for (int i = 0; i < n; i++) {
            int o = i * stride;
            long pc = frames.getLong(o + l.cfpPc()), iseq = frames.getLong(o + l.cfpIseq());
            if (iseq != 0) {
                if (pc != 0 && !iseqs.containsKey(iseq)) return false;
                continue;
            }
            long meCref = frames.getLong(o + l.cfpSize()), flags = frames.getLong(o + l.cfpSize() + 16);
            if ((flags & RubyLayout.VM_FRAME_MAGIC_MASK) != RubyLayout.VM_FRAME_MAGIC_CFUNC) continue;
            if ((flags & RubyLayout.VM_ENV_FLAG_LOCAL) == 0 || (meCref & 0x7) != 0 || meCref == 0) return false;
            if (!ments.containsKey(meCref)) return false;
        }
        return true;
    }

    /**
     * The frames in {@code frames} (frame i at i * stride), innermost first. {@code envs}: each
     * frame's ep[-2..0] right after its control frame (a snapshot), or null to read them.
     */
    private List<Frame> decode(ByteBuffer frames, int stride, int n, ByteBuffer envs) {
        // One batched read for every frame: the iseq header of Ruby frames, the env
        // (ep[-2] me_cref, ep[-1] specval, ep[0] flags) of the others unless the snapshot has them.
        long[] addrs = new long[n];
        int[] lens = new int[n];
        int[] kind = new int[n]; // 0 skipped, 1 iseq frame, 2 maybe C frame
        int k = 0;
        for (int i = 0; i < n; i++) {
            int o = i * stride;
            long pc = frames.getLong(o + l.cfpPc()), iseq = frames.getLong(o + l.cfpIseq());
            if (iseq != 0) {
                if (pc == 0) continue; // ifunc frames and iseq frames not started: rb_backtrace skips them
                kind[i] = 1;
                addrs[k] = iseq;
                lens[k++] = l.iseqBody() + 8;
            } else {
                kind[i] = 2;
                if (envs != null) continue;
                addrs[k] = frames.getLong(o + l.cfpEp()) - 16;
                lens[k++] = 24;
            }
        }
        // A snapshot may be read while or after its process exits (its memory unreadable or
        // half torn down): then only what is cached names its frames.
        ByteBuffer got = null;
        boolean cachedOnly = false;
        try {
            got = mem.readAll(addrs, lens, k);
        } catch (Remote.BadState e) {
            if (envs == null) throw e;
            cachedOnly = true;
        }
        Iseq[] iseqOf = new Iseq[n];
        long[] meOf = new long[n];
        int at = 0;
        for (int i = 0; i < n; i++) {
            if (kind[i] == 1) {
                long iseq = frames.getLong(i * stride + l.cfpIseq());
                if (cachedOnly) {
                    iseqOf[i] = iseqs.get(iseq);
                    if (iseqOf[i] == null) throw new Remote.BadState("iseq not cached");
                } else {
                    iseqOf[i] = iseq(iseq, got.getLong(at), got.getLong(at + l.iseqBody()));
                    at += l.iseqBody() + 8;
                }
            } else if (kind[i] == 2) {
                ByteBuffer env = got;
                int e = at;
                if (envs != null) {
                    env = envs;
                    e = i * stride + l.cfpSize();
                } else {
                    at += 24;
                }
                long flags = env.getLong(e + 16), meCref = env.getLong(e);
                if ((flags & RubyLayout.VM_FRAME_MAGIC_MASK) != RubyLayout.VM_FRAME_MAGIC_CFUNC) {
                    kind[i] = 0;
                } else if ((flags & RubyLayout.VM_ENV_FLAG_LOCAL) != 0 && (meCref & 0x7) == 0 && meCref != 0) {
                    meOf[i] = meCref; // the usual case, checked below
                } else {
                    long ep = frames.getLong(i * stride + l.cfpEp());
                    meOf[i] = methodEntry(ep, mem.read(ep - 16, 24));
                    if (meOf[i] == 0) throw new Remote.BadState("cfunc frame without method entry");
                }
            }
        }
        String[] nameOf = cachedOnly ? cachedMethodNames(meOf, kind, n) : methodNames(meOf, kind, n);

        List<Frame> out = new ArrayList<>(n);
        String file = null; // rb_backtrace starts with vm->progname, line 0
        int line = 0;
        for (int i = n - 1; i >= 0; i--) { // oldest to newest, as backtrace_each
            if (kind[i] == 1) {
                Iseq is = iseqOf[i];
                file = is.path;
                line = lineNo(is, frames.getLong(i * stride + l.cfpPc()));
                out.add(Frame.ruby(is.label, file, line));
            } else if (kind[i] == 2) {
                if (file == null) file = progname();
                out.add(Frame.ruby(nameOf[i], file, line));
            }
        }
        Collections.reverse(out);
        return out;
    }

    /** A method entry's definition and its name, reused while the entry still points at that definition. */
    private record Ment(long def, String name) {}

    private final Map<Long, Ment> ments = new HashMap<>();

    /** Names of the C frames' method entries: one batched read of the entries' headers, then cached names. */
    private String[] methodNames(long[] meOf, int[] kind, int n) {
        String[] names = new String[n];
        long[] addrs = new long[n];
        int[] lens = new int[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (kind[i] == 2) {
                addrs[k] = meOf[i];
                lens[k++] = l.meDef() + 8;
            }
        }
        if (k == 0) return names;
        ByteBuffer got = mem.readAll(addrs, lens, k);
        int at = 0;
        for (int i = 0; i < n; i++) {
            if (kind[i] != 2) continue;
            long flags = got.getLong(at), def = got.getLong(at + l.meDef());
            at += l.meDef() + 8;
            long me = meOf[i];
            if ((flags & RubyLayout.T_MASK) != RubyLayout.T_IMEMO
                    || ((flags >>> RubyLayout.FL_USHIFT) & RubyLayout.IMEMO_MASK) != RubyLayout.IMEMO_MENT) {
                me = checkMethodEntry(me, true); // an svar wrapping the entry
                if (me == 0) throw new Remote.BadState("cfunc frame without method entry");
                def = mem.word(me + l.meDef());
            }
            Ment c = ments.get(me);
            if (c == null || c.def != def) {
                c = new Ment(def, idName(mem.word(def + l.defOriginalId())));
                ments.put(me, c);
            }
            names[i] = c.name;
        }
        return names;
    }

    /** The names of the C frames' method entries as cached (their process cannot be read). */
    private String[] cachedMethodNames(long[] meOf, int[] kind, int n) {
        String[] names = new String[n];
        for (int i = 0; i < n; i++) {
            if (kind[i] != 2) continue;
            Ment c = ments.get(meOf[i]);
            if (c == null) throw new Remote.BadState("method entry not cached");
            names[i] = c.name;
        }
        return names;
    }

    /** rb_vm_frame_method_entry (vm_insnhelper.c): the frame's rb_callable_method_entry_t, or 0. */
    private long methodEntry(long ep, ByteBuffer env) {
        for (int depth = 0; depth < 1000; depth++) {
            boolean local = (env.getLong(16) & RubyLayout.VM_ENV_FLAG_LOCAL) != 0;
            long me = checkMethodEntry(env.getLong(0), local);
            if (me != 0 || local) return me;
            ep = env.getLong(8) & ~0x03L; // VM_ENV_PREV_EP: GC_GUARDED_PTR_REF(ep[-1])
            env = mem.read(ep - 16, 24);
        }
        return 0;
    }

    private long checkMethodEntry(long obj, boolean canBeSvar) {
        if (obj == 0 || (obj & 0x7) != 0) return 0; // Qfalse or an immediate
        long flags = mem.word(obj);
        if ((flags & RubyLayout.T_MASK) != RubyLayout.T_IMEMO) return 0;
        long type = (flags >>> RubyLayout.FL_USHIFT) & RubyLayout.IMEMO_MASK;
        if (type == RubyLayout.IMEMO_MENT) return obj;
        if (type == RubyLayout.IMEMO_SVAR && canBeSvar) return checkMethodEntry(mem.word(obj + l.svarCrefOrMe()), false);
        return 0;
    }

    /** The decoded iseq at {@code iseq} whose header says {@code flags} and {@code body}. */
    private Iseq iseq(long iseq, long flags, long body) {
        if ((flags & RubyLayout.T_MASK) != RubyLayout.T_IMEMO
                || ((flags >>> RubyLayout.FL_USHIFT) & RubyLayout.IMEMO_MASK) != RubyLayout.IMEMO_ISEQ) {
            throw new Remote.BadState("not an iseq at 0x" + Long.toHexString(iseq));
        }
        Iseq c = iseqs.get(iseq);
        if (c != null && c.body == body) return c;
        ByteBuffer b = mem.read(body, l.bodyReadSize());
        int size = b.getInt(l.bodyIseqSize());
        long encoded = b.getLong(l.bodyIseqEncoded());
        long pathobj = b.getLong(l.bodyPathobj());
        if (isType(pathobj, RubyLayout.T_ARRAY)) pathobj = arrayFirst(pathobj); // [path, realpath]
        String path = string(pathobj);
        String label = string(b.getLong(l.bodyLabel()));
        int entries = b.getInt(l.bodyInsnsInfoSize());
        if (entries < 0 || entries > 1 << 22) throw new Remote.BadState("insns_info.size " + entries);
        int[] lines = new int[entries];
        if (entries > 0) {
            ByteBuffer t = mem.read(b.getLong(l.bodyInsnsInfoBody()), entries * l.insnInfoEntrySize());
            for (int i = 0; i < entries; i++) lines[i] = t.getInt(i * l.insnInfoEntrySize() + l.insnInfoLineNo());
        }
        long[] succ = entries > 1 ? succIndexTable(b.getLong(l.bodySuccIndexTable()), size) : null;
        c = new Iseq(body, path, label, encoded, size, lines, succ);
        iseqs.put(iseq, c);
        return c;
    }

    // iseq.c, VM_INSN_INFO_TABLE_IMPL == 2: struct succ_index_table { uint64_t imm_part[6];
    // struct succ_dict_block { unsigned rank; uint64_t small_block_ranks; uint64_t bits[8]; } succ_part[]; }
    private static final int IMMEDIATE_TABLE_SIZE = 54, IMM_WORDS = IMMEDIATE_TABLE_SIZE / 9, BLOCK_WORDS = 10;

    /** The table as words: imm_part[0..6) then, per 512-position block, {rank, small_block_ranks, bits[8]}. */
    private long[] succIndexTable(long addr, int maxPos) {
        int immSize = (maxPos < IMMEDIATE_TABLE_SIZE ? maxPos + 8 : IMMEDIATE_TABLE_SIZE) / 9;
        int succSize = (maxPos < IMMEDIATE_TABLE_SIZE ? 0 : maxPos - IMMEDIATE_TABLE_SIZE + 511) / 512;
        int words = succSize == 0 ? immSize : IMM_WORDS + succSize * BLOCK_WORDS;
        ByteBuffer t = mem.read(addr, words * 8);
        long[] w = new long[IMM_WORDS + succSize * BLOCK_WORDS];
        for (int i = 0; i < words; i++) w[i] = t.getLong(i * 8);
        return w;
    }

    /** calc_lineno (vm_backtrace.c) with get_insn_info_succinct_bitvector (iseq.c). */
    private static int lineNo(Iseq is, long pc) {
        long n = (pc - is.encoded) / 8;
        if (n < 0 || n > is.size) throw new Remote.BadState("pc outside iseq");
        int pos = (int) n;
        if (pos > 0) pos--; // pc points at the next instruction
        if (is.lines.length == 0) return 0;
        if (is.lines.length == 1) return is.lines[0];
        int index = succIndexLookup(is.succ, pos);
        if (index < 1 || index > is.lines.length) throw new Remote.BadState("line index " + index);
        return is.lines[index - 1];
    }

    static int succIndexLookup(long[] sd, int x) {
        if (x < IMMEDIATE_TABLE_SIZE) {
            return (int) (sd[x / 9] >>> (7 * (x % 9))) & 0x7f;
        }
        int blockIndex = (x - IMMEDIATE_TABLE_SIZE) / 512;
        int base = IMM_WORDS + blockIndex * BLOCK_WORDS;
        if (base + BLOCK_WORDS > sd.length) throw new Remote.BadState("pc beyond line table");
        int rank = (int) sd[base];
        long smallRanks = sd[base + 1];
        int bit = (x - IMMEDIATE_TABLE_SIZE) % 512;
        int small = bit / 64;
        int smallRank = small == 0 ? 0 : (int) (smallRanks >>> ((small - 1) * 9)) & 0x1ff;
        int popcnt = Long.bitCount(sd[base + 2 + small] << (63 - bit % 64));
        return rank + smallRank + popcnt;
    }

    /** rb_id2str via ruby_global_symbols (symbol.c get_id_serial_entry); "unknown method" style null → "?". */
    private String idName(long id) {
        String s = idNames.get(id);
        if (s != null) return s;
        long serial = id > l.lastOpId() ? id >>> l.idScopeShift() : id;
        long lastId = mem.read(symbolsAddr, 4).getInt(0) & 0xffffffffL;
        if (serial == 0 || serial > lastId) throw new Remote.BadState("id " + id + " beyond last_id");
        long chunk = arrayAt(mem.word(symbolsAddr + l.symbolsIds()), serial / RubyLayout.ID_ENTRY_UNIT);
        long str = arrayAt(chunk, (serial % RubyLayout.ID_ENTRY_UNIT) * RubyLayout.ID_ENTRY_SIZE);
        s = string(str);
        idNames.put(id, s);
        return s;
    }

    /** The last progname read ($0 may change it), for a process that cannot be read any more. */
    private String progname;
    private boolean prognameTried;

    private String progname() {
        try {
            return progname = string(mem.word(vm() + l.vmProgname()));
        } catch (Remote.BadState e) {
            if (progname == null) throw e;
            return progname;
        }
    }

    private boolean isType(long v, long type) {
        return v != 0 && (v & 0x7) == 0 && (mem.word(v) & RubyLayout.T_MASK) == type;
    }

    private long arrayFirst(long ary) {
        return arrayAt(ary, 0);
    }

    /** RARRAY_AREF without bounds beyond the embedded/heap length check. */
    private long arrayAt(long ary, long index) {
        ByteBuffer a = mem.read(ary, l.aryHeapPtr() + 8);
        long flags = a.getLong(0);
        if ((flags & RubyLayout.T_MASK) != RubyLayout.T_ARRAY) throw new Remote.BadState("not an array");
        if ((flags & l.aryEmbedFlag()) != 0) {
            return mem.word(ary + l.aryEmbed() + index * 8);
        }
        long len = a.getLong(l.aryHeapLen());
        if (index >= len) throw new Remote.BadState("array index " + index + " >= " + len);
        return mem.word(a.getLong(l.aryHeapPtr()) + index * 8);
    }

    private String string(long v) {
        if (v == 0 || (v & 0x7) != 0) throw new Remote.BadState("not a string VALUE");
        ByteBuffer h = mem.read(v, l.strHeapPtr() + 8);
        long flags = h.getLong(0);
        if ((flags & RubyLayout.T_MASK) != RubyLayout.T_STRING) throw new Remote.BadState("not a string");
        long len;
        long at;
        if (l.strLenOutside()) { // 3.3: len beside the union, embedded or not
            len = h.getLong(l.strLen());
            at = (flags & l.strNoEmbed()) != 0 ? h.getLong(l.strHeapPtr()) : v + l.strEmbed();
        } else if ((flags & l.strNoEmbed()) != 0) {
            len = h.getLong(l.strHeapLen());
            at = h.getLong(l.strHeapPtr());
        } else {
            len = (flags & l.strEmbedLenMask()) >>> l.strEmbedLenShift();
            at = v + l.strEmbed();
        }
        if (len < 0 || len > 64 * 1024) throw new Remote.BadState("string length " + len);
        ByteBuffer s = mem.read(at, (int) len);
        return new String(s.array(), 0, (int) len, StandardCharsets.UTF_8);
    }

    private static String cString(ByteBuffer b) {
        int n = 0;
        while (n < b.capacity() && b.get(n) != 0) n++;
        return new String(b.array(), 0, n, StandardCharsets.US_ASCII);
    }
}
