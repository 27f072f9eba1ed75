/* A program whose functions have no symbols once stripped (strip --strip-all): leaf() is
 * reached through two static callers in the proportions 1 : 2 per round (one_way once, two_way
 * twice), in a loop. The tests name the functions by the unstripped copy's nm. */
#include <stdio.h>
#include <unistd.h>

volatile unsigned long sink;

static __attribute__((noinline)) void leaf(unsigned long x) {
    for (int i = 0; i < 200; i++) sink += x * i;
}

static __attribute__((noinline)) void one_way(unsigned long x) {
    leaf(x + 1);
    sink ^= 1;
}

static __attribute__((noinline)) void two_way(unsigned long x) {
    leaf(x + 2);
    sink ^= 2;
}

int main(void) {
    printf("ready %d\n", getpid());
    fflush(stdout);
    for (unsigned long r = 0;; r++) {
        one_way(r);
        two_way(r);
        two_way(r);
        usleep(200);
    }
}
