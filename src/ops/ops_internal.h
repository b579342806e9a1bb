/* ops_internal.h: helpers shared by the op families (the src/ops files): struct
 * info accessors and printing for messages, broadcasting of shapes, attribute
 * readers, and the prototypes of every infer/eval function named in ops.def.
 *
 * Conventions of the evaluation functions (ts_op_eval_fn): every argument of
 * the call arrives as an NDArray -- tensors as themselves, a shape value
 * (R.shape([2, 3])) as a 1-D int64 array of its values, a prim value as a 0-D
 * array.  Elements are computed in double precision and stored in the output
 * dtype (ts_ndarray_set_f64 rounds/truncates). */
#ifndef TESSERA_OPS_INTERNAL_H
#define TESSERA_OPS_INTERNAL_H

#include "ops/ops.h"

#define TS_OP(id, name, min_args, max_args, pattern)                           \
  ts_status *ts_op_infer_##id(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out);                                 \
  ts_status *ts_op_eval_##id(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out);                    \
  ts_status *ts_op_legalize_##id(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name);
#include "ops/ops.def"
#undef TS_OP

/* ---- struct info ------------------------------------------------------ */

/* The struct info of a call argument: the expression's own, else (for a
 * variable) the variable's.  NULL when unknown. */
const ts_sinfo *ts_ops_arg_sinfo(const ts_gexpr *e);
/* Appends "R.Tensor((1, 784), "float32")" etc. */
void ts_ops_print_sinfo(ts_strbuf *b, const ts_sinfo *s);
/* Appends a TIR expression in Python syntax (for messages). */
void ts_ops_print_expr(ts_strbuf *b, const ts_expr *e);
/* Appends "(2, 3)" / "(4,)". */
void ts_ops_print_shape(ts_strbuf *b, ts_expr *const *shape, int ndim);
/* True when the two dimension expressions are structurally equal. */
bool ts_ops_dim_equal(const ts_expr *x, const ts_expr *y);
/* True when e is an integer constant; its value in *out. */
bool ts_ops_const_int(const ts_expr *e, int64_t *out);

/* The call's op name ("R.add"). */
const char *ts_ops_call_name(const ts_gexpr *call);
/* An error at the call's location, prefixed with "R.<op>: ". */
ts_status *ts_ops_error(const ts_gexpr *call, ts_status_code code,
                        const char *fmt, ...) TS_PRINTF(3, 4);

/* Checks the argument count against the op's min/max. */
ts_status *ts_ops_check_arity(const ts_gexpr *call);
/* Fetches argument i as tensor struct info; the error names `operand`. */
ts_status *ts_ops_tensor_arg(const ts_gexpr *call, int i, const char *operand,
                             const ts_sinfo **out);

/* Tensor struct info with the given shape (NULL: unknown shape; ndim -1:
 * unknown rank); the shape array is copied into the arena. */
ts_sinfo *ts_ops_tensor(ts_arena *a, ts_expr *const *shape, int ndim,
                        ts_dtype dt);
ts_expr *ts_ops_int64(ts_arena *a, int64_t v);

/* NumPy broadcasting of two shapes; *out_shape in the arena.  On
 * incompatibility returns false. */
bool ts_ops_broadcast(ts_arena *a, ts_expr *const *x, int nx, ts_expr *const *y,
                      int ny, ts_expr ***out_shape, int *out_ndim);

/* ---- attributes ------------------------------------------------------- */

/* Integer attribute with a default. Error when not an int. */
ts_status *ts_ops_attr_int(const ts_gexpr *call, const char *key, int64_t def,
                           int64_t *out);
ts_status *ts_ops_attr_bool(const ts_gexpr *call, const char *key, bool def,
                            bool *out);
/* Axis list: absent or None -> *out_all = true; int or list of ints.
 * Axes are normalised against ndim (negative counted from the end), range
 * checked and de-duplicated into mask[ndim]. */
ts_status *ts_ops_attr_axes(const ts_gexpr *call, const char *key, int ndim,
                            bool *mask);

/* Float attribute with a default (an int or a constant expression is
 * accepted).  Error when not a number. */
ts_status *ts_ops_attr_float(const ts_gexpr *call, const char *key, double def,
                             double *out);
/* Dtype attribute ("float16" or a dtype value); error when absent, unknown
 * or not a dtype. */
ts_status *ts_ops_attr_dtype(const ts_gexpr *call, const char *key,
                             ts_dtype *out);

/* ---- evaluation ------------------------------------------------------- */

/* Creates the output array; a status naming the op on failure. */
ts_status *ts_ops_new_array(const ts_gexpr *call, int ndim,
                            const int64_t *shape, ts_dtype dt,
                            ts_ndarray **out);
/* Broadcast shape of two arrays (checked again at run time). */
ts_status *ts_ops_broadcast_arrays(const ts_gexpr *call, const ts_ndarray *x,
                                   const ts_ndarray *y, int *out_ndim,
                                   int64_t *out_shape);
/* Offset into an array of shape (ndim, shape) for the output multi-index
 * idx (of out_ndim dims), with broadcasting (size-1 dims read index 0). */
int64_t ts_ops_bcast_offset(const int64_t *idx, int out_ndim, int ndim,
                            const int64_t *shape);

#endif
