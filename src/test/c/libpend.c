/* dlopen'ed by pending.c once tansa is attached. */
__attribute__((noipa)) long pend_fn(long x) { return x * 7 + 3; }
