package io.tansa.capture;

import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.probe.Hit;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.unwind.Reg;
import io.tansa.unwind.Unwinder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.tansa.ruby.RubyReader;
import io.tansa.ruby.RubySnapshots;

/**
 * Turns a probe hit into a {@link Stack}: unwinds the native stack of the stopped thread with
 * DWARF CFI (frame pointers where no CFI covers a pc) and symbolizes each frame (return
 * addresses at address − 1, the call instruction). A stack that could not be followed to its
 * end ends in an {@code [unknown]} frame rather than a guessed caller.
 */
public final class StackCapture {
    private final List<ProbeTarget> targets;
    private final Map<Integer, ProcessSymbols> symbols = new HashMap<>();
    private final Map<Integer, List<Mapping>> maps = new HashMap<>();
    private final Map<Integer, String> threadNames = new HashMap<>();
    private final Map<Integer, CfiModules> modules = new HashMap<>();
    /** Names per address, per process: the same callers recur at every hit. */
    private final FrameCache frameCache = new FrameCache(100_000, false);
    private final Map<Integer, Optional<RubyReader>> ruby = new HashMap<>();
    private final int maxDepth;
    private final Lang lang;
    private final boolean lines;

    /** Which frames to capture: native only, Ruby merged into native, or Ruby only. */
    public enum Lang { AUTO, NATIVE, RUBY }

    /**
     * With {@code lines}, native frames carry their source file and line where the object has a
     * line table; {@code known}: the targets' symbols already read (pid → its symbols), reused.
     */
    public StackCapture(List<ProbeTarget> targets, int maxDepth, Lang lang, boolean lines, Map<Integer, ProcessSymbols> known) {
        symbols.putAll(known);
        this.targets = targets;
        this.maxDepth = maxDepth;
        this.lang = lang;
        this.lines = lines;
    }

    /** Reads what capturing in {@code pid} will need before the first hit: with lines, every object's line table. */
    public void prepare(int pid) {
        if (lines) symbols.computeIfAbsent(pid, ProcessSymbols::new).loadLineTables();
    }

    /** The Ruby reader of a process, if it runs a supported Ruby (and Ruby frames are wanted). */
    public Optional<RubyReader> ruby(int pid) {
        if (lang == Lang.NATIVE) return Optional.empty();
        synchronized (ruby) { // the early namer adds readers too
            Optional<RubyReader> known = ruby.get(pid);
            if (known != null) return known;
        }
        Optional<RubyReader> made;
        try {
            ProcessSymbols syms = symbols.computeIfAbsent(pid, ProcessSymbols::new);
            made = rubyReader(pid, syms);
            if (made.isPresent()) noteStaticRuby(pid, syms);
        } catch (io.tansa.Failure f) {
            // a forked child (--children) that exited before its first hit was read
            if (f.kind() != io.tansa.Failure.Kind.NO_SUCH_PROCESS) throw f;
            made = Optional.empty();
        }
        synchronized (ruby) {
            Optional<RubyReader> known = ruby.putIfAbsent(pid, made);
            return known != null ? known : made;
        }
    }

    /**
     * Early naming: the Ruby snapshots as the engine takes them from the kernel, named on a thread
     * of their own while their processes still live ({@link RubyReader#warm}: each method read the
     * first time a snapshot shows it), so that a hit unwound later — after its process exited —
     * is named from the cache. Called on the engine's ring thread (where the kernel woke it for a
     * snapshot showing methods not seen before): a process with a reader is read at once (only
     * what is not cached yet), a new one is queued for the namer thread, which makes its reader.
     */
    public void nameEarly(int pid, byte[] raw) {
        if (lang == Lang.NATIVE || !RubySnapshots.complete(raw)) return;
        Optional<RubyReader> known;
        synchronized (ruby) {
            known = ruby.get(pid);
        }
        if (known != null) {
            // a process whose reader exists: read here, at once (a few reads, only for methods not
            // cached yet); a new one's reader is made on the namer thread, off the ring thread
            try {
                if (known.isPresent()) known.get().warm(RubySnapshots.parse(known.get(), raw));
            } catch (RuntimeException e) {
                // a torn or odd snapshot: its hit is named (or not) when it is unwound
            }
            return;
        }
        synchronized (early) {
            if (earlyThread == null) earlyThread = Thread.ofPlatform().daemon().name("tansa-ruby-names").start(this::nameEarly);
            earlyQueued++;
            early.add(new Early(pid, raw));
        }
    }

    private record Early(int pid, byte[] raw) {}

    private final java.util.concurrent.LinkedBlockingQueue<Early> early = new java.util.concurrent.LinkedBlockingQueue<>();
    /** Snapshots queued for early naming, and named (guarded by {@link #early}). */
    private long earlyQueued, earlyDone;
    private Thread earlyThread;

    private void nameEarly() {
        try {
            while (true) {
                Early e = early.take();
                try {
                    warm(e.pid(), e.raw());
                } catch (RuntimeException ex) {
                    // a process that went away mid-read: its hits are named from what was cached
                }
                synchronized (early) {
                    earlyDone++;
                    early.notifyAll();
                }
            }
        } catch (InterruptedException ex) {
            // closed
        }
    }

    private void warm(int pid, byte[] raw) {
        Optional<RubyReader> rb;
        synchronized (ruby) {
            rb = ruby.get(pid);
        }
        if (rb == null) {
            // a process not seen yet (a forked child): a reader on symbols of its own (the capture
            // thread's are not shared across threads)
            Optional<RubyReader> made;
            try {
                made = rubyReader(pid, new ProcessSymbols(pid));
            } catch (io.tansa.Failure f) {
                return; // gone already: its parent's reader names what it ran before the fork
            }
            synchronized (ruby) {
                rb = ruby.putIfAbsent(pid, made);
                if (rb == null) rb = made;
            }
        }
        if (rb.isPresent()) rb.get().warm(RubySnapshots.parse(rb.get(), raw));
    }

    /** Waits (at most 5 s) until the early namer took every snapshot queued so far. */
    private void awaitEarly() {
        synchronized (early) {
            long want = earlyQueued, until = System.nanoTime() + 5_000_000_000L;
            try {
                while (earlyDone < want && earlyThread != null && System.nanoTime() < until) early.wait(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops the early namer. */
    public void close() {
        synchronized (early) {
            if (earlyThread != null) earlyThread.interrupt();
            earlyThread = null;
            early.notifyAll();
        }
    }

    /** The Ruby reader of a process, found through its libruby (or a statically linked ruby executable). */
    public static Optional<RubyReader> rubyReader(int pid, ProcessSymbols syms) {
        return RubyReader.detect(pid, io.tansa.ruby.Symbols.of(pid, syms));
    }

    /** Native frames unwound before the interpreter is expected (the probed function and the extension code calling it). */
    private static final int TO_INTERPRETER = 12;

    /**
     * The native frames outside the interpreter (main and libc's start, or a thread's start), per
     * thread and stack (a Fiber runs on a stack of its own): the same at every hit, so a hit with
     * Ruby frames unwinds only down to the interpreter and appends these.
     */
    private final Map<String, List<Frame>> outerFrames = new HashMap<>();

    private long rubyUnread;
    private long truncated;

    /**
     * Hits whose native walk ended before the stack's end (deeper than the stack copy, no CFI for
     * a pc, an unreadable frame): their paths end in {@code [unknown]}.
     */
    public long truncated() {
        return truncated;
    }

    /**
     * Copied hits of a thread running Ruby whose Ruby frames could not be named (their process
     * exited before the frames' methods were first read).
     */
    public long rubyUnread() {
        return rubyUnread;
    }

    /**
     * A hit of any engine as a Stack: the Ruby frames (read from the stopped thread, or from the
     * snapshot taken at the hit), then the native frames — the walk the engine delivered, else
     * unwound through the hit's memory (the stopped thread's, or the stack copied at the hit) —
     * with the Ruby frames in place of the interpreter's.
     */
    public Stack capture(Hit hit) {
        List<Frame> rubyFrames = rubyFrames(hit);
        if (!rubyFrames.isEmpty() && lang == Lang.RUBY) {
            return stack(hit.pid(), hit.tid(), hit.timeNanos(), hit.location(), rubyFrames); // no native frame shown
        }
        List<Frame> frames = withRuby(hit, rubyFrames);
        ProbeTarget target = hit.location() >= 0 && hit.location() < targets.size() ? targets.get(hit.location()) : null;
        if (hit.isStopped() && target != null && !frames.isEmpty() && frames.getFirst().kind() == Frame.Kind.NATIVE) {
            // the sigtrap arrives after the probed instruction ran: report the probe's own address
            // (a copied hit's pc is the probe's address already)
            long probe = target.addressIn(maps.computeIfAbsent(hit.pid(), ProcFs::maps));
            if (probe > 0) {
                ProcessSymbols syms = symbols.get(hit.pid());
                // with lines, the probe's own line, not the next instruction's
                frames.set(0, (lines ? syms.frame(probe, true) : frames.getFirst()).withAddress(probe));
            }
        }
        return stack(hit.pid(), hit.tid(), hit.timeNanos(), hit.location(), frames);
    }

    /** The Ruby frames of a hit: read live from a stopped thread, or from the snapshot taken at the hit. */
    private List<Frame> rubyFrames(Hit hit) {
        if (hit.ruby() != null) {
            byte[] raw = hit.ruby().raw();
            List<Frame> rubyFrames = rubyFrames(hit.pid(), raw);
            if (rubyFrames.isEmpty() && RubySnapshots.complete(raw)) {
                // its process went away: named from what the early namer read while it lived
                awaitEarly();
                rubyFrames = rubyFrames(hit.pid(), raw);
            }
            if (rubyFrames.isEmpty() && RubySnapshots.complete(raw)) {
                // A forked child (--children) that exited before tansa read its methods: those it
                // runs are its parent's, from before the fork, at the same addresses (each is
                // checked to be an iseq or method entry as it is read).
                int parent = RubySnapshots.parentPid(raw);
                if (parent > 0 && parent != hit.pid()) rubyFrames = rubyFrames(parent, raw);
                if (rubyFrames.isEmpty()) rubyUnread++;
            }
            return rubyFrames;
        }
        if (hit.isStopped()) {
            Optional<RubyReader> rb = ruby(hit.pid());
            return rb.isPresent() ? rb.get().frames(hit.tid(), hit.stopped()) : List.of();
        }
        return List.of(); // copied without a Ruby snapshot: native frames only
    }

    private int firstInterpreterFrame(List<Frame> nat) {
        for (int i = 0; i < nat.size(); i++) if (isInterpreter(nat.get(i))) return i;
        return -1;
    }

    /** The frames after the last interpreter frame of a whole walk (that ended at the stack's end), or null. */
    private List<Frame> outside(List<Frame> nat) {
        if (nat.isEmpty() || (nat.getLast().module() == null && nat.getLast().name().equals("[unknown]"))) return null;
        for (int i = nat.size() - 1; i >= 0; i--) {
            if (isInterpreter(nat.get(i))) return List.copyOf(nat.subList(i + 1, nat.size()));
        }
        return null;
    }

    /** A hit of the kernel walk ({@link KernelCallers}): its return addresses named as a copied hit's unwind. */
    public Stack capture(io.tansa.probe.KernelWalkEngine.Hit hit, Unwinder.Result walk) {
        return stack(hit.pid(), hit.tid(), hit.timeNanos(), hit.location(), symbolize(hit.pid(), walk));
    }

    /** The Ruby frames of a snapshot, named through the memory (or the cache) of {@code pid}. */
    private List<Frame> rubyFrames(int pid, byte[] raw) {
        Optional<RubyReader> rb = ruby(pid);
        return rb.isEmpty() ? List.of() : rb.get().frames(RubySnapshots.parse(rb.get(), raw));
    }

    /**
     * The native frames of a hit with the Ruby frames in place of the interpreter's. With Ruby
     * frames and the thread's outer frames known, the walk stops at the first interpreter frame.
     */
    private List<Frame> withRuby(Hit hit, List<Frame> rubyFrames) {
        int pid = hit.pid();
        long[] regs = hit.regs();
        String stackKey = hit.tid() + "/" + (regs[Reg.RSP.ordinal()] >>> 20);
        List<Frame> outer = rubyFrames.isEmpty() || hit.walked() != null ? null : outerFrames.get(stackKey);
        if (outer != null) {
            ProcessSymbols syms = symbolsOf(pid);
            List<Frame> inner = symbolize(pid, Unwinder.unwind(regs, hit.memory(), cfi(pid), TO_INTERPRETER,
                    pc -> syms.moduleAt(pc).map(m -> isInterpreterModule(m.name())).orElse(false)));
            int first = firstInterpreterFrame(inner);
            if (first >= 0) {
                List<Frame> frames = new ArrayList<>(inner.subList(0, first));
                frames.addAll(rubyFrames);
                frames.addAll(outer);
                return frames;
            }
        }
        Unwinder.Result walk = hit.walked() != null ? hit.walked() : Unwinder.unwind(regs, hit.memory(), cfi(pid), maxDepth);
        if (walk.truncated()) truncated++;
        List<Frame> frames = symbolize(pid, walk);
        if (rubyFrames.isEmpty()) return frames;
        List<Frame> tail = outside(frames);
        if (tail != null) outerFrames.put(stackKey, tail);
        return merge(frames, rubyFrames, lang);
    }

    /**
     * The symbols of a process. A copied hit can be taken after its process ended: a child forked
     * by a target (--children) that already exited has no /proc to read, but its address space was
     * its parent's — the target's symbols name its frames (with several targets, the first one's).
     */
    private ProcessSymbols symbolsOf(int pid) {
        ProcessSymbols s = symbols.get(pid);
        if (s != null) return s;
        try {
            s = new ProcessSymbols(pid);
        } catch (io.tansa.Failure f) {
            if (f.kind() != io.tansa.Failure.Kind.NO_SUCH_PROCESS || symbols.isEmpty()) throw f;
            s = symbols.values().iterator().next();
        }
        symbols.put(pid, s);
        return s;
    }

    private CfiModules cfi(int pid) {
        return modules.computeIfAbsent(pid, p -> new CfiModules(symbolsOf(p)));
    }

    /**
     * Names the frames (cached per address: the same callers recur at every hit); a walk that ended
     * before the stack's end gets an {@code [unknown]} frame.
     */
    private List<Frame> symbolize(int pid, Unwinder.Result r) {
        ProcessSymbols syms = symbolsOf(pid);
        List<Frame> frames = new ArrayList<>(r.size() + 1);
        for (int i = 0; i < r.size(); i++) {
            // unknown names are not cached: the object may be mapped (dlopen) and named later
            Frame f = frameCache.get(pid, r.lookupPc(i), pc -> syms.frame(pc, lines));
            frames.add(f.withAddress(r.pc(i)));
        }
        if (r.truncated()) frames.add(Frame.nativeFrame("[unknown]", null, 0));
        return frames;
    }

    /**
     * The thread's name ({@link ProcFs#threadName}: "vCPU N" for a qemu vCPU thread without a name of
     * its own); a copied hit may be read after its thread ended: then the process's name.
     */
    private static String threadName(int pid, int tid) {
        try {
            return ProcFs.threadName(pid, tid, ProcFs.comm(pid, tid), null);
        } catch (io.tansa.Failure e) {
            try {
                return ProcFs.comm(pid, pid);
            } catch (io.tansa.Failure gone) {
                return "[exited]";
            }
        }
    }

    private Stack stack(int pid, int tid, long time, int location, List<Frame> frames) {
        String comm = threadNames.computeIfAbsent(tid, t -> threadName(pid, t));
        return new Stack(pid, tid, comm, time, location, frames);
    }

    /**
     * Ruby frames in place of the interpreter's own: the native frames called from Ruby (the probed
     * C function and the extension code down to the first libruby frame), then the Ruby frames, then
     * the native frames outside the interpreter (main, libc start). With {@link Lang#RUBY}, only
     * the Ruby frames (native ones when the thread runs no Ruby).
     */
    List<Frame> merge(List<Frame> nat, List<Frame> rubyFrames, Lang lang) {
        if (rubyFrames.isEmpty()) return nat;
        if (lang == Lang.RUBY) return rubyFrames;
        int first = -1, last = -1;
        for (int i = 0; i < nat.size(); i++) {
            if (isInterpreter(nat.get(i))) {
                if (first < 0) first = i;
                last = i;
            }
        }
        if (first < 0) first = last = nat.size() - 1;
        List<Frame> out = new ArrayList<>(nat.subList(0, first));
        out.addAll(rubyFrames);
        out.addAll(nat.subList(last + 1, nat.size()));
        return out;
    }

    private boolean isInterpreter(Frame f) {
        return isInterpreterModule(f.module());
    }

    /**
     * Whether frames of module {@code m} are the Ruby VM's, which the Ruby frames replace: libruby,
     * an executable named ruby, or the executable of a static ruby read here (whatever its name).
     */
    private boolean isInterpreterModule(String m) {
        return m != null && (m.startsWith("libruby") || m.equals("ruby") || vmExecutables.contains(m));
    }

    /** Module names of static ruby executables (the VM linked in, no libruby) whose Ruby frames are read. */
    private final java.util.Set<String> vmExecutables = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** Notes the executable of {@code pid} as the VM's module when it runs a static ruby (no libruby). */
    private void noteStaticRuby(int pid, ProcessSymbols syms) {
        if (syms.module("libruby").isPresent()) return;
        String exe = ProcFs.exe(pid);
        for (io.tansa.symbols.Module m : syms.modules()) if (m.path().equals(exe)) vmExecutables.add(m.name());
    }


}
