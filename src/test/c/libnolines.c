/* A shared library built without debug info (-g0) for CallersLinesTest: its frame has no line. */
__attribute__((noipa)) long nl_run(long (*f)(long), long x) {
    return f(x) + 1;
}
