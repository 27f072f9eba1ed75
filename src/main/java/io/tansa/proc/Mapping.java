package io.tansa.proc;

/**
 * One line of /proc/PID/maps (proc(5)): the address range [start, end), permissions ("r-xp"),
 * file offset, device ("fd:01"), inode and path (without the " (deleted)" suffix, which sets
 * {@code deleted}). Anonymous mappings have an empty path; special ones keep their name ("[vdso]").
 */
public record Mapping(long start, long end, String perms, long offset, String dev, long inode, String path,
                      boolean deleted) {
    /** Whether the mapping is executable (perms has 'x'). */
    public boolean executable() {
        return perms.indexOf('x') >= 0;
    }

    /** Whether a file backs this mapping (inode is set and the path is absolute). */
    public boolean fileBacked() {
        return inode != 0 && path.startsWith("/");
    }

    /** Whether {@code addr} lies in [start, end). */
    public boolean contains(long addr) {
        return Long.compareUnsigned(addr, start) >= 0 && Long.compareUnsigned(addr, end) < 0;
    }

    /** Parses one maps line: "start-end perms offset dev inode   path". */
    static Mapping parse(String line) {
        int i = 0;
        int dash = line.indexOf('-');
        long start = Long.parseUnsignedLong(line, 0, dash, 16);
        int sp = line.indexOf(' ', dash);
        long end = Long.parseUnsignedLong(line, dash + 1, sp, 16);
        i = sp + 1;
        int sp2 = line.indexOf(' ', i);
        String perms = line.substring(i, sp2);
        i = sp2 + 1;
        int sp3 = line.indexOf(' ', i);
        long offset = Long.parseUnsignedLong(line, i, sp3, 16);
        i = sp3 + 1;
        int sp4 = line.indexOf(' ', i);
        String dev = line.substring(i, sp4);
        i = sp4 + 1;
        int sp5 = line.indexOf(' ', i);
        if (sp5 < 0) sp5 = line.length();
        long inode = Long.parseLong(line, i, sp5, 10);
        i = sp5;
        while (i < line.length() && line.charAt(i) == ' ') i++;
        String path = line.substring(i);
        boolean deleted = false;
        if (inode != 0 && path.endsWith(" (deleted)")) {
            deleted = true;
            path = path.substring(0, path.length() - " (deleted)".length());
        }
        return new Mapping(start, end, perms, offset, dev, inode, path, deleted);
    }
}
