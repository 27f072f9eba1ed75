package io.tansa.profile;

/**
 * One frame of a stack. Native frames carry a function name, module (object file name) and
 * address, and a source file and line when they were asked for (callers --lines) and the object
 * has a line table; Ruby frames a label, file and line; kernel frames a kernel symbol.
 * Aggregation identity is {@link #key()}: the address is kept for display but two hits in the
 * same function of the same module are the same frame (as perf report groups by symbol) — unless
 * the frames carry source lines: then calls from two lines of one function are two frames.
 */
public record Frame(Kind kind, String name, String module, long address, String file, int line) {
    public enum Kind { NATIVE, RUBY, KERNEL;
        public String json() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    public static Frame nativeFrame(String name, String module, long address) {
        return new Frame(Kind.NATIVE, name, module, address, null, 0);
    }

    /** A native frame with its source position ({@code file} null and {@code line} 0 when unknown). */
    public static Frame nativeFrame(String name, String module, long address, String file, int line) {
        return new Frame(Kind.NATIVE, name, module, address, file, line);
    }

    /** This frame at another address (e.g. the probe's own, for the innermost frame). */
    public Frame withAddress(long a) {
        return a == address ? this : new Frame(kind, name, module, a, file, line);
    }

    /** Whether this native or kernel frame carries a source line. */
    public boolean hasLine() {
        return kind != Kind.RUBY && file != null && line > 0;
    }

    /** "file.c:42" for a native frame with a source line: the file's last path component and the line. */
    public String shortLine() {
        return file.substring(file.lastIndexOf('/') + 1) + ":" + line;
    }

    public static Frame ruby(String label, String file, int line) {
        return new Frame(Kind.RUBY, label, null, 0, file, line);
    }

    public static Frame kernel(String name, long address) {
        return new Frame(Kind.KERNEL, name, "[kernel]", address, null, 0);
    }

    /** Identity used when paths are aggregated. */
    public String key() {
        return switch (kind) {
            case RUBY -> "r\0" + name + "\0" + file + "\0" + line;
            case NATIVE, KERNEL -> hasLine() ? "n\0" + name + "\0" + module + "\0" + file + "\0" + line
                    : "n\0" + name + "\0" + module;
        };
    }

    /** Short human label: "func (libx.so.1)", "func (file.c:42, libx.so.1)" with a line, or "label (file:line)". */
    public String label() {
        return switch (kind) {
            case RUBY -> name + " (" + file + ":" + line + ")";
            case NATIVE, KERNEL -> hasLine() ? name + " (" + shortLine() + (module != null ? ", " + module : "") + ")"
                    : name + (module != null ? " (" + module + ")" : "");
        };
    }
}
