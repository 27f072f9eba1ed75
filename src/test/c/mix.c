/* Workload whose call mix is chosen on the command line, for recordings and diff: each round
 * calls target() A times via path_a() and B times via path_b(), in THREADS threads (main is one of them), until killed.
 * Prints "ready PID" once the threads run. Args: A B [threads] [delay_us per round] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int a, b, delay_us;
static volatile long sink;

__attribute__((noinline)) long target(long x) {
    long r = x * 2654435761u;
    return r ^ (r >> 13);
}

__attribute__((noinline)) long path_a(long i) {
    return target(i);
}

__attribute__((noinline)) long path_b(long i) {
    return target(i * 7);
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (long i = 0;; i++) {
        long s = 0;
        for (int k = 0; k < a; k++) s += path_a(i + id + k);
        for (int k = 0; k < b; k++) s += path_b(i + id + k);
        sink += s;
        if (delay_us) usleep(delay_us);
    }
    return NULL;
}

int main(int argc, char **argv) {
    a = argc > 1 ? atoi(argv[1]) : 1;
    b = argc > 2 ? atoi(argv[2]) : 1;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    delay_us = argc > 4 ? atoi(argv[4]) : 200;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t;
    for (long i = 1; i < threads; i++) pthread_create(&t, NULL, worker, (void *)i);
    printf("ready %d\n", getpid());
    worker((void *)0);
    return 0;
}
