package io.tansa.report;

import io.tansa.profile.TopTable;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * The contract shape (README.md, "tansa top"): {"samples": N, "rows": [{"symbol": "burn_a", "object": "burn",
 * "overhead": 74.5, "kernel": false}...]}, overhead in percent of samples (self). Also: "event",
 * "frequency", "lost", "next"; per row "children" with call chains, "command" and "pid" system-wide.
 * Ruby tables ({@code --lang ruby}): "language": "ruby"; a Ruby row's symbol is the method's label, its object
 * the source file, "children" its total (anywhere on the Ruby stack), plus "kind": "ruby" and "line".
 */
public final class TopTableJson {
    private TopTableJson() {}

    public static void render(TopTable t, OutputStream out) throws IOException {
        TopTable.Header h = t.header();
        StringBuilder b = new StringBuilder(4096);
        b.append("{\"samples\": ").append(t.samples())
                .append(", \"event\": ").append(Json.quote(h.event()))
                .append(", \"frequency\": ").append(h.frequency())
                .append(", \"target\": ").append(Json.quote(h.target()))
                .append(", \"lost\": ").append(h.lost());
        if (t.rubyTable()) b.append(", \"language\": \"ruby\"");
        if (h.stopped() != null) b.append(", \"stopped\": ").append(Json.quote(h.stopped()));
        if (!t.targets().isEmpty()) b.append(", \"targets\": ").append(JsonValue.of(Who.targets(t.targets())));
        if (t.byCommand()) b.append(", \"group_by\": ").append(Json.quote(t.groupColumn().toLowerCase(Locale.ROOT)));
        b.append(", \"rows\": [");
        boolean first = true;
        for (TopTable.Row r : t.rows()) {
            if (!first) b.append(", ");
            first = false;
            b.append("{\"symbol\": ").append(Json.quote(r.symbol()))
                    .append(", \"object\": ").append(Json.quote(r.object()))
                    .append(", \"overhead\": ").append(pct(t.percent(r.self())));
            if (t.callchains()) b.append(", \"children\": ").append(pct(t.percent(r.children())));
            b.append(", \"kernel\": ").append(r.kernel());
            if (r.ruby()) b.append(", \"kind\": \"ruby\", \"line\": ").append(r.line());
            if (t.byCommand()) {
                b.append(", \"").append(t.groupColumn().toLowerCase(Locale.ROOT)).append("\": ")
                        .append(Json.quote(r.command()));
                if (t.groupColumn().equals(TopTable.THREAD)) b.append(", \"tid\": ").append(r.tid());
                b.append(", \"pid\": ").append(r.pid());
                java.util.Map<String, Object> who = new java.util.LinkedHashMap<>();
                Who.fields(t.identity(r.pid()), who);
                for (var e : who.entrySet()) {
                    if (e.getKey().equals("container") && t.groupColumn().equals(TopTable.CONTAINER)) continue;
                    b.append(", ").append(Json.quote(e.getKey())).append(": ").append(JsonValue.of(e.getValue()));
                }
            }
            b.append('}');
        }
        b.append("], \"next\": ").append(Json.quote(t.nextCommand())).append("}\n");
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.2f", v);
    }
}
