/* Prints the union bpf_attr offsets, enum values and instruction encodings tansa's sys.Bpf and sys.BpfAsm declare. */
#include <stddef.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>

#define OFF(f) printf("bpf_attr." #f " %zu\n", offsetof(union bpf_attr, f))
#define VAL(v) printf(#v " %lld\n", (long long)(v))
int main(void) {
    OFF(map_type); OFF(key_size); OFF(value_size); OFF(max_entries);
    OFF(map_fd); OFF(key); OFF(value); OFF(flags);
    OFF(prog_type); OFF(insn_cnt); OFF(insns); OFF(license); OFF(log_level); OFF(log_size); OFF(log_buf);
    OFF(kern_version); OFF(prog_flags); OFF(prog_name);
    printf("bpf_attr.size %zu\n", sizeof(union bpf_attr));
    printf("bpf_insn.size %zu\n", sizeof(struct bpf_insn));
    VAL(BPF_MAP_CREATE); VAL(BPF_MAP_UPDATE_ELEM); VAL(BPF_PROG_LOAD); VAL(BPF_OBJ_NAME_LEN);
    VAL(BPF_MAP_TYPE_PERF_EVENT_ARRAY); VAL(BPF_MAP_TYPE_PERCPU_ARRAY); VAL(BPF_PROG_TYPE_KPROBE);
    VAL(BPF_FUNC_map_lookup_elem); VAL(BPF_FUNC_perf_event_output); VAL(BPF_FUNC_get_current_task);
    VAL(BPF_FUNC_probe_read_user); VAL(BPF_FUNC_probe_read_kernel);
    VAL(BPF_PSEUDO_MAP_FD); VAL(BPF_F_CURRENT_CPU);
    VAL(PERF_EVENT_IOC_SET_BPF); VAL(PERF_COUNT_SW_BPF_OUTPUT);
    VAL(BPF_LD); VAL(BPF_LDX); VAL(BPF_ST); VAL(BPF_STX); VAL(BPF_ALU); VAL(BPF_JMP); VAL(BPF_ALU64);
    VAL(BPF_W); VAL(BPF_H); VAL(BPF_B); VAL(BPF_DW); VAL(BPF_IMM); VAL(BPF_MEM); VAL(BPF_K); VAL(BPF_X);
    VAL(BPF_ADD); VAL(BPF_SUB); VAL(BPF_MUL); VAL(BPF_LSH); VAL(BPF_AND); VAL(BPF_MOV);
    VAL(BPF_JA); VAL(BPF_JEQ); VAL(BPF_JGT); VAL(BPF_JGE); VAL(BPF_JNE); VAL(BPF_JSGT); VAL(BPF_JLE); VAL(BPF_JSLE);
    VAL(BPF_CALL); VAL(BPF_EXIT);
    /* one instruction as the header lays it out: r3 = *(u64 *)(r7 + 24) */
    struct bpf_insn in = { .code = BPF_LDX | BPF_MEM | BPF_DW, .dst_reg = 3, .src_reg = 7, .off = 24, .imm = 0 };
    unsigned long long w; __builtin_memcpy(&w, &in, 8);
    printf("insn.ldx %llu\n", w);
    return 0;
}
