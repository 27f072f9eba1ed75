package io.tansa.capture;

import io.tansa.symbols.Module;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.unwind.Cfi;
import io.tansa.unwind.Unwinder;
import java.util.Optional;

/**
 * The unwinder's view of a process: for a pc, the call-frame information of the object that
 * contains it and its load bias. Parsed CFI is cached per ElfFile by {@link Cfi#of}, and ElfFiles
 * are shared by every process that maps the same object, so nothing is cached here.
 */
public final class CfiModules implements Unwinder.Modules {
    private final ProcessSymbols symbols;

    public CfiModules(ProcessSymbols symbols) {
        this.symbols = symbols;
    }

    @Override
    public Unwinder.ModuleCfi forPc(long pc) {
        Optional<Module> m = symbols.moduleAt(pc);
        if (m.isEmpty()) return null;
        Module mod = m.get();
        return new Unwinder.ModuleCfi(mod.elf() == null ? null : Cfi.of(mod.elf()), mod.bias());
    }
}
