/* regions.c: ts_block_infer_regions, the reads/writes of a block inferred
 * from its body, as TVM completes blocks written without T.reads/T.writes.
 *
 * Every access inside the block (its init first, then its body, nested blocks
 * included) is relaxed over the variables bound inside the block: loop
 * variables of loops nested in it (to [min, min + extent - 1]), iteration
 * variables of nested blocks (to the relaxed range of their binding value)
 * and let variables.  Indices use simple interval arithmetic on affine
 * expressions (+, -, * and // by a constant, % by a positive constant, min,
 * max); an index that cannot be bounded covers the whole dimension.  The
 * block's own iteration variables stay symbolic, so the common access
 * A[vi, vk] gives the single point A[vi, vk].
 *
 * Per buffer the region is the hull of all its accesses (min of mins, max of
 * maxes), extent = max - min + 1 folded through a linear form.  Loads are
 * reads, stores are writes (an update `C[i] = C[i] + x` reads and writes C).
 * Buffers allocated in the block or in nested blocks (alloc_buffers,
 * allocate) are excluded; an access to a match_buffer counts as an access to
 * its source region.  Lists are ordered by first appearance. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"

typedef struct interval {
  ts_expr *lo, *hi;
} interval;

typedef struct access {
  ts_buffer *buffer;
  interval *dims; /* buffer->ndim entries */
} access;

typedef TS_VEC(access) access_vec;

typedef struct rctx {
  ts_arena *a;
  ts_ptrmap env;      /* ts_var* -> interval* (relaxed variables) */
  ts_ptrmap excluded; /* buffers allocated inside the block */
  ts_ptrmap matched;  /* match_buffer -> ts_match_buffer* */
  access_vec reads, writes;
} rctx;

/* ---- expression helpers
 * -------------------------------------------------------
 */

static ts_expr *bin(rctx *c, ts_expr_kind k, ts_expr *x, ts_expr *y) {
  return ts_expr_simplify_const(c->a, ts_binary(c->a, k, x, y));
}

static ts_expr *iconst(rctx *c, const ts_expr *like, int64_t v) {
  ts_dtype t = like && ts_dtype_is_int(like->dtype) ? like->dtype : TS_I32;
  return ts_int(c->a, t, v);
}

static bool uses_env_fn(const ts_expr *e, void *ctx) {
  bool *found = ((void **)ctx)[1];
  const ts_ptrmap *env = ((void **)ctx)[0];
  if (*found)
    return false;
  if (e->kind == TS_E_VAR && ts_ptrmap_has(env, e->u.var))
    *found = true;
  return !*found;
}

static bool uses_env(rctx *c, const ts_expr *e) {
  bool found = false;
  void *ctx[2] = {&c->env, &found};
  ts_expr_visit(e, uses_env_fn, ctx);
  return found;
}

/* Linear form: c + sum(k[i] * v[i]). */
#define LIN_MAX 16
typedef struct lin {
  int n;
  const ts_var *v[LIN_MAX];
  int64_t k[LIN_MAX];
  int64_t c;
} lin;

static bool lin_add(const ts_expr *e, int64_t scale, lin *out) {
  int64_t k;
  switch (e->kind) {
  case TS_E_INT:
    if (!ts_dtype_is_int(e->dtype))
      return false;
    out->c += scale * e->u.int_value;
    return true;
  case TS_E_VAR:
    for (int i = 0; i < out->n; i++) {
      if (out->v[i] == e->u.var) {
        out->k[i] += scale;
        return true;
      }
    }
    if (out->n == LIN_MAX)
      return false;
    out->v[out->n] = e->u.var;
    out->k[out->n++] = scale;
    return true;
  case TS_E_ADD:
    return lin_add(e->u.bin.a, scale, out) && lin_add(e->u.bin.b, scale, out);
  case TS_E_SUB:
    return lin_add(e->u.bin.a, scale, out) && lin_add(e->u.bin.b, -scale, out);
  case TS_E_MUL:
    if (ts_expr_is_const_int(e->u.bin.b, &k))
      return lin_add(e->u.bin.a, scale * k, out);
    if (ts_expr_is_const_int(e->u.bin.a, &k))
      return lin_add(e->u.bin.b, scale * k, out);
    return false;
  default:
    return false;
  }
}

/* Rebuilds an expression from a linear form (terms in order, then c). */
static ts_expr *lin_to_expr(rctx *c, const lin *l, ts_dtype t) {
  ts_expr *r = NULL;
  for (int i = 0; i < l->n; i++) {
    int64_t k = l->k[i];
    if (k == 0)
      continue;
    ts_expr *v = ts_varref(c->a, (ts_var *)l->v[i]);
    int64_t ak = k < 0 ? -k : k;
    ts_expr *term =
        ak == 1 ? v : ts_binary(c->a, TS_E_MUL, v, ts_int(c->a, t, ak));
    if (!r)
      r = k < 0 ? ts_binary(c->a, TS_E_SUB, ts_int(c->a, t, 0), term) : term;
    else
      r = ts_binary(c->a, k < 0 ? TS_E_SUB : TS_E_ADD, r, term);
  }
  if (!r)
    return ts_int(c->a, t, l->c);
  if (l->c > 0)
    r = ts_binary(c->a, TS_E_ADD, r, ts_int(c->a, t, l->c));
  if (l->c < 0)
    r = ts_binary(c->a, TS_E_SUB, r, ts_int(c->a, t, -l->c));
  return r;
}

/* hi - lo + 1, folded. */
static ts_expr *extent_of(rctx *c, ts_expr *lo, ts_expr *hi) {
  if (ts_expr_same(lo, hi))
    return iconst(c, hi, 1);
  lin l = {0};
  if (lin_add(hi, 1, &l) && lin_add(lo, -1, &l)) {
    l.c += 1;
    int m = 0; /* drop cancelled terms */
    for (int i = 0; i < l.n; i++)
      if (l.k[i] != 0) {
        l.v[m] = l.v[i];
        l.k[m++] = l.k[i];
      }
    l.n = m;
    return lin_to_expr(c, &l, ts_dtype_is_int(hi->dtype) ? hi->dtype : TS_I32);
  }
  return bin(c, TS_E_ADD, bin(c, TS_E_SUB, hi, lo), iconst(c, hi, 1));
}

/* ---- interval arithmetic
 * -------------------------------------------------------
 */

static ts_expr *subst_points_pre(ts_mutator *m, ts_expr *e) {
  if (e->kind != TS_E_VAR)
    return NULL;
  interval *iv = ts_ptrmap_get(m->ctx, e->u.var);
  return iv ? iv->lo : NULL;
}

/* True when every relaxed variable in e has a single-point interval. */
static bool only_points_fn(const ts_expr *e, void *ctx) {
  void **p = ctx;
  const ts_ptrmap *env = p[0];
  bool *ok = p[1];
  if (e->kind == TS_E_VAR) {
    interval *iv = ts_ptrmap_get(env, e->u.var);
    if (iv && !ts_expr_same(iv->lo, iv->hi))
      *ok = false;
  }
  return *ok;
}

static bool relax(rctx *c, ts_expr *e, interval *out) {
  if (!uses_env(c, e)) {
    out->lo = out->hi = e;
    return true;
  }
  interval x, y;
  int64_t k;
  switch (e->kind) {
  case TS_E_VAR:
    *out = *(interval *)ts_ptrmap_get(&c->env, e->u.var);
    return true;
  case TS_E_ADD:
    if (!relax(c, e->u.bin.a, &x) || !relax(c, e->u.bin.b, &y))
      return false;
    out->lo = bin(c, TS_E_ADD, x.lo, y.lo);
    out->hi = bin(c, TS_E_ADD, x.hi, y.hi);
    return true;
  case TS_E_SUB:
    if (!relax(c, e->u.bin.a, &x) || !relax(c, e->u.bin.b, &y))
      return false;
    out->lo = bin(c, TS_E_SUB, x.lo, y.hi);
    out->hi = bin(c, TS_E_SUB, x.hi, y.lo);
    return true;
  case TS_E_MUL: {
    ts_expr *other = NULL;
    ts_expr *kexpr = NULL;
    if (ts_expr_is_const_int(e->u.bin.b, &k)) {
      other = e->u.bin.a;
      kexpr = e->u.bin.b;
    } else if (ts_expr_is_const_int(e->u.bin.a, &k)) {
      other = e->u.bin.b;
      kexpr = e->u.bin.a;
    }
    if (other) {
      if (!relax(c, other, &x))
        return false;
      ts_expr *l = bin(c, TS_E_MUL, x.lo, kexpr),
              *h = bin(c, TS_E_MUL, x.hi, kexpr);
      out->lo = k >= 0 ? l : h;
      out->hi = k >= 0 ? h : l;
      return true;
    }
    break;
  }
  case TS_E_FLOORDIV:
    if (ts_expr_is_const_int(e->u.bin.b, &k) && k > 0) {
      if (!relax(c, e->u.bin.a, &x))
        return false;
      out->lo = bin(c, TS_E_FLOORDIV, x.lo, e->u.bin.b);
      out->hi = bin(c, TS_E_FLOORDIV, x.hi, e->u.bin.b);
      return true;
    }
    break;
  case TS_E_FLOORMOD:
    if (ts_expr_is_const_int(e->u.bin.b, &k) && k > 0) {
      if (!relax(c, e->u.bin.a, &x))
        return false;
      if (ts_expr_same(x.lo, x.hi)) {
        out->lo = out->hi = bin(c, TS_E_FLOORMOD, x.lo, e->u.bin.b);
      } else {
        out->lo = iconst(c, e, 0);
        out->hi = iconst(c, e, k - 1);
      }
      return true;
    }
    break;
  case TS_E_MIN:
  case TS_E_MAX:
    if (!relax(c, e->u.bin.a, &x) || !relax(c, e->u.bin.b, &y))
      return false;
    out->lo = ts_expr_same(x.lo, y.lo) ? x.lo : bin(c, e->kind, x.lo, y.lo);
    out->hi = ts_expr_same(x.hi, y.hi) ? x.hi : bin(c, e->kind, x.hi, y.hi);
    return true;
  default:
    break;
  }
  /* Anything else: exact when every relaxed variable in it is a point. */
  bool ok = true;
  void *ctx[2] = {&c->env, &ok};
  ts_expr_visit(e, only_points_fn, ctx);
  if (!ok)
    return false;
  ts_mutator m = {.arena = c->a, .expr_pre = subst_points_pre, .ctx = &c->env};
  out->lo = out->hi = ts_expr_simplify_const(c->a, ts_mutate_expr(&m, e));
  return true;
}

/* ---- recording accesses
 * --------------------------------------------------------
 */

static void merge(rctx *c, access_vec *v, ts_buffer *b, const interval *dims) {
  for (size_t i = 0; i < v->len; i++) {
    if (v->data[i].buffer != b)
      continue;
    interval *d = v->data[i].dims;
    for (int j = 0; j < b->ndim; j++) {
      if (!ts_expr_same(d[j].lo, dims[j].lo))
        d[j].lo = bin(c, TS_E_MIN, d[j].lo, dims[j].lo);
      if (!ts_expr_same(d[j].hi, dims[j].hi))
        d[j].hi = bin(c, TS_E_MAX, d[j].hi, dims[j].hi);
    }
    return;
  }
  access acc = {b, ts_arena_array(c->a, b->ndim > 0 ? (size_t)b->ndim : 1,
                                  sizeof(interval))};
  if (b->ndim > 0)
    memcpy(acc.dims, dims, (size_t)b->ndim * sizeof(interval));
  ts_vec_push(v, acc);
}

static void full_dim(rctx *c, ts_buffer *b, int d, interval *out) {
  ts_expr *ext = b->shape[d];
  out->lo = iconst(c, ext, 0);
  out->hi = bin(c, TS_E_SUB, ext, iconst(c, ext, 1));
}

static void record_region(rctx *c, const ts_region *r, bool is_write);

static void record(rctx *c, ts_buffer *b, ts_expr **idx, int n, bool is_write) {
  if (!b || ts_ptrmap_has(&c->excluded, b))
    return;
  ts_match_buffer *mb = ts_ptrmap_get(&c->matched, b);
  if (mb) {
    record_region(c, &mb->source, is_write);
    return;
  }
  if (n != b->ndim)
    return; /* rank mismatch: the verifier reports it */
  interval dims[n > 0 ? n : 1];
  for (int i = 0; i < n; i++)
    if (!relax(c, idx[i], &dims[i]))
      full_dim(c, b, i, &dims[i]);
  merge(c, is_write ? &c->writes : &c->reads, b, dims);
}

static void record_region(rctx *c, const ts_region *r, bool is_write) {
  ts_buffer *b = r->buffer;
  if (!b || ts_ptrmap_has(&c->excluded, b) || r->n != b->ndim)
    return;
  interval dims[r->n > 0 ? r->n : 1];
  for (int i = 0; i < r->n; i++) {
    interval mn, ex;
    if (relax(c, r->ranges[i].min, &mn) && relax(c, r->ranges[i].extent, &ex)) {
      dims[i].lo = mn.lo;
      dims[i].hi =
          bin(c, TS_E_SUB, bin(c, TS_E_ADD, mn.hi, ex.hi), iconst(c, ex.hi, 1));
    } else {
      full_dim(c, b, i, &dims[i]);
    }
  }
  merge(c, is_write ? &c->writes : &c->reads, b, dims);
}

static bool load_fn(const ts_expr *e, void *ctx) {
  if (e->kind == TS_E_LOAD)
    record(ctx, e->u.load.buffer, e->u.load.indices, e->u.load.n, false);
  return true;
}

static void walk_expr(rctx *c, const ts_expr *e) {
  ts_expr_visit(e, load_fn, c);
}

static void bind(rctx *c, ts_var *v, interval iv) {
  interval *p = ts_arena_alloc(c->a, sizeof(*p));
  *p = iv;
  ts_ptrmap_put(&c->env, v, p);
}

static void walk_stmt(rctx *c, const ts_stmt *s);

static void walk_block_inside(rctx *c, const ts_block *b) {
  for (int i = 0; i < b->n_alloc_buffers; i++)
    ts_ptrmap_put(&c->excluded, b->alloc_buffers[i], NULL);
  for (int i = 0; i < b->n_match_buffers; i++)
    ts_ptrmap_put(&c->matched, b->match_buffers[i].buffer,
                  &b->match_buffers[i]);
  walk_stmt(c, b->init);
  walk_stmt(c, b->body);
}

static void walk_stmt(rctx *c, const ts_stmt *s) {
  if (!s)
    return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      walk_stmt(c, s->u.seq.stmts[i]);
    break;
  case TS_S_FOR: {
    interval mn, ex, iv;
    walk_expr(c, s->u.for_.min);
    walk_expr(c, s->u.for_.extent);
    if (relax(c, s->u.for_.min, &mn) && relax(c, s->u.for_.extent, &ex)) {
      iv.lo = mn.lo;
      iv.hi =
          bin(c, TS_E_SUB, bin(c, TS_E_ADD, mn.hi, ex.hi), iconst(c, ex.hi, 1));
    } else {
      /* unbounded loop: keep the variable symbolic */
      ts_expr *v = ts_varref(c->a, s->u.for_.var);
      iv.lo = iv.hi = v;
    }
    bind(c, s->u.for_.var, iv);
    walk_stmt(c, s->u.for_.body);
    break;
  }
  case TS_S_BLOCK_REALIZE: {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; i < b->n_iter_vars; i++) {
      interval iv;
      const ts_iter_var *it = &b->iter_vars[i];
      ts_expr *val =
          s->u.realize.iter_values ? s->u.realize.iter_values[i] : NULL;
      if (val)
        walk_expr(c, val);
      if (!val || !relax(c, val, &iv)) {
        iv.lo = it->dom.min;
        iv.hi = bin(c, TS_E_SUB, bin(c, TS_E_ADD, it->dom.min, it->dom.extent),
                    iconst(c, it->dom.extent, 1));
      }
      bind(c, it->var, iv);
    }
    walk_block_inside(c, b);
    break;
  }
  case TS_S_STORE:
    for (int i = 0; i < s->u.store.n; i++)
      walk_expr(c, s->u.store.indices[i]);
    walk_expr(c, s->u.store.value);
    record(c, s->u.store.buffer, s->u.store.indices, s->u.store.n, true);
    break;
  case TS_S_IF:
    walk_expr(c, s->u.if_.cond);
    walk_stmt(c, s->u.if_.then_s);
    walk_stmt(c, s->u.if_.else_s);
    break;
  case TS_S_LET: {
    interval iv;
    walk_expr(c, s->u.let.value);
    if (!relax(c, s->u.let.value, &iv)) {
      ts_expr *v = ts_varref(c->a, s->u.let.var);
      iv.lo = iv.hi = v;
    }
    bind(c, s->u.let.var, iv);
    walk_stmt(c, s->u.let.body);
    break;
  }
  case TS_S_EVALUATE:
    walk_expr(c, s->u.eval.value);
    break;
  case TS_S_ALLOCATE:
    ts_ptrmap_put(&c->excluded, s->u.alloc.buffer, NULL);
    walk_stmt(c, s->u.alloc.body);
    break;
  case TS_S_ASSERT:
    walk_expr(c, s->u.assert_.cond);
    walk_stmt(c, s->u.assert_.body);
    break;
  }
}

static ts_region *to_regions(rctx *c, const access_vec *v) {
  if (!v->len)
    return NULL;
  ts_region *rs = ts_arena_array(c->a, v->len, sizeof(ts_region));
  for (size_t i = 0; i < v->len; i++) {
    ts_buffer *b = v->data[i].buffer;
    rs[i].buffer = b;
    rs[i].n = b->ndim;
    rs[i].ranges = ts_arena_array(c->a, b->ndim > 0 ? (size_t)b->ndim : 1,
                                  sizeof(ts_range));
    for (int j = 0; j < b->ndim; j++) {
      interval d = v->data[i].dims[j];
      rs[i].ranges[j].min = d.lo;
      rs[i].ranges[j].extent = extent_of(c, d.lo, d.hi);
    }
  }
  return rs;
}

void ts_block_infer_regions(ts_arena *a, ts_block *block) {
  rctx c = {.a = a};
  walk_block_inside(&c, block);
  block->reads = to_regions(&c, &c.reads);
  block->n_reads = (int)c.reads.len;
  block->writes = to_regions(&c, &c.writes);
  block->n_writes = (int)c.writes.len;
  ts_vec_free(&c.reads);
  ts_vec_free(&c.writes);
  ts_ptrmap_free(&c.env);
  ts_ptrmap_free(&c.excluded);
  ts_ptrmap_free(&c.matched);
}
