package io.tansa.sys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Netlink / sock_diag layouts and constants in sys, checked against &lt;linux/{netlink,sock_diag,unix_diag,inet_diag}.h&gt;. */
@Tag("fast")
class NetLayoutTest {
    static Map<String, Long> c = new HashMap<>();

    @BeforeAll
    static void compile() {
        c.putAll(Native.constants(Native.build("layout_net", "-D_GNU_SOURCE")));
    }

    private static void eq(long javaValue, String key) {
        assertEquals(c.get(key), javaValue, key);
    }

    @Test
    void netlink() {
        eq(Netlink.SOCKADDR_NL_SIZE, "sockaddr_nl.size");
        eq(Netlink.OFF_NL_PID, "sockaddr_nl.nl_pid");
        eq(Netlink.OFF_NL_GROUPS, "sockaddr_nl.nl_groups");
        eq(Netlink.NLMSGHDR_SIZE, "nlmsghdr.size");
        eq(Netlink.OFF_NLMSG_LEN, "nlmsghdr.nlmsg_len");
        eq(Netlink.OFF_NLMSG_TYPE, "nlmsghdr.nlmsg_type");
        eq(Netlink.OFF_NLMSG_FLAGS, "nlmsghdr.nlmsg_flags");
        eq(Netlink.OFF_NLMSG_SEQ, "nlmsghdr.nlmsg_seq");
        eq(Netlink.OFF_NLMSG_PID, "nlmsghdr.nlmsg_pid");
        eq(Netlink.OFF_NLMSGERR_ERROR, "nlmsgerr.error");
        eq(Netlink.ATTR_HDR, "nlattr.size");
        eq(Netlink.NETLINK_SOCK_DIAG, "NETLINK_SOCK_DIAG");
        eq(Netlink.NLM_F_REQUEST, "NLM_F_REQUEST");
        eq(Netlink.NLM_F_MULTI, "NLM_F_MULTI");
        eq(Netlink.NLM_F_DUMP, "NLM_F_DUMP");
        eq(Netlink.NLMSG_ERROR, "NLMSG_ERROR");
        eq(Netlink.NLMSG_DONE, "NLMSG_DONE");
        eq(Netlink.NLMSG_NOOP, "NLMSG_NOOP");
        eq(Netlink.NLMSG_OVERRUN, "NLMSG_OVERRUN");
    }

    @Test
    void unixDiag() {
        eq(SockDiag.SOCK_DIAG_BY_FAMILY, "SOCK_DIAG_BY_FAMILY");
        eq(SockDiag.UNIX_REQ_SIZE, "unix_diag_req.size");
        eq(SockDiag.OFF_UREQ_STATES, "unix_diag_req.udiag_states");
        eq(SockDiag.OFF_UREQ_INO, "unix_diag_req.udiag_ino");
        eq(SockDiag.OFF_UREQ_SHOW, "unix_diag_req.udiag_show");
        eq(SockDiag.OFF_UREQ_COOKIE, "unix_diag_req.udiag_cookie");
        eq(SockDiag.UNIX_MSG_SIZE, "unix_diag_msg.size");
        eq(SockDiag.OFF_UMSG_TYPE, "unix_diag_msg.udiag_type");
        eq(SockDiag.OFF_UMSG_STATE, "unix_diag_msg.udiag_state");
        eq(SockDiag.OFF_UMSG_INO, "unix_diag_msg.udiag_ino");
        eq(8, "unix_diag_rqlen.size");
        eq(0, "unix_diag_rqlen.udiag_rqueue");
        eq(4, "unix_diag_rqlen.udiag_wqueue");
        eq(SockDiag.UDIAG_SHOW_NAME, "UDIAG_SHOW_NAME");
        eq(SockDiag.UDIAG_SHOW_PEER, "UDIAG_SHOW_PEER");
        eq(SockDiag.UDIAG_SHOW_RQLEN, "UDIAG_SHOW_RQLEN");
        eq(SockDiag.UNIX_DIAG_NAME, "UNIX_DIAG_NAME");
        eq(SockDiag.UNIX_DIAG_PEER, "UNIX_DIAG_PEER");
        eq(SockDiag.UNIX_DIAG_RQLEN, "UNIX_DIAG_RQLEN");
    }

    @Test
    void inetDiag() {
        eq(SockDiag.SOCKID_SIZE, "inet_diag_sockid.size");
        eq(SockDiag.OFF_ID_SPORT, "inet_diag_sockid.idiag_sport");
        eq(SockDiag.OFF_ID_DPORT, "inet_diag_sockid.idiag_dport");
        eq(SockDiag.OFF_ID_SRC, "inet_diag_sockid.idiag_src");
        eq(SockDiag.OFF_ID_DST, "inet_diag_sockid.idiag_dst");
        eq(SockDiag.OFF_ID_IF, "inet_diag_sockid.idiag_if");
        eq(SockDiag.OFF_ID_COOKIE, "inet_diag_sockid.idiag_cookie");
        eq(SockDiag.INET_REQ_SIZE, "inet_diag_req_v2.size");
        eq(SockDiag.OFF_IREQ_PROTOCOL, "inet_diag_req_v2.sdiag_protocol");
        eq(SockDiag.OFF_IREQ_STATES, "inet_diag_req_v2.idiag_states");
        eq(SockDiag.OFF_IREQ_ID, "inet_diag_req_v2.id");
        eq(SockDiag.INET_MSG_SIZE, "inet_diag_msg.size");
        eq(SockDiag.OFF_IMSG_STATE, "inet_diag_msg.idiag_state");
        eq(SockDiag.OFF_IMSG_ID, "inet_diag_msg.id");
        eq(SockDiag.OFF_IMSG_RQUEUE, "inet_diag_msg.idiag_rqueue");
        eq(SockDiag.OFF_IMSG_WQUEUE, "inet_diag_msg.idiag_wqueue");
        eq(SockDiag.OFF_IMSG_UID, "inet_diag_msg.idiag_uid");
        eq(SockDiag.OFF_IMSG_INODE, "inet_diag_msg.idiag_inode");
    }

    @Test
    void flagsAndNamespaces() {
        eq(Namespaces.CLONE_NEWNET, "CLONE_NEWNET");
        assertEquals("O_RDONLY|O_DIRECTORY|O_CLOEXEC",
                FdFlags.names((int) (c.get("O_DIRECTORY") | c.get("O_CLOEXEC"))));
        assertEquals("O_WRONLY|O_APPEND|O_NONBLOCK", FdFlags.names((int) (1 | c.get("O_APPEND") | c.get("O_NONBLOCK"))));
        assertEquals("O_RDWR|O_DSYNC|O_DIRECT|O_NOFOLLOW|O_NOATIME|O_PATH", FdFlags.names((int) (2 | c.get("O_DSYNC")
                | c.get("O_DIRECT") | c.get("O_NOFOLLOW") | c.get("O_NOATIME") | c.get("O_PATH"))));
    }
}
