/* compute_at.c: compute location primitives: compute_at,
 * reverse_compute_at, compute_inline, reverse_compute_inline.
 *
 * compute_at(B, L) moves producer B under loop L of its consumers: the
 * region of B's output that the consumers under L read in one iteration of
 * L is the hull of their read regions with the loops inside L relaxed to
 * their full ranges (an affine index k0*l0 + ... + c is relaxed exactly;
 * anything else falls back to the whole buffer dimension).  B gets new loops
 * ax0, ax1, ... covering that region (a dimension of extent 1 gets no loop
 * unless preserve_unit_loops) and its bindings become `min + axK`.  The
 * nest is inserted right before the first consumer under L.
 * reverse_compute_at(C, L) is the mirror: consumer C is recomputed after
 * the last producer under L, over the region those producers write.
 *
 * compute_inline(B) substitutes B's expression into every load of its
 * output; reverse_compute_inline(C) folds C's expression into its producer's
 * store.  Both remove the intermediate buffer's allocation.
 *
 * Every check happens before the IR is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

/* ---- affine forms ----------------------------------------------------------------- */

#define LIN_MAX 16
typedef struct lin {
  int64_t c;
  int n;
  const ts_var *v[LIN_MAX];
  int64_t k[LIN_MAX];
} lin;

static bool lin_add_term(lin *l, const ts_var *v, int64_t k) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] == v) {
      l->k[i] += k;
      return true;
    }
  if (l->n == LIN_MAX) return false;
  l->v[l->n] = v;
  l->k[l->n++] = k;
  return true;
}

static bool lin_addto(lin *a, const lin *b, int64_t scale) {
  a->c += b->c * scale;
  for (int i = 0; i < b->n; i++)
    if (!lin_add_term(a, b->v[i], b->k[i] * scale)) return false;
  return true;
}

static bool to_lin(const ts_expr *e, lin *out) {
  memset(out, 0, sizeof *out);
  int64_t c;
  if (ts_expr_is_const_int(e, &c)) {
    out->c = c;
    return true;
  }
  lin a, b;
  switch (e->kind) {
  case TS_E_VAR: return lin_add_term(out, e->u.var, 1);
  case TS_E_ADD:
  case TS_E_SUB:
    if (!to_lin(e->u.bin.a, &a) || !to_lin(e->u.bin.b, &b)) return false;
    *out = a;
    return lin_addto(out, &b, e->kind == TS_E_ADD ? 1 : -1);
  case TS_E_MUL:
    if (!to_lin(e->u.bin.a, &a) || !to_lin(e->u.bin.b, &b)) return false;
    if (b.n == 0) return lin_addto(out, &a, b.c);
    if (a.n == 0) return lin_addto(out, &b, a.c);
    return false;
  default: return false;
  }
}

/* ---- regions ------------------------------------------------------------------------- */

/* One dimension of a needed region: fixed (symbolic) part + [lo, hi]. */
typedef struct dimreg {
  bool set, full;
  lin fixed;
  int64_t lo, hi;
} dimreg;

static bool same_fixed(const lin *a, const lin *b) {
  int na = 0, nb = 0;
  for (int i = 0; i < a->n; i++) na += a->k[i] != 0;
  for (int i = 0; i < b->n; i++) nb += b->k[i] != 0;
  if (na != nb) return false;
  for (int i = 0; i < a->n; i++) {
    if (!a->k[i]) continue;
    bool found = false;
    for (int j = 0; j < b->n; j++)
      if (b->v[j] == a->v[i] && b->k[j] == a->k[i]) found = true;
    if (!found) return false;
  }
  return true;
}

/* Relaxed variables: loop var -> loop (constant min and extent). */
static void relax_range(const ts_ptrmap *relax, ts_expr *min, int64_t extent,
                        dimreg *d) {
  lin l;
  if (!to_lin(min, &l)) {
    d->set = d->full = true;
    return;
  }
  lin fixed = {0};
  int64_t lo = l.c, hi = l.c;
  for (int i = 0; i < l.n; i++) {
    const ts_stmt *loop = ts_ptrmap_get(relax, l.v[i]);
    if (!loop) {
      lin_add_term(&fixed, l.v[i], l.k[i]);
      continue;
    }
    int64_t mn = 0, ext = 1;
    ts_expr_is_const_int(loop->u.for_.min, &mn);
    ts_expr_is_const_int(loop->u.for_.extent, &ext);
    int64_t a = l.k[i] * mn, b = l.k[i] * (mn + ext - 1);
    lo += a < b ? a : b;
    hi += a < b ? b : a;
  }
  hi += extent - 1;
  if (!d->set) {
    d->set = true;
    d->fixed = fixed;
    d->lo = lo;
    d->hi = hi;
    return;
  }
  if (d->full) return;
  if (!same_fixed(&d->fixed, &fixed)) {
    d->full = true;
    return;
  }
  if (lo < d->lo) d->lo = lo;
  if (hi > d->hi) d->hi = hi;
}

/* Adds block `realize`'s accesses of `buf` (reads or writes) to the region,
 * with the loops of `relax` relaxed.  False when a region is not usable
 * (a symbolic extent). */
static void add_access(ts_arena *a, ts_stmt *realize, const ts_buffer *buf,
                       bool reads, const ts_ptrmap *relax, dimreg *dims) {
  ts_block *b = realize->u.realize.block;
  ts_ptrmap bind = {0};
  for (int i = 0; i < b->n_iter_vars; i++)
    ts_ptrmap_put(&bind, b->iter_vars[i].var, realize->u.realize.iter_values[i]);
  const ts_region *rs = reads ? b->reads : b->writes;
  int n = reads ? b->n_reads : b->n_writes;
  for (int i = 0; i < n; i++) {
    if (rs[i].buffer != buf) continue;
    for (int d = 0; d < rs[i].n; d++) {
      int64_t ext;
      if (!ts_expr_is_const_int(rs[i].ranges[d].extent, &ext)) {
        dims[d].set = dims[d].full = true;
        continue;
      }
      ts_expr *mn = ts_expr_substitute(a, rs[i].ranges[d].min, &bind);
      relax_range(relax, mn, ext, &dims[d]);
    }
  }
  ts_ptrmap_free(&bind);
}

static ts_expr *lin_expr(ts_arena *a, const lin *fixed, int64_t c,
                         ts_dtype dt) {
  ts_expr *e = NULL;
  for (int i = 0; i < fixed->n; i++) {
    int64_t k = fixed->k[i];
    if (!k) continue;
    ts_expr *t = ts_varref(a, (ts_var *)fixed->v[i]);
    int64_t ak = k < 0 ? -k : k;
    if (ak != 1) t = ts_binary(a, TS_E_MUL, t, ts_int(a, dt, ak));
    if (!e)
      e = k < 0 ? ts_binary(a, TS_E_SUB, ts_int(a, dt, 0), t) : t;
    else
      e = ts_binary(a, k < 0 ? TS_E_SUB : TS_E_ADD, e, t);
  }
  if (!e) return ts_int(a, dt, c);
  if (c > 0) e = ts_binary(a, TS_E_ADD, e, ts_int(a, dt, c));
  if (c < 0) e = ts_binary(a, TS_E_SUB, e, ts_int(a, dt, -c));
  return e;
}

/* ---- tree helpers ----------------------------------------------------------------------- */

static bool contains(ts_stmt *tree, ts_stmt *node) {
  ts_stmt **bs;
  int n;
  if (tree == node) return true;
  sch_all_blocks(tree, &bs, &n);
  bool found = false;
  for (int i = 0; i < n && !found; i++) found = bs[i] == node;
  free(bs);
  if (found || node->kind == TS_S_BLOCK_REALIZE) return found;
  /* a loop: walk */
  TS_VEC(ts_stmt *) st = {0};
  ts_vec_push(&st, tree);
  while (st.len && !found) {
    ts_stmt *s = st.data[--st.len];
    if (!s) continue;
    if (s == node) found = true;
    switch (s->kind) {
    case TS_S_SEQ:
      for (int i = 0; i < s->u.seq.n; i++) ts_vec_push(&st, s->u.seq.stmts[i]);
      break;
    case TS_S_FOR: ts_vec_push(&st, s->u.for_.body); break;
    case TS_S_BLOCK_REALIZE:
      ts_vec_push(&st, s->u.realize.block->init);
      ts_vec_push(&st, s->u.realize.block->body);
      break;
    case TS_S_IF:
      ts_vec_push(&st, s->u.if_.then_s);
      ts_vec_push(&st, s->u.if_.else_s);
      break;
    case TS_S_LET: ts_vec_push(&st, s->u.let.body); break;
    case TS_S_ALLOCATE: ts_vec_push(&st, s->u.alloc.body); break;
    case TS_S_ASSERT: ts_vec_push(&st, s->u.assert_.body); break;
    default: break;
    }
  }
  ts_vec_free(&st);
  return found;
}

/* The top of the subtree that holds only `realize`: the realize and the
 * loops above it that hold nothing else.  Its parent must be a sequence. */
static ts_status *removable_top(const char *prim, ts_primfunc *f,
                                ts_stmt *realize, ts_stmt **out_top) {
  ts_stmt *top = realize;
  for (;;) {
    ts_stmt *p = sch_parent(f, top, NULL);
    if (p && p->kind == TS_S_FOR && p->u.for_.body == top) {
      top = p;
      continue;
    }
    if (!p || p->kind != TS_S_SEQ)
      return sch_error(prim, "block '%s' is the only statement of its scope; "
                             "it cannot be moved",
                       realize->u.realize.block->name);
    break;
  }
  *out_top = top;
  return NULL;
}

static void remove_top(ts_schedule *s, ts_primfunc *f, ts_stmt *top,
                       ts_stmt *realize) {
  for (ts_stmt *l = top; l != realize; l = l->u.for_.body)
    sch_invalidate_node(s, l);
  ts_stmt *seq = sch_parent(f, top, NULL);
  TS_VEC(ts_stmt *) rest = {0};
  for (int i = 0; i < seq->u.seq.n; i++)
    if (seq->u.seq.stmts[i] != top) ts_vec_push(&rest, seq->u.seq.stmts[i]);
  ts_stmt *n = ts_seq(s->mod->arena, rest.data, (int)rest.len);
  ts_vec_free(&rest);
  sch_replace(f, seq, n);
}

/* The sibling blocks of `realize` in its scope, pre-order (heap). */
static void siblings(ts_primfunc *f, ts_stmt *realize, ts_stmt ***out,
                     int *out_n) {
  ts_stmt *scope = sch_enclosing_block(f, realize);
  if (!scope) {
    *out = NULL;
    *out_n = 0;
    return;
  }
  sch_child_blocks(scope, out, out_n);
}

static bool is_param_buffer(const ts_primfunc *f, const ts_buffer *b) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer == b) return true;
  return false;
}

static void remove_alloc(ts_primfunc *f, const ts_buffer *buf) {
  ts_stmt **bs;
  int n;
  sch_all_blocks(f->body, &bs, &n);
  for (int i = 0; i < n; i++) {
    ts_block *b = bs[i]->u.realize.block;
    int k = 0;
    for (int j = 0; j < b->n_alloc_buffers; j++)
      if (b->alloc_buffers[j] != buf) b->alloc_buffers[k++] = b->alloc_buffers[j];
    b->n_alloc_buffers = k;
  }
  free(bs);
}

/* ---- compute_at / reverse_compute_at ------------------------------------------------ */

static ts_status *do_compute_at(ts_schedule *s, ts_rv block_rv, ts_rv loop_rv,
                                bool preserve_unit_loops, bool reverse) {
  const char *prim = reverse ? "reverse_compute_at" : "compute_at";
  ts_stmt *blk, *loop;
  TS_RETURN_IF_ERROR(sch_block(s, block_rv, &blk));
  TS_RETURN_IF_ERROR(sch_loop(s, loop_rv, &loop));
  ts_primfunc *f = sch_rv_func(s, block_rv);
  ts_block *b = blk->u.realize.block;
  const char *lname = loop->u.for_.var->name;
  if (sch_rv_func(s, loop_rv) != f)
    return sch_error(prim, "block '%s' and loop '%s' are in different "
                           "functions", b->name, lname);
  if (contains(loop, blk))
    return sch_error(prim, "block '%s' is already under loop '%s'", b->name,
                     lname);
  ts_stmt *scope = sch_enclosing_block(f, blk);
  if (!scope || sch_enclosing_block(f, loop) != scope)
    return sch_error(prim, "loop '%s' is not in the scope of block '%s'",
                     lname, b->name);
  if (blk->u.realize.predicate)
    return sch_error(prim, "block '%s' has a predicate (T.where), which %s "
                           "does not support yet", b->name, prim);

  /* The related blocks: consumers (compute_at) or producers. */
  ts_stmt **sib;
  int nsib;
  siblings(f, blk, &sib, &nsib);
  ts_status *st = NULL;
  TS_VEC(ts_stmt *) under = {0};
  int my_pos = -1, first_under = -1, last_under = -1;
  for (int i = 0; i < nsib; i++) {
    if (sib[i] == blk) my_pos = i;
    if (contains(loop, sib[i])) {
      if (first_under < 0) first_under = i;
      last_under = i;
    }
  }
  for (int i = 0; i < nsib; i++) {
    ts_block *o = sib[i]->u.realize.block;
    if (sib[i] != blk && contains(loop, sib[i]) &&
        (reverse ? sch_block_feeds(o, b) : sch_block_feeds(b, o)))
      ts_vec_push(&under, sib[i]);
  }
  if (under.len == 0)
    st = sch_error(prim, "loop '%s' is not an ancestor of any %s of block "
                         "'%s'", lname, reverse ? "producer" : "consumer",
                   b->name);
  for (int i = 0; i < nsib && !st; i++) {
    if (sib[i] == blk) continue;
    ts_block *o = sib[i]->u.realize.block;
    bool related = reverse ? sch_block_feeds(o, b) : sch_block_feeds(b, o);
    if (!related) continue;
    if (contains(loop, sib[i])) {
      continue;
    } else if (!reverse && first_under >= 0 && i < last_under) {
      st = sch_error(prim, "consumer block '%s' of block '%s' runs before "
                           "loop '%s'", o->name, b->name, lname);
    } else if (reverse && first_under >= 0 && i > first_under) {
      st = sch_error(prim, "producer block '%s' of block '%s' runs after "
                           "loop '%s'", o->name, b->name, lname);
    }
  }
  if (!st && !reverse && my_pos > first_under)
    st = sch_error(prim, "block '%s' runs after its consumers under loop "
                         "'%s'", b->name, lname);
  if (!st && reverse && my_pos < last_under)
    st = sch_error(prim, "block '%s' runs before its producers under loop "
                         "'%s'", b->name, lname);

  /* The buffer that links them. */
  const ts_buffer *buf = NULL;
  if (!st) {
    if (!reverse) {
      if (b->n_writes != 1)
        st = sch_error(prim, "block '%s' writes %d buffers; expected one",
                       b->name, b->n_writes);
      else
        buf = b->writes[0].buffer;
    } else {
      for (int i = 0; i < b->n_reads && !st; i++)
        for (size_t k = 0; k < under.len; k++) {
          ts_block *p = under.data[k]->u.realize.block;
          for (int w = 0; w < p->n_writes; w++)
            if (p->writes[w].buffer == b->reads[i].buffer) {
              if (buf && buf != b->reads[i].buffer)
                st = sch_error(prim, "block '%s' reads several buffers "
                                     "produced under loop '%s'",
                               b->name, lname);
              buf = b->reads[i].buffer;
            }
        }
    }
  }
  /* Producers under L must be complete when L's iteration ends: L and the
   * loops around it must not carry their reduction. */
  if (!st && reverse) {
    ts_stmt **outer;
    int nouter;
    sch_enclosing_loops(f, loop, &outer, &nouter);
    for (size_t k = 0; k < under.len && !st; k++) {
      ts_stmt *p = under.data[k];
      ts_block *pb = p->u.realize.block;
      for (int v = 0; v < pb->n_iter_vars && !st; v++) {
        if (pb->iter_vars[v].type == TS_ITER_SPATIAL) continue;
        for (int j = 0; j <= nouter && !st; j++) {
          ts_stmt *l = j < nouter ? outer[j] : loop;
          if (ts_expr_uses_var(p->u.realize.iter_values[v], l->u.for_.var))
            st = sch_error(prim, "loop '%s' carries reduction variable '%s' "
                                 "of producer block '%s'; the producer is "
                                 "not complete inside it",
                           l->u.for_.var->name, pb->iter_vars[v].var->name,
                           pb->name);
        }
      }
    }
    free(outer);
  }
  /* The moved block's own access of buf: dimension d -> iter var. */
  int ndim = buf ? buf->ndim : 0;
  int *dim_var = ts_xmalloc(sizeof(int) * (size_t)(ndim ? ndim : 1));
  if (!st) {
    const ts_region *rs = reverse ? b->reads : b->writes;
    int n = reverse ? b->n_reads : b->n_writes;
    const ts_region *r = NULL;
    for (int i = 0; i < n; i++)
      if (rs[i].buffer == buf) r = &rs[i];
    for (int d = 0; d < ndim && !st; d++) {
      dim_var[d] = -1;
      int64_t ext;
      const ts_expr *mn = r->ranges[d].min;
      if (ts_expr_is_const_int(r->ranges[d].extent, &ext) && ext == 1 &&
          mn->kind == TS_E_VAR)
        for (int v = 0; v < b->n_iter_vars; v++)
          if (b->iter_vars[v].var == mn->u.var) dim_var[d] = v;
      int64_t c0, dim1;
      /* a unit dimension read at its only index (a broadcast's 0) binds
       * no iteration variable */
      if (dim_var[d] < 0 && ts_expr_is_const_int(mn, &c0) && c0 == 0 &&
          ts_expr_is_const_int(buf->shape[d], &dim1) && dim1 == 1 &&
          ts_expr_is_const_int(r->ranges[d].extent, &ext) && ext == 1) {
        dim_var[d] = -2;
        continue;
      }
      if (dim_var[d] < 0)
        st = sch_error(prim, "block '%s' %s '%s' at an index that is not a "
                             "plain iteration variable, which %s does not "
                             "support yet",
                       b->name, reverse ? "reads" : "writes", buf->name, prim);
      for (int e = 0; e < d && !st; e++)
        if (dim_var[e] == dim_var[d])
          st = sch_error(prim, "block '%s' uses iteration variable '%s' for "
                               "two dimensions of '%s'",
                         b->name, b->iter_vars[dim_var[d]].var->name,
                         buf->name);
    }
    for (int v = 0; v < b->n_iter_vars && !st; v++) {
      int64_t e;
      if (!ts_expr_is_const_int(b->iter_vars[v].dom.extent, &e))
        st = sch_error(prim, "block '%s' has a symbolic domain, which %s "
                             "does not support yet", b->name, prim);
    }
  }
  /* The region needed under L. */
  dimreg *dims = ts_xcalloc((size_t)(ndim ? ndim : 1), sizeof(dimreg));
  ts_stmt *top = NULL;
  if (!st) {
    ts_arena *a = s->mod->arena;
    for (size_t k = 0; k < under.len && !st; k++) {
      ts_stmt **ls;
      int nl;
      sch_enclosing_loops(f, under.data[k], &ls, &nl);
      ts_ptrmap relax = {0};
      bool inside = false;
      for (int i = 0; i < nl; i++) {
        if (inside) {
          int64_t c;
          if (!ts_expr_is_const_int(ls[i]->u.for_.min, &c) ||
              !ts_expr_is_const_int(ls[i]->u.for_.extent, &c))
            st = sch_error(prim, "loop '%s' has symbolic bounds, which %s "
                                 "does not support yet",
                           ls[i]->u.for_.var->name, prim);
          ts_ptrmap_put(&relax, ls[i]->u.for_.var, ls[i]);
        }
        if (ls[i] == loop) inside = true;
      }
      add_access(a, under.data[k], buf, !reverse, &relax, dims);
      ts_ptrmap_free(&relax);
      free(ls);
    }
    for (int d = 0; d < ndim && !st; d++) {
      int64_t shape;
      if (dims[d].full && !ts_expr_is_const_int(buf->shape[d], &shape))
        st = sch_error(prim, "the region of '%s' needed under loop '%s' is "
                             "not affine and the buffer has a symbolic "
                             "shape", buf->name, lname);
    }
    if (!st) st = removable_top(prim, f, blk, &top);
  }
  if (st) {
    free(dims);
    free(dim_var);
    free(sib);
    ts_vec_free(&under);
    return st;
  }

  /* ---- mutation ---- */
  ts_arena *a = s->mod->arena;
  remove_top(s, f, top, blk);
  int nv = b->n_iter_vars;
  ts_expr **vals = ts_arena_array(a, (size_t)(nv ? nv : 1), sizeof(ts_expr *));
  TS_VEC(ts_var *) lvars = {0};
  TS_VEC(int64_t) lext = {0};
  for (int v = 0; v < nv; v++) {
    ts_dtype dt = b->iter_vars[v].var->dtype;
    ts_expr *mn;
    int64_t ext;
    int d = -1;
    for (int k = 0; k < ndim; k++)
      if (dim_var[k] == v) d = k;
    if (d >= 0 && !dims[d].full) {
      /* A consumer may read past the buffer's edge (padding written as
       * if_then_else): clamp a constant region to the buffer, as TVM
       * intersects the needed region with the buffer's shape. */
      int64_t shape, fixed_terms = 0;
      for (int t = 0; t < dims[d].fixed.n; t++) fixed_terms += dims[d].fixed.k[t] != 0;
      if (!fixed_terms && ts_expr_is_const_int(buf->shape[d], &shape)) {
        if (dims[d].lo < 0) dims[d].lo = 0;
        if (dims[d].hi > shape - 1) dims[d].hi = shape - 1;
      }
      mn = lin_expr(a, &dims[d].fixed, dims[d].lo, dt);
      ext = dims[d].hi - dims[d].lo + 1;
    } else if (d >= 0) {
      int64_t shape = 0;
      ts_expr_is_const_int(buf->shape[d], &shape);
      mn = ts_int(a, dt, 0);
      ext = shape;
    } else {
      mn = b->iter_vars[v].dom.min;
      ts_expr_is_const_int(b->iter_vars[v].dom.extent, &ext);
    }
    if (ext == 1 && !preserve_unit_loops) {
      vals[v] = mn;
      continue;
    }
    /* named once the nest is in place (see below) */
    ts_var *lv = ts_var_new(a, "", dt, blk->loc);
    ts_vec_push(&lvars, lv);
    ts_vec_push(&lext, ext);
    int64_t c;
    vals[v] = ts_expr_is_const_int(mn, &c) && c == 0
                  ? ts_varref(a, lv)
                  : ts_binary(a, TS_E_ADD, mn, ts_varref(a, lv));
  }
  blk->u.realize.iter_values = vals;
  /* A region that moves with outer loops may reach past the buffer's edge
   * at the first or last iterations (a padded consumer): guard the block
   * with a predicate, as TVM does, when the bounds of the outer loops say
   * it can happen. */
  for (int k = 0, li = 0; k < ndim; k++) {
    (void)li;
    int64_t shape;
    if (dims[k].full || !ts_expr_is_const_int(buf->shape[k], &shape)) continue;
    int fixed_terms = 0;
    for (int t = 0; t < dims[k].fixed.n; t++) fixed_terms += dims[k].fixed.k[t] != 0;
    if (!fixed_terms || dim_var[k] < 0) continue;
    int64_t flo = dims[k].lo, fhi = dims[k].hi;
    bool known = true;
    ts_stmt **outer;
    int no;
    sch_enclosing_loops(f, loop, &outer, &no);
    for (int t = 0; t < dims[k].fixed.n && known; t++) {
      int64_t kk = dims[k].fixed.k[t];
      if (!kk) continue;
      const ts_stmt *fl = NULL;
      for (int o = 0; o < no; o++)
        if (outer[o]->u.for_.var == dims[k].fixed.v[t]) fl = outer[o];
      if (loop->u.for_.var == dims[k].fixed.v[t]) fl = loop;
      int64_t mn0, ex0;
      if (!fl || !ts_expr_is_const_int(fl->u.for_.min, &mn0) ||
          !ts_expr_is_const_int(fl->u.for_.extent, &ex0)) {
        known = false;
        break;
      }
      int64_t x = kk * mn0, y = kk * (mn0 + ex0 - 1);
      flo += x < y ? x : y;
      fhi += x < y ? y : x;
    }
    free(outer);
    if (known && flo >= 0 && fhi <= shape - 1) continue;
    ts_expr *v = vals[dim_var[k]];
    ts_dtype dt = v->dtype;
    ts_expr *p = ts_binary(a, TS_E_AND, ts_binary(a, TS_E_LE, ts_int(a, dt, 0), v),
                           ts_binary(a, TS_E_LT, v, ts_int(a, dt, shape)));
    ts_expr *old = blk->u.realize.predicate;
    blk->u.realize.predicate = old ? ts_binary(a, TS_E_AND, old, p) : p;
  }
  ts_stmt *nest = blk;
  for (size_t k = lvars.len; k-- > 0;) {
    ts_stmt *l = ts_stmt_new(a, TS_S_FOR, blk->loc);
    l->u.for_.var = lvars.data[k];
    l->u.for_.min = ts_int(a, lvars.data[k]->dtype, 0);
    l->u.for_.extent = ts_int(a, lvars.data[k]->dtype, lext.data[k]);
    l->u.for_.kind = TS_FOR_SERIAL;
    l->u.for_.body = nest;
    nest = l;
  }
  ts_vec_free(&lext);
  /* Insert before the first consumer / after the last producer in L. */
  ts_stmt *body = loop->u.for_.body;
  ts_stmt **items = body->kind == TS_S_SEQ ? body->u.seq.stmts : &body;
  int n = body->kind == TS_S_SEQ ? body->u.seq.n : 1;
  int at = reverse ? 0 : n;
  for (int i = 0; i < n; i++) {
    bool has = false;
    for (size_t k = 0; k < under.len && !has; k++)
      has = contains(items[i], under.data[k]);
    if (!has) continue;
    if (!reverse && i < at) at = i;
    if (reverse) at = i + 1;
  }
  ts_stmt **ns = ts_xmalloc(sizeof(ts_stmt *) * (size_t)(n + 1));
  for (int i = 0, j = 0; i <= n; i++)
    ns[i] = i == at ? nest : items[j++];
  loop->u.for_.body = ts_seq(a, ns, n + 1);
  free(ns);
  /* TVM's names ax0, ax1, ... unless used around or inside the nest */
  for (size_t k = 0; k < lvars.len; k++) {
    char nm[32];
    snprintf(nm, sizeof nm, "ax%zu", k);
    lvars.data[k]->name = sch_scoped_name(s, f, nest, nm);
  }
  ts_vec_free(&lvars);

  sch_record(s, "sch.%s(block=%s, loop=%s, preserve_unit_loops=%s, "
                "index=-1)", prim, ts_schedule_rv_name(s, block_rv),
             ts_schedule_rv_name(s, loop_rv),
             preserve_unit_loops ? "True" : "False");
  free(dims);
  free(dim_var);
  free(sib);
  ts_vec_free(&under);
  return NULL;
}

ts_status *ts_sch_compute_at(ts_schedule *s, ts_rv block, ts_rv loop,
                             bool preserve_unit_loops) {
  return do_compute_at(s, block, loop, preserve_unit_loops, false);
}

ts_status *ts_sch_reverse_compute_at(ts_schedule *s, ts_rv block, ts_rv loop,
                                     bool preserve_unit_loops) {
  return do_compute_at(s, block, loop, preserve_unit_loops, true);
}

/* ---- inlining ---------------------------------------------------------------------- */

/* Checks that `realize` is `buf[v0, v1, ...] = value` over spatial iteration
 * variables used as plain, distinct indices. */
static ts_status *check_simple_store(const char *prim, const char *role,
                                     ts_stmt *realize) {
  ts_block *b = realize->u.realize.block;
  if (b->init)
    return sch_error(prim, "%sblock '%s' is a reduction (it has T.init()); "
                           "only a block of the form B[i, j] = f(...) can "
                           "be inlined", role, b->name);
  for (int v = 0; v < b->n_iter_vars; v++)
    if (b->iter_vars[v].type != TS_ITER_SPATIAL)
      return sch_error(prim, "%sblock '%s' has the non-spatial iteration "
                             "variable '%s'; only a block of the form "
                             "B[i, j] = f(...) can be inlined",
                       role, b->name, b->iter_vars[v].var->name);
  if (!b->body || b->body->kind != TS_S_STORE || b->n_alloc_buffers ||
      b->n_match_buffers)
    return sch_error(prim, "the body of %sblock '%s' is not a single store "
                           "B[i, j] = f(...)", role, b->name);
  if (realize->u.realize.predicate)
    return sch_error(prim, "%sblock '%s' has a predicate (T.where), which %s "
                           "does not support", role, b->name, prim);
  return NULL;
}

static ts_status *check_plain_indices(const char *prim, ts_block *b,
                                      ts_expr **idx, int n, bool cover,
                                      const char *bufname) {
  for (int d = 0; d < n; d++) {
    int v = -1;
    if (idx[d]->kind == TS_E_VAR)
      for (int k = 0; k < b->n_iter_vars; k++)
        if (b->iter_vars[k].var == idx[d]->u.var) v = k;
    bool dup = false;
    for (int e = 0; e < d && v >= 0; e++)
      if (idx[e]->kind == TS_E_VAR && idx[e]->u.var == idx[d]->u.var)
        dup = true;
    if (v < 0 || dup)
      return sch_error(prim, "block '%s' accesses '%s' at an index that is "
                             "not a distinct iteration variable",
                       b->name, bufname);
  }
  if (cover)
    for (int k = 0; k < b->n_iter_vars; k++) {
      bool used = false;
      for (int d = 0; d < n; d++)
        if (idx[d]->u.var == b->iter_vars[k].var) used = true;
      if (!used)
        return sch_error(prim, "block '%s' does not index '%s' with its "
                               "iteration variable '%s'",
                         b->name, bufname, b->iter_vars[k].var->name);
    }
  return NULL;
}

typedef struct inline_ctx {
  const ts_buffer *buf;
  ts_var **params; /* the producer's index variables, per dimension */
  ts_expr *value;  /* the producer's expression */
  /* reverse_compute_inline: the loads must all have these indices */
  bool check_only;
  ts_expr **want;
  bool mismatch;
} inline_ctx;

static ts_expr *inline_post(ts_mutator *m, ts_expr *e) {
  inline_ctx *c = m->ctx;
  if (e->kind != TS_E_LOAD || e->u.load.buffer != c->buf) return e;
  ts_ptrmap vm = {0};
  for (int d = 0; d < e->u.load.n; d++)
    ts_ptrmap_put(&vm, c->params[d], e->u.load.indices[d]);
  ts_expr *r = ts_expr_substitute(m->arena, c->value, &vm);
  ts_ptrmap_free(&vm);
  return r;
}

typedef struct load_check {
  const ts_buffer *buf;
  ts_expr **idx;
  int n;
  bool mismatch;
  int count;
} load_check;

static bool load_visit(const ts_expr *e, void *vc) {
  load_check *c = vc;
  if (e->kind != TS_E_LOAD || e->u.load.buffer != c->buf) return true;
  c->count++;
  if (!c->idx) {
    c->idx = e->u.load.indices;
    c->n = e->u.load.n;
    return true;
  }
  for (int d = 0; d < e->u.load.n; d++)
    if (!ts_expr_same(e->u.load.indices[d], c->idx[d])) c->mismatch = true;
  return true;
}

static bool skip_nested(const ts_stmt *s, void *c) {
  return s->kind != TS_S_BLOCK_REALIZE;
}

/* True when the statements of s, not looking into nested blocks, load
 * buf. */
static bool stmt_reads(const ts_stmt *s, const ts_buffer *buf) {
  load_check lc = {buf, NULL, 0, false, 0};
  if (s->kind == TS_S_BLOCK_REALIZE) return false;
  ts_stmt_visit(s, skip_nested, load_visit, &lc);
  return lc.count > 0;
}

/* Mutator hook: leaves nested blocks alone (they are rewritten in turn,
 * in place, so that their handles stay valid). */
static ts_stmt *keep_nested(ts_mutator *m, ts_stmt *s) {
  return s->kind == TS_S_BLOCK_REALIZE ? s : NULL;
}

ts_status *ts_sch_compute_inline(ts_schedule *s, ts_rv block_rv) {
  const char *prim = "compute_inline";
  ts_stmt *blk;
  TS_RETURN_IF_ERROR(sch_block(s, block_rv, &blk));
  ts_primfunc *f = sch_rv_func(s, block_rv);
  ts_block *b = blk->u.realize.block;
  TS_RETURN_IF_ERROR(check_simple_store(prim, "", blk));
  ts_stmt *store = b->body;
  const ts_buffer *buf = store->u.store.buffer;
  if (is_param_buffer(f, buf))
    return sch_error(prim, "block '%s' writes '%s', an output of the "
                           "function; it cannot be inlined", b->name,
                     buf->name);
  TS_RETURN_IF_ERROR(check_plain_indices(prim, b, store->u.store.indices,
                                         store->u.store.n, true, buf->name));
  if (stmt_reads(store, buf))
    return sch_error(prim, "block '%s' reads the buffer '%s' it writes",
                     b->name, buf->name);
  ts_stmt **all;
  int nall;
  sch_all_blocks(f->body, &all, &nall);
  ts_status *st = NULL;
  for (int i = 0; i < nall && !st; i++) {
    ts_block *o = all[i]->u.realize.block;
    if (all[i] == blk) continue;
    for (int w = 0; w < o->n_writes; w++)
      if (o->writes[w].buffer == buf)
        st = sch_error(prim, "buffer '%s' is also written by block '%s'",
                       buf->name, o->name);
  }
  ts_stmt *top = NULL;
  if (!st) st = removable_top(prim, f, blk, &top);
  if (st) {
    free(all);
    return st;
  }
  ts_arena *a = s->mod->arena;
  ts_var **params = ts_xmalloc(sizeof(ts_var *) * (size_t)store->u.store.n);
  for (int d = 0; d < store->u.store.n; d++)
    params[d] = store->u.store.indices[d]->u.var;
  inline_ctx ic = {.buf = buf, .params = params, .value = store->u.store.value};
  ts_mutator m = {.arena = a, .expr_post = inline_post,
                  .stmt_pre = keep_nested, .ctx = &ic};
  for (int i = 0; i < nall; i++) {
    if (all[i] == blk) continue;
    ts_block *o = all[i]->u.realize.block;
    bool reads = (o->body && stmt_reads(o->body, buf)) ||
                 (o->init && stmt_reads(o->init, buf));
    if (!reads) continue;
    /* only the block's own statements: nested blocks are visited in turn */
    if (o->init) o->init = ts_mutate_stmt(&m, o->init);
    o->body = ts_mutate_stmt(&m, o->body);
    ts_block_infer_regions(a, o);
  }
  remove_top(s, f, top, blk);
  remove_alloc(f, buf);
  sch_invalidate_node(s, blk);
  sch_record(s, "sch.compute_inline(block=%s)",
             ts_schedule_rv_name(s, block_rv));
  free(params);
  free(all);
  return NULL;
}

ts_status *ts_sch_reverse_compute_inline(ts_schedule *s, ts_rv block_rv) {
  const char *prim = "reverse_compute_inline";
  ts_stmt *blk;
  TS_RETURN_IF_ERROR(sch_block(s, block_rv, &blk));
  ts_primfunc *f = sch_rv_func(s, block_rv);
  ts_block *c = blk->u.realize.block;
  TS_RETURN_IF_ERROR(check_simple_store(prim, "", blk));
  /* The producer P among the siblings. */
  ts_stmt **sib;
  int nsib;
  siblings(f, blk, &sib, &nsib);
  ts_stmt *prod = NULL;
  ts_status *st = NULL;
  for (int i = 0; i < nsib && !st; i++) {
    if (sib[i] == blk || !sch_block_feeds(sib[i]->u.realize.block, c))
      continue;
    if (prod)
      st = sch_error(prim, "block '%s' has several producers ('%s' and "
                           "'%s')", c->name, prod->u.realize.block->name,
                     sib[i]->u.realize.block->name);
    prod = sib[i];
  }
  if (!st && !prod)
    st = sch_error(prim, "block '%s' has no producer to inline into",
                   c->name);
  if (!st) st = check_simple_store(prim, "producer ", prod);
  const ts_buffer *buf = NULL;
  ts_block *p = prod ? prod->u.realize.block : NULL;
  if (!st) {
    buf = p->body->u.store.buffer;
    if (is_param_buffer(f, buf))
      st = sch_error(prim, "the producer '%s' writes '%s', an input or "
                           "output of the function", p->name, buf->name);
  }
  load_check lc = {buf, NULL, 0, false, 0};
  if (!st) {
    st = check_plain_indices(prim, p, p->body->u.store.indices,
                             p->body->u.store.n, true, buf->name);
  }
  if (!st) {
    ts_expr_visit(c->body->u.store.value, load_visit, &lc);
    for (int i = 0; i < c->body->u.store.n; i++)
      ts_expr_visit(c->body->u.store.indices[i], load_visit, &lc);
    if (lc.count == 0 || lc.mismatch)
      st = sch_error(prim, "block '%s' must read '%s' at one index", c->name,
                     buf->name);
    else
      st = check_plain_indices(prim, c, lc.idx, lc.n, true, buf->name);
  }
  for (int i = 0; i < nsib && !st; i++)
    if (sib[i] != blk && sib[i] != prod &&
        sch_block_feeds(p, sib[i]->u.realize.block))
      st = sch_error(prim, "buffer '%s' is also read by block '%s'",
                     buf->name, sib[i]->u.realize.block->name);
  ts_stmt *top = NULL;
  if (!st) st = removable_top(prim, f, blk, &top);
  free(sib);
  if (st) return st;

  ts_arena *a = s->mod->arena;
  /* consumer iteration variable -> producer's index at that dimension */
  ts_ptrmap vm = {0};
  for (int d = 0; d < lc.n; d++)
    ts_ptrmap_put(&vm, lc.idx[d]->u.var, p->body->u.store.indices[d]);
  /* replace the loads of buf by the producer's value, then rename */
  ts_var **params = ts_xmalloc(sizeof(ts_var *) * (size_t)lc.n);
  for (int d = 0; d < lc.n; d++)
    params[d] = p->body->u.store.indices[d]->u.var;
  ts_stmt *cs = c->body;
  inline_ctx ic = {.buf = buf, .params = params,
                   .value = p->body->u.store.value};
  ts_mutator m = {.arena = a, .expr_post = inline_post, .ctx = &ic};
  /* first rename C's variables to P's index expressions (so buf's loads
   * become buf[P's indices]), then inline P's value */
  ts_stmt *renamed = ts_stmt_substitute(a, cs, &vm);
  ts_stmt *ns = ts_mutate_stmt(&m, renamed);
  ts_ptrmap_free(&vm);
  p->body = ns;
  ts_block_infer_regions(a, p);
  remove_top(s, f, top, blk);
  remove_alloc(f, buf);
  sch_invalidate_node(s, blk);
  sch_record(s, "sch.reverse_compute_inline(block=%s)",
             ts_schedule_rv_name(s, block_rv));
  free(params);
  return NULL;
}
