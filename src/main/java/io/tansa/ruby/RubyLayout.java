package io.tansa.ruby;

import java.util.List;
import java.util.Optional;

/**
 * Byte offsets and flag bits of the Ruby VM structures that {@link RubyReader} walks, one row per
 * Ruby release series (x86-64, default build options). The values are data, not code: a new
 * Ruby series is a new row, verified by RubyLayoutTest against that release's headers.
 *
 * <p>Names follow the C sources: {@code rb_vm_t}, {@code rb_ractor_t}, {@code rb_thread_t}
 * (vm_core.h, ractor_core.h), {@code rb_execution_context_t}, {@code rb_control_frame_t},
 * {@code rb_iseq_t} and {@code struct rb_iseq_constant_body} (vm_core.h),
 * {@code struct iseq_insn_info_entry} (iseq.h), {@code rb_callable_method_entry_t} and
 * {@code rb_method_definition_t} (method.h), {@code struct vm_svar} (internal/imemo.h),
 * {@code struct RString} and {@code struct RArray} (include/ruby/internal/core), and
 * {@code rb_symbols_t} (symbol.h).
 */
record RubyLayout(
        String series,
        // rb_vm_t: ractor.set (list of ractors), progname (what rb_backtrace prints before any Ruby frame)
        int vmRactorSet, int vmProgname,
        // rb_ractor_t: threads.set (list of threads), vmlr_node (its link in vm->ractor.set)
        int ractorThreadsSet, int ractorVmlrNode,
        // rb_thread_t: lt_node (its link in ractor->threads.set), ec, thread_id (pthread_t)
        int threadLtNode, int threadEc, int threadPthread,
        // rb_execution_context_t
        int ecVmStack, int ecVmStackSize, int ecCfp,
        // rb_control_frame_t
        int cfpPc, int cfpIseq, int cfpEp, int cfpSize,
        // rb_iseq_t
        int iseqBody,
        // struct rb_iseq_constant_body
        int bodyIseqSize, int bodyIseqEncoded, int bodyPathobj, int bodyLabel, int bodyInsnsInfoBody,
        int bodyInsnsInfoSize, int bodySuccIndexTable, int bodyReadSize,
        // struct iseq_insn_info_entry
        int insnInfoEntrySize, int insnInfoLineNo,
        // method entries: me->def, def->original_id, svar->cref_or_me
        int meDef, int defOriginalId, int svarCrefOrMe,
        // struct RString: heap len/ptr, embedded bytes; RSTRING_NOEMBED and the embedded length bits in flags
        int strHeapLen, int strHeapPtr, int strEmbed, long strNoEmbed, long strEmbedLenMask, int strEmbedLenShift,
        // struct RArray: heap len/ptr, embedded elements; RARRAY_EMBED_FLAG
        int aryHeapLen, int aryHeapPtr, int aryEmbed, long aryEmbedFlag,
        // rb_symbols_t.ids; tLAST_OP_ID (IDs above it carry their serial above RUBY_ID_SCOPE_SHIFT)
        int symbolsIds, long lastOpId, int idScopeShift) {

    /* Constants shared by every supported series (include/ruby/internal/value_type.h,
       internal/imemo.h, vm_core.h). */
    static final long T_MASK = 0x1f, T_STRING = 0x05, T_ARRAY = 0x07, T_IMEMO = 0x1a;
    static final int FL_USHIFT = 12;
    static final long IMEMO_MASK = 0x0f, IMEMO_SVAR = 2, IMEMO_MENT = 6, IMEMO_ISEQ = 7;
    static final long VM_FRAME_MAGIC_MASK = 0x7fff0001L, VM_FRAME_MAGIC_CFUNC = 0x55550001L;
    static final long VM_ENV_FLAG_LOCAL = 0x0002;
    /** symbol.c: IDs are stored in chunks of ID_ENTRY_UNIT, each entry {str, sym}. */
    static final int ID_ENTRY_UNIT = 512, ID_ENTRY_SIZE = 2;

    /**
     * Ruby 3.1 (3.1.0 – 3.1.x share these structures). Offsets printed by gcc from Debian's
     * rb_mjit_min_header-3.1.2.h (ruby3.1-dev), checked by RubyLayoutTest.
     */
    static final RubyLayout RUBY_3_1 = new RubyLayout("3.1",
            8, 1064,
            304, 568,
            0, 40, 80,
            0, 8, 16,
            0, 16, 32, 64,
            16,
            4, 8, 64, 80, 120, 136, 144, 152,
            12, 0,
            16, 32, 8,
            16, 24, 16, 0x2000, 0x7c000, 14,
            16, 32, 16, 0x2000,
            16, 169, 4);

    static final List<RubyLayout> TABLE = List.of(RUBY_3_1);

    /** The row for a version string such as "3.1.2", if that series is in the table. */
    static Optional<RubyLayout> forVersion(String version) {
        for (RubyLayout l : TABLE) {
            if (version.equals(l.series) || version.startsWith(l.series + ".")) return Optional.of(l);
        }
        return Optional.empty();
    }
}
