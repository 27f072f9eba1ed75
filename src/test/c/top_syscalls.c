/* Spends most of its CPU in the kernel: read(2) of 1 MiB from /dev/zero in a loop (the kernel
 * clears the user buffer). Prints "ready PID". */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static char buf[1 << 20];

int main(void) {
    int fd = open("/dev/zero", O_RDONLY);
    printf("ready %d\n", getpid());
    fflush(stdout);
    for (;;) if (read(fd, buf, sizeof buf) < 0) return 1;
}
