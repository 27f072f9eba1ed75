package io.tansa.report;

import io.tansa.kvm.KvmReport;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code tansa kvm} output: a text table per VM (one line per vCPU, then its top ports), or JSON. */
public final class KvmRender {
    private KvmRender() {}

    private static <K> List<Map.Entry<K, Long>> ranked(Map<K, Long> m) {
        List<Map.Entry<K, Long>> l = new ArrayList<>(m.entrySet());
        l.sort(Map.Entry.<K, Long>comparingByValue().reversed().thenComparing(e -> e.getKey().toString()));
        return l;
    }

    public static void text(KvmReport r, String comm, int top, PrintStream out) {
        out.printf(Locale.ROOT, "pid %d (%s), %.1f s%s%n", r.pid(), comm, r.seconds(), r.exited() ? ", qemu exited" : "");
        out.printf(Locale.ROOT, "%-10s %8s %10s %12s %10s  %s%n", "VCPU", "TID", "RUNS", "RUN_MS", "AVG_US", "EXITS TO USER SPACE");
        for (KvmReport.Vcpu v : r.vcpus()) {
            StringBuilder ex = new StringBuilder();
            for (var e : ranked(v.exits)) ex.append(ex.isEmpty() ? "" : " ").append(e.getKey()).append(' ').append(e.getValue());
            out.printf(Locale.ROOT, "%-10s %8d %10d %12.3f %10s  %s%n", v.name(comm), v.tid, v.runs, v.runNs / 1e6,
                    v.runs == 0 ? "-" : String.format(Locale.ROOT, "%.1f", v.runNs / 1e3 / v.runs), ex);
            if (v.runsOpen > 0 || v.inRun) {
                out.printf(Locale.ROOT, "%-10s %s%n", "", (v.runsOpen > 0 ? v.runsOpen + " run(s) entered before tracing (not timed)" : "")
                        + (v.inRun ? (v.runsOpen > 0 ? "; " : "") + "inside KVM_RUN at the end" : ""));
            }
            int n = 0;
            for (var e : ranked(v.io)) {
                if (n++ == top) break;
                out.printf(Locale.ROOT, "%-10s   port 0x%x %-3s %d%n", "", e.getKey().port(), e.getKey().dir(), e.getValue());
            }
            n = 0;
            for (var e : ranked(v.mmio)) {
                if (n++ == top) break;
                out.printf(Locale.ROOT, "%-10s   mmio 0x%x %-5s %d%n", "", e.getKey().gpa(), e.getKey().dir(), e.getValue());
            }
        }
        out.printf("in-kernel exits (kvm:kvm_exit): %s%n", r.kernelExits() ? "counted"
                : "this host's KVM does not fire kvm:kvm_exit/kvm_entry; only exits to user space are known");
        if (r.lost() > 0) out.printf("%d records lost (ring full): counts are low%n", r.lost());
    }

    public static void json(KvmReport r, String comm, PrintStream out) {
        StringBuilder b = new StringBuilder();
        b.append("{\"pid\": ").append(r.pid()).append(String.format(Locale.ROOT, ", \"seconds\": %.3f", r.seconds()))
                .append(", \"vcpus\": [");
        boolean first = true;
        for (KvmReport.Vcpu v : r.vcpus()) {
            if (!first) b.append(", ");
            first = false;
            b.append("{\"index\": ").append(v.index).append(", \"tid\": ").append(v.tid).append(", \"name\": ")
                    .append(Json.quote(v.name(comm))).append(", \"runs\": ").append(v.runs)
                    .append(", \"runs_open\": ").append(v.runsOpen)
                    .append(", \"run_us\": ").append(v.runNs / 1000).append(", \"exits\": {");
            boolean f2 = true;
            for (var e : ranked(v.exits)) {
                b.append(f2 ? "" : ", ").append(Json.quote(e.getKey())).append(": ").append(e.getValue());
                f2 = false;
            }
            b.append("}, \"io\": [");
            f2 = true;
            for (var e : ranked(v.io)) {
                b.append(f2 ? "" : ", ").append("{\"port\": \"0x").append(Integer.toHexString(e.getKey().port()))
                        .append("\", \"dir\": \"").append(e.getKey().dir()).append("\", \"count\": ").append(e.getValue()).append('}');
                f2 = false;
            }
            b.append("], \"mmio\": [");
            f2 = true;
            for (var e : ranked(v.mmio)) {
                b.append(f2 ? "" : ", ").append("{\"address\": \"0x").append(Long.toHexString(e.getKey().gpa()))
                        .append("\", \"dir\": \"").append(e.getKey().dir()).append("\", \"count\": ").append(e.getValue()).append('}');
                f2 = false;
            }
            b.append("], \"kernel_exits\": {");
            f2 = true;
            for (var e : ranked(v.kernelExits)) {
                b.append(f2 ? "" : ", ").append(Json.quote(e.getKey())).append(": ").append(e.getValue());
                f2 = false;
            }
            b.append("}}");
        }
        b.append("], \"tracepoints\": {");
        first = true;
        for (var e : r.tracepoints().entrySet()) {
            b.append(first ? "" : ", ").append(Json.quote(e.getKey())).append(": ").append(e.getValue());
            first = false;
        }
        b.append("}, \"kernel_exits\": ").append(r.kernelExits()).append(", \"lost\": ").append(r.lost())
                .append(", \"qemu_exited\": ").append(r.exited()).append('}');
        out.println(b);
    }
}
