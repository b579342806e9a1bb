/* rule_conv.c: the default schedule of 2-D convolutions (conv2d_nchw as
 * legalized: out[n, f, y, x] += pad[n, rc, y*s + ry*d, x*s + rx*d] *
 * w[f, rc, ry, rx]).
 *
 * Like oneDNN's and TVM's x86 conv2d_NCHWc, the kernel works in a blocked
 * channel layout, here converted inside the kernel (the graph keeps NCHW):
 *  - the padded input is written as [n, C/CB, Hp, Wp, CB] (CB = 16 input
 *    channels, or all of them when there are fewer);
 *  - the weight is packed as [F/16, C/CB, KH, KW, CB, 16] by its own loop
 *    nest, annotated "tessera.pack_constant" so that it can be lifted out of
 *    the kernel and folded when the weight is a constant;
 *  - the convolution result is [n, F/16, OH, OW, 16].
 * The output tile is MR consecutive output columns by 16 output channels,
 * held in registers over the whole reduction: the nest
 *   for co, ry, rx, ci: for xi (MR): for fi (16)
 * is handed to the sgemm micro-kernel (nested-k form, see codegen_c.c), with
 * the input as the broadcast operand (stride CB*s along xi) and the weight as
 * the vector operand.  The epilogue (bias, residual, activation, inlined into
 * one block) runs per output row of 16 channels, right after the row is
 * computed, converting back to NCHW; rows of channel blocks are parallel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"

static bool cint(const ts_expr *e, int64_t *v) {
  return e && e->kind == TS_E_INT && (*v = e->u.int_value, true);
}

static bool is_var(const ts_expr *e, const ts_var *v) {
  return e && e->kind == TS_E_VAR && e->u.var == v;
}

static bool is_param(const ts_primfunc *f, const ts_buffer *b) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer == b)
      return true;
  return false;
}

bool rule_conv_match(ts_primfunc *f, ts_stmt *r, conv_info *ci) {
  const ts_block *b = r->u.realize.block;
  if (b->n_iter_vars != 7 || !b->init || r->u.realize.predicate || !b->body ||
      b->body->kind != TS_S_STORE)
    return false;
  int64_t ext[7];
  for (int i = 0; i < 7; i++) {
    int64_t mn;
    ts_iter_type want = i < 4 ? TS_ITER_SPATIAL : TS_ITER_REDUCE;
    if (b->iter_vars[i].type != want || !cint(b->iter_vars[i].dom.min, &mn) ||
        mn != 0 || !cint(b->iter_vars[i].dom.extent, &ext[i]))
      return false;
  }
  ts_stmt **loops = NULL;
  int nl = 0;
  sch_enclosing_loops(f, r, &loops, &nl);
  bool ok = nl == 7;
  for (int i = 0; ok && i < 7; i++)
    ok = is_var(r->u.realize.iter_values[i], loops[i]->u.for_.var);
  free(loops);
  if (!ok)
    return false;
  const ts_stmt *st = b->body;
  const ts_buffer *cb = st->u.store.buffer;
  const ts_expr *v = st->u.store.value;
  if (cb->dtype.code != TS_FLOAT || cb->dtype.bits != 32 ||
      cb->dtype.lanes != 1 || v->kind != TS_E_ADD || st->u.store.n != 4)
    return false;
  const ts_var *iv[7];
  for (int i = 0; i < 7; i++)
    iv[i] = b->iter_vars[i].var;
  for (int d = 0; d < 4; d++)
    if (!is_var(st->u.store.indices[d], iv[d]))
      return false;
  const ts_expr *mul =
      v->u.bin.a->kind == TS_E_LOAD && v->u.bin.a->u.load.buffer == cb
          ? v->u.bin.b
          : v->u.bin.a;
  const ts_expr *cl = mul == v->u.bin.a ? v->u.bin.b : v->u.bin.a;
  if (cl->kind != TS_E_LOAD || cl->u.load.buffer != cb ||
      mul->kind != TS_E_MUL || mul->u.bin.a->kind != TS_E_LOAD ||
      mul->u.bin.b->kind != TS_E_LOAD)
    return false;
  const ts_expr *ld = mul->u.bin.a, *lw = mul->u.bin.b;
  /* the weight is read at [f, rc, ry, rx] */
  if (lw->u.load.n != 4 || !is_var(lw->u.load.indices[0], iv[1])) {
    const ts_expr *t = ld;
    ld = lw;
    lw = t;
  }
  if (lw->u.load.n != 4 || ld->u.load.n != 4)
    return false;
  for (int d = 0; d < 4; d++)
    if (!is_var(lw->u.load.indices[d], iv[d == 0 ? 1 : 3 + d]))
      return false;
  /* the input at [n, rc, .., ..] */
  if (!is_var(ld->u.load.indices[0], iv[0]) ||
      !is_var(ld->u.load.indices[1], iv[4]))
    return false;
  const ts_buffer *db = ld->u.load.buffer, *wb = lw->u.load.buffer;
  if (db == cb || wb == cb || db == wb || db->dtype.bits != 32 ||
      wb->dtype.bits != 32 || db->dtype.code != TS_FLOAT ||
      wb->dtype.code != TS_FLOAT)
    return false;
  for (int d = 0; d < 4; d++) {
    int64_t e;
    if (!cint(db->shape[d], &e) || !cint(wb->shape[d], &e))
      return false;
  }
  memset(ci, 0, sizeof *ci);
  ci->N = ext[0];
  ci->F = ext[1];
  ci->OH = ext[2];
  ci->OW = ext[3];
  ci->C = ext[4];
  ci->KH = ext[5];
  ci->KW = ext[6];
  ci->data = db;
  ci->weight = wb;
  ci->out = cb;
  ci->data_read = ci->weight_read = -1;
  for (int i = 0; i < b->n_reads; i++) {
    if (b->reads[i].buffer == db)
      ci->data_read = i;
    if (b->reads[i].buffer == wb)
      ci->weight_read = i;
  }
  if (ci->data_read < 0 || ci->weight_read < 0)
    return false;
  /* output channels fill whole 16-wide vectors */
  return ci->F % 16 == 0;
}

ts_index_map rule_index_map(ts_arena *a, int nd, int n_results, ts_dtype dt) {
  ts_index_map map;
  map.n_params = nd;
  map.params = ts_arena_alloc(a, sizeof(ts_var *) * (size_t)nd);
  map.n_results = n_results;
  map.results = ts_arena_alloc(a, sizeof(ts_expr *) * (size_t)n_results);
  for (int d = 0; d < nd; d++) {
    char nm[24];
    snprintf(nm, sizeof nm, "ax%d", d);
    map.params[d] = ts_var_new(a, ts_arena_strdup(a, nm), dt, (ts_loc){0});
  }
  return map;
}

static ts_expr *vdiv(ts_arena *a, ts_var *v, int64_t k) {
  return ts_binary(a, TS_E_FLOORDIV, ts_varref(a, v), ts_int(a, v->dtype, k));
}

static ts_expr *vmod(ts_arena *a, ts_var *v, int64_t k) {
  return ts_binary(a, TS_E_FLOORMOD, ts_varref(a, v), ts_int(a, v->dtype, k));
}

/* The largest divisor of n that is at most hi. */
static int64_t divisor_at_most(int64_t n, int64_t hi) {
  for (int64_t d = hi; d > 1; d--)
    if (n % d == 0)
      return d;
  return 1;
}

/* Inlines every injective block of the function that writes an
 * intermediate buffer, except the producers of `keep0` and `keep1`: the
 * epilogue of the convolution becomes one block. */
static void inline_epilogue(rule_ctx *c, const ts_buffer *keep0,
                            const ts_buffer *keep1) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(c->f->body, &blocks, &nb);
  TS_VEC(const char *) names = {0};
  for (int i = 0; i < nb; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    if (b->n_iter_vars == 0 || b->n_writes != 1 || b->init)
      continue;
    bool spatial = true;
    for (int k = 0; k < b->n_iter_vars; k++)
      spatial &= b->iter_vars[k].type == TS_ITER_SPATIAL;
    const ts_buffer *w = b->writes[0].buffer;
    if (spatial && w != keep0 && w != keep1 && !is_param(c->f, w))
      ts_vec_push(&names, b->name);
  }
  free(blocks);
  for (size_t i = 0; i < names.len; i++) {
    ts_rv blk;
    ts_status *st = ts_sch_get_block(c->s, names.data[i], c->f->name, &blk);
    if (!st)
      st = ts_sch_compute_inline(c->s, blk);
    ts_status_free(st);
  }
  ts_vec_free(&names);
}

/* Fuses a block's loops into one and makes it parallel (a packing nest). */
static void parallel_nest(rule_ctx *c, ts_rv blk) {
  ts_rv *pl = NULL, fl = -1;
  int npl = 0;
  ts_status *st = ts_sch_get_loops(c->s, blk, &pl, &npl);
  if (!st && npl > 1)
    st = ts_sch_fuse(c->s, pl, npl, true, &fl);
  else if (!st && npl == 1)
    fl = pl[0];
  if (!st && fl >= 0 && c->t->num_cores > 1)
    st = ts_sch_parallel(c->s, fl);
  ts_status_free(st);
  free(pl);
}

void rule_conv(rule_ctx *c, ts_stmt *r, const conv_info *ci) {
  const char *name = r->u.realize.block->name;
  ts_arena *a = ts_module_arena(ts_schedule_module(c->s));
  ts_dtype it = ci->data->shape[0]->dtype;
  int64_t CB = ci->C % 16 == 0 ? 16
               : ci->C < 16    ? ci->C
                               : divisor_at_most(ci->C, 16);
  int64_t MR = divisor_at_most(ci->OW, 14);
  if (MR < 4 && ci->OW <= 16)
    MR = ci->OW;
  ts_rv *lp = NULL, *sf = NULL, *sx = NULL, *sc = NULL, *cons = NULL;
  int nl = 0, nc = 0;
  ts_rv blk, wblk, fused;
  ts_strbuf_printf(
      c->why,
      "conv2d %lld -> %lld channels, %lldx%lld output, %lldx%lld kernel: "
      "blocked layouts (input [n, C/%lld, H, W, %lld], weight packed "
      "[F/16, C/%lld, KH, KW, %lld, 16], result [n, F/16, OH, OW, 16]), "
      "%lldx16 register tile, sgemm micro-kernel over (C/%lld, KH, KW, %lld), "
      "epilogue per output row, rows parallel",
      (long long)ci->C, (long long)ci->F, (long long)ci->OH, (long long)ci->OW,
      (long long)ci->KH, (long long)ci->KW, (long long)CB, (long long)CB,
      (long long)CB, (long long)CB, (long long)MR, (long long)CB,
      (long long)CB);
  if (MR < 2) {
    ts_strbuf_append(c->why,
                     " [stopped: output width has no divisor in 2..14]");
    return;
  }
  inline_epilogue(c, ci->data, ci->weight);
  TRY(ts_sch_get_block(c->s, name, c->f->name, &blk));
  if (is_param(c->f, ci->out)) {
    ts_rv wb;
    TRY(ts_sch_cache_write(c->s, blk, 0, "global", &wb));
  }
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl != 7)
    goto out;
  int64_t ff[2] = {-1, 16}, fx[2] = {-1, MR}, fc[2] = {-1, CB};
  TRY(ts_sch_split(c->s, lp[1], ff, NULL, 2, true, &sf));
  TRY(ts_sch_split(c->s, lp[3], fx, NULL, 2, true, &sx));
  TRY(ts_sch_split(c->s, lp[4], fc, NULL, 2, true, &sc));
  ts_rv l_n = lp[0], fo = sf[0], fi = sf[1], l_y = lp[2], xo = sx[0],
        xi = sx[1], co = sc[0], cin = sc[1], ry = lp[5], rx = lp[6];
  TRY(ts_sch_reorder(c->s, (ts_rv[]){l_n, fo, l_y, xo, co, ry, rx, cin, xi, fi},
                     10));
  /* the epilogue follows each output row (before the layouts change: the
   * consumer reads the result at plain iteration variables) */
  TRY(ts_sch_get_consumers(c->s, blk, &cons, &nc));
  for (int i = 0; i < nc; i++) {
    TRY(ts_sch_reverse_compute_at(c->s, cons[i], l_y, true));
    ts_rv *el = NULL;
    int ne = 0;
    ts_status *st = ts_sch_get_loops(c->s, cons[i], &el, &ne);
    if (!st && ne > 0)
      st = ts_sch_vectorize(c->s, el[ne - 1]);
    ts_status_free(st);
    free(el);
  }
  /* blocked layouts */
  ts_index_map dm = rule_index_map(a, 4, 5, it);
  dm.results[0] = ts_varref(a, dm.params[0]);
  dm.results[1] = vdiv(a, dm.params[1], CB);
  dm.results[2] = ts_varref(a, dm.params[2]);
  dm.results[3] = ts_varref(a, dm.params[3]);
  dm.results[4] = vmod(a, dm.params[1], CB);
  if (is_param(c->f, ci->data)) {
    ts_rv db;
    TRY(ts_sch_cache_read(c->s, blk, ci->data_read, "global", &db));
  }
  TRY(ts_sch_transform_layout(c->s, blk, 0, ci->data_read, &dm));
  TRY(ts_sch_cache_read(c->s, blk, ci->weight_read, "global", &wblk));
  ts_index_map wm = rule_index_map(a, 4, 6, ci->weight->shape[0]->dtype);
  wm.results[0] = vdiv(a, wm.params[0], 16);
  wm.results[1] = vdiv(a, wm.params[1], CB);
  wm.results[2] = ts_varref(a, wm.params[2]);
  wm.results[3] = ts_varref(a, wm.params[3]);
  wm.results[4] = vmod(a, wm.params[1], CB);
  wm.results[5] = vmod(a, wm.params[0], 16);
  TRY(ts_sch_transform_layout(c->s, blk, 0, ci->weight_read, &wm));
  ts_attr_value one = {.kind = TS_ATTR_INT, .u.i = 1};
  TRY(ts_sch_annotate(c->s, wblk, "tessera.pack_constant", &one));
  parallel_nest(c, wblk);
  ts_index_map om = rule_index_map(a, 4, 5, it);
  om.results[0] = ts_varref(a, om.params[0]);
  om.results[1] = vdiv(a, om.params[1], 16);
  om.results[2] = ts_varref(a, om.params[2]);
  om.results[3] = ts_varref(a, om.params[3]);
  om.results[4] = vmod(a, om.params[1], 16);
  TRY(ts_sch_transform_layout(c->s, blk, 1, 0, &om));
  TRY(ts_sch_decompose_reduction(c->s, blk, co, NULL));
  ts_attr_value av = {.kind = TS_ATTR_STR, .u.s = "sgemm"};
  TRY(ts_sch_annotate(c->s, co, "tessera.micro_kernel", &av));
  TRY(ts_sch_fuse(c->s, (ts_rv[]){l_n, fo, l_y}, 3, true, &fused));
  if (c->t->num_cores > 1)
    TRY(ts_sch_parallel(c->s, fused));
out:
  free(lp);
  free(sf);
  free(sx);
  free(sc);
  free(cons);
}
