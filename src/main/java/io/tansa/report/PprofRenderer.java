package io.tansa.report;

import io.tansa.profile.Frame;
import io.tansa.profile.Profile;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * pprof's gzipped profile.proto (github.com/google/pprof/proto/profile.proto), encoded by hand:
 * sample type "hits"/"count" (a timed profile, whose meta gives its "frequency" in Hz: "samples"/"count"
 * and "cpu"/"nanoseconds", period 1e9/Hz, as Go's CPU profiles and Parca's process_cpu expect),
 * one sample per distinct path (locations leaf first), one location per
 * distinct frame, one function per name and file, one mapping per native module. Functions are
 * already symbolized (has_functions), so {@code go tool pprof} shows the names without the binaries.
 * The capture's meta (symbol, stop reason, shaping) goes into the comments.
 */
public final class PprofRenderer implements Renderer {
    // profile.proto field numbers.
    private static final int P_SAMPLE_TYPE = 1, P_SAMPLE = 2, P_MAPPING = 3, P_LOCATION = 4, P_FUNCTION = 5,
            P_STRING_TABLE = 6, P_PERIOD_TYPE = 11, P_PERIOD = 12, P_COMMENT = 13;
    private static final int VT_TYPE = 1, VT_UNIT = 2;
    private static final int S_LOCATION_ID = 1, S_VALUE = 2;
    private static final int M_ID = 1, M_FILENAME = 5, M_HAS_FUNCTIONS = 7;
    private static final int L_ID = 1, L_MAPPING_ID = 2, L_ADDRESS = 3, L_LINE = 4;
    private static final int LN_FUNCTION_ID = 1, LN_LINE = 2;
    private static final int F_ID = 1, F_NAME = 2, F_SYSTEM_NAME = 3, F_FILENAME = 4;

    private final Map<String, Integer> strings = new LinkedHashMap<>();

    @Override
    public void render(Profile p, OutputStream out) throws IOException {
        strings.clear();
        str("");
        Proto prof = new Proto();
        long hz = hertz(p.meta().get("frequency"));
        long periodNs = hz > 0 ? 1_000_000_000L / hz : 0;
        Proto count = new Proto().varint(VT_TYPE, str(hz > 0 ? "samples" : "hits")).varint(VT_UNIT, str("count"));
        Proto cpu = hz > 0 ? new Proto().varint(VT_TYPE, str("cpu")).varint(VT_UNIT, str("nanoseconds")) : null;
        prof.message(P_SAMPLE_TYPE, count);
        if (cpu != null) prof.message(P_SAMPLE_TYPE, cpu);

        Map<String, Long> mappings = new LinkedHashMap<>();
        Map<String, Long> functions = new HashMap<>();
        Map<String, Long> locations = new HashMap<>();
        List<Proto> mappingMsgs = new ArrayList<>(), functionMsgs = new ArrayList<>(), locationMsgs = new ArrayList<>();
        List<Proto> samples = new ArrayList<>();
        for (Profile.Path path : p.paths()) {
            long[] ids = new long[path.frames().size()];
            for (int i = 0; i < ids.length; i++) {
                Frame f = path.frames().get(i);
                Long loc = locations.get(f.key());
                if (loc == null) {
                    long mapping = 0;
                    if (f.kind() != Frame.Kind.RUBY && f.module() != null) {
                        Long m = mappings.get(f.module());
                        if (m == null) {
                            m = (long) mappings.size() + 1;
                            mappings.put(f.module(), m);
                            mappingMsgs.add(new Proto().varint(M_ID, m).varint(M_FILENAME, str(f.module())).varint(M_HAS_FUNCTIONS, 1));
                        }
                        mapping = m;
                    }
                    String name = Names.name(f);
                    String file = f.file() == null ? "" : f.file();
                    String fkey = name + "\0" + file + "\0" + (f.kind() == Frame.Kind.RUBY ? "" : f.module());
                    Long fn = functions.get(fkey);
                    if (fn == null) {
                        fn = (long) functions.size() + 1;
                        functions.put(fkey, fn);
                        // Native names are the linker's (pprof demangles them when system_name == name); a Ruby
                        // label has no system name, and leaving it out keeps pprof from cutting "<main>" as a C++ template.
                        functionMsgs.add(new Proto().varint(F_ID, fn).varint(F_NAME, str(name))
                                .optional(F_SYSTEM_NAME, f.kind() == Frame.Kind.RUBY ? 0 : str(name)).optional(F_FILENAME, str(file)));
                    }
                    loc = (long) locations.size() + 1;
                    locations.put(f.key(), loc);
                    locationMsgs.add(new Proto().varint(L_ID, loc).optional(L_MAPPING_ID, mapping).optional(L_ADDRESS, f.address())
                            .message(L_LINE, new Proto().varint(LN_FUNCTION_ID, fn).optional(LN_LINE, f.line())));
                }
                ids[i] = loc;
            }
            long[] values = cpu == null ? new long[] {path.count()} : new long[] {path.count(), path.count() * periodNs};
            samples.add(new Proto().packed(S_LOCATION_ID, ids).packed(S_VALUE, values));
        }
        for (Proto s : samples) prof.message(P_SAMPLE, s);
        for (Proto m : mappingMsgs) prof.message(P_MAPPING, m);
        for (Proto l : locationMsgs) prof.message(P_LOCATION, l);
        for (Proto f : functionMsgs) prof.message(P_FUNCTION, f);
        if (cpu != null) prof.message(P_PERIOD_TYPE, cpu).varint(P_PERIOD, periodNs);
        else prof.message(P_PERIOD_TYPE, count).varint(P_PERIOD, 1);
        for (Map.Entry<String, String> e : p.meta().entrySet()) prof.varint(P_COMMENT, str(e.getKey() + ": " + e.getValue()));
        // Written last: every index above has been handed out by now; field order does not matter on the wire.
        for (String s : strings.keySet()) prof.string(P_STRING_TABLE, s);

        GZIPOutputStream gz = new GZIPOutputStream(out);
        gz.write(prof.toByteArray());
        gz.finish();
        out.flush();
    }

    /** "99 Hz" → 99; 0 when absent or not of that form. */
    static long hertz(String frequency) {
        if (frequency == null || !frequency.matches("\\d+ Hz")) return 0;
        return Long.parseLong(frequency.substring(0, frequency.indexOf(' ')));
    }

    private long str(String s) {
        return strings.computeIfAbsent(s, k -> strings.size());
    }
}
