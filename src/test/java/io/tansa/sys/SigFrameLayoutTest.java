package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** {@link SigFrame}'s offsets against the kernel's uapi headers, compiled with gcc. */
@Tag("fast")
class SigFrameLayoutTest {
    @Test
    void offsetsMatchHeaders() {
        Map<String, Long> c = Native.constants(Native.build("layout_sigframe"));
        assertEquals(SigFrame.UC_MCONTEXT, c.get("uc_mcontext"));
        assertEquals(SigFrame.SC_R8, c.get("r8"));
        assertEquals(SigFrame.SC_R9, c.get("r9"));
        assertEquals(SigFrame.SC_R10, c.get("r10"));
        assertEquals(SigFrame.SC_R11, c.get("r11"));
        assertEquals(SigFrame.SC_R12, c.get("r12"));
        assertEquals(SigFrame.SC_R13, c.get("r13"));
        assertEquals(SigFrame.SC_R14, c.get("r14"));
        assertEquals(SigFrame.SC_R15, c.get("r15"));
        assertEquals(SigFrame.SC_RDI, c.get("rdi"));
        assertEquals(SigFrame.SC_RSI, c.get("rsi"));
        assertEquals(SigFrame.SC_RBP, c.get("rbp"));
        assertEquals(SigFrame.SC_RBX, c.get("rbx"));
        assertEquals(SigFrame.SC_RDX, c.get("rdx"));
        assertEquals(SigFrame.SC_RAX, c.get("rax"));
        assertEquals(SigFrame.SC_RCX, c.get("rcx"));
        assertEquals(SigFrame.SC_RSP, c.get("rsp"));
        assertEquals(SigFrame.SC_RIP, c.get("rip"));
        assertEquals(SigFrame.NR_RT_SIGRETURN, c.get("nr_rt_sigreturn"));
    }
}
