package io.tansa.profile;

import java.util.List;

/**
 * One captured stack: which process and thread, when (CLOCK_MONOTONIC nanoseconds), which probe
 * location was hit (index into {@link Profile#locations()}, -1 for timed samples), frames innermost first.
 */
public record Stack(int pid, int tid, String thread, long timeNanos, int location, List<Frame> frames) {
    public Stack {
        frames = List.copyOf(frames);
    }
}
