package io.tansa.report;

import io.tansa.Failure;
import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import io.tansa.profile.Stack;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * A saved capture ({@code .tansa} file): gzipped JSON lines, documented in docs/recording.md.
 * <ul>
 *   <li>line 1, the header: {@code {"format": "tansa-recording", "version": 1, "hits": N, "stacks": true,
 *       "meta": {...}, "locations": [{"name", "module", "address", "hits"}...]}}</li>
 *   <li>frame definitions, each written once before the first stack that uses it:
 *       {@code {"define": [FRAME...]}} (ids 0, 1, 2… in order of definition; FRAME has kind,
 *       name, and module/address/file/line where known),</li>
 *   <li>one line per hit: {@code {"pid", "tid", "thread", "time", "location", "stack": [frame ids,
 *       innermost first]}},</li>
 *   <li>or, for a profile that kept only aggregated paths ({@code "stacks": false}), one line per
 *       path: {@code {"count", "stack"}}.</li>
 * </ul>
 * Reading a recording rebuilds the same {@link Profile} (same stacks in the same order, same meta
 * and locations), so every renderer prints exactly what it printed live.
 */
public final class Recording implements Renderer {
    /** Version written in the header; readers refuse newer versions. */
    public static final int VERSION = 1;
    static final String FORMAT = "tansa-recording";

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16);
        Writer w = new BufferedWriter(new OutputStreamWriter(gz, StandardCharsets.UTF_8), 1 << 16);
        List<Stack> stacks = p.stacks();
        boolean raw = stacks.size() == p.total();
        StringBuilder b = new StringBuilder(256);
        b.append("{\"format\": ").append(Json.quote(FORMAT)).append(", \"version\": ").append(VERSION)
                .append(", \"hits\": ").append(p.total()).append(", \"stacks\": ").append(raw)
                .append(", \"meta\": {");
        boolean first = true;
        for (Map.Entry<String, String> e : p.meta().entrySet()) {
            if (!first) b.append(", ");
            first = false;
            b.append(Json.quote(e.getKey())).append(": ").append(Json.quote(e.getValue()));
        }
        b.append("}, \"locations\": [");
        first = true;
        for (Profile.Location l : p.locations()) {
            if (!first) b.append(", ");
            first = false;
            b.append("{\"name\": ").append(Json.quote(l.symbol())).append(", \"module\": ").append(Json.quote(l.module()))
                    .append(", \"address\": ").append(Json.hex(l.address())).append(", \"hits\": ").append(l.hits()).append('}');
        }
        b.append(']');
        if (!p.targets().isEmpty()) b.append(", \"targets\": ").append(JsonValue.of(Who.targets(p.targets())));
        w.write(b.append("}\n").toString());
        Map<Frame, Integer> ids = new HashMap<>();
        if (raw) {
            for (Stack s : stacks) {
                b.setLength(0);
                define(b, s.frames(), ids);
                b.append("{\"pid\": ").append(s.pid()).append(", \"tid\": ").append(s.tid())
                        .append(", \"thread\": ").append(Json.quote(s.thread())).append(", \"time\": ").append(s.timeNanos())
                        .append(", \"location\": ").append(s.location()).append(", \"stack\": ");
                stack(b, s.frames(), ids);
                w.write(b.append("}\n").toString());
            }
        } else {
            for (Profile.Path path : p.paths()) {
                b.setLength(0);
                define(b, path.frames(), ids);
                b.append("{\"count\": ").append(path.count()).append(", \"stack\": ");
                stack(b, path.frames(), ids);
                w.write(b.append("}\n").toString());
            }
        }
        w.flush();
        gz.finish();
        out.flush();
    }

    /** Writes {@code p} as a recording to {@code file}. */
    public static void write(Profile p, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            new Recording().render(p, out);
        }
    }

    /** Reads a recording written by {@link #write} (gzipped or not). */
    public static Profile read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        } catch (NoSuchFileException e) {
            throw new Failure(Failure.Kind.USAGE, "no such file: " + file);
        }
    }

    public static Profile read(InputStream raw, String name) throws IOException {
        BufferedInputStream in = new BufferedInputStream(raw);
        in.mark(2);
        boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
        in.reset();
        BufferedReader r = new BufferedReader(new InputStreamReader(gzip ? new GZIPInputStream(in) : in, StandardCharsets.UTF_8));
        String line = r.readLine();
        Map<?, ?> header = line == null ? null : object(line, name, 1);
        if (header == null || !FORMAT.equals(header.get("format"))) {
            throw new Failure(Failure.Kind.USAGE, name + " is not a tansa recording (write one with -o FILE.tansa)");
        }
        long version = num(header, "version");
        if (version > VERSION) {
            throw new Failure(Failure.Kind.USAGE, name + " is a version " + version + " recording; this tansa reads up to version " + VERSION);
        }
        Profile p = new Profile();
        ((Map<?, ?>) header.get("meta")).forEach((k, v) -> p.meta((String) k, (String) v));
        if (header.get("targets") instanceof List<?> ts) {
            List<io.tansa.profile.Identity> ids = new ArrayList<>();
            for (Object o : ts) ids.add(Who.parse((Map<?, ?>) o));
            p.targets(ids);
        }
        List<Long> hits = new ArrayList<>();
        for (Object o : (List<?>) header.get("locations")) {
            Map<?, ?> l = (Map<?, ?>) o;
            p.addLocation((String) l.get("name"), (String) l.get("module"), hex(l.get("address")));
            hits.add(num(l, "hits"));
        }
        boolean stacks = Boolean.TRUE.equals(header.get("stacks"));
        List<Frame> table = new ArrayList<>();
        int n = 1;
        while ((line = r.readLine()) != null) {
            n++;
            if (line.isBlank()) continue;
            Map<?, ?> m = object(line, name, n);
            if (m.get("define") instanceof List<?> defs) {
                for (Object o : defs) table.add(frame((Map<?, ?>) o));
                continue;
            }
            List<Frame> frames = new ArrayList<>();
            for (Object id : (List<?>) m.get("stack")) {
                long i = (Long) id;
                if (i < 0 || i >= table.size()) throw new Failure(Failure.Kind.USAGE, name + " line " + n + ": frame " + i + " not defined");
                frames.add(table.get((int) i));
            }
            if (stacks) {
                p.record(new Stack((int) num(m, "pid"), (int) num(m, "tid"), (String) m.get("thread"), num(m, "time"),
                        (int) num(m, "location"), frames));
            } else {
                p.record(frames, num(m, "count"));
            }
        }
        if (!stacks) for (int i = 0; i < hits.size(); i++) p.addLocationHits(i, hits.get(i));
        if (p.total() != num(header, "hits")) {
            throw new Failure(Failure.Kind.USAGE, name + " is truncated: header says " + num(header, "hits")
                    + " hits, file holds " + p.total());
        }
        return p;
    }

    private static Map<?, ?> object(String line, String name, int n) {
        try {
            if (Json.parse(line) instanceof Map<?, ?> m) return m;
        } catch (IllegalArgumentException e) {
            throw new Failure(Failure.Kind.USAGE, name + " line " + n + ": " + e.getMessage());
        }
        throw new Failure(Failure.Kind.USAGE, name + " line " + n + ": not a JSON object");
    }

    private static long num(Map<?, ?> m, String key) {
        return m.get(key) instanceof Long v ? v : 0;
    }

    private static long hex(Object o) {
        return o instanceof String s && s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : 0;
    }

    /** A {"define": [FRAME…]} line for the frames of {@code frames} not written yet; their ids follow on. */
    private static void define(StringBuilder b, List<Frame> frames, Map<Frame, Integer> ids) {
        boolean open = false;
        for (Frame f : frames) {
            if (ids.containsKey(f)) continue;
            ids.put(f, ids.size());
            b.append(open ? ", " : "{\"define\": [");
            open = true;
            b.append("{\"kind\": ").append(Json.quote(f.kind().json())).append(", \"name\": ").append(Json.quote(f.name()));
            if (f.module() != null) b.append(", \"module\": ").append(Json.quote(f.module()));
            if (f.address() != 0) b.append(", \"address\": ").append(Json.hex(f.address()));
            if (f.file() != null) b.append(", \"file\": ").append(Json.quote(f.file()));
            if (f.line() != 0) b.append(", \"line\": ").append(f.line());
            b.append('}');
        }
        if (open) b.append("]}\n");
    }

    private static void stack(StringBuilder b, List<Frame> frames, Map<Frame, Integer> ids) {
        b.append('[');
        for (int i = 0; i < frames.size(); i++) {
            if (i > 0) b.append(", ");
            b.append(ids.get(frames.get(i)));
        }
        b.append(']');
    }

    private static Frame frame(Map<?, ?> f) {
        Frame.Kind kind = Frame.Kind.valueOf(((String) f.get("kind")).toUpperCase(java.util.Locale.ROOT));
        return new Frame(kind, (String) f.get("name"), (String) f.get("module"), hex(f.get("address")),
                (String) f.get("file"), (int) num(f, "line"));
    }
}
