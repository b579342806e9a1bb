/* conv.c: R.nn.conv1d (NCW x OIW), R.nn.conv2d (NCHW x OIHW) and
 * R.nn.conv2d_transpose (NCHW x IOHW), with TVM Relax's attributes:
 * strides, padding (one value for every side; one per spatial axis for
 * both sides; or all befores then all afters -- (top, left, bottom, right)
 * for 2-D), dilation, groups, data_layout / kernel_layout / out_layout
 * (only the defaults), out_dtype ("" = the input's), and for the transpose
 * output_padding.  Depthwise convolution is groups == channels.
 *
 * Everything is written once for `nsp` spatial axes (1 or 2).  Evaluation
 * views a 1-D convolution as a 2-D one with a unit height.  Legalization
 * follows TOPI: a pad stage (pad_temp, T.if_then_else on the bounds that
 * are padded) and a reduction over (rc, ry, rx) into conv2d_nchw
 * (PaddedInput / DepthwiseConv2d for depthwise, group_conv2d_nchw for other
 * groups; conv1d_ncw / group_conv1d_ncw in 1-D); the transpose reads the
 * input directly where the stride divides the offset ("compute"). */
#include <stdlib.h>
#include <string.h>

#include "ops/ops_b.h"

typedef struct conv_attrs {
  int nsp;        /* spatial axes: 1 or 2 */
  bool transpose; /* conv2d_transpose: weight is (I, O/groups, k...) */
  int64_t stride[2], dilation[2], pad_before[2], pad_after[2], out_pad[2];
  int64_t groups;
  ts_dtype out_dtype; /* TS_VOID: the input's */
} conv_attrs;

static int op_nsp(int op) { return op == TS_OP_CONV1D ? 1 : 2; }

/* Reads a per-spatial-axis list: one value or nsp values. */
static ts_status *spatial_list(const ts_gexpr *call, const char *key,
                               int nsp, int64_t def, int64_t *out) {
  int64_t v[8];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, key, -1, 8, v, &n));
  for (int i = 0; i < nsp; i++)
    out[i] = n < 0 ? def : n == 1 ? v[0] : v[i];
  if (n >= 0 && n != 1 && n != nsp)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "%s must have 1 or %d values, got %d", key, nsp, n);
  return NULL;
}

static ts_status *check_layout(const ts_gexpr *call, const char *key,
                               const char *want) {
  const char *s;
  TS_RETURN_IF_ERROR(tb_attr_str(call, key, want, &s));
  if (strcmp(s, want) != 0)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "%s \"%s\" is not supported (only \"%s\")", key, s,
                        want);
  return NULL;
}

static ts_status *read_attrs(const ts_gexpr *call, conv_attrs *c) {
  memset(c, 0, sizeof *c);
  int op = call->u.call.op;
  c->nsp = op_nsp(op);
  c->transpose = op == TS_OP_CONV2D_TRANSPOSE;
  int nsp = c->nsp;
  TS_RETURN_IF_ERROR(spatial_list(call, "strides", nsp, 1, c->stride));
  TS_RETURN_IF_ERROR(spatial_list(call, "dilation", nsp, 1, c->dilation));
  TS_RETURN_IF_ERROR(
      spatial_list(call, "output_padding", nsp, 0, c->out_pad));
  int64_t p[8];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "padding", -1, 8, p, &n));
  for (int i = 0; i < nsp; i++) {
    if (n <= 0)
      c->pad_before[i] = c->pad_after[i] = 0;
    else if (n == 1)
      c->pad_before[i] = c->pad_after[i] = p[0];
    else if (n == nsp)
      c->pad_before[i] = c->pad_after[i] = p[i];
    else if (n == 2 * nsp) {
      c->pad_before[i] = p[i];
      c->pad_after[i] = p[nsp + i];
    } else {
      return ts_ops_error(call, TS_ERR_VALUE,
                          "padding must have 1, %d or %d values, got %d", nsp,
                          2 * nsp, n);
    }
  }
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "groups", 1, &c->groups));
  if (c->groups < 1)
    return ts_ops_error(call, TS_ERR_VALUE, "groups must be positive, got %lld",
                        (long long)c->groups);
  for (int i = 0; i < nsp; i++) {
    if (c->stride[i] < 1 || c->dilation[i] < 1)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "strides and dilation must be positive");
    if (c->pad_before[i] < 0 || c->pad_after[i] < 0 || c->out_pad[i] < 0)
      return ts_ops_error(call, TS_ERR_VALUE, "padding must not be negative");
  }
  const char *dl = nsp == 1 ? "NCW" : "NCHW";
  const char *kl = nsp == 1 ? "OIW" : c->transpose ? "IOHW" : "OIHW";
  TS_RETURN_IF_ERROR(check_layout(call, "data_layout", dl));
  TS_RETURN_IF_ERROR(check_layout(call, "kernel_layout", kl));
  TS_RETURN_IF_ERROR(check_layout(call, "out_layout", dl));
  TS_RETURN_IF_ERROR(tb_attr_dtype(call, "out_dtype", TS_VOIDT, &c->out_dtype));
  return NULL;
}

/* ---- struct info ---------------------------------------------------------- */

static ts_status *conv_infer(ts_arena *a, const ts_gexpr *call,
                             ts_sinfo **out) {
  const ts_sinfo *x, *w;
  conv_attrs c;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "weight", &w));
  TS_RETURN_IF_ERROR(read_attrs(call, &c));
  const char *names[2] = {"data", "weight"};
  const ts_sinfo *sis[2] = {x, w};
  int nd = c.nsp + 2;
  ts_dtype dx = x->u.tensor.dtype, dw = w->u.tensor.dtype;
  if (dx.code != TS_VOID && dw.code != TS_VOID && !ts_dtype_eq(dx, dw))
    return tb_operand_error(call, TS_ERR_TYPE, "operand dtypes differ", 2,
                            names, sis);
  ts_dtype dt = c.out_dtype.code != TS_VOID ? c.out_dtype
                : dx.code != TS_VOID        ? dx
                                            : dw;
  if ((x->u.tensor.ndim >= 0 && x->u.tensor.ndim != nd) ||
      (w->u.tensor.ndim >= 0 && w->u.tensor.ndim != nd)) {
    char what[64];
    snprintf(what, sizeof what, "data and weight must be %d-D", nd);
    return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, sis);
  }
  if (!x->u.tensor.shape || !w->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nd, dt);
    return NULL;
  }
  ts_expr *const *xs = x->u.tensor.shape, *const *ws = w->u.tensor.shape;
  int64_t cin, wi, wo;
  bool kc = ts_ops_const_int(xs[1], &cin);
  /* weight (O, I/g, k..) for conv; (I, O/g, k..) for the transpose */
  ts_expr *w_in = c.transpose ? ws[0] : ws[1];
  bool kwi = ts_ops_const_int(w_in, &wi), kwo = ts_ops_const_int(ws[c.transpose ? 1 : 0], &wo);
  ts_expr *oc;
  if (!c.transpose) {
    if (kc && kwi && cin != wi * c.groups) {
      char what[160];
      snprintf(what, sizeof what,
               "input channels %lld do not match weight in_channels*groups "
               "%lld",
               (long long)cin, (long long)(wi * c.groups));
      return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, sis);
    }
    if (kwo && wo % c.groups != 0) {
      char what[160];
      snprintf(what, sizeof what,
               "output channels %lld are not divisible by groups %lld",
               (long long)wo, (long long)c.groups);
      return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, sis);
    }
    oc = ws[0];
  } else {
    if (kc && kwi && cin != wi) {
      char what[160];
      snprintf(what, sizeof what,
               "input channels %lld do not match weight in_channels %lld",
               (long long)cin, (long long)wi);
      return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, sis);
    }
    if (kc && cin % c.groups != 0) {
      char what[160];
      snprintf(what, sizeof what,
               "input channels %lld are not divisible by groups %lld",
               (long long)cin, (long long)c.groups);
      return tb_operand_error(call, TS_ERR_TYPE, what, 2, names, sis);
    }
    oc = tb_mul_c(a, ws[1], c.groups);
  }
  ts_expr *sh[4];
  sh[0] = xs[0];
  sh[1] = oc;
  for (int i = 0; i < c.nsp; i++) {
    ts_expr *in = xs[2 + i], *k = ws[2 + i];
    int64_t kv;
    if (!ts_ops_const_int(k, &kv)) {
      *out = ts_ops_tensor(a, NULL, nd, dt);
      return NULL;
    }
    int64_t kd = c.dilation[i] * (kv - 1) + 1;
    ts_expr *o;
    if (!c.transpose) {
      /* (in + pads - kd) // stride + 1 */
      int64_t off = c.pad_before[i] + c.pad_after[i] - kd;
      o = c.stride[i] == 1
              ? tb_add_c(a, in, off + 1)
              : tb_add_c(a, tb_div_c(a, tb_add_c(a, in, off), c.stride[i]), 1);
    } else {
      /* (in - 1) * stride - pads + kd + output_padding */
      o = tb_add_c(a, tb_mul_c(a, tb_add_c(a, in, -1), c.stride[i]),
                   kd - c.pad_before[i] - c.pad_after[i] + c.out_pad[i]);
    }
    int64_t ov;
    if (ts_ops_const_int(o, &ov) && ov <= 0) {
      char what[160];
      snprintf(what, sizeof what,
               "the output's spatial axis %d would have size %lld", i,
               (long long)ov);
      return tb_operand_error(call, TS_ERR_VALUE, what, 2, names, sis);
    }
    sh[2 + i] = o;
  }
  *out = ts_ops_tensor(a, sh, nd, dt);
  return NULL;
}

ts_status *ts_op_infer_CONV1D(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  return conv_infer(a, call, out);
}
ts_status *ts_op_infer_CONV2D(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  return conv_infer(a, call, out);
}
ts_status *ts_op_infer_CONV2D_TRANSPOSE(ts_arena *a, const ts_gexpr *call,
                                        ts_sinfo **out) {
  return conv_infer(a, call, out);
}

/* ---- evaluation ------------------------------------------------------------ */

static ts_status *conv_eval(const ts_gexpr *call, ts_ndarray **args,
                            int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 2);
  conv_attrs c;
  TS_RETURN_IF_ERROR(read_attrs(call, &c));
  ts_ndarray *x = args[0], *w = args[1];
  int nd = c.nsp + 2;
  char b1[128], b2[128];
  if (ts_ndarray_ndim(x) != nd || ts_ndarray_ndim(w) != nd)
    return ts_ops_error(call, TS_ERR_TYPE, "data and weight must be %d-D: %s, %s",
                        nd, ts_ndarray_describe(x, b1, sizeof b1),
                        ts_ndarray_describe(w, b2, sizeof b2));
  const int64_t *xs = ts_ndarray_shape(x), *ws = ts_ndarray_shape(w);
  /* everything as 2-D: index 0 is height (unit for 1-D), 1 is width */
  int64_t N = xs[0], C = xs[1], H = 1, W, KH = 1, KW;
  int64_t st[2] = {1, 1}, dl[2] = {1, 1}, pb[2] = {0, 0}, pa[2] = {0, 0},
          op[2] = {0, 0};
  int off = 2 - c.nsp;
  for (int i = 0; i < c.nsp; i++) {
    st[off + i] = c.stride[i];
    dl[off + i] = c.dilation[i];
    pb[off + i] = c.pad_before[i];
    pa[off + i] = c.pad_after[i];
    op[off + i] = c.out_pad[i];
  }
  if (c.nsp == 2) {
    H = xs[2];
    KH = ws[2];
  }
  W = xs[nd - 1];
  KW = ws[nd - 1];
  int64_t G = c.groups, O, Cg, Og;
  if (!c.transpose) {
    O = ws[0];
    Cg = ws[1];
    if (C != Cg * G || O % G != 0)
      return ts_ops_error(call, TS_ERR_TYPE,
                          "channels do not match: data %s, weight %s",
                          ts_ndarray_describe(x, b1, sizeof b1),
                          ts_ndarray_describe(w, b2, sizeof b2));
    Og = O / G;
  } else {
    Og = ws[1];
    O = Og * G;
    if (C != ws[0] || C % G != 0)
      return ts_ops_error(call, TS_ERR_TYPE,
                          "channels do not match: data %s, weight %s",
                          ts_ndarray_describe(x, b1, sizeof b1),
                          ts_ndarray_describe(w, b2, sizeof b2));
    Cg = C / G;
  }
  int64_t OH, OW;
  if (!c.transpose) {
    OH = (H + pb[0] + pa[0] - dl[0] * (KH - 1) - 1) / st[0] + 1;
    OW = (W + pb[1] + pa[1] - dl[1] * (KW - 1) - 1) / st[1] + 1;
  } else {
    OH = (H - 1) * st[0] - pb[0] - pa[0] + dl[0] * (KH - 1) + op[0] + 1;
    OW = (W - 1) * st[1] - pb[1] - pa[1] + dl[1] * (KW - 1) + op[1] + 1;
  }
  if (OH <= 0 || OW <= 0)
    return ts_ops_error(call, TS_ERR_VALUE, "empty output for data %s",
                        ts_ndarray_describe(x, b1, sizeof b1));
  int64_t shape[4] = {N, O, OH, OW};
  if (c.nsp == 1)
    shape[2] = OW;
  ts_dtype dt = c.out_dtype.code != TS_VOID ? c.out_dtype : ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  int64_t oi = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++)
      for (int64_t y = 0; y < OH; y++)
        for (int64_t xo = 0; xo < OW; xo++) {
          int64_t g = o / Og;
          double acc = 0;
          for (int64_t rc = 0; rc < Cg; rc++) {
            int64_t ci = g * Cg + rc;
            for (int64_t ky = 0; ky < KH; ky++)
              for (int64_t kx = 0; kx < KW; kx++) {
                int64_t iy, ix;
                if (!c.transpose) {
                  iy = y * st[0] + ky * dl[0] - pb[0];
                  ix = xo * st[1] + kx * dl[1] - pb[1];
                } else {
                  int64_t ty = y + pb[0] - ky * dl[0],
                          tx = xo + pb[1] - kx * dl[1];
                  if (ty < 0 || tx < 0 || ty % st[0] || tx % st[1])
                    continue;
                  iy = ty / st[0];
                  ix = tx / st[1];
                }
                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                  continue;
                int64_t wo = !c.transpose ? ((o * Cg + rc) * KH + ky) * KW + kx
                                          : ((ci * Og + o % Og) * KH + ky) * KW + kx;
                acc += ts_ndarray_get_f64(x, ((n * C + ci) * H + iy) * W + ix) *
                       ts_ndarray_get_f64(w, wo);
              }
          }
          ts_ndarray_set_f64(*out, oi++, acc);
        }
  return NULL;
}

ts_status *ts_op_eval_CONV1D(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  return conv_eval(call, args, n_args, out);
}
ts_status *ts_op_eval_CONV2D(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  return conv_eval(call, args, n_args, out);
}
ts_status *ts_op_eval_CONV2D_TRANSPOSE(const ts_gexpr *call, ts_ndarray **args,
                                       int n_args, ts_ndarray **out) {
  return conv_eval(call, args, n_args, out);
}

/* ---- legalization ------------------------------------------------------- */

typedef struct conv_ctx {
  conv_attrs at;
  ts_buffer *x, *w, *pad;
  int64_t cg, og; /* channels per group: input, output */
  ts_dtype dt;
} conv_ctx;

/* pad_temp[n, c, y..] = if_then_else(in bounds, x[n, c, y - pb..], 0) */
static ts_expr *pad_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  conv_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->at.nsp + 2;
  ts_expr **idx = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  ts_expr *cond = NULL;
  idx[0] = sp[0];
  idx[1] = sp[1];
  for (int i = 0; i < c->at.nsp; i++) {
    int64_t pb = c->at.pad_before[i], pa = c->at.pad_after[i];
    ts_expr *s = sp[2 + i];
    if (pb)
      cond = tb_and(a, cond, ts_binary(a, TS_E_LE, tb_idx_c(a, s, pb), s));
    if (pa)
      cond = tb_and(a, cond,
                    ts_binary(a, TS_E_LT, s,
                              tb_add_c(a, c->x->shape[2 + i], pb)));
    idx[2 + i] = tb_idx_add(a, s, -pb);
  }
  ts_expr *v = ts_load(a, c->x, idx, nd);
  return cond ? tb_if(a, cond, v, tb_const(a, v->dtype, 0)) : v;
}

/* out[n, o, y..] += pad[n, g*Cg + rc, y*s + ry*d..] * w[o, rc, ry..] */
static ts_expr *conv_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  conv_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->at.nsp + 2;
  ts_expr **pi = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  ts_expr **wi = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  ts_expr *o = sp[1], *rc = rd[0];
  pi[0] = sp[0];
  if (c->at.groups == 1)
    pi[1] = rc;
  else if (c->cg == 1)
    pi[1] = c->og == 1 ? o : ts_binary(a, TS_E_FLOORDIV, o, tb_idx_c(a, o, c->og));
  else
    pi[1] = ts_binary(a, TS_E_ADD,
                      ts_binary(a, TS_E_MUL,
                                ts_binary(a, TS_E_FLOORDIV, o, tb_idx_c(a, o, c->og)),
                                tb_idx_c(a, o, c->cg)),
                      rc);
  wi[0] = o;
  wi[1] = c->cg == 1 && c->at.groups > 1 ? tb_idx_c(a, rc, 0) : rc;
  for (int i = 0; i < c->at.nsp; i++) {
    ts_expr *y = sp[2 + i], *r = rd[1 + i];
    ts_expr *ys = c->at.stride[i] == 1
                      ? y
                      : ts_binary(a, TS_E_MUL, y, tb_idx_c(a, y, c->at.stride[i]));
    ts_expr *rs = c->at.dilation[i] == 1
                      ? r
                      : ts_binary(a, TS_E_MUL, r, tb_idx_c(a, r, c->at.dilation[i]));
    pi[2 + i] = ts_binary(a, TS_E_ADD, ys, rs);
    wi[2 + i] = r;
  }
  ts_expr *xv = tb_cast(a, c->dt, ts_load(a, c->pad, pi, nd));
  ts_expr *wv = tb_cast(a, c->dt, ts_load(a, c->w, wi, nd));
  return ts_binary(a, TS_E_MUL, xv, wv);
}

/* transpose: out[n, o, y..] += x[n, g*Cg + rc, (y + pb - ry*d) / s..] *
 * w[g*Cg + rc, o % Og, ry..] where the division is exact and in bounds. */
static ts_expr *convt_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  conv_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->at.nsp + 2;
  ts_expr **xi = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  ts_expr **wi = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *));
  ts_expr *o = sp[1], *rc = rd[0], *cond = NULL;
  ts_expr *ci = rc;
  if (c->at.groups > 1)
    ci = ts_binary(a, TS_E_ADD,
                   ts_binary(a, TS_E_MUL,
                             ts_binary(a, TS_E_FLOORDIV, o, tb_idx_c(a, o, c->og)),
                             tb_idx_c(a, o, c->cg)),
                   rc);
  xi[0] = sp[0];
  xi[1] = ci;
  wi[0] = ci;
  wi[1] = c->at.groups > 1 ? ts_binary(a, TS_E_FLOORMOD, o, tb_idx_c(a, o, c->og)) : o;
  for (int i = 0; i < c->at.nsp; i++) {
    ts_expr *y = sp[2 + i], *r = rd[1 + i];
    int64_t s = c->at.stride[i];
    ts_expr *rs = c->at.dilation[i] == 1
                      ? r
                      : ts_binary(a, TS_E_MUL, r, tb_idx_c(a, r, c->at.dilation[i]));
    ts_expr *t = ts_binary(a, TS_E_SUB, tb_idx_add(a, y, c->at.pad_before[i]), rs);
    cond = tb_and(a, cond, ts_binary(a, TS_E_LE, tb_idx_c(a, t, 0), t));
    if (s != 1)
      cond = tb_and(a, cond,
                    ts_binary(a, TS_E_EQ,
                              ts_binary(a, TS_E_FLOORMOD, t, tb_idx_c(a, t, s)),
                              tb_idx_c(a, t, 0)));
    ts_expr *q = s == 1 ? t : ts_binary(a, TS_E_FLOORDIV, t, tb_idx_c(a, t, s));
    cond = tb_and(a, cond, ts_binary(a, TS_E_LT, q, c->x->shape[2 + i]));
    xi[2 + i] = q;
    wi[2 + i] = r;
  }
  ts_expr *xv = tb_cast(a, c->dt, ts_load(a, c->x, xi, nd));
  ts_expr *wv = tb_cast(a, c->dt, ts_load(a, c->w, wi, nd));
  return tb_if(a, cond, ts_binary(a, TS_E_MUL, xv, wv), tb_const(a, c->dt, 0));
}

static ts_status *conv_legalize(te_builder *b, const ts_gexpr *call,
                                ts_buffer *const *in, int n_in,
                                const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  TS_ASSERT(n_in >= 2);
  conv_ctx *c = ts_arena_alloc(a, sizeof *c);
  TS_RETURN_IF_ERROR(read_attrs(call, &c->at));
  c->x = in[0];
  c->w = in[1];
  c->dt = out->u.tensor.dtype;
  int nsp = c->at.nsp, nd = nsp + 2;
  int64_t wi0, wi1;
  if (!ts_expr_is_const_int(c->w->shape[0], &wi0) ||
      !ts_expr_is_const_int(c->w->shape[1], &wi1))
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: the weight's channels must be static");
  ts_expr *red[3];
  for (int i = 0; i < nsp; i++) {
    red[1 + i] = c->w->shape[2 + i];
    int64_t k;
    if (!ts_expr_is_const_int(red[1 + i], &k))
      return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                          "cannot legalize: the kernel size must be static");
  }
  int64_t G = c->at.groups;
  if (!c->at.transpose) {
    c->cg = wi1;
    c->og = wi0 / G;
  } else {
    c->og = wi1;
    c->cg = wi0 / G;
  }
  red[0] = ts_int(a, c->w->shape[1]->dtype, c->cg);
  if (c->at.transpose) {
    ts_buffer *res = te_output(b, "compute", out->u.tensor.shape, nd, c->dt);
    te_reduce(b, "compute", res, nsp + 1, red, tb_const(a, c->dt, 0), TS_E_ADD,
              convt_body, c);
    *out_name = "conv2d_transpose";
    return NULL;
  }
  bool depthwise = G > 1 && c->cg == 1;
  const char *pad_name = depthwise ? "PaddedInput" : "pad_temp";
  const char *blk = depthwise  ? (nsp == 2 ? "DepthwiseConv2d" : "group_conv1d_ncw")
                    : G == 1   ? (nsp == 2 ? "conv2d_nchw" : "conv1d_ncw")
                               : (nsp == 2 ? "group_conv2d_nchw" : "group_conv1d_ncw");
  ts_expr *psh[4];
  psh[0] = c->x->shape[0];
  psh[1] = c->x->shape[1];
  for (int i = 0; i < nsp; i++)
    psh[2 + i] = tb_add_c(a, c->x->shape[2 + i],
                          c->at.pad_before[i] + c->at.pad_after[i]);
  c->pad = te_temp(b, pad_name, psh, nd, c->x->dtype);
  te_compute(b, pad_name, c->pad, pad_body, c);
  ts_buffer *res = te_output(b, blk, out->u.tensor.shape, nd, c->dt);
  te_reduce(b, blk, res, nsp + 1, red, tb_const(a, c->dt, 0), TS_E_ADD,
            conv_body, c);
  *out_name = nsp == 1 ? "conv1d" : "conv2d";
  return NULL;
}

ts_status *ts_op_legalize_CONV1D(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  return conv_legalize(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_CONV2D(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  return conv_legalize(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_CONV2D_TRANSPOSE(struct te_builder *b,
                                           const ts_gexpr *call,
                                           ts_buffer *const *in, int n_in,
                                           const ts_sinfo *out,
                                           const char **out_name) {
  return conv_legalize(b, call, in, n_in, out, out_name);
}
