/* Known numbers of known syscalls on several threads, for tansa trace's tests.
 *   trace_target [wait] [scale]
 * Threads: "CPU 0/KVM" makes SCALE*1000 ioctl(pipe fd, KVM_RUN, 0) (ENOTTY on a pipe), "getppid"
 * makes SCALE*500 getppid(), "piper" makes SCALE*200 write + 200 read on a pipe. At the end it
 * prints what it did. With "wait" the threads start first and block on a barrier; main prints
 * "ready PID" and waits for SIGUSR1 (sigwaitinfo) before releasing them, so a tracer can attach
 * to existing threads; after "done" it waits for a second SIGUSR1 before exiting (its fds stay
 * open while the tracer prints). */
#define _GNU_SOURCE
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static long scale = 1;
static int pfd[2];
static long ioctls, enotty, getppids, reads, writes;
static pthread_barrier_t go;

static void *kvm(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "CPU 0/KVM");
    pthread_barrier_wait(&go);
    for (long i = 0; i < 1000 * scale; i++) {
        if (ioctl(pfd[0], KVM_RUN, 0) == -1) enotty++;
        ioctls++;
    }
    return NULL;
}

static void *ppid(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "getppid");
    pthread_barrier_wait(&go);
    for (long i = 0; i < 500 * scale; i++) {
        syscall(SYS_getppid);
        getppids++;
    }
    return NULL;
}

static void *piper(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "piper");
    pthread_barrier_wait(&go);
    char c = 'x';
    for (long i = 0; i < 200 * scale; i++) {
        if (write(pfd[1], &c, 1) == 1) writes++;
        if (read(pfd[0], &c, 1) == 1) reads++;
    }
    return NULL;
}

int main(int argc, char **argv) {
    int wait = argc > 1 && strcmp(argv[1], "wait") == 0;
    if (argc > 2) scale = atol(argv[2]);
    if (pipe(pfd) != 0) return 1;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    siginfo_t si;
    pthread_barrier_init(&go, NULL, 4);
    pthread_t t[3];
    pthread_create(&t[0], NULL, kvm, NULL);
    pthread_create(&t[1], NULL, ppid, NULL);
    pthread_create(&t[2], NULL, piper, NULL);
    if (wait) {
        printf("ready %d\n", getpid());
        fflush(stdout);
        sigwaitinfo(&set, &si);
    }
    pthread_barrier_wait(&go);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    printf("done ioctl=%ld enotty=%ld getppid=%ld write=%ld read=%ld\n", ioctls, enotty, getppids, writes, reads);
    fflush(stdout);
    if (wait) sigwaitinfo(&set, &si);
    return 0;
}
