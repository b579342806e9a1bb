/* legalize.c: every op's TensorIR, written with the te.h builder in the
 * shape TVM's legalization produces (block names as TOPI names them). */
#include <math.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/legalize.h"
#include "ops/ops_internal.h"
#include "ops/te.h"

typedef struct lctx {
  const ts_gexpr *call;
  ts_buffer *in[4];
  int n_in;
  int out_ndim;
  ts_dtype dt;
  int op;
  /* matmul */
  int a_nd, b_nd;
  /* reductions */
  bool mask[TS_MAX_NDIM];
  bool keepdims;
  int axis;
  ts_buffer *tmp[3];
  int perm[TS_MAX_NDIM];
} lctx;

static ts_expr *fconst(ts_arena *a, ts_dtype t, double v) {
  return ts_dtype_is_float(t) ? ts_float(a, t, v) : ts_int(a, t, (int64_t)v);
}

static ts_expr *call1(ts_arena *a, ts_intrin op, ts_expr *x) {
  ts_expr **args = ts_arena_array(a, 1, sizeof(ts_expr *));
  args[0] = x;
  return ts_call(a, x->dtype, op, args, 1);
}

static ts_expr *unary_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = ts_load(a, c->in[0], sp, c->out_ndim);
  ts_dtype t = x->dtype;
  switch (c->op) {
  case TS_OP_RELU: return ts_binary(a, TS_E_MAX, x, fconst(a, t, 0));
  case TS_OP_SIGMOID: return call1(a, TS_INTRIN_SIGMOID, x);
  case TS_OP_TANH: return call1(a, TS_INTRIN_TANH, x);
  case TS_OP_EXP: return call1(a, TS_INTRIN_EXP, x);
  case TS_OP_LOG: return call1(a, TS_INTRIN_LOG, x);
  case TS_OP_SQRT: return call1(a, TS_INTRIN_SQRT, x);
  case TS_OP_RSQRT: return call1(a, TS_INTRIN_RSQRT, x);
  case TS_OP_NEGATIVE: return ts_binary(a, TS_E_SUB, fconst(a, t, 0), x);
  case TS_OP_ABS:
    return call1(a, ts_dtype_is_float(t) ? TS_INTRIN_FABS : TS_INTRIN_ABS, x);
  case TS_OP_ERF: return call1(a, TS_INTRIN_ERF, x);
  case TS_OP_GELU: {
    /* x * (0.5 + erf(x * 1/sqrt(2)) * 0.5) */
    ts_expr *e = call1(a, TS_INTRIN_ERF,
                       ts_binary(a, TS_E_MUL, x, fconst(a, t, M_SQRT1_2)));
    ts_expr *h = ts_binary(a, TS_E_ADD, fconst(a, t, 0.5),
                           ts_binary(a, TS_E_MUL, e, fconst(a, t, 0.5)));
    return ts_binary(a, TS_E_MUL, x, h);
  }
  case TS_OP_SILU:
    return ts_binary(a, TS_E_MUL, x, call1(a, TS_INTRIN_SIGMOID, x));
  default: TS_UNREACHABLE();
  }
}

static ts_expr *binary_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = te_broadcast_load(b, c->in[0], sp, c->out_ndim);
  ts_expr *y = te_broadcast_load(b, c->in[1], sp, c->out_ndim);
  switch (c->op) {
  case TS_OP_ADD: return ts_binary(a, TS_E_ADD, x, y);
  case TS_OP_SUBTRACT: return ts_binary(a, TS_E_SUB, x, y);
  case TS_OP_MULTIPLY: return ts_binary(a, TS_E_MUL, x, y);
  case TS_OP_DIVIDE:
    if (ts_dtype_is_float(x->dtype)) return ts_binary(a, TS_E_DIV, x, y);
    return ts_binary(a, TS_E_FLOORDIV, x, y);
  case TS_OP_MAXIMUM: return ts_binary(a, TS_E_MAX, x, y);
  case TS_OP_MINIMUM: return ts_binary(a, TS_E_MIN, x, y);
  case TS_OP_POWER: {
    ts_expr **args = ts_arena_array(a, 2, sizeof(ts_expr *));
    args[0] = x;
    args[1] = y;
    return ts_call(a, x->dtype, TS_INTRIN_POW, args, 2);
  }
  default: TS_UNREACHABLE();
  }
}

/* matmul: out[batch..., i, j] = sum_k A[.., i, k] * B[.., k, j] with 1-D
 * promotion and batch broadcasting. */
static ts_expr *matmul_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  int on = c->out_ndim;
  /* output index layout: batch dims, then i (if a_nd > 1), then j (if b_nd > 1) */
  int n_batch = on - (c->a_nd > 1) - (c->b_nd > 1);
  ts_expr *i = c->a_nd > 1 ? sp[n_batch] : NULL;
  ts_expr *j = c->b_nd > 1 ? sp[on - 1] : NULL;
  ts_expr *k = rd[0];
  ts_expr *ai[TS_MAX_NDIM + 2], *bi[TS_MAX_NDIM + 2];
  int na = c->a_nd, nb = c->b_nd;
  for (int d = 0; d < na - 2; d++) {
    int od = n_batch - (na - 2) + d;
    int64_t v;
    ai[d] = ts_expr_is_const_int(c->in[0]->shape[d], &v) && v == 1
                ? ts_int(a, sp[od]->dtype, 0) : sp[od];
  }
  for (int d = 0; d < nb - 2; d++) {
    int od = n_batch - (nb - 2) + d;
    int64_t v;
    bi[d] = ts_expr_is_const_int(c->in[1]->shape[d], &v) && v == 1
                ? ts_int(a, sp[od]->dtype, 0) : sp[od];
  }
  if (na == 1) ai[0] = k;
  else {
    ai[na - 2] = i;
    ai[na - 1] = k;
  }
  if (nb == 1) bi[0] = k;
  else {
    bi[nb - 2] = k;
    bi[nb - 1] = j;
  }
  ts_expr *x = ts_load(a, c->in[0], ts_arena_memdup(a, ai, sizeof(ts_expr *) * (size_t)na), na);
  ts_expr *y = ts_load(a, c->in[1], ts_arena_memdup(a, bi, sizeof(ts_expr *) * (size_t)nb), nb);
  if (!ts_dtype_eq(x->dtype, c->dt)) x = ts_cast(a, c->dt, x);
  if (!ts_dtype_eq(y->dtype, c->dt)) y = ts_cast(a, c->dt, y);
  return ts_binary(a, TS_E_MUL, x, y);
}

/* Index of the reduced input from output index + reduction index. */
static ts_expr *reduce_load(te_builder *b, lctx *c, ts_buffer *in, ts_expr **sp,
                            ts_expr **rd) {
  ts_arena *a = te_arena(b);
  int nd = in->ndim, si = 0, ri = 0;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0; d < nd; d++) {
    if (c->mask[d]) {
      idx[d] = rd[ri++];
      if (c->keepdims) si++;
    } else {
      idx[d] = sp[si++];
    }
  }
  return ts_load(a, in, idx, nd);
}

static ts_expr *reduce_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  return reduce_load(b, c, c->in[0], sp, rd);
}

static ts_expr *mean_div_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *count = NULL;
  for (int d = 0; d < c->in[0]->ndim; d++)
    if (c->mask[d]) {
      ts_expr *e = c->in[0]->shape[d];
      count = count ? ts_binary(a, TS_E_MUL, count, e) : e;
    }
  if (!count) count = ts_int(a, TS_I64, 1);
  count = ts_expr_simplify_const(a, count);
  ts_expr *x = ts_load(a, c->tmp[0], sp, c->out_ndim);
  int64_t n;
  if (ts_expr_is_const_int(count, &n)) return ts_binary(a, TS_E_DIV, x, fconst(a, x->dtype, (double)n));
  return ts_binary(a, TS_E_DIV, x, ts_cast(a, x->dtype, count));
}

/* softmax stages: max over axis, exp(x - max), sum, divide. */
static ts_expr **drop_axis(te_builder *b, lctx *c, ts_expr **sp, ts_expr *r) {
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int d = 0, k = 0; d < nd; d++) idx[d] = d == c->axis ? r : sp[k++];
  return idx;
}

static ts_expr **without_axis(te_builder *b, lctx *c, ts_expr **sp) {
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd, sizeof(ts_expr *) + 1);
  for (int d = 0, k = 0; d < nd; d++)
    if (d != c->axis) idx[k++] = sp[d];
  return idx;
}

static ts_expr *softmax_max_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  return ts_load(te_arena(b), c->in[0], drop_axis(b, c, sp, rd[0]), c->in[0]->ndim);
}

static ts_expr *softmax_exp_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = ts_load(a, c->in[0], sp, c->in[0]->ndim);
  ts_expr *m = ts_load(a, c->tmp[0], without_axis(b, c, sp), c->in[0]->ndim - 1);
  return call1(a, TS_INTRIN_EXP, ts_binary(a, TS_E_SUB, x, m));
}

static ts_expr *softmax_sum_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  return ts_load(te_arena(b), c->tmp[1], drop_axis(b, c, sp, rd[0]), c->in[0]->ndim);
}

static ts_expr *softmax_norm_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *e = ts_load(a, c->tmp[1], sp, c->in[0]->ndim);
  ts_expr *s = ts_load(a, c->tmp[2], without_axis(b, c, sp), c->in[0]->ndim - 1);
  return ts_binary(a, TS_E_DIV, e, s);
}

/* reshape / flatten: linearize the output index, unlinearize into input. */
static ts_expr *reshape_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_buffer *in = c->in[0];
  ts_buffer *out = c->tmp[0];
  ts_expr *flat = NULL;
  for (int d = 0; d < out->ndim; d++) {
    flat = flat ? ts_binary(a, TS_E_ADD, ts_binary(a, TS_E_MUL, flat, out->shape[d]), sp[d])
                : sp[d];
  }
  if (!flat) flat = ts_int(a, TS_I64, 0);
  ts_expr **idx = ts_arena_array(a, (size_t)in->ndim + 1, sizeof(ts_expr *));
  ts_expr *rest = flat;
  for (int d = in->ndim - 1; d >= 0; d--) {
    if (d == 0) {
      idx[d] = rest;
    } else {
      idx[d] = ts_expr_simplify_const(a, ts_binary(a, TS_E_FLOORMOD, rest, in->shape[d]));
      rest = ts_binary(a, TS_E_FLOORDIV, rest, in->shape[d]);
    }
  }
  return ts_load(a, in, idx, in->ndim);
}

static ts_expr *permute_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  lctx *c = vc;
  ts_arena *a = te_arena(b);
  int nd = c->in[0]->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)nd + 1, sizeof(ts_expr *));
  for (int i = 0; i < nd; i++) idx[c->perm[i]] = sp[i];
  return ts_load(a, c->in[0], idx, nd);
}

/* ---- one legalization per op ---------------------------------------------- */

static void init_ctx(lctx *c, const ts_gexpr *call, ts_buffer *const *in,
                     int n_in, const ts_sinfo *out) {
  memset(c, 0, sizeof *c);
  c->call = call;
  c->op = call->u.call.op;
  c->out_ndim = out->u.tensor.ndim;
  c->dt = out->u.tensor.dtype;
  for (int i = 0; i < n_in && i < 4; i++) c->in[i] = in[i];
  c->n_in = n_in;
}

/* The base name of an op's PrimFunc: its name without the "nn." prefix. */
static const char *base_name(int op) {
  const char *name = ts_op_get(op)->name;
  return strncmp(name, "nn.", 3) ? name : name + 3;
}

static ts_status *legalize_unary(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  lctx *c = ts_arena_alloc(te_arena(b), sizeof *c);
  init_ctx(c, call, in, n_in, out);
  ts_buffer *res = te_output(b, "compute", out->u.tensor.shape, c->out_ndim, c->dt);
  te_compute(b, "compute", res, unary_body, c);
  *out_name = base_name(c->op);
  return NULL;
}

static ts_status *legalize_binary(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  lctx *c = ts_arena_alloc(a, sizeof *c);
  init_ctx(c, call, in, n_in, out);
  const char *block = ts_arena_printf(a, "T_%s", base_name(c->op));
  ts_buffer *res = te_output(b, block, out->u.tensor.shape, c->out_ndim, c->dt);
  te_compute(b, block, res, binary_body, c);
  *out_name = base_name(c->op);
  return NULL;
}

#define UNARY(ID)                                                              \
  ts_status *ts_op_legalize_##ID(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name) { \
    return legalize_unary(b, call, in, n_in, out, out_name);                   \
  }
#define BINARY(ID)                                                             \
  ts_status *ts_op_legalize_##ID(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name) { \
    return legalize_binary(b, call, in, n_in, out, out_name);                  \
  }
UNARY(RELU)
UNARY(SIGMOID)
UNARY(TANH)
UNARY(EXP)
UNARY(LOG)
UNARY(SQRT)
UNARY(RSQRT)
UNARY(NEGATIVE)
UNARY(ABS)
UNARY(ERF)
UNARY(GELU)
UNARY(SILU)
BINARY(ADD)
BINARY(SUBTRACT)
BINARY(MULTIPLY)
BINARY(DIVIDE)
BINARY(MAXIMUM)
BINARY(MINIMUM)
BINARY(POWER)

ts_status *ts_op_legalize_MATMUL(struct te_builder *b, const ts_gexpr *call,
                                 ts_buffer *const *in, int n_in,
                                 const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  lctx *c = ts_arena_alloc(a, sizeof *c);
  init_ctx(c, call, in, n_in, out);
  c->a_nd = c->in[0]->ndim;
  c->b_nd = c->in[1]->ndim;
  ts_buffer *res = te_output(b, "matmul", out->u.tensor.shape, c->out_ndim, c->dt);
  ts_expr *k = c->in[0]->shape[c->a_nd - 1];
  te_reduce(b, "matmul", res, 1, &k, fconst(a, c->dt, 0), TS_E_ADD, matmul_body, c);
  *out_name = "matmul";
  return NULL;
}

static ts_status *legalize_reduce(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  lctx *c = ts_arena_alloc(a, sizeof *c);
  init_ctx(c, call, in, n_in, out);
  int op = c->op, nd = c->in[0]->ndim;
  TS_RETURN_IF_ERROR(ts_ops_attr_bool(call, "keepdims", false, &c->keepdims));
  TS_RETURN_IF_ERROR(ts_ops_attr_axes(call, "axis", nd, c->mask));
  ts_expr *ext[TS_MAX_NDIM];
  int nr = 0;
  for (int d = 0; d < nd; d++)
    if (c->mask[d]) ext[nr++] = c->in[0]->shape[d];
  const char *bn = op == TS_OP_MAX ? "T_max" : "T_sum";
  ts_expr *init = op == TS_OP_MAX
                      ? (ts_dtype_is_float(c->dt) ? ts_float(a, c->dt, -INFINITY)
                                                  : ts_int(a, c->dt, INT32_MIN))
                      : fconst(a, c->dt, 0);
  ts_buffer *res;
  if (op == TS_OP_MEAN) {
    res = te_output(b, "T_divide", out->u.tensor.shape, c->out_ndim, c->dt);
    c->tmp[0] = te_temp(b, "T_sum", res->shape, c->out_ndim, c->dt);
    te_reduce(b, "T_sum", c->tmp[0], nr, ext, init, TS_E_ADD, reduce_body, c);
    te_compute(b, "T_divide", res, mean_div_body, c);
  } else {
    res = te_output(b, bn, out->u.tensor.shape, c->out_ndim, c->dt);
    te_reduce(b, bn, res, nr, ext, init, op == TS_OP_MAX ? TS_E_MAX : TS_E_ADD,
              reduce_body, c);
  }
  *out_name = base_name(op);
  return NULL;
}

ts_status *ts_op_legalize_SUM(struct te_builder *b, const ts_gexpr *call,
                              ts_buffer *const *in, int n_in,
                              const ts_sinfo *out, const char **out_name) {
  return legalize_reduce(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_MEAN(struct te_builder *b, const ts_gexpr *call,
                               ts_buffer *const *in, int n_in,
                               const ts_sinfo *out, const char **out_name) {
  return legalize_reduce(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_MAX(struct te_builder *b, const ts_gexpr *call,
                              ts_buffer *const *in, int n_in,
                              const ts_sinfo *out, const char **out_name) {
  return legalize_reduce(b, call, in, n_in, out, out_name);
}

ts_status *ts_op_legalize_SOFTMAX(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  ts_arena *a = te_arena(b);
  lctx *c = ts_arena_alloc(a, sizeof *c);
  init_ctx(c, call, in, n_in, out);
  int nd = c->in[0]->ndim;
  int64_t axis;
  TS_RETURN_IF_ERROR(ts_ops_attr_int(call, "axis", -1, &axis));
  if (axis < 0) axis += nd;
  c->axis = (int)axis;
  ts_expr *red[TS_MAX_NDIM];
  int k = 0;
  for (int d = 0; d < nd; d++)
    if (d != c->axis) red[k++] = c->in[0]->shape[d];
  ts_buffer *res = te_output(b, "T_softmax_norm", out->u.tensor.shape, nd, c->dt);
  c->tmp[0] = te_temp(b, "T_softmax_maxelem", red, nd - 1, c->dt);
  c->tmp[1] = te_temp(b, "T_softmax_exp", c->in[0]->shape, nd, c->dt);
  c->tmp[2] = te_temp(b, "T_softmax_expsum", red, nd - 1, c->dt);
  ts_expr *ext = c->in[0]->shape[c->axis];
  te_reduce(b, "T_softmax_maxelem", c->tmp[0], 1, &ext, ts_float(a, c->dt, -INFINITY),
            TS_E_MAX, softmax_max_body, c);
  te_compute(b, "T_softmax_exp", c->tmp[1], softmax_exp_body, c);
  te_reduce(b, "T_softmax_expsum", c->tmp[2], 1, &ext, fconst(a, c->dt, 0), TS_E_ADD,
            softmax_sum_body, c);
  te_compute(b, "T_softmax_norm", res, softmax_norm_body, c);
  *out_name = "softmax";
  return NULL;
}

static ts_status *legalize_reshape(struct te_builder *b, const ts_gexpr *call,
                                   ts_buffer *const *in, int n_in,
                                   const ts_sinfo *out, const char **out_name) {
  lctx *c = ts_arena_alloc(te_arena(b), sizeof *c);
  init_ctx(c, call, in, n_in, out);
  ts_buffer *res = te_output(b, "T_reshape", out->u.tensor.shape, c->out_ndim, c->dt);
  c->tmp[0] = res;
  te_compute(b, "T_reshape", res, reshape_body, c);
  *out_name = base_name(c->op);
  return NULL;
}

ts_status *ts_op_legalize_RESHAPE(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  return legalize_reshape(b, call, in, n_in, out, out_name);
}
ts_status *ts_op_legalize_FLATTEN(struct te_builder *b, const ts_gexpr *call,
                                  ts_buffer *const *in, int n_in,
                                  const ts_sinfo *out, const char **out_name) {
  return legalize_reshape(b, call, in, n_in, out, out_name);
}

ts_status *ts_op_legalize_PERMUTE_DIMS(struct te_builder *b, const ts_gexpr *call,
                                       ts_buffer *const *in, int n_in,
                                       const ts_sinfo *out, const char **out_name) {
  lctx *c = ts_arena_alloc(te_arena(b), sizeof *c);
  init_ctx(c, call, in, n_in, out);
  int nd = c->in[0]->ndim;
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, "axes");
  if (!v || v->kind == TS_ATTR_NONE) {
    for (int i = 0; i < nd; i++) c->perm[i] = nd - 1 - i;
  } else {
    for (int i = 0; i < nd && i < v->u.list.n; i++) {
      int64_t ax = v->u.list.items[i]->u.i;
      c->perm[i] = (int)(ax < 0 ? ax + nd : ax);
    }
  }
  ts_buffer *res = te_output(b, "T_transpose", out->u.tensor.shape, nd, c->dt);
  te_compute(b, "T_transpose", res, permute_body, c);
  *out_name = "permute_dims";
  return NULL;
}

/* ---- the dispatcher ------------------------------------------------------------ */

/* True when s is a tensor of known shape and dtype. */
static bool known_tensor(const ts_sinfo *s) {
  return s && s->kind == TS_SI_TENSOR && s->u.tensor.shape &&
         s->u.tensor.dtype.code != TS_VOID;
}

ts_status *ts_op_legalize(ts_arena *a, const ts_gexpr *call,
                          const char **out_name, ts_primfunc **out,
                          ts_gexpr **out_args, int *out_n_args) {
  int op = call->u.call.op;
  const ts_op_info *info = ts_op_get(op);
  const ts_sinfo *osi = call->sinfo;
  if (!info->legalize)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "has no legalization to TensorIR yet");
  bool ok = known_tensor(osi);
  if (osi && osi->kind == TS_SI_TUPLE) {
    ok = osi->u.tuple.n > 0;
    for (int i = 0; i < osi->u.tuple.n; i++)
      ok = ok && known_tensor(osi->u.tuple.fields[i]);
  }
  if (!ok)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "cannot legalize: the result's shape or dtype is unknown");
  te_builder *b = te_begin(a);
  /* Tensor arguments (and the fields of tuple arguments) become the
   * parameters A, B, C, ... in order. */
  ts_buffer *in[TS_LEGALIZE_MAX_ARGS];
  int nt = 0;
  for (int i = 0; i < call->u.call.n_args; i++) {
    ts_gexpr *arg = call->u.call.args[i];
    const ts_sinfo *si = ts_ops_arg_sinfo(arg);
    if (!si || (si->kind != TS_SI_TENSOR && si->kind != TS_SI_TUPLE)) continue;
    int nf = si->kind == TS_SI_TUPLE ? si->u.tuple.n : 1;
    for (int k = 0; k < nf; k++) {
      const ts_sinfo *fi = si->kind == TS_SI_TUPLE ? si->u.tuple.fields[k] : si;
      if (nt == TS_LEGALIZE_MAX_ARGS || !known_tensor(fi)) {
        te_finish(b, "unused");
        return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                            nt == TS_LEGALIZE_MAX_ARGS
                                ? "cannot legalize: too many tensor operands"
                                : "cannot legalize: operand %d has unknown shape or dtype",
                            i);
      }
      ts_gexpr *fe = arg;
      if (si->kind == TS_SI_TUPLE) {
        if (arg->kind == TS_G_TUPLE) {
          fe = arg->u.tuple.fields[k];
        } else {
          fe = ts_gexpr_new(a, TS_G_TUPLE_GET, arg->loc);
          fe->u.tuple_get.tuple = arg;
          fe->u.tuple_get.index = k;
          fe->sinfo = (ts_sinfo *)fi;
        }
      }
      const char *name = nt < 26 ? ts_arena_printf(a, "%c", 'A' + nt)
                                 : ts_arena_printf(a, "A%d", nt);
      in[nt] = te_param(b, name, fi);
      out_args[nt++] = fe;
    }
  }
  *out_n_args = nt;
  const char *base = NULL;
  ts_status *st = info->legalize(b, call, in, nt, osi, &base);
  if (st) {
    te_finish(b, "unused");
    return st;
  }
  *out_name = base ? base : base_name(op);
  *out = te_finish(b, *out_name);
  return NULL;
}
