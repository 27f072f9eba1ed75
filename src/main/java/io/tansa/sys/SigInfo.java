package io.tansa.sys;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.MemorySegment;

/**
 * The parts of siginfo_t (128 bytes, &lt;asm-generic/siginfo.h&gt;) tansa reads: si_signo @0,
 * si_errno @4, si_code @8; for SIGTRAP/TRAP_PERF the _sigfault union: si_addr @16,
 * si_perf_data @24, si_perf_type @32, si_perf_flags @36.
 */
public record SigInfo(int signo, int code, long addr, long perfData, int perfType, int senderPid) {
    public static final int SIZE = 128;
    public static final int SIGTRAP = 5;
    /** si_code of a SIGTRAP sent because of a perf event with attr.sigtrap = 1. */
    public static final int TRAP_PERF = 6;
    public static final int SI_USER = 0, SI_TKILL = -6;

    static SigInfo read(MemorySegment s) {
        return new SigInfo(s.get(JAVA_INT, 0), s.get(JAVA_INT, 8), s.get(JAVA_LONG, 16),
                s.get(JAVA_LONG, 24), s.get(JAVA_INT, 32), s.get(JAVA_INT, 16));
    }

    public boolean isPerfTrap() {
        return signo == SIGTRAP && code == TRAP_PERF;
    }
}
