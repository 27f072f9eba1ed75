package io.tansa.kvm;

import io.tansa.proc.ProcFs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@code tansa kvm} counted for one VM process: per vCPU thread, KVM_RUN calls (completed
 * ones whose entry was seen: {@code runs}, their time {@code runNs}; returns of calls entered
 * before tracing began: {@code runsOpen}, not timed; {@code inRun}: inside KVM_RUN at the end),
 * exits to user space by reason, port and MMIO accesses; the tracepoint totals, and whether
 * kvm:kvm_exit fires on this host.
 */
public record KvmReport(int pid, String comm, double seconds, List<Vcpu> vcpus, Map<String, Long> tracepoints,
        boolean kernelExits, long lost, boolean exited) {

    public record Port(int port, String dir) {}

    public record Addr(long gpa, String dir) {}

    public static final class Vcpu {
        public final int tid;
        public final String comm;
        public int index = -1;
        public long runs, runsOpen, runNs;
        public boolean inRun;
        public final Map<String, Long> exits = new HashMap<>();
        public final Map<Port, Long> io = new HashMap<>();
        public final Map<Addr, Long> mmio = new HashMap<>();
        public final Map<String, Long> kernelExits = new HashMap<>();

        Vcpu(int tid, String comm) {
            this.tid = tid;
            this.comm = comm;
        }

        /** "vCPU N" when qemu gave the thread no name of its own (it is still the process's name). */
        public String name(String processComm) {
            return ProcFs.vcpuName(comm, processComm, index);
        }

        Vcpu copy() {
            Vcpu c = new Vcpu(tid, comm);
            c.index = index;
            c.runs = runs;
            c.runsOpen = runsOpen;
            c.runNs = runNs;
            c.exits.putAll(exits);
            c.io.putAll(io);
            c.mmio.putAll(mmio);
            c.kernelExits.putAll(kernelExits);
            return c;
        }
    }
}
