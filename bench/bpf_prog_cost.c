/* Holds BPF run-time statistics on (BPF_ENABLE_STATS) for argv[1] seconds, then prints, for every
 * loaded program whose name starts with argv[2] (e.g. tansa_kwalk), its runs and mean ns per run
 * (struct bpf_prog_info run_cnt, run_time_ns; linux/bpf.h). Root only. */
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long bpf(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof *a); }

int main(int argc, char **argv) {
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.enable_stats.type = BPF_STATS_RUN_TIME;
    int stats = bpf(BPF_ENABLE_STATS, &a);
    if (stats < 0) { perror("BPF_ENABLE_STATS"); return 1; }
    sleep(atoi(argv[1]));
    unsigned id = 0;
    for (;;) {
        memset(&a, 0, sizeof a);
        a.start_id = id;
        if (bpf(BPF_PROG_GET_NEXT_ID, &a) < 0) break;
        id = a.next_id;
        memset(&a, 0, sizeof a);
        a.prog_id = id;
        int fd = bpf(BPF_PROG_GET_FD_BY_ID, &a);
        if (fd < 0) continue;
        struct bpf_prog_info info;
        memset(&info, 0, sizeof info);
        memset(&a, 0, sizeof a);
        a.info.bpf_fd = fd;
        a.info.info_len = sizeof info;
        a.info.info = (unsigned long) &info;
        if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && strncmp(info.name, argv[2], strlen(argv[2])) == 0 && info.run_cnt)
            printf("%s id %u: %llu runs, %.0f ns per run\n", info.name, id, (unsigned long long) info.run_cnt,
                   (double) info.run_time_ns / info.run_cnt);
        close(fd);
    }
    return 0;
}
