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
 *
 * <p>{@link #launch} ({@code tansa kvm -- QEMU_CMD}) starts the command stopped before its exec
 * ({@code sys.Spawn.stoppedBeforeExec}, as tansa trace does) and opens the same events per CPU on
 * the stopped shell with inherit (threads only) and enable_on_exec, one ring per CPU: qemu's vCPU
 * threads, created later, are counted from their first KVM_RUN. The records of one thread may then
 * be in several rings (it migrates): they are merged by time, 100 ms behind. The vCPU index of each
 * fd comes from the trace itself: {@code raw_syscalls:sys_exit} (filtered to ioctls returning more
 * than 2) gives the fd that KVM_CREATE_VCPU(index) returned; COMM records give the names.
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
    private String comm;
    /** With {@link #launch}: the started command, its exit/creation events, the names from COMM records. */
    private Process child;
    private Tp sysExit;
    private final Map<Integer, String> comms = new HashMap<>();
    /** tid → the vCPU id of its KVM_CREATE_VCPU whose return is not seen yet. */
    private final Map<Integer, Integer> creating = new HashMap<>();
    /** Records drained but not yet counted (merged by time across the per-CPU rings of {@link #launch}). */
    private final List<ByteBuffer> pending = new ArrayList<>();
    private static final long MERGE_LAG_NS = 100_000_000L;
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

    /**
     * Starts {@code command} (a qemu-kvm) under the events: stopped before its exec, events opened
     * per CPU with inherit and enable_on_exec, then let go. {@link #child} is the started process.
     */
    public static KvmStat launch(List<String> command) {
        Process p;
        try {
            p = new ProcessBuilder(io.tansa.sys.Spawn.stoppedBeforeExec(command)).inheritIO().start();
        } catch (java.io.IOException e) {
            throw new Failure(Failure.Kind.USAGE, "cannot start " + command.get(0) + ": " + e.getMessage());
        }
        int pid = (int) p.pid();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ProcFs.state(pid) != 'T') {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new Failure(Failure.Kind.TARGET_EXITED, "could not start " + command.get(0));
            }
            Thread.onSpinWait();
        }
        KvmStat k;
        try {
            k = new KvmStat(pid);
            k.child = p;
            k.comm = command.get(0).substring(command.get(0).lastIndexOf('/') + 1); // until the exec's COMM record
            k.sysExit = Tp.of("raw_syscalls", "sys_exit", "id", "ret");
            k.openInherited();
        } catch (RuntimeException e) {
            p.destroyForcibly();
            throw e;
        }
        io.tansa.sys.Signals.kill(pid, io.tansa.sys.Signals.SIGCONT);
        return k;
    }

    /** The command started by {@link #launch}, else null. */
    public Process child() {
        return child;
    }

    private void openInherited() {
        for (int cpu : ProcFs.onlineCpus()) {
            int leader;
            try {
                leader = event(enter, pid, cpu, -1, true);
                PerfEvent.setFilter(leader, "id == " + Kvm.NR_IOCTL);
                rings.add(PerfRing.map(leader, RING_PAGES));
                int exit = event(sysExit, pid, cpu, leader, true);
                PerfEvent.setFilter(exit, "id == " + Kvm.NR_IOCTL + " && ret > 2");
                for (Tp t : List.of(uexit, pio, mmio, kexit)) event(t, pid, cpu, leader, true);
            } catch (SysException.PermissionException e) {
                throw new Failure(Failure.Kind.PERMISSION, "perf_event_open refused: needs root or CAP_PERFMON", e);
            }
        }
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
                leader = event(enter, tid, -1, -1, false);
                PerfEvent.setFilter(leader, "id == " + Kvm.NR_IOCTL);
                rings.add(PerfRing.map(leader, RING_PAGES));
                for (Tp t : List.of(uexit, pio, mmio, kexit)) event(t, tid, -1, leader, false);
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

    private int event(Tp t, int tid, int cpu, int output, boolean inherit) {
        PerfEvent.Attr a = new PerfEvent.Attr();
        a.type = PerfEvent.TYPE_TRACEPOINT;
        a.config = t.id;
        a.samplePeriod = 1;
        a.sampleType = SAMPLE_TYPE;
        a.clockid = PerfEvent.CLOCK_MONOTONIC;
        a.flag(PerfEvent.BIT_USE_CLOCKID).flag(PerfEvent.BIT_DISABLED).flag(PerfEvent.BIT_WATERMARK);
        if (inherit) {
            // threads of the command, from its exec; the leader also reports names (exec, PR_SET_NAME)
            a.flag(PerfEvent.BIT_INHERIT).flag(PerfEvent.BIT_INHERIT_THREAD).flag(PerfEvent.BIT_ENABLE_ON_EXEC);
            if (output < 0) a.flag(PerfEvent.BIT_COMM);
        }
        a.wakeupEvents = RING_PAGES * PerfRing.PAGE / 4;
        int fd = PerfEvent.open(a, tid, cpu, -1);
        fds.add(fd);
        if (output >= 0) PerfEvent.setOutput(fd, output);
        return fd;
    }

    private KvmReport.Vcpu vcpu(int tid) {
        return byTid.computeIfAbsent(tid, t -> {
            String n = comms.get(t);
            if (n == null) n = ProcFs.comm(pid, t, null);
            if (n == null) n = comm; // gone: a thread without a name of its own has the process's
            return new KvmReport.Vcpu(t, n);
        });
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
            if (child != null ? !child.isAlive() : !ProcFs.alive(pid)) {
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
        flush(Long.MAX_VALUE);
        return report();
    }

    private void drain() {
        if (child == null) {
            for (PerfRing r : rings) r.drain(this::record); // one ring per thread: in order already
            return;
        }
        for (PerfRing r : rings) r.drain(this::arrive);
        flush(System.nanoTime() - MERGE_LAG_NS);
    }

    /**
     * A record of a per-CPU ring ({@link #launch}): COMM records name threads now; a KVM_RUN entry's
     * fd is resolved now, while qemu may still hold it (it may exit before the record is counted);
     * samples wait in {@link #pending} for the time merge.
     */
    private void arrive(ByteBuffer rec) {
        int type = rec.getInt(0);
        if (type == PerfEvent.RECORD_COMM) {
            if (io.tansa.sys.PerfRecord.decode(rec, SAMPLE_TYPE) instanceof io.tansa.sys.PerfRecord.Comm c) {
                comms.put(c.tid(), c.comm());
                if (c.pid() == c.tid() && c.pid() == pid) comm = c.comm(); // the exec of the command (or its main thread renamed)
            }
            return;
        }
        byte[] a = new byte[rec.limit()];
        rec.get(0, a);
        ByteBuffer b = ByteBuffer.wrap(a).order(rec.order());
        if (type == PerfEvent.RECORD_SAMPLE && (b.getShort(LAYOUT.raw()) & 0xffff) == enter.id) {
            long fd = b.getLong(LAYOUT.raw() + enter.off.get("args"));
            if (!fdIndex.containsKey((int) fd)) {
                int i = Vcpus.vcpuOfFd(pid, fd);
                if (i >= 0) fdIndex.put((int) fd, i);
            }
        }
        pending.add(b);
    }

    /** Counts the pending records up to {@code until} (sample time), oldest first. */
    private void flush(long until) {
        if (pending.isEmpty()) return;
        pending.sort(java.util.Comparator.comparingLong(b -> b.getInt(0) == PerfEvent.RECORD_SAMPLE ? b.getLong(LAYOUT.time()) : 0));
        int n = 0;
        for (ByteBuffer b : pending) {
            if (b.getInt(0) == PerfEvent.RECORD_SAMPLE && b.getLong(LAYOUT.time()) > until) break;
            record(b);
            n++;
        }
        pending.subList(0, n).clear();
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
        if (sysExit != null && tp == sysExit.id) {
            // the return of this thread's last ioctl, if it was KVM_CREATE_VCPU(index): the vCPU's fd
            Integer index = creating.remove(tid);
            long ret = b.getLong(raw + sysExit.off.get("ret"));
            if (index != null && ret >= 0) fdIndex.put((int) ret, index);
            return;
        }
        if (tp == enter.id) {
            long[] args = new long[3];
            int a = raw + enter.off.get("args");
            for (int i = 0; i < 3; i++) args[i] = b.getLong(a + 8 * i);
            if (b.getLong(raw + enter.off.get("id")) != Kvm.NR_IOCTL) return;
            creating.remove(tid);
            if ((int) args[1] == (int) Kvm.KVM_CREATE_VCPU) creating.put(tid, (int) args[2]);
            if ((int) args[1] != (int) Kvm.KVM_RUN) return;
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
