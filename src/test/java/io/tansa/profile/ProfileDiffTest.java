package io.tansa.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.report.Fixtures;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("fast")
class ProfileDiffTest {
    @Test
    void sharesNotCountsAreCompared() {
        Profile before = Fixtures.seed(); // A 60, B 30, C 10 of 100
        Profile after = new Profile();
        List<Profile.Path> paths = before.paths();
        // Twice as many hits, mix changed: A 40, B 140, C 20 of 200.
        after.record(paths.get(0).frames(), 40);
        after.record(paths.get(1).frames(), 140);
        after.record(paths.get(2).frames(), 20);
        List<ProfileDiff.Row> rows = ProfileDiff.compare(before, after, 0);
        // C kept its 10% share: not listed. B +40 points, A −40 points; ties: larger share after first.
        assertEquals(2, rows.size());
        assertEquals(30, rows.get(0).before());
        assertEquals(140, rows.get(0).after());
        assertEquals(40.0, rows.get(0).delta(), 1e-9);
        assertEquals(-40.0, rows.get(1).delta(), 1e-9);
        assertEquals(0, ProfileDiff.compare(before, after, 41).size());
    }
}
