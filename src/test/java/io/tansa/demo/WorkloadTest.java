package io.tansa.demo;

import org.junit.jupiter.api.Tag;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The demo workload: built and running as the pid it reports, gone with its files after close. */
@Tag("privileged")
class WorkloadTest {
    @Test
    void startsTheBuiltProgramAndCloseKillsItAndRemovesItsFiles() throws Exception {
        Path bin;
        ProcessHandle h;
        try (Workload w = Workload.start()) {
            bin = w.binary();
            h = ProcessHandle.of(w.pid()).orElseThrow();
            assertTrue(h.isAlive());
            // the pid is the program's own, not the shell's: /proc/PID/exe is the built binary
            assertEquals(bin.toRealPath(), Files.readSymbolicLink(Path.of("/proc/" + w.pid() + "/exe")));
        }
        h.onExit().get(5, TimeUnit.SECONDS);
        assertFalse(h.isAlive());
        assertFalse(Files.exists(bin));
        assertFalse(Files.exists(bin.getParent()));
    }
}
