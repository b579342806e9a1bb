/* rule_layout.c: blocked channel layouts between convolutions (the graph
 * half of the conv rule, as TVM's AlterOpLayout and ONNX Runtime's NCHWc
 * transformer do it).
 *
 * A tensor [n, C, H, W] (float32, static shape) that a convolution or
 * pooling kernel computes and that only such kernels read (as their input or
 * as the residual of their epilogue) is kept as [n, C/B, H, W, B], B = 16
 * with 32 vector registers (8 when C is not a multiple of 16, or with 16
 * registers, rule_channel_block): the producer's epilogue writes the blocked
 * layout directly and the consumer's padding nest copies blocks instead of
 * transposing.  Graph inputs and outputs, and tensors any other kernel
 * reads, stay NCHW, so conversions happen only at the edges of a chain.
 *
 * The layout is a transform_layout of the PrimFunc parameter (the
 * function's signature changes, as TVM's does) and a new struct info of the
 * graph variable.  A function called at several sites must get the same
 * layouts at all of them; a tensor whose blocking would disagree somewhere
 * stays NCHW.  A convolution block that reads a blocked parameter directly
 * (no padding) first gets a cache_read, so that it still reads [n, C, H, W]
 * and the rule sees the nest it knows (the copy is a contiguous block
 * copy). */
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "rules_internal.h"

typedef struct cand {
  ts_gvar *var;
  int64_t B; /* 0: not blocked (any more) */
} cand;

typedef struct plan {
  ts_module *m;               /* graph functions (updated) */
  ts_module *sm;              /* the schedule's copy (PrimFuncs rewritten) */
  TS_VEC(const char *) convs; /* names of convolution kernels */
  TS_VEC(cand) cands;
  int64_t max_block;          /* the widest channel block: 16 or 8 */
} plan;

/* A kernel that takes and gives blocked layouts: a convolution, or a
 * pooling window (max or sum) whose channels fill whole blocks of 8. */
static bool is_conv_func(const ts_primfunc *f) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(f->body, &blocks, &nb);
  bool any = false;
  for (int i = 0; i < nb && !any; i++) {
    conv_info ci;
    if (blocks[i]->u.realize.block->n_iter_vars == 0)
      continue;
    any = rule_conv_match((ts_primfunc *)f, blocks[i], &ci) ||
          (rule_pool_match((ts_primfunc *)f, blocks[i], &ci) && ci.C % 8 == 0);
  }
  free(blocks);
  return any;
}

static bool in_list(const plan *p, const char *name) {
  for (size_t i = 0; i < p->convs.len; i++)
    if (!strcmp(p->convs.data[i], name))
      return true;
  return false;
}

/* The callee of `R.call_tir(callee, (args..), ...)`, else NULL. */
static const char *call_tir_callee(const ts_gexpr *e) {
  if (!e || e->kind != TS_G_CALL || e->u.call.callee_kind != TS_CALLEE_OP ||
      e->u.call.op != TS_OP_CALL_TIR || e->u.call.n_args != 2 ||
      e->u.call.args[0]->kind != TS_G_GLOBAL ||
      e->u.call.args[1]->kind != TS_G_TUPLE)
    return NULL;
  return e->u.call.args[0]->u.global_name;
}

static cand *find_cand(plan *p, const ts_gvar *v) {
  for (size_t i = 0; i < p->cands.len; i++)
    if (p->cands.data[i].var == v)
      return &p->cands.data[i];
  return NULL;
}

/* Unblocks every candidate that e mentions outside the argument tuple of a
 * call_tir to a convolution kernel. */
static void scan_uses(plan *p, const ts_gexpr *e, bool ok) {
  if (!e)
    return;
  switch (e->kind) {
  case TS_G_VAR: {
    cand *c = find_cand(p, e->u.var);
    if (c && !ok)
      c->B = 0;
    return;
  }
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++)
      scan_uses(p, e->u.tuple.fields[i], false);
    return;
  case TS_G_TUPLE_GET:
    scan_uses(p, e->u.tuple_get.tuple, false);
    return;
  case TS_G_CALL: {
    const char *callee = call_tir_callee(e);
    if (callee && in_list(p, callee)) {
      const ts_gexpr *t = e->u.call.args[1];
      for (int i = 0; i < t->u.tuple.n; i++)
        scan_uses(p, t->u.tuple.fields[i], true);
      return;
    }
    for (int i = 0; i < e->u.call.n_args; i++)
      scan_uses(p, e->u.call.args[i], false);
    return;
  }
  default:
    return;
  }
}

static int64_t block_of(const ts_sinfo *si, int64_t max_block) {
  int64_t c, d;
  if (!si || si->kind != TS_SI_TENSOR || si->u.tensor.ndim != 4 ||
      !si->u.tensor.shape || si->u.tensor.dtype.code != TS_FLOAT ||
      si->u.tensor.dtype.bits != 32 || si->u.tensor.dtype.lanes != 1)
    return 0;
  for (int i = 0; i < 4; i++)
    if (!ts_expr_is_const_int(si->u.tensor.shape[i], &d) || d <= 0)
      return 0;
  ts_expr_is_const_int(si->u.tensor.shape[1], &c);
  return c % 16 == 0 && max_block >= 16 ? 16 : c % 8 == 0 ? 8 : 0;
}

/* The layout demanded of each parameter of `f` by its call sites (n_params
 * entries: 0 plain, B blocked); false when two sites disagree, with the
 * candidates of the disagreeing sites unblocked. */
static bool demands(plan *p, const ts_primfunc *f, int64_t *want) {
  bool seen = false, ok = true;
  int np = f->n_params;
  int64_t *site = calloc((size_t)np + 1, sizeof *site);
  for (int i = 0; i < p->m->n_funcs; i++) {
    if (p->m->funcs[i].kind != TS_FUNC_GRAPH)
      continue;
    ts_gfunc *g = p->m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++) {
        ts_binding *bd = &g->blocks[b].bindings[k];
        const char *callee = call_tir_callee(bd->value);
        if (!callee || strcmp(callee, f->name))
          continue;
        const ts_gexpr *t = bd->value->u.call.args[1];
        if (t->u.tuple.n + 1 != np) {
          free(site);
          return false;
        }
        for (int a = 0; a < t->u.tuple.n; a++) {
          const ts_gexpr *x = t->u.tuple.fields[a];
          cand *c = x->kind == TS_G_VAR ? find_cand(p, x->u.var) : NULL;
          site[a] = c ? c->B : 0;
        }
        cand *o = find_cand(p, bd->var);
        site[np - 1] = o ? o->B : 0;
        if (!seen) {
          memcpy(want, site, sizeof *site * (size_t)np);
          seen = true;
          continue;
        }
        if (!memcmp(want, site, sizeof *site * (size_t)np))
          continue;
        ok = false;
        for (int a = 0; a < t->u.tuple.n; a++) {
          const ts_gexpr *x = t->u.tuple.fields[a];
          cand *c = x->kind == TS_G_VAR ? find_cand(p, x->u.var) : NULL;
          if (c)
            c->B = 0;
        }
        if (o)
          o->B = 0;
      }
  }
  free(site);
  return ok;
}

static ts_index_map blocked(ts_arena *a, int64_t B, ts_dtype it) {
  ts_index_map m = rule_index_map(a, 4, 5, it);
  for (int d = 0; d < 4; d++)
    m.results[d] = d == 1
                       ? ts_binary(a, TS_E_FLOORDIV, ts_varref(a, m.params[1]),
                                   ts_int(a, it, B))
                       : ts_varref(a, m.params[d]);
  m.results[4] =
      ts_binary(a, TS_E_FLOORMOD, ts_varref(a, m.params[1]), ts_int(a, it, B));
  return m;
}

/* Blocks parameter `pi` of f (in the schedule's module).  A convolution
 * (or pooling) block keeps its plain [n, C, H, W] accesses (what the rules
 * match):
 * when it reads the parameter as its input directly (no padding), or writes
 * it as its result (no epilogue), a cache_read or cache_write copy is made
 * first and the copy's access is the one blocked. */
static ts_status *block_param(ts_schedule *s, ts_primfunc *f, int pi,
                              int64_t B) {
  ts_buffer *buf = f->params[pi].buffer;
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(f->body, &blocks, &nb);
  const char *name = NULL, *conv = NULL;
  int kind = 0, index = -1, conv_read = -1;
  bool conv_writes = false;
  for (int i = 0; i < nb; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    conv_info ci;
    if (b->n_iter_vars == 0)
      continue;
    if (!conv && (rule_conv_match(f, blocks[i], &ci) || rule_pool_match(f, blocks[i], &ci)) &&
        (ci.data == buf || ci.out == buf)) {
      conv = b->name;
      conv_read = ci.data == buf ? ci.data_read : -1;
      conv_writes = ci.out == buf;
    }
    for (int r = 0; r < b->n_reads && !name; r++)
      if (b->reads[r].buffer == buf) {
        name = b->name;
        index = r;
      }
    for (int w = 0; w < b->n_writes && !name; w++)
      if (b->writes[w].buffer == buf) {
        name = b->name;
        kind = 1;
        index = w;
      }
  }
  free(blocks);
  if (!name)
    return NULL; /* unused parameter */
  ts_rv blk;
  if (conv) {
    ts_rv cb;
    TS_RETURN_IF_ERROR(ts_sch_get_block(s, conv, f->name, &cb));
    if (conv_read >= 0) {
      TS_RETURN_IF_ERROR(ts_sch_cache_read(s, cb, conv_read, "global", &blk));
      kind = index = 0;
    } else {
      (void)conv_writes;
      TS_RETURN_IF_ERROR(ts_sch_cache_write(s, cb, 0, "global", &blk));
      kind = 1;
      index = 0;
    }
  } else {
    TS_RETURN_IF_ERROR(ts_sch_get_block(s, name, f->name, &blk));
  }
  ts_index_map map =
      blocked(ts_module_arena(ts_schedule_module(s)), B, buf->shape[0]->dtype);
  return ts_sch_transform_layout(s, blk, kind, index, &map);
}

static ts_sinfo *blocked_sinfo(ts_arena *a, const ts_sinfo *si, int64_t B) {
  ts_expr **sh = ts_arena_array(a, 5, sizeof(ts_expr *));
  int64_t c;
  ts_expr_is_const_int(si->u.tensor.shape[1], &c);
  sh[0] = si->u.tensor.shape[0];
  sh[1] = ts_int(a, si->u.tensor.shape[1]->dtype, c / B);
  sh[2] = si->u.tensor.shape[2];
  sh[3] = si->u.tensor.shape[3];
  sh[4] = ts_int(a, si->u.tensor.shape[1]->dtype, B);
  return ts_sinfo_tensor(a, sh, 5, si->u.tensor.dtype);
}

/* New struct info for the blocked variables: their references and the
 * tuples holding them (every call_tir argument tuple). */
static void retype(plan *p, ts_arena *a, ts_gexpr *e) {
  if (!e)
    return;
  switch (e->kind) {
  case TS_G_VAR:
    e->sinfo = e->u.var->sinfo;
    return;
  case TS_G_TUPLE: {
    bool any = false;
    for (int i = 0; i < e->u.tuple.n; i++) {
      ts_gexpr *x = e->u.tuple.fields[i];
      retype(p, a, x);
      any |= x->kind == TS_G_VAR && find_cand(p, x->u.var) &&
             find_cand(p, x->u.var)->B;
    }
    if (any && e->sinfo && e->sinfo->kind == TS_SI_TUPLE &&
        e->sinfo->u.tuple.n == e->u.tuple.n) {
      ts_sinfo *ns = ts_sinfo_new(a, TS_SI_TUPLE);
      ns->u.tuple.n = e->u.tuple.n;
      ns->u.tuple.fields =
          ts_arena_array(a, (size_t)ns->u.tuple.n, sizeof(ts_sinfo *));
      for (int i = 0; i < e->u.tuple.n; i++)
        ns->u.tuple.fields[i] = e->u.tuple.fields[i]->sinfo;
      e->sinfo = ns;
    }
    return;
  }
  case TS_G_TUPLE_GET:
    retype(p, a, e->u.tuple_get.tuple);
    return;
  case TS_G_CALL:
    for (int i = 0; i < e->u.call.n_args; i++)
      retype(p, a, e->u.call.args[i]);
    return;
  default:
    return;
  }
}

/* Calls fn on every binding of every graph function of the module. */
static void each_binding(plan *p, void (*fn)(plan *, ts_binding *)) {
  for (int i = 0; i < p->m->n_funcs; i++) {
    if (p->m->funcs[i].kind != TS_FUNC_GRAPH)
      continue;
    ts_gfunc *g = p->m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++)
      for (int k = 0; k < g->blocks[b].n; k++)
        fn(p, &g->blocks[b].bindings[k]);
  }
}

/* A result of a convolution kernel that could be kept blocked. */
static void add_candidate(plan *p, ts_binding *bd) {
  const char *callee = call_tir_callee(bd->value);
  int64_t B = bd->kind == TS_BIND_VAR && callee && in_list(p, callee)
                  ? block_of(bd->var->sinfo, p->max_block)
                  : 0;
  if (B)
    ts_vec_push(&p->cands, ((cand){bd->var, B}));
}

/* The struct info of a binding's value after the blocked variables were
 * retyped; a blocked call's result (and its sinfo argument) with them. */
static void retype_binding(plan *p, ts_binding *bd) {
  ts_arena *a = p->m->arena;
  retype(p, a, bd->value);
  cand *c = find_cand(p, bd->var);
  if (c && c->B && bd->value->kind == TS_G_CALL) {
    bd->value->sinfo = bd->var->sinfo;
    if (bd->value->u.call.n_sinfo_args == 1) {
      ts_sinfo **sa = ts_arena_array(a, 1, sizeof(ts_sinfo *));
      sa[0] = bd->var->sinfo;
      bd->value->u.call.sinfo_args = sa;
    }
  }
}

void rule_propagate_layouts(ts_schedule *s, ts_module *m, const ts_target *t,
                            ts_strbuf *explain) {
  plan p = {.m = m, .sm = ts_schedule_module(s), .max_block = rule_channel_block(t)};
  for (int i = 0; i < p.sm->n_funcs; i++) {
    if (p.sm->funcs[i].kind != TS_FUNC_PRIM)
      continue;
    const ts_primfunc *f = p.sm->funcs[i].u.prim;
    const ts_attr_value *v = ts_attrs_get(f->attrs, "tir.is_scheduled");
    bool done =
        v && (v->kind == TS_ATTR_BOOL || v->kind == TS_ATTR_INT) && v->u.i;
    if (!done && f->is_private && is_conv_func(f))
      ts_vec_push(&p.convs, f->name);
  }
  if (!p.convs.len)
    goto out;
  /* candidates: results of convolution kernels */
  each_binding(&p, add_candidate);
  /* uses: only as arguments of convolution kernels; never returned or
   * named as a block output */
  for (int i = 0; i < m->n_funcs; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH)
      continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++) {
      for (int k = 0; k < g->blocks[b].n; k++)
        scan_uses(&p, g->blocks[b].bindings[k].value, false);
      if (!g->blocks[b].is_dataflow)
        continue;
      for (int o = 0; o < g->blocks[b].n_outputs; o++) {
        cand *c = find_cand(&p, g->blocks[b].outputs[o]);
        if (c)
          c->B = 0;
      }
    }
    scan_uses(&p, g->result, false);
  }
  /* agreement across call sites, to a fixed point */
  for (bool again = true; again;) {
    again = false;
    for (int i = 0; i < p.sm->n_funcs; i++) {
      if (p.sm->funcs[i].kind != TS_FUNC_PRIM)
        continue;
      const ts_primfunc *f = p.sm->funcs[i].u.prim;
      int64_t *want = calloc((size_t)f->n_params + 1, sizeof *want);
      if (!demands(&p, f, want))
        again = true;
      free(want);
    }
  }
  /* apply: the PrimFuncs' parameters, then the graph's struct info */
  int n_blocked = 0;
  for (int i = 0; i < p.sm->n_funcs; i++) {
    if (p.sm->funcs[i].kind != TS_FUNC_PRIM)
      continue;
    ts_primfunc *f = p.sm->funcs[i].u.prim;
    int64_t *want = calloc((size_t)f->n_params + 1, sizeof *want);
    if (demands(&p, f, want))
      for (int a = 0; a < f->n_params; a++) {
        if (!want[a])
          continue;
        ts_status *st = block_param(s, f, a, want[a]);
        if (st) {
          /* cannot happen for the kernels planned here (static 4-D
           * float32 parameters); reported, not fatal */
          if (explain)
            ts_strbuf_printf(explain, "%s: blocked layout of %s refused: %s\n",
                             f->name, f->params[a].buffer->name,
                             ts_status_message(st));
          ts_status_free(st);
        }
      }
    free(want);
  }
  for (size_t i = 0; i < p.cands.len; i++) {
    cand *c = &p.cands.data[i];
    if (!c->B)
      continue;
    c->var->sinfo = blocked_sinfo(m->arena, c->var->sinfo, c->B);
    n_blocked++;
  }
  if (n_blocked)
    each_binding(&p, retype_binding);
  if (explain && n_blocked)
    ts_strbuf_printf(
        explain,
        "layouts: %d tensors between convolutions kept in blocked channel "
        "layout [n, C/B, H, W, B]\n",
        n_blocked);
out:
  ts_vec_free(&p.convs);
  ts_vec_free(&p.cands);
}
