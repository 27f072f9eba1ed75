package io.tansa.serve;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.tansa.net.NetNs;
import io.tansa.net.Sockets;
import io.tansa.proc.FdTable;
import io.tansa.proc.ProcFs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /metrics}: the listen queues of every listener on the host (every network namespace
 * some process is in), read at scrape time through sock_diag ({@link Sockets#query}, what
 * {@code tansa sockets -a -l} prints), the kernel's listen overflow/drop counters of each network
 * namespace a process is in, and the fds by type and threads of the processes {@code --allow} selects, written in
 * the Prometheus text format by the Prometheus Java client.
 *
 * <p>Scrapes are serialized; a scrape that arrives while another reads reuses the next reading
 * that <em>starts</em> after it arrived, so 50 concurrent scrapes cost about two readings, and no
 * answer is older than its request.
 */
public final class ListenMetrics {
    /** One reading: the text and when it was started. */
    private record Reading(long startedNanos, byte[] text) {}

    /** At most this many selected processes get per-process series: the scrape stays bounded. */
    static final int MAX_PROCESSES = 1000;

    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private final Object lock = new Object();
    private final Allow selected;
    private Reading last;

    /** @param selected the processes that also get fd and thread counts (those --allow matches) */
    public ListenMetrics(Allow selected) {
        this.selected = selected;
    }

    public String contentType() {
        return writer.getContentType();
    }

    /** The exposition text as of a reading started at or after {@code arrivedNanos}. */
    public byte[] scrape(long arrivedNanos) {
        synchronized (lock) {
            if (last != null && last.startedNanos() - arrivedNanos >= 0) return last.text();
            long start = System.nanoTime();
            last = new Reading(start, write(snapshot(start, selected)));
            return last.text();
        }
    }

    private byte[] write(MetricSnapshots s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
        try {
            writer.write(out, s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Label values of one listener series. */
    private record Key(String proto, String local, String pid, String comm, String netns, String nsPid, String container) {}

    /**
     * The container labels of a holder (README, "Containers"): its pid in its own namespace
     * ("" where it is the same) and its container as Kubernetes writes a containerID
     * ("containerd://ID", "docker://ID", "cri-o://ID"; "" outside containers).
     */
    private static String[] containerLabels(int pid) {
        io.tansa.profile.Identity id = io.tansa.proc.IdentityReader.of(List.of(pid)).get(pid);
        String c = id.container() == null ? "" : id.container().runtime() + "://" + id.container().id();
        return new String[] {id.otherPid() ? Integer.toString(id.nsPid()) : "", c};
    }

    static MetricSnapshots snapshot(long startNanos, Allow selected) {
        String self = NetNs.self();
        List<Sockets.Row> rows = Sockets.query(List.of(), true);
        // Two listeners with equal labels (an SO_REUSEPORT group in one process) are one series:
        // their queues and backlogs add up, as the group's capacity does.
        Map<Key, long[]> series = new LinkedHashMap<>();
        // netns → a process in it, for its /proc/PID/net/netstat ("self" for tansa's own)
        Map<String, String> spaces = new TreeMap<>();
        spaces.put(self, "self");
        for (Sockets.Row r : rows) {
            if (!r.listening()) continue;
            String ns = r.netns() == null ? self : r.netns();
            // A listener shared by forked processes (a Unicorn master and its workers) is labelled with
            // its lowest pid, the master's: one series per socket, so sum() over them counts it once.
            Sockets.Owner owner = r.owners().stream().min((a, b) -> Integer.compare(a.pid(), b.pid())).orElse(null);
            String[] who = owner == null ? new String[] {"", ""} : containerLabels(owner.pid());
            Key k = new Key(r.proto(), r.local(), owner == null ? "" : Integer.toString(owner.pid()),
                    owner == null ? "" : owner.comm(), ns, who[0], who[1]);
            long[] v = series.computeIfAbsent(k, x -> new long[2]);
            v[0] += r.queued();
            v[1] += r.backlog();
            if (owner != null) spaces.putIfAbsent(ns, Integer.toString(owner.pid()));
        }
        GaugeSnapshot.Builder queued = GaugeSnapshot.builder().name("tansa_listen_queued")
                .help("Connections waiting for accept() on a listener (sock_diag: ss's Recv-Q of a listener)");
        GaugeSnapshot.Builder backlog = GaugeSnapshot.builder().name("tansa_listen_backlog")
                .help("Accept queue limit of a listener, listen(2)'s backlog capped by somaxconn (ss's Send-Q)");
        for (var e : series.entrySet()) {
            Key k = e.getKey();
            Labels l = Labels.of("proto", k.proto(), "local", k.local(), "pid", k.pid(), "comm", k.comm(), "netns", k.netns(),
                    "ns_pid", k.nsPid(), "container", k.container());
            queued.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(l).value(e.getValue()[0]).build());
            backlog.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(l).value(e.getValue()[1]).build());
        }
        CounterSnapshot.Builder overflows = CounterSnapshot.builder().name("tansa_listen_overflows")
                .help("TCP connections the kernel could not queue because an accept queue was full (TcpExt ListenOverflows)"
                        + " in a network namespace");
        CounterSnapshot.Builder drops = CounterSnapshot.builder().name("tansa_listen_drops")
                .help("TCP SYNs and handshakes dropped by listeners, overflows included (TcpExt ListenDrops) in a network namespace");
        // and every other namespace a process is in (one readlink per process), listeners or not
        for (int pid : FdTable.pids()) {
            String ns = NetNs.of(pid);
            if (ns != null) spaces.putIfAbsent(ns, Integer.toString(pid));
        }
        for (var e : spaces.entrySet()) {
            Map<String, Long> tcpExt = tcpExt(e.getValue());
            if (tcpExt.isEmpty()) continue; // the process left meanwhile
            Labels l = Labels.of("netns", e.getKey());
            overflows.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(l)
                    .value(tcpExt.getOrDefault("ListenOverflows", 0L)).build());
            drops.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(l)
                    .value(tcpExt.getOrDefault("ListenDrops", 0L)).build());
        }
        GaugeSnapshot.Builder fds = GaugeSnapshot.builder().name("tansa_process_fds")
                .help("Open fds of a process --allow selects, by type (socket, pipe, file, device, or the anon_inode kind)");
        GaugeSnapshot.Builder threads = GaugeSnapshot.builder().name("tansa_process_threads")
                .help("Threads of a process --allow selects");
        if (!selected.none()) processes(selected, fds, threads);
        GaugeSnapshot.Builder listeners = GaugeSnapshot.builder().name("tansa_listeners")
                .help("Listeners read in this scrape");
        listeners.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(series.size()).build());
        GaugeSnapshot.Builder took = GaugeSnapshot.builder().name("tansa_scrape_duration_seconds")
                .help("Time this scrape took to read the listeners and counters");
        took.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value((System.nanoTime() - startNanos) / 1e9).build());
        return MetricSnapshots.builder().metricSnapshot(queued.build()).metricSnapshot(backlog.build())
                .metricSnapshot(overflows.build()).metricSnapshot(drops.build()).metricSnapshot(fds.build())
                .metricSnapshot(threads.build()).metricSnapshot(listeners.build())
                .metricSnapshot(took.build()).build();
    }

    /** fds by type and threads of each process {@code selected} matches (up to {@link #MAX_PROCESSES}). */
    private static void processes(Allow selected, GaugeSnapshot.Builder fds, GaugeSnapshot.Builder threads) {
        int n = 0;
        for (int pid : FdTable.pids()) {
            if (n >= MAX_PROCESSES) break;
            if (selected.match(pid) == null) continue;
            try {
                String comm = ProcFs.comm(pid, pid);
                Map<String, Integer> byType = new TreeMap<>();
                for (FdTable.Fd f : FdTable.list(pid)) byType.merge(fdType(f.target()), 1, Integer::sum);
                int tasks = ProcFs.tasks(pid).length;
                String p = Integer.toString(pid);
                for (var e : byType.entrySet()) {
                    fds.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder()
                            .labels(Labels.of("pid", p, "comm", comm, "type", e.getKey())).value(e.getValue()).build());
                }
                threads.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("pid", p, "comm", comm))
                        .value(tasks).build());
                n++;
            } catch (RuntimeException gone) {
                // exited (or became unreadable) while read: no series for it this time
            }
        }
    }

    /** The type of an fd from its /proc/PID/fd link: socket, pipe, device, file, or the anon_inode kind (eventfd...). */
    static String fdType(String target) {
        if (target.startsWith("socket:[")) return "socket";
        if (target.startsWith("pipe:[")) return "pipe";
        if (target.startsWith("anon_inode:")) {
            String k = target.substring("anon_inode:".length());
            return k.startsWith("[") && k.endsWith("]") ? k.substring(1, k.length() - 1) : k;
        }
        if (target.startsWith("/dev/")) return "device";
        if (target.startsWith("/")) return "file";
        int colon = target.indexOf(':'); // "net:[...]", "mnt:[...]" namespace files and the like
        return colon > 0 ? target.substring(0, colon) : "other";
    }

    /**
     * The TcpExt counters of the network namespace of {@code pid} ("self": tansa's): proc(5)
     * /proc/PID/net/netstat, pairs of lines "TcpExt: NAME..." then "TcpExt: VALUE..."; the file shows
     * the namespace of the process it belongs to, so no setns is needed. Empty when unreadable.
     */
    static Map<String, Long> tcpExt(String pid) {
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of("/proc/" + pid + "/net/netstat"));
        } catch (IOException | UncheckedIOException e) {
            return Map.of();
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (!lines.get(i).startsWith("TcpExt:") || !lines.get(i + 1).startsWith("TcpExt:")) continue;
            String[] names = lines.get(i).split("\\s+");
            String[] values = lines.get(i + 1).split("\\s+");
            for (int j = 1; j < names.length && j < values.length; j++) {
                try {
                    out.put(names[j], Long.parseLong(values[j]));
                } catch (NumberFormatException ignored) {
                    // not a counter
                }
            }
            break;
        }
        return out;
    }
}
