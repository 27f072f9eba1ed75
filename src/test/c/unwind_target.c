/* Captures its own registers and stack at a known point in capture(), the way a perf sample
 * (PERF_SAMPLE_REGS_USER + PERF_SAMPLE_STACK_USER) would, and writes them to PREFIX.dump with
 * /proc/self/maps as PREFIX.maps. Then calls dump_written() (a gdb breakpoint: gdb's bt there
 * sees the same stack), prints "ready" and waits for stdin to close, so a test can also read
 * its memory.  Scenarios:
 *   direct: main -> f1 -> f2 -> f3 -> capture
 *   qsort:  main -> sorter -> qsort (libc) -> cmp -> capture
 *   signal: main -> f1s -> spin, interrupted by SIGUSR1 -> handler -> capture
 *   block:  main -> b1 -> b2 -> b3 -> read (libc) on a pipe nobody writes: blocked for good, for
 *           unwinding a stopped thread; prints "ready PID"
 *   loop N: main -> g1 -> g2 -> g3 -> leaf, N times, no capture (bench/unwind: gdb's cost per bt)
 * Built with -O2 -fomit-frame-pointer -fasynchronous-unwind-tables: no frame pointers anywhere. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* DWARF register numbering: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
static uint64_t regs[17];
static char stack_copy[256 * 1024];
static const char *prefix;
static volatile int done;
volatile long sink;

__attribute__((noinline)) void dump_written(void) { __asm__ volatile(""); }

static void put(int fd, const void *p, size_t n) {
    if (write(fd, p, n) != (ssize_t) n) _exit(90);
}

/* End of the mapping that holds addr (the stack's top), from /proc/self/maps. */
static uint64_t stack_top(uint64_t addr) {
    FILE *f = fopen("/proc/self/maps", "r");
    unsigned long lo, hi;
    char line[4096];
    uint64_t top = addr;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && lo <= addr && addr < hi) top = hi;
    }
    fclose(f);
    return top;
}

__attribute__((noinline)) void capture(void) {
    __asm__ volatile(
        "lea 1f(%%rip), %%rax\n\t"
        "1:\n\t"
        "movq %%rax, 128(%0)\n\t"
        "movq %%rsp, 56(%0)\n\t"
        "movq %%rbp, 48(%0)\n\t"
        "movq %%rbx, 24(%0)\n\t"
        "movq %%r12, 96(%0)\n\t"
        "movq %%r13, 104(%0)\n\t"
        "movq %%r14, 112(%0)\n\t"
        "movq %%r15, 120(%0)\n\t"
        : : "r"(regs) : "rax", "memory");
    uint64_t base = regs[7];
    uint64_t len = stack_top(base) - base;
    if (len > sizeof stack_copy) len = sizeof stack_copy;
    memcpy(stack_copy, (void *) base, len);
    char path[4096];
    snprintf(path, sizeof path, "%s.dump", prefix); /* not async-signal-safe in theory; fine for %s */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    put(fd, regs, sizeof regs);
    put(fd, &base, 8);
    put(fd, &len, 8);
    put(fd, stack_copy, len);
    close(fd);
    snprintf(path, sizeof path, "%s.maps", prefix);
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/proc/self/maps", O_RDONLY);
    char buf[8192];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) put(out, buf, n);
    close(in);
    close(out);
    dump_written();
}

__attribute__((noinline)) void f3(int x) { capture(); sink += x; }
__attribute__((noinline)) void f2(int x) { f3(x + 1); sink += x; }
__attribute__((noinline)) void f1(int x) { f2(x + 1); sink += x; }

static int captured;
__attribute__((noinline)) int cmp(const void *a, const void *b) {
    if (!captured++) capture();
    return *(const int *) a - *(const int *) b;
}

__attribute__((noinline)) void sorter(void) {
    int v[16];
    for (int i = 0; i < 16; i++) v[i] = (i * 7919) % 16;
    qsort(v, 16, sizeof v[0], cmp);
    sink += v[0];
}

__attribute__((noinline)) void handler(int sig) {
    capture();
    sink += sig;
    done = 1;
}

__attribute__((noinline)) void spin(void) {
    while (!done) sink++;
}

__attribute__((noinline)) void f1s(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    timer_t t;
    if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) _exit(91);
    struct itimerspec its = {.it_value = {0, 20 * 1000 * 1000}};
    timer_settime(t, 0, &its, NULL);
    spin();
    sink++;
}

__attribute__((noinline)) void leaf(int x) { sink += x; __asm__ volatile(""); }
__attribute__((noinline)) void g3(int x) { leaf(x); sink++; }
__attribute__((noinline)) void g2(int x) { g3(x + 1); sink++; }
__attribute__((noinline)) void g1(int x) { g2(x + 1); sink++; }

__attribute__((noinline)) void b3(void) {
    char c;
    int fds[2];
    if (pipe(fds) != 0) _exit(92);
    printf("ready %d\n", (int) getpid());
    fflush(stdout);
    while (read(fds[0], &c, 1) > 0) {}
    sink++;
}
__attribute__((noinline)) void b2(void) { b3(); sink++; }
__attribute__((noinline)) void b1(void) { b2(); sink++; }

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    prefix = argv[1];
    if (!strcmp(argv[2], "loop")) {
        int n = argc > 3 ? atoi(argv[3]) : 100;
        for (int i = 0; i < n; i++) g1(i);
        return 0;
    }
    if (!strcmp(argv[2], "direct")) f1(1);
    else if (!strcmp(argv[2], "qsort")) sorter();
    else if (!strcmp(argv[2], "signal")) f1s();
    else if (!strcmp(argv[2], "block")) { b1(); return 0; }
    else return 2;
    printf("ready\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {}
    return 0;
}
