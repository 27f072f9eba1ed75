package io.tansa.report;

import java.util.List;
import java.util.Map;

/**
 * Writes a tree of plain values as JSON: Map (keys in iteration order), List, String, Number,
 * Boolean, null, and records (their components in declaration order).
 */
public final class JsonValue {
    private JsonValue() {}

    public static String of(Object v) {
        StringBuilder b = new StringBuilder();
        write(b, v);
        return b.toString();
    }

    public static void write(StringBuilder b, Object v) {
        switch (v) {
            case null -> b.append("null");
            case String s -> b.append(Json.quote(s));
            case Double d when d.isNaN() || d.isInfinite() -> b.append("null");
            case Number n -> b.append(n);
            case Boolean z -> b.append(z);
            case Map<?, ?> m -> {
                b.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) b.append(", ");
                    first = false;
                    b.append(Json.quote(String.valueOf(e.getKey()))).append(": ");
                    write(b, e.getValue());
                }
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) b.append(", ");
                    write(b, l.get(i));
                }
                b.append(']');
            }
            case Record r -> {
                b.append('{');
                var comps = r.getClass().getRecordComponents();
                for (int i = 0; i < comps.length; i++) {
                    if (i > 0) b.append(", ");
                    b.append(Json.quote(comps[i].getName())).append(": ");
                    try {
                        write(b, comps[i].getAccessor().invoke(r));
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                }
                b.append('}');
            }
            default -> b.append(Json.quote(v.toString()));
        }
    }
}
