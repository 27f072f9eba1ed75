/* A library loaded after tansa attached: prints "ready PID", waits for a line on stdin, then
 * dlopen()s argv[1], calls its pend_fn() argv[2] times through caller_a() and prints
 * "done SUM" (SUM = the results of every call, the same traced or not); stays until stdin ends. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef long (*fn_t)(long);

__attribute__((noipa)) long caller_a(fn_t f, long x) { return f(x) + 1; }

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) { printf("dlopen failed %s\n", dlerror()); return 1; }
    fn_t f = (fn_t)dlsym(h, "pend_fn");
    long n = atol(argv[2]), s = 0;
    for (long i = 0; i < n; i++) s += caller_a(f, i);
    printf("done %ld\n", s);
    while (fgets(line, sizeof line, stdin)) {}
    return 0;
}
