package io.tansa.ruby;

/**
 * Where the Ruby runtime's exported symbols are in one process: libruby's dynamic symbols
 * (or a static ruby executable's), relocated by the module's load bias.
 */
@FunctionalInterface
public interface Symbols {
    /** Absolute address of {@code name} in the process's libruby (or ruby executable), or -1. */
    long address(String name);
}
