package io.tansa.kvm;

import io.tansa.Failure;
import io.tansa.proc.ProcFs;
import io.tansa.proc.Vcpus;
import io.tansa.sys.Kvm;
import io.tansa.sys.PerfEvent;
import io.tansa.sys.PerfRecord;
import io.tansa.sys.PerfRing;
import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code tansa kvm}: per vCPU of a qemu-kvm, KVM_RUN calls and the time inside, exits to user
 * space by reason, I/O ports and MMIO addresses — from the kvm tracepoints, never stopping qemu.
 *
 * <p>Per thread of the VM process (pid = tid, cpu = -1, no inherit: vCPU threads exist once the
 * VM is configured), one perf event each on {@code raw_syscalls:sys_enter} (filtered in the
 * kernel to ioctl: it gives the KVM_RUN entry time and the vCPU fd, hence the index),
 * {@code kvm:kvm_userspace_exit} (each return of KVM_RUN, with kvm_run.exit_reason and errno),
 * {@code kvm:kvm_pio} and {@code kvm:kvm_mmio} (fired in the vCPU thread for every port / MMIO
 * access, whether the kernel or qemu completes it), and {@code kvm:kvm_exit} (in-kernel exits;
 * this host's paravirtual KVM never fires it, which the report says). All write into one ring
 * per thread (PERF_EVENT_IOC_SET_OUTPUT, same task and clock). A record's tracepoint is its
 * common_type field. Closing the fds ends everything: nothing stays in qemu, also on SIGKILL.
 */
public final class KvmStat implements AutoCloseable {
    private static final long SAMPLE_TYPE = PerfEvent.SAMPLE_TID | PerfEvent.SAMPLE_TIME | PerfEvent.SAMPLE_RAW;
    private static final PerfRecord.SampleLayout LAYOUT = PerfRecord.SampleLayout.of(SAMPLE_TYPE);
    private static final int RING_PAGES = 256; // 1 MiB per thread
    private static final int POLL_MS = 20;

    /** A tracepoint used here, with its record offsets (from its tracefs format). */
    private record Tp(String name, int id, Map<String, Integer> off) {
        static Tp of(String system, String event, String... fields) {
            Tracefs.Format f = Tracefs.format(system, event);
            Map<String, Integer> m = new HashMap<>();
            for (String n : fields) m.put(n, f.field(n).orElseThrow(() -> new Failure(Failure.Kind.UNSUPPORTED,
                    system + ":" + event + " has no field " + n)).offset());
            return new Tp(system + ":" + event, f.id(), m);
        }
    }

    private final int pid;
    private final Tp enter, uexit, pio, mmio, kexit;
    private final List<Integer> fds = new ArrayList<>();
    private final List<PerfRing> rings = new ArrayList<>();
    private final Map<Integer, KvmReport.Vcpu> byTid = new LinkedHashMap<>();
    private final Map<Integer, Long> runSince = new HashMap<>();
    private final Map<Integer, Integer> fdIndex;
    private final Map<String, Long> tpCounts = new TreeMap<>();
    private final long start = System.nanoTime();
    private final String comm;
    private volatile boolean stop;
    private long lost;
    private boolean exited;

    private KvmStat(int pid) {
        this.pid = pid;
        try {
            enter = Tp.of("raw_syscalls", "sys_enter", "id", "args");
            uexit = Tp.of("kvm", "kvm_userspace_exit", "reason", "errno");
            pio = Tp.of("kvm", "kvm_pio", "rw", "port", "size", "count");
            mmio = Tp.of("kvm", "kvm_mmio", "type", "len", "gpa");
            kexit = Tp.of("kvm", "kvm_exit", "exit_reason", "vcpu_id");
        } catch (SysException.PermissionException e) {
            throw new Failure(Failure.Kind.PERMISSION, "cannot read the kvm tracepoints: " + e.getMessage()
                    + "; tansa kvm needs root (CAP_SYS_ADMIN for tracefs, CAP_PERFMON for the events)", e);
        } catch (SysException e) {
            throw new Failure(Failure.Kind.UNSUPPORTED, "no kvm tracepoints (" + e.getMessage()
                    + "): is the kvm module loaded (/sys/kernel/tracing/events/kvm)?", e);
        }
        for (Tp t : List.of(uexit, pio, mmio, kexit)) tpCounts.put(t.name, 0L);
        fdIndex = new HashMap<>(Vcpus.fds(pid));
        comm = ProcFs.comm(pid, pid, "?");
    }

    /** Opens the events on every thread of the VM process {@code pid}. */
    public static KvmStat attach(int pid) {
        if (!ProcFs.alive(pid)) throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        if (!Vcpus.isVm(pid)) {
            throw new Failure(Failure.Kind.USAGE, "process " + pid + " (" + ProcFs.comm(pid, pid, "?")
                    + ") holds no KVM VM (no anon_inode:kvm-vm fd): not a qemu-kvm");
        }
        KvmStat k = new KvmStat(pid);
        try {
            k.open();
        } catch (RuntimeException e) {
            k.close();
            throw e;
        }
        return k;
    }

    private void open() {
        Map<Integer, Integer> blocked = Vcpus.blockedInRun(pid);
        List<Integer> opened = new ArrayList<>();
        for (int tid : ProcFs.tasks(pid)) {
            if (Vcpus.kernelWorker(pid, tid)) continue;
            int leader;
            try {
                leader = event(enter, tid, -1);
                PerfEvent.setFilter(leader, "id == " + Kvm.NR_IOCTL);
                rings.add(PerfRing.map(leader, RING_PAGES));
                for (Tp t : List.of(uexit, pio, mmio, kexit)) event(t, tid, leader);
            } catch (SysException.ProcessGoneException e) {
                continue;
            } catch (SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "perf_event_open on thread " + tid
                        + " refused: needs root or CAP_PERFMON", e);
            }
            opened.add(tid);
            KvmReport.Vcpu vc = vcpu(tid); // its name now: qemu may have exited when it is reported
            Integer v = blocked.get(tid);
            if (v != null) vc.index = v;
        }
        if (opened.isEmpty()) throw new Failure(Failure.Kind.TARGET_EXITED, "target exited before tracing began");
        for (int fd : fds) PerfEvent.enable(fd);
    }

    private int event(Tp t, int tid, int output) {
        PerfEvent.Attr a = new PerfEvent.Attr();
        a.type = PerfEvent.TYPE_TRACEPOINT;
        a.config = t.id;
        a.samplePeriod = 1;
        a.sampleType = SAMPLE_TYPE;
        a.clockid = PerfEvent.CLOCK_MONOTONIC;
        a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_DISABLED).flag(PerfEvent.BIT_WATERMARK);
        a.wakeupEvents = RING_PAGES * PerfRing.PAGE / 4;
        int fd = PerfEvent.open(a, tid, -1, -1);
        fds.add(fd);
        if (output >= 0) PerfEvent.setOutput(fd, output);
        return fd;
    }

    private KvmReport.Vcpu vcpu(int tid) {
        return byTid.computeIfAbsent(tid, t -> new KvmReport.Vcpu(t, ProcFs.comm(pid, t, "?")));
    }

    /** Ends {@link #run} soon (from a signal handler thread). */
    public void stop() {
        stop = true;
    }

    /** Threads with events. */
    public int threads() {
        return rings.size();
    }

    /**
     * Drains until {@code duration} (null = none), a stop request or qemu's exit; every
     * {@code watch} (null = never) hands the report so far to {@code onWatch}.
     */
    public KvmReport run(Duration duration, Duration watch, java.util.function.Consumer<KvmReport> onWatch) {
        long end = duration == null ? Long.MAX_VALUE : start + duration.toNanos();
        long nextWatch = watch == null ? Long.MAX_VALUE : System.nanoTime() + watch.toNanos();
        while (!stop) {
            drain();
            long now = System.nanoTime();
            if (!ProcFs.alive(pid)) {
                exited = true;
                drain();
                break;
            }
            if (now >= end) break;
            if (now >= nextWatch) {
                onWatch.accept(report());
                nextWatch += watch.toNanos();
            }
            try {
                TimeUnit.MILLISECONDS.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        drain();
        return report();
    }

    private void drain() {
        for (PerfRing r : rings) r.drain(this::record);
    }

    private void record(ByteBuffer b) {
        int type = b.getInt(0);
        if (type == PerfEvent.RECORD_LOST) {
            lost += b.getLong(16);
            return;
        }
        if (type != PerfEvent.RECORD_SAMPLE) return;
        int tid = b.getInt(LAYOUT.tid());
        long time = b.getLong(LAYOUT.time());
        int raw = LAYOUT.raw();
        int tp = b.getShort(raw) & 0xffff; // common_type
        if (tp == enter.id) {
            long[] args = new long[3];
            int a = raw + enter.off.get("args");
            for (int i = 0; i < 3; i++) args[i] = b.getLong(a + 8 * i);
            if (b.getLong(raw + enter.off.get("id")) != Kvm.NR_IOCTL || (int) args[1] != (int) Kvm.KVM_RUN) return;
            KvmReport.Vcpu v = vcpu(tid);
            if (v.index < 0) {
                Integer idx = fdIndex.get((int) args[0]);
                if (idx == null) {
                    int i = Vcpus.vcpuOfFd(pid, args[0]);
                    if (i >= 0) fdIndex.put((int) args[0], idx = i);
                }
                if (idx != null) v.index = idx;
            }
            runSince.put(tid, time);
        } else if (tp == uexit.id) {
            count(uexit);
            KvmReport.Vcpu v = vcpu(tid);
            long reason = b.getInt(raw + uexit.off.get("reason")) & 0xffffffffL;
            int errno = b.getInt(raw + uexit.off.get("errno"));
            String why = errno == 0 ? Kvm.exitName(reason) : errno == -Kvm.EINTR ? "INTR" : "error";
            v.exits.merge(why, 1L, Long::sum);
            Long since = runSince.remove(tid);
            if (since != null) {
                v.runs++;
                v.runNs += time - since;
            } else {
                v.runsOpen++; // entered before tracing began: counted apart, not in the time
            }
        } else if (tp == pio.id) {
            count(pio);
            int rw = b.getInt(raw + pio.off.get("rw"));
            int port = b.getInt(raw + pio.off.get("port"));
            int n = Math.max(1, b.getInt(raw + pio.off.get("count")));
            vcpu(tid).io.merge(new KvmReport.Port(port, rw == Kvm.PIO_OUT ? "out" : "in"), (long) n, Long::sum);
        } else if (tp == mmio.id) {
            count(mmio);
            int t = b.getInt(raw + mmio.off.get("type"));
            long gpa = b.getLong(raw + mmio.off.get("gpa"));
            String dir = t == Kvm.MMIO_WRITE ? "write" : t == Kvm.MMIO_READ ? "read" : "read_unsatisfied";
            vcpu(tid).mmio.merge(new KvmReport.Addr(gpa, dir), 1L, Long::sum);
        } else if (tp == kexit.id) {
            count(kexit);
            long r = b.getInt(raw + kexit.off.get("exit_reason")) & 0xffffffffL;
            vcpu(tid).kernelExits.merge("0x" + Long.toHexString(r), 1L, Long::sum);
        }
    }

    private void count(Tp t) {
        tpCounts.merge(t.name, 1L, Long::sum);
    }

    /** What was counted so far. vCPU threads are the ones that ran KVM_RUN or exited from it. */
    public KvmReport report() {
        List<KvmReport.Vcpu> vs = new ArrayList<>();
        for (KvmReport.Vcpu v : byTid.values()) {
            if (v.index >= 0 || v.runs + v.runsOpen > 0 || runSince.containsKey(v.tid)) {
                KvmReport.Vcpu c = v.copy();
                c.inRun = runSince.containsKey(v.tid);
                vs.add(c);
            }
        }
        vs.sort(java.util.Comparator.comparingInt((KvmReport.Vcpu v) -> v.index < 0 ? Integer.MAX_VALUE : v.index)
                .thenComparingInt(v -> v.tid));
        return new KvmReport(pid, comm, (System.nanoTime() - start) / 1e9, vs, new TreeMap<>(tpCounts),
                tpCounts.get(kexit.name) > 0, lost, exited);
    }

    @Override
    public void close() {
        PerfRing.closeAll(rings, fds);
    }
}
