package io.tansa.sys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Mem.readv on this process's own memory: ranges packed in order, stop at the first fault. */
@Tag("fast")
class MemReadvTest {
    static final int SELF = (int) ProcessHandle.current().pid();

    @Test
    void packsRangesInOrderAndStopsAtTheFirstFault() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(64);
            for (int i = 0; i < 64; i++) m.set(JAVA_BYTE, i, (byte) i);
            long a = m.address();
            byte[] dst = new byte[64];

            long n = Mem.readv(SELF, new long[] {a + 40, a + 2, a + 10}, new int[] {4, 3, 5}, 3, dst);
            assertEquals(12, n);
            assertArrayEquals(new byte[] {40, 41, 42, 43, 2, 3, 4, 10, 11, 12, 13, 14}, Arrays.copyOf(dst, 12));

            // page 0 is never mapped: the read ends after the ranges before it
            n = Mem.readv(SELF, new long[] {a, 16, a + 8}, new int[] {8, 8, 8}, 3, dst);
            assertEquals(8, n);
            assertArrayEquals(new byte[] {0, 1, 2, 3, 4, 5, 6, 7}, Arrays.copyOf(dst, 8));
        }
    }
}
