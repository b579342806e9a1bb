/* lift_constant_packing.c: the `lift-constant-packing` pass.  Moves weight
 * packing out of kernels, so that it happens once at build time (TVM's
 * layout-rewrite: SplitLayoutRewritePreproc + LiftTransformParams).
 *
 * Convention: a packing block a schedule rule creates that copies a
 * read-only PrimFunc parameter P into a root alloc buffer P' in another
 * layout carries the block annotation "tessera.pack_constant" (1).
 *
 * For each private PrimFunc f whose root block's body holds, at its top
 * level, a loop nest with exactly one block, annotated so, that reads only a
 * buffer parameter P (used nowhere else in f, written nowhere) and writes
 * only a root alloc buffer P' (written nowhere else), and when at every
 * call site `R.call_tir(f, (..., c, ...), ...)` in the graph functions the
 * argument for P is a constant (an R.const, or a variable bound to one):
 *
 *   - a new PrimFunc `<f>_pack_<P>` (P -> P', destination-passing style,
 *     marked tir.is_scheduled) holds the packing nest;
 *   - f is replaced by the rest: P' becomes the parameter in P's place, the
 *     nest and the alloc buffer are gone (the attributes stay, among them
 *     tir.is_scheduled);
 *   - each call site gets `lv = R.call_tir(<f>_pack_<P>, (c,), out_sinfo=P')`
 *     before it and passes lv instead of c.
 *
 * fold-constant then evaluates the packing call (the weight becomes the
 * packed constant) and dead-code-elimination drops the unpacked one.  A
 * function that is called with a non-constant P anywhere, referenced other
 * than by call_tir, or public, is left alone.  Shapes of P and P' must be
 * static. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

#define PACK_KEY "tessera.pack_constant"

/* ---- finding the packing nest
 * ------------------------------------------------ */

typedef struct use_ctx {
  const ts_buffer *buf;
  bool used;
} use_ctx;

static bool use_expr(const ts_expr *e, void *ctx) {
  use_ctx *u = ctx;
  if (e->kind == TS_E_LOAD && e->u.load.buffer == u->buf)
    u->used = true;
  return !u->used;
}

static bool use_stmt(const ts_stmt *s, void *ctx) {
  use_ctx *u = ctx;
  if (s->kind == TS_S_STORE && s->u.store.buffer == u->buf)
    u->used = true;
  if (s->kind == TS_S_ALLOCATE && s->u.alloc.buffer == u->buf)
    u->used = true;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    for (int i = 0; i < b->n_reads; i++)
      if (b->reads[i].buffer == u->buf)
        u->used = true;
    for (int i = 0; i < b->n_writes; i++)
      if (b->writes[i].buffer == u->buf)
        u->used = true;
    for (int i = 0; i < b->n_match_buffers; i++)
      if (b->match_buffers[i].source.buffer == u->buf)
        u->used = true;
  }
  return !u->used;
}

static bool stmt_uses(const ts_stmt *s, const ts_buffer *b) {
  use_ctx u = {b, false};
  ts_stmt_visit(s, use_stmt, use_expr, &u);
  return u.used;
}

typedef struct blk_ctx {
  const ts_stmt *realize;
  int n;
} blk_ctx;

static bool count_blocks(const ts_stmt *s, void *ctx) {
  blk_ctx *c = ctx;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    c->realize = s;
    c->n++;
  }
  return true;
}

static bool static_shape(const ts_buffer *b) {
  for (int d = 0; d < b->ndim; d++)
    if (!ts_expr_is_const_int(b->shape[d], NULL))
      return false;
  return !b->strides && !b->elem_offset;
}

/* One packing nest of a function. */
typedef struct pack_site {
  int stmt;       /* index in the root block's body sequence */
  int param;      /* index of P in f->params */
  ts_buffer *dst; /* P' (a root alloc buffer) */
} pack_site;

static ts_stmt **root_stmts(ts_primfunc *f, int *out_n) {
  ts_stmt *body = f->body;
  if (!body || body->kind != TS_S_BLOCK_REALIZE)
    return NULL;
  ts_stmt *top = body->u.realize.block->body;
  if (!top)
    return NULL;
  if (top->kind == TS_S_SEQ) {
    *out_n = top->u.seq.n;
    return top->u.seq.stmts;
  }
  *out_n = 1;
  return &body->u.realize.block->body;
}

/* Finds the first liftable packing nest of f. */
static bool find_pack(ts_primfunc *f, pack_site *out) {
  if (!f->body || f->body->kind != TS_S_BLOCK_REALIZE)
    return false;
  ts_block *root = f->body->u.realize.block;
  int n = 0;
  ts_stmt **ss = root_stmts(f, &n);
  if (!ss || n < 2)
    return false;
  for (int i = 0; i < n; i++) {
    blk_ctx bc = {0};
    ts_stmt_visit(ss[i], count_blocks, NULL, &bc);
    if (bc.n != 1)
      continue;
    const ts_block *b = bc.realize->u.realize.block;
    const ts_attr_value *av = ts_attrs_get(b->annotations, PACK_KEY);
    if (!av || (av->kind != TS_ATTR_INT && av->kind != TS_ATTR_BOOL) ||
        !av->u.i)
      continue;
    if (b->n_reads != 1 || b->n_writes != 1 || b->init || b->n_alloc_buffers ||
        b->n_match_buffers)
      continue;
    const ts_buffer *src = b->reads[0].buffer;
    ts_buffer *dst = b->writes[0].buffer;
    int p = -1;
    for (int k = 0; k < f->n_params; k++)
      if (f->params[k].buffer == src && !f->params[k].via_match_buffer)
        p = k;
    bool alloc = false;
    for (int k = 0; k < root->n_alloc_buffers; k++)
      if (root->alloc_buffers[k] == dst)
        alloc = true;
    if (p < 0 || !alloc || !static_shape(src) || !static_shape(dst) ||
        !dst->scope || strcmp(dst->scope, "global"))
      continue;
    bool ok = true;
    for (int k = 0; k < n && ok; k++)
      if (k != i && (stmt_uses(ss[k], src)))
        ok = false;
    /* P' only written by the nest: later statements only read it */
    if (!ok || ts_primfunc_writes(&(ts_primfunc){.body = ss[i]}, src))
      continue;
    for (int k = 0; k < n && ok; k++)
      if (k != i && ts_primfunc_writes(&(ts_primfunc){.body = ss[k]}, dst))
        ok = false;
    if (!ok)
      continue;
    out->stmt = i;
    out->param = p;
    out->dst = dst;
    return true;
  }
  return false;
}

/* ---- call sites
 * -------------------------------------------------------------- */

static bool is_call_of(const ts_gexpr *v, const char *name) {
  return v && v->kind == TS_G_CALL && v->u.call.callee_kind == TS_CALLEE_OP &&
         v->u.call.op == TS_OP_CALL_TIR && v->u.call.n_args >= 2 &&
         v->u.call.args[0]->kind == TS_G_GLOBAL &&
         !strcmp(v->u.call.args[0]->u.global_name, name);
}

/* True when e names f other than as the callee of a call_tir. */
static bool mentions(const ts_gexpr *e, const char *name, bool callee_ok) {
  if (!e)
    return false;
  switch (e->kind) {
  case TS_G_GLOBAL:
    return !callee_ok && !strcmp(e->u.global_name, name);
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++)
      if (mentions(e->u.tuple.fields[i], name, false))
        return true;
    return false;
  case TS_G_TUPLE_GET:
    return mentions(e->u.tuple_get.tuple, name, false);
  case TS_G_CALL:
    if ((e->u.call.callee_kind == TS_CALLEE_GLOBAL ||
         e->u.call.callee_kind == TS_CALLEE_EXTERN) &&
        e->u.call.name && !strcmp(e->u.call.name, name))
      return true;
    for (int i = 0; i < e->u.call.n_args; i++)
      if (mentions(e->u.call.args[i], name, i == 0 && is_call_of(e, name)))
        return true;
    return false;
  default:
    return false;
  }
}

/* The argument of call site v for parameter p (NULL when not found). */
static ts_gexpr **arg_slot(ts_gexpr *v, int p) {
  ts_gexpr *tup = v->u.call.args[1];
  if (tup->kind != TS_G_TUPLE || p >= tup->u.tuple.n)
    return NULL;
  return &tup->u.tuple.fields[p];
}

/* True when e is a constant: R.const or a variable bound to one (consts:
 * gvar -> TS_G_CONST of the function). */
static bool const_arg(const ts_gexpr *e, const ts_ptrmap *consts) {
  if (e->kind == TS_G_CONST)
    return true;
  return e->kind == TS_G_VAR && ts_ptrmap_has(consts, e->u.var);
}

static void collect_consts(ts_gfunc *g, ts_ptrmap *consts) {
  for (int b = 0; b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++) {
      ts_binding *bd = &g->blocks[b].bindings[k];
      if (bd->kind != TS_BIND_VAR)
        continue;
      if (bd->value->kind == TS_G_CONST ||
          (bd->value->kind == TS_G_VAR &&
           ts_ptrmap_has(consts, bd->value->u.var)))
        ts_ptrmap_put(consts, bd->var, NULL);
    }
}

/* True when every reference to f is a call_tir whose argument for parameter
 * p is constant, and there is at least one. */
static bool all_sites_constant(ts_module *m, const ts_primfunc *f, int p) {
  int sites = 0;
  bool ok = true;
  for (int i = 0; i < m->n_funcs && ok; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH)
      continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    ts_ptrmap consts = {0};
    collect_consts(g, &consts);
    for (int b = 0; b < g->n_blocks && ok; b++)
      for (int k = 0; k < g->blocks[b].n && ok; k++) {
        ts_gexpr *v = g->blocks[b].bindings[k].value;
        if (mentions(v, f->name, false))
          ok = false;
        if (!is_call_of(v, f->name))
          continue;
        ts_gexpr **slot = arg_slot(v, p);
        if (!slot || !const_arg(*slot, &consts) || v->u.call.n_args != 2)
          ok = false;
        sites++;
      }
    if (mentions(g->result, f->name, false))
      ok = false;
    ts_ptrmap_free(&consts);
  }
  return ok && sites > 0;
}

/* ---- splitting the function -------------------------------------------------
 */

static ts_stmt *root_with(ts_arena *a, const ts_stmt *old_root, ts_stmt *body,
                          ts_buffer **allocs, int n_allocs) {
  ts_block *ob = old_root->u.realize.block;
  ts_block *nb = ts_arena_alloc(a, sizeof *nb);
  *nb = *ob;
  nb->body = body;
  nb->alloc_buffers = allocs;
  nb->n_alloc_buffers = n_allocs;
  ts_stmt *r = ts_stmt_new(a, TS_S_BLOCK_REALIZE, old_root->loc);
  *r = *old_root;
  r->u.realize.block = nb;
  return r;
}

static ts_param buffer_param(ts_arena *a, ts_buffer *b) {
  ts_param p = {0};
  p.buffer = b;
  p.var = ts_var_new(a, b->name, TS_HANDLET, b->loc);
  b->data = p.var;
  return p;
}

static ts_sinfo *buffer_sinfo(ts_arena *a, const ts_buffer *b) {
  ts_expr **sh = ts_arena_array(a, (size_t)b->ndim + 1, sizeof(ts_expr *));
  for (int d = 0; d < b->ndim; d++) {
    int64_t v = 0;
    ts_expr_is_const_int(b->shape[d], &v);
    sh[d] = ts_int(a, TS_I64, v);
  }
  return ts_sinfo_tensor(a, sh, b->ndim, b->dtype);
}

static const char *fresh_name(ts_module *m, const char *base) {
  const char *name = base;
  for (int i = 1; ts_module_lookup(m, name); i++)
    name = ts_arena_printf(m->arena, "%s%d", base, i);
  return name;
}

/* Splits f at s into the packing function (returned) and the compute
 * function (*out_compute); both are fresh copies in m's arena. */
static ts_primfunc *split(ts_module *m, ts_primfunc *f, const pack_site *s,
                          ts_primfunc **out_compute) {
  ts_arena *a = m->arena;
  ts_block *root = f->body->u.realize.block;
  int n = 0;
  ts_stmt **ss = root_stmts(f, &n);
  ts_buffer *src = f->params[s->param].buffer;
  /* P' gets a buffer of its own in each function */
  ts_buffer *dst_out = ts_arena_alloc(a, sizeof *dst_out);
  *dst_out = *s->dst;
  ts_buffer *dst_in = ts_arena_alloc(a, sizeof *dst_in);
  *dst_in = *s->dst;

  /* packing: (P, P') */
  ts_ptrmap bm = {0};
  ts_ptrmap_put(&bm, s->dst, dst_out);
  ts_primfunc pf = *f;
  pf.name = fresh_name(m, ts_arena_printf(a, "%s_pack_%s", f->name, src->name));
  pf.is_private = true;
  pf.n_params = 2;
  pf.params = ts_arena_array(a, 2, sizeof(ts_param));
  pf.params[0] = f->params[s->param];
  pf.params[1] = buffer_param(a, dst_out);
  pf.body = root_with(a, f->body, ts_stmt_replace_buffers(a, ss[s->stmt], &bm),
                      NULL, 0);
  pf.attrs = ts_attrs_new(a);
  for (int i = 0; f->attrs && i < f->attrs->n; i++)
    ts_attrs_set(a, pf.attrs, f->attrs->keys[i], f->attrs->values[i]);
  ts_attrs_set(a, pf.attrs, "tir.is_scheduled", ts_attr_bool(a, true));
  ts_ptrmap_free(&bm);

  /* compute: P' in P's place, the nest and the alloc gone */
  ts_ptrmap_put(&bm, s->dst, dst_in);
  ts_primfunc cf = *f;
  cf.params = ts_arena_array(a, (size_t)f->n_params, sizeof(ts_param));
  memcpy(cf.params, f->params, sizeof(ts_param) * (size_t)f->n_params);
  cf.params[s->param] = buffer_param(a, dst_in);
  ts_stmt **rest = ts_arena_array(a, (size_t)n, sizeof(ts_stmt *));
  int nr = 0;
  for (int i = 0; i < n; i++)
    if (i != s->stmt)
      rest[nr++] = ts_stmt_replace_buffers(a, ss[i], &bm);
  ts_buffer **allocs =
      ts_arena_array(a, (size_t)root->n_alloc_buffers + 1, sizeof(ts_buffer *));
  int na = 0;
  for (int i = 0; i < root->n_alloc_buffers; i++)
    if (root->alloc_buffers[i] != s->dst)
      allocs[na++] = root->alloc_buffers[i];
  cf.body = root_with(a, f->body, ts_seq(a, rest, nr), allocs, na);
  ts_ptrmap_free(&bm);

  *out_compute = ts_primfunc_copy(a, &cf);
  return ts_primfunc_copy(a, &pf);
}

/* Inserts `lv = R.call_tir(pack, (c,), out_sinfo=si)` before every call of
 * f and passes lv for parameter p. */
static void rewrite_sites(ts_module *m, const char *fname, int p,
                          const char *pack, const ts_buffer *dst) {
  ts_arena *a = m->arena;
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH)
      continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++) {
      ts_binding_block *blk = &g->blocks[b];
      int sites = 0;
      for (int k = 0; k < blk->n; k++)
        if (is_call_of(blk->bindings[k].value, fname))
          sites++;
      if (!sites)
        continue;
      ts_binding *nbs =
          ts_arena_array(a, (size_t)(blk->n + sites), sizeof(ts_binding));
      int nn = 0;
      for (int k = 0; k < blk->n; k++) {
        ts_binding bd = blk->bindings[k];
        ts_gexpr *v = bd.value;
        if (!is_call_of(v, fname)) {
          nbs[nn++] = bd;
          continue;
        }
        ts_gexpr *oldtup = v->u.call.args[1];
        ts_gexpr *c = oldtup->u.tuple.fields[p];
        ts_sinfo *si = buffer_sinfo(a, dst);
        /* the packing call */
        ts_gexpr *gv = ts_gexpr_new(a, TS_G_GLOBAL, v->loc);
        gv->u.global_name = pack;
        ts_gexpr *tup = ts_gexpr_new(a, TS_G_TUPLE, v->loc);
        tup->u.tuple.n = 1;
        tup->u.tuple.fields = ts_arena_array(a, 1, sizeof(ts_gexpr *));
        tup->u.tuple.fields[0] = c;
        ts_sinfo *tsi = ts_sinfo_new(a, TS_SI_TUPLE);
        tsi->u.tuple.n = 1;
        tsi->u.tuple.fields = ts_arena_array(a, 1, sizeof(ts_sinfo *));
        tsi->u.tuple.fields[0] = c->sinfo;
        tup->sinfo = c->sinfo ? tsi : NULL;
        ts_gexpr *call = ts_gexpr_new(a, TS_G_CALL, v->loc);
        call->sinfo = si;
        call->u.call.callee_kind = TS_CALLEE_OP;
        call->u.call.op = TS_OP_CALL_TIR;
        call->u.call.n_args = 2;
        call->u.call.args = ts_arena_array(a, 2, sizeof(ts_gexpr *));
        call->u.call.args[0] = gv;
        call->u.call.args[1] = tup;
        call->u.call.n_sinfo_args = 1;
        call->u.call.sinfo_args = ts_arena_array(a, 1, sizeof(ts_sinfo *));
        call->u.call.sinfo_args[0] = si;
        ts_gvar *lv = ts_arena_alloc(a, sizeof *lv);
        lv->name =
            ts_arena_printf(a, "%s_packed", bd.var ? bd.var->name : "lv");
        lv->sinfo = si;
        lv->is_dataflow = blk->is_dataflow;
        lv->loc = v->loc;
        nbs[nn++] = (ts_binding){
            .kind = TS_BIND_VAR, .var = lv, .value = call, .loc = bd.loc};
        /* the compute call, with lv for P (the tuple and call copied) */
        ts_gexpr *ref = ts_gexpr_new(a, TS_G_VAR, v->loc);
        ref->u.var = lv;
        ref->sinfo = si;
        ts_gexpr *ntup = ts_gexpr_new(a, TS_G_TUPLE, oldtup->loc);
        *ntup = *oldtup;
        ntup->u.tuple.fields =
            ts_arena_array(a, (size_t)oldtup->u.tuple.n, sizeof(ts_gexpr *));
        memcpy(ntup->u.tuple.fields, oldtup->u.tuple.fields,
               sizeof(ts_gexpr *) * (size_t)oldtup->u.tuple.n);
        ntup->u.tuple.fields[p] = ref;
        if (oldtup->sinfo && oldtup->sinfo->kind == TS_SI_TUPLE &&
            p < oldtup->sinfo->u.tuple.n) {
          ts_sinfo *ns = ts_sinfo_new(a, TS_SI_TUPLE);
          *ns = *oldtup->sinfo;
          ns->u.tuple.fields =
              ts_arena_array(a, (size_t)ns->u.tuple.n, sizeof(ts_sinfo *));
          memcpy(ns->u.tuple.fields, oldtup->sinfo->u.tuple.fields,
                 sizeof(ts_sinfo *) * (size_t)ns->u.tuple.n);
          ns->u.tuple.fields[p] = si;
          ntup->sinfo = ns;
        }
        ts_gexpr *nv = ts_gexpr_new(a, TS_G_CALL, v->loc);
        *nv = *v;
        nv->u.call.args =
            ts_arena_array(a, (size_t)v->u.call.n_args, sizeof(ts_gexpr *));
        memcpy(nv->u.call.args, v->u.call.args,
               sizeof(ts_gexpr *) * (size_t)v->u.call.n_args);
        nv->u.call.args[1] = ntup;
        bd.value = nv;
        nbs[nn++] = bd;
      }
      blk->bindings = nbs;
      blk->n = nn;
    }
  }
}

ts_status *ts_pass_lift_constant_packing(ts_module *m, const char *args) {
  (void)args;
  int n = m->n_funcs; /* functions added here are not revisited */
  for (int i = 0; i < n; i++) {
    if (m->funcs[i].kind != TS_FUNC_PRIM)
      continue;
    ts_primfunc *f = m->funcs[i].u.prim;
    pack_site s;
    /* one nest at a time: the compute function may hold another */
    while (f->is_private && find_pack(f, &s) &&
           all_sites_constant(m, f, s.param)) {
      ts_primfunc *cf = NULL;
      ts_primfunc *pf = split(m, f, &s, &cf);
      ts_module_set(
          m, (ts_func){.kind = TS_FUNC_PRIM, .name = pf->name, .u.prim = pf});
      rewrite_sites(m, f->name, s.param, pf->name, s.dst);
      ts_module_set(
          m, (ts_func){.kind = TS_FUNC_PRIM, .name = cf->name, .u.prim = cf});
      f = cf;
    }
  }
  return NULL;
}
