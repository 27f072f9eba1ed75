package io.tansa.sys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * NETLINK_SOCK_DIAG (sock_diag(7)): the kernel's socket tables, as {@code ss} reads them. UNIX
 * sockets through unix_diag (&lt;linux/unix_diag.h&gt;), TCP/UDP through inet_diag
 * (&lt;linux/inet_diag.h&gt;). Offsets below are checked against the headers in LayoutTest.
 */
public final class SockDiag {
    private SockDiag() {}

    /** &lt;linux/sock_diag.h&gt; */
    public static final int SOCK_DIAG_BY_FAMILY = 20;
    public static final int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10;
    public static final int IPPROTO_TCP = 6, IPPROTO_UDP = 17;
    public static final int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_SEQPACKET = 5;
    /** include/net/tcp_states.h (UNIX sockets use the same numbers for their states). */
    public static final int TCP_ESTABLISHED = 1, TCP_LISTEN = 10, TCP_CLOSE = 7;
    public static final int ALL_STATES = 0xffffffff;
    private static final String[] STATES = {null, "established", "syn-sent", "syn-recv", "fin-wait-1",
        "fin-wait-2", "time-wait", "unconnected", "close-wait", "last-ack", "listen", "closing", "new-syn-recv"};

    /** ss-style state name: "listen", "established", "unconnected" (TCP_CLOSE), ... */
    public static String stateName(int state) {
        return state > 0 && state < STATES.length ? STATES[state] : "state-" + state;
    }

    /** "stream", "dgram", "seqpacket" for a UNIX socket type. */
    public static String unixTypeName(int type) {
        return switch (type) {
            case SOCK_STREAM -> "stream";
            case SOCK_DGRAM -> "dgram";
            case SOCK_SEQPACKET -> "seqpacket";
            default -> "type-" + type;
        };
    }

    /** struct unix_diag_req { __u8 sdiag_family, sdiag_protocol; __u16 pad; __u32 udiag_states, udiag_ino, udiag_show; __u32 udiag_cookie[2]; } */
    public static final int UNIX_REQ_SIZE = 24, OFF_UREQ_STATES = 4, OFF_UREQ_INO = 8, OFF_UREQ_SHOW = 12,
            OFF_UREQ_COOKIE = 16;
    /** struct unix_diag_msg { __u8 udiag_family, udiag_type, udiag_state, pad; __u32 udiag_ino; __u32 udiag_cookie[2]; } */
    public static final int UNIX_MSG_SIZE = 16, OFF_UMSG_TYPE = 1, OFF_UMSG_STATE = 2, OFF_UMSG_INO = 4;
    public static final int UDIAG_SHOW_NAME = 0x1, UDIAG_SHOW_VFS = 0x2, UDIAG_SHOW_PEER = 0x4,
            UDIAG_SHOW_RQLEN = 0x10;
    public static final int UNIX_DIAG_NAME = 0, UNIX_DIAG_VFS = 1, UNIX_DIAG_PEER = 2, UNIX_DIAG_RQLEN = 4;

    /** struct inet_diag_sockid { __be16 sport, dport; __be32 src[4], dst[4]; __u32 if; __u32 cookie[2]; } */
    public static final int SOCKID_SIZE = 48, OFF_ID_SPORT = 0, OFF_ID_DPORT = 2, OFF_ID_SRC = 4, OFF_ID_DST = 20,
            OFF_ID_IF = 36, OFF_ID_COOKIE = 40;
    /** struct inet_diag_req_v2 { __u8 sdiag_family, sdiag_protocol, idiag_ext, pad; __u32 idiag_states; struct inet_diag_sockid id; } */
    public static final int INET_REQ_SIZE = 56, OFF_IREQ_PROTOCOL = 1, OFF_IREQ_STATES = 4, OFF_IREQ_ID = 8;
    /** struct inet_diag_msg { __u8 family, state, timer, retrans; sockid id; __u32 expires, rqueue, wqueue, uid, inode; } */
    public static final int INET_MSG_SIZE = 72, OFF_IMSG_STATE = 1, OFF_IMSG_ID = 4, OFF_IMSG_RQUEUE = 56,
            OFF_IMSG_WQUEUE = 60, OFF_IMSG_UID = 64, OFF_IMSG_INODE = 68;

    /**
     * One UNIX socket. For a listener {@code rqueue} is the number of connections waiting for
     * accept() and {@code wqueue} the backlog (net/unix/diag.c, sk_diag_show_rqlen); otherwise
     * they are the bytes/datagrams queued. {@code name} is the path, "@name" for an abstract
     * address, null when unbound; {@code peer} the peer's inode or 0.
     */
    public record UnixSocket(long inode, int type, int state, String name, long peer, long rqueue, long wqueue) {}

    /**
     * One TCP or UDP socket. For a TCP listener {@code rqueue} is the accept queue length and
     * {@code wqueue} the backlog (net/ipv4/inet_diag.c, inet_sk_diag_fill).
     */
    public record InetSocket(int family, int protocol, int state, byte[] src, int sport, byte[] dst,
            int dport, long rqueue, long wqueue, long uid, long inode) {}

    /** Request bytes for a unix_diag dump of {@code states} (a bitmask of 1 &lt;&lt; state). */
    public static byte[] unixDump(int states) {
        return unixReq(states, 0, false);
    }

    /** Request bytes for one UNIX socket by inode (no cookie: the kernel then matches on the inode alone). */
    public static byte[] unixExact(long inode) {
        return unixReq(ALL_STATES, inode, true);
    }

    private static byte[] unixReq(int states, long inode, boolean exact) {
        ByteBuffer b = ByteBuffer.allocate(UNIX_REQ_SIZE).order(ByteOrder.nativeOrder());
        b.put(0, (byte) AF_UNIX);
        b.putInt(OFF_UREQ_STATES, states);
        b.putInt(OFF_UREQ_INO, (int) inode);
        b.putInt(OFF_UREQ_SHOW, UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN);
        if (exact) { // INET_DIAG_NOCOOKIE: ~0, ~0
            b.putInt(OFF_UREQ_COOKIE, -1);
            b.putInt(OFF_UREQ_COOKIE + 4, -1);
        }
        return b.array();
    }

    /** Request bytes for an inet_diag dump of one family/protocol and a state bitmask. */
    public static byte[] inetDump(int family, int protocol, int states) {
        ByteBuffer b = ByteBuffer.allocate(INET_REQ_SIZE).order(ByteOrder.nativeOrder());
        b.put(0, (byte) family);
        b.put(OFF_IREQ_PROTOCOL, (byte) protocol);
        b.putInt(OFF_IREQ_STATES, states);
        return b.array();
    }

    /** Parses a unix_diag_msg and its attributes. */
    public static UnixSocket parseUnix(ByteBuffer m) {
        int type = Byte.toUnsignedInt(m.get(OFF_UMSG_TYPE));
        int state = Byte.toUnsignedInt(m.get(OFF_UMSG_STATE));
        long ino = Integer.toUnsignedLong(m.getInt(OFF_UMSG_INO));
        String[] name = {null};
        long[] peer = {0};
        long[] rq = {0, 0};
        Netlink.attributes(m, UNIX_MSG_SIZE, (t, a) -> {
            switch (t) {
                case UNIX_DIAG_NAME -> name[0] = unixName(a);
                case UNIX_DIAG_PEER -> peer[0] = Integer.toUnsignedLong(a.getInt(0));
                // struct unix_diag_rqlen { __u32 udiag_rqueue; __u32 udiag_wqueue; }
                case UNIX_DIAG_RQLEN -> {
                    rq[0] = Integer.toUnsignedLong(a.getInt(0));
                    rq[1] = Integer.toUnsignedLong(a.getInt(4));
                }
                default -> { }
            }
        });
        return new UnixSocket(ino, type, state, name[0], peer[0], rq[0], rq[1]);
    }

    private static String unixName(ByteBuffer a) {
        byte[] raw = new byte[a.remaining()];
        a.get(0, raw);
        if (raw.length == 0) return null;
        if (raw[0] == 0) return "@" + new String(raw, 1, raw.length - 1, StandardCharsets.UTF_8);
        int end = 0;
        while (end < raw.length && raw[end] != 0) end++;
        return new String(raw, 0, end, StandardCharsets.UTF_8);
    }

    /** Parses an inet_diag_msg (attributes are not requested). */
    public static InetSocket parseInet(ByteBuffer m, int protocol) {
        int family = Byte.toUnsignedInt(m.get(0));
        int state = Byte.toUnsignedInt(m.get(OFF_IMSG_STATE));
        int id = OFF_IMSG_ID;
        // ports and addresses are in network byte order
        int sport = Short.toUnsignedInt(Short.reverseBytes(m.getShort(id + OFF_ID_SPORT)));
        int dport = Short.toUnsignedInt(Short.reverseBytes(m.getShort(id + OFF_ID_DPORT)));
        int alen = family == AF_INET6 ? 16 : 4;
        byte[] src = new byte[alen], dst = new byte[alen];
        m.get(id + OFF_ID_SRC, src);
        m.get(id + OFF_ID_DST, dst);
        return new InetSocket(family, protocol, state, src, sport, dst, dport,
                Integer.toUnsignedLong(m.getInt(OFF_IMSG_RQUEUE)), Integer.toUnsignedLong(m.getInt(OFF_IMSG_WQUEUE)),
                Integer.toUnsignedLong(m.getInt(OFF_IMSG_UID)), Integer.toUnsignedLong(m.getInt(OFF_IMSG_INODE)));
    }

    /** Dumps UNIX sockets in {@code states} through an open NETLINK_SOCK_DIAG socket. */
    public static List<UnixSocket> dumpUnix(Netlink nl, int states) {
        List<UnixSocket> out = new ArrayList<>();
        nl.request(SOCK_DIAG_BY_FAMILY, Netlink.NLM_F_DUMP, unixDump(states), (t, m) -> out.add(parseUnix(m)));
        return out;
    }

    /** One UNIX socket by inode, or null when the kernel knows none (ENOENT). */
    public static UnixSocket unixByInode(Netlink nl, long inode) {
        UnixSocket[] out = {null};
        try {
            nl.request(SOCK_DIAG_BY_FAMILY, 0, unixExact(inode), (t, m) -> out[0] = parseUnix(m));
        } catch (SysException e) {
            if (e.errno() != Errno.ENOENT) throw e;
        }
        return out[0];
    }

    /** Dumps TCP or UDP sockets of one family in {@code states}. */
    public static List<InetSocket> dumpInet(Netlink nl, int family, int protocol, int states) {
        List<InetSocket> out = new ArrayList<>();
        nl.request(SOCK_DIAG_BY_FAMILY, Netlink.NLM_F_DUMP, inetDump(family, protocol, states),
                (t, m) -> out.add(parseInet(m, protocol)));
        return out;
    }
}
