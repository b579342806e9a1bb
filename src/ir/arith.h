/* arith.h: bound-aware simplification of integer index expressions (see
 * arith.c). */
#ifndef TESSERA_IR_ARITH_H
#define TESSERA_IR_ARITH_H

#include "ir/ir_util.h"

/* Rewrites floordiv/floormod by positive constants in an integer expression
 * when the ranges prove the quotient or remainder is a simpler affine sum:
 * `(fo * 16 + fi) // 16` is `fo` and `% 16` is `fi` when fi is in [0, 16).
 * `ranges` maps a ts_var* to an int64_t[2] {lo, hi} (inclusive); variables
 * absent from it have unknown ranges.  Returns e itself when nothing
 * changes; new nodes are allocated in `a`.  The result equals e for every
 * assignment of the variables within their ranges. */
ts_expr *ts_expr_simplify_index(ts_arena *a, ts_expr *e,
                                const ts_ptrmap *ranges);

/* The range [lo, hi] of an integer expression of variables with known
 * ranges (as above), through +, -, *, floordiv and floormod; false when
 * unknown. */
bool ts_expr_range(const ts_expr *e, const ts_ptrmap *ranges, int64_t *lo,
                   int64_t *hi);

#endif
