/* Native stacks without frame pointers (built -O2 -fomit-frame-pointer): target() is called
 * directly from direct() and from a qsort comparator, i.e. through libc. Prints "ready PID",
 * loops until killed. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((noipa)) long target(long x) { return x * 3; }

static int compare(const void *a, const void *b) {
    long x = target(*(const long *)a), y = target(*(const long *)b);
    return (x > y) - (x < y);
}

__attribute__((noipa)) long direct(long i) { return target(i) + 1; }

__attribute__((noipa)) void sorter(long *v, int n) { qsort(v, n, sizeof *v, compare); }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    long v[4];
    for (long i = 0;; i++) {
        for (int k = 0; k < 4; k++) v[k] = (i * 7 + k * 13) % 17;
        sorter(v, 4);
        direct(i);
        usleep(500);
    }
}
