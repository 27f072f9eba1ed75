package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One self-contained HTML file (template: resources io/tansa/report/flamegraph.html): the paths as
 * data, a small script that lays out the flame graph (root at the bottom) or inverted "who calls"
 * view (probed function on top), zoom on click, regex search with the matched share, details on
 * hover, frames colored by kind. A Content-Security-Policy of {@code default-src 'none'} keeps the
 * page from loading anything; it references no URL.
 */
public final class FlameGraphRenderer implements Renderer {
    private static final String TEMPLATE = template();

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        Map<String, Integer> index = new LinkedHashMap<>();
        StringBuilder frames = new StringBuilder("[");
        StringBuilder paths = new StringBuilder("[");
        for (Profile.Path path : p.paths()) {
            if (paths.length() > 1) paths.append(',');
            paths.append('[').append(path.count());
            for (Frame f : path.frames()) {
                Integer id = index.get(f.key());
                if (id == null) {
                    id = index.size();
                    index.put(f.key(), id);
                    if (id > 0) frames.append(',');
                    frames.append('[').append(Json.quote(Names.name(f))).append(',').append(Json.quote(kind(f))).append(',')
                            .append(Json.quote(where(f))).append(']');
                }
                paths.append(',').append(id);
            }
            paths.append(']');
        }
        String title = SpeedscopeRenderer.name(p);
        // '<' only occurs inside JSON strings; escaping it keeps "</script>" in a name from closing the script.
        String data = ("{\"title\": " + Json.quote(title) + ", \"frames\": " + frames + "], \"paths\": " + paths + "]}")
                .replace("<", "\\u003c");
        String html = TEMPLATE.replace("/*TITLE*/", html(title)).replace("/*DATA*/", data);
        out.write(html.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static String kind(Frame f) {
        return Shape.isPseudo(f) ? "group" : f.kind().json();
    }

    private static String where(Frame f) {
        if (f.kind() == Frame.Kind.RUBY) return f.file() + ":" + f.line();
        if (Shape.isPseudo(f)) return "";
        return (f.module() == null ? "" : f.module()) + (f.hasLine() ? " " + f.file() + ":" + f.line() : "")
                + (f.address() == 0 ? "" : " 0x" + Long.toHexString(f.address()));
    }

    private static String html(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    private static String template() {
        try (InputStream in = FlameGraphRenderer.class.getResourceAsStream("flamegraph.html")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
