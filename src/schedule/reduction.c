/* reduction.c: decompose_reduction and rfactor, following TVM.
 *
 * decompose_reduction(block, loop): the block's T.init() becomes a block
 * `<name>_init` placed right before `loop`, under copies (`<var>_init`) of
 * the loops between `loop` and the block that its spatial bindings (or its
 * predicate) use; the block loses its init and is renamed `<name>_update`.
 *
 * rfactor(loop, factor_axis): `loop` must drive a reduction iteration
 * variable of the only block under it.  The block becomes `<name>_rf`, which
 * reduces into a new buffer `<buf>_rf` that has the loop as an extra
 * dimension (at factor_axis) and a spatial iteration variable `v<loopvar>`
 * for it; each other reduction loop gets its own reduce iteration variable
 * `v<loopvar>`.  A write-back block with the original name then reduces the
 * rf buffer over that dimension, under copies of the spatial loops and of
 * `loop`.  The original block handle refers to the write-back block; the
 * returned handle to the rf block. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

static bool loop_is_ancestor(ts_primfunc *f, ts_stmt *loop, ts_stmt *node) {
  for (ts_stmt *p = sch_parent(f, node, NULL); p; p = sch_parent(f, p, NULL)) {
    if (p == loop) return true;
    if (p->kind == TS_S_BLOCK_REALIZE) return false;
  }
  return false;
}

static ts_stmt *new_for_like(ts_arena *a, const ts_stmt *l, ts_var *v,
                             ts_stmt *body) {
  ts_stmt *n = ts_stmt_new(a, TS_S_FOR, l->loc);
  n->u.for_ = l->u.for_;
  n->u.for_.var = v;
  n->u.for_.body = body;
  return n;
}

ts_status *ts_sch_decompose_reduction(ts_schedule *s, ts_rv block, ts_rv loop,
                                      ts_rv *out) {
  static const char *P = "decompose_reduction";
  ts_stmt *realize, *lp;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  TS_RETURN_IF_ERROR(sch_loop(s, loop, &lp));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (!b->init)
    return sch_error(P, "block %s has no init (T.init()) to decompose",
                     b->name);
  if (!loop_is_ancestor(f, lp, realize))
    return sch_error(P, "loop %s is not an ancestor of block %s",
                     sch_loop_desc(s, loop, lp), b->name);
  ts_stmt **loops;
  int nl;
  sch_enclosing_loops(f, realize, &loops, &nl);
  int pos = 0;
  while (pos < nl && loops[pos] != lp) pos++;
  TS_ASSERT(pos < nl);
  /* loops outside `loop` must not drive a reduction variable */
  for (int i = 0; i < pos; i++)
    for (int k = 0; k < b->n_iter_vars; k++)
      if (b->iter_vars[k].type != TS_ITER_SPATIAL &&
          ts_expr_uses_var(realize->u.realize.iter_values[k],
                            loops[i]->u.for_.var)) {
        ts_status *st = sch_error(
            P, "loop %s is inside loop %s, which drives the reduction "
               "variable %s of block %s; decompose at or above it",
            sch_loop_desc(s, loop, lp), loops[i]->u.for_.var->name,
            b->iter_vars[k].var->name, b->name);
        free(loops);
        return st;
      }

  /* the reduction must be driven only by loops at or under `loop`, and
   * every such loop must drive some iteration variable (otherwise the update
   * would run repeatedly on the same point with a single init) */
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type == TS_ITER_SPATIAL) continue;
    sch_linear lin;
    const ts_expr *v = realize->u.realize.iter_values[k];
    bool ok = sch_linearize(v, &lin);
    for (int t = 0; ok && t < lin.n; t++) {
      bool found = false;
      for (int i = pos; i < nl; i++)
        if (loops[i]->u.for_.var == lin.vars[t]) found = true;
      ok = found;
    }
    if (!ok) {
      ts_status *st = sch_error(
          P, "the reduction variable %s of block %s is not driven only by "
             "loops under loop %s",
          b->iter_vars[k].var->name, b->name, sch_loop_desc(s, loop, lp));
      free(loops);
      return st;
    }
  }
  for (int i = pos; i < nl; i++) {
    int64_t ext = 0;
    bool used_any = ts_expr_uses_var(realize->u.realize.predicate,
                                      loops[i]->u.for_.var);
    for (int k = 0; k < b->n_iter_vars; k++)
      used_any |= ts_expr_uses_var(realize->u.realize.iter_values[k],
                                    loops[i]->u.for_.var);
    if (!used_any && !(ts_expr_is_const_int(loops[i]->u.for_.extent, &ext) &&
                       ext == 1)) {
      ts_status *st = sch_error(
          P, "loop %s under loop %s drives no iteration variable of block %s; "
             "the update would accumulate repeatedly",
          loops[i]->u.for_.var->name, sch_loop_desc(s, loop, lp), b->name);
      free(loops);
      return st;
    }
  }

  /* ---- build the init stage ---- */
  ts_arena *a = s->mod->arena;
  ts_ptrmap vmap = {0};
  bool used[64] = {0};
  for (int i = pos; i < nl && i - pos < 64; i++) {
    ts_var *v = loops[i]->u.for_.var;
    bool u = ts_expr_uses_var(realize->u.realize.predicate, v);
    for (int k = 0; k < b->n_iter_vars; k++)
      if (b->iter_vars[k].type == TS_ITER_SPATIAL &&
          ts_expr_uses_var(realize->u.realize.iter_values[k], v))
        u = true;
    used[i - pos] = u;
    if (u) {
      char *nm = ts_arena_printf(a, "%s_init", v->name);
      ts_ptrmap_put(&vmap, v, ts_varref(a, ts_var_new(a, nm, v->dtype, v->loc)));
    }
  }
  ts_block *ib = ts_arena_alloc(a, sizeof *ib);
  ib->name = sch_fresh_name(s, f, ts_arena_printf(a, "%s_init", b->name));
  ib->loc = b->loc;
  int ns = 0;
  for (int k = 0; k < b->n_iter_vars; k++)
    ns += b->iter_vars[k].type == TS_ITER_SPATIAL;
  ib->iter_vars = ts_arena_array(a, (size_t)(ns ? ns : 1), sizeof(ts_iter_var));
  ts_expr **vals = ts_arena_array(a, (size_t)(ns ? ns : 1), sizeof(ts_expr *));
  ts_ptrmap ivmap = {0};
  int j = 0;
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type != TS_ITER_SPATIAL) continue;
    ts_iter_var iv = b->iter_vars[k];
    ts_var *nv = ts_var_new(a, iv.var->name, iv.var->dtype, iv.var->loc);
    ts_ptrmap_put(&ivmap, iv.var, ts_varref(a, nv));
    iv.var = nv;
    ib->iter_vars[j] = iv;
    vals[j++] = ts_expr_substitute(a, realize->u.realize.iter_values[k], &vmap);
  }
  ib->n_iter_vars = ns;
  ib->body = ts_stmt_substitute(a, b->init, &ivmap);
  ts_block_infer_regions(a, ib);
  ts_stmt *ir = ts_stmt_new(a, TS_S_BLOCK_REALIZE, realize->loc);
  ir->u.realize.block = ib;
  ir->u.realize.iter_values = vals;
  if (realize->u.realize.predicate)
    ir->u.realize.predicate =
        ts_expr_substitute(a, realize->u.realize.predicate, &vmap);
  ts_stmt *cur = ir;
  for (int i = nl - 1; i >= pos; i--) {
    if (i - pos >= 64 || !used[i - pos]) continue;
    ts_expr *nv = ts_ptrmap_get(&vmap, loops[i]->u.for_.var);
    cur = new_for_like(a, loops[i], nv->u.var, cur);
  }
  ts_ptrmap_free(&vmap);
  ts_ptrmap_free(&ivmap);
  free(loops);

  /* ---- mutate ---- */
  sch_insert_stmt(a, f, lp, cur, false);
  b->init = NULL;
  b->name = sch_fresh_name(s, f, ts_arena_printf(a, "%s_update", b->name));
  ts_rv r = sch_new_rv(s, SCH_RV_BLOCK, ir, f);
  sch_record(s, "%s = sch.decompose_reduction(block=%s, loop=%s)",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, block),
             ts_schedule_rv_name(s, loop));
  if (out) *out = r;
  return NULL;
}

/* ======================================================================
 * rfactor
 * ====================================================================== */

/* The reducer of `C[idx] = C[idx] op rhs`: op and rhs; false when the body
 * has another form. */
static bool match_reducer(const ts_block *b, ts_expr_kind *op, ts_expr **rhs,
                          const ts_stmt **store) {
  const ts_stmt *st = b->body;
  if (!st || st->kind != TS_S_STORE) return false;
  const ts_expr *v = st->u.store.value;
  if (!(v->kind == TS_E_ADD || v->kind == TS_E_MUL || v->kind == TS_E_MIN ||
        v->kind == TS_E_MAX))
    return false;
  for (int side = 0; side < 2; side++) {
    const ts_expr *l = side ? v->u.bin.b : v->u.bin.a;
    const ts_expr *r = side ? v->u.bin.a : v->u.bin.b;
    if (l->kind != TS_E_LOAD || l->u.load.buffer != st->u.store.buffer ||
        l->u.load.n != st->u.store.n)
      continue;
    bool same = true;
    for (int i = 0; i < st->u.store.n; i++)
      if (!ts_expr_same(l->u.load.indices[i], st->u.store.indices[i]))
        same = false;
    if (!same) continue;
    *op = v->kind;
    *rhs = (ts_expr *)r;
    *store = st;
    return true;
  }
  return false;
}

static bool init_is_identity(const ts_block *b, const ts_stmt *store,
                             ts_expr_kind op) {
  const ts_stmt *in = b->init;
  if (!in || in->kind != TS_S_STORE || in->u.store.buffer != store->u.store.buffer)
    return false;
  for (int i = 0; i < in->u.store.n; i++)
    if (!ts_expr_same(in->u.store.indices[i], store->u.store.indices[i]))
      return false;
  const ts_expr *v = in->u.store.value;
  double x;
  if (v->kind == TS_E_FLOAT) x = v->u.float_value;
  else if (v->kind == TS_E_INT) x = (double)v->u.int_value;
  else return false;
  switch (op) {
  case TS_E_ADD: return x == 0;
  case TS_E_MUL: return x == 1;
  case TS_E_MAX: return x <= -3.4e38 || (v->kind == TS_E_INT && x <= -2147483648.0);
  case TS_E_MIN: return x >= 3.4e38 || (v->kind == TS_E_INT && x >= 2147483647.0);
  default: return false;
  }
}

static bool only_block_under(ts_stmt *s, ts_stmt *realize) {
  ts_stmt **kids;
  int n;
  if (s->kind == TS_S_BLOCK_REALIZE) return s == realize;
  sch_child_blocks(s, &kids, &n);
  bool ok = n == 1 && kids[0] == realize;
  free(kids);
  return ok;
}

ts_status *ts_sch_rfactor(ts_schedule *s, ts_rv loop, int factor_axis,
                          ts_rv *out) {
  static const char *P = "rfactor";
  ts_stmt *lp;
  TS_RETURN_IF_ERROR(sch_loop(s, loop, &lp));
  ts_primfunc *f = sch_rv_func(s, loop);
  ts_stmt **blocks;
  int nbk;
  sch_child_blocks(lp, &blocks, &nbk);
  if (nbk != 1) {
    free(blocks);
    return sch_error(P, "loop %s must have exactly one block under it, found "
                        "%d",
                     sch_loop_desc(s, loop, lp), nbk);
  }
  ts_stmt *realize = blocks[0];
  free(blocks);
  ts_block *b = realize->u.realize.block;
  ts_var *lv = lp->u.for_.var;
  int red_idx = -1;
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (!ts_expr_uses_var(realize->u.realize.iter_values[k], lv)) continue;
    if (b->iter_vars[k].type != TS_ITER_REDUCE || red_idx >= 0)
      return sch_error(P, "loop %s is not bound to a reduction iteration "
                          "variable of block %s",
                       sch_loop_desc(s, loop, lp), b->name);
    red_idx = k;
  }
  if (red_idx < 0)
    return sch_error(P, "loop %s is not bound to a reduction iteration "
                        "variable of block %s",
                     sch_loop_desc(s, loop, lp), b->name);
  ts_expr_kind op;
  ts_expr *rhs;
  const ts_stmt *store;
  if (!b->init || !match_reducer(b, &op, &rhs, &store) ||
      !init_is_identity(b, store, op))
    return sch_error(P, "block %s is not a reduction block of the form "
                        "C[...] = C[...] op x with an identity init",
                     b->name);
  if (b->n_writes != 1 || b->n_match_buffers || b->n_alloc_buffers)
    return sch_error(P, "block %s must write exactly one buffer", b->name);
  if (realize->u.realize.predicate)
    return sch_error(P, "block %s has a predicate", b->name);
  ts_buffer *wbuf = store->u.store.buffer;
  int nd = wbuf->ndim;
  if (factor_axis < -(nd + 1) || factor_axis > nd)
    return sch_error(P, "factor_axis %d is out of range for the %d-D buffer "
                        "%s",
                     factor_axis, nd, wbuf->name);
  int orig_axis = factor_axis;
  if (factor_axis < 0) factor_axis += nd + 1;
  int64_t ext, mn;
  if (!ts_expr_is_const_int(lp->u.for_.extent, &ext) ||
      !ts_expr_is_const_int(lp->u.for_.min, &mn) || mn != 0)
    return sch_error(P, "loop %s must start at 0 and have a constant extent",
                     sch_loop_desc(s, loop, lp));
  ts_stmt **loops;
  int nl;
  sch_enclosing_loops(f, realize, &loops, &nl);
  /* classify loops: spatial (used by spatial bindings only), reduction (by
   * reduction bindings only), unused */
  int cls[64];
  if (nl > 64) {
    free(loops);
    return sch_error(P, "too many loops around block %s", b->name);
  }
  for (int i = 0; i < nl; i++) {
    bool sp = false, rd = false;
    for (int k = 0; k < b->n_iter_vars; k++)
      if (ts_expr_uses_var(realize->u.realize.iter_values[k],
                            loops[i]->u.for_.var)) {
        if (b->iter_vars[k].type == TS_ITER_SPATIAL) sp = true;
        else rd = true;
      }
    if (sp && rd) {
      ts_status *st = sch_error(P, "loop %s drives both spatial and "
                                   "reduction variables of block %s",
                                loops[i]->u.for_.var->name, b->name);
      free(loops);
      return st;
    }
    cls[i] = sp ? 1 : rd ? 2 : 0;
  }
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type != TS_ITER_SPATIAL &&
        b->iter_vars[k].type != TS_ITER_REDUCE) {
      free(loops);
      return sch_error(P, "block %s has an iteration variable that is "
                          "neither spatial nor reduction",
                       b->name);
    }
  }
  /* reduction bindings must use only loops of the nest */
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type != TS_ITER_REDUCE) continue;
    sch_linear lin;
    bool ok = sch_linearize(realize->u.realize.iter_values[k], &lin);
    for (int t = 0; ok && t < lin.n; t++) {
      bool found = false;
      for (int i = 0; i < nl; i++)
        if (loops[i]->u.for_.var == lin.vars[t]) found = true;
      ok = found;
    }
    if (!ok) {
      free(loops);
      return sch_error(P, "the reduction variable %s of block %s is not an "
                          "affine function of its loops",
                       b->iter_vars[k].var->name, b->name);
    }
  }
  /* every loop of the nest must drive an iteration variable */
  for (int i = 0; i < nl; i++) {
    int64_t e1 = 0;
    if (cls[i] == 0 && !(ts_expr_is_const_int(loops[i]->u.for_.extent, &e1) &&
                         e1 == 1)) {
      ts_status *st = sch_error(P, "loop %s drives no iteration variable of "
                                   "block %s",
                                loops[i]->u.for_.var->name, b->name);
      free(loops);
      return st;
    }
  }
  ts_stmt *top = nl ? loops[0] : realize;
  if (!only_block_under(top, realize)) {
    free(loops);
    return sch_error(P, "the loop nest of block %s holds other blocks",
                     b->name);
  }

  /* ---- build ---- */
  ts_arena *a = s->mod->arena;
  /* rf buffer */
  ts_expr **shape = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0, k = 0; d <= nd; d++)
    shape[d] = d == factor_axis ? ts_int(a, lp->u.for_.extent->dtype, ext)
                                : wbuf->shape[k++];
  ts_buffer *rf = ts_buffer_new(
      a, sch_fresh_name(s, f, ts_arena_printf(a, "%s_rf", wbuf->name)),
      wbuf->dtype, nd + 1, shape);
  rf->scope = wbuf->scope;

  /* rf block: iter vars [v_rf (S)] + spatial vars + one reduce var per
   * reduction loop other than lp */
  ts_block *rb = ts_arena_alloc(a, sizeof *rb);
  *rb = *b;
  rb->name = sch_fresh_name(s, f, ts_arena_printf(a, "%s_rf", b->name));
  int cap = b->n_iter_vars + nl + 1;
  rb->iter_vars = ts_arena_array(a, (size_t)cap, sizeof(ts_iter_var));
  ts_expr **rvals = ts_arena_array(a, (size_t)cap, sizeof(ts_expr *));
  int nr = 0;
  ts_ptrmap lsub = {0};  /* reduction loop var -> its new iter var */
  ts_ptrmap isub = {0};  /* old iter var -> expression in new iter vars */
  ts_var *vrf = ts_var_new(a, ts_arena_printf(a, "v%s", lv->name), lv->dtype,
                           lv->loc);
  rb->iter_vars[nr].var = vrf;
  rb->iter_vars[nr].type = TS_ITER_SPATIAL;
  rb->iter_vars[nr].dom.min = ts_int(a, lv->dtype, 0);
  rb->iter_vars[nr].dom.extent = lp->u.for_.extent;
  rvals[nr++] = ts_varref(a, lv);
  ts_ptrmap_put(&lsub, lv, ts_varref(a, vrf));
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type != TS_ITER_SPATIAL) continue;
    ts_iter_var iv = b->iter_vars[k];
    ts_var *nv = ts_var_new(a, iv.var->name, iv.var->dtype, iv.var->loc);
    ts_ptrmap_put(&isub, iv.var, ts_varref(a, nv));
    iv.var = nv;
    rb->iter_vars[nr] = iv;
    rvals[nr++] = realize->u.realize.iter_values[k];
  }
  for (int i = 0; i < nl; i++) {
    if (cls[i] != 2 || loops[i] == lp) continue;
    ts_var *v = loops[i]->u.for_.var;
    ts_var *nv = ts_var_new(a, ts_arena_printf(a, "v%s", v->name), v->dtype,
                            v->loc);
    rb->iter_vars[nr].var = nv;
    rb->iter_vars[nr].type = TS_ITER_REDUCE;
    rb->iter_vars[nr].dom.min = loops[i]->u.for_.min;
    rb->iter_vars[nr].dom.extent = loops[i]->u.for_.extent;
    rvals[nr++] = ts_varref(a, v);
    ts_ptrmap_put(&lsub, v, ts_varref(a, nv));
  }
  rb->n_iter_vars = nr;
  for (int k = 0; k < b->n_iter_vars; k++)
    if (b->iter_vars[k].type == TS_ITER_REDUCE)
      ts_ptrmap_put(&isub, b->iter_vars[k].var,
                    ts_expr_substitute(a, realize->u.realize.iter_values[k],
                                       &lsub));
  /* rf indices: the store's indices with v_rf inserted */
  ts_expr **ridx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0, k = 0; d <= nd; d++)
    ridx[d] = d == factor_axis
                  ? ts_varref(a, vrf)
                  : ts_expr_substitute(a, store->u.store.indices[k++], &isub);
  ts_stmt *rst = ts_stmt_new(a, TS_S_STORE, store->loc);
  rst->u.store.buffer = rf;
  rst->u.store.indices = ridx;
  rst->u.store.n = nd + 1;
  ts_expr *nrhs = ts_expr_substitute(a, rhs, &isub);
  rst->u.store.value =
      ts_binary(a, op, ts_load(a, rf, ridx, nd + 1), nrhs);
  ts_stmt *rinit = ts_stmt_new(a, TS_S_STORE, b->init->loc);
  rinit->u.store.buffer = rf;
  rinit->u.store.indices = ridx;
  rinit->u.store.n = nd + 1;
  rinit->u.store.value = b->init->u.store.value;
  rb->body = rst;
  rb->init = rinit;
  rb->annotations = b->annotations;
  rb->explicit_regions = false;
  ts_block_infer_regions(a, rb);
  ts_stmt *rr = ts_stmt_new(a, TS_S_BLOCK_REALIZE, realize->loc);
  rr->u.realize.block = rb;
  rr->u.realize.iter_values = rvals;

  /* write-back block: [v_rf (R)] + spatial vars */
  ts_block *wb = ts_arena_alloc(a, sizeof *wb);
  wb->name = b->name;
  wb->loc = b->loc;
  ts_ptrmap wl = {0}; /* loop var -> new loop var (write-back nest) */
  for (int i = 0; i < nl; i++)
    if (cls[i] == 1 || loops[i] == lp) {
      ts_var *v = loops[i]->u.for_.var;
      ts_ptrmap_put(&wl, v, ts_varref(a, ts_var_new(a, v->name, v->dtype,
                                                    v->loc)));
    }
  wb->iter_vars = ts_arena_array(a, (size_t)cap, sizeof(ts_iter_var));
  ts_expr **wvals = ts_arena_array(a, (size_t)cap, sizeof(ts_expr *));
  int nw = 0;
  ts_ptrmap wsub = {0};
  ts_var *wrf = ts_var_new(a, vrf->name, vrf->dtype, vrf->loc);
  wb->iter_vars[nw].var = wrf;
  wb->iter_vars[nw].type = TS_ITER_REDUCE;
  wb->iter_vars[nw].dom = rb->iter_vars[0].dom;
  wvals[nw++] = ts_ptrmap_get(&wl, lv);
  for (int k = 0; k < b->n_iter_vars; k++) {
    if (b->iter_vars[k].type != TS_ITER_SPATIAL) continue;
    ts_iter_var iv = b->iter_vars[k];
    ts_var *nv = ts_var_new(a, iv.var->name, iv.var->dtype, iv.var->loc);
    ts_ptrmap_put(&wsub, iv.var, ts_varref(a, nv));
    iv.var = nv;
    wb->iter_vars[nw] = iv;
    wvals[nw++] = ts_expr_substitute(a, realize->u.realize.iter_values[k], &wl);
  }
  wb->n_iter_vars = nw;
  ts_expr **widx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  ts_expr **oidx = ts_arena_array(a, (size_t)(nd ? nd : 1), sizeof(ts_expr *));
  for (int d = 0; d < nd; d++)
    oidx[d] = ts_expr_substitute(a, store->u.store.indices[d], &wsub);
  for (int d = 0, k = 0; d <= nd; d++)
    widx[d] = d == factor_axis ? ts_varref(a, wrf) : oidx[k++];
  ts_stmt *wst = ts_stmt_new(a, TS_S_STORE, store->loc);
  wst->u.store.buffer = wbuf;
  wst->u.store.indices = oidx;
  wst->u.store.n = nd;
  wst->u.store.value = ts_binary(a, op, ts_load(a, wbuf, oidx, nd),
                                 ts_load(a, rf, widx, nd + 1));
  wb->body = wst;
  wb->init = ts_stmt_substitute(a, b->init, &wsub);
  ts_block_infer_regions(a, wb);
  /* write-back nest: copies of the spatial loops and of lp, in order */
  ts_stmt *wcur = NULL;
  for (int i = nl - 1; i >= 0; i--) {
    ts_expr *nv = ts_ptrmap_get(&wl, loops[i]->u.for_.var);
    if (!nv) continue;
    if (!wcur) wcur = realize; /* the realize is reused below */
    wcur = new_for_like(a, loops[i], nv->u.var, wcur);
    wcur->u.for_.kind = loops[i] == lp ? TS_FOR_SERIAL : loops[i]->u.for_.kind;
    if (loops[i] == lp) wcur->u.for_.annotations = NULL;
  }
  if (!wcur) wcur = realize;
  ts_ptrmap_free(&lsub);
  ts_ptrmap_free(&isub);
  ts_ptrmap_free(&wl);
  ts_ptrmap_free(&wsub);

  /* ---- mutate ---- */
  ts_stmt *scope = NULL;
  ts_stmt *topc = sch_scope_child(f, realize, &scope);
  (void)topc;
  sch_replace(f, realize, rr);       /* rf block takes the original place */
  realize->u.realize.block = wb;     /* original realize: write-back */
  realize->u.realize.iter_values = wvals;
  realize->u.realize.predicate = NULL;
  sch_insert_stmt(a, f, top == realize ? rr : top, wcur, true);
  ts_stmt *alloc_owner = scope ? scope : NULL;
  if (alloc_owner) sch_block_add_alloc(a, alloc_owner->u.realize.block, rf);
  free(loops);
  ts_rv r = sch_new_rv(s, SCH_RV_BLOCK, rr, f);
  sch_record(s, "%s = sch.rfactor(loop=%s, factor_axis=%d)",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, loop),
             orig_axis);
  if (out) *out = r;
  return NULL;
}
