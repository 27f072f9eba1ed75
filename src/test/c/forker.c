/* Forked children: prints "ready PID", waits for a line on stdin, then forks a child that calls
 * target() 50 times while the parent calls it 30 times; the parent waits for the child, prints
 * "done PARENT_SUM CHILD_STATUS" and exits. */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noipa)) long target(long x) { return x * 7 + 1; }

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready %d\n", getpid());
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    pid_t c = fork();
    if (c == 0) {
        long s = 0;
        for (int i = 0; i < 50; i++) s += target(i);
        _exit(s == 8625 ? 0 : 1);
    }
    long s = 0;
    for (int i = 0; i < 30; i++) s += target(i);
    int st = 0;
    waitpid(c, &st, 0);
    printf("done %ld %d\n", s, WEXITSTATUS(st));
    return 0;
}
