/* pool.c: R.nn.max_pool2d, R.nn.avg_pool2d and R.nn.adaptive_avg_pool2d on
 * NCHW data, with TVM Relax's attributes: pool_size, strides, padding (1,
 * 2 or 4 values: top, left, bottom, right), dilation, ceil_mode,
 * count_include_pad (avg), layout / out_layout (only "NCHW");
 * adaptive_avg_pool2d's output_size (None: the input's size).
 *
 * Output size: (in + pads - dilation*(k-1) - 1 [+ stride-1 when ceil_mode])
 * // stride + 1, as TVM infers it.  An average divides by the number of
 * window elements inside the padded input (count_include_pad) or inside the
 * input itself.  Adaptive windows are [floor(i*H/OH), ceil((i+1)*H/OH)).
 *
 * Legalization follows TOPI: pad_temp (only when something is padded; the
 * pad value is the dtype's lowest for max, 0 for avg), then pool_max, or
 * pool_sum + pool_avg; adaptive_pool_sum + adaptive_pool_avg. */
#include <math.h>
#include <string.h>

#include "ops/ops_b.h"

typedef struct pool_attrs {
  int64_t k[2], stride[2], dilation[2], pb[2], pa[2];
  bool ceil_mode, include_pad;
} pool_attrs;

static ts_status *pair(const ts_gexpr *call, const char *key, int64_t def,
                       int64_t *out) {
  int64_t v[4];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, key, -1, 4, v, &n));
  if (n > 2 || n == 0)
    return ts_ops_error(call, TS_ERR_VALUE, "%s must have 1 or 2 values, got %d",
                        key, n);
  out[0] = n < 0 ? def : v[0];
  out[1] = n < 0 ? def : n == 1 ? v[0] : v[1];
  return NULL;
}

static ts_status *check_nchw(const ts_gexpr *call) {
  const char *keys[2] = {"layout", "out_layout"};
  for (int i = 0; i < 2; i++) {
    const char *s;
    TS_RETURN_IF_ERROR(tb_attr_str(call, keys[i], "NCHW", &s));
    if (strcmp(s, "NCHW") != 0)
      return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                          "%s \"%s\" is not supported (only \"NCHW\")", keys[i],
                          s);
  }
  return NULL;
}

static ts_status *read_pool(const ts_gexpr *call, pool_attrs *p) {
  memset(p, 0, sizeof *p);
  TS_RETURN_IF_ERROR(pair(call, "pool_size", 1, p->k));
  TS_RETURN_IF_ERROR(pair(call, "strides", 1, p->stride));
  TS_RETURN_IF_ERROR(pair(call, "dilation", 1, p->dilation));
  int64_t v[8];
  int n;
  TS_RETURN_IF_ERROR(tb_ints(call, "padding", -1, 8, v, &n));
  if (n > 0 && n != 1 && n != 2 && n != 4)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "padding must have 1, 2 or 4 values, got %d", n);
  for (int i = 0; i < 2; i++) {
    p->pb[i] = n <= 0 ? 0 : n == 1 ? v[0] : n == 2 ? v[i] : v[i];
    p->pa[i] = n <= 0 ? 0 : n == 1 ? v[0] : n == 2 ? v[i] : v[2 + i];
  }
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "ceil_mode", false, &p->ceil_mode));
  TS_RETURN_IF_ERROR(
      ts_ops_attr_bool(call, "count_include_pad", false, &p->include_pad));
  for (int i = 0; i < 2; i++) {
    if (p->k[i] < 1 || p->stride[i] < 1 || p->dilation[i] < 1)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "pool_size, strides and dilation must be positive");
    if (p->pb[i] < 0 || p->pa[i] < 0)
      return ts_ops_error(call, TS_ERR_VALUE, "padding must not be negative");
  }
  return check_nchw(call);
}

static int64_t kd(const pool_attrs *p, int i) {
  return p->dilation[i] * (p->k[i] - 1) + 1;
}

/* The padded extent the windows may read: in + pads (+ stride-1). */
static int64_t extra_after(const pool_attrs *p, int i) {
  return p->ceil_mode ? p->stride[i] - 1 : 0;
}

static ts_status *pool_infer(ts_arena *a, const ts_gexpr *call,
                             ts_sinfo **out) {
  const ts_sinfo *x;
  pool_attrs p;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  TS_RETURN_IF_ERROR(read_pool(call, &p));
  ts_dtype dt = x->u.tensor.dtype;
  if (x->u.tensor.ndim >= 0 && x->u.tensor.ndim != 4) {
    const char *names[1] = {"data"};
    return tb_operand_error(call, TS_ERR_TYPE, "data must be 4-D (NCHW)", 1,
                            names, &x);
  }
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, 4, dt);
    return NULL;
  }
  ts_expr *sh[4];
  sh[0] = x->u.tensor.shape[0];
  sh[1] = x->u.tensor.shape[1];
  for (int i = 0; i < 2; i++) {
    ts_expr *in = x->u.tensor.shape[2 + i];
    int64_t off = p.pb[i] + p.pa[i] - kd(&p, i) + extra_after(&p, i);
    ts_expr *o = p.stride[i] == 1
                     ? tb_add_c(a, in, off + 1)
                     : tb_add_c(a, tb_div_c(a, tb_add_c(a, in, off), p.stride[i]), 1);
    int64_t ov;
    if (ts_ops_const_int(o, &ov) && ov <= 0) {
      const char *names[1] = {"data"};
      char what[128];
      snprintf(what, sizeof what,
               "the pooling window does not fit: output axis %d would have "
               "size %lld",
               2 + i, (long long)ov);
      return tb_operand_error(call, TS_ERR_VALUE, what, 1, names, &x);
    }
    sh[2 + i] = o;
  }
  *out = ts_ops_tensor(a, sh, 4, dt);
  return NULL;
}

ts_status *ts_op_infer_MAX_POOL2D(ts_arena *a, const ts_gexpr *call,
                                  ts_sinfo **out) {
  return pool_infer(a, call, out);
}
ts_status *ts_op_infer_AVG_POOL2D(ts_arena *a, const ts_gexpr *call,
                                  ts_sinfo **out) {
  return pool_infer(a, call, out);
}

static ts_status *pool_eval(const ts_gexpr *call, ts_ndarray **args,
                            int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  pool_attrs p;
  TS_RETURN_IF_ERROR(read_pool(call, &p));
  ts_ndarray *x = args[0];
  char b1[128];
  if (ts_ndarray_ndim(x) != 4)
    return ts_ops_error(call, TS_ERR_TYPE, "data must be 4-D, got %s",
                        ts_ndarray_describe(x, b1, sizeof b1));
  const int64_t *s = ts_ndarray_shape(x);
  int64_t dims[2] = {s[2], s[3]}, o[2];
  for (int i = 0; i < 2; i++) {
    o[i] = (dims[i] + p.pb[i] + p.pa[i] - kd(&p, i) + extra_after(&p, i)) /
               p.stride[i] + 1;
    if (dims[i] + p.pb[i] + p.pa[i] - kd(&p, i) + extra_after(&p, i) < 0 ||
        o[i] <= 0)
      return ts_ops_error(call, TS_ERR_VALUE,
                          "the pooling window does not fit %s",
                          ts_ndarray_describe(x, b1, sizeof b1));
  }
  int64_t shape[4] = {s[0], s[1], o[0], o[1]};
  bool is_max = call->u.call.op == TS_OP_MAX_POOL2D;
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, 4, shape, ts_ndarray_dtype(x), out));
  int64_t oi = 0, H = dims[0], W = dims[1];
  for (int64_t nc = 0; nc < s[0] * s[1]; nc++)
    for (int64_t y = 0; y < o[0]; y++)
      for (int64_t xo = 0; xo < o[1]; xo++) {
        double acc = is_max ? -INFINITY : 0;
        int64_t cnt = 0;
        for (int64_t ky = 0; ky < p.k[0]; ky++)
          for (int64_t kx = 0; kx < p.k[1]; kx++) {
            /* position in the padded input */
            int64_t py = y * p.stride[0] + ky * p.dilation[0];
            int64_t px = xo * p.stride[1] + kx * p.dilation[1];
            int64_t iy = py - p.pb[0], ix = px - p.pb[1];
            bool inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
            bool in_pad = py < H + p.pb[0] + p.pa[0] && px < W + p.pb[1] + p.pa[1];
            if (p.include_pad ? in_pad : inside)
              cnt++;
            if (!inside)
              continue;
            double v = ts_ndarray_get_f64(x, (nc * H + iy) * W + ix);
            acc = is_max ? fmax(acc, v) : acc + v;
          }
        if (!is_max)
          acc = cnt ? acc / (double)cnt : 0;
        ts_ndarray_set_f64(*out, oi++, acc);
      }
  return NULL;
}

ts_status *ts_op_eval_MAX_POOL2D(const ts_gexpr *call, ts_ndarray **args,
                                 int n_args, ts_ndarray **out) {
  return pool_eval(call, args, n_args, out);
}
ts_status *ts_op_eval_AVG_POOL2D(const ts_gexpr *call, ts_ndarray **args,
                                 int n_args, ts_ndarray **out) {
  return pool_eval(call, args, n_args, out);
}

typedef struct pool_ctx {
  pool_attrs p;
  ts_buffer *x, *src, *sum;
  bool is_max, padded;
  ts_expr *count;   /* constant divisor, or NULL: per-window count */
  int64_t ah[2], ao[2]; /* adaptive: input, output sizes; 0 = symbolic */
  int64_t win[2];       /* adaptive: window extent (the largest) */
  bool exact[2];        /* adaptive: every window has extent win */
} pool_ctx;

static ts_expr *pool_pad_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                              void *vc) {
  (void)rd;
  pool_ctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr **idx = ts_arena_array(a, 4, sizeof(ts_expr *));
  ts_expr *cond = NULL;
  idx[0] = sp[0];
  idx[1] = sp[1];
  for (int i = 0; i < 2; i++) {
    ts_expr *s = sp[2 + i];
    int64_t pb = c->p.pb[i], pa = c->p.pa[i] + extra_after(&c->p, i);
    if (pb)
      cond = tb_and(a, cond, ts_binary(a, TS_E_LE, tb_idx_c(a, s, pb), s));
    if (pa)
      cond = tb_and(a, cond,
                    ts_binary(a, TS_E_LT, s, tb_add_c(a, c->x->shape[2 + i], pb)));
    idx[2 + i] = tb_idx_add(a, s, -pb);
  }
  ts_expr *v = ts_load(a, c->x, idx, 4);
  ts_expr *fill = c->is_max ? tb_min_value(a, v->dtype) : tb_const(a, v->dtype, 0);
  return cond ? tb_if(a, cond, v, fill) : v;
}

static ts_expr *window_pos(ts_arena *a, pool_ctx *c, int i, ts_expr *y,
                           ts_expr *r) {
  ts_expr *ys = c->p.stride[i] == 1
                    ? y
                    : ts_binary(a, TS_E_MUL, y, tb_idx_c(a, y, c->p.stride[i]));
  ts_expr *rs = c->p.dilation[i] == 1
                    ? r
                    : ts_binary(a, TS_E_MUL, r, tb_idx_c(a, r, c->p.dilation[i]));
  return ts_binary(a, TS_E_ADD, ys, rs);
}

static ts_expr *pool_red_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                              void *vc) {
  pool_ctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr **idx = ts_arena_array(a, 4, sizeof(ts_expr *));
  idx[0] = sp[0];
  idx[1] = sp[1];
  for (int i = 0; i < 2; i++)
    idx[2 + i] = window_pos(a, c, i, sp[2 + i], rd[i]);
  return ts_load(a, c->src, idx, 4);
}

/* Number of window elements with padded position in [lo, hi) along axis i
 * (dilation 1): min(y*s + k, hi) - max(y*s, lo). */
static ts_expr *axis_count(ts_arena *a, pool_ctx *c, int i, ts_expr *y) {
  ts_expr *start = c->p.stride[i] == 1 ? y : ts_binary(a, TS_E_MUL, y, tb_idx_c(a, y, c->p.stride[i]));
  ts_expr *hi = c->p.include_pad
                    ? tb_add_c(a, c->x->shape[2 + i], c->p.pb[i] + c->p.pa[i])
                    : tb_add_c(a, c->x->shape[2 + i], c->p.pb[i]);
  int64_t lo = c->p.include_pad ? 0 : c->p.pb[i];
  ts_expr *end = ts_binary(a, TS_E_MIN, tb_idx_add(a, start, c->p.k[i]), hi);
  ts_expr *beg = ts_binary(a, TS_E_MAX, start, tb_idx_c(a, start, lo));
  return ts_binary(a, TS_E_SUB, end, beg);
}

static ts_expr *pool_avg_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                              void *vc) {
  (void)rd;
  pool_ctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *s = ts_load(a, c->sum, sp, 4);
  if (c->count)
    return ts_binary(a, TS_E_DIV, s, c->count);
  ts_expr *n = ts_binary(a, TS_E_MUL, axis_count(a, c, 0, sp[2]),
                         axis_count(a, c, 1, sp[3]));
  n = ts_binary(a, TS_E_MAX, n, tb_idx_c(a, n, 1));
  return ts_binary(a, TS_E_DIV, s, ts_cast(a, s->dtype, n));
}

static ts_status *pool_legalize(te_builder *b, const ts_gexpr *call,
                                ts_buffer *const *in, int n_in,
                                const ts_sinfo *out, const char **out_name) {
  (void)n_in;
  ts_arena *a = te_arena(b);
  pool_ctx *c = ts_arena_alloc(a, sizeof *c);
  TS_RETURN_IF_ERROR(read_pool(call, &c->p));
  c->x = in[0];
  c->is_max = call->u.call.op == TS_OP_MAX_POOL2D;
  ts_dtype dt = out->u.tensor.dtype;
  for (int i = 0; i < 2; i++)
    c->padded |= c->p.pb[i] || c->p.pa[i] || extra_after(&c->p, i);
  c->src = c->x;
  if (c->padded) {
    ts_expr *psh[4] = {c->x->shape[0], c->x->shape[1], NULL, NULL};
    for (int i = 0; i < 2; i++)
      psh[2 + i] = tb_add_c(a, c->x->shape[2 + i],
                            c->p.pb[i] + c->p.pa[i] + extra_after(&c->p, i));
    c->src = te_temp(b, "pad_temp", psh, 4, c->x->dtype);
    te_compute(b, "pad_temp", c->src, pool_pad_body, c);
  }
  ts_expr *red[2] = {ts_int(a, TS_I64, c->p.k[0]), ts_int(a, TS_I64, c->p.k[1])};
  if (c->is_max) {
    ts_buffer *res = te_output(b, "pool_max", out->u.tensor.shape, 4, dt);
    te_reduce(b, "pool_max", res, 2, red, tb_min_value(a, dt), TS_E_MAX,
              pool_red_body, c);
    *out_name = "max_pool2d";
    return NULL;
  }
  /* every window lies in the counted region: divide by a constant */
  bool constant = (c->p.include_pad || !(c->p.pb[0] || c->p.pa[0] || c->p.pb[1] || c->p.pa[1])) &&
                  !c->p.ceil_mode;
  if (constant)
    c->count = tb_const(a, dt, (double)(c->p.k[0] * c->p.k[1]));
  else if (c->p.dilation[0] != 1 || c->p.dilation[1] != 1)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: dilated average pooling with a "
                        "window-dependent count");
  ts_buffer *res = te_output(b, "pool_avg", out->u.tensor.shape, 4, dt);
  c->sum = te_temp(b, "pool_sum", res->shape, 4, dt);
  te_reduce(b, "pool_sum", c->sum, 2, red, tb_const(a, dt, 0), TS_E_ADD,
            pool_red_body, c);
  te_compute(b, "pool_avg", res, pool_avg_body, c);
  *out_name = "avg_pool2d";
  return NULL;
}

ts_status *ts_op_legalize_MAX_POOL2D(struct te_builder *b, const ts_gexpr *call,
                                     ts_buffer *const *in, int n_in,
                                     const ts_sinfo *out, const char **out_name) {
  return pool_legalize(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_AVG_POOL2D(struct te_builder *b, const ts_gexpr *call,
                                     ts_buffer *const *in, int n_in,
                                     const ts_sinfo *out, const char **out_name) {
  return pool_legalize(b, call, in, n_in, out, out_name);
}

/* ---- adaptive_avg_pool2d -------------------------------------------------- */

/* output_size: absent/None -> the input's; one value -> both. */
static ts_status *adaptive_size(const ts_gexpr *call, int64_t *v, int *n) {
  int64_t t[4];
  TS_RETURN_IF_ERROR(tb_ints(call, "output_size", -1, 4, t, n));
  if (*n == 0 || *n > 2)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "output_size must have 1 or 2 values, got %d", *n);
  if (*n > 0) {
    v[0] = t[0];
    v[1] = *n == 1 ? t[0] : t[1];
    if (v[0] < 1 || v[1] < 1)
      return ts_ops_error(call, TS_ERR_VALUE, "output_size must be positive");
  }
  return check_nchw(call);
}

ts_status *ts_op_infer_ADAPTIVE_AVG_POOL2D(ts_arena *a, const ts_gexpr *call,
                                           ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "data", &x));
  int64_t v[2];
  int n;
  TS_RETURN_IF_ERROR(adaptive_size(call, v, &n));
  if (x->u.tensor.ndim >= 0 && x->u.tensor.ndim != 4) {
    const char *names[1] = {"data"};
    return tb_operand_error(call, TS_ERR_TYPE, "data must be 4-D (NCHW)", 1,
                            names, &x);
  }
  if (!x->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, 4, x->u.tensor.dtype);
    return NULL;
  }
  ts_expr *sh[4];
  for (int i = 0; i < 4; i++)
    sh[i] = x->u.tensor.shape[i];
  if (n > 0) {
    sh[2] = ts_ops_int64(a, v[0]);
    sh[3] = ts_ops_int64(a, v[1]);
  }
  *out = ts_ops_tensor(a, sh, 4, x->u.tensor.dtype);
  return NULL;
}

ts_status *ts_op_eval_ADAPTIVE_AVG_POOL2D(const ts_gexpr *call,
                                          ts_ndarray **args, int n_args,
                                          ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  char b1[128];
  if (ts_ndarray_ndim(x) != 4)
    return ts_ops_error(call, TS_ERR_TYPE, "data must be 4-D, got %s",
                        ts_ndarray_describe(x, b1, sizeof b1));
  const int64_t *s = ts_ndarray_shape(x);
  int64_t v[2];
  int n;
  TS_RETURN_IF_ERROR(adaptive_size(call, v, &n));
  int64_t H = s[2], W = s[3], OH = n > 0 ? v[0] : H, OW = n > 0 ? v[1] : W;
  int64_t shape[4] = {s[0], s[1], OH, OW};
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, 4, shape, ts_ndarray_dtype(x), out));
  int64_t oi = 0;
  for (int64_t nc = 0; nc < s[0] * s[1]; nc++)
    for (int64_t y = 0; y < OH; y++)
      for (int64_t xo = 0; xo < OW; xo++) {
        int64_t y0 = y * H / OH, y1 = ((y + 1) * H + OH - 1) / OH;
        int64_t x0 = xo * W / OW, x1 = ((xo + 1) * W + OW - 1) / OW;
        double acc = 0;
        for (int64_t iy = y0; iy < y1; iy++)
          for (int64_t ix = x0; ix < x1; ix++)
            acc += ts_ndarray_get_f64(x, (nc * H + iy) * W + ix);
        int64_t cnt = (y1 - y0) * (x1 - x0);
        ts_ndarray_set_f64(*out, oi++, cnt ? acc / (double)cnt : 0);
      }
  return NULL;
}

/* start of the window of output index y along axis i: y*H // OH */
static ts_expr *ad_start(ts_arena *a, pool_ctx *c, int i, ts_expr *y) {
  if (c->ao[i] == 1)
    return tb_idx_c(a, y, 0);
  if (c->exact[i])
    return ts_binary(a, TS_E_MUL, y, tb_idx_c(a, y, c->win[i]));
  return ts_binary(a, TS_E_FLOORDIV,
                   ts_binary(a, TS_E_MUL, y, tb_idx_c(a, y, c->ah[i])),
                   tb_idx_c(a, y, c->ao[i]));
}

/* end - start of that window */
static ts_expr *ad_len(ts_arena *a, pool_ctx *c, int i, ts_expr *y) {
  ts_expr *end = ts_binary(
      a, TS_E_FLOORDIV,
      tb_idx_add(a, ts_binary(a, TS_E_MUL, tb_idx_add(a, y, 1), tb_idx_c(a, y, c->ah[i])),
                 c->ao[i] - 1),
      tb_idx_c(a, y, c->ao[i]));
  return ts_binary(a, TS_E_SUB, end, ad_start(a, c, i, y));
}

static ts_expr *ad_sum_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  pool_ctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr **idx = ts_arena_array(a, 4, sizeof(ts_expr *));
  ts_expr *cond = NULL;
  idx[0] = sp[0];
  idx[1] = sp[1];
  for (int i = 0; i < 2; i++) {
    ts_expr *st = ad_start(a, c, i, sp[2 + i]);
    int64_t z;
    idx[2 + i] = ts_expr_is_const_int(st, &z) && z == 0 ? rd[i]
                                                          : ts_binary(a, TS_E_ADD, st, rd[i]);
    if (!c->exact[i])
      cond = tb_and(a, cond, ts_binary(a, TS_E_LT, rd[i], ad_len(a, c, i, sp[2 + i])));
  }
  ts_expr *v = ts_load(a, c->x, idx, 4);
  return cond ? tb_if(a, cond, v, tb_const(a, v->dtype, 0)) : v;
}

static ts_expr *ad_avg_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  (void)rd;
  pool_ctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *s = ts_load(a, c->sum, sp, 4);
  if (c->exact[0] && c->exact[1]) {
    ts_expr *d[2];
    for (int i = 0; i < 2; i++)
      d[i] = c->ao[i] == 1 ? c->x->shape[2 + i] : ts_int(a, TS_I64, c->win[i]);
    ts_expr *n = ts_expr_simplify_const(a, ts_binary(a, TS_E_MUL, d[0], d[1]));
    int64_t k;
    if (ts_expr_is_const_int(n, &k))
      return ts_binary(a, TS_E_DIV, s, tb_const(a, s->dtype, (double)k));
    return ts_binary(a, TS_E_DIV, s, ts_cast(a, s->dtype, n));
  }
  ts_expr *n = ts_binary(a, TS_E_MUL, ad_len(a, c, 0, sp[2]), ad_len(a, c, 1, sp[3]));
  return ts_binary(a, TS_E_DIV, s, ts_cast(a, s->dtype, n));
}

ts_status *ts_op_legalize_ADAPTIVE_AVG_POOL2D(struct te_builder *b,
                                              const ts_gexpr *call,
                                              ts_buffer *const *in, int n_in,
                                              const ts_sinfo *out,
                                              const char **out_name) {
  (void)n_in;
  ts_arena *a = te_arena(b);
  pool_ctx *c = ts_arena_alloc(a, sizeof *c);
  c->x = in[0];
  ts_dtype dt = out->u.tensor.dtype;
  ts_expr *red[2];
  for (int i = 0; i < 2; i++) {
    int64_t h, o;
    bool kh = ts_expr_is_const_int(c->x->shape[2 + i], &h);
    if (!ts_ops_const_int(out->u.tensor.shape[2 + i], &o)) {
      /* output_size None with a symbolic input: identity windows */
      if (!ts_ops_dim_equal(out->u.tensor.shape[2 + i],
                            ts_ops_arg_sinfo(call->u.call.args[0])->u.tensor.shape[2 + i]))
        return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                            "cannot legalize: symbolic output size");
      c->ao[i] = 0;
      c->exact[i] = true;
      c->win[i] = 1;
      red[i] = ts_int(a, TS_I64, 1);
      continue;
    }
    c->ao[i] = o;
    if (o == 1) {
      c->exact[i] = true;
      c->win[i] = kh ? h : 0;
      red[i] = c->x->shape[2 + i];
      continue;
    }
    if (!kh)
      return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                          "cannot legalize: symbolic input size with output "
                          "size %lld",
                          (long long)o);
    c->ah[i] = h;
    c->exact[i] = h % o == 0;
    int64_t w = 0;
    for (int64_t y = 0; y < o; y++) {
      int64_t l = ((y + 1) * h + o - 1) / o - y * h / o;
      if (l > w)
        w = l;
    }
    c->win[i] = w;
    red[i] = ts_int(a, TS_I64, w);
  }
  /* identity windows along an axis whose output size equals a symbolic
   * input: start y, length 1 */
  for (int i = 0; i < 2; i++)
    if (c->ao[i] == 0) {
      c->ao[i] = 2; /* not 1: start = y * win */
    }
  ts_buffer *res = te_output(b, "adaptive_pool_avg", out->u.tensor.shape, 4, dt);
  c->sum = te_temp(b, "adaptive_pool_sum", res->shape, 4, dt);
  te_reduce(b, "adaptive_pool_sum", c->sum, 2, red, tb_const(a, dt, 0), TS_E_ADD,
            ad_sum_body, c);
  te_compute(b, "adaptive_pool_avg", res, ad_avg_body, c);
  *out_name = "adaptive_avg_pool2d";
  return NULL;
}
