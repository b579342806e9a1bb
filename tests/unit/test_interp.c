/* test_interp.c: the reference interpreter (TensorIR and graph functions)
 * against values computed here with plain loops.  The IR is built with a
 * small helper layer (the TVMScript source of each function is in the
 * comment above it). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "ops/ops.h"
#include "tessera/interp.h"
#include "tessera/ir.h"
#include "tessera/runtime.h"
#include "tessera/script.h"

/* ---- IR building helpers ------------------------------------------------ */

static ts_module *M;
static ts_arena *A;
static const ts_loc L0 = {"t.py", 1, 1};

static ts_loc at(int line) { return (ts_loc){"t.py", line, 5}; }
static ts_expr *I(int64_t v) { return ts_int(A, TS_I32, v); }
static ts_expr *I64(int64_t v) { return ts_int(A, TS_I64, v); }
static ts_expr *F(double v) { return ts_float(A, TS_F32, v); }
static ts_expr *V(ts_var *v) { return ts_varref(A, v); }
static ts_expr *bin(ts_expr_kind k, ts_expr *x, ts_expr *y) {
  return ts_binary(A, k, x, y);
}
#define ADD(x, y) bin(TS_E_ADD, x, y)
#define SUB(x, y) bin(TS_E_SUB, x, y)
#define MUL(x, y) bin(TS_E_MUL, x, y)
#define DIV(x, y) bin(TS_E_DIV, x, y)
#define MAX(x, y) bin(TS_E_MAX, x, y)
static ts_var *ivar(const char *n) { return ts_var_new(A, n, TS_I32, L0); }
static ts_expr *call1(ts_intrin op, ts_expr *x) {
  ts_expr *args[1] = {x};
  return ts_call(A, x->dtype, op, args, 1);
}

static ts_buffer *buf(const char *name, ts_dtype t, int n, ...) {
  ts_expr *shape[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    shape[i] = I(va_arg(ap, int));
  va_end(ap);
  ts_buffer *b = ts_buffer_new(A, name, t, n, shape);
  b->loc = at(2);
  return b;
}

static ts_expr *ld(ts_buffer *b, int n, ...) {
  ts_expr *idx[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    idx[i] = va_arg(ap, ts_expr *);
  va_end(ap);
  return ts_load(A, b, idx, n);
}

static ts_stmt *store(ts_buffer *b, ts_expr *value, int n, ...) {
  ts_stmt *s = ts_stmt_new(A, TS_S_STORE, at(7));
  s->u.store.buffer = b;
  s->u.store.n = n;
  s->u.store.indices = ts_arena_array(A, (size_t)n, sizeof(ts_expr *));
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    s->u.store.indices[i] = va_arg(ap, ts_expr *);
  va_end(ap);
  s->u.store.value = value;
  return s;
}

static ts_stmt *seq2(ts_stmt *a, ts_stmt *b) {
  ts_stmt *v[2] = {a, b};
  return ts_seq(A, v, 2);
}

static ts_stmt *loop(ts_var *v, ts_expr *extent, ts_stmt *body) {
  ts_stmt *s = ts_stmt_new(A, TS_S_FOR, L0);
  s->u.for_.var = v;
  s->u.for_.min = ts_int(A, v->dtype, 0);
  s->u.for_.extent = extent;
  s->u.for_.body = body;
  return s;
}

/* A block named `name` with iteration variables iv[k] of kinds types[k]
 * ('S'/'R') over [0, ext[k]) bound one to one to a loop nest of the same
 * extents (T.grid + T.axis.remap). */
static ts_stmt *grid_block(const char *name, const char *types, const int *ext,
                           ts_var **iv, ts_stmt *init, ts_stmt *body) {
  int n = (int)strlen(types);
  ts_block *b = ts_arena_alloc(A, sizeof(*b));
  b->name = name;
  b->loc = at(5);
  b->n_iter_vars = n;
  b->iter_vars = ts_arena_array(A, (size_t)n, sizeof(ts_iter_var));
  ts_var **lv = ts_arena_array(A, (size_t)n, sizeof(ts_var *));
  ts_stmt *r = ts_stmt_new(A, TS_S_BLOCK_REALIZE, at(5));
  r->u.realize.iter_values = ts_arena_array(A, (size_t)n, sizeof(ts_expr *));
  for (int k = 0; k < n; k++) {
    b->iter_vars[k].var = iv[k];
    b->iter_vars[k].dom.min = I(0);
    b->iter_vars[k].dom.extent = I(ext[k]);
    b->iter_vars[k].type = types[k] == 'R' ? TS_ITER_REDUCE : TS_ITER_SPATIAL;
    lv[k] = ivar("l");
    r->u.realize.iter_values[k] = V(lv[k]);
  }
  b->init = init;
  b->body = body;
  r->u.realize.block = b;
  ts_stmt *s = r;
  for (int k = n - 1; k >= 0; k--)
    s = loop(lv[k], I(ext[k]), s);
  return s;
}

/* The function: params are buffers (NULL-terminated), body wrapped in the
 * root block holding `allocs`. */
static ts_primfunc *func(const char *name, ts_buffer **params, int np,
                         ts_buffer **allocs, int na, ts_stmt *body) {
  ts_primfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = name;
  f->loc = L0;
  f->n_params = np;
  f->params = ts_arena_array(A, (size_t)np, sizeof(ts_param));
  for (int i = 0; i < np; i++) {
    f->params[i].buffer = params[i];
    f->params[i].var =
        params[i] ? ts_var_new(A, params[i]->name, TS_HANDLET, L0) : NULL;
  }
  ts_block *root = ts_arena_alloc(A, sizeof(*root));
  root->name = "root";
  root->alloc_buffers = allocs;
  root->n_alloc_buffers = na;
  root->body = body;
  ts_stmt *r = ts_stmt_new(A, TS_S_BLOCK_REALIZE, L0);
  r->u.realize.block = root;
  f->body = r;
  ts_func fn = {.kind = TS_FUNC_PRIM, .name = name, .u.prim = f};
  ts_status *st = ts_module_add(M, fn, L0);
  TS_ASSERT(!st);
  return f;
}

static ts_ndarray *arr(ts_dtype t, int n, ...) {
  int64_t shape[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    shape[i] = va_arg(ap, int);
  va_end(ap);
  ts_ndarray *a;
  ts_status *st = ts_ndarray_create(n, shape, t, &a);
  TS_ASSERT(!st);
  return a;
}

static uint64_t seed = 1;
static ts_ndarray *rnd(ts_ndarray *a) {
  ts_ndarray_fill_random(a, seed++);
  return a;
}

static ts_value T(ts_ndarray *a) {
  return (ts_value){.kind = TS_VAL_TENSOR, .u.tensor = a};
}

static float fget(ts_ndarray *a, int64_t i) {
  return ((float *)ts_ndarray_data(a))[i];
}

static void setup(void) {
  M = ts_module_create();
  A = ts_module_arena(M);
}
static void teardown(void) { ts_module_destroy(M); }

/* ---- TensorIR functions -------------------------------------------------- */

/* for i, j, k in T.grid(M, N, K): with T.block("C"): vi, vj, vk = remap("SSR")
 *   with T.init(): C[vi, vj] = 0;  C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk,
 * vj] (plus, when relu, a second block through Y). */
static ts_primfunc *build_matmul(const char *name, int m, int n, int k,
                                 bool relu) {
  ts_buffer *a = buf("A", TS_F32, 2, m, k), *b = buf("B", TS_F32, 2, k, n);
  ts_buffer *c = buf("C", TS_F32, 2, m, n);
  ts_buffer *y = relu ? buf("Y", TS_F32, 2, m, n) : c;
  ts_var *iv[3] = {ivar("vi"), ivar("vj"), ivar("vk")};
  int ext[3] = {m, n, k};
  ts_stmt *mm =
      grid_block("Y", "SSR", ext, iv, store(y, F(0), 2, V(iv[0]), V(iv[1])),
                 store(y,
                       ADD(ld(y, 2, V(iv[0]), V(iv[1])),
                           MUL(ld(a, 2, V(iv[0]), V(iv[2])),
                               ld(b, 2, V(iv[2]), V(iv[1])))),
                       2, V(iv[0]), V(iv[1])));
  ts_buffer *params[3] = {a, b, c};
  if (!relu)
    return func(name, params, 3, NULL, 0, mm);
  ts_var *jv[2] = {ivar("vi"), ivar("vj")};
  ts_stmt *r = grid_block(
      "C", "SS", ext, jv, NULL,
      store(c, MAX(ld(y, 2, V(jv[0]), V(jv[1])), F(0)), 2, V(jv[0]), V(jv[1])));
  ts_buffer **allocs = ts_arena_array(A, 1, sizeof(ts_buffer *));
  allocs[0] = y;
  return func(name, params, 3, allocs, 1, seq2(mm, r));
}

static void ref_matmul(ts_ndarray *a, ts_ndarray *b, int m, int n, int k,
                       bool relu, float *out) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      float acc = 0;
      for (int p = 0; p < k; p++)
        acc += fget(a, i * k + p) * fget(b, p * n + j);
      out[i * n + j] = relu && acc < 0 ? 0 : acc;
    }
}

TEST(tir_matmul) {
  setup();
  ts_primfunc *f = build_matmul("matmul", 5, 7, 6, false);
  ts_ndarray *a = rnd(arr(TS_F32, 2, 5, 6)), *b = rnd(arr(TS_F32, 2, 6, 7));
  ts_ndarray *c = arr(TS_F32, 2, 5, 7);
  ts_value args[3] = {T(a), T(b), T(c)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 3));
  float ref[35];
  ref_matmul(a, b, 5, 7, 6, false, ref);
  /* float32 accumulation in the same order: exact */
  for (int i = 0; i < 35; i++)
    CHECK(fget(c, i) == ref[i]);
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(c);
  teardown();
}

TEST(tir_matmul_relu) {
  setup();
  ts_primfunc *f = build_matmul("mm_relu", 4, 3, 8, true);
  ts_ndarray *a = rnd(arr(TS_F32, 2, 4, 8)), *b = rnd(arr(TS_F32, 2, 8, 3));
  ts_ndarray *c = arr(TS_F32, 2, 4, 3);
  ts_value args[3] = {T(a), T(b), T(c)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 3));
  float ref[12];
  ref_matmul(a, b, 4, 3, 8, true, ref);
  int zeros = 0;
  for (int i = 0; i < 12; i++) {
    CHECK(fget(c, i) == ref[i]);
    zeros += ref[i] == 0;
  }
  CHECK(zeros > 0 && zeros < 12);
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(c);
  teardown();
}

/* conv2d NCHW, 3x3, pad 1, stride 1:
 *   Pad[n, c, h, w] = T.if_then_else(1 <= h and h < H+1 and 1 <= w and
 *                                    w < W+1, X[n, c, h-1, w-1], 0.0)
 *   Out[n, f, y, x] += Pad[n, rc, y+ry, x+rx] * Wt[f, rc, ry, rx] */
TEST(tir_conv2d) {
  setup();
  enum { N = 1, C = 2, H = 5, W = 4, FO = 3 };
  ts_buffer *x = buf("X", TS_F32, 4, N, C, H, W);
  ts_buffer *w = buf("Wt", TS_F32, 4, FO, C, 3, 3);
  ts_buffer *o = buf("Out", TS_F32, 4, N, FO, H, W);
  ts_buffer *pad = buf("Pad", TS_F32, 4, N, C, H + 2, W + 2);
  ts_var *pv[4] = {ivar("n"), ivar("c"), ivar("h"), ivar("w")};
  int pext[4] = {N, C, H + 2, W + 2};
  ts_expr *h = V(pv[2]), *ww = V(pv[3]);
  ts_expr *cond = bin(
      TS_E_AND, bin(TS_E_AND, bin(TS_E_LE, I(1), h), bin(TS_E_LT, h, I(H + 1))),
      bin(TS_E_AND, bin(TS_E_LE, I(1), ww), bin(TS_E_LT, ww, I(W + 1))));
  ts_expr *ite_args[3] = {
      cond, ld(x, 4, V(pv[0]), V(pv[1]), SUB(h, I(1)), SUB(ww, I(1))), F(0)};
  ts_stmt *padb = grid_block(
      "pad", "SSSS", pext, pv, NULL,
      store(pad, ts_call(A, TS_F32, TS_INTRIN_IF_THEN_ELSE, ite_args, 3), 4,
            V(pv[0]), V(pv[1]), V(pv[2]), V(pv[3])));
  ts_var *cv[7] = {ivar("n"),  ivar("f"),  ivar("y"), ivar("x"),
                   ivar("rc"), ivar("ry"), ivar("rx")};
  int cext[7] = {N, FO, H, W, C, 3, 3};
  ts_stmt *convb = grid_block(
      "conv", "SSSSRRR", cext, cv,
      store(o, F(0), 4, V(cv[0]), V(cv[1]), V(cv[2]), V(cv[3])),
      store(o,
            ADD(ld(o, 4, V(cv[0]), V(cv[1]), V(cv[2]), V(cv[3])),
                MUL(ld(pad, 4, V(cv[0]), V(cv[4]), ADD(V(cv[2]), V(cv[5])),
                       ADD(V(cv[3]), V(cv[6]))),
                    ld(w, 4, V(cv[1]), V(cv[4]), V(cv[5]), V(cv[6])))),
            4, V(cv[0]), V(cv[1]), V(cv[2]), V(cv[3])));
  ts_buffer *params[3] = {x, w, o};
  ts_buffer **allocs = ts_arena_array(A, 1, sizeof(ts_buffer *));
  allocs[0] = pad;
  ts_primfunc *f = func("conv2d", params, 3, allocs, 1, seq2(padb, convb));
  ts_ndarray *xa = rnd(arr(TS_F32, 4, N, C, H, W));
  ts_ndarray *wa = rnd(arr(TS_F32, 4, FO, C, 3, 3));
  ts_ndarray *oa = arr(TS_F32, 4, N, FO, H, W);
  ts_value args[3] = {T(xa), T(wa), T(oa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 3));
  for (int fo = 0; fo < FO; fo++)
    for (int yy = 0; yy < H; yy++)
      for (int xx = 0; xx < W; xx++) {
        float acc = 0;
        for (int c = 0; c < C; c++)
          for (int ry = 0; ry < 3; ry++)
            for (int rx = 0; rx < 3; rx++) {
              int iy = yy + ry - 1, ix = xx + rx - 1;
              float v = (iy >= 0 && iy < H && ix >= 0 && ix < W)
                            ? fget(xa, (c * H + iy) * W + ix)
                            : 0.0f;
              acc += v * fget(wa, ((fo * C + c) * 3 + ry) * 3 + rx);
            }
        CHECK(fget(oa, (fo * H + yy) * W + xx) == acc);
      }
  ts_ndarray_release(xa);
  ts_ndarray_release(wa);
  ts_ndarray_release(oa);
  teardown();
}

/* softmax over axis 1 of (R, Cn): max, exp(x - max), sum, divide. */
TEST(tir_softmax) {
  setup();
  enum { R = 3, Cn = 5 };
  ts_buffer *x = buf("X", TS_F32, 2, R, Cn), *o = buf("Out", TS_F32, 2, R, Cn);
  ts_buffer *mx = buf("mx", TS_F32, 1, R), *e = buf("e", TS_F32, 2, R, Cn);
  ts_buffer *sm = buf("sm", TS_F32, 1, R);
  ts_var *a[2] = {ivar("i"), ivar("k")}, *b[2] = {ivar("i"), ivar("j")};
  ts_var *c[2] = {ivar("i"), ivar("k")}, *d[2] = {ivar("i"), ivar("j")};
  int ext[2] = {R, Cn};
  ts_stmt *s1 =
      grid_block("max", "SR", ext, a, store(mx, F(-INFINITY), 1, V(a[0])),
                 store(mx, MAX(ld(mx, 1, V(a[0])), ld(x, 2, V(a[0]), V(a[1]))),
                       1, V(a[0])));
  ts_stmt *s2 =
      grid_block("exp", "SS", ext, b, NULL,
                 store(e,
                       call1(TS_INTRIN_EXP, SUB(ld(x, 2, V(b[0]), V(b[1])),
                                                ld(mx, 1, V(b[0])))),
                       2, V(b[0]), V(b[1])));
  ts_stmt *s3 =
      grid_block("sum", "SR", ext, c, store(sm, F(0), 1, V(c[0])),
                 store(sm, ADD(ld(sm, 1, V(c[0])), ld(e, 2, V(c[0]), V(c[1]))),
                       1, V(c[0])));
  ts_stmt *s4 =
      grid_block("div", "SS", ext, d, NULL,
                 store(o, DIV(ld(e, 2, V(d[0]), V(d[1])), ld(sm, 1, V(d[0]))),
                       2, V(d[0]), V(d[1])));
  ts_buffer *params[2] = {x, o};
  ts_buffer **allocs = ts_arena_array(A, 3, sizeof(ts_buffer *));
  allocs[0] = mx;
  allocs[1] = e;
  allocs[2] = sm;
  ts_primfunc *f =
      func("softmax", params, 2, allocs, 3, seq2(seq2(s1, s2), seq2(s3, s4)));
  ts_ndarray *xa = rnd(arr(TS_F32, 2, R, Cn)), *oa = arr(TS_F32, 2, R, Cn);
  ts_value args[2] = {T(xa), T(oa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  for (int i = 0; i < R; i++) {
    double m = -INFINITY, s = 0, tot = 0;
    for (int j = 0; j < Cn; j++)
      m = fmax(m, fget(xa, i * Cn + j));
    for (int j = 0; j < Cn; j++)
      s += exp(fget(xa, i * Cn + j) - m);
    for (int j = 0; j < Cn; j++) {
      CHECK_NEAR(fget(oa, i * Cn + j), exp(fget(xa, i * Cn + j) - m) / s, 1e-6);
      tot += fget(oa, i * Cn + j);
    }
    CHECK_NEAR(tot, 1.0, 1e-5);
  }
  ts_ndarray_release(xa);
  ts_ndarray_release(oa);
  teardown();
}

/* layer norm over the last axis with gamma/beta, eps 1e-5. */
TEST(tir_layer_norm) {
  setup();
  enum { R = 2, Cn = 6 };
  ts_buffer *x = buf("X", TS_F32, 2, R, Cn), *g = buf("gamma", TS_F32, 1, Cn);
  ts_buffer *be = buf("beta", TS_F32, 1, Cn), *o = buf("Out", TS_F32, 2, R, Cn);
  ts_buffer *s = buf("s", TS_F32, 1, R), *sq = buf("sq", TS_F32, 1, R);
  ts_var *a[2] = {ivar("i"), ivar("k")}, *b[2] = {ivar("i"), ivar("j")};
  int ext[2] = {R, Cn};
  ts_expr *xv = ld(x, 2, V(a[0]), V(a[1]));
  ts_stmt *init = seq2(store(s, F(0), 1, V(a[0])), store(sq, F(0), 1, V(a[0])));
  ts_stmt *body =
      seq2(store(s, ADD(ld(s, 1, V(a[0])), xv), 1, V(a[0])),
           store(sq, ADD(ld(sq, 1, V(a[0])), MUL(xv, xv)), 1, V(a[0])));
  ts_stmt *s1 = grid_block("stats", "SR", ext, a, init, body);
  ts_expr *mean = MUL(ld(s, 1, V(b[0])), F(1.0 / Cn));
  ts_expr *var = SUB(MUL(ld(sq, 1, V(b[0])), F(1.0 / Cn)), MUL(mean, mean));
  ts_expr *norm = MUL(SUB(ld(x, 2, V(b[0]), V(b[1])), mean),
                      call1(TS_INTRIN_RSQRT, ADD(var, F(1e-5))));
  ts_stmt *s2 =
      grid_block("norm", "SS", ext, b, NULL,
                 store(o, ADD(MUL(norm, ld(g, 1, V(b[1]))), ld(be, 1, V(b[1]))),
                       2, V(b[0]), V(b[1])));
  ts_buffer *params[4] = {x, g, be, o};
  ts_buffer **allocs = ts_arena_array(A, 2, sizeof(ts_buffer *));
  allocs[0] = s;
  allocs[1] = sq;
  ts_primfunc *f = func("layer_norm", params, 4, allocs, 2, seq2(s1, s2));
  ts_ndarray *xa = rnd(arr(TS_F32, 2, R, Cn)), *ga = rnd(arr(TS_F32, 1, Cn));
  ts_ndarray *ba = rnd(arr(TS_F32, 1, Cn)), *oa = arr(TS_F32, 2, R, Cn);
  ts_value args[4] = {T(xa), T(ga), T(ba), T(oa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 4));
  for (int i = 0; i < R; i++) {
    double mu = 0, v = 0;
    for (int j = 0; j < Cn; j++)
      mu += fget(xa, i * Cn + j);
    mu /= Cn;
    for (int j = 0; j < Cn; j++)
      v += pow(fget(xa, i * Cn + j) - mu, 2);
    v /= Cn;
    for (int j = 0; j < Cn; j++)
      CHECK_NEAR(fget(oa, i * Cn + j),
                 (fget(xa, i * Cn + j) - mu) / sqrt(v + 1e-5) * fget(ga, j) +
                     fget(ba, j),
                 1e-4);
  }
  ts_ndarray_release(xa);
  ts_ndarray_release(ga);
  ts_ndarray_release(ba);
  ts_ndarray_release(oa);
  teardown();
}

/* sum over axis 0 of an int32 (3, 4) into (4,); T.init sets 0. */
TEST(tir_reduce_sum_axis) {
  setup();
  ts_buffer *x = buf("X", TS_I32, 2, 3, 4), *o = buf("S", TS_I32, 1, 4);
  ts_var *v[2] = {ivar("j"), ivar("i")};
  int ext[2] = {4, 3};
  ts_stmt *s = grid_block(
      "sum", "SR", ext, v, store(o, I(0), 1, V(v[0])),
      store(o, ADD(ld(o, 1, V(v[0])), ld(x, 2, V(v[1]), V(v[0]))), 1, V(v[0])));
  ts_buffer *params[2] = {x, o};
  ts_primfunc *f = func("colsum", params, 2, NULL, 0, s);
  ts_ndarray *xa = rnd(arr(TS_I32, 2, 3, 4)), *oa = arr(TS_I32, 1, 4);
  /* garbage in the output: init must overwrite it */
  for (int j = 0; j < 4; j++)
    ts_ndarray_set_i64(oa, j, 1000);
  ts_value args[2] = {T(xa), T(oa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  for (int j = 0; j < 4; j++) {
    int64_t r = 0;
    for (int i = 0; i < 3; i++)
      r += ts_ndarray_get_i64(xa, i * 4 + j);
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, j), r);
  }
  ts_ndarray_release(xa);
  ts_ndarray_release(oa);
  teardown();
}

/* C[i, j] = A[i, j] + B[j]  (broadcast of a (4,) over (3, 4)) */
TEST(tir_broadcast_add) {
  setup();
  ts_buffer *a = buf("A", TS_F32, 2, 3, 4), *b = buf("B", TS_F32, 1, 4);
  ts_buffer *c = buf("C", TS_F32, 2, 3, 4);
  ts_var *v[2] = {ivar("i"), ivar("j")};
  int ext[2] = {3, 4};
  ts_stmt *s =
      grid_block("add", "SS", ext, v, NULL,
                 store(c, ADD(ld(a, 2, V(v[0]), V(v[1])), ld(b, 1, V(v[1]))), 2,
                       V(v[0]), V(v[1])));
  ts_buffer *params[3] = {a, b, c};
  ts_primfunc *f = func("badd", params, 3, NULL, 0, s);
  ts_ndarray *aa = rnd(arr(TS_F32, 2, 3, 4)), *ba = rnd(arr(TS_F32, 1, 4));
  ts_ndarray *ca = arr(TS_F32, 2, 3, 4);
  ts_value args[3] = {T(aa), T(ba), T(ca)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 3));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      CHECK(fget(ca, i * 4 + j) == fget(aa, i * 4 + j) + fget(ba, j));
  ts_ndarray_release(aa);
  ts_ndarray_release(ba);
  ts_ndarray_release(ca);
  teardown();
}

/* B[j, i] = A[i, j] on float64 */
TEST(tir_transpose) {
  setup();
  ts_buffer *a = buf("A", TS_F64, 2, 3, 4), *b = buf("B", TS_F64, 2, 4, 3);
  ts_var *v[2] = {ivar("i"), ivar("j")};
  int ext[2] = {3, 4};
  ts_stmt *s =
      grid_block("T", "SS", ext, v, NULL,
                 store(b, ld(a, 2, V(v[0]), V(v[1])), 2, V(v[1]), V(v[0])));
  ts_buffer *params[2] = {a, b};
  ts_primfunc *f = func("transpose", params, 2, NULL, 0, s);
  ts_ndarray *aa = rnd(arr(TS_F64, 2, 3, 4)), *ba = arr(TS_F64, 2, 4, 3);
  ts_value args[2] = {T(aa), T(ba)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      CHECK(ts_ndarray_get_f64(ba, j * 3 + i) ==
            ts_ndarray_get_f64(aa, i * 4 + j));
  ts_ndarray_release(aa);
  ts_ndarray_release(ba);
  teardown();
}

/* 2x2 max pooling, stride 2, on (1, 2, 4, 6) -> (1, 2, 2, 3) */
TEST(tir_max_pool) {
  setup();
  ts_buffer *x = buf("X", TS_F32, 4, 1, 2, 4, 6),
            *o = buf("P", TS_F32, 4, 1, 2, 2, 3);
  ts_var *v[6] = {ivar("n"), ivar("c"),  ivar("h"),
                  ivar("w"), ivar("rh"), ivar("rw")};
  int ext[6] = {1, 2, 2, 3, 2, 2};
  ts_stmt *s = grid_block(
      "pool", "SSSSRR", ext, v,
      store(o, F(-INFINITY), 4, V(v[0]), V(v[1]), V(v[2]), V(v[3])),
      store(o,
            MAX(ld(o, 4, V(v[0]), V(v[1]), V(v[2]), V(v[3])),
                ld(x, 4, V(v[0]), V(v[1]), ADD(MUL(V(v[2]), I(2)), V(v[4])),
                   ADD(MUL(V(v[3]), I(2)), V(v[5])))),
            4, V(v[0]), V(v[1]), V(v[2]), V(v[3])));
  ts_buffer *params[2] = {x, o};
  ts_primfunc *f = func("pool", params, 2, NULL, 0, s);
  ts_ndarray *xa = rnd(arr(TS_F32, 4, 1, 2, 4, 6)),
             *oa = arr(TS_F32, 4, 1, 2, 2, 3);
  ts_value args[2] = {T(xa), T(oa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  for (int c = 0; c < 2; c++)
    for (int h = 0; h < 2; h++)
      for (int w = 0; w < 3; w++) {
        float m = -INFINITY;
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++)
            m = fmaxf(m, fget(xa, (c * 4 + 2 * h + a) * 6 + 2 * w + b));
        CHECK(fget(oa, (c * 2 + h) * 3 + w) == m);
      }
  ts_ndarray_release(xa);
  ts_ndarray_release(oa);
  teardown();
}

/* A: (n, 4), B: (n, 4), C: (n, 4): C = A * 2 + B, run with n = 3 and n = 5;
 * then a mismatch of n between arguments. */
static ts_primfunc *build_symbolic(void) {
  ts_var *n = ts_var_new(A, "n", TS_I64, L0);
  ts_expr *shape[2] = {V(n), I64(4)};
  ts_buffer *a = ts_buffer_new(A, "A", TS_F32, 2, shape);
  ts_buffer *b = ts_buffer_new(A, "B", TS_F32, 2, shape);
  ts_buffer *c = ts_buffer_new(A, "C", TS_F32, 2, shape);
  ts_var *i = ts_var_new(A, "i", TS_I64, L0),
         *j = ts_var_new(A, "j", TS_I64, L0);
  ts_stmt *s =
      store(c, ADD(MUL(ld(a, 2, V(i), V(j)), F(2)), ld(b, 2, V(i), V(j))), 2,
            V(i), V(j));
  s = loop(i, V(n), loop(j, I64(4), s));
  ts_buffer *params[3] = {a, b, c};
  ts_primfunc *f = func("sym", params, 3, NULL, 0, s);
  return f;
}

TEST(tir_symbolic_shapes) {
  setup();
  ts_primfunc *f = build_symbolic();
  for (int n = 3; n <= 5; n += 2) {
    ts_ndarray *a = rnd(arr(TS_F32, 2, n, 4)), *b = rnd(arr(TS_F32, 2, n, 4));
    ts_ndarray *c = arr(TS_F32, 2, n, 4);
    ts_value args[3] = {T(a), T(b), T(c)};
    CHECK_OK(ts_interp_primfunc(M, f, args, 3));
    for (int k = 0; k < n * 4; k++)
      CHECK(fget(c, k) == fget(a, k) * 2.0f + fget(b, k));
    ts_ndarray_release(a);
    ts_ndarray_release(b);
    ts_ndarray_release(c);
  }
  ts_ndarray *a = arr(TS_F32, 2, 4, 4), *b = arr(TS_F32, 2, 5, 4);
  ts_ndarray *c = arr(TS_F32, 2, 4, 4);
  ts_value args[3] = {T(a), T(b), T(c)};
  CHECK_ERR(ts_interp_primfunc(M, f, args, 3), TS_ERR_TYPE,
            "parameter 'B': dimension 0 (n) is 4 from an earlier argument, "
            "got 5");
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(c);
  teardown();
}

/* Integer semantics: floordiv/floormod (Python), truncdiv/truncmod, int8
 * wraparound, division by zero. */
TEST(tir_integer_semantics) {
  setup();
  ts_buffer *x = buf("X", TS_I32, 1, 4), *o = buf("O", TS_I32, 2, 4, 4);
  ts_buffer *w = buf("W", TS_DT(TS_INT, 8), 1, 4);
  ts_var *i = ivar("i");
  ts_expr *xi = ld(x, 1, V(i));
  ts_stmt *body[5] = {
      store(o, bin(TS_E_FLOORDIV, xi, I(3)), 2, I(0), V(i)),
      store(o, bin(TS_E_FLOORMOD, xi, I(3)), 2, I(1), V(i)),
      store(o, bin(TS_E_DIV, xi, I(3)), 2, I(2), V(i)),
      store(o, bin(TS_E_MOD, xi, I(3)), 2, I(3), V(i)),
      store(w,
            ADD(ts_cast(A, TS_DT(TS_INT, 8), xi),
                ts_int(A, TS_DT(TS_INT, 8), 120)),
            1, V(i)),
  };
  ts_stmt *s = loop(i, I(4), ts_seq(A, body, 5));
  ts_buffer *params[3] = {x, o, w};
  ts_primfunc *f = func("ints", params, 3, NULL, 0, s);
  ts_ndarray *xa = arr(TS_I32, 1, 4), *oa = arr(TS_I32, 2, 4, 4);
  ts_ndarray *wa = arr(TS_DT(TS_INT, 8), 1, 4);
  int xs[4] = {7, -7, 9, -1};
  for (int k = 0; k < 4; k++)
    ts_ndarray_set_i64(xa, k, xs[k]);
  ts_value args[3] = {T(xa), T(oa), T(wa)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 3));
  int fd[4] = {2, -3, 3, -1}, fm[4] = {1, 2, 0, 2};
  int td[4] = {2, -2, 3, 0}, tm[4] = {1, -1, 0, -1};
  for (int k = 0; k < 4; k++) {
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, 0 * 4 + k), fd[k]);
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, 1 * 4 + k), fm[k]);
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, 2 * 4 + k), td[k]);
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, 3 * 4 + k), tm[k]);
    CHECK_EQ_INT(ts_ndarray_get_i64(wa, k), (int8_t)(int8_t)(xs[k] + 120));
  }
  ts_ndarray_release(xa);
  ts_ndarray_release(oa);
  ts_ndarray_release(wa);

  /* division by zero */
  ts_buffer *y = buf("Y", TS_I32, 1, 2);
  ts_var *k = ivar("k");
  ts_stmt *z = store(y, bin(TS_E_FLOORDIV, I(1), V(k)), 1, V(k));
  ts_buffer *p2[1] = {y};
  ts_primfunc *g = func("divz", p2, 1, NULL, 0, loop(k, I(2), z));
  ts_ndarray *ya = arr(TS_I32, 1, 2);
  ts_value a2[1] = {T(ya)};
  CHECK_ERR(ts_interp_primfunc(M, g, a2, 1), TS_ERR_RUNTIME,
            "t.py:7:5: division by zero in 1 // k");
  ts_ndarray_release(ya);
  teardown();
}

/* float32 arithmetic rounds after every operation, as compiled C does. */
TEST(tir_float32_rounding) {
  setup();
  ts_buffer *o = buf("O", TS_F32, 1, 1), *d = buf("D", TS_F64, 1, 1);
  /* (1 + 2^-30) - 1 in float32 is 0; in float64 it is 2^-30 */
  ts_stmt *s = seq2(
      store(o, SUB(ADD(F(1.0), F(0x1p-30)), F(1.0)), 1, I(0)),
      store(d,
            SUB(ADD(ts_float(A, TS_F64, 1.0), ts_float(A, TS_F64, 0x1p-30)),
                ts_float(A, TS_F64, 1.0)),
            1, I(0)));
  ts_buffer *params[2] = {o, d};
  ts_primfunc *f = func("round", params, 2, NULL, 0, s);
  ts_ndarray *oa = arr(TS_F32, 1, 1), *da = arr(TS_F64, 1, 1);
  ts_value args[2] = {T(oa), T(da)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  CHECK(fget(oa, 0) == 0.0f);
  CHECK(ts_ndarray_get_f64(da, 0) == 0x1p-30);
  ts_ndarray_release(oa);
  ts_ndarray_release(da);
  teardown();
}

/* T.where predicate and a match_buffer onto a 2x2 tile:
 *   for io, jo, ii, jj: block "tile": vi = io*2+ii ... predicate vi < 3
 *   with a block over tiles matching Sub = T.match_buffer(C[2*to:2*to+2,
 *   0:4], (2, 4)) and writing Sub[r, c] = to * 10 + r * 4 + c. */
TEST(tir_predicate_and_match_buffer) {
  setup();
  ts_buffer *c = buf("C", TS_F32, 2, 4, 4);
  ts_buffer *sub = buf("Sub", TS_F32, 2, 2, 4);
  ts_var *to = ivar("to"), *lt = ivar("lt");
  ts_var *r = ivar("r"), *cc = ivar("c");
  ts_stmt *inner = store(
      sub,
      ts_cast(A, TS_F32, ADD(ADD(MUL(V(to), I(10)), MUL(V(r), I(4))), V(cc))),
      2, V(r), V(cc));
  inner = loop(r, I(2), loop(cc, I(4), inner));
  ts_block *b = ts_arena_alloc(A, sizeof(*b));
  b->name = "tile";
  b->n_iter_vars = 1;
  b->iter_vars = ts_arena_array(A, 1, sizeof(ts_iter_var));
  b->iter_vars[0] = (ts_iter_var){to, {I(0), I(2)}, TS_ITER_SPATIAL};
  b->n_match_buffers = 1;
  b->match_buffers = ts_arena_array(A, 1, sizeof(ts_match_buffer));
  b->match_buffers[0].buffer = sub;
  b->match_buffers[0].source.buffer = c;
  b->match_buffers[0].source.n = 2;
  b->match_buffers[0].source.ranges = ts_arena_array(A, 2, sizeof(ts_range));
  b->match_buffers[0].source.ranges[0] = (ts_range){MUL(V(to), I(2)), I(2)};
  b->match_buffers[0].source.ranges[1] = (ts_range){I(0), I(4)};
  b->body = inner;
  ts_stmt *rz = ts_stmt_new(A, TS_S_BLOCK_REALIZE, L0);
  rz->u.realize.block = b;
  rz->u.realize.iter_values = ts_arena_array(A, 1, sizeof(ts_expr *));
  rz->u.realize.iter_values[0] = V(lt);
  /* only the second tile runs */
  rz->u.realize.predicate = bin(TS_E_GE, V(lt), I(1));
  ts_buffer *params[1] = {c};
  ts_primfunc *f = func("tiles", params, 1, NULL, 0, loop(lt, I(2), rz));
  ts_ndarray *ca = arr(TS_F32, 2, 4, 4);
  ts_value args[1] = {T(ca)};
  CHECK_OK(ts_interp_primfunc(M, f, args, 1));
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      CHECK(fget(ca, i * 4 + j) ==
            (i < 2 ? 0.0f : (float)(10 + (i - 2) * 4 + j)));
  ts_ndarray_release(ca);
  teardown();
}

TEST(tir_binding_errors) {
  setup();
  ts_primfunc *f = build_matmul("main", 4, 4, 4, false);
  ts_ndarray *a = arr(TS_F32, 2, 4, 4), *b = arr(TS_F32, 2, 4, 4);
  ts_ndarray *c3 = arr(TS_F32, 3, 4, 4, 1), *d = arr(TS_F64, 2, 4, 4);
  ts_ndarray *e = arr(TS_F32, 2, 3, 4), *c = arr(TS_F32, 2, 4, 4);
  ts_value two[2] = {T(a), T(b)};
  CHECK_ERR(ts_interp_primfunc(M, f, two, 2), TS_ERR_TYPE,
            "main expects 3 arguments, got 2");
  ts_value r3[3] = {T(a), T(b), T(c3)};
  CHECK_ERR(ts_interp_primfunc(M, f, r3, 3), TS_ERR_TYPE,
            "parameter 'C': expected rank 2, got rank 3");
  ts_value dt[3] = {T(d), T(b), T(c)};
  CHECK_ERR(ts_interp_primfunc(M, f, dt, 3), TS_ERR_TYPE,
            "parameter 'A': expected float32, got float64");
  ts_value dm[3] = {T(a), T(e), T(c)};
  CHECK_ERR(ts_interp_primfunc(M, f, dm, 3), TS_ERR_TYPE,
            "parameter 'B': dimension 0 is 4, got 3");
  ts_value in[3] = {T(a), {.kind = TS_VAL_INT, .u.i = 3}, T(c)};
  CHECK_ERR(ts_interp_primfunc(M, f, in, 3), TS_ERR_TYPE,
            "parameter 'B': expected a tensor, got an integer");
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(c3);
  ts_ndarray_release(d);
  ts_ndarray_release(e);
  ts_ndarray_release(c);
  teardown();
}

TEST(tir_out_of_bounds) {
  setup();
  /* for i in range(129): A[i] = 1.0 on a (128,) buffer */
  ts_buffer *a = buf("A", TS_F32, 1, 128);
  ts_var *i = ivar("i");
  ts_buffer *params[1] = {a};
  ts_primfunc *f =
      func("oob", params, 1, NULL, 0, loop(i, I(129), store(a, F(1), 1, V(i))));
  ts_ndarray *aa = arr(TS_F32, 1, 128);
  ts_value args[1] = {T(aa)};
  CHECK_ERR(ts_interp_primfunc(M, f, args, 1), TS_ERR_RUNTIME,
            "t.py:7:5: buffer 'A' index 128 out of bounds for dimension 0 of "
            "extent 128");
  /* a load out of bounds */
  ts_buffer *b = buf("B", TS_F32, 1, 4);
  ts_var *j = ivar("j");
  ts_buffer *p2[1] = {b};
  ts_primfunc *g =
      func("oob_load", p2, 1, NULL, 0,
           loop(j, I(4), store(b, ld(b, 1, SUB(V(j), I(1))), 1, V(j))));
  ts_ndarray *ba = arr(TS_F32, 1, 4);
  ts_value a2[1] = {T(ba)};
  CHECK_ERR(ts_interp_primfunc(M, g, a2, 1), TS_ERR_RUNTIME,
            "buffer 'B' index -1 out of bounds for dimension 0 of extent 4");
  ts_ndarray_release(aa);
  ts_ndarray_release(ba);
  teardown();
}

/* ---- graph functions ---------------------------------------------------- */

static ts_gvar *gvar(const char *name, ts_sinfo *s) {
  ts_gvar *v = ts_arena_alloc(A, sizeof(*v));
  v->name = name;
  v->sinfo = s;
  v->loc = at(20);
  return v;
}
static ts_sinfo *tensor2(ts_expr *d0, ts_expr *d1) {
  ts_expr *sh[2] = {d0, d1};
  return ts_sinfo_tensor(A, sh, 2, TS_F32);
}
static ts_sinfo *tensor1(ts_expr *d0) {
  ts_expr *sh[1] = {d0};
  return ts_sinfo_tensor(A, sh, 1, TS_F32);
}
static ts_gexpr *gref(ts_gvar *v) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_VAR, L0);
  e->u.var = v;
  e->sinfo = v->sinfo;
  return e;
}
static ts_gexpr *gtuple(int n, ts_gexpr **f) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_TUPLE, L0);
  e->u.tuple.n = n;
  e->u.tuple.fields = ts_arena_memdup(A, f, (size_t)n * sizeof(*f));
  return e;
}
static ts_gexpr *gcall_op(int op, int n, ts_gexpr **args, ts_sinfo *out) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_CALL, at(21));
  e->u.call.callee_kind = TS_CALLEE_OP;
  e->u.call.op = op;
  e->u.call.n_args = n;
  e->u.call.args = ts_arena_memdup(A, args, (size_t)n * sizeof(*args));
  if (out) {
    e->u.call.n_sinfo_args = 1;
    e->u.call.sinfo_args = ts_arena_alloc(A, sizeof(ts_sinfo *));
    e->u.call.sinfo_args[0] = out;
  }
  return e;
}

/* linear0(X: (n, K), W: (N, K), B: (N,), Z: (n, N)):
 *   Z[i, j] = sum_k X[i, k] * W[j, k] + B[j]  (Y in a scratch buffer) */
static ts_primfunc *build_linear0(int K, int N) {
  ts_var *n = ts_var_new(A, "n", TS_I64, L0);
  ts_expr *sx[2] = {V(n), I64(K)}, *sw[2] = {I64(N), I64(K)}, *sb[1] = {I64(N)};
  ts_expr *sz[2] = {V(n), I64(N)};
  ts_buffer *x = ts_buffer_new(A, "X", TS_F32, 2, sx);
  ts_buffer *w = ts_buffer_new(A, "W", TS_F32, 2, sw);
  ts_buffer *b = ts_buffer_new(A, "B", TS_F32, 1, sb);
  ts_buffer *z = ts_buffer_new(A, "Z", TS_F32, 2, sz);
  ts_var *i = ts_var_new(A, "i", TS_I64, L0),
         *j = ts_var_new(A, "j", TS_I64, L0);
  ts_var *k = ts_var_new(A, "k", TS_I64, L0);
  ts_stmt *init = store(z, ld(b, 1, V(j)), 2, V(i), V(j));
  ts_stmt *acc = store(z,
                       ADD(ld(z, 2, V(i), V(j)),
                           MUL(ld(x, 2, V(i), V(k)), ld(w, 2, V(j), V(k)))),
                       2, V(i), V(j));
  ts_stmt *s = loop(i, V(n), loop(j, I64(N), seq2(init, loop(k, I64(K), acc))));
  ts_buffer *params[4] = {x, w, b, z};
  return func("linear0", params, 4, NULL, 0, s);
}

/* The seed MLP:
 *   main(x: (n, K), w0: (H, K), b0: (H,), w1: (O, H), b1: (O,)):
 *     lv0 = R.call_tir(cls.linear0, (x, w0, b0), out_sinfo=(n, H))
 *     lv1 = R.nn.relu(lv0)
 *     out = R.call_dps_packed("env.linear", (lv1, w1, b1), out_sinfo=(n, O))
 *     return out */
static ts_gfunc *build_mlp(int K, int H, int O, ts_var **out_n) {
  build_linear0(K, H);
  ts_var *n = ts_var_new(A, "n", TS_I64, L0);
  *out_n = n;
  ts_gvar *x = gvar("x", tensor2(V(n), I64(K)));
  ts_gvar *w0 = gvar("w0", tensor2(I64(H), I64(K)));
  ts_gvar *b0 = gvar("b0", tensor1(I64(H)));
  ts_gvar *w1 = gvar("w1", tensor2(I64(O), I64(H)));
  ts_gvar *b1 = gvar("b1", tensor1(I64(O)));
  ts_gexpr *g = ts_gexpr_new(A, TS_G_GLOBAL, L0);
  g->u.global_name = "linear0";
  ts_gexpr *in0[3] = {gref(x), gref(w0), gref(b0)};
  ts_gexpr *a0[2] = {g, gtuple(3, in0)};
  ts_gvar *lv0 = gvar("lv0", tensor2(V(n), I64(H)));
  ts_gexpr *c0 = gcall_op(TS_OP_CALL_TIR, 2, a0, lv0->sinfo);
  ts_gvar *lv1 = gvar("lv1", tensor2(V(n), I64(H)));
  ts_gexpr *r1[1] = {gref(lv0)};
  ts_gexpr *c1 = gcall_op(TS_OP_RELU, 1, r1, NULL);
  ts_gexpr *ext = ts_gexpr_new(A, TS_G_EXTERN, L0);
  ext->u.extern_name = "env.linear";
  ts_gexpr *in2[3] = {gref(lv1), gref(w1), gref(b1)};
  ts_gexpr *a2[2] = {ext, gtuple(3, in2)};
  ts_gvar *out = gvar("out", tensor2(V(n), I64(O)));
  ts_gexpr *c2 = gcall_op(TS_OP_CALL_DPS_PACKED, 2, a2, out->sinfo);
  ts_gfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "main";
  f->loc = L0;
  f->n_params = 5;
  f->params = ts_arena_array(A, 5, sizeof(ts_gvar *));
  f->params[0] = x;
  f->params[1] = w0;
  f->params[2] = b0;
  f->params[3] = w1;
  f->params[4] = b1;
  f->n_blocks = 1;
  f->blocks = ts_arena_alloc(A, sizeof(ts_binding_block));
  f->blocks[0].is_dataflow = true;
  f->blocks[0].n = 3;
  f->blocks[0].bindings = ts_arena_array(A, 3, sizeof(ts_binding));
  f->blocks[0].bindings[0] = (ts_binding){TS_BIND_VAR, lv0, c0, NULL, at(21)};
  f->blocks[0].bindings[1] = (ts_binding){TS_BIND_VAR, lv1, c1, NULL, at(22)};
  f->blocks[0].bindings[2] = (ts_binding){TS_BIND_VAR, out, c2, NULL, at(23)};
  f->result = gref(out);
  ts_func fn = {.kind = TS_FUNC_GRAPH, .name = "main", .u.graph = f};
  TS_ASSERT(!ts_module_add(M, fn, L0));
  return f;
}

TEST(graph_mlp) {
  setup();
  enum { K = 12, H = 8, O = 5 };
  ts_var *n;
  ts_gfunc *f = build_mlp(K, H, O, &n);
  for (int bs = 1; bs <= 3; bs += 2) {
    ts_ndarray *x = rnd(arr(TS_F32, 2, bs, K)), *w0 = rnd(arr(TS_F32, 2, H, K));
    ts_ndarray *b0 = rnd(arr(TS_F32, 1, H)), *w1 = rnd(arr(TS_F32, 2, O, H));
    ts_ndarray *b1 = rnd(arr(TS_F32, 1, O));
    ts_value in[5] = {T(x), T(w0), T(b0), T(w1), T(b1)};
    ts_value *outs = NULL;
    int n_out = 0;
    CHECK_OK(ts_interp_gfunc(M, f, in, 5, &outs, &n_out));
    REQUIRE(n_out == 1 && outs[0].kind == TS_VAL_TENSOR);
    ts_ndarray *o = outs[0].u.tensor;
    CHECK_EQ_INT(ts_ndarray_shape(o)[0], bs);
    CHECK_EQ_INT(ts_ndarray_shape(o)[1], O);
    for (int r = 0; r < bs; r++) {
      double hid[H];
      for (int h = 0; h < H; h++) {
        float acc = fget(b0, h);
        for (int k = 0; k < K; k++)
          acc += fget(x, r * K + k) * fget(w0, h * K + k);
        hid[h] = acc > 0 ? acc : 0;
      }
      for (int j = 0; j < O; j++) {
        double acc = fget(b1, j);
        for (int h = 0; h < H; h++)
          acc += hid[h] * fget(w1, j * H + h);
        CHECK_NEAR(fget(o, r * O + j), acc, 1e-5);
      }
    }
    ts_interp_free_values(outs, n_out);
    ts_ndarray_release(x);
    ts_ndarray_release(w0);
    ts_ndarray_release(b0);
    ts_ndarray_release(w1);
    ts_ndarray_release(b1);
  }
  /* parameter errors */
  ts_ndarray *x = arr(TS_F32, 2, 2, K + 1), *w0 = arr(TS_F32, 2, H, K);
  ts_ndarray *b0 = arr(TS_F32, 1, H), *w1 = arr(TS_F32, 2, O, H);
  ts_ndarray *b1 = arr(TS_F32, 1, O), *b1d = arr(TS_F64, 1, O);
  ts_value *outs = NULL;
  int n_out = 0;
  ts_value bad[5] = {T(x), T(w0), T(b0), T(w1), T(b1)};
  CHECK_ERR(ts_interp_gfunc(M, f, bad, 5, &outs, &n_out), TS_ERR_TYPE,
            "parameter 'x': dimension 1 is 12, got 13");
  CHECK_ERR(ts_interp_gfunc(M, f, bad, 4, &outs, &n_out), TS_ERR_TYPE,
            "main expects 5 arguments, got 4");
  ts_value badd[5] = {T(w0), T(w0), T(b0), T(w1), T(b1d)};
  CHECK_ERR(ts_interp_gfunc(M, f, badd, 5, &outs, &n_out), TS_ERR_TYPE,
            "parameter 'b1': expected float32, got float64");
  ts_ndarray_release(x);
  ts_ndarray_release(w0);
  ts_ndarray_release(b0);
  ts_ndarray_release(w1);
  ts_ndarray_release(b1);
  ts_ndarray_release(b1d);
  teardown();
}

/* main(x: (2, 6)): y = R.match_cast(x, R.Tensor((2, m))); s = R.shape([m, 2]);
 * r = R.reshape(y, s); t = (r, y); return (t[0], R.sum(y, axis=1)) */
TEST(graph_match_cast_tuple_reshape) {
  setup();
  ts_gvar *x = gvar("x", tensor2(I64(2), I64(6)));
  ts_var *m = ts_var_new(A, "m", TS_I64, L0);
  ts_sinfo *ms = tensor2(I64(2), V(m));
  ts_gvar *y = gvar("y", ms);
  ts_gexpr *shp = ts_gexpr_new(A, TS_G_SHAPE, L0);
  shp->u.shape.n = 2;
  shp->u.shape.values = ts_arena_array(A, 2, sizeof(ts_expr *));
  shp->u.shape.values[0] = V(m);
  shp->u.shape.values[1] = I64(2);
  ts_gexpr *ra[2] = {gref(y), shp};
  ts_gvar *r = gvar("r", NULL);
  ts_gexpr *rc = gcall_op(TS_OP_RESHAPE, 2, ra, NULL);
  ts_gexpr *tf[2] = {gref(r), gref(y)};
  ts_gvar *t = gvar("t", NULL);
  ts_gexpr *get = ts_gexpr_new(A, TS_G_TUPLE_GET, L0);
  get->u.tuple_get.tuple = gref(t);
  get->u.tuple_get.index = 0;
  ts_gexpr *sa[1] = {gref(y)};
  ts_gexpr *sc = gcall_op(TS_OP_SUM, 1, sa, NULL);
  sc->u.call.attrs = ts_attrs_new(A);
  ts_attrs_set(A, sc->u.call.attrs, "axis", ts_attr_int(A, 1));
  ts_gexpr *res[2] = {get, sc};
  ts_gfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "main";
  f->n_params = 1;
  f->params = ts_arena_alloc(A, sizeof(ts_gvar *));
  f->params[0] = x;
  f->n_blocks = 1;
  f->blocks = ts_arena_alloc(A, sizeof(ts_binding_block));
  f->blocks[0].n = 3;
  f->blocks[0].bindings = ts_arena_array(A, 3, sizeof(ts_binding));
  f->blocks[0].bindings[0] =
      (ts_binding){TS_BIND_MATCH_CAST, y, gref(x), ms, at(30)};
  f->blocks[0].bindings[1] = (ts_binding){TS_BIND_VAR, r, rc, NULL, at(31)};
  f->blocks[0].bindings[2] =
      (ts_binding){TS_BIND_VAR, t, gtuple(2, tf), NULL, at(32)};
  f->result = gtuple(2, res);
  ts_ndarray *xa = rnd(arr(TS_F32, 2, 2, 6));
  ts_value in[1] = {T(xa)};
  ts_value *outs = NULL;
  int n_out = 0;
  CHECK_OK(ts_interp_gfunc(M, f, in, 1, &outs, &n_out));
  REQUIRE(n_out == 2);
  ts_ndarray *o0 = outs[0].u.tensor, *o1 = outs[1].u.tensor;
  CHECK_EQ_INT(ts_ndarray_ndim(o0), 2);
  CHECK_EQ_INT(ts_ndarray_shape(o0)[0], 6);
  CHECK_EQ_INT(ts_ndarray_shape(o0)[1], 2);
  for (int i = 0; i < 12; i++)
    CHECK(fget(o0, i) == fget(xa, i));
  CHECK_EQ_INT(ts_ndarray_shape(o1)[0], 2);
  for (int i = 0; i < 2; i++) {
    double s = 0;
    for (int j = 0; j < 6; j++)
      s += fget(xa, i * 6 + j);
    CHECK_NEAR(fget(o1, i), s, 1e-6);
  }
  ts_interp_free_values(outs, n_out);
  ts_ndarray_release(xa);

  /* match_cast against a dimension already bound: m is 6 from x, then a
   * second match_cast of (2, m) against a (2, 5)?  Use a fresh function:
   * main2(x: (2, 784)) with y = match_cast(x, (2, 783)). */
  ts_gvar *x2 = gvar("x", tensor2(I64(2), I64(784)));
  ts_gvar *y2 = gvar("y", tensor2(I64(2), I64(783)));
  ts_gfunc *g = ts_arena_alloc(A, sizeof(*g));
  g->name = "main2";
  g->n_params = 1;
  g->params = ts_arena_alloc(A, sizeof(ts_gvar *));
  g->params[0] = x2;
  g->n_blocks = 1;
  g->blocks = ts_arena_alloc(A, sizeof(ts_binding_block));
  g->blocks[0].n = 1;
  g->blocks[0].bindings = ts_arena_alloc(A, sizeof(ts_binding));
  g->blocks[0].bindings[0] =
      (ts_binding){TS_BIND_MATCH_CAST, y2, gref(x2), y2->sinfo, at(40)};
  g->result = gref(y2);
  ts_ndarray *x2a = arr(TS_F32, 2, 2, 784);
  ts_value in2[1] = {T(x2a)};
  CHECK_ERR(ts_interp_gfunc(M, g, in2, 1, &outs, &n_out), TS_ERR_TYPE,
            "t.py:40:5: match_cast: dimension 1 is 783, got 784");
  ts_ndarray_release(x2a);
  teardown();
}

/* if / let / assert / allocate statements:
 *   for i in range(4):
 *     T.allocate tmp (1,) ; x: int32 = i * 3
 *     if x % 2 == 0: tmp[0] = x else: tmp[0] = -x
 *     assert tmp[0] > -100, "too small"
 *     O[i] = tmp[0] */
TEST(tir_statements) {
  setup();
  ts_buffer *o = buf("O", TS_I32, 1, 4), *tmp = buf("tmp", TS_I32, 1, 1);
  tmp->data = ts_var_new(A, "tmp_data", TS_HANDLET, L0);
  ts_var *i = ivar("i"), *x = ivar("x");
  ts_stmt *iff = ts_stmt_new(A, TS_S_IF, L0);
  iff->u.if_.cond = bin(TS_E_EQ, bin(TS_E_FLOORMOD, V(x), I(2)), I(0));
  iff->u.if_.then_s = store(tmp, V(x), 1, I(0));
  iff->u.if_.else_s = store(tmp, SUB(I(0), V(x)), 1, I(0));
  ts_stmt *as = ts_stmt_new(A, TS_S_ASSERT, at(9));
  ts_var *lim = ivar("lim");
  as->u.assert_.cond = bin(TS_E_GT, ld(tmp, 1, I(0)), V(lim));
  as->u.assert_.message = "too small";
  as->u.assert_.body = store(o, ld(tmp, 1, I(0)), 1, V(i));
  ts_stmt *let = ts_stmt_new(A, TS_S_LET, L0);
  let->u.let.var = x;
  let->u.let.value = MUL(V(i), I(3));
  let->u.let.body = seq2(iff, as);
  ts_stmt *al = ts_stmt_new(A, TS_S_ALLOCATE, L0);
  al->u.alloc.buffer = tmp;
  al->u.alloc.body = let;
  ts_buffer *params[2] = {o, NULL};
  ts_primfunc *f = func("stmts", params, 2, NULL, 0, loop(i, I(4), al));
  f->params[1].var = lim; /* a scalar parameter */
  ts_ndarray *oa = arr(TS_I32, 1, 4);
  ts_value args[2] = {T(oa), {.kind = TS_VAL_INT, .u.i = -100}};
  CHECK_OK(ts_interp_primfunc(M, f, args, 2));
  int want[4] = {0, -3, 6, -9};
  for (int k = 0; k < 4; k++)
    CHECK_EQ_INT(ts_ndarray_get_i64(oa, k), want[k]);
  /* with lim = -8 the assert fails at i = 3 (tmp = -9) */
  args[1].u.i = -8;
  CHECK_ERR(ts_interp_primfunc(M, f, args, 2), TS_ERR_RUNTIME,
            "t.py:9:5: assertion failed: too small");
  args[1] = T(oa);
  CHECK_ERR(ts_interp_primfunc(M, f, args, 2), TS_ERR_TYPE,
            "parameter 'lim': expected a scalar of type int32, got a tensor");
  ts_ndarray_release(oa);
  teardown();
}

/* ---- from TVMScript text ------------------------------------------------- */

static const char *MLP_SRC =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def linear0(x: T.handle, w: T.handle, b: T.handle, z: T.handle):\n"
    "        n = T.int64()\n"
    "        X = T.match_buffer(x, (n, 784))\n"
    "        W = T.match_buffer(w, (128, 784))\n"
    "        B = T.match_buffer(b, (128,))\n"
    "        Z = T.match_buffer(z, (n, 128))\n"
    "        Y = T.alloc_buffer((n, 128))\n"
    "        for i, j, k in T.grid(n, 128, 784):\n"
    "            with T.block(\"Y\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    Y[vi, vj] = T.float32(0)\n"
    "                Y[vi, vj] = Y[vi, vj] + X[vi, vk] * W[vj, vk]\n"
    "        for i, j in T.grid(n, 128):\n"
    "            with T.block(\"Z\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                Z[vi, vj] = Y[vi, vj] + B[vj]\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\", 784), \"float32\"), w0: R.Tensor((128, "
    "784), \"float32\"), b0: R.Tensor((128,), \"float32\"), w1: "
    "R.Tensor((10, 128), \"float32\"), b1: R.Tensor((10,), \"float32\")):\n"
    "        n = T.int64()\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(cls.linear0, (x, w0, b0), "
    "out_sinfo=R.Tensor((n, 128), dtype=\"float32\"))\n"
    "            lv1 = R.nn.relu(lv0)\n"
    "            out = R.call_dps_packed(\"env.linear\", (lv1, w1, b1), "
    "out_sinfo=R.Tensor((n, 10), dtype=\"float32\"))\n"
    "            R.output(out)\n"
    "        return out\n";

TEST(text_seed_mlp) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(MLP_SRC, strlen(MLP_SRC), "mlp.py", &m));
  REQUIRE(m != NULL);
  ts_gfunc *f = ts_module_gfunc(m, "main");
  REQUIRE(f != NULL);
  int bs = 2;
  ts_ndarray *x = rnd(arr(TS_F32, 2, bs, 784)),
             *w0 = rnd(arr(TS_F32, 2, 128, 784));
  ts_ndarray *b0 = rnd(arr(TS_F32, 1, 128)), *w1 = rnd(arr(TS_F32, 2, 10, 128));
  ts_ndarray *b1 = rnd(arr(TS_F32, 1, 10));
  ts_value in[5] = {T(x), T(w0), T(b0), T(w1), T(b1)};
  ts_value *outs = NULL;
  int n_out = 0;
  CHECK_OK(ts_interp_gfunc(m, f, in, 5, &outs, &n_out));
  REQUIRE(n_out == 1);
  ts_ndarray *o = outs[0].u.tensor;
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], bs);
  CHECK_EQ_INT(ts_ndarray_shape(o)[1], 10);
  static float hid[128];
  for (int r = 0; r < bs; r++) {
    for (int h = 0; h < 128; h++) {
      float acc = 0;
      for (int k = 0; k < 784; k++)
        acc += fget(x, r * 784 + k) * fget(w0, h * 784 + k);
      acc += fget(b0, h);
      hid[h] = acc > 0 ? acc : 0;
    }
    for (int j = 0; j < 10; j++) {
      double acc = fget(b1, j);
      for (int h = 0; h < 128; h++)
        acc += hid[h] * fget(w1, j * 128 + h);
      CHECK_NEAR(fget(o, r * 10 + j), acc, 1e-4);
    }
  }
  ts_interp_free_values(outs, n_out);
  /* a wrong batch width: x is (2, 783) */
  ts_ndarray *xb = arr(TS_F32, 2, bs, 783);
  in[0] = T(xb);
  CHECK_ERR(ts_interp_gfunc(m, f, in, 5, &outs, &n_out), TS_ERR_TYPE,
            "parameter 'x': dimension 1 is 784, got 783");
  ts_ndarray_release(xb);
  ts_ndarray_release(x);
  ts_ndarray_release(w0);
  ts_ndarray_release(b0);
  ts_ndarray_release(w1);
  ts_ndarray_release(b1);
  ts_module_destroy(m);
}

static const char *CALLS_SRC =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def oob(A: T.Buffer((4,), \"float32\")):\n"
    "        for i in range(5):\n"
    "            with T.block(\"s\"):\n"
    "                vi = T.axis.spatial(5, i)\n"
    "                A[vi] = T.float32(1)\n"
    "\n"
    "    @R.function\n"
    "    def helper(a: R.Tensor((2, 3), \"float32\")) -> R.Tensor((2, 3), "
    "\"float32\"):\n"
    "        b = R.multiply(a, a)\n"
    "        return b\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((2, 3), \"float32\")):\n"
    "        cls = Module\n"
    "        y = cls.helper(x)\n"
    "        c = R.const(1.5, \"float32\")\n"
    "        z = R.add(y, c)\n"
    "        s = R.sum(z, axis=[0, 1])\n"
    "        return (z, s)\n";

TEST(text_graph_calls_and_errors) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(CALLS_SRC, strlen(CALLS_SRC), "calls.py", &m));
  REQUIRE(m != NULL);
  ts_ndarray *x = rnd(arr(TS_F32, 2, 2, 3));
  ts_value in[1] = {T(x)};
  ts_value *outs = NULL;
  int n_out = 0;
  CHECK_OK(
      ts_interp_gfunc(m, ts_module_gfunc(m, "main"), in, 1, &outs, &n_out));
  REQUIRE(n_out == 2);
  double sum = 0;
  for (int i = 0; i < 6; i++) {
    float z = fget(x, i) * fget(x, i) + 1.5f;
    CHECK(fget(outs[0].u.tensor, i) == z);
    sum += z;
  }
  CHECK_EQ_INT(ts_ndarray_ndim(outs[1].u.tensor), 0);
  CHECK_NEAR(fget(outs[1].u.tensor, 0), sum, 1e-5);
  ts_interp_free_values(outs, n_out);
  ts_ndarray_release(x);

  ts_ndarray *a = arr(TS_F32, 1, 4);
  ts_value args[1] = {T(a)};
  ts_status *st = ts_interp_primfunc(m, ts_module_primfunc(m, "oob"), args, 1);
  REQUIRE(st != NULL);
  CHECK_EQ_STR(ts_status_message(st),
               "calls.py:8:17: buffer 'A' index 4 out of bounds for dimension "
               "0 of extent 4");
  CHECK_CONTAINS(ts_status_render(st), "A[vi] = T.float32(1)");
  ts_status_free(st);
  ts_ndarray_release(a);
  ts_module_destroy(m);
}

int main(void) {
  RUN(tir_matmul);
  RUN(tir_matmul_relu);
  RUN(tir_conv2d);
  RUN(tir_softmax);
  RUN(tir_layer_norm);
  RUN(tir_reduce_sum_axis);
  RUN(tir_broadcast_add);
  RUN(tir_transpose);
  RUN(tir_max_pool);
  RUN(tir_symbolic_shapes);
  RUN(tir_integer_semantics);
  RUN(tir_float32_rounding);
  RUN(tir_predicate_and_match_buffer);
  RUN(tir_binding_errors);
  RUN(tir_out_of_bounds);
  RUN(tir_statements);
  RUN(graph_mlp);
  RUN(graph_match_cast_tuple_reshape);
  RUN(text_seed_mlp);
  RUN(text_graph_calls_and_errors);
  return CHECK_DONE();
}
