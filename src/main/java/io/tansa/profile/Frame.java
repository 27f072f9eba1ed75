package io.tansa.profile;

/**
 * One frame of a stack. Native frames carry a function name, module (object file name) and
 * address; Ruby frames a label, file and line; kernel frames a kernel symbol.
 * Aggregation identity is {@link #key()}: the address is kept for display but two hits in the
 * same function of the same module are the same frame (as perf report groups by symbol).
 */
public record Frame(Kind kind, String name, String module, long address, String file, int line) {
    public enum Kind { NATIVE, RUBY, KERNEL;
        public String json() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    public static Frame nativeFrame(String name, String module, long address) {
        return new Frame(Kind.NATIVE, name, module, address, null, 0);
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
            case NATIVE, KERNEL -> "n\0" + name + "\0" + module;
        };
    }

    /** Short human label: "func (libx.so.1)" or "label (file:line)". */
    public String label() {
        return switch (kind) {
            case RUBY -> name + " (" + file + ":" + line + ")";
            case NATIVE, KERNEL -> name + (module != null ? " (" + module + ")" : "");
        };
    }

    /** Label for folded stacks: no spaces or semicolons. */
    public String foldedName() {
        String s = switch (kind) {
            case RUBY -> name + " " + file + ":" + line;
            case NATIVE, KERNEL -> name;
        };
        return s.replace(';', ':');
    }
}
