package io.tansa.probe;

import io.tansa.sys.Regs;
import io.tansa.unwind.Memory;
import io.tansa.unwind.ProcessMemory;
import io.tansa.unwind.Reg;
import io.tansa.unwind.StackMemory;
import io.tansa.unwind.Unwinder;

/**
 * A probe hit, as every {@link Engine} delivers it.
 *
 * @param location index of the probe target hit (its si_perf_data / trace event), -1 for a timer
 *     sample or an address no target matches
 * @param timeNanos CLOCK_MONOTONIC time of the hit
 * @param regs DWARF register file ({@link Reg} order) at the hit
 * @param memory where the unwinder reads: the stopped thread's memory, or the stack copied at the hit
 * @param stopped the thread's ptrace registers when it is stopped right now (stop mode: its memory,
 *     the Ruby VM included, can be read live), else null
 * @param ruby the Ruby snapshot a kernel program took at the same hit (copy mode with
 *     {@link RubyProbe}), or null
 * @param walked the native stack when the engine walked it already (e.g. in the kernel), else
 *     null: then the capture unwinds through {@code memory}
 */
public record Hit(int pid, int tid, int location, long timeNanos, long[] regs, Memory memory, Regs stopped,
        RubyProbe.Record ruby, Unwinder.Result walked) {

    /** A hit of a thread stopped at a signal-delivery-stop: its registers and live memory. */
    public static Hit stopped(int pid, int tid, int location, long timeNanos, Regs regs) {
        return new Hit(pid, tid, location, timeNanos, Reg.fromPtrace(regs), new ProcessMemory(pid), regs, null, null);
    }

    /** A hit the kernel copied: registers, the stack from rsp, and the Ruby snapshot (or null). */
    public static Hit copied(int pid, int tid, int location, long timeNanos, long[] regs, byte[] stack,
            RubyProbe.Record ruby) {
        return new Hit(pid, tid, location, timeNanos, regs, new StackMemory(regs[Reg.RSP.ordinal()], stack, null), null,
                ruby, null);
    }

    /** True when the thread is stopped at this hit (stop mode): the trap came after the probed instruction ran. */
    public boolean isStopped() {
        return stopped != null;
    }
}
