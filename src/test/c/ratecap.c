/* Test and bench workload for the rate cap: the main thread calls hot() in a tight loop and
 * reports its own call rate, its ground truth: every PERIOD_MS of CLOCK_MONOTONIC time one line
 * "rate N" (calls per second over that period). Prints "ready PID" first. Runs until killed.
 * With "spawn": the calls are made by a series of threads, each calling hot() for 100 ms then
 * exiting, the next started when it ended (each prints "thread TID"): threads born while a probe
 * is out of the target. Args: [period_ms (default 100)] [spawn] */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile long sink;

__attribute__((noipa)) long hot(long x) {
    return x * 2654435761u ^ (x >> 7);
}

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void *worker(void *arg) {
    (void) arg;
    printf("thread %d\n", gettid());
    long end = now_ns() + 100000000L;
    for (long i = 0;; i++) {
        sink += hot(i);
        if ((i & 1023) == 0 && now_ns() >= end) return NULL;
    }
}

int main(int argc, char **argv) {
    long period = (argc > 1 ? atol(argv[1]) : 100) * 1000000L;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    if (argc > 2 && strcmp(argv[2], "spawn") == 0) {
        for (;;) {
            pthread_t t;
            pthread_create(&t, NULL, worker, NULL);
            pthread_join(t, NULL);
        }
    }
    long start = now_ns(), calls = 0;
    for (long i = 0;; i++) {
        sink += hot(i);
        calls++;
        if ((i & 1023) == 0) {
            long t = now_ns();
            if (t - start >= period) {
                printf("rate %ld\n", (long) (calls * 1e9 / (t - start)));
                start = t;
                calls = 0;
            }
        }
    }
}
