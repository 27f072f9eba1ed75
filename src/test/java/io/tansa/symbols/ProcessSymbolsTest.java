package io.tansa.symbols;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.Failure;
import io.tansa.profile.Frame;
import io.tansa.testing.Native;
import io.tansa.testing.Target;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Resolve and symbolize against programs that print their own functions' addresses; file
 * offsets checked against nm + readelf.
 */
@Tag("privileged")
@Tag("oracle")
class ProcessSymbolsTest {
    static Path lib() {
        return Native.buildAs("symlib", "libsymlib.so", "-shared", "-fPIC");
    }

    static Path late() {
        return Native.buildAs("symlate", "libsymlate.so", "-shared", "-fPIC");
    }

    static Path target(String out, String... pieFlags) {
        lib();
        String[] flags = concat(pieFlags, "-L" + Native.BIN, "-lsymlib", "-Wl,-rpath," + Native.BIN, "-ldl");
        return Native.buildAs("symtarget", out, flags);
    }

    static String[] concat(String[] a, String... b) {
        String[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** "addr NAME 0x…" lines up to "ready". */
    static Map<String, Long> addresses(Target t, String until) {
        Map<String, Long> m = new HashMap<>();
        String l;
        while (!(l = t.awaitLine("")).equals(until)) {
            String[] f = l.split(" ");
            if (f[0].equals("addr")) m.put(f[1], Long.parseUnsignedLong(f[2].substring(2), 16));
        }
        return m;
    }

    /** File offset of {@code name} by the oracles: nm for the link-time value, readelf -lW for PT_LOAD. */
    static long oracleFileOffset(Path file, String name) {
        Pattern sym = Pattern.compile("(?m)^([0-9a-f]+) [Tt] " + Pattern.quote(name) + "(@@\\S+)?$");
        Matcher m = sym.matcher(Native.run("nm", file.toString()).out());
        if (!m.find()) m = sym.matcher(Native.run("nm", "-D", file.toString()).out()); // stripped: exported only
        assertTrue(m.find(0), "nm has " + name);
        long value = Long.parseLong(m.group(1), 16);
        Pattern load = Pattern.compile("^\\s*LOAD\\s+0x([0-9a-f]+) 0x([0-9a-f]+) 0x[0-9a-f]+ 0x([0-9a-f]+)");
        for (String l : Native.run("readelf", "-lW", file.toString()).out().lines().toList()) {
            Matcher lm = load.matcher(l);
            if (!lm.find()) continue;
            long off = Long.parseLong(lm.group(1), 16), vaddr = Long.parseLong(lm.group(2), 16),
                    filesz = Long.parseLong(lm.group(3), 16);
            if (value >= vaddr && value < vaddr + filesz) return off + value - vaddr;
        }
        throw new AssertionError(name + " in no PT_LOAD");
    }

    static ProbeTarget one(List<ProbeTarget> ts) {
        assertEquals(1, ts.size(), ts.toString());
        return ts.getFirst();
    }

    @Test
    void pie() {
        check(target("symtarget", "-fPIE", "-pie"));
    }

    @Test
    void nonPie() {
        Path bin = target("symtarget_nopie", "-fno-pie", "-no-pie");
        assertTrue(Native.run("readelf", "-h", bin.toString()).out().contains("EXEC"), "built as ET_EXEC");
        check(bin);
    }

    void check(Path bin) {
        Path late = late();
        try (Target t = Target.start(bin.toString(), late.toString())) {
            Map<String, Long> addr = addresses(t, "ready");
            long t0 = System.nanoTime();
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            System.out.printf("ProcessSymbols(%s): %d modules in %.1f ms%n", bin.getFileName(), ps.modules().size(), (System.nanoTime() - t0) / 1e6);
            String exe = bin.getFileName().toString();

            ProbeTarget work = one(ps.resolve("work"));
            assertEquals(addr.get("work"), work.address());
            assertEquals(exe, work.module());
            assertEquals(bin, work.file());
            assertEquals(oracleFileOffset(bin, "work"), work.fileOffset());
            assertEquals(Frame.nativeFrame("work", exe, addr.get("work") + 5), ps.frame(addr.get("work") + 5));
            assertEquals("work+0x5", ps.describe(addr.get("work") + 5));
            assertEquals("work", ps.describe(addr.get("work")));

            ProbeTarget off = one(ps.resolve(exe + ":work+0x4"));
            assertEquals(addr.get("work") + 4, off.address());
            assertEquals(work.fileOffset() + 4, off.fileOffset());
            assertEquals("work+0x4", off.symbol());

            ProbeTarget libFn = one(ps.resolve("lib_fn"));
            assertEquals(addr.get("lib_fn"), libFn.address());
            assertEquals("libsymlib.so", libFn.module());
            assertEquals(oracleFileOffset(lib(), "lib_fn"), libFn.fileOffset());
            assertEquals("lib_fn", ps.frame(addr.get("lib_fn") + 1).name());

            // Defined in the executable and in the library: two locations.
            List<ProbeTarget> dup = ps.resolve("dup_fn");
            assertEquals(2, dup.size(), dup.toString());
            assertEquals(List.of(addr.get("dup_fn"), addr.get("lib_dup_fn")).stream().sorted().toList(),
                    dup.stream().map(ProbeTarget::address).sorted().toList());
            assertEquals(addr.get("lib_dup_fn"), one(ps.resolve("libsymlib:dup_fn")).address());
            assertEquals(addr.get("lib_dup_fn"), one(ps.resolve(lib() + ":dup_fn")).address());

            ProbeTarget malloc = one(ps.resolve("libc.so.6:malloc"));
            assertEquals(addr.get("malloc"), malloc.address());
            assertEquals(addr.get("malloc"), ps.symbolAddress("libc.so", "malloc").orElseThrow());
            assertEquals(new Frame(Frame.Kind.NATIVE, "malloc", "libc.so.6", addr.get("malloc"), null, 0), ps.frame(addr.get("malloc")));
            // The bytes the uprobe would patch are the function's first bytes in memory.
            assertArrayEquals(io.tansa.proc.ProcFs.readMemory(t.pid(), malloc.address(), 16), readFile(malloc.file(), malloc.fileOffset(), 16));

            // IFUNC: the implementation the process uses, not the resolver.
            ProbeTarget memcpy = one(ps.resolve("memcpy@@GLIBC_2.14"));
            assertEquals(addr.get("memcpy"), memcpy.address());
            assertEquals("libc.so.6", memcpy.module());
            assertEquals(memcpy.address(), ps.resolve("memcpy").stream().filter(x -> x.address() == memcpy.address()).findFirst().orElseThrow().address());

            // Unknown names: suggestions; unknown objects: the loaded ones.
            Failure f = assertThrows(Failure.class, () -> ps.resolve("wrok"));
            assertEquals(Failure.Kind.SYMBOL_NOT_FOUND, f.kind());
            assertTrue(f.getMessage().contains("did you mean: work"), f.getMessage());
            assertTrue(f.getMessage().contains("'wrok'") && f.getMessage().contains(Integer.toString(t.pid())), f.getMessage());
            Failure g = assertThrows(Failure.class, () -> ps.resolve("libnope:work"));
            assertEquals(Failure.Kind.SYMBOL_NOT_FOUND, g.kind());
            assertTrue(g.getMessage().contains("libsymlib.so") && g.getMessage().contains("libc.so.6"), g.getMessage());
            assertEquals(Failure.Kind.USAGE, assertThrows(Failure.class, () -> ps.resolve("work+0xzz")).kind());

            // dlopen after ProcessSymbols read the maps: both resolve and frame find it.
            send(t, "go\n");
            Map<String, Long> later = addresses(t, "loaded");
            long lateFn = later.get("late_fn");
            assertEquals("late_fn", ps.frame(lateFn + 2).name());
            assertEquals("libsymlate.so", ps.frame(lateFn + 2).module());
            assertEquals(lateFn, one(ps.resolve("late_fn")).address());
            assertEquals(oracleFileOffset(late, "late_fn"), one(ps.resolve("late_fn")).fileOffset());

            Module vdso = ps.module("[vdso]").orElseThrow();
            assertEquals(addr.get("vdso"), vdso.start(), "AT_SYSINFO_EHDR");
            io.tansa.elf.Symbol cg = vdso.elf().lookup("__vdso_clock_gettime").getFirst();
            assertEquals("[vdso]", ps.frame(vdso.bias() + cg.value() + 1).module());
            assertTrue(ps.frame(vdso.bias() + cg.value() + 1).name().endsWith("clock_gettime"));
            Frame none = ps.frame(8);
            assertEquals("[unknown]", none.name());
        }
    }

    /** PLT stubs are named "callee@plt", as objdump -d names them. */
    @Test
    void pltStubsNamedAsObjdump() {
        for (Path f : List.of(target("symtarget", "-fPIE", "-pie"), Path.of("/lib/x86_64-linux-gnu/libc.so.6"))) {
            io.tansa.elf.ElfFile elf = io.tansa.elf.ElfFile.open(f);
            Matcher m = Pattern.compile("(?m)^([0-9a-f]+) <(.+@plt)>:$").matcher(
                    Native.run("objdump", "-d", "-j", ".plt", "-j", ".plt.sec", "-j", ".plt.got", f.toString()).out());
            int n = 0;
            while (m.find()) {
                long a = Long.parseLong(m.group(1), 16);
                assertEquals(m.group(2), elf.symbolAt(a + 3).orElseThrow().name(), f + " 0x" + m.group(1));
                assertEquals(a, elf.symbolAt(a + 3).orElseThrow().value());
                n++;
            }
            assertTrue(n >= 10, f + ": " + n + " stubs");
        }
    }

    /** The brief's case: ruby-bcrypt's bcrypt_ext.so and libcrypt.so.1 both define crypt_ra. */
    @Test
    void bcryptCryptRaHasTwoDefinitions() {
        io.tansa.testing.Privileged.assume(Files.exists(Path.of("/usr/bin/ruby")), "needs ruby and ruby-bcrypt");
        try (Target t = Target.start("ruby", "-e", "require 'bcrypt'; STDOUT.sync = true; puts 'ready'; sleep")) {
            t.awaitLine("ready");
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            List<ProbeTarget> both = ps.resolve("crypt_ra");
            assertEquals(2, both.size(), both.toString());
            assertEquals(java.util.Set.of("bcrypt_ext.so", "libcrypt.so.1.1.0"),
                    both.stream().map(ProbeTarget::module).collect(java.util.stream.Collectors.toSet()));
            for (String spec : List.of("libcrypt.so.1:crypt_ra", "libcrypt:crypt_ra", "/lib/x86_64-linux-gnu/libcrypt.so.1:crypt_ra")) {
                ProbeTarget lc = one(ps.resolve(spec));
                assertEquals("libcrypt.so.1.1.0", lc.module(), spec);
                assertEquals(oracleFileOffset(lc.file(), "crypt_ra"), lc.fileOffset());
                // Oracle for the address: the object's offset-0 mapping in /proc/PID/maps plus nm's value (first PT_LOAD at 0).
                String base = Native.run("grep", "-m1", " 00000000 .*" + lc.file().getFileName() + "$", "/proc/" + t.pid() + "/maps").out();
                assertEquals(Long.parseLong(base.substring(0, base.indexOf('-')), 16) + lc.fileOffset(), lc.address());
                assertEquals("crypt_ra", ps.frame(lc.address() + 1).name());
            }
            assertEquals("bcrypt_ext.so", one(ps.resolve("bcrypt_ext:crypt_ra")).module());
        }
    }

    @Test
    void strippedLibcUsesItsDebugFile() {
        Path libc = Path.of("/lib/x86_64-linux-gnu/libc.so.6");
        io.tansa.elf.ElfFile plain = io.tansa.elf.ElfFile.open(libc);
        String id = plain.buildId().orElseThrow();
        Path debug = Path.of("/usr/lib/debug/.build-id/" + id.substring(0, 2) + "/" + id.substring(2) + ".debug");
        io.tansa.testing.Privileged.assume(Files.exists(debug), "needs libc6-dbg (" + debug + ")");
        assertTrue(plain.lookup("_int_malloc").isEmpty(), "libc itself has no _int_malloc");
        Matcher m = Pattern.compile("(?m)^([0-9a-f]+) t _int_malloc$").matcher(Native.run("nm", debug.toString()).out());
        assertTrue(m.find());
        long value = Long.parseLong(m.group(1), 16);
        try (Target t = Target.start(target("symtarget", "-fPIE", "-pie").toString())) {
            addresses(t, "ready");
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            Module lc = ps.module("libc.so").orElseThrow();
            ProbeTarget im = one(ps.resolve("_int_malloc"));
            assertEquals(lc.bias() + value, im.address());
            assertEquals(value, im.fileOffset(), "libc's text has file offset == vaddr");
            assertEquals("_int_malloc", ps.frame(im.address() + 9).name());
        }
    }

    @Test
    void miniDebugInfoGivesLocalSymbols() throws IOException {
        Path full = late();
        Path dir = Files.createTempDirectory("tansa-mini");
        try {
            Path syms = dir.resolve("mini.debug");
            Path stripped = dir.resolve("libstripped.so");
            // As Fedora builds MiniDebugInfo: the symtab alone, xz-compressed into .gnu_debugdata of the stripped object.
            assertEquals(0, Native.run("strip", "--strip-debug", "-o", syms.toString(), full.toString()).code());
            assertEquals(0, Native.run("xz", syms.toString()).code());
            assertEquals(0, Native.run("strip", "--strip-all", "-o", stripped.toString(), full.toString()).code());
            Native.Result add = Native.run("objcopy", "--add-section", ".gnu_debugdata=" + syms + ".xz", stripped.toString());
            assertEquals(0, add.code(), add.err());
            assertTrue(Native.run("nm", stripped.toString()).err().contains("no symbols"));
            Matcher m = Pattern.compile("(?m)^([0-9a-f]+) t helper$").matcher(Native.run("nm", full.toString()).out());
            assertTrue(m.find());
            io.tansa.elf.ElfFile elf = io.tansa.elf.ElfFile.open(stripped);
            io.tansa.elf.Symbol helper = elf.lookup("helper").getFirst();
            assertEquals(Long.parseLong(m.group(1), 16), helper.value());
            assertTrue(helper.isFunction() && !helper.dynamic());
            assertEquals("helper", elf.symbolAt(helper.value() + 1).orElseThrow().name());
        } finally {
            try (var s = Files.walk(dir)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void jitCodeNamedByPerfMap() throws IOException {
        Path bin = Native.build("jitmap");
        try (Target t = Target.start(bin.toString())) {
            Path map = Path.of("/tmp/perf-" + t.pid() + ".map");
            try {
                long code = addresses(t, "ready").get("code");
                ProcessSymbols ps = new ProcessSymbols(t.pid());
                assertEquals(Frame.nativeFrame("jit_add(int, int)", ProcessSymbols.JIT, code + 3), ps.frame(code + 3));
                assertEquals("[unknown]", ps.frame(code + 0x41).name());
                send(t, "x\n");
                t.awaitLine("more");
                assertEquals("jit_second", ps.frame(code + 0x41).name(), "entries appended later are read");
                assertEquals("[anon]", ps.frame(code + 0x100).module());
            } finally {
                Files.deleteIfExists(map);
            }
        }
    }

    /** A binary visible only in the target's mount namespace is opened through /proc/PID/root. */
    @Test
    void otherMountNamespace() throws IOException {
        io.tansa.testing.Privileged.requireRoot();
        Path bin = target("symtarget", "-fPIE", "-pie");
        Path dir = Files.createTempDirectory("tansa-ns");
        try (Target t = Target.start("unshare", "-m", "--propagation", "private", "sh", "-c",
                "mount -t tmpfs none " + dir + " && cp " + bin + " " + dir + "/prog && exec " + dir + "/prog")) {
            Map<String, Long> addr = addresses(t, "ready");
            assertTrue(!Files.exists(dir.resolve("prog")), "not visible here");
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            ProbeTarget work = one(ps.resolve("prog:work"));
            assertEquals(addr.get("work"), work.address());
            assertEquals(Path.of("/proc/" + t.pid() + "/root" + dir + "/prog"), work.file());
            assertEquals(oracleFileOffset(bin, "work"), work.fileOffset());
            assertArrayEquals(readFile(bin, work.fileOffset(), 32), readFile(work.file(), work.fileOffset(), 32));
            assertEquals(Frame.nativeFrame("work", "prog", addr.get("work") + 1), ps.frame(addr.get("work") + 1));
            assertEquals(addr.get("lib_fn"), one(ps.resolve("lib_fn")).address());
        } finally {
            Files.delete(dir);
        }
    }

    @Test
    void deletedBinaryResolvesThroughMapFiles() throws IOException {
        Path orig = target("symtarget", "-fPIE", "-pie");
        Path dir = Files.createTempDirectory("tansa-del");
        Path copy = dir.resolve("symtarget-copy");
        Files.copy(orig, copy);
        copy.toFile().setExecutable(true);
        try (Target t = Target.start(copy.toString())) {
            Map<String, Long> addr = addresses(t, "ready");
            Files.delete(copy);
            ProcessSymbols ps = new ProcessSymbols(t.pid());
            ProbeTarget work = one(ps.resolve("work"));
            assertEquals(addr.get("work"), work.address());
            assertTrue(work.file().toString().contains("/map_files/"), work.file().toString());
            assertEquals(oracleFileOffset(orig, "work"), work.fileOffset());
            assertArrayEquals(readFile(orig, work.fileOffset(), 32), readFile(work.file(), work.fileOffset(), 32));
            assertEquals(Frame.nativeFrame("work", "symtarget-copy", addr.get("work")), ps.frame(addr.get("work")));
        } finally {
            Files.deleteIfExists(copy);
            Files.delete(dir);
        }
    }

    static byte[] readFile(Path p, long off, int len) {
        try (var ch = java.nio.channels.FileChannel.open(p)) {
            var b = java.nio.ByteBuffer.allocate(len);
            ch.read(b, off);
            return b.array();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void send(Target t, String s) {
        try {
            OutputStream o = t.process.getOutputStream();
            o.write(s.getBytes(StandardCharsets.UTF_8));
            o.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
