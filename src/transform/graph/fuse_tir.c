/* fuse_tir.c: the `fuse-tir` pass (TVM's FuseTIR).
 *
 * Each graph function with attribute "Primitive" (made by fuse-ops) whose
 * body is call_tir bindings of TensorIR functions becomes ONE TensorIR
 * function of the same name:
 *   - parameters: the graph function's tensor parameters (named after
 *     them), then the output buffer (named after the producing function's
 *     output buffer);
 *   - each call_tir'd function is deep-copied and inlined in binding order:
 *     its input buffers are replaced by the buffers of its arguments, its
 *     output buffer by the output parameter (for the returned value) or by a
 *     new T.alloc_buffer of the root block named after that output buffer
 *     (intermediates); symbolic dimensions are bound from the argument
 *     buffers; its own alloc_buffers move to the root block;
 *   - block names are kept; a name already used gets "_1", "_2", ...
 *   - attribute {"tir.noalias": True}.
 * Calls of the graph function become `R.call_tir(cls.<name>, (args...),
 * out_sinfo=...)`.  TensorIR functions that were inlined and are no longer
 * referenced anywhere are removed.  A Primitive function of another shape
 * (non-tensor parameters, scalar arguments, several outputs) is left as it
 * is. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

typedef struct fuse_ctx {
  ts_module *m;
  ts_arena *a;
  ts_ptrmap gvars;  /* graph-level symbolic ts_var -> fused ts_var */
  TS_VEC(const char *) block_names;
  TS_VEC(const char *) buffer_names;
  TS_VEC(ts_stmt *) stages;
  TS_VEC(ts_buffer *) allocs;
  TS_VEC(ts_param) params;
} fuse_ctx;

/* ---- graph-level shapes -> TensorIR ------------------------------------------ */

static bool collect_var(const ts_expr *e, void *ctx) {
  fuse_ctx *c = ctx;
  if (e->kind == TS_E_VAR && !ts_ptrmap_has(&c->gvars, e->u.var)) {
    ts_var *v = ts_var_new(c->a, e->u.var->name, e->u.var->dtype, e->u.var->loc);
    ts_ptrmap_put(&c->gvars, e->u.var, ts_varref(c->a, v));
  }
  return true;
}

static ts_expr *map_shape(fuse_ctx *c, ts_expr *e) {
  ts_expr_visit(e, collect_var, c);
  return ts_expr_substitute(c->a, e, &c->gvars);
}

static bool symbolic(const ts_buffer *b) {
  for (int d = 0; d < b->ndim; d++)
    if (!ts_expr_is_const_int(b->shape[d], NULL)) return true;
  return false;
}

static bool name_in(const char *const *names, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(names[i], s)) return true;
  return false;
}

/* `base`, or base_1, base_2, ... when taken (TVM's suffixes on clashes). */
static const char *unique_in(ts_arena *a, const char *const *names, size_t n,
                             const char *base) {
  const char *r = base;
  for (int k = 1; name_in(names, n, r); k++) r = ts_arena_printf(a, "%s_%d", base, k);
  return r;
}

static const char *buffer_name(fuse_ctx *c, const char *base) {
  const char *n = unique_in(c->a, c->buffer_names.data, c->buffer_names.len, base);
  ts_vec_push(&c->buffer_names, n);
  return n;
}

static ts_buffer *tensor_buffer(fuse_ctx *c, const char *name, const ts_sinfo *si) {
  name = buffer_name(c, name);
  int nd = si->u.tensor.ndim;
  ts_expr **sh = ts_arena_array(c->a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++) sh[d] = map_shape(c, si->u.tensor.shape[d]);
  return ts_buffer_new(c->a, name, si->u.tensor.dtype, nd, sh);
}

static void add_param(fuse_ctx *c, ts_buffer *b) {
  ts_param p = {0};
  p.buffer = b;
  p.via_match_buffer = symbolic(b);
  p.var = ts_var_new(c->a, p.via_match_buffer ? ts_arena_printf(c->a, "var_%s", b->name)
                                               : b->name,
                     TS_HANDLET, (ts_loc){0});
  if (!p.via_match_buffer) b->data = p.var; /* as the reader builds them */
  ts_vec_push(&c->params, p);
}

static bool known_tensor(const ts_sinfo *si) {
  return si && si->kind == TS_SI_TENSOR && si->u.tensor.ndim >= 0 &&
         si->u.tensor.shape && si->u.tensor.dtype.code != TS_VOID;
}

/* ---- checking that a Primitive function can be merged --------------------------- */

static ts_primfunc *callee_of(ts_module *m, const ts_binding *b) {
  const ts_gexpr *v = b->value;
  if (b->kind != TS_BIND_VAR || v->kind != TS_G_CALL ||
      v->u.call.callee_kind != TS_CALLEE_OP || v->u.call.op != TS_OP_CALL_TIR ||
      v->u.call.n_args != 2 || v->u.call.args[0]->kind != TS_G_GLOBAL ||
      v->u.call.args[1]->kind != TS_G_TUPLE || v->u.call.n_sinfo_args != 1 ||
      !known_tensor(v->u.call.sinfo_args[0]))
    return NULL;
  ts_primfunc *p = ts_module_primfunc(m, v->u.call.args[0]->u.global_name);
  const ts_gexpr *tup = v->u.call.args[1];
  if (!p || p->n_params != tup->u.tuple.n + 1) return NULL;
  for (int i = 0; i < p->n_params; i++)
    if (!p->params[i].buffer) return NULL;
  for (int i = 0; i < tup->u.tuple.n; i++)
    if (tup->u.tuple.fields[i]->kind != TS_G_VAR) return NULL;
  return p;
}

static bool mergeable(ts_module *m, const ts_gfunc *g) {
  for (int i = 0; i < g->n_params; i++)
    if (!known_tensor(g->params[i]->sinfo)) return false;
  if (!g->result || g->result->kind != TS_G_VAR) return false;
  bool found = false;
  for (int b = 0; b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++) {
      if (!callee_of(m, &g->blocks[b].bindings[k])) return false;
      found |= g->blocks[b].bindings[k].var == g->result->u.var;
    }
  return found;
}

/* ---- inlining one call_tir ------------------------------------------------------ */

static bool rename_block(const ts_stmt *s, void *ctx) {
  fuse_ctx *c = ctx;
  if (s->kind != TS_S_BLOCK_REALIZE) return true;
  ts_block *b = s->u.realize.block; /* a node of this function's own copy */
  const char *n = unique_in(c->a, c->block_names.data, c->block_names.len, b->name);
  b->name = n;
  ts_vec_push(&c->block_names, n);
  return true;
}

/* Inlines `f` (a deep copy owned by the new function) with its buffer
 * parameters bound to `bufs` (inputs then the output). */
static void inline_call(fuse_ctx *c, ts_primfunc *f, ts_buffer **bufs) {
  ts_ptrmap vmap = {0}, bmap = {0};
  for (int i = 0; i < f->n_params; i++) {
    ts_buffer *pb = f->params[i].buffer;
    ts_ptrmap_put(&bmap, pb, bufs[i]);
    for (int d = 0; d < pb->ndim && d < bufs[i]->ndim; d++)
      if (pb->shape[d]->kind == TS_E_VAR && !ts_ptrmap_has(&vmap, pb->shape[d]->u.var))
        ts_ptrmap_put(&vmap, pb->shape[d]->u.var, bufs[i]->shape[d]);
  }
  ts_stmt *body = f->body;
  ts_block *root = NULL;
  if (body->kind == TS_S_BLOCK_REALIZE && !body->u.realize.block->init &&
      !body->u.realize.block->n_iter_vars) {
    root = body->u.realize.block;
    body = root->body;
  }
  if (root)
    for (int i = 0; i < root->n_alloc_buffers; i++) {
      ts_buffer *ab = root->alloc_buffers[i], *nb = ab;
      if (symbolic(ab)) {
        nb = ts_arena_memdup(c->a, ab, sizeof *ab);
        nb->shape = ts_arena_array(c->a, (size_t)ab->ndim + 1, sizeof(ts_expr *));
        for (int d = 0; d < ab->ndim; d++)
          nb->shape[d] = ts_expr_substitute(c->a, ab->shape[d], &vmap);
        ts_ptrmap_put(&bmap, ab, nb);
      }
      nb->name = buffer_name(c, ab->name); /* nb belongs to this function */
      ts_vec_push(&c->allocs, nb);
    }
  body = ts_stmt_substitute(c->a, body, &vmap);
  body = ts_stmt_replace_buffers(c->a, body, &bmap);
  ts_stmt_visit(body, rename_block, NULL, c);
  ts_vec_push(&c->stages, body);
  ts_ptrmap_free(&vmap);
  ts_ptrmap_free(&bmap);
}

/* Builds the merged TensorIR function of Primitive function g. */
static ts_primfunc *merge_gfunc(ts_module *m, const ts_gfunc *g) {
  fuse_ctx c = {0};
  c.m = m;
  c.a = m->arena;
  ts_ptrmap vbuf = {0}; /* graph var -> buffer */
  for (int i = 0; i < g->n_params; i++) {
    ts_buffer *b = tensor_buffer(&c, g->params[i]->name, g->params[i]->sinfo);
    add_param(&c, b);
    ts_ptrmap_put(&vbuf, g->params[i], b);
  }
  ts_buffer *out = NULL;
  for (int bi = 0; bi < g->n_blocks; bi++)
    for (int k = 0; k < g->blocks[bi].n; k++) {
      const ts_binding *b = &g->blocks[bi].bindings[k];
      ts_primfunc *f = ts_primfunc_copy(c.a, callee_of(m, b));
      const ts_gexpr *tup = b->value->u.call.args[1];
      int n_in = tup->u.tuple.n;
      ts_buffer **bufs = ts_arena_array(c.a, (size_t)n_in + 1, sizeof(ts_buffer *));
      for (int j = 0; j < n_in; j++) {
        bufs[j] = ts_ptrmap_get(&vbuf, tup->u.tuple.fields[j]->u.var);
        TS_ASSERT(bufs[j]); /* bindings are in definition order */
      }
      ts_buffer *ob = tensor_buffer(&c, f->params[n_in].buffer->name,
                                    b->value->u.call.sinfo_args[0]);
      bufs[n_in] = ob;
      if (b->var == g->result->u.var) out = ob;
      else ts_vec_push(&c.allocs, ob);
      ts_ptrmap_put(&vbuf, b->var, ob);
      inline_call(&c, f, bufs);
    }
  add_param(&c, out);
  ts_primfunc *pf = ts_arena_alloc(c.a, sizeof *pf);
  pf->name = g->name;
  pf->n_params = (int)c.params.len;
  pf->params = ts_vec_to_arena(c.a, &c.params);
  pf->attrs = ts_attrs_new(c.a);
  ts_attrs_set(c.a, pf->attrs, "tir.noalias", ts_attr_bool(c.a, true));
  pf->is_private = true;
  pf->loc = g->loc;
  ts_block *root = ts_arena_alloc(c.a, sizeof *root);
  root->name = "root";
  root->n_alloc_buffers = (int)c.allocs.len;
  root->alloc_buffers = ts_vec_to_arena(c.a, &c.allocs);
  root->body = ts_seq(c.a, c.stages.data, (int)c.stages.len);
  ts_stmt *r = ts_stmt_new(c.a, TS_S_BLOCK_REALIZE, g->loc);
  r->u.realize.block = root;
  pf->body = r;
  ts_vec_free(&c.params);
  ts_vec_free(&c.stages);
  ts_vec_free(&c.allocs);
  ts_vec_free(&c.block_names);
  ts_vec_free(&c.buffer_names);
  ts_ptrmap_free(&c.gvars);
  ts_ptrmap_free(&vbuf);
  return pf;
}

/* ---- callers and clean-up -------------------------------------------------------- */

/* `cls.f(args...)` -> `R.call_tir(cls.f, (args...), out_sinfo=ret)` */
static ts_gexpr *as_call_tir(ts_arena *a, ts_gexpr *call, ts_sinfo *ret) {
  ts_gexpr *gv = ts_gexpr_new(a, TS_G_GLOBAL, call->loc);
  gv->u.global_name = call->u.call.name;
  ts_gexpr *tup = ts_gexpr_new(a, TS_G_TUPLE, call->loc);
  tup->u.tuple.n = call->u.call.n_args;
  tup->u.tuple.fields = call->u.call.args;
  ts_gexpr *c = ts_gexpr_new(a, TS_G_CALL, call->loc);
  c->sinfo = ret;
  c->u.call.callee_kind = TS_CALLEE_OP;
  c->u.call.op = TS_OP_CALL_TIR;
  c->u.call.n_args = 2;
  c->u.call.args = ts_arena_array(a, 2, sizeof(ts_gexpr *));
  c->u.call.args[0] = gv;
  c->u.call.args[1] = tup;
  c->u.call.n_sinfo_args = 1;
  c->u.call.sinfo_args = ts_arena_array(a, 1, sizeof(ts_sinfo *));
  c->u.call.sinfo_args[0] = ret;
  return c;
}

static void mark_refs(const ts_gexpr *e, ts_ptrmap *refs, ts_module *m) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_GLOBAL: {
    ts_func *f = ts_module_lookup(m, e->u.global_name);
    if (f) ts_ptrmap_put(refs, f->name, NULL);
    break;
  }
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) mark_refs(e->u.tuple.fields[i], refs, m);
    break;
  case TS_G_TUPLE_GET: mark_refs(e->u.tuple_get.tuple, refs, m); break;
  case TS_G_CALL:
    if (e->u.call.callee_kind == TS_CALLEE_GLOBAL) {
      ts_func *f = ts_module_lookup(m, e->u.call.name);
      if (f) ts_ptrmap_put(refs, f->name, NULL);
    }
    for (int i = 0; i < e->u.call.n_args; i++) mark_refs(e->u.call.args[i], refs, m);
    break;
  default: break;
  }
}

ts_status *ts_pass_fuse_tir(ts_module *m, const char *args) {
  (void)args;
  ts_arena *a = m->arena;
  TS_VEC(const char *) fused = {0};
  TS_VEC(const char *) inlined = {0};
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    if (!ts_attrs_get(g->attrs, "Primitive") || !mergeable(m, g)) continue;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++)
        ts_vec_push(&inlined, g->blocks[b].bindings[k].value->u.call.args[0]->u.global_name);
    ts_primfunc *pf = merge_gfunc(m, g);
    ts_vec_push(&fused, g->name);
    m->funcs[i].kind = TS_FUNC_PRIM;
    m->funcs[i].u.prim = pf;
  }
  /* calls of the merged functions become call_tir */
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++) {
        ts_binding *bd = &g->blocks[b].bindings[k];
        ts_gexpr *v = bd->value;
        if (v->kind != TS_G_CALL || v->u.call.callee_kind != TS_CALLEE_GLOBAL) continue;
        for (size_t j = 0; j < fused.len; j++)
          if (!strcmp(v->u.call.name, fused.data[j])) {
            ts_sinfo *ret = v->sinfo ? v->sinfo : bd->var->sinfo;
            bd->value = as_call_tir(a, v, ret);
            break;
          }
      }
  }
  /* inlined functions nothing refers to any more go */
  ts_ptrmap refs = {0};
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++) mark_refs(g->blocks[b].bindings[k].value, &refs, m);
    mark_refs(g->result, &refs, m);
  }
  for (size_t j = 0; j < inlined.len; j++) {
    ts_func *f = ts_module_lookup(m, inlined.data[j]);
    if (f && f->kind == TS_FUNC_PRIM && !ts_ptrmap_has(&refs, f->name))
      ts_module_remove(m, f->name);
  }
  ts_ptrmap_free(&refs);
  ts_vec_free(&fused);
  ts_vec_free(&inlined);
  return NULL;
}
