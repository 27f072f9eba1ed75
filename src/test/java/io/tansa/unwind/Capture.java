package io.tansa.unwind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * What src/test/c/unwind_target.c wrote at its capture point: the registers (DWARF order), the
 * stack copy from rsp to the stack's top, and its /proc/self/maps, with each mapped object's
 * CFI and symbols (read with {@link TestElf}).
 */
final class Capture {
    final long[] regs = new long[Reg.COUNT];
    final long base;
    final byte[] stack;
    final List<Module> modules = new ArrayList<>();

    record Module(Path path, long lo, long hi, long bias, TestElf elf, Cfi cfi) {
        String name() {
            return path.getFileName().toString();
        }
    }

    Capture(Path prefix) {
        try {
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(Path.of(prefix + ".dump"))).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < Reg.COUNT; i++) regs[i] = b.getLong();
            base = b.getLong();
            stack = new byte[(int) b.getLong()];
            b.get(stack);
            loadModules(Path.of(prefix + ".maps"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void loadModules(Path maps) throws IOException {
        Map<String, long[]> ranges = new HashMap<>(); // path -> lo, hi, start of the offset-0 mapping
        for (String line : Files.readAllLines(maps)) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || !f[5].startsWith("/")) continue;
            String[] lh = f[0].split("-");
            long lo = Long.parseUnsignedLong(lh[0], 16), hi = Long.parseUnsignedLong(lh[1], 16);
            long off = Long.parseUnsignedLong(f[2], 16);
            long[] r = ranges.computeIfAbsent(f[5], k -> new long[] {lo, hi, -1});
            r[0] = Math.min(r[0], lo);
            r[1] = Math.max(r[1], hi);
            if (off == 0 && r[2] < 0) r[2] = lo;
        }
        for (var e : ranges.entrySet()) {
            Path p = Path.of(e.getKey());
            if (!Files.isRegularFile(p)) continue;
            TestElf elf = new TestElf(p);
            long bias = e.getValue()[2] - (elf.firstLoadVaddr & -4096L);
            modules.add(new Module(p, e.getValue()[0], e.getValue()[1], bias, elf, elf.cfi()));
        }
    }

    Module module(long pc) {
        for (Module m : modules) if (Long.compareUnsigned(pc, m.lo) >= 0 && Long.compareUnsigned(pc, m.hi) < 0) return m;
        return null;
    }

    /** CFI lookup over the mapped objects, hiding the CFI of those {@code hide} matches. */
    Unwinder.Modules cfi(Predicate<Module> hide) {
        return pc -> {
            Module m = module(pc);
            if (m == null) return null;
            return new Unwinder.ModuleCfi(hide.test(m) ? null : m.cfi, m.bias);
        };
    }

    Unwinder.Modules cfi() {
        return cfi(m -> false);
    }

    /** "function" for a frame, "module+0xoff" when no symbol covers it, "?" outside any object. */
    String name(Unwinder.Result r, int i) {
        long pc = r.lookupPc(i);
        Module m = module(pc);
        if (m == null) return "?";
        return m.elf.symbol(pc - m.bias).orElse(m.name() + "+0x" + Long.toHexString(pc - m.bias));
    }

    List<String> names(Unwinder.Result r) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < r.size(); i++) out.add(name(r, i));
        return out;
    }

    StackMemory memory(Memory fallback) {
        return new StackMemory(base, stack, fallback);
    }

    long[] regs() {
        return Arrays.copyOf(regs, regs.length);
    }
}
