/* transform.h: passes over an IRModule and the pass manager.  A pass is a
 * named transformation IRModule -> IRModule that works in place: new nodes
 * are allocated in the module's arena.  Every pass is registered in one
 * table (src/transform/passes.c) so that the CLI can run any pipeline, print
 * after any pass and verify after any pass. */
#ifndef TESSERA_TRANSFORM_H
#define TESSERA_TRANSFORM_H

#include "tessera/ir.h"

/* `args` is the text between brackets in a pipeline entry
 * ("dispatch-library[matmul,conv2d]" -> "matmul,conv2d"), or NULL. */
typedef ts_status *(*ts_pass_fn)(ts_module *m, const char *args);

typedef struct ts_pass_info {
  const char *name;    /* "legalize" */
  const char *summary; /* one line */
  ts_pass_fn run;
} ts_pass_info;

/* NULL when unknown. */
const ts_pass_info *ts_pass_lookup(const char *name);
/* All passes, in table order; *out_n receives the count. */
const ts_pass_info *ts_pass_list(int *out_n);

/* Callback run after each pass of a pipeline (for --print-after-all). */
typedef void (*ts_after_pass_fn)(const char *pass, ts_module *m, void *ctx);

/* Runs a comma-separated pipeline ("legalize,fold-constant"); an entry may
 * carry arguments in brackets ("dispatch-library[matmul,conv2d]"; commas
 * inside brackets do not split entries).  The verifier
 * runs after every pass when `verify` is true; a failure names the pass. */
ts_status *ts_pipeline_run(ts_module *m, const char *passes, bool verify,
                           ts_after_pass_fn after, void *ctx);

/* The default pipeline used by `tessera build`. */
extern const char ts_default_pipeline[];

/* ---- individual passes ---------------------------------------------------- */

/* Rewrites every graph-level op call into call_tir of a generated TensorIR
 * function (one per distinct op + shape + attributes, deduplicated). */
ts_status *ts_pass_legalize(ts_module *m, const char *args);
/* Rewrites chains of op calls into R.call_dps_packed of library functions
 * (env.sgemm*, env.dnnl.matmul*, env.dnnl.conv2d.*); args select patterns:
 * "matmul,linear,conv2d,dnnl-matmul" (none: matmul, linear, conv2d).  Runs
 * before legalize.  See src/transform/graph/dispatch_library.c. */
ts_status *ts_pass_dispatch_library(ts_module *m, const char *args);

/* Evaluates (with the reference interpreter) every op call and call_tir of a
 * PrimFunc whose inputs are all constants, replacing the value by R.const;
 * skips call_dps_packed, non-tensor results and results over 64 MiB. */
ts_status *ts_pass_fold_constant(ts_module *m, const char *args);
/* Splits packing nests annotated "tessera.pack_constant" out of PrimFuncs
 * whose packed parameter is a constant at every call site into packing
 * functions called from the graph (folded by fold-constant afterwards). */
ts_status *ts_pass_lift_constant_packing(ts_module *m, const char *args);

/* Removes unused pure bindings (match_cast and impure calls stay; dataflow
 * outputs stay), then functions unreachable from "main" and the public
 * functions. */
ts_status *ts_pass_dead_code_elimination(ts_module *m, const char *args);

/* Replaces `y = x` bindings by x everywhere (an R.output variable bound to a
 * dataflow variable stays) and `t[i]` of a tuple literal by its field. */
ts_status *ts_pass_canonicalize_bindings(ts_module *m, const char *args);

/* Static storage planning (TVM's StaticPlanBlockMemory): the single-tensor
 * outputs of call_tir / call_dps_packed that are used only as inputs of
 * such calls get storage tokens; tensors with disjoint live ranges (in
 * binding order) share one.  Recorded per graph function as the attribute
 * "tessera.memory_plan": {"tensors": [binding names], "storage": [token of
 * each], "storage_bytes": [size of each token, -1: symbolic, sized at run
 * time], "planned_bytes": sum of static token sizes, "unplanned_bytes": sum
 * of the static tensor sizes}.  The VM compiler allocates from it. */
ts_status *ts_pass_plan_memory(ts_module *m, const char *args);

/* Sets the attribute "op_pattern" (int, ops.h's ts_op_pattern) of every
 * TensorIR function from an analysis of its blocks (TVM's
 * AnnotateTIROpPattern). */
ts_status *ts_pass_annotate_op_pattern(ts_module *m, const char *args);

/* Groups the call_tir bindings of dataflow blocks by their callees'
 * op_pattern (TVM's FuseOps): each group of two or more becomes a private
 * graph function `fused_<f1>_<f2>...` with attribute {"Primitive": 1} that
 * the original function calls. */
ts_status *ts_pass_fuse_ops(ts_module *m, const char *args);

/* Merges each Primitive graph function into one TensorIR function of the
 * same name (TVM's FuseTIR); callers then call_tir it.  TensorIR functions
 * left unreferenced by the merge are removed. */
ts_status *ts_pass_fuse_tir(ts_module *m, const char *args);

#endif
