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
    private final int maxDepth;

    public StackCapture(List<ProbeTarget> targets, int maxDepth) {
        this.targets = targets;
        this.maxDepth = maxDepth;
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
        String comm = threadNames.computeIfAbsent(hit.tid(), tid -> ProcFs.comm(hit.pid(), tid));
        return new Stack(hit.pid(), hit.tid(), comm, hit.timeNanos(), hit.location(), frames);
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
