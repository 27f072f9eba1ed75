package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The contract shape (README.md, "Output formats"): {"hits": N, "paths": [{"count": C, "frames": [FRAME...]}...]},
 * paths ranked by count, frames innermost first; plus "locations" (which definitions were hit).
 * A native frame with a source line (callers --lines) also has "file" (the path as the line
 * table names it) and "line", after the contract's fields.
 */
public final class JsonRenderer implements Renderer {
    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        StringBuilder b = new StringBuilder(4096);
        b.append("{\"hits\": ").append(p.total()).append(", \"paths\": [");
        boolean first = true;
        for (Profile.Path path : p.paths()) {
            if (!first) b.append(", ");
            first = false;
            b.append("{\"count\": ").append(path.count()).append(", \"frames\": [");
            boolean ff = true;
            for (Frame f : path.frames()) {
                if (!ff) b.append(", ");
                ff = false;
                frame(b, f);
            }
            b.append("]}");
        }
        b.append("], \"locations\": [");
        first = true;
        for (Profile.Location l : p.locations()) {
            if (!first) b.append(", ");
            first = false;
            b.append("{\"name\": ").append(Json.quote(l.symbol())).append(", \"module\": ")
                    .append(Json.quote(l.module())).append(", \"address\": ").append(Json.hex(l.address()))
                    .append(", \"hits\": ").append(l.hits()).append('}');
        }
        b.append(']');
        for (Map.Entry<String, String> e : p.meta().entrySet()) {
            if (e.getKey().startsWith(Profile.ACCOUNTING)) continue;
            b.append(", ").append(Json.quote(e.getKey())).append(": ").append(Json.quote(e.getValue()));
        }
        Map<String, String> acc = p.accounting();
        if (!acc.isEmpty()) {
            // numbers, not strings: README (callers, "Hits accounted") names each field
            b.append(", \"accounting\": {");
            boolean fa = true;
            for (Map.Entry<String, String> e : acc.entrySet()) {
                if (!fa) b.append(", ");
                fa = false;
                b.append(Json.quote(e.getKey())).append(": ").append(e.getValue());
            }
            b.append('}');
        }
        if (!p.targets().isEmpty()) b.append(", \"targets\": ").append(JsonValue.of(Who.targets(p.targets())));
        b.append("}\n");
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static void frame(StringBuilder b, Frame f) {
        b.append("{\"kind\": ").append(Json.quote(f.kind().json())).append(", \"name\": ").append(Json.quote(f.name()));
        if (f.kind() == Frame.Kind.RUBY) {
            b.append(", \"file\": ").append(Json.quote(f.file())).append(", \"line\": ").append(f.line());
        } else {
            b.append(", \"module\": ").append(Json.quote(f.module())).append(", \"address\": ").append(Json.hex(f.address()));
            if (f.hasLine()) b.append(", \"file\": ").append(Json.quote(f.file())).append(", \"line\": ").append(f.line());
        }
        b.append('}');
    }
}
