/* Prints the Ruby VM offsets and constants RubyLayout's rows hold, by the names the rows use,
 * from one release's own headers: Debian's configured source tree of that release
 * (src/test/scripts/ruby-src.sh; the test passes -I for it), or for 3.1 the MJIT header. Fields a series does not have are
 * not printed (the row must not have them either). rb_symbols_t is private to symbol.c and is
 * declared here as in symbol.h of these releases (2.7 – 3.4: last_id, str_sym, ids, dsymbol_fstr_hash). */
#ifndef TANSA_MJIT_HEADER /* 3.1: the test passes -include rb_mjit_min_header-3.1.*.h (ruby3.1-dev) instead */
#include "ruby/version.h"
#include "ruby/ruby.h"
#include "vm_core.h"
#include "iseq.h"
#include "method.h"
#if RUBY_API_VERSION_MAJOR >= 3
#include "internal/imemo.h"
#include "ractor_core.h"
#endif
#endif
#ifndef SERIES /* the MJIT header does not define RUBY_API_VERSION_*: the test passes -DSERIES=301 */
#define SERIES (RUBY_API_VERSION_MAJOR * 100 + RUBY_API_VERSION_MINOR)
#endif
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>

#define O(name, type, field) printf("%s %zu\n", name, offsetof(type, field))
#define V(name, value) printf("%s %ld\n", name, (long)(value))

typedef uint32_t rb_id_serial_t_; /* symbol.h */
typedef struct { rb_id_serial_t_ last_id; st_table *str_sym; VALUE ids; VALUE dsymbol_fstr_hash; } symbols_t;

int main(void) {
#if SERIES >= 300
    O("vm.ractor.set", rb_vm_t, ractor.set);
    O("ractor.threads.set", struct rb_ractor_struct, threads.set);
    O("ractor.vmlr_node", struct rb_ractor_struct, vmlr_node);
    O("thread.lt_node", rb_thread_t, lt_node);
#else
    O("vm.living_threads", rb_vm_t, living_threads);
    O("thread.vmlt_node", rb_thread_t, vmlt_node);
#endif
#if SERIES >= 303
    O("thread.nt", rb_thread_t, nt);
    O("nt.thread_id", struct rb_native_thread, thread_id);
#else
    O("thread.thread_id", rb_thread_t, thread_id);
#endif
    O("vm.progname", rb_vm_t, progname);
    O("thread.ec", rb_thread_t, ec);
    O("thread.vm", rb_thread_t, vm);
    O("ec.vm_stack", rb_execution_context_t, vm_stack);
    O("ec.vm_stack_size", rb_execution_context_t, vm_stack_size);
    O("ec.cfp", rb_execution_context_t, cfp);
    O("ec.thread_ptr", rb_execution_context_t, thread_ptr);
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
#if SERIES >= 303
    O("RString.len", struct RString, len); /* 3.3: the length left the union, embedded or not */
#else
    O("RString.heap.len", struct RString, as.heap.len);
    V("RSTRING_EMBED_LEN_MASK", RSTRING_EMBED_LEN_MASK);
    V("RSTRING_EMBED_LEN_SHIFT", RSTRING_EMBED_LEN_SHIFT);
#endif
    O("RString.heap.ptr", struct RString, as.heap.ptr);
#if SERIES >= 300
    O("RString.embed", struct RString, as.embed.ary);
#else
    O("RString.embed", struct RString, as.ary);
#endif
    V("RSTRING_NOEMBED", RSTRING_NOEMBED);
    O("RArray.heap.len", struct RArray, as.heap.len);
    O("RArray.heap.ptr", struct RArray, as.heap.ptr);
    O("RArray.embed", struct RArray, as.ary);
    V("RARRAY_EMBED_FLAG", RARRAY_EMBED_FLAG);
    O("symbols.ids", symbols_t, ids);
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
