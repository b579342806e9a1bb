/* test_registry.c: the function registry and the built-in library functions
 * (env.linear, env.matmul, env.relu, env.add) against naive loops. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "tessera/runtime.h"

static ts_status *add_one(const ts_value *args, int n_args, void *ud) {
  int *counter = ud;
  *counter += n_args > 0 ? (int)args[0].u.i : 1;
  return NULL;
}

static ts_status *add_ten(const ts_value *args, int n_args, void *ud) {
  int *counter = ud;
  *counter += 10;
  return NULL;
}

TEST(registry_basics) {
  static int counter = 0;
  ts_packed_fn fn = NULL;
  void *ud = NULL;
  CHECK(!ts_registry_lookup("test.nope", &fn, &ud));
  CHECK_ERR(ts_registry_call("test.nope", NULL, 0), TS_ERR_NAME,
            "unresolved library function 'test.nope'");
  ts_status *st = ts_registry_call("test.nope", NULL, 0);
  CHECK_EQ_STR(ts_status_message(st),
               "unresolved library function 'test.nope'");
  ts_status_free(st);

  CHECK_OK(ts_registry_register("test.inc", add_one, &counter, false));
  CHECK(ts_registry_lookup("test.inc", &fn, &ud));
  CHECK(fn == add_one && ud == &counter);
  ts_value v = {.kind = TS_VAL_INT, .u.i = 5};
  CHECK_OK(ts_registry_call("test.inc", &v, 1));
  CHECK_EQ_INT(counter, 5);

  CHECK_ERR(ts_registry_register("test.inc", add_ten, &counter, false),
            TS_ERR_NAME, "library function 'test.inc' is already registered");
  CHECK_OK(ts_registry_call("test.inc", NULL, 0));
  CHECK_EQ_INT(counter, 6);
  CHECK_OK(ts_registry_register("test.inc", add_ten, &counter, true));
  CHECK_OK(ts_registry_call("test.inc", NULL, 0));
  CHECK_EQ_INT(counter, 16);

  CHECK_ERR(ts_registry_register("", add_one, NULL, false), TS_ERR_VALUE,
            "library function name is empty");
  CHECK_ERR(ts_registry_register("test.null", NULL, NULL, false), TS_ERR_VALUE,
            "library function 'test.null' has no function");
}

/* ---- builtins
 * ---------------------------------------------------------------- */

static ts_ndarray *arr(ts_dtype t, int ndim, const int64_t *shape,
                       uint64_t seed) {
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(ndim, shape, t, &a));
  TS_ASSERT(a);
  if (seed)
    ts_ndarray_fill_random(a, seed);
  return a;
}

static ts_value tv(ts_ndarray *a) {
  ts_value v = {.kind = TS_VAL_TENSOR, .u.tensor = a};
  return v;
}

static double max_diff(ts_ndarray *a, ts_ndarray *b) {
  double m = 0;
  TS_ASSERT(ts_ndarray_numel(a) == ts_ndarray_numel(b));
  for (int64_t i = 0; i < ts_ndarray_numel(a); i++) {
    double d = fabs(ts_ndarray_get_f64(a, i) - ts_ndarray_get_f64(b, i));
    m = d > m ? d : m;
  }
  return m;
}

/* out = x . w^T + b with x (M, K) flattened, naive, in double. */
static void naive_linear(ts_ndarray *x, ts_ndarray *w, ts_ndarray *b,
                         ts_ndarray *out) {
  int64_t N = ts_ndarray_shape(w)[0], K = ts_ndarray_shape(w)[1];
  int64_t M = K ? ts_ndarray_numel(x) / K : ts_ndarray_numel(out) / N;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = b ? ts_ndarray_get_f64(b, j) : 0;
      for (int64_t k = 0; k < K; k++)
        s +=
            ts_ndarray_get_f64(x, i * K + k) * ts_ndarray_get_f64(w, j * K + k);
      ts_ndarray_set_f64(out, i * N + j, s);
    }
}

static void check_linear(ts_dtype t, int xr, const int64_t *xs, int64_t N,
                         bool bias, double tol) {
  int64_t K = xs[xr - 1];
  int64_t ws[2] = {N, K}, os[4];
  memcpy(os, xs, sizeof(int64_t) * (size_t)xr);
  os[xr - 1] = N;
  ts_ndarray *x = arr(t, xr, xs, 1), *w = arr(t, 2, ws, 2);
  ts_ndarray *b = bias ? arr(t, 1, &N, 3) : NULL;
  ts_ndarray *out = arr(t, xr, os, 0), *ref = arr(t, xr, os, 0);
  ts_ndarray_fill_random(out, 99); /* must be overwritten */
  ts_value args[4];
  int n = 0;
  args[n++] = tv(x);
  args[n++] = tv(w);
  if (b)
    args[n++] = tv(b);
  args[n++] = tv(out);
  CHECK_OK(ts_registry_call("env.linear", args, n));
  naive_linear(x, w, b, ref);
  CHECK_NEAR(max_diff(out, ref), 0, tol);
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(b);
  ts_ndarray_release(out);
  ts_ndarray_release(ref);
}

TEST(env_linear) {
  ts_runtime_register_builtins();
  ts_runtime_register_builtins(); /* idempotent */
  int64_t x1[2] = {1, 128}, x2[2] = {7, 33}, x3[3] = {2, 3, 17}, x0[2] = {4, 0};
  check_linear(TS_F32, 2, x1, 10, false, 1e-4);
  check_linear(TS_F32, 2, x1, 10, true, 1e-4);
  check_linear(TS_F64, 2, x2, 5, true, 1e-12);
  check_linear(TS_F64, 2, x2, 5, false, 1e-12);
  check_linear(TS_F32, 3, x3, 9, true, 1e-4);
  check_linear(TS_F32, 2, x0, 3, true, 0);  /* K == 0: out = b */
  check_linear(TS_F32, 2, x0, 3, false, 0); /* K == 0: out = 0 */
  int64_t e[2] = {0, 8};
  check_linear(TS_F64, 2, e, 3, true, 0);
}

TEST(env_linear_errors) {
  ts_runtime_register_builtins();
  int64_t xs[2] = {1, 128}, ws[2] = {10, 127}, wok[2] = {10, 128},
          os[2] = {1, 10}, obad[2] = {1, 9}, bs[1] = {9};
  ts_ndarray *x = arr(TS_F32, 2, xs, 0), *w = arr(TS_F32, 2, ws, 0),
             *w2 = arr(TS_F32, 2, wok, 0), *o = arr(TS_F32, 2, os, 0),
             *o2 = arr(TS_F32, 2, obad, 0), *b = arr(TS_F32, 1, bs, 0),
             *xd = arr(TS_F64, 2, xs, 0), *xi = arr(TS_I32, 2, xs, 0);
  ts_value a1[3] = {tv(x), tv(w), tv(o)};
  CHECK_ERR(ts_registry_call("env.linear", a1, 3), TS_ERR_TYPE,
            "env.linear: argument 1 (w) has shape (10, 127), expected (N, "
            "128) to match x (1, 128)");
  ts_value a2[3] = {tv(x), tv(w2), tv(o2)};
  CHECK_ERR(ts_registry_call("env.linear", a2, 3), TS_ERR_TYPE,
            "env.linear: argument 2 (out) has shape (1, 9), expected (1, 10)");
  ts_value a3[4] = {tv(x), tv(w2), tv(b), tv(o)};
  CHECK_ERR(ts_registry_call("env.linear", a3, 4), TS_ERR_TYPE,
            "env.linear: argument 2 (b) has shape (9,), expected (10,) to "
            "match w (10, 128)");
  CHECK_ERR(ts_registry_call("env.linear", a3, 2), TS_ERR_VALUE,
            "env.linear: expected 3 or 4 arguments (x, w[, b], out), got 2");
  ts_value a4[3] = {tv(xd), tv(w2), tv(o)};
  CHECK_ERR(ts_registry_call("env.linear", a4, 3), TS_ERR_TYPE,
            "env.linear: argument 1 (w) has dtype float32, expected float64 "
            "(the dtype of x)");
  ts_value a5[3] = {tv(xi), tv(w2), tv(o)};
  CHECK_ERR(ts_registry_call("env.linear", a5, 3), TS_ERR_UNSUPPORTED,
            "env.linear: argument 0 (x) has dtype int32; only float32 and "
            "float64 are supported");
  ts_value a6[3] = {tv(x), {.kind = TS_VAL_INT, .u.i = 3}, tv(o)};
  CHECK_ERR(ts_registry_call("env.linear", a6, 3), TS_ERR_TYPE,
            "env.linear: argument 1 (w) is not a tensor");
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(w2);
  ts_ndarray_release(o);
  ts_ndarray_release(o2);
  ts_ndarray_release(b);
  ts_ndarray_release(xd);
  ts_ndarray_release(xi);
}

static void naive_matmul(ts_ndarray *a, ts_ndarray *b, ts_ndarray *out) {
  int ar = ts_ndarray_ndim(a), br = ts_ndarray_ndim(b),
      orank = ts_ndarray_ndim(out);
  const int64_t *as = ts_ndarray_shape(a), *bs = ts_ndarray_shape(b);
  int64_t M = as[ar - 2], K = as[ar - 1], N = bs[br - 1];
  int64_t B = orank == 3 ? ts_ndarray_shape(out)[0] : 1;
  for (int64_t p = 0; p < B; p++)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += ts_ndarray_get_f64(a, (ar == 3 ? p * M * K : 0) + i * K + k) *
               ts_ndarray_get_f64(b, (br == 3 ? p * K * N : 0) + k * N + j);
        ts_ndarray_set_f64(out, p * M * N + i * N + j, s);
      }
}

static void check_matmul(ts_dtype t, int ar, const int64_t *as, int br,
                         const int64_t *bs, double tol) {
  int orank = ar > br ? ar : br;
  int64_t os[3];
  int k = 0;
  if (orank == 3)
    os[k++] = ar == 3 ? as[0] : bs[0];
  os[k++] = as[ar - 2];
  os[k++] = bs[br - 1];
  ts_ndarray *a = arr(t, ar, as, 11), *b = arr(t, br, bs, 12),
             *o = arr(t, orank, os, 13), *ref = arr(t, orank, os, 0);
  ts_value args[3] = {tv(a), tv(b), tv(o)};
  CHECK_OK(ts_registry_call("env.matmul", args, 3));
  naive_matmul(a, b, ref);
  CHECK_NEAR(max_diff(o, ref), 0, tol);
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(o);
  ts_ndarray_release(ref);
}

TEST(env_matmul) {
  ts_runtime_register_builtins();
  int64_t a2[2] = {5, 7}, b2[2] = {7, 3}, a3[3] = {4, 5, 7}, b3[3] = {4, 7, 3};
  check_matmul(TS_F32, 2, a2, 2, b2, 1e-5);
  check_matmul(TS_F64, 2, a2, 2, b2, 1e-12);
  check_matmul(TS_F32, 3, a3, 3, b3, 1e-5);
  check_matmul(TS_F64, 3, a3, 2, b2, 1e-12);
  check_matmul(TS_F32, 2, a2, 3, b3, 1e-5);
  int64_t z[2] = {5, 0}, zb[2] = {0, 3};
  check_matmul(TS_F32, 2, z, 2, zb, 0);

  int64_t bad[2] = {6, 3}, bb[3] = {3, 7, 3}, os[2] = {5, 3};
  ts_ndarray *a = arr(TS_F32, 2, a2, 0), *b = arr(TS_F32, 2, bad, 0),
             *o = arr(TS_F32, 2, os, 0), *a3t = arr(TS_F32, 3, a3, 0),
             *b3t = arr(TS_F32, 3, bb, 0), *b2t = arr(TS_F32, 2, b2, 0);
  ts_value args[3] = {tv(a), tv(b), tv(o)};
  CHECK_ERR(ts_registry_call("env.matmul", args, 3), TS_ERR_TYPE,
            "env.matmul: argument 1 (b) has shape (6, 3), expected (7, N) to "
            "match a (5, 7)");
  ts_value args2[3] = {tv(a3t), tv(b3t), tv(o)};
  CHECK_ERR(ts_registry_call("env.matmul", args2, 3), TS_ERR_TYPE,
            "env.matmul: argument 1 (b) has shape (3, 7, 3), expected batch 4 "
            "to match a (4, 5, 7)");
  ts_value args3[3] = {tv(a3t), tv(b2t), tv(o)};
  CHECK_ERR(ts_registry_call("env.matmul", args3, 3), TS_ERR_TYPE,
            "env.matmul: argument 2 (out) has shape (5, 3), expected (4, 5, "
            "3)");
  CHECK_ERR(ts_registry_call("env.matmul", args3, 4), TS_ERR_VALUE,
            "env.matmul: expected 3 arguments (a, b, out), got 4");
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(o);
  ts_ndarray_release(a3t);
  ts_ndarray_release(b3t);
  ts_ndarray_release(b2t);
}

TEST(env_relu_and_add) {
  ts_runtime_register_builtins();
  static const ts_dtype types[] = {
      TS_F32, TS_F64, TS_F16, {TS_BFLOAT, 16, 1}, TS_I32, {TS_INT, 8, 1}};
  int64_t shape[3] = {3, 4, 5};
  for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
    ts_dtype t = types[k];
    ts_ndarray *x = arr(t, 3, shape, 5), *y = arr(t, 3, shape, 6),
               *o = arr(t, 3, shape, 0);
    if (ts_dtype_is_int(t)) /* make some negatives */
      for (int64_t i = 0; i < ts_ndarray_numel(x); i++)
        ts_ndarray_set_i64(x, i, ts_ndarray_get_i64(x, i) - 5);
    ts_value r[2] = {tv(x), tv(o)};
    CHECK_OK(ts_registry_call("env.relu", r, 2));
    int bad = 0;
    for (int64_t i = 0; i < ts_ndarray_numel(x); i++) {
      double v = ts_ndarray_get_f64(x, i);
      if (ts_ndarray_get_f64(o, i) != (v < 0 ? 0 : v))
        bad++;
    }
    CHECK_EQ_INT(bad, 0);
    ts_value a[3] = {tv(x), tv(y), tv(o)};
    CHECK_OK(ts_registry_call("env.add", a, 3));
    for (int64_t i = 0; i < ts_ndarray_numel(x); i++) {
      ts_ndarray *s = arr(t, 0, NULL, 0);
      ts_ndarray_set_f64(s, 0,
                         ts_ndarray_get_f64(x, i) + ts_ndarray_get_f64(y, i));
      if (ts_ndarray_get_f64(o, i) != ts_ndarray_get_f64(s, 0))
        bad++;
      ts_ndarray_release(s);
    }
    CHECK_EQ_INT(bad, 0);
    ts_ndarray_release(x);
    ts_ndarray_release(y);
    ts_ndarray_release(o);
  }
  int64_t other[3] = {3, 4, 6};
  ts_ndarray *x = arr(TS_F32, 3, shape, 1), *o = arr(TS_F32, 3, other, 0),
             *od = arr(TS_F64, 3, shape, 0), *bl = arr(TS_BOOLT, 3, shape, 0);
  ts_value r1[2] = {tv(x), tv(o)};
  CHECK_ERR(ts_registry_call("env.relu", r1, 2), TS_ERR_TYPE,
            "env.relu: argument 1 (out) has shape (3, 4, 6), expected (3, 4, "
            "5)");
  ts_value r2[2] = {tv(x), tv(od)};
  CHECK_ERR(ts_registry_call("env.relu", r2, 2), TS_ERR_TYPE,
            "env.relu: argument 1 (out) has dtype float64, expected float32");
  ts_value r3[2] = {tv(bl), tv(bl)};
  CHECK_ERR(ts_registry_call("env.relu", r3, 2), TS_ERR_UNSUPPORTED,
            "env.relu: argument 0 (x) has dtype bool");
  CHECK_ERR(ts_registry_call("env.relu", r3, 1), TS_ERR_VALUE,
            "env.relu: expected 2 arguments (x, out), got 1");
  ts_value a1[3] = {tv(x), tv(o), tv(x)};
  CHECK_ERR(ts_registry_call("env.add", a1, 3), TS_ERR_TYPE,
            "env.add: argument 1 (b) has shape (3, 4, 6), expected (3, 4, 5)");
  ts_ndarray_release(x);
  ts_ndarray_release(o);
  ts_ndarray_release(od);
  ts_ndarray_release(bl);
}

/* A user's override of a builtin survives later registration calls. */
TEST(builtins_keep_user_override) {
  static int counter = 0;
  CHECK_OK(ts_registry_register("env.relu", add_ten, &counter, true));
  ts_runtime_register_builtins();
  ts_packed_fn fn;
  CHECK(ts_registry_lookup("env.relu", &fn, NULL));
  CHECK(fn == add_ten);
}

int main(void) {
  RUN(registry_basics);
  RUN(env_linear);
  RUN(env_linear_errors);
  RUN(env_matmul);
  RUN(env_relu_and_add);
  RUN(builtins_keep_user_override);
  return CHECK_DONE();
}
