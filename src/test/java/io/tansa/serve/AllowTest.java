package io.tansa.serve;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tansa.Failure;
import io.tansa.testing.Native;
import io.tansa.testing.Target;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** --allow selectors against a real process, checked against what /proc says of it. */
@Tag("privileged")
class AllowTest {
    @Test
    void selectorsMatchWhatProcSays() throws Exception {
        try (Target t = Target.start(Native.build("top_burn").toString())) {
            t.awaitLine("ready");
            int pid = t.pid();
            String uid = Target.status(pid, "Uid").split("\\s+")[0];
            // cgroup v2: "0::/PATH"; v1 (or hybrid): a line per hierarchy; the deepest path is the one to test
            String cg = Files.readAllLines(Path.of("/proc/" + pid + "/cgroup")).stream()
                    .map(l -> l.substring(l.indexOf(':', l.indexOf(':') + 1) + 1))
                    .max(java.util.Comparator.comparingInt(String::length)).orElseThrow();
            for (String s : List.of("pid=" + pid, "comm=top_burn", "uid=" + uid, "cgroup=" + cg, "cgroup=/")) {
                assertEquals(s, String.valueOf(Allow.parse(List.of("pid=1", s)).match(pid)), s);
            }
            if (!cg.equals("/")) {
                String parent = cg.substring(0, Math.max(1, cg.lastIndexOf('/')));
                assertEquals("cgroup=" + parent, String.valueOf(Allow.parse(List.of("cgroup=" + parent)).match(pid)), "below a cgroup");
                // a prefix that is not a whole path component does not match
                assertNull(Allow.parse(List.of("cgroup=" + cg.substring(0, cg.length() - 1))).match(pid));
            }
            for (String s : List.of("pid=" + (pid + 100000), "comm=top_bur", "uid=" + (Integer.parseInt(uid) + 1),
                    "cgroup=/no/such/cgroup")) {
                assertNull(Allow.parse(List.of(s)).match(pid), s);
            }
            assertNull(Allow.parse(List.of()).match(pid), "no selector: nothing allowed");
        }
    }

    @Test
    void badSelectorsAreUsageErrors() {
        for (String s : List.of("name=ruby", "pid=", "pid=12a", "uid=root", "cgroup=system.slice", "comm")) {
            Failure f = assertThrows(Failure.class, () -> Allow.parse(List.of(s)), s);
            assertEquals(Failure.Kind.USAGE, f.kind());
        }
    }
}
