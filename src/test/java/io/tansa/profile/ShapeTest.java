package io.tansa.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.tansa.Failure;
import io.tansa.report.Fixtures;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

@Tag("fast")
class ShapeTest {
    static long sum(Profile p) {
        return p.paths().stream().mapToLong(Profile.Path::count).sum();
    }

    @Test
    void identityReturnsTheSameProfile() {
        Profile p = Fixtures.seed();
        assertSame(p, Shape.NONE.apply(p));
    }

    @Test
    void focusAndExcludeFilterWholeHits() {
        Profile p = Fixtures.seed();
        Profile focus = new Shape(Shape.Group.NONE, Pattern.compile("valid_password"), null, 0, 0).apply(p);
        assertEquals(60, focus.total());
        assertEquals(1, focus.paths().size());
        assertEquals(60, focus.stacks().size());
        assertEquals(60, focus.locations().get(0).hits());
        assertEquals("--focus valid_password; 60 of 100 hits", focus.meta().get("shape"));
        // Regexes search the label, so a module or file name selects too.
        Profile exclude = new Shape(Shape.Group.NONE, null, Pattern.compile("\\(\\[kernel\\]\\)|signup\\.rb"), 0, 0).apply(p);
        assertEquals(60, exclude.total());
        assertEquals(sum(exclude), exclude.total());
    }

    @Test
    void maxDepthKeepsTheInnermostFramesAndMerges() {
        Profile p = new Shape(Shape.Group.NONE, null, null, 5, 0).apply(Fixtures.seed());
        List<Profile.Path> paths = p.paths();
        // A and B share their 5 innermost frames (crypt_ra … create): they merge into 90.
        assertEquals(2, paths.size());
        assertEquals(90, paths.get(0).count());
        assertEquals(5, paths.get(0).frames().size());
        assertEquals("create", paths.get(0).frames().get(4).name());
        assertEquals(100, p.total());
    }

    @Test
    void groupByThreadAndProcessAddsAnOutermostFrame() {
        Profile t = new Shape(Shape.Group.THREAD, null, null, 0, 0).apply(Fixtures.seed());
        // Path A ran on two threads (100, 101): 4 distinct paths now.
        assertEquals(4, t.paths().size());
        assertEquals(100, sum(t));
        for (Profile.Path path : t.paths()) {
            Frame root = path.frames().get(path.frames().size() - 1);
            assertEquals(Shape.THREAD_MODULE, root.module());
            assertEquals(true, Shape.isPseudo(root));
        }
        assertEquals("thread 200 (unicorn worker[1])", t.paths().stream().filter(x -> x.count() == 30).findFirst().orElseThrow()
                .frames().getLast().name());
        Profile proc = new Shape(Shape.Group.PROCESS, null, null, 0, 0).apply(Fixtures.seed());
        assertEquals(List.of(60L, 30L, 10L), proc.paths().stream().map(Profile.Path::count).toList());
        assertEquals("process 100", proc.paths().get(0).frames().getLast().name());
    }

    @Test
    void topKeepsKPathsAndFoldsTheRestSoSharesStayTrue() {
        Profile p = new Shape(Shape.Group.NONE, null, null, 0, 1).apply(Fixtures.seed());
        assertEquals(2, p.paths().size());
        assertEquals(60, p.paths().get(0).count());
        assertEquals(List.of(Frame.nativeFrame("[2 other paths]", Shape.OTHER_MODULE, 0)), p.paths().get(1).frames());
        assertEquals(40, p.paths().get(1).count());
        assertEquals(100, p.total());
    }

    @Test
    void pathOnlyProfilesShapeTheirPathsButCannotBeGrouped() {
        Profile agg = new Profile();
        agg.keepStacks(false);
        agg.addLocation("crypt_ra", "libcrypt.so.1", 0x4a10);
        Fixtures.seed().stacks().forEach(agg::record);
        Profile top = new Shape(Shape.Group.NONE, null, null, 0, 2).apply(agg);
        assertEquals(List.of(60L, 30L, 10L), top.paths().stream().map(Profile.Path::count).toList());
        assertEquals(100, top.locations().get(0).hits());
        Failure f = assertThrows(Failure.class, () -> new Shape(Shape.Group.THREAD, null, null, 0, 0).apply(agg));
        assertEquals(Failure.Kind.USAGE, f.kind());
    }
}
