/* Threads burning distinct functions for tansa top: spin_one and spin_two from the start; after
 * a line on stdin, a third thread (created while sampled) burns spin_late. Prints "tid NAME TID"
 * per thread, "ready" once the first two run. Each thread names itself after its function. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

volatile unsigned long sink;
static pthread_mutex_t out = PTHREAD_MUTEX_INITIALIZER;

static void announce(const char *name) {
    pthread_setname_np(pthread_self(), name);
    pthread_mutex_lock(&out);
    printf("tid %s %d\n", name, gettid());
    fflush(stdout);
    pthread_mutex_unlock(&out);
}

__attribute__((noinline)) static void *spin_one(void *arg) { announce("spin_one"); for (;;) sink += 1; return arg; }
__attribute__((noinline)) static void *spin_two(void *arg) { announce("spin_two"); for (;;) sink += 2; return arg; }
__attribute__((noinline)) static void *spin_late(void *arg) { announce("spin_late"); for (;;) sink += 3; return arg; }

int main(void) {
    pthread_t a, b, c;
    pthread_create(&a, NULL, spin_one, NULL);
    pthread_create(&b, NULL, spin_two, NULL);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 0;
    pthread_create(&c, NULL, spin_late, NULL);
    pthread_join(c, NULL);
    return 0;
}
