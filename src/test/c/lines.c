/* Source-line ground truth for DebugLineTest and CallersLinesTest: main → nl_run (in libnolines.so,
 * built without debug info) → call_site → lines_target. The tests find the marked lines by their
 * comments. Prints "ready", then loops until killed. */
#include <stdio.h>
#include <unistd.h>

volatile long sink;

long nl_run(long (*f)(long), long x);

__attribute__((noipa)) long lines_target(long x) {
    sink += x;
    return sink;
}

__attribute__((noipa)) long call_site(long x) {
    long r = lines_target(x); /* CALL-SITE */
    return r + 1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    long n = argc > 1 ? 0 : -1;
    for (long i = 0; n < 0 || i < 1000; i++) {
        nl_run(call_site, i); /* MAIN-CALL */
        if (n < 0) usleep(2000);
    }
    printf("sink %ld\n", sink);
    return 0;
}
