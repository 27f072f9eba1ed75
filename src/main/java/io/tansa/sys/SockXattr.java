package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * The protocol of any socket, from the sockfs extended attribute "system.sockprotoname"
 * (net/socket.c, sockfs_xattr_get): "UNIX-STREAM", "UNIX" (dgram, seqpacket), "TCP", "TCPv6", "UDP", "NETLINK", "PACKET", "RAW"...
 * Read through /proc/PID/fd/N, it needs no namespace switch.
 */
public final class SockXattr {
    private SockXattr() {}

    // ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
    private static final MethodHandle GETXATTR = Libc.downcall("getxattr",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG));

    /** The protocol name of the socket at {@code path} (e.g. /proc/PID/fd/N), or null when not readable. */
    public static String protocolName(String path) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment val = a.allocate(64);
            long n = (long) GETXATTR.invokeExact(Libc.errnoSeg(), a.allocateFrom(path),
                    a.allocateFrom("system.sockprotoname"), val, 64L);
            if (n <= 0) return null;
            byte[] b = val.asSlice(0, n).toArray(JAVA_BYTE);
            int end = 0;
            while (end < b.length && b[end] != 0) end++;
            return new String(b, 0, end, StandardCharsets.US_ASCII);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
    }
}
