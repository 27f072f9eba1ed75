package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The netlink request/response loop against the kernel: a dump large enough to arrive in many
 * datagrams (multipart, NLMSG_DONE), exact queries by inode, and NLMSG_ERROR for an unknown one.
 */
@Tag("fast")
class NetlinkTest {
    @Test
    void multipartDumpExactQueryAndError() throws Exception {
        Path dir = Files.createTempDirectory("tansa-nl");
        Path sock = dir.resolve("l.sock");
        List<AutoCloseable> open = new ArrayList<>();
        try {
            ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            open.add(server);
            server.bind(UnixDomainSocketAddress.of(sock), 2000);
            int n = 800; // 60+ bytes a message: the dump cannot fit one 32 KiB datagram
            for (int i = 0; i < n; i++) open.add(SocketChannel.open(UnixDomainSocketAddress.of(sock)));
            // this JVM's UNIX socket inodes, from /proc/self/fd
            Set<Long> mine = new HashSet<>();
            try (var ds = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
                for (Path p : ds) {
                    String t = SmallFiles.readlink(p.toString());
                    if (t != null && t.startsWith("socket:[")
                            && "UNIX-STREAM".equals(SockXattr.protocolName(p.toString()))) {
                        mine.add(Long.parseLong(t.substring(8, t.length() - 1)));
                    }
                }
            }
            assertTrue(mine.size() >= n + 1, "sockets found: " + mine.size());
            try (Netlink nl = Netlink.open(Netlink.NETLINK_SOCK_DIAG)) {
                Map<Long, SockDiag.UnixSocket> dump = new HashMap<>();
                int[] messages = {0};
                nl.request(SockDiag.SOCK_DIAG_BY_FAMILY, Netlink.NLM_F_DUMP, SockDiag.unixDump(SockDiag.ALL_STATES),
                        (t, m) -> {
                            messages[0]++;
                            SockDiag.UnixSocket u = SockDiag.parseUnix(m);
                            dump.put(u.inode(), u);
                        });
                assertTrue(messages[0] * 60 > 32 * 1024, "messages " + messages[0]);
                assertTrue(dump.keySet().containsAll(mine), "every socket of this JVM is in the dump");
                SockDiag.UnixSocket listener = dump.values().stream()
                        .filter(u -> sock.toString().equals(u.name())).findFirst().orElseThrow();
                assertEquals(SockDiag.TCP_LISTEN, listener.state());
                assertEquals(n, listener.rqueue()); // none accepted
                assertEquals(2000, listener.wqueue());
                // the same socket asked for by inode, twice on one netlink socket (sequence numbers)
                for (int i = 0; i < 2; i++) assertEquals(listener, SockDiag.unixByInode(nl, listener.inode()));
                // a client not yet accepted: its peer is an embryo socket without inode, so no peer
                long client = mine.stream().filter(ino -> ino != listener.inode()).findFirst().orElseThrow();
                SockDiag.UnixSocket c = SockDiag.unixByInode(nl, client);
                assertNotNull(c);
                assertEquals(SockDiag.TCP_ESTABLISHED, c.state());
                assertEquals(0, c.peer());
                // NLMSG_ERROR (ENOENT) for an inode no socket has
                assertNull(SockDiag.unixByInode(nl, 0xfffffff0L));
                // and the socket still works afterwards
                assertEquals(listener, SockDiag.unixByInode(nl, listener.inode()));
            }
        } finally {
            for (AutoCloseable c : open) c.close();
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }
}
