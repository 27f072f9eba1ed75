/* Prints the kernel's signal-frame offsets that io.tansa.sys.SigFrame declares, from the uapi
 * headers only (glibc's <signal.h> would clash with <asm/signal.h>). */
#include <stddef.h>
#include <stdio.h>
#include <asm/unistd.h>
#include <asm/signal.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>

#define P(name, expr) printf("%s %lu\n", name, (unsigned long) (expr))

int main(void) {
    P("uc_mcontext", offsetof(struct ucontext, uc_mcontext));
    P("r8", offsetof(struct sigcontext, r8));
    P("r9", offsetof(struct sigcontext, r9));
    P("r10", offsetof(struct sigcontext, r10));
    P("r11", offsetof(struct sigcontext, r11));
    P("r12", offsetof(struct sigcontext, r12));
    P("r13", offsetof(struct sigcontext, r13));
    P("r14", offsetof(struct sigcontext, r14));
    P("r15", offsetof(struct sigcontext, r15));
    P("rdi", offsetof(struct sigcontext, rdi));
    P("rsi", offsetof(struct sigcontext, rsi));
    P("rbp", offsetof(struct sigcontext, rbp));
    P("rbx", offsetof(struct sigcontext, rbx));
    P("rdx", offsetof(struct sigcontext, rdx));
    P("rax", offsetof(struct sigcontext, rax));
    P("rcx", offsetof(struct sigcontext, rcx));
    P("rsp", offsetof(struct sigcontext, rsp));
    P("rip", offsetof(struct sigcontext, rip));
    P("nr_rt_sigreturn", __NR_rt_sigreturn);
    return 0;
}
