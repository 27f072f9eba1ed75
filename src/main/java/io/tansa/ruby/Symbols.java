package io.tansa.ruby;

/**
 * Where the Ruby runtime's symbols are in one process: libruby's (or a static ruby executable's),
 * relocated by the module's load bias; for a static ruby also its executable, whose TLS block holds
 * the VM's thread-local execution context.
 */
@FunctionalInterface
public interface Symbols {
    /** Absolute address of {@code name} in the process's libruby (or ruby executable), or -1. */
    long address(String name);

    /**
     * The process's executable when the Ruby VM is linked into it (a ruby built with
     * {@code --disable-shared}, ruby-build's default: no libruby is loaded), else null.
     */
    default io.tansa.elf.ElfFile staticRuby() {
        return null;
    }

    /** Ruby VM symbols of a process: libruby's, else the executable's (a ruby built without a shared libruby). */
    static Symbols of(int pid, io.tansa.symbols.ProcessSymbols syms) {
        String exe = io.tansa.proc.ProcFs.exe(pid);
        String exeName = exe == null ? "ruby" : exe.substring(exe.lastIndexOf('/') + 1);
        return new Symbols() {
            @Override
            public long address(String name) {
                return syms.symbolAddress("libruby", name).orElse(syms.symbolAddress(exeName, name).orElse(-1));
            }

            @Override
            public io.tansa.elf.ElfFile staticRuby() {
                if (syms.module("libruby").isPresent()) return null;
                // the executable is the module mapped from the file /proc/PID/exe names
                for (io.tansa.symbols.Module m : syms.modules()) {
                    if (m.elf() != null && exe != null && m.path().equals(exe)) {
                        return m.elf().lookup("ruby_version").isEmpty() ? null : m.elf();
                    }
                }
                return null;
            }
        };
    }
}
