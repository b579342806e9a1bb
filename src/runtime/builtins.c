/* builtins.c: the built-in library functions, registered in the global
 * registry by ts_runtime_register_builtins.  All use destination-passing
 * style: inputs first, then outputs that the caller has allocated with the
 * right shape and dtype; each function checks its arguments and names the
 * bad one ("env.linear: argument 1 (w) has shape ...").
 *
 *   env.linear (x, w, out) / (x, w, b, out)
 *       out = x . w^T (+ b); x (..., K), w (N, K), b (N,), out (..., N);
 *       float32 / float64 through OpenBLAS gemm.
 *   env.matmul (a, b, out)
 *       out = a . b; a (M, K) or (B, M, K), b (K, N) or (B, K, N) (a 2-D
 *       operand is shared by every batch), out (M, N) or (B, M, N);
 *       float32 / float64.
 *   env.relu (x, out)   out = max(x, 0) elementwise (NaN stays NaN); float
 *       and integer dtypes.
 *   env.add (a, b, out) out = a + b elementwise, same shapes and dtypes
 *       (integers wrap). */
#include <cblas.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tessera/runtime.h"

/* ---- argument checking ------------------------------------------- */

static const char *shape_str(const int64_t *shape, int ndim, char *buf,
                             size_t n) {
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "(");
  for (int i = 0; i < ndim && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "",
                          (long long)shape[i]);
  if (k < n)
    snprintf(buf + k, n - k, ndim == 1 ? ",)" : ")");
  return buf;
}

static const char *shape_of(const ts_ndarray *a, char *buf, size_t n) {
  return shape_str(ts_ndarray_shape(a), ts_ndarray_ndim(a), buf, n);
}

static ts_status *check_count(const char *fn, int n_args, int lo, int hi,
                              const char *sig) {
  if (n_args < lo || n_args > hi)
    return ts_error(TS_ERR_VALUE, "%s: expected %s, got %d", fn, sig, n_args);
  return NULL;
}

static ts_status *tensor_arg(const char *fn, const ts_value *args, int i,
                             const char *name, ts_ndarray **out) {
  if (args[i].kind != TS_VAL_TENSOR || !args[i].u.tensor)
    return ts_error(TS_ERR_TYPE, "%s: argument %d (%s) is not a tensor", fn, i,
                    name);
  *out = args[i].u.tensor;
  return NULL;
}

static ts_status *check_dtype_like(const char *fn, int i, const char *name,
                                   const ts_ndarray *a, const char *ref_name,
                                   const ts_ndarray *ref) {
  char b1[32], b2[32];
  if (ts_dtype_eq(ts_ndarray_dtype(a), ts_ndarray_dtype(ref)))
    return NULL;
  return ts_error(TS_ERR_TYPE,
                  "%s: argument %d (%s) has dtype %s, expected %s (the dtype "
                  "of %s)",
                  fn, i, name, ts_dtype_str(ts_ndarray_dtype(a), b1),
                  ts_dtype_str(ts_ndarray_dtype(ref), b2), ref_name);
}

static ts_status *check_shape_like(const char *fn, int i, const char *name,
                                   const ts_ndarray *a, int ndim,
                                   const int64_t *shape) {
  char b1[256], b2[256];
  bool ok = ts_ndarray_ndim(a) == ndim;
  for (int d = 0; ok && d < ndim; d++)
    ok = ts_ndarray_shape(a)[d] == shape[d];
  if (ok)
    return NULL;
  return ts_error(TS_ERR_TYPE, "%s: argument %d (%s) has shape %s, expected %s",
                  fn, i, name, shape_of(a, b1, sizeof(b1)),
                  shape_str(shape, ndim, b2, sizeof(b2)));
}

static ts_status *check_gemm_dtype(const char *fn, int i, const char *name,
                                   const ts_ndarray *a) {
  ts_dtype t = ts_ndarray_dtype(a);
  char b[32];
  if (ts_dtype_eq(t, TS_F32) || ts_dtype_eq(t, TS_F64))
    return NULL;
  return ts_error(TS_ERR_UNSUPPORTED,
                  "%s: argument %d (%s) has dtype %s; only float32 and float64 "
                  "are supported",
                  fn, i, name, ts_dtype_str(t, b));
}

static ts_status *check_blas_dim(const char *fn, int64_t v) {
  if (v > INT_MAX)
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: dimension %lld is too large for BLAS", fn,
                    (long long)v);
  return NULL;
}

/* ---- gemm -------------------------------------------------------- */

/* C (M, N) = A (M, K) . op(B) + beta * C, row-major; op(B) = B (K, N) or,
 * when trans_b, B^T with B (N, K).  Handles empty sizes itself (BLAS rejects
 * leading dimensions of 0). */
static void gemm(ts_dtype t, bool trans_b, int64_t M, int64_t N, int64_t K,
                 const void *A, const void *B, double beta, void *C) {
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    if (beta == 0)
      memset(C, 0, (size_t)(M * N) * ts_dtype_bytes(t));
    return;
  }
  int m = (int)M, n = (int)N, k = (int)K;
  int ldb = trans_b ? k : n;
  enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
  if (t.bits == 32)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0f, A, k, B, ldb,
                (float)beta, C, n);
  else
    cblas_dgemm(CblasRowMajor, CblasNoTrans, tb, m, n, k, 1.0, A, k, B, ldb,
                beta, C, n);
}

/* ---- env.linear -------------------------------------------------- */

static ts_status *env_linear(const ts_value *args, int n_args, void *ud) {
  static const char *fn = "env.linear";
  ts_ndarray *x = NULL, *w = NULL, *b = NULL, *out = NULL;
  char b1[256], b2[256];
  TS_RETURN_IF_ERROR(
      check_count(fn, n_args, 3, 4, "3 or 4 arguments (x, w[, b], out)"));
  bool has_bias = n_args == 4;
  int out_i = has_bias ? 3 : 2;
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 0, "x", &x));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 1, "w", &w));
  if (has_bias)
    TS_RETURN_IF_ERROR(tensor_arg(fn, args, 2, "b", &b));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, out_i, "out", &out));

  TS_RETURN_IF_ERROR(check_gemm_dtype(fn, 0, "x", x));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 1, "w", w, "x", x));
  if (b)
    TS_RETURN_IF_ERROR(check_dtype_like(fn, 2, "b", b, "x", x));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, out_i, "out", out, "x", x));

  int xr = ts_ndarray_ndim(x);
  if (xr < 1)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 0 (x) has shape (), expected at least 1 "
                    "dimension",
                    fn);
  const int64_t *xs = ts_ndarray_shape(x);
  int64_t K = xs[xr - 1];
  int64_t M = 1; /* saturates; only used once out is known non-empty */
  for (int i = 0; i < xr - 1; i++)
    if (__builtin_mul_overflow(M, xs[i], &M))
      M = INT64_MAX;
  const int64_t *ws = ts_ndarray_shape(w);
  if (ts_ndarray_ndim(w) != 2 || ws[1] != K)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 1 (w) has shape %s, expected (N, %lld) to "
                    "match x %s",
                    fn, shape_of(w, b1, sizeof(b1)), (long long)K,
                    shape_of(x, b2, sizeof(b2)));
  int64_t N = ws[0];
  if (b) {
    const int64_t *bs = ts_ndarray_shape(b);
    if (ts_ndarray_ndim(b) != 1 || bs[0] != N)
      return ts_error(TS_ERR_TYPE,
                      "%s: argument 2 (b) has shape %s, expected (%lld,) to "
                      "match w %s",
                      fn, shape_of(b, b1, sizeof(b1)), (long long)N,
                      shape_of(w, b2, sizeof(b2)));
  }
  int64_t want[TS_MAX_NDIM];
  memcpy(want, xs, sizeof(int64_t) * (size_t)xr);
  want[xr - 1] = N;
  TS_RETURN_IF_ERROR(check_shape_like(fn, out_i, "out", out, xr, want));
  if (ts_ndarray_numel(out) == 0)
    return NULL;
  TS_RETURN_IF_ERROR(check_blas_dim(fn, M));
  TS_RETURN_IF_ERROR(check_blas_dim(fn, N));
  TS_RETURN_IF_ERROR(check_blas_dim(fn, K));

  ts_dtype t = ts_ndarray_dtype(x);
  void *o = ts_ndarray_data(out);
  if (b) {
    size_t row = (size_t)N * ts_dtype_bytes(t);
    for (int64_t i = 0; i < M; i++)
      memcpy((char *)o + (size_t)i * row, ts_ndarray_data(b), row);
  }
  gemm(t, true, M, N, K, ts_ndarray_data(x), ts_ndarray_data(w), b ? 1.0 : 0.0,
       o);
  return NULL;
}

/* ---- env.matmul -------------------------------------------------- */

static ts_status *env_matmul(const ts_value *args, int n_args, void *ud) {
  static const char *fn = "env.matmul";
  ts_ndarray *a = NULL, *b = NULL, *out = NULL;
  char b1[256], b2[256];
  TS_RETURN_IF_ERROR(check_count(fn, n_args, 3, 3, "3 arguments (a, b, out)"));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 0, "a", &a));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 1, "b", &b));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 2, "out", &out));
  TS_RETURN_IF_ERROR(check_gemm_dtype(fn, 0, "a", a));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 1, "b", b, "a", a));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 2, "out", out, "a", a));

  int ar = ts_ndarray_ndim(a), br = ts_ndarray_ndim(b);
  if (ar != 2 && ar != 3)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 0 (a) has shape %s, expected 2 or 3 "
                    "dimensions",
                    fn, shape_of(a, b1, sizeof(b1)));
  if (br != 2 && br != 3)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 1 (b) has shape %s, expected 2 or 3 "
                    "dimensions",
                    fn, shape_of(b, b1, sizeof(b1)));
  const int64_t *as = ts_ndarray_shape(a), *bs = ts_ndarray_shape(b);
  int64_t M = as[ar - 2], K = as[ar - 1];
  int64_t Ba = ar == 3 ? as[0] : 1, Bb = br == 3 ? bs[0] : 1;
  if (bs[br - 2] != K)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 1 (b) has shape %s, expected (%s%lld, N) to "
                    "match a %s",
                    fn, shape_of(b, b1, sizeof(b1)), br == 3 ? "B, " : "",
                    (long long)K, shape_of(a, b2, sizeof(b2)));
  if (ar == 3 && br == 3 && Ba != Bb)
    return ts_error(TS_ERR_TYPE,
                    "%s: argument 1 (b) has shape %s, expected batch %lld to "
                    "match a %s",
                    fn, shape_of(b, b1, sizeof(b1)), (long long)Ba,
                    shape_of(a, b2, sizeof(b2)));
  int64_t N = bs[br - 1];
  int64_t B = ar == 3 ? Ba : Bb;
  int orank = ar > br ? ar : br;
  int64_t want[3];
  int k = 0;
  if (orank == 3)
    want[k++] = B;
  want[k++] = M;
  want[k++] = N;
  TS_RETURN_IF_ERROR(check_shape_like(fn, 2, "out", out, orank, want));
  if (ts_ndarray_numel(out) == 0)
    return NULL;
  TS_RETURN_IF_ERROR(check_blas_dim(fn, M));
  TS_RETURN_IF_ERROR(check_blas_dim(fn, N));
  TS_RETURN_IF_ERROR(check_blas_dim(fn, K));

  ts_dtype t = ts_ndarray_dtype(a);
  size_t es = ts_dtype_bytes(t);
  const char *ad = ts_ndarray_data(a), *bd = ts_ndarray_data(b);
  char *od = ts_ndarray_data(out);
  if (ar == 3 && br == 2) {
    /* A shared right operand: one gemm over the flattened batch. */
    TS_RETURN_IF_ERROR(check_blas_dim(fn, B * M));
    gemm(t, false, B * M, N, K, ad, bd, 0.0, od);
    return NULL;
  }
  size_t a_step = ar == 3 ? (size_t)(M * K) * es : 0;
  size_t b_step = br == 3 ? (size_t)(K * N) * es : 0;
  size_t o_step = (size_t)(M * N) * es;
  for (int64_t i = 0; i < B; i++)
    gemm(t, false, M, N, K, ad + (size_t)i * a_step, bd + (size_t)i * b_step,
         0.0, od + (size_t)i * o_step);
  return NULL;
}

/* ---- elementwise ------------------------------------------------- */

static ts_status *env_relu(const ts_value *args, int n_args, void *ud) {
  static const char *fn = "env.relu";
  ts_ndarray *x = NULL, *out = NULL;
  char b[32];
  TS_RETURN_IF_ERROR(check_count(fn, n_args, 2, 2, "2 arguments (x, out)"));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 0, "x", &x));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 1, "out", &out));
  ts_dtype t = ts_ndarray_dtype(x);
  if (ts_dtype_is_bool(t))
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: argument 0 (x) has dtype %s; expected a float or "
                    "integer dtype",
                    fn, ts_dtype_str(t, b));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 1, "out", out, "x", x));
  TS_RETURN_IF_ERROR(check_shape_like(fn, 1, "out", out, ts_ndarray_ndim(x),
                                      ts_ndarray_shape(x)));
  int64_t n = ts_ndarray_numel(x);
  if (ts_dtype_eq(t, TS_F32)) {
    const float *s = ts_ndarray_data(x);
    float *d = ts_ndarray_data(out);
    for (int64_t i = 0; i < n; i++)
      d[i] = s[i] < 0 ? 0.0f : s[i];
  } else if (ts_dtype_eq(t, TS_F64)) {
    const double *s = ts_ndarray_data(x);
    double *d = ts_ndarray_data(out);
    for (int64_t i = 0; i < n; i++)
      d[i] = s[i] < 0 ? 0.0 : s[i];
  } else if (ts_dtype_is_float(t)) {
    for (int64_t i = 0; i < n; i++) {
      double v = ts_ndarray_get_f64(x, i);
      ts_ndarray_set_f64(out, i, v < 0 ? 0.0 : v);
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      int64_t v = ts_ndarray_get_i64(x, i);
      ts_ndarray_set_i64(out, i, t.code == TS_INT && v < 0 ? 0 : v);
    }
  }
  return NULL;
}

static ts_status *env_add(const ts_value *args, int n_args, void *ud) {
  static const char *fn = "env.add";
  ts_ndarray *a = NULL, *b = NULL, *out = NULL;
  TS_RETURN_IF_ERROR(check_count(fn, n_args, 3, 3, "3 arguments (a, b, out)"));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 0, "a", &a));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 1, "b", &b));
  TS_RETURN_IF_ERROR(tensor_arg(fn, args, 2, "out", &out));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 1, "b", b, "a", a));
  TS_RETURN_IF_ERROR(check_dtype_like(fn, 2, "out", out, "a", a));
  int nd = ts_ndarray_ndim(a);
  const int64_t *sh = ts_ndarray_shape(a);
  TS_RETURN_IF_ERROR(check_shape_like(fn, 1, "b", b, nd, sh));
  TS_RETURN_IF_ERROR(check_shape_like(fn, 2, "out", out, nd, sh));
  ts_dtype t = ts_ndarray_dtype(a);
  int64_t n = ts_ndarray_numel(a);
  if (ts_dtype_eq(t, TS_F32)) {
    const float *x = ts_ndarray_data(a), *y = ts_ndarray_data(b);
    float *d = ts_ndarray_data(out);
    for (int64_t i = 0; i < n; i++)
      d[i] = x[i] + y[i];
  } else if (ts_dtype_eq(t, TS_F64)) {
    const double *x = ts_ndarray_data(a), *y = ts_ndarray_data(b);
    double *d = ts_ndarray_data(out);
    for (int64_t i = 0; i < n; i++)
      d[i] = x[i] + y[i];
  } else if (ts_dtype_is_float(t)) {
    for (int64_t i = 0; i < n; i++)
      ts_ndarray_set_f64(out, i,
                         ts_ndarray_get_f64(a, i) + ts_ndarray_get_f64(b, i));
  } else {
    for (int64_t i = 0; i < n; i++) {
      uint64_t s = (uint64_t)ts_ndarray_get_i64(a, i) +
                   (uint64_t)ts_ndarray_get_i64(b, i);
      ts_ndarray_set_i64(out, i, (int64_t)s);
    }
  }
  return NULL;
}

/* ---- registration ------------------------------------------------ */

void ts_runtime_register_dnnl_builtins(void);

static void register_all(void) {
  static const struct {
    const char *name;
    ts_packed_fn fn;
  } table[] = {
      {"env.linear", env_linear},
      {"env.matmul", env_matmul},
      {"env.relu", env_relu},
      {"env.add", env_add},
  };
  ts_runtime_register_dnnl_builtins(); /* builtins_dnnl.c */
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    /* Do not replace a function a user registered under the same name. */
    if (ts_registry_lookup(table[i].name, NULL, NULL))
      continue;
    ts_status *st =
        ts_registry_register(table[i].name, table[i].fn, NULL, false);
    if (st)
      ts_status_free(st);
  }
}

void ts_runtime_register_builtins(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, register_all);
}
