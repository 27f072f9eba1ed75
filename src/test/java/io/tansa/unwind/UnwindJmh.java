package io.tansa.unwind;

import io.tansa.elf.ElfFile;
import io.tansa.elf.Symbol;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.Blackhole;

/**
 * JMH benchmark behind bench/unwind: the cost per stack of tansa's DWARF CFI unwinder on a
 * stack captured by src/test/c/unwind_target.c (scenario qsort: 12 frames through the program
 * and libc's qsort, no frame pointers).
 * <ul>
 * <li>{@link #unwind}: unwind only, with warm CFI row caches (the setup unwinds once);
 * <li>{@link #unwindSymbolize}: unwind, then name every frame with {@link ElfFile#symbolAt} over
 *     the captured modules (the address index built in the setup);
 * <li>{@link #libcCfiIndex}: index libc's CFI from its .eh_frame_hdr (once per object).
 * </ul>
 * Run through JMH's Main with {@code -p cap=PREFIX} (the capture's path prefix); not a test.
 * {@code main(PREFIX)} prints the captured stack's frames, for a look before measuring.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class UnwindJmh {
    /** The capture's path prefix (PREFIX.dump, PREFIX.maps). */
    @Param("")
    public String cap;

    private Capture capture;
    private Unwinder.Modules modules;
    private final Map<Capture.Module, ElfFile> elves = new IdentityHashMap<>();
    private byte[] hdr, eh;
    private long hdrAddr, ehAddr;

    @Setup(Level.Trial)
    public void setup() {
        if (cap.isEmpty()) throw new IllegalArgumentException("run with -p cap=PREFIX");
        capture = new Capture(Path.of(cap));
        modules = capture.cfi();
        for (Capture.Module m : capture.modules) elves.put(m, ElfFile.open(m.path()));
        TestElf libc = capture.modules.stream().filter(m -> m.name().startsWith("libc.so")).findFirst().orElseThrow().elf();
        hdr = libc.bytes(".eh_frame_hdr");
        eh = libc.bytes(".eh_frame");
        hdrAddr = libc.sections.get(".eh_frame_hdr").addr();
        ehAddr = libc.sections.get(".eh_frame").addr();
        List<String> names = symbolize(unwind()); // warms the row caches and the symbol indexes
        if (names.size() < 10 || !names.contains("qsort_r") && !names.contains("qsort"))
            throw new IllegalStateException("unexpected stack: " + names);
    }

    @Benchmark
    public Unwinder.Result unwind() {
        return Unwinder.unwind(capture.regs(), capture.memory(null), modules, 128);
    }

    @Benchmark
    public List<String> unwindSymbolize() {
        return symbolize(unwind());
    }

    @Benchmark
    public void libcCfiIndex(Blackhole bh) {
        bh.consume(Cfi.parse(hdr, hdrAddr, eh, ehAddr));
    }

    /** Every frame's function name ("module+0xoff" without a symbol, "?" outside any object). */
    List<String> symbolize(Unwinder.Result r) {
        List<String> out = new ArrayList<>(r.size());
        for (int i = 0; i < r.size(); i++) {
            long pc = r.lookupPc(i);
            Capture.Module m = capture.module(pc);
            if (m == null) {
                out.add("?");
                continue;
            }
            Optional<Symbol> s = elves.get(m).symbolAt(pc - m.bias());
            out.add(s.isPresent() ? s.get().name() : m.name() + "+0x" + Long.toHexString(pc - m.bias()));
        }
        return out;
    }

    public static void main(String[] args) {
        UnwindJmh b = new UnwindJmh();
        b.cap = args[0];
        b.setup();
        Unwinder.Result r = b.unwind();
        System.out.printf("frames %d stop %s%n", r.size(), r.stop());
        System.out.printf("names %s%n", b.symbolize(r));
    }
}
