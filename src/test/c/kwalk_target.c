/* The kernel walker's target (built -O2 -fomit-frame-pointer): every path reaches probe_me with a
 * tag that says the path, and for the recursion its depth: rec(d) calls itself d times, so a stack
 * of probe_me(tag = d) holds d + 1 rec frames. Paths: recursion 10/50/100 deep, through libc's qsort
 * comparator, a signal handler, a PLT call into libc (getppid, probed there), all in two threads.
 * argv[1]: rounds (0 = forever). Prints "ready" once both threads run. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

volatile long sink;

__attribute__((noinline)) void probe_me(int tag) { sink += tag; __asm__ volatile(""); }

__attribute__((noinline)) void rec(int d, int tag) {
    if (d == 0) probe_me(tag);
    else rec(d - 1, tag);
    sink++; /* no tail call */
}

__attribute__((noinline)) static int cmp(const void *a, const void *b) {
    probe_me(1000);
    return *(const int *) a - *(const int *) b;
}

__attribute__((noinline)) void via_qsort(void) {
    int v[3] = {3, 1, 2};
    qsort(v, 3, sizeof v[0], cmp);
    sink += v[0];
}

__attribute__((noinline)) static void handler(int sig) {
    probe_me(2000 + sig - sig);
    sink++; /* no tail call */
}

__attribute__((noinline)) void via_signal(void) {
    raise(SIGUSR1);
    sink++;
}

__attribute__((noinline)) void via_plt(void) {
    sink += getppid();
    sink++;
}

static long rounds;

__attribute__((noinline)) void round_once(void) {
    rec(10, 10);
    rec(50, 50);
    rec(100, 100);
    via_qsort();
    via_signal();
    via_plt();
}

static void *worker(void *arg) {
    (void) arg;
    for (long i = 0; rounds == 0 || i < rounds; i++) round_once();
    return NULL;
}

int main(int argc, char **argv) {
    rounds = argc > 1 ? atol(argv[1]) : 0;
    signal(SIGUSR1, handler);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    printf("ready\n");
    fflush(stdout);
    worker(NULL);
    pthread_join(t, NULL);
    return 0;
}
