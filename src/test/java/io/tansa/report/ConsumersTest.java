package io.tansa.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.tansa.cli.Formats;
import io.tansa.profile.Profile;
import io.tansa.testing.Native;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each machine-readable format read back by its real consumer: Go's pprof, headless Chromium,
 * and speedscope's file-format schema. Used by the end-to-end test on a real capture too.
 */
@Tag("oracle")
public class ConsumersTest {
    @TempDir Path dir;

    static Path write(Path dir, String format, String name, Profile p) throws IOException {
        Path f = dir.resolve(name);
        try (OutputStream out = Files.newOutputStream(f)) {
            Formats.renderer(format).render(p, out);
        }
        return f;
    }

    @Test
    void pprofIsReadByGoToolPprof() throws IOException {
        checkPprof(dir, Fixtures.seed());
    }

    /** {@code go tool pprof -traces} lists every path leaf first with its count; {@code -top} the flat/cum counts. */
    public static void checkPprof(Path dir, Profile p) throws IOException {
        Path f = write(dir, "pprof", "profile.pb.gz", p);
        Native.Result traces = Native.run("go", "tool", "pprof", "-traces", f.toString());
        assertEquals(0, traces.code(), traces.err());
        // Blocks are "-----+----" separated: "<count>   <leaf>" then one caller per line.
        List<String> blocks = new ArrayList<>();
        for (String b : traces.out().split("-{5,}\\+-{5,}\n")) if (b.strip().matches("(?s)\\d+ .*")) blocks.add(b.strip());
        List<Profile.Path> paths = p.paths();
        assertEquals(paths.size(), blocks.size(), traces.out());
        for (int i = 0; i < paths.size(); i++) {
            List<String> names = new ArrayList<>();
            for (String line : blocks.get(i).split("\n")) names.add(line.strip().replaceFirst("^\\d+\\s+", ""));
            List<String> want = paths.get(i).frames().stream().map(Names::name).toList();
            assertEquals(want, names, "path " + i + "\n" + traces.out());
            assertTrue(blocks.get(i).startsWith(paths.get(i).count() + " "), blocks.get(i));
        }
        Native.Result top = Native.run("go", "tool", "pprof", "-top", f.toString());
        assertEquals(0, top.code(), top.err());
        assertTrue(top.out().contains("Showing nodes accounting for " + p.total() + ", 100% of " + p.total() + " total"), top.out());
    }

    @Test
    void speedscopeFollowsItsSchema() throws IOException {
        checkSpeedscope(Fixtures.seed(), dir);
    }

    /**
     * The required fields and types of speedscope's file-format-schema.json for a "sampled" profile
     * (FileFormat.File → shared.frames[] with name; profiles[] with type, name, unit, startValue,
     * endValue, samples, weights), plus what speedscope assumes: frame indices in range, one weight
     * per sample, samples root first, weights summing to the hits.
     */
    public static void checkSpeedscope(Profile p, Path dir) throws IOException {
        String text = Files.readString(write(dir, "speedscope", "profile.speedscope.json", p));
        Map<?, ?> file = (Map<?, ?>) Json.parse(text);
        assertEquals("https://www.speedscope.app/file-format-schema.json", file.get("$schema"));
        List<?> frames = (List<?>) ((Map<?, ?>) file.get("shared")).get("frames");
        for (Object o : frames) {
            Map<?, ?> f = (Map<?, ?>) o;
            assertTrue(f.get("name") instanceof String, f.toString());
            if (f.containsKey("file")) assertTrue(f.get("file") instanceof String, f.toString());
            if (f.containsKey("line")) assertTrue(f.get("line") instanceof Long, f.toString());
            assertTrue(Set_of_frame_keys.containsAll(f.keySet()), f.toString());
        }
        List<?> profiles = (List<?>) file.get("profiles");
        assertEquals(1, profiles.size());
        Map<?, ?> prof = (Map<?, ?>) profiles.get(0);
        assertEquals("sampled", prof.get("type"));
        assertTrue(prof.get("name") instanceof String);
        assertTrue(List.of("none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes").contains(prof.get("unit")));
        assertTrue(prof.get("startValue") instanceof Long && prof.get("endValue") instanceof Long);
        assertTrue((Long) prof.get("endValue") >= (Long) prof.get("startValue"));
        List<?> samples = (List<?>) prof.get("samples");
        List<?> weights = (List<?>) prof.get("weights");
        assertEquals(samples.size(), weights.size());
        long sum = 0;
        for (Object w : weights) sum += (Long) w;
        assertEquals(p.total(), sum);
        List<Profile.Path> paths = p.paths();
        for (int i = 0; i < samples.size(); i++) {
            List<?> stack = (List<?>) samples.get(i);
            for (Object idx : stack) assertTrue((Long) idx >= 0 && (Long) idx < frames.size());
            // Root first: the last entry is the innermost frame of the path.
            Map<?, ?> leaf = (Map<?, ?>) frames.get(((Long) stack.get(stack.size() - 1)).intValue());
            assertEquals(Names.name(paths.get(i).frames().get(0)), leaf.get("name"));
        }
    }

    private static final java.util.Set<String> Set_of_frame_keys = java.util.Set.of("name", "file", "line", "col");

    @Test
    void flameGraphRendersInHeadlessChromiumWithoutNetwork() throws IOException {
        checkFlameGraph(dir, Fixtures.seed());
    }

    /** The address can ask for the inverted ("who calls") view and a search; the script applies both. */
    @Test
    void flameGraphInvertsAndSearchesInChromium() throws IOException {
        Path html = write(dir, "flamegraph", "flame.html", Fixtures.seed());
        String dom = dumpDom(dir, html.toUri() + "#invert&search=valid_password");
        assertTrue(dom.contains("<span id=\"matched\">matched: 60.0%</span>"), dom);
        Matcher match = Pattern.compile("<div class=\"f match\"[^>]*>([^<]*)</div>").matcher(dom);
        assertTrue(match.find(), dom);
        assertEquals("valid_password?", match.group(1));
        assertFalse(match.find(), "one box matches");
        // Inverted: under "all" (top 0) comes the probed function, full width, then its callers.
        boolean found = false;
        for (Box b : boxes(dom)) {
            if (b.text().equals("crypt_ra")) {
                assertEquals("left: 0%; width: 100%; top: 17px;", b.attr("style").replaceFirst(" background:.*", ""));
                found = true;
            }
        }
        assertTrue(found, dom);
    }

    /** A frame box of the rendered page: its attributes (in any order) and text, entities decoded. */
    record Box(Map<String, String> attrs, String text) {
        String attr(String name) { return attrs.getOrDefault(name, ""); }
    }

    static List<Box> boxes(String dom) {
        List<Box> out = new ArrayList<>();
        Matcher m = Pattern.compile("<div (class=\"f[ \"][^>]*)>([^<]*)</div>").matcher(dom);
        while (m.find()) {
            Map<String, String> attrs = new java.util.HashMap<>();
            Matcher a = Pattern.compile("([\\w-]+)=\"([^\"]*)\"").matcher(m.group(1));
            while (a.find()) attrs.put(a.group(1), unescape(a.group(2)));
            out.add(new Box(attrs, unescape(m.group(2))));
        }
        return out;
    }

    private static String unescape(String s) {
        return s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    }

    static String dumpDom(Path dir, String url) {
        Native.Result r = Native.run("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--no-first-run", "--user-data-dir=" + dir.resolve("chromium-profile"), "--dump-dom", url);
        assertEquals(0, r.code(), r.err());
        return r.out();
    }

    /**
     * The page is loaded by Chromium with its script run ({@code --dump-dom} prints the DOM
     * after load): every frame of the profile is drawn as a box with its name and kind, and the
     * widest boxes carry their share. The file references no URL and forbids loading anything (CSP).
     */
    public static void checkFlameGraph(Path dir, Profile p) throws IOException {
        Path html = write(dir, "flamegraph", "flame.html", p);
        String page = Files.readString(html);
        assertFalse(Pattern.compile("(?i)\\b(https?|ftp|wss?):").matcher(page).find(), "no URL in the page");
        assertTrue(page.contains("content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'\""));
        String dom = dumpDom(dir, html.toUri().toString());
        java.util.Map<String, String> drawn = new java.util.HashMap<>();
        java.util.Map<String, Long> hits = new java.util.HashMap<>();
        Pattern count = Pattern.compile(" (\\d+) hits, ");
        for (Box b : boxes(dom)) {
            drawn.put(b.text(), b.attr("data-kind"));
            Matcher c = count.matcher(b.attr("title"));
            assertTrue(c.find(), b.toString());
            hits.merge(b.text(), Long.parseLong(c.group(1)), Long::sum);
        }
        assertEquals("all", drawn.get("all"), dom);
        assertEquals(p.total(), hits.get("all"));
        java.util.Map<String, Long> leafHits = new java.util.HashMap<>();
        for (Profile.Path path : p.paths()) {
            if (100.0 * path.count() / p.total() < 0.1) continue; // boxes under 0.1% are not drawn
            for (io.tansa.profile.Frame f : path.frames()) {
                String kind = io.tansa.profile.Shape.isPseudo(f) ? "group" : f.kind().json();
                assertEquals(kind, drawn.get(Names.name(f)), "frame " + f + " drawn as its kind");
            }
            leafHits.merge(Names.name(path.frames().get(0)), path.count(), Long::sum);
        }
        // Leaves are the top boxes: their hover details add up to the paths' counts.
        leafHits.forEach((leaf, n) -> assertEquals(n, hits.get(leaf), leaf));
        assertTrue(dom.contains("<h1 id=\"title\">" + SpeedscopeRenderer.name(p).replace("<", "&lt;").replace(">", "&gt;") + "</h1>"),
                "title shown");
    }
}
