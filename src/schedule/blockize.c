/* blockize.c: blockize, tensorize, annotate, unannotate and the tensor
 * intrinsic registry.
 *
 * blockize(loop): the single block under `loop` gets an outer block
 * `<name>_o` around the loop; each iteration variable's binding is divided
 * into an outer part (loops above `loop`), which becomes an iteration
 * variable `<var>_o` of the outer block, and an inner part:
 * `vi = vi_o * 16 + i_1`.  Bindings must be affine with the inner loops
 * forming a dense mixed-radix sum (what split produces).
 *
 * tensorize(block_or_loop, intrin): the block's body (loops and one inner
 * block; a loop is blockized first) must match the intrinsic's description
 * structurally: same loop extents, same iteration variable kinds and inner
 * bindings, same computation, with each description buffer mapped to one
 * buffer of the block at a fixed offset.  The body is replaced by the
 * implementation's body, its buffers bound with T.match_buffer to the
 * matched regions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"
#include "tessera/script.h"

/* ======================================================================
 * tensor intrinsic registry
 * ====================================================================== */

typedef struct intrin_entry {
  char *name;
  ts_tensor_intrin in;
} intrin_entry;
static TS_VEC(intrin_entry) g_intrins;
static ts_module *g_builtin_mod; /* holds the built-in intrinsics' IR */

void ts_tensor_intrin_register(const char *name, ts_primfunc *desc,
                               ts_primfunc *impl) {
  for (size_t i = 0; i < g_intrins.len; i++)
    if (!strcmp(g_intrins.data[i].name, name)) {
      g_intrins.data[i].in.desc = desc;
      g_intrins.data[i].in.impl = impl;
      return;
    }
  intrin_entry e;
  e.name = ts_xstrdup(name);
  e.in.name = e.name;
  e.in.desc = desc;
  e.in.impl = impl;
  ts_vec_push(&g_intrins, e);
}

/* The built-in test intrinsic: a 4x4x4 float32 matmul micro-kernel
 * C[i, j] += A[i, k] * B[k, j]; its implementation runs the same update
 * with the k loop outside j, unrolled and vectorized (same summation order
 * per element, so results are bit-identical). */
static const char *k_builtin_src =
    "@I.ir_module\n"
    "class Intrins:\n"
    "    @T.prim_func\n"
    "    def mma_desc(A: T.Buffer((4, 4), \"float32\"), B: T.Buffer((4, 4), "
    "\"float32\"), C: T.Buffer((4, 4), \"float32\")):\n"
    "        for i, j, k in T.grid(4, 4, 4):\n"
    "            with T.block(\"update\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "    @T.prim_func\n"
    "    def mma_impl(A: T.Buffer((4, 4), \"float32\"), B: T.Buffer((4, 4), "
    "\"float32\"), C: T.Buffer((4, 4), \"float32\")):\n"
    "        for i in T.unroll(4):\n"
    "            for k in T.unroll(4):\n"
    "                for j in T.vectorized(4):\n"
    "                    with T.block(\"update\"):\n"
    "                        vi, vk, vj = T.axis.remap(\"SRS\", [i, k, j])\n"
    "                        C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n";

static void register_builtins(void) {
  static bool done = false;
  if (done) return;
  done = true;
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(k_builtin_src, strlen(k_builtin_src),
                                  "<builtin intrinsics>", &m);
  if (st) {
    fprintf(stderr, "tessera: built-in tensor intrinsics: %s\n",
            ts_status_render(st));
    ts_status_free(st);
    return;
  }
  g_builtin_mod = m;
  ts_tensor_intrin_register("mma_4x4x4_f32", ts_module_primfunc(m, "mma_desc"),
                            ts_module_primfunc(m, "mma_impl"));
}

const ts_tensor_intrin *sch_lookup_intrin(ts_module *m, const char *name) {
  for (int i = 0; m && i < m->n_intrins; i++)
    if (!strcmp(m->intrins[i].name, name)) return &m->intrins[i];
  register_builtins();
  for (size_t i = 0; i < g_intrins.len; i++)
    if (!strcmp(g_intrins.data[i].name, name)) return &g_intrins.data[i].in;
  return NULL;
}

/* ======================================================================
 * annotate / unannotate
 * ====================================================================== */

static void print_double(ts_strbuf *b, double v) {
  char buf[64];
  for (int p = 1; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*g", p, v);
    if (strtod(buf, NULL) == v) break;
  }
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  ts_strbuf_append(b, buf);
}

static bool print_attr(ts_strbuf *b, const ts_attr_value *v) {
  switch (v->kind) {
  case TS_ATTR_NONE: ts_strbuf_append(b, "None"); return true;
  case TS_ATTR_BOOL: ts_strbuf_append(b, v->u.i ? "True" : "False"); return true;
  case TS_ATTR_INT: ts_strbuf_printf(b, "%lld", (long long)v->u.i); return true;
  case TS_ATTR_FLOAT: print_double(b, v->u.f); return true;
  case TS_ATTR_STR:
    ts_strbuf_append(b, "\"");
    for (const char *p = v->u.s; *p; p++) {
      if (*p == '"' || *p == '\\') ts_strbuf_append(b, "\\");
      ts_strbuf_appendn(b, p, 1);
    }
    ts_strbuf_append(b, "\"");
    return true;
  case TS_ATTR_LIST:
    ts_strbuf_append(b, "[");
    for (int i = 0; i < v->u.list.n; i++) {
      if (i) ts_strbuf_append(b, ", ");
      if (!print_attr(b, v->u.list.items[i])) return false;
    }
    ts_strbuf_append(b, "]");
    return true;
  default: return false;
  }
}

static ts_attr_value *copy_attr(ts_arena *a, const ts_attr_value *v) {
  ts_attr_value *r = ts_arena_memdup(a, v, sizeof *v);
  if (v->kind == TS_ATTR_STR) r->u.s = ts_arena_strdup(a, v->u.s);
  if (v->kind == TS_ATTR_LIST) {
    r->u.list.items =
        ts_arena_array(a, (size_t)(v->u.list.n ? v->u.list.n : 1),
                       sizeof(ts_attr_value *));
    for (int i = 0; i < v->u.list.n; i++)
      r->u.list.items[i] = copy_attr(a, v->u.list.items[i]);
  }
  return r;
}

static ts_attrs **annotations_slot(ts_stmt *node) {
  return node->kind == TS_S_BLOCK_REALIZE
             ? &node->u.realize.block->annotations
             : &node->u.for_.annotations;
}

ts_status *ts_sch_annotate(ts_schedule *s, ts_rv block_or_loop,
                           const char *key, const ts_attr_value *value) {
  static const char *P = "annotate";
  ts_stmt *node;
  TS_RETURN_IF_ERROR(sch_block_or_loop(s, block_or_loop, &node));
  if (!key || !*key) return sch_error(P, "empty annotation key");
  if (!value) return sch_error(P, "missing annotation value");
  ts_strbuf vb = {0};
  if (!print_attr(&vb, value)) {
    ts_strbuf_free(&vb);
    return sch_error(P, "unsupported annotation value for key \"%s\" (use an "
                        "int, float, string, bool or list)",
                     key);
  }
  ts_arena *a = s->mod->arena;
  ts_attrs **slot = annotations_slot(node);
  ts_attrs *d = ts_attrs_new(a);
  if (*slot)
    for (int i = 0; i < (*slot)->n; i++)
      ts_attrs_set(a, d, (*slot)->keys[i], (*slot)->values[i]);
  ts_attrs_set(a, d, ts_arena_strdup(a, key), copy_attr(a, value));
  *slot = d;
  sch_record(s, "sch.annotate(block_or_loop=%s, ann_key=\"%s\", ann_val=%s)",
             ts_schedule_rv_name(s, block_or_loop), key, vb.data);
  ts_strbuf_free(&vb);
  return NULL;
}

ts_status *ts_sch_unannotate(ts_schedule *s, ts_rv block_or_loop,
                             const char *key) {
  static const char *P = "unannotate";
  ts_stmt *node;
  TS_RETURN_IF_ERROR(sch_block_or_loop(s, block_or_loop, &node));
  ts_attrs **slot = annotations_slot(node);
  if (!key || !ts_attrs_get(*slot, key))
    return sch_error(P, "%s %s has no annotation \"%s\"",
                     node->kind == TS_S_BLOCK_REALIZE ? "block" : "loop",
                     node->kind == TS_S_BLOCK_REALIZE
                         ? node->u.realize.block->name
                         : node->u.for_.var->name,
                     key ? key : "");
  ts_arena *a = s->mod->arena;
  ts_attrs *d = ts_attrs_new(a);
  for (int i = 0; i < (*slot)->n; i++)
    if (strcmp((*slot)->keys[i], key))
      ts_attrs_set(a, d, (*slot)->keys[i], (*slot)->values[i]);
  *slot = d->n ? d : NULL;
  sch_record(s, "sch.unannotate(block_or_loop=%s, ann_key=\"%s\")",
             ts_schedule_rv_name(s, block_or_loop), key);
  return NULL;
}

/* ======================================================================
 * blockize
 * ====================================================================== */

typedef struct blockize_plan {
  ts_stmt *loop, *realize, *outer;
  ts_expr **new_inner_vals; /* inner realize's new bindings */
  ts_expr **old_inner_vals;
} blockize_plan;

static bool in_set(ts_stmt **loops, int from, int n, const ts_var *v) {
  for (int i = from; i < n; i++)
    if (loops[i]->u.for_.var == v) return true;
  return false;
}

/* Checks and builds (without mutating) the outer block for blockize. */
static ts_status *blockize_plan_make(ts_schedule *s, ts_rv loop_rv,
                                     ts_stmt *lp, ts_primfunc *f,
                                     const char *P, blockize_plan *out) {
  ts_stmt **blocks;
  int nbk;
  sch_child_blocks(lp, &blocks, &nbk);
  if (nbk != 1) {
    free(blocks);
    return sch_error(P, "loop %s must have exactly one block under it, found "
                        "%d",
                     sch_loop_desc(s, loop_rv, lp), nbk);
  }
  ts_stmt *realize = blocks[0];
  free(blocks);
  ts_block *b = realize->u.realize.block;
  ts_stmt **loops;
  int nl;
  sch_enclosing_loops(f, realize, &loops, &nl);
  int pos = 0;
  while (pos < nl && loops[pos] != lp) pos++;
  if (pos == nl) {
    free(loops);
    return sch_error(P, "loop %s is not an ancestor of block %s",
                     sch_loop_desc(s, loop_rv, lp), b->name);
  }
  ts_status *err = NULL;
  ts_arena *a = s->mod->arena;
  int n = b->n_iter_vars;
  ts_iter_var *oiv = ts_arena_array(a, (size_t)(n ? n : 1), sizeof *oiv);
  ts_expr **ovals = ts_arena_array(a, (size_t)(n ? n : 1), sizeof(ts_expr *));
  ts_expr **ivals = ts_arena_array(a, (size_t)(n ? n : 1), sizeof(ts_expr *));
  if (realize->u.realize.predicate) {
    for (int i = 0; i < pos && !err; i++)
      if (ts_expr_uses_var(realize->u.realize.predicate, loops[i]->u.for_.var))
        err = sch_error(P, "the predicate of block %s uses loop %s outside "
                           "loop %s",
                        b->name, loops[i]->u.for_.var->name,
                        sch_loop_desc(s, loop_rv, lp));
  }
  for (int k = 0; k < n && !err; k++) {
    ts_iter_var *iv = &b->iter_vars[k];
    ts_expr *val = realize->u.realize.iter_values[k];
    ts_dtype t = iv->var->dtype;
    sch_linear l;
    int64_t dmin = 0, dext;
    if (iv->dom.min && !ts_expr_is_const_int(iv->dom.min, &dmin)) dmin = -1;
    if (!sch_linearize(val, &l) || dmin != 0 ||
        !ts_expr_is_const_int(iv->dom.extent, &dext)) {
      err = sch_error(P, "the binding of %s in block %s is not an affine "
                         "expression of the loops",
                      iv->var->name, b->name);
      break;
    }
    sch_linear in = {0}, outl = {0};
    in.ok = outl.ok = true;
    outl.c0 = l.c0;
    for (int i = 0; i < l.n; i++) {
      sch_linear *dst = in_set(loops, pos, nl, l.vars[i]) ? &in : &outl;
      dst->vars[dst->n] = l.vars[i];
      dst->coef[dst->n++] = l.coef[i];
    }
    /* inner terms: dense mixed radix, sorted by coefficient */
    int64_t E = 1;
    bool used[SCH_LINEAR_MAX] = {0};
    for (int step = 0; step < in.n && !err; step++) {
      int pick = -1;
      for (int i = 0; i < in.n; i++)
        if (!used[i] && in.coef[i] == E) pick = i;
      int64_t ext = 0, mn = 1;
      const ts_stmt *fl = NULL;
      for (int i = pos; pick >= 0 && i < nl; i++)
        if (loops[i]->u.for_.var == in.vars[pick]) fl = loops[i];
      if (pick < 0 || !fl || !ts_expr_is_const_int(fl->u.for_.extent, &ext) ||
          !ts_expr_is_const_int(fl->u.for_.min, &mn) || mn != 0) {
        err = sch_error(P, "the binding of %s in block %s cannot be divided "
                           "at loop %s",
                        iv->var->name, b->name, sch_loop_desc(s, loop_rv, lp));
        break;
      }
      used[pick] = true;
      E *= ext;
    }
    if (err) break;
    for (int i = 0; i < outl.n && !err; i++)
      if (outl.coef[i] % E) err = sch_error(P, "the binding of %s in block %s "
                                               "cannot be divided at loop %s",
                                            iv->var->name, b->name,
                                            sch_loop_desc(s, loop_rv, lp));
    if (!err && (outl.c0 % E || dext % E))
      err = sch_error(P, "the binding of %s in block %s cannot be divided at "
                         "loop %s",
                      iv->var->name, b->name, sch_loop_desc(s, loop_rv, lp));
    if (err) break;
    for (int i = 0; i < outl.n; i++) outl.coef[i] /= E;
    outl.c0 /= E;
    int64_t oext = dext / E;
    ts_var *ov = ts_var_new(a, ts_arena_printf(a, "%s_o", iv->var->name), t,
                            iv->var->loc);
    oiv[k].var = ov;
    oiv[k].type = iv->type;
    oiv[k].dom.min = ts_int(a, iv->dom.extent->dtype, 0);
    oiv[k].dom.extent = ts_int(a, iv->dom.extent->dtype, oext);
    ovals[k] = sch_linear_expr(a, &outl, t);
    ts_expr *inner = in.n ? sch_linear_expr(a, &in, t) : NULL;
    if (oext == 1) ivals[k] = inner ? inner : ts_int(a, t, 0);
    else if (E == 1) ivals[k] = ts_varref(a, ov);
    else
      ivals[k] = ts_binary(a, TS_E_ADD,
                           ts_binary(a, TS_E_MUL, ts_varref(a, ov),
                                     ts_int(a, t, E)),
                           inner);
  }
  free(loops);
  if (err) return err;
  ts_block *ob = ts_arena_alloc(a, sizeof *ob);
  ob->name = sch_fresh_name(s, f, ts_arena_printf(a, "%s_o", b->name));
  ob->loc = b->loc;
  ob->iter_vars = oiv;
  ob->n_iter_vars = n;
  ob->body = lp;
  ts_stmt *orz = ts_stmt_new(a, TS_S_BLOCK_REALIZE, realize->loc);
  orz->u.realize.block = ob;
  orz->u.realize.iter_values = ovals;
  out->loop = lp;
  out->realize = realize;
  out->outer = orz;
  out->new_inner_vals = ivals;
  out->old_inner_vals = realize->u.realize.iter_values;
  return NULL;
}

static void blockize_apply(ts_schedule *s, ts_primfunc *f, blockize_plan *p) {
  sch_replace(f, p->loop, p->outer);
  p->realize->u.realize.iter_values = p->new_inner_vals;
  ts_block_infer_regions(s->mod->arena, p->outer->u.realize.block);
}

static void blockize_undo(ts_primfunc *f, blockize_plan *p) {
  sch_replace(f, p->outer, p->loop);
  p->realize->u.realize.iter_values = p->old_inner_vals;
}

ts_status *ts_sch_blockize(ts_schedule *s, ts_rv loop, ts_rv *out) {
  ts_stmt *lp;
  TS_RETURN_IF_ERROR(sch_loop(s, loop, &lp));
  ts_primfunc *f = sch_rv_func(s, loop);
  blockize_plan p;
  TS_RETURN_IF_ERROR(blockize_plan_make(s, loop, lp, f, "blockize", &p));
  blockize_apply(s, f, &p);
  ts_rv r = sch_new_rv(s, SCH_RV_BLOCK, p.outer, f);
  sch_record(s, "%s = sch.blockize(target=%s, preserve_unit_iters=True)",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, loop));
  if (out) *out = r;
  return NULL;
}

/* ======================================================================
 * tensorize
 * ====================================================================== */

#define TZ_MAX_BUF 8

typedef struct tz_ctx {
  ts_stmt **wloops; /* workload inner loops */
  int nloops;
  const ts_buffer *dbuf[TZ_MAX_BUF];
  ts_buffer *wbuf[TZ_MAX_BUF];
  sch_linear off[TZ_MAX_BUF][TS_MAX_NDIM_SCH];
  int nbuf;
  ts_arena *a;
} tz_ctx;

static bool is_inner(tz_ctx *c, const ts_var *v) {
  for (int i = 0; i < c->nloops; i++)
    if (c->wloops[i]->u.for_.var == v) return true;
  return false;
}

static bool lin_equal(const sch_linear *x, const sch_linear *y) {
  if (x->n != y->n || x->c0 != y->c0) return false;
  for (int i = 0; i < x->n; i++)
    if (sch_linear_coef(y, x->vars[i]) != x->coef[i]) return false;
  return true;
}

static bool tz_access(tz_ctx *c, ts_buffer *wb, ts_expr **widx,
                      const ts_buffer *db, ts_expr **didx, int n) {
  if (wb->ndim != db->ndim || n != db->ndim || n > TS_MAX_NDIM_SCH ||
      !ts_dtype_eq(wb->dtype, db->dtype))
    return false;
  int k = -1;
  for (int i = 0; i < c->nbuf; i++)
    if (c->dbuf[i] == db) k = i;
  sch_linear offs[TS_MAX_NDIM_SCH];
  for (int d = 0; d < n; d++) {
    sch_linear lw, ld;
    if (!sch_linearize(widx[d], &lw) || !sch_linearize(didx[d], &ld))
      return false;
    /* lw - ld */
    sch_linear r = lw;
    r.c0 -= ld.c0;
    for (int i = 0; i < ld.n; i++) {
      int j = -1;
      for (int q = 0; q < r.n; q++)
        if (r.vars[q] == ld.vars[i]) j = q;
      if (j < 0) {
        if (r.n == SCH_LINEAR_MAX) return false;
        j = r.n++;
        r.vars[j] = ld.vars[i];
        r.coef[j] = 0;
      }
      r.coef[j] -= ld.coef[i];
    }
    int q = 0;
    for (int i = 0; i < r.n; i++) {
      if (r.coef[i] == 0) continue;
      if (is_inner(c, r.vars[i])) return false;
      r.vars[q] = r.vars[i];
      r.coef[q++] = r.coef[i];
    }
    r.n = q;
    offs[d] = r;
  }
  if (k < 0) {
    if (c->nbuf == TZ_MAX_BUF) return false;
    for (int i = 0; i < c->nbuf; i++)
      if (c->wbuf[i] == wb) return false; /* two desc buffers, one workload */
    k = c->nbuf++;
    c->dbuf[k] = db;
    c->wbuf[k] = wb;
    for (int d = 0; d < n; d++) c->off[k][d] = offs[d];
    return true;
  }
  if (c->wbuf[k] != wb) return false;
  for (int d = 0; d < n; d++)
    if (!lin_equal(&c->off[k][d], &offs[d])) return false;
  return true;
}

static bool tz_expr(tz_ctx *c, const ts_expr *w, const ts_expr *d) {
  if (w->kind != d->kind || !ts_dtype_eq(w->dtype, d->dtype)) return false;
  switch (w->kind) {
  case TS_E_INT: return w->u.int_value == d->u.int_value;
  case TS_E_FLOAT: return w->u.float_value == d->u.float_value;
  case TS_E_VAR: return w->u.var == d->u.var;
  case TS_E_NOT:
  case TS_E_CAST: return tz_expr(c, w->u.unary.a, d->u.unary.a);
  case TS_E_SELECT:
    return tz_expr(c, w->u.select.cond, d->u.select.cond) &&
           tz_expr(c, w->u.select.t, d->u.select.t) &&
           tz_expr(c, w->u.select.f, d->u.select.f);
  case TS_E_LOAD:
    return tz_access(c, w->u.load.buffer, w->u.load.indices, d->u.load.buffer,
                     d->u.load.indices, w->u.load.n);
  case TS_E_CALL:
    if (w->u.call.op != d->u.call.op || w->u.call.n != d->u.call.n)
      return false;
    for (int i = 0; i < w->u.call.n; i++)
      if (!tz_expr(c, w->u.call.args[i], d->u.call.args[i])) return false;
    return true;
  default:
    if (ts_expr_kind_is_binary(w->kind))
      return tz_expr(c, w->u.bin.a, d->u.bin.a) &&
             tz_expr(c, w->u.bin.b, d->u.bin.b);
    return false;
  }
}

static bool tz_stmt(tz_ctx *c, const ts_stmt *w, const ts_stmt *d) {
  if (w->kind != d->kind) return false;
  switch (w->kind) {
  case TS_S_STORE:
    return w->u.store.n == d->u.store.n &&
           tz_access(c, w->u.store.buffer, w->u.store.indices,
                     d->u.store.buffer, d->u.store.indices, w->u.store.n) &&
           tz_expr(c, w->u.store.value, d->u.store.value);
  case TS_S_SEQ:
    if (w->u.seq.n != d->u.seq.n) return false;
    for (int i = 0; i < w->u.seq.n; i++)
      if (!tz_stmt(c, w->u.seq.stmts[i], d->u.seq.stmts[i])) return false;
    return true;
  default: return false;
  }
}

/* Splits `body` into a perfect loop chain and the realize under it. */
static ts_stmt *loop_chain(ts_stmt *body, ts_stmt **loops, int *n, int max) {
  *n = 0;
  while (body && body->kind == TS_S_FOR && *n < max) {
    loops[(*n)++] = body;
    body = body->u.for_.body;
  }
  return body && body->kind == TS_S_BLOCK_REALIZE ? body : NULL;
}

static ts_status *tensorize_block(ts_schedule *s, ts_primfunc *f,
                                  ts_stmt *orz, const ts_tensor_intrin *in,
                                  const char *iname, bool apply) {
  static const char *P = "tensorize";
  ts_block *ob = orz->u.realize.block;
  ts_stmt *wl[32], *dl[32];
  int nw, nd;
  ts_stmt *wr = loop_chain(ob->body, wl, &nw, 32);
  ts_stmt *droot = in->desc->body;
  if (!droot || droot->kind != TS_S_BLOCK_REALIZE)
    return sch_error(P, "intrinsic %s has a malformed description", iname);
  ts_stmt *dr = loop_chain(droot->u.realize.block->body, dl, &nd, 32);
  if (!wr || !dr)
    return sch_error(P, "block %s does not hold a loop nest over one block",
                     ob->name);
  ts_block *wb = wr->u.realize.block, *db = dr->u.realize.block;
#define MISMATCH(why)                                                          \
  sch_error(P, "block %s does not match the description of intrinsic %s: %s", \
            ob->name, iname, why)
  if (nw != nd) return MISMATCH("the loop nests differ in depth");
  ts_arena *tmp = ts_arena_create();
  ts_ptrmap dsub = {0}, wsub = {0};
  ts_status *err = NULL;
  for (int i = 0; i < nw && !err; i++) {
    int64_t we, de, wm, dm;
    if (!ts_expr_is_const_int(wl[i]->u.for_.extent, &we) ||
        !ts_expr_is_const_int(dl[i]->u.for_.extent, &de) || we != de ||
        !ts_expr_is_const_int(wl[i]->u.for_.min, &wm) ||
        !ts_expr_is_const_int(dl[i]->u.for_.min, &dm) || wm != 0 || dm != 0)
      err = MISMATCH("loop extents differ");
    else
      ts_ptrmap_put(&dsub, dl[i]->u.for_.var,
                    ts_varref(tmp, wl[i]->u.for_.var));
  }
  if (!err && (wb->n_iter_vars != db->n_iter_vars))
    err = MISMATCH("the numbers of iteration variables differ");
  if (!err && wb->init)
    err = sch_error(P, "block %s has an init; apply decompose_reduction "
                       "first",
                    wb->name);
  if (!err && (db->init || wr->u.realize.predicate || dr->u.realize.predicate))
    err = MISMATCH("inits or predicates differ");
  tz_ctx c = {0};
  c.wloops = wl;
  c.nloops = nw;
  c.a = tmp;
  for (int k = 0; k < wb->n_iter_vars && !err; k++) {
    if (wb->iter_vars[k].type != db->iter_vars[k].type) {
      err = MISMATCH("iteration variable kinds differ");
      break;
    }
    ts_expr *wv = wr->u.realize.iter_values[k];
    ts_expr *dv = ts_expr_substitute(tmp, dr->u.realize.iter_values[k], &dsub);
    sch_linear lw, ld;
    if (!sch_linearize(wv, &lw) || !sch_linearize(dv, &ld)) {
      err = MISMATCH("bindings are not affine");
      break;
    }
    for (int i = 0; i < nw && !err; i++)
      if (sch_linear_coef(&lw, wl[i]->u.for_.var) !=
          sch_linear_coef(&ld, wl[i]->u.for_.var))
        err = MISMATCH("bindings differ");
    ts_ptrmap_put(&wsub, wb->iter_vars[k].var, wv);
    ts_ptrmap_put(&dsub, db->iter_vars[k].var, dv);
  }
  if (!err) {
    ts_stmt *wbody = ts_stmt_substitute(tmp, wb->body, &wsub);
    ts_stmt *dbody = ts_stmt_substitute(tmp, db->body, &dsub);
    if (!tz_stmt(&c, wbody, dbody)) err = MISMATCH("the computations differ");
  }
  /* every desc parameter buffer must be matched */
  int pidx[TZ_MAX_BUF];
  for (int i = 0; i < c.nbuf && !err; i++) {
    pidx[i] = -1;
    for (int p = 0; p < in->desc->n_params; p++)
      if (in->desc->params[p].buffer == c.dbuf[i]) pidx[i] = p;
    if (pidx[i] < 0 || pidx[i] >= in->impl->n_params ||
        !in->impl->params[pidx[i]].buffer)
      err = MISMATCH("a description buffer is not a parameter");
  }
  if (err || !apply) {
    ts_ptrmap_free(&dsub);
    ts_ptrmap_free(&wsub);
    ts_arena_destroy(tmp);
    return err;
  }
#undef MISMATCH
  /* ---- apply ---- */
  ts_arena *a = s->mod->arena;
  ts_primfunc *impl = ts_primfunc_copy(a, in->impl);
  ts_match_buffer *mbs =
      ts_arena_array(a, (size_t)(c.nbuf ? c.nbuf : 1), sizeof *mbs);
  for (int i = 0; i < c.nbuf; i++) {
    ts_buffer *ib = impl->params[pidx[i]].buffer;
    ib->name = sch_fresh_name(s, f, ib->name);
    ib->strides = NULL;
    ib->elem_offset = NULL;
    if (!ib->offset_factor) ib->offset_factor = 1;
    ib->scope = c.wbuf[i]->scope;
    mbs[i].buffer = ib;
    mbs[i].source.buffer = c.wbuf[i];
    mbs[i].source.n = ib->ndim;
    mbs[i].source.ranges =
        ts_arena_array(a, (size_t)ib->ndim, sizeof(ts_range));
    for (int d = 0; d < ib->ndim; d++) {
      ts_dtype t = ib->shape[d]->dtype;
      mbs[i].source.ranges[d].min = sch_linear_expr(a, &c.off[i][d], t);
      mbs[i].source.ranges[d].extent = ib->shape[d];
    }
  }
  ts_stmt *ibody = impl->body;
  if (ibody && ibody->kind == TS_S_BLOCK_REALIZE)
    ibody = ibody->u.realize.block->body;
  for (int i = 0; i < nw; i++) sch_invalidate_node(s, wl[i]);
  sch_invalidate_node(s, wr);
  ob->body = ibody;
  ob->match_buffers = mbs;
  ob->n_match_buffers = c.nbuf;
  ts_block_infer_regions(a, ob);
  ts_ptrmap_free(&dsub);
  ts_ptrmap_free(&wsub);
  ts_arena_destroy(tmp);
  return NULL;
}

ts_status *ts_sch_tensorize(ts_schedule *s, ts_rv block_or_loop,
                            const char *intrin) {
  static const char *P = "tensorize";
  ts_stmt *node;
  TS_RETURN_IF_ERROR(sch_block_or_loop(s, block_or_loop, &node));
  ts_primfunc *f = sch_rv_func(s, block_or_loop);
  const ts_tensor_intrin *in = sch_lookup_intrin(s->mod, intrin ? intrin : "");
  if (!in || !in->desc || !in->impl)
    return sch_error(P, "unknown tensor intrinsic \"%s\"", intrin ? intrin : "");
  if (node->kind == TS_S_FOR) {
    blockize_plan p;
    TS_RETURN_IF_ERROR(blockize_plan_make(s, block_or_loop, node, f, P, &p));
    blockize_apply(s, f, &p);
    ts_status *st = tensorize_block(s, f, p.outer, in, intrin, false);
    if (st) {
      blockize_undo(f, &p);
      return st;
    }
    tensorize_block(s, f, p.outer, in, intrin, true);
  } else {
    TS_RETURN_IF_ERROR(tensorize_block(s, f, node, in, intrin, false));
    tensorize_block(s, f, node, in, intrin, true);
  }
  sch_record(s, "sch.tensorize(block_or_loop=%s, tensor_intrin=\"%s\")",
             ts_schedule_rv_name(s, block_or_loop), intrin);
  return NULL;
}
