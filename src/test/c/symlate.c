/* dlopen'ed by symtarget after it is running. */
__attribute__((noinline)) int late_fn(int x) {
    return x * 3 + 1;
}
