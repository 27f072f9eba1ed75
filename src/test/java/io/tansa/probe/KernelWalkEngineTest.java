package io.tansa.probe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.symbols.Module;
import io.tansa.symbols.ProbeTarget;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import io.tansa.unwind.Cfi;
import io.tansa.unwind.CompactRules;
import io.tansa.unwind.Reg;
import io.tansa.unwind.StackMemory;
import io.tansa.unwind.Unwinder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The kernel walk on a real target built -O2 without frame pointers (src/test/c/kwalk_target.c),
 * two threads: recursion 10, 50 and 100 deep, through libc's qsort comparator, through a signal
 * handler, a PLT call into libc. With the oracle on, every hit carries the kernel's walk and a
 * stack copy of the same hit: the walk equals the user-space DWARF unwinder's unwind of the copy,
 * frame for frame, and each path has its known shape.
 */
@Tag("privileged")
@Tag("oracle")
class KernelWalkEngineTest {
    static Path prog;

    @BeforeAll
    static void build() {
        prog = Native.build("kwalk_target", "-O2", "-fomit-frame-pointer", "-pthread");
    }

    static Unwinder.Modules cfi(ProcessSymbols syms) {
        return pc -> syms.moduleAt(pc).map(m -> new Unwinder.ModuleCfi(m.elf() == null ? null : Cfi.of(m.elf()), m.bias()))
                .orElse(null);
    }

    @Test
    void walkEqualsTheUserSpaceUnwinderOnEveryHit() throws Exception {
        Privileged.requireRoot();
        try (Target t = Target.start(prog.toString(), "0")) {
            t.awaitLine("ready");
            ProcessSymbols syms = new ProcessSymbols(t.pid());
            List<ProbeTarget> targets = new ArrayList<>(syms.resolve("probe_me"));
            targets.addAll(syms.resolve("libc.so.6:getppid"));
            List<KernelWalkEngine.Hit> hits = Collections.synchronizedList(new ArrayList<>());
            List<String> log = new ArrayList<>();
            KernelWalkEngine e = new KernelWalkEngine(new io.tansa.probe.Engine.Options(600, java.time.Duration.ofSeconds(30), 0,
                    false, log::add, null), pid -> syms, true, 32 * 1024, h -> hits.add(h));
            io.tansa.probe.Engine.Result r = e.run(List.of(t.pid()), targets);
            assertEquals(io.tansa.probe.Engine.StopReason.COUNT, r.reason(), log.toString());
            assertTrue(hits.size() >= 600, log.toString());
            Map<String, Integer> shapes = new TreeMap<>();
            Set<Integer> tids = new HashSet<>();
            int compared = 0;
            for (KernelWalkEngine.Hit h : hits) {
                assertTrue(h.copy() != null, "every hit has its stack copy");
                long[] regs = h.copy().regs();
                Unwinder.Result full = Unwinder.unwind(regs, new StackMemory(regs[Reg.RSP.ordinal()], h.copy().stack(), null),
                        cfi(syms), 256);
                CompactRules.Walk w = h.walk().walk();
                List<String> names = new ArrayList<>();
                for (int i = 0; i < full.size(); i++) names.add(syms.frame(full.lookupPc(i)).name());
                String both = "walk " + hex(w.pcs()) + " " + w.stop() + "\nfull " + hex(full.pcs()) + " " + full.stop()
                        + "\n" + names;
                assertEquals(Unwinder.Stop.END, full.stop(), both);
                assertEquals(CompactRules.Stop.END, w.stop(), both);
                assertArrayEquals(full.pcs(), w.pcs(), both);
                assertArrayEquals(full.exact(), w.exact(), both);
                compared++;
                tids.add(h.tid());
                int recs = Collections.frequency(names, "rec");
                String shape = recs > 0 ? "rec" + recs : names.contains("cmp") ? "qsort" : names.contains("handler")
                        ? "signal" : names.contains("via_plt") ? "plt" : names.toString();
                shapes.merge(shape, 1, Integer::sum);
                if (shape.equals("qsort")) assertTrue(names.indexOf("via_qsort") > names.indexOf("cmp") + 1, both);
                if (shape.equals("signal")) {
                    int hd = names.indexOf("handler");
                    assertTrue(w.exact()[hd + 2], "the interrupted frame is exact\n" + both);
                    assertTrue(names.indexOf("via_signal") > hd, both);
                }
                if (shape.equals("plt")) assertEquals("via_plt", names.get(1), both);
            }
            System.out.println("kernel walk == user-space unwind on " + compared + " hits; paths " + shapes + "; log " + log + "; kernel stats "
                    + java.util.Arrays.toString(e.kernelStats()) + " result " + r);
            assertEquals(Set.of("rec11", "rec51", "rec101", "qsort", "signal", "plt"), shapes.keySet(), shapes.toString());
            assertEquals(2, tids.size(), "both threads");
        }
    }

    static String hex(long[] a) {
        StringBuilder b = new StringBuilder("[");
        for (long v : a) b.append(Long.toHexString(v)).append(' ');
        return b.append(']').toString();
    }
}
