package io.tansa.unwind;

/** Malformed or unsupported call-frame information; the unwinder treats the pc as uncovered. */
public final class CfiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CfiException(String message) {
        super(message);
    }
}
