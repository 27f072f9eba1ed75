package io.tansa;

/**
 * A failure the user must hear about, with the exit code that names its kind. Library code
 * throws it; only the CLI turns it into a message and a process exit status.
 */
public class Failure extends RuntimeException {
    /** Exit codes, stable for scripts. */
    public enum Kind {
        INTERNAL(1), USAGE(2), NO_SUCH_PROCESS(3), PERMISSION(4), SYMBOL_NOT_FOUND(5), AMBIGUOUS(6),
        TARGET_EXITED(7), UNSUPPORTED(8), BINARY_CHANGED(9), NAMESPACE(10),
        /** -p named a cgroup path or container id prefix that no process matches. */
        CONTAINER_NOT_FOUND(11),
        /** A filesystem the command needs (tracefs) is not mounted and tansa may not mount it. */
        NOT_MOUNTED(12);

        public final int exitCode;

        Kind(int code) { this.exitCode = code; }
    }

    private final Kind kind;

    public Failure(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Failure(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }
}
