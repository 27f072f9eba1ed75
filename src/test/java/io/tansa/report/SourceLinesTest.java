package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Native frames with source lines (callers --lines): aggregation, renderers, recordings. */
@Tag("fast")
class SourceLinesTest {
    static Frame leaf = Frame.nativeFrame("target", "app", 0x1000, "/src/app.c", 5);
    static Frame callerAt(int line, long addr) {
        return Frame.nativeFrame("caller", "app", addr, "/src/app.c", line);
    }
    static Frame libc = Frame.nativeFrame("__libc_start_call_main", "libc.so.6", 0x7000);

    static Profile profile() {
        Profile p = new Profile();
        p.record(new Stack(1, 1, "t", 0, -1, List.of(leaf, callerAt(20, 0x2010), libc)));
        p.record(new Stack(1, 1, "t", 0, -1, List.of(leaf, callerAt(20, 0x2010), libc)));
        p.record(new Stack(1, 1, "t", 0, -1, List.of(leaf, callerAt(24, 0x2040), libc)));
        return p;
    }

    static String render(Renderer r, Profile p) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        r.render(p, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void callsFromTwoLinesAreTwoPaths() {
        List<Profile.Path> paths = profile().paths();
        assertEquals(2, paths.size());
        assertEquals(2, paths.get(0).count());
        assertEquals(20, paths.get(0).frames().get(1).line());
        assertEquals(24, paths.get(1).frames().get(1).line());
        // without lines the same frames are one
        assertEquals(Frame.nativeFrame("caller", "app", 0x2010).key(), Frame.nativeFrame("caller", "app", 0x2040).key());
    }

    @Test
    void renderers() throws Exception {
        Profile p = profile();
        String text = render(new TextRenderer(), p);
        assertTrue(text.contains("\n    caller (app.c:20)                        app\n"), text);
        assertTrue(text.contains("\n    __libc_start_call_main                   libc.so.6\n"), text);
        String json = render(new JsonRenderer(), p);
        assertTrue(json.contains("{\"kind\": \"native\", \"name\": \"caller\", \"module\": \"app\", \"address\": \"0x2010\", "
                + "\"file\": \"/src/app.c\", \"line\": 20}"), json);
        assertTrue(json.contains("{\"kind\": \"native\", \"name\": \"__libc_start_call_main\", \"module\": \"libc.so.6\", "
                + "\"address\": \"0x7000\"}"), json);
        String folded = render(new FoldedRenderer(), p);
        assertTrue(folded.contains("__libc_start_call_main;caller app.c:20;target app.c:5 2\n"), folded);
        assertEquals("caller (app.c:24, app)", callerAt(24, 0).label());
    }

    @Test
    void recordingKeepsLines() throws Exception {
        Path f = Files.createTempFile("lines", ".tansa");
        try {
            Recording.write(profile(), f);
            Profile back = Recording.read(f);
            assertEquals(2, back.paths().size());
            assertEquals(callerAt(20, 0x2010), back.paths().get(0).frames().get(1));
        } finally {
            Files.deleteIfExists(f);
        }
    }
}
