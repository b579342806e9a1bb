/* ops_b.h: helpers private to the section-B op families (conv.c, pool.c,
 * linear.c, manip.c): integer-list attributes, operand error messages that
 * print every operand's struct info, shape arithmetic that folds constants,
 * and small expression builders for the legalizations.  Implemented in
 * manip.c. */
#ifndef TESSERA_OPS_B_H
#define TESSERA_OPS_B_H

#include <stdio.h>

#include "ir/ir_util.h"
#include "ops/legalize.h"
#include "ops/ops_internal.h"
#include "ops/te.h"

/* An integer list read from attribute `key` (an int, a list of ints, or
 * T.int64 constants) or, when `argi` >= 0 and the call has that argument,
 * from a constant shape argument (R.strided_slice(x, (1,), (0,), (2,))).
 * *out_n is -1 when absent (None or missing).  At most `max` values. */
ts_status *tb_ints(const ts_gexpr *call, const char *key, int argi, int max,
                   int64_t *vals, int *out_n);
/* String attribute with a default. */
ts_status *tb_attr_str(const ts_gexpr *call, const char *key, const char *def,
                       const char **out);
/* Float attribute (int accepted) with a default. */
ts_status *tb_attr_float(const ts_gexpr *call, const char *key, double def,
                         double *out);
/* dtype attribute ("" / None / absent: `def`). */
ts_status *tb_attr_dtype(const ts_gexpr *call, const char *key, ts_dtype def,
                         ts_dtype *out);

/* "<what>: x is R.Tensor(...), w is R.Tensor(...)" naming n operands. */
ts_status *tb_operand_error(const ts_gexpr *call, ts_status_code code,
                            const char *what, int n, const char *const *names,
                            const ts_sinfo *const *sinfos);
/* Prints a dimension expression into a heap string (free it). */
char *tb_dim_str(const ts_expr *e);

/* Dimension arithmetic folding constants: x + c, x * c, x // c. */
ts_expr *tb_add_c(ts_arena *a, ts_expr *x, int64_t c);
ts_expr *tb_mul_c(ts_arena *a, ts_expr *x, int64_t c);
ts_expr *tb_div_c(ts_arena *a, ts_expr *x, int64_t c);
ts_expr *tb_add(ts_arena *a, ts_expr *x, ts_expr *y);

/* Normalizes an axis against ndim; error names `what`. */
ts_status *tb_axis(const ts_gexpr *call, const char *what, int64_t ax, int nd,
                   int *out);

/* ---- legalization helpers ---------------------------------------------- */
/* A constant of dtype t (float or int). */
ts_expr *tb_const(ts_arena *a, ts_dtype t, double v);
/* The smallest/largest value of dtype t (max/min pool init). */
ts_expr *tb_min_value(ts_arena *a, ts_dtype t);
/* cond1 and cond2 (either may be NULL). */
ts_expr *tb_and(ts_arena *a, ts_expr *x, ts_expr *y);
/* T.if_then_else(cond, t, f). */
ts_expr *tb_if(ts_arena *a, ts_expr *cond, ts_expr *t, ts_expr *f);
/* An index expression plus a constant (folded when 0), in idx's dtype. */
ts_expr *tb_idx_add(ts_arena *a, ts_expr *idx, int64_t c);
/* The int constant c in the dtype of `like`. */
ts_expr *tb_idx_c(ts_arena *a, const ts_expr *like, int64_t c);
/* Casts x to t when its dtype differs. */
ts_expr *tb_cast(ts_arena *a, ts_dtype t, ts_expr *x);

/* Row-major strides of an array shape. */
void tb_strides(int nd, const int64_t *shape, int64_t *strides);

#endif
