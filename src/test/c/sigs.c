/* Signals under tracing: counts SIGUSR1 in a handler while calling target() in a loop, and
 * prints "usr1 N" each time the count changes; "ready PID" first. SIGTRAP is left at SIG_DFL. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t usr1;

static void on_usr1(int s) { (void)s; usr1++; }

__attribute__((noipa)) long target(long x) { return x + 1; }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    printf("ready %d\n", getpid());
    int seen = 0;
    long s = 0;
    for (;;) {
        s += target(s);
        usleep(200);
        if (usr1 != seen) {
            seen = usr1;
            printf("usr1 %d\n", seen);
        }
    }
}
