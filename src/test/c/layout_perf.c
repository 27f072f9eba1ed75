/* Prints sizes and offsets of kernel structs tansa declares in io.tansa.sys, from the headers
   (struct perf_event_attr: layout_perf_event.c). */
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <sys/user.h>
#include <linux/perf_event.h>

#define OFF(s, f) printf(#s "." #f " %zu\n", offsetof(struct s, f))
int main(void) {
    OFF(perf_event_mmap_page, data_head); OFF(perf_event_mmap_page, data_tail);
    printf("user_regs_struct.size %zu\n", sizeof(struct user_regs_struct));
    OFF(user_regs_struct, rbp); OFF(user_regs_struct, rip); OFF(user_regs_struct, rsp); OFF(user_regs_struct, fs_base);
    OFF(user_regs_struct, rax); OFF(user_regs_struct, orig_rax); OFF(user_regs_struct, rdi);
    siginfo_t si;
    printf("siginfo.size %zu\n", sizeof(si));
    printf("siginfo.si_code %zu\n", (size_t)((char *)&si.si_code - (char *)&si));
    printf("siginfo.si_addr %zu\n", (size_t)((char *)&si.si_addr - (char *)&si));
    /* glibc 2.36 lacks si_perf_*: the kernel's _perf struct { unsigned long _data; __u32 _type; } is a
       member of the same union as _addr_lsb (asm-generic/siginfo.h), so it starts where _addr_lsb does. */
    printf("siginfo.si_perf_data %zu\n", (size_t)((char *)&si.si_addr_lsb - (char *)&si));
    printf("siginfo.si_perf_type %zu\n", (size_t)((char *)&si.si_addr_lsb - (char *)&si) + sizeof(unsigned long));
    return 0;
}
