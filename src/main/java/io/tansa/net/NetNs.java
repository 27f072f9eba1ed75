package io.tansa.net;

import io.tansa.Failure;
import io.tansa.sys.Namespaces;
import io.tansa.sys.SysException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Network namespaces: which one a process is in, and running a socket query inside another one.
 * sock_diag answers about the namespace of the socket that asks, so a query for a process in
 * another namespace runs on a fresh thread that first joins it with setns(2) — setns moves only
 * the calling thread, so the rest of tansa stays where it was, and the thread is then discarded.
 */
public final class NetNs {
    private NetNs() {}

    /** "net:[4026531840]" for {@code pid} ("self" for tansa), null when not readable. */
    public static String of(String pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/" + pid + "/ns/net")).toString();
        } catch (IOException e) {
            return null;
        }
    }

    public static String of(int pid) {
        return of(Integer.toString(pid));
    }

    /** tansa's own network namespace. */
    public static String self() {
        return of("self");
    }

    /**
     * Runs {@code task} in the network namespace of {@code pid}: here when it is tansa's own (or
     * unknown), otherwise on a thread that entered it.
     *
     * @throws Failure NAMESPACE when the namespace cannot be entered (needs CAP_SYS_ADMIN)
     */
    public static <T> T call(int pid, Supplier<T> task) {
        String ns = of(pid);
        if (ns == null || ns.equals(self())) return task.get();
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("tansa-netns-" + pid).unstarted(() -> {
            try {
                Namespaces.enterNet(pid);
                result.set(task.get());
            } catch (Throwable e) {
                error.set(e);
            }
        });
        t.start();
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure(Failure.Kind.INTERNAL, "interrupted");
        }
        Throwable e = error.get();
        if (e instanceof SysException.PermissionException p) {
            throw new Failure(Failure.Kind.NAMESPACE, "process " + pid + " is in another network namespace (" + ns
                    + "); entering it needs CAP_SYS_ADMIN: " + p.getMessage(), p);
        }
        if (e instanceof RuntimeException r) throw r;
        if (e instanceof Error r) throw r;
        return result.get();
    }
}
