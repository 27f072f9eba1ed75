package io.tansa.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.sys.Tracefs;
import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The generated syscall and ioctl tables against the C compiler's view of the same headers. */
@Tag("fast")
class TablesTest {
    @Test
    void ioctlNumbersMatchTheHeaders() {
        // the C program prints "NAME 0xVALUE" for requests tansa must know by name
        String out = Native.run(Native.build("ioctl_values").toString()).out();
        int checked = 0;
        for (String l : out.split("\n")) {
            String[] kv = l.split(" ");
            long v = Long.parseLong(kv[1].substring(2), 16);
            assertEquals(kv[0], IoctlTable.name(v), "name of " + kv[1]);
            checked++;
        }
        assertTrue(checked >= 10, out);
    }

    @Test
    void everyIoDefineOfKvmHHasAName() throws Exception {
        // every `#define KVM_X _IO*(...)` of <linux/kvm.h>, also those continued with a backslash
        // (KVM_REGISTER_COALESCED_MMIO), compiled here and looked up in the table
        String h = java.nio.file.Files.readString(java.nio.file.Path.of("/usr/include/linux/kvm.h"))
                .replaceAll("\\\\\n", " ");
        var m = java.util.regex.Pattern.compile("(?m)^\\s*#\\s*define\\s+(KVM_[A-Z0-9_]+)\\s+_IO(R|W|WR)?\\s*\\(").matcher(h);
        StringBuilder c = new StringBuilder("#include <stdio.h>\n#include <linux/kvm.h>\nint main(void) {\n");
        int n = 0;
        while (m.find()) {
            c.append("  printf(\"%s 0x%lx\\n\", \"").append(m.group(1)).append("\", (unsigned long)(")
                    .append(m.group(1)).append("));\n");
            n++;
        }
        c.append("  return 0; }\n");
        assertTrue(n > 140, "defines found: " + n);
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("kvmh");
        // requests of other architectures (PPC, s390: their structs are not defined on x86) do not
        // compile here; only those are left out, and only for an incomplete type
        java.util.List<String> lines = new java.util.ArrayList<>(java.util.List.of(c.toString().split("\n")));
        Native.Result cc = null;
        for (int round = 0; round < 8; round++) {
            java.nio.file.Files.writeString(dir.resolve("k.c"), String.join("\n", lines) + "\n");
            cc = Native.run("gcc", "-w", "-o", dir.resolve("k").toString(), dir.resolve("k.c").toString());
            if (cc.code() == 0) break;
            var err = java.util.regex.Pattern.compile("k\\.c:(\\d+):\\d+: error: (.*)").matcher(cc.err());
            java.util.Set<Integer> bad = new java.util.TreeSet<>();
            while (err.find()) {
                assertTrue(err.group(2).contains("incomplete type"), err.group(0));
                bad.add(Integer.parseInt(err.group(1)) - 1);
            }
            for (int b : bad) lines.set(b, "  /* other architecture */");
        }
        assertEquals(0, cc.code(), cc.err());
        java.util.List<String> unnamed = new java.util.ArrayList<>();
        for (String l : Native.run(dir.resolve("k").toString()).out().split("\n")) {
            String[] kv = l.split(" ");
            if (!IoctlTable.known(Long.parseLong(kv[1].substring(2), 16))) unnamed.add(l);
        }
        assertEquals(java.util.List.of(), unnamed, "KVM requests without a name");
        assertEquals("KVM_REGISTER_COALESCED_MMIO", IoctlTable.name(0x4010ae67L));
        assertEquals("KVM_UNREGISTER_COALESCED_MMIO", IoctlTable.name(0x4010ae68L));
    }

    @Test
    void unknownIoctlsAreDecodedFromTheIocBits() {
        // _IOR(0xae, 0x99, 8) is not a KVM request; _IO('T', 0xee) neither
        assertEquals("_IOC(_IOC_READ, 0xae, 0x99, 0x8)", IoctlTable.name(0x8008ae99L));
        assertEquals("_IOC(_IOC_NONE, 0x54, 0xee, 0x0)", IoctlTable.name(0x54eeL));
        assertEquals("_IOC(_IOC_READ|_IOC_WRITE, 0x12, 0x34, 0x10)", IoctlTable.name(0xc0101234L));
        // only the low 32 bits are the request (the kernel's cmd is an unsigned int)
        assertEquals("KVM_RUN", IoctlTable.name(0xffffffff0000ae80L));
    }

    @Test
    void syscallNumbersMatchTheHeaders() {
        String out = Native.run(Native.build("ioctl_values").toString(), "syscalls").out();
        for (String l : out.split("\n")) {
            String[] kv = l.split(" ");
            assertEquals(kv[0], SyscallTable.name(Integer.parseInt(kv[1])));
            assertEquals(Integer.parseInt(kv[1]), SyscallTable.number(kv[0]));
        }
        assertEquals("syscall_999", SyscallTable.name(999));
        assertEquals(-1, SyscallTable.number("no_such_call"));
    }

    @Test
    @Tag("privileged")
    void rawSyscallsRecordLayout() {
        Privileged.requireRoot();
        // the offsets tansa reads: include/trace/events/syscalls.h (long id; unsigned long args[6]; long ret)
        Tracefs.Format enter = Tracefs.format("raw_syscalls", "sys_enter");
        Tracefs.Format exit = Tracefs.format("raw_syscalls", "sys_exit");
        assertEquals(8, enter.field("id").orElseThrow().offset());
        assertEquals(16, enter.field("args").orElseThrow().offset());
        assertEquals(48, enter.field("args").orElseThrow().size());
        assertEquals(16, exit.field("ret").orElseThrow().offset());
        assertTrue(enter.id() > 0 && exit.id() > 0 && enter.id() != exit.id());
    }
}
