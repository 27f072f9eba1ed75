package io.tansa.capture;

import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.probe.Tracer;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.unwind.ProcessMemory;
import io.tansa.unwind.Reg;
import io.tansa.unwind.Unwinder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.tansa.ruby.RubyReader;

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
    private final Map<Integer, Optional<RubyReader>> ruby = new HashMap<>();
    private final int maxDepth;
    private final Lang lang;

    /** Which frames to capture: native only, Ruby merged into native, or Ruby only. */
    public enum Lang { AUTO, NATIVE, RUBY }

    public StackCapture(List<ProbeTarget> targets, int maxDepth, Lang lang) {
        this.targets = targets;
        this.maxDepth = maxDepth;
        this.lang = lang;
    }

    /** The Ruby reader of a process, if it runs a supported Ruby (and Ruby frames are wanted). */
    public Optional<RubyReader> ruby(int pid) {
        if (lang == Lang.NATIVE) return Optional.empty();
        return ruby.computeIfAbsent(pid, p -> rubyReader(p, symbols.computeIfAbsent(p, ProcessSymbols::new)));
    }

    /** The Ruby reader of a process, found through its libruby (or a statically linked ruby executable). */
    public static Optional<RubyReader> rubyReader(int pid, ProcessSymbols syms) {
        return RubyReader.detect(pid, rubySymbols(pid, syms));
    }

    /** Ruby VM symbols of a process: libruby's, else the executable's (a ruby built without a shared libruby). */
    public static io.tansa.ruby.Symbols rubySymbols(int pid, ProcessSymbols syms) {
        String exe = ProcFs.exe(pid);
        String exeName = exe == null ? "ruby" : exe.substring(exe.lastIndexOf('/') + 1);
        return name -> syms.symbolAddress("libruby", name).orElse(syms.symbolAddress(exeName, name).orElse(-1));
    }

    public Stack capture(Tracer.Hit hit) {
        ProcessSymbols syms = symbols.computeIfAbsent(hit.pid(), ProcessSymbols::new);
        CfiModules cfi = modules.computeIfAbsent(hit.pid(), pid -> new CfiModules(symbols.get(pid)));
        ProbeTarget target = hit.location() >= 0 && hit.location() < targets.size() ? targets.get(hit.location()) : null;
        Unwinder.Result r = Unwinder.unwind(Reg.fromPtrace(hit.regs()), new ProcessMemory(hit.pid()), cfi, maxDepth);
        List<Frame> frames = new ArrayList<>(r.size() + 1);
        for (int i = 0; i < r.size(); i++) {
            Frame f = syms.frame(r.lookupPc(i));
            long addr = r.pc(i);
            // the sigtrap arrives after the probed instruction ran: report the probe's own address
            if (i == 0 && target != null) addr = probeAddress(target, maps.computeIfAbsent(hit.pid(), ProcFs::maps), addr);
            frames.add(Frame.nativeFrame(f.name(), f.module(), addr));
        }
        if (r.truncated()) frames.add(Frame.nativeFrame("[unknown]", null, 0));
        Optional<RubyReader> rb = ruby(hit.pid());
        if (rb.isPresent()) frames = merge(frames, rb.get().frames(hit.tid(), hit.regs()), lang);
        String comm = threadNames.computeIfAbsent(hit.tid(), tid -> ProcFs.comm(hit.pid(), tid));
        return new Stack(hit.pid(), hit.tid(), comm, hit.timeNanos(), hit.location(), frames);
    }

    /**
     * Ruby frames in place of the interpreter's own: the native frames called from Ruby (the probed
     * C function and the extension code down to the first libruby frame), then the Ruby frames, then
     * the native frames outside the interpreter (main, libc start). With {@link Lang#RUBY}, only
     * the Ruby frames (native ones when the thread runs no Ruby).
     */
    static List<Frame> merge(List<Frame> nat, List<Frame> rubyFrames, Lang lang) {
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

    private static boolean isInterpreter(Frame f) {
        String m = f.module();
        return m != null && (m.startsWith("libruby") || m.equals("ruby"));
    }

    /** The runtime address of a target in this process (file offset → mapping). */
    private static long probeAddress(ProbeTarget t, List<Mapping> maps, long fallback) {
        for (Mapping m : maps) {
            if (m.executable() && m.path() != null
                    && (m.path().equals(t.file().toString()) || m.path().endsWith("/" + t.module()))
                    && t.fileOffset() >= m.offset() && t.fileOffset() < m.offset() + (m.end() - m.start())) {
                return m.start() + (t.fileOffset() - m.offset());
            }
        }
        return fallback;
    }

}
