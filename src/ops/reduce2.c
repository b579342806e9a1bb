/* reduce2.c: the section-A reductions R.min and R.prod (attributes axis: an
 * int, a list of ints or None = all; keepdims, default False; dtype kept,
 * struct info exactly as R.sum) and R.argmax / R.argmin (TVM: axis an int
 * or None = over the flattened tensor; keepdims; int64 result holding the
 * index of the first extreme element; NaN counts as the extreme, as in
 * NumPy, in the reference evaluation).
 *
 * Legalization: min/prod are one reduction stage (T_min / T_prod).  argmax
 * is two stages instead of TOPI's tuple reduction: the extreme value
 * (T_max/T_min), then the smallest index whose element equals it
 * (T_argmax/T_argmin, a min-reduction over Select(x == extreme, index,
 * INT64_MAX)); they agree with the evaluation except on NaN inputs. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "ops/te.h"

typedef enum { R_MIN, R_PROD, R_ARGMAX, R_ARGMIN } rkind;

static rkind kind_of(int op) {
  switch (op) {
  case TS_OP_MIN: return R_MIN;
  case TS_OP_PROD: return R_PROD;
  case TS_OP_ARGMAX: return R_ARGMAX;
  default: return R_ARGMIN;
  }
}

/* ---- inference ----------------------------------------------------------- */

/* argmax/argmin: axis must be an int or None. */
static ts_status *arg_axis(const ts_gexpr *call, int ndim, bool *mask) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  if (v && v->kind == TS_ATTR_LIST)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "axis must be an integer or None, got a list");
  return ts_ops_attr_axes(call, "axis", ndim, mask);
}

static ts_status *infer_arg(ts_arena *a, const ts_gexpr *call,
                            ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  bool keepdims;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &keepdims));
  int nd = x->u.tensor.ndim;
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  bool all = !v || v->kind == TS_ATTR_NONE;
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, (all && !keepdims) ? 0 : -1, TS_I64);
    return NULL;
  }
  if (nd > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  bool mask[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(arg_axis(call, nd, mask));
  int on = 0;
  for (int i = 0; i < nd; i++)
    if (keepdims || !mask[i]) on++;
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, on, TS_I64);
    return NULL;
  }
  ts_expr **sh = ts_arena_array(a, on ? (size_t)on : 1, sizeof(*sh));
  int k = 0;
  for (int i = 0; i < nd; i++) {
    if (!mask[i]) sh[k++] = x->u.tensor.shape[i];
    else if (keepdims) sh[k++] = ts_ops_int64(a, 1);
  }
  *out = ts_ops_tensor(a, sh, on, TS_I64);
  return NULL;
}

ts_status *ts_op_infer_MIN(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  return ts_op_infer_SUM(a, call, out); /* same rules; messages say R.min */
}
ts_status *ts_op_infer_PROD(ts_arena *a, const ts_gexpr *call,
                            ts_sinfo **out) {
  return ts_op_infer_SUM(a, call, out);
}
ts_status *ts_op_infer_ARGMAX(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  return infer_arg(a, call, out);
}
ts_status *ts_op_infer_ARGMIN(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  return infer_arg(a, call, out);
}

/* ---- evaluation ----------------------------------------------------------- */

static ts_status *eval_reduce_a(const ts_gexpr *call, ts_ndarray **args,
                                int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  rkind kind = kind_of(call->u.call.op);
  bool is_arg = kind == R_ARGMAX || kind == R_ARGMIN;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  const int64_t *s = ts_ndarray_shape(x);
  if (nd > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  bool mask[TS_MAX_NDIM], keepdims;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &keepdims));
  if (is_arg) TS_RETURN_IF_ERROR(arg_axis(call, nd, mask));
  else TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, mask));
  int64_t oshape[TS_MAX_NDIM], ostride[TS_MAX_NDIM], rstride[TS_MAX_NDIM],
      idx[TS_MAX_NDIM];
  int on = 0;
  for (int i = 0; i < nd; i++) {
    if (!mask[i]) oshape[on++] = s[i];
    else if (keepdims) oshape[on++] = 1;
  }
  ts_dtype dt = is_arg ? TS_I64 : ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, on, oshape, dt, out));
  int64_t so = 1, sr = 1;
  for (int i = nd - 1; i >= 0; i--) {
    ostride[i] = mask[i] ? 0 : so;
    rstride[i] = mask[i] ? sr : 0;
    if (mask[i]) sr *= s[i];
    else so *= s[i];
    idx[i] = 0;
  }
  int64_t n_out = ts_ndarray_numel(*out), n_in = ts_ndarray_numel(x);
  if (n_in == 0 && (kind == R_MIN || is_arg) && n_out > 0) {
    ts_ndarray_release(*out);
    *out = NULL;
    return ts_ops_error(call, TS_ERR_VALUE,
                        "reduction over an empty axis has no identity");
  }
  size_t cnt = (size_t)(n_out ? n_out : 1);
  double *acc = ts_xmalloc(cnt * sizeof(double));
  int64_t *pos = ts_xcalloc(cnt, sizeof(int64_t));
  bool *seen = ts_xcalloc(cnt, sizeof(bool));
  for (int64_t i = 0; i < n_out; i++)
    acc[i] = kind == R_PROD ? 1 : kind == R_MIN ? INFINITY : 0;
  for (int64_t i = 0; i < n_in; i++) {
    int64_t o = 0, r = 0;
    for (int k = 0; k < nd; k++) {
      o += idx[k] * ostride[k];
      r += idx[k] * rstride[k];
    }
    double v = ts_ndarray_get_f64(x, i);
    switch (kind) {
    case R_MIN:
      if (v < acc[o] || isnan(v)) acc[o] = v;
      break;
    case R_PROD: acc[o] *= v; break;
    case R_ARGMAX:
    case R_ARGMIN: {
      bool better = !seen[o] ||
                    (!isnan(acc[o]) &&
                     (isnan(v) || (kind == R_ARGMAX ? v > acc[o] : v < acc[o])));
      if (better) {
        acc[o] = v;
        pos[o] = r;
        seen[o] = true;
      }
      break;
    }
    }
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < s[k]) break;
      idx[k] = 0;
    }
  }
  for (int64_t i = 0; i < n_out; i++) {
    if (is_arg) ts_ndarray_set_i64(*out, i, pos[i]);
    else ts_ndarray_set_f64(*out, i, acc[i]);
  }
  free(acc);
  free(pos);
  free(seen);
  return NULL;
}

ts_status *ts_op_eval_MIN(const ts_gexpr *call, ts_ndarray **args, int n_args,
                          ts_ndarray **out) {
  return eval_reduce_a(call, args, n_args, out);
}
ts_status *ts_op_eval_PROD(const ts_gexpr *call, ts_ndarray **args, int n_args,
                           ts_ndarray **out) {
  return eval_reduce_a(call, args, n_args, out);
}
ts_status *ts_op_eval_ARGMAX(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  return eval_reduce_a(call, args, n_args, out);
}
ts_status *ts_op_eval_ARGMIN(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  return eval_reduce_a(call, args, n_args, out);
}

/* ---- legalization ----------------------------------------------------------- */

typedef struct rctx {
  ts_buffer *in, *ext; /* input; the extreme values (argmax/argmin) */
  bool mask[TS_MAX_NDIM];
  bool keepdims;
  int out_ndim;
} rctx;

/* The largest (or smallest) value of a dtype, as a reduction's identity. */
static ts_expr *extreme(ts_arena *a, ts_dtype t, bool largest) {
  if (ts_dtype_is_float(t)) return ts_float(a, t, largest ? INFINITY : -INFINITY);
  if (ts_dtype_is_bool(t)) return ts_bool(a, largest);
  if (t.code == TS_UINT) {
    uint64_t mx = t.bits >= 64 ? UINT64_MAX : ((uint64_t)1 << t.bits) - 1;
    return ts_int(a, t, largest ? (int64_t)mx : 0);
  }
  int64_t mx = t.bits >= 64 ? INT64_MAX : (((int64_t)1 << (t.bits - 1)) - 1);
  return ts_int(a, t, largest ? mx : -mx - 1);
}

/* The input element for output index sp and reduction index rd. */
static ts_expr *input_at(te_builder *b, rctx *c, ts_expr **sp, ts_expr **rd) {
  ts_arena *a = te_arena(b);
  int nd = c->in->ndim, si = 0, ri = 0;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++) {
    if (c->mask[d]) {
      idx[d] = rd[ri++];
      if (c->keepdims) si++;
    } else {
      idx[d] = sp[si++];
    }
  }
  return ts_load(a, c->in, idx, nd);
}

static ts_expr *value_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                           void *vc) {
  return input_at(b, vc, sp, rd);
}

/* Select(x == extreme, flat reduction index, INT64_MAX) */
static ts_expr *index_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                           void *vc) {
  rctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = input_at(b, c, sp, rd);
  ts_expr *m = ts_load(a, c->ext, sp, c->out_ndim);
  ts_expr *flat = NULL;
  int ri = 0;
  for (int d = 0; d < c->in->ndim; d++) {
    if (!c->mask[d]) continue;
    ts_expr *r = rd[ri++];
    if (!ts_dtype_eq(r->dtype, TS_I64)) r = ts_cast(a, TS_I64, r);
    ts_expr *ext = c->in->shape[d];
    if (!ts_dtype_eq(ext->dtype, TS_I64)) ext = ts_cast(a, TS_I64, ext);
    flat = flat ? ts_binary(a, TS_E_ADD, ts_binary(a, TS_E_MUL, flat, ext), r)
                : r;
  }
  if (!flat) flat = ts_int(a, TS_I64, 0);
  return ts_select(a, ts_binary(a, TS_E_EQ, x, m), flat,
                   ts_int(a, TS_I64, INT64_MAX));
}

static ts_status *legalize_reduce_a(struct te_builder *b, const ts_gexpr *call,
                                    ts_buffer *const *in, int n_in,
                                    const ts_sinfo *out, const char **out_name) {
  (void)out_name;
  TS_ASSERT(n_in >= 1);
  ts_arena *a = te_arena(b);
  rctx *c = ts_arena_alloc(a, sizeof *c);
  rkind kind = kind_of(call->u.call.op);
  c->in = in[0];
  c->out_ndim = out->u.tensor.ndim;
  int nd = c->in->ndim;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &c->keepdims));
  if (kind == R_ARGMAX || kind == R_ARGMIN)
    TS_RETURN_IF_ERROR(arg_axis(call, nd, c->mask));
  else
    TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, c->mask));
  ts_expr *ext[TS_MAX_NDIM];
  int nr = 0;
  for (int d = 0; d < nd; d++)
    if (c->mask[d]) ext[nr++] = c->in->shape[d];
  ts_dtype it = c->in->dtype;
  if (kind == R_MIN || kind == R_PROD) {
    const char *bn = kind == R_MIN ? "T_min" : "T_prod";
    ts_buffer *res = te_output(b, bn, out->u.tensor.shape, c->out_ndim, it);
    ts_expr *init = kind == R_MIN ? extreme(a, it, true)
                    : ts_dtype_is_float(it) ? ts_float(a, it, 1)
                                            : ts_int(a, it, 1);
    te_reduce(b, bn, res, nr, ext, init, kind == R_MIN ? TS_E_MIN : TS_E_MUL,
              value_body, c);
    return NULL;
  }
  bool is_max = kind == R_ARGMAX;
  const char *bn = is_max ? "T_argmax" : "T_argmin";
  ts_buffer *res = te_output(b, bn, out->u.tensor.shape, c->out_ndim, TS_I64);
  c->ext = te_temp(b, is_max ? "T_max" : "T_min", res->shape, c->out_ndim, it);
  te_reduce(b, is_max ? "T_max" : "T_min", c->ext, nr, ext,
            extreme(a, it, !is_max), is_max ? TS_E_MAX : TS_E_MIN, value_body,
            c);
  te_reduce(b, bn, res, nr, ext, ts_int(a, TS_I64, INT64_MAX), TS_E_MIN,
            index_body, c);
  return NULL;
}

ts_status *ts_op_legalize_MIN(struct te_builder *b, const ts_gexpr *call,
                              ts_buffer *const *in, int n_in,
                              const ts_sinfo *out, const char **out_name) {
  return legalize_reduce_a(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_PROD(struct te_builder *b, const ts_gexpr *call,
                               ts_buffer *const *in, int n_in,
                               const ts_sinfo *out, const char **out_name) {
  return legalize_reduce_a(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_ARGMAX(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  return legalize_reduce_a(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_ARGMIN(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  return legalize_reduce_a(b, call, in, n_in, out, out_name);
}
