/* Opens one fd of every kind tansa fds types, prints "NAME FD" lines as ground truth, then "ready" and waits.
   Usage: fd_zoo DIR   (DIR: a scratch directory for the deleted file and the inotify watch) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/fanotify.h>
#include <linux/perf_event.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }
#define CHECK(x, what) do { if ((x) < 0) die(what); } while (0)

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: fd_zoo DIR\n"); return 2; }
    const char *dir = argv[1];
    char path[4096];

    int efd = eventfd(0, EFD_CLOEXEC); CHECK(efd, "eventfd");
    uint64_t add = 42; if (write(efd, &add, 8) != 8) die("write eventfd");
    printf("eventfd %d 42\n", efd);

    sigset_t mask; sigemptyset(&mask); sigaddset(&mask, SIGUSR1); sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_CLOEXEC); CHECK(sfd, "signalfd");
    printf("signalfd %d\n", sfd);

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC); CHECK(tfd, "timerfd");
    struct itimerspec its = {.it_interval = {1, 500000000}, .it_value = {3600, 0}};
    CHECK(timerfd_settime(tfd, 0, &its, NULL), "timerfd_settime");
    printf("timerfd %d\n", tfd);

    int pfd[2]; CHECK(pipe2(pfd, O_CLOEXEC), "pipe");
    printf("pipe %d %d\n", pfd[0], pfd[1]);

    int ep = epoll_create1(EPOLL_CLOEXEC); CHECK(ep, "epoll");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev), "epoll_ctl");
    ev.data.fd = pfd[0];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev), "epoll_ctl");
    printf("epoll %d %d %d\n", ep, efd, pfd[0]);

    int in = inotify_init1(IN_CLOEXEC); CHECK(in, "inotify");
    int wd = inotify_add_watch(in, dir, IN_CREATE | IN_DELETE); CHECK(wd, "inotify_add_watch");
    printf("inotify %d %d\n", in, wd);

    int sp[2]; CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), "socketpair");
    printf("socketpair %d %d\n", sp[0], sp[1]);

    int tl = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); CHECK(tl, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(bind(tl, (struct sockaddr *)&a, sizeof a), "bind");
    CHECK(listen(tl, 16), "listen");
    socklen_t al = sizeof a; getsockname(tl, (struct sockaddr *)&a, &al);
    printf("tcp %d %d\n", tl, ntohs(a.sin_port));

    int u = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0); CHECK(u, "socket6");
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    CHECK(bind(u, (struct sockaddr *)&a6, sizeof a6), "bind6");
    al = sizeof a6; getsockname(u, (struct sockaddr *)&a6, &al);
    printf("udp6 %d %d\n", u, ntohs(a6.sin6_port));

    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0 /* NETLINK_ROUTE */); CHECK(nl, "netlink");
    printf("netlink %d\n", nl);

    int mfd = memfd_create("zoo-memfd", MFD_CLOEXEC); CHECK(mfd, "memfd");
    printf("memfd %d\n", mfd);

    snprintf(path, sizeof path, "%s/gone.txt", dir);
    int del = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); CHECK(del, "open deleted");
    if (write(del, "hello", 5) != 5) die("write");
    CHECK(unlink(path), "unlink");
    printf("deleted %d %s\n", del, path);

    int null = open("/dev/null", O_WRONLY | O_CLOEXEC | O_APPEND); CHECK(null, "/dev/null");
    printf("null %d\n", null);

    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC); CHECK(d, "dir");
    printf("dir %d %s\n", d, dir);

    snprintf(path, sizeof path, "%s/plain.txt", dir);
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); CHECK(f, "file");
    if (write(f, "0123456789", 10) != 10) die("write");
    lseek(f, 7, SEEK_SET);
    printf("file %d %s 7\n", f, path);

    /* kinds that need privileges or kernel options: -1 when refused */
    printf("pidfd %ld\n", syscall(SYS_pidfd_open, getpid(), 0));
    printf("userfaultfd %ld\n", syscall(SYS_userfaultfd, O_CLOEXEC));
    printf("fanotify %d\n", fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY));
    struct perf_event_attr pa = {.type = PERF_TYPE_SOFTWARE, .size = sizeof pa, .config = PERF_COUNT_SW_DUMMY,
                                 .disabled = 1, .exclude_kernel = 1};
    printf("perf_event %ld\n", syscall(SYS_perf_event_open, &pa, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    char ring[120] = {0}; /* struct io_uring_params, zeroed */
    long uring = syscall(425 /* SYS_io_uring_setup */, 4, ring);
    /* two registered files: /dev/null and the regular file (IORING_REGISTER_FILES = 2, linux/io_uring.h) */
    int regs[2] = {null, f};
    long registered = uring < 0 ? -1 : syscall(427 /* SYS_io_uring_register */, (int) uring, 2, regs, 2);
    printf("io_uring %ld %ld\n", uring, registered);

    /* the other ends of a socketpair and a pipe live in a child: peers in another process */
    int xs[2], xp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, xs), "socketpair");
    CHECK(pipe2(xp, O_CLOEXEC), "pipe");
    fflush(stdout);
    pid_t child = fork();
    CHECK(child, "fork");
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        close(xs[0]);
        close(xp[0]);
        for (;;) pause();
    }
    close(xs[1]);
    close(xp[1]);
    printf("cross %d %d %d %d %d\n", xs[0], xp[0], child, xs[1], xp[1]);

    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
