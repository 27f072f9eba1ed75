package io.tansa.report;

import io.tansa.profile.Frame;
import java.util.Locale;

/** Display helpers shared by renderers: a name for frames without a symbol, shares as percent. */
final class Names {
    private Names() {}

    /** The frame's name, or its address when the symbol is unknown (as perf's "[unknown]"). */
    static String name(Frame f) {
        if (f.name() != null && !f.name().isEmpty()) return f.name();
        return f.address() != 0 ? "0x" + Long.toHexString(f.address()) : "[unknown]";
    }

    /** {@link #name} and, for a native frame with a source line, " (file.c:42)". */
    static String nameWithLine(Frame f) {
        return f.hasLine() ? name(f) + " (" + f.shortLine() + ")" : name(f);
    }

    static String percent(long count, long total) {
        return String.format(Locale.ROOT, "%.1f%%", total == 0 ? 0.0 : 100.0 * count / total);
    }
}
