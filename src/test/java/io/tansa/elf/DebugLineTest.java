package io.tansa.elf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tansa.testing.Native;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** DebugLine against binutils' addr2line, on gcc's output of this machine and on libc's debug file. */
@Tag("oracle")
class DebugLineTest {
    static Path lib() {
        return Native.buildAs("libnolines", "libnolines.so", "-g0", "-O2", "-shared", "-fPIC");
    }

    static Path build(String out, String... extra) {
        Path lib = lib();
        List<String> flags = new ArrayList<>(List.of("-O2", "-fno-optimize-sibling-calls"));
        flags.addAll(List.of(extra));
        flags.addAll(List.of("-L" + lib.getParent(), "-lnolines", "-Wl,-rpath," + lib.getParent()));
        return Native.buildAs("lines", out, flags.toArray(String[]::new));
    }

    /** addr2line's answer per address: "file:line", or null for "??". Discriminators are dropped. */
    static List<String> addr2line(String tool, Path file, List<Long> addrs) {
        List<String> out = new ArrayList<>();
        for (int from = 0; from < addrs.size(); from += 500) {
            List<String> cmd = new ArrayList<>(List.of(tool, "-e", file.toString()));
            for (long a : addrs.subList(from, Math.min(addrs.size(), from + 500))) cmd.add("0x" + Long.toHexString(a));
            Native.Result r = Native.run(cmd);
            assertEquals(0, r.code(), r.err());
            for (String l : r.out().lines().toList()) {
                int d = l.indexOf(" (discriminator");
                if (d >= 0) l = l.substring(0, d);
                out.add(l.startsWith("??:") || l.endsWith(":?") || l.endsWith(":0") ? null : l);
            }
        }
        assertEquals(addrs.size(), out.size());
        return out;
    }

    /** Every address of .text (or {@code limit} evenly spread ones) compared with addr2line. */
    static int compare(ElfFile elf, Path addr2lineFile, DebugLine lines, int limit, boolean basenames) {
        return compare("addr2line", elf, addr2lineFile, lines, limit, basenames);
    }

    static int compare(String tool, ElfFile elf, Path addr2lineFile, DebugLine lines, int limit, boolean basenames) {
        Section text = elf.section(".text").orElseThrow();
        long step = Math.max(1, text.size() / limit);
        List<Long> addrs = new ArrayList<>();
        for (long a = text.addr(); a < text.addr() + text.size(); a += step) addrs.add(a);
        List<String> want = addr2line(tool, addr2lineFile, addrs);
        int withLine = 0;
        for (int i = 0; i < addrs.size(); i++) {
            Optional<DebugLine.Line> got = lines.lookup(addrs.get(i));
            String g = got.map(l -> (basenames ? l.shortForm() : l.file() + ":" + l.line())).orElse(null);
            String w = want.get(i);
            if (w != null && basenames) w = w.substring(w.lastIndexOf('/') + 1);
            assertEquals(w, g, "address 0x" + Long.toHexString(addrs.get(i)) + " of " + addr2lineFile);
            if (g != null) withLine++;
        }
        return withLine;
    }

    static int lineOf(String marker) throws Exception {
        List<String> src = Files.readAllLines(Native.SRC.resolve("lines.c"));
        for (int i = 0; i < src.size(); i++) if (src.get(i).contains(marker)) return i + 1;
        throw new AssertionError(marker + " not in lines.c");
    }

    @Test
    void dwarf5FromGccMatchesAddr2line() throws Exception {
        Path bin = build("lines");
        ElfFile elf = ElfFile.open(bin);
        DebugLine lines = DebugLine.of(elf);
        assertFalse(lines.isEmpty());
        assertSame(lines, DebugLine.of(elf), "parsed once per ElfFile");
        int n = compare(elf, bin, lines, 100_000, false);
        assertTrue(n > 50, n + " addresses with a line");
        // the return address of the marked call, minus one, is on the marked line
        Symbol callSite = elf.lookup("call_site").getFirst();
        long ret = -1;
        for (long a = callSite.value(); a < callSite.value() + callSite.size(); a++) {
            Optional<DebugLine.Line> l = lines.lookup(a);
            if (l.isPresent() && l.get().line() == lineOf("CALL-SITE")) ret = a;
        }
        assertTrue(ret > 0, "no address of call_site on the CALL-SITE line");
        assertEquals(Native.SRC.resolve("lines.c").toString(), lines.lookup(ret).orElseThrow().file());
    }

    @Test
    void dwarf4MatchesAddr2line() {
        Path bin = build("lines-dwarf4", "-gdwarf-4");
        ElfFile elf = ElfFile.open(bin);
        // DWARF 4 names the compilation directory only in .debug_info: compare file names and lines
        assertTrue(compare(elf, bin, DebugLine.of(elf), 100_000, true) > 50);
    }

    @Test
    void compressedSectionsMatchAddr2line() {
        Path bin = build("lines-gz", "-gz=zlib");
        ElfFile elf = ElfFile.open(bin);
        Section s = elf.section(".debug_line").orElseThrow();
        assertTrue((s.flags() & Section.SHF_COMPRESSED) != 0, "gcc -gz=zlib compresses .debug_line");
        assertTrue(compare(elf, bin, DebugLine.of(elf), 100_000, false) > 50);
    }

    @Test
    void damagedSectionsDoNotThrow() {
        ElfFile elf = ElfFile.open(build("lines"));
        byte[] line = elf.section(".debug_line").orElseThrow().contents();
        byte[] str = elf.section(".debug_line_str").orElseThrow().contents();
        java.util.Random rnd = new java.util.Random(42);
        for (int i = 0; i < 2000; i++) {
            byte[] b = java.util.Arrays.copyOf(line, i < 200 ? rnd.nextInt(line.length + 1) : line.length);
            if (i >= 200) for (int k = 0; k < 4; k++) b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
            DebugLine d = DebugLine.parse(b, i % 2 == 0 ? str : new byte[0], new byte[0]);
            d.lookup(0x1200); // whatever it found, looking up must work
        }
    }

    @Test
    void noDebugInfoMeansNoLines() {
        ElfFile elf = ElfFile.open(lib());
        assertTrue(elf.section(".debug_line").isEmpty());
        assertTrue(DebugLine.of(elf).isEmpty());
        Symbol run = elf.lookup("nl_run").getFirst();
        assertTrue(DebugLine.of(elf).lookup(run.value()).isEmpty());
    }

    @Test
    void libcSeparateDebugFile() {
        ElfFile libc = ElfFile.open(ElfFileTest.LIBC);
        String id = libc.buildId().orElseThrow();
        Path debug = Path.of("/usr/lib/debug/.build-id/" + id.substring(0, 2) + "/" + id.substring(2) + ".debug");
        assumeTrue(Files.isRegularFile(debug), "libc6-dbg is not installed");
        ElfFile d = ElfFile.open(debug);
        libc.addSymbolSource(d);
        long t0 = System.nanoTime();
        DebugLine lines = DebugLine.of(libc);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("libc line table: %d rows in %d ms%n", lines.size(), ms);
        assertTrue(lines.size() > 10_000, "rows: " + lines.size());
        // Against llvm-addr2line: binutils' addr2line names the compilation unit's file instead of the
        // line table's for a few inlined rows (0x26550: "strtod_l.c:61" where the row, and
        // llvm-dwarfdump --lookup, say rounding-mode.h:61). glibc's directory 0 is relative ("./csu"),
        // which the tools join with the compilation directory differently: compare file names and lines.
        assumeTrue(Native.run("sh", "-c", "command -v llvm-addr2line").code() == 0, "no llvm-addr2line");
        assertTrue(compare("llvm-addr2line", libc, debug, lines, 3000, true) > 1000);
    }
}
