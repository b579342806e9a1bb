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
 * computed, converting back to NCHW (or to the next kernel's blocked
 * layout); the parallel loop is (n, y, channel block), so that each thread
 * computes a band of rows with all their channels.
 * Output channels come in vectors of 16, or of 8 when F is not a multiple
 * of 16 (the micro-kernel's 8-float form).
 *
 * Depthwise convolutions use the same layouts (channel blocks of 16 for the
 * input, weight and result), with the window taps outside a tile of MR
 * columns x 16 channels that the compiler vectorizes along the channels.
 * Pooling windows (max or sum) keep NCHW: the taps run outside a vectorized
 * output row, rows in parallel.  The padding nest of each is scheduled here
 * too (contiguous writes, rows parallel). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"

static bool is_var(const ts_expr *e, const ts_var *v) {
  return e && e->kind == TS_E_VAR && e->u.var == v;
}

/* Loops binding the block's iteration variables one to one, in order. */
static bool plain_nest(ts_primfunc *f, ts_stmt *r, int n) {
  ts_stmt **loops = NULL;
  int nl = 0;
  sch_enclosing_loops(f, r, &loops, &nl);
  bool ok = nl == n;
  for (int i = 0; ok && i < n; i++)
    ok = is_var(r->u.realize.iter_values[i], loops[i]->u.for_.var);
  free(loops);
  return ok;
}

/* The block's iteration variables: n of them, the first `ns` spatial and
 * the rest reduce, all from 0 with static extents. */
static bool iter_kinds(const ts_block *b, int n, int ns, int64_t *ext) {
  if (b->n_iter_vars != n) return false;
  for (int i = 0; i < n; i++) {
    int64_t mn;
    ts_iter_type want = i < ns ? TS_ITER_SPATIAL : TS_ITER_REDUCE;
    if (b->iter_vars[i].type != want || !ts_expr_is_const_int(b->iter_vars[i].dom.min, &mn) || mn != 0 ||
        !ts_expr_is_const_int(b->iter_vars[i].dom.extent, &ext[i]))
      return false;
  }
  return true;
}

bool rule_conv_match(ts_primfunc *f, ts_stmt *r, conv_info *ci) {
  const ts_block *b = r->u.realize.block;
  int64_t ext[7];
  if (!b->init || r->u.realize.predicate || !b->body || b->body->kind != TS_S_STORE ||
      !iter_kinds(b, 7, 4, ext) || !plain_nest(f, r, 7))
    return false;
  const ts_stmt *st = b->body;
  const ts_buffer *cb = st->u.store.buffer;
  const ts_expr *v = st->u.store.value;
  if (cb->dtype.code != TS_FLOAT || cb->dtype.bits != 32 || cb->dtype.lanes != 1 ||
      v->kind != TS_E_ADD || st->u.store.n != 4)
    return false;
  const ts_var *iv[7];
  for (int i = 0; i < 7; i++) iv[i] = b->iter_vars[i].var;
  for (int d = 0; d < 4; d++)
    if (!is_var(st->u.store.indices[d], iv[d])) return false;
  const ts_expr *mul = v->u.bin.a->kind == TS_E_LOAD && v->u.bin.a->u.load.buffer == cb
                           ? v->u.bin.b
                           : v->u.bin.a;
  const ts_expr *cl = mul == v->u.bin.a ? v->u.bin.b : v->u.bin.a;
  if (cl->kind != TS_E_LOAD || cl->u.load.buffer != cb || mul->kind != TS_E_MUL ||
      mul->u.bin.a->kind != TS_E_LOAD || mul->u.bin.b->kind != TS_E_LOAD)
    return false;
  const ts_expr *ld = mul->u.bin.a, *lw = mul->u.bin.b;
  /* the weight is read at [f, rc, ry, rx] (depthwise: [c, 0, ry, rx]) */
  if (lw->u.load.n != 4 || !is_var(lw->u.load.indices[0], iv[1])) {
    const ts_expr *t = ld;
    ld = lw;
    lw = t;
  }
  if (lw->u.load.n != 4 || ld->u.load.n != 4) return false;
  int64_t zero;
  bool dw = ext[4] == 1 && ts_expr_is_const_int(lw->u.load.indices[1], &zero) && zero == 0 &&
            is_var(ld->u.load.indices[1], iv[1]);
  for (int d = 0; d < 4; d++)
    if (!(dw && d == 1) && !is_var(lw->u.load.indices[d], iv[d == 0 ? 1 : 3 + d]))
      return false;
  /* the input at [n, rc, .., ..] (depthwise: [n, c, .., ..]) */
  if (!is_var(ld->u.load.indices[0], iv[0]) ||
      (!dw && !is_var(ld->u.load.indices[1], iv[4])))
    return false;
  for (int d = 2; d < 4; d++)
    if (ts_expr_uses_var(ld->u.load.indices[d], iv[1]) ||
        ts_expr_uses_var(ld->u.load.indices[d], iv[4]))
      return false;
  const ts_buffer *db = ld->u.load.buffer, *wb = lw->u.load.buffer;
  if (db == cb || wb == cb || db == wb || db->dtype.bits != 32 || wb->dtype.bits != 32 ||
      db->dtype.code != TS_FLOAT || wb->dtype.code != TS_FLOAT || db->ndim != 4 ||
      wb->ndim != 4)
    return false;
  for (int d = 0; d < 4; d++) {
    int64_t e;
    if (!ts_expr_is_const_int(db->shape[d], &e) || !ts_expr_is_const_int(wb->shape[d], &e)) return false;
  }
  memset(ci, 0, sizeof *ci);
  ci->N = ext[0];
  ci->F = ext[1];
  ci->OH = ext[2];
  ci->OW = ext[3];
  ci->C = dw ? ext[1] : ext[4];
  ci->KH = ext[5];
  ci->KW = ext[6];
  ci->data = db;
  ci->weight = wb;
  ci->out = cb;
  ci->depthwise = dw;
  ci->data_read = ci->weight_read = -1;
  for (int i = 0; i < b->n_reads; i++) {
    if (b->reads[i].buffer == db) ci->data_read = i;
    if (b->reads[i].buffer == wb) ci->weight_read = i;
  }
  if (ci->data_read < 0 || ci->weight_read < 0) return false;
  /* output channels fill whole vectors of 16 (or 8) */
  ci->FB = ci->F % 16 == 0 ? 16 : ci->F % 8 == 0 && !dw ? 8 : 0;
  return ci->FB > 0;
}

bool rule_pool_match(ts_primfunc *f, ts_stmt *r, conv_info *ci) {
  const ts_block *b = r->u.realize.block;
  int64_t ext[6];
  if (!b->init || r->u.realize.predicate || !b->body || b->body->kind != TS_S_STORE ||
      b->n_reads != 2 || !iter_kinds(b, 6, 4, ext) || !plain_nest(f, r, 6))
    return false;
  const ts_stmt *st = b->body;
  const ts_expr *v = st->u.store.value;
  const ts_buffer *cb = st->u.store.buffer;
  if (st->u.store.n != 4 || (v->kind != TS_E_MAX && v->kind != TS_E_ADD) ||
      cb->dtype.code != TS_FLOAT || cb->dtype.lanes != 1)
    return false;
  for (int d = 0; d < 4; d++)
    if (!is_var(st->u.store.indices[d], b->iter_vars[d].var)) return false;
  const ts_expr *in = v->u.bin.a->kind == TS_E_LOAD && v->u.bin.a->u.load.buffer == cb
                          ? v->u.bin.b
                          : v->u.bin.a;
  if (in->kind != TS_E_LOAD || in->u.load.buffer == cb || in->u.load.n != 4 ||
      !is_var(in->u.load.indices[0], b->iter_vars[0].var) ||
      !is_var(in->u.load.indices[1], b->iter_vars[1].var))
    return false;
  memset(ci, 0, sizeof *ci);
  ci->N = ext[0];
  ci->C = ci->F = ext[1];
  ci->OH = ext[2];
  ci->OW = ext[3];
  ci->KH = ext[4];
  ci->KW = ext[5];
  ci->data = in->u.load.buffer;
  ci->out = cb;
  ci->pool = true;
  ci->data_read = ci->weight_read = -1;
  for (int i = 0; i < b->n_reads; i++)
    if (b->reads[i].buffer == ci->data) ci->data_read = i;
  return ci->data_read >= 0;
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

/* The block (of c->f) that writes `buf`, if any. */
static bool producer_of(rule_ctx *c, const ts_buffer *buf, ts_rv *out) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(c->f->body, &blocks, &nb);
  const char *name = NULL;
  for (int i = 0; i < nb && !name; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    for (int w = 0; w < b->n_writes; w++)
      if (b->writes[w].buffer == buf && b->n_iter_vars > 0) name = b->name;
  }
  free(blocks);
  if (!name) return false;
  ts_status *st = ts_sch_get_block(c->s, name, c->f->name, out);
  if (st) {
    ts_status_free(st);
    return false;
  }
  return true;
}

/* The padding nest (n, c, h, w) of a blocked input [n, C/CB, H, W, CB]:
 * c split by CB and moved innermost so that the writes are contiguous
 * (vectorized when CB fills a vector), (n, c/CB, h) fused and parallel.
 * With CB == 0 the layout is plain: w innermost and vectorized.  With CB
 * < 0 the nest is one plane of channel blocks (computed at the loop over
 * them): only reordered and vectorized. */
static void schedule_pad(rule_ctx *c, ts_rv pad, int64_t CB) {
  ts_rv *lp = NULL, *sp = NULL, fused;
  int nl = 0;
  ts_stmt *realize = NULL;
  const char *name = NULL;
  TRY(sch_block(c->s, pad, &realize));
  name = realize->u.realize.block->name;
  TRY(ts_sch_get_loops(c->s, pad, &lp, &nl));
  if (CB < 0 && nl >= 5) {
    /* one plane, under the loop over channel blocks: (n, c, h, w) -> (n,
     * h, w, c), the blocked plane written contiguously */
    TRY(ts_sch_reorder(c->s, (ts_rv[]){lp[nl - 2], lp[nl - 1], lp[nl - 3]}, 3));
    TRY(ts_sch_vectorize(c->s, lp[nl - 3]));
    goto out;
  }
  if (nl != 4) goto out;
  ts_rv inner = lp[3];
  if (CB > 0) {
    int64_t fc[2] = {-1, CB};
    TRY(ts_sch_split(c->s, lp[1], fc, NULL, 2, true, &sp));
    /* rows outside the channel blocks: the parallel loop splits the
     * image into bands of rows, as the convolutions' loops do (each
     * thread copies the rows its convolution reads) */
    TRY(ts_sch_reorder(c->s, (ts_rv[]){lp[0], lp[2], sp[0], lp[3], sp[1]}, 5));
    TRY(ts_sch_fuse(c->s, (ts_rv[]){lp[0], lp[2], sp[0]}, 3, true, &fused));
    inner = sp[1];
  } else {
    TRY(ts_sch_fuse(c->s, (ts_rv[]){lp[0], lp[1], lp[2]}, 3, true, &fused));
  }
  if (CB == 0 || CB >= 8) TRY(ts_sch_vectorize(c->s, inner));
  if (c->t->num_cores > 1) TRY(ts_sch_parallel(c->s, fused));
out:
  if (name) ts_vec_push(&c->done, name);
  free(lp);
  free(sp);
}

/* The channel block of the blocked parameter [n, C/B, H, W, B] that the
 * padding (or copy) nest of the convolution's input reads; 0 if none. */
static int64_t blocked_source(rule_ctx *c, const conv_info *ci) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  int64_t B = 0;
  sch_all_blocks(c->f->body, &blocks, &nb);
  for (int i = 0; i < nb && !B; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    bool writes = false;
    for (int w = 0; w < b->n_writes; w++) writes |= b->writes[w].buffer == ci->data;
    for (int r = 0; writes && r < b->n_reads && !B; r++) {
      const ts_buffer *in = b->reads[r].buffer;
      if (in->ndim == 5 && rule_is_param(c->f, in)) ts_expr_is_const_int(in->shape[4], &B);
    }
  }
  free(blocks);
  return B;
}

/* The epilogue under an output row: loops (n, f, y, x) over the row's FB
 * channels.  Writing NCHW, x is innermost and vectorized; writing a blocked
 * [n, F/B, OH, OW, B] result (kept blocked for the next convolution), f is
 * split by B and its inner part goes innermost, so that both the
 * convolution's result and the output are read and written contiguously. */
static void schedule_epilogue(rule_ctx *c, ts_rv blk, int64_t FB) {
  ts_stmt *r = NULL;
  ts_rv *lp = NULL, *sp = NULL;
  int nl = 0;
  int64_t B = 0;
  TRY(sch_block(c->s, blk, &r));
  const ts_block *b = r->u.realize.block;
  if (b->n_writes == 1 && b->writes[0].buffer->ndim == 5)
    ts_expr_is_const_int(b->writes[0].buffer->shape[4], &B);
  if (!B || FB % B) {
    rule_vectorize_innermost(c, blk);
    goto out;
  }
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl < 4) goto out;
  ts_rv *l4 = lp + nl - 4; /* n, f, y, x */
  ts_rv fo = -1, fi = l4[1];
  if (FB > B) {
    int64_t fs[2] = {-1, B};
    TRY(ts_sch_split(c->s, l4[1], fs, NULL, 2, true, &sp));
    fo = sp[0];
    fi = sp[1];
    TRY(ts_sch_reorder(c->s, (ts_rv[]){l4[0], fo, l4[2], l4[3], fi}, 5));
  } else {
    TRY(ts_sch_reorder(c->s, (ts_rv[]){l4[0], l4[2], l4[3], fi}, 4));
  }
  if (B >= 8) TRY(ts_sch_vectorize(c->s, fi));
out:
  free(lp);
  free(sp);
}

/* [d0, .., dn-1] -> the same with dimension `ch` blocked by `cb`: the
 * block index in place of the dimension and the offset appended last. */
static ts_index_map blocked_map(ts_arena *a, int nd, int ch, int64_t cb, ts_dtype it) {
  ts_index_map m = rule_index_map(a, nd, nd + 1, it);
  for (int d = 0; d < nd; d++)
    m.results[d] = d == ch ? vdiv(a, m.params[d], cb) : ts_varref(a, m.params[d]);
  m.results[nd] = vmod(a, m.params[ch], cb);
  return m;
}

/* A block whose body only stores an element of a parameter (a copy, no
 * padding). */
static bool plain_copy(const ts_primfunc *f, const ts_stmt *realize) {
  const ts_block *b = realize->u.realize.block;
  if (b->init || realize->u.realize.predicate || !b->body || b->body->kind != TS_S_STORE)
    return false;
  const ts_expr *v = b->body->u.store.value;
  return v->kind == TS_E_LOAD && rule_is_param(f, v->u.load.buffer);
}

void rule_conv(rule_ctx *c, ts_stmt *r, const conv_info *ci) {
  const char *name = r->u.realize.block->name;
  ts_arena *a = ts_module_arena(ts_schedule_module(c->s));
  ts_dtype it = ci->data->shape[0]->dtype, wt = ci->weight->shape[0]->dtype;
  bool dw = ci->depthwise;
  /* channel blocks of the target's width (rule_channel_block: 16, or 8
   * with AVX2's 16 registers) */
  int64_t W = rule_channel_block(c->t);
  int64_t FB = ci->FB > W && ci->F % W == 0 ? W : ci->FB;
  int64_t CB = dw ? FB
               : ci->C % W == 0 ? W
               : ci->C < W      ? ci->C
                                : divisor_at_most(ci->C, W);
  /* an input kept blocked between convolutions (rule_layout.c): its
   * blocks are the input channel blocks, so the padding nest copies them */
  int64_t SB = blocked_source(c, ci);
  if (SB && ci->C % SB == 0 && (!dw || SB == FB)) CB = SB;
  /* columns per tile: the accumulators (MR x FB/V vectors) within 28 of
   * AVX-512's 32 registers, 14 of AVX2's 16 (7x16: the weight vectors
   * stay FMA memory operands, see TS_UK_PIN in codegen_c.c; measured on a
   * Zen 3, 7x16 66-75 GFLOP/s against 43 with the weights pinned and 14x16
   * spilling) */
  int64_t V = c->t->vector_bytes / 4 < FB ? c->t->vector_bytes / 4 : FB;
  int64_t mr_max = (c->t->num_vregs >= 32 ? 28 : 14) / (FB / V);
  if (mr_max > 14) mr_max = 14;
  int64_t MR = divisor_at_most(ci->OW, mr_max);
  if (MR < 4 && ci->OW <= mr_max + 2) MR = ci->OW;
  /* output channels per tile: more than one vector, so that a broadcast
   * of the input feeds several FMAs: 14x32 (28 accumulators, 14 broadcasts
   * and 2 loads per 28 FMAs, where 14x16 needs 15 loads for 14), 7x64 (28
   * accumulators, 4 loads: the 32 registers hold them with the broadcast
   * as the FMA's memory operand).  Measured 1T against oneDNN: 512x7x7
   * 0.56 -> 0.82 (7x32 -> 7x64), 128x28x28 0.72 -> 0.87 (14x16 -> 14x32).
   * The stem's 3 input channels: 14x32 too, its kernel columns and
   * channels fused into one reduction loop of KW*C (21), contiguous in both
   * the input and the packed weight (0.76 -> 0.83; with the channels
   * outside the columns, 32 had lost: 0.54).  1x1 kernels: 32 where
   * they reduce over 32 input channels or more (MobileNetV2 on a Zen 5,
   * 1T in the model: 96->576 at 14x14 338 -> 275 us, 64->384 210 -> 170,
   * 576->96 206 -> 175, 384->64 143 -> 120; a Zen 4 had lost with every
   * pointwise conv at 32, the 16->96 and 24->144 expansions included:
   * 9.1 -> 10.0 ms). */
  if (c->t->num_vregs < 32) {
    /* 16 registers: 6 columns of two vectors (16 channels: 12
     * accumulators, a broadcast per two FMAs) where 6 divides the width or
     * from a width of 24, the last tile of a row partial (the split's
     * predicate: codegen_c.c runs it with the kernel of its rows); else up
     * to 14 columns of one vector.  ResNet-18 on a Zen 3 in interleaved
     * runs: against 14x8 at widths 28 and 56 (and the stem's 112), 1T
     * 0.80, 2T 0.86 of the time; against 14x8 at 28 only, 0.85 and 0.90.
     * Shorter rows lose with a partial tile (256x14x14, 6+6+2 columns:
     * 0.62 of oneDNN against 0.85 with 14x8), and 7x16 on rows of 7 ran
     * 512x7x7 at 5.8 ms against 3.8 with 7x8 (GCC keeps neither weight
     * vector in a register: 21 loads per 14 FMAs) */
    if (!dw && ci->F % 16 == 0 && (ci->OW % 6 == 0 || ci->OW >= 24)) {
      FB = 16;
      MR = 6;
    }
  } else if (!dw && ci->C >= 16 && ci->KH * ci->KW > 1) {
    if (MR <= 7 && ci->F % 64 == 0) FB = 64;
    else if (MR <= 14 && ci->F % 32 == 0) FB = 32;
  } else if (!dw && CB < ci->KW && MR <= 14 && ci->F % 32 == 0) {
    FB = 32; /* the stem: (kernel column, channel) fused into one reduction loop */
  } else if (!dw && MR <= 8 && ci->F % 32 == 0) {
    FB = 32; /* narrow rows: enough independent accumulators */
  } else if (!dw && ci->C >= 32 && MR <= 14 && ci->F % 32 == 0) {
    FB = 32; /* 1x1, two input channel blocks or more */
  }
  /* A weight slab of FB output channels (C*KH*KW*FB floats) beyond a
   * sixteenth of L2 (128x28x28: 144 KiB, 512x7x7: 1.2 MB): the input
   * channel blocks go outside the rows, so that each block's slice of the slab (KH*KW*CB*FB floats)
   * serves every row from L1 while the slab streams once from memory at
   * the rate the FMAs consume it.  Row-major, the first row of each slab
   * waited on memory for all of it (a graph reads each weight once per
   * run: ResNet-18's 512-channel convs took 3.4 ms in the model against
   * 2.0 ms standalone).  The result of the FB channels (OH*OW*FB floats)
   * stays in memory between channel blocks, the epilogue follows the last
   * block, and the parallel loop is (n, fo): used where it has enough
   * iterations. */
  bool cb_outer = !dw && CB >= ci->KW && ci->C / CB >= 2 &&
                  ci->C * ci->KH * ci->KW * FB * 4 > c->t->l2_bytes / 16 &&
                  ci->OH * ci->OW * FB * 4 <= c->t->l2_bytes / 8 &&
                  ci->N * (ci->F / FB) >= 2 * c->t->num_cores;
  /* 16 registers, 1x1, stride 1, unpadded, on a plane whose channel
   * block's result fits L2/8: the output pixels are one loop (y*OW + x:
   * consecutive pixels are consecutive in the blocked input), tiled 6 x 16
   * (12 x 8 where 16 does not divide F) with one partial tile at the end,
   * the epilogue per output channel block.  MobileNetV2 on a Zen 3: its
   * 1x1 convs on 7x7 and 14x14 planes (7x8 and 14x8 tiles before) take
   * 0.70-0.87 of the time, the model 1T 0.85-0.90 (2T 0.98) */
  int64_t IH = 0, IW = 0;
  ts_expr_is_const_int(ci->data->shape[2], &IH);
  ts_expr_is_const_int(ci->data->shape[3], &IW);
  bool flat = !dw && !cb_outer && c->t->num_vregs < 32 && ci->KH == 1 &&
              ci->KW == 1 && IH == ci->OH && IW == ci->OW &&
              ci->OH * ci->OW * 16 * 4 <= c->t->l2_bytes / 8 &&
              ci->N * (ci->F / (ci->F % 16 == 0 ? 16 : 8)) >= 2 * c->t->num_cores;
  if (flat) {
    FB = ci->F % 16 == 0 ? 16 : 8;
    MR = FB == 16 ? 6 : 12;
  }
  ts_rv *lp = NULL, *sf = NULL, *sx = NULL, *sc = NULL, *cons = NULL;
  int nl = 0, nc = 0;
  ts_rv blk, wblk, fused, pad;
  /* the stem's few channels: see the loop order below */
  bool fuse_rxc = !dw && !cb_outer && CB < ci->KW;
  char kpart[64];
  if (cb_outer)
    snprintf(kpart, sizeof kpart, "KH, KW, %lld", (long long)CB);
  else if (fuse_rxc)
    snprintf(kpart, sizeof kpart, "C/%lld, KH, KW*%lld fused", (long long)CB, (long long)CB);
  else
    snprintf(kpart, sizeof kpart, "C/%lld, KH, KW, %lld", (long long)CB, (long long)CB);
  if (dw)
    ts_strbuf_printf(c->why,
                     "depthwise conv2d %lld channels, %lldx%lld output, %lldx%lld kernel: "
                     "blocked layouts (input [n, C/%lld, H, W, %lld], weight [C/%lld, 1, KH, "
                     "KW, %lld], result [n, C/%lld, OH, OW, %lld]), %lld columns x %lld "
                     "channels vectorized per window tap, epilogue per output row, rows "
                     "parallel",
                     (long long)ci->C, (long long)ci->OH, (long long)ci->OW,
                     (long long)ci->KH, (long long)ci->KW, (long long)FB, (long long)FB,
                     (long long)FB, (long long)FB, (long long)FB, (long long)FB,
                     (long long)MR, (long long)FB);
  else
    ts_strbuf_printf(c->why,
                     "conv2d %lld -> %lld channels, %lldx%lld output, %lldx%lld kernel: "
                     "blocked layouts (input [n, C/%lld, H, W, %lld], weight packed "
                     "[F/%lld, C/%lld, KH, KW, %lld, %lld], result [n, F/%lld, OH, OW, "
                     "%lld]), %lldx%lld register tile, sgemm micro-kernel over (%s), %s",
                     (long long)ci->C, (long long)ci->F, (long long)ci->OH,
                     (long long)ci->OW, (long long)ci->KH, (long long)ci->KW, (long long)CB,
                     (long long)CB, (long long)FB, (long long)CB, (long long)CB,
                     (long long)FB, (long long)FB, (long long)FB, (long long)MR,
                     (long long)FB, kpart,
                     cb_outer ? "per input channel block, the C/CB blocks outside the rows (the "
                                "weight streams once), epilogue per output channel block, "
                                "output channel blocks parallel"
                     : flat ? "the output pixels one loop (y*OW + x), epilogue per output "
                              "channel block, output channel blocks parallel"
                            : "epilogue per output row and channel block, parallel over (n, y, F/FB): "
                              "bands of rows per thread");
  if (MR < 2) {
    ts_strbuf_append(c->why, " [stopped: the output width has no divisor in 2..14]");
    return;
  }
  rule_inline_injective(c, ci->data, ci->weight);
  TRY(ts_sch_get_block(c->s, name, c->f->name, &blk));
  if (rule_is_param(c->f, ci->out)) {
    ts_rv wb;
    TRY(ts_sch_cache_write(c->s, blk, 0, "global", &wb));
  }
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl != 7) goto out;
  int64_t ff[2] = {-1, FB}, fx[2] = {-1, MR}, fc[2] = {-1, CB};
  TRY(ts_sch_split(c->s, lp[1], ff, NULL, 2, true, &sf));
  ts_rv l_y = lp[2];
  if (flat) {
    ts_rv pix;
    TRY(ts_sch_fuse(c->s, (ts_rv[]){lp[2], lp[3]}, 2, true, &pix));
    TRY(ts_sch_split(c->s, pix, fx, NULL, 2, true, &sx));
  } else {
    TRY(ts_sch_split(c->s, lp[3], fx, NULL, 2, true, &sx));
  }
  ts_rv l_n = lp[0], fo = sf[0], fi = sf[1], xo = sx[0], xi = sx[1], rc = lp[4], ry = lp[5],
        rx = lp[6];
  ts_rv first_k = rc, uk = rc;
  if (dw) {
    TRY(ts_sch_reorder(c->s, (ts_rv[]){l_n, fo, l_y, xo, rc, ry, rx, xi, fi}, 9));
  } else {
    TRY(ts_sch_split(c->s, rc, fc, NULL, 2, true, &sc));
    first_k = uk = sc[0];
    if (cb_outer) {
      TRY(ts_sch_reorder(c->s, (ts_rv[]){l_n, fo, sc[0], l_y, xo, ry, rx, sc[1], xi, fi}, 10));
      uk = ry;
    } else if (flat) {
      TRY(ts_sch_reorder(c->s, (ts_rv[]){l_n, fo, xo, sc[0], ry, rx, sc[1], xi, fi}, 9));
    } else {
      /* rows outside the output channel blocks, so that the parallel
       * loop (n, y, fo) splits the image into bands of rows: each thread
       * then computes all channels of its rows, which the next
       * convolution's thread for those rows reads from its own cache
       * (split by channel blocks, every thread read the half of its input
       * that the other core had written: on a 2-vCPU Zen 3, MobileNetV2's
       * projections ran slower at 2 threads than at 1; the model at 2T
       * 0.85-0.89 of the time, ResNet-18 0.98, both 1.00 at 1T) */
      TRY(ts_sch_reorder(c->s, (ts_rv[]){l_n, l_y, fo, xo, sc[0], ry, rx, sc[1], xi, fi}, 10));
    }
  }
  /* the epilogue follows each output row, or (not depthwise) each row's
   * channel block (before the layouts change: the
   * consumer reads the result at plain iteration variables) */
  TRY(ts_sch_get_consumers(c->s, blk, &cons, &nc));
  for (int i = 0; i < nc; i++) {
    TRY(ts_sch_reverse_compute_at(c->s, cons[i], dw ? l_y : fo, true));
    schedule_epilogue(c, cons[i], FB);
  }
  /* blocked layouts: the input (padded in its own nest, or copied).  An
   * unpadded input kept blocked with these channel blocks is read where it
   * is: its copy nest is inlined. */
  bool direct = false;
  if (SB == CB && producer_of(c, ci->data, &pad)) {
    ts_stmt *pr;
    TRY(sch_block(c->s, pad, &pr));
    if (plain_copy(c->f, pr)) {
      TRY(ts_sch_compute_inline(c->s, pad));
      direct = true;
    }
  }
  if (!direct && rule_is_param(c->f, ci->data)) {
    ts_rv db;
    TRY(ts_sch_cache_read(c->s, blk, ci->data_read, "global", &db));
  }
  ts_stmt *rr;
  /* depthwise, padded: the loop over (n, channel block) fused, each
   * iteration padding its own [Hp, Wp, B] plane right before its rows read
   * it, from L2 (distinct planes per iteration: no two threads write the
   * same element).  Else the whole padded input is written and read back
   * through L3: MobileNetV2's padding nests were 11% of its run at 1T, as
   * much as its depthwise kernels.  (Before the layout changes: compute_at
   * wants the padding written at plain iteration variables.) */
  bool pad_at = false;
  if (!direct && dw && ci->N * (ci->C / FB) >= c->t->num_cores &&
      !rule_is_param(c->f, ci->data) && producer_of(c, ci->data, &pad)) {
    ts_status *st = ts_sch_compute_at(c->s, pad, fo, true);
    pad_at = st == NULL;
    if (st) ts_strbuf_printf(c->why, " [padding per channel block: %s]", ts_status_message(st));
    ts_status_free(st);
  }
  if (!direct) {
    ts_index_map dm = blocked_map(a, 4, 1, CB, it);
    TRY(ts_sch_transform_layout(c->s, blk, 0, ci->data_read, &dm));
    TRY(sch_block(c->s, blk, &rr));
    if (producer_of(c, rr->u.realize.block->reads[ci->data_read].buffer, &pad))
      schedule_pad(c, pad, pad_at ? -1 : CB);
  }
  /* (inlining rewrote the block's read regions: the weight's by buffer) */
  TRY(sch_block(c->s, blk, &rr));
  int weight_read = -1;
  for (int i = 0; i < rr->u.realize.block->n_reads; i++)
    if (rr->u.realize.block->reads[i].buffer == ci->weight) weight_read = i;
  if (weight_read < 0) {
    ts_strbuf_append(c->why, " [stopped: the weight is no longer read by the block]");
    goto out;
  }
  /* the weight, packed by its own nest */
  TRY(ts_sch_cache_read(c->s, blk, weight_read, "global", &wblk));
  ts_index_map wm;
  if (dw) {
    wm = blocked_map(a, 4, 0, FB, wt);
  } else {
    wm = rule_index_map(a, 4, 6, wt);
    wm.results[0] = vdiv(a, wm.params[0], FB);
    wm.results[1] = vdiv(a, wm.params[1], CB);
    wm.results[2] = ts_varref(a, wm.params[2]);
    wm.results[3] = ts_varref(a, wm.params[3]);
    wm.results[4] = vmod(a, wm.params[1], CB);
    wm.results[5] = vmod(a, wm.params[0], FB);
  }
  TRY(ts_sch_transform_layout(c->s, blk, 0, weight_read, &wm));
  ts_attr_value one = {.kind = TS_ATTR_INT, .u.i = 1};
  TRY(ts_sch_annotate(c->s, wblk, "tessera.pack_constant", &one));
  parallel_nest(c, wblk);
  ts_index_map om = blocked_map(a, 4, 1, FB, it);
  TRY(ts_sch_transform_layout(c->s, blk, 1, 0, &om));
  ts_rv init;
  TRY(ts_sch_decompose_reduction(c->s, blk, first_k, &init));
  if (dw) rule_vectorize_innermost(c, init);
  /* few input channels (the stem's 3): the kernel columns and the
   * channels fused into one loop of KW*CB, contiguous in the blocked input
   * and in the packed weight, the micro-kernel's inner loop (after
   * decompose_reduction, which wants the channel loop on its own) */
  if (fuse_rxc) {
    ts_rv rxc;
    TRY(ts_sch_fuse(c->s, (ts_rv[]){rx, sc[1]}, 2, true, &rxc));
  }
  /* the tile in registers over the whole reduction (the depthwise form:
   * input and weight both vectors along the channels) */
  ts_attr_value av = {.kind = TS_ATTR_STR, .u.s = "sgemm"};
  TRY(ts_sch_annotate(c->s, uk, "tessera.micro_kernel", &av));
  if (pad_at || cb_outer || flat) {
    /* the rows stay inside: each iteration pads its plane first, or runs
     * the channel blocks over all its rows */
    if (pad_at) ts_strbuf_append(c->why, ", the input padded per channel block");
    TRY(ts_sch_fuse(c->s, (ts_rv[]){l_n, fo}, 2, true, &fused));
  } else if (dw) {
    TRY(ts_sch_fuse(c->s, (ts_rv[]){l_n, fo, l_y}, 3, true, &fused));
  } else {
    TRY(ts_sch_fuse(c->s, (ts_rv[]){l_n, l_y, fo}, 3, true, &fused));
  }
  if (c->t->num_cores > 1) TRY(ts_sch_parallel(c->s, fused));
out:
  free(lp);
  free(sf);
  free(sx);
  free(sc);
  free(cons);
}

/* The channel block of the blocked parameter [n, C/B, H, W, B] that the
 * copy nest consuming `buf` writes (a cache_write of a pooling result kept
 * blocked, rule_layout.c), and that copy's block; 0 if none. */
static int64_t blocked_dest(rule_ctx *c, const ts_buffer *buf, ts_rv *copy) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  int64_t B = 0;
  const char *name = NULL;
  sch_all_blocks(c->f->body, &blocks, &nb);
  for (int i = 0; i < nb && !B; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    if (b->n_reads != 1 || b->reads[0].buffer != buf || b->n_writes != 1) continue;
    const ts_buffer *o = b->writes[0].buffer;
    if (o->ndim == 5 && rule_is_param(c->f, o) && ts_expr_is_const_int(o->shape[4], &B))
      name = b->name;
  }
  free(blocks);
  if (!B) return 0;
  ts_status *st = ts_sch_get_block(c->s, name, c->f->name, copy);
  if (st) {
    ts_status_free(st);
    return 0;
  }
  return B;
}

/* Pooling between blocked tensors (rule_layout.c): the window block reads
 * and writes [n, C/B, H, W, B] (its padding or copy nest, which reads the
 * blocked input, inlined; its result copied to the blocked output row by
 * row), the loops (n, C/B, y, x, ry, rx, B) with the B channels
 * vectorized: each window tap is one vector per output pixel, where the
 * plain layout reads every other element of a row (stride 2) and GCC
 * gathers them.  The taps inside each output pixel (unrolled up to 16 of
 * them) keep its running result in a register; with the taps outside the
 * row it was loaded and stored per tap (ResNet-18's 3x3/2 max pool at 1T in
 * the model: 0.50-0.63 -> 0.37-0.41 ms, 0.40 -> 0.37 unrolled; ONNX
 * Runtime's 0.25). */
static bool rule_pool_blocked(rule_ctx *c, ts_rv blk, const conv_info *ci) {
  ts_rv copy, pad;
  int64_t B = blocked_source(c, ci);
  if (!B || ci->C % B || blocked_dest(c, ci->out, &copy) != B) return false;
  ts_arena *a = ts_module_arena(ts_schedule_module(c->s));
  ts_dtype it = ci->data->shape[0]->dtype;
  ts_stmt *r;
  ts_rv *lp = NULL, *sc = NULL, *cl = NULL, fused, init;
  int nl = 0, ncl = 0;
  ts_strbuf_printf(c->why, "pooling %lld channels, %lldx%lld output, %lldx%lld window: "
                   "blocked layouts [n, C/%lld, H, W, %lld], window loops inside each output "
                   "pixel, the %lld channels vectorized, rows parallel",
                   (long long)ci->C, (long long)ci->OH, (long long)ci->OW, (long long)ci->KH,
                   (long long)ci->KW, (long long)B, (long long)B, (long long)B);
  int data_read = ci->data_read; /* (rule_pool_match) */
  ts_index_map dm = blocked_map(a, 4, 1, B, it), om = blocked_map(a, 4, 1, B, it);
  /* the padding (or copy) nest inlined (before any layout change: inlining
   * wants its plain indices): a window tap outside the input is a
   * condition per pixel, uniform over its channel vector (a padded copy of
   * the stem's result in ResNet-18 was a 3.3 MB write and read); where it
   * cannot be, the copy is made blocked */
  bool inlined = false;
  if (producer_of(c, ci->data, &pad)) {
    ts_status *st = ts_sch_compute_inline(c->s, pad);
    inlined = st == NULL;
    if (st) ts_strbuf_printf(c->why, " [padding kept: %s]", ts_status_message(st));
    ts_status_free(st);
  }
  if (!inlined) {
    TRY(ts_sch_transform_layout(c->s, blk, 0, data_read, &dm));
    TRY(sch_block(c->s, blk, &r));
    if (producer_of(c, r->u.realize.block->reads[data_read].buffer, &pad)) schedule_pad(c, pad, B);
  }
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl != 6) goto out;
  int64_t fc[2] = {-1, B};
  TRY(ts_sch_split(c->s, lp[1], fc, NULL, 2, true, &sc));
  TRY(ts_sch_reorder(c->s, (ts_rv[]){lp[0], sc[0], lp[2], lp[3], lp[4], lp[5], sc[1]}, 7));
  /* the copy of each output row into the blocked output, right after the
   * row (while the result is still plain: reverse_compute_at wants plain
   * iteration variables), its channels innermost */
  TRY(ts_sch_reverse_compute_at(c->s, copy, lp[2], true));
  TRY(ts_sch_transform_layout(c->s, blk, 1, 0, &om));
  TRY(ts_sch_get_loops(c->s, copy, &cl, &ncl));
  if (ncl >= 4) {
    TRY(ts_sch_reorder(c->s, (ts_rv[]){cl[ncl - 1], cl[ncl - 3]}, 2));
    TRY(ts_sch_vectorize(c->s, cl[ncl - 3]));
  }
  TRY(ts_sch_decompose_reduction(c->s, blk, lp[4], &init));
  TRY(ts_sch_vectorize(c->s, sc[1]));
  if (ci->KH * ci->KW <= 16) {
    TRY(ts_sch_unroll(c->s, lp[4]));
    TRY(ts_sch_unroll(c->s, lp[5]));
  }
  rule_vectorize_innermost(c, init);
  TRY(ts_sch_fuse(c->s, (ts_rv[]){lp[0], sc[0], lp[2]}, 3, true, &fused));
  if (c->t->num_cores > 1 && ci->C * ci->OH * ci->OW * ci->KH * ci->KW >= MIN_PARALLEL_WORK)
    TRY(ts_sch_parallel(c->s, fused));
out:
  free(lp);
  free(sc);
  free(cl);
  return true;
}

void rule_pool(rule_ctx *c, ts_stmt *r, const conv_info *ci) {
  const char *name = r->u.realize.block->name;
  ts_rv *lp = NULL;
  int nl = 0;
  ts_rv blk, fused, init, pad;
  TRY(ts_sch_get_block(c->s, name, c->f->name, &blk));
  if (rule_pool_blocked(c, blk, ci)) return;
  ts_strbuf_printf(c->why,
                   "pooling %lld channels, %lldx%lld output, %lldx%lld window: window "
                   "loops outside the output row, the row vectorized, rows parallel",
                   (long long)ci->C, (long long)ci->OH, (long long)ci->OW,
                   (long long)ci->KH, (long long)ci->KW);
  if (producer_of(c, ci->data, &pad)) schedule_pad(c, pad, 0);
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl != 6) goto out;
  TRY(ts_sch_reorder(c->s, (ts_rv[]){lp[0], lp[1], lp[2], lp[4], lp[5], lp[3]}, 6));
  TRY(ts_sch_decompose_reduction(c->s, blk, lp[4], &init));
  TRY(ts_sch_vectorize(c->s, lp[3]));
  rule_vectorize_innermost(c, init);
  TRY(ts_sch_fuse(c->s, (ts_rv[]){lp[0], lp[1], lp[2]}, 3, true, &fused));
  if (c->t->num_cores > 1 && ci->C * ci->OH * ci->OW * ci->KH * ci->KW >= MIN_PARALLEL_WORK)
    TRY(ts_sch_parallel(c->s, fused));
out:
  free(lp);
}
