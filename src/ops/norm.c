/* norm.c: the softmax family and normalization ops of section A (TVM Relax
 * names and attributes):
 *  - nn.log_softmax(x, axis=-1)
 *  - nn.layer_norm(x, gamma, beta, axes=[-1], epsilon=1e-5, center=True,
 *    scale=True): gamma/beta have x's extents at `axes` (in increasing axis
 *    order).
 *  - nn.rms_norm(x, weight, axes=[-1], epsilon=1e-5)
 *  - nn.group_norm(x, gamma, beta, num_groups, channel_axis=1, axes,
 *    epsilon=1e-5, center=True, scale=True): statistics over each group of
 *    channels and `axes` (default: every axis but 0 and the channel axis);
 *    gamma/beta have shape (C,).
 *  - nn.instance_norm(x, gamma, beta, channel_axis=1, axes, epsilon=1e-5,
 *    center, scale): group_norm with one group per channel.
 *  - nn.batch_norm(x, gamma, beta, moving_mean, moving_var, axis=1,
 *    epsilon=1e-5, center=True, scale=True), inference form.
 *    DIFFERENCE FROM TVM: TVM's R.nn.batch_norm returns the tuple (out,
 *    new_mean, new_var) and importers take [0]; here op evaluation and
 *    legalization produce one tensor, so the op returns `out` alone (the
 *    moving statistics are passed through unchanged in inference anyway).
 *
 * Variances are biased (divide by the element count).  The reference
 * evaluation works in double with a two-pass mean/variance; legalization
 * writes the same two passes as reduction stages into temporary buffers,
 * then one elementwise stage. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops_internal.h"
#include "ops/te.h"

/* ---- log_softmax ------------------------------------------------------------- */

ts_status *ts_op_infer_LOG_SOFTMAX(ts_arena *a, const ts_gexpr *call,
                                   ts_sinfo **out) {
  return ts_op_infer_SOFTMAX(a, call, out); /* same rules; messages name us */
}

ts_status *ts_op_eval_LOG_SOFTMAX(const ts_gexpr *call, ts_ndarray **args,
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
  if (axis < 0) axis += nd;
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, ts_ndarray_shape(x),
                                      ts_ndarray_dtype(x), out));
  const int64_t *s = ts_ndarray_shape(x);
  int64_t outer = 1, inner = 1, len = s[axis];
  for (int i = 0; i < axis; i++) outer *= s[i];
  for (int i = (int)axis + 1; i < nd; i++) inner *= s[i];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; k++) {
        double v = ts_ndarray_get_f64(x, base + k * inner);
        if (v > mx) mx = v;
      }
      for (int64_t k = 0; k < len; k++)
        sum += exp(ts_ndarray_get_f64(x, base + k * inner) - mx);
      double lse = log(sum);
      for (int64_t k = 0; k < len; k++)
        ts_ndarray_set_f64(*out, base + k * inner,
                           ts_ndarray_get_f64(x, base + k * inner) - mx - lse);
    }
  return NULL;
}

typedef struct lsctx {
  ts_buffer *in, *mx, *sum;
  int axis;
} lsctx;

static ts_expr **with_axis(te_builder *b, lsctx *c, ts_expr **sp, ts_expr *r) {
  ts_arena *a = te_arena(b);
  int nd = c->in->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0, k = 0; d < nd; d++) idx[d] = d == c->axis ? r : sp[k++];
  return idx;
}

static ts_expr **without_axis(te_builder *b, lsctx *c, ts_expr **sp) {
  ts_arena *a = te_arena(b);
  int nd = c->in->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0, k = 0; d < nd; d++)
    if (d != c->axis) idx[k++] = sp[d];
  return idx;
}

static ts_expr *call1(ts_arena *a, ts_intrin op, ts_expr *x) {
  ts_expr **args = ts_arena_array(a, 1, sizeof(ts_expr *));
  args[0] = x;
  return ts_call(a, x->dtype, op, args, 1);
}

static ts_expr *ls_max_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  lsctx *c = vc;
  return ts_load(te_arena(b), c->in, with_axis(b, c, sp, rd[0]), c->in->ndim);
}

static ts_expr *ls_sum_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  lsctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = ts_load(a, c->in, with_axis(b, c, sp, rd[0]), c->in->ndim);
  ts_expr *m = ts_load(a, c->mx, sp, c->in->ndim - 1);
  return call1(a, TS_INTRIN_EXP, ts_binary(a, TS_E_SUB, x, m));
}

static ts_expr *ls_out_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  (void)rd;
  lsctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->in->ndim;
  ts_expr *x = ts_load(a, c->in, sp, nd);
  ts_expr **r = without_axis(b, c, sp);
  ts_expr *m = ts_load(a, c->mx, r, nd - 1);
  ts_expr *s = ts_load(a, c->sum, r, nd - 1);
  return ts_binary(a, TS_E_SUB, ts_binary(a, TS_E_SUB, x, m),
                   call1(a, TS_INTRIN_LOG, s));
}

ts_status *ts_op_legalize_LOG_SOFTMAX(struct te_builder *b,
                                      const ts_gexpr *call,
                                      ts_buffer *const *in, int n_in,
                                      const ts_sinfo *out,
                                      const char **out_name) {
  (void)out_name;
  TS_ASSERT(n_in >= 1);
  ts_arena *a = te_arena(b);
  lsctx *c = ts_arena_alloc(a, sizeof *c);
  c->in = in[0];
  int nd = c->in->ndim;
  ts_dtype dt = out->u.tensor.dtype;
  int64_t axis;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", -1, &axis));
  c->axis = (int)(axis < 0 ? axis + nd : axis);
  ts_expr *red[TS_MAX_NDIM];
  for (int d = 0, k = 0; d < nd; d++)
    if (d != c->axis) red[k++] = c->in->shape[d];
  ts_buffer *res =
      te_output(b, "compute", out->u.tensor.shape, nd, dt);
  c->mx = te_temp(b, "T_softmax_maxelem", red, nd - 1, dt);
  c->sum = te_temp(b, "compute_red", red, nd - 1, dt);
  ts_expr *ext = c->in->shape[c->axis];
  te_reduce(b, "T_softmax_maxelem", c->mx, 1, &ext,
            ts_float(a, dt, -INFINITY), TS_E_MAX, ls_max_body, c);
  te_reduce(b, "compute_red", c->sum, 1, &ext, ts_float(a, dt, 0), TS_E_ADD,
            ls_sum_body, c);
  te_compute(b, "compute", res, ls_out_body, c);
  return NULL;
}

/* ---- shared description of a normalization ---------------------------------- */

typedef enum { N_LAYER, N_RMS, N_GROUP, N_INSTANCE, N_BATCH } nkind;

typedef struct norm_desc {
  nkind kind;
  int ndim;
  bool mask[TS_MAX_NDIM]; /* reduced axes (not the channel axis) */
  int channel;            /* group/instance/batch: the channel axis */
  int64_t groups;         /* group_norm: num_groups */
  double eps;
  bool center, scale;
} norm_desc;

static nkind kind_of(int op) {
  switch (op) {
  case TS_OP_LAYER_NORM: return N_LAYER;
  case TS_OP_RMS_NORM: return N_RMS;
  case TS_OP_GROUP_NORM: return N_GROUP;
  case TS_OP_INSTANCE_NORM: return N_INSTANCE;
  default: return N_BATCH;
  }
}

/* Reads the attributes against a tensor of rank nd. */
static ts_status *read_desc(const ts_gexpr *call, int nd, norm_desc *d) {
  memset(d, 0, sizeof *d);
  d->kind = kind_of(call->u.call.op);
  d->ndim = nd;
  if (nd > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  TS_RETURN_IF_ERROR(ts_ops_attr_float(call, "epsilon", 1e-5, &d->eps));
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "center", true, &d->center));
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "scale", true, &d->scale));
  const ts_attr_value *axes = ts_attrs_get(call->u.call.attrs, "axes");
  bool given = axes && axes->kind != TS_ATTR_NONE;
  if (d->kind == N_LAYER || d->kind == N_RMS) {
    d->channel = -1;
    if (given) return ts_ops_attr_axes(call, "axes", nd, d->mask);
    if (nd < 1)
      return ts_ops_error(call, TS_ERR_TYPE,
                          "requires a tensor of rank at least 1");
    d->mask[nd - 1] = true;
    return NULL;
  }
  int64_t ch;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, d->kind == N_BATCH ? "axis"
                                                              : "channel_axis",
                                     1, &ch));
  if (ch < -nd || ch >= nd)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "%s %lld is out of range for a tensor of rank %d",
                        d->kind == N_BATCH ? "axis" : "channel_axis",
                        (long long)ch, nd);
  d->channel = (int)(ch < 0 ? ch + nd : ch);
  if (d->kind == N_BATCH) return NULL;
  if (d->kind == N_GROUP) {
    TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "num_groups", 0, &d->groups));
    if (d->groups <= 0)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "num_groups must be a positive integer");
  }
  if (given) {
    TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axes", nd, d->mask));
    if (d->mask[d->channel])
      return ts_ops_error(call, TS_ERR_VALUE,
                          "axes must not contain the channel axis %d",
                          d->channel);
  } else {
    for (int i = 1; i < nd; i++) d->mask[i] = i != d->channel;
  }
  return NULL;
}

/* ---- inference ----------------------------------------------------------------- */

/* Checks that parameter operand i (named `what`) is a tensor of x's dtype
 * whose shape is `want` (nw dims; want may be NULL when unknown). */
static ts_status *check_param(const ts_gexpr *call, int i, const char *what,
                              ts_dtype xdt, ts_expr **want, int nw) {
  const ts_sinfo *s;
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, i, what, &s));
  ts_dtype dt = s->u.tensor.dtype;
  char b1[32], b2[32];
  if (dt.code != TS_VOID && xdt.code != TS_VOID && !ts_dtype_eq(dt, xdt))
    return ts_ops_error(call, TS_ERR_TYPE, "%s has dtype %s, expected %s", what,
                        ts_dtype_str(dt, b1), ts_dtype_str(xdt, b2));
  if (nw >= 0 && s->u.tensor.ndim >= 0 && s->u.tensor.ndim != nw)
    return ts_ops_error(call, TS_ERR_TYPE, "%s must have rank %d, got %d",
                        what, nw, s->u.tensor.ndim);
  if (!want || !s->u.tensor.shape) return NULL;
  for (int k = 0; k < nw; k++) {
    int64_t u, v;
    bool same = ts_ops_dim_equal(s->u.tensor.shape[k], want[k]);
    /* two different constants, or a constant and a symbolic dimension that
     * cannot be proved equal, are a mismatch only when both are constant */
    if (!same && ts_ops_const_int(s->u.tensor.shape[k], &u) &&
        ts_ops_const_int(want[k], &v)) {
      ts_strbuf g = {0}, w = {0};
      ts_ops_print_shape(&g, s->u.tensor.shape, nw);
      ts_ops_print_shape(&w, want, nw);
      ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                                   "%s has shape %s, expected %s", what, g.data,
                                   w.data);
      ts_strbuf_free(&g);
      ts_strbuf_free(&w);
      return st;
    }
  }
  return NULL;
}

static ts_status *infer_norm(ts_arena *a, const ts_gexpr *call,
                             ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  ts_dtype dt = x->u.tensor.dtype;
  char b[32];
  if (dt.code != TS_VOID && !ts_dtype_is_float(dt))
    return ts_ops_error(call, TS_ERR_TYPE, "requires a float tensor, got %s",
                        ts_dtype_str(dt, b));
  nkind kind = kind_of(call->u.call.op);
  int nd = x->u.tensor.ndim;
  static const char *const names[][4] = {
      {"gamma", "beta"},
      {"weight"},
      {"gamma", "beta"},
      {"gamma", "beta"},
      {"gamma", "beta", "moving_mean", "moving_var"}};
  int n_par = call->u.call.n_args - 1;
  if (nd < 0) {
    for (int i = 0; i < n_par; i++)
      TS_RETURN_IF_ERROR(check_param(call, i + 1, names[kind][i], dt, NULL,
                                     kind == N_LAYER || kind == N_RMS ? -1 : 1));
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  norm_desc d;
  TS_RETURN_IF_ERROR(read_desc(call, nd, &d));
  ts_expr **shape = x->u.tensor.shape;
  ts_expr *want[TS_MAX_NDIM];
  int nw = 0;
  if (kind == N_LAYER || kind == N_RMS) {
    for (int i = 0; i < nd; i++)
      if (d.mask[i]) want[nw++] = shape ? shape[i] : NULL;
  } else {
    want[nw++] = shape ? shape[d.channel] : NULL;
  }
  if (kind == N_GROUP && shape) {
    int64_t cdim;
    if (ts_ops_const_int(shape[d.channel], &cdim) && cdim % d.groups != 0)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "%lld channels are not divisible into %lld groups",
                          (long long)cdim, (long long)d.groups);
  }
  for (int i = 0; i < n_par; i++)
    TS_RETURN_IF_ERROR(check_param(call, i + 1, names[kind][i], dt,
                                   shape ? want : NULL, nw));
  *out = ts_ops_tensor(a, shape, nd, dt);
  return NULL;
}

/* ---- evaluation ------------------------------------------------------------------ */

static ts_status *eval_norm(const ts_gexpr *call, ts_ndarray **args, int n_args,
                            ts_ndarray **out) {
  ts_ndarray *x = args[0];
  int nd = ts_ndarray_ndim(x);
  const int64_t *s = ts_ndarray_shape(x);
  norm_desc d;
  TS_RETURN_IF_ERROR(read_desc(call, nd, &d));
  TS_RETURN_IF_ERROR(
      ts_ops_new_array(call, nd, s, ts_ndarray_dtype(x), out));
  int64_t n = ts_ndarray_numel(x), idx[TS_MAX_NDIM];
  int64_t groups = d.kind == N_GROUP ? d.groups
                   : d.kind == N_INSTANCE ? s[d.channel] : 1;
  int64_t cg = d.channel >= 0 && groups > 0 ? s[d.channel] / groups : 1;
  if (d.kind == N_GROUP && s[d.channel] % d.groups != 0) {
    ts_ndarray_release(*out);
    *out = NULL;
    return ts_ops_error(call, TS_ERR_VALUE,
                        "%lld channels are not divisible into %lld groups",
                        (long long)s[d.channel], (long long)d.groups);
  }
  /* number of statistics and their element count */
  int64_t n_stat = 1, count = 1;
  for (int i = 0; i < nd; i++) {
    if (d.mask[i]) count *= s[i];
    else if (i == d.channel && d.kind != N_BATCH) {
      n_stat *= groups;
      count *= cg;
    } else n_stat *= s[i];
  }
  int64_t *sid = ts_xmalloc((size_t)(n ? n : 1) * sizeof(int64_t));
  int64_t *gid = ts_xmalloc((size_t)(n ? n : 1) * sizeof(int64_t));
  for (int i = 0; i < nd; i++) idx[i] = 0;
  for (int64_t e = 0; e < n; e++) {
    int64_t st = 0, g = 0;
    for (int i = 0; i < nd; i++) {
      if (d.mask[i]) {
        if (d.channel < 0) g = g * s[i] + idx[i];
      } else if (i == d.channel && d.kind != N_BATCH) {
        st = st * groups + idx[i] / cg;
      } else {
        st = st * s[i] + idx[i];
      }
    }
    if (d.channel >= 0) g = idx[d.channel];
    sid[e] = st;
    gid[e] = g;
    for (int i = nd - 1; i >= 0; i--) {
      if (++idx[i] < s[i]) break;
      idx[i] = 0;
    }
  }
  size_t ns = (size_t)(n_stat ? n_stat : 1);
  double *mean = ts_xcalloc(ns, sizeof(double));
  double *var = ts_xcalloc(ns, sizeof(double));
  if (d.kind != N_BATCH) {
    for (int64_t e = 0; e < n; e++) {
      double v = ts_ndarray_get_f64(x, e);
      if (d.kind == N_RMS) var[sid[e]] += v * v;
      else mean[sid[e]] += v;
    }
    for (size_t k = 0; k < ns; k++) mean[k] /= (double)count;
    if (d.kind != N_RMS)
      for (int64_t e = 0; e < n; e++) {
        double v = ts_ndarray_get_f64(x, e) - mean[sid[e]];
        var[sid[e]] += v * v;
      }
    for (size_t k = 0; k < ns; k++) var[k] /= (double)count;
  }
  ts_ndarray *gamma = n_args > 1 ? args[1] : NULL;
  ts_ndarray *beta = d.kind != N_RMS && n_args > 2 ? args[2] : NULL;
  for (int64_t e = 0; e < n; e++) {
    double v = ts_ndarray_get_f64(x, e), m, va;
    if (d.kind == N_BATCH) {
      m = ts_ndarray_get_f64(args[3], gid[e]);
      va = ts_ndarray_get_f64(args[4], gid[e]);
    } else {
      m = mean[sid[e]];
      va = var[sid[e]];
    }
    double r = d.kind == N_RMS ? v / sqrt(va + d.eps)
                               : (v - m) / sqrt(va + d.eps);
    if (d.kind == N_RMS || d.scale) r *= ts_ndarray_get_f64(gamma, gid[e]);
    if (d.kind != N_RMS && d.center) r += ts_ndarray_get_f64(beta, gid[e]);
    ts_ndarray_set_f64(*out, e, r);
  }
  free(sid);
  free(gid);
  free(mean);
  free(var);
  return NULL;
}

/* ---- legalization ------------------------------------------------------------------ */

typedef struct nctx {
  norm_desc d;
  ts_buffer *in[5];
  ts_buffer *sum, *var; /* statistics: non-reduced axes, channel -> group */
  int n_stat_dims;
  ts_expr *cg;    /* channels per group (group/instance) */
  ts_expr *count; /* elements per statistic, in x's dtype */
  ts_dtype dt;
} nctx;

static bool grouped(const nctx *c) {
  return c->d.kind == N_GROUP || c->d.kind == N_INSTANCE;
}

/* The element of x for statistic index sp and reduction index rd (rd[0] is
 * the channel within the group when grouped). */
static ts_expr *x_at_stat(te_builder *b, nctx *c, ts_expr **sp, ts_expr **rd) {
  ts_arena *a = te_arena(b);
  int nd = c->d.ndim, si = 0, ri = grouped(c) ? 1 : 0;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int i = 0; i < nd; i++) {
    if (c->d.mask[i]) idx[i] = rd[ri++];
    else if (i == c->d.channel && grouped(c))
      idx[i] = ts_binary(a, TS_E_ADD, ts_binary(a, TS_E_MUL, sp[si++], c->cg),
                         rd[0]);
    else idx[i] = sp[si++];
  }
  return ts_load(a, c->in[0], idx, nd);
}

/* The statistic index of output element sp. */
static ts_expr **stat_of(te_builder *b, nctx *c, ts_expr **sp) {
  ts_arena *a = te_arena(b);
  ts_expr **idx = ts_arena_array(a, (size_t)c->d.ndim + 1, sizeof(ts_expr *));
  int k = 0;
  for (int i = 0; i < c->d.ndim; i++) {
    if (c->d.mask[i]) continue;
    if (i == c->d.channel && grouped(c))
      idx[k++] = ts_binary(a, TS_E_FLOORDIV, sp[i], c->cg);
    else idx[k++] = sp[i];
  }
  return idx;
}

static ts_expr *sum_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  nctx *c = vc;
  ts_expr *x = x_at_stat(b, c, sp, rd);
  if (c->d.kind == N_RMS) return ts_binary(te_arena(b), TS_E_MUL, x, x);
  return x;
}

static ts_expr *mean_at(te_builder *b, nctx *c, ts_expr **st) {
  ts_arena *a = te_arena(b);
  return ts_binary(a, TS_E_DIV, ts_load(a, c->sum, st, c->n_stat_dims),
                   c->count);
}

static ts_expr *var_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  nctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *dv = ts_binary(a, TS_E_SUB, x_at_stat(b, c, sp, rd),
                          mean_at(b, c, sp));
  return ts_binary(a, TS_E_MUL, dv, dv);
}

static ts_expr *out_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  nctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->d.ndim;
  ts_expr *x = ts_load(a, c->in[0], sp, nd);
  ts_expr *eps = ts_float(a, c->dt, c->d.eps);
  /* parameter index: the channel, or the reduced axes (layer/rms norm) */
  ts_expr **pi = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  int np = 0;
  if (c->d.channel >= 0) pi[np++] = sp[c->d.channel];
  else
    for (int i = 0; i < nd; i++)
      if (c->d.mask[i]) pi[np++] = sp[i];
  ts_expr *num, *den;
  if (c->d.kind == N_BATCH) {
    num = ts_binary(a, TS_E_SUB, x, ts_load(a, c->in[3], pi, np));
    den = call1(a, TS_INTRIN_SQRT,
                ts_binary(a, TS_E_ADD, ts_load(a, c->in[4], pi, np), eps));
  } else {
    ts_expr **st = stat_of(b, c, sp);
    ts_expr *v = ts_binary(a, TS_E_DIV,
                           ts_load(a, c->d.kind == N_RMS ? c->sum : c->var, st,
                                   c->n_stat_dims),
                           c->count);
    num = c->d.kind == N_RMS ? x : ts_binary(a, TS_E_SUB, x, mean_at(b, c, st));
    den = call1(a, TS_INTRIN_SQRT, ts_binary(a, TS_E_ADD, v, eps));
  }
  ts_expr *r = ts_binary(a, TS_E_DIV, num, den);
  if (c->d.kind == N_RMS || c->d.scale)
    r = ts_binary(a, TS_E_MUL, r, ts_load(a, c->in[1], pi, np));
  if (c->d.kind != N_RMS && c->d.center)
    r = ts_binary(a, TS_E_ADD, r, ts_load(a, c->in[2], pi, np));
  return r;
}

static ts_status *legalize_norm(struct te_builder *b, const ts_gexpr *call,
                                ts_buffer *const *in, int n_in,
                                const ts_sinfo *out, const char **out_name) {
  (void)out_name;
  ts_arena *a = te_arena(b);
  nctx *c = ts_arena_alloc(a, sizeof *c);
  for (int i = 0; i < n_in && i < 5; i++) c->in[i] = in[i];
  int nd = in[0]->ndim;
  c->dt = out->u.tensor.dtype;
  TS_RETURN_IF_ERROR(read_desc(call, nd, &c->d));
  const char *name = ts_op_get(call->u.call.op)->name + 3; /* no "nn." */
  ts_buffer *res = te_output(b, ts_arena_printf(a, "T_%s", name),
                             out->u.tensor.shape, nd, c->dt);
  if (c->d.kind != N_BATCH) {
    ts_expr *sh[TS_MAX_NDIM], *ext[TS_MAX_NDIM + 1];
    int ns = 0, nr = 0;
    ts_expr *chans = c->d.channel >= 0 ? in[0]->shape[c->d.channel] : NULL;
    ts_expr *groups = NULL;
    if (c->d.kind == N_GROUP) {
      groups = ts_int(a, chans->dtype, c->d.groups);
      c->cg = ts_expr_simplify_const(
          a, ts_binary(a, TS_E_FLOORDIV, chans, groups));
    } else if (c->d.kind == N_INSTANCE) {
      groups = chans;
      c->cg = ts_int(a, chans->dtype, 1);
    }
    if (grouped(c)) ext[nr++] = c->cg;
    for (int i = 0; i < nd; i++) {
      if (c->d.mask[i]) ext[nr++] = in[0]->shape[i];
      else sh[ns++] = i == c->d.channel && grouped(c) ? groups : in[0]->shape[i];
    }
    c->n_stat_dims = ns;
    ts_expr *count = NULL;
    for (int i = 0; i < nr; i++)
      count = count ? ts_binary(a, TS_E_MUL, count, ext[i]) : ext[i];
    if (!count) count = ts_int(a, TS_I64, 1);
    count = ts_expr_simplify_const(a, count);
    int64_t cn;
    c->count = ts_ops_const_int(count, &cn) ? ts_float(a, c->dt, (double)cn)
                                            : ts_cast(a, c->dt, count);
    c->sum = te_temp(b, ts_arena_printf(a, "T_%s_sum", name), sh, ns, c->dt);
    te_reduce(b, c->sum->name, c->sum, nr, ext, ts_float(a, c->dt, 0),
              TS_E_ADD, sum_body, c);
    if (c->d.kind != N_RMS) {
      c->var = te_temp(b, ts_arena_printf(a, "T_%s_var", name), sh, ns, c->dt);
      te_reduce(b, c->var->name, c->var, nr, ext, ts_float(a, c->dt, 0),
                TS_E_ADD, var_body, c);
    }
  }
  te_compute(b, res->name, res, out_body, c);
  return NULL;
}

#define NORM(ID)                                                               \
  ts_status *ts_op_infer_##ID(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out) {                                \
    return infer_norm(a, call, out);                                           \
  }                                                                            \
  ts_status *ts_op_eval_##ID(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out) {                   \
    return eval_norm(call, args, n_args, out);                                 \
  }                                                                            \
  ts_status *ts_op_legalize_##ID(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name) { \
    return legalize_norm(b, call, in, n_in, out, out_name);                    \
  }

NORM(LAYER_NORM)
NORM(RMS_NORM)
NORM(GROUP_NORM)
NORM(INSTANCE_NORM)
NORM(BATCH_NORM)
