/* Prints the bpf(2) constants, union bpf_attr offsets and struct pt_regs offsets that tansa's
 * sys.BpfMap, sys.BpfAsm (kernel walker additions) and sys.PtRegs declare. */
#include <stddef.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <asm/ptrace.h>

#define VAL(v) printf(#v " %lld\n", (long long)(v))
int main(void) {
    printf("bpf_attr.map_flags %zu\n", offsetof(union bpf_attr, map_flags));
    VAL(BPF_MAP_LOOKUP_ELEM); VAL(BPF_MAP_UPDATE_ELEM); VAL(BPF_MAP_DELETE_ELEM);
    VAL(BPF_MAP_TYPE_HASH); VAL(BPF_MAP_TYPE_ARRAY); VAL(BPF_MAP_TYPE_PROG_ARRAY); VAL(BPF_F_MMAPABLE);
    VAL(BPF_FUNC_ktime_get_ns); VAL(BPF_FUNC_tail_call); VAL(BPF_FUNC_get_current_pid_tgid);
    VAL(BPF_OR); VAL(BPF_RSH); VAL(BPF_ARSH); VAL(BPF_JLT); VAL(BPF_JSGE); VAL(BPF_JSLT);
    printf("pt_regs.rbp %zu\n", offsetof(struct pt_regs, rbp));
    printf("pt_regs.rbx %zu\n", offsetof(struct pt_regs, rbx));
    printf("pt_regs.rip %zu\n", offsetof(struct pt_regs, rip));
    printf("pt_regs.rsp %zu\n", offsetof(struct pt_regs, rsp));
    printf("pt_regs.size %zu\n", sizeof(struct pt_regs));
    return 0;
}
