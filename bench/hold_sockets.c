/* Holds N sockets for the fds/sockets benchmark: N/10 UNIX listeners, N/10 TCP listeners on 127.0.0.1
   (each with one connection waiting), the rest UNIX socketpairs. Prints "ready FDS" and waits.
   Usage: hold_sockets N DIR */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *w) { perror(w); exit(1); }

int main(int argc, char **argv) {
    int n = atoi(argv[1]), held = 0;
    struct rlimit rl = {n + 64, n + 64};
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
    for (int i = 0; i < n / 10; i++) {
        int l = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof a.sun_path, "%s/l%d.sock", argv[2], i);
        unlink(a.sun_path);
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 128) < 0) die("unix listener");
        held++;
    }
    for (int i = 0; i < n / 20; i++) { /* listener + one queued connection = 2 fds */
        int l = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (l < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 128) < 0) die("tcp listener");
        getsockname(l, (struct sockaddr *)&a, &len);
        int c = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, len) < 0) die("connect");
        held += 2;
    }
    while (held + 2 <= n) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) die("socketpair");
        held += 2;
    }
    printf("ready %d\n", held);
    fflush(stdout);
    for (;;) pause();
}
