/* elementwise.c: unary elementwise ops (shape and dtype kept) and binary ops
 * with NumPy broadcasting (dtypes must be equal).  Each op is one scalar
 * function on doubles; the infer/eval functions are generated per op. */
#include <math.h>

#include "ops/ops_internal.h"

/* ---- inference ------------------------------------------------------------
 */

static ts_status *infer_unary(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  *out =
      ts_ops_tensor(a, x->u.tensor.shape, x->u.tensor.ndim, x->u.tensor.dtype);
  return NULL;
}

static ts_status *infer_binary(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x, *y;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x1", &x));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "x2", &y));
  ts_dtype dx = x->u.tensor.dtype, dy = y->u.tensor.dtype, dt = dx;
  if (dx.code == TS_VOID)
    dt = dy;
  else if (dy.code != TS_VOID && !ts_dtype_eq(dx, dy)) {
    char b1[32], b2[32];
    return ts_ops_error(call, TS_ERR_TYPE, "operand dtypes differ: %s and %s",
                        ts_dtype_str(dx, b1), ts_dtype_str(dy, b2));
  }
  if (!x->u.tensor.shape || !y->u.tensor.shape) {
    int nd = -1;
    if (x->u.tensor.ndim >= 0 && y->u.tensor.ndim >= 0)
      nd = x->u.tensor.ndim > y->u.tensor.ndim ? x->u.tensor.ndim
                                               : y->u.tensor.ndim;
    *out = ts_ops_tensor(a, NULL, nd, dt);
    return NULL;
  }
  ts_expr **sh;
  int nd;
  if (!ts_ops_broadcast(a, x->u.tensor.shape, x->u.tensor.ndim,
                        y->u.tensor.shape, y->u.tensor.ndim, &sh, &nd)) {
    ts_strbuf b1 = {0}, b2 = {0};
    ts_ops_print_shape(&b1, x->u.tensor.shape, x->u.tensor.ndim);
    ts_ops_print_shape(&b2, y->u.tensor.shape, y->u.tensor.ndim);
    ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                                 "operands have incompatible shapes %s and %s",
                                 b1.data, b2.data);
    ts_strbuf_free(&b1);
    ts_strbuf_free(&b2);
    return st;
  }
  *out = ts_ops_tensor(a, sh, nd, dt);
  return NULL;
}

/* ---- evaluation -----------------------------------------------------------
 */

typedef double (*unary_fn)(double);
typedef double (*binary_fn)(double, double);

static ts_status *eval_unary(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out, unary_fn f) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  ts_dtype dt = ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(
      ts_ops_new_array(call, ts_ndarray_ndim(x), ts_ndarray_shape(x), dt, out));
  int64_t n = ts_ndarray_numel(x);
  for (int64_t i = 0; i < n; i++)
    ts_ndarray_set_f64(*out, i, f(ts_ndarray_get_f64(x, i)));
  return NULL;
}

static ts_status *eval_binary(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out, binary_fn f,
                              bool int_divide) {
  TS_ASSERT(n_args >= 2);
  ts_ndarray *x = args[0], *y = args[1];
  int64_t shape[TS_MAX_NDIM], idx[TS_MAX_NDIM];
  int nd;
  if (ts_ndarray_ndim(x) > TS_MAX_NDIM || ts_ndarray_ndim(y) > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  TS_RETURN_IF_ERROR(ts_ops_broadcast_arrays(call, x, y, &nd, shape));
  ts_dtype dt = ts_ndarray_dtype(x);
  bool is_int = !ts_dtype_is_float(dt);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  int64_t n = ts_ndarray_numel(*out);
  int nx = ts_ndarray_ndim(x), ny = ts_ndarray_ndim(y);
  const int64_t *sx = ts_ndarray_shape(x), *sy = ts_ndarray_shape(y);
  for (int k = 0; k < nd; k++)
    idx[k] = 0;
  for (int64_t i = 0; i < n; i++) {
    double a = ts_ndarray_get_f64(x, ts_ops_bcast_offset(idx, nd, nx, sx));
    double b = ts_ndarray_get_f64(y, ts_ops_bcast_offset(idx, nd, ny, sy));
    double r;
    if (int_divide && is_int) {
      if (b == 0) {
        ts_ndarray_release(*out);
        *out = NULL;
        return ts_ops_error(call, TS_ERR_RUNTIME, "integer division by zero");
      }
      r = trunc(a / b);
    } else {
      r = f(a, b);
    }
    ts_ndarray_set_f64(*out, i, r);
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
  return NULL;
}

/* ---- scalar functions -----------------------------------------------------
 */

static double f_relu(double x) { return x > 0 ? x : 0; }
static double f_sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }
static double f_rsqrt(double x) { return 1.0 / sqrt(x); }
static double f_negative(double x) { return -x; }
static double f_gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double f_silu(double x) { return x / (1.0 + exp(-x)); }

static double f_add(double a, double b) { return a + b; }
static double f_sub(double a, double b) { return a - b; }
static double f_mul(double a, double b) { return a * b; }
static double f_div(double a, double b) { return a / b; }
/* NaN propagates, as in NumPy's maximum/minimum. */
static double f_max(double a, double b) {
  return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
}
static double f_min(double a, double b) {
  return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
}

#define UNARY(ID, FN)                                                          \
  ts_status *ts_op_infer_##ID(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out) {                                \
    return infer_unary(a, call, out);                                          \
  }                                                                            \
  ts_status *ts_op_eval_##ID(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out) {                   \
    return eval_unary(call, args, n_args, out, FN);                            \
  }

#define BINARY(ID, FN, INTDIV)                                                 \
  ts_status *ts_op_infer_##ID(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out) {                                \
    return infer_binary(a, call, out);                                         \
  }                                                                            \
  ts_status *ts_op_eval_##ID(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out) {                   \
    return eval_binary(call, args, n_args, out, FN, INTDIV);                   \
  }

UNARY(RELU, f_relu)
UNARY(SIGMOID, f_sigmoid)
UNARY(TANH, tanh)
UNARY(EXP, exp)
UNARY(LOG, log)
UNARY(SQRT, sqrt)
UNARY(RSQRT, f_rsqrt)
UNARY(NEGATIVE, f_negative)
UNARY(ABS, fabs)
UNARY(ERF, erf)
UNARY(GELU, f_gelu)
UNARY(SILU, f_silu)

BINARY(ADD, f_add, false)
BINARY(SUBTRACT, f_sub, false)
BINARY(MULTIPLY, f_mul, false)
BINARY(DIVIDE, f_div, true)
BINARY(MAXIMUM, f_max, false)
BINARY(MINIMUM, f_min, false)
BINARY(POWER, pow, false)
