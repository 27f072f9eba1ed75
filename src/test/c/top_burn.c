/* A known CPU split for tansa top: on one thread, burn_a runs 3 times the iterations of burn_b
 * (identical loop bodies), so 3/4 of the samples land in burn_a and 1/4 in burn_b. Both are
 * called from work(), called from main(): with call chains, work and main have ~100% children.
 * Prints "ready PID" once running. */
#include <stdio.h>
#include <unistd.h>

volatile unsigned long sink;

__attribute__((noinline)) void burn_a(long n) { for (long i = 0; i < n; i++) sink += i; }
__attribute__((noinline)) void burn_b(long n) { for (long i = 0; i < n; i++) sink += i; }
__attribute__((noinline)) void work(long n) { burn_a(3 * n); burn_b(n); }

int main(void) {
    printf("ready %d\n", getpid());
    fflush(stdout);
    for (;;) work(2000000); /* a cycle of many sample periods: no aliasing with a 1 ms timer */
}
