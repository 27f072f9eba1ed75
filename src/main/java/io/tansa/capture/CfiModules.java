package io.tansa.capture;

import io.tansa.elf.ElfFile;
import io.tansa.symbols.Module;
import io.tansa.symbols.ProcessSymbols;
import io.tansa.unwind.Cfi;
import io.tansa.unwind.Unwinder;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The unwinder's view of a process: for a pc, the call-frame information of the object that
 * contains it (.eh_frame via .eh_frame_hdr, else .debug_frame) and its load bias. Parsed CFI is
 * shared by every process that maps the same object (keyed by build-id, else path).
 */
final class CfiModules implements Unwinder.Modules {
    private static final Map<String, Optional<Cfi>> CACHE = new ConcurrentHashMap<>();
    private final ProcessSymbols symbols;

    CfiModules(ProcessSymbols symbols) {
        this.symbols = symbols;
    }

    @Override
    public Unwinder.ModuleCfi forPc(long pc) {
        Optional<Module> m = symbols.moduleAt(pc);
        if (m.isEmpty()) return null;
        Module mod = m.get();
        String key = mod.buildId() != null ? mod.buildId() : mod.path();
        Cfi cfi = CACHE.computeIfAbsent(key, k -> load(mod.elf())).orElse(null);
        return new Unwinder.ModuleCfi(cfi, mod.bias());
    }

    private static Optional<Cfi> load(ElfFile elf) {
        // malformed or absent CFI: null, and this object unwinds by frame pointers only
        return elf == null ? Optional.empty() : Optional.ofNullable(Cfi.of(elf));
    }
}
