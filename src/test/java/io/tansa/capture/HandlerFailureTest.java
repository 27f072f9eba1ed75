package io.tansa.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.capture.Callers;
import io.tansa.capture.StackCapture;
import io.tansa.probe.CopyEngine;
import io.tansa.testing.Privileged;
import io.tansa.testing.Target;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An exception inside the capture (here: thrown by the hit callback at the 5th hit) ends the run
 * with that exception — and still removes every probe and detaches: the target keeps running,
 * untraced, with SIGTRAP as it was, its results unchanged, and no uprobe definition left.
 */
// A capture that hangs must fail this test, not stall the suite (the waitpid downcall cannot be interrupted).
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
@Tag("privileged")
class HandlerFailureTest {
    @ParameterizedTest
    @ValueSource(strings = {"COPY", "STOP"})
    void anExceptionInTheHandlerLeavesTheTargetUntouched(String mode) throws IOException {
        Privileged.requireRoot();
        Path bin = CallersTest.pathsProgram();
        // Not a child of this JVM: its process reaper would take the ptrace stops (stop mode).
        try (Target sh = Target.start("sh", "-c", "exec 3<&0; " + bin + " 2 0 <&3 & wait")) {
            int pid = Integer.parseInt(sh.awaitLine("ready ").substring(6).strip());
            IllegalStateException boom = new IllegalStateException("handler failed");
            Callers.Request req = Callers.Request.builder().pids(List.of(pid)).symbol("target")
                    .duration(Duration.ofSeconds(30)).maxDepth(64).lang(StackCapture.Lang.NATIVE)
                    .mode(Callers.Mode.valueOf(mode)).stackCopy(CopyEngine.DEFAULT_STACK_COPY)
                    .onHit(n -> {
                        if (n == 5) throw boom;
                    }).build();
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () -> Callers.run(req, new Callers.Run()));
            assertEquals("handler failed", thrown.getMessage());
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "target survives");
            assertEquals("0", Target.status(pid, "TracerPid"), "detached");
            long ign = Long.parseUnsignedLong(Target.status(pid, "SigIgn"), 16);
            assertEquals(0, ign & (1L << 4), "SIGTRAP not left ignored");
            assertEquals(List.of(), CallersTest.leftUprobes(), "no uprobe definition left");
            try (OutputStream in = sh.process.getOutputStream()) {
                in.write('\n');
            }
            String rest = sh.rest();
            assertTrue(rest.contains("mismatches 0"), "every call returned the right value: " + rest);
        }
    }
}
