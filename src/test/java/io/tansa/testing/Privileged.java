package io.tansa.testing;

import org.junit.jupiter.api.Assumptions;

/**
 * Gate for tests that need root-level kernel access. Where the kernel refuses they skip — but
 * under TANSA_REQUIRE_PRIVILEGED=1 (CI) a skip is a failure.
 */
public final class Privileged {
    private Privileged() {}

    public static boolean required() {
        return "1".equals(System.getenv("TANSA_REQUIRE_PRIVILEGED"));
    }

    /** Skips (or, in CI, fails) unless {@code ok}. */
    public static void assume(boolean ok, String why) {
        if (ok) return;
        if (required()) throw new AssertionError("privileged test cannot run: " + why);
        Assumptions.assumeTrue(false, why);
    }

    /**
     * Skips unless {@code ok}, in CI too: for what the machine itself lacks (hardware, a kernel
     * built without the feature), which no privilege can give. The reason names what is missing.
     */
    public static void assumeMachineHas(boolean ok, String what) {
        Assumptions.assumeTrue(ok, "this machine has no " + what + " (not a privilege: nothing to grant)");
    }

    public static void requireRoot() {
        assume("root".equals(System.getProperty("user.name")) || uid() == 0, "needs root");
    }

    static long uid() {
        try {
            for (String l : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/self/status"))) {
                if (l.startsWith("Uid:")) return Long.parseLong(l.split("\\s+")[1]);
            }
        } catch (java.io.IOException e) {
            return -1;
        }
        return -1;
    }
}
