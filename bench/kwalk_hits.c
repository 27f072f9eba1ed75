/* bench/kwalk.sh's workload (bench/hits.c, plus the loop's own CPU time: what the target paid,
 * whatever else competes for the cpus). Bench workload: waits until the file named by argv[2] exists, then calls target() argv[1]
 * times from main() three frames deep, with argv[3] (default 0) iterations of other work between
 * calls, and prints the loop's elapsed nanoseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

__attribute__((noipa)) long target(long x) { return x * 7 + 1; }
__attribute__((noipa)) long middle(long x) { return target(x) + 1; }
__attribute__((noipa)) long outer(long x) { return middle(x) + 1; }
__attribute__((noipa)) long work(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s += i ^ (s >> 3);
    return s;
}

int main(int argc, char **argv) {
    struct timespec ca, cb;
    long n = atol(argv[1]), w = argc > 3 ? atol(argv[3]) : 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    while (access(argv[2], F_OK) != 0) usleep(1000);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ca);
    long s = 0;
    for (long i = 0; i < n; i++) s += outer(i) + work(w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cb);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("elapsed_ns %ld sum %ld\n", (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec), s);
    printf("cpu_ns %ld\n", (cb.tv_sec - ca.tv_sec) * 1000000000L + (cb.tv_nsec - ca.tv_nsec));
    return 0;
}
