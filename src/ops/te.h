/* te.h: a small tensor-expression builder that writes TensorIR functions in
 * the shape TVM's legalization produces: one block per stage inside loops
 * over the output, spatial iteration variables bound to the loops,
 * reductions with T.init, all under the implicit root block.
 *
 * Graph-level symbolic dimensions (int64 variables of struct info) are mapped
 * to variables of the function being built; a parameter with a symbolic
 * dimension is a handle bound with T.match_buffer, as TVM prints them. */
#ifndef TESSERA_OPS_TE_H
#define TESSERA_OPS_TE_H

#include "tessera/ir.h"

typedef struct te_builder te_builder;

te_builder *te_begin(ts_arena *a);
/* Input parameter for a tensor of known rank and dtype. */
ts_buffer *te_param(te_builder *b, const char *name, const ts_sinfo *tensor);
/* Output parameter with a graph-level shape (mapped into the function). */
ts_buffer *te_output(te_builder *b, const char *name, ts_expr *const *shape,
                     int ndim, ts_dtype dt);
/* Intermediate buffer (root block alloc_buffer); shape already local. */
ts_buffer *te_temp(te_builder *b, const char *name, ts_expr *const *shape,
                   int ndim, ts_dtype dt);
ts_arena *te_arena(te_builder *b);

/* The body of a stage: the value at output index `sp` (and reduction index
 * `rd` for reductions), both as iteration-variable expressions. */
typedef ts_expr *(*te_body_fn)(te_builder *b, ts_expr **sp, ts_expr **rd,
                               void *ctx);

/* out[sp] = body(sp) over the whole output. */
void te_compute(te_builder *b, const char *block, ts_buffer *out,
                te_body_fn body, void *ctx);
/* out[sp] = combine over rd in red_ext of body(sp, rd), starting at init.
 * combine is TS_E_ADD, TS_E_MAX or TS_E_MIN. */
void te_reduce(te_builder *b, const char *block, ts_buffer *out, int n_red,
               ts_expr *const *red_ext, ts_expr *init, ts_expr_kind combine,
               te_body_fn body, void *ctx);
/* Wraps the stages in the root block and returns the function (private,
 * {"tir.noalias": True}).  The builder is freed. */
ts_primfunc *te_finish(te_builder *b, const char *name);

/* Loads buffer `in` at the output index `sp` of rank `out_ndim` under NumPy
 * broadcasting (trailing alignment; size-1 dimensions read index 0). */
ts_expr *te_broadcast_load(te_builder *b, ts_buffer *in, ts_expr **sp,
                           int out_ndim);

#endif
