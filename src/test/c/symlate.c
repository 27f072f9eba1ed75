/* dlopen'ed by symtarget after it is running; helper is local (only in .symtab). */
__attribute__((noinline)) static int helper(int x) {
    return x * 3;
}

__attribute__((noinline)) int late_fn(int x) {
    return helper(x) + 1;
}
