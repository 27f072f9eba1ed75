package io.tansa.ruby;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Byte offsets and flag bits of the Ruby VM structures that {@link RubyReader} and
 * {@link RubySnapshots} read, one row per Ruby release series (x86-64, default build options).
 * The rows are data: named members in the resource {@code layouts.txt}, each section printed by gcc
 * from that release's own headers and checked against them by RubyLayoutTest. A new series is a
 * new section; a member that a series does not have is absent from its row ({@link #has}), and
 * the code path that needs it is chosen by that (2.7's thread list, 3.3's string length).
 *
 * <p>Names follow the C sources: {@code rb_vm_t}, {@code rb_ractor_t}, {@code rb_thread_t}
 * (vm_core.h, ractor_core.h), {@code rb_execution_context_t}, {@code rb_control_frame_t},
 * {@code rb_iseq_t} and {@code struct rb_iseq_constant_body} (vm_core.h),
 * {@code struct iseq_insn_info_entry} (iseq.h), {@code rb_callable_method_entry_t} and
 * {@code rb_method_definition_t} (method.h), {@code struct vm_svar} (internal/imemo.h),
 * {@code struct RString} and {@code struct RArray} (include/ruby/internal/core), and
 * {@code rb_symbols_t} (symbol.h).
 */
public final class RubyLayout {
    /* Constants shared by every supported series (include/ruby/internal/value_type.h,
       internal/imemo.h, vm_core.h); RubyLayoutTest checks them per series too. */
    static final long T_MASK = 0x1f, T_STRING = 0x05, T_ARRAY = 0x07, T_IMEMO = 0x1a;
    static final int FL_USHIFT = 12;
    static final long IMEMO_MASK = 0x0f, IMEMO_SVAR = 2, IMEMO_MENT = 6, IMEMO_ISEQ = 7;
    static final long VM_FRAME_MAGIC_MASK = 0x7fff0001L, VM_FRAME_MAGIC_CFUNC = 0x55550001L;
    static final long VM_ENV_FLAG_LOCAL = 0x0002;
    /** symbol.c: IDs are stored in chunks of ID_ENTRY_UNIT, each entry {str, sym}. */
    static final int ID_ENTRY_UNIT = 512, ID_ENTRY_SIZE = 2;

    private final String series;
    private final Map<String, Long> row;
    private final boolean verified;

    private RubyLayout(String series, Map<String, Long> row, boolean verified) {
        this.series = series;
        this.row = Collections.unmodifiableMap(row);
        this.verified = verified;
    }

    /** The series this row is for ("3.3"). */
    public String series() {
        return series;
    }

    /** False for a row forced onto another series' Ruby (--ruby-layout): its offsets are not known to hold. */
    public boolean verified() {
        return verified;
    }

    /** This row forced onto a Ruby it was not made for, marked unverified. */
    RubyLayout unverified() {
        return new RubyLayout(series, row, false);
    }

    /** The row by member name, as in layouts.txt. */
    Map<String, Long> members() {
        return row;
    }

    boolean has(String member) {
        return row.containsKey(member);
    }

    /** A member's value; a row without it is a table error, caught by RubyLayoutTest. */
    long get(String member) {
        Long v = row.get(member);
        if (v == null) throw new IllegalStateException("Ruby " + series + " layout has no " + member);
        return v;
    }

    private int off(String member) {
        return (int) get(member);
    }

    // rb_vm_t, rb_ractor_t (3.0+), rb_thread_t
    boolean hasRactors() { return has("vm.ractor.set"); }
    int vmRactorSet() { return off("vm.ractor.set"); }
    int vmLivingThreads() { return off("vm.living_threads"); }
    int vmProgname() { return off("vm.progname"); }
    int ractorThreadsSet() { return off("ractor.threads.set"); }
    int ractorVmlrNode() { return off("ractor.vmlr_node"); }
    int threadLtNode() { return off(hasRactors() ? "thread.lt_node" : "thread.vmlt_node"); }
    int threadEc() { return off("thread.ec"); }
    int threadVm() { return off("thread.vm"); }
    /** pthread_t of a thread: rb_thread_t.thread_id, or from 3.3 rb_thread_t.nt->thread_id. */
    boolean pthreadInNativeThread() { return has("thread.nt"); }
    int threadPthread() { return off(pthreadInNativeThread() ? "thread.nt" : "thread.thread_id"); }
    int ntThreadId() { return off("nt.thread_id"); }
    // rb_execution_context_t
    int ecVmStack() { return off("ec.vm_stack"); }
    int ecVmStackSize() { return off("ec.vm_stack_size"); }
    int ecCfp() { return off("ec.cfp"); }
    int ecThreadPtr() { return off("ec.thread_ptr"); }
    // rb_control_frame_t
    int cfpPc() { return off("cfp.pc"); }
    int cfpIseq() { return off("cfp.iseq"); }
    int cfpEp() { return off("cfp.ep"); }
    int cfpSize() { return off("cfp.size"); }
    int iseqBody() { return off("iseq.body"); }
    // struct rb_iseq_constant_body
    int bodyIseqSize() { return off("body.iseq_size"); }
    int bodyIseqEncoded() { return off("body.iseq_encoded"); }
    int bodyPathobj() { return off("body.location.pathobj"); }
    int bodyLabel() { return off("body.location.label"); }
    int bodyInsnsInfoBody() { return off("body.insns_info.body"); }
    int bodyInsnsInfoSize() { return off("body.insns_info.size"); }
    int bodySuccIndexTable() { return off("body.insns_info.succ_index_table"); }
    /** Bytes of the body read at once: up to the last member used. */
    int bodyReadSize() {
        int max = 0;
        for (var e : row.entrySet()) if (e.getKey().startsWith("body.")) max = Math.max(max, (int) (long) e.getValue());
        return max + 8;
    }
    int insnInfoEntrySize() { return off("insn_info.size"); }
    int insnInfoLineNo() { return off("insn_info.line_no"); }
    int meDef() { return off("me.def"); }
    int defOriginalId() { return off("def.original_id"); }
    int svarCrefOrMe() { return off("svar.cref_or_me"); }
    // struct RString: 3.3 moved the length out of the union (RString.len, embedded or not)
    boolean strLenOutside() { return has("RString.len"); }
    int strLen() { return off("RString.len"); }
    int strHeapLen() { return off("RString.heap.len"); }
    int strHeapPtr() { return off("RString.heap.ptr"); }
    int strEmbed() { return off("RString.embed"); }
    long strNoEmbed() { return get("RSTRING_NOEMBED"); }
    long strEmbedLenMask() { return get("RSTRING_EMBED_LEN_MASK"); }
    int strEmbedLenShift() { return off("RSTRING_EMBED_LEN_SHIFT"); }
    // struct RArray
    int aryHeapLen() { return off("RArray.heap.len"); }
    int aryHeapPtr() { return off("RArray.heap.ptr"); }
    int aryEmbed() { return off("RArray.embed"); }
    long aryEmbedFlag() { return get("RARRAY_EMBED_FLAG"); }
    // rb_symbols_t.ids; tLAST_OP_ID (IDs above it carry their serial above RUBY_ID_SCOPE_SHIFT)
    int symbolsIds() { return off("symbols.ids"); }
    long lastOpId() { return get("tLAST_OP_ID"); }
    int idScopeShift() { return off("RUBY_ID_SCOPE_SHIFT"); }
    /** Bytes from the ec's start that hold vm_stack, vm_stack_size and cfp. */
    int ecHeadSize() { return Math.max(ecVmStack(), Math.max(ecVmStackSize(), ecCfp())) + 8; }

    static final List<RubyLayout> TABLE = load();

    /** The series in the table, oldest first ("2.7", "3.1", ...). */
    public static List<String> knownSeries() {
        List<String> s = new ArrayList<>();
        for (RubyLayout l : TABLE) s.add(l.series);
        return s;
    }

    /** The row for a version string such as "3.1.2", if that series is in the table. */
    static Optional<RubyLayout> forVersion(String version) {
        for (RubyLayout l : TABLE) {
            if (version.equals(l.series) || version.startsWith(l.series + ".")) return Optional.of(l);
        }
        return Optional.empty();
    }

    /** The series of a version string: "3.3.8" → "3.3". */
    static String seriesOf(String version) {
        String[] p = version.split("\\.");
        return p.length >= 2 ? p[0] + "." + p[1] : version;
    }

    private static List<RubyLayout> load() {
        var in = RubyLayout.class.getResourceAsStream("layouts.txt");
        if (in == null) throw new IllegalStateException("io/tansa/ruby/layouts.txt missing from the build");
        List<RubyLayout> out = new ArrayList<>();
        try (var r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String series = null;
            Map<String, Long> row = null;
            for (String line; (line = r.readLine()) != null; ) {
                line = line.strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                if (line.startsWith("[") && line.endsWith("]")) {
                    if (series != null) out.add(new RubyLayout(series, row, true));
                    series = line.substring(1, line.length() - 1);
                    row = new LinkedHashMap<>();
                    continue;
                }
                String[] kv = line.split("\\s+");
                if (row == null || kv.length != 2) throw new IllegalStateException("layouts.txt: bad line: " + line);
                row.put(kv[0], Long.decode(kv[1]));
            }
            if (series != null) out.add(new RubyLayout(series, row, true));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        // Test-only switch: hide rows (comma-separated series) to see how a Ruby without one behaves
        String hide = System.getenv("TANSA_TEST_HIDE_RUBY_LAYOUT");
        if (hide != null) out.removeIf(l -> List.of(hide.split(",")).contains(l.series));
        return List.copyOf(out);
    }
}
