package io.tansa.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.elf.ElfFile;
import io.tansa.elf.Segment;
import io.tansa.elf.Symbol;
import io.tansa.testing.Native;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Address → function in libc (with its debug file when installed) against gdb's "info symbol". */
@Tag("oracle")
class SymbolizeVsGdbTest {
    @Test
    void libcAddressesMatchGdb() throws Exception {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        ElfFile elf = ElfCache.get(libc, Path.of("/"), libc.toString());
        Segment text = elf.loadSegments().stream().filter(Segment::executable).findFirst().orElseThrow();
        Random r = new Random(42);
        List<Long> addrs = new ArrayList<>();
        for (int i = 0; i < 300; i++) addrs.add(text.vaddr() + (long) (r.nextDouble() * text.filesz()));
        List<String> cmd = new ArrayList<>(List.of("gdb", "-nx", "-batch", "-iex", "set debuginfod enabled off"));
        for (long a : addrs) cmd.addAll(List.of("-ex", "info symbol 0x" + Long.toHexString(a)));
        cmd.add(libc.toString());
        List<String> out = Native.run(cmd).out().lines().filter(l -> l.contains(" in section ") || l.startsWith("No symbol matches")).toList();
        assertEquals(addrs.size(), out.size(), "one gdb answer per address");
        Pattern p = Pattern.compile("^(\\S+)(?: \\+ (\\d+))? in section (\\S+)");
        int named = 0;
        for (int i = 0; i < addrs.size(); i++) {
            long a = addrs.get(i);
            String g = out.get(i);
            Optional<Symbol> ours = elf.symbolAt(a);
            Matcher m = p.matcher(g);
            if (!m.find()) {
                assertTrue(ours.isEmpty(), "0x" + Long.toHexString(a) + ": gdb has none, we say " + ours);
                continue;
            }
            long start = a - (m.group(2) == null ? 0 : Long.parseLong(m.group(2)));
            String gname = m.group(1);
            // The same function: gdb's name is an alias at our symbol's address.
            assertTrue(ours.isPresent(), "0x" + Long.toHexString(a) + ": gdb says " + g);
            assertEquals(start, ours.get().value(), "0x" + Long.toHexString(a) + ": gdb says " + g + ", we say " + ours.get());
            // (gdb prints "f.constprop" for the symbol "f.constprop.0".)
            assertTrue(elf.symbols().stream().anyMatch(s -> s.value() == start && (s.name().equals(gname) || s.name().startsWith(gname + "."))),
                    gname + " is an alias at 0x" + Long.toHexString(start));
            named++;
        }
        assertTrue(named > 250, "named " + named);
    }
}
