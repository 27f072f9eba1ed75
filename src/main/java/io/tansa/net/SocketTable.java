package io.tansa.net;

import io.tansa.sys.Netlink;
import io.tansa.sys.SockDiag;
import io.tansa.sys.SockDiag.InetSocket;
import io.tansa.sys.SockDiag.UnixSocket;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A snapshot of sockets of the current thread's network namespace, read through sock_diag: UNIX
 * sockets and TCP/UDP sockets over IPv4 and IPv6, by inode. Build it on the thread that is in the
 * namespace wanted ({@link NetNs#call}).
 */
public final class SocketTable {
    /** Up to this many sockets are asked for one by one (by inode); for more, whole tables are dumped. */
    static final int EXACT_LIMIT = 128;

    private final Map<Long, UnixSocket> unix = new HashMap<>();
    private final List<Inet> inet = new ArrayList<>();
    private final Map<Long, Inet> inetByInode = new HashMap<>();

    /** A TCP/UDP socket with its protocol name: "tcp", "tcp6", "udp", "udp6". */
    public record Inet(String proto, InetSocket socket) {}

    private SocketTable() {}

    /**
     * Every UNIX and TCP socket (and UDP unless {@code listenOnly}) of this namespace; with
     * {@code listenOnly} only listeners, which the kernel filters (state mask) before replying.
     */
    public static SocketTable dump(boolean listenOnly) {
        int states = listenOnly ? 1 << SockDiag.TCP_LISTEN : SockDiag.ALL_STATES;
        SocketTable t = new SocketTable();
        try (Netlink nl = Netlink.open(Netlink.NETLINK_SOCK_DIAG)) {
            for (UnixSocket u : SockDiag.dumpUnix(nl, states)) t.unix.put(u.inode(), u);
            t.addInet(nl, "tcp", states);
            t.addInet(nl, "tcp6", states);
            if (!listenOnly) {
                t.addInet(nl, "udp", states);
                t.addInet(nl, "udp6", states);
            }
        }
        return t;
    }

    /**
     * Just what is needed to describe the given sockets: UNIX ones by inode (one exact query
     * each, or one dump when there are many), and a dump of each TCP/UDP family present.
     *
     * @param protoByInode socket inode → tansa type ("unix", "tcp", "udp6", ...)
     */
    public static SocketTable forSockets(Map<Long, String> protoByInode) {
        SocketTable t = new SocketTable();
        List<Long> unixInodes = new ArrayList<>();
        Set<String> inetProtos = new TreeSet<>();
        protoByInode.forEach((ino, p) -> {
            if (p.equals("unix")) unixInodes.add(ino);
            else if (p.startsWith("tcp") || p.startsWith("udp")) inetProtos.add(p);
        });
        if (unixInodes.isEmpty() && inetProtos.isEmpty()) return t;
        try (Netlink nl = Netlink.open(Netlink.NETLINK_SOCK_DIAG)) {
            if (unixInodes.size() > EXACT_LIMIT) {
                for (UnixSocket u : SockDiag.dumpUnix(nl, SockDiag.ALL_STATES)) t.unix.put(u.inode(), u);
            } else {
                for (long ino : unixInodes) {
                    UnixSocket u = SockDiag.unixByInode(nl, ino);
                    if (u != null) t.unix.put(ino, u);
                }
            }
            for (String p : inetProtos) t.addInet(nl, p, SockDiag.ALL_STATES);
        }
        return t;
    }

    private void addInet(Netlink nl, String proto, int states) {
        int family = proto.endsWith("6") ? SockDiag.AF_INET6 : SockDiag.AF_INET;
        int protocol = proto.startsWith("tcp") ? SockDiag.IPPROTO_TCP : SockDiag.IPPROTO_UDP;
        for (InetSocket s : SockDiag.dumpInet(nl, family, protocol, states)) {
            Inet i = new Inet(proto, s);
            inet.add(i);
            if (s.inode() != 0) inetByInode.put(s.inode(), i); // TIME_WAIT and SYN_RECV entries have no inode
        }
    }

    /** "unix", "tcp", "tcp6", "udp", "udp6" for a socket in this table, else null. */
    public String typeOf(long inode) {
        if (unix.containsKey(inode)) return "unix";
        Inet i = inetByInode.get(inode);
        return i == null ? null : i.proto();
    }

    public UnixSocket unix(long inode) {
        return unix.get(inode);
    }

    public Inet inet(long inode) {
        return inetByInode.get(inode);
    }

    public Collection<UnixSocket> unixSockets() {
        return unix.values();
    }

    public List<Inet> inetSockets() {
        return inet;
    }

    /** "127.0.0.1:8080" / "[::1]:8080" for the local end of {@code s}. */
    public static String local(InetSocket s) {
        return Addr.format(s.src(), s.sport());
    }

    public static String remote(InetSocket s) {
        return Addr.format(s.dst(), s.dport());
    }
}
