package io.tansa.probe;

import io.tansa.Failure;
import io.tansa.proc.Mapping;
import io.tansa.proc.ProcFs;
import io.tansa.symbols.ProbeTarget;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which probe target a hit of the kernel-owned engines is: the runtime address of each target in
 * each process (file offset → its mapping), and the target whose address a hit's ip is (or just
 * after the breakpoint byte). An unknown ip means an object mapped since (a pending library): the
 * maps are read again, at most every 100 ms per process. Used on the engine's one drain thread.
 */
final class TargetAddresses {
    private final List<ProbeTarget> targets;
    private final Map<Integer, long[]> byPid = new HashMap<>();
    private final Map<Integer, Long> mapsReadAt = new HashMap<>();

    TargetAddresses(List<ProbeTarget> targets) {
        this.targets = List.copyOf(targets);
    }

    /** The index of the target hit at {@code ip} in {@code pid}, or -1. */
    int location(int pid, long ip) {
        int i = indexOf(of(pid), ip);
        Long read = mapsReadAt.get(pid);
        if (i < 0 && (read == null || System.nanoTime() - read > 100_000_000L)) {
            byPid.remove(pid);
            i = indexOf(of(pid), ip);
        }
        return i;
    }

    private static int indexOf(long[] addresses, long ip) {
        for (int i = 0; i < addresses.length; i++) if (ip == addresses[i] || ip == addresses[i] + 1) return i;
        return -1;
    }

    /** Runtime address of each target in {@code pid}; -1 where not mapped. */
    long[] of(int pid) {
        return byPid.computeIfAbsent(pid, p -> {
            mapsReadAt.put(p, System.nanoTime());
            List<Mapping> maps;
            try {
                maps = ProcFs.maps(p);
            } catch (Failure e) {
                maps = List.of();
            }
            long[] a = new long[targets.size()];
            for (int i = 0; i < a.length; i++) a[i] = targets.get(i).addressIn(maps);
            return a;
        });
    }
}
