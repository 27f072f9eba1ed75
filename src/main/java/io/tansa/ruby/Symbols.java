package io.tansa.ruby;

/**
 * Where the Ruby runtime's exported symbols are in one process: libruby's dynamic symbols
 * (or a static ruby executable's), relocated by the module's load bias.
 */
@FunctionalInterface
public interface Symbols {
    /** Absolute address of {@code name} in the process's libruby (or ruby executable), or -1. */
    long address(String name);

    /** Ruby VM symbols of a process: libruby's, else the executable's (a ruby built without a shared libruby). */
    static Symbols of(int pid, io.tansa.symbols.ProcessSymbols syms) {
        String exe = io.tansa.proc.ProcFs.exe(pid);
        String exeName = exe == null ? "ruby" : exe.substring(exe.lastIndexOf('/') + 1);
        return name -> syms.symbolAddress("libruby", name).orElse(syms.symbolAddress(exeName, name).orElse(-1));
    }
}
