/* Test and bench workload for the rate cap: the main thread calls hot() in a tight loop and
 * reports its own call rate, its ground truth: every PERIOD_MS of CLOCK_MONOTONIC time one line
 * "rate N" (calls per second over that period). Prints "ready PID" first. Runs until killed.
 * Args: [period_ms (default 100)] */
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

int main(int argc, char **argv) {
    long period = (argc > 1 ? atol(argv[1]) : 100) * 1000000L;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
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
