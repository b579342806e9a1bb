/* ir_util.c: visitors, the copy-on-write mutator, substitution and constant
 * folding declared in ir_util.h.  (The pointer map and deep copies live in
 * module.c.) */
#include <stdio.h>
#include <string.h>

#include "ir/ir_util.h"

/* ---- visitors
 * ----------------------------------------------------------------
 */

void ts_expr_visit(const ts_expr *e, ts_expr_visit_fn fe, void *ctx) {
  if (!e)
    return;
  if (fe && !fe(e, ctx))
    return;
  switch (e->kind) {
  case TS_E_INT:
  case TS_E_FLOAT:
  case TS_E_STR:
  case TS_E_VAR:
    break;
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    ts_expr_visit(e->u.unary.a, fe, ctx);
    break;
  case TS_E_SELECT:
    ts_expr_visit(e->u.select.cond, fe, ctx);
    ts_expr_visit(e->u.select.t, fe, ctx);
    ts_expr_visit(e->u.select.f, fe, ctx);
    break;
  case TS_E_LOAD:
    for (int i = 0; i < e->u.load.n; i++)
      ts_expr_visit(e->u.load.indices[i], fe, ctx);
    break;
  case TS_E_CALL:
    for (int i = 0; i < e->u.call.n; i++)
      ts_expr_visit(e->u.call.args[i], fe, ctx);
    break;
  case TS_E_LET:
    ts_expr_visit(e->u.let.value, fe, ctx);
    ts_expr_visit(e->u.let.body, fe, ctx);
    break;
  case TS_E_RAMP:
    ts_expr_visit(e->u.ramp.base, fe, ctx);
    ts_expr_visit(e->u.ramp.stride, fe, ctx);
    break;
  default:
    ts_expr_visit(e->u.bin.a, fe, ctx);
    ts_expr_visit(e->u.bin.b, fe, ctx);
    break;
  }
}

static void visit_region(const ts_region *r, ts_expr_visit_fn fe, void *ctx) {
  for (int i = 0; r->ranges && i < r->n; i++) {
    ts_expr_visit(r->ranges[i].min, fe, ctx);
    ts_expr_visit(r->ranges[i].extent, fe, ctx);
  }
}

typedef struct var_use {
  const ts_var *v;
  bool found;
} var_use;

static bool var_use_visit(const ts_expr *e, void *ctx) {
  var_use *u = ctx;
  if (e->kind == TS_E_VAR && e->u.var == u->v)
    u->found = true;
  return !u->found;
}

bool ts_expr_uses_var(const ts_expr *e, const ts_var *v) {
  var_use u = {v, false};
  ts_expr_visit(e, var_use_visit, &u);
  return u.found;
}

void ts_stmt_visit(const ts_stmt *s, ts_stmt_visit_fn fs, ts_expr_visit_fn fe,
                   void *ctx) {
  if (!s)
    return;
  if (fs && !fs(s, ctx))
    return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      ts_stmt_visit(s->u.seq.stmts[i], fs, fe, ctx);
    break;
  case TS_S_FOR:
    ts_expr_visit(s->u.for_.min, fe, ctx);
    ts_expr_visit(s->u.for_.extent, fe, ctx);
    ts_stmt_visit(s->u.for_.body, fs, fe, ctx);
    break;
  case TS_S_BLOCK_REALIZE: {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; s->u.realize.iter_values && i < b->n_iter_vars; i++)
      ts_expr_visit(s->u.realize.iter_values[i], fe, ctx);
    ts_expr_visit(s->u.realize.predicate, fe, ctx);
    for (int i = 0; i < b->n_iter_vars; i++) {
      ts_expr_visit(b->iter_vars[i].dom.min, fe, ctx);
      ts_expr_visit(b->iter_vars[i].dom.extent, fe, ctx);
    }
    for (int i = 0; i < b->n_reads; i++)
      visit_region(&b->reads[i], fe, ctx);
    for (int i = 0; i < b->n_writes; i++)
      visit_region(&b->writes[i], fe, ctx);
    for (int i = 0; i < b->n_match_buffers; i++)
      visit_region(&b->match_buffers[i].source, fe, ctx);
    ts_stmt_visit(b->init, fs, fe, ctx);
    ts_stmt_visit(b->body, fs, fe, ctx);
    break;
  }
  case TS_S_STORE:
    for (int i = 0; i < s->u.store.n; i++)
      ts_expr_visit(s->u.store.indices[i], fe, ctx);
    ts_expr_visit(s->u.store.value, fe, ctx);
    break;
  case TS_S_IF:
    ts_expr_visit(s->u.if_.cond, fe, ctx);
    ts_stmt_visit(s->u.if_.then_s, fs, fe, ctx);
    ts_stmt_visit(s->u.if_.else_s, fs, fe, ctx);
    break;
  case TS_S_LET:
    ts_expr_visit(s->u.let.value, fe, ctx);
    ts_stmt_visit(s->u.let.body, fs, fe, ctx);
    break;
  case TS_S_EVALUATE:
    ts_expr_visit(s->u.eval.value, fe, ctx);
    break;
  case TS_S_ALLOCATE:
    ts_stmt_visit(s->u.alloc.body, fs, fe, ctx);
    break;
  case TS_S_ASSERT:
    ts_expr_visit(s->u.assert_.cond, fe, ctx);
    ts_stmt_visit(s->u.assert_.body, fs, fe, ctx);
    break;
  }
}

/* ---- mutator
 * -------------------------------------------------------------------
 */

static ts_buffer *mut_buffer(ts_mutator *m, ts_buffer *b) {
  if (!b || !m->buffer)
    return b;
  ts_buffer *r = m->buffer(m, b);
  return r ? r : b;
}

/* Rewrites an array of n expressions; returns the input array when nothing
 * changed, else a new arena array. */
static ts_expr **mut_exprs(ts_mutator *m, ts_expr **es, int n) {
  if (!es)
    return NULL;
  ts_expr **out = NULL;
  for (int i = 0; i < n; i++) {
    ts_expr *r = ts_mutate_expr(m, es[i]);
    if (r != es[i] && !out) {
      out = ts_arena_array(m->arena, (size_t)n, sizeof(ts_expr *));
      memcpy(out, es, (size_t)n * sizeof(ts_expr *));
    }
    if (out)
      out[i] = r;
  }
  return out ? out : es;
}

ts_expr *ts_mutate_expr(ts_mutator *m, ts_expr *e) {
  if (!e)
    return NULL;
  if (m->expr_pre) {
    ts_expr *r = m->expr_pre(m, e);
    if (r)
      return r;
  }
  ts_expr *r = e;
  switch (e->kind) {
  case TS_E_INT:
  case TS_E_FLOAT:
  case TS_E_STR:
  case TS_E_VAR:
    break;
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST: {
    ts_expr *a = ts_mutate_expr(m, e->u.unary.a);
    if (a != e->u.unary.a) {
      r = ts_expr_clone(m->arena, e);
      r->u.unary.a = a;
    }
    break;
  }
  case TS_E_SELECT: {
    ts_expr *c = ts_mutate_expr(m, e->u.select.cond);
    ts_expr *t = ts_mutate_expr(m, e->u.select.t);
    ts_expr *f = ts_mutate_expr(m, e->u.select.f);
    if (c != e->u.select.cond || t != e->u.select.t || f != e->u.select.f) {
      r = ts_expr_clone(m->arena, e);
      r->u.select.cond = c;
      r->u.select.t = t;
      r->u.select.f = f;
    }
    break;
  }
  case TS_E_LOAD: {
    ts_buffer *b = mut_buffer(m, e->u.load.buffer);
    ts_expr **idx = mut_exprs(m, e->u.load.indices, e->u.load.n);
    if (b != e->u.load.buffer || idx != e->u.load.indices) {
      r = ts_expr_clone(m->arena, e);
      r->u.load.buffer = b;
      r->u.load.indices = idx;
    }
    break;
  }
  case TS_E_CALL: {
    ts_expr **args = mut_exprs(m, e->u.call.args, e->u.call.n);
    if (args != e->u.call.args) {
      r = ts_expr_clone(m->arena, e);
      r->u.call.args = args;
    }
    break;
  }
  case TS_E_LET: {
    ts_expr *v = ts_mutate_expr(m, e->u.let.value);
    ts_expr *b = ts_mutate_expr(m, e->u.let.body);
    if (v != e->u.let.value || b != e->u.let.body) {
      r = ts_expr_clone(m->arena, e);
      r->u.let.value = v;
      r->u.let.body = b;
    }
    break;
  }
  case TS_E_RAMP: {
    ts_expr *b = ts_mutate_expr(m, e->u.ramp.base);
    ts_expr *s = ts_mutate_expr(m, e->u.ramp.stride);
    if (b != e->u.ramp.base || s != e->u.ramp.stride) {
      r = ts_expr_clone(m->arena, e);
      r->u.ramp.base = b;
      r->u.ramp.stride = s;
    }
    break;
  }
  default: {
    ts_expr *a = ts_mutate_expr(m, e->u.bin.a);
    ts_expr *b = ts_mutate_expr(m, e->u.bin.b);
    if (a != e->u.bin.a || b != e->u.bin.b) {
      r = ts_expr_clone(m->arena, e);
      r->u.bin.a = a;
      r->u.bin.b = b;
    }
    break;
  }
  }
  return m->expr_post ? m->expr_post(m, r) : r;
}

static bool mut_region(ts_mutator *m, const ts_region *in, ts_region *out) {
  *out = *in;
  out->buffer = mut_buffer(m, in->buffer);
  bool changed = out->buffer != in->buffer;
  ts_range *rs = NULL;
  for (int i = 0; in->ranges && i < in->n; i++) {
    ts_expr *mn = ts_mutate_expr(m, in->ranges[i].min);
    ts_expr *ex = ts_mutate_expr(m, in->ranges[i].extent);
    if ((mn != in->ranges[i].min || ex != in->ranges[i].extent) && !rs) {
      rs = ts_arena_array(m->arena, (size_t)in->n, sizeof(ts_range));
      memcpy(rs, in->ranges, (size_t)in->n * sizeof(ts_range));
    }
    if (rs) {
      rs[i].min = mn;
      rs[i].extent = ex;
    }
  }
  if (rs) {
    out->ranges = rs;
    changed = true;
  }
  return changed;
}

static ts_region *mut_regions(ts_mutator *m, ts_region *rs, int n) {
  ts_region *out = NULL;
  for (int i = 0; i < n; i++) {
    ts_region r;
    if (mut_region(m, &rs[i], &r) && !out) {
      out = ts_arena_array(m->arena, (size_t)n, sizeof(ts_region));
      memcpy(out, rs, (size_t)n * sizeof(ts_region));
    }
    if (out)
      out[i] = r;
  }
  return out ? out : rs;
}

ts_block *ts_mutate_block(ts_mutator *m, ts_block *b) {
  bool changed = false;
  ts_iter_var *ivs = NULL;
  for (int i = 0; i < b->n_iter_vars; i++) {
    ts_expr *mn = ts_mutate_expr(m, b->iter_vars[i].dom.min);
    ts_expr *ex = ts_mutate_expr(m, b->iter_vars[i].dom.extent);
    if ((mn != b->iter_vars[i].dom.min || ex != b->iter_vars[i].dom.extent) &&
        !ivs) {
      ivs =
          ts_arena_array(m->arena, (size_t)b->n_iter_vars, sizeof(ts_iter_var));
      memcpy(ivs, b->iter_vars, (size_t)b->n_iter_vars * sizeof(ts_iter_var));
    }
    if (ivs) {
      ivs[i].dom.min = mn;
      ivs[i].dom.extent = ex;
    }
  }
  ts_region *reads = mut_regions(m, b->reads, b->n_reads);
  ts_region *writes = mut_regions(m, b->writes, b->n_writes);
  ts_buffer **allocs = NULL;
  for (int i = 0; i < b->n_alloc_buffers; i++) {
    ts_buffer *nb = mut_buffer(m, b->alloc_buffers[i]);
    if (nb != b->alloc_buffers[i] && !allocs) {
      allocs = ts_arena_array(m->arena, (size_t)b->n_alloc_buffers,
                              sizeof(ts_buffer *));
      memcpy(allocs, b->alloc_buffers,
             (size_t)b->n_alloc_buffers * sizeof(ts_buffer *));
    }
    if (allocs)
      allocs[i] = nb;
  }
  ts_match_buffer *mbs = NULL;
  for (int i = 0; i < b->n_match_buffers; i++) {
    ts_match_buffer mb = b->match_buffers[i];
    bool ch = mut_region(m, &b->match_buffers[i].source, &mb.source);
    mb.buffer = mut_buffer(m, mb.buffer);
    ch = ch || mb.buffer != b->match_buffers[i].buffer;
    if (ch && !mbs) {
      mbs = ts_arena_array(m->arena, (size_t)b->n_match_buffers,
                           sizeof(ts_match_buffer));
      memcpy(mbs, b->match_buffers,
             (size_t)b->n_match_buffers * sizeof(ts_match_buffer));
    }
    if (mbs)
      mbs[i] = mb;
  }
  ts_stmt *init = ts_mutate_stmt(m, b->init);
  ts_stmt *body = ts_mutate_stmt(m, b->body);
  changed = ivs || reads != b->reads || writes != b->writes || allocs || mbs ||
            init != b->init || body != b->body;
  if (!changed)
    return b;
  ts_block *r = ts_arena_memdup(m->arena, b, sizeof(*b));
  if (ivs)
    r->iter_vars = ivs;
  r->reads = reads;
  r->writes = writes;
  if (allocs)
    r->alloc_buffers = allocs;
  if (mbs)
    r->match_buffers = mbs;
  r->init = init;
  r->body = body;
  return r;
}

static ts_stmt *clone_stmt(ts_mutator *m, ts_stmt *s) {
  return ts_arena_memdup(m->arena, s, sizeof(*s));
}

ts_stmt *ts_mutate_stmt(ts_mutator *m, ts_stmt *s) {
  if (!s)
    return NULL;
  if (m->stmt_pre) {
    ts_stmt *r = m->stmt_pre(m, s);
    if (r)
      return r;
  }
  ts_stmt *r = s;
  switch (s->kind) {
  case TS_S_SEQ: {
    ts_stmt **out = NULL;
    int n = s->u.seq.n;
    for (int i = 0; i < n; i++) {
      ts_stmt *c = ts_mutate_stmt(m, s->u.seq.stmts[i]);
      if (c != s->u.seq.stmts[i] && !out) {
        out = ts_arena_array(m->arena, (size_t)n, sizeof(ts_stmt *));
        memcpy(out, s->u.seq.stmts, (size_t)n * sizeof(ts_stmt *));
      }
      if (out)
        out[i] = c;
    }
    if (out) {
      r = clone_stmt(m, s);
      r->u.seq.stmts = out;
    }
    break;
  }
  case TS_S_FOR: {
    ts_expr *mn = ts_mutate_expr(m, s->u.for_.min);
    ts_expr *ex = ts_mutate_expr(m, s->u.for_.extent);
    ts_stmt *b = ts_mutate_stmt(m, s->u.for_.body);
    if (mn != s->u.for_.min || ex != s->u.for_.extent || b != s->u.for_.body) {
      r = clone_stmt(m, s);
      r->u.for_.min = mn;
      r->u.for_.extent = ex;
      r->u.for_.body = b;
    }
    break;
  }
  case TS_S_BLOCK_REALIZE: {
    ts_block *blk = s->u.realize.block;
    ts_expr **vals = mut_exprs(m, s->u.realize.iter_values, blk->n_iter_vars);
    ts_expr *pred = ts_mutate_expr(m, s->u.realize.predicate);
    ts_block *nb = ts_mutate_block(m, blk);
    if (vals != s->u.realize.iter_values || pred != s->u.realize.predicate ||
        nb != blk) {
      r = clone_stmt(m, s);
      r->u.realize.iter_values = vals;
      r->u.realize.predicate = pred;
      r->u.realize.block = nb;
    }
    break;
  }
  case TS_S_STORE: {
    ts_buffer *b = mut_buffer(m, s->u.store.buffer);
    ts_expr **idx = mut_exprs(m, s->u.store.indices, s->u.store.n);
    ts_expr *v = ts_mutate_expr(m, s->u.store.value);
    if (b != s->u.store.buffer || idx != s->u.store.indices ||
        v != s->u.store.value) {
      r = clone_stmt(m, s);
      r->u.store.buffer = b;
      r->u.store.indices = idx;
      r->u.store.value = v;
    }
    break;
  }
  case TS_S_IF: {
    ts_expr *c = ts_mutate_expr(m, s->u.if_.cond);
    ts_stmt *t = ts_mutate_stmt(m, s->u.if_.then_s);
    ts_stmt *e = ts_mutate_stmt(m, s->u.if_.else_s);
    if (c != s->u.if_.cond || t != s->u.if_.then_s || e != s->u.if_.else_s) {
      r = clone_stmt(m, s);
      r->u.if_.cond = c;
      r->u.if_.then_s = t;
      r->u.if_.else_s = e;
    }
    break;
  }
  case TS_S_LET: {
    ts_expr *v = ts_mutate_expr(m, s->u.let.value);
    ts_stmt *b = ts_mutate_stmt(m, s->u.let.body);
    if (v != s->u.let.value || b != s->u.let.body) {
      r = clone_stmt(m, s);
      r->u.let.value = v;
      r->u.let.body = b;
    }
    break;
  }
  case TS_S_EVALUATE: {
    ts_expr *v = ts_mutate_expr(m, s->u.eval.value);
    if (v != s->u.eval.value) {
      r = clone_stmt(m, s);
      r->u.eval.value = v;
    }
    break;
  }
  case TS_S_ALLOCATE: {
    ts_buffer *b = mut_buffer(m, s->u.alloc.buffer);
    ts_stmt *body = ts_mutate_stmt(m, s->u.alloc.body);
    if (b != s->u.alloc.buffer || body != s->u.alloc.body) {
      r = clone_stmt(m, s);
      r->u.alloc.buffer = b;
      r->u.alloc.body = body;
    }
    break;
  }
  case TS_S_ASSERT: {
    ts_expr *c = ts_mutate_expr(m, s->u.assert_.cond);
    ts_stmt *b = ts_mutate_stmt(m, s->u.assert_.body);
    if (c != s->u.assert_.cond || b != s->u.assert_.body) {
      r = clone_stmt(m, s);
      r->u.assert_.cond = c;
      r->u.assert_.body = b;
    }
    break;
  }
  }
  return m->stmt_post ? m->stmt_post(m, r) : r;
}

/* ---- substitution
 * ----------------------------------------------------------------
 */

/* Substitution preserves types: an integer value of another width than the
 * variable it replaces is converted (an immediate is re-made in the
 * variable's dtype, anything else cast), so that the expressions around it
 * stay well-typed -- e.g. int32 loop indices put into an index map written
 * over int64 parameters. */
static ts_expr *subst_pre(ts_mutator *m, ts_expr *e) {
  if (e->kind != TS_E_VAR)
    return NULL;
  ts_expr *r = ts_ptrmap_get((const ts_ptrmap *)m->ctx, e->u.var);
  if (!r || ts_dtype_eq(r->dtype, e->dtype) || !ts_dtype_is_int(r->dtype) ||
      !ts_dtype_is_int(e->dtype))
    return r;
  if (r->kind == TS_E_INT)
    return ts_int(m->arena, e->dtype, r->u.int_value);
  return ts_cast(m->arena, e->dtype, r);
}

/* Folds the nodes rebuilt because a child changed. */
static ts_expr *subst_post(ts_mutator *m, ts_expr *e) {
  return ts_expr_simplify_const(m->arena, e);
}

static ts_buffer *replace_buffer(ts_mutator *m, ts_buffer *b) {
  return ts_ptrmap_get((const ts_ptrmap *)m->ctx, b);
}

ts_expr *ts_expr_substitute(ts_arena *a, ts_expr *e, const ts_ptrmap *vmap) {
  if (!vmap || !vmap->len)
    return e;
  ts_mutator m = {.arena = a, .expr_pre = subst_pre, .ctx = (void *)vmap};
  ts_expr *r = ts_mutate_expr(&m, e);
  if (r == e)
    return e;
  m.expr_pre = NULL;
  m.expr_post = subst_post;
  return ts_mutate_expr(&m, r);
}

static ts_expr *subst_fold_pre(ts_mutator *m, ts_expr *e) {
  ts_expr *r = ts_expr_substitute(m->arena, e, m->ctx);
  return r;
}

ts_stmt *ts_stmt_substitute(ts_arena *a, ts_stmt *s, const ts_ptrmap *vmap) {
  if (!vmap || !vmap->len)
    return s;
  /* Each top-level expression is substituted (and folded) as a whole. */
  ts_mutator m = {.arena = a, .expr_pre = subst_fold_pre, .ctx = (void *)vmap};
  return ts_mutate_stmt(&m, s);
}

ts_stmt *ts_stmt_replace_buffers(ts_arena *a, ts_stmt *s,
                                 const ts_ptrmap *bmap) {
  if (!bmap || !bmap->len)
    return s;
  ts_mutator m = {.arena = a, .buffer = replace_buffer, .ctx = (void *)bmap};
  return ts_mutate_stmt(&m, s);
}

/* ---- simplification
 * ----------------------------------------------------------------
 */

bool ts_expr_is_const_int(const ts_expr *e, int64_t *out) {
  if (!e || e->kind != TS_E_INT || !ts_dtype_is_int(e->dtype))
    return false;
  if (out)
    *out = e->u.int_value;
  return true;
}

static int64_t floordiv64(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static int64_t floormod64(int64_t a, int64_t b) {
  return a - floordiv64(a, b) * b;
}

ts_expr *ts_expr_simplify_const(ts_arena *a, ts_expr *e) {
  if (!e || !ts_expr_kind_is_binary(e->kind) || !ts_dtype_is_int(e->dtype))
    return e;
  ts_expr *x = ts_expr_simplify_const(a, e->u.bin.a);
  ts_expr *y = ts_expr_simplify_const(a, e->u.bin.b);
  int64_t cx = 0, cy = 0;
  bool kx = ts_expr_is_const_int(x, &cx), ky = ts_expr_is_const_int(y, &cy);
  if (kx && ky) {
    /* Wrap-around arithmetic in uint64_t avoids signed-overflow UB. */
    uint64_t ux = (uint64_t)cx, uy = (uint64_t)cy;
    switch (e->kind) {
    case TS_E_ADD:
      return ts_int(a, e->dtype, (int64_t)(ux + uy));
    case TS_E_SUB:
      return ts_int(a, e->dtype, (int64_t)(ux - uy));
    case TS_E_MUL:
      return ts_int(a, e->dtype, (int64_t)(ux * uy));
    case TS_E_MIN:
      return ts_int(a, e->dtype, cx < cy ? cx : cy);
    case TS_E_MAX:
      return ts_int(a, e->dtype, cx > cy ? cx : cy);
    case TS_E_FLOORDIV:
      if (cy != 0 && !(cx == INT64_MIN && cy == -1))
        return ts_int(a, e->dtype, floordiv64(cx, cy));
      break;
    case TS_E_FLOORMOD:
      if (cy != 0 && cy != -1)
        return ts_int(a, e->dtype, floormod64(cx, cy));
      break;
    case TS_E_DIV:
      if (cy != 0 && !(cx == INT64_MIN && cy == -1))
        return ts_int(a, e->dtype, cx / cy);
      break;
    case TS_E_MOD:
      if (cy != 0 && cy != -1)
        return ts_int(a, e->dtype, cx % cy);
      break;
    default:
      break;
    }
  }
  switch (e->kind) {
  case TS_E_ADD:
    if (ky && cy == 0)
      return x;
    if (kx && cx == 0)
      return y;
    break;
  case TS_E_SUB:
    if (ky && cy == 0)
      return x;
    if (ts_expr_same(x, y))
      return ts_int(a, e->dtype, 0);
    /* (p + q) - p -> q and (p + q) - q -> p: region ends minus starts */
    if (ts_dtype_is_int(e->dtype) && x->kind == TS_E_ADD) {
      if (ts_expr_same(x->u.bin.a, y))
        return x->u.bin.b;
      if (ts_expr_same(x->u.bin.b, y))
        return x->u.bin.a;
    }
    break;
  case TS_E_MUL:
    if ((ky && cy == 0) || (kx && cx == 0))
      return ts_int(a, e->dtype, 0);
    if (ky && cy == 1)
      return x;
    if (kx && cx == 1)
      return y;
    break;
  case TS_E_FLOORDIV:
  case TS_E_DIV:
    if (ky && cy == 1)
      return x;
    break;
  case TS_E_FLOORMOD:
  case TS_E_MOD:
    if (ky && cy == 1)
      return ts_int(a, e->dtype, 0);
    break;
  default:
    break;
  }
  if (x == e->u.bin.a && y == e->u.bin.b)
    return e;
  ts_expr *r = ts_expr_clone(a, e);
  r->u.bin.a = x;
  r->u.bin.b = y;
  return r;
}

bool ts_expr_same(const ts_expr *a, const ts_expr *b) {
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind || !ts_dtype_eq(a->dtype, b->dtype))
    return false;
  switch (a->kind) {
  case TS_E_INT:
    return a->u.int_value == b->u.int_value;
  case TS_E_FLOAT:
    return memcmp(&a->u.float_value, &b->u.float_value, sizeof(double)) == 0;
  case TS_E_STR:
    return strcmp(a->u.str, b->u.str) == 0;
  case TS_E_VAR:
    return a->u.var == b->u.var;
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return ts_expr_same(a->u.unary.a, b->u.unary.a);
  case TS_E_SELECT:
    return ts_expr_same(a->u.select.cond, b->u.select.cond) &&
           ts_expr_same(a->u.select.t, b->u.select.t) &&
           ts_expr_same(a->u.select.f, b->u.select.f);
  case TS_E_LOAD:
    if (a->u.load.buffer != b->u.load.buffer || a->u.load.n != b->u.load.n)
      return false;
    for (int i = 0; i < a->u.load.n; i++)
      if (!ts_expr_same(a->u.load.indices[i], b->u.load.indices[i]))
        return false;
    return true;
  case TS_E_CALL:
    if (a->u.call.op != b->u.call.op || a->u.call.n != b->u.call.n)
      return false;
    for (int i = 0; i < a->u.call.n; i++)
      if (!ts_expr_same(a->u.call.args[i], b->u.call.args[i]))
        return false;
    return true;
  case TS_E_LET:
    return a->u.let.var == b->u.let.var &&
           ts_expr_same(a->u.let.value, b->u.let.value) &&
           ts_expr_same(a->u.let.body, b->u.let.body);
  case TS_E_RAMP:
    return ts_expr_same(a->u.ramp.base, b->u.ramp.base) &&
           ts_expr_same(a->u.ramp.stride, b->u.ramp.stride);
  default:
    return ts_expr_same(a->u.bin.a, b->u.bin.a) &&
           ts_expr_same(a->u.bin.b, b->u.bin.b);
  }
}

/* ---- printing for messages
 * -----------------------------------------------------
 */

const char *ts_expr_kind_symbol(ts_expr_kind k) {
  switch (k) {
  case TS_E_INT:
    return "int";
  case TS_E_FLOAT:
    return "float";
  case TS_E_STR:
    return "string";
  case TS_E_VAR:
    return "var";
  case TS_E_ADD:
    return "+";
  case TS_E_SUB:
    return "-";
  case TS_E_MUL:
    return "*";
  case TS_E_DIV:
    return "/";
  case TS_E_MOD:
    return "truncmod";
  case TS_E_FLOORDIV:
    return "//";
  case TS_E_FLOORMOD:
    return "%";
  case TS_E_MIN:
    return "min";
  case TS_E_MAX:
    return "max";
  case TS_E_EQ:
    return "==";
  case TS_E_NE:
    return "!=";
  case TS_E_LT:
    return "<";
  case TS_E_LE:
    return "<=";
  case TS_E_GT:
    return ">";
  case TS_E_GE:
    return ">=";
  case TS_E_AND:
    return "and";
  case TS_E_OR:
    return "or";
  case TS_E_NOT:
    return "not";
  case TS_E_SELECT:
    return "Select";
  case TS_E_CAST:
    return "Cast";
  case TS_E_LOAD:
    return "load";
  case TS_E_CALL:
    return "call";
  case TS_E_LET:
    return "Let";
  case TS_E_RAMP:
    return "Ramp";
  case TS_E_BROADCAST:
    return "Broadcast";
  }
  return "?";
}

static void print_float(ts_strbuf *sb, double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", v);
  ts_strbuf_append(sb, buf);
  if (!strpbrk(buf, ".eni"))
    ts_strbuf_append(sb, ".0");
}

static void print_operand(ts_strbuf *sb, const ts_expr *e) {
  bool paren = e && ts_expr_kind_is_binary(e->kind) && e->kind != TS_E_MIN &&
               e->kind != TS_E_MAX && e->kind != TS_E_MOD;
  if (paren)
    ts_strbuf_append(sb, "(");
  ts_expr_print(sb, e);
  if (paren)
    ts_strbuf_append(sb, ")");
}

static void print_args(ts_strbuf *sb, ts_expr *const *es, int n) {
  for (int i = 0; i < n; i++) {
    if (i)
      ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, es[i]);
  }
}

void ts_expr_print(ts_strbuf *sb, const ts_expr *e) {
  char db[32];
  if (!e) {
    ts_strbuf_append(sb, "None");
    return;
  }
  switch (e->kind) {
  case TS_E_INT:
    if (ts_dtype_is_bool(e->dtype))
      ts_strbuf_append(sb, e->u.int_value ? "True" : "False");
    else
      ts_strbuf_printf(sb, "%lld", (long long)e->u.int_value);
    break;
  case TS_E_FLOAT:
    print_float(sb, e->u.float_value);
    break;
  case TS_E_STR:
    ts_strbuf_printf(sb, "\"%s\"", e->u.str);
    break;
  case TS_E_VAR:
    ts_strbuf_append(sb, e->u.var->name);
    break;
  case TS_E_MIN:
  case TS_E_MAX:
  case TS_E_MOD:
    ts_strbuf_printf(sb, "T.%s(",
                     e->kind == TS_E_MOD ? "truncmod"
                                         : ts_expr_kind_symbol(e->kind));
    ts_expr_print(sb, e->u.bin.a);
    ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, e->u.bin.b);
    ts_strbuf_append(sb, ")");
    break;
  case TS_E_NOT:
    ts_strbuf_append(sb, "not ");
    print_operand(sb, e->u.unary.a);
    break;
  case TS_E_SELECT:
    ts_strbuf_append(sb, "T.Select(");
    ts_expr_print(sb, e->u.select.cond);
    ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, e->u.select.t);
    ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, e->u.select.f);
    ts_strbuf_append(sb, ")");
    break;
  case TS_E_CAST:
    ts_strbuf_printf(sb, "T.Cast(\"%s\", ", ts_dtype_str(e->dtype, db));
    ts_expr_print(sb, e->u.unary.a);
    ts_strbuf_append(sb, ")");
    break;
  case TS_E_LOAD:
    ts_strbuf_printf(sb, "%s[", e->u.load.buffer->name);
    print_args(sb, e->u.load.indices, e->u.load.n);
    ts_strbuf_append(sb, "]");
    break;
  case TS_E_CALL:
    ts_strbuf_printf(sb, "T.%s(", ts_intrin_name(e->u.call.op));
    print_args(sb, e->u.call.args, e->u.call.n);
    ts_strbuf_append(sb, ")");
    break;
  case TS_E_LET:
    ts_strbuf_printf(sb, "T.Let(%s, ", e->u.let.var->name);
    ts_expr_print(sb, e->u.let.value);
    ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, e->u.let.body);
    ts_strbuf_append(sb, ")");
    break;
  case TS_E_RAMP:
    ts_strbuf_append(sb, "T.Ramp(");
    ts_expr_print(sb, e->u.ramp.base);
    ts_strbuf_append(sb, ", ");
    ts_expr_print(sb, e->u.ramp.stride);
    ts_strbuf_printf(sb, ", %d)", e->dtype.lanes);
    break;
  case TS_E_BROADCAST:
    ts_strbuf_append(sb, "T.Broadcast(");
    ts_expr_print(sb, e->u.unary.a);
    ts_strbuf_printf(sb, ", %d)", e->dtype.lanes);
    break;
  default:
    print_operand(sb, e->u.bin.a);
    ts_strbuf_printf(sb, " %s ", ts_expr_kind_symbol(e->kind));
    print_operand(sb, e->u.bin.b);
    break;
  }
}

void ts_sinfo_print(ts_strbuf *sb, const ts_sinfo *s) {
  char db[32];
  if (!s) {
    ts_strbuf_append(sb, "R.Object");
    return;
  }
  switch (s->kind) {
  case TS_SI_OBJECT:
    ts_strbuf_append(sb, "R.Object");
    break;
  case TS_SI_FUNC:
    ts_strbuf_append(sb, "R.Callable");
    break;
  case TS_SI_PRIM:
    ts_strbuf_printf(sb, "R.Prim(\"%s\")", ts_dtype_str(s->u.prim.dtype, db));
    break;
  case TS_SI_SHAPE:
    if (s->u.shape.values) {
      ts_strbuf_append(sb, "R.Shape([");
      print_args(sb, s->u.shape.values, s->u.shape.ndim);
      ts_strbuf_append(sb, "])");
    } else {
      ts_strbuf_printf(sb, "R.Shape(ndim=%d)", s->u.shape.ndim);
    }
    break;
  case TS_SI_TENSOR: {
    bool has_dt = s->u.tensor.dtype.code != TS_VOID;
    const char *dt = ts_dtype_str(s->u.tensor.dtype, db);
    ts_strbuf_append(sb, "R.Tensor(");
    if (s->u.tensor.shape) {
      ts_strbuf_append(sb, "(");
      print_args(sb, s->u.tensor.shape, s->u.tensor.ndim);
      ts_strbuf_append(sb, s->u.tensor.ndim == 1 ? ",)" : ")");
      if (has_dt)
        ts_strbuf_printf(sb, ", \"%s\"", dt);
    } else {
      if (has_dt)
        ts_strbuf_printf(sb, "dtype=\"%s\"", dt);
      if (s->u.tensor.ndim >= 0)
        ts_strbuf_printf(sb, "%sndim=%d", has_dt ? ", " : "", s->u.tensor.ndim);
    }
    ts_strbuf_append(sb, ")");
    break;
  }
  case TS_SI_TUPLE:
    ts_strbuf_append(sb, "R.Tuple(");
    for (int i = 0; i < s->u.tuple.n; i++) {
      if (i)
        ts_strbuf_append(sb, ", ");
      ts_sinfo_print(sb, s->u.tuple.fields[i]);
    }
    ts_strbuf_append(sb, ")");
    break;
  }
}

/* ---- which buffers a PrimFunc writes ---------------------------------------- */

typedef struct writes_ctx {
  ts_ptrmap alias;   /* matched buffer -> its source buffer */
  ts_ptrmap written; /* buffer -> itself */
} writes_ctx;

static bool collect_writes(const ts_stmt *s, void *vc) {
  writes_ctx *w = vc;
  if (s->kind == TS_S_STORE)
    ts_ptrmap_put(&w->written, s->u.store.buffer, (void *)s->u.store.buffer);
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; i < b->n_match_buffers; i++)
      ts_ptrmap_put(&w->alias, b->match_buffers[i].buffer,
                    (void *)b->match_buffers[i].source.buffer);
    for (int i = 0; i < b->n_writes; i++)
      ts_ptrmap_put(&w->written, b->writes[i].buffer, (void *)b->writes[i].buffer);
  }
  return true;
}

bool ts_primfunc_writes(const ts_primfunc *f, const ts_buffer *b) {
  writes_ctx w = {{0}, {0}};
  if (f->body) ts_stmt_visit(f->body, collect_writes, NULL, &w);
  bool found = false;
  for (size_t i = 0; i < w.written.cap && !found; i++) {
    const void *x = w.written.keys ? w.written.keys[i] : NULL;
    /* follow view -> source chains (bounded: aliases form no cycles) */
    for (size_t hops = 0; x && hops <= w.alias.len && !found; hops++) {
      if (x == b) found = true;
      x = ts_ptrmap_has(&w.alias, x) ? ts_ptrmap_get(&w.alias, x) : NULL;
    }
  }
  ts_ptrmap_free(&w.alias);
  ts_ptrmap_free(&w.written);
  return found;
}
