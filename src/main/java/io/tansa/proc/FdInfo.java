package io.tansa.proc;

import io.tansa.sys.SmallFiles;
import java.util.ArrayList;
import java.util.List;

/**
 * /proc/PID/fdinfo/FD (proc(5)): position, open flags, inode, and the per-kind lines the kernel
 * adds — eventfd-count, epoll "tfd:" lines, timerfd clockid/it_value/it_interval, signalfd
 * sigmask, "inotify wd:" lines, io_uring's ring state and registered files.
 */
public record FdInfo(long pos, int flags, long inode, List<String> lines) {

    /** Reads and parses the fdinfo of {@code pid}/{@code fd}; null when the fd is gone. */
    public static FdInfo read(int pid, int fd) {
        String text = SmallFiles.read("/proc/" + pid + "/fdinfo/" + fd);
        return text == null ? null : parse(text);
    }

    /** Parses fdinfo text. */
    public static FdInfo parse(String text) {
        long pos = 0, ino = -1;
        int flags = 0;
        List<String> lines = new ArrayList<>();
        for (int at = 0, nl; at < text.length(); at = nl + 1) {
            nl = text.indexOf('\n', at);
            if (nl < 0) nl = text.length();
            String l = text.substring(at, nl);
            if (l.startsWith("pos:")) pos = Long.parseLong(value(l));
            else if (l.startsWith("flags:")) flags = Integer.parseInt(value(l), 8);
            else if (l.startsWith("ino:")) ino = Long.parseLong(value(l));
            else if (!l.isBlank()) lines.add(l);
        }
        return new FdInfo(pos, flags, ino, List.copyOf(lines));
    }

    private static String value(String line) {
        return line.substring(line.indexOf(':') + 1).strip();
    }

    /** The value of a "key: value" line, or null. */
    public String field(String key) {
        for (String l : lines) {
            if (l.startsWith(key + ":")) return value(l);
        }
        return null;
    }

    /**
     * io_uring (io_uring/fdinfo.c): a number field ("SqMask:\t0x7", "SqHead:\t0", "SqThread:\t-1"),
     * hex with its 0x prefix or decimal; {@code missing} when absent.
     */
    public long number(String key, long missing) {
        String v = field(key);
        if (v == null) return missing;
        try {
            return v.startsWith("0x") ? Long.parseLong(v.substring(2), 16) : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return missing;
        }
    }

    /** A registered file of an io_uring: its index in the ring's file table and its path. */
    public record RegisteredFile(int index, String path) {}

    /** io_uring: the files registered with it (the "UserFiles:" list: "    N: PATH" lines). */
    public List<RegisteredFile> uringFiles() {
        List<RegisteredFile> out = new ArrayList<>();
        boolean in = false;
        for (String l : lines) {
            if (l.startsWith("UserFiles:")) {
                in = true;
                continue;
            }
            if (!in) continue;
            java.util.regex.Matcher m = REGISTERED.matcher(l);
            if (!m.matches()) break;
            out.add(new RegisteredFile(Integer.parseInt(m.group(1)), unescape(m.group(2))));
        }
        return out;
    }

    /** seq_file_path escapes space, tab, newline and backslash as \\ooo (fs/seq_file.c, mangle_path). */
    static String unescape(String path) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\\\([0-7]{3})").matcher(path);
        StringBuilder b = new StringBuilder();
        while (m.find()) m.appendReplacement(b, java.util.regex.Matcher.quoteReplacement(
                String.valueOf((char) Integer.parseInt(m.group(1), 8))));
        return m.appendTail(b).toString();
    }

    private static final java.util.regex.Pattern REGISTERED = java.util.regex.Pattern.compile("^\\s+(\\d+): (.*)$");

    /** eventfd: the counter (fdinfo prints it in hex), or -1. */
    public long eventfdCount() {
        String v = field("eventfd-count");
        return v == null ? -1 : Long.parseUnsignedLong(v, 16);
    }

    /**
     * eventfd: its id, or -1 — fs/eventfd.c prints "eventfd-id: %d" (decimal; Linux 5.13+), the
     * number lsof shows as [eventfd:N].
     */
    public long eventfdId() {
        String v = field("eventfd-id");
        return v == null ? -1 : Long.parseLong(v.trim());
    }

    /** epoll: the watched fd numbers ("tfd: N events: ..." lines), ascending (the kernel lists them in its own order). */
    public List<Integer> epollTargets() {
        List<Integer> out = new ArrayList<>();
        for (String l : lines) {
            if (l.startsWith("tfd:")) out.add(Integer.parseInt(l.substring(4).strip().split("\\s+")[0]));
        }
        out.sort(null);
        return out;
    }

    /** timerfd: the clock id, or -1. */
    public int timerClock() {
        String v = field("clockid");
        return v == null ? -1 : Integer.parseInt(v);
    }

    /** timerfd: "it_interval: (SEC, NSEC)" or "it_value" as seconds; NaN when absent. */
    public double timerSeconds(String key) {
        String v = field(key);
        if (v == null) return Double.NaN;
        String[] p = v.replace("(", "").replace(")", "").split(",");
        return Long.parseLong(p[0].strip()) + Long.parseLong(p[1].strip()) / 1e9;
    }

    /** signalfd: the signal mask (bit N-1 = signal N), or 0. */
    public long sigmask() {
        String v = field("sigmask");
        return v == null ? 0 : Long.parseUnsignedLong(v, 16);
    }

    /** One inotify watch: descriptor, watched inode and device, event mask. */
    public record InotifyWatch(int wd, long inode, long dev, long mask) {}

    /** inotify: "inotify wd:1 ino:21623d sdev:fe00000 mask:300 ..." lines (numbers in hex but wd). */
    public List<InotifyWatch> inotifyWatches() {
        List<InotifyWatch> out = new ArrayList<>();
        for (String l : lines) {
            if (!l.startsWith("inotify wd:")) continue;
            int wd = 0;
            long ino = 0, dev = 0, mask = 0;
            for (String kv : l.substring("inotify ".length()).split("\\s+")) {
                int c = kv.indexOf(':');
                if (c < 0) continue;
                String k = kv.substring(0, c), v = kv.substring(c + 1);
                switch (k) {
                    case "wd" -> wd = Integer.parseInt(v);
                    case "ino" -> ino = Long.parseLong(v, 16);
                    case "sdev" -> dev = Long.parseLong(v, 16);
                    case "mask" -> mask = Long.parseLong(v, 16);
                    default -> { }
                }
            }
            out.add(new InotifyWatch(wd, ino, dev, mask));
        }
        return out;
    }
}
