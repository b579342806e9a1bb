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
/* True when expression e mentions variable v. */
bool sch_expr_uses(const ts_expr *e, const ts_var *v);
/* Every block realize in the subtree of s (nested blocks included),
 * pre-order.  *out heap. */
void sch_all_blocks(ts_stmt *s, ts_stmt ***out, int *out_n);

/* ---- errors -------------------------------------------------------------------- */
/* "ScheduleError: <primitive>: <message>" at no location. */
ts_status *sch_error(const char *primitive, const char *fmt, ...)
    TS_PRINTF(2, 3);

#endif
