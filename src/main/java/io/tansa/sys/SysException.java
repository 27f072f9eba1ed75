package io.tansa.sys;

/** A failed system call, with its errno. Subclasses name the cases the CLI reports distinctly. */
public class SysException extends RuntimeException {
    private final int errno;

    public SysException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    static SysException of(String call, int errno) {
        String msg = call + ": " + Errno.name(errno);
        return switch (errno) {
            case Errno.ESRCH -> new ProcessGoneException(msg, errno);
            case Errno.EPERM, Errno.EACCES -> new PermissionException(msg, errno);
            default -> new SysException(msg, errno);
        };
    }

    /** ESRCH: the process or thread is gone (or not traced by us). */
    public static final class ProcessGoneException extends SysException {
        public ProcessGoneException(String message, int errno) {
            super(message, errno);
        }
    }

    /** EPERM / EACCES. The message names what grants the access. */
    public static final class PermissionException extends SysException {
        public PermissionException(String message, int errno) {
            super(message + " (needs root or CAP_SYS_PTRACE for ptrace, CAP_PERFMON or"
                    + " kernel.perf_event_paranoid <= 1 for perf events; check kernel.yama.ptrace_scope)", errno);
        }
    }
}
