package io.tansa.capture;

import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.probe.Tracer;
import io.tansa.profile.Frame;
import io.tansa.profile.Stack;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a probe hit into a {@link Stack}: walks the native stack of the stopped thread and
 * symbolizes each return address (looked up at address − 1, the call instruction, so a call
 * that is the last instruction of a function is attributed to that function).
 */
public final class StackCapture {
    private final List<ProbeTarget> targets;
    private final Map<Integer, ProcessSymbols> symbols = new HashMap<>();
    private final Map<Integer, List<Mapping>> maps = new HashMap<>();
    private final byte[][] entryInsn;
    private final int maxDepth;

    public StackCapture(List<ProbeTarget> targets, int maxDepth) {
        this.targets = targets;
        this.maxDepth = maxDepth;
        this.entryInsn = new byte[targets.size()][];
        for (int i = 0; i < targets.size(); i++) {
            entryInsn[i] = FramePointerWalker.insnAt(targets.get(i).file(), targets.get(i).fileOffset());
        }
    }

    public Stack capture(Tracer.Hit hit) {
        ProcessSymbols syms = symbols.computeIfAbsent(hit.pid(), ProcessSymbols::new);
        List<Mapping> m = maps.computeIfAbsent(hit.pid(), ProcFs::maps);
        ProbeTarget target = hit.location() >= 0 && hit.location() < targets.size() ? targets.get(hit.location()) : null;
        long pc0 = hit.regs().ip();
        boolean atEntry = false;
        if (target != null) {
            long probeAddr = probeAddress(target, m);
            if (probeAddr != 0) {
                pc0 = probeAddr;
                atEntry = !target.symbol().contains("+");
            }
        }
        long[] stackRange = stackOf(m, hit.regs().sp());
        long[] pcs = FramePointerWalker.walk(hit.pid(), hit.regs(), pc0, atEntry,
                target == null ? new byte[16] : entryInsn[hit.location()], stackRange[0], stackRange[1],
                a -> executable(m, a), maxDepth);
        List<Frame> frames = new ArrayList<>(pcs.length);
        for (int i = 0; i < pcs.length; i++) {
            Frame f = syms.frame(i == 0 ? pcs[i] : pcs[i] - 1);
            frames.add(i == 0 ? f : Frame.nativeFrame(f.name(), f.module(), pcs[i]));
        }
        return new Stack(hit.pid(), hit.tid(), ProcFs.comm(hit.pid(), hit.tid()), hit.timeNanos(), hit.location(), frames);
    }

    /** The runtime address of a target in this process (file offset → mapping). */
    private static long probeAddress(ProbeTarget t, List<Mapping> maps) {
        for (Mapping m : maps) {
            if (m.executable() && m.path() != null
                    && (m.path().equals(t.file().toString()) || m.path().endsWith("/" + t.module()))
                    && t.fileOffset() >= m.offset() && t.fileOffset() < m.offset() + (m.end() - m.start())) {
                return m.start() + (t.fileOffset() - m.offset());
            }
        }
        return t.address();
    }

    private static boolean executable(List<Mapping> maps, long a) {
        for (Mapping m : maps) if (a >= m.start() && a < m.end()) return m.executable();
        return false;
    }

    private static long[] stackOf(List<Mapping> maps, long sp) {
        for (Mapping m : maps) if (sp >= m.start() && sp < m.end()) return new long[] {m.start(), m.end()};
        return new long[] {sp, sp + (8 << 20)};
    }
}
