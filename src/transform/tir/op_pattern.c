/* op_pattern.c: the `annotate-op-pattern` pass (TVM's AnnotateTIROpPattern).
 *
 * Every TensorIR function gets the function attribute "op_pattern" (int):
 * the fusion pattern of ops.h (elementwise 0, broadcast 1, injective 2,
 * comm-reduce 3, out-ewise-fusable 4, opaque 8), found by looking at its
 * blocks as TVM's PatternKindAnalyzer does.  The function's pattern is the
 * largest of its blocks' patterns.  For one (non-root) block:
 *
 *   - it must hold exactly one store and nothing but loads, stores, lets,
 *     ifs and pure arithmetic; otherwise it is opaque;
 *   - each load is compared with the store: same indices -> elementwise;
 *     the load's indices are a subsequence of the store's (unit dimensions
 *     indexed by 0 skipped) -> broadcast; the store's indices are variables
 *     and the load uses no others -> injective; else the pair is opaque;
 *   - when every pair has a pattern, the block has the largest of them;
 *   - otherwise a block with a reduction iteration variable is
 *     out-ewise-fusable when its body is `C[..] = C[..] + A[..] * B[..]`
 *     with A or B reused along some output dimension (matmul, conv,
 *     depthwise conv: its weight is shared by every pixel),
 *     and comm-reduce otherwise (sum, max);
 *   - anything else is opaque.
 * Statements outside blocks other than loops, and a function with no
 * blocks at all, make the function opaque. */
#include <stdlib.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

typedef struct block_scan {
  const ts_stmt *store;
  int n_stores;
  TS_VEC(const ts_expr *) loads;
  bool opaque;
} block_scan;

static bool scan_expr(const ts_expr *e, void *ctx) {
  block_scan *s = ctx;
  if (e->kind == TS_E_LOAD) ts_vec_push(&s->loads, e);
  if (e->kind == TS_E_CALL && e->u.call.op == TS_INTRIN_CALL_EXTERN) s->opaque = true;
  return true;
}

static bool scan_stmt(const ts_stmt *st, void *ctx) {
  block_scan *s = ctx;
  switch (st->kind) {
  case TS_S_STORE:
    s->store = st;
    s->n_stores++;
    return true;
  case TS_S_BLOCK_REALIZE: /* a nested block: not a leaf */
  case TS_S_ALLOCATE:
  case TS_S_ASSERT:
  case TS_S_EVALUATE:
    s->opaque = true;
    return false;
  default:
    return true;
  }
}

static bool same_indices(const ts_expr *const *a, const ts_expr *const *b, int n) {
  for (int i = 0; i < n; i++)
    if (!ts_expr_same(a[i], b[i])) return false;
  return true;
}

static bool is_elemwise(const ts_stmt *st, const ts_expr *ld) {
  return st->u.store.n == ld->u.load.n &&
         same_indices((const ts_expr *const *)st->u.store.indices,
                      (const ts_expr *const *)ld->u.load.indices, ld->u.load.n);
}

static bool is_broadcast(const ts_stmt *st, const ts_expr *ld) {
  int j = 0, ns = st->u.store.n;
  for (int i = 0; i < ld->u.load.n; i++) {
    int64_t v, z;
    if (ts_expr_is_const_int(ld->u.load.buffer->shape[i], &v) && v == 1 &&
        ts_expr_is_const_int(ld->u.load.indices[i], &z) && z == 0)
      continue;
    while (j < ns && !ts_expr_same(st->u.store.indices[j], ld->u.load.indices[i])) j++;
    if (j == ns) return false;
    j++;
  }
  return true;
}

typedef struct var_check {
  const ts_stmt *store;
  bool foreign; /* a variable not among the store's indices */
} var_check;

static bool store_has_var(const ts_stmt *st, const ts_var *v) {
  for (int i = 0; i < st->u.store.n; i++)
    if (st->u.store.indices[i]->u.var == v) return true;
  return false;
}

static bool check_var(const ts_expr *e, void *ctx) {
  var_check *c = ctx;
  if (e->kind == TS_E_VAR && !store_has_var(c->store, e->u.var)) c->foreign = true;
  return true;
}

static bool is_injective(const ts_stmt *st, const ts_expr *ld) {
  for (int i = 0; i < st->u.store.n; i++)
    if (st->u.store.indices[i]->kind != TS_E_VAR) return false;
  var_check c = {st, false};
  for (int i = 0; i < ld->u.load.n; i++) ts_expr_visit(ld->u.load.indices[i], check_var, &c);
  return !c.foreign;
}

/* Some variable of the store's indices is unused by the load: the loaded
 * value is reused along that output dimension (TVM's IsAllowReusePattern). */
typedef struct reuse_check {
  const ts_var **vars;
  bool *used;
  int n;
} reuse_check;

static bool mark_used(const ts_expr *e, void *ctx) {
  reuse_check *r = ctx;
  if (e->kind == TS_E_VAR)
    for (int i = 0; i < r->n; i++)
      if (r->vars[i] == e->u.var) r->used[i] = true;
  return true;
}

static bool allows_reuse(const ts_stmt *st, const ts_expr *ld) {
  const ts_var *vars[TS_MAX_NDIM + 8];
  bool used[TS_MAX_NDIM + 8] = {0};
  int n = st->u.store.n;
  if (n > TS_MAX_NDIM + 8) return false;
  for (int i = 0; i < n; i++) {
    if (st->u.store.indices[i]->kind != TS_E_VAR) return false;
    vars[i] = st->u.store.indices[i]->u.var;
  }
  reuse_check r = {vars, used, n};
  for (int i = 0; i < ld->u.load.n; i++) ts_expr_visit(ld->u.load.indices[i], mark_used, &r);
  for (int i = 0; i < n; i++)
    if (!used[i]) return true;
  return false;
}

static bool is_fma(const ts_stmt *body) {
  if (body->kind != TS_S_STORE) return false;
  const ts_expr *v = body->u.store.value;
  if (v->kind != TS_E_ADD) return false;
  const ts_expr *l = v->u.bin.a, *r = v->u.bin.b;
  if (l->kind != TS_E_LOAD || r->kind != TS_E_MUL) return false;
  if (l->u.load.buffer != body->u.store.buffer || l->u.load.n != body->u.store.n ||
      !same_indices((const ts_expr *const *)l->u.load.indices,
                    (const ts_expr *const *)body->u.store.indices, l->u.load.n))
    return false;
  const ts_expr *a = r->u.bin.a, *b = r->u.bin.b;
  while (a->kind == TS_E_CAST) a = a->u.unary.a;
  while (b->kind == TS_E_CAST) b = b->u.unary.a;
  if (a->kind != TS_E_LOAD || b->kind != TS_E_LOAD) return false;
  /* one operand reused across an output dimension (a weight, as in a
   * depthwise convolution's w[c, 0, ry, rx]) makes it conv-like, as TVM
   * patterns every conv2d */
  return allows_reuse(body, a) || allows_reuse(body, b);
}

static ts_op_pattern block_pattern(const ts_block *blk) {
  block_scan s = {0};
  ts_stmt_visit(blk->body, scan_stmt, scan_expr, &s);
  ts_op_pattern k = TS_PAT_ELEMWISE;
  if (s.opaque || s.n_stores != 1) {
    k = TS_PAT_OPAQUE;
    goto out;
  }
  for (size_t i = 0; i < s.loads.len; i++) {
    const ts_expr *ld = s.loads.data[i];
    ts_op_pattern p;
    if (is_elemwise(s.store, ld)) p = TS_PAT_ELEMWISE;
    else if (is_broadcast(s.store, ld)) p = TS_PAT_BROADCAST;
    else if (is_injective(s.store, ld)) p = TS_PAT_INJECTIVE;
    else {
      k = TS_PAT_OPAQUE;
      break;
    }
    if (p > k) k = p;
  }
  if (k != TS_PAT_OPAQUE) goto out;
  bool reduce = false;
  for (int i = 0; i < blk->n_iter_vars; i++)
    reduce |= blk->iter_vars[i].type == TS_ITER_REDUCE;
  if (reduce) k = is_fma(blk->body) ? TS_PAT_OUT_FUSABLE : TS_PAT_REDUCTION;
out:
  ts_vec_free(&s.loads);
  return k;
}

typedef struct func_scan {
  ts_op_pattern kind;
  int n_blocks;
  const ts_block *root;
} func_scan;

static bool scan_func_stmt(const ts_stmt *st, void *ctx) {
  func_scan *f = ctx;
  switch (st->kind) {
  case TS_S_BLOCK_REALIZE: {
    const ts_block *b = st->u.realize.block;
    if (b == f->root) return true;
    f->n_blocks++;
    ts_op_pattern p = block_pattern(b);
    if (p > f->kind) f->kind = p;
    return false;
  }
  case TS_S_SEQ:
  case TS_S_FOR:
    return true;
  default: /* a statement outside any block */
    f->kind = TS_PAT_OPAQUE;
    return false;
  }
}

/* The fusion pattern of a TensorIR function (see the file comment). */
static ts_op_pattern primfunc_pattern(const ts_primfunc *f) {
  func_scan s = {TS_PAT_ELEMWISE, 0, NULL};
  if (!f->body) return TS_PAT_OPAQUE;
  if (f->body->kind == TS_S_BLOCK_REALIZE) {
    s.root = f->body->u.realize.block;
    if (s.root->init || s.root->n_match_buffers) return TS_PAT_OPAQUE;
  }
  ts_stmt_visit(s.root ? s.root->body : f->body, scan_func_stmt, NULL, &s);
  if (s.n_blocks == 0) return TS_PAT_OPAQUE;
  return s.kind;
}

ts_status *ts_pass_annotate_op_pattern(ts_module *m, const char *args) {
  (void)args;
  ts_arena *a = m->arena;
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *f = m->funcs[i].u.prim;
    ts_op_pattern k = primfunc_pattern(f);
    /* attributes may be shared with another function: copy before setting */
    ts_attrs *na = ts_attrs_new(a);
    if (f->attrs)
      for (int j = 0; j < f->attrs->n; j++)
        ts_attrs_set(a, na, f->attrs->keys[j], f->attrs->values[j]);
    ts_attrs_set(a, na, "op_pattern", ts_attr_int(a, (int64_t)k));
    f->attrs = na;
  }
  return NULL;
}
