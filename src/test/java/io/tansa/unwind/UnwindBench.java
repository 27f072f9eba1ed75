package io.tansa.unwind;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * bench/unwind: cost of unwinding one captured stack (src/test/c/unwind_target.c, scenario
 * qsort: 12 frames through the program and libc). Prints the time to index libc's CFI from its
 * .eh_frame_hdr (median of 20), the first unwind (computes the rows of each FDE it meets) and
 * the median of repeated unwinds with warm row caches, in microseconds.
 * Usage: UnwindBench PREFIX [ITERATIONS]
 */
public final class UnwindBench {
    private UnwindBench() {}

    public static void main(String[] args) {
        Path prefix = Path.of(args[0]);
        int iterations = args.length > 1 ? Integer.parseInt(args[1]) : 20000;
        Capture cap = new Capture(prefix);
        TestElf libc = cap.modules.stream().filter(m -> m.name().startsWith("libc.so")).findFirst().orElseThrow().elf();
        byte[] hdr = libc.bytes(".eh_frame_hdr"), eh = libc.bytes(".eh_frame");
        long[] parse = new long[20];
        for (int i = 0; i < parse.length; i++) {
            long s = System.nanoTime();
            Cfi.parse(hdr, libc.sections.get(".eh_frame_hdr").addr(), eh, libc.sections.get(".eh_frame").addr());
            parse[i] = System.nanoTime() - s;
        }
        Arrays.sort(parse);
        long t1 = System.nanoTime();
        Unwinder.Modules modules = cap.cfi();
        Unwinder.Result first = Unwinder.unwind(cap.regs(), cap.memory(null), modules, 128);
        long t2 = System.nanoTime();
        long[] ns = new long[iterations];
        int frames = 0;
        for (int i = 0; i < iterations; i++) {
            long s = System.nanoTime();
            frames += Unwinder.unwind(cap.regs(), cap.memory(null), modules, 128).size();
            ns[i] = System.nanoTime() - s;
        }
        Arrays.sort(ns);
        System.out.printf("frames %d stop %s%n", first.size(), first.stop());
        System.out.printf("names %s%n", cap.names(first));
        System.out.printf("libc_cfi_index_us %.1f%n", parse[parse.length / 2] / 1e3);
        System.out.printf("first_unwind_us %.1f%n", (t2 - t1) / 1e3);
        System.out.printf("median_unwind_us %.2f%n", ns[iterations / 2] / 1e3);
        System.out.printf("p99_unwind_us %.2f%n", ns[iterations * 99 / 100] / 1e3);
        if (frames == 0) throw new AssertionError();
    }
}
