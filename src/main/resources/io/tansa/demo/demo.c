/* tansa demo workload: a tiny "login service". Two worker threads serve requests; three in four
 * are logins (check_login), one in four creates an account (create_account); both end in the
 * hot function hash_password. Built with -O2 and no frame pointers, like distribution code.
 * Prints "ready PID" and serves until killed. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noipa)) unsigned long hash_password(const char *pw, int rounds) {
    unsigned long h = 1469598103934665603UL;
    for (int r = 0; r < rounds; r++)
        for (const char *p = pw; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211UL;
    return h;
}

__attribute__((noipa)) int check_login(const char *user, const char *pw) {
    return hash_password(pw, 2000) % 7 == (unsigned long)strlen(user) % 7;
}

__attribute__((noipa)) int create_account(const char *user, const char *pw) {
    return (int)(hash_password(pw, 2000) ^ strlen(user)) & 1;
}

__attribute__((noipa)) int handle_request(unsigned long n) {
    return n % 4 == 3 ? create_account("new-user", "hunter2") : check_login("alice", "correct horse");
}

static void *worker(void *arg) {
    (void)arg;
    for (unsigned long n = 0;; n++) {
        handle_request(n);
        usleep(500);
    }
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, worker, NULL);
    printf("ready %d\n", getpid());
    pthread_join(t[0], NULL);
    return 0;
}
