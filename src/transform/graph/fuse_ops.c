/* fuse_ops.c: the `fuse-ops` pass (TVM's FuseOps over call_tir).
 *
 * Works on each dataflow block of each graph function separately (nothing
 * is fused across blocks, so never across a binding outside dataflow).  The
 * block is a graph: one node per binding, an edge from a binding to each
 * binding of the block that uses its variable.  A node is fusable when its
 * value is `R.call_tir(cls.f, (args...), out_sinfo=<one tensor>)` and f
 * carries the "op_pattern" attribute (annotate-op-pattern); every other
 * binding (call_dps_packed, tuples, op calls, ...) is an opaque node.  The
 * pattern of an edge is its consumer's pattern, a broadcast consumer whose
 * argument already has the output's shape counting as elementwise.
 *
 * Grouping follows TVM's GraphPartitioner: the post-dominator tree of the
 * block is built (a variable used outside the block -- R.output -- has no
 * post-dominator), then in three phases each node in binding order is
 * merged into its immediate post-dominator's group when every path between
 * them passes the test of its kind:
 *   out-ewise-fusable (matmul, conv), phase 0: the paths are elementwise and
 *     the nodes on them at most broadcast (epilogues: bias, relu, residual);
 *   elementwise/broadcast, every phase: the paths are at most injective or a
 *     reduction, the nodes on them injective at most, the post-dominator may
 *     also be a reduction or an out-ewise-fusable group;
 *   injective, phase 1: paths and nodes at most injective;
 *   comm-reduce and opaque: never merged into a consumer.
 * A group that absorbs an out-ewise-fusable node takes its pattern.  Because
 * a node joins its post-dominator together with every node between them,
 * only a group's last binding (its root) is used outside the group.
 *
 * Each group of two or more bindings becomes a private graph function
 * `fused_<f1>_<f2>...` (callee names in binding order, made unique) with
 * attribute {"Primitive": 1}: parameters are the group's inputs in order of
 * first use (named after the arguments), the body one dataflow block with
 * the group's call_tir bindings, returning the root.  The root's binding in
 * the original function becomes a call of it; the other bindings go. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

typedef struct edge {
  int to;
  ts_op_pattern pattern;
} edge;

typedef struct node {
  ts_op_pattern pattern; /* the callee's op_pattern, or opaque */
  bool fusable;          /* a call_tir of an annotated function */
  bool extern_ref;       /* used outside the block */
  TS_VEC(edge) outs;     /* consumers in the block */
  /* post-dominator tree */
  int pd_parent; /* -1: none */
  int pd_depth;
  ts_op_pattern pd_pattern; /* the largest edge pattern on the way there */
  /* union-find of groups */
  int gparent;
  ts_op_pattern gpattern;
  bool anchor; /* the group holds an out-ewise-fusable node */
} node;

typedef struct fuser {
  ts_module *m;
  node *nodes;
  int n;
  char *visited;
} fuser;

static ts_op_pattern pmax(ts_op_pattern a, ts_op_pattern b) { return a > b ? a : b; }

static int find(fuser *f, int i) {
  while (f->nodes[i].gparent != i) i = f->nodes[i].gparent;
  return i;
}

/* The PrimFunc a call_tir binding calls, when the binding is fusable. */
static ts_primfunc *fusable_callee(ts_module *m, const ts_binding *b) {
  const ts_gexpr *v = b->value;
  if (b->kind != TS_BIND_VAR || v->kind != TS_G_CALL ||
      v->u.call.callee_kind != TS_CALLEE_OP || v->u.call.op != TS_OP_CALL_TIR ||
      v->u.call.n_args != 2 || v->u.call.args[0]->kind != TS_G_GLOBAL ||
      v->u.call.args[1]->kind != TS_G_TUPLE || v->u.call.n_sinfo_args != 1 ||
      v->u.call.sinfo_args[0]->kind != TS_SI_TENSOR)
    return NULL;
  ts_primfunc *p = ts_module_primfunc(m, v->u.call.args[0]->u.global_name);
  if (!p) return NULL;
  ts_attr_value *pat = ts_attrs_get(p->attrs, "op_pattern");
  if (!pat || pat->kind != TS_ATTR_INT) return NULL;
  const ts_gexpr *tup = v->u.call.args[1];
  for (int i = 0; i < tup->u.tuple.n; i++) {
    const ts_gexpr *a = tup->u.tuple.fields[i];
    const ts_sinfo *si = a->kind == TS_G_VAR ? a->u.var->sinfo : a->sinfo;
    if ((a->kind != TS_G_VAR && a->kind != TS_G_CONST) || !si || si->kind != TS_SI_TENSOR)
      return NULL;
  }
  return p;
}

static bool same_shape(const ts_sinfo *a, const ts_sinfo *b) {
  if (!a || !b || a->kind != TS_SI_TENSOR || b->kind != TS_SI_TENSOR) return false;
  if (a->u.tensor.ndim != b->u.tensor.ndim || !a->u.tensor.shape || !b->u.tensor.shape)
    return false;
  for (int d = 0; d < a->u.tensor.ndim; d++)
    if (!ts_expr_same(a->u.tensor.shape[d], b->u.tensor.shape[d])) return false;
  return true;
}

static void add_edge(fuser *f, const ts_ptrmap *def, const ts_gvar *v, int to,
                     ts_op_pattern p) {
  if (!ts_ptrmap_has(def, v)) return;
  int from = (int)(intptr_t)ts_ptrmap_get(def, v);
  edge e = {to, p};
  ts_vec_push(&f->nodes[from].outs, e);
}

/* Edges from every variable used in an opaque value. */
static void add_uses(fuser *f, const ts_ptrmap *def, const ts_gexpr *e, int to) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_VAR: add_edge(f, def, e->u.var, to, TS_PAT_OPAQUE); break;
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) add_uses(f, def, e->u.tuple.fields[i], to);
    break;
  case TS_G_TUPLE_GET: add_uses(f, def, e->u.tuple_get.tuple, to); break;
  case TS_G_CALL:
    for (int i = 0; i < e->u.call.n_args; i++) add_uses(f, def, e->u.call.args[i], to);
    break;
  default: break;
  }
}

/* ---- post-dominator tree ----------------------------------------------------- */

static int lca(fuser *f, int l, int r, ts_op_pattern *pat) {
  while (l != r) {
    if (l < 0 || r < 0) return -1;
    node *a = &f->nodes[l], *b = &f->nodes[r];
    if (a->pd_depth < b->pd_depth) {
      *pat = pmax(*pat, b->pd_pattern);
      r = b->pd_parent;
    } else if (b->pd_depth < a->pd_depth) {
      *pat = pmax(*pat, a->pd_pattern);
      l = a->pd_parent;
    } else {
      *pat = pmax(*pat, pmax(a->pd_pattern, b->pd_pattern));
      l = a->pd_parent;
      r = b->pd_parent;
    }
  }
  return l;
}

static void build_post_dom(fuser *f) {
  for (int k = f->n - 1; k >= 0; k--) {
    node *nd = &f->nodes[k];
    if (nd->extern_ref) {
      nd->pd_parent = -1;
      nd->pd_depth = 1;
      nd->pd_pattern = TS_PAT_OPAQUE;
      continue;
    }
    ts_op_pattern pat = TS_PAT_ELEMWISE;
    int parent = -1;
    for (size_t i = 0; i < nd->outs.len; i++) {
      edge e = nd->outs.data[i];
      parent = i == 0 ? e.to : lca(f, parent, e.to, &pat);
      pat = pmax(pat, e.pattern);
    }
    nd->pd_parent = parent;
    nd->pd_depth = parent >= 0 ? f->nodes[parent].pd_depth + 1 : 1;
    nd->pd_pattern = pat;
  }
}

/* ---- grouping ------------------------------------------------------------------ */

typedef bool (*path_cond)(ts_op_pattern kind, bool is_sink);

static bool cond_out_fusable(ts_op_pattern k, bool sink) {
  (void)sink;
  return k <= TS_PAT_BROADCAST;
}

static bool cond_broadcast(ts_op_pattern k, bool sink) {
  if (!sink) return k <= TS_PAT_INJECTIVE;
  return k <= TS_PAT_INJECTIVE || k == TS_PAT_REDUCTION || k == TS_PAT_OUT_FUSABLE;
}

static bool cond_injective(ts_op_pattern k, bool sink) {
  (void)sink;
  return k <= TS_PAT_INJECTIVE;
}

static bool check_path_(fuser *f, int src, int sink, path_cond cond) {
  if (f->visited[src]) return true;
  f->visited[src] = 1;
  node *nd = &f->nodes[src];
  if (!nd->fusable || !cond(f->nodes[find(f, src)].gpattern, src == sink)) return false;
  if (src == sink) return true;
  for (size_t i = 0; i < nd->outs.len; i++)
    if (!check_path_(f, nd->outs.data[i].to, sink, cond)) return false;
  return true;
}

static bool check_path(fuser *f, int src, int sink, path_cond cond) {
  memset(f->visited, 0, (size_t)f->n);
  node *nd = &f->nodes[src];
  for (size_t i = 0; i < nd->outs.len; i++)
    if (!check_path_(f, nd->outs.data[i].to, sink, cond)) return false;
  return true;
}

static void merge(fuser *f, int child, int parent) {
  child = find(f, child);
  parent = find(f, parent);
  if (child == parent) return;
  node *c = &f->nodes[child], *p = &f->nodes[parent];
  c->gparent = parent;
  if (c->anchor) {
    p->anchor = true;
    p->gpattern = pmax(c->gpattern, p->gpattern);
  }
}

static void commit_(fuser *f, int src, int sink) {
  if (src == sink || f->visited[src]) return;
  f->visited[src] = 1;
  merge(f, src, sink);
  node *nd = &f->nodes[src];
  for (size_t i = 0; i < nd->outs.len; i++) commit_(f, nd->outs.data[i].to, sink);
}

static void commit(fuser *f, int src, int sink) {
  memset(f->visited, 0, (size_t)f->n);
  commit_(f, src, sink);
}

static void run_fuse(fuser *f) {
  for (int phase = 0; phase < 3; phase++) {
    for (int k = 0; k < f->n; k++) {
      node *nd = &f->nodes[k];
      ts_op_pattern gp = nd->gpattern;
      if (!nd->fusable || gp == TS_PAT_OPAQUE || nd->pd_parent < 0) continue;
      int dp = nd->pd_parent;
      if (find(f, k) == find(f, dp)) continue;
      if (gp == TS_PAT_OUT_FUSABLE) {
        if (phase == 0 && nd->pd_pattern == TS_PAT_ELEMWISE &&
            check_path(f, k, dp, cond_out_fusable))
          commit(f, k, dp);
      } else if (gp <= TS_PAT_BROADCAST) {
        if ((nd->pd_pattern <= TS_PAT_INJECTIVE || nd->pd_pattern == TS_PAT_REDUCTION) &&
            check_path(f, k, dp, cond_broadcast))
          commit(f, k, dp);
      } else if (gp == TS_PAT_INJECTIVE) {
        if (phase == 1 && nd->pd_pattern <= TS_PAT_INJECTIVE &&
            check_path(f, k, dp, cond_injective))
          commit(f, k, dp);
      }
    }
  }
}

/* ---- building the fused functions ------------------------------------------------ */

static const char *unique_name(ts_module *m, const char *base) {
  if (!ts_module_lookup(m, base)) return base;
  for (int k = 1;; k++) {
    const char *n = ts_arena_printf(m->arena, "%s%d", base, k);
    if (!ts_module_lookup(m, n)) return n;
  }
}

static ts_gexpr *var_ref(ts_arena *a, ts_gvar *v, ts_loc loc) {
  ts_gexpr *g = ts_gexpr_new(a, TS_G_VAR, loc);
  g->u.var = v;
  g->sinfo = v->sinfo;
  return g;
}

/* Turns the group of bindings `mem` (indices into blk, in order; the last
 * is the root) into a Primitive function; rewrites the root's binding into
 * a call of it.  Other members are marked in `drop`. */
static void outline_group(ts_module *m, ts_binding_block *blk, const int *mem,
                          int n_mem, char *drop) {
  ts_arena *a = m->arena;
  ts_ptrmap map = {0}; /* original gvar / input gexpr -> new gexpr */
  TS_VEC(ts_gexpr *) inputs = {0};
  TS_VEC(ts_gvar *) params = {0};
  ts_strbuf name = {0};
  ts_strbuf_append(&name, "fused");
  for (int i = 0; i < n_mem; i++) {
    ts_gexpr *call = blk->bindings[mem[i]].value;
    ts_strbuf_printf(&name, "_%s", call->u.call.args[0]->u.global_name);
    ts_gexpr *tup = call->u.call.args[1];
    for (int j = 0; j < tup->u.tuple.n; j++) {
      ts_gexpr *arg = tup->u.tuple.fields[j];
      const void *key = arg->kind == TS_G_VAR ? (const void *)arg->u.var : arg;
      if (ts_ptrmap_has(&map, key)) continue;
      ts_gvar *p = ts_arena_alloc(a, sizeof *p);
      p->name = arg->kind == TS_G_VAR ? arg->u.var->name
                                      : ts_arena_printf(a, "p%d", (int)inputs.len);
      p->sinfo = arg->kind == TS_G_VAR ? arg->u.var->sinfo : arg->sinfo;
      p->loc = arg->loc;
      ts_vec_push(&inputs, arg);
      ts_vec_push(&params, p);
      ts_ptrmap_put(&map, key, var_ref(a, p, arg->loc));
    }
    /* the member's own variable */
    ts_gvar *ov = blk->bindings[mem[i]].var;
    ts_gvar *nv = ts_arena_memdup(a, ov, sizeof *ov);
    nv->is_dataflow = i < n_mem - 1;
    ts_ptrmap_put(&map, ov, var_ref(a, nv, ov->loc));
  }
  /* the function's body */
  ts_binding *bs = ts_arena_array(a, (size_t)n_mem, sizeof(ts_binding));
  for (int i = 0; i < n_mem; i++) {
    ts_binding *ob = &blk->bindings[mem[i]];
    ts_gexpr *call = ts_arena_memdup(a, ob->value, sizeof(ts_gexpr));
    ts_gexpr *otup = ob->value->u.call.args[1];
    ts_gexpr *tup = ts_arena_memdup(a, otup, sizeof(ts_gexpr));
    tup->u.tuple.fields = ts_arena_array(a, (size_t)otup->u.tuple.n + 1, sizeof(ts_gexpr *));
    for (int j = 0; j < otup->u.tuple.n; j++) {
      ts_gexpr *arg = otup->u.tuple.fields[j];
      const void *key = arg->kind == TS_G_VAR ? (const void *)arg->u.var : arg;
      tup->u.tuple.fields[j] = ts_ptrmap_get(&map, key);
    }
    call->u.call.args = ts_arena_array(a, 2, sizeof(ts_gexpr *));
    call->u.call.args[0] = ob->value->u.call.args[0];
    call->u.call.args[1] = tup;
    bs[i] = *ob;
    bs[i].value = call;
    bs[i].var = ((ts_gexpr *)ts_ptrmap_get(&map, ob->var))->u.var;
  }
  ts_gfunc *g = ts_arena_alloc(a, sizeof *g);
  g->name = unique_name(m, ts_arena_strdup(a, name.data));
  g->n_params = (int)params.len;
  g->params = ts_vec_to_arena(a, &params);
  g->n_blocks = 1;
  g->blocks = ts_arena_alloc(a, sizeof(ts_binding_block));
  g->blocks[0].is_dataflow = true;
  g->blocks[0].bindings = bs;
  g->blocks[0].n = n_mem;
  g->blocks[0].n_outputs = 1;
  g->blocks[0].outputs = ts_arena_alloc(a, sizeof(ts_gvar *));
  g->blocks[0].outputs[0] = bs[n_mem - 1].var;
  g->blocks[0].loc = blk->loc;
  g->result = var_ref(a, bs[n_mem - 1].var, bs[n_mem - 1].loc);
  g->ret_sinfo = bs[n_mem - 1].var->sinfo;
  g->attrs = ts_attrs_new(a);
  ts_attrs_set(a, g->attrs, "Primitive", ts_attr_int(a, 1));
  g->is_pure = true;
  g->is_private = true;
  g->loc = blk->bindings[mem[n_mem - 1]].loc;
  ts_func nf = {.kind = TS_FUNC_GRAPH, .name = g->name, .u.graph = g};
  ts_module_set(m, nf);
  /* the call replacing the group */
  ts_binding *root = &blk->bindings[mem[n_mem - 1]];
  ts_gexpr *c = ts_gexpr_new(a, TS_G_CALL, root->value->loc);
  c->u.call.callee_kind = TS_CALLEE_GLOBAL;
  c->u.call.name = g->name;
  c->u.call.n_args = (int)inputs.len;
  c->u.call.args = ts_arena_array(a, inputs.len + 1, sizeof(ts_gexpr *));
  for (size_t i = 0; i < inputs.len; i++) c->u.call.args[i] = inputs.data[i];
  c->sinfo = root->value->sinfo ? root->value->sinfo : root->var->sinfo;
  root->value = c;
  for (int i = 0; i < n_mem - 1; i++) drop[mem[i]] = 1;
  ts_vec_free(&inputs);
  ts_vec_free(&params);
  ts_strbuf_free(&name);
  ts_ptrmap_free(&map);
}

static bool used_outside(const ts_binding_block *blk, const ts_gvar *v) {
  if (!v->is_dataflow) return true;
  for (int i = 0; i < blk->n_outputs; i++)
    if (blk->outputs[i] == v) return true;
  return false;
}

static void fuse_block(ts_module *m, ts_binding_block *blk) {
  int n = blk->n;
  if (n < 2) return;
  fuser f = {m, ts_xcalloc((size_t)n, sizeof(node)), n, ts_xcalloc((size_t)n, 1)};
  ts_ptrmap def = {0};
  for (int k = 0; k < n; k++) {
    ts_binding *b = &blk->bindings[k];
    node *nd = &f.nodes[k];
    ts_primfunc *p = fusable_callee(m, b);
    nd->fusable = p != NULL;
    nd->pattern = TS_PAT_OPAQUE;
    if (p) {
      int64_t v = ts_attrs_get(p->attrs, "op_pattern")->u.i;
      nd->pattern = v == 0 ? TS_PAT_ELEMWISE : v == 1 ? TS_PAT_BROADCAST
                  : v == 2 ? TS_PAT_INJECTIVE : v == 3 ? TS_PAT_REDUCTION
                  : v == 4 ? TS_PAT_OUT_FUSABLE : TS_PAT_OPAQUE;
      if (nd->pattern == TS_PAT_OPAQUE) nd->fusable = false;
    }
    nd->extern_ref = used_outside(blk, b->var);
    nd->gparent = k;
    nd->gpattern = nd->pattern;
    nd->anchor = nd->pattern == TS_PAT_OUT_FUSABLE;
    if (nd->fusable) {
      const ts_gexpr *tup = b->value->u.call.args[1];
      const ts_sinfo *out = b->value->u.call.sinfo_args[0];
      for (int j = 0; j < tup->u.tuple.n; j++) {
        const ts_gexpr *arg = tup->u.tuple.fields[j];
        if (arg->kind != TS_G_VAR) continue;
        ts_op_pattern ep = nd->pattern;
        if (ep == TS_PAT_BROADCAST && same_shape(arg->u.var->sinfo, out))
          ep = TS_PAT_ELEMWISE;
        add_edge(&f, &def, arg->u.var, k, ep);
      }
    } else {
      add_uses(&f, &def, b->value, k);
    }
    ts_ptrmap_put(&def, b->var, (void *)(intptr_t)k);
  }
  build_post_dom(&f);
  run_fuse(&f);
  /* collect groups (members in binding order; the root is the last) */
  int *mem = ts_xcalloc((size_t)n, sizeof(int));
  char *drop = ts_xcalloc((size_t)n, 1);
  for (int r = 0; r < n; r++) {
    if (find(&f, r) != r || !f.nodes[r].fusable) continue;
    int cnt = 0;
    for (int k = 0; k < n; k++)
      if (find(&f, k) == r) mem[cnt++] = k;
    if (cnt < 2) continue;
    /* what the grouping guarantees (only the root is used outside the
     * group), checked: a group breaking it stays unfused */
    bool ok = mem[cnt - 1] == r;
    for (int i = 0; i < cnt - 1 && ok; i++) {
      node *nd = &f.nodes[mem[i]];
      ok = !nd->extern_ref && nd->fusable;
      for (size_t e = 0; e < nd->outs.len && ok; e++)
        ok = find(&f, nd->outs.data[e].to) == r;
    }
    if (ok) outline_group(m, blk, mem, cnt, drop);
  }
  int w = 0;
  for (int k = 0; k < n; k++)
    if (!drop[k]) blk->bindings[w++] = blk->bindings[k];
  blk->n = w;
  free(mem);
  free(drop);
  for (int k = 0; k < n; k++) ts_vec_free(&f.nodes[k].outs);
  free(f.nodes);
  free(f.visited);
  ts_ptrmap_free(&def);
}

ts_status *ts_pass_fuse_ops(ts_module *m, const char *args) {
  (void)args;
  int n = m->n_funcs; /* functions added here are not revisited */
  for (int i = 0; i < n; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    if (ts_attrs_get(g->attrs, "Primitive")) continue;
    for (int b = 0; b < g->n_blocks; b++)
      if (g->blocks[b].is_dataflow) fuse_block(m, &g->blocks[b]);
  }
  return NULL;
}
