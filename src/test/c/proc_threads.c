/* 4 threads with names, known signal dispositions and mask, and one child process: ground truth
 * for the /proc readers. Prints "tid TID NAME" per thread, "child PID", then "ready". */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

static pthread_barrier_t barrier;

static void on_usr2(int sig) { (void)sig; }

static void *worker(void *arg) {
    char name[16];
    snprintf(name, sizeof name, "worker-%ld", (long)arg);
    pthread_setname_np(pthread_self(), name);
    printf("tid %d %s\n", gettid(), name);
    pthread_barrier_wait(&barrier);
    for (;;) pause();
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    prctl(PR_SET_NAME, "tmain");
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, on_usr2);
    pid_t child = fork();
    if (child == 0) { prctl(PR_SET_PDEATHSIG, SIGKILL); for (;;) pause(); }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_barrier_init(&barrier, NULL, 4);
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* main thread only: workers were created before */
    printf("tid %d tmain\n", gettid());
    printf("child %d\n", child);
    pthread_barrier_wait(&barrier);
    printf("ready\n");
    for (;;) pause();
}
