/* rules.c: rule-based default schedules (the pass "schedule-default").
 *
 * Like TVM's default schedule rules (DLight for GPUs, the x86 defaults of
 * Relay/Relax for CPUs), each unscheduled PrimFunc gets a schedule chosen
 * from the shape of its blocks, built only from schedule primitives so that
 * the trace prints and replays:
 *
 *  - matmul (a block C[.., i, j] += A[.., i, k] * B[.., k, j] or B[.., j, k]
 *    with spatial i, j and reduce k, any number of leading batch dims, fused
 *    with the outer tile loop; k split into blocks that keep a KC x NR panel
 *    of B in L1 when there are >= 16 row tiles and M x KC of A fits half of
 *    L2; A packed [M/MR, K, MR] when its rows are 4 KiB-multiple apart):
 *    register tiles of
 *    MR x NR (8x32 with AVX-512, 4x16 with AVX2; MR=1 and wide NR for
 *    GEMV with B [K, N]), B packed into panels [N/NR, K, NR] (cache_read +
 *    transform_layout) when more than a few rows reuse it, the init split
 *    off (decompose_reduction), the k loop handed to the sgemm micro-kernel
 *    (annotation "tessera.micro_kernel", see codegen_c.c), the outer tile
 *    loop parallel, epilogues (bias/relu/add) moved into the tile
 *    (reverse_compute_at) and vectorized;
 *  - GEMV with B [N, K] (M <= 4): no packing; k split by the vector width
 *    and rfactored, the partial sums vectorized (see rule_gemv_dense);
 *  - injective blocks: all loops fused, split into a parallel outer loop
 *    (when there is enough work per thread) and a vectorized inner one;
 *  - reductions (sum, max, softmax/layer-norm pieces): the leading spatial
 *    loops fused and parallel.
 *
 * A step a primitive refuses ends the rule for that block; the steps before
 * it stay (each primitive keeps the function's meaning).  The rule and its
 * trace are reported by `tessera build --explain`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_internal.h"
#include "tessera/transform.h"

static bool is_done(rule_ctx *c, const char *name) {
  for (size_t i = 0; i < c->done.len; i++)
    if (!strcmp(c->done.data[i], name)) return true;
  return false;
}

static bool const_int(const ts_expr *e, int64_t *v) {
  if (e && e->kind == TS_E_INT) {
    *v = e->u.int_value;
    return true;
  }
  return false;
}

static bool load_uses(const ts_expr *ld, const ts_var *v) {
  for (int d = 0; d < ld->u.load.n; d++)
    if (ts_expr_uses_var(ld->u.load.indices[d], v)) return true;
  return false;
}

/* ---- matmul ------------------------------------------------------------------ */

typedef struct mm_info {
  int batch;          /* leading spatial iteration variables (any number) */
  int64_t M, N, K;
  int b_read;         /* index of B in the block's reads */
  int a_read;         /* index of A in the block's reads */
  const ts_buffer *A, *B;
  bool b_trans;       /* B[.., j, k] */
} mm_info;

static bool match_matmul(ts_primfunc *f, ts_stmt *r, mm_info *mi) {
  const ts_block *b = r->u.realize.block;
  int n = b->n_iter_vars;
  if (n < 3 || n > TS_MAX_NDIM_SCH + 1 || !b->init || r->u.realize.predicate || !b->body ||
      b->body->kind != TS_S_STORE)
    return false;
  for (int i = 0; i < n; i++) {
    ts_iter_type want = i == n - 1 ? TS_ITER_REDUCE : TS_ITER_SPATIAL;
    int64_t mn;
    if (b->iter_vars[i].type != want || !const_int(b->iter_vars[i].dom.min, &mn) ||
        mn != 0)
      return false;
  }
  int64_t ext[TS_MAX_NDIM_SCH + 1];
  for (int i = 0; i < n; i++)
    if (!const_int(b->iter_vars[i].dom.extent, &ext[i])) return false;
  /* loops bind the iteration variables one to one, in order */
  ts_stmt **loops = NULL;
  int nl = 0;
  sch_enclosing_loops(f, r, &loops, &nl);
  bool ok = nl == n;
  for (int i = 0; ok && i < n; i++) {
    const ts_expr *bv = r->u.realize.iter_values[i];
    ok = bv->kind == TS_E_VAR && bv->u.var == loops[i]->u.for_.var;
  }
  free(loops);
  if (!ok) return false;
  const ts_stmt *st = b->body;
  const ts_buffer *cb = st->u.store.buffer;
  const ts_expr *v = st->u.store.value;
  if (cb->dtype.code != TS_FLOAT || cb->dtype.bits != 32 || v->kind != TS_E_ADD)
    return false;
  const ts_expr *mul = v->u.bin.a->kind == TS_E_LOAD ? v->u.bin.b : v->u.bin.a;
  const ts_expr *cl = mul == v->u.bin.a ? v->u.bin.b : v->u.bin.a;
  if (cl->kind != TS_E_LOAD || cl->u.load.buffer != cb || mul->kind != TS_E_MUL ||
      mul->u.bin.a->kind != TS_E_LOAD || mul->u.bin.b->kind != TS_E_LOAD)
    return false;
  const ts_var *vi = b->iter_vars[n - 3].var, *vj = b->iter_vars[n - 2].var,
               *vk = b->iter_vars[n - 1].var;
  const ts_expr *la = mul->u.bin.a, *lb = mul->u.bin.b;
  if (load_uses(la, vj)) {
    const ts_expr *t = la;
    la = lb;
    lb = t;
  }
  if (load_uses(la, vj) || !load_uses(la, vi) || !load_uses(la, vk) ||
      load_uses(lb, vi) || !load_uses(lb, vj) || !load_uses(lb, vk))
    return false;
  if (la->u.load.buffer == cb || lb->u.load.buffer == cb) return false;
  int nb = lb->u.load.n;
  if (nb < 2) return false;
  const ts_expr *last = lb->u.load.indices[nb - 1];
  if (last->kind != TS_E_VAR) return false;
  mi->b_trans = last->u.var == vk;
  if (!mi->b_trans && last->u.var != vj) return false;
  mi->batch = n - 3;
  mi->M = ext[n - 3];
  mi->N = ext[n - 2];
  mi->K = ext[n - 1];
  mi->B = lb->u.load.buffer;
  mi->A = la->u.load.buffer;
  mi->b_read = mi->a_read = -1;
  for (int i = 0; i < b->n_reads; i++) {
    if (b->reads[i].buffer == lb->u.load.buffer) mi->b_read = i;
    if (b->reads[i].buffer == la->u.load.buffer) mi->a_read = i;
  }
  return mi->b_read >= 0 && mi->a_read >= 0 && mi->A != mi->B;
}


void rule_vectorize_innermost(rule_ctx *c, ts_rv blk) {
  ts_rv *lp = NULL;
  int n = 0;
  ts_status *st = ts_sch_get_loops(c->s, blk, &lp, &n);
  if (!st && n > 0) st = ts_sch_vectorize(c->s, lp[n - 1]);
  ts_status_free(st);
  free(lp);
}

/* GEMV with B in [N, K] ("dense") layout and few rows of A: no packing (it
 * would cost more than the GEMV itself); like TVM's CPU dense schedule for
 * small batch, k is split by the vector width and the inner part rfactored,
 * so that each row j of B is reduced into V partial sums (the rf buffer
 * [.., N, V]) by contiguous vector loads of B and A; the V partials are then
 * summed per row and the epilogues follow the row (rows taken RJ at a
 * time).  The vectorized ki loop holds the whole ko loop, so that GCC
 * vectorizes it as an outer loop and keeps the V partials in one register.
 * The rows are not made parallel: inside an OpenMP region GCC does not
 * vectorize this nest (measured at 1x1024x1024: 0.57 ms parallel at one
 * thread against 0.062 ms serial; numpy/OpenBLAS 0.057 ms). */
static bool rule_gemv_dense(rule_ctx *c, ts_stmt *r, const mm_info *mi) {
  const ts_target *t = c->t;
  const char *name = r->u.realize.block->name;
  int64_t N = mi->N, K = mi->K, V = t->vector_bytes / 4;
  while (V > 1 && K % V) V /= 2;
  if (V < 4) return false;
  int64_t RJ = N % 4 == 0 ? 4 : N % 2 == 0 ? 2 : 1;
  ts_rv *lp = NULL, *sk = NULL, *sj = NULL, *cons = NULL;
  int nl = 0, nc = 0;
  ts_rv blk, rf;
  ts_strbuf_printf(c->why, "matmul %s%lldx%lldx%lld: GEMV (B [N, K], not packed): k split "
                   "by %lld and rfactored, partial sums vectorized, rows by %lld",
                   mi->batch ? "(batched) " : "", (long long)mi->M, (long long)K,
                   (long long)N, (long long)V, (long long)RJ);
  TRY(ts_sch_get_block(c->s, name, c->f->name, &blk));
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  ts_rv li = lp[nl - 3], lj = lp[nl - 2], lk = lp[nl - 1];
  int64_t fk[2] = {-1, V}, fj[2] = {-1, RJ};
  TRY(ts_sch_split(c->s, lk, fk, NULL, 2, true, &sk));
  TRY(ts_sch_split(c->s, lj, fj, NULL, 2, true, &sj));
  ts_rv ko = sk[0], ki = sk[1], j0 = sj[0], j1 = sj[1];
  TRY(ts_sch_rfactor(c->s, ki, -1, &rf));
  /* ki (now spatial) outside ko: the vectorized ki loop holds the whole k
   * loop, so that its V partial sums stay in one vector register */
  TRY(ts_sch_reorder(c->s, (ts_rv[]){ki, ko}, 2));
  /* rows of A inside the row blocks of B: B is read once */
  if (mi->M > 1) TRY(ts_sch_reorder(c->s, (ts_rv[]){j0, li}, 2));
  /* the write-back (the original block) and the epilogues follow the rows */
  TRY(ts_sch_reverse_compute_at(c->s, blk, j0, true));
  TRY(ts_sch_get_consumers(c->s, blk, &cons, &nc));
  for (int i = 0; i < nc; i++) {
    ts_status *st = ts_sch_reverse_compute_at(c->s, cons[i], j0, true);
    ts_status_free(st);
  }
  TRY(ts_sch_decompose_reduction(c->s, rf, j1, NULL));
  TRY(ts_sch_vectorize(c->s, ki));
out:
  free(lp);
  free(sk);
  free(sj);
  free(cons);
  return true;
}

/* The index map of a panel layout: (.., p, k) (or (.., k, p) when p_last)
 * -> (.., p / P, k, p % P). */
static ts_index_map panel_map(rule_ctx *c, const ts_buffer *buf, int64_t P, bool p_last) {
  ts_arena *a = ts_module_arena(ts_schedule_module(c->s));
  int nd = buf->ndim;
  ts_dtype i64 = buf->shape[0]->dtype; /* the index dtype of the buffer */
  ts_index_map map = rule_index_map(a, nd, nd + 1, i64);
  for (int d = 0; d < nd - 2; d++) map.results[d] = ts_varref(a, map.params[d]);
  ts_var *pv = map.params[p_last ? nd - 1 : nd - 2];
  ts_var *kv = map.params[p_last ? nd - 2 : nd - 1];
  ts_expr *pe = ts_int(a, i64, P);
  map.results[nd - 2] = ts_binary(a, TS_E_FLOORDIV, ts_varref(a, pv), pe);
  map.results[nd - 1] = ts_varref(a, kv);
  map.results[nd] = ts_binary(a, TS_E_FLOORMOD, ts_varref(a, pv), pe);
  return map;
}

/* Packs the read `read_idx` (buffer `buf`) of `blk` into panels: its
 * dimensions (.., p, k) (or (.., k, p) when p_last) become
 * (.., p / P, k, p % P), so that a micro-kernel reads P consecutive floats
 * per k.  The packing block (a cache_read: a loop nest of its own) is
 * ordered as the packed layout, vectorized and made parallel; it is
 * annotated "tessera.pack_constant"
 * when `constant` (a read-only parameter, which the build may fold). */
static ts_status *pack_panels(rule_ctx *c, ts_rv blk, int read_idx, const ts_buffer *buf,
                              int64_t P, bool p_last, bool constant) {
  ts_rv cb;
  TS_RETURN_IF_ERROR(ts_sch_cache_read(c->s, blk, read_idx, "global", &cb));
  ts_index_map map = panel_map(c, buf, P, p_last);
  int nd = buf->ndim;
  TS_RETURN_IF_ERROR(ts_sch_transform_layout(c->s, blk, 0, read_idx, &map));
  if (constant) {
    ts_attr_value one = {.kind = TS_ATTR_INT, .u.i = 1};
    TS_RETURN_IF_ERROR(ts_sch_annotate(c->s, cb, "tessera.pack_constant", &one));
  }
  /* the copy in the order of the packed layout (p / P, k, p % P), so that
   * the writes are contiguous: the P-wide inner loop vectorized when it
   * reads contiguously (p last), else k split by 16 inside it and that
   * vectorized; the outer loops (batch, p / P) fused and parallel */
  ts_rv *pl = NULL, *ps = NULL, *ks = NULL, fl = -1;
  int npl = 0;
  int64_t pf[2] = {-1, P}, kf[2] = {-1, 16};
  int64_t K = 0;
  ts_status *st = ts_sch_get_loops(c->s, cb, &pl, &npl);
  if (!st && npl != nd) st = ts_error(TS_ERR_VALUE, "packing: one loop per dimension expected");
  if (!st) st = ts_sch_split(c->s, pl[p_last ? nd - 1 : nd - 2], pf, NULL, 2, true, &ps);
  ts_rv lk = st ? -1 : pl[p_last ? nd - 2 : nd - 1];
  if (!st) const_int(buf->shape[p_last ? nd - 2 : nd - 1], &K);
  if (!st && !p_last && K % 16 == 0 && K > 16) {
    st = ts_sch_split(c->s, lk, kf, NULL, 2, true, &ks);
    if (!st) st = ts_sch_reorder(c->s, (ts_rv[]){ps[0], ks[0], ps[1], ks[1]}, 4);
    if (!st) st = ts_sch_vectorize(c->s, ks[1]);
  } else if (!st) {
    st = ts_sch_reorder(c->s, (ts_rv[]){ps[0], lk, ps[1]}, 3);
    if (!st) st = ts_sch_vectorize(c->s, ps[1]);
  }
  if (!st) {
    ts_rv outer[TS_MAX_NDIM_SCH + 1];
    for (int d = 0; d < nd - 2; d++) outer[d] = pl[d];
    outer[nd - 2] = ps[0];
    if (nd > 2) st = ts_sch_fuse(c->s, outer, nd - 1, true, &fl);
    else fl = ps[0];
  }
  if (!st && c->t->num_cores > 1) st = ts_sch_parallel(c->s, fl);
  ts_status_free(st); /* the packing stays correct without these */
  free(pl);
  free(ps);
  free(ks);
  return NULL;
}

/* B [.., K, N] packed panel by panel: the packing block (a cache_read)
 * computed at `jo`, the loop over the panels, so that each iteration copies
 * its K x P panel into [N/P, K, P] right before its tiles read it, while it
 * is in L2; the whole of B is read from memory once (packed whole, it is
 * read, written and read back: 128x768x3072 ran at 69 GFLOP/s with B 9 MiB,
 * against oneDNN's 110).  For a B that is not a weight (a weight is packed
 * once at build time).  The copy is serial (jo is the parallel loop),
 * vectorized along the panel's P columns. */
static ts_status *pack_panel_per_iteration(rule_ctx *c, ts_rv blk, int read_idx,
                                           const ts_buffer *buf, int64_t P, ts_rv jo) {
  ts_rv cb;
  TS_RETURN_IF_ERROR(ts_sch_cache_read(c->s, blk, read_idx, "global", &cb));
  /* (compute_at wants the copy written at plain iteration variables: before
   * the layout changes) */
  TS_RETURN_IF_ERROR(ts_sch_compute_at(c->s, cb, jo, true));
  ts_index_map map = panel_map(c, buf, P, true);
  TS_RETURN_IF_ERROR(ts_sch_transform_layout(c->s, blk, 0, read_idx, &map));
  ts_rv *pl = NULL;
  int npl = 0;
  ts_status *st = ts_sch_get_loops(c->s, cb, &pl, &npl);
  if (!st && npl >= 1) st = ts_sch_vectorize(c->s, pl[npl - 1]);
  ts_status_free(st); /* the packing stays correct without it */
  free(pl);
  return NULL;
}

int64_t rule_channel_block(const ts_target *t) { return t->num_vregs >= 32 ? 16 : 8; }

bool rule_is_param(const ts_primfunc *f, const ts_buffer *b) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer == b) return true;
  return false;
}

/* The k block: K itself while a K x NR panel of B fits in a quarter of L2
 * (it stays there while the tiles of A go by, and C is loaded once per
 * tile); else the largest divisor of K that fits, not below half of that
 * (no blocking then: a non-divisor would need a predicate, which the
 * micro-kernel does not take).  Measured on a 2 MiB-L2 Xeon: 1024^3 1T
 * 110 GFLOP/s with k blocks of 256 (the panel in L1), 142 unblocked. */
static int64_t choose_kc(const ts_target *t, int64_t K, int64_t NR) {
  int64_t kc_max = t->l2_bytes / 4 / (NR * 4);
  if (kc_max < 16 || K <= kc_max) return K;
  for (int64_t kc = kc_max; kc >= kc_max / 2; kc--)
    if (K % kc == 0) return kc;
  return K;
}

static void rule_matmul(rule_ctx *c, ts_stmt *r, const mm_info *mi) {
  const ts_target *t = c->t;
  const char *name = r->u.realize.block->name;
  int64_t M = mi->M, N = mi->N, K = mi->K;
  if (mi->b_trans && M <= 4 && rule_gemv_dense(c, r, mi)) return;
  int max_mr = t->num_vregs >= 32 ? 8 : 4;
  int vf = 16; /* floats per micro-kernel vector (one zmm or two ymm) */
  int64_t MR = 1, NR = 0;
  static const int mrs[] = {8, 6, 4, 3, 2, 1};
  for (size_t i = 0; i < sizeof mrs / sizeof mrs[0]; i++)
    if (mrs[i] <= max_mr && M % mrs[i] == 0) {
      MR = mrs[i];
      break;
    }
  int64_t nr_max = MR == 1 ? (t->num_vregs >= 32 ? 128 : 64) : t->num_vregs >= 32 ? 32 : 16;
  for (int64_t nr = nr_max; nr >= vf; nr /= 2)
    if (N % nr == 0) {
      NR = nr;
      break;
    }
  /* 16 registers (AVX2): 12 accumulators, 6x16 or 4x24 (two or three B
   * vectors and a broadcast beside them); 6x16 also where 6 does not
   * divide M (12 rows or more: the last row tile is partial, the split's
   * predicate, run by the kernel of its rows, see codegen_c.c).  Measured
   * on a Zen 3 (a 256-deep k, B in L1, per-round ratios of 101 interleaved
   * rounds): 4x24 1.00-1.01 of 6x16, 4x16 0.96-0.97 (8 accumulators
   * barely cover the FMA latency), 7x16 0.90, 14x8 0.88, 8x8 0.85;
   * 64x784x128 against 4x16: 1T 47.9 -> 56.6 GFLOP/s, 2T 85 -> 97 */
  if (t->num_vregs < 32 && N % 16 == 0 && (MR > 1 || M >= 12)) {
    NR = 16;
    if (N % 24 == 0 && M % 4 == 0 && M % 6 != 0) {
      MR = 4;
      NR = 24;
    } else if (M % 6 == 0 || M >= 12) {
      MR = 6;
    }
  }
  /* 32 registers, rows of A a multiple of 4 KiB apart (the 8 rows of an
   * 8x32 tile would share L1 sets): 4x64 (16 accumulators, as 8x32, 8
   * loads per k instead of 10, 4 rows of A).  Measured 1T against oneDNN:
   * 1024^3 0.90 -> 0.94, 2048^3 0.87 -> 0.93; elsewhere 8x32 stays as fast
   * or faster (512^3 0.90 against 0.87, 128x768x768 0.78 against 0.76,
   * 64x784x128 and 256^3 equal) */
  if (t->num_vregs >= 32 && M % 4 == 0 && N % 64 == 0 && MR == 8 && (K * 4) % 4096 == 0) {
    MR = 4;
    NR = 64;
  }
  int nb = mi->batch;
  ts_rv *lp = NULL, *si = NULL, *sj = NULL, *sk = NULL, *cons = NULL;
  int nl = 0, nc = 0;
  ts_rv blk;
  TRY(ts_sch_get_block(c->s, name, c->f->name, &blk));
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  ts_rv li = lp[nl - 3], lj = lp[nl - 2], lk = lp[nl - 1];
  if (NR == 0) {
    /* no micro-kernel: k outside a vectorized j, inside groups of RI rows:
     * the RI rows of C are independent accumulations, where one row alone
     * would chain every k step through a store and a load of the same C
     * elements (measured: MLP's 64x128x10 layer with its bias 30 -> 16 us) */
    int64_t RI = 1;
    for (int64_t r = 8; r >= 2 && RI == 1; r /= 2)
      if (M % r == 0) RI = r;
    ts_strbuf_printf(c->why, "matmul %lldx%lldx%lld: N not a multiple of %d, ",
                     (long long)M, (long long)K, (long long)N, vf);
    if (mi->b_trans) {
      ts_strbuf_append(c->why, "B transposed: left as it is");
      goto out;
    }
    ts_strbuf_printf(c->why, "reordered i, k, j with j vectorized");
    ts_rv i0 = li, i1 = -1, at = -1, jv = lj;
    if (RI > 1) {
      ts_strbuf_printf(c->why, ", rows in groups of %lld inside k", (long long)RI);
      int64_t fi[2] = {-1, RI};
      TRY(ts_sch_split(c->s, li, fi, NULL, 2, true, &si));
      i0 = si[0];
      i1 = si[1];
      TRY(ts_sch_reorder(c->s, (ts_rv[]){i0, lk, i1, lj}, 4));
    } else if (K % 4 == 0 && K >= 8) {
      /* one row (a GEMV over a [K, N] weight): four rows of B per pass
       * over C, k's inner 4 unrolled inside the vectorized j, so that C is
       * read and written once per 4 rows and 4 rows of B stream at once:
       * MobileNetV2's 1x1280x1000 classifier, its weight cold in memory
       * in the model, 241 -> 110 us 1T (one row per pass: 27 GB/s) */
      ts_strbuf_append(c->why, ", k by 4 unrolled inside j");
      int64_t fk[2] = {-1, 4};
      TRY(ts_sch_split(c->s, lk, fk, NULL, 2, true, &sk));
      /* columns in chunks run in parallel (MobileNetV2's classifier
       * streamed its 5 MB weight on one core at 2 threads): chunks of 16
       * vectors or more (a pass over C keeps that many independent
       * accumulations in flight) that divide N, the one whose busiest
       * thread gets the fewest columns */
      int64_t vw = t->vector_bytes / 4, jc = 0, best = N;
      if (t->num_cores > 1 && N * K >= MIN_PARALLEL_WORK)
        for (int64_t ch = 16 * vw; ch <= N / 2; ch += vw) {
          int64_t per = (N / ch + t->num_cores - 1) / t->num_cores * ch;
          if (N % ch == 0 && per < best) {
            best = per;
            jc = ch;
          }
        }
      if (jc) {
        ts_strbuf_printf(c->why, ", columns in %lld parallel chunks of %lld", (long long)(N / jc),
                         (long long)jc);
        int64_t fj[2] = {-1, jc};
        TRY(ts_sch_split(c->s, lj, fj, NULL, 2, true, &sj));
        TRY(ts_sch_reorder(c->s, (ts_rv[]){li, sj[0], sk[0], sj[1], sk[1]}, 5));
        at = sj[0];
        jv = sj[1];
      } else {
        TRY(ts_sch_reorder(c->s, (ts_rv[]){li, sk[0], lj, sk[1]}, 4));
      }
      TRY(ts_sch_unroll(c->s, sk[1]));
      lk = sk[0];
    } else {
      TRY(ts_sch_reorder(c->s, (ts_rv[]){li, lk, lj}, 3));
    }
    /* the epilogues follow each group of rows (their rows stay whole: a
     * short row fused with the next would need a division per element) */
    TRY(ts_sch_get_consumers(c->s, blk, &cons, &nc));
    for (int i = 0; i < nc; i++) {
      ts_status *st = ts_sch_reverse_compute_at(c->s, cons[i], at >= 0 ? at : i0, true);
      if (st) {
        ts_status_free(st);
        continue;
      }
      rule_vectorize_innermost(c, cons[i]);
    }
    TRY(ts_sch_decompose_reduction(c->s, blk, lk, NULL));
    TRY(ts_sch_vectorize(c->s, jv));
    if (at >= 0)
      TRY(ts_sch_parallel(c->s, at));
    else if (M / RI >= 2 && M * N * K >= MIN_PARALLEL_WORK)
      TRY(ts_sch_parallel(c->s, i0));
    goto out;
  }
  /* k blocks when the panel of B outgrows L2 */
  int64_t KC = MR > 1 && M / MR >= 16 ? choose_kc(t, K, NR) : K;
  /* 16 registers (measured on a Zen 3, 32 KiB L1): k blocks that keep a
   * KC x NR block of B in half of L1 where the KC columns of A then fit a
   * quarter of L2 (A from L2, B from L1 for every row tile; where A's
   * block outgrows L2, the blocks lose: 1024^3 58 -> 52 GFLOP/s).
   * 64x784x128 1T 47 -> 56 GFLOP/s (oneDNN 57), 2T 96 -> 116 (116);
   * 128x768x3072 with B not a weight 24 -> 33-36.  Not for a weight
   * (packed at build time, its panels contiguous and streamed in order):
   * BERT's 128x768x768 and 128x768x3072, blocks of 128, ran the layer at
   * 1T 0.97-1.00 and 2T 0.88 of the time unblocked */
  bool weight = c->f->is_private && rule_is_param(c->f, mi->B);
  if (t->num_vregs < 32 && KC == K && MR > 1 && M / MR >= 4 && !weight) {
    int64_t kc1 = t->l1d_bytes / 2 / (NR * 4);
    if (K > kc1 && M * kc1 * 4 <= t->l2_bytes / 4)
      for (int64_t kc = kc1; kc >= kc1 / 2 && KC == K; kc--)
        if (K % kc == 0) KC = kc;
  }
  bool kblock = KC < K;
  bool j_outer = N / NR >= 2 * (int64_t)t->num_cores || M / MR < 2 * (int64_t)t->num_cores;
  /* B packed into panels when its rows are 4 KiB apart or more (they map to
   * few L1 sets), when it takes half of L2 or more (its panels' rows then
   * come from L3, falling into a fraction of the L2 sets: 128x3072x768 41
   * -> 81 GFLOP/s 1T, 512^3 2T 0.73 -> 0.81 of oneDNN; smaller ones lose:
   * 64x784x128 1T 0.94 -> 0.80), when a k block needs its panel
   * contiguous, and always for a graph kernel's weight (a parameter the
   * build packs once when it is constant): BERT's 3072x768 weight, rows
   * 3 KiB apart, read unpacked ran its 128x3072x768 matmul at 45 GFLOP/s (a
   * 384 KiB panel whose rows fall in a fraction of the L2 sets), packed at
   * 110.  A packed likewise ([M/MR, K, MR]) was measured
   * no faster on 512^3..2048^3 and BERT, slower at 1024^3 1T (0.77 against
   * 0.83 of oneDNN): not done; nor blocks of rows of A outside the panels
   * of B (GotoBLAS's ic loop: 2048^3 2T 0.68 against 0.75 unblocked). */
  bool big_b = K * N * 4 >= t->l2_bytes / 2;
  bool pack = (M >= 16 && (N * 4 >= 4096 || weight || big_b)) || mi->b_trans || kblock;
  char bt[48] = "";
  if (nb) snprintf(bt, sizeof bt, "(%d batch dim%s) ", nb, nb > 1 ? "s" : "");
  ts_strbuf_printf(c->why, "matmul %s%lldx%lldx%lld: %lldx%lld register tile, "
                   "sgemm micro-kernel on k", bt, (long long)M, (long long)K, (long long)N,
                   (long long)MR, (long long)NR);
  if (kblock) ts_strbuf_printf(c->why, " blocks of %lld", (long long)KC);
  bool per_panel = pack && !weight && !mi->b_trans && j_outer && nb == 0;
  if (pack)
    ts_strbuf_printf(c->why, ", B packed [N/NR, K, NR]%s", per_panel ? " panel by panel" : "");
  ts_strbuf_printf(c->why, ", %s tiles%s parallel", j_outer ? "j" : "i",
                   nb ? " (fused with the batch)" : "");
  int64_t fi[2] = {-1, MR}, fj[2] = {-1, NR}, fk[2] = {-1, KC};
  TRY(ts_sch_split(c->s, li, fi, NULL, 2, true, &si));
  TRY(ts_sch_split(c->s, lj, fj, NULL, 2, true, &sj));
  ts_rv i0 = si[0], i1 = si[1], j0 = sj[0], j1 = sj[1], ko = -1, kin = lk;
  if (kblock) {
    TRY(ts_sch_split(c->s, lk, fk, NULL, 2, true, &sk));
    ko = sk[0];
    kin = sk[1];
  }
  ts_rv tile = j_outer ? i0 : j0, outer = j_outer ? j0 : i0;
  ts_rv order[TS_MAX_NDIM_SCH + 8];
  int no = 0;
  for (int d = 0; d < nb; d++) order[no++] = lp[d];
  order[no++] = outer;
  if (kblock) order[no++] = ko;
  order[no++] = tile;
  order[no++] = kin;
  order[no++] = i1;
  order[no++] = j1;
  TRY(ts_sch_reorder(c->s, order, no));
  /* epilogues into the tile (after the k blocks: into the outer loop), while
   * the matmul block is still whole */
  TRY(ts_sch_get_consumers(c->s, blk, &cons, &nc));
  for (int i = 0; i < nc; i++) {
    ts_status *st = ts_sch_reverse_compute_at(c->s, cons[i], kblock ? outer : tile, true);
    if (st) {
      ts_status_free(st);
      continue;
    }
    rule_vectorize_innermost(c, cons[i]);
  }
  if (per_panel)
    TRY(pack_panel_per_iteration(c, blk, mi->b_read, mi->B, NR, j0));
  else if (pack)
    TRY(pack_panels(c, blk, mi->b_read, mi->B, NR, !mi->b_trans, rule_is_param(c->f, mi->B)));
  TRY(ts_sch_decompose_reduction(c->s, blk, kblock ? ko : lk, NULL));
  ts_attr_value av = {.kind = TS_ATTR_STR, .u.s = "sgemm"};
  TRY(ts_sch_annotate(c->s, kin, "tessera.micro_kernel", &av));
  if (nb) {
    ts_rv fl[TS_MAX_NDIM_SCH + 1], fused;
    for (int d = 0; d < nb; d++) fl[d] = lp[d];
    fl[nb] = outer;
    TRY(ts_sch_fuse(c->s, fl, nb + 1, true, &fused));
    outer = fused;
  }
  if (t->num_cores > 1 && M * N * K >= MIN_PARALLEL_WORK) TRY(ts_sch_parallel(c->s, outer));
out:
  free(lp);
  free(si);
  free(sj);
  free(sk);
  free(cons);
}

/* ---- injective and reduction blocks ------------------------------------------ */

/* Injective blocks: the innermost loop stays whole and is vectorized (its
 * index arithmetic stays affine, so the compiler vectorizes it); the outer
 * loops are fused into one, parallel when there is enough work.  A nest of
 * one loop is split by the vector width instead.  Small innermost loops
 * (fewer than a vector) are fused with the next one out first. */
static void rule_injective(rule_ctx *c, const ts_block *b) {
  ts_rv blk, *lp = NULL, *sp = NULL;
  int nl = 0;
  TRY(ts_sch_get_block(c->s, b->name, c->f->name, &blk));
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  if (nl == 0) goto out;
  int64_t total = 1;
  bool known = true;
  for (int i = 0; i < b->n_iter_vars; i++) {
    int64_t e;
    if (const_int(b->iter_vars[i].dom.extent, &e)) total *= e;
    else known = false;
  }
  int64_t V = c->t->vector_bytes / 4;
  bool par = c->t->num_cores > 1 && (!known || total >= MIN_PARALLEL_WORK);
  /* the inner part: the last loop, with loops before it fused in while it
   * is shorter than a vector */
  int first_inner = nl - 1;
  int64_t inner = 1;
  for (int i = nl - 1; i >= 0; i--) {
    ts_stmt *loop;
    int64_t e;
    TRY(sch_loop(c->s, lp[i], &loop));
    if (!const_int(loop->u.for_.extent, &e)) break;
    first_inner = i;
    inner *= e;
    if (inner >= V) break;
  }
  if (first_inner == 0 || nl == 1) {
    /* one loop (or all of them short): fused, split by the vector width */
    ts_rv l = lp[0];
    ts_strbuf_printf(c->why, "%s%s: fused, split by %lld, inner vectorized",
                     c->why->len ? "; " : "", b->name, (long long)V);
    if (nl > 1) TRY(ts_sch_fuse(c->s, lp, nl, true, &l));
    if (known && total < V) goto out;
    int64_t fac[2] = {-1, V};
    TRY(ts_sch_split(c->s, l, fac, NULL, 2, true, &sp));
    TRY(ts_sch_vectorize(c->s, sp[1]));
    if (par) {
      ts_strbuf_append(c->why, ", outer parallel");
      TRY(ts_sch_parallel(c->s, sp[0]));
    }
    goto out;
  }
  ts_strbuf_printf(c->why, "%s%s: innermost %s vectorized, outer loops fused",
                   c->why->len ? "; " : "", b->name,
                   first_inner < nl - 1 ? "loops fused and" : "loop");
  ts_rv in = lp[nl - 1], outer = lp[0];
  if (first_inner < nl - 1)
    TRY(ts_sch_fuse(c->s, lp + first_inner, nl - first_inner, true, &in));
  if (first_inner > 1) TRY(ts_sch_fuse(c->s, lp, first_inner, true, &outer));
  TRY(ts_sch_vectorize(c->s, in));
  if (par) {
    ts_strbuf_append(c->why, ", parallel");
    TRY(ts_sch_parallel(c->s, outer));
  }
out:
  free(lp);
  free(sp);
}

void rule_inline_injective(rule_ctx *c, const ts_buffer *keep0, const ts_buffer *keep1) {
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(c->f->body, &blocks, &nb);
  TS_VEC(const char *) names = {0};
  for (int i = 0; i < nb; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    if (b->n_iter_vars == 0 || b->n_writes != 1 || b->init || is_done(c, b->name)) continue;
    const ts_buffer *w = b->writes[0].buffer;
    bool spatial = w != keep0 && w != keep1, param = rule_is_param(c->f, w);
    for (int k = 0; k < b->n_iter_vars; k++) spatial &= b->iter_vars[k].type == TS_ITER_SPATIAL;
    if (spatial && !param) ts_vec_push(&names, b->name);
  }
  free(blocks);
  for (size_t i = 0; i < names.len; i++) {
    ts_rv blk;
    ts_status *st = ts_sch_get_block(c->s, names.data[i], c->f->name, &blk);
    if (!st) st = ts_sch_compute_inline(c->s, blk);
    ts_status_free(st);
  }
  ts_vec_free(&names);
}

static void rule_reduction(rule_ctx *c, const ts_block *b) {
  ts_rv blk, *lp = NULL;
  int nl = 0;
  TRY(ts_sch_get_block(c->s, b->name, c->f->name, &blk));
  TRY(ts_sch_get_loops(c->s, blk, &lp, &nl));
  /* leading loops binding spatial iteration variables only */
  ts_stmt *realize = NULL;
  TRY(sch_block(c->s, blk, &realize));
  int lead = 0;
  int64_t rows = 1, work = 1;
  for (int i = 0; i < nl; i++) {
    ts_stmt *loop;
    TRY(sch_loop(c->s, lp[i], &loop));
    int64_t e = 0;
    if (!const_int(loop->u.for_.extent, &e)) e = 1024;
    work *= e;
    bool spatial = true;
    for (int k = 0; k < b->n_iter_vars; k++)
      if (b->iter_vars[k].type != TS_ITER_SPATIAL &&
          ts_expr_uses_var(realize->u.realize.iter_values[k], loop->u.for_.var))
        spatial = false;
    if (spatial && lead == i) {
      lead++;
      rows *= e;
    }
  }
  ts_strbuf_printf(c->why, "%s%s: reduction", c->why->len ? "; " : "", b->name);
  bool par = lead > 0 && rows >= 2 && c->t->num_cores >= 2 && work >= MIN_PARALLEL_WORK;
  /* one reduction loop, innermost, of whole vectors of floats: split by the
   * vector width and the inner part rfactored, so that each row reduces
   * into V partial results with vector loads (held in a register: the
   * vectorized inner loop holds the outer one), then the V partials; the
   * write-back follows its row (computed at the innermost row loop, before
   * the rows are fused: its region is then one row).  Else the k loop runs
   * scalar: a float sum is not reassociated by the compiler (BERT's softmax
   * rows: 1.7 ms for 12 x 128 rows of 128). */
  int64_t V = c->t->vector_bytes / 4, E = 0;
  ts_stmt *last = NULL;
  bool vec = lead > 0 && lead == nl - 1 && b->n_writes == 1 &&
             b->writes[0].buffer->dtype.code == TS_FLOAT && b->writes[0].buffer->dtype.bits == 32;
  if (vec) TRY(sch_loop(c->s, lp[nl - 1], &last));
  vec = vec && const_int(last->u.for_.extent, &E) && V >= 4 && E % V == 0 && E >= 2 * V;
  if (vec) {
    ts_rv *sk = NULL, rf;
    int64_t fk[2] = {-1, V};
    ts_status *st = ts_sch_split(c->s, lp[nl - 1], fk, NULL, 2, true, &sk);
    if (!st) st = ts_sch_rfactor(c->s, sk[1], -1, &rf);
    if (!st) st = ts_sch_reorder(c->s, (ts_rv[]){sk[1], sk[0]}, 2);
    if (!st) st = ts_sch_reverse_compute_at(c->s, blk, lp[lead - 1], true);
    if (!st) st = ts_sch_decompose_reduction(c->s, rf, sk[1], NULL);
    if (!st) st = ts_sch_vectorize(c->s, sk[1]);
    free(sk);
    if (st) {
      ts_strbuf_printf(c->why, " [stopped: %s]", ts_status_message(st));
      ts_status_free(st);
      goto out;
    }
    ts_strbuf_printf(c->why, ", rows reduced in %lld vector lanes", (long long)V);
  }
  if (!par) goto out;
  ts_rv l = lp[0];
  if (lead > 1) TRY(ts_sch_fuse(c->s, lp, lead, true, &l));
  ts_strbuf_append(c->why, ", rows parallel");
  TRY(ts_sch_parallel(c->s, l));
out:
  free(lp);
}

#undef TRY

/* ---- driver ------------------------------------------------------------------ */

static bool is_scheduled(const ts_primfunc *f) {
  const ts_attr_value *v = ts_attrs_get(f->attrs, "tir.is_scheduled");
  return v && (v->kind == TS_ATTR_BOOL || v->kind == TS_ATTR_INT) && v->u.i;
}

static void schedule_func(ts_schedule *s, ts_primfunc *f, const ts_target *t,
                          ts_strbuf *why) {
  rule_ctx c = {s, f, t, why, {0}};
  ts_stmt **blocks = NULL;
  int nb = 0;
  sch_all_blocks(f->body, &blocks, &nb);
  /* matmuls first: their epilogues join their tiles */
  for (int i = 0; i < nb; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    mm_info mi = {0};
    conv_info ci;
    if (b->n_iter_vars == 0 || is_done(&c, b->name)) continue;
    bool is_mm = match_matmul(f, blocks[i], &mi);
    bool is_conv = !is_mm && rule_conv_match(f, blocks[i], &ci);
    if (!is_mm && !is_conv && !rule_pool_match(f, blocks[i], &ci)) continue;
    ts_stmt **before = NULL, **now = NULL;
    int nbefore = 0, nnow = 0;
    sch_all_blocks(f->body, &before, &nbefore);
    /* the names as they are now (a rule may rename a block in place) */
    const char **names = ts_xcalloc((size_t)nbefore + 1, sizeof *names);
    for (int q = 0; q < nbefore; q++) names[q] = before[q]->u.realize.block->name;
    const char *name = b->name;
    if (is_mm)
      rule_matmul(&c, blocks[i], &mi);
    else if (is_conv)
      rule_conv(&c, blocks[i], &ci);
    else
      rule_pool(&c, blocks[i], &ci);
    ts_vec_push(&c.done, name);
    /* every loop nest holding a block the rule made (packing, init, update)
     * belongs to the rule */
    ts_stmt *root = f->body;
    ts_stmt *top = root && root->kind == TS_S_BLOCK_REALIZE ? root->u.realize.block->body : root;
    int ntop = top && top->kind == TS_S_SEQ ? top->u.seq.n : 1;
    for (int t2 = 0; t2 < ntop; t2++) {
      ts_stmt *st = top->kind == TS_S_SEQ ? top->u.seq.stmts[t2] : top;
      sch_all_blocks(st, &now, &nnow);
      bool mine = false;
      for (int k = 0; k < nnow && !mine; k++) {
        const char *nm = now[k]->u.realize.block->name;
        bool old = false;
        for (int q = 0; q < nbefore; q++)
          if (!strcmp(names[q], nm)) old = true;
        mine = !old || !strcmp(nm, name);
      }
      for (int k = 0; mine && k < nnow; k++) ts_vec_push(&c.done, now[k]->u.realize.block->name);
      free(now);
      now = NULL;
    }
    free(before);
    free(names);
    /* the packing block (cache_read) is made parallel here */
  }
  free(blocks);
  rule_inline_injective(&c, NULL, NULL);
  sch_all_blocks(f->body, &blocks, &nb);
  for (int i = 0; i < nb; i++) {
    const ts_block *b = blocks[i]->u.realize.block;
    if (b->n_iter_vars == 0 || is_done(&c, b->name)) continue;
    /* only blocks at the top of their own loop nest */
    ts_stmt *enc = sch_enclosing_block(f, blocks[i]);
    if (enc && enc->u.realize.block->n_iter_vars != 0) continue;
    bool reduce = false;
    for (int k = 0; k < b->n_iter_vars; k++)
      if (b->iter_vars[k].type != TS_ITER_SPATIAL) reduce = true;
    if (reduce) rule_reduction(&c, b);
    else rule_injective(&c, b);
  }
  free(blocks);
  ts_vec_free(&c.done);
}

ts_status *ts_schedule_default(ts_module *m, const ts_target *t,
                               ts_strbuf *explain) {
  bool any = false;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_PRIM && !is_scheduled(m->funcs[i].u.prim)) any = true;
  if (!any) return NULL;
  ts_schedule *s = ts_schedule_create(m, 0);
  ts_module *sm = ts_schedule_module(s);
  ts_arena *a = ts_module_arena(sm);
  size_t trace_len = 0;
  rule_propagate_layouts(s, m, t, explain);
  if (explain) {
    char *tr = ts_schedule_trace_text(s);
    trace_len = strlen(tr);
    if (trace_len) ts_strbuf_printf(explain, "  trace:\n%s", tr);
    free(tr);
  }
  for (int i = 0; i < sm->n_funcs; i++) {
    if (sm->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *f = sm->funcs[i].u.prim;
    if (is_scheduled(f)) {
      if (explain) ts_strbuf_printf(explain, "%s: already scheduled, kept\n", f->name);
      continue;
    }
    ts_strbuf why = {0};
    ts_strbuf_append(&why, "");
    schedule_func(s, f, t, &why);
    if (!f->attrs) f->attrs = ts_attrs_new(a);
    ts_attrs_set(a, f->attrs, "tir.is_scheduled", ts_attr_bool(a, true));
    if (explain) {
      char *tr = ts_schedule_trace_text(s);
      size_t n = strlen(tr);
      ts_strbuf_printf(explain, "%s: %s\n", f->name,
                       why.len ? why.data : "no rule applies (left as written)");
      if (n > trace_len) {
        ts_strbuf_append(explain, "  trace:\n");
        for (char *p = tr + trace_len; *p;) {
          char *e = strchr(p, '\n');
          size_t len = e ? (size_t)(e - p) : strlen(p);
          if (len) {
            ts_strbuf_append(explain, "    ");
            ts_strbuf_appendn(explain, p, len);
            ts_strbuf_append(explain, "\n");
          }
          p += len + (e ? 1 : 0);
        }
      }
      trace_len = n;
      free(tr);
    }
    ts_strbuf_free(&why);
  }
  /* the scheduled functions replace m's (copied into m's arena) */
  for (int i = 0; i < sm->n_funcs; i++) {
    if (sm->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *g = ts_primfunc_copy(m->arena, sm->funcs[i].u.prim);
    ts_func nf = {.kind = TS_FUNC_PRIM, .name = g->name, .u.prim = g};
    ts_module_set(m, nf);
  }
  ts_schedule_destroy(s);
  return NULL;
}

ts_status *ts_pass_schedule_default(ts_module *m, const char *args) {
  ts_target t;
  TS_RETURN_IF_ERROR(ts_target_parse(args, &t));
  return ts_schedule_default(m, &t, NULL);
}
