/* Linked into symtarget at start. Reports its own definitions' addresses through dlsym on its
 * own handle (the exe's dup_fn would win a plain reference), and libc's malloc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void lib_fn(int x) {
    __asm__ volatile("" ::"r"(x));
}

__attribute__((noinline)) void dup_fn(void) {
    __asm__ volatile("");
}

void lib_report(void) {
    Dl_info info;
    dladdr((void *)lib_report, &info);
    void *self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    printf("addr lib_fn %p\n", dlsym(self, "lib_fn"));
    printf("addr lib_dup_fn %p\n", dlsym(self, "dup_fn"));
    printf("addr malloc %p\n", dlsym(libc, "malloc"));
    /* memcpy is an IFUNC: the GOT holds the implementation the resolver picked. */
    void *(*volatile mc)(void *, const void *, size_t) = memcpy;
    printf("addr memcpy %p\n", (void *)mc);
}
