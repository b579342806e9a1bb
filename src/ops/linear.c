/* linear.c: R.linear(x, weight, bias=None) = x @ weight.T + bias, as TVM's
 * relax.op.linear computes it: x is (..., K), weight (N, K), bias
 * broadcasts against the (..., N) result.  Attribute out_dtype ("" = the
 * operands').  TVM spells it as matmul(x, permute_dims(weight)) + bias;
 * here it is one op, legalized as TOPI's dense: a reduction into
 * T_matmul_NT, then T_add when there is a bias. */
#include "ops/ops_b.h"

ts_status *ts_op_infer_LINEAR(ts_arena *a, const ts_gexpr *call,
                              ts_sinfo **out) {
  const ts_sinfo *x, *w, *bias = NULL;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "weight", &w));
  int n = 2;
  if (call->u.call.n_args > 2) {
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 2, "bias", &bias));
    n = 3;
  }
  const char *names[3] = {"x", "weight", "bias"};
  const ts_sinfo *sis[3] = {x, w, bias};
  ts_dtype dt = x->u.tensor.dtype;
  for (int i = 1; i < n; i++) {
    ts_dtype d = sis[i]->u.tensor.dtype;
    if (dt.code == TS_VOID)
      dt = d;
    else if (d.code != TS_VOID && !ts_dtype_eq(d, dt))
      return tb_operand_error(call, TS_ERR_TYPE, "operand dtypes differ", n,
                              names, sis);
  }
  TS_RETURN_IF_ERROR(tb_attr_dtype(call, "out_dtype", dt, &dt));
  int nx = x->u.tensor.ndim, nw = w->u.tensor.ndim;
  if (nx == 0 || (nw >= 0 && nw != 2))
    return tb_operand_error(call, TS_ERR_TYPE,
                            "x must have at least 1 dimension and weight 2",
                            n, names, sis);
  if (nx < 0) {
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  if (!x->u.tensor.shape || !w->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nx, dt);
    return NULL;
  }
  ts_expr *const *xs = x->u.tensor.shape, *const *ws = w->u.tensor.shape;
  int64_t k1, k2;
  if (!ts_ops_dim_equal(xs[nx - 1], ws[1]) &&
      !(ts_ops_const_int(xs[nx - 1], &k1) && ts_ops_const_int(ws[1], &k2) &&
        k1 == k2))
    return tb_operand_error(call, TS_ERR_TYPE, "in_features do not match", n,
                            names, sis);
  ts_expr *sh[TS_MAX_NDIM];
  for (int i = 0; i < nx - 1; i++)
    sh[i] = xs[i];
  sh[nx - 1] = ws[0];
  if (bias && bias->u.tensor.shape) {
    ts_expr **bs;
    int bn;
    if (!ts_ops_broadcast(a, sh, nx, bias->u.tensor.shape, bias->u.tensor.ndim,
                          &bs, &bn) ||
        bn != nx)
      return tb_operand_error(call, TS_ERR_TYPE,
                              "bias does not broadcast to the result", n,
                              names, sis);
  }
  *out = ts_ops_tensor(a, sh, nx, dt);
  return NULL;
}

ts_status *ts_op_eval_LINEAR(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 2);
  ts_ndarray *x = args[0], *w = args[1], *bias = n_args > 2 ? args[2] : NULL;
  int nx = ts_ndarray_ndim(x);
  const int64_t *xs = ts_ndarray_shape(x), *ws = ts_ndarray_shape(w);
  char b1[128], b2[128];
  if (nx < 1 || nx > TS_MAX_NDIM || ts_ndarray_ndim(w) != 2 ||
      xs[nx - 1] != ws[1])
    return ts_ops_error(call, TS_ERR_TYPE, "in_features do not match: x is %s, weight is %s",
                        ts_ndarray_describe(x, b1, sizeof b1),
                        ts_ndarray_describe(w, b2, sizeof b2));
  int64_t K = ws[1], N = ws[0], M = 1, shape[TS_MAX_NDIM];
  for (int i = 0; i < nx - 1; i++) {
    shape[i] = xs[i];
    M *= xs[i];
  }
  shape[nx - 1] = N;
  ts_dtype dt;
  TS_RETURN_IF_ERROR(tb_attr_dtype(call, "out_dtype", ts_ndarray_dtype(x), &dt));
  int bn = bias ? ts_ndarray_ndim(bias) : 0;
  const int64_t *bs = bias ? ts_ndarray_shape(bias) : NULL;
  if (bias) {
    if (bn > nx)
      return ts_ops_error(call, TS_ERR_TYPE, "bias %s does not broadcast",
                          ts_ndarray_describe(bias, b1, sizeof b1));
    for (int i = 0; i < bn; i++)
      if (bs[i] != 1 && bs[i] != shape[nx - bn + i])
        return ts_ops_error(call, TS_ERR_TYPE, "bias %s does not broadcast",
                            ts_ndarray_describe(bias, b1, sizeof b1));
  }
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nx, shape, dt, out));
  int64_t idx[TS_MAX_NDIM] = {0};
  for (int64_t m = 0; m < M; m++)
    for (int64_t j = 0; j < N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += ts_ndarray_get_f64(x, m * K + k) * ts_ndarray_get_f64(w, j * K + k);
      if (bias) {
        /* the output multi-index of element (m, j) */
        int64_t r = m;
        for (int d = nx - 2; d >= 0; d--) {
          idx[d] = r % shape[d];
          r /= shape[d];
        }
        idx[nx - 1] = j;
        acc += ts_ndarray_get_f64(bias, ts_ops_bcast_offset(idx, nx, bn, bs));
      }
      ts_ndarray_set_f64(*out, m * N + j, acc);
    }
  return NULL;
}

typedef struct lin_ctx {
  ts_buffer *x, *w, *bias, *mm;
  ts_dtype dt;
} lin_ctx;

static ts_expr *mm_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lin_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nx = c->x->ndim;
  ts_expr **xi = ts_arena_array(a, (size_t)nx, sizeof(ts_expr *));
  ts_expr **wi = ts_arena_array(a, 2, sizeof(ts_expr *));
  for (int i = 0; i < nx - 1; i++)
    xi[i] = sp[i];
  xi[nx - 1] = rd[0];
  wi[0] = sp[nx - 1];
  wi[1] = rd[0];
  return ts_binary(a, TS_E_MUL, tb_cast(a, c->dt, ts_load(a, c->x, xi, nx)),
                   tb_cast(a, c->dt, ts_load(a, c->w, wi, 2)));
}

static ts_expr *bias_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  lin_ctx *c = vc;
  ts_arena *a = te_arena(b);
  int nx = c->x->ndim;
  return ts_binary(a, TS_E_ADD, ts_load(a, c->mm, sp, nx),
                   tb_cast(a, c->dt, te_broadcast_load(b, c->bias, sp, nx)));
}

ts_status *ts_op_legalize_LINEAR(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  (void)call;
  ts_arena *a = te_arena(b);
  lin_ctx *c = ts_arena_alloc(a, sizeof *c);
  c->x = in[0];
  c->w = in[1];
  c->bias = n_in > 2 ? in[2] : NULL;
  c->dt = out->u.tensor.dtype;
  int nx = c->x->ndim;
  ts_expr *k = c->x->shape[nx - 1];
  if (!c->bias) {
    ts_buffer *res = te_output(b, "T_matmul_NT", out->u.tensor.shape, nx, c->dt);
    te_reduce(b, "T_matmul_NT", res, 1, &k, tb_const(a, c->dt, 0), TS_E_ADD,
              mm_body, c);
  } else {
    ts_buffer *res = te_output(b, "T_add", out->u.tensor.shape, nx, c->dt);
    c->mm = te_temp(b, "T_matmul_NT", res->shape, nx, c->dt);
    te_reduce(b, "T_matmul_NT", c->mm, 1, &k, tb_const(a, c->dt, 0), TS_E_ADD,
              mm_body, c);
    te_compute(b, "T_add", res, bias_body, c);
  }
  *out_name = "linear";
  return NULL;
}
