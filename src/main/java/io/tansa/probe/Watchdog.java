package io.tansa.probe;

import io.tansa.sys.Self;
import io.tansa.sys.SysException;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * Wakes the stop engine's thread, which blocks in waitpid, for the duration limit, stop requests
 * and the end of a rate-cap window: a daemon thread that interrupts the waitpid with a signal
 * ({@link Self#wake}) while {@code wanted} says so.
 */
final class Watchdog {
    private final Thread thread;
    private volatile boolean running = true;

    /**
     * {@code expired} runs once the duration has passed (null duration: never); {@code wanted} says
     * whether the engine thread should be woken now.
     */
    private Watchdog(int tracerTid, Duration duration, Runnable expired, BooleanSupplier wanted) {
        long deadline = duration == null ? Long.MAX_VALUE : System.nanoTime() + duration.toNanos();
        this.thread = Thread.ofPlatform().daemon().name("tansa-watchdog").unstarted(() -> {
            while (running) {
                long now = System.nanoTime();
                if (now >= deadline) expired.run();
                boolean wake = wanted.getAsBoolean();
                if (wake && running) {
                    try {
                        Self.wake(tracerTid);
                    } catch (SysException e) {
                        return;
                    }
                }
                try {
                    Thread.sleep(wake ? 5 : 20);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    static Watchdog start(int tracerTid, Duration duration, Runnable expired, BooleanSupplier wanted) {
        Watchdog w = new Watchdog(tracerTid, duration, expired, wanted);
        w.thread.start();
        return w;
    }

    void stop() {
        running = false;
        thread.interrupt();
    }
}
