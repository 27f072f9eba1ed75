/* A toy JIT: code in anonymous executable memory, named in /tmp/perf-PID.map. Prints the code
 * address; after a line on stdin appends a second entry and prints "more". */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(code, 0xc3, 4096); /* ret */
    ((void (*)(void))code)();
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "%lx 20 jit_add(int, int)\n", (unsigned long)code);
    fclose(f);
    printf("addr code %p\n", (void *)code);
    printf("ready\n");
    char line[16];
    if (fgets(line, sizeof line, stdin)) {
        f = fopen(path, "a");
        fprintf(f, "0x%lx 0x10 jit_second\n", (unsigned long)(code + 0x40));
        fclose(f);
        printf("more\n");
    }
    for (;;) pause();
}
