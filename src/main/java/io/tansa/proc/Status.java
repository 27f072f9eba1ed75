package io.tansa.proc;

/**
 * The fields of /proc/PID/task/TID/status (proc(5)) tansa needs: thread name, thread group,
 * parent, state letter, the pending/blocked/ignored/caught signal masks (bit N-1 = signal N),
 * and the real uid.
 */
public record Status(String name, int tgid, int ppid, char state, long sigPnd, long shdPnd, long sigBlk,
                     long sigIgn, long sigCgt, int uid) {
    /** Whether signal {@code sig} (1-based) is in {@code mask}. */
    public static boolean has(long mask, int sig) {
        return (mask & (1L << (sig - 1))) != 0;
    }
}
