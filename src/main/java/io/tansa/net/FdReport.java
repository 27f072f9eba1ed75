package io.tansa.net;

import io.tansa.Failure;
import io.tansa.proc.FdInfo;
import io.tansa.proc.FdTable;
import io.tansa.proc.FdTable.Fd;
import io.tansa.proc.ProcFs;
import io.tansa.sys.FdFlags;
import io.tansa.sys.Signals;
import io.tansa.sys.SockDiag;
import io.tansa.sys.SockDiag.InetSocket;
import io.tansa.sys.SockDiag.UnixSocket;
import io.tansa.sys.SockXattr;
import io.tansa.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code tansa fds}: every open fd of a process, typed (file, pipe, unix, tcp, eventfd, epoll,
 * anon_inode kinds such as kvm-vcpu, ...) with the details the kernel tells: fdinfo (flags, pos,
 * eventfd count, epoll watches, timerfd clock and interval, signalfd mask, inotify watches),
 * sock_diag (addresses, state, queues) and the peer at the other end of a UNIX socket or pipe —
 * which may be in another process.
 *
 * @param comm the process name
 */
public record FdReport(int pid, String comm, List<Entry> fds) {

    /**
     * One fd. {@code details} holds, in print order, what applies: kind, flags, pos, count,
     * watches, clock, interval, next, signals, name, deleted, socket_type, local, remote, state,
     * queued, backlog, recv_q, send_q, peer ({@link Peer}), inode.
     */
    public record Entry(int fd, String type, String target, Map<String, Object> details) {}

    /** The other end of a UNIX socket or pipe. */
    public record Peer(int pid, int fd, String comm) {}

    /** Another fd on the same pipe or FIFO (any process, either end), as lsof +E lists them: mode "r", "w" or "rw". */
    public record Holder(int pid, String comm, int fd, String mode) {}

    /** One line of {@code --summary}: "24 × anon_inode:kvm-vcpu". */
    public record Group(String what, int count) {}

    private static final Pattern INDEXED = Pattern.compile("(.+?):(\\d+)");

    /**
     * Inspects {@code pid}.
     *
     * @throws Failure NO_SUCH_PROCESS / PERMISSION
     */
    public static FdReport inspect(int pid) {
        List<Fd> fds;
        try {
            fds = FdTable.list(pid);
        } catch (SysException.ProcessGoneException e) {
            throw new Failure(Failure.Kind.NO_SUCH_PROCESS, "no such process: " + pid);
        } catch (SysException.PermissionException e) {
            throw new Failure(Failure.Kind.PERMISSION, "cannot read /proc/" + pid
                    + "/fd: needs the same user or root (CAP_SYS_PTRACE); check kernel.yama.ptrace_scope", e);
        }
        Map<Integer, FdInfo> infos = new HashMap<>();
        List<Fd> socketFds = new ArrayList<>();
        for (Fd f : fds) {
            FdInfo info = FdInfo.read(pid, f.fd());
            if (info != null) infos.put(f.fd(), info);
            if (f.isSocket()) socketFds.add(f);
        }
        Map<Long, String> socketProto = new HashMap<>();
        SocketTable sockets = null;
        if (socketFds.size() > SocketTable.EXACT_LIMIT) {
            // many sockets: dumping the tables once beats asking for each; the protocol of the
            // few the tables do not cover (netlink, packet, raw) comes from sockfs
            SocketTable all = NetNs.call(pid, () -> SocketTable.dump(false));
            for (Fd f : socketFds) {
                String type = all.typeOf(f.bracketInode());
                socketProto.put(f.bracketInode(),
                        type != null ? type : socketType(SockXattr.protocolName(f.procPath())));
            }
            sockets = all;
        } else if (!socketFds.isEmpty()) {
            for (Fd f : socketFds) socketProto.put(f.bracketInode(), socketType(SockXattr.protocolName(f.procPath())));
            sockets = NetNs.call(pid, () -> SocketTable.forSockets(socketProto));
        }

        List<Entry> out = new ArrayList<>();
        for (Fd f : fds) {
            FdInfo info = infos.get(f.fd());
            if (info == null) continue; // closed while we looked
            out.add(describe(f, info, socketProto, sockets));
        }
        resolvePeers(pid, fds, infos, out, sockets);
        vcpuThreads(pid, out);
        return new FdReport(pid, FdTable.comm(pid), out);
    }

    /**
     * Which thread runs each kvm-vcpu fd: "tid" and "thread" (its name by the one rule,
     * {@link ProcFs#threadName}: "vCPU N" when qemu gave it none), from the fd each thread is
     * blocked in KVM_RUN on ({@link io.tansa.proc.Vcpus#threads}); absent for a vCPU whose thread
     * was on a CPU at every read.
     */
    private static void vcpuThreads(int pid, List<Entry> out) {
        if (out.stream().noneMatch(e -> "kvm-vcpu".equals(e.details().get("kind")))) return;
        Map<Integer, Integer> byIndex = new HashMap<>();
        io.tansa.proc.Vcpus.threads(pid).forEach((tid, index) -> byIndex.putIfAbsent(index, tid));
        for (Entry e : out) {
            if (!"kvm-vcpu".equals(e.details().get("kind"))) continue;
            Integer tid = byIndex.get((Integer) e.details().get("index"));
            if (tid == null) continue;
            e.details().put("tid", tid);
            String name = ProcFs.threadName(pid, tid, null);
            if (name != null) e.details().put("thread", name);
        }
    }

    /** tansa's socket type from the sockfs protocol name ("TCPv6" → tcp6). */
    static String socketType(String protoName) {
        if (protoName == null) return "socket";
        return switch (protoName) {
            case "UNIX", "UNIX-STREAM" -> "unix"; // net/unix/af_unix.c: dgram+seqpacket, stream
            case "TCP" -> "tcp";
            case "TCPv6" -> "tcp6";
            case "UDP" -> "udp";
            case "UDPv6" -> "udp6";
            case "RAW", "RAWv6", "PING", "PINGv6" -> "raw";
            case "NETLINK" -> "netlink";
            case "PACKET" -> "packet";
            default -> protoName.toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static Entry describe(Fd f, FdInfo info, Map<Long, String> socketProto, SocketTable sockets) {
        String t = f.target();
        Map<String, Object> d = new LinkedHashMap<>();
        String type;
        if (f.isSocket()) {
            type = socketProto.get(f.bracketInode());
            describeSocket(type, f.bracketInode(), sockets, d);
        } else if (f.isPipe()) {
            type = "pipe";
        } else if (t.startsWith("anon_inode:") || t.startsWith("pidfd:")) {
            String kind = t.startsWith("pidfd:") ? "pidfd" : t.substring("anon_inode:".length());
            if (kind.startsWith("[") && kind.endsWith("]")) kind = kind.substring(1, kind.length() - 1);
            type = switch (kind) {
                case "eventfd" -> "eventfd";
                case "signalfd" -> "signalfd";
                case "timerfd" -> "timerfd";
                case "eventpoll" -> "epoll";
                case "inotify" -> "inotify";
                case "fanotify" -> "fanotify";
                case "pidfd" -> "pidfd";
                case "perf_event" -> "perf_event";
                case "io_uring" -> "io_uring";
                default -> "anon_inode";
            };
            if (type.equals("anon_inode")) {
                Matcher m = INDEXED.matcher(kind); // kvm-vcpu:3 → kind kvm-vcpu, index 3
                if (m.matches()) {
                    d.put("kind", m.group(1));
                    d.put("index", Integer.parseInt(m.group(2)));
                } else {
                    d.put("kind", kind);
                }
            }
        } else if (t.startsWith("/memfd:")) {
            type = "memfd";
            String name = t.substring("/memfd:".length());
            if (name.endsWith(" (deleted)")) name = name.substring(0, name.length() - " (deleted)".length());
            d.put("name", name);
        } else {
            type = fileType(f);
        }
        d.put("flags", FdFlags.names(info.flags()));
        switch (type) {
            case "file", "dir", "blk", "chr", "memfd" -> d.put("pos", info.pos());
            case "eventfd" -> {
                d.put("count", info.eventfdCount());
                if (info.eventfdId() >= 0) d.put("id", info.eventfdId());
            }
            case "epoll" -> d.put("watches", info.epollTargets());
            case "io_uring" -> {
                long sqMask = info.number("SqMask", -1), cqMask = info.number("CqMask", -1);
                if (sqMask >= 0 && cqMask >= 0) {
                    // the ring sizes are the masks + 1; head/tail are free-running 32-bit counters
                    d.put("sq_entries", sqMask + 1);
                    d.put("cq_entries", cqMask + 1);
                    d.put("sq_pending", (info.number("SqTail", 0) - info.number("SqHead", 0)) & 0xffffffffL);
                    d.put("cq_pending", (info.number("CqTail", 0) - info.number("CqHead", 0)) & 0xffffffffL);
                    long sqThread = info.number("SqThread", -1);
                    if (sqThread > 0) d.put("sq_thread", sqThread); // IORING_SETUP_SQPOLL's kernel thread
                    List<Map<String, Object>> files = new ArrayList<>();
                    for (FdInfo.RegisteredFile rf : info.uringFiles()) {
                        Map<String, Object> m = new LinkedHashMap<>();
                        m.put("index", rf.index());
                        m.put("path", rf.path());
                        files.add(m);
                    }
                    d.put("registered_files", files);
                    d.put("registered_buffers", info.number("UserBufs", 0));
                }
            }
            case "timerfd" -> {
                d.put("clock", FdFlags.clockName(info.timerClock()));
                d.put("interval", info.timerSeconds("it_interval"));
                d.put("next", info.timerSeconds("it_value"));
            }
            case "signalfd" -> {
                List<String> sigs = new ArrayList<>();
                long mask = info.sigmask();
                for (int s = 1; s <= 64; s++) if ((mask & (1L << (s - 1))) != 0) sigs.add(Signals.name(s));
                d.put("signals", sigs);
            }
            case "inotify" -> {
                List<Map<String, Object>> ws = new ArrayList<>();
                for (FdInfo.InotifyWatch w : info.inotifyWatches()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("wd", w.wd());
                    m.put("inode", w.inode());
                    m.put("mask", "0x" + Long.toHexString(w.mask()));
                    ws.add(m);
                }
                d.put("watches", ws);
            }
            default -> { }
        }
        if (!type.equals("memfd") && t.startsWith("/") && t.endsWith(" (deleted)")) d.put("deleted", true);
        if (f.isSocket() || f.isPipe() || type.equals("fifo")) d.put("inode", info.inode());
        return new Entry(f.fd(), type, t, d);
    }

    private static void describeSocket(String type, long ino, SocketTable sockets, Map<String, Object> d) {
        if (sockets == null) return;
        if (type.equals("unix")) {
            UnixSocket u = sockets.unix(ino);
            if (u == null) return;
            d.put("socket_type", SockDiag.unixTypeName(u.type()));
            if (u.name() != null) d.put("local", u.name());
            d.put("state", SockDiag.stateName(u.state()));
            queues(u.state() == SockDiag.TCP_LISTEN, u.rqueue(), u.wqueue(), d);
        } else {
            SocketTable.Inet i = sockets.inet(ino);
            if (i == null) return;
            InetSocket s = i.socket();
            boolean listen = s.state() == SockDiag.TCP_LISTEN;
            d.put("local", SocketTable.local(s));
            if (!listen && s.dport() != 0) d.put("remote", SocketTable.remote(s));
            d.put("state", SockDiag.stateName(s.state()));
            queues(listen, s.rqueue(), s.wqueue(), d);
        }
    }

    private static void queues(boolean listen, long rq, long wq, Map<String, Object> d) {
        d.put(listen ? "queued" : "recv_q", rq);
        d.put(listen ? "backlog" : "send_q", wq);
    }

    /** file, dir, chr, blk, fifo (S_IFMT of stat(2) through the fd, so deleted files work too). */
    private static String fileType(Fd f) {
        try {
            int mode = (Integer) Files.getAttribute(Path.of(f.procPath()), "unix:mode");
            return switch (mode & 0170000) {
                case 0040000 -> "dir";
                case 0020000 -> "chr";
                case 0060000 -> "blk";
                case 0010000 -> "fifo";
                default -> "file";
            };
        } catch (IOException | UnsupportedOperationException e) {
            return "file";
        }
    }

    /**
     * Fills "peer": for a UNIX socket, the holder of the peer inode sock_diag names; for a pipe or
     * fifo, the holder of the same inode opened the other way (read vs write). The process itself
     * is searched first, then — only if something is still missing — every process.
     */
    private static void resolvePeers(int pid, List<Fd> fds, Map<Integer, FdInfo> infos, List<Entry> out,
            SocketTable sockets) {
        Map<Long, Long> unixPeer = new HashMap<>(); // socket inode → peer inode
        Set<Long> wantSockets = new HashSet<>(), wantPipes = new HashSet<>();
        boolean fifos = false;
        for (Entry e : out) {
            long ino = e.details().get("inode") instanceof Long l ? l : -1;
            if (e.type().equals("unix") && sockets != null) {
                UnixSocket u = sockets.unix(ino);
                if (u != null && u.peer() != 0) {
                    unixPeer.put(ino, u.peer());
                    wantSockets.add(u.peer());
                }
            } else if (e.type().equals("pipe") || e.type().equals("fifo")) {
                wantPipes.add(ino);
                fifos |= e.type().equals("fifo");
            }
        }
        if (wantSockets.isEmpty() && wantPipes.isEmpty()) return;
        // holders: inode → fds holding it, own process first
        Map<Long, List<Fd>> holders = new HashMap<>();
        for (Fd f : fds) {
            FdInfo i = infos.get(f.fd());
            if (i != null && (wantSockets.contains(i.inode()) || wantPipes.contains(i.inode()))) {
                holders.computeIfAbsent(i.inode(), k -> new ArrayList<>()).add(f);
            }
        }
        Set<Long> missingSockets = new HashSet<>(wantSockets);
        missingSockets.removeAll(holders.keySet());
        // every holder of a pipe, also when both ends are here: another process may share an end
        Set<Long> missingPipes = new HashSet<>(wantPipes);
        if (!missingSockets.isEmpty() || !missingPipes.isEmpty()) {
            Set<Long> all = new HashSet<>(missingSockets);
            all.addAll(missingPipes);
            for (int other : FdTable.pids()) {
                if (other == pid) continue;
                List<Fd> theirs;
                try {
                    theirs = FdTable.list(other);
                } catch (SysException e) {
                    continue;
                }
                for (Fd f : theirs) {
                    long ino = f.bracketInode();
                    if (ino < 0 && f.target().startsWith("/")) {
                        // a named fifo: compare by inode only when it is one we look for
                        FdInfo fi = fifos && !missingPipes.isEmpty() ? FdInfo.read(other, f.fd()) : null;
                        ino = fi == null ? -1 : fi.inode();
                    }
                    if (ino >= 0 && all.contains(ino)) holders.computeIfAbsent(ino, k -> new ArrayList<>()).add(f);
                }
            }
        }
        Map<Integer, String> comms = new TreeMap<>();
        for (Entry e : out) {
            long ino = e.details().get("inode") instanceof Long l ? l : -1;
            Fd peer = null;
            if (e.type().equals("unix") && unixPeer.containsKey(ino)) {
                List<Fd> h = holders.get(unixPeer.get(ino));
                if (h != null) peer = h.get(0);
            } else if (e.type().equals("pipe") || e.type().equals("fifo")) {
                int myMode = infos.get(e.fd()).flags() & FdFlags.O_ACCMODE;
                List<Holder> others = new ArrayList<>();
                for (Fd h : holders.getOrDefault(ino, List.of())) {
                    if (h.pid() == pid && h.fd() == e.fd()) continue;
                    FdInfo hi = h.pid() == pid ? infos.get(h.fd()) : FdInfo.read(h.pid(), h.fd());
                    if (hi == null) continue; // closed meanwhile
                    int mode = hi.flags() & FdFlags.O_ACCMODE;
                    if (peer == null && mode != myMode) peer = h;
                    others.add(new Holder(h.pid(), comms.computeIfAbsent(h.pid(), FdTable::comm), h.fd(),
                            mode == FdFlags.O_RDONLY ? "r" : mode == FdFlags.O_WRONLY ? "w" : "rw"));
                }
                others.sort(java.util.Comparator.comparingInt(Holder::pid).thenComparingInt(Holder::fd));
                // more than the one peer: every holder, as lsof +E (the peer alone says it all otherwise)
                if (others.size() > 1) e.details().put("holders", others);
            }
            if (peer != null) {
                int ppid = peer.pid();
                e.details().put("peer", new Peer(ppid, peer.fd(), comms.computeIfAbsent(ppid, FdTable::comm)));
            }
        }
    }

    /** Groups for {@code --summary}: "tcp listen", "anon_inode:kvm-vcpu", "file", most frequent first. */
    public List<Group> summary() {
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (Entry e : fds) {
            String what = e.type();
            if (e.details().get("kind") instanceof String k) what += ":" + k;
            if (e.details().get("state") instanceof String s) what += " " + s;
            counts.merge(what, 1, Integer::sum);
        }
        List<Group> out = new ArrayList<>();
        counts.forEach((k, v) -> out.add(new Group(k, v)));
        out.sort((a, b) -> a.count() != b.count() ? Integer.compare(b.count(), a.count()) : a.what().compareTo(b.what()));
        return out;
    }
}
