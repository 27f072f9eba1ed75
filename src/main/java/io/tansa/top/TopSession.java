package io.tansa.top;

import io.tansa.capture.CfiModules;
import io.tansa.profile.TopTable;
import io.tansa.symbols.ProcessSymbols;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * {@code tansa top} (native functions) with its symbols and unwinding wired: one
 * {@link ProcessSymbols} per sampled process, made on its first sample, names the frames; with
 * DWARF call graphs ({@code stackCopy > 0}) the same symbols give the CFI the copied stacks are
 * unwound with. {@link Top#run} with these, for callers that have nothing else to plug in.
 */
public final class TopSession {
    private TopSession() {}

    /** Bytes of user stack per sample for {@code -g dwarf} (perf record --call-graph dwarf's default). */
    public static final int DWARF_STACK_COPY = 8192;

    /** As {@link Top#run}, naming frames from each process's own objects. */
    public static Top.Result run(Top.Request r, BooleanSupplier stop, Consumer<TopTable> update) {
        Map<Integer, ProcessSymbols> symbols = new ConcurrentHashMap<>();
        IntFunction<ProcessSymbols> of = pid -> symbols.computeIfAbsent(pid, ProcessSymbols::new);
        return Top.run(r, pid -> of.apply(pid)::frame, r.stackCopy() > 0 ? pid -> new CfiModules(of.apply(pid)) : null,
                stop, update);
    }
}
