/* Ambiguous symbol: target() is defined here and in libdup.so. Each round calls this target()
 * twice and libdup's once (through lib_work). Prints "ready PID" and loops until killed. */
#include <stdio.h>
#include <unistd.h>

long lib_work(long x);

__attribute__((noipa)) long target(long x) { return x * 5; }

__attribute__((noipa)) long exe_work(long x) { return target(x) + target(x + 1); }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    long s = 0;
    for (long i = 0;; i++) {
        s += exe_work(i);
        s += lib_work(i);
        usleep(100);
    }
}
