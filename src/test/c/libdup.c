/* Shared library for the ambiguous-symbol test: defines its own target() (protected, so calls
 * inside the library bind to it) and lib_work(), which calls it once. */
__attribute__((visibility("protected"), noipa)) long target(long x) { return x ^ 0x5a; }
__attribute__((noipa)) long lib_work(long x) { return target(x) + 1; }
