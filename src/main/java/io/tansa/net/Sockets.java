package io.tansa.net;

import io.tansa.Failure;
import io.tansa.proc.FdTable;
import io.tansa.proc.FdTable.Fd;
import io.tansa.sys.SockDiag;
import io.tansa.sys.SockDiag.InetSocket;
import io.tansa.sys.SockDiag.UnixSocket;
import io.tansa.sys.SysException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * {@code tansa sockets}: sockets (by default listeners) of some processes or of all, with their
 * queues from sock_diag and the processes that hold them. For a listener, {@code queued} is the
 * number of connections waiting for accept() and {@code backlog} its limit; for other sockets
 * they are the receive and send queues.
 */
public final class Sockets {
    private Sockets() {}

    /** A process holding a socket. */
    public record Owner(int pid, int fd, String comm) {}

    /**
     * One socket. {@code proto}: unix, tcp, tcp6, udp, udp6; {@code type}: stream/dgram/seqpacket
     * for UNIX sockets, else null; {@code netns} set when not tansa's own namespace.
     */
    public record Row(String proto, String type, long inode, String local, String remote, String state, long queued,
            long backlog, List<Owner> owners, String netns) {
        public boolean listening() {
            return state.equals("listen");
        }

        /** The accept queue is full: further connections wait (TCP: SYN dropped; UNIX: connect blocks). */
        public boolean full() {
            return listening() && queued >= backlog;
        }

        /** Identity across samples. */
        public String key() {
            return (netns == null ? "" : netns) + "/" + inode + "/" + proto + "/" + local;
        }
    }

    private static final List<String> PROTO_ORDER = List.of("unix", "tcp", "tcp6", "udp", "udp6");

    /**
     * Sockets of {@code pids} (all processes when empty), only listeners when {@code listenOnly}.
     * With no pid, every socket of tansa's namespace is listed (also those no process holds), plus
     * those of other namespaces that some process is in.
     */
    public static List<Row> query(List<Integer> pids, boolean listenOnly) {
        boolean all = pids.isEmpty();
        Map<Long, List<Fd>> holders = new HashMap<>();
        // namespace → one pid in it (to enter it by), in discovery order
        Map<String, Integer> spaces = new LinkedHashMap<>();
        String self = NetNs.self();
        if (all) {
            spaces.put(self, -1);
            holders = FdTable.allSockets();
            for (List<Fd> fds : holders.values()) {
                for (Fd f : fds) {
                    if (spaces.containsValue(f.pid())) continue;
                    String ns = NetNs.of(f.pid());
                    if (ns != null) spaces.putIfAbsent(ns, f.pid());
                }
            }
        } else {
            for (int pid : pids) {
                List<Fd> fds;
                try {
                    fds = FdTable.list(pid);
                } catch (SysException.ProcessGoneException e) {
                    throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
                }
                for (Fd f : fds) {
                    if (f.isSocket()) holders.computeIfAbsent(f.bracketInode(), k -> new ArrayList<>()).add(f);
                }
                String ns = NetNs.of(pid);
                spaces.putIfAbsent(ns == null ? self : ns, pid);
            }
        }
        List<Row> rows = new ArrayList<>();
        Map<Integer, String> comms = new HashMap<>();
        for (var e : spaces.entrySet()) {
            String ns = e.getKey();
            int via = e.getValue();
            SocketTable t = via < 0 || ns.equals(self) ? SocketTable.dump(listenOnly)
                    : NetNs.call(via, () -> SocketTable.dump(listenOnly));
            String nsLabel = ns.equals(self) ? null : ns;
            for (UnixSocket u : t.unixSockets()) {
                List<Owner> owners = owners(holders.get(u.inode()), comms);
                if (!all && owners.isEmpty()) continue;
                rows.add(new Row("unix", SockDiag.unixTypeName(u.type()), u.inode(), u.name() == null ? "" : u.name(),
                        null, SockDiag.stateName(u.state()), u.rqueue(), u.wqueue(), owners, nsLabel));
            }
            for (SocketTable.Inet i : t.inetSockets()) {
                InetSocket s = i.socket();
                List<Owner> owners = owners(s.inode() == 0 ? null : holders.get(s.inode()), comms);
                if (!all && owners.isEmpty()) continue;
                boolean listen = s.state() == SockDiag.TCP_LISTEN;
                rows.add(new Row(i.proto(), null, s.inode(), SocketTable.local(s), listen ? null : SocketTable.remote(s),
                        SockDiag.stateName(s.state()), s.rqueue(), s.wqueue(), owners, nsLabel));
            }
        }
        rows.sort(Comparator.comparing((Row r) -> r.netns() == null ? "" : r.netns())
                .thenComparingInt(r -> PROTO_ORDER.indexOf(r.proto()))
                .thenComparing(Row::local).thenComparingLong(Row::inode));
        return rows;
    }

    private static List<Owner> owners(List<Fd> fds, Map<Integer, String> comms) {
        if (fds == null) return List.of();
        List<Owner> out = new ArrayList<>(fds.size());
        for (Fd f : fds) out.add(new Owner(f.pid(), f.fd(), comms.computeIfAbsent(f.pid(), FdTable::comm)));
        return out;
    }

    /** One listener in one {@link #watch} sample: its current row, the peak queue seen so far. */
    public record Sample(Row row, long peak) {}

    /**
     * Samples the listeners of {@code pids} (all when empty) every {@code interval} and hands each
     * sample to {@code each}, until {@code limit} (null: until interrupted, e.g. by Ctrl-C).
     */
    public static void watch(List<Integer> pids, Duration interval, Duration limit,
            BiConsumer<Instant, List<Sample>> each) {
        Map<String, Long> peaks = new HashMap<>();
        long next = System.nanoTime();
        long end = limit == null ? Long.MAX_VALUE : next + limit.toNanos();
        while (true) {
            List<Sample> samples = new ArrayList<>();
            for (Row r : query(pids, true)) {
                long peak = peaks.merge(r.key(), r.queued(), Math::max);
                samples.add(new Sample(r, peak));
            }
            each.accept(Instant.now(), samples);
            long now = System.nanoTime();
            do next += interval.toNanos(); while (next <= now); // a slow sample skips ticks, keeps the cadence
            if (next > end) return;
            try {
                Thread.sleep(Duration.ofNanos(Math.max(0, next - now)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
