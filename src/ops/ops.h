/* ops.h: the operator registry of the graph level.  Op knowledge lives in one
 * table, ops.def (an X-macro): name, arity, fusion pattern and the functions
 * that give each op its meaning.  The enum, the name table and the property
 * table are generated from it; a missing function is a link error.
 *
 * An op's printed form is "R." + its name ("R.nn.relu", "R.add"). */
#ifndef TESSERA_OPS_OPS_H
#define TESSERA_OPS_OPS_H

#include "tessera/ir.h"
#include "tessera/runtime.h"

/* Fusion patterns, as TVM classifies them (kElemWise ... kOpaque). */
typedef enum ts_op_pattern {
  TS_PAT_ELEMWISE = 0,
  TS_PAT_BROADCAST = 1,
  TS_PAT_INJECTIVE = 2,
  TS_PAT_REDUCTION = 3,
  TS_PAT_OUT_FUSABLE = 4,
  TS_PAT_OPAQUE = 8,
} ts_op_pattern;

typedef enum ts_op_id {
#define TS_OP(id, name, min_args, max_args, pattern) TS_OP_##id,
#include "ops/ops.def"
#undef TS_OP
  TS_OP_COUNT
} ts_op_id;

/* Struct-info inference: given the call (args already carry sinfo), sets
 * *out.  Errors name the op, the operands and their struct info, at the
 * call's location. */
typedef ts_status *(*ts_op_infer_fn)(ts_arena *a, const ts_gexpr *call,
                                     ts_sinfo **out);
/* Reference evaluation for the interpreter: inputs are the evaluated args
 * (tensors, or TS_VAL_INT for prim values/shapes entries are not passed);
 * `out_sinfo` is the call's inferred struct info with symbolic dimensions
 * already bound; writes a new NDArray to *out.  A tuple argument
 * (R.concat's) arrives as its fields, in its place, so n_args counts
 * tensors; an op whose struct info is a tuple of k tensors (R.split) writes
 * out[0..k-1]. */
typedef ts_status *(*ts_op_eval_fn)(const ts_gexpr *call, ts_ndarray **args,
                                    int n_args, ts_ndarray **out);

/* Legalization: adds the stages computing `call` to the builder, whose
 * parameters are already the call's tensor arguments (`in`, in order); the
 * output buffer is made by the function (te_output) from `out` (the call's
 * tensor struct info; a tuple of tensors for a tuple-valued op, one
 * te_output per field).  A tuple argument contributes its fields, in its
 * place, to `in`.  *out_name is the base name of the PrimFunc, as TVM
 * names it ("relu", "add", "matmul").  NULL for ops that have none. */
struct te_builder;
typedef ts_status *(*ts_op_legalize_fn)(struct te_builder *b,
                                        const ts_gexpr *call,
                                        ts_buffer *const *in, int n_in,
                                        const ts_sinfo *out,
                                        const char **out_name);

typedef struct ts_op_info {
  const char *name; /* "nn.relu" */
  int min_args, max_args;
  ts_op_pattern pattern;
  ts_op_infer_fn infer;
  ts_op_eval_fn eval; /* NULL for call_tir / call_dps_packed (VM handles) */
  ts_op_legalize_fn legalize; /* NULL for call_tir / call_dps_packed */
} ts_op_info;

const ts_op_info *ts_op_get(int op);
/* Looks up by name without the "R." prefix ("nn.relu"); false when unknown. */
bool ts_op_lookup(const char *name, int *out_op);

#endif
