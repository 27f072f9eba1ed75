package io.tansa.sys;

import java.util.ArrayList;
import java.util.List;

/** Names for the numbers /proc/PID/fdinfo shows: open(2) flags (&lt;asm-generic/fcntl.h&gt;) and clock ids (&lt;linux/time.h&gt;). */
public final class FdFlags {
    private FdFlags() {}

    public static final int O_ACCMODE = 3, O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2;
    private static final int[] BITS = {02000, 04000, 010000, 040000, 0200000, 0400000, 01000000, 02000000,
        04000000, 010000000};
    private static final String[] NAMES = {"O_APPEND", "O_NONBLOCK", "O_DSYNC", "O_DIRECT", "O_DIRECTORY",
        "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "__O_SYNC", "O_PATH"};

    /**
     * "O_RDWR|O_NONBLOCK|O_CLOEXEC" for the octal flags of an fdinfo file. O_LARGEFILE (always set
     * on 64-bit) is left out; __O_SYNC shows as O_SYNC (it only ever comes with O_DSYNC).
     */
    public static String names(int flags) {
        List<String> out = new ArrayList<>();
        out.add(switch (flags & O_ACCMODE) {
            case O_RDONLY -> "O_RDONLY";
            case O_WRONLY -> "O_WRONLY";
            case O_RDWR -> "O_RDWR";
            default -> "O_ACCMODE";
        });
        for (int i = 0; i < BITS.length; i++) {
            if ((flags & BITS[i]) == 0) continue;
            if (BITS[i] == 010000 && (flags & 04000000) != 0) continue; // O_DSYNC inside O_SYNC
            out.add(BITS[i] == 04000000 ? "O_SYNC" : NAMES[i]);
        }
        return String.join("|", out);
    }

    private static final String[] CLOCKS = {"CLOCK_REALTIME", "CLOCK_MONOTONIC", "CLOCK_PROCESS_CPUTIME_ID",
        "CLOCK_THREAD_CPUTIME_ID", "CLOCK_MONOTONIC_RAW", "CLOCK_REALTIME_COARSE", "CLOCK_MONOTONIC_COARSE",
        "CLOCK_BOOTTIME", "CLOCK_REALTIME_ALARM", "CLOCK_BOOTTIME_ALARM", null, "CLOCK_TAI"};

    /** "CLOCK_MONOTONIC" for 1, "clock N" when unknown. */
    public static String clockName(int id) {
        return id >= 0 && id < CLOCKS.length && CLOCKS[id] != null ? CLOCKS[id] : "clock " + id;
    }
}
