package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.BiConsumer;

/**
 * A netlink socket (netlink(7)) speaking request/response with the kernel: one request, then every
 * reply message until the end of the answer — NLMSG_DONE for a multipart dump, the single message
 * (or NLMSG_ERROR) otherwise. Datagrams are read whole: their size is peeked first (MSG_PEEK |
 * MSG_TRUNC) and the buffer grows to fit, so a large dump part is never truncated.
 *
 * <p>The socket belongs to the network namespace of the thread that opens it (see
 * {@link Namespaces#enterNet}), and answers about that namespace only.
 */
public final class Netlink implements AutoCloseable {
    // <linux/netlink.h>
    public static final int AF_NETLINK = 16, NETLINK_SOCK_DIAG = 4;
    public static final short NLM_F_REQUEST = 0x1, NLM_F_MULTI = 0x2, NLM_F_ACK = 0x4, NLM_F_DUMP_INTR = 0x10,
            NLM_F_ROOT = 0x100, NLM_F_MATCH = 0x200, NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;
    public static final int NLMSG_NOOP = 1, NLMSG_ERROR = 2, NLMSG_DONE = 3, NLMSG_OVERRUN = 4;
    /** struct nlmsghdr { __u32 nlmsg_len; __u16 nlmsg_type; __u16 nlmsg_flags; __u32 nlmsg_seq; __u32 nlmsg_pid; } */
    public static final int NLMSGHDR_SIZE = 16, OFF_NLMSG_LEN = 0, OFF_NLMSG_TYPE = 4, OFF_NLMSG_FLAGS = 6,
            OFF_NLMSG_SEQ = 8, OFF_NLMSG_PID = 12;
    /** struct sockaddr_nl { sa_family_t nl_family; unsigned short nl_pad; __u32 nl_pid; __u32 nl_groups; } */
    public static final int SOCKADDR_NL_SIZE = 12, OFF_NL_PID = 4, OFF_NL_GROUPS = 8;
    /** struct nlmsgerr { int error; struct nlmsghdr msg; } */
    public static final int OFF_NLMSGERR_ERROR = 0;
    /** struct rtattr / nlattr { __u16 len; __u16 type; } — both 4 bytes, payload 4-aligned. */
    public static final int ATTR_HDR = 4;

    private static final int SOCK_RAW = 3, SOCK_CLOEXEC = 0x80000; // <bits/socket_type.h>
    private static final int MSG_PEEK = 0x2, MSG_TRUNC = 0x20; // <bits/socket.h>

    private static final MethodHandle SOCKET = Libc.downcall("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    // ssize_t sendto(int, const void *, size_t, int, const struct sockaddr *, socklen_t)
    private static final MethodHandle SENDTO = Libc.downcall("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    // ssize_t recv(int, void *, size_t, int)
    private static final MethodHandle RECV = Libc.downcall("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private final int fd;
    private final Arena arena = Arena.ofConfined();
    private MemorySegment buf;
    private int seq = (int) (System.nanoTime() & 0x3fffffff);

    private Netlink(int fd) {
        this.fd = fd;
        // 32 KiB: the kernel sizes dump parts after the largest buffer a reader offered, up to 32 KiB
        // (net/netlink/af_netlink.c, max_recvmsg_len), so this usually avoids a regrow.
        this.buf = arena.allocate(32 * 1024, 8);
    }

    /** Opens a netlink socket of {@code protocol} (e.g. {@link #NETLINK_SOCK_DIAG}) in this thread's namespace. */
    public static Netlink open(int protocol) {
        int fd;
        try {
            fd = (int) SOCKET.invokeExact(Libc.errnoSeg(), AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        if (fd == -1) throw Libc.fail("socket(AF_NETLINK, " + protocol + ")");
        return new Netlink(fd);
    }

    /**
     * Sends one request ({@code payload} after a nlmsghdr of {@code type} and {@code flags}, to which
     * NLM_F_REQUEST is added) and hands every reply message of that request to {@code each} as
     * (nlmsg_type, little-endian buffer over the payload). Returns when the answer is complete.
     *
     * @throws SysException for an NLMSG_ERROR with a non-zero error (e.g. ENOENT for an exact
     *     query of a socket that does not exist) or a dump ending in an error
     */
    public void request(int type, int flags, byte[] payload, BiConsumer<Integer, ByteBuffer> each) {
        int mySeq = ++seq;
        boolean dump = (flags & NLM_F_DUMP) == NLM_F_DUMP;
        send(type, flags | NLM_F_REQUEST, mySeq, payload);
        while (true) {
            ByteBuffer dgram = receive();
            while (dgram.remaining() >= NLMSGHDR_SIZE) {
                int start = dgram.position();
                int len = dgram.getInt(start + OFF_NLMSG_LEN);
                int mtype = Short.toUnsignedInt(dgram.getShort(start + OFF_NLMSG_TYPE));
                int mflags = Short.toUnsignedInt(dgram.getShort(start + OFF_NLMSG_FLAGS));
                int mseq = dgram.getInt(start + OFF_NLMSG_SEQ);
                if (len < NLMSGHDR_SIZE || len > dgram.remaining()) {
                    throw new SysException("netlink: malformed message (len " + len + ")", Errno.EIO);
                }
                ByteBuffer body = dgram.slice(start + NLMSGHDR_SIZE, len - NLMSGHDR_SIZE).order(ByteOrder.nativeOrder());
                dgram.position(Math.min(dgram.limit(), start + align(len)));
                if (mseq != mySeq) continue; // a stale answer to an earlier, abandoned request
                switch (mtype) {
                    case NLMSG_NOOP -> { }
                    case NLMSG_ERROR -> {
                        int err = -body.getInt(OFF_NLMSGERR_ERROR);
                        if (err != 0) throw SysException.of("netlink request type " + type, err);
                        return; // an ACK
                    }
                    case NLMSG_DONE -> {
                        // a dump may end with an error code in the DONE payload
                        int err = body.remaining() >= 4 ? -body.getInt(0) : 0;
                        if (err > 0) throw SysException.of("netlink dump type " + type, err);
                        return;
                    }
                    case NLMSG_OVERRUN -> throw new SysException("netlink: overrun", Errno.EIO);
                    default -> {
                        each.accept(mtype, body);
                        if (!dump && (mflags & NLM_F_MULTI) == 0) return;
                    }
                }
            }
        }
    }

    private void send(int type, int flags, int mySeq, byte[] payload) {
        int len = NLMSGHDR_SIZE + payload.length;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = a.allocate(len, 8);
            m.set(JAVA_INT, OFF_NLMSG_LEN, len);
            m.set(JAVA_SHORT, OFF_NLMSG_TYPE, (short) type);
            m.set(JAVA_SHORT, OFF_NLMSG_FLAGS, (short) flags);
            m.set(JAVA_INT, OFF_NLMSG_SEQ, mySeq);
            m.set(JAVA_INT, OFF_NLMSG_PID, 0);
            MemorySegment.copy(payload, 0, m, JAVA_BYTE, NLMSGHDR_SIZE, payload.length);
            MemorySegment sa = a.allocate(SOCKADDR_NL_SIZE, 4); // nl_pid 0 = the kernel
            sa.set(JAVA_SHORT, 0, (short) AF_NETLINK);
            long n;
            do {
                n = (long) SENDTO.invokeExact(Libc.errnoSeg(), fd, m, (long) len, 0, sa, SOCKADDR_NL_SIZE);
            } while (n == -1 && Libc.errno() == Errno.EINTR);
            if (n == -1) throw Libc.fail("sendto(netlink)");
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** One whole datagram; its size is peeked first so the buffer can grow instead of truncating. */
    private ByteBuffer receive() {
        try {
            long n;
            while (true) {
                n = (long) RECV.invokeExact(Libc.errnoSeg(), fd, buf, buf.byteSize(), MSG_PEEK | MSG_TRUNC);
                if (n == -1 && Libc.errno() == Errno.EINTR) continue;
                if (n == -1) throw Libc.fail("recv(netlink)");
                if (n > buf.byteSize()) {
                    buf = arena.allocate(Math.max(n, buf.byteSize() * 2), 8);
                    continue;
                }
                break;
            }
            do {
                n = (long) RECV.invokeExact(Libc.errnoSeg(), fd, buf, buf.byteSize(), 0);
            } while (n == -1 && Libc.errno() == Errno.EINTR);
            if (n == -1) throw Libc.fail("recv(netlink)");
            return buf.asSlice(0, n).asByteBuffer().order(ByteOrder.nativeOrder());
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }

    /** NLMSG_ALIGN / RTA_ALIGN: 4-byte alignment. */
    public static int align(int len) {
        return (len + 3) & ~3;
    }

    /**
     * Walks the attributes (struct rtattr / nlattr) in {@code b} from {@code from} to its limit,
     * giving each (type, payload slice). Nested-flag bits of the type are masked off.
     */
    public static void attributes(ByteBuffer b, int from, BiConsumer<Integer, ByteBuffer> each) {
        int p = from;
        while (p + ATTR_HDR <= b.limit()) {
            int len = Short.toUnsignedInt(b.getShort(p));
            int type = Short.toUnsignedInt(b.getShort(p + 2)) & 0x3fff;
            if (len < ATTR_HDR || p + len > b.limit()) break;
            each.accept(type, b.slice(p + ATTR_HDR, len - ATTR_HDR).order(ByteOrder.nativeOrder()));
            p += align(len);
        }
    }

    @Override
    public void close() {
        Files.close(fd);
        arena.close();
    }
}
