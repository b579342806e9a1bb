/* sch_internal.h: the schedule's state, shared by every primitive file
 * (src/schedule/<family>.c).
 *
 * Invariants:
 *  - The schedule owns `mod`, a deep copy of the user's module, whose IR is
 *    a tree (no statement node has two parents).  Primitives rewrite it in
 *    place and allocate new nodes in mod->arena.
 *  - A handle (ts_rv) indexes `rvs`.  A block handle holds the block's
 *    TS_S_BLOCK_REALIZE statement, a loop handle the TS_S_FOR statement, an
 *    int handle a sampled value.  When a primitive removes a loop or block it
 *    marks the handles that held it invalid (sch_invalidate_node).
 *  - The trace is a list of printed lines in TVM's syntax, appended by each
 *    successful primitive (sch_record).  Handles print as b<k>, l<k>, v<k>
 *    with one counter over all kinds, in creation order, as TVM names them.
 *  - A primitive checks everything before it mutates: on an error the IR is
 *    unchanged. */
#ifndef TESSERA_SCHEDULE_SCH_INTERNAL_H
#define TESSERA_SCHEDULE_SCH_INTERNAL_H

#include "ir/ir_util.h"
#include "tessera/schedule.h"

typedef enum sch_rv_kind { SCH_RV_BLOCK, SCH_RV_LOOP, SCH_RV_INT } sch_rv_kind;

typedef struct sch_rv_entry {
  sch_rv_kind kind;
  ts_stmt *node;      /* BLOCK: realize; LOOP: for; INT: NULL */
  ts_primfunc *func;  /* the function the node lives in */
  int64_t value;      /* INT */
  bool valid;
  char name[16];      /* "b0", "l1", "v2" */
} sch_rv_entry;

struct ts_schedule {
  ts_module *mod;
  ts_primfunc *func; /* the function of the last get_block (current) */
  TS_VEC(sch_rv_entry) rvs;
  TS_VEC(char *) trace;
  uint64_t rng;
};

/* ---- handles ----------------------------------------------------------------- */
ts_rv sch_new_rv(ts_schedule *s, sch_rv_kind kind, ts_stmt *node,
                 ts_primfunc *func);
ts_rv sch_new_int(ts_schedule *s, int64_t value);
/* The realize statement of a block handle; an error naming the handle when
 * it is not a valid block handle. */
ts_status *sch_block(ts_schedule *s, ts_rv rv, ts_stmt **out);
ts_status *sch_loop(ts_schedule *s, ts_rv rv, ts_stmt **out);
/* Either kind. */
ts_status *sch_block_or_loop(ts_schedule *s, ts_rv rv, ts_stmt **out);
/* Finds an existing valid handle for `node` or makes a new one. */
ts_rv sch_rv_for_node(ts_schedule *s, sch_rv_kind kind, ts_stmt *node,
                      ts_primfunc *func);
/* Marks every handle holding `node` invalid. */
void sch_invalidate_node(ts_schedule *s, const ts_stmt *node);
/* The function a handle's node lives in. */
ts_primfunc *sch_rv_func(ts_schedule *s, ts_rv rv);

/* ---- trace ------------------------------------------------------------------- */
/* Appends one printed line to the trace ("l1, l2 = sch.split(...)"). */
void sch_record(ts_schedule *s, const char *fmt, ...) TS_PRINTF(2, 3);
/* "[l1, l2]" / "l1, l2" renderings of handle lists (heap strings). */
char *sch_rv_list(const ts_schedule *s, const ts_rv *rvs, int n,
                  bool brackets);

/* ---- tree navigation ------------------------------------------------------------ */
/* The statement whose child slot holds `node` (NULL for the function body),
 * and the address of that slot, so that the child can be replaced. */
ts_stmt *sch_parent(ts_primfunc *f, ts_stmt *node, ts_stmt ***out_slot);
/* Replaces `node` by `with` in its parent (or as the function body). */
void sch_replace(ts_primfunc *f, ts_stmt *node, ts_stmt *with);
/* The loops enclosing `node`, outermost first, up to (not crossing) the
 * nearest enclosing block realize.  *out heap, caller frees. */
void sch_enclosing_loops(ts_primfunc *f, ts_stmt *node, ts_stmt ***out,
                         int *out_n);
/* The nearest enclosing block realize of `node` (the root block's realize
 * for top-level statements; NULL only for the root itself). */
ts_stmt *sch_enclosing_block(ts_primfunc *f, ts_stmt *node);
/* Block realizes directly under `scope` (a block realize or loop), not
 * looking inside nested blocks; pre-order.  *out heap. */
void sch_child_blocks(ts_stmt *scope, ts_stmt ***out, int *out_n);
/* Finds a block realize by block name in f (NULL when absent). */
ts_stmt *sch_find_block(ts_primfunc *f, const char *name);

/* ---- names --------------------------------------------------------------------- */
/* A name not used by any variable, buffer or block of f: `base` itself, or
 * base_1, base_2, ... */
const char *sch_fresh_name(ts_schedule *s, ts_primfunc *f, const char *base);

/* ---- helpers shared by the primitive files (get.c, loops.c, compute_at.c) - */
/* True when block `w` writes a buffer that block `r` reads. */
bool sch_block_feeds(const ts_block *w, const ts_block *r);
/* Substitutes variables (vmap: ts_var* -> ts_expr*) in place in every
 * expression held by the statements of `s` (loop bounds, block bindings and
 * predicates, stores, ...), keeping statement node identity so that handles
 * stay valid. */
void sch_subst_inplace(ts_arena *a, ts_stmt *s, const ts_ptrmap *vmap);
/* Every block realize in the subtree of s (nested blocks included),
 * pre-order.  *out heap. */
void sch_all_blocks(ts_stmt *s, ts_stmt ***out, int *out_n);

/* A name for a new variable placed at `node` (which the new loop wraps or
 * lies under): `base` unless a parameter, buffer or variable defined around
 * `node` (its ancestors) or inside it uses it; then base_1, base_2, ...
 * Sibling loop nests may reuse names, as TVM's do. */
const char *sch_scoped_name(ts_schedule *s, ts_primfunc *f, ts_stmt *node,
                            const char *base);

/* ---- errors -------------------------------------------------------------------- */
/* "ScheduleError: <primitive>: <message>" at no location. */
ts_status *sch_error(const char *primitive, const char *fmt, ...)
    TS_PRINTF(2, 3);

/* ---- helpers shared by cache.c, reduction.c, layout.c, blockize.c and
 * sampling.c (defined in cache.c; additive) ------------------------------- */
#define TS_MAX_NDIM_SCH 16
/* Integer bounds [lo, hi] of an affine-ish expression (+ - * min max, // and
 * % by a positive constant, casts); env maps ts_var* -> int64_t[2] (made by
 * sch_env_set).  False when some variable is unbound or an op unsupported. */
bool sch_bounds(const ts_expr *e, const ts_ptrmap *env, int64_t *lo,
                int64_t *hi);
void sch_env_set(ts_arena *a, ts_ptrmap *env, const ts_var *v, int64_t lo,
                 int64_t hi);
/* A linear form c0 + sum coef[i] * vars[i] (+, -, * by constants only). */
#define SCH_LINEAR_MAX 16
typedef struct sch_linear {
  const ts_var *vars[SCH_LINEAR_MAX];
  int64_t coef[SCH_LINEAR_MAX];
  int n;
  int64_t c0;
  bool ok;
} sch_linear;
bool sch_linearize(const ts_expr *e, sch_linear *out);
int64_t sch_linear_coef(const sch_linear *l, const ts_var *v);
ts_expr *sch_linear_expr(ts_arena *a, const sch_linear *l, ts_dtype t);
/* Whether statement s (blocks' regions, stores, loads) reads / writes b,
 * not counting the block realize `skip` (may be NULL). */
void sch_stmt_accesses(const ts_stmt *s, const ts_buffer *b,
                       const ts_stmt *skip, bool *reads, bool *writes);
bool sch_is_param_buffer(const ts_primfunc *f, const ts_buffer *b);
/* The ancestor of `node` that is a direct child of its scope block's body
 * (the scope block realize in *out_scope). */
ts_stmt *sch_scope_child(ts_primfunc *f, ts_stmt *node, ts_stmt **out_scope);
/* Inserts `stmt` before/after `anchor` (in its sequence, or making one). */
void sch_insert_stmt(ts_arena *a, ts_primfunc *f, ts_stmt *anchor,
                     ts_stmt *stmt, bool after);
void sch_block_add_alloc(ts_arena *a, ts_block *b, ts_buffer *buf);
/* The block that allocates buf (NULL for parameters / unknown). */
ts_block *sch_block_allocating(ts_primfunc *f, const ts_buffer *buf,
                               ts_stmt **out_realize);
/* Replaces a buffer everywhere in a block, in place (handles stay valid). */
void sch_block_replace_buffer(ts_arena *a, ts_block *b, ts_buffer *from,
                              ts_buffer *to);
bool sch_valid_scope(const char *scope);
/* "l3 (k)" for messages. */
const char *sch_loop_desc(ts_schedule *s, ts_rv rv, const ts_stmt *loop);
/* The innermost statement of a chain of loops (a block realize). */
ts_stmt *sch_innermost(ts_stmt *s);

/* ---- sampling with decisions (sampling.c), for ts_trace_apply ----------------
 * Trace lines these print and the parser must accept:
 *   v1, v2 = sch.sample_perfect_tile(loop=l0, n=2, max_innermost_factor=64, decision=[4, 32])
 *   v3 = sch.sample_categorical(candidates=[1, 2, 4], probs=[0.5, 0.25, 0.25], decision=1)
 *   l4 = sch.sample_compute_location(block=b0, decision=-1)
 * `decision` NULL: draw from s->rng; otherwise replay it (validated).  For
 * sample_categorical the decision is the index into candidates; for
 * sample_compute_location the index into the candidate loops (-1: root, which
 * yields a loop handle that refers to no loop, TVM's root_rv; -2: inline).
 * Other trace lines of cache.c, reduction.c, layout.c, blockize.c:
 *   b3 = sch.cache_read(block=b0, read_buffer_index=0, storage_scope="shared")
 *   b4 = sch.cache_write(block=b0, write_buffer_index=0, storage_scope="local")
 *   sch.set_scope(block=b0, buffer_index=0, storage_scope="shared")
 *   sch.storage_align(block=b0, buffer_index=0, axis=0, factor=16, offset=1)
 *   b5 = sch.decompose_reduction(block=b0, loop=l3)
 *   b6 = sch.rfactor(loop=l2, factor_axis=0)
 *   sch.transform_layout(block=b0, buffer=("write", 0), index_map=lambda i, j: (j // 4, i, j % 4))
 *   sch.transform_block_layout(block=b0, index_map=lambda i, j: (j, i))
 *   b7 = sch.blockize(target=l3, preserve_unit_iters=True)
 *   sch.tensorize(block_or_loop=b7, tensor_intrin="mma_4x4x4_f32")
 *   sch.annotate(block_or_loop=b0, ann_key="k", ann_val=16)   (int, float,
 *       "str", True/False, [lists])
 *   sch.unannotate(block_or_loop=b0, ann_key="k") */
ts_status *sch_sample_perfect_tile(ts_schedule *s, ts_rv loop, int n,
                                   int max_innermost_factor,
                                   const int64_t *decision, ts_rv **out);
ts_status *sch_sample_categorical(ts_schedule *s, const int64_t *candidates,
                                  const double *probs, int n,
                                  const int64_t *decision, ts_rv *out);
ts_status *sch_sample_compute_location(ts_schedule *s, ts_rv block,
                                       const int64_t *decision, ts_rv *out);
/* Looks a tensor intrinsic up: the module's intrins, then the global
 * registry (which holds the built-in "mma_4x4x4_f32"). */
const ts_tensor_intrin *sch_lookup_intrin(ts_module *m, const char *name);

#endif
