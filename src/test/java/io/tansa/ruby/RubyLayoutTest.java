package io.tansa.ruby;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.tansa.testing.Native;
import io.tansa.testing.Privileged;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * RubyLayout's Ruby 3.1 row against gcc's offsetof over the installed Ruby's own internal
 * headers (rb_mjit_min_header-3.1.*.h from ruby3.1-dev).
 */
@Tag("fast")
class RubyLayoutTest {
    static final Path INCLUDE = Path.of("/usr/include/x86_64-linux-gnu/ruby-3.1.0");
    static final Map<String, Long> c = new HashMap<>();

    @BeforeAll
    static void compile() throws IOException {
        Path header = null;
        if (Files.isDirectory(INCLUDE)) {
            try (var s = Files.list(INCLUDE)) {
                header = s.filter(p -> p.getFileName().toString().startsWith("rb_mjit_min_header-3.1.")).findFirst().orElse(null);
            }
        }
        // ruby3.1-dev is installed by .ci/run: there a missing header is a failure, not a skip
        Privileged.assume(header != null, "no Ruby 3.1 internal header (apt-get install ruby3.1-dev)");
        Path bin = Native.build("layout_ruby", "-w", "-I/usr/include/ruby-3.1.0", "-I" + INCLUDE,
                "-include", header.toString(), "-lruby-3.1");
        c.putAll(Native.constants(bin));
    }

    static void eq(long ours, String name) {
        assertEquals(c.get(name), Long.valueOf(ours), name);
    }

    @Test
    void ruby31Row() {
        RubyLayout l = RubyLayout.RUBY_3_1;
        eq(l.vmRactorSet(), "vm.ractor.set");
        eq(l.vmProgname(), "vm.progname");
        eq(l.ractorThreadsSet(), "ractor.threads.set");
        eq(l.ractorVmlrNode(), "ractor.vmlr_node");
        eq(l.threadLtNode(), "thread.lt_node");
        eq(l.threadEc(), "thread.ec");
        eq(l.threadPthread(), "thread.thread_id");
        eq(l.ecVmStack(), "ec.vm_stack");
        eq(l.ecVmStackSize(), "ec.vm_stack_size");
        eq(l.ecCfp(), "ec.cfp");
        eq(l.cfpPc(), "cfp.pc");
        eq(l.cfpIseq(), "cfp.iseq");
        eq(l.cfpEp(), "cfp.ep");
        eq(l.cfpSize(), "cfp.size");
        eq(l.iseqBody(), "iseq.body");
        eq(l.bodyIseqSize(), "body.iseq_size");
        eq(l.bodyIseqEncoded(), "body.iseq_encoded");
        eq(l.bodyPathobj(), "body.location.pathobj");
        eq(l.bodyLabel(), "body.location.label");
        eq(l.bodyInsnsInfoBody(), "body.insns_info.body");
        eq(l.bodyInsnsInfoSize(), "body.insns_info.size");
        eq(l.bodySuccIndexTable(), "body.insns_info.succ_index_table");
        assertEquals(true, l.bodyReadSize() >= c.get("body.insns_info.succ_index_table") + 8, "body read covers the fields");
        eq(l.insnInfoEntrySize(), "insn_info.size");
        eq(l.insnInfoLineNo(), "insn_info.line_no");
        eq(l.meDef(), "me.def");
        eq(l.defOriginalId(), "def.original_id");
        eq(l.svarCrefOrMe(), "svar.cref_or_me");
        eq(l.strHeapLen(), "RString.heap.len");
        eq(l.strHeapPtr(), "RString.heap.ptr");
        eq(l.strEmbed(), "RString.embed");
        eq(l.strNoEmbed(), "RSTRING_NOEMBED");
        eq(l.strEmbedLenMask(), "RSTRING_EMBED_LEN_MASK");
        eq(l.strEmbedLenShift(), "RSTRING_EMBED_LEN_SHIFT");
        eq(l.aryHeapLen(), "RArray.heap.len");
        eq(l.aryHeapPtr(), "RArray.heap.ptr");
        eq(l.aryEmbed(), "RArray.embed");
        eq(l.aryEmbedFlag(), "RARRAY_EMBED_FLAG");
        eq(l.symbolsIds(), "symbols.ids");
        eq(l.lastOpId(), "tLAST_OP_ID");
        eq(l.idScopeShift(), "RUBY_ID_SCOPE_SHIFT");
    }

    @Test
    void sharedConstants() {
        eq(RubyLayout.T_STRING, "T_STRING");
        eq(RubyLayout.T_ARRAY, "T_ARRAY");
        eq(RubyLayout.T_IMEMO, "T_IMEMO");
        eq(RubyLayout.T_MASK, "T_MASK");
        eq(RubyLayout.FL_USHIFT, "FL_USHIFT");
        eq(RubyLayout.IMEMO_MENT, "imemo_ment");
        eq(RubyLayout.IMEMO_SVAR, "imemo_svar");
        eq(RubyLayout.IMEMO_ISEQ, "imemo_iseq");
        eq(RubyLayout.VM_FRAME_MAGIC_CFUNC, "VM_FRAME_MAGIC_CFUNC");
        eq(RubyLayout.VM_FRAME_MAGIC_MASK, "VM_FRAME_MAGIC_MASK");
        eq(RubyLayout.VM_ENV_FLAG_LOCAL, "VM_ENV_FLAG_LOCAL");
    }
}
