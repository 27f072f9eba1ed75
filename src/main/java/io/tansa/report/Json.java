package io.tansa.report;

/**
 * Minimal JSON: string quoting for tansa's output shapes, and a small reader for recordings
 * and tests (objects keep their key order).
 */
public final class Json {
    private Json() {}

    /**
     * Parses one JSON value: objects become {@link java.util.LinkedHashMap}, arrays
     * {@link java.util.ArrayList}, numbers {@link Long} (integers) or {@link Double}, plus
     * String, Boolean and null.
     *
     * @throws IllegalArgumentException on malformed input, with the offset
     */
    public static Object parse(String text) {
        Reader r = new Reader(text);
        r.ws();
        Object v = r.value();
        r.ws();
        if (r.i != text.length()) throw r.error("trailing characters");
        return v;
    }

    private static final class Reader {
        final String s;
        int i;

        Reader(String s) { this.s = s; }

        IllegalArgumentException error(String what) {
            return new IllegalArgumentException("bad JSON at offset " + i + ": " + what);
        }

        void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }

        void expect(char c) {
            ws();
            if (i >= s.length() || s.charAt(i) != c) throw error("expected '" + c + "'");
            i++;
        }

        Object value() {
            ws();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            switch (c) {
                case '{' -> {
                    i++;
                    java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
                    ws();
                    if (s.startsWith("}", i)) { i++; return m; }
                    while (true) {
                        ws();
                        String k = string();
                        expect(':');
                        m.put(k, value());
                        ws();
                        if (s.startsWith(",", i)) { i++; continue; }
                        expect('}');
                        return m;
                    }
                }
                case '[' -> {
                    i++;
                    java.util.List<Object> l = new java.util.ArrayList<>();
                    ws();
                    if (s.startsWith("]", i)) { i++; return l; }
                    while (true) {
                        l.add(value());
                        ws();
                        if (s.startsWith(",", i)) { i++; continue; }
                        expect(']');
                        return l;
                    }
                }
                case '"' -> { return string(); }
                default -> {
                    if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
                    if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
                    if (s.startsWith("null", i)) { i += 4; return null; }
                    return number();
                }
            }
        }

        String string() {
            if (i >= s.length() || s.charAt(i) != '"') throw error("expected string");
            i++;
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) throw error("unterminated string");
                char c = s.charAt(i++);
                if (c == '"') return b.toString();
                if (c != '\\') { b.append(c); continue; }
                if (i >= s.length()) throw error("unterminated escape");
                char e = s.charAt(i++);
                switch (e) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'u' -> {
                        if (i + 4 > s.length()) throw error("short \\u escape");
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> b.append(e);
                }
            }
        }

        Object number() {
            int start = i;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
            String t = s.substring(start, i);
            if (t.isEmpty()) throw error("unexpected character '" + s.charAt(start) + "'");
            try {
                if (t.contains(".") || t.contains("e") || t.contains("E")) return Double.parseDouble(t);
                return Long.parseLong(t);
            } catch (NumberFormatException ex) {
                throw error("bad number " + t);
            }
        }
    }

    public static String quote(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    public static String hex(long v) {
        return quote("0x" + Long.toHexString(v));
    }
}
