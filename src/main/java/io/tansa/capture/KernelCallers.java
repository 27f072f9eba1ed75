package io.tansa.capture;

import io.tansa.probe.Engine;
import io.tansa.probe.KernelWalkEngine;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.unwind.CompactRules;
import io.tansa.unwind.Reg;
import io.tansa.unwind.StackMemory;
import io.tansa.unwind.Unwinder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.Predicate;

/**
 * {@code tansa callers --mode kernel} (and {@code --check-walk}): the capture through
 * {@link KernelWalkEngine}, each hit's return addresses named by {@link StackCapture} as a copied
 * hit's unwind is, into the same Profile. With the check, each hit's stack copy is unwound in user
 * space too and every difference from the kernel's walk is reported.
 */
final class KernelCallers {
    private KernelCallers() {}

    /** How many differences are printed in full (all are counted). */
    private static final int SHOWN = 5;

    /** Whether this capture walks in the kernel; for AUTO, says why not where it cannot. */
    static boolean chosen(Callers.Request req, boolean ruby, Consumer<String> log) {
        return switch (req.mode()) {
            case KERNEL, CHECK_WALK -> {
                if (ruby) log.accept("--mode kernel walks native frames only: Ruby frames need --mode copy or stop");
                yield true;
            }
            case AUTO -> {
                if (ruby) yield false; // Ruby frames come with copy (kernel snapshot) or stop mode
                String why = KernelWalkEngine.unavailable();
                if (why != null) log.accept(why + "; copying stacks instead (--mode copy)");
                yield why == null;
            }
            default -> false;
        };
    }

    static Engine.Result run(Callers.Request req, Engine.Options o, Callers.Run handle,
            List<Integer> pids, List<ProbeTarget> targets, StackCapture capture, IntFunction<ProcessSymbols> symbols,
            Predicate<Stack> record, Profile profile) {
        boolean check = req.mode() == Callers.Mode.CHECK_WALK;
        Consumer<String> log = req.log() == null ? s -> { } : req.log();
        Map<Integer, CfiModules> cfi = new HashMap<>();
        // a forked child (--children) that exited before it was read: its address space was its parent's
        IntFunction<CfiModules> cfiOf = pid -> cfi.computeIfAbsent(pid, p -> {
            try {
                return new CfiModules(symbols.apply(p));
            } catch (io.tansa.Failure f) {
                if (f.kind() != io.tansa.Failure.Kind.NO_SUCH_PROCESS) throw f;
                return new CfiModules(symbols.apply(pids.getFirst()));
            }
        });
        long[] compared = new long[2]; // hits compared, hits that differ
        KernelWalkEngine engine = new KernelWalkEngine(o, symbols, check, req.stackCopy(), hit -> {
                    Unwinder.Result walk = limit(hit.walk().walk().asResult(), req.maxDepth());
                    if (!check && hit.copy() != null) {
                        // the walk met code or a process not in its tables yet: unwound from its copy, as copy mode does
                        long[] regs = hit.copy().regs();
                        walk = Unwinder.unwind(regs, new StackMemory(regs[Reg.RSP.ordinal()], hit.copy().stack(), null),
                                cfiOf.apply(hit.pid()), req.maxDepth());
                    } else if (check && hit.copy() != null) {
                        KernelWalkEngine.Copy c = hit.copy();
                        long[] regs = c.regs();
                        Unwinder.Result user = Unwinder.unwind(regs, new StackMemory(regs[Reg.RSP.ordinal()], c.stack(), null),
                                cfiOf.apply(hit.pid()), req.maxDepth());
                        compared[0]++;
                        String diff = difference(walk, user, hit.walk().walk().stop(), symbolsOr(symbols, hit.pid(), pids));
                        if (diff != null && compared[1]++ < SHOWN) log.accept("--check-walk: hit in thread " + hit.tid() + ": " + diff);
                    }
                    return record.test(capture.capture(hit, walk));
                });
        handle.started(engine);
        Engine.Result r = engine.run(pids, targets);
        long[] stops = engine.stops();
        long early = 0;
        for (int i = 1; i < stops.length; i++) early += stops[i];
        if (early > 0) profile.meta("walk_ended_early", Long.toString(early));
        if (check) {
            log.accept(String.format("--check-walk: %d hits compared with the user-space unwind of their stack copy:"
                    + " %s", compared[0], compared[1] == 0 ? "no difference" : compared[1] + " differ"));
            profile.meta("walk_checked", Long.toString(compared[0]));
            profile.meta("walk_differences", Long.toString(compared[1]));
        }
        return r;
    }

    private static ProcessSymbols symbolsOr(IntFunction<ProcessSymbols> symbols, int pid, List<Integer> pids) {
        try {
            return symbols.apply(pid);
        } catch (io.tansa.Failure f) {
            return symbols.apply(pids.getFirst());
        }
    }

    private static Unwinder.Result limit(Unwinder.Result r, int max) {
        if (r.size() <= max) return r;
        return new Unwinder.Result(Arrays.copyOf(r.pcs(), max), Arrays.copyOf(r.via(), max), Arrays.copyOf(r.exact(), max),
                Unwinder.Stop.MAX_FRAMES);
    }

    /**
     * Null when the kernel's walk and the user-space unwind agree: the same pcs, looked up the same way,
     * both ending at the stack's end or both truncated. A user-space unwind that ran out of stack copy
     * where the kernel went on is not a difference of the walk (the copy is shorter than the stack).
     */
    static String difference(Unwinder.Result kernel, Unwinder.Result user, CompactRules.Stop why, ProcessSymbols syms) {
        int n = Math.min(kernel.size(), user.size());
        for (int i = 0; i < n; i++) {
            if (kernel.pc(i) != user.pc(i) || kernel.exact()[i] != user.exact()[i]) {
                return String.format("frame %d: kernel %s, user space %s (kernel stop %s)", i, name(kernel, i, syms),
                        name(user, i, syms), why);
            }
        }
        if (kernel.size() == user.size() && kernel.truncated() == user.truncated()) return null;
        if (user.size() < kernel.size() && user.stop() == Unwinder.Stop.UNKNOWN && !kernel.truncated()) {
            return null; // the copy ended before the stack did: the kernel walked on
        }
        return String.format("kernel %d frames (%s), user space %d frames (%s)%s", kernel.size(), why, user.size(),
                user.stop(), user.size() > kernel.size() ? "; user space went on with " + name(user, kernel.size(), syms) : "");
    }

    private static String name(Unwinder.Result r, int i, ProcessSymbols syms) {
        var f = syms.frame(r.lookupPc(i));
        return "0x" + Long.toHexString(r.pc(i)) + " " + f.name() + " (" + f.module() + ")";
    }
}
