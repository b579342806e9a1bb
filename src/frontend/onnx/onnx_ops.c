/* onnx_ops.c: one converter per ONNX op type (default domain), listed in the
 * table at the end.  A converter reads the current node's inputs and
 * attributes (ox_in, ox_attr_*), builds R.* calls with ox_call (which infers,
 * folds constants and binds) and sets the node's outputs (ox_out).
 *
 * Per-opset differences are handled where they are: Reduce* axes (attribute,
 * then input: ReduceSum from 13, the others from 18), Split (split attribute,
 * then input from 13, num_outputs from 18), Squeeze/Unsqueeze (axes input
 * from 13), Clip (min/max attributes before 11), Slice (attributes before
 * 10), Pad (pads attribute before 11), Softmax/LogSoftmax (2-D coercion
 * before 13).
 *
 * Ops are used by name: an R op that is not (yet) in the registry makes the
 * node unsupported with a message naming it.  Where a decomposition into
 * basic ops is as good (normalizations, activations, Gemm), it is used, so
 * that fusion sees plain elementwise and reduction ops. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"

/* ---- small helpers ------------------------------------------------------- */

static ts_gexpr *in0(ox_ctx *c) { return ox_in_req(c, 0); }

static ts_gexpr *scalar_like(ox_ctx *c, ts_gexpr *x, double v) {
  return ox_const_scalar(c, ox_dtype(c, x), v);
}

static ts_gexpr *add(ox_ctx *c, ts_gexpr *x, ts_gexpr *y) {
  return ox_call2(c, "add", x, y, NULL);
}
static ts_gexpr *sub(ox_ctx *c, ts_gexpr *x, ts_gexpr *y) {
  return ox_call2(c, "subtract", x, y, NULL);
}
static ts_gexpr *mul(ox_ctx *c, ts_gexpr *x, ts_gexpr *y) {
  return ox_call2(c, "multiply", x, y, NULL);
}
static ts_gexpr *dvd(ox_ctx *c, ts_gexpr *x, ts_gexpr *y) {
  return ox_call2(c, "divide", x, y, NULL);
}
static ts_gexpr *un(ox_ctx *c, const char *op, ts_gexpr *x) {
  return ox_call1(c, op, x, NULL);
}

static int norm_axis(ox_ctx *c, int64_t axis, int ndim, const char *what) {
  if (axis < -ndim || axis >= ndim)
    ox_fail(c, TS_ERR_VALUE, "%s %lld is out of range for rank %d", what,
            (long long)axis, ndim);
  return (int)(axis < 0 ? axis + ndim : axis);
}

static ts_expr *dim_mul(ox_ctx *c, ts_expr *x, ts_expr *y) {
  if (x->kind == TS_E_INT && y->kind == TS_E_INT)
    return ts_int(c->a, TS_I64, x->u.int_value * y->u.int_value);
  if (x->kind == TS_E_INT && x->u.int_value == 1)
    return y;
  if (y->kind == TS_E_INT && y->u.int_value == 1)
    return x;
  return ts_binary(c->a, TS_E_MUL, x, y);
}

static ts_expr *i64(ox_ctx *c, int64_t v) { return ts_int(c->a, TS_I64, v); }

/* reshape to dims (constants reshape in place). */
static ts_gexpr *reshape_to(ox_ctx *c, ts_gexpr *x, ts_expr **dims, int n) {
  if (ox_is_const(x)) {
    int64_t sh[TS_MAX_NDIM];
    bool ok = n <= TS_MAX_NDIM;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; ok && i < n; i++) {
      if (dims[i]->kind != TS_E_INT) {
        ok = false;
        break;
      }
      sh[i] = dims[i]->u.int_value;
      if (sh[i] == -1)
        infer = i;
      else
        known *= sh[i];
    }
    if (ok && infer >= 0 && known > 0)
      sh[infer] = ox_const_numel(x) / known;
    if (ok)
      return ox_const_reshape(c, x, n, sh);
  }
  return ox_call2(c, "reshape", x, ox_shape_value(c, dims, n), NULL);
}

static ts_gexpr *reshape_ints(ox_ctx *c, ts_gexpr *x, const int64_t *v,
                              int n) {
  ts_expr **d = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *d);
  for (int i = 0; i < n; i++)
    d[i] = i64(c, v[i]);
  return reshape_to(c, x, d, n);
}

/* A per-channel vector (C) reshaped to broadcast along axis 1 of a rank-nd
 * tensor: (C, 1, ..., 1). */
static ts_gexpr *channel_vec(ox_ctx *c, ts_gexpr *v, int nd) {
  if (nd <= 2)
    return v;
  ts_expr **d = ts_arena_array(c->a, (size_t)nd, sizeof *d);
  int k = 0;
  d[k++] = ox_ndim(c, v) == 1 ? ox_shape(c, v)[0] : i64(c, -1);
  for (int i = 2; i < nd; i++)
    d[k++] = i64(c, 1);
  return reshape_to(c, v, d, k);
}

static ts_attrs *axes_attrs(ox_ctx *c, const int64_t *axes, int n,
                            bool keepdims) {
  ts_attrs *at = ox_attrs(c);
  if (axes)
    ox_set_ints(c, at, "axis", axes, n);
  ox_set_bool(c, at, "keepdims", keepdims);
  return at;
}

static ts_gexpr *reduce(ox_ctx *c, const char *op, ts_gexpr *x,
                        const int64_t *axes, int n, bool keepdims) {
  return ox_call1(c, op, x, axes_attrs(c, axes, n, keepdims));
}

/* ---- elementwise ----------------------------------------------------------- */

#define UNARY(fn, op)                                                          \
  static void fn(ox_ctx *c) { ox_out(c, 0, un(c, op, in0(c))); }
UNARY(cv_relu, "nn.relu")
UNARY(cv_sigmoid, "sigmoid")
UNARY(cv_tanh, "tanh")
UNARY(cv_exp, "exp")
UNARY(cv_log, "log")
UNARY(cv_sqrt, "sqrt")
UNARY(cv_neg, "negative")
UNARY(cv_abs, "abs")
UNARY(cv_erf, "erf")
UNARY(cv_floor, "floor")
UNARY(cv_ceil, "ceil")
UNARY(cv_round, "round")
UNARY(cv_sign, "sign")
UNARY(cv_sin, "sin")
UNARY(cv_cos, "cos")
UNARY(cv_tan, "tan")
UNARY(cv_asin, "asin")
UNARY(cv_acos, "acos")
UNARY(cv_atan, "atan")
UNARY(cv_sinh, "sinh")
UNARY(cv_cosh, "cosh")
UNARY(cv_asinh, "asinh")
UNARY(cv_acosh, "acosh")
UNARY(cv_atanh, "atanh")
UNARY(cv_not, "logical_not")
UNARY(cv_bitwise_not, "bitwise_not")
UNARY(cv_isnan, "isnan")

static void cv_isinf(ox_ctx *c) {
  if (ox_attr_int(c, "detect_negative", 1) != 1 ||
      ox_attr_int(c, "detect_positive", 1) != 1)
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "unsupported attribute detect_negative/detect_positive=0");
  ox_out(c, 0, un(c, "isinf", in0(c)));
}

static void cv_reciprocal(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ox_out(c, 0, dvd(c, scalar_like(c, x, 1.0), x));
}

static void cv_softsign(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ox_out(c, 0, dvd(c, x, add(c, scalar_like(c, x, 1.0), un(c, "abs", x))));
}

#define BINARY(fn, op)                                                         \
  static void fn(ox_ctx *c) {                                                  \
    ox_out(c, 0, ox_call2(c, op, ox_in_req(c, 0), ox_in_req(c, 1), NULL));     \
  }
BINARY(cv_add, "add")
BINARY(cv_sub, "subtract")
BINARY(cv_mul, "multiply")
BINARY(cv_div, "divide")
BINARY(cv_equal, "equal")
BINARY(cv_less, "less")
BINARY(cv_greater, "greater")
BINARY(cv_less_equal, "less_equal")
BINARY(cv_greater_equal, "greater_equal")
BINARY(cv_and, "logical_and")
BINARY(cv_or, "logical_or")
BINARY(cv_xor, "logical_xor")
BINARY(cv_bitwise_and, "bitwise_and")
BINARY(cv_bitwise_or, "bitwise_or")
BINARY(cv_bitwise_xor, "bitwise_xor")

static ts_gexpr *astype(ox_ctx *c, ts_gexpr *x, ts_dtype t);

static void cv_pow(ox_ctx *c) {
  ts_gexpr *x = ox_in_req(c, 0), *y = ox_in_req(c, 1);
  if (!ts_dtype_eq(ox_dtype(c, x), ox_dtype(c, y)))
    y = astype(c, y, ox_dtype(c, x));
  ox_out(c, 0, ox_call2(c, "power", x, y, NULL));
}

static void cv_mod(ox_ctx *c) {
  const char *op = ox_attr_int(c, "fmod", 0) ? "mod" : "floor_mod";
  ox_out(c, 0, ox_call2(c, op, ox_in_req(c, 0), ox_in_req(c, 1), NULL));
}

static void cv_prelu(ox_ctx *c) {
  ts_gexpr *x = in0(c), *slope = ox_in_req(c, 1);
  /* relu(x) - slope * relu(-x) */
  ts_gexpr *pos = un(c, "nn.relu", x);
  ts_gexpr *negp = un(c, "nn.relu", un(c, "negative", x));
  ox_out(c, 0, sub(c, pos, mul(c, slope, negp)));
}

static void variadic(ox_ctx *c, const char *op, bool mean) {
  int n = ox_n_inputs(c);
  ts_gexpr *acc = in0(c);
  for (int i = 1; i < n; i++)
    acc = ox_call2(c, op, acc, ox_in_req(c, i), NULL);
  if (mean && n > 1)
    acc = dvd(c, acc, scalar_like(c, acc, (double)n));
  ox_out(c, 0, acc);
}
static void cv_max(ox_ctx *c) { variadic(c, "maximum", false); }
static void cv_min(ox_ctx *c) { variadic(c, "minimum", false); }
static void cv_sum(ox_ctx *c) { variadic(c, "add", false); }
static void cv_mean(ox_ctx *c) { variadic(c, "add", true); }

/* ---- activations (decomposed) ---------------------------------------------- */

static ts_gexpr *clip(ox_ctx *c, ts_gexpr *x, ts_gexpr *lo, ts_gexpr *hi) {
  if (lo)
    x = ox_call2(c, "maximum", x, lo, NULL);
  if (hi)
    x = ox_call2(c, "minimum", x, hi, NULL);
  return x;
}

static void cv_clip(ox_ctx *c) {
  ts_gexpr *x = in0(c), *lo, *hi;
  if (c->opset < 11) {
    const Onnx__AttributeProto *a = ox_attr(c, "min"), *b = ox_attr(c, "max");
    lo = a ? scalar_like(c, x, ox_attr_float(c, "min", 0)) : NULL;
    hi = b ? scalar_like(c, x, ox_attr_float(c, "max", 0)) : NULL;
  } else {
    lo = ox_in(c, 1);
    hi = ox_in(c, 2);
  }
  ox_out(c, 0, clip(c, x, lo, hi));
}

static void cv_leaky_relu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  double alpha = ox_attr_float(c, "alpha", 0.01);
  ts_gexpr *ax = mul(c, x, scalar_like(c, x, alpha));
  if (alpha >= 0 && alpha <= 1) {
    ox_out(c, 0, ox_call2(c, "maximum", x, ax, NULL));
    return;
  }
  ts_gexpr *pos = un(c, "nn.relu", x);
  ts_gexpr *negp = un(c, "nn.relu", un(c, "negative", x));
  ox_out(c, 0, sub(c, pos, mul(c, negp, scalar_like(c, x, alpha))));
}

static ts_gexpr *hard_sigmoid(ox_ctx *c, ts_gexpr *x, double alpha,
                              double beta) {
  ts_gexpr *y = add(c, mul(c, x, scalar_like(c, x, alpha)),
                    scalar_like(c, x, beta));
  return clip(c, y, scalar_like(c, x, 0), scalar_like(c, x, 1));
}

static void cv_hard_sigmoid(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ox_out(c, 0,
         hard_sigmoid(c, x, ox_attr_float(c, "alpha", 0.2),
                      ox_attr_float(c, "beta", 0.5)));
}

static void cv_hard_swish(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ox_out(c, 0, mul(c, x, hard_sigmoid(c, x, 1.0 / 6.0, 0.5)));
}

static void cv_gelu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  const char *ap = ox_attr_str(c, "approximate", "none");
  if (strcmp(ap, "tanh") == 0) {
    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    ts_gexpr *x3 = mul(c, mul(c, x, x), x);
    ts_gexpr *in = mul(c, add(c, x, mul(c, x3, scalar_like(c, x, 0.044715))),
                       scalar_like(c, x, sqrt(2.0 / M_PI)));
    ts_gexpr *t = add(c, un(c, "tanh", in), scalar_like(c, x, 1.0));
    ox_out(c, 0, mul(c, mul(c, x, t), scalar_like(c, x, 0.5)));
    return;
  }
  if (strcmp(ap, "none") != 0)
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute approximate='%s'",
            ap);
  ox_out(c, 0, un(c, "nn.gelu", x));
}

static ts_gexpr *softplus(ox_ctx *c, ts_gexpr *x) {
  /* log(1 + exp(x)), computed as relu(x) + log(1 + exp(-|x|)) (stable) */
  ts_gexpr *e = un(c, "exp", un(c, "negative", un(c, "abs", x)));
  ts_gexpr *l = un(c, "log", add(c, e, scalar_like(c, x, 1.0)));
  return add(c, un(c, "nn.relu", x), l);
}

static void cv_softplus(ox_ctx *c) { ox_out(c, 0, softplus(c, in0(c))); }

static void cv_mish(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ox_out(c, 0, mul(c, x, un(c, "tanh", softplus(c, x))));
}

/* alpha * (exp(min(x, 0)) - 1) */
static ts_gexpr *elu_neg(ox_ctx *c, ts_gexpr *x, double alpha) {
  ts_gexpr *m = ox_call2(c, "minimum", x, scalar_like(c, x, 0), NULL);
  ts_gexpr *e = sub(c, un(c, "exp", m), scalar_like(c, x, 1.0));
  return mul(c, e, scalar_like(c, x, alpha));
}

static void cv_elu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  double alpha = ox_attr_float(c, "alpha", 1.0);
  ox_out(c, 0, add(c, un(c, "nn.relu", x), elu_neg(c, x, alpha)));
}

static void cv_selu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  double alpha = ox_attr_float(c, "alpha", 1.67326319217681884765625);
  double gamma = ox_attr_float(c, "gamma", 1.05070102214813232421875);
  ts_gexpr *y = add(c, un(c, "nn.relu", x), elu_neg(c, x, alpha));
  ox_out(c, 0, mul(c, y, scalar_like(c, x, gamma)));
}

static void cv_celu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  double alpha = ox_attr_float(c, "alpha", 1.0);
  ts_gexpr *xs = dvd(c, x, scalar_like(c, x, alpha));
  ox_out(c, 0, add(c, un(c, "nn.relu", x), elu_neg(c, xs, alpha)));
}

static void cv_thresholded_relu(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  double alpha = ox_attr_float(c, "alpha", 1.0);
  ts_gexpr *m = ox_call2(c, "greater", x, scalar_like(c, x, alpha), NULL);
  ox_out(c, 0, mul(c, x, astype(c, m, ox_dtype(c, x))));
}

/* ---- type and value -------------------------------------------------------- */

static ts_gexpr *astype(ox_ctx *c, ts_gexpr *x, ts_dtype t) {
  if (ts_dtype_eq(ox_dtype(c, x), t))
    return x;
  if (ox_is_const(x)) {
    const ts_const_data *cd = x->u.constant;
    ts_gexpr *k = ox_const_new(c, t, cd->ndim, cd->shape, NULL);
    int64_t n = ox_const_numel(x);
    bool ints = !ts_dtype_is_float(t) && !ts_dtype_is_float(cd->dtype);
    for (int64_t i = 0; i < n; i++) {
      if (ints) {
        /* through int64 keeps large values exact */
        int64_t v = ox_const_get_i64(x, i);
        if (ts_dtype_is_bool(t))
          v = v != 0;
        ox_const_set_f64(k, i, (double)v);
        if (t.code == TS_INT && t.bits == 64)
          ((int64_t *)k->u.constant->data)[i] = v;
      } else {
        double v = ox_const_get_f64(x, i);
        if (ts_dtype_is_bool(t))
          v = v != 0;
        ox_const_set_f64(k, i, v);
      }
    }
    return k;
  }
  char buf[32];
  ts_attrs *at = ox_attrs(c);
  ox_set_str(c, at, "dtype", ts_dtype_str(t, buf));
  return ox_call1(c, "astype", x, at);
}

static void cv_cast(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  ts_dtype t = ox_dtype_of(c, (int32_t)ox_attr_int(c, "to", 0), "attribute to");
  ox_out(c, 0, astype(c, x, t));
}

static void cv_cast_like(ox_ctx *c) {
  ox_out(c, 0, astype(c, in0(c), ox_dtype(c, ox_in_req(c, 1))));
}

static void cv_identity(ox_ctx *c) { ox_out(c, 0, in0(c)); }

static void cv_dropout(ox_ctx *c) {
  /* inference: identity; the mask output is all true */
  ts_gexpr *x = in0(c), *tm = ox_in(c, 2);
  if (tm && (!ox_is_const(tm) || ox_const_get_f64(tm, 0) != 0))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "unsupported: training_mode must be a constant false");
  ox_out(c, 0, x);
  if (ox_n_outputs(c) > 1 && c->node->output[1] && *c->node->output[1]) {
    int64_t sh[TS_MAX_NDIM];
    int nd = ox_ndim(c, x);
    if (!ox_static_shape(c, x, sh))
      ox_fail(c, TS_ERR_UNSUPPORTED, "the mask output needs a static shape");
    ts_gexpr *k = ox_const_new(c, TS_BOOLT, nd, sh, NULL);
    memset(k->u.constant->data, 1, k->u.constant->nbytes);
    ox_out(c, 1, k);
  }
}

static void cv_where(ox_ctx *c) {
  ts_gexpr *args[3] = {ox_in_req(c, 0), ox_in_req(c, 1), ox_in_req(c, 2)};
  ox_out(c, 0, ox_call(c, "where", args, 3, NULL));
}

static ts_gexpr *attr_tensor(ox_ctx *c, const Onnx__AttributeProto *a);

static void cv_constant(ox_ctx *c) {
  const Onnx__AttributeProto *a;
  if ((a = ox_attr(c, "value"))) {
    ox_out(c, 0, attr_tensor(c, a));
  } else if ((a = ox_attr(c, "value_float"))) {
    ox_out(c, 0, ox_const_scalar(c, TS_F32, ox_attr_float(c, "value_float", 0)));
  } else if ((a = ox_attr(c, "value_int"))) {
    int64_t v = ox_attr_int(c, "value_int", 0);
    ox_out(c, 0, ox_const_new(c, TS_I64, 0, NULL, &v));
  } else if ((a = ox_attr(c, "value_floats"))) {
    int n;
    float *f = ox_attr_floats(c, "value_floats", &n);
    int64_t sh = n;
    ox_out(c, 0, ox_const_new(c, TS_F32, 1, &sh, f));
  } else if ((a = ox_attr(c, "value_ints"))) {
    int n;
    int64_t *v = ox_attr_ints(c, "value_ints", &n);
    ox_out(c, 0, ox_const_i64(c, v, n));
  } else {
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "a Constant needs one of value, value_float(s), value_int(s)");
  }
}

static ts_gexpr *attr_tensor(ox_ctx *c, const Onnx__AttributeProto *a) {
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR || !a->t)
    ox_fail(c, TS_ERR_FORMAT, "attribute %s must be a tensor", a->name);
  return ox_tensor_const(c, a->t, "the constant");
}

static void cv_constant_of_shape(ox_ctx *c) {
  int n;
  int64_t *sh = ox_const_ints(c, in0(c), "input shape", &n);
  const Onnx__AttributeProto *a = ox_attr(c, "value");
  ts_gexpr *v = a ? attr_tensor(c, a) : ox_const_scalar(c, TS_F32, 0);
  if (ox_const_numel(v) != 1)
    ox_fail(c, TS_ERR_VALUE, "attribute value must have one element");
  ts_gexpr *k = ox_const_new(c, ox_dtype(c, v), n, sh, NULL);
  size_t es = ts_dtype_bytes(ox_dtype(c, v));
  int64_t cnt = ox_const_numel(k);
  for (int64_t i = 0; i < cnt; i++)
    memcpy((char *)k->u.constant->data + (size_t)i * es, v->u.constant->data,
           es);
  ox_out(c, 0, k);
}

static void cv_shape(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int64_t sh[TS_MAX_NDIM];
  if (!ox_static_shape(c, x, sh))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "Shape of a tensor with a dynamic shape is not supported");
  int64_t start = ox_attr_int(c, "start", 0), end = ox_attr_int(c, "end", nd);
  if (start < 0)
    start += nd;
  if (end < 0)
    end += nd;
  start = start < 0 ? 0 : start > nd ? nd : start;
  end = end < 0 ? 0 : end > nd ? nd : end;
  if (end < start)
    end = start;
  ox_out(c, 0, ox_const_i64(c, sh + start, (int)(end - start)));
}

static void cv_size(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int64_t sh[TS_MAX_NDIM], n = 1;
  if (!ox_static_shape(c, x, sh))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "Size of a tensor with a dynamic shape is not supported");
  for (int i = 0; i < nd; i++)
    n *= sh[i];
  ox_out(c, 0, ox_const_new(c, TS_I64, 0, NULL, &n));
}

static void cv_range(ox_ctx *c) {
  ts_gexpr *s = ox_in_req(c, 0), *l = ox_in_req(c, 1), *d = ox_in_req(c, 2);
  if (!ox_is_const(s) || !ox_is_const(l) || !ox_is_const(d))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "start, limit and delta are not known at import time "
            "(unsupported: they must be constants)");
  ts_dtype t = ox_dtype(c, s);
  double start = ox_const_get_f64(s, 0), limit = ox_const_get_f64(l, 0),
         delta = ox_const_get_f64(d, 0);
  if (delta == 0)
    ox_fail(c, TS_ERR_VALUE, "Range with delta 0");
  double cnt = ceil((limit - start) / delta);
  int64_t n = cnt > 0 ? (int64_t)cnt : 0;
  if (n > (1 << 26))
    ox_fail(c, TS_ERR_VALUE, "Range of %lld elements is too large",
            (long long)n);
  ts_gexpr *k = ox_const_new(c, t, 1, &n, NULL);
  for (int64_t i = 0; i < n; i++)
    ox_const_set_f64(k, i, start + (double)i * delta);
  ox_out(c, 0, k);
}

/* ---- linear algebra ----------------------------------------------------------- */

static ts_gexpr *transpose2d(ox_ctx *c, ts_gexpr *x) {
  int64_t ax[2] = {1, 0};
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "axes", ax, 2);
  return ox_call1(c, "permute_dims", x, at);
}

static void cv_matmul(ox_ctx *c) {
  ox_out(c, 0, ox_call2(c, "matmul", ox_in_req(c, 0), ox_in_req(c, 1), NULL));
}

static void cv_gemm(ox_ctx *c) {
  ts_gexpr *a = ox_in_req(c, 0), *b = ox_in_req(c, 1), *cc = ox_in(c, 2);
  double alpha = ox_attr_float(c, "alpha", 1.0),
         beta = ox_attr_float(c, "beta", 1.0);
  if (ox_attr_int(c, "transA", 0))
    a = transpose2d(c, a);
  if (ox_attr_int(c, "transB", 0))
    b = transpose2d(c, b);
  ts_gexpr *y = ox_call2(c, "matmul", a, b, NULL);
  if (alpha != 1.0)
    y = mul(c, y, scalar_like(c, y, alpha));
  if (cc && beta != 0.0) {
    if (beta != 1.0)
      cc = mul(c, cc, scalar_like(c, cc, beta));
    y = add(c, y, cc);
  }
  ox_out(c, 0, y);
}

/* ---- softmax family ------------------------------------------------------------- */

static void softmax_like(ox_ctx *c, const char *op) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  bool old = c->opset < 13;
  int axis = norm_axis(c, ox_attr_int(c, "axis", old ? 1 : -1), nd, "axis");
  ts_attrs *at = ox_attrs(c);
  if (!old || axis == nd - 1) {
    ox_set_int(c, at, "axis", axis);
    ox_out(c, 0, ox_call1(c, op, x, at));
    return;
  }
  /* before opset 13: coerce to 2-D at axis, then back */
  ts_expr **sh = ox_shape(c, x);
  ts_expr *d0 = i64(c, 1), *d1 = i64(c, 1);
  for (int i = 0; i < nd; i++) {
    if (i < axis)
      d0 = dim_mul(c, d0, sh[i]);
    else
      d1 = dim_mul(c, d1, sh[i]);
  }
  ts_expr *two[2] = {d0, d1};
  ts_gexpr *x2 = reshape_to(c, x, two, 2);
  ox_set_int(c, at, "axis", -1);
  ts_gexpr *y = ox_call1(c, op, x2, at);
  ox_out(c, 0, reshape_to(c, y, sh, nd));
}
static void cv_softmax(ox_ctx *c) { softmax_like(c, "nn.softmax"); }
static void cv_log_softmax(ox_ctx *c) {
  if (ox_has_op("nn.log_softmax")) {
    softmax_like(c, "nn.log_softmax");
    return;
  }
  ox_unsupported_op(c, ": needs R.nn.log_softmax, which is not available");
}

/* ---- reductions ------------------------------------------------------------------- */

/* Reduction axes: *n axes (NULL: all), false when the op is a no-op. */
static bool reduce_axes(ox_ctx *c, bool from_input, int64_t **axes, int *n) {
  *axes = NULL;
  *n = 0;
  if (from_input) {
    ts_gexpr *a = ox_in(c, 1);
    if (a)
      *axes = ox_const_ints(c, a, "input axes", n);
  } else {
    *axes = ox_attr_ints(c, "axes", n);
  }
  if (*n == 0) {
    *axes = NULL;
    if (ox_attr_int(c, "noop_with_empty_axes", 0))
      return false;
  }
  return true;
}

typedef enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQ,
               R_LOGSUM, R_LOGSUMEXP } red_kind;

static void reduce_op(ox_ctx *c, red_kind k) {
  ts_gexpr *x = in0(c);
  int since = k == R_SUM ? 13 : 18;
  int64_t *axes;
  int n;
  bool keep = ox_attr_int(c, "keepdims", 1) != 0;
  if (!reduce_axes(c, c->opset >= since, &axes, &n)) {
    ox_out(c, 0, x);
    return;
  }
  int nd = ox_ndim(c, x);
  for (int i = 0; i < n; i++)
    axes[i] = norm_axis(c, axes[i], nd, "axis");
  ts_gexpr *y;
  switch (k) {
  case R_SUM:
    y = reduce(c, "sum", x, axes, n, keep);
    break;
  case R_MEAN:
    y = reduce(c, "mean", x, axes, n, keep);
    break;
  case R_MAX:
    y = reduce(c, "max", x, axes, n, keep);
    break;
  case R_MIN:
    y = reduce(c, "min", x, axes, n, keep);
    break;
  case R_PROD:
    y = reduce(c, "prod", x, axes, n, keep);
    break;
  case R_L1:
    y = reduce(c, "sum", un(c, "abs", x), axes, n, keep);
    break;
  case R_L2:
    y = un(c, "sqrt", reduce(c, "sum", mul(c, x, x), axes, n, keep));
    break;
  case R_SUMSQ:
    y = reduce(c, "sum", mul(c, x, x), axes, n, keep);
    break;
  case R_LOGSUM:
    y = un(c, "log", reduce(c, "sum", x, axes, n, keep));
    break;
  default: {
    /* log(sum(exp(x - max))) + max */
    ts_gexpr *m = reduce(c, "max", x, axes, n, true);
    ts_gexpr *s = reduce(c, "sum", un(c, "exp", sub(c, x, m)), axes, n, keep);
    ts_gexpr *mk = keep ? m : reduce(c, "max", x, axes, n, false);
    y = add(c, un(c, "log", s), mk);
    break;
  }
  }
  ox_out(c, 0, y);
}
static void cv_reduce_sum(ox_ctx *c) { reduce_op(c, R_SUM); }
static void cv_reduce_mean(ox_ctx *c) { reduce_op(c, R_MEAN); }
static void cv_reduce_max(ox_ctx *c) { reduce_op(c, R_MAX); }
static void cv_reduce_min(ox_ctx *c) { reduce_op(c, R_MIN); }
static void cv_reduce_prod(ox_ctx *c) { reduce_op(c, R_PROD); }
static void cv_reduce_l1(ox_ctx *c) { reduce_op(c, R_L1); }
static void cv_reduce_l2(ox_ctx *c) { reduce_op(c, R_L2); }
static void cv_reduce_sumsq(ox_ctx *c) { reduce_op(c, R_SUMSQ); }
static void cv_reduce_logsum(ox_ctx *c) { reduce_op(c, R_LOGSUM); }
static void cv_reduce_logsumexp(ox_ctx *c) { reduce_op(c, R_LOGSUMEXP); }

static void arg_op(ox_ctx *c, const char *op) {
  ts_gexpr *x = in0(c);
  if (ox_attr_int(c, "select_last_index", 0))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute select_last_index=1");
  int nd = ox_ndim(c, x);
  ts_attrs *at = ox_attrs(c);
  ox_set_int(c, at, "axis", norm_axis(c, ox_attr_int(c, "axis", 0), nd, "axis"));
  ox_set_bool(c, at, "keepdims", ox_attr_int(c, "keepdims", 1) != 0);
  ox_out(c, 0, ox_call1(c, op, x, at));
}
static void cv_argmax(ox_ctx *c) { arg_op(c, "argmax"); }
static void cv_argmin(ox_ctx *c) { arg_op(c, "argmin"); }

/* ---- normalization (decomposed) -------------------------------------------------- */

/* (x - mean) * rsqrt(var + eps) over axes (keepdims); out_mean and out_rstd
 * receive the statistics when non-NULL. */
static ts_gexpr *normalize(ox_ctx *c, ts_gexpr *x, const int64_t *axes, int n,
                           double eps, ts_gexpr **out_mean,
                           ts_gexpr **out_rstd) {
  ts_gexpr *m = reduce(c, "mean", x, axes, n, true);
  ts_gexpr *d = sub(c, x, m);
  ts_gexpr *v = reduce(c, "mean", mul(c, d, d), axes, n, true);
  ts_gexpr *r = un(c, "rsqrt", add(c, v, scalar_like(c, v, eps)));
  if (out_mean)
    *out_mean = m;
  if (out_rstd)
    *out_rstd = r;
  return mul(c, d, r);
}

static void cv_batch_norm(ox_ctx *c) {
  ts_gexpr *x = in0(c), *sc = ox_in_req(c, 1), *b = ox_in_req(c, 2),
           *mean = ox_in_req(c, 3), *var = ox_in_req(c, 4);
  if (ox_attr_int(c, "training_mode", 0))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute training_mode=1");
  double eps = ox_attr_float(c, "epsilon", 1e-5);
  int nd = ox_ndim(c, x);
  ts_gexpr *s, *t;
  if (ox_is_const(sc) && ox_is_const(b) && ox_is_const(mean) &&
      ox_is_const(var) && ox_const_numel(sc) == ox_const_numel(b) &&
      ox_const_numel(sc) == ox_const_numel(mean) &&
      ox_const_numel(sc) == ox_const_numel(var) && ox_ndim(c, sc) == 1) {
    /* fold: s = scale / sqrt(var + eps), t = bias - mean * s */
    int64_t ch = ox_const_numel(sc);
    s = ox_const_new(c, ox_dtype(c, x), 1, &ch, NULL);
    t = ox_const_new(c, ox_dtype(c, x), 1, &ch, NULL);
    for (int64_t i = 0; i < ch; i++) {
      double si = ox_const_get_f64(sc, i) /
                  sqrt(ox_const_get_f64(var, i) + eps);
      ox_const_set_f64(s, i, si);
      ox_const_set_f64(t, i, ox_const_get_f64(b, i) -
                                 ox_const_get_f64(mean, i) * si);
    }
  } else {
    s = mul(c, sc, un(c, "rsqrt", add(c, var, scalar_like(c, var, eps))));
    t = sub(c, b, mul(c, mean, s));
  }
  ox_out(c, 0, add(c, mul(c, x, channel_vec(c, s, nd)), channel_vec(c, t, nd)));
}

static void cv_instance_norm(ox_ctx *c) {
  ts_gexpr *x = in0(c), *sc = ox_in_req(c, 1), *b = ox_in_req(c, 2);
  int nd = ox_ndim(c, x);
  if (nd < 3)
    ox_fail(c, TS_ERR_TYPE, "the input must have rank 3 or more, not %d", nd);
  int64_t axes[TS_MAX_NDIM];
  for (int i = 2; i < nd; i++)
    axes[i - 2] = i;
  ts_gexpr *y = normalize(c, x, axes, nd - 2,
                          ox_attr_float(c, "epsilon", 1e-5), NULL, NULL);
  ox_out(c, 0, add(c, mul(c, y, channel_vec(c, sc, nd)), channel_vec(c, b, nd)));
}

static void cv_layer_norm(ox_ctx *c) {
  ts_gexpr *x = in0(c), *sc = ox_in_req(c, 1), *b = ox_in(c, 2);
  int nd = ox_ndim(c, x);
  int axis = norm_axis(c, ox_attr_int(c, "axis", -1), nd, "axis");
  int64_t axes[TS_MAX_NDIM];
  for (int i = axis; i < nd; i++)
    axes[i - axis] = i;
  ts_gexpr *m, *r;
  ts_gexpr *y = normalize(c, x, axes, nd - axis,
                          ox_attr_float(c, "epsilon", 1e-5), &m, &r);
  y = mul(c, y, sc);
  if (b)
    y = add(c, y, b);
  ox_out(c, 0, y);
  ox_out(c, 1, m);
  ox_out(c, 2, r);
}

static void cv_group_norm(ox_ctx *c) {
  ts_gexpr *x = in0(c), *sc = ox_in_req(c, 1), *b = ox_in_req(c, 2);
  int nd = ox_ndim(c, x);
  int64_t g = ox_attr_int(c, "num_groups", 0);
  if (g <= 0 || nd < 2)
    ox_fail(c, TS_ERR_VALUE, "num_groups must be positive");
  ts_expr **sh = ox_shape(c, x);
  ts_expr *grp[3] = {sh[0], i64(c, g), i64(c, -1)};
  ts_gexpr *xg = reshape_to(c, x, grp, 3);
  int64_t ax = 2;
  ts_gexpr *y = normalize(c, xg, &ax, 1, ox_attr_float(c, "epsilon", 1e-5),
                          NULL, NULL);
  bool per_group = ox_ndim(c, sc) == 1 && ox_shape(c, sc)[0]->kind == TS_E_INT &&
                   ox_shape(c, sc)[0]->u.int_value == g &&
                   !(sh[1]->kind == TS_E_INT && sh[1]->u.int_value == g);
  if (per_group) {
    int64_t gs[2] = {g, 1};
    y = add(c, mul(c, y, reshape_ints(c, sc, gs, 2)), reshape_ints(c, b, gs, 2));
    ox_out(c, 0, reshape_to(c, y, sh, nd));
    return;
  }
  y = reshape_to(c, y, sh, nd);
  ox_out(c, 0, add(c, mul(c, y, channel_vec(c, sc, nd)), channel_vec(c, b, nd)));
}

static void cv_lrn(ox_ctx *c) { ox_unsupported_op(c, NULL); }

/* ---- layout ------------------------------------------------------------------------ */

static void cv_reshape(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int n;
  int64_t *v;
  if (c->opset < 5)
    v = ox_attr_ints(c, "shape", &n);
  else
    v = ox_const_ints(c, ox_in_req(c, 1), "input shape", &n);
  bool allowzero = ox_attr_int(c, "allowzero", 0) != 0;
  ts_expr **d = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *d);
  const ts_sinfo *s = ox_tensor(c, x, NULL);
  int64_t known = 1;
  for (int i = 0; i < n; i++) {
    if (v[i] < -1 || v[i] > ((int64_t)1 << 40) ||
        (v[i] > 0 && known > (((int64_t)1 << 40) / v[i])))
      ox_fail(c, TS_ERR_VALUE, "shape entry %d (%lld) is out of range", i,
              (long long)v[i]);
    if (v[i] > 0)
      known *= v[i];
  }
  for (int i = 0; i < n; i++) {
    if (v[i] == 0 && !allowzero) {
      if (!s->u.tensor.shape || i >= s->u.tensor.ndim)
        ox_fail(c, TS_ERR_VALUE,
                "shape entry %d is 0 (copy) but the input has no such "
                "dimension",
                i);
      d[i] = s->u.tensor.shape[i];
    } else {
      d[i] = i64(c, v[i]);
    }
  }
  ox_out(c, 0, reshape_to(c, x, d, n));
}

static void cv_flatten(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int64_t axis = ox_attr_int(c, "axis", 1);
  if (axis < -nd || axis > nd)
    ox_fail(c, TS_ERR_VALUE, "axis %lld is out of range for rank %d",
            (long long)axis, nd);
  if (axis < 0)
    axis += nd;
  ts_expr **sh = ox_shape(c, x);
  ts_expr *d0 = i64(c, 1), *d1 = i64(c, 1);
  for (int i = 0; i < nd; i++) {
    if (i < axis)
      d0 = dim_mul(c, d0, sh[i]);
    else
      d1 = dim_mul(c, d1, sh[i]);
  }
  ts_expr *two[2] = {d0, d1};
  ox_out(c, 0, reshape_to(c, x, two, 2));
}

static void cv_transpose(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int n;
  int64_t *perm = ox_attr_ints(c, "perm", &n);
  int64_t def[TS_MAX_NDIM];
  if (!perm) {
    for (int i = 0; i < nd; i++)
      def[i] = nd - 1 - i;
    perm = def;
    n = nd;
  }
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "axes", perm, n);
  ox_out(c, 0, ox_call1(c, "permute_dims", x, at));
}

/* Squeeze / Unsqueeze: both are reshapes (the shape is known). */
static int64_t *axes_input_or_attr(ox_ctx *c, int since, int *n) {
  if (c->opset >= since) {
    ts_gexpr *a = ox_in(c, 1);
    if (!a) {
      *n = 0;
      return NULL;
    }
    return ox_const_ints(c, a, "input axes", n);
  }
  return ox_attr_ints(c, "axes", n);
}

static void cv_squeeze(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x), n;
  int64_t *axes = axes_input_or_attr(c, 13, &n);
  ts_expr **sh = ox_shape(c, x);
  bool drop[TS_MAX_NDIM] = {0};
  if (!axes) {
    for (int i = 0; i < nd; i++) {
      if (sh[i]->kind != TS_E_INT)
        ox_fail(c, TS_ERR_UNSUPPORTED,
                "Squeeze without axes on a dynamic dimension");
      drop[i] = sh[i]->u.int_value == 1;
    }
  }
  for (int i = 0; i < n; i++) {
    int ax = norm_axis(c, axes[i], nd, "axis");
    if (sh[ax]->kind == TS_E_INT && sh[ax]->u.int_value != 1)
      ox_fail(c, TS_ERR_VALUE, "cannot squeeze axis %d of size %lld", ax,
              (long long)sh[ax]->u.int_value);
    drop[ax] = true;
  }
  ts_expr **d = ts_arena_array(c->a, (size_t)(nd ? nd : 1), sizeof *d);
  int k = 0;
  for (int i = 0; i < nd; i++)
    if (!drop[i])
      d[k++] = sh[i];
  ox_out(c, 0, reshape_to(c, x, d, k));
}

static void cv_unsqueeze(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x), n;
  int64_t *axes = axes_input_or_attr(c, 13, &n);
  int out_nd = nd + n;
  if (out_nd > TS_MAX_NDIM)
    ox_fail(c, TS_ERR_UNSUPPORTED, "rank %d is too large", out_nd);
  bool ins[TS_MAX_NDIM] = {0};
  for (int i = 0; i < n; i++) {
    int ax = norm_axis(c, axes[i], out_nd, "axis");
    if (ins[ax])
      ox_fail(c, TS_ERR_VALUE, "axis %d is repeated", ax);
    ins[ax] = true;
  }
  ts_expr **sh = ox_shape(c, x);
  ts_expr **d = ts_arena_array(c->a, (size_t)(out_nd ? out_nd : 1), sizeof *d);
  int k = 0;
  for (int i = 0; i < out_nd; i++)
    d[i] = ins[i] ? i64(c, 1) : sh[k++];
  ox_out(c, 0, reshape_to(c, x, d, out_nd));
}

/* Byte-level helpers for constant folding of indexing ops. */
static void const_dims(ts_gexpr *k, int64_t *outer, int64_t *n, int64_t *inner,
                       int axis) {
  const ts_const_data *cd = k->u.constant;
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++)
    *outer *= cd->shape[i];
  *n = cd->shape[axis];
  for (int i = axis + 1; i < cd->ndim; i++)
    *inner *= cd->shape[i];
}

static void cv_concat(ox_ctx *c) {
  int n = ox_n_inputs(c);
  ts_gexpr **xs = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *xs);
  bool consts = true;
  int k = 0;
  for (int i = 0; i < n; i++) {
    ts_gexpr *x = ox_in(c, i);
    if (!x)
      continue;
    xs[k++] = x;
    consts &= ox_is_const(x);
  }
  if (k == 0)
    ox_fail(c, TS_ERR_VALUE, "Concat needs inputs");
  int nd = ox_ndim(c, xs[0]);
  int axis = norm_axis(c, ox_attr_int(c, "axis", 0), nd, "axis");
  if (consts) {
    const ts_const_data *c0 = xs[0]->u.constant;
    int64_t sh[TS_MAX_NDIM], total = 0;
    for (int i = 0; i < k; i++) {
      const ts_const_data *ci = xs[i]->u.constant;
      if (ci->ndim != nd || !ts_dtype_eq(ci->dtype, c0->dtype))
        ox_fail(c, TS_ERR_TYPE, "inputs of Concat differ in rank or dtype");
      for (int j = 0; j < nd; j++)
        if (j != axis && ci->shape[j] != c0->shape[j])
          ox_fail(c, TS_ERR_TYPE, "inputs of Concat differ in shape");
      total += ci->shape[axis];
    }
    for (int j = 0; j < nd; j++)
      sh[j] = c0->shape[j];
    sh[axis] = total;
    ts_gexpr *r = ox_const_new(c, c0->dtype, nd, sh, NULL);
    size_t es = ts_dtype_bytes(c0->dtype);
    int64_t outer, cnt, inner;
    const_dims(r, &outer, &cnt, &inner, axis);
    char *dst = r->u.constant->data;
    for (int64_t o = 0; o < outer; o++)
      for (int i = 0; i < k; i++) {
        int64_t ni = xs[i]->u.constant->shape[axis];
        size_t bytes = (size_t)(ni * inner) * es;
        memcpy(dst, (char *)xs[i]->u.constant->data + (size_t)o * bytes, bytes);
        dst += bytes;
      }
    ox_out(c, 0, r);
    return;
  }
  ts_attrs *at = ox_attrs(c);
  ox_set_int(c, at, "axis", axis);
  ts_gexpr *t = ox_tuple(c, xs, k);
  ox_out(c, 0, ox_call1(c, "concat", t, at));
}

static void cv_split(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int axis = norm_axis(c, ox_attr_int(c, "axis", 0), nd, "axis");
  int nout = ox_n_outputs(c);
  int n = 0;
  int64_t *split = NULL;
  if (c->opset >= 13) {
    ts_gexpr *s = ox_in(c, 1);
    if (s)
      split = ox_const_ints(c, s, "input split", &n);
  } else {
    split = ox_attr_ints(c, "split", &n);
  }
  ts_expr *dim = ox_shape(c, x)[axis];
  int64_t *idx = ts_arena_array(c->a, (size_t)(nout ? nout : 1), sizeof *idx);
  int n_idx = 0;
  ts_attrs *at = ox_attrs(c);
  if (split) {
    if (n != nout)
      ox_fail(c, TS_ERR_VALUE, "split has %d entries for %d outputs", n, nout);
    int64_t acc = 0;
    for (int i = 0; i + 1 < n; i++) {
      acc += split[i];
      idx[n_idx++] = acc;
    }
    ox_set_ints(c, at, "indices_or_sections", idx, n_idx);
  } else {
    int64_t parts = ox_attr_int(c, "num_outputs", nout);
    if (parts != nout || parts < 1)
      ox_fail(c, TS_ERR_VALUE, "num_outputs is %lld for %d outputs",
              (long long)parts, nout);
    if (dim->kind == TS_E_INT && dim->u.int_value % parts != 0) {
      /* opset 18: the last chunk is smaller */
      int64_t chunk = (dim->u.int_value + parts - 1) / parts;
      for (int64_t i = 1; i < parts; i++)
        idx[n_idx++] = chunk * i;
      ox_set_ints(c, at, "indices_or_sections", idx, n_idx);
    } else {
      ox_set_int(c, at, "indices_or_sections", parts);
    }
  }
  ox_set_int(c, at, "axis", axis);
  ts_gexpr *t = ox_call1(c, "split", x, at);
  for (int i = 0; i < nout; i++)
    ox_out(c, i, ox_tuple_get(c, t, i));
}

/* Slice: normalised (begin, end, step) per axis, numpy rules. */
static void cv_slice(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int n = 0, na = 0, ns = 0, ne = 0;
  int64_t *starts, *ends, *axes = NULL, *steps = NULL;
  if (c->opset < 10) {
    starts = ox_attr_ints(c, "starts", &n);
    ends = ox_attr_ints(c, "ends", &ne);
    axes = ox_attr_ints(c, "axes", &na);
  } else {
    starts = ox_const_ints(c, ox_in_req(c, 1), "input starts", &n);
    ends = ox_const_ints(c, ox_in_req(c, 2), "input ends", &ne);
    if (ox_in(c, 3))
      axes = ox_const_ints(c, ox_in(c, 3), "input axes", &na);
    if (ox_in(c, 4))
      steps = ox_const_ints(c, ox_in(c, 4), "input steps", &ns);
  }
  if (ne != n || (axes && na != n) || (steps && ns != n))
    ox_fail(c, TS_ERR_VALUE, "starts, ends, axes and steps differ in length");
  ts_expr **sh = ox_shape(c, x);
  int64_t *ax = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *ax);
  int64_t *b = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *b);
  int64_t *e = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *e);
  int64_t *st = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *st);
  bool all_static = true;
  for (int i = 0; i < n; i++) {
    ax[i] = norm_axis(c, axes ? axes[i] : i, nd, "axis");
    st[i] = steps ? steps[i] : 1;
    if (st[i] == 0)
      ox_fail(c, TS_ERR_VALUE, "a step of 0");
    b[i] = starts[i];
    e[i] = ends[i];
    ts_expr *d = sh[ax[i]];
    if (d->kind != TS_E_INT) {
      all_static = false;
      continue;
    }
    int64_t dim = d->u.int_value;
    if (b[i] < 0)
      b[i] += dim;
    if (e[i] < 0 && e[i] > INT64_MIN / 2)
      e[i] += dim;
    if (st[i] > 0) {
      b[i] = b[i] < 0 ? 0 : b[i] > dim ? dim : b[i];
      e[i] = e[i] < 0 ? 0 : e[i] > dim ? dim : e[i];
    } else {
      b[i] = b[i] < 0 ? -1 : b[i] > dim - 1 ? dim - 1 : b[i];
      e[i] = e[i] < -1 ? -1 : e[i] > dim - 1 ? dim - 1 : e[i];
    }
  }
  if (ox_is_const(x) && all_static) {
    /* fold: general strided gather over the constant */
    const ts_const_data *cd = x->u.constant;
    int64_t b_all[TS_MAX_NDIM], s_all[TS_MAX_NDIM], osh[TS_MAX_NDIM];
    for (int j = 0; j < nd; j++) {
      b_all[j] = 0;
      s_all[j] = 1;
      osh[j] = cd->shape[j];
    }
    for (int i = 0; i < n; i++) {
      int j = (int)ax[i];
      b_all[j] = b[i];
      s_all[j] = st[i];
      int64_t len = st[i] > 0 ? (e[i] - b[i] + st[i] - 1) / st[i]
                              : (b[i] - e[i] + (-st[i]) - 1) / (-st[i]);
      osh[j] = len > 0 ? len : 0;
    }
    ts_gexpr *r = ox_const_new(c, cd->dtype, nd, osh, NULL);
    size_t es = ts_dtype_bytes(cd->dtype);
    int64_t total = ox_const_numel(r);
    int64_t idx[TS_MAX_NDIM] = {0};
    for (int64_t o = 0; o < total; o++) {
      int64_t off = 0;
      for (int j = 0; j < nd; j++)
        off = off * cd->shape[j] + b_all[j] + idx[j] * s_all[j];
      memcpy((char *)r->u.constant->data + (size_t)o * es,
             (char *)cd->data + (size_t)off * es, es);
      for (int j = nd - 1; j >= 0; j--) {
        if (++idx[j] < osh[j])
          break;
        idx[j] = 0;
      }
    }
    ox_out(c, 0, r);
    return;
  }
  for (int i = 0; i < n; i++)
    if (st[i] < 0 && e[i] == -1)
      e[i] = INT64_MIN / 4; /* "before the first element" */
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "axes", ax, n);
  ox_set_ints(c, at, "begin", b, n);
  ox_set_ints(c, at, "end", e, n);
  ox_set_ints(c, at, "strides", st, n);
  ox_out(c, 0, ox_call1(c, "strided_slice", x, at));
}

static void cv_gather(ox_ctx *c) {
  ts_gexpr *x = in0(c), *idx = ox_in_req(c, 1);
  int nd = ox_ndim(c, x);
  int axis = norm_axis(c, ox_attr_int(c, "axis", 0), nd, "axis");
  ts_expr *dim = ox_shape(c, x)[axis];
  if (ox_is_const(idx) && dim->kind == TS_E_INT) {
    /* normalise negative indices at import time */
    int64_t n = ox_const_numel(idx), dn = dim->u.int_value;
    bool neg = false;
    for (int64_t i = 0; i < n; i++) {
      int64_t v = ox_const_get_i64(idx, i);
      if (v < -dn || v >= dn)
        ox_fail(c, TS_ERR_VALUE, "index %lld is out of range for axis of %lld",
                (long long)v, (long long)dn);
      neg |= v < 0;
    }
    if (neg || ox_is_const(x)) {
      const ts_const_data *ic = idx->u.constant;
      ts_gexpr *ni = ox_const_new(c, TS_I64, ic->ndim, ic->shape, NULL);
      for (int64_t i = 0; i < n; i++) {
        int64_t v = ox_const_get_i64(idx, i);
        ((int64_t *)ni->u.constant->data)[i] = v < 0 ? v + dn : v;
      }
      idx = ni;
    }
    if (ox_is_const(x)) {
      const ts_const_data *xc = x->u.constant, *ic = idx->u.constant;
      int64_t osh[2 * TS_MAX_NDIM];
      int ond = 0;
      for (int j = 0; j < axis; j++)
        osh[ond++] = xc->shape[j];
      for (int j = 0; j < ic->ndim; j++)
        osh[ond++] = ic->shape[j];
      for (int j = axis + 1; j < nd; j++)
        osh[ond++] = xc->shape[j];
      if (ond > TS_MAX_NDIM)
        ox_fail(c, TS_ERR_UNSUPPORTED, "rank %d is too large", ond);
      ts_gexpr *r = ox_const_new(c, xc->dtype, ond, osh, NULL);
      int64_t outer, cnt, inner;
      const_dims(x, &outer, &cnt, &inner, axis);
      size_t es = ts_dtype_bytes(xc->dtype), row = (size_t)inner * es;
      char *dst = r->u.constant->data;
      for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < n; i++) {
          int64_t v = ((int64_t *)idx->u.constant->data)[i];
          memcpy(dst, (char *)xc->data + (size_t)(o * cnt + v) * row, row);
          dst += row;
        }
      ox_out(c, 0, r);
      return;
    }
  }
  ts_attrs *at = ox_attrs(c);
  ox_set_int(c, at, "axis", axis);
  ox_out(c, 0, ox_call2(c, "take", x, idx, at));
}

static void cv_gather_elements(ox_ctx *c) {
  ts_gexpr *x = in0(c), *idx = ox_in_req(c, 1);
  int nd = ox_ndim(c, x);
  ts_attrs *at = ox_attrs(c);
  ox_set_int(c, at, "axis", norm_axis(c, ox_attr_int(c, "axis", 0), nd, "axis"));
  ox_out(c, 0, ox_call2(c, "gather_elements", x, idx, at));
}

static void cv_expand(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int n;
  int64_t *v = ox_const_ints(c, ox_in_req(c, 1), "input shape", &n);
  int nd = ox_ndim(c, x);
  ts_expr **sh = ox_shape(c, x);
  int out_nd = n > nd ? n : nd;
  if (out_nd > TS_MAX_NDIM)
    ox_fail(c, TS_ERR_UNSUPPORTED, "rank %d is too large", out_nd);
  ts_expr **d = ts_arena_array(c->a, (size_t)(out_nd ? out_nd : 1), sizeof *d);
  for (int i = 0; i < out_nd; i++) {
    int xi = i - (out_nd - nd), vi = i - (out_nd - n);
    ts_expr *xd = xi >= 0 ? sh[xi] : i64(c, 1);
    int64_t want = vi >= 0 ? v[vi] : 1;
    if (want == 1)
      d[i] = xd;
    else if (xd->kind == TS_E_INT && xd->u.int_value != 1 &&
             xd->u.int_value != want)
      ox_fail(c, TS_ERR_TYPE,
              "cannot expand dimension %d of size %lld to %lld", i,
              (long long)xd->u.int_value, (long long)want);
    else
      d[i] = i64(c, want);
  }
  ox_out(c, 0, ox_call2(c, "broadcast_to", x, ox_shape_value(c, d, out_nd),
                        NULL));
}

static void cv_tile(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int n;
  int64_t *r = ox_const_ints(c, ox_in_req(c, 1), "input repeats", &n);
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "repeats", r, n);
  ox_out(c, 0, ox_call1(c, "tile", x, at));
}

static void cv_pad(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x), n;
  int64_t *pads;
  double value = 0;
  const char *mode = ox_attr_str(c, "mode", "constant");
  if (c->opset < 11) {
    pads = ox_attr_ints(c, "pads", &n);
    value = ox_attr_float(c, "value", 0);
  } else {
    pads = ox_const_ints(c, ox_in_req(c, 1), "input pads", &n);
    ts_gexpr *v = ox_in(c, 2);
    if (v) {
      if (!ox_is_const(v))
        ox_fail(c, TS_ERR_UNSUPPORTED,
                "constant_value is not known at import time (unsupported: "
                "it must be a constant)");
      value = ox_const_get_f64(v, 0);
    }
  }
  int64_t full[2 * TS_MAX_NDIM] = {0};
  ts_gexpr *axes_in = c->opset >= 18 ? ox_in(c, 3) : NULL;
  if (axes_in) {
    int na;
    int64_t *axes = ox_const_ints(c, axes_in, "input axes", &na);
    if (n != 2 * na)
      ox_fail(c, TS_ERR_VALUE, "pads has %d entries for %d axes", n, na);
    for (int i = 0; i < na; i++) {
      int a = norm_axis(c, axes[i], nd, "axis");
      full[a] = pads[i];
      full[nd + a] = pads[na + i];
    }
  } else {
    if (n != 2 * nd)
      ox_fail(c, TS_ERR_VALUE, "pads has %d entries for rank %d", n, nd);
    for (int i = 0; i < n; i++)
      full[i] = pads[i];
  }
  /* pad_width: (before_0, after_0, before_1, after_1, ...) */
  int64_t pw[2 * TS_MAX_NDIM];
  for (int i = 0; i < nd; i++) {
    if (full[i] < 0 || full[nd + i] < 0)
      ox_fail(c, TS_ERR_UNSUPPORTED, "negative pads are not supported");
    pw[2 * i] = full[i];
    pw[2 * i + 1] = full[nd + i];
  }
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "pad_width", pw, 2 * nd);
  ox_set_str(c, at, "pad_mode", mode);
  ox_set_float(c, at, "pad_value", value);
  ox_out(c, 0, ox_call1(c, "nn.pad", x, at));
}

/* ---- convolution and pooling --------------------------------------------------------- */

typedef struct spatial {
  int n; /* spatial dims */
  int64_t kernel[TS_MAX_NDIM], strides[TS_MAX_NDIM], dil[TS_MAX_NDIM];
  int64_t pads[2 * TS_MAX_NDIM]; /* begins then ends */
} spatial;

/* Reads kernel_shape (or kern), strides, dilations, pads, auto_pad. */
static void read_spatial(ox_ctx *c, ts_gexpr *x, const int64_t *kern, int n,
                         spatial *s, bool transpose) {
  s->n = n;
  int k;
  int64_t *ks = ox_attr_ints(c, "kernel_shape", &k);
  for (int i = 0; i < n; i++) {
    s->kernel[i] = ks && k == n ? ks[i] : kern ? kern[i] : 1;
    s->strides[i] = s->dil[i] = 1;
    s->pads[i] = s->pads[n + i] = 0;
  }
  int64_t *v = ox_attr_ints(c, "strides", &k);
  for (int i = 0; v && i < n && i < k; i++)
    s->strides[i] = v[i];
  v = ox_attr_ints(c, "dilations", &k);
  for (int i = 0; v && i < n && i < k; i++)
    s->dil[i] = v[i];
  v = ox_attr_ints(c, "pads", &k);
  if (v && k != 2 * n)
    ox_fail(c, TS_ERR_VALUE, "pads has %d entries for %d spatial dims", k, n);
  for (int i = 0; v && i < 2 * n; i++)
    s->pads[i] = v[i];
  const char *ap = ox_attr_str(c, "auto_pad", "NOTSET");
  if (!strcmp(ap, "NOTSET") || !strcmp(ap, "VALID"))
    return;
  bool upper = !strcmp(ap, "SAME_UPPER");
  if (!upper && strcmp(ap, "SAME_LOWER"))
    ox_fail(c, TS_ERR_VALUE, "unsupported attribute auto_pad='%s'", ap);
  int64_t sh[TS_MAX_NDIM];
  if (transpose || !ox_static_shape(c, x, sh))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute auto_pad='%s'%s", ap,
            transpose ? "" : " with a dynamic input shape");
  for (int i = 0; i < n; i++) {
    int64_t in = sh[2 + i], st = s->strides[i];
    int64_t out = (in + st - 1) / st;
    int64_t eff = (s->kernel[i] - 1) * s->dil[i] + 1;
    int64_t total = (out - 1) * st + eff - in;
    if (total < 0)
      total = 0;
    int64_t small = total / 2, big = total - small;
    s->pads[i] = upper ? small : big;
    s->pads[n + i] = upper ? big : small;
  }
}

static const char *layout_for(int n, bool kernel, bool transpose) {
  static const char *const data[] = {"NCW", "NCHW", "NCDHW"};
  static const char *const oi[] = {"OIW", "OIHW", "OIDHW"};
  static const char *const io[] = {"IOW", "IOHW", "IODHW"};
  return kernel ? (transpose ? io : oi)[n - 1] : data[n - 1];
}

static void set_spatial(ox_ctx *c, ts_attrs *at, const spatial *s,
                        bool dilation) {
  ox_set_ints(c, at, "strides", s->strides, s->n);
  ox_set_ints(c, at, "padding", s->pads, 2 * s->n);
  if (dilation)
    ox_set_ints(c, at, "dilation", s->dil, s->n);
}

static ts_gexpr *add_bias(ox_ctx *c, ts_gexpr *y, ts_gexpr *b, int nd) {
  if (!b)
    return y;
  return add(c, y, channel_vec(c, b, nd));
}

static void conv_like(ox_ctx *c, bool transpose) {
  ts_gexpr *x = in0(c), *w = ox_in_req(c, 1), *b = ox_in(c, 2);
  int nd = ox_ndim(c, x);
  int n = nd - 2;
  if (n < 1 || n > 3)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%dD convolution is not supported", n);
  int64_t wsh[TS_MAX_NDIM];
  if (!ox_static_shape(c, w, wsh))
    ox_fail(c, TS_ERR_UNSUPPORTED, "the weight needs a static shape");
  spatial s;
  read_spatial(c, x, wsh + 2, n, &s, transpose);
  int64_t groups = ox_attr_int(c, "group", 1);
  ts_attrs *at = ox_attrs(c);
  set_spatial(c, at, &s, true);
  ox_set_int(c, at, "groups", groups);
  ox_set_str(c, at, "data_layout", layout_for(n, false, false));
  ox_set_str(c, at, "kernel_layout", layout_for(n, true, transpose));
  char op[32];
  if (transpose) {
    int k;
    int64_t op_pad[TS_MAX_NDIM] = {0};
    int64_t *v = ox_attr_ints(c, "output_padding", &k);
    for (int i = 0; v && i < n && i < k; i++)
      op_pad[i] = v[i];
    int64_t *os = ox_attr_ints(c, "output_shape", &k);
    if (os) {
      int64_t sh[TS_MAX_NDIM];
      if (!ox_static_shape(c, x, sh) || k < n)
        ox_fail(c, TS_ERR_UNSUPPORTED,
                "output_shape needs a static input shape");
      for (int i = 0; i < n; i++) {
        int64_t o = os[k - n + i];
        int64_t total = s.strides[i] * (sh[2 + i] - 1) + op_pad[i] +
                        ((s.kernel[i] - 1) * s.dil[i] + 1) - o;
        if (total < 0) {
          op_pad[i] += -total;
          total = 0;
        }
        const char *ap = ox_attr_str(c, "auto_pad", "NOTSET");
        bool lower = !strcmp(ap, "SAME_LOWER");
        s.pads[i] = lower ? total - total / 2 : total / 2;
        s.pads[n + i] = total - s.pads[i];
      }
      set_spatial(c, at, &s, true);
    }
    ox_set_ints(c, at, "output_padding", op_pad, n);
    snprintf(op, sizeof op, "nn.conv%dd_transpose", n);
  } else {
    snprintf(op, sizeof op, "nn.conv%dd", n);
  }
  ox_out(c, 0, add_bias(c, ox_call2(c, op, x, w, at), b, nd));
}
static void cv_conv(ox_ctx *c) { conv_like(c, false); }
static void cv_conv_transpose(ox_ctx *c) { conv_like(c, true); }

static void pool(ox_ctx *c, bool max) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  int n = nd - 2;
  if (n < 1 || n > 3)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%dD pooling is not supported", n);
  if (ox_n_outputs(c) > 1 && c->node->output[1] && *c->node->output[1])
    ox_fail(c, TS_ERR_UNSUPPORTED, "the Indices output is not supported");
  if (ox_attr_int(c, "storage_order", 0))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute storage_order=1");
  spatial s;
  read_spatial(c, x, NULL, n, &s, false);
  ts_attrs *at = ox_attrs(c);
  ox_set_ints(c, at, "pool_size", s.kernel, n);
  set_spatial(c, at, &s, true);
  ox_set_bool(c, at, "ceil_mode", ox_attr_int(c, "ceil_mode", 0) != 0);
  if (!max)
    ox_set_bool(c, at, "count_include_pad",
                ox_attr_int(c, "count_include_pad", 0) != 0);
  ox_set_str(c, at, "layout", layout_for(n, false, false));
  char op[32];
  snprintf(op, sizeof op, "nn.%s_pool%dd", max ? "max" : "avg", n);
  ox_out(c, 0, ox_call1(c, op, x, at));
}
static void cv_max_pool(ox_ctx *c) { pool(c, true); }
static void cv_avg_pool(ox_ctx *c) { pool(c, false); }

static void global_pool(ox_ctx *c, const char *op) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  if (nd < 3)
    ox_fail(c, TS_ERR_TYPE, "the input must have rank 3 or more, not %d", nd);
  int64_t axes[TS_MAX_NDIM];
  for (int i = 2; i < nd; i++)
    axes[i - 2] = i;
  ox_out(c, 0, reduce(c, op, x, axes, nd - 2, true));
}
static void cv_global_avg_pool(ox_ctx *c) { global_pool(c, "mean"); }
static void cv_global_max_pool(ox_ctx *c) { global_pool(c, "max"); }

/* ---- misc ------------------------------------------------------------------------------ */

static void cv_one_hot(ox_ctx *c) {
  ts_gexpr *idx = in0(c), *depth = ox_in_req(c, 1), *vals = ox_in_req(c, 2);
  if (!ox_is_const(depth) || !ox_is_const(vals) || ox_const_numel(vals) != 2)
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "depth and values are not known at import time (unsupported: "
            "they must be constants with 2 values)");
  int64_t d = (int64_t)ox_const_get_f64(depth, 0);
  int nd = ox_ndim(c, idx);
  int axis = norm_axis(c, ox_attr_int(c, "axis", -1), nd + 1, "axis");
  /* where(equal(floor_mod(idx, d) as (.., 1, ..), arange(d) as (.., d, ..)),
   * on, off) */
  ts_gexpr *ar = ox_const_new(c, ox_dtype(c, idx), 1, &d, NULL);
  for (int64_t i = 0; i < d; i++)
    ox_const_set_f64(ar, i, (double)i);
  int64_t ash[TS_MAX_NDIM];
  for (int i = 0; i <= nd; i++)
    ash[i] = i == axis ? d : 1;
  ar = ox_const_reshape(c, ar, nd + 1, ash);
  ts_expr **sh = ox_shape(c, idx);
  ts_expr **ish = ts_arena_array(c->a, (size_t)nd + 1, sizeof *ish);
  for (int i = 0, k = 0; i <= nd; i++)
    ish[i] = i == axis ? i64(c, 1) : sh[k++];
  ts_gexpr *m = ox_call2(c, "floor_mod", idx, scalar_like(c, idx, (double)d),
                         NULL);
  ts_gexpr *eq = ox_call2(c, "equal", reshape_to(c, m, ish, nd + 1), ar, NULL);
  ts_dtype vt = ox_dtype(c, vals);
  ts_gexpr *args[3] = {eq, ox_const_scalar(c, vt, ox_const_get_f64(vals, 1)),
                       ox_const_scalar(c, vt, ox_const_get_f64(vals, 0))};
  ox_out(c, 0, ox_call(c, "where", args, 3, NULL));
}

static void cv_cumsum(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int n;
  int64_t *ax = ox_const_ints(c, ox_in_req(c, 1), "input axis", &n);
  if (n != 1)
    ox_fail(c, TS_ERR_VALUE, "axis must have one value");
  if (ox_attr_int(c, "reverse", 0))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute reverse=1");
  ts_attrs *at = ox_attrs(c);
  ox_set_int(c, at, "axis", norm_axis(c, ax[0], ox_ndim(c, x), "axis"));
  ox_set_bool(c, at, "exclusive", ox_attr_int(c, "exclusive", 0) != 0);
  ox_out(c, 0, ox_call1(c, "cumsum", x, at));
}

static void cv_resize(ox_ctx *c) {
  ts_gexpr *x = in0(c);
  int nd = ox_ndim(c, x);
  if (nd != 4)
    ox_fail(c, TS_ERR_UNSUPPORTED, "Resize of a rank-%d tensor (only 4-D)", nd);
  int64_t sh[TS_MAX_NDIM];
  if (!ox_static_shape(c, x, sh))
    ox_fail(c, TS_ERR_UNSUPPORTED, "Resize needs a static input shape");
  int64_t size[2];
  if (ox_attr(c, "axes") ||
      strcmp(ox_attr_str(c, "keep_aspect_ratio_policy", "stretch"), "stretch"))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "unsupported attribute axes / keep_aspect_ratio_policy");
  ts_gexpr *scales = c->opset >= 11 ? ox_in(c, 2) : ox_in(c, 1);
  ts_gexpr *sizes = c->opset >= 11 ? ox_in(c, 3) : NULL;
  if (scales && ox_is_const(scales) && ox_const_numel(scales) == 0)
    scales = NULL;
  if (sizes) {
    int n;
    int64_t *v = ox_const_ints(c, sizes, "input sizes", &n);
    if (n != 4 || v[0] != sh[0] || v[1] != sh[1])
      ox_fail(c, TS_ERR_UNSUPPORTED,
              "unsupported: Resize of other than the spatial dimensions");
    size[0] = v[2];
    size[1] = v[3];
  } else if (scales) {
    if (!ox_is_const(scales) || ox_const_numel(scales) != 4)
      ox_fail(c, TS_ERR_UNSUPPORTED,
              "scales are not known at import time (unsupported: they must "
              "be 4 constants)");
    if (ox_const_get_f64(scales, 0) != 1 || ox_const_get_f64(scales, 1) != 1)
      ox_fail(c, TS_ERR_UNSUPPORTED,
              "unsupported: Resize of other than the spatial dimensions");
    size[0] = (int64_t)floor((double)sh[2] * ox_const_get_f64(scales, 2));
    size[1] = (int64_t)floor((double)sh[3] * ox_const_get_f64(scales, 3));
  } else {
    ox_fail(c, TS_ERR_VALUE, "Resize needs scales or sizes");
  }
  const char *mode = ox_attr_str(c, "mode", "nearest");
  const char *ctm = ox_attr_str(c, "coordinate_transformation_mode",
                                "half_pixel");
  const char *nm = ox_attr_str(c, "nearest_mode", "round_prefer_floor");
  if (!strcmp(ctm, "tf_crop_and_resize"))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "unsupported attribute coordinate_transformation_mode='%s'", ctm);
  if (ox_attr_int(c, "antialias", 0))
    ox_fail(c, TS_ERR_UNSUPPORTED, "unsupported attribute antialias=1");
  ts_attrs *at = ox_attrs(c);
  ox_set_str(c, at, "layout", "NCHW");
  ox_set_str(c, at, "method",
             !strcmp(mode, "nearest")  ? "nearest_neighbor"
             : !strcmp(mode, "linear") ? "linear"
                                       : "cubic");
  ox_set_str(c, at, "coordinate_transformation_mode", ctm);
  ox_set_str(c, at, "rounding_method", nm);
  ox_set_float(c, at, "cubic_alpha", ox_attr_float(c, "cubic_coeff_a", -0.75));
  ox_set_int(c, at, "cubic_exclude", ox_attr_int(c, "exclude_outside", 0));
  ox_set_float(c, at, "extrapolation_value",
               ox_attr_float(c, "extrapolation_value", 0.0));
  ts_expr *d[2] = {i64(c, size[0]), i64(c, size[1])};
  ox_out(c, 0, ox_call2(c, "image.resize2d", x, ox_shape_value(c, d, 2), at));
}

/* ---- the table ----------------------------------------------------------------------- */

static const struct {
  const char *name;
  ox_convert_fn fn;
} table[] = {
    {"Abs", cv_abs},
    {"Acos", cv_acos},
    {"Acosh", cv_acosh},
    {"Add", cv_add},
    {"And", cv_and},
    {"ArgMax", cv_argmax},
    {"ArgMin", cv_argmin},
    {"Asin", cv_asin},
    {"Asinh", cv_asinh},
    {"Atan", cv_atan},
    {"Atanh", cv_atanh},
    {"AveragePool", cv_avg_pool},
    {"BatchNormalization", cv_batch_norm},
    {"BitwiseAnd", cv_bitwise_and},
    {"BitwiseNot", cv_bitwise_not},
    {"BitwiseOr", cv_bitwise_or},
    {"BitwiseXor", cv_bitwise_xor},
    {"Cast", cv_cast},
    {"CastLike", cv_cast_like},
    {"Ceil", cv_ceil},
    {"Celu", cv_celu},
    {"Clip", cv_clip},
    {"Concat", cv_concat},
    {"Constant", cv_constant},
    {"ConstantOfShape", cv_constant_of_shape},
    {"Conv", cv_conv},
    {"ConvTranspose", cv_conv_transpose},
    {"Cos", cv_cos},
    {"Cosh", cv_cosh},
    {"CumSum", cv_cumsum},
    {"Div", cv_div},
    {"Dropout", cv_dropout},
    {"Elu", cv_elu},
    {"Equal", cv_equal},
    {"Erf", cv_erf},
    {"Exp", cv_exp},
    {"Expand", cv_expand},
    {"Flatten", cv_flatten},
    {"Floor", cv_floor},
    {"Gather", cv_gather},
    {"GatherElements", cv_gather_elements},
    {"Gelu", cv_gelu},
    {"Gemm", cv_gemm},
    {"GlobalAveragePool", cv_global_avg_pool},
    {"GlobalMaxPool", cv_global_max_pool},
    {"Greater", cv_greater},
    {"GreaterOrEqual", cv_greater_equal},
    {"GroupNormalization", cv_group_norm},
    {"HardSigmoid", cv_hard_sigmoid},
    {"HardSwish", cv_hard_swish},
    {"Identity", cv_identity},
    {"InstanceNormalization", cv_instance_norm},
    {"IsInf", cv_isinf},
    {"IsNaN", cv_isnan},
    {"LRN", cv_lrn},
    {"LayerNormalization", cv_layer_norm},
    {"LeakyRelu", cv_leaky_relu},
    {"Less", cv_less},
    {"LessOrEqual", cv_less_equal},
    {"Log", cv_log},
    {"LogSoftmax", cv_log_softmax},
    {"MatMul", cv_matmul},
    {"Max", cv_max},
    {"MaxPool", cv_max_pool},
    {"Mean", cv_mean},
    {"Min", cv_min},
    {"Mish", cv_mish},
    {"Mod", cv_mod},
    {"Mul", cv_mul},
    {"Neg", cv_neg},
    {"Not", cv_not},
    {"OneHot", cv_one_hot},
    {"Or", cv_or},
    {"PRelu", cv_prelu},
    {"Pad", cv_pad},
    {"Pow", cv_pow},
    {"Range", cv_range},
    {"Reciprocal", cv_reciprocal},
    {"ReduceL1", cv_reduce_l1},
    {"ReduceL2", cv_reduce_l2},
    {"ReduceLogSum", cv_reduce_logsum},
    {"ReduceLogSumExp", cv_reduce_logsumexp},
    {"ReduceMax", cv_reduce_max},
    {"ReduceMean", cv_reduce_mean},
    {"ReduceMin", cv_reduce_min},
    {"ReduceProd", cv_reduce_prod},
    {"ReduceSum", cv_reduce_sum},
    {"ReduceSumSquare", cv_reduce_sumsq},
    {"Relu", cv_relu},
    {"Reshape", cv_reshape},
    {"Resize", cv_resize},
    {"Round", cv_round},
    {"Selu", cv_selu},
    {"Shape", cv_shape},
    {"Sigmoid", cv_sigmoid},
    {"Sign", cv_sign},
    {"Sin", cv_sin},
    {"Sinh", cv_sinh},
    {"Size", cv_size},
    {"Slice", cv_slice},
    {"Softmax", cv_softmax},
    {"Softplus", cv_softplus},
    {"Softsign", cv_softsign},
    {"Split", cv_split},
    {"Sqrt", cv_sqrt},
    {"Squeeze", cv_squeeze},
    {"Sub", cv_sub},
    {"Sum", cv_sum},
    {"Tan", cv_tan},
    {"Tanh", cv_tanh},
    {"ThresholdedRelu", cv_thresholded_relu},
    {"Tile", cv_tile},
    {"Transpose", cv_transpose},
    {"Unsqueeze", cv_unsqueeze},
    {"Where", cv_where},
    {"Xor", cv_xor},
};

ox_convert_fn ox_converter(const char *op_type) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].name, op_type) == 0)
      return table[i].fn;
  return NULL;
}
