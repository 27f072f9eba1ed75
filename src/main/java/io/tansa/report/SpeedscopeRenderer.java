package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json, spec in
 * speedscope's src/lib/file-format-spec.ts): one "sampled" profile over shared frames, one sample
 * per distinct path (stack from root to leaf) weighted by its count, unit "none".
 * Native frames carry their module as "file"; Ruby frames their file and line.
 */
public final class SpeedscopeRenderer implements Renderer {
    static final String SCHEMA = "https://www.speedscope.app/file-format-schema.json";

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        Map<String, Integer> index = new LinkedHashMap<>();
        StringBuilder frames = new StringBuilder();
        StringBuilder samples = new StringBuilder();
        StringBuilder weights = new StringBuilder();
        for (Profile.Path path : p.paths()) {
            if (!samples.isEmpty()) {
                samples.append(", ");
                weights.append(", ");
            }
            samples.append('[');
            List<Frame> fs = path.frames();
            for (int i = fs.size() - 1; i >= 0; i--) {
                Frame f = fs.get(i);
                Integer id = index.get(f.key());
                if (id == null) {
                    id = index.size();
                    index.put(f.key(), id);
                    if (id > 0) frames.append(", ");
                    frame(frames, f);
                }
                samples.append(id);
                if (i > 0) samples.append(", ");
            }
            samples.append(']');
            weights.append(path.count());
        }
        String name = name(p);
        String json = "{\"$schema\": " + Json.quote(SCHEMA)
                + ", \"shared\": {\"frames\": [" + frames + "]}"
                + ", \"profiles\": [{\"type\": \"sampled\", \"name\": " + Json.quote(name)
                + ", \"unit\": \"none\", \"startValue\": 0, \"endValue\": " + p.total()
                + ", \"samples\": [" + samples + "], \"weights\": [" + weights + "]}]"
                + ", \"name\": " + Json.quote(name) + ", \"activeProfileIndex\": 0, \"exporter\": \"tansa\"}\n";
        out.write(json.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static String name(Profile p) {
        String sym = p.meta().get("symbol");
        return sym == null ? "tansa: " + p.total() + " hits" : "tansa: " + p.total() + " hits on " + sym;
    }

    private static void frame(StringBuilder b, Frame f) {
        b.append("{\"name\": ").append(Json.quote(Names.name(f)));
        if (f.kind() == Frame.Kind.RUBY) {
            if (f.file() != null) b.append(", \"file\": ").append(Json.quote(f.file()));
            b.append(", \"line\": ").append(f.line());
        } else if (f.hasLine()) {
            b.append(", \"file\": ").append(Json.quote(f.file())).append(", \"line\": ").append(f.line());
        } else if (f.module() != null) {
            b.append(", \"file\": ").append(Json.quote(f.module()));
        }
        b.append('}');
    }
}
