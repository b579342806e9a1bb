/* manip.c: the layout and indexing ops of section B, with TVM Relax's
 * names and attributes, plus the helpers of ops_b.h.
 *
 *   R.squeeze(x, axis=None|[..])        R.expand_dims(x, axis=int|[..])
 *   R.concat((a, b, ...), axis=0)       R.split(x, indices_or_sections, axis=0)
 *   R.strided_slice(x, axes, begin, end, strides=None)  (ONNX Slice clamping;
 *       the lists as attributes or as shape arguments)
 *   R.take(x, indices, axis=None, mode="fast"|"clip"|"wrap")
 *   R.gather_elements(x, indices, axis=0)   R.broadcast_to(x, R.shape([..]))
 *   R.tile(x, repeats)                  R.nn.pad(x, pad_width, pad_value=0.0,
 *                                                pad_mode="constant")
 *   R.one_hot(indices, on_value, off_value, depth, axis=-1)
 *   R.cumsum(x, axis=None, dtype=None, exclusive=False)
 *
 * Evaluation moves elements bytewise where it only moves them (exact for
 * every dtype); indices are read as int64 and a negative index counts from
 * the end (take, gather_elements; "clip" clamps, "wrap" wraps).
 * Legalization is one stage per output, named as TOPI names it (T_squeeze,
 * T_concat, T_strided_slice, T_take, PadInput, ...); cumsum, which TOPI
 * writes as a scan, is a masked reduction here. */
#include <stdlib.h>
#include <string.h>

#include "ops/ops_b.h"

/* ==== helpers (ops_b.h) ================================================== */

static ts_status *int_of(const ts_gexpr *call, const char *key,
                         const ts_attr_value *v, int64_t *out) {
  if (v->kind == TS_ATTR_INT || v->kind == TS_ATTR_BOOL) {
    *out = v->u.i;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && ts_expr_is_const_int(v->u.expr, out))
    return NULL;
  return ts_ops_error(call, TS_ERR_VALUE,
                      "attribute %s must be an integer or a list of integers",
                      key);
}

ts_status *tb_ints(const ts_gexpr *call, const char *key, int argi, int max,
                   int64_t *vals, int *out_n) {
  *out_n = -1;
  if (argi >= 0 && argi < call->u.call.n_args) {
    const ts_gexpr *g = call->u.call.args[argi];
    if (g->kind != TS_G_SHAPE)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "argument %s must be a tuple of integers", key);
    if (g->u.shape.n > max)
      return ts_ops_error(call, TS_ERR_VALUE, "%s has too many values", key);
    for (int i = 0; i < g->u.shape.n; i++)
      if (!ts_expr_is_const_int(g->u.shape.values[i], &vals[i]))
        return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                            "%s must hold integer constants", key);
    *out_n = g->u.shape.n;
    return NULL;
  }
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  if (!v || v->kind == TS_ATTR_NONE)
    return NULL;
  if (v->kind == TS_ATTR_LIST) {
    if (v->u.list.n > max)
      return ts_ops_error(call, TS_ERR_VALUE, "%s has too many values", key);
    for (int i = 0; i < v->u.list.n; i++)
      TS_RETURN_IF_ERROR(int_of(call, key, v->u.list.items[i], &vals[i]));
    *out_n = v->u.list.n;
    return NULL;
  }
  TS_RETURN_IF_ERROR(int_of(call, key, v, &vals[0]));
  *out_n = 1;
  return NULL;
}

ts_status *tb_attr_str(const ts_gexpr *call, const char *key, const char *def,
                       const char **out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  *out = def;
  if (!v || v->kind == TS_ATTR_NONE)
    return NULL;
  if (v->kind != TS_ATTR_STR)
    return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a string",
                        key);
  if (v->u.s[0])
    *out = v->u.s;
  return NULL;
}

ts_status *tb_attr_float(const ts_gexpr *call, const char *key, double def,
                         double *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  *out = def;
  if (!v || v->kind == TS_ATTR_NONE)
    return NULL;
  if (v->kind == TS_ATTR_FLOAT) {
    *out = v->u.f;
    return NULL;
  }
  if (v->kind == TS_ATTR_INT || v->kind == TS_ATTR_BOOL) {
    *out = (double)v->u.i;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && v->u.expr->kind == TS_E_FLOAT) {
    *out = v->u.expr->u.float_value;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && v->u.expr->kind == TS_E_INT) {
    *out = (double)v->u.expr->u.int_value;
    return NULL;
  }
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a number", key);
}

ts_status *tb_attr_dtype(const ts_gexpr *call, const char *key, ts_dtype def,
                         ts_dtype *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  *out = def;
  if (!v || v->kind == TS_ATTR_NONE)
    return NULL;
  if (v->kind == TS_ATTR_DTYPE) {
    if (v->u.dtype.code != TS_VOID)
      *out = v->u.dtype;
    return NULL;
  }
  if (v->kind == TS_ATTR_STR) {
    if (!v->u.s[0])
      return NULL;
    ts_dtype t;
    if (!ts_dtype_parse(v->u.s, &t))
      return ts_ops_error(call, TS_ERR_VALUE, "unknown %s \"%s\"", key, v->u.s);
    if (t.code != TS_VOID)
      *out = t;
    return NULL;
  }
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a dtype", key);
}

ts_status *tb_operand_error(const ts_gexpr *call, ts_status_code code,
                            const char *what, int n, const char *const *names,
                            const ts_sinfo *const *sinfos) {
  ts_strbuf b = {0};
  ts_strbuf_append(&b, what);
  for (int i = 0; i < n; i++) {
    ts_strbuf_printf(&b, "%s%s is ", i ? ", " : ": ", names[i]);
    ts_ops_print_sinfo(&b, sinfos[i]);
  }
  ts_status *st = ts_ops_error(call, code, "%s", b.data);
  ts_strbuf_free(&b);
  return st;
}

char *tb_dim_str(const ts_expr *e) {
  ts_strbuf b = {0};
  ts_ops_print_expr(&b, e);
  return b.data;
}

ts_expr *tb_add_c(ts_arena *a, ts_expr *x, int64_t c) {
  int64_t v;
  if (ts_expr_is_const_int(x, &v))
    return ts_int(a, x->dtype, v + c);
  if (c == 0)
    return x;
  if (c < 0)
    return ts_binary(a, TS_E_SUB, x, ts_int(a, x->dtype, -c));
  return ts_binary(a, TS_E_ADD, x, ts_int(a, x->dtype, c));
}

ts_expr *tb_mul_c(ts_arena *a, ts_expr *x, int64_t c) {
  int64_t v;
  if (ts_expr_is_const_int(x, &v))
    return ts_int(a, x->dtype, v * c);
  if (c == 1)
    return x;
  return ts_binary(a, TS_E_MUL, x, ts_int(a, x->dtype, c));
}

static int64_t floordiv64(int64_t x, int64_t y) {
  int64_t q = x / y;
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}

ts_expr *tb_div_c(ts_arena *a, ts_expr *x, int64_t c) {
  int64_t v;
  if (ts_expr_is_const_int(x, &v))
    return ts_int(a, x->dtype, floordiv64(v, c));
  if (c == 1)
    return x;
  return ts_binary(a, TS_E_FLOORDIV, x, ts_int(a, x->dtype, c));
}

ts_expr *tb_add(ts_arena *a, ts_expr *x, ts_expr *y) {
  int64_t u, v;
  if (ts_expr_is_const_int(x, &u) && ts_expr_is_const_int(y, &v))
    return ts_int(a, x->dtype, u + v);
  if (ts_expr_is_const_int(y, &v))
    return tb_add_c(a, x, v);
  if (ts_expr_is_const_int(x, &u))
    return tb_add_c(a, y, u);
  return ts_binary(a, TS_E_ADD, x, y);
}

ts_status *tb_axis(const ts_gexpr *call, const char *what, int64_t ax, int nd,
                   int *out) {
  if (ax < -nd || ax >= nd)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "%s %lld is out of range for a tensor of rank %d", what,
                        (long long)ax, nd);
  *out = (int)(ax < 0 ? ax + nd : ax);
  return NULL;
}

ts_expr *tb_const(ts_arena *a, ts_dtype t, double v) {
  if (ts_dtype_is_float(t))
    return ts_float(a, t, v);
  if (ts_dtype_is_bool(t))
    return ts_int(a, t, v != 0);
  return ts_int(a, t, (int64_t)v);
}

ts_expr *tb_min_value(ts_arena *a, ts_dtype t) {
  if (ts_dtype_is_float(t))
    return ts_float(a, t, t.bits == 16 ? -65504.0
                          : t.bits == 64 ? -1.7976931348623157e308
                                         : -3.4028234663852886e38);
  if (ts_dtype_is_bool(t) || t.code == TS_UINT)
    return ts_int(a, t, 0);
  return ts_int(a, t, t.bits >= 64 ? INT64_MIN : -((int64_t)1 << (t.bits - 1)));
}

ts_expr *tb_and(ts_arena *a, ts_expr *x, ts_expr *y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return ts_binary(a, TS_E_AND, x, y);
}

ts_expr *tb_if(ts_arena *a, ts_expr *cond, ts_expr *t, ts_expr *f) {
  ts_expr **args = ts_arena_array(a, 3, sizeof(ts_expr *));
  args[0] = cond;
  args[1] = t;
  args[2] = f;
  return ts_call(a, t->dtype, TS_INTRIN_IF_THEN_ELSE, args, 3);
}

ts_expr *tb_idx_c(ts_arena *a, const ts_expr *like, int64_t c) {
  return ts_int(a, like->dtype, c);
}

ts_expr *tb_idx_add(ts_arena *a, ts_expr *idx, int64_t c) {
  if (c == 0)
    return idx;
  if (c < 0)
    return ts_binary(a, TS_E_SUB, idx, ts_int(a, idx->dtype, -c));
  return ts_binary(a, TS_E_ADD, idx, ts_int(a, idx->dtype, c));
}

ts_expr *tb_cast(ts_arena *a, ts_dtype t, ts_expr *x) {
  return ts_dtype_eq(x->dtype, t) ? x : ts_cast(a, t, x);
}

void tb_strides(int nd, const int64_t *shape, int64_t *strides) {
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
}

/* ==== shared pieces of this file ========================================= */

/* Source element of output multi-index idx, or -1 for the fill value. */
typedef int64_t (*src_fn)(const int64_t *idx, void *ctx);

/* Creates out (nd, shape, dtype of x) and copies each element from x at
 * fn(idx); -1 stores `fill`. */
static ts_status *gather_copy(const ts_gexpr *call, ts_ndarray *x, int nd,
                              const int64_t *shape, src_fn fn, void *ctx,
                              double fill, ts_ndarray **out) {
  ts_dtype dt = ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  size_t es = ts_dtype_bytes(dt);
  const char *src = ts_ndarray_data(x);
  char *dst = ts_ndarray_data(*out);
  int64_t n = ts_ndarray_numel(*out), idx[TS_MAX_NDIM] = {0};
  for (int64_t i = 0; i < n; i++) {
    int64_t s = fn(idx, ctx);
    if (s < 0)
      ts_ndarray_set_f64(*out, i, fill);
    else
      memcpy(dst + (size_t)i * es, src + (size_t)s * es, es);
    for (int k = nd - 1; k >= 0; k--) {
      if (++idx[k] < shape[k])
        break;
      idx[k] = 0;
    }
  }
  return NULL;
}

/* A map from output to input axes: in index d is out index map[d] (or the
 * constant 0 when map[d] < 0). */
typedef struct axis_map {
  int in_nd;
  int map[TS_MAX_NDIM];
  int64_t in_strides[TS_MAX_NDIM];
} axis_map;

static int64_t axis_map_src(const int64_t *idx, void *vc) {
  axis_map *m = vc;
  int64_t off = 0;
  for (int d = 0; d < m->in_nd; d++)
    off += (m->map[d] < 0 ? 0 : idx[m->map[d]]) * m->in_strides[d];
  return off;
}

typedef struct mctx {
  const ts_gexpr *call;
  ts_buffer *in[TS_LEGALIZE_MAX_ARGS];
  int n_in;
  int map[TS_MAX_NDIM]; /* axis_map as above */
  int axis;
  int64_t v[4][TS_MAX_NDIM]; /* per-op integer vectors */
  ts_expr *offs[64];         /* concat offsets */
  ts_expr *e0, *e1;          /* scalar expressions (fill, on/off values) */
  int mode;
  bool exclusive;
  ts_buffer *out;
} mctx;

static ts_expr *axis_map_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                              void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++)
    idx[d] = c->map[d] < 0 ? ts_int(a, TS_I64, 0) : sp[c->map[d]];
  return ts_load(a, c->in[0], idx, nd);
}

static mctx *new_ctx(te_builder *b, const ts_gexpr *call, ts_buffer *const *in,
                     int n_in) {
  mctx *c = ts_arena_alloc(te_arena(b), sizeof *c);
  memset(c, 0, sizeof *c);
  c->call = call;
  for (int i = 0; i < n_in && i < TS_LEGALIZE_MAX_ARGS; i++)
    c->in[i] = in[i];
  c->n_in = n_in;
  return c;
}

static const char *const X_NAME[1] = {"x"};

/* ==== squeeze ============================================================= */

/* mask[d]: axis d of x is removed.  With axis None, the dimensions that are
 * the constant 1. */
static ts_status *squeeze_mask(const ts_gexpr *call, const ts_sinfo *x,
                               int nd, bool *mask) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  if (!v || v->kind == TS_ATTR_NONE) {
    for (int d = 0; d < nd; d++) {
      int64_t k;
      mask[d] = x->u.tensor.shape && ts_ops_const_int(x->u.tensor.shape[d], &k) && k == 1;
    }
    return NULL;
  }
  TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, mask));
  for (int d = 0; d < nd && x->u.tensor.shape; d++) {
    int64_t k;
    if (mask[d] && ts_ops_const_int(x->u.tensor.shape[d], &k) && k != 1) {
      char what[96];
      snprintf(what, sizeof what, "axis %d has size %lld, not 1", d,
               (long long)k);
      return tb_operand_error(call, TS_ERR_VALUE, what, 1, X_NAME, &x);
    }
  }
  return NULL;
}

ts_status *ts_op_infer_SQUEEZE(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim;
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  if (nd < 0 || (!x->u.tensor.shape && (!v || v->kind == TS_ATTR_NONE))) {
    *out = ts_ops_tensor(a, NULL, -1, x->u.tensor.dtype);
    return NULL;
  }
  bool mask[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(squeeze_mask(call, x, nd, mask));
  int k = 0;
  ts_expr *sh[TS_MAX_NDIM];
  for (int d = 0; d < nd; d++)
    if (!mask[d] && x->u.tensor.shape)
      sh[k++] = x->u.tensor.shape[d];
    else if (!mask[d])
      k++;
  *out = ts_ops_tensor(a, x->u.tensor.shape ? sh : NULL, k, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_SQUEEZE(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x), k = 0;
  const int64_t *s = ts_ndarray_shape(x);
  bool mask[TS_MAX_NDIM];
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  if (!v || v->kind == TS_ATTR_NONE) {
    for (int d = 0; d < nd; d++)
      mask[d] = s[d] == 1;
  } else {
    TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, mask));
  }
  int64_t shape[TS_MAX_NDIM];
  char b1[128];
  for (int d = 0; d < nd; d++) {
    if (mask[d] && s[d] != 1)
      return ts_ops_error(call, TS_ERR_VALUE, "axis %d of %s is not 1", d,
                          ts_ndarray_describe(x, b1, sizeof b1));
    if (!mask[d])
      shape[k++] = s[d];
  }
  axis_map m = {.in_nd = nd};
  tb_strides(nd, s, m.in_strides);
  for (int d = 0, j = 0; d < nd; d++)
    m.map[d] = mask[d] ? -1 : j++;
  return gather_copy(call, x, k, shape, axis_map_src, &m, 0, out);
}

ts_status *ts_op_legalize_SQUEEZE(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  const ts_sinfo *x = ts_ops_arg_sinfo(call->u.call.args[0]);
  int nd = x->u.tensor.ndim;
  bool mask[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(squeeze_mask(call, x, nd, mask));
  for (int d = 0, j = 0; d < nd; d++)
    c->map[d] = mask[d] ? -1 : j++;
  ts_buffer *res = te_output(b, "T_squeeze", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  te_compute(b, "T_squeeze", res, axis_map_body, c);
  *out_name = "squeeze";
  return NULL;
}

/* ==== expand_dims ========================================================= */

/* mask[d] of the output: axis d is new. */
static ts_status *expand_mask(const ts_gexpr *call, int nd, bool *mask,
                              int *out_nd) {
  int64_t v[TS_MAX_NDIM];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "axis", -1, TS_MAX_NDIM, v, &n));
  if (n < 0)
    return ts_ops_error(call, TS_ERR_VALUE, "attribute axis is required");
  int on = nd + n;
  if (on > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  for (int d = 0; d < on; d++)
    mask[d] = false;
  for (int i = 0; i < n; i++) {
    int ax;
    TS_RETURN_IF_ERROR(tb_axis(call, "axis", v[i], on, &ax));
    if (mask[ax])
      return ts_ops_error(call, TS_ERR_VALUE, "axis %d appears twice", ax);
    mask[ax] = true;
  }
  *out_nd = on;
  return NULL;
}

ts_status *ts_op_infer_EXPAND_DIMS(ts_arena *a, const ts_gexpr *call,
                                   ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim;
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, -1, x->u.tensor.dtype);
    return NULL;
  }
  bool mask[TS_MAX_NDIM];
  int on;
  TS_RETURN_IF_ERROR(expand_mask(call, nd, mask, &on));
  ts_expr *sh[TS_MAX_NDIM];
  for (int d = 0, j = 0; d < on && x->u.tensor.shape; d++)
    sh[d] = mask[d] ? ts_ops_int64(a, 1) : x->u.tensor.shape[j++];
  *out = ts_ops_tensor(a, x->u.tensor.shape ? sh : NULL, on, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_EXPAND_DIMS(const ts_gexpr *call, ts_ndarray **args,
                                  int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x), on;
  const int64_t *s = ts_ndarray_shape(x);
  bool mask[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(expand_mask(call, nd, mask, &on));
  int64_t shape[TS_MAX_NDIM];
  axis_map m = {.in_nd = nd};
  tb_strides(nd, s, m.in_strides);
  for (int d = 0, j = 0; d < on; d++) {
    shape[d] = mask[d] ? 1 : s[j];
    if (!mask[d])
      m.map[j++] = d;
  }
  return gather_copy(call, x, on, shape, axis_map_src, &m, 0, out);
}

ts_status *ts_op_legalize_EXPAND_DIMS(struct te_builder *b, const ts_gexpr *call,
                                      ts_buffer *const *in, int n_in,
                                      const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  int nd = in[0]->ndim, on;
  bool mask[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(expand_mask(call, nd, mask, &on));
  for (int d = 0, j = 0; d < on; d++)
    if (!mask[d])
      c->map[j++] = d;
  ts_buffer *res = te_output(b, "T_expand_dims", out->u.tensor.shape, on,
                             out->u.tensor.dtype);
  te_compute(b, "T_expand_dims", res, axis_map_body, c);
  *out_name = "expand_dims";
  return NULL;
}

/* ==== concat ============================================================== */

ts_status *ts_op_infer_CONCAT(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  const ts_sinfo *t = ts_ops_arg_sinfo(call->u.call.args[0]);
  if (!t || t->kind != TS_SI_TUPLE) {
    ts_strbuf b = {0};
    ts_ops_print_sinfo(&b, t);
    ts_status *st = ts_ops_error(
        call, TS_ERR_TYPE, "operand tensors must be a tuple of tensors, got %s",
        b.data);
    ts_strbuf_free(&b);
    return st;
  }
  int n = t->u.tuple.n;
  if (n == 0)
    return ts_ops_error(call, TS_ERR_VALUE, "needs at least one tensor");
  const ts_sinfo *first = NULL;
  ts_dtype dt = TS_VOIDT;
  int nd = -1;
  bool shapes = true;
  for (int i = 0; i < n; i++) {
    const ts_sinfo *f = t->u.tuple.fields[i];
    if (!f || f->kind != TS_SI_TENSOR) {
      ts_strbuf b = {0};
      ts_ops_print_sinfo(&b, t);
      ts_status *st = ts_ops_error(
          call, TS_ERR_TYPE, "operand tensors must be a tuple of tensors, got %s",
          b.data);
      ts_strbuf_free(&b);
      return st;
    }
    const char *names[2] = {"tensors[0]", NULL};
    char nb[32];
    snprintf(nb, sizeof nb, "tensors[%d]", i);
    names[1] = nb;
    const ts_sinfo *pair[2] = {first, f};
    if (f->u.tensor.dtype.code != TS_VOID) {
      if (dt.code != TS_VOID && !ts_dtype_eq(dt, f->u.tensor.dtype))
        return tb_operand_error(call, TS_ERR_TYPE, "dtypes differ", 2, names,
                                pair);
      dt = f->u.tensor.dtype;
    }
    if (f->u.tensor.ndim >= 0) {
      if (nd >= 0 && nd != f->u.tensor.ndim)
        return tb_operand_error(call, TS_ERR_TYPE, "ranks differ", 2, names,
                                pair);
      nd = f->u.tensor.ndim;
    }
    shapes &= f->u.tensor.shape != NULL;
    if (!first)
      first = f;
  }
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  if (nd == 0)
    return ts_ops_error(call, TS_ERR_VALUE, "cannot concatenate 0-D tensors");
  int64_t ax64;
  int ax;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, nd, &ax));
  if (!shapes) {
    *out = ts_ops_tensor(a, NULL, nd, dt);
    return NULL;
  }
  ts_expr *sh[TS_MAX_NDIM];
  for (int d = 0; d < nd; d++)
    sh[d] = first->u.tensor.shape[d];
  for (int i = 1; i < n; i++) {
    const ts_sinfo *f = t->u.tuple.fields[i];
    for (int d = 0; d < nd; d++) {
      if (d == ax) {
        sh[d] = tb_add(a, sh[d], f->u.tensor.shape[d]);
        continue;
      }
      int64_t u, v;
      bool eq = ts_ops_dim_equal(sh[d], f->u.tensor.shape[d]) ||
                (ts_ops_const_int(sh[d], &u) &&
                 ts_ops_const_int(f->u.tensor.shape[d], &v) && u == v);
      if (!eq) {
        char nb[32], what[96];
        snprintf(nb, sizeof nb, "tensors[%d]", i);
        const char *names[2] = {"tensors[0]", nb};
        const ts_sinfo *pair[2] = {first, f};
        snprintf(what, sizeof what,
                 "dimension %d differs outside the concatenation axis %d", d,
                 ax);
        return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, pair);
      }
    }
  }
  *out = ts_ops_tensor(a, sh, nd, dt);
  return NULL;
}

ts_status *ts_op_eval_CONCAT(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  int nd = ts_ndarray_ndim(args[0]);
  int64_t ax64;
  int ax;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, nd, &ax));
  int64_t shape[TS_MAX_NDIM];
  memcpy(shape, ts_ndarray_shape(args[0]), sizeof(int64_t) * (size_t)nd);
  char b1[128], b2[128];
  for (int i = 1; i < n_args; i++) {
    const int64_t *s = ts_ndarray_shape(args[i]);
    bool ok = ts_ndarray_ndim(args[i]) == nd &&
              ts_dtype_eq(ts_ndarray_dtype(args[i]), ts_ndarray_dtype(args[0]));
    for (int d = 0; ok && d < nd; d++)
      ok = d == ax || s[d] == shape[d];
    if (!ok)
      return ts_ops_error(call, TS_ERR_TYPE, "cannot concatenate %s and %s",
                          ts_ndarray_describe(args[0], b1, sizeof b1),
                          ts_ndarray_describe(args[i], b2, sizeof b2));
    shape[ax] += s[ax];
  }
  ts_dtype dt = ts_ndarray_dtype(args[0]);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  /* outer x (len_i * inner) blocks, one per input */
  size_t es = ts_dtype_bytes(dt);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; d++)
    outer *= shape[d];
  for (int d = ax + 1; d < nd; d++)
    inner *= shape[d];
  char *dst = ts_ndarray_data(*out);
  for (int64_t o = 0; o < outer; o++)
    for (int i = 0; i < n_args; i++) {
      size_t blk = (size_t)(ts_ndarray_shape(args[i])[ax] * inner) * es;
      if (blk) {
        memcpy(dst, (const char *)ts_ndarray_data(args[i]) + (size_t)o * blk, blk);
        dst += blk;
      }
    }
  return NULL;
}

/* T_concat[..] = if_then_else(off_{n-1} <= i, in_{n-1}[i - off], ... in_0[i]) */
static ts_expr *concat_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr *v = NULL;
  for (int i = 0; i < c->n_in; i++) {
    ts_expr **idx = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
    for (int d = 0; d < nd; d++)
      idx[d] = sp[d];
    int64_t off;
    if (i > 0)
      idx[c->axis] = ts_expr_is_const_int(c->offs[i], &off)
                         ? tb_idx_add(a, sp[c->axis], -off)
                         : ts_binary(a, TS_E_SUB, sp[c->axis], c->offs[i]);
    ts_expr *x = ts_load(a, c->in[i], idx, nd);
    if (!v) {
      v = x;
      continue;
    }
    ts_expr *off_e = ts_expr_is_const_int(c->offs[i], &off)
                         ? tb_idx_c(a, sp[c->axis], off)
                         : c->offs[i];
    v = tb_if(a, ts_binary(a, TS_E_LE, off_e, sp[c->axis]), x, v);
  }
  return v;
}

ts_status *ts_op_legalize_CONCAT(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  if (n_in > 64)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: more than 64 tensors");
  mctx *c = new_ctx(b, call, in, n_in);
  int nd = in[0]->ndim;
  int64_t ax64;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, nd, &c->axis));
  c->offs[0] = ts_int(a, TS_I64, 0);
  for (int i = 1; i < n_in; i++)
    c->offs[i] = tb_add(a, c->offs[i - 1], in[i - 1]->shape[c->axis]);
  ts_buffer *res = te_output(b, "T_concat", out->u.tensor.shape, nd,
                             out->u.tensor.dtype);
  te_compute(b, "T_concat", res, concat_body, c);
  *out_name = "concatenate";
  return NULL;
}

/* ==== split =============================================================== */

/* The split points along the axis: k sections of x's dimension, or the
 * given indices.  *out_n points; each section j is [pt[j-1], pt[j]) with
 * pt[-1] = 0 and pt[n] = dim.  Static points only when sections is an
 * int and dim is static. */
static ts_status *split_points(const ts_gexpr *call, int nd, int *out_axis,
                               bool *out_sections, int64_t *pts, int *out_n) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "indices_or_sections");
  if (!v)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "attribute indices_or_sections is required");
  int64_t ax64;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, nd, out_axis));
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "indices_or_sections", -1, 64, pts, &n));
  *out_sections = v->kind != TS_ATTR_LIST;
  if (*out_sections) {
    if (pts[0] < 1)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "indices_or_sections must be positive, got %lld",
                          (long long)pts[0]);
    *out_n = (int)pts[0];
  } else {
    for (int i = 1; i < n; i++)
      if (pts[i] < pts[i - 1])
        return ts_ops_error(call, TS_ERR_VALUE,
                            "indices_or_sections must be ascending");
    *out_n = n;
  }
  return NULL;
}

ts_status *ts_op_infer_SPLIT(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim;
  if (nd < 0)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED, "needs a tensor of known rank");
  int ax, n;
  bool sections;
  int64_t pts[64];
  TS_RETURN_IF_ERROR(split_points(call, nd, &ax, &sections, pts, &n));
  int k = sections ? n : n + 1;
  ts_sinfo *t = ts_sinfo_new(a, TS_SI_TUPLE);
  t->u.tuple.n = k;
  t->u.tuple.fields = ts_arena_array(a, (size_t)k, sizeof(ts_sinfo *));
  ts_expr *dim = x->u.tensor.shape ? x->u.tensor.shape[ax] : NULL;
  int64_t dv = 0;
  bool ks = dim && ts_ops_const_int(dim, &dv);
  if (sections && ks && dv % n != 0) {
    char what[96];
    snprintf(what, sizeof what, "axis %d of size %lld does not split into %d "
             "equal sections", ax, (long long)dv, n);
    return tb_operand_error(call, TS_ERR_VALUE, what, 1, X_NAME, &x);
  }
  for (int j = 0; j < k; j++) {
    if (!x->u.tensor.shape) {
      t->u.tuple.fields[j] = ts_ops_tensor(a, NULL, nd, x->u.tensor.dtype);
      continue;
    }
    ts_expr *sh[TS_MAX_NDIM];
    for (int d = 0; d < nd; d++)
      sh[d] = x->u.tensor.shape[d];
    if (sections) {
      sh[ax] = tb_div_c(a, dim, n);
    } else {
      int64_t lo = j == 0 ? 0 : pts[j - 1];
      if (j < n) {
        int64_t hi = pts[j];
        if (ks) {
          lo = lo < dv ? lo : dv;
          hi = hi < dv ? hi : dv;
        }
        sh[ax] = ts_ops_int64(a, hi - lo > 0 ? hi - lo : 0);
      } else if (ks) {
        sh[ax] = ts_ops_int64(a, dv - lo > 0 ? dv - lo : 0);
      } else {
        sh[ax] = tb_add_c(a, dim, -lo);
      }
    }
    t->u.tuple.fields[j] = ts_ops_tensor(a, sh, nd, x->u.tensor.dtype);
  }
  *out = t;
  return NULL;
}

typedef struct slice_map {
  int nd;
  int64_t begin[TS_MAX_NDIM], step[TS_MAX_NDIM], strides[TS_MAX_NDIM];
} slice_map;

static int64_t slice_src(const int64_t *idx, void *vc) {
  slice_map *m = vc;
  int64_t off = 0;
  for (int d = 0; d < m->nd; d++)
    off += (m->begin[d] + idx[d] * m->step[d]) * m->strides[d];
  return off;
}

ts_status *ts_op_eval_SPLIT(const ts_gexpr *call, ts_ndarray **args,
                            int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x), ax, n;
  bool sections;
  int64_t pts[64];
  TS_RETURN_IF_ERROR(split_points(call, nd, &ax, &sections, pts, &n));
  const int64_t *s = ts_ndarray_shape(x);
  int64_t dim = s[ax];
  char b1[128];
  if (sections && dim % n != 0)
    return ts_ops_error(call, TS_ERR_VALUE, "%s does not split into %d sections",
                        ts_ndarray_describe(x, b1, sizeof b1), n);
  int k = sections ? n : n + 1;
  slice_map m = {.nd = nd};
  tb_strides(nd, s, m.strides);
  for (int d = 0; d < nd; d++)
    m.step[d] = 1;
  for (int j = 0; j < k; j++) {
    int64_t lo, hi;
    if (sections) {
      lo = j * (dim / n);
      hi = lo + dim / n;
    } else {
      lo = j == 0 ? 0 : pts[j - 1];
      hi = j < n ? pts[j] : dim;
      lo = lo < dim ? lo : dim;
      hi = hi < dim ? hi : dim;
      if (hi < lo)
        hi = lo;
    }
    int64_t shape[TS_MAX_NDIM];
    memcpy(shape, s, sizeof(int64_t) * (size_t)nd);
    shape[ax] = hi - lo;
    m.begin[ax] = lo;
    ts_status *st = gather_copy(call, x, nd, shape, slice_src, &m, 0, &out[j]);
    if (st)
      return st; /* the interpreter releases what was written */
  }
  return NULL;
}

typedef struct split_ctx {
  ts_buffer *x;
  int axis;
  ts_expr *lo;
} split_ctx;

static ts_expr *split_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  split_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->x->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++)
    idx[d] = sp[d];
  int64_t lo;
  if (ts_expr_is_const_int(c->lo, &lo))
    idx[c->axis] = tb_idx_add(a, sp[c->axis], lo);
  else
    idx[c->axis] = ts_binary(a, TS_E_ADD, sp[c->axis], c->lo);
  return ts_load(a, c->x, idx, nd);
}

ts_status *ts_op_legalize_SPLIT(struct te_builder *b, const ts_gexpr *call,
                                ts_buffer *const *in, int n_in,
                                const ts_sinfo *out, const char **out_name) {
  (void)n_in;
  ts_arena *a = te_arena(b);
  int nd = in[0]->ndim, ax, n;
  bool sections;
  int64_t pts[64];
  TS_RETURN_IF_ERROR(split_points(call, nd, &ax, &sections, pts, &n));
  const char *base = sections ? "T_split_sections" : "T_split";
  ts_expr *lo = ts_int(a, TS_I64, 0);
  for (int j = 0; j < out->u.tuple.n; j++) {
    const ts_sinfo *f = out->u.tuple.fields[j];
    const char *name = j ? ts_arena_printf(a, "%s_%d", base, j) : base;
    ts_buffer *res = te_output(b, name, f->u.tensor.shape, nd, f->u.tensor.dtype);
    split_ctx *c = ts_arena_alloc(a, sizeof *c);
    c->x = in[0];
    c->axis = ax;
    c->lo = lo;
    te_compute(b, name, res, split_body, c);
    lo = tb_add(a, lo, res->shape[ax]);
  }
  *out_name = "split";
  return NULL;
}

/* ==== strided_slice ====================================================== */

/* Per-axis begin/step/length of the slice of x (dims, static where known:
 * dims[d] < 0 is symbolic).  ONNX Slice semantics: negative begin/end count
 * from the end; begin and end are clamped to [0, dim] ([-1, dim-1] for a
 * negative step).  A symbolic axis may only be taken whole. */
typedef struct slice_spec {
  bool sliced[TS_MAX_NDIM];
  int64_t begin[TS_MAX_NDIM], step[TS_MAX_NDIM], len[TS_MAX_NDIM];
} slice_spec;

static ts_status *slice_spec_of(const ts_gexpr *call, int nd,
                                const int64_t *dims, slice_spec *sp) {
  int64_t axes[TS_MAX_NDIM], beg[TS_MAX_NDIM], end[TS_MAX_NDIM],
      str[TS_MAX_NDIM];
  int na, nb, ne, ns;
  TS_RETURN_IF_ERROR(tb_ints(call, "axes", 1, TS_MAX_NDIM, axes, &na));
  TS_RETURN_IF_ERROR(tb_ints(call, "begin", 2, TS_MAX_NDIM, beg, &nb));
  TS_RETURN_IF_ERROR(tb_ints(call, "end", 3, TS_MAX_NDIM, end, &ne));
  TS_RETURN_IF_ERROR(tb_ints(call, "strides", 4, TS_MAX_NDIM, str, &ns));
  if (na < 0 || nb < 0 || ne < 0)
    return ts_ops_error(call, TS_ERR_VALUE, "axes, begin and end are required");
  if (nb != na || ne != na || (ns >= 0 && ns != na))
    return ts_ops_error(call, TS_ERR_VALUE,
                        "axes, begin, end and strides must have the same "
                        "length");
  memset(sp, 0, sizeof *sp);
  for (int d = 0; d < nd; d++) {
    sp->step[d] = 1;
    sp->len[d] = dims[d];
  }
  for (int i = 0; i < na; i++) {
    int ax;
    TS_RETURN_IF_ERROR(tb_axis(call, "axis", axes[i], nd, &ax));
    if (sp->sliced[ax])
      return ts_ops_error(call, TS_ERR_VALUE, "axis %d appears twice", ax);
    int64_t s = ns >= 0 ? str[i] : 1, b = beg[i], e = end[i], n = dims[ax];
    if (s == 0)
      return ts_ops_error(call, TS_ERR_VALUE, "strides must not be 0");
    if (n < 0) {
      if (b == 0 && s == 1 && e >= INT32_MAX)
        continue; /* the whole symbolic axis */
      return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                          "slicing the symbolic axis %d needs a static size",
                          ax);
    }
    if (b < 0)
      b += n;
    if (e < 0)
      e += n;
    if (s > 0) {
      b = b < 0 ? 0 : b > n ? n : b;
      e = e < 0 ? 0 : e > n ? n : e;
    } else {
      b = b < -1 ? -1 : b > n - 1 ? n - 1 : b;
      e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
    }
    int64_t len = s > 0 ? (e - b + s - 1) / s : (b - e + (-s) - 1) / (-s);
    sp->sliced[ax] = true;
    sp->begin[ax] = b;
    sp->step[ax] = s;
    sp->len[ax] = len > 0 ? len : 0;
  }
  return NULL;
}

static void static_dims(const ts_sinfo *x, int64_t *dims) {
  for (int d = 0; d < x->u.tensor.ndim; d++)
    if (!ts_ops_const_int(x->u.tensor.shape[d], &dims[d]))
      dims[d] = -1;
}

ts_status *ts_op_infer_STRIDED_SLICE(ts_arena *a, const ts_gexpr *call,
                                     ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim;
  if (nd < 0 || !x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nd, x->u.tensor.dtype);
    return NULL;
  }
  int64_t dims[TS_MAX_NDIM];
  static_dims(x, dims);
  slice_spec sp;
  TS_RETURN_IF_ERROR(slice_spec_of(call, nd, dims, &sp));
  ts_expr *sh[TS_MAX_NDIM];
  for (int d = 0; d < nd; d++)
    sh[d] = sp.sliced[d] ? ts_ops_int64(a, sp.len[d]) : x->u.tensor.shape[d];
  *out = ts_ops_tensor(a, sh, nd, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_STRIDED_SLICE(const ts_gexpr *call, ts_ndarray **args,
                                    int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  slice_spec sp;
  TS_RETURN_IF_ERROR(slice_spec_of(call, nd, ts_ndarray_shape(x), &sp));
  slice_map m = {.nd = nd};
  tb_strides(nd, ts_ndarray_shape(x), m.strides);
  for (int d = 0; d < nd; d++) {
    m.begin[d] = sp.begin[d];
    m.step[d] = sp.step[d];
  }
  return gather_copy(call, x, nd, sp.len, slice_src, &m, 0, out);
}

static ts_expr *slice_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++) {
    ts_expr *e = sp[d];
    if (c->v[1][d] != 1)
      e = ts_binary(a, TS_E_MUL, e, tb_idx_c(a, e, c->v[1][d]));
    idx[d] = tb_idx_add(a, e, c->v[0][d]);
  }
  return ts_load(a, c->in[0], idx, nd);
}

ts_status *ts_op_legalize_STRIDED_SLICE(struct te_builder *b,
                                        const ts_gexpr *call,
                                        ts_buffer *const *in, int n_in,
                                        const ts_sinfo *out,
                                        const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  const ts_sinfo *x = ts_ops_arg_sinfo(call->u.call.args[0]);
  int nd = x->u.tensor.ndim;
  int64_t dims[TS_MAX_NDIM];
  static_dims(x, dims);
  slice_spec sp;
  TS_RETURN_IF_ERROR(slice_spec_of(call, nd, dims, &sp));
  for (int d = 0; d < nd; d++) {
    c->v[0][d] = sp.begin[d];
    c->v[1][d] = sp.step[d];
  }
  ts_buffer *res = te_output(b, "T_strided_slice", out->u.tensor.shape, nd,
                             out->u.tensor.dtype);
  te_compute(b, "T_strided_slice", res, slice_body, c);
  *out_name = "strided_slice";
  return NULL;
}

/* ==== take ================================================================ */

enum { MODE_FAST, MODE_CLIP, MODE_WRAP };

static ts_status *take_mode(const ts_gexpr *call, int *mode) {
  const char *m;
  TS_RETURN_IF_ERROR(tb_attr_str(call, "mode", "fast", &m));
  if (!strcmp(m, "fast"))
    *mode = MODE_FAST;
  else if (!strcmp(m, "clip"))
    *mode = MODE_CLIP;
  else if (!strcmp(m, "wrap"))
    *mode = MODE_WRAP;
  else
    return ts_ops_error(call, TS_ERR_VALUE,
                        "mode must be \"fast\", \"clip\" or \"wrap\", got \"%s\"",
                        m);
  return NULL;
}

/* axis None: -1 (x is flattened). */
static ts_status *take_axis(const ts_gexpr *call, int nd, int *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  if (!v || v->kind == TS_ATTR_NONE) {
    *out = -1;
    return NULL;
  }
  int64_t ax;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax));
  return tb_axis(call, "axis", ax, nd, out);
}

static ts_status *check_int_indices(const ts_gexpr *call, const ts_sinfo *x,
                                    const ts_sinfo *ind, const char *xn) {
  ts_dtype t = ind->u.tensor.dtype;
  if (t.code != TS_VOID && t.code != TS_INT && t.code != TS_UINT) {
    const char *names[2] = {xn, "indices"};
    const ts_sinfo *sis[2] = {x, ind};
    return tb_operand_error(call, TS_ERR_TYPE, "indices must be integers", 2,
                            names, sis);
  }
  return NULL;
}

ts_status *ts_op_infer_TAKE(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  const ts_sinfo *x, *ind;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "indices", &ind));
  TS_RETURN_IF_ERROR(check_int_indices(call, x, ind, "x"));
  int mode;
  TS_RETURN_IF_ERROR(take_mode(call, &mode));
  int nd = x->u.tensor.ndim, ni = ind->u.tensor.ndim;
  ts_dtype dt = x->u.tensor.dtype;
  if (nd < 0 || ni < 0) {
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  int ax;
  TS_RETURN_IF_ERROR(take_axis(call, nd, &ax));
  int on = ax < 0 ? ni : nd - 1 + ni;
  if (on > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  if (!x->u.tensor.shape || !ind->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, on, dt);
    return NULL;
  }
  ts_expr *sh[TS_MAX_NDIM];
  int k = 0;
  for (int d = 0; ax >= 0 && d < ax; d++)
    sh[k++] = x->u.tensor.shape[d];
  for (int d = 0; d < ni; d++)
    sh[k++] = ind->u.tensor.shape[d];
  for (int d = ax + 1; ax >= 0 && d < nd; d++)
    sh[k++] = x->u.tensor.shape[d];
  *out = ts_ops_tensor(a, sh, on, dt);
  return NULL;
}

/* Normalizes index i of an axis of size n by mode; -1 when out of range. */
static int64_t norm_index(int64_t i, int64_t n, int mode) {
  if (mode == MODE_CLIP)
    return i < 0 ? 0 : i >= n ? n - 1 : i;
  if (mode == MODE_WRAP)
    return ((i % n) + n) % n;
  if (i < 0)
    i += n;
  return i >= 0 && i < n ? i : -1;
}

typedef struct take_map {
  ts_ndarray *ind;
  int ax, nd, ni, mode;
  int64_t dim, inner, ind_strides[TS_MAX_NDIM], x_strides[TS_MAX_NDIM];
  bool bad;
} take_map;

static int64_t take_src(const int64_t *idx, void *vc) {
  take_map *m = vc;
  int lead = m->ax < 0 ? 0 : m->ax;
  int64_t io = 0;
  for (int d = 0; d < m->ni; d++)
    io += idx[lead + d] * m->ind_strides[d];
  int64_t i = norm_index(ts_ndarray_get_i64(m->ind, io), m->dim, m->mode);
  if (i < 0) {
    m->bad = true;
    return 0;
  }
  if (m->ax < 0)
    return i;
  int64_t off = 0;
  for (int d = 0; d < m->ax; d++)
    off += idx[d] * m->x_strides[d];
  off += i * m->x_strides[m->ax];
  for (int d = m->ax + 1; d < m->nd; d++)
    off += idx[d - 1 + m->ni] * m->x_strides[d];
  return off;
}

ts_status *ts_op_eval_TAKE(const ts_gexpr *call, ts_ndarray **args, int n_args,
                           ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0], *ind = args[1];
  take_map m = {.ind = ind, .nd = ts_ndarray_ndim(x), .ni = ts_ndarray_ndim(ind)};
  TS_RETURN_IF_ERROR(take_mode(call, &m.mode));
  TS_RETURN_IF_ERROR(take_axis(call, m.nd, &m.ax));
  const int64_t *xs = ts_ndarray_shape(x), *is = ts_ndarray_shape(ind);
  tb_strides(m.nd, xs, m.x_strides);
  tb_strides(m.ni, is, m.ind_strides);
  m.dim = m.ax < 0 ? ts_ndarray_numel(x) : xs[m.ax];
  int64_t shape[TS_MAX_NDIM];
  int k = 0;
  for (int d = 0; m.ax >= 0 && d < m.ax; d++)
    shape[k++] = xs[d];
  for (int d = 0; d < m.ni; d++)
    shape[k++] = is[d];
  for (int d = m.ax + 1; m.ax >= 0 && d < m.nd; d++)
    shape[k++] = xs[d];
  if (k > TS_MAX_NDIM || m.dim == 0)
    return ts_ops_error(call, TS_ERR_VALUE, "cannot take from an empty axis");
  TS_RETURN_IF_ERROR(gather_copy(call, x, k, shape, take_src, &m, 0, out));
  if (m.bad) {
    ts_ndarray_release(*out);
    *out = NULL;
    return ts_ops_error(call, TS_ERR_VALUE,
                        "an index is out of range for an axis of size %lld",
                        (long long)m.dim);
  }
  return NULL;
}

/* The index expression of mode for a loaded index i, axis size n. */
static ts_expr *mode_index(ts_arena *a, ts_expr *i, ts_expr *n, int mode,
                           ts_dtype it) {
  i = tb_cast(a, it, i);
  n = tb_cast(a, it, n);
  if (mode == MODE_CLIP)
    return ts_binary(a, TS_E_MIN,
                     ts_binary(a, TS_E_MAX, i, ts_int(a, it, 0)),
                     ts_binary(a, TS_E_SUB, n, ts_int(a, it, 1)));
  if (mode == MODE_WRAP)
    return ts_binary(a, TS_E_FLOORMOD, i, n);
  return ts_select(a, ts_binary(a, TS_E_LT, i, ts_int(a, it, 0)),
                   ts_binary(a, TS_E_ADD, i, n), i);
}

static ts_expr *take_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *x = c->in[0], *ind = c->in[1];
  int ax = c->axis, nd = x->ndim, ni = ind->ndim, lead = ax < 0 ? 0 : ax;
  ts_expr **ii = ts_arena_array(a, (size_t)ni + 1, sizeof(ts_expr *));
  for (int d = 0; d < ni; d++)
    ii[d] = sp[lead + d];
  ts_dtype it = sp[0] ? sp[0]->dtype : TS_I64;
  ts_expr *dim;
  if (ax >= 0) {
    dim = x->shape[ax];
  } else {
    dim = NULL;
    for (int d = 0; d < nd; d++)
      dim = dim ? ts_binary(a, TS_E_MUL, dim, x->shape[d]) : x->shape[d];
    dim = ts_expr_simplify_const(a, dim);
  }
  ts_expr *i = mode_index(a, ts_load(a, ind, ii, ni), dim, c->mode, it);
  ts_expr **xi = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  if (ax < 0) {
    /* unravel the flat index into x */
    ts_expr *rest = i;
    for (int d = nd - 1; d >= 0; d--) {
      if (d == 0) {
        xi[d] = rest;
      } else {
        xi[d] = ts_binary(a, TS_E_FLOORMOD, rest, tb_cast(a, it, x->shape[d]));
        rest = ts_binary(a, TS_E_FLOORDIV, rest, tb_cast(a, it, x->shape[d]));
      }
    }
  } else {
    for (int d = 0; d < ax; d++)
      xi[d] = sp[d];
    xi[ax] = i;
    for (int d = ax + 1; d < nd; d++)
      xi[d] = sp[d - 1 + ni];
  }
  return ts_load(a, x, xi, nd);
}

ts_status *ts_op_legalize_TAKE(struct te_builder *b, const ts_gexpr *call,
                               ts_buffer *const *in, int n_in,
                               const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  TS_RETURN_IF_ERROR(take_mode(call, &c->mode));
  TS_RETURN_IF_ERROR(take_axis(call, in[0]->ndim, &c->axis));
  if (out->u.tensor.ndim == 0)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: a 0-D result");
  ts_buffer *res = te_output(b, "T_take", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  te_compute(b, "T_take", res, take_body, c);
  *out_name = "take";
  return NULL;
}

/* ==== gather_elements ==================================================== */

ts_status *ts_op_infer_GATHER_ELEMENTS(ts_arena *a, const ts_gexpr *call,
                                       ts_sinfo **out) {
  const ts_sinfo *x, *ind;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "indices", &ind));
  TS_RETURN_IF_ERROR(check_int_indices(call, x, ind, "data"));
  int nd = x->u.tensor.ndim, ni = ind->u.tensor.ndim;
  if (nd >= 0 && ni >= 0 && nd != ni) {
    const char *names[2] = {"data", "indices"};
    const ts_sinfo *sis[2] = {x, ind};
    return tb_operand_error(call, TS_ERR_TYPE, "ranks differ", 2, names, sis);
  }
  if (nd >= 0) {
    int64_t ax64;
    int ax;
    TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
    TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, nd, &ax));
  }
  *out = ts_ops_tensor(a, ind->u.tensor.shape, ind->u.tensor.ndim,
                       x->u.tensor.dtype);
  return NULL;
}

typedef struct ge_map {
  ts_ndarray *ind;
  int ax, nd;
  int64_t dim, strides[TS_MAX_NDIM], ind_off;
  bool bad;
} ge_map;

static int64_t ge_src(const int64_t *idx, void *vc) {
  ge_map *m = vc;
  int64_t i = norm_index(ts_ndarray_get_i64(m->ind, m->ind_off++), m->dim,
                         MODE_FAST);
  if (i < 0) {
    m->bad = true;
    return 0;
  }
  int64_t off = 0;
  for (int d = 0; d < m->nd; d++)
    off += (d == m->ax ? i : idx[d]) * m->strides[d];
  return off;
}

ts_status *ts_op_eval_GATHER_ELEMENTS(const ts_gexpr *call, ts_ndarray **args,
                                      int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0], *ind = args[1];
  ge_map m = {.ind = ind, .nd = ts_ndarray_ndim(x)};
  int64_t ax64;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, m.nd, &m.ax));
  const int64_t *xs = ts_ndarray_shape(x), *is = ts_ndarray_shape(ind);
  char b1[128], b2[128];
  bool ok = ts_ndarray_ndim(ind) == m.nd;
  for (int d = 0; ok && d < m.nd; d++)
    ok = d == m.ax || is[d] <= xs[d];
  if (!ok)
    return ts_ops_error(call, TS_ERR_TYPE, "indices %s do not fit data %s",
                        ts_ndarray_describe(ind, b1, sizeof b1),
                        ts_ndarray_describe(x, b2, sizeof b2));
  tb_strides(m.nd, xs, m.strides);
  m.dim = xs[m.ax];
  TS_RETURN_IF_ERROR(gather_copy(call, x, m.nd, is, ge_src, &m, 0, out));
  if (m.bad) {
    ts_ndarray_release(*out);
    *out = NULL;
    return ts_ops_error(call, TS_ERR_VALUE,
                        "an index is out of range for an axis of size %lld",
                        (long long)m.dim);
  }
  return NULL;
}

static ts_expr *ge_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *x = c->in[0], *ind = c->in[1];
  int nd = x->ndim;
  ts_expr **xi = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++)
    xi[d] = sp[d];
  xi[c->axis] = mode_index(a, ts_load(a, ind, sp, nd), x->shape[c->axis],
                           MODE_FAST, sp[c->axis]->dtype);
  return ts_load(a, x, xi, nd);
}

ts_status *ts_op_legalize_GATHER_ELEMENTS(struct te_builder *b,
                                          const ts_gexpr *call,
                                          ts_buffer *const *in, int n_in,
                                          const ts_sinfo *out,
                                          const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  int64_t ax64;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax64));
  TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax64, in[0]->ndim, &c->axis));
  ts_buffer *res = te_output(b, "T_gather_elements", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  te_compute(b, "T_gather_elements", res, ge_body, c);
  *out_name = "gather_elements";
  return NULL;
}

/* ==== broadcast_to ======================================================== */

ts_status *ts_op_infer_BROADCAST_TO(ts_arena *a, const ts_gexpr *call,
                                    ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  const ts_gexpr *s = call->u.call.args[1];
  const ts_sinfo *si = ts_ops_arg_sinfo(s);
  ts_expr **vals = NULL;
  int n = -1;
  if (s->kind == TS_G_SHAPE) {
    vals = s->u.shape.values;
    n = s->u.shape.n;
  } else if (si && si->kind == TS_SI_SHAPE) {
    vals = si->u.shape.values;
    n = si->u.shape.ndim;
  } else {
    ts_strbuf b = {0};
    ts_ops_print_sinfo(&b, si);
    ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                                 "operand shape must be a shape, got %s", b.data);
    ts_strbuf_free(&b);
    return st;
  }
  if (!vals || !x->u.tensor.shape) {
    *out = ts_ops_tensor(a, vals, n, x->u.tensor.dtype);
    return NULL;
  }
  int nd = x->u.tensor.ndim;
  bool ok = nd <= n;
  for (int d = 0; ok && d < nd; d++) {
    ts_expr *xd = x->u.tensor.shape[d], *td = vals[n - nd + d];
    int64_t u, v;
    bool kx = ts_ops_const_int(xd, &u), kt = ts_ops_const_int(td, &v);
    ok = (kx && u == 1) || ts_ops_dim_equal(xd, td) || (kx && kt && u == v) ||
         (!kx || !kt); /* symbolic: checked at run time */
  }
  if (!ok) {
    ts_strbuf b = {0};
    ts_ops_print_shape(&b, vals, n);
    char what[256];
    snprintf(what, sizeof what, "cannot broadcast to %s", b.data);
    ts_strbuf_free(&b);
    return tb_operand_error(call, TS_ERR_TYPE, what, 1, X_NAME, &x);
  }
  *out = ts_ops_tensor(a, vals, n, x->u.tensor.dtype);
  return NULL;
}

typedef struct bc_map {
  int nd, on;
  const int64_t *xs;
  int64_t strides[TS_MAX_NDIM];
} bc_map;

static int64_t bc_src(const int64_t *idx, void *vc) {
  bc_map *m = vc;
  int64_t off = 0;
  for (int d = 0; d < m->nd; d++)
    off += (m->xs[d] == 1 ? 0 : idx[m->on - m->nd + d]) * m->strides[d];
  return off;
}

ts_status *ts_op_eval_BROADCAST_TO(const ts_gexpr *call, ts_ndarray **args,
                                   int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0], *s = args[1];
  int on = (int)ts_ndarray_numel(s), nd = ts_ndarray_ndim(x);
  char b1[128];
  if (ts_ndarray_ndim(s) != 1 || on > TS_MAX_NDIM || on < nd)
    return ts_ops_error(call, TS_ERR_VALUE, "cannot broadcast %s",
                        ts_ndarray_describe(x, b1, sizeof b1));
  int64_t shape[TS_MAX_NDIM];
  for (int i = 0; i < on; i++)
    shape[i] = ts_ndarray_get_i64(s, i);
  bc_map m = {.nd = nd, .on = on, .xs = ts_ndarray_shape(x)};
  for (int d = 0; d < nd; d++)
    if (m.xs[d] != 1 && m.xs[d] != shape[on - nd + d])
      return ts_ops_error(call, TS_ERR_VALUE, "cannot broadcast %s",
                          ts_ndarray_describe(x, b1, sizeof b1));
  tb_strides(nd, m.xs, m.strides);
  return gather_copy(call, x, on, shape, bc_src, &m, 0, out);
}

static ts_expr *bc_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  return te_broadcast_load(b, c->in[0], sp, c->axis);
}

ts_status *ts_op_legalize_BROADCAST_TO(struct te_builder *b,
                                       const ts_gexpr *call,
                                       ts_buffer *const *in, int n_in,
                                       const ts_sinfo *out,
                                       const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  c->axis = out->u.tensor.ndim;
  ts_buffer *res = te_output(b, "T_broadcast_to", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  te_compute(b, "T_broadcast_to", res, bc_body, c);
  *out_name = "broadcast_to";
  return NULL;
}

/* ==== tile ================================================================ */

static ts_status *tile_reps(const ts_gexpr *call, int nd, int64_t *reps,
                            int *out_nd) {
  int64_t r[TS_MAX_NDIM];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "repeats", -1, TS_MAX_NDIM, r, &n));
  if (n < 0)
    return ts_ops_error(call, TS_ERR_VALUE, "attribute repeats is required");
  int on = nd > n ? nd : n;
  for (int i = 0; i < on; i++) {
    int j = i - (on - n);
    reps[i] = j >= 0 ? r[j] : 1;
    if (reps[i] < 0)
      return ts_ops_error(call, TS_ERR_VALUE, "repeats must not be negative");
  }
  *out_nd = on;
  return NULL;
}

ts_status *ts_op_infer_TILE(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int nd = x->u.tensor.ndim, on;
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, -1, x->u.tensor.dtype);
    return NULL;
  }
  int64_t reps[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(tile_reps(call, nd, reps, &on));
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, on, x->u.tensor.dtype);
    return NULL;
  }
  ts_expr *sh[TS_MAX_NDIM];
  for (int i = 0; i < on; i++) {
    int j = i - (on - nd);
    sh[i] = j >= 0 ? tb_mul_c(a, x->u.tensor.shape[j], reps[i])
                   : ts_ops_int64(a, reps[i]);
  }
  *out = ts_ops_tensor(a, sh, on, x->u.tensor.dtype);
  return NULL;
}

static int64_t tile_src(const int64_t *idx, void *vc) {
  bc_map *m = vc;
  int64_t off = 0;
  for (int d = 0; d < m->nd; d++)
    off += (idx[m->on - m->nd + d] % m->xs[d]) * m->strides[d];
  return off;
}

ts_status *ts_op_eval_TILE(const ts_gexpr *call, ts_ndarray **args, int n_args,
                           ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x), on;
  int64_t reps[TS_MAX_NDIM], shape[TS_MAX_NDIM];
  TS_RETURN_IF_ERROR(tile_reps(call, nd, reps, &on));
  bc_map m = {.nd = nd, .on = on, .xs = ts_ndarray_shape(x)};
  for (int i = 0; i < on; i++) {
    int j = i - (on - nd);
    shape[i] = (j >= 0 ? m.xs[j] : 1) * reps[i];
  }
  tb_strides(nd, m.xs, m.strides);
  return gather_copy(call, x, on, shape, tile_src, &m, 0, out);
}

static ts_expr *tile_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *x = c->in[0];
  int nd = x->ndim, on = c->axis;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++) {
    ts_expr *s = sp[on - nd + d];
    int64_t k;
    idx[d] = ts_expr_is_const_int(x->shape[d], &k) && k == 1
                 ? tb_idx_c(a, s, 0)
             : c->v[0][on - nd + d] == 1
                 ? s
                 : ts_binary(a, TS_E_FLOORMOD, s, tb_cast(a, s->dtype, x->shape[d]));
  }
  return ts_load(a, x, idx, nd);
}

ts_status *ts_op_legalize_TILE(struct te_builder *b, const ts_gexpr *call,
                               ts_buffer *const *in, int n_in,
                               const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  int on;
  TS_RETURN_IF_ERROR(tile_reps(call, in[0]->ndim, c->v[0], &on));
  c->axis = on;
  ts_buffer *res = te_output(b, "T_tile", out->u.tensor.shape, on,
                             out->u.tensor.dtype);
  te_compute(b, "T_tile", res, tile_body, c);
  *out_name = "tile";
  return NULL;
}

/* ==== pad ================================================================= */

/* pad_width: (before_0, after_0, before_1, after_1, ...), 2 * ndim values. */
static ts_status *pad_spec(const ts_gexpr *call, int nd, int64_t *before,
                           int64_t *after, double *value) {
  int64_t w[2 * TS_MAX_NDIM];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "pad_width", -1, 2 * TS_MAX_NDIM, w, &n));
  if (n != 2 * nd)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "pad_width must have 2 values per axis (%d), got %d",
                        2 * nd, n < 0 ? 0 : n);
  for (int d = 0; d < nd; d++) {
    before[d] = w[2 * d];
    after[d] = w[2 * d + 1];
    if (before[d] < 0 || after[d] < 0)
      return ts_ops_error(call, TS_ERR_VALUE, "pad_width must not be negative");
  }
  const char *mode;
  TS_RETURN_IF_ERROR(tb_attr_str(call, "pad_mode", "constant", &mode));
  if (strcmp(mode, "constant") != 0)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "pad_mode \"%s\" is not supported (only \"constant\")",
                        mode);
  return tb_attr_float(call, "pad_value", 0.0, value);
}

ts_status *ts_op_infer_PAD(ts_arena *a, const ts_gexpr *call, ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  int nd = x->u.tensor.ndim;
  if (nd < 0) {
    *out = ts_ops_tensor(a, NULL, -1, x->u.tensor.dtype);
    return NULL;
  }
  int64_t bf[TS_MAX_NDIM], af[TS_MAX_NDIM];
  double v;
  TS_RETURN_IF_ERROR(pad_spec(call, nd, bf, af, &v));
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nd, x->u.tensor.dtype);
    return NULL;
  }
  ts_expr *sh[TS_MAX_NDIM];
  for (int d = 0; d < nd; d++)
    sh[d] = tb_add_c(a, x->u.tensor.shape[d], bf[d] + af[d]);
  *out = ts_ops_tensor(a, sh, nd, x->u.tensor.dtype);
  return NULL;
}

typedef struct pad_map {
  int nd;
  const int64_t *xs;
  int64_t before[TS_MAX_NDIM], strides[TS_MAX_NDIM];
} pad_map;

static int64_t pad_src(const int64_t *idx, void *vc) {
  pad_map *m = vc;
  int64_t off = 0;
  for (int d = 0; d < m->nd; d++) {
    int64_t i = idx[d] - m->before[d];
    if (i < 0 || i >= m->xs[d])
      return -1;
    off += i * m->strides[d];
  }
  return off;
}

ts_status *ts_op_eval_PAD(const ts_gexpr *call, ts_ndarray **args, int n_args,
                          ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  pad_map m = {.nd = nd, .xs = ts_ndarray_shape(x)};
  int64_t af[TS_MAX_NDIM], shape[TS_MAX_NDIM];
  double v;
  TS_RETURN_IF_ERROR(pad_spec(call, nd, m.before, af, &v));
  for (int d = 0; d < nd; d++)
    shape[d] = m.xs[d] + m.before[d] + af[d];
  tb_strides(nd, m.xs, m.strides);
  return gather_copy(call, x, nd, shape, pad_src, &m, v, out);
}

static ts_expr *pad_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *x = c->in[0];
  int nd = x->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  ts_expr *cond = NULL;
  for (int d = 0; d < nd; d++) {
    int64_t bf = c->v[0][d], af = c->v[1][d];
    if (bf)
      cond = tb_and(a, cond, ts_binary(a, TS_E_LE, tb_idx_c(a, sp[d], bf), sp[d]));
    if (af)
      cond = tb_and(a, cond, ts_binary(a, TS_E_LT, sp[d], tb_add_c(a, x->shape[d], bf)));
    idx[d] = tb_idx_add(a, sp[d], -bf);
  }
  ts_expr *v = ts_load(a, x, idx, nd);
  return cond ? tb_if(a, cond, v, c->e0) : v;
}

ts_status *ts_op_legalize_PAD(struct te_builder *b, const ts_gexpr *call,
                              ts_buffer *const *in, int n_in,
                              const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  int nd = in[0]->ndim;
  double v;
  TS_RETURN_IF_ERROR(pad_spec(call, nd, c->v[0], c->v[1], &v));
  c->e0 = tb_const(te_arena(b), in[0]->dtype, v);
  ts_buffer *res = te_output(b, "PadInput", out->u.tensor.shape, nd,
                             out->u.tensor.dtype);
  te_compute(b, "PadInput", res, pad_body, c);
  *out_name = "pad";
  return NULL;
}

/* ==== one_hot ============================================================= */

/* on_value / off_value: R.prim_value(...) arguments. */
static ts_status *one_hot_value(const ts_gexpr *call, int i, ts_expr **out,
                                ts_dtype *dt) {
  const ts_gexpr *g = call->u.call.args[i];
  const ts_sinfo *s = ts_ops_arg_sinfo(g);
  const char *name = i == 1 ? "on_value" : "off_value";
  if (!s || s->kind != TS_SI_PRIM) {
    ts_strbuf b = {0};
    ts_ops_print_sinfo(&b, s);
    ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                                 "operand %s must be a prim value, got %s", name,
                                 b.data);
    ts_strbuf_free(&b);
    return st;
  }
  *dt = s->u.prim.dtype;
  *out = g->kind == TS_G_PRIM ? g->u.prim : NULL;
  return NULL;
}

static ts_status *one_hot_attrs(const ts_gexpr *call, int ni, int64_t *depth,
                                int *axis) {
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "depth", -1, depth));
  if (*depth < 1)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "attribute depth must be a positive integer");
  int64_t ax;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", -1, &ax));
  return tb_axis(call, "axis", ax, ni + 1, axis);
}

ts_status *ts_op_infer_ONE_HOT(ts_arena *a, const ts_gexpr *call,
                               ts_sinfo **out) {
  const ts_sinfo *ind;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "indices", &ind));
  ts_expr *on, *off;
  ts_dtype dt, dt2;
  TS_RETURN_IF_ERROR(one_hot_value(call, 1, &on, &dt));
  TS_RETURN_IF_ERROR(one_hot_value(call, 2, &off, &dt2));
  if (!ts_dtype_eq(dt, dt2)) {
    char b1[32], b2[32];
    return ts_ops_error(call, TS_ERR_TYPE,
                        "on_value and off_value dtypes differ: %s and %s",
                        ts_dtype_str(dt, b1), ts_dtype_str(dt2, b2));
  }
  int ni = ind->u.tensor.ndim;
  if (ni < 0) {
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  int64_t depth;
  int ax;
  TS_RETURN_IF_ERROR(one_hot_attrs(call, ni, &depth, &ax));
  if (!ind->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, ni + 1, dt);
    return NULL;
  }
  ts_expr *sh[TS_MAX_NDIM + 1];
  for (int d = 0, j = 0; d <= ni; d++)
    sh[d] = d == ax ? ts_ops_int64(a, depth) : ind->u.tensor.shape[j++];
  *out = ts_ops_tensor(a, sh, ni + 1, dt);
  return NULL;
}

ts_status *ts_op_eval_ONE_HOT(const ts_gexpr *call, ts_ndarray **args,
                              int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 3);
  ts_ndarray *ind = args[0];
  int ni = ts_ndarray_ndim(ind), ax;
  int64_t depth;
  TS_RETURN_IF_ERROR(one_hot_attrs(call, ni, &depth, &ax));
  if (ni + 1 > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  ts_expr *e;
  ts_dtype dt;
  TS_RETURN_IF_ERROR(one_hot_value(call, 1, &e, &dt));
  double on = ts_ndarray_get_f64(args[1], 0), off = ts_ndarray_get_f64(args[2], 0);
  const int64_t *is = ts_ndarray_shape(ind);
  int64_t shape[TS_MAX_NDIM], outer = 1, inner = 1;
  for (int d = 0, j = 0; d <= ni; d++)
    shape[d] = d == ax ? depth : is[j++];
  for (int d = 0; d < ax; d++)
    outer *= is[d];
  for (int d = ax; d < ni; d++)
    inner *= is[d];
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, ni + 1, shape, dt, out));
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < depth; k++)
      for (int64_t i = 0; i < inner; i++) {
        int64_t v = ts_ndarray_get_i64(ind, o * inner + i);
        if (v < 0)
          v += depth;
        ts_ndarray_set_f64(*out, (o * depth + k) * inner + i, v == k ? on : off);
      }
  return NULL;
}

static ts_expr *one_hot_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                             void *vc) {
  (void)rd;
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *ind = c->in[0];
  int ni = ind->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)ni + 1, sizeof(ts_expr *));
  for (int d = 0, j = 0; d <= ni; d++)
    if (d != c->axis)
      idx[j++] = sp[d];
  ts_expr *k = sp[c->axis];
  ts_expr *i = mode_index(a, ts_load(a, ind, idx, ni),
                          ts_int(a, k->dtype, c->v[0][0]), MODE_FAST, k->dtype);
  return ts_select(a, ts_binary(a, TS_E_EQ, i, k), c->e0, c->e1);
}

ts_status *ts_op_legalize_ONE_HOT(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  mctx *c = new_ctx(b, call, in, n_in);
  ts_dtype dt;
  TS_RETURN_IF_ERROR(one_hot_value(call, 1, &c->e0, &dt));
  TS_RETURN_IF_ERROR(one_hot_value(call, 2, &c->e1, &dt));
  if (!c->e0 || !c->e1 || c->e0->kind == TS_E_VAR || c->e1->kind == TS_E_VAR)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: on_value and off_value must be "
                        "constants");
  c->e0 = tb_cast(te_arena(b), dt, c->e0);
  c->e1 = tb_cast(te_arena(b), dt, c->e1);
  TS_RETURN_IF_ERROR(one_hot_attrs(call, in[0]->ndim, &c->v[0][0], &c->axis));
  ts_buffer *res = te_output(b, "T_one_hot", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  te_compute(b, "T_one_hot", res, one_hot_body, c);
  *out_name = "one_hot";
  return NULL;
}

/* ==== cumsum ============================================================== */

/* axis None: -1 (over the flattened tensor). */
static ts_status *cumsum_attrs(const ts_gexpr *call, int nd, int *axis,
                               ts_dtype in, ts_dtype *dt, bool *exclusive) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  *axis = -1;
  if (v && v->kind != TS_ATTR_NONE) {
    int64_t ax;
    TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", 0, &ax));
    TS_RETURN_IF_ERROR(tb_axis(call, "axis", ax, nd, axis));
  }
  TS_RETURN_IF_ERROR(tb_attr_dtype(call, "dtype", in, dt));
  return ts_ops_attr_bool(call, "exclusive", false, exclusive);
}

ts_status *ts_op_infer_CUMSUM(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  int nd = x->u.tensor.ndim, ax;
  ts_dtype dt;
  bool ex;
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axis");
  bool flat = !v || v->kind == TS_ATTR_NONE;
  if (nd < 0) {
    TS_RETURN_IF_ERROR(tb_attr_dtype(call, "dtype", x->u.tensor.dtype, &dt));
    *out = ts_ops_tensor(a, NULL, flat ? 1 : -1, dt);
    return NULL;
  }
  TS_RETURN_IF_ERROR(cumsum_attrs(call, nd, &ax, x->u.tensor.dtype, &dt, &ex));
  if (!flat) {
    *out = ts_ops_tensor(a, x->u.tensor.shape, nd, dt);
    return NULL;
  }
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, 1, dt);
    return NULL;
  }
  ts_expr *n = ts_ops_int64(a, 1);
  for (int d = 0; d < nd; d++) {
    int64_t k, m;
    ts_expr *e = x->u.tensor.shape[d];
    if (ts_ops_const_int(n, &m) && ts_ops_const_int(e, &k))
      n = ts_ops_int64(a, m * k);
    else if (ts_ops_const_int(n, &m) && m == 1)
      n = e;
    else
      n = ts_binary(a, TS_E_MUL, n, e);
  }
  *out = ts_ops_tensor(a, &n, 1, dt);
  return NULL;
}

ts_status *ts_op_eval_CUMSUM(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  (void)n_args;
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x), ax;
  ts_dtype dt;
  bool ex;
  TS_RETURN_IF_ERROR(cumsum_attrs(call, nd, &ax, ts_ndarray_dtype(x), &dt, &ex));
  int64_t outer = 1, len, inner = 1, n = ts_ndarray_numel(x);
  const int64_t *s = ts_ndarray_shape(x);
  if (ax < 0) {
    len = n;
    TS_RETURN_IF_ERROR(ts_ops_new_array(call, 1, &n, dt, out));
  } else {
    len = s[ax];
    for (int d = 0; d < ax; d++)
      outer *= s[d];
    for (int d = ax + 1; d < nd; d++)
      inner *= s[d];
    TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, s, dt, out));
  }
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double acc = 0;
      for (int64_t k = 0; k < len; k++) {
        int64_t off = (o * len + k) * inner + i;
        double v = ts_ndarray_get_f64(x, off);
        if (!ex)
          acc += v;
        ts_ndarray_set_f64(*out, off, acc);
        if (ex)
          acc += v;
      }
    }
  return NULL;
}

/* out[.., i, ..] = sum over k of (k <= i ? x[.., k, ..] : 0), k < i when
 * exclusive; the flattened form unravels k into x's index. */
static ts_expr *cumsum_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  mctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *x = c->in[0];
  int nd = x->ndim, ax = c->axis;
  ts_expr *k = rd[0];
  ts_expr *i = ax < 0 ? sp[0] : sp[ax];
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  if (ax < 0) {
    ts_expr *rest = k;
    for (int d = nd - 1; d >= 0; d--) {
      if (d == 0) {
        idx[d] = rest;
      } else {
        idx[d] = ts_binary(a, TS_E_FLOORMOD, rest, tb_cast(a, k->dtype, x->shape[d]));
        rest = ts_binary(a, TS_E_FLOORDIV, rest, tb_cast(a, k->dtype, x->shape[d]));
      }
    }
  } else {
    for (int d = 0; d < nd; d++)
      idx[d] = d == ax ? k : sp[d];
  }
  ts_expr *v = tb_cast(a, c->out->dtype, ts_load(a, x, idx, nd));
  ts_expr *cond = ts_binary(a, c->exclusive ? TS_E_LT : TS_E_LE, k,
                            tb_cast(a, k->dtype, i));
  return tb_if(a, cond, v, tb_const(a, v->dtype, 0));
}

ts_status *ts_op_legalize_CUMSUM(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  mctx *c = new_ctx(b, call, in, n_in);
  int nd = in[0]->ndim;
  ts_dtype dt;
  TS_RETURN_IF_ERROR(
      cumsum_attrs(call, nd, &c->axis, in[0]->dtype, &dt, &c->exclusive));
  if (nd == 0)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED, "cannot legalize: 0-D data");
  ts_buffer *res = te_output(b, "T_cumsum", out->u.tensor.shape,
                             out->u.tensor.ndim, out->u.tensor.dtype);
  c->out = res;
  ts_expr *ext = c->axis < 0 ? res->shape[0] : in[0]->shape[c->axis];
  te_reduce(b, "T_cumsum", res, 1, &ext, tb_const(a, res->dtype, 0), TS_E_ADD,
            cumsum_body, c);
  *out_name = "cumsum";
  return NULL;
}
