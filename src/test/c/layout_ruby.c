/* Prints the Ruby VM offsets RubyLayout uses, from the release's own headers: Debian's
 * ruby3.1-dev ships rb_mjit_min_header-VERSION.h (vm_core.h and friends, as MJIT compiles
 * against them); the test passes it with -include. symbol.c's rb_symbols_t is not in it and is
 * declared here as in Ruby 3.1's symbol.h. */
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#define O(name, type, field) printf("%s %zu\n", name, offsetof(type, field))
#define V(name, value) printf("%s %ld\n", name, (long)(value))

typedef uint32_t rb_id_serial_t; /* symbol.h */
typedef struct { rb_id_serial_t last_id; st_table *str_sym; VALUE ids; VALUE dsymbol_fstr_hash; } symbols_3_1;

int main(void) {
    O("vm.ractor.set", rb_vm_t, ractor.set);
    O("vm.progname", rb_vm_t, progname);
    O("ractor.threads.set", struct rb_ractor_struct, threads.set);
    O("ractor.vmlr_node", struct rb_ractor_struct, vmlr_node);
    O("thread.lt_node", rb_thread_t, lt_node);
    O("thread.ec", rb_thread_t, ec);
    O("thread.thread_id", rb_thread_t, thread_id);
    O("ec.vm_stack", rb_execution_context_t, vm_stack);
    O("ec.vm_stack_size", rb_execution_context_t, vm_stack_size);
    O("ec.cfp", rb_execution_context_t, cfp);
    O("cfp.pc", rb_control_frame_t, pc);
    O("cfp.iseq", rb_control_frame_t, iseq);
    O("cfp.ep", rb_control_frame_t, ep);
    V("cfp.size", sizeof(rb_control_frame_t));
    O("iseq.body", struct rb_iseq_struct, body);
    O("body.iseq_size", struct rb_iseq_constant_body, iseq_size);
    O("body.iseq_encoded", struct rb_iseq_constant_body, iseq_encoded);
    O("body.location.pathobj", struct rb_iseq_constant_body, location.pathobj);
    O("body.location.label", struct rb_iseq_constant_body, location.label);
    O("body.insns_info.body", struct rb_iseq_constant_body, insns_info.body);
    O("body.insns_info.size", struct rb_iseq_constant_body, insns_info.size);
    O("body.insns_info.succ_index_table", struct rb_iseq_constant_body, insns_info.succ_index_table);
    V("insn_info.size", sizeof(struct iseq_insn_info_entry));
    O("insn_info.line_no", struct iseq_insn_info_entry, line_no);
    O("me.def", rb_callable_method_entry_t, def);
    O("def.original_id", rb_method_definition_t, original_id);
    O("svar.cref_or_me", struct vm_svar, cref_or_me);
    O("RString.heap.len", struct RString, as.heap.len);
    O("RString.heap.ptr", struct RString, as.heap.ptr);
    O("RString.embed", struct RString, as.embed.ary);
    V("RSTRING_NOEMBED", RSTRING_NOEMBED);
    V("RSTRING_EMBED_LEN_MASK", RSTRING_EMBED_LEN_MASK);
    V("RSTRING_EMBED_LEN_SHIFT", RSTRING_EMBED_LEN_SHIFT);
    O("RArray.heap.len", struct RArray, as.heap.len);
    O("RArray.heap.ptr", struct RArray, as.heap.ptr);
    O("RArray.embed", struct RArray, as.ary);
    V("RARRAY_EMBED_FLAG", RARRAY_EMBED_FLAG);
    O("symbols.ids", symbols_3_1, ids);
    V("tLAST_OP_ID", tLAST_OP_ID);
    V("RUBY_ID_SCOPE_SHIFT", RUBY_ID_SCOPE_SHIFT);
    V("T_STRING", RUBY_T_STRING);
    V("T_ARRAY", RUBY_T_ARRAY);
    V("T_IMEMO", RUBY_T_IMEMO);
    V("T_MASK", RUBY_T_MASK);
    V("FL_USHIFT", RUBY_FL_USHIFT);
    V("imemo_ment", imemo_ment);
    V("imemo_svar", imemo_svar);
    V("imemo_iseq", imemo_iseq);
    V("VM_FRAME_MAGIC_CFUNC", VM_FRAME_MAGIC_CFUNC);
    V("VM_FRAME_MAGIC_MASK", VM_FRAME_MAGIC_MASK);
    V("VM_ENV_FLAG_LOCAL", VM_ENV_FLAG_LOCAL);
    return 0;
}
