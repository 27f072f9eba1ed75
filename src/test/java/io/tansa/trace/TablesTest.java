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
