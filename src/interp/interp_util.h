/* interp_util.h: internals shared by the TensorIR interpreter
 * (interp_tir.c) and the graph interpreter (interp_graph.c).
 *
 * An interpreter context (tsi_ctx) holds the environment: scalar variables
 * (ts_var* -> value slot) and buffers (ts_buffer* or a buffer's data var ->
 * storage view).  Variables are identified by pointer.  A value is a pair
 * (i, f): floats live in f, integers, bools and handles in i; the static
 * dtype of the expression says which half is meaningful.  Float results are
 * rounded to their dtype after every operation (float32 values are always
 * exactly representable as float), as compiled C code computes them. */
#ifndef TESSERA_INTERP_INTERP_UTIL_H
#define TESSERA_INTERP_INTERP_UTIL_H

#include "ir/ir_util.h"
#include "tessera/interp.h"

typedef struct tsi_val {
  int64_t i;
  double f;
} tsi_val;

/* A buffer's storage view: element (i0, ..., in) lives at
 * data + (elem_offset + sum(ik * strides[k])) * dtype bytes; every access is
 * checked against shape and nbytes. */
typedef struct tsi_buf {
  char *data;
  size_t nbytes;
  ts_dtype dtype;
  int ndim;
  int64_t shape[TS_MAX_NDIM];
  int64_t strides[TS_MAX_NDIM];
  int64_t elem_offset;
  bool owned; /* data was allocated for this buffer (freed with it) */
} tsi_buf;

typedef struct tsi_ctx {
  ts_module *m;
  ts_ptrmap vars; /* ts_var* -> tsi_slot* (slots live as long as ctx) */
  ts_ptrmap bufs; /* ts_buffer* / data ts_var* -> tsi_buf* */
  ts_loc cur_loc; /* the statement being run: fallback for messages */
} tsi_ctx;

/* A variable's binding; `defined` false when unbound. */
typedef struct tsi_slot {
  bool defined;
  tsi_val v;
} tsi_slot;

void tsi_ctx_init(tsi_ctx *c, ts_module *m);
/* Frees the slots and every buffer view still bound (owned storage too). */
void tsi_ctx_free(tsi_ctx *c);

/* Binds v (overwriting); *old (when non-NULL) receives the previous binding
 * for tsi_var_restore. */
void tsi_var_bind(tsi_ctx *c, const ts_var *v, tsi_val val, tsi_slot *old);
void tsi_var_restore(tsi_ctx *c, const ts_var *v, tsi_slot old);
/* NULL when unbound. */
const tsi_val *tsi_var_get(const tsi_ctx *c, const ts_var *v);

/* Evaluates a scalar expression. */
ts_status *tsi_eval(tsi_ctx *c, const ts_expr *e, tsi_val *out);
/* Evaluates an integer expression to int64 (error when it is not one). */
ts_status *tsi_eval_int(tsi_ctx *c, const ts_expr *e, int64_t *out);

/* Matches a concrete shape against dimension expressions, binding
 * variables met for the first time (a dimension that is a lone variable).
 * `what` prefixes messages ("parameter 'A'", "match_cast").  Dimensions that
 * are compound expressions are checked only when `check_compound` (callers
 * run a first pass without, to bind variables in any order, then a second
 * pass with).  `earlier` names where a bound variable got its value
 * ("argument", "binding"). */
ts_status *tsi_match_shape(tsi_ctx *c, const char *what, const char *earlier,
                           ts_loc loc, ts_expr *const *dims, int ndim,
                           const int64_t *shape, bool check_compound);

/* Attaches the source line of st's location when the module keeps its
 * source text (no-op otherwise). */
void tsi_attach_source(const ts_module *m, ts_status *st);

/* ---- float16 / bfloat16 conversions (round to nearest even) ------------ */

double tsi_f16_to_f64(uint16_t h);
uint16_t tsi_f64_to_f16(double x);
double tsi_bf16_to_f64(uint16_t h);
uint16_t tsi_f64_to_bf16(double x);
/* Rounds a double to the precision of float dtype t. */
double tsi_round_float(ts_dtype t, double x);

#endif
