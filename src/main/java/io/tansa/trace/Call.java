package io.tansa.trace;

/**
 * One syscall of a traced thread: its entry and exit joined. The tracer reuses one instance;
 * a {@link SyscallTracer.Listener} must copy what it keeps.
 */
public final class Call {
    /** Process (tgid) and thread ids. */
    public int pid, tid;
    /** Syscall number (x86-64), see {@link SyscallTable}. */
    public int nr;
    /** The six argument registers; valid only when {@link #entered}. */
    public final long[] args = new long[6];
    /** False when the entry was not seen (the call was already running at attach, or its record was lost). */
    public boolean entered;
    /** False when the exit was not seen (exit_group, a thread still blocked at the end, or a lost record). */
    public boolean returned;
    /** Return value: -4095..-1 is -errno. Valid when {@link #returned}. */
    public long ret;
    /** Entry time (CLOCK_MONOTONIC ns) when entered, else exit time. */
    public long timeNs;
    /** Exit minus entry time in ns, or -1 when either end is missing. */
    public long durationNs;

    /** True when the call returned an error (-errno). */
    public boolean failed() {
        return returned && ret < 0 && ret >= -4095;
    }
}
