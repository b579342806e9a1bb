/* layout.c: R.reshape(x, shape) (the shape may hold one -1, inferred; only
 * for static shapes), R.permute_dims(x, axes=None) (None reverses the axes)
 * and R.flatten(x) (to 1-D).  Data is moved bytewise, so every dtype is
 * exact. */
#include <string.h>

#include "ops/ops_internal.h"

/* ---- reshape ------------------------------------------------------------- */

/* The new shape's values from argument 1 (R.shape([...]) or a shape var). */
static ts_status *reshape_target(const ts_gexpr *call, ts_expr ***out_vals,
                                 int *out_n) {
  const ts_gexpr *s = call->u.call.args[1];
  if (s->kind == TS_G_SHAPE) {
    *out_vals = s->u.shape.values;
    *out_n = s->u.shape.n;
    return NULL;
  }
  const ts_sinfo *si = ts_ops_arg_sinfo(s);
  if (si && si->kind == TS_SI_SHAPE) {
    *out_vals = si->u.shape.values;
    *out_n = si->u.shape.ndim;
    return NULL;
  }
  ts_strbuf b = {0};
  ts_ops_print_sinfo(&b, si);
  ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                               "operand shape must be a shape, got %s", b.data);
  ts_strbuf_free(&b);
  return st;
}

ts_status *ts_op_infer_RESHAPE(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x;
  ts_expr **vals = NULL;
  int n = 0;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  TS_RETURN_IF_ERROR(reshape_target(call, &vals, &n));
  ts_dtype dt = x->u.tensor.dtype;
  if (!vals) {
    *out = ts_ops_tensor(a, NULL, n, dt);
    return NULL;
  }
  /* static input size, when known */
  bool in_static = x->u.tensor.shape != NULL;
  int64_t in_numel = 1;
  for (int i = 0; in_static && i < x->u.tensor.ndim; i++) {
    int64_t d;
    if (ts_ops_const_int(x->u.tensor.shape[i], &d))
      in_numel *= d;
    else
      in_static = false;
  }
  int infer_at = -1;
  bool out_static = true;
  int64_t out_numel = 1;
  for (int i = 0; i < n; i++) {
    int64_t d;
    if (ts_ops_const_int(vals[i], &d)) {
      if (d == -1) {
        if (infer_at >= 0)
          return ts_ops_error(call, TS_ERR_VALUE,
                              "the new shape has more than one -1");
        infer_at = i;
      } else if (d < 0) {
        return ts_ops_error(call, TS_ERR_VALUE,
                            "the new shape has a negative dimension %lld",
                            (long long)d);
      } else {
        out_numel *= d;
      }
    } else {
      out_static = false;
    }
  }
  ts_expr **sh = ts_arena_array(a, n ? (size_t)n : 1, sizeof(*sh));
  for (int i = 0; i < n; i++)
    sh[i] = vals[i];
  ts_strbuf b1 = {0}, b2 = {0};
  ts_ops_print_sinfo(&b1, x);
  ts_ops_print_shape(&b2, vals, n);
  ts_status *st = NULL;
  if (infer_at >= 0) {
    if (!in_static || !out_static)
      st = ts_ops_error(call, TS_ERR_VALUE,
                        "-1 in the new shape %s needs static shapes, x is %s",
                        b2.data, b1.data);
    else if (out_numel == 0 || in_numel % out_numel != 0)
      st = ts_ops_error(call, TS_ERR_VALUE, "cannot reshape %s to %s", b1.data,
                        b2.data);
    else
      sh[infer_at] = ts_ops_int64(a, in_numel / out_numel);
  } else if (in_static && out_static && in_numel != out_numel) {
    st = ts_ops_error(call, TS_ERR_VALUE, "cannot reshape %s to %s", b1.data,
                      b2.data);
  }
  ts_strbuf_free(&b1);
  ts_strbuf_free(&b2);
  if (st)
    return st;
  *out = ts_ops_tensor(a, sh, n, dt);
  return NULL;
}

static ts_status *copy_into(const ts_gexpr *call, ts_ndarray *x, int nd,
                            const int64_t *shape, ts_ndarray **out) {
  TS_RETURN_IF_ERROR(
      ts_ops_new_array(call, nd, shape, ts_ndarray_dtype(x), out));
  TS_ASSERT(ts_ndarray_nbytes(*out) == ts_ndarray_nbytes(x));
  if (ts_ndarray_nbytes(x))
    memcpy(ts_ndarray_data(*out), ts_ndarray_data(x), ts_ndarray_nbytes(x));
  return NULL;
}

ts_status *ts_op_eval_RESHAPE(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 2);
  ts_ndarray *x = args[0], *s = args[1];
  char b[128];
  if (ts_ndarray_ndim(s) != 1 || ts_ndarray_numel(s) > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "bad target shape");
  int n = (int)ts_ndarray_numel(s), infer_at = -1;
  int64_t shape[TS_MAX_NDIM], numel = 1;
  for (int i = 0; i < n; i++) {
    shape[i] = ts_ndarray_get_i64(s, i);
    if (shape[i] == -1 && infer_at < 0)
      infer_at = i;
    else if (shape[i] < 0)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "bad dimension %lld in the new "
                          "shape",
                          (long long)shape[i]);
    else
      numel *= shape[i];
  }
  int64_t in = ts_ndarray_numel(x);
  if (infer_at >= 0) {
    if (numel == 0 || in % numel != 0)
      return ts_ops_error(call, TS_ERR_VALUE, "cannot reshape %s",
                          ts_ndarray_describe(x, b, sizeof b));
    shape[infer_at] = in / numel;
    numel = in;
  }
  if (numel != in)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "cannot reshape %s to %lld elements",
                        ts_ndarray_describe(x, b, sizeof b), (long long)numel);
  return copy_into(call, x, n, shape, out);
}

/* ---- permute_dims ---------------------------------------------------------
 */

/* Reads `axes` (None: reversed) into perm[ndim], checked. */
static ts_status *perm_axes(const ts_gexpr *call, int nd, int *perm) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axes");
  if (!v || v->kind == TS_ATTR_NONE) {
    for (int i = 0; i < nd; i++)
      perm[i] = nd - 1 - i;
    return NULL;
  }
  if (v->kind != TS_ATTR_LIST)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "attribute axes must be a list of integers");
  if (v->u.list.n != nd)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "axes has %d entries for a tensor of rank %d",
                        v->u.list.n, nd);
  bool seen[64] = {0};
  for (int i = 0; i < nd; i++) {
    const ts_attr_value *it = v->u.list.items[i];
    int64_t ax = 0;
    if (it->kind == TS_ATTR_INT)
      ax = it->u.i;
    else if (!(it->kind == TS_ATTR_EXPR && ts_ops_const_int(it->u.expr, &ax)))
      return ts_ops_error(call, TS_ERR_VALUE,
                          "attribute axes must be a list of integers");
    if (ax < -nd || ax >= nd)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "axis %lld is out of range for a tensor of rank %d",
                          (long long)ax, nd);
    if (ax < 0)
      ax += nd;
    if (seen[ax])
      return ts_ops_error(call, TS_ERR_VALUE, "axis %lld appears twice",
                          (long long)ax);
    seen[ax] = true;
    perm[i] = (int)ax;
  }
  return NULL;
}

ts_status *ts_op_infer_PERMUTE_DIMS(ts_arena *a, const ts_gexpr *call,
                                    ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim;
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, -1, x->u.tensor.dtype);
    return NULL;
  }
  if (nd > 64)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  int perm[64];
  TS_RETURN_IF_ERROR(perm_axes(call, nd, perm));
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nd, x->u.tensor.dtype);
    return NULL;
  }
  ts_expr *sh[64];
  for (int i = 0; i < nd; i++)
    sh[i] = x->u.tensor.shape[perm[i]];
  *out = ts_ops_tensor(a, sh, nd, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_PERMUTE_DIMS(const ts_gexpr *call, ts_ndarray **args,
                                   int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  if (nd > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  int perm[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(perm_axes(call, nd, perm));
  const int64_t *s = ts_ndarray_shape(x);
  int64_t shape[TS_MAX_NDIM], istride[TS_MAX_NDIM], idx[TS_MAX_NDIM];
  int64_t st = 1;
  for (int i = nd - 1; i >= 0; i--) {
    istride[i] = st;
    st *= s[i];
  }
  for (int i = 0; i < nd; i++) {
    shape[i] = s[perm[i]];
    idx[i] = 0;
  }
  ts_dtype dt = ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  size_t es = ts_dtype_bytes(dt);
  const char *src = ts_ndarray_data(x);
  char *dst = ts_ndarray_data(*out);
  int64_t n = ts_ndarray_numel(*out);
  for (int64_t i = 0; i < n; i++) {
    int64_t off = 0;
    for (int k = 0; k < nd; k++)
      off += idx[k] * istride[perm[k]];
    memcpy(dst + (size_t)i * es, src + (size_t)off * es, es);
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
  return NULL;
}

/* ---- flatten --------------------------------------------------------------
 */

ts_status *ts_op_infer_FLATTEN(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, 1, x->u.tensor.dtype);
    return NULL;
  }
  int nd = x->u.tensor.ndim;
  int64_t cst = 1;
  ts_expr *sym = NULL;
  for (int i = 0; i < nd; i++) {
    int64_t d;
    ts_expr *e = x->u.tensor.shape[i];
    if (ts_ops_const_int(e, &d))
      cst *= d;
    else
      sym = sym ? ts_binary(a, TS_E_MUL, sym, e) : e;
  }
  ts_expr *n = ts_ops_int64(a, cst);
  if (sym)
    n = cst == 1 ? sym : ts_binary(a, TS_E_MUL, sym, n);
  *out = ts_ops_tensor(a, &n, 1, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_FLATTEN(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  int64_t n = ts_ndarray_numel(args[0]);
  return copy_into(call, args[0], 1, &n, out);
}
