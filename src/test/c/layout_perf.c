/* Prints sizes and offsets of kernel structs tansa declares in io.tansa.sys, from the headers. */
#include <stddef.h>
#include <stdio.h>
#include <signal.h>
#include <sys/user.h>
#include <linux/perf_event.h>

#define OFF(s, f) printf(#s "." #f " %zu\n", offsetof(struct s, f))
/* Bit number of a one-bit flag in the u64 that follows read_format: set it alone and look. */
#define BIT(f) do { struct perf_event_attr a = {0}; a.f = 1; unsigned long long w; \
    __builtin_memcpy(&w, (char *)&a + offsetof(struct perf_event_attr, read_format) + 8, 8); \
    printf("bit." #f " %d\n", __builtin_ctzll(w)); } while (0)
int main(void) {
    printf("perf_event_attr.size %zu\n", sizeof(struct perf_event_attr));
    OFF(perf_event_attr, config); OFF(perf_event_attr, sample_period); OFF(perf_event_attr, sample_type);
    OFF(perf_event_attr, read_format); OFF(perf_event_attr, wakeup_events); OFF(perf_event_attr, bp_type);
    OFF(perf_event_attr, config1); OFF(perf_event_attr, config2); OFF(perf_event_attr, branch_sample_type);
    OFF(perf_event_attr, sample_regs_user); OFF(perf_event_attr, sample_stack_user); OFF(perf_event_attr, clockid);
    OFF(perf_event_attr, sample_regs_intr); OFF(perf_event_attr, aux_watermark); OFF(perf_event_attr, sample_max_stack);
    OFF(perf_event_attr, aux_sample_size); OFF(perf_event_attr, sig_data);
    BIT(disabled); BIT(inherit); BIT(exclude_user); BIT(exclude_kernel); BIT(exclude_hv); BIT(exclude_idle);
    BIT(mmap); BIT(comm); BIT(freq); BIT(enable_on_exec); BIT(task); BIT(watermark); BIT(sample_id_all);
    BIT(exclude_callchain_kernel); BIT(exclude_callchain_user); BIT(mmap2); BIT(comm_exec); BIT(use_clockid);
    BIT(context_switch); BIT(inherit_thread); BIT(remove_on_exec); BIT(sigtrap);
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
