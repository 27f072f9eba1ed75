package io.tansa.trace;

import io.tansa.sys.SysException;
import io.tansa.sys.Tracefs;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How to print each syscall's arguments, from the kernel's own description of them: the
 * {@code syscalls:sys_enter_NAME} tracepoint format lists every argument with its C type and
 * name ("unsigned int fd", "const char * filename", "unsigned long arg"). Loaded per syscall on
 * first use; a syscall without that tracepoint gets six hex arguments.
 */
public final class SyscallArgs {
    /** How one argument prints. */
    public enum Kind { FD, POINTER, SIGNED, INT, UNSIGNED, FLAGS, MODE, IOCTL_REQUEST }

    public record Arg(String name, Kind kind) {}

    private static final Set<String> FD_NAMES = Set.of("fd", "oldfd", "newfd", "epfd", "dfd", "olddfd", "newdfd",
            "fd_in", "fd_out", "in_fd", "out_fd", "ufd", "pidfd", "fdin", "fdout", "mqdes");
    private static final List<Arg> UNKNOWN = List.of(new Arg("a0", Kind.POINTER), new Arg("a1", Kind.POINTER),
            new Arg("a2", Kind.POINTER), new Arg("a3", Kind.POINTER), new Arg("a4", Kind.POINTER),
            new Arg("a5", Kind.POINTER));

    private final List<?>[] cache = new List<?>[SyscallTable.MAX];

    @SuppressWarnings("unchecked")
    List<Arg> of(int nr) {
        if (nr < 0 || nr >= cache.length) return UNKNOWN;
        List<Arg> a = (List<Arg>) cache[nr];
        if (a == null) cache[nr] = a = load(nr);
        return a;
    }

    private static List<Arg> load(int nr) {
        String name = SyscallTable.name(nr);
        Tracefs.Format f;
        try {
            if (!Tracefs.exists("syscalls", "sys_enter_" + name)) return UNKNOWN;
            f = Tracefs.format("syscalls", "sys_enter_" + name);
        } catch (SysException e) {
            return UNKNOWN;
        }
        List<Arg> out = new ArrayList<>();
        for (Tracefs.Field field : f.fields()) {
            if (field.name().startsWith("common_") || field.name().equals("__syscall_nr")) continue;
            out.add(new Arg(field.name(), kind(name, field)));
        }
        return List.copyOf(out);
    }

    static Kind kind(String syscall, Tracefs.Field f) {
        String decl = f.declaration();
        if (syscall.equals("ioctl") && f.name().equals("cmd")) return Kind.IOCTL_REQUEST;
        if (decl.contains("*")) return Kind.POINTER;
        if (FD_NAMES.contains(f.name())) return Kind.FD;
        if (f.name().contains("flags")) return Kind.FLAGS;
        if (f.name().equals("mode")) return Kind.MODE;
        if (decl.startsWith("unsigned long") || decl.startsWith("u64") || decl.startsWith("size_t")
                || decl.startsWith("unsigned int") || decl.startsWith("u32") || decl.startsWith("umode_t")) {
            return Kind.UNSIGNED;
        }
        // 32-bit C types (int, pid_t, clockid_t...) arrive sign- or zero-extended in a 64-bit slot
        return decl.startsWith("long") || decl.startsWith("loff_t") || decl.startsWith("off_t")
                || decl.startsWith("s64") ? Kind.SIGNED : Kind.INT;
    }
}
