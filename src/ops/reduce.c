/* reduce.c: R.nn.softmax (attribute axis, default -1) and the reductions
 * R.sum / R.mean / R.max (attributes axis: int, list of ints or None = all;
 * keepdims: bool, default False). */
#include <math.h>
#include <stdlib.h>

#include "ops/ops_internal.h"

/* ---- softmax --------------------------------------------------------------
 */

ts_status *ts_op_infer_SOFTMAX(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  int nd = x->u.tensor.ndim;
  if (x->u.tensor.dtype.code != TS_VOID &&
      !ts_dtype_is_float(x->u.tensor.dtype)) {
    char b[32];
    return ts_ops_error(call, TS_ERR_TYPE, "requires a float tensor, got %s",
                        ts_dtype_str(x->u.tensor.dtype, b));
  }
  if (nd >= 0) {
    int64_t axis;
    TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", -1, &axis));
    if (axis < -nd || axis >= nd)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "axis %lld is out of range for a tensor of rank %d",
                          (long long)axis, nd);
  }
  *out = ts_ops_tensor(a, x->u.tensor.shape, nd, x->u.tensor.dtype);
  return NULL;
}

/* Splits shape around `axis`: outer * len * inner. */
static void split_axis(const ts_ndarray *x, int axis, int64_t *outer,
                       int64_t *len, int64_t *inner) {
  const int64_t *s = ts_ndarray_shape(x);
  int nd = ts_ndarray_ndim(x);
  *outer = *inner = 1;
  for (int i = 0; i < axis; i++)
    *outer *= s[i];
  for (int i = axis + 1; i < nd; i++)
    *inner *= s[i];
  *len = s[axis];
}

ts_status *ts_op_eval_SOFTMAX(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  int64_t axis;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", -1, &axis));
  if (axis < -nd || axis >= nd)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "axis %lld is out of range for a tensor of rank %d",
                        (long long)axis, nd);
  if (axis < 0)
    axis += nd;
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, ts_ndarray_shape(x),
                                      ts_ndarray_dtype(x), out));
  int64_t outer, len, inner;
  split_axis(x, (int)axis, &outer, &len, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; k++) {
        double v = ts_ndarray_get_f64(x, base + k * inner);
        if (v > mx)
          mx = v;
      }
      for (int64_t k = 0; k < len; k++)
        sum += exp(ts_ndarray_get_f64(x, base + k * inner) - mx);
      for (int64_t k = 0; k < len; k++)
        ts_ndarray_set_f64(*out, base + k * inner,
                           exp(ts_ndarray_get_f64(x, base + k * inner) - mx) /
                               sum);
    }
  return NULL;
}

/* ---- sum / mean / max -----------------------------------------------------
 */

static ts_status *infer_reduce(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  bool keepdims;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &keepdims));
  int nd = x->u.tensor.ndim;
  ts_dtype dt = x->u.tensor.dtype;
  if (nd < 0) {
    const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
    bool all = !v || v->kind == TS_ATTR_NONE;
    *out = ts_ops_tensor(a, NULL, (all && !keepdims) ? 0 : -1, dt);
    return NULL;
  }
  bool mask[TS_MAX_NDIM > 64 ? TS_MAX_NDIM : 64];
  if (nd > 64)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, mask));
  int on = 0;
  for (int i = 0; i < nd; i++)
    if (keepdims || !mask[i])
      on++;
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, on, dt);
    return NULL;
  }
  ts_expr **sh = ts_arena_array(a, on ? (size_t)on : 1, sizeof(*sh));
  int k = 0;
  for (int i = 0; i < nd; i++) {
    if (!mask[i])
      sh[k++] = x->u.tensor.shape[i];
    else if (keepdims)
      sh[k++] = ts_ops_int64(a, 1);
  }
  *out = ts_ops_tensor(a, sh, on, dt);
  return NULL;
}

typedef enum { RED_SUM, RED_MEAN, RED_MAX } red_kind;

static ts_status *eval_reduce(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out, red_kind kind) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  const int64_t *s = ts_ndarray_shape(x);
  if (nd > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  bool mask[TS_MAX_NDIM], keepdims;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &keepdims));
  TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, mask));
  int64_t oshape[TS_MAX_NDIM], ostride[TS_MAX_NDIM], idx[TS_MAX_NDIM];
  int on = 0;
  for (int i = 0; i < nd; i++) {
    if (!mask[i])
      oshape[on++] = s[i];
    else if (keepdims)
      oshape[on++] = 1;
  }
  TS_RETURN_IF_ERROR(
      ts_ops_new_array(call, on, oshape, ts_ndarray_dtype(x), out));
  /* stride in the output of each input dimension (0 for reduced ones) */
  int64_t st = 1, count = 1;
  for (int i = nd - 1; i >= 0; i--) {
    ostride[i] = mask[i] ? 0 : st;
    if (!mask[i])
      st *= s[i];
    else
      count *= s[i];
    idx[i] = 0;
  }
  int64_t n_out = ts_ndarray_numel(*out), n_in = ts_ndarray_numel(x);
  double *acc = ts_xmalloc((size_t)(n_out ? n_out : 1) * sizeof(double));
  for (int64_t i = 0; i < n_out; i++)
    acc[i] = kind == RED_MAX ? -INFINITY : 0;
  for (int64_t i = 0; i < n_in; i++) {
    int64_t o = 0;
    for (int k = 0; k < nd; k++)
      o += idx[k] * ostride[k];
    double v = ts_ndarray_get_f64(x, i);
    if (kind == RED_MAX) {
      if (v > acc[o] || isnan(v))
        acc[o] = v;
    } else {
      acc[o] += v;
    }
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < s[k])
        break;
      idx[k] = 0;
    }
  }
  for (int64_t i = 0; i < n_out; i++)
    ts_ndarray_set_f64(*out, i,
                       kind == RED_MEAN ? acc[i] / (double)count : acc[i]);
  free(acc);
  return NULL;
}

ts_status *ts_op_infer_SUM(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  return infer_reduce(a, call, out);
}
ts_status *ts_op_infer_MEAN(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  return infer_reduce(a, call, out);
}
ts_status *ts_op_infer_MAX(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  return infer_reduce(a, call, out);
}
ts_status *ts_op_eval_SUM(const ts_gexpr *call, ts_ndarray **args, int n_args,
                          ts_ndarray **out) {
  return eval_reduce(call, args, n_args, out, RED_SUM);
}
ts_status *ts_op_eval_MEAN(const ts_gexpr *call, ts_ndarray **args, int n_args,
                           ts_ndarray **out) {
  return eval_reduce(call, args, n_args, out, RED_MEAN);
}
ts_status *ts_op_eval_MAX(const ts_gexpr *call, ts_ndarray **args, int n_args,
                          ts_ndarray **out) {
  return eval_reduce(call, args, n_args, out, RED_MAX);
}
