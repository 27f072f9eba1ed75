package io.tansa.sys;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The tracing filesystem (Documentation/trace/ftrace.rst): where tracepoint ids and record
 * formats live. A tracepoint perf event (PERF_TYPE_TRACEPOINT) takes the id from
 * {@code events/SYSTEM/EVENT/id} as its config; its PERF_SAMPLE_RAW data is laid out as
 * {@code events/SYSTEM/EVENT/format} says. When tracefs is not mounted, {@link #root()} mounts
 * it at /sys/kernel/tracing with mount(2) (what perf does), which needs CAP_SYS_ADMIN.
 */
public final class Tracefs {
    private Tracefs() {}

    /**
     * int mount(const char *source, const char *target, const char *filesystemtype, unsigned long
     * mountflags, const void *data), mount(2): linked on first use, since tansa mounts tracefs only
     * where it is not mounted (a link costs a few ms of start-up).
     */
    private static final class Mount {
        static final MethodHandle MOUNT = Libc.downcall("mount",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    }

    static final Path DEFAULT = Path.of("/sys/kernel/tracing");
    /** Found (or mounted) once: /proc/self/mounts is not read again for every tracefs file. */
    private static Path root;
    private static final Path DEBUGFS = Path.of("/sys/kernel/debug/tracing");

    /** One field of a tracepoint record, from a format file line ("field:long id; offset:8; size:8; signed:1;"). */
    public record Field(String declaration, String name, int offset, int size, boolean signed) {}

    /** A tracepoint's id and record layout. */
    public record Format(String name, int id, List<Field> fields) {
        /** The field called {@code name} (for arrays, without the brackets). */
        public Optional<Field> field(String name) {
            return fields.stream().filter(f -> f.name.equals(name)).findFirst();
        }
    }

    /**
     * The tracefs root: the mounted tracefs (or debugfs's tracing directory), else tracefs
     * mounted now at /sys/kernel/tracing. Throws PermissionException when not allowed to mount.
     */
    public static synchronized Path root() {
        if (root != null) return root;
        Path p = mounted();
        if (p != null) return root = p;
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) Mount.MOUNT.invokeExact(Libc.errnoSeg(), a.allocateFrom("nodev"),
                    a.allocateFrom(DEFAULT.toString()), a.allocateFrom("tracefs"), 0L, MemorySegment.NULL);
            if (rc == -1) throw Libc.fail("mount -t tracefs nodev " + DEFAULT);
        } catch (Throwable t) {
            throw Libc.rethrow(t);
        }
        return root = DEFAULT;
    }

    /** Where tracefs is mounted now, or null. */
    static Path mounted() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = l.split(" ");
                if (f.length > 2 && f[2].equals("tracefs")) {
                    return Path.of(f[1]);
                }
            }
        } catch (IOException e) {
            return null;
        }
        return Files.isDirectory(DEBUGFS.resolve("events")) ? DEBUGFS : null;
    }

    /** True when the tracepoint {@code system:event} exists (e.g. syscalls:sys_enter_ioctl). */
    public static boolean exists(String system, String event) {
        return Files.isRegularFile(root().resolve("events").resolve(system).resolve(event).resolve("format"));
    }

    /** Reads and parses events/SYSTEM/EVENT/format. */
    public static Format format(String system, String event) {
        Path f = root().resolve("events").resolve(system).resolve(event).resolve("format");
        try {
            return parse(Files.readString(f));
        } catch (java.nio.file.AccessDeniedException e) {
            throw SysException.of("read " + f, Errno.EACCES);
        } catch (IOException e) {
            throw new SysException("cannot read " + f + ": " + e.getMessage(), Errno.ENOENT);
        }
    }

    /**
     * Defines a uprobe trace event {@code group/event} on file offset {@code offset} of
     * {@code path} ("p:GROUP/EVENT PATH:0xOFFSET" appended to uprobe_events,
     * Documentation/trace/uprobetracer.rst) and returns its tracepoint id. The definition alone
     * touches no process: the breakpoint is placed only while a perf event on it is open.
     */
    public static int addUprobe(String group, String event, String path, long offset) {
        if (path.contains(" ")) throw new SysException("uprobe_events cannot name a path with spaces: " + path, Errno.EINVAL);
        appendUprobeEvents("p:" + group + "/" + event + " " + path + ":0x" + Long.toHexString(offset));
        Path id = root().resolve("events").resolve(group).resolve(event).resolve("id");
        try {
            return Integer.parseInt(Files.readString(id).trim());
        } catch (IOException | NumberFormatException e) {
            throw new SysException("cannot read " + id + ": " + e.getMessage(), Errno.ENOENT);
        }
    }

    /** Removes a uprobe trace event defined by {@link #addUprobe} (its perf events must be closed). */
    public static void removeUprobe(String group, String event) {
        appendUprobeEvents("-:" + group + "/" + event);
    }

    /** The "GROUP/EVENT" names of the uprobe trace events defined now. */
    public static List<String> uprobes() {
        List<String> out = new ArrayList<>();
        try {
            // lines: "p:GROUP/EVENT PATH:0xOFFSET"
            for (String l : Files.readAllLines(root().resolve("uprobe_events"))) {
                int colon = l.indexOf(':'), space = l.indexOf(' ');
                if (colon > 0 && space > colon) out.add(l.substring(colon + 1, space));
            }
        } catch (IOException e) {
            // none readable: none to list
        }
        return out;
    }

    private static void appendUprobeEvents(String line) {
        Path f = root().resolve("uprobe_events");
        try {
            Files.writeString(f, line + "\n", java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.APPEND);
        } catch (java.nio.file.AccessDeniedException e) {
            throw SysException.of("write " + f, Errno.EACCES);
        } catch (IOException e) {
            throw new SysException("write '" + line + "' to " + f + ": " + e.getMessage(), Errno.EINVAL);
        }
    }

    static Format parse(String text) {
        String name = null;
        int id = -1;
        List<Field> fields = new ArrayList<>();
        for (String line : text.split("\n")) {
            String t = line.trim();
            if (t.startsWith("name:")) name = t.substring(5).trim();
            else if (t.startsWith("ID:")) id = Integer.parseInt(t.substring(3).trim());
            else if (t.startsWith("field:")) {
                String decl = null;
                int offset = -1, size = -1;
                boolean signed = false;
                for (String part : t.split(";")) {
                    String p = part.trim();
                    if (p.startsWith("field:")) decl = p.substring(6).trim();
                    else if (p.startsWith("offset:")) offset = Integer.parseInt(p.substring(7));
                    else if (p.startsWith("size:")) size = Integer.parseInt(p.substring(5));
                    else if (p.startsWith("signed:")) signed = p.endsWith("1");
                }
                if (decl == null) continue;
                String fname = decl.substring(decl.lastIndexOf(' ') + 1).replace("*", "");
                int bracket = fname.indexOf('[');
                if (bracket >= 0) fname = fname.substring(0, bracket);
                fields.add(new Field(decl, fname, offset, size, signed));
            }
        }
        return new Format(name, id, List.copyOf(fields));
    }
}
