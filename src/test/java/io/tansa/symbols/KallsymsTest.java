package io.tansa.symbols;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.testing.Privileged;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("fast")
class KallsymsTest {
    static final String FIXTURE = """
            ffffffff81000000 T _stext
            ffffffff81000000 T srso_alias_untrain_ret
            ffffffff81001000 t do_one_initcall
            ffffffff81002000 D some_data
            ffffffff81003000 T vfs_read
            ffffffffc0201000 t kvm_vcpu_ioctl\t[kvm]
            """;

    @Test
    void closestTextSymbolBelowTheAddress() {
        Kallsyms k = Kallsyms.parse(FIXTURE.getBytes());
        assertEquals(5, k.size(), "data symbols are dropped");
        assertEquals("_stext", k.lookup(0xffffffff81000010L).name(), "first of two aliases in file order");
        assertEquals("do_one_initcall", k.lookup(0xffffffff81002800L).name(), "data does not end a function");
        assertEquals("vfs_read", k.lookup(0xffffffff81003000L).name());
        Kallsyms.Symbol m = k.lookup(0xffffffffc0201234L);
        assertEquals("kvm_vcpu_ioctl", m.name());
        assertEquals("[kvm]", m.object());
        assertEquals("[kernel]", k.lookup(0xffffffff81003001L).object());
        assertNull(k.lookup(0xffffffff80000000L), "below the kernel text");
        assertNull(k.lookup(0x401000L), "a user address");
    }

    @Test
    void hiddenAddressesMeanRestricted() {
        Kallsyms k = Kallsyms.parse("""
                0000000000000000 T _stext
                0000000000000000 T vfs_read
                """.getBytes());
        assertTrue(k.restricted());
        assertNull(k.lookup(0xffffffff81003000L));
    }

    @Test
    @Tag("privileged")
    void liveKallsymsAgreesWithTheFile() throws IOException {
        Kallsyms k = Kallsyms.load();
        Privileged.assume(!k.restricted(), "kallsyms addresses hidden (kptr_restrict)");
        // vfs_read's own line in /proc/kallsyms is the oracle.
        String line = Files.readAllLines(Path.of("/proc/kallsyms")).stream()
                .filter(l -> l.endsWith(" vfs_read")).findFirst().orElseThrow();
        long addr = Long.parseUnsignedLong(line.substring(0, line.indexOf(' ')), 16);
        assertEquals("vfs_read", k.lookup(addr + 1).name());
        assertEquals(addr, k.address("vfs_read"));
    }
}
