/* test_schedule_props.c: property test of the schedule primitives.
 *
 * For each of 1,200 seeds: pick one of the PrimFuncs below (tiny shapes so
 * the interpreter is fast), apply a random sequence of primitives drawn with
 * the schedule's own sampling primitives plus a test-side generator (split by
 * sample_perfect_tile, reorder, fuse, parallel/vectorize/unroll, cache_read,
 * cache_write, set_scope, storage_align, decompose_reduction, rfactor,
 * compute_inline, reverse_compute_inline, compute_at at a sampled location,
 * blockize, annotate), then require:
 *   - every refused primitive left the printed module unchanged;
 *   - the final module verifies, prints and parses back;
 *   - the interpreter's outputs equal the original function's on the same
 *     random inputs (|a - b| <= 1e-4 * (1 + |b|)).
 * A failure prints the seed, the function and the trace. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/interp.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

#define HDR "@I.ir_module\nclass Module:\n    @T.prim_func\n"

static const char *k_funcs[][2] = {
    {"matmul",
     HDR "    def main(A: T.Buffer((8, 8), \"float32\"), B: T.Buffer((8, 8), "
         "\"float32\"), C: T.Buffer((8, 8), \"float32\")):\n"
         "        for i, j, k in T.grid(8, 8, 8):\n"
         "            with T.block(\"C\"):\n"
         "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
         "                with T.init():\n"
         "                    C[vi, vj] = T.float32(0)\n"
         "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"},
    {"mm_relu",
     HDR "    def main(A: T.Buffer((8, 8), \"float32\"), B: T.Buffer((8, 8), "
         "\"float32\"), C: T.Buffer((8, 8), \"float32\")):\n"
         "        Y = T.alloc_buffer((8, 8))\n"
         "        for i, j, k in T.grid(8, 8, 8):\n"
         "            with T.block(\"Y\"):\n"
         "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
         "                with T.init():\n"
         "                    Y[vi, vj] = T.float32(0)\n"
         "                Y[vi, vj] = Y[vi, vj] + A[vi, vk] * B[vk, vj]\n"
         "        for i, j in T.grid(8, 8):\n"
         "            with T.block(\"C\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                C[vi, vj] = T.max(Y[vi, vj], T.float32(0))\n"},
    {"batch_matmul",
     HDR "    def main(A: T.Buffer((2, 4, 6), \"float32\"), B: T.Buffer((2, 6, "
         "4), \"float32\"), C: T.Buffer((2, 4, 4), \"float32\")):\n"
         "        for b, i, j, k in T.grid(2, 4, 4, 6):\n"
         "            with T.block(\"C\"):\n"
         "                vb, vi, vj, vk = T.axis.remap(\"SSSR\", [b, i, j, "
         "k])\n"
         "                with T.init():\n"
         "                    C[vb, vi, vj] = T.float32(0)\n"
         "                C[vb, vi, vj] = C[vb, vi, vj] + A[vb, vi, vk] * "
         "B[vb, vk, vj]\n"},
    {"conv2d",
     HDR "    def main(X: T.Buffer((1, 2, 6, 6), \"float32\"), W: T.Buffer((4, "
         "2, 3, 3), \"float32\"), Y: T.Buffer((1, 4, 6, 6), \"float32\")):\n"
         "        P = T.alloc_buffer((1, 2, 8, 8))\n"
         "        for n, c, h, w in T.grid(1, 2, 8, 8):\n"
         "            with T.block(\"pad\"):\n"
         "                vn, vc, vh, vw = T.axis.remap(\"SSSS\", [n, c, h, "
         "w])\n"
         "                P[vn, vc, vh, vw] = T.if_then_else(1 <= vh and vh < "
         "7 and 1 <= vw and vw < 7, X[vn, vc, vh - 1, vw - 1], "
         "T.float32(0))\n"
         "        for n, f, y, x, rc, ry, rx in T.grid(1, 4, 6, 6, 2, 3, 3):\n"
         "            with T.block(\"conv\"):\n"
         "                vn, vf, vy, vx, vrc, vry, vrx = "
         "T.axis.remap(\"SSSSRRR\", [n, f, y, x, rc, ry, rx])\n"
         "                with T.init():\n"
         "                    Y[vn, vf, vy, vx] = T.float32(0)\n"
         "                Y[vn, vf, vy, vx] = Y[vn, vf, vy, vx] + P[vn, vrc, "
         "vy + vry, vx + vrx] * W[vf, vrc, vry, vrx]\n"},
    {"depthwise_conv",
     HDR "    def main(X: T.Buffer((1, 3, 6, 6), \"float32\"), W: T.Buffer((3, "
         "3, 3), \"float32\"), Y: T.Buffer((1, 3, 4, 4), \"float32\")):\n"
         "        for n, c, y, x, ry, rx in T.grid(1, 3, 4, 4, 3, 3):\n"
         "            with T.block(\"dw\"):\n"
         "                vn, vc, vy, vx, vry, vrx = T.axis.remap(\"SSSSRR\", "
         "[n, c, y, x, ry, rx])\n"
         "                with T.init():\n"
         "                    Y[vn, vc, vy, vx] = T.float32(0)\n"
         "                Y[vn, vc, vy, vx] = Y[vn, vc, vy, vx] + X[vn, vc, vy "
         "+ vry, vx + vrx] * W[vc, vry, vrx]\n"},
    {"max_pool",
     HDR "    def main(X: T.Buffer((1, 2, 8, 8), \"float32\"), Y: T.Buffer((1, "
         "2, 4, 4), \"float32\")):\n"
         "        for n, c, y, x, ry, rx in T.grid(1, 2, 4, 4, 2, 2):\n"
         "            with T.block(\"pool\"):\n"
         "                vn, vc, vy, vx, vry, vrx = T.axis.remap(\"SSSSRR\", "
         "[n, c, y, x, ry, rx])\n"
         "                with T.init():\n"
         "                    Y[vn, vc, vy, vx] = "
         "T.float32(-3.4028234663852886e+38)\n"
         "                Y[vn, vc, vy, vx] = T.max(Y[vn, vc, vy, vx], X[vn, "
         "vc, vy * 2 + vry, vx * 2 + vrx])\n"},
    {"softmax",
     HDR "    def main(A: T.Buffer((4, 8), \"float32\"), S: T.Buffer((4, 8), "
         "\"float32\")):\n"
         "        M = T.alloc_buffer((4,))\n"
         "        E = T.alloc_buffer((4, 8))\n"
         "        Z = T.alloc_buffer((4,))\n"
         "        for i, k in T.grid(4, 8):\n"
         "            with T.block(\"max\"):\n"
         "                vi, vk = T.axis.remap(\"SR\", [i, k])\n"
         "                with T.init():\n"
         "                    M[vi] = T.float32(-3.4028234663852886e+38)\n"
         "                M[vi] = T.max(M[vi], A[vi, vk])\n"
         "        for i, j in T.grid(4, 8):\n"
         "            with T.block(\"exp\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                E[vi, vj] = T.exp(A[vi, vj] - M[vi])\n"
         "        for i, k in T.grid(4, 8):\n"
         "            with T.block(\"sum\"):\n"
         "                vi, vk = T.axis.remap(\"SR\", [i, k])\n"
         "                with T.init():\n"
         "                    Z[vi] = T.float32(0)\n"
         "                Z[vi] = Z[vi] + E[vi, vk]\n"
         "        for i, j in T.grid(4, 8):\n"
         "            with T.block(\"norm\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                S[vi, vj] = E[vi, vj] / Z[vi]\n"},
    {"layer_norm",
     HDR "    def main(A: T.Buffer((4, 8), \"float32\"), O: T.Buffer((4, 8), "
         "\"float32\")):\n"
         "        S1 = T.alloc_buffer((4,))\n"
         "        S2 = T.alloc_buffer((4,))\n"
         "        for i, k in T.grid(4, 8):\n"
         "            with T.block(\"s1\"):\n"
         "                vi, vk = T.axis.remap(\"SR\", [i, k])\n"
         "                with T.init():\n"
         "                    S1[vi] = T.float32(0)\n"
         "                S1[vi] = S1[vi] + A[vi, vk]\n"
         "        for i, k in T.grid(4, 8):\n"
         "            with T.block(\"s2\"):\n"
         "                vi, vk = T.axis.remap(\"SR\", [i, k])\n"
         "                with T.init():\n"
         "                    S2[vi] = T.float32(0)\n"
         "                S2[vi] = S2[vi] + A[vi, vk] * A[vi, vk]\n"
         "        for i, j in T.grid(4, 8):\n"
         "            with T.block(\"norm\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                O[vi, vj] = (A[vi, vj] - S1[vi] * T.float32(0.125)) "
         "/ T.sqrt(S2[vi] * T.float32(0.125) - S1[vi] * T.float32(0.125) * "
         "S1[vi] * T.float32(0.125) + T.float32(1.0000000000000001e-05))\n"},
    {"elementwise_chain",
     HDR "    def main(A: T.Buffer((8, 12), \"float32\"), B: T.Buffer((8, 12), "
         "\"float32\"), D: T.Buffer((8, 12), \"float32\")):\n"
         "        T1 = T.alloc_buffer((8, 12))\n"
         "        T2 = T.alloc_buffer((8, 12))\n"
         "        for i, j in T.grid(8, 12):\n"
         "            with T.block(\"add\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                T1[vi, vj] = A[vi, vj] + B[vi, vj]\n"
         "        for i, j in T.grid(8, 12):\n"
         "            with T.block(\"mul\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                T2[vi, vj] = T1[vi, vj] * T.float32(3)\n"
         "        for i, j in T.grid(8, 12):\n"
         "            with T.block(\"relu\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                D[vi, vj] = T.max(T2[vi, vj], T.float32(0))\n"},
    {"transpose_add",
     HDR "    def main(A: T.Buffer((6, 10), \"float32\"), B: T.Buffer((10, 6), "
         "\"float32\"), C: T.Buffer((10, 6), \"float32\")):\n"
         "        AT = T.alloc_buffer((10, 6))\n"
         "        for i, j in T.grid(10, 6):\n"
         "            with T.block(\"transpose\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                AT[vi, vj] = A[vj, vi]\n"
         "        for i, j in T.grid(10, 6):\n"
         "            with T.block(\"add\"):\n"
         "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
         "                C[vi, vj] = AT[vi, vj] + B[vi, vj]\n"},
    {"reductions",
     HDR "    def main(A: T.Buffer((6, 4, 8), \"float32\"), S: T.Buffer((6,), "
         "\"float32\"), M: T.Buffer((6, 4), \"float32\")):\n"
         "        for i, j, k in T.grid(6, 4, 8):\n"
         "            with T.block(\"rmax\"):\n"
         "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
         "                with T.init():\n"
         "                    M[vi, vj] = T.float32(-3.4028234663852886e+38)\n"
         "                M[vi, vj] = T.max(M[vi, vj], A[vi, vj, vk])\n"
         "        for i, j, k in T.grid(6, 4, 8):\n"
         "            with T.block(\"rsum\"):\n"
         "                vi, vj, vk = T.axis.remap(\"SRR\", [i, j, k])\n"
         "                with T.init():\n"
         "                    S[vi] = T.float32(0)\n"
         "                S[vi] = S[vi] + A[vi, vj, vk]\n"},
};
#define N_FUNCS ((int)(sizeof k_funcs / sizeof k_funcs[0]))
#define N_SEQS 1200

typedef struct fn_case {
  ts_module *m;
  ts_primfunc *f;
  int nparams;
  ts_ndarray *ref[8]; /* outputs of the original */
} fn_case;

static uint64_t g_rng;
static uint64_t rnd(void) {
  uint64_t z = (g_rng += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static int rndn(int n) { return n <= 1 ? 0 : (int)(rnd() % (uint64_t)n); }

/* Runs f on inputs seeded by parameter index; *out arrays (caller releases). */
static ts_status *run(ts_module *m, ts_primfunc *f, ts_ndarray **out) {
  ts_value args[8];
  for (int i = 0; i < f->n_params; i++) {
    const ts_buffer *b = f->params[i].buffer;
    int64_t shape[8];
    for (int d = 0; d < b->ndim; d++) shape[d] = b->shape[d]->u.int_value;
    ts_status *st = ts_ndarray_create(b->ndim, shape, b->dtype, &out[i]);
    if (st) return st;
    ts_ndarray_fill_random(out[i], 1000 + (uint64_t)i);
    args[i].kind = TS_VAL_TENSOR;
    args[i].u.tensor = out[i];
  }
  return ts_interp_primfunc(m, f, args, f->n_params);
}

static void collect_blocks(const ts_stmt *s, const char **names, int *n,
                           bool root) {
  if (!s) return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      collect_blocks(s->u.seq.stmts[i], names, n, false);
    return;
  case TS_S_FOR: collect_blocks(s->u.for_.body, names, n, false); return;
  case TS_S_BLOCK_REALIZE:
    if (!root && *n < 64) names[(*n)++] = s->u.realize.block->name;
    collect_blocks(s->u.realize.block->body, names, n, false);
    return;
  case TS_S_IF:
    collect_blocks(s->u.if_.then_s, names, n, false);
    collect_blocks(s->u.if_.else_s, names, n, false);
    return;
  default: return;
  }
}

typedef struct seq_state {
  ts_schedule *s;
  char *snapshot; /* printed module before the current primitive */
  bool failed;
} seq_state;

/* Applies one primitive's status: on refusal require no change. */
static bool step_done(seq_state *q, ts_status *st, const char *what) {
  if (!st) {
    free(q->snapshot);
    q->snapshot = ts_script_print(ts_schedule_module(q->s), NULL);
    return true;
  }
  ts_status_free(st);
  char *now = ts_script_print(ts_schedule_module(q->s), NULL);
  if (strcmp(now, q->snapshot) != 0) {
    fprintf(stderr, "refused %s changed the module:\n%s\n", what, now);
    q->failed = true;
  }
  free(now);
  return false;
}

static ts_rv pick_block(seq_state *q, const char *fname) {
  const char *names[64];
  int n = 0;
  ts_primfunc *f = ts_module_primfunc(ts_schedule_module(q->s), fname);
  collect_blocks(f->body, names, &n, true);
  if (!n) return -1;
  ts_rv b;
  ts_status *st = ts_sch_get_block(q->s, names[rndn(n)], fname, &b);
  if (st) {
    ts_status_free(st);
    return -1;
  }
  return b;
}

static void random_step(seq_state *q) {
  ts_schedule *s = q->s;
  ts_rv b = pick_block(q, "main");
  if (b < 0) return;
  ts_rv *loops = NULL;
  int nl = 0;
  ts_status *st = ts_sch_get_loops(s, b, &loops, &nl);
  if (st) {
    ts_status_free(st);
    return;
  }
  ts_rv out, *outs = NULL;
  int op = rndn(17);
  ts_rv l = nl ? loops[rndn(nl)] : -1;
  switch (op) {
  case 0:
  case 1: { /* sampled split */
    if (l < 0) break;
    int n = 2 + rndn(2);
    if (step_done(q, ts_sch_sample_perfect_tile(s, l, n, 4, &outs),
                  "sample_perfect_tile")) {
      ts_rv *parts = NULL;
      int64_t fs[4] = {0, 0, 0, 0};
      step_done(q, ts_sch_split(s, l, fs, outs, n, true, &parts), "split");
      free(parts);
    }
    free(outs);
    break;
  }
  case 2: { /* reorder a random permutation of a window */
    if (nl < 2) break;
    int lo = rndn(nl - 1), len = 2 + rndn(nl - lo - 1);
    ts_rv perm[16];
    for (int i = 0; i < len; i++) perm[i] = loops[lo + i];
    for (int i = len - 1; i > 0; i--) {
      int j = rndn(i + 1);
      ts_rv t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    step_done(q, ts_sch_reorder(s, perm, len), "reorder");
    break;
  }
  case 3:
    if (nl) step_done(q, ts_sch_parallel(s, loops[0]), "parallel");
    break;
  case 4:
    if (nl) step_done(q, ts_sch_vectorize(s, loops[nl - 1]), "vectorize");
    break;
  case 5:
    if (l >= 0) step_done(q, ts_sch_unroll(s, l), "unroll");
    break;
  case 6:
    step_done(q, ts_sch_cache_read(s, b, rndn(3), rndn(2) ? "shared" : "local",
                                   &out),
              "cache_read");
    break;
  case 7:
    step_done(q, ts_sch_cache_write(s, b, 0, rndn(2) ? "shared" : "local", &out),
              "cache_write");
    break;
  case 8:
    if (l >= 0)
      step_done(q, ts_sch_decompose_reduction(s, b, l, &out),
                "decompose_reduction");
    break;
  case 9: step_done(q, ts_sch_compute_inline(s, b), "compute_inline"); break;
  case 10:
    step_done(q, ts_sch_reverse_compute_inline(s, b), "reverse_compute_inline");
    break;
  case 11: { /* compute_at at a sampled location */
    ts_rv loc;
    if (step_done(q, ts_sch_sample_compute_location(s, b, &loc),
                  "sample_compute_location")) {
      int64_t dummy;
      (void)dummy;
      step_done(q, ts_sch_compute_at(s, b, loc, true), "compute_at");
    }
    break;
  }
  case 12:
    if (nl >= 2) {
      int i = rndn(nl - 1);
      step_done(q, ts_sch_fuse(s, &loops[i], 2, true, &out), "fuse");
    }
    break;
  case 13:
    if (l >= 0) step_done(q, ts_sch_rfactor(s, l, rndn(2), &out), "rfactor");
    break;
  case 14:
    if (l >= 0) step_done(q, ts_sch_blockize(s, l, &out), "blockize");
    break;
  case 15: {
    int64_t cands[3] = {0, 16, 64};
    double probs[3] = {0.25, 0.5, 0.25};
    ts_rv v;
    if (step_done(q, ts_sch_sample_categorical(s, cands, probs, 3, &v),
                  "sample_categorical")) {
      int64_t val = 0;
      ts_status_free(ts_sch_get_int(s, v, &val));
      ts_attr_value av = {0};
      av.kind = TS_ATTR_INT;
      av.u.i = val;
      step_done(q, ts_sch_annotate(s, l >= 0 && rndn(2) ? l : b,
                                   "meta_schedule.unroll_explicit", &av),
                "annotate");
    }
    break;
  }
  case 16:
    if (rndn(2))
      step_done(q, ts_sch_set_scope(s, b, 0, "shared"), "set_scope");
    else
      step_done(q, ts_sch_storage_align(s, b, 0, 0, 4, 1), "storage_align");
    break;
  }
  free(loops);
}

static bool close_enough(ts_ndarray *a, ts_ndarray *b) {
  int64_t n = ts_ndarray_numel(a);
  if (n != ts_ndarray_numel(b)) return false;
  for (int64_t i = 0; i < n; i++) {
    double x = ts_ndarray_get_f64(a, i), y = ts_ndarray_get_f64(b, i);
    if (!(fabs(x - y) <= 1e-4 * (1 + fabs(y)))) return false;
  }
  return true;
}

TEST(random_schedules_keep_results) {
  fn_case cases[N_FUNCS];
  memset(cases, 0, sizeof cases);
  for (int k = 0; k < N_FUNCS; k++) {
    const char *src = k_funcs[k][1];
    ts_status *st = ts_script_parse(src, strlen(src), k_funcs[k][0], &cases[k].m);
    if (st) {
      CHECK_FAIL_("%s: %s", k_funcs[k][0], ts_status_render(st));
      ts_status_free(st);
      continue;
    }
    cases[k].f = ts_module_primfunc(cases[k].m, "main");
    cases[k].nparams = cases[k].f->n_params;
    CHECK_OK(run(cases[k].m, cases[k].f, cases[k].ref));
  }
  int applied = 0, refused_total = 0;
  for (int seed = 1; seed <= N_SEQS; seed++) {
    fn_case *c = &cases[seed % N_FUNCS];
    if (!c->m) continue;
    g_rng = (uint64_t)seed * 7919u;
    seq_state q = {0};
    q.s = ts_schedule_create(c->m, (uint64_t)seed);
    q.snapshot = ts_script_print(ts_schedule_module(q.s), NULL);
    int steps = 1 + rndn(6);
    for (int i = 0; i < steps && !q.failed; i++) random_step(&q);
    ts_module *m = ts_schedule_module(q.s);
    bool ok = !q.failed;
    ts_status *st = ok ? ts_module_verify(m) : NULL;
    if (st) {
      fprintf(stderr, "verify: %s\n", ts_status_render(st));
      ts_status_free(st);
      ok = false;
    }
    /* print -> parse round trip */
    if (ok) {
      char *text = ts_script_print(m, NULL);
      ts_module *back = NULL;
      st = ts_script_parse(text, strlen(text), "printed", &back);
      if (st) {
        fprintf(stderr, "reparse: %s\n%s\n", ts_status_render(st), text);
        ts_status_free(st);
        ok = false;
      } else {
        ts_module_destroy(back);
      }
      free(text);
    }
    if (ok) {
      ts_ndarray *res[8] = {0};
      st = run(m, ts_module_primfunc(m, "main"), res);
      if (st) {
        fprintf(stderr, "interp: %s\n", ts_status_render(st));
        ts_status_free(st);
        ok = false;
      }
      for (int i = 0; i < c->nparams; i++) {
        if (ok && !close_enough(res[i], c->ref[i])) {
          fprintf(stderr, "output %d differs\n", i);
          ok = false;
        }
        if (res[i]) ts_ndarray_release(res[i]);
      }
    }
    char *trace = ts_schedule_trace_text(q.s);
    if (!ok) {
      char *text = ts_script_print(m, NULL);
      CHECK_FAIL_("seed %d (%s) failed; trace:\n%s\nmodule:\n%s", seed,
                  k_funcs[seed % N_FUNCS][0], trace, text);
      free(text);
    }
    for (const char *p = trace; *p; p++) applied += *p == '\n';
    refused_total += steps;
    free(trace);
    free(q.snapshot);
    ts_schedule_destroy(q.s);
  }
  fprintf(stderr, "property test: %d sequences, %d recorded primitives\n",
          N_SEQS, applied);
  (void)refused_total;
  for (int k = 0; k < N_FUNCS; k++) {
    for (int i = 0; i < cases[k].nparams; i++)
      if (cases[k].ref[i]) ts_ndarray_release(cases[k].ref[i]);
    if (cases[k].m) ts_module_destroy(cases[k].m);
  }
}

int main(void) {
  RUN(random_schedules_keep_results);
  return CHECK_DONE();
}
