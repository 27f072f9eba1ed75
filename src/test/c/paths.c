/* Test workload for tansa callers: THREADS threads each run ROUNDS rounds; a round calls
 * target() 3 times via path_a() and once via path_b(). Prints "ready PID" when the threads run
 * and, at the end, its own ground truth: per-path call counts and a checksum of target()'s
 * results (must not change under tracing). Args: threads rounds (0 = until a line on stdin) [delay_us [wait]] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>

static long rounds;
static int delay_us;
static volatile long calls_a, calls_b;
static volatile long checksum, mismatches;
static volatile int stop;
static pthread_barrier_t start;

__attribute__((noipa)) long target(long x) {
    long r = x * 2654435761u;
    return r ^ (r >> 13);
}

static long expect(long x) {
    long r = x * 2654435761u;
    return r ^ (r >> 13);
}

__attribute__((noipa)) long path_a(long i) {
    long s = 0;
    for (int k = 0; k < 3; k++) {
        long r = target(i + k);
        if (r != expect(i + k)) __atomic_add_fetch(&mismatches, 1, __ATOMIC_RELAXED);
        s += r;
    }
    __atomic_add_fetch(&calls_a, 3, __ATOMIC_RELAXED);
    return s;
}

__attribute__((noipa)) long path_b(long i) {
    __atomic_add_fetch(&calls_b, 1, __ATOMIC_RELAXED);
    return target(i * 7);
}

static void *worker(void *arg) {
    long id = (long)arg, s = 0;
    pthread_barrier_wait(&start);
    for (long i = 0; rounds ? i < rounds : !stop; i++) {
        s += path_a(i + id);
        s += path_b(i + id);
        if (delay_us) usleep(delay_us);
    }
    __atomic_add_fetch(&checksum, s, __ATOMIC_RELAXED);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    rounds = argc > 2 ? atol(argv[2]) : 1000;
    delay_us = argc > 3 ? atoi(argv[3]) : 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t[64];
    pthread_barrier_init(&start, NULL, threads + 1);
    for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    printf("ready %d\n", getpid());
    if (argc > 4) getchar(); /* "wait": start the rounds when a line arrives on stdin */
    pthread_barrier_wait(&start);
    if (rounds == 0) { /* run until a line arrives on stdin */
        char line[16];
        if (!fgets(line, sizeof line, stdin)) {}
        stop = 1;
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("calls_a %ld\ncalls_b %ld\nchecksum %ld\nmismatches %ld\n", calls_a, calls_b, checksum, mismatches);
    printf("a_is_3b %d\n", calls_a == 3 * calls_b);
    return 0;
}
