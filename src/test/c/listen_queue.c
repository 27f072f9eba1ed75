/* Listeners with a known number of connections waiting for accept(), never accepted.
   Arguments, one listener each:
     unix:PATH:BACKLOG:PENDING   seqpacket:PATH:BACKLOG:PENDING   tcp:BACKLOG:PENDING   tcp6:BACKLOG:PENDING
     unixfull:PATH:BACKLOG       (non-blocking connects until the queue refuses more: EAGAIN)
   Prints "pid PID", then "listener KIND FD ADDRESS QUEUED" per listener (ADDRESS as ss prints it), then "ready", and waits. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static int unix_listener(int type, const char *path, int backlog, struct sockaddr_un *a) {
    int l = socket(AF_UNIX, type, 0);
    if (l < 0) die("socket");
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, path, sizeof a->sun_path - 1);
    unlink(path);
    if (bind(l, (struct sockaddr *)a, sizeof *a) < 0) die("bind unix");
    if (listen(l, backlog) < 0) die("listen");
    return l;
}

int main(int argc, char **argv) {
    printf("pid %d\n", getpid()); /* under `ip netns exec` the launcher's pid may differ */
    for (int i = 1; i < argc; i++) {
        char *spec = strdup(argv[i]);
        char *kind = strtok(spec, ":");
        if (!strcmp(kind, "unix") || !strcmp(kind, "seqpacket") || !strcmp(kind, "unixfull")) {
            char *path = strtok(NULL, ":");
            int backlog = atoi(strtok(NULL, ":"));
            int type = !strcmp(kind, "seqpacket") ? SOCK_SEQPACKET : SOCK_STREAM;
            struct sockaddr_un a;
            int l = unix_listener(type, path, backlog, &a);
            int queued = 0;
            if (!strcmp(kind, "unixfull")) {
                for (;;) {
                    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
                    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) {
                        if (errno != EAGAIN) die("connect unixfull");
                        close(c);
                        break;
                    }
                    queued++;
                }
            } else {
                int pending = atoi(strtok(NULL, ":"));
                for (; queued < pending; queued++) {
                    int c = socket(AF_UNIX, type, 0);
                    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) die("connect unix");
                }
            }
            printf("listener %s %d %s %d\n", kind, l, path, queued);
        } else if (!strcmp(kind, "tcp") || !strcmp(kind, "tcp6")) {
            int backlog = atoi(strtok(NULL, ":")), pending = atoi(strtok(NULL, ":"));
            int v6 = !strcmp(kind, "tcp6");
            int l = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
            struct sockaddr_storage ss = {0};
            socklen_t len;
            if (v6) {
                struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
                a->sin6_family = AF_INET6; a->sin6_addr = in6addr_loopback; len = sizeof *a;
            } else {
                struct sockaddr_in *a = (struct sockaddr_in *)&ss;
                a->sin_family = AF_INET; a->sin_addr.s_addr = htonl(INADDR_LOOPBACK); len = sizeof *a;
            }
            if (bind(l, (struct sockaddr *)&ss, len) < 0) die("bind tcp");
            if (listen(l, backlog) < 0) die("listen tcp");
            getsockname(l, (struct sockaddr *)&ss, &len);
            for (int k = 0; k < pending; k++) {
                int c = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
                /* a blocking connect returns once the handshake is done: the connection is then queued */
                if (connect(c, (struct sockaddr *)&ss, len) < 0) die("connect tcp");
            }
            int port = v6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) : ntohs(((struct sockaddr_in *)&ss)->sin_port);
            printf("listener %s %d %s:%d %d\n", kind, l, v6 ? "[::1]" : "127.0.0.1", port, pending);
        } else {
            fprintf(stderr, "bad spec %s\n", argv[i]);
            return 2;
        }
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
