/* ir_util.h: internal helpers over the IR shared by the ir/, schedule/,
 * transform/ and interp/ layers:
 *
 *   - ts_ptrmap: an open-addressing pointer -> pointer hash map (heap);
 *   - visitors: pre-order walks over TensorIR expressions and statements;
 *   - a copy-on-write mutator and, built on it, variable substitution and
 *     buffer replacement;
 *   - deep copies of functions with renewed variables and buffers;
 *   - ts_expr_simplify_const: constant folding of integer arithmetic.
 *
 * Nothing here allocates IR nodes outside the arena passed in.  Functions
 * that return a node may return their input unchanged (nodes are immutable by
 * convention, so sharing is safe). */
#ifndef TESSERA_IR_IR_UTIL_H
#define TESSERA_IR_IR_UTIL_H

#include "tessera/ir.h"

/* ---- pointer map
 * -------------------------------------------------------------
 */

/* Keys are non-NULL pointers; values may be NULL (use ts_ptrmap_has to tell
 * "absent" from "NULL value").  Zero-initialize (`ts_ptrmap m = {0};`), free
 * with ts_ptrmap_free.  Iteration order is unspecified. */
typedef struct ts_ptrmap {
  const void **keys;
  void **vals;
  size_t cap, len;
} ts_ptrmap;

void ts_ptrmap_put(ts_ptrmap *m, const void *key, void *val);
/* NULL when absent. */
void *ts_ptrmap_get(const ts_ptrmap *m, const void *key);
bool ts_ptrmap_has(const ts_ptrmap *m, const void *key);
/* Removes key (no-op when absent). */
void ts_ptrmap_remove(ts_ptrmap *m, const void *key);
void ts_ptrmap_clear(ts_ptrmap *m);
void ts_ptrmap_free(ts_ptrmap *m);

/* ---- visitors
 * ------------------------------------------------------------------
 */

/* Called on every node before its children; return false to skip the
 * children.  A NULL callback visits everything. */
typedef bool (*ts_expr_visit_fn)(const ts_expr *e, void *ctx);
typedef bool (*ts_stmt_visit_fn)(const ts_stmt *s, void *ctx);

/* Pre-order walk of an expression tree (load indices, call args, ...). */
void ts_expr_visit(const ts_expr *e, ts_expr_visit_fn fe, void *ctx);
/* Pre-order walk of a statement tree; fe is called on every expression the
 * statements hold, in this order: for min/extent then body; realize iter
 * values, predicate, then the block's iter var domains, read/write region
 * bounds, match_buffer source bounds, init, body; store indices then value;
 * if cond, then, else; let value then body; allocate body; assert cond then
 * body.  Nested blocks are walked. */
void ts_stmt_visit(const ts_stmt *s, ts_stmt_visit_fn fs, ts_expr_visit_fn fe,
                   void *ctx);
/* True when expression e (NULL: none) mentions variable v. */
bool ts_expr_uses_var(const ts_expr *e, const ts_var *v);

/* ---- mutator
 * ------------------------------------------------------------------
 */

/* A copy-on-write rewrite: a node whose children are unchanged is returned
 * as is; otherwise a shallow copy with the new children is made in `arena`.
 * Hooks (each may be NULL):
 *   expr_pre/stmt_pre: called before the children; a non-NULL result
 *     replaces the node and its children are not visited.
 *   expr_post/stmt_post: called on the rebuilt node; returns the final node.
 *   buffer: maps every buffer reference (loads, stores, regions,
 *     alloc_buffers, match_buffers, allocate); NULL result keeps the buffer.
 * Definitions (loop vars, iter vars, let vars) are not rewritten. */
typedef struct ts_mutator ts_mutator;
struct ts_mutator {
  ts_arena *arena;
  ts_expr *(*expr_pre)(ts_mutator *m, ts_expr *e);
  ts_expr *(*expr_post)(ts_mutator *m, ts_expr *e);
  ts_stmt *(*stmt_pre)(ts_mutator *m, ts_stmt *s);
  ts_stmt *(*stmt_post)(ts_mutator *m, ts_stmt *s);
  ts_buffer *(*buffer)(ts_mutator *m, ts_buffer *b);
  void *ctx;
};

ts_expr *ts_mutate_expr(ts_mutator *m, ts_expr *e);
ts_stmt *ts_mutate_stmt(ts_mutator *m, ts_stmt *s);
/* Rewrites a block (iter var domains, regions, init, body, buffers); returns
 * b itself when nothing changed. */
ts_block *ts_mutate_block(ts_mutator *m, ts_block *b);

/* Replaces every use of a variable that is a key of `vmap` (ts_var* ->
 * ts_expr*) by its value.  Results are folded with ts_expr_simplify_const
 * only where a substitution happened. */
ts_expr *ts_expr_substitute(ts_arena *a, ts_expr *e, const ts_ptrmap *vmap);
ts_stmt *ts_stmt_substitute(ts_arena *a, ts_stmt *s, const ts_ptrmap *vmap);
/* Replaces buffers by `bmap` (ts_buffer* -> ts_buffer*) everywhere in s. */
ts_stmt *ts_stmt_replace_buffers(ts_arena *a, ts_stmt *s,
                                 const ts_ptrmap *bmap);

/* ---- deep copies
 * ----------------------------------------------------------------
 */

/* Deep copies into `a` with every variable, buffer and graph variable
 * renewed consistently (uses keep pointing to the copies of their
 * definitions).  Strings and constants are copied too, so the result does
 * not depend on the source arena. */
ts_primfunc *ts_primfunc_copy(ts_arena *a, const ts_primfunc *f);
ts_gfunc *ts_gfunc_copy(ts_arena *a, const ts_gfunc *f);

/* ---- simplification
 * ------------------------------------------------------------
 */

/* Folds integer arithmetic: add/sub/mul/floordiv/floormod/min/max (and
 * truncdiv/truncmod) of int immediates, x+0, 0+x, x-0, x*1, 1*x, x*0 -> 0,
 * x//1, x%1 -> 0, x - x -> 0 (same expression).  Returns e itself when
 * nothing folds.  Float expressions are left alone. */
ts_expr *ts_expr_simplify_const(ts_arena *a, ts_expr *e);

/* True when e is an integer immediate (sets *out when out is non-NULL). */
bool ts_expr_is_const_int(const ts_expr *e, int64_t *out);

/* Structural equality of two expressions without renaming (variables and
 * buffers compared by pointer).  Cheap; used by simplifiers and analyses. */
bool ts_expr_same(const ts_expr *a, const ts_expr *b);

/* ---- analyses ---------------------------------------------------------------
 */

/* True when f writes buffer b: a store to it or a block writing it, also
 * through T.match_buffer views (a write to a matched buffer writes its
 * source, transitively).  Destination-passing style: the parameters f
 * writes are its outputs. */
bool ts_primfunc_writes(const ts_primfunc *f, const ts_buffer *b);

/* ---- printing for messages
 * ------------------------------------------------------
 */

/* Appends a short TVMScript-like rendering of an expression ("Y[vi, vj] +
 * A[vi, vk]", "T.max(x, 0.0)"): for diagnostics, not the canonical printer. */
void ts_expr_print(ts_strbuf *sb, const ts_expr *e);
/* Appends struct info: R.Tensor((1, 10), "float32"), R.Tensor((n, 4),
 * "float32"), R.Tensor(dtype="float32", ndim=2), R.Shape([n, 4]),
 * R.Prim("int64"), R.Tuple(...), R.Object, R.Callable. */
void ts_sinfo_print(ts_strbuf *sb, const ts_sinfo *s);
/* The operator's spelling in messages: "+", "//", "min", "==", "and", ... */
const char *ts_expr_kind_symbol(ts_expr_kind k);

#endif
