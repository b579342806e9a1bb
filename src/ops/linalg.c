/* linalg.c: R.matmul with NumPy semantics: a 1-D first operand is promoted
 * to (1, K) and a 1-D second operand to (K, 1), the added dimension removed
 * from the result; leading (batch) dimensions broadcast.  Optional attribute
 * out_dtype (default: the operands' dtype, which must agree). */
#include "ops/ops_internal.h"

static ts_status *matmul_out_dtype(const ts_gexpr *call, ts_dtype in,
                                   ts_dtype *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "out_dtype");
  *out = in;
  if (!v || v->kind == TS_ATTR_NONE)
    return NULL;
  if (v->kind == TS_ATTR_DTYPE) {
    if (v->u.dtype.code != TS_VOID)
      *out = v->u.dtype;
    return NULL;
  }
  if (v->kind == TS_ATTR_STR) {
    if (v->u.s[0] == '\0')
      return NULL;
    ts_dtype t;
    if (!ts_dtype_parse(v->u.s, &t))
      return ts_ops_error(call, TS_ERR_VALUE, "unknown out_dtype \"%s\"",
                          v->u.s);
    if (t.code != TS_VOID)
      *out = t;
    return NULL;
  }
  return ts_ops_error(call, TS_ERR_VALUE,
                      "attribute out_dtype must be a dtype");
}

static ts_status *operand_error(const ts_gexpr *call, const char *what,
                                const ts_sinfo *x, const ts_sinfo *y) {
  ts_strbuf b1 = {0}, b2 = {0};
  ts_ops_print_sinfo(&b1, x);
  ts_ops_print_sinfo(&b2, y);
  ts_status *st = ts_ops_error(call, TS_ERR_TYPE, "%s: x1 is %s, x2 is %s",
                               what, b1.data, b2.data);
  ts_strbuf_free(&b1);
  ts_strbuf_free(&b2);
  return st;
}

ts_status *ts_op_infer_MATMUL(ts_arena *a, const ts_gexpr *call,
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
  TS_RETURN_IF_ERROR(matmul_out_dtype(call, dt, &dt));
  int nx = x->u.tensor.ndim, ny = y->u.tensor.ndim;
  if (nx == 0 || ny == 0)
    return operand_error(call, "operands must have at least one dimension", x,
                         y);
  if (nx < 0 || ny < 0) {
    *out = ts_ops_tensor(a, NULL, -1, dt);
    return NULL;
  }
  int bx = nx > 2 ? nx - 2 : 0, by = ny > 2 ? ny - 2 : 0;
  int nb = bx > by ? bx : by;
  int nd = nb + (nx >= 2) + (ny >= 2);
  if (!x->u.tensor.shape || !y->u.tensor.shape) {
    *out = ts_ops_tensor(a, NULL, nd, dt);
    return NULL;
  }
  ts_expr *const *sx = x->u.tensor.shape, *const *sy = y->u.tensor.shape;
  ts_expr *kx = sx[nx - 1], *ky = ny >= 2 ? sy[ny - 2] : sy[0];
  if (!ts_ops_dim_equal(kx, ky))
    return operand_error(call, "inner dimensions do not match", x, y);
  ts_expr **batch = NULL;
  int nbatch = 0;
  if (!ts_ops_broadcast(a, sx, bx, sy, by, &batch, &nbatch))
    return operand_error(call, "batch dimensions do not broadcast", x, y);
  ts_expr **sh = ts_arena_array(a, nd ? (size_t)nd : 1, sizeof(*sh));
  int k = 0;
  for (int i = 0; i < nbatch; i++)
    sh[k++] = batch[i];
  if (nx >= 2)
    sh[k++] = sx[nx - 2];
  if (ny >= 2)
    sh[k++] = sy[ny - 1];
  TS_ASSERT(k == nd);
  *out = ts_ops_tensor(a, sh, nd, dt);
  return NULL;
}

ts_status *ts_op_eval_MATMUL(const ts_gexpr *call, ts_ndarray **args,
                             int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 2);
  ts_ndarray *x = args[0], *y = args[1];
  int nx = ts_ndarray_ndim(x), ny = ts_ndarray_ndim(y);
  const int64_t *sx = ts_ndarray_shape(x), *sy = ts_ndarray_shape(y);
  char b1[128], b2[128];
  if (nx == 0 || ny == 0 || nx > TS_MAX_NDIM || ny > TS_MAX_NDIM)
    return ts_ops_error(call, TS_ERR_TYPE, "unsupported operand ranks: %s, %s",
                        ts_ndarray_describe(x, b1, sizeof b1),
                        ts_ndarray_describe(y, b2, sizeof b2));
  int64_t M = nx >= 2 ? sx[nx - 2] : 1, K = sx[nx - 1];
  int64_t K2 = ny >= 2 ? sy[ny - 2] : sy[0], N = ny >= 2 ? sy[ny - 1] : 1;
  if (K != K2)
    return ts_ops_error(call, TS_ERR_TYPE,
                        "inner dimensions do not match: x1 is %s, x2 is %s",
                        ts_ndarray_describe(x, b1, sizeof b1),
                        ts_ndarray_describe(y, b2, sizeof b2));
  int bx = nx > 2 ? nx - 2 : 0, by = ny > 2 ? ny - 2 : 0;
  int nb = bx > by ? bx : by;
  int64_t shape[TS_MAX_NDIM + 2], bshape[TS_MAX_NDIM], idx[TS_MAX_NDIM];
  for (int i = 0; i < nb; i++) {
    int ix = bx - nb + i, iy = by - nb + i;
    int64_t dx = ix >= 0 ? sx[ix] : 1, dy = iy >= 0 ? sy[iy] : 1;
    if (dx != dy && dx != 1 && dy != 1)
      return ts_ops_error(
          call, TS_ERR_TYPE,
          "batch dimensions do not broadcast: x1 is %s, x2 is %s",
          ts_ndarray_describe(x, b1, sizeof b1),
          ts_ndarray_describe(y, b2, sizeof b2));
    bshape[i] = dx == 1 ? dy : dx;
    idx[i] = 0;
  }
  int nd = 0;
  for (int i = 0; i < nb; i++)
    shape[nd++] = bshape[i];
  if (nx >= 2)
    shape[nd++] = M;
  if (ny >= 2)
    shape[nd++] = N;
  ts_dtype dt = ts_ndarray_dtype(x);
  TS_RETURN_IF_ERROR(matmul_out_dtype(call, dt, &dt));
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  int64_t nbatch = 1;
  for (int i = 0; i < nb; i++)
    nbatch *= bshape[i];
  int64_t o = 0;
  for (int64_t bi = 0; bi < nbatch; bi++) {
    int64_t xo = ts_ops_bcast_offset(idx, nb, bx, sx) * M * K;
    int64_t yo = ts_ops_bcast_offset(idx, nb, by, sy) * K * N;
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += ts_ndarray_get_f64(x, xo + m * K + k) *
                 ts_ndarray_get_f64(y, yo + k * N + n);
        ts_ndarray_set_f64(*out, o++, acc);
      }
    for (int k = nb - 1; k >= 0; k--) {
      if (++idx[k] < bshape[k])
        break;
      idx[k] = 0;
    }
  }
  return NULL;
}
