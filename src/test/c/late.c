/* Threads born after tansa attached: prints "ready PID", waits for a line on stdin, then starts
 * THREADS threads that each call target() CALLS times and print "thread TID". Prints "done SUM"
 * (SUM = the results of every call, the same traced or not). Args: threads calls */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int calls;
static long sum;

__attribute__((noipa)) long target(long x) { return x * 3 + 1; }

__attribute__((noipa)) static void *worker(void *arg) {
    long s = 0;
    printf("thread %d\n", gettid());
    for (int i = 0; i < calls; i++) s += target(i + (long)arg);
    __atomic_add_fetch(&sum, s, __ATOMIC_RELAXED);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    calls = argc > 2 ? atoi(argv[2]) : 50;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    pthread_t t[64];
    for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    printf("done %ld\n", sum);
    if (fgets(line, sizeof line, stdin)) return 0; /* stay until told */
    return 0;
}
