package io.tansa.sys;

/**
 * KVM's user-space interface as tansa reads it from outside (it never opens /dev/kvm): the
 * KVM_RUN request, the exit reasons of struct kvm_run, and the values of the kvm tracepoints'
 * fields. From &lt;linux/kvm.h&gt; and the kernel's include/trace/events/kvm.h (KvmTest checks
 * them against the installed header).
 */
public final class Kvm {
    private Kvm() {}

    /** KVM_RUN = _IO(KVMIO, 0x80), KVMIO = 0xAE: &lt;linux/kvm.h&gt;. */
    public static final long KVM_RUN = 0xae80;
    /** KVM_CREATE_VCPU = _IO(KVMIO, 0x41): &lt;linux/kvm.h&gt;; its argument is the vCPU id, its return the vCPU fd. */
    public static final long KVM_CREATE_VCPU = 0xae41;
    /** ioctl(2)'s syscall number on x86-64 (&lt;asm/unistd_64.h&gt; __NR_ioctl). */
    public static final int NR_IOCTL = 16;

    /** KVM_EXIT_* of &lt;linux/kvm.h&gt; by value (kvm_run.exit_reason), without the prefix. */
    private static final String[] EXIT = {"UNKNOWN", "EXCEPTION", "IO", "HYPERCALL", "DEBUG", "HLT", "MMIO",
        "IRQ_WINDOW_OPEN", "SHUTDOWN", "FAIL_ENTRY", "INTR", "SET_TPR", "TPR_ACCESS", "S390_SIEIC", "S390_RESET",
        "DCR", "NMI", "INTERNAL_ERROR", "OSI", "PAPR_HCALL", "S390_UCONTROL", "WATCHDOG", "S390_TSCH", "EPR",
        "SYSTEM_EVENT", "S390_STSI", "IOAPIC_EOI", "HYPERV", "ARM_NISV", "X86_RDMSR", "X86_WRMSR",
        "DIRTY_RING_FULL", "AP_RESET_HOLD", "X86_BUS_LOCK", "XEN", "RISCV_SBI", "RISCV_CSR", "NOTIFY",
        "LOONGARCH_IOCSR", "MEMORY_FAULT", "TDX"};

    /** The name of exit reason {@code r} (KVM_EXIT_IO → "IO"), or "reason_N". */
    public static String exitName(long r) {
        return r >= 0 && r < EXIT.length ? EXIT[(int) r] : "reason_" + r;
    }

    /** Number of names known; for the header check. */
    public static int exitNames() {
        return EXIT.length;
    }

    /** kvm:kvm_pio's rw field: KVM_PIO_IN 0, KVM_PIO_OUT 1 (include/trace/events/kvm.h). */
    public static final int PIO_IN = 0, PIO_OUT = 1;
    /**
     * kvm:kvm_mmio's type field: KVM_TRACE_MMIO_READ_UNSATISFIED 0, KVM_TRACE_MMIO_READ 1,
     * KVM_TRACE_MMIO_WRITE 2 (include/trace/events/kvm.h).
     */
    public static final int MMIO_READ_UNSATISFIED = 0, MMIO_READ = 1, MMIO_WRITE = 2;
    /** EINTR of &lt;asm-generic/errno-base.h&gt;: kvm_userspace_exit's errno for a KVM_RUN cut short by a signal. */
    public static final int EINTR = 4;
}
