/* Prints "NAME 0xVALUE" for ioctl requests (or, with "syscalls", "NAME NR" for syscalls) as the
 * compiler sees them in the UAPI headers, the oracle for tansa's generated tables. */
#include <linux/kvm.h>
#include <linux/perf_event.h>
#include <linux/sockios.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#define P(x) printf("%s 0x%lx\n", #x, (unsigned long)(x))
#define S(x) printf("%s %d\n", #x + 4, x)

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "syscalls") == 0) {
        S(SYS_read); S(SYS_ioctl); S(SYS_getppid); S(SYS_clone3); S(SYS_execve); S(SYS_perf_event_open);
        S(SYS_futex_waitv); S(SYS_exit_group); S(SYS_openat);
        return 0;
    }
    P(KVM_RUN); P(KVM_CREATE_VM); P(KVM_CREATE_VCPU); P(KVM_GET_VCPU_MMAP_SIZE); P(KVM_SET_USER_MEMORY_REGION);
    P(KVM_GET_REGS); P(KVM_SET_SREGS); P(KVM_IRQFD); P(KVM_IOEVENTFD);
    P(TCGETS); P(TCSETS); P(TIOCGWINSZ); P(FIONREAD); P(FIONBIO); P(FIOCLEX);
    P(SIOCGIFCONF); P(SIOCGIFINDEX); P(SIOCGIFFLAGS);
    P(PERF_EVENT_IOC_ENABLE); P(PERF_EVENT_IOC_SET_OUTPUT); P(PERF_EVENT_IOC_SET_FILTER);
    P(BLKGETSIZE64); P(FS_IOC_GETFLAGS);
    return 0;
}
