/* binary.c: the section-A binary ops with NumPy broadcasting (TVM Relax
 * names) and R.where:
 *  - arithmetic: floor_divide, floor_mod (Python/NumPy sign of the divisor;
 *    ONNX Mod fmod=0), mod (truncating: C fmod / ONNX Mod fmod=1); operand
 *    dtypes must be equal, the result has that dtype; integer division by
 *    zero is an evaluation error.
 *  - comparison: equal, not_equal, less, less_equal, greater, greater_equal;
 *    equal operand dtypes, bool result.
 *  - logic: logical_and, logical_or, logical_xor on bool operands.
 *  - bitwise: bitwise_and, bitwise_or, bitwise_xor on integer operands.
 *  - where(condition, x1, x2): condition bool, x1/x2 of one dtype, the three
 *    shapes broadcast together.
 * Integer operands are evaluated in int64 (exact), floats in double. */
#include <math.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "ops/te.h"

typedef enum { K_ARITH, K_COMPARE, K_LOGIC, K_BITWISE, K_WHERE } bkind;

static bkind kind_of(int op) {
  switch (op) {
  case TS_OP_FLOOR_DIVIDE: case TS_OP_FLOOR_MOD: case TS_OP_MOD: return K_ARITH;
  case TS_OP_LOGICAL_AND: case TS_OP_LOGICAL_OR: case TS_OP_LOGICAL_XOR:
    return K_LOGIC;
  case TS_OP_BITWISE_AND: case TS_OP_BITWISE_OR: case TS_OP_BITWISE_XOR:
    return K_BITWISE;
  case TS_OP_WHERE: return K_WHERE;
  default: return K_COMPARE;
  }
}

/* ---- inference ------------------------------------------------------------------ */

/* Broadcasts the shapes of n tensor struct infos; unknown shapes give an
 * unknown shape of the largest known rank (or unknown rank). */
static ts_status *broadcast_n(ts_arena *a, const ts_gexpr *call,
                              const ts_sinfo **s, int n, ts_expr ***out_shape,
                              int *out_ndim) {
  int nd = 0;
  for (int i = 0; i < n; i++) {
    if (s[i]->u.tensor.ndim < 0) {
      *out_shape = NULL;
      *out_ndim = -1;
      return NULL;
    }
    if (s[i]->u.tensor.ndim > nd) nd = s[i]->u.tensor.ndim;
  }
  for (int i = 0; i < n; i++)
    if (!s[i]->u.tensor.shape) {
      *out_shape = NULL;
      *out_ndim = nd;
      return NULL;
    }
  ts_expr **sh = s[0]->u.tensor.shape;
  int shn = s[0]->u.tensor.ndim;
  for (int i = 1; i < n; i++) {
    ts_expr **r;
    int rn;
    if (!ts_ops_broadcast(a, sh, shn, s[i]->u.tensor.shape,
                          s[i]->u.tensor.ndim, &r, &rn)) {
      ts_strbuf b1 = {0}, b2 = {0};
      ts_ops_print_shape(&b1, sh, shn);
      ts_ops_print_shape(&b2, s[i]->u.tensor.shape, s[i]->u.tensor.ndim);
      ts_status *st = ts_ops_error(call, TS_ERR_TYPE,
                                   "operands have incompatible shapes %s and %s",
                                   b1.data, b2.data);
      ts_strbuf_free(&b1);
      ts_strbuf_free(&b2);
      return st;
    }
    sh = r;
    shn = rn;
  }
  *out_shape = sh;
  *out_ndim = shn;
  return NULL;
}

static ts_status *infer_binary_a(ts_arena *a, const ts_gexpr *call,
                                 ts_sinfo **out) {
  const ts_sinfo *s[3];
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  int op = call->u.call.op;
  bkind k = kind_of(op);
  char b1[32], b2[32];
  int first = 0;
  if (k == K_WHERE) {
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "condition", &s[0]));
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "x1", &s[1]));
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 2, "x2", &s[2]));
    ts_dtype c = s[0]->u.tensor.dtype;
    if (c.code != TS_VOID && !ts_dtype_is_bool(c))
      return ts_ops_error(call, TS_ERR_TYPE, "condition must be bool, got %s",
                          ts_dtype_str(c, b1));
    first = 1;
  } else {
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x1", &s[0]));
    TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 1, "x2", &s[1]));
  }
  int n = k == K_WHERE ? 3 : 2;
  ts_dtype dx = s[first]->u.tensor.dtype, dy = s[first + 1]->u.tensor.dtype;
  ts_dtype dt = dx.code == TS_VOID ? dy : dx;
  if (dx.code != TS_VOID && dy.code != TS_VOID && !ts_dtype_eq(dx, dy))
    return ts_ops_error(call, TS_ERR_TYPE, "operand dtypes differ: %s and %s",
                        ts_dtype_str(dx, b1), ts_dtype_str(dy, b2));
  if (dt.code != TS_VOID) {
    if (k == K_LOGIC && !ts_dtype_is_bool(dt))
      return ts_ops_error(call, TS_ERR_TYPE, "requires bool operands, got %s",
                          ts_dtype_str(dt, b1));
    if (k == K_BITWISE && !ts_dtype_is_int(dt))
      return ts_ops_error(call, TS_ERR_TYPE,
                          "requires integer operands, got %s",
                          ts_dtype_str(dt, b1));
    if (k == K_ARITH && ts_dtype_is_bool(dt))
      return ts_ops_error(call, TS_ERR_TYPE,
                          "requires numeric operands, got bool");
  }
  if (k == K_COMPARE || k == K_LOGIC) dt = TS_BOOLT;
  ts_expr **sh = NULL;
  int nd = 0;
  TS_RETURN_IF_ERROR(broadcast_n(a, call, s, n, &sh, &nd));
  *out = ts_ops_tensor(a, sh, nd, dt);
  return NULL;
}

/* ---- evaluation ------------------------------------------------------------------ */

static int64_t floordiv_i(int64_t x, int64_t y) {
  int64_t q = x / y;
  if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
  return q;
}

static int64_t floormod_i(int64_t x, int64_t y) {
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

static double floormod_f(double x, double y) {
  double r = fmod(x, y);
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

/* One element of a two-operand op; *div0 set on integer division by zero. */
static void apply(int op, bool is_int, double fx, double fy, int64_t ix,
                  int64_t iy, double *out_f, int64_t *out_i, bool *div0) {
  if (is_int) {
    int64_t r = 0;
    switch (op) {
    case TS_OP_FLOOR_DIVIDE: case TS_OP_FLOOR_MOD: case TS_OP_MOD:
      if (iy == 0) {
        *div0 = true;
        break;
      }
      if (iy == -1) { /* INT64_MIN / -1 overflows in C */
        r = op == TS_OP_FLOOR_DIVIDE ? (int64_t)(0 - (uint64_t)ix) : 0;
        break;
      }
      r = op == TS_OP_FLOOR_DIVIDE ? floordiv_i(ix, iy)
          : op == TS_OP_FLOOR_MOD  ? floormod_i(ix, iy)
                                   : ix % iy;
      break;
    case TS_OP_EQUAL: r = ix == iy; break;
    case TS_OP_NOT_EQUAL: r = ix != iy; break;
    case TS_OP_LESS: r = ix < iy; break;
    case TS_OP_LESS_EQUAL: r = ix <= iy; break;
    case TS_OP_GREATER: r = ix > iy; break;
    case TS_OP_GREATER_EQUAL: r = ix >= iy; break;
    case TS_OP_LOGICAL_AND: r = ix && iy; break;
    case TS_OP_LOGICAL_OR: r = ix || iy; break;
    case TS_OP_LOGICAL_XOR: r = (ix != 0) != (iy != 0); break;
    case TS_OP_BITWISE_AND: r = ix & iy; break;
    case TS_OP_BITWISE_OR: r = ix | iy; break;
    case TS_OP_BITWISE_XOR: r = ix ^ iy; break;
    default: TS_UNREACHABLE();
    }
    *out_i = r;
    return;
  }
  double r;
  switch (op) {
  case TS_OP_FLOOR_DIVIDE: r = floor(fx / fy); break;
  case TS_OP_FLOOR_MOD: r = floormod_f(fx, fy); break;
  case TS_OP_MOD: r = fmod(fx, fy); break;
  case TS_OP_EQUAL: r = fx == fy; break;
  case TS_OP_NOT_EQUAL: r = fx != fy; break;
  case TS_OP_LESS: r = fx < fy; break;
  case TS_OP_LESS_EQUAL: r = fx <= fy; break;
  case TS_OP_GREATER: r = fx > fy; break;
  case TS_OP_GREATER_EQUAL: r = fx >= fy; break;
  default: TS_UNREACHABLE();
  }
  *out_f = r;
}

static ts_status *eval_binary_a(const ts_gexpr *call, ts_ndarray **args,
                                int n_args, ts_ndarray **out) {
  int op = call->u.call.op;
  bkind k = kind_of(op);
  int n = k == K_WHERE ? 3 : 2;
  TS_ASSERT(n_args >= n);
  int64_t shape[TS_MAX_NDIM], idx[TS_MAX_NDIM];
  int nd = 0;
  for (int i = 0; i < n; i++)
    if (ts_ndarray_ndim(args[i]) > TS_MAX_NDIM)
      return ts_ops_error(call, TS_ERR_VALUE, "too many dimensions");
  /* broadcast shape of all operands (pairwise checks name the operands) */
  TS_RETURN_IF_ERROR(ts_ops_broadcast_arrays(call, args[0], args[1], &nd, shape));
  if (n == 3) {
    int64_t s2[TS_MAX_NDIM];
    int nd2;
    TS_RETURN_IF_ERROR(ts_ops_broadcast_arrays(call, args[1], args[2], &nd2, s2));
    TS_RETURN_IF_ERROR(ts_ops_broadcast_arrays(call, args[0], args[2], &nd2, s2));
    int m = nd > nd2 ? nd : nd2;
    int64_t r[TS_MAX_NDIM];
    for (int i = 0; i < m; i++) {
      int i1 = nd - m + i, i2 = nd2 - m + i;
      int64_t d1 = i1 >= 0 ? shape[i1] : 1, d2 = i2 >= 0 ? s2[i2] : 1;
      r[i] = d1 == 1 ? d2 : d1;
    }
    memcpy(shape, r, sizeof(int64_t) * (size_t)m);
    nd = m;
  }
  ts_ndarray *x = args[n - 2], *y = args[n - 1];
  ts_dtype in_dt = ts_ndarray_dtype(x);
  ts_dtype dt = (k == K_COMPARE || k == K_LOGIC) ? TS_BOOLT : in_dt;
  bool is_int = !ts_dtype_is_float(in_dt);
  TS_RETURN_IF_ERROR(ts_ops_new_array(call, nd, shape, dt, out));
  int64_t total = ts_ndarray_numel(*out);
  for (int d = 0; d < nd; d++) idx[d] = 0;
  for (int64_t e = 0; e < total; e++) {
    int64_t off[3];
    for (int i = 0; i < n; i++)
      off[i] = ts_ops_bcast_offset(idx, nd, ts_ndarray_ndim(args[i]),
                                   ts_ndarray_shape(args[i]));
    int64_t ox = off[n - 2], oy = off[n - 1];
    if (k == K_WHERE) {
      ts_ndarray *src = ts_ndarray_get_i64(args[0], off[0]) ? x : y;
      int64_t o = src == x ? ox : oy;
      if (is_int) ts_ndarray_set_i64(*out, e, ts_ndarray_get_i64(src, o));
      else ts_ndarray_set_f64(*out, e, ts_ndarray_get_f64(src, o));
    } else {
      double rf = 0;
      int64_t ri = 0;
      bool div0 = false;
      if (is_int)
        apply(op, true, 0, 0, ts_ndarray_get_i64(x, ox),
              ts_ndarray_get_i64(y, oy), &rf, &ri, &div0);
      else
        apply(op, false, ts_ndarray_get_f64(x, ox), ts_ndarray_get_f64(y, oy),
              0, 0, &rf, &ri, &div0);
      if (div0) {
        ts_ndarray_release(*out);
        *out = NULL;
        return ts_ops_error(call, TS_ERR_RUNTIME, "integer division by zero");
      }
      if (is_int) ts_ndarray_set_i64(*out, e, ri);
      else ts_ndarray_set_f64(*out, e, rf);
    }
    for (int d = nd - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return NULL;
}

/* ---- legalization ------------------------------------------------------------------ */

typedef struct bctx {
  int op;
  ts_buffer *in[3];
  int n;
  int ndim;
} bctx;

static ts_expr *call2(ts_arena *a, ts_intrin op, ts_expr *x, ts_expr *y) {
  ts_expr **args = ts_arena_array(a, 2, sizeof(ts_expr *));
  args[0] = x;
  args[1] = y;
  return ts_call(a, x->dtype, op, args, 2);
}

static ts_expr *binary_body(te_builder *b, ts_expr **sp, ts_expr **rd,
                            void *vc) {
  (void)rd;
  bctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *v[3];
  for (int i = 0; i < c->n; i++)
    v[i] = te_broadcast_load(b, c->in[i], sp, c->ndim);
  ts_expr *x = v[c->n - 2], *y = v[c->n - 1];
  bool fl = ts_dtype_is_float(x->dtype);
  switch (c->op) {
  case TS_OP_FLOOR_DIVIDE: {
    if (!fl) return ts_binary(a, TS_E_FLOORDIV, x, y);
    ts_expr **args = ts_arena_array(a, 1, sizeof(ts_expr *));
    args[0] = ts_binary(a, TS_E_DIV, x, y);
    return ts_call(a, x->dtype, TS_INTRIN_FLOOR, args, 1);
  }
  case TS_OP_FLOOR_MOD: {
    if (!fl) return ts_binary(a, TS_E_FLOORMOD, x, y);
    /* x - floor(x / y) * y, as TOPI writes it for floats */
    ts_expr **args = ts_arena_array(a, 1, sizeof(ts_expr *));
    args[0] = ts_binary(a, TS_E_DIV, x, y);
    ts_expr *f = ts_call(a, x->dtype, TS_INTRIN_FLOOR, args, 1);
    return ts_binary(a, TS_E_SUB, x, ts_binary(a, TS_E_MUL, f, y));
  }
  case TS_OP_MOD:
    return fl ? call2(a, TS_INTRIN_FMOD, x, y) : ts_binary(a, TS_E_MOD, x, y);
  case TS_OP_EQUAL: return ts_binary(a, TS_E_EQ, x, y);
  case TS_OP_NOT_EQUAL: return ts_binary(a, TS_E_NE, x, y);
  case TS_OP_LESS: return ts_binary(a, TS_E_LT, x, y);
  case TS_OP_LESS_EQUAL: return ts_binary(a, TS_E_LE, x, y);
  case TS_OP_GREATER: return ts_binary(a, TS_E_GT, x, y);
  case TS_OP_GREATER_EQUAL: return ts_binary(a, TS_E_GE, x, y);
  case TS_OP_LOGICAL_AND: return ts_binary(a, TS_E_AND, x, y);
  case TS_OP_LOGICAL_OR: return ts_binary(a, TS_E_OR, x, y);
  case TS_OP_LOGICAL_XOR: return ts_binary(a, TS_E_NE, x, y);
  case TS_OP_BITWISE_AND: return call2(a, TS_INTRIN_BITWISE_AND, x, y);
  case TS_OP_BITWISE_OR: return call2(a, TS_INTRIN_BITWISE_OR, x, y);
  case TS_OP_BITWISE_XOR: return call2(a, TS_INTRIN_BITWISE_XOR, x, y);
  case TS_OP_WHERE: return ts_select(a, v[0], x, y);
  default: TS_UNREACHABLE();
  }
}

static ts_status *legalize_binary_a(struct te_builder *b, const ts_gexpr *call,
                                    ts_buffer *const *in, int n_in,
                                    const ts_sinfo *out, const char **out_name) {
  (void)out_name;
  ts_arena *a = te_arena(b);
  bctx *c = ts_arena_alloc(a, sizeof *c);
  c->op = call->u.call.op;
  c->n = kind_of(c->op) == K_WHERE ? 3 : 2;
  TS_ASSERT(n_in >= c->n);
  for (int i = 0; i < c->n; i++) c->in[i] = in[i];
  c->ndim = out->u.tensor.ndim;
  const char *block = ts_arena_printf(a, "T_%s", ts_op_get(c->op)->name);
  ts_buffer *res = te_output(b, block, out->u.tensor.shape, c->ndim,
                             out->u.tensor.dtype);
  te_compute(b, block, res, binary_body, c);
  return NULL;
}

#define BINARY_A(ID)                                                           \
  ts_status *ts_op_infer_##ID(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out) {                                \
    return infer_binary_a(a, call, out);                                       \
  }                                                                            \
  ts_status *ts_op_eval_##ID(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out) {                   \
    return eval_binary_a(call, args, n_args, out);                             \
  }                                                                            \
  ts_status *ts_op_legalize_##ID(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name) { \
    return legalize_binary_a(b, call, in, n_in, out, out_name);                \
  }

BINARY_A(FLOOR_DIVIDE)
BINARY_A(FLOOR_MOD)
BINARY_A(MOD)
BINARY_A(EQUAL)
BINARY_A(NOT_EQUAL)
BINARY_A(LESS)
BINARY_A(LESS_EQUAL)
BINARY_A(GREATER)
BINARY_A(GREATER_EQUAL)
BINARY_A(LOGICAL_AND)
BINARY_A(LOGICAL_OR)
BINARY_A(LOGICAL_XOR)
BINARY_A(BITWISE_AND)
BINARY_A(BITWISE_OR)
BINARY_A(BITWISE_XOR)
BINARY_A(WHERE)
