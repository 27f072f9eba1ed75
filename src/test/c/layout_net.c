/* Prints sizes, offsets and constants of the netlink / sock_diag structs tansa declares in io.tansa.sys. */
#include <stddef.h>
#include <stdio.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <linux/inet_diag.h>

#define SIZE(s) printf(#s ".size %zu\n", sizeof(struct s))
#define OFF(s, f) printf(#s "." #f " %zu\n", offsetof(struct s, f))
#define CONST(c) printf(#c " %ld\n", (long)(c))
int main(void) {
    SIZE(sockaddr_nl); OFF(sockaddr_nl, nl_pid); OFF(sockaddr_nl, nl_groups);
    SIZE(nlmsghdr); OFF(nlmsghdr, nlmsg_len); OFF(nlmsghdr, nlmsg_type); OFF(nlmsghdr, nlmsg_flags);
    OFF(nlmsghdr, nlmsg_seq); OFF(nlmsghdr, nlmsg_pid);
    OFF(nlmsgerr, error); SIZE(nlattr);
    SIZE(unix_diag_req); OFF(unix_diag_req, udiag_states); OFF(unix_diag_req, udiag_ino);
    OFF(unix_diag_req, udiag_show); OFF(unix_diag_req, udiag_cookie);
    SIZE(unix_diag_msg); OFF(unix_diag_msg, udiag_type); OFF(unix_diag_msg, udiag_state); OFF(unix_diag_msg, udiag_ino);
    SIZE(unix_diag_rqlen); OFF(unix_diag_rqlen, udiag_rqueue); OFF(unix_diag_rqlen, udiag_wqueue);
    SIZE(inet_diag_sockid); OFF(inet_diag_sockid, idiag_sport); OFF(inet_diag_sockid, idiag_dport);
    OFF(inet_diag_sockid, idiag_src); OFF(inet_diag_sockid, idiag_dst); OFF(inet_diag_sockid, idiag_if);
    OFF(inet_diag_sockid, idiag_cookie);
    SIZE(inet_diag_req_v2); OFF(inet_diag_req_v2, sdiag_protocol); OFF(inet_diag_req_v2, idiag_states);
    OFF(inet_diag_req_v2, id);
    SIZE(inet_diag_msg); OFF(inet_diag_msg, idiag_state); OFF(inet_diag_msg, id); OFF(inet_diag_msg, idiag_rqueue);
    OFF(inet_diag_msg, idiag_wqueue); OFF(inet_diag_msg, idiag_uid); OFF(inet_diag_msg, idiag_inode);
    CONST(NETLINK_SOCK_DIAG); CONST(SOCK_DIAG_BY_FAMILY); CONST(NLM_F_REQUEST); CONST(NLM_F_MULTI); CONST(NLM_F_DUMP);
    CONST(NLMSG_ERROR); CONST(NLMSG_DONE); CONST(NLMSG_NOOP); CONST(NLMSG_OVERRUN);
    CONST(UDIAG_SHOW_NAME); CONST(UDIAG_SHOW_PEER); CONST(UDIAG_SHOW_RQLEN);
    CONST(UNIX_DIAG_NAME); CONST(UNIX_DIAG_PEER); CONST(UNIX_DIAG_RQLEN);
    CONST(CLONE_NEWNET); CONST(O_APPEND); CONST(O_NONBLOCK); CONST(O_DIRECTORY); CONST(O_CLOEXEC); CONST(O_PATH);
    CONST(O_DSYNC); CONST(O_NOATIME); CONST(O_NOFOLLOW); CONST(O_DIRECT);
    return 0;
}
