/* dce.c: the `dead-code-elimination` pass.
 *
 * 1. In each graph function, a binding whose variable is never used (by a
 *    later binding, a dataflow block's R.output list, or the returned
 *    expression) is removed when it is pure: its value calls nothing impure
 *    (call_dps_packed, a library function, an impure graph function).
 *    Match_cast bindings stay (they check and bind symbolic variables).
 *    Repeated until nothing changes, so chains of dead bindings go at once;
 *    blocks left empty are dropped.
 * 2. Functions not reachable from a root are removed.  Roots: "main" and
 *    every function that is not private; references are R.call_tir /
 *    call_dps_packed callees (`cls.f`) and direct calls of graph functions.
 *    Library function declarations are kept. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

/* ---- uses ---------------------------------------------------------------- */

static void mark_uses(const ts_gexpr *e, ts_ptrmap *used) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_VAR: ts_ptrmap_put(used, e->u.var, NULL); break;
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) mark_uses(e->u.tuple.fields[i], used);
    break;
  case TS_G_TUPLE_GET: mark_uses(e->u.tuple_get.tuple, used); break;
  case TS_G_CALL:
    for (int i = 0; i < e->u.call.n_args; i++) mark_uses(e->u.call.args[i], used);
    break;
  default: break;
  }
}

static bool is_pure(const ts_module *m, const ts_gexpr *e) {
  if (!e) return true;
  switch (e->kind) {
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++)
      if (!is_pure(m, e->u.tuple.fields[i])) return false;
    return true;
  case TS_G_TUPLE_GET: return is_pure(m, e->u.tuple_get.tuple);
  case TS_G_CALL:
    switch (e->u.call.callee_kind) {
    case TS_CALLEE_OP:
      if (e->u.call.op == TS_OP_CALL_DPS_PACKED) return false;
      break;
    case TS_CALLEE_EXTERN: return false;
    case TS_CALLEE_GLOBAL: {
      ts_gfunc *g = ts_module_gfunc((ts_module *)m, e->u.call.name);
      if (!g || !g->is_pure) return false;
      break;
    }
    }
    for (int i = 0; i < e->u.call.n_args; i++)
      if (!is_pure(m, e->u.call.args[i])) return false;
    return true;
  default: return true;
  }
}

static bool sweep_gfunc(const ts_module *m, ts_gfunc *g) {
  ts_ptrmap used = {0};
  mark_uses(g->result, &used);
  for (int b = 0; b < g->n_blocks; b++) {
    ts_binding_block *blk = &g->blocks[b];
    for (int k = 0; k < blk->n; k++) mark_uses(blk->bindings[k].value, &used);
    for (int k = 0; k < blk->n_outputs; k++) ts_ptrmap_put(&used, blk->outputs[k], NULL);
  }
  bool changed = false;
  int nb = 0;
  for (int b = 0; b < g->n_blocks; b++) {
    ts_binding_block *blk = &g->blocks[b];
    int n = 0;
    for (int k = 0; k < blk->n; k++) {
      ts_binding *bd = &blk->bindings[k];
      bool dead = bd->kind == TS_BIND_VAR && !ts_ptrmap_has(&used, bd->var) &&
                  is_pure(m, bd->value);
      if (dead) changed = true;
      else blk->bindings[n++] = *bd;
    }
    blk->n = n;
    if (blk->n == 0 && blk->n_outputs == 0) changed = true;
    else g->blocks[nb++] = *blk;
  }
  g->n_blocks = nb;
  ts_ptrmap_free(&used);
  return changed;
}

/* ---- reachability ----------------------------------------------------------- */

typedef TS_VEC(const char *) name_vec;

static void mark_refs(const ts_gexpr *e, name_vec *work) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_GLOBAL: ts_vec_push(work, e->u.global_name); break;
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) mark_refs(e->u.tuple.fields[i], work);
    break;
  case TS_G_TUPLE_GET: mark_refs(e->u.tuple_get.tuple, work); break;
  case TS_G_CALL:
    if (e->u.call.callee_kind == TS_CALLEE_GLOBAL) ts_vec_push(work, e->u.call.name);
    for (int i = 0; i < e->u.call.n_args; i++) mark_refs(e->u.call.args[i], work);
    break;
  default: break;
  }
}

static bool is_root(const ts_func *f) {
  if (!strcmp(f->name, "main")) return true;
  switch (f->kind) {
  case TS_FUNC_GRAPH: return !f->u.graph->is_private;
  case TS_FUNC_PRIM: return !f->u.prim->is_private;
  default: return true;
  }
}

static void remove_unreachable(ts_module *m) {
  name_vec work = {0}, live = {0};
  for (int i = 0; i < m->n_funcs; i++)
    if (is_root(&m->funcs[i])) ts_vec_push(&work, m->funcs[i].name);
  while (work.len) {
    const char *name = work.data[--work.len];
    bool seen = false;
    for (size_t i = 0; i < live.len && !seen; i++) seen = !strcmp(live.data[i], name);
    if (seen) continue;
    ts_vec_push(&live, name);
    ts_func *f = ts_module_lookup(m, name);
    if (!f || f->kind != TS_FUNC_GRAPH) continue;
    const ts_gfunc *g = f->u.graph;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++) mark_refs(g->blocks[b].bindings[k].value, &work);
    mark_refs(g->result, &work);
  }
  name_vec dead = {0};
  for (int i = 0; i < m->n_funcs; i++) {
    bool keep = false;
    for (size_t j = 0; j < live.len && !keep; j++) keep = !strcmp(live.data[j], m->funcs[i].name);
    if (!keep) ts_vec_push(&dead, m->funcs[i].name);
  }
  for (size_t i = 0; i < dead.len; i++) ts_module_remove(m, dead.data[i]);
  ts_vec_free(&dead);
  ts_vec_free(&live);
  ts_vec_free(&work);
}

ts_status *ts_pass_dead_code_elimination(ts_module *m, const char *args) {
  (void)args;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_GRAPH)
      while (sweep_gfunc(m, m->funcs[i].u.graph)) {
      }
  remove_unreachable(m);
  return NULL;
}
