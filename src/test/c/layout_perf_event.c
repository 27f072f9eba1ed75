/* Prints the layout of struct perf_event_attr and the perf_event_open(2) constants tansa declares in
   io.tansa.sys.PerfEvent, from <linux/perf_event.h> (and <linux/time.h> for the clock id). */
#include <stddef.h>
#include <stdio.h>
#include <linux/perf_event.h>
#include <linux/time.h>

#define OFF(s, f) printf(#s "." #f " %zu\n", offsetof(struct s, f))
#define C(n) printf(#n " %lld\n", (long long)(n))
/* Bit number of a one-bit flag in the u64 that follows read_format: set it alone and look. */
#define BIT(f) do { struct perf_event_attr a = {0}; a.f = 1; unsigned long long w; \
    __builtin_memcpy(&w, (char *)&a + offsetof(struct perf_event_attr, read_format) + 8, 8); \
    printf("bit." #f " %d\n", __builtin_ctzll(w)); } while (0)
int main(void) {
    printf("sizeof.perf_event_attr %zu\n", sizeof(struct perf_event_attr));
    OFF(perf_event_attr, type); OFF(perf_event_attr, size);
    OFF(perf_event_attr, config); OFF(perf_event_attr, sample_period); OFF(perf_event_attr, sample_type);
    OFF(perf_event_attr, read_format); OFF(perf_event_attr, wakeup_events); OFF(perf_event_attr, bp_type);
    OFF(perf_event_attr, config1); OFF(perf_event_attr, config2); OFF(perf_event_attr, branch_sample_type);
    OFF(perf_event_attr, sample_regs_user); OFF(perf_event_attr, sample_stack_user); OFF(perf_event_attr, clockid);
    OFF(perf_event_attr, sample_regs_intr); OFF(perf_event_attr, aux_watermark); OFF(perf_event_attr, sample_max_stack);
    OFF(perf_event_attr, aux_sample_size); OFF(perf_event_attr, sig_data);
    printf("PERF_ATTR_SIZE_VER7 %d\n", PERF_ATTR_SIZE_VER7);
    BIT(disabled); BIT(inherit); BIT(exclude_user); BIT(exclude_kernel); BIT(exclude_hv); BIT(exclude_idle);
    BIT(mmap); BIT(comm); BIT(freq); BIT(enable_on_exec); BIT(task); BIT(watermark); BIT(sample_id_all);
    BIT(exclude_callchain_kernel); BIT(exclude_callchain_user); BIT(mmap2); BIT(comm_exec); BIT(use_clockid);
    BIT(context_switch); BIT(inherit_thread); BIT(remove_on_exec); BIT(sigtrap);
    C(PERF_TYPE_HARDWARE); C(PERF_TYPE_SOFTWARE); C(PERF_TYPE_TRACEPOINT); C(PERF_TYPE_HW_CACHE);
    C(PERF_TYPE_RAW); C(PERF_TYPE_BREAKPOINT);
    C(PERF_COUNT_SW_CPU_CLOCK); C(PERF_COUNT_SW_TASK_CLOCK); C(PERF_COUNT_SW_DUMMY); C(PERF_COUNT_HW_CPU_CYCLES);
    C(PERF_SAMPLE_IP); C(PERF_SAMPLE_TID); C(PERF_SAMPLE_TIME); C(PERF_SAMPLE_ADDR); C(PERF_SAMPLE_READ);
    C(PERF_SAMPLE_CALLCHAIN); C(PERF_SAMPLE_ID); C(PERF_SAMPLE_CPU); C(PERF_SAMPLE_PERIOD);
    C(PERF_SAMPLE_STREAM_ID); C(PERF_SAMPLE_RAW); C(PERF_SAMPLE_REGS_USER); C(PERF_SAMPLE_STACK_USER);
    C(PERF_SAMPLE_IDENTIFIER);
    C(PERF_FLAG_FD_CLOEXEC);
    C(PERF_EVENT_IOC_ENABLE); C(PERF_EVENT_IOC_DISABLE); C(PERF_EVENT_IOC_RESET); C(PERF_EVENT_IOC_SET_OUTPUT);
    C(PERF_EVENT_IOC_SET_FILTER); C(PERF_EVENT_IOC_ID);
    C(CLOCK_MONOTONIC);
    return 0;
}
