/* layout.c: transform_layout and transform_block_layout.
 *
 * transform_layout(block, ("read"|"write", i), lambda ...: (...)): the
 * buffer's new shape is the range of the map over the old shape (static
 * shapes; the map must be injective, checked by enumeration for buffers of
 * up to 2^22 elements); every access to the buffer in the function is
 * rewritten to the mapped indices and the regions of every block are
 * re-inferred.  Works for allocated buffers and for parameters (whose
 * signature then changes, as in TVM).
 *
 * transform_block_layout(block, lambda ...: (...)): the block must sit
 * alone under one loop per iteration variable, bound one to one; the map's
 * results must each be either a parameter or a fused sum
 * p0 * c0 + p1 * c1 + ... + pk (dense mixed radix, each parameter used
 * once).  New loops and iteration variables follow the results. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"
#include "tessera/script.h"

static char *map_text(const ts_index_map *m) {
  ts_strbuf b = {0};
  ts_strbuf_append(&b, "lambda ");
  for (int i = 0; i < m->n_params; i++)
    ts_strbuf_printf(&b, "%s%s", i ? ", " : "", m->params[i]->name);
  ts_strbuf_append(&b, ": (");
  for (int i = 0; i < m->n_results; i++) {
    char *e = ts_script_print_expr(m->results[i]);
    ts_strbuf_printf(&b, "%s%s", i ? ", " : "", e);
    free(e);
  }
  if (m->n_results == 1) ts_strbuf_append(&b, ",");
  ts_strbuf_append(&b, ")");
  return b.data;
}

/* ---- rewriting accesses ------------------------------------------------------- */

typedef struct tl_ctx {
  ts_buffer *buf;
  const ts_index_map *map;
  ts_arena *a;
} tl_ctx;

static ts_expr **map_indices(tl_ctx *c, ts_expr **idx, int n) {
  ts_ptrmap vm = {0};
  for (int i = 0; i < n; i++) ts_ptrmap_put(&vm, c->map->params[i], idx[i]);
  ts_expr **r = ts_arena_array(c->a, (size_t)c->map->n_results,
                               sizeof(ts_expr *));
  for (int i = 0; i < c->map->n_results; i++)
    r[i] = ts_expr_simplify_const(
        c->a, ts_expr_substitute(c->a, c->map->results[i], &vm));
  ts_ptrmap_free(&vm);
  return r;
}

static ts_expr *tl_expr_post(ts_mutator *m, ts_expr *e) {
  tl_ctx *c = m->ctx;
  if (e->kind != TS_E_LOAD || e->u.load.buffer != c->buf) return e;
  ts_expr *n = ts_expr_clone(c->a, e);
  n->u.load.indices = map_indices(c, e->u.load.indices, e->u.load.n);
  n->u.load.n = c->map->n_results;
  return n;
}

static ts_stmt *tl_stmt_post(ts_mutator *m, ts_stmt *s) {
  tl_ctx *c = m->ctx;
  if (s->kind == TS_S_STORE && s->u.store.buffer == c->buf) {
    s->u.store.indices = map_indices(c, s->u.store.indices, s->u.store.n);
    s->u.store.n = c->map->n_results;
  }
  return s;
}

/* Rewrites in place: statements are walked and patched (the schedule's IR is
 * a tree); expressions are rebuilt copy-on-write. */
static void rewrite_stmt(tl_ctx *c, ts_stmt *s) {
  if (!s) return;
  ts_mutator m = {0};
  m.arena = c->a;
  m.ctx = c;
  m.expr_post = tl_expr_post;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++) rewrite_stmt(c, s->u.seq.stmts[i]);
    break;
  case TS_S_FOR: rewrite_stmt(c, s->u.for_.body); break;
  case TS_S_BLOCK_REALIZE: {
    ts_block *b = s->u.realize.block;
    rewrite_stmt(c, b->init);
    rewrite_stmt(c, b->body);
    if (s->u.realize.predicate)
      s->u.realize.predicate = ts_mutate_expr(&m, s->u.realize.predicate);
    break;
  }
  case TS_S_STORE: {
    ts_expr **ni = ts_arena_array(c->a, (size_t)(s->u.store.n ? s->u.store.n : 1),
                                  sizeof(ts_expr *));
    for (int i = 0; i < s->u.store.n; i++)
      ni[i] = ts_mutate_expr(&m, s->u.store.indices[i]);
    s->u.store.indices = ni;
    s->u.store.value = ts_mutate_expr(&m, s->u.store.value);
    break;
  }
  case TS_S_IF:
    s->u.if_.cond = ts_mutate_expr(&m, s->u.if_.cond);
    rewrite_stmt(c, s->u.if_.then_s);
    rewrite_stmt(c, s->u.if_.else_s);
    break;
  case TS_S_LET:
    s->u.let.value = ts_mutate_expr(&m, s->u.let.value);
    rewrite_stmt(c, s->u.let.body);
    break;
  case TS_S_EVALUATE: s->u.eval.value = ts_mutate_expr(&m, s->u.eval.value); break;
  case TS_S_ALLOCATE: rewrite_stmt(c, s->u.alloc.body); break;
  case TS_S_ASSERT:
    s->u.assert_.cond = ts_mutate_expr(&m, s->u.assert_.cond);
    rewrite_stmt(c, s->u.assert_.body);
    break;
  }
  tl_stmt_post(&m, s);
}

typedef struct mb_ctx {
  const ts_buffer *buf;
  bool found;
} mb_ctx;
static bool mb_visit(const ts_stmt *s, void *vc) {
  mb_ctx *c = vc;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; i < b->n_match_buffers; i++)
      if (b->match_buffers[i].source.buffer == c->buf) c->found = true;
  }
  if (s->kind == TS_S_EVALUATE) {
    /* opaque uses (call_extern with the buffer's data) are not rewritten */
  }
  return true;
}

ts_status *ts_sch_transform_layout(ts_schedule *s, ts_rv block,
                                   int buffer_kind, int buffer_index,
                                   const ts_index_map *map) {
  static const char *P = "transform_layout";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (buffer_kind != 0 && buffer_kind != 1)
    return sch_error(P, "buffer kind must be \"read\" or \"write\"");
  int n = buffer_kind ? b->n_writes : b->n_reads;
  if (buffer_index < 0 || buffer_index >= n)
    return sch_error(P, "%s buffer index %d is out of range: block %s %s %d "
                        "buffer(s)",
                     buffer_kind ? "write" : "read", buffer_index, b->name,
                     buffer_kind ? "writes" : "reads", n);
  ts_buffer *buf = (buffer_kind ? b->writes : b->reads)[buffer_index].buffer;
  if (!map || map->n_params != buf->ndim)
    return sch_error(P, "the index map takes %d indices, but buffer %s has %d "
                        "dimensions",
                     map ? map->n_params : 0, buf->name, buf->ndim);
  if (map->n_results < 1 || map->n_results > TS_MAX_NDIM_SCH)
    return sch_error(P, "the index map must produce 1 to %d indices",
                     TS_MAX_NDIM_SCH);
  mb_ctx mc = {buf, false};
  ts_stmt_visit(f->body, mb_visit, NULL, &mc);
  if (mc.found)
    return sch_error(P, "buffer %s is accessed through a match_buffer",
                     buf->name);
  /* new shape */
  ts_arena *tmp = ts_arena_create();
  ts_ptrmap env = {0};
  int64_t oshape[TS_MAX_NDIM_SCH], vol = 1;
  ts_status *err = NULL;
  for (int d = 0; d < buf->ndim && !err; d++) {
    if (!ts_expr_is_const_int(buf->shape[d], &oshape[d]) || oshape[d] <= 0)
      err = sch_error(P, "buffer %s has a non-static shape", buf->name);
    else {
      sch_env_set(tmp, &env, map->params[d], 0, oshape[d] - 1);
      vol *= oshape[d];
    }
  }
  int64_t nshape[TS_MAX_NDIM_SCH];
  for (int r = 0; r < map->n_results && !err; r++) {
    int64_t lo, hi;
    if (!sch_bounds(map->results[r], &env, &lo, &hi))
      err = sch_error(P, "result %d of the index map cannot be bounded", r);
    else if (lo < 0)
      err = sch_error(P, "result %d of the index map can be negative", r);
    else nshape[r] = hi + 1;
  }
  /* injectivity by enumeration */
  if (!err && vol <= (1 << 22)) {
    int64_t nvol = 1;
    for (int r = 0; r < map->n_results; r++) nvol *= nshape[r];
    if (nvol <= (1 << 24)) {
      unsigned char *seen = calloc((size_t)nvol, 1);
      int64_t idx[TS_MAX_NDIM_SCH] = {0};
      for (int64_t it = 0; it < vol && !err; it++) {
        int64_t rem = it;
        for (int d = buf->ndim - 1; d >= 0; d--) {
          idx[d] = rem % oshape[d];
          rem /= oshape[d];
          sch_env_set(tmp, &env, map->params[d], idx[d], idx[d]);
        }
        int64_t flat = 0;
        for (int r = 0; r < map->n_results; r++) {
          int64_t lo, hi;
          sch_bounds(map->results[r], &env, &lo, &hi);
          flat = flat * nshape[r] + lo;
        }
        if (seen[flat]) err = sch_error(P, "the index map is not injective "
                                           "over the shape of buffer %s",
                                        buf->name);
        seen[flat] = 1;
      }
      free(seen);
    }
  }
  ts_ptrmap_free(&env);
  ts_arena_destroy(tmp);
  if (err) return err;

  /* ---- mutate ---- */
  ts_arena *a = s->mod->arena;
  char *text = map_text(map);
  tl_ctx c = {buf, map, a};
  rewrite_stmt(&c, f->body);
  ts_expr **shape = ts_arena_array(a, (size_t)map->n_results, sizeof(ts_expr *));
  ts_dtype it = buf->ndim ? buf->shape[0]->dtype : TS_I32;
  for (int r = 0; r < map->n_results; r++) shape[r] = ts_int(a, it, nshape[r]);
  buf->shape = shape;
  buf->ndim = map->n_results;
  buf->strides = NULL;
  /* regions of every block touching the buffer, now with the new rank */
  {
    /* re-infer regions (the post hook ran before the shape changed) */
    typedef TS_VEC(ts_stmt *) svec;
    svec work = {0};
    ts_vec_push(&work, f->body);
    while (work.len) {
      ts_stmt *st = work.data[--work.len];
      if (!st) continue;
      switch (st->kind) {
      case TS_S_SEQ:
        for (int i = 0; i < st->u.seq.n; i++) ts_vec_push(&work, st->u.seq.stmts[i]);
        break;
      case TS_S_FOR: ts_vec_push(&work, st->u.for_.body); break;
      case TS_S_BLOCK_REALIZE: {
        ts_block *bb = st->u.realize.block;
        bool hit = false;
        for (int i = 0; i < bb->n_reads; i++) hit |= bb->reads[i].buffer == buf;
        for (int i = 0; i < bb->n_writes; i++) hit |= bb->writes[i].buffer == buf;
        if (hit) ts_block_infer_regions(a, bb);
        ts_vec_push(&work, bb->init);
        ts_vec_push(&work, bb->body);
        break;
      }
      case TS_S_IF:
        ts_vec_push(&work, st->u.if_.then_s);
        ts_vec_push(&work, st->u.if_.else_s);
        break;
      case TS_S_LET: ts_vec_push(&work, st->u.let.body); break;
      case TS_S_ALLOCATE: ts_vec_push(&work, st->u.alloc.body); break;
      case TS_S_ASSERT: ts_vec_push(&work, st->u.assert_.body); break;
      default: break;
      }
    }
    ts_vec_free(&work);
  }
  sch_record(s, "sch.transform_layout(block=%s, buffer=(\"%s\", %d), "
                "index_map=%s)",
             ts_schedule_rv_name(s, block), buffer_kind ? "write" : "read",
             buffer_index, text);
  free(text);
  return NULL;
}

/* ======================================================================
 * transform_block_layout
 * ====================================================================== */

ts_status *ts_sch_transform_block_layout(ts_schedule *s, ts_rv block,
                                         const ts_index_map *map) {
  static const char *P = "transform_block_layout";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  int n = b->n_iter_vars;
  if (!map || map->n_params != n)
    return sch_error(P, "the index map takes %d indices, but block %s has %d "
                        "iteration variables",
                     map ? map->n_params : 0, b->name, n);
  if (n < 1 || n > 16 || map->n_results < 1 || map->n_results > 16)
    return sch_error(P, "unsupported number of iteration variables");
  ts_stmt **loops;
  int nl;
  sch_enclosing_loops(f, realize, &loops, &nl);
  ts_status *err = NULL;
  int64_t ext[16];
  /* the innermost n loops bind the iter vars one to one, perfectly nested */
  if (nl < n || realize->u.realize.predicate)
    err = sch_error(P, "block %s must sit under one loop per iteration "
                       "variable, without a predicate",
                    b->name);
  ts_stmt *top = NULL;
  for (int k = 0; k < n && !err; k++) {
    ts_expr *v = realize->u.realize.iter_values[k];
    int64_t mn, dm = 0;
    int li = -1;
    for (int i = nl - n; i < nl; i++)
      if (v->kind == TS_E_VAR && loops[i]->u.for_.var == v->u.var) li = i;
    if (li < 0 || !ts_expr_is_const_int(loops[li]->u.for_.min, &mn) || mn ||
        !ts_expr_is_const_int(loops[li]->u.for_.extent, &ext[k]) ||
        (b->iter_vars[k].dom.min &&
         (!ts_expr_is_const_int(b->iter_vars[k].dom.min, &dm) || dm)))
      err = sch_error(P, "iteration variable %s of block %s is not bound to "
                         "its own loop",
                      b->iter_vars[k].var->name, b->name);
  }
  for (int k = 0; k < n && !err; k++)
    for (int j = 0; j < k && !err; j++)
      if (realize->u.realize.iter_values[k]->u.var ==
          realize->u.realize.iter_values[j]->u.var)
        err = sch_error(P, "iteration variables of block %s share a loop",
                        b->name);
  if (!err) {
    top = loops[nl - n];
    for (int i = nl - n; i < nl - 1 && !err; i++)
      if (loops[i]->u.for_.body != loops[i + 1])
        err = sch_error(P, "the loops of block %s are not perfectly nested",
                        b->name);
    if (!err && loops[nl - 1]->u.for_.body != realize)
      err = sch_error(P, "the loops of block %s are not perfectly nested",
                      b->name);
  }
  /* analyse each result as a mixed-radix sum of parameters */
  int owner[16];
  int64_t stride[16];
  int64_t rext[16];
  int rtype[16];
  for (int k = 0; k < n; k++) owner[k] = -1;
  for (int r = 0; r < map->n_results && !err; r++) {
    sch_linear l;
    if (!sch_linearize(map->results[r], &l) || l.c0) {
      err = sch_error(P, "result %d of the index map is not a sum of "
                         "parameters times constants",
                      r);
      break;
    }
    int64_t E = 1;
    bool usedl[SCH_LINEAR_MAX] = {0};
    rtype[r] = -1;
    for (int step = 0; step < l.n && !err; step++) {
      int pick = -1;
      for (int i = 0; i < l.n; i++)
        if (!usedl[i] && l.coef[i] == E) pick = i;
      int p = -1;
      for (int k = 0; pick >= 0 && k < n; k++)
        if (map->params[k] == l.vars[pick]) p = k;
      if (pick < 0 || p < 0 || owner[p] >= 0) {
        err = sch_error(P, "result %d of the index map is not a dense fusion "
                           "of distinct parameters",
                        r);
        break;
      }
      usedl[pick] = true;
      owner[p] = r;
      stride[p] = E;
      int t = b->iter_vars[p].type;
      if (rtype[r] >= 0 && rtype[r] != t)
        err = sch_error(P, "result %d of the index map mixes spatial and "
                           "reduction variables",
                        r);
      rtype[r] = t;
      E *= ext[p];
    }
    rext[r] = E;
    if (!err && l.n == 0)
      err = sch_error(P, "result %d of the index map is constant", r);
  }
  for (int k = 0; k < n && !err; k++)
    if (owner[k] < 0)
      err = sch_error(P, "parameter %s of the index map is unused",
                      map->params[k]->name);
  if (err) {
    free(loops);
    return err;
  }
  /* ---- build ---- */
  ts_arena *a = s->mod->arena;
  ts_var *nlv[16];
  ts_iter_var *niv = ts_arena_array(a, (size_t)map->n_results, sizeof *niv);
  ts_expr **nvals = ts_arena_array(a, (size_t)map->n_results, sizeof(ts_expr *));
  ts_ptrmap sub = {0};
  ts_dtype t = b->iter_vars[0].var->dtype;
  for (int r = 0; r < map->n_results; r++) {
    nlv[r] = ts_var_new(a, ts_arena_printf(a, "ax%d", r), t, b->loc);
    niv[r].var = ts_var_new(a, ts_arena_printf(a, "v%d", r), t, b->loc);
    niv[r].type = (ts_iter_type)rtype[r];
    niv[r].dom.min = ts_int(a, t, 0);
    niv[r].dom.extent = ts_int(a, t, rext[r]);
    nvals[r] = ts_varref(a, nlv[r]);
  }
  for (int k = 0; k < n; k++) {
    int r = owner[k];
    ts_expr *e = ts_varref(a, niv[r].var);
    if (stride[k] > 1) e = ts_binary(a, TS_E_FLOORDIV, e, ts_int(a, t, stride[k]));
    if (stride[k] * ext[k] < rext[r])
      e = ts_binary(a, TS_E_FLOORMOD, e, ts_int(a, t, ext[k]));
    ts_ptrmap_put(&sub, b->iter_vars[k].var, e);
  }
  char *text = map_text(map);
  b->body = ts_stmt_substitute(a, b->body, &sub);
  if (b->init) b->init = ts_stmt_substitute(a, b->init, &sub);
  b->iter_vars = niv;
  b->n_iter_vars = map->n_results;
  ts_block_infer_regions(a, b);
  realize->u.realize.iter_values = nvals;
  ts_stmt *cur = realize;
  for (int r = map->n_results - 1; r >= 0; r--) {
    ts_stmt *fl = ts_stmt_new(a, TS_S_FOR, top->loc);
    fl->u.for_.var = nlv[r];
    fl->u.for_.min = ts_int(a, t, 0);
    fl->u.for_.extent = ts_int(a, t, rext[r]);
    fl->u.for_.kind = TS_FOR_SERIAL;
    fl->u.for_.body = cur;
    cur = fl;
  }
  sch_replace(f, top, cur);
  for (int i = nl - n; i < nl; i++) sch_invalidate_node(s, loops[i]);
  free(loops);
  ts_ptrmap_free(&sub);
  sch_record(s, "sch.transform_block_layout(block=%s, index_map=%s)",
             ts_schedule_rv_name(s, block), text);
  free(text);
  return NULL;
}
