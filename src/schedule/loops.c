/* loops.c: loop primitives: split, fuse, reorder, add_unit_loop, parallel,
 * vectorize, unroll, bind; and the in-place substitution helper they share
 * with compute_at.c.
 *
 * Conventions (as in TVM):
 *  - split names its loops <var>_0, <var>_1, ...; the old variable becomes
 *    i_0 * (f1 * f2) + i_1 * f2 + i_2 in the block bindings; when the
 *    factors overshoot the extent (one None factor rounded up), the blocks
 *    under the loop get the predicate `i_0 * f1 + i_1 < extent`.
 *  - fuse names its loop i_j_fused; the old variables become
 *    fused // (ej * ek), fused % (ej * ek) // ek, fused % ek.
 *  - reorder relinks the existing loop nodes, so handles stay valid.
 * Every primitive checks all its preconditions before touching the IR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

/* ---- shared helpers ---------------------------------------------------------- */


static bool all_blocks_visit(const ts_stmt *s, void *vv) {
  TS_VEC(ts_stmt *) *v = vv;
  if (s->kind == TS_S_BLOCK_REALIZE) ts_vec_push(v, (ts_stmt *)s);
  return true;
}

void sch_all_blocks(ts_stmt *s, ts_stmt ***out, int *out_n) {
  TS_VEC(ts_stmt *) v = {0};
  ts_stmt_visit(s, all_blocks_visit, NULL, &v);
  *out = v.data;
  *out_n = (int)v.len;
}

static void subst_exprs(ts_arena *a, ts_expr **es, int n,
                        const ts_ptrmap *vmap) {
  for (int i = 0; i < n; i++)
    if (es[i]) es[i] = ts_expr_substitute(a, es[i], vmap);
}

static void subst_regions(ts_arena *a, ts_region *rs, int n,
                          const ts_ptrmap *vmap) {
  for (int i = 0; i < n; i++)
    for (int d = 0; d < rs[i].n; d++) {
      rs[i].ranges[d].min = ts_expr_substitute(a, rs[i].ranges[d].min, vmap);
      rs[i].ranges[d].extent =
          ts_expr_substitute(a, rs[i].ranges[d].extent, vmap);
    }
}

void sch_subst_inplace(ts_arena *a, ts_stmt *s, const ts_ptrmap *vmap) {
  if (!s) return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      sch_subst_inplace(a, s->u.seq.stmts[i], vmap);
    return;
  case TS_S_FOR:
    s->u.for_.min = ts_expr_substitute(a, s->u.for_.min, vmap);
    s->u.for_.extent = ts_expr_substitute(a, s->u.for_.extent, vmap);
    sch_subst_inplace(a, s->u.for_.body, vmap);
    return;
  case TS_S_BLOCK_REALIZE: {
    ts_block *b = s->u.realize.block;
    subst_exprs(a, s->u.realize.iter_values, b->n_iter_vars, vmap);
    if (s->u.realize.predicate)
      s->u.realize.predicate =
          ts_expr_substitute(a, s->u.realize.predicate, vmap);
    for (int i = 0; i < b->n_iter_vars; i++) {
      b->iter_vars[i].dom.min =
          ts_expr_substitute(a, b->iter_vars[i].dom.min, vmap);
      b->iter_vars[i].dom.extent =
          ts_expr_substitute(a, b->iter_vars[i].dom.extent, vmap);
    }
    subst_regions(a, b->reads, b->n_reads, vmap);
    subst_regions(a, b->writes, b->n_writes, vmap);
    sch_subst_inplace(a, b->init, vmap);
    sch_subst_inplace(a, b->body, vmap);
    return;
  }
  case TS_S_STORE:
    subst_exprs(a, s->u.store.indices, s->u.store.n, vmap);
    s->u.store.value = ts_expr_substitute(a, s->u.store.value, vmap);
    return;
  case TS_S_IF:
    s->u.if_.cond = ts_expr_substitute(a, s->u.if_.cond, vmap);
    sch_subst_inplace(a, s->u.if_.then_s, vmap);
    sch_subst_inplace(a, s->u.if_.else_s, vmap);
    return;
  case TS_S_LET:
    s->u.let.value = ts_expr_substitute(a, s->u.let.value, vmap);
    sch_subst_inplace(a, s->u.let.body, vmap);
    return;
  case TS_S_EVALUATE:
    s->u.eval.value = ts_expr_substitute(a, s->u.eval.value, vmap);
    return;
  case TS_S_ALLOCATE: sch_subst_inplace(a, s->u.alloc.body, vmap); return;
  case TS_S_ASSERT:
    s->u.assert_.cond = ts_expr_substitute(a, s->u.assert_.cond, vmap);
    sch_subst_inplace(a, s->u.assert_.body, vmap);
    return;
  }
}

typedef struct scoped_ctx {
  const char *cand;
  bool taken;
} scoped_ctx;

static void scoped_check_one(const ts_stmt *s, scoped_ctx *c) {
  if (s->kind == TS_S_FOR && !strcmp(s->u.for_.var->name, c->cand))
    c->taken = true;
  if (s->kind == TS_S_LET && !strcmp(s->u.let.var->name, c->cand))
    c->taken = true;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; i < b->n_iter_vars; i++)
      if (!strcmp(b->iter_vars[i].var->name, c->cand)) c->taken = true;
    for (int i = 0; i < b->n_alloc_buffers; i++)
      if (!strcmp(b->alloc_buffers[i]->name, c->cand)) c->taken = true;
  }
}

static bool scoped_visit(const ts_stmt *s, void *vc) {
  scoped_check_one(s, vc);
  return true;
}

static bool scoped_taken(ts_primfunc *f, ts_stmt *node, const char *cand) {
  for (int i = 0; i < f->n_params; i++) {
    if (!strcmp(f->params[i].var->name, cand)) return true;
    if (f->params[i].buffer && !strcmp(f->params[i].buffer->name, cand))
      return true;
  }
  scoped_ctx c = {cand, false};
  for (ts_stmt *p = sch_parent(f, node, NULL); p && !c.taken;
       p = sch_parent(f, p, NULL))
    scoped_check_one(p, &c);
  if (!c.taken) ts_stmt_visit(node, scoped_visit, NULL, &c);
  return c.taken;
}

const char *sch_scoped_name(ts_schedule *s, ts_primfunc *f, ts_stmt *node,
                            const char *base) {
  if (!scoped_taken(f, node, base)) return ts_arena_strdup(s->mod->arena, base);
  for (int k = 1;; k++) {
    char *cand = ts_arena_printf(s->mod->arena, "%s_%d", base, k);
    if (!scoped_taken(f, node, cand)) return cand;
  }
}

/* ---- local helpers ---------------------------------------------------------- */

static const char *lname(const ts_stmt *loop) {
  return loop->u.for_.var->name;
}

static ts_stmt *new_loop(ts_arena *a, ts_var *v, int64_t extent,
                         ts_stmt *body, ts_loc loc) {
  ts_stmt *l = ts_stmt_new(a, TS_S_FOR, loc);
  l->u.for_.var = v;
  l->u.for_.min = ts_int(a, v->dtype, 0);
  l->u.for_.extent = ts_int(a, v->dtype, extent);
  l->u.for_.kind = TS_FOR_SERIAL;
  l->u.for_.body = body;
  return l;
}

static ts_status *loop_static(const char *prim, const ts_stmt *loop,
                              int64_t *out_extent) {
  int64_t mn;
  if (!ts_expr_is_const_int(loop->u.for_.min, &mn) || mn != 0)
    return sch_error(prim, "loop '%s' does not start at 0", lname(loop));
  if (!ts_expr_is_const_int(loop->u.for_.extent, out_extent))
    return sch_error(prim, "loop '%s' has a symbolic extent, which %s does "
                           "not support yet", lname(loop), prim);
  return NULL;
}

static void and_predicate(ts_arena *a, ts_stmt *realize, ts_expr *pred) {
  ts_expr *old = realize->u.realize.predicate;
  int64_t c;
  if (old && !(ts_expr_is_const_int(old, &c) && c != 0))
    pred = ts_binary(a, TS_E_AND, old, pred);
  realize->u.realize.predicate = pred;
}

/* ---- split --------------------------------------------------------------------- */

ts_status *ts_sch_split(ts_schedule *s, ts_rv loop_rv, const int64_t *factors,
                        const ts_rv *factor_rvs, int n,
                        bool preserve_unit_iters, ts_rv **out) {
  ts_stmt *loop;
  TS_RETURN_IF_ERROR(sch_loop(s, loop_rv, &loop));
  ts_primfunc *f = sch_rv_func(s, loop_rv);
  if (n < 2)
    return sch_error("split", "expects at least 2 factors, got %d", n);
  int64_t extent;
  TS_RETURN_IF_ERROR(loop_static("split", loop, &extent));
  int64_t *fs = ts_xmalloc(sizeof(int64_t) * (size_t)n);
  int none_at = -1, n_none = 0;
  int64_t prod = 1;
  for (int i = 0; i < n; i++) {
    fs[i] = factors[i];
    if (factor_rvs && factor_rvs[i] >= 0) {
      ts_status *st = ts_sch_get_int(s, factor_rvs[i], &fs[i]);
      if (st) {
        free(fs);
        return st;
      }
    }
    if (fs[i] == -1) {
      n_none++;
      none_at = i;
      continue;
    }
    if (fs[i] <= 0) {
      int64_t bad = fs[i];
      free(fs);
      return sch_error("split", "factor %d is %lld; factors must be positive "
                                "(or None)", i, (long long)bad);
    }
    prod *= fs[i];
  }
  if (n_none > 1) {
    free(fs);
    return sch_error("split", "at most one factor may be None, got %d",
                     n_none);
  }
  if (n_none == 1) {
    fs[none_at] = (extent + prod - 1) / prod;
    if (fs[none_at] < 1) fs[none_at] = 1;
    prod *= fs[none_at];
  } else if (prod != extent) {
    ts_strbuf b = {0};
    for (int i = 0; i < n; i++)
      ts_strbuf_printf(&b, "%s%lld", i ? ", " : "", (long long)fs[i]);
    ts_status *st = sch_error(
        "split", "factors [%s] multiply to %lld, but loop '%s' has extent "
                 "%lld", b.data, (long long)prod, lname(loop),
        (long long)extent);
    ts_strbuf_free(&b);
    free(fs);
    return st;
  }

  /* Mutation starts here. */
  ts_arena *a = s->mod->arena;
  ts_var *old = loop->u.for_.var;
  ts_var **vars = ts_xmalloc(sizeof(ts_var *) * (size_t)n);
  for (int i = 0; i < n; i++) {
    char base[256];
    snprintf(base, sizeof base, "%s_%d", old->name, i);
    vars[i] = ts_var_new(a, sch_scoped_name(s, f, loop, base), old->dtype,
                         loop->loc);
  }
  /* i_0 * (f1 * f2) + i_1 * f2 + i_2 */
  ts_expr *sum = NULL;
  int64_t stride = prod;
  for (int i = 0; i < n; i++) {
    stride /= fs[i];
    if (!preserve_unit_iters && fs[i] == 1) continue;
    ts_expr *t = ts_varref(a, vars[i]);
    if (stride != 1)
      t = ts_binary(a, TS_E_MUL, t, ts_int(a, old->dtype, stride));
    sum = sum ? ts_binary(a, TS_E_ADD, sum, t) : t;
  }
  if (!sum) sum = ts_int(a, old->dtype, 0);
  ts_ptrmap vm = {0};
  ts_ptrmap_put(&vm, old, sum);
  ts_stmt *body = loop->u.for_.body;
  sch_subst_inplace(a, body, &vm);
  ts_ptrmap_free(&vm);
  if (prod != extent) {
    ts_expr *pred = ts_binary(a, TS_E_LT, sum, ts_int(a, old->dtype, extent));
    ts_stmt **blocks;
    int nb;
    sch_child_blocks(loop, &blocks, &nb);
    for (int i = 0; i < nb; i++) and_predicate(a, blocks[i], pred);
    free(blocks);
  }
  ts_stmt **loops = ts_xmalloc(sizeof(ts_stmt *) * (size_t)n);
  for (int i = n - 1; i >= 0; i--) {
    body = new_loop(a, vars[i], fs[i], body, loop->loc);
    loops[i] = body;
  }
  sch_replace(f, loop, loops[0]);
  sch_invalidate_node(s, loop);
  *out = ts_xmalloc(sizeof(ts_rv) * (size_t)n);
  for (int i = 0; i < n; i++)
    (*out)[i] = sch_new_rv(s, SCH_RV_LOOP, loops[i], f);

  /* trace: factors as given (None, constants, sampled handles) */
  ts_strbuf fb = {0};
  for (int i = 0; i < n; i++) {
    if (i) ts_strbuf_append(&fb, ", ");
    if (factor_rvs && factor_rvs[i] >= 0)
      ts_strbuf_append(&fb, ts_schedule_rv_name(s, factor_rvs[i]));
    else if (factors[i] == -1)
      ts_strbuf_append(&fb, "None");
    else
      ts_strbuf_printf(&fb, "%lld", (long long)factors[i]);
  }
  char *lhs = sch_rv_list(s, *out, n, false);
  sch_record(s, "%s = sch.split(loop=%s, factors=[%s], "
                "preserve_unit_iters=%s)",
             lhs, ts_schedule_rv_name(s, loop_rv), fb.data,
             preserve_unit_iters ? "True" : "False");
  free(lhs);
  ts_strbuf_free(&fb);
  free(loops);
  free(vars);
  free(fs);
  return NULL;
}

/* ---- fuse ------------------------------------------------------------------------ */

/* True when `inner` lies in the subtree of `outer`. */
static bool is_descendant(ts_primfunc *f, ts_stmt *outer, ts_stmt *inner) {
  for (ts_stmt *p = sch_parent(f, inner, NULL); p; p = sch_parent(f, p, NULL))
    if (p == outer) return true;
  return false;
}

static ts_status *check_distinct(const char *prim, ts_schedule *s,
                                 ts_stmt **ls, int n) {
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (ls[i] == ls[j])
        return sch_error(prim, "loop '%s' is given twice", lname(ls[i]));
  return NULL;
}

ts_status *ts_sch_fuse(ts_schedule *s, const ts_rv *rvs, int n,
                       bool preserve_unit_iters, ts_rv *out) {
  if (n < 2) return sch_error("fuse", "expects at least 2 loops, got %d", n);
  ts_stmt **ls = ts_xmalloc(sizeof(ts_stmt *) * (size_t)n);
  int64_t *ext = ts_xmalloc(sizeof(int64_t) * (size_t)n);
  ts_primfunc *f = sch_rv_func(s, rvs[0]);
  ts_status *st = NULL;
  for (int i = 0; i < n && !st; i++) st = sch_loop(s, rvs[i], &ls[i]);
  if (!st) st = check_distinct("fuse", s, ls, n);
  for (int i = 0; i < n && !st; i++) st = loop_static("fuse", ls[i], &ext[i]);
  for (int i = 0; i < n && !st; i++)
    if (ext[i] == 0)
      st = sch_error("fuse", "loop '%s' has extent 0 (an empty iteration "
                             "space has nothing to fuse)",
                     lname(ls[i]));
  for (int i = 0; i + 1 < n && !st; i++) {
    ts_stmt *body = ls[i]->u.for_.body;
    if (body == ls[i + 1]) continue;
    if (!is_descendant(f, ls[i], ls[i + 1]))
      st = sch_error("fuse", "loop '%s' is not inside loop '%s'; give the "
                             "loops outermost first",
                     lname(ls[i + 1]), lname(ls[i]));
    else if (body->kind == TS_S_FOR)
      st = sch_error("fuse", "loops '%s' and '%s' are not adjacent: loop "
                             "'%s' lies between them",
                     lname(ls[i]), lname(ls[i + 1]), lname(body));
    else
      st = sch_error("fuse", "loops '%s' and '%s' are not perfectly nested: "
                             "'%s' is not the only statement in the body "
                             "of '%s'",
                     lname(ls[i]), lname(ls[i + 1]), lname(ls[i + 1]),
                     lname(ls[i]));
  }
  if (st) {
    free(ls);
    free(ext);
    return st;
  }

  ts_arena *a = s->mod->arena;
  ts_strbuf nb = {0};
  for (int i = 0; i < n; i++) {
    ts_strbuf_append(&nb, lname(ls[i]));
    ts_strbuf_append(&nb, "_");
  }
  ts_strbuf_append(&nb, "fused");
  ts_dtype dt = ls[0]->u.for_.var->dtype;
  ts_var *fv =
      ts_var_new(a, sch_scoped_name(s, f, ls[0], nb.data), dt, ls[0]->loc);
  ts_strbuf_free(&nb);
  int64_t total = 1;
  for (int i = 0; i < n; i++) total *= ext[i];
  /* old_i = fused % (e_i * inner_i) // inner_i, inner_i = product of the
   * extents inside loop i; the % is dropped for the outermost loop and the
   * // for the innermost. */
  ts_ptrmap vm = {0};
  int64_t inner = total;
  for (int i = 0; i < n; i++) {
    int64_t here = inner;
    inner /= ext[i];
    ts_expr *e = ts_varref(a, fv);
    if (!preserve_unit_iters && ext[i] == 1) {
      e = ts_int(a, dt, 0);
    } else {
      if (i > 0) e = ts_binary(a, TS_E_FLOORMOD, e, ts_int(a, dt, here));
      if (inner != 1)
        e = ts_binary(a, TS_E_FLOORDIV, e, ts_int(a, dt, inner));
    }
    ts_ptrmap_put(&vm, ls[i]->u.for_.var, e);
  }
  ts_stmt *body = ls[n - 1]->u.for_.body;
  sch_subst_inplace(a, body, &vm);
  ts_ptrmap_free(&vm);
  ts_stmt *fused = new_loop(a, fv, total, body, ls[0]->loc);
  sch_replace(f, ls[0], fused);
  for (int i = 0; i < n; i++) sch_invalidate_node(s, ls[i]);
  *out = sch_new_rv(s, SCH_RV_LOOP, fused, f);
  char *args = sch_rv_list(s, rvs, n, false);
  sch_record(s, "%s = sch.fuse(%s, preserve_unit_iters=%s)",
             ts_schedule_rv_name(s, *out), args,
             preserve_unit_iters ? "True" : "False");
  free(args);
  free(ls);
  free(ext);
  return NULL;
}

/* ---- reorder ----------------------------------------------------------------------- */

static int depth_of(ts_primfunc *f, ts_stmt *node) {
  int d = 0;
  for (ts_stmt *p = sch_parent(f, node, NULL); p; p = sch_parent(f, p, NULL))
    d++;
  return d;
}

ts_status *ts_sch_reorder(ts_schedule *s, const ts_rv *rvs, int n) {
  if (n < 1) return sch_error("reorder", "expects at least one loop");
  ts_stmt **ls = ts_xmalloc(sizeof(ts_stmt *) * (size_t)n);
  ts_primfunc *f = sch_rv_func(s, rvs[0]);
  ts_status *st = NULL;
  for (int i = 0; i < n && !st; i++) st = sch_loop(s, rvs[i], &ls[i]);
  if (!st) st = check_distinct("reorder", s, ls, n);
  for (int i = 0; i < n && !st; i++)
    if (sch_rv_func(s, rvs[i]) != f)
      st = sch_error("reorder", "loops '%s' and '%s' are in different "
                               "functions", lname(ls[0]), lname(ls[i]));
  if (st) {
    free(ls);
    return st;
  }
  /* Sort a copy by depth: the loops must form one chain top..bottom. */
  ts_stmt **byd = ts_xmalloc(sizeof(ts_stmt *) * (size_t)n);
  int *dep = ts_xmalloc(sizeof(int) * (size_t)n);
  for (int i = 0; i < n; i++) {
    byd[i] = ls[i];
    dep[i] = depth_of(f, ls[i]);
  }
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && dep[j - 1] > dep[j]; j--) {
      int td = dep[j];
      dep[j] = dep[j - 1];
      dep[j - 1] = td;
      ts_stmt *tl = byd[j];
      byd[j] = byd[j - 1];
      byd[j - 1] = tl;
    }
  TS_VEC(ts_stmt *) chain = {0}; /* every loop from top to bottom */
  ts_vec_push(&chain, byd[0]);
  for (int i = 0; i + 1 < n && !st; i++) {
    ts_stmt *outer = byd[i], *inner = byd[i + 1];
    if (!is_descendant(f, outer, inner)) {
      st = sch_error("reorder", "loops '%s' and '%s' are not in the same "
                                "loop nest", lname(outer), lname(inner));
      break;
    }
    /* walk down from outer to inner through single-child loops */
    for (ts_stmt *cur = outer; cur != inner && !st;) {
      ts_stmt *b = cur->u.for_.body;
      if (b->kind == TS_S_FOR) {
        if (b != inner) ts_vec_push(&chain, b);
        cur = b;
      } else if (b->kind == TS_S_BLOCK_REALIZE) {
        st = sch_error("reorder", "block '%s' lies between loops '%s' and "
                                  "'%s'", b->u.realize.block->name,
                       lname(outer), lname(inner));
      } else {
        st = sch_error("reorder", "loops '%s' and '%s' are not in the same "
                                  "loop nest: '%s' has more than one "
                                  "statement in its body",
                       lname(outer), lname(inner), lname(cur));
      }
    }
    ts_vec_push(&chain, inner);
  }
  if (!st) {
    /* positions of the given loops in the chain get the given order */
    ts_stmt **order = ts_xmalloc(sizeof(ts_stmt *) * chain.len);
    int next = 0;
    for (size_t k = 0; k < chain.len; k++) {
      bool given = false;
      for (int i = 0; i < n; i++)
        if (chain.data[k] == ls[i]) given = true;
      order[k] = given ? ls[next++] : chain.data[k];
    }
    ts_stmt *top = chain.data[0];
    ts_stmt *bottom_body = chain.data[chain.len - 1]->u.for_.body;
    ts_stmt **slot = NULL;
    sch_parent(f, top, &slot);
    for (size_t k = 0; k + 1 < chain.len; k++)
      order[k]->u.for_.body = order[k + 1];
    order[chain.len - 1]->u.for_.body = bottom_body;
    *slot = order[0];
    free(order);
    char *args = sch_rv_list(s, rvs, n, false);
    sch_record(s, "sch.reorder(%s)", args);
    free(args);
  }
  ts_vec_free(&chain);
  free(byd);
  free(dep);
  free(ls);
  return st;
}

/* ---- add_unit_loop ------------------------------------------------------------------ */

ts_status *ts_sch_add_unit_loop(ts_schedule *s, ts_rv block_or_loop,
                                ts_rv *out) {
  ts_stmt *node;
  TS_RETURN_IF_ERROR(sch_block_or_loop(s, block_or_loop, &node));
  ts_primfunc *f = sch_rv_func(s, block_or_loop);
  if (!sch_parent(f, node, NULL))
    return sch_error("add_unit_loop", "cannot add a loop above the root "
                                      "block");
  ts_arena *a = s->mod->arena;
  ts_var *u =
      ts_var_new(a, sch_scoped_name(s, f, node, "u"), TS_I32, node->loc);
  ts_stmt **slot = NULL;
  sch_parent(f, node, &slot);
  ts_stmt *l = new_loop(a, u, 1, node, node->loc);
  *slot = l;
  *out = sch_new_rv(s, SCH_RV_LOOP, l, f);
  sch_record(s, "%s = sch.add_unit_loop(block_or_loop=%s)",
             ts_schedule_rv_name(s, *out),
             ts_schedule_rv_name(s, block_or_loop));
  return NULL;
}

/* ---- loop kinds ------------------------------------------------------------------------ */

static const char *kind_word(ts_for_kind k) {
  switch (k) {
  case TS_FOR_SERIAL: return "serial";
  case TS_FOR_PARALLEL: return "parallel";
  case TS_FOR_VECTORIZED: return "vectorized";
  case TS_FOR_UNROLLED: return "unrolled";
  case TS_FOR_THREAD_BINDING: return "bound to a thread axis";
  }
  return "?";
}

/* Refuses a loop that binds a reduction variable of a block under it
 * (parallel and vectorized iterations of a reduction would race). */
static ts_status *check_no_reduce(const char *prim, const char *verb,
                                  ts_stmt *loop) {
  ts_stmt **bs;
  int nb;
  sch_all_blocks(loop->u.for_.body, &bs, &nb);
  ts_status *st = NULL;
  for (int i = 0; i < nb && !st; i++) {
    ts_block *b = bs[i]->u.realize.block;
    for (int k = 0; k < b->n_iter_vars && !st; k++)
      if (b->iter_vars[k].type != TS_ITER_SPATIAL &&
          ts_expr_uses_var(bs[i]->u.realize.iter_values[k], loop->u.for_.var))
        st = sch_error(prim, "loop '%s' is bound to %s variable '%s' of "
                             "block '%s'; %s it would race",
                       lname(loop),
                       b->iter_vars[k].type == TS_ITER_REDUCE ? "reduction"
                                                              : "non-spatial",
                       b->iter_vars[k].var->name, b->name, verb);
  }
  free(bs);
  return st;
}

static ts_status *set_kind(ts_schedule *s, ts_rv rv, const char *prim,
                           ts_for_kind kind, const char *thread) {
  ts_stmt *loop;
  TS_RETURN_IF_ERROR(sch_loop(s, rv, &loop));
  if (loop->u.for_.kind != TS_FOR_SERIAL)
    return sch_error(prim, "loop '%s' is already %s; only a serial loop can "
                           "be changed", lname(loop),
                     kind_word(loop->u.for_.kind));
  if (kind == TS_FOR_PARALLEL)
    TS_RETURN_IF_ERROR(check_no_reduce(prim, "parallelizing", loop));
  if (kind == TS_FOR_VECTORIZED)
    TS_RETURN_IF_ERROR(check_no_reduce(prim, "vectorizing", loop));
  loop->u.for_.kind = kind;
  if (thread) {
    loop->u.for_.thread_tag = ts_arena_strdup(s->mod->arena, thread);
    sch_record(s, "sch.bind(loop=%s, thread_axis=\"%s\")",
               ts_schedule_rv_name(s, rv), thread);
  } else {
    sch_record(s, "sch.%s(loop=%s)", prim, ts_schedule_rv_name(s, rv));
  }
  return NULL;
}

ts_status *ts_sch_parallel(ts_schedule *s, ts_rv loop) {
  return set_kind(s, loop, "parallel", TS_FOR_PARALLEL, NULL);
}
ts_status *ts_sch_vectorize(ts_schedule *s, ts_rv loop) {
  return set_kind(s, loop, "vectorize", TS_FOR_VECTORIZED, NULL);
}
ts_status *ts_sch_unroll(ts_schedule *s, ts_rv loop) {
  return set_kind(s, loop, "unroll", TS_FOR_UNROLLED, NULL);
}

static bool valid_thread_axis(const char *t) {
  static const char *const ok[] = {
      "blockIdx.x",  "blockIdx.y",  "blockIdx.z", "threadIdx.x",
      "threadIdx.y", "threadIdx.z", "vthread.x",  "vthread.y",
      "vthread.z",   "vthread"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (!strcmp(t, ok[i])) return true;
  return false;
}

ts_status *ts_sch_bind(ts_schedule *s, ts_rv loop, const char *thread_axis) {
  if (!valid_thread_axis(thread_axis))
    return sch_error("bind", "unknown thread axis '%s' (expected blockIdx.x/"
                             "y/z, threadIdx.x/y/z or vthread.x/y/z)",
                     thread_axis);
  return set_kind(s, loop, "bind", TS_FOR_THREAD_BINDING, thread_axis);
}
