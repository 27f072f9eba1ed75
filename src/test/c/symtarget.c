/* Ground truth for symbol resolution: prints the runtime address of its own functions, of
 * functions in a library linked at start (libsymlib.so, via lib_report) and, after a line on stdin,
 * of late_fn in a library dlopen'ed then (path in argv[1]). dup_fn is defined here and in the library. */
#include <dlfcn.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <unistd.h>

extern void lib_fn(int);
extern void lib_report(void);

__attribute__((noinline)) int work(int n) {
    int s = 0;
    for (int i = 0; i < n; i++) s += i * i;
    return s;
}

__attribute__((noinline)) void dup_fn(void) {
    __asm__ volatile("");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("addr work %p\n", (void *)work);
    printf("addr dup_fn %p\n", (void *)dup_fn);
    printf("addr vdso %p\n", (void *)getauxval(AT_SYSINFO_EHDR));
    lib_report();
    lib_fn(work(3));
    printf("ready\n");
    char line[64];
    if (argc > 1 && fgets(line, sizeof line, stdin)) {
        void *h = dlopen(argv[1], RTLD_NOW);
        if (!h) { printf("dlopen failed %s\n", dlerror()); return 1; }
        printf("addr late_fn %p\n", dlsym(h, "late_fn"));
    }
    printf("loaded\n");
    for (;;) pause();
}
