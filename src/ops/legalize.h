/* legalize.h: each graph-level op's lowering to a TensorIR function. */
#ifndef TESSERA_OPS_LEGALIZE_H
#define TESSERA_OPS_LEGALIZE_H

#include "ops/ops.h"

/* The most tensor operands an op may have (concat's inputs count). */
#define TS_LEGALIZE_MAX_ARGS 64

/* Builds the PrimFunc computing `call` (an op call whose arguments carry
 * struct info of known rank, dtype and shape) in arena `a`: parameters are
 * the call's tensor arguments in order, then the output.  *out_name is the
 * base name TVM would give it ("relu", "add", "matmul").  The tensor
 * operands of the call_tir are listed in *out_args (room for
 * TS_LEGALIZE_MAX_ARGS): the call's tensor arguments, a tuple argument
 * replaced by its fields (for a tuple-valued variable, new TupleGetItem
 * nodes in `a`).  The result's struct info may be a tuple of tensors (one
 * output per field).  The op's own legalization is ts_op_get(op)->legalize. */
ts_status *ts_op_legalize(ts_arena *a, const ts_gexpr *call,
                          const char **out_name, ts_primfunc **out,
                          ts_gexpr **out_args, int *out_n_args);

#endif
