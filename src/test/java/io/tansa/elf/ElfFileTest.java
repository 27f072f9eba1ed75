package io.tansa.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.testing.Native;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** ElfFile against readelf on real system libraries. */
@Tag("oracle")
class ElfFileTest {
    static final Path LIBC = Path.of("/lib/x86_64-linux-gnu/libc.so.6");

    record Row(long value, long size, String type, String ndx, String name) {}

    /** readelf -sW --dyn-syms rows: "Num: Value Size Type Bind Vis Ndx Name". */
    static List<Row> readelfDynSyms(Path p) {
        List<Row> rows = new ArrayList<>();
        Pattern row = Pattern.compile("^\\s*\\d+: ([0-9a-f]{16})\\s+(0x[0-9a-f]+|\\d+) (\\w+)\\s+\\w+\\s+\\w+\\s+(\\w+) (\\S+)");
        for (String l : Native.run("readelf", "-sW", "--dyn-syms", p.toString()).out().lines().toList()) {
            Matcher m = row.matcher(l);
            if (!m.find()) continue;
            String sz = m.group(2);
            long size = sz.startsWith("0x") ? Long.parseLong(sz.substring(2), 16) : Long.parseLong(sz);
            rows.add(new Row(Long.parseUnsignedLong(m.group(1), 16), size, m.group(3), m.group(4), m.group(5)));
        }
        return rows;
    }

    @Test
    void libcDynamicSymbolsMatchReadelf() {
        long t0 = System.nanoTime();
        ElfFile elf = ElfFile.open(LIBC);
        List<Symbol> all = elf.symbols();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.println("libc.so.6: " + all.size() + " symbols parsed in " + ms + " ms");
        List<Row> rows = readelfDynSyms(LIBC);
        int checked = 0;
        for (Row r : rows) {
            if (r.ndx().equals("UND") || r.ndx().equals("ABS") || !(r.type().equals("FUNC") || r.type().equals("IFUNC") || r.type().equals("OBJECT"))) continue;
            List<Symbol> hits = elf.lookup(r.name());
            assertTrue(hits.stream().anyMatch(s -> s.value() == r.value() && s.size() == r.size() && s.fullName().equals(r.name())),
                    () -> "readelf: " + r + " ours: " + hits);
            checked++;
        }
        assertTrue(checked > 2000, "checked " + checked);

        Symbol malloc = elf.lookup("malloc").getFirst();
        Row mr = rows.stream().filter(r -> r.name().equals("malloc@@GLIBC_2.2.5")).findFirst().orElseThrow();
        assertEquals(mr.value(), malloc.value());
        assertEquals(mr.size(), malloc.size());
        assertTrue(malloc.isFunction() && malloc.dynamic() && malloc.defaultVersion());
        assertEquals("GLIBC_2.2.5", malloc.version());

        List<Symbol> memcpy = elf.lookup("memcpy");
        assertEquals(2, memcpy.size(), memcpy.toString());
        Symbol m14 = elf.lookup("memcpy@@GLIBC_2.14").getFirst();
        assertTrue(m14.isIfunc() && m14.isFunction());
        Symbol m225 = elf.lookup("memcpy@GLIBC_2.2.5").getFirst();
        assertFalse(m225.defaultVersion());
        assertTrue(elf.lookup("memcpy@@GLIBC_2.2.5").isEmpty(), "2.2.5 is not the default version");
        assertEquals(rows.stream().filter(r -> r.name().equals("memcpy@@GLIBC_2.14")).findFirst().orElseThrow().value(), m14.value());

        // Inside malloc: the containing function is malloc (or an alias at its address).
        assertEquals(malloc.value(), elf.symbolAt(malloc.value() + 7).orElseThrow().value());
        assertEquals(malloc.value(), elf.symbolAt(malloc.value()).orElseThrow().value());
        assertTrue(elf.symbolAt(0).isEmpty());
        Symbol tls = elf.symbols().stream().filter(Symbol::isTls).findFirst().orElseThrow();
        assertTrue(tls.isTls() && !tls.isFunction());
    }

    @Test
    void headersMatchReadelf() {
        ElfFile elf = ElfFile.open(LIBC);
        assertEquals(ElfFile.ET_DYN, elf.type());
        String notes = Native.run("readelf", "-n", LIBC.toString()).out();
        Matcher id = Pattern.compile("Build ID: ([0-9a-f]+)").matcher(notes);
        assertTrue(id.find());
        assertEquals(Optional.of(id.group(1)), elf.buildId());
        assertEquals(Optional.of("libc.so.6"), elf.soname());
        String dl = Native.run("readelf", "-p", ".gnu_debuglink", LIBC.toString()).out();
        Matcher dm = Pattern.compile("\\]\\s+(\\S+\\.debug)").matcher(dl);
        assertTrue(dm.find(), dl);
        assertEquals(Optional.of(dm.group(1)), elf.debugLink());
        assertTrue(elf.debugLinkCrc().isPresent());

        // PT_LOAD rows: "LOAD 0xOFFSET 0xVADDR 0xPADDR 0xFILESZ 0xMEMSZ FLAGS 0xALIGN".
        List<Segment> expect = new ArrayList<>();
        Pattern load = Pattern.compile("^\\s*LOAD\\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+) 0x([0-9a-f]+) ([RWE ]+) ");
        for (String l : Native.run("readelf", "-lW", LIBC.toString()).out().lines().toList()) {
            Matcher m = load.matcher(l);
            if (!m.find()) continue;
            String fl = m.group(5);
            int flags = (fl.contains("R") ? 4 : 0) | (fl.contains("W") ? 2 : 0) | (fl.contains("E") ? 1 : 0);
            expect.add(new Segment(Long.parseLong(m.group(2), 16), Long.parseLong(m.group(4), 16),
                    Long.parseLong(m.group(1), 16), Long.parseLong(m.group(3), 16), flags));
        }
        assertEquals(expect, elf.loadSegments());
        Section text = elf.section(".text").orElseThrow();
        assertEquals(text.offset(), elf.vaddrToFileOffset(text.addr()));
        assertEquals(text.size(), text.bytes().length);
        assertEquals(-1, elf.vaddrToFileOffset(-4096));
    }

    /** Damaged files give a Failure or partial answers, never another exception. */
    @Test
    void corruptFilesFailCleanly() throws Exception {
        byte[] good = java.nio.file.Files.readAllBytes(Native.buildAs("symlate", "libsymlate.so", "-shared", "-fPIC"));
        java.util.Random r = new java.util.Random(7);
        int opened = 0;
        for (int round = 0; round < 400; round++) {
            byte[] b = round % 4 == 0 ? java.util.Arrays.copyOf(good, r.nextInt(good.length)) : good.clone();
            if (round % 4 != 0) {
                for (int k = 0; k < 1 + r.nextInt(12); k++) {
                    // Mostly headers and tables (start and end of the file), where damage matters.
                    int at = r.nextBoolean() ? r.nextInt(Math.min(b.length, 1024)) : b.length - 1 - r.nextInt(Math.min(b.length, 4096));
                    b[at] = (byte) r.nextInt(256);
                }
            }
            ElfFile e;
            try {
                e = ElfFile.of("fuzz" + round, b);
            } catch (Failure f) {
                continue;
            }
            opened++;
            try {
                e.symbols();
                e.lookup("late_fn");
                e.symbolAt(0x1100);
                e.buildId();
                e.soname();
                e.debugLink();
                e.dynamicRelocations();
                e.vaddrToFileOffset(0x1100);
            } catch (Failure f) {
                // acceptable: reported as a damaged file
            } catch (RuntimeException ex) {
                throw new AssertionError("round " + round + ": " + ex, ex);
            }
        }
        assertTrue(opened > 50, "opened " + opened);
    }

    @Test
    void executableSymtabAndNonPie() {
        Path bin = Native.buildAs("symlate", "symlate_nopie.o", "-c", "-fno-pie");
        Failure f = assertThrows(Failure.class, () -> ElfFile.open(Path.of("/etc/passwd")));
        assertEquals(Failure.Kind.UNSUPPORTED, f.kind());
        assertTrue(f.getMessage().contains("/etc/passwd"), f.getMessage());
        // A relocatable object has a .symtab but no segments.
        ElfFile obj = ElfFile.open(bin);
        assertTrue(obj.loadSegments().isEmpty());
        assertEquals(Symbol.STT_FUNC, obj.lookup("late_fn").getFirst().type());
        assertFalse(obj.lookup("late_fn").getFirst().dynamic());
    }
}
