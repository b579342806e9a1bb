/* unary.c: the section-A unary elementwise ops (TVM Relax names): rounding
 * (floor, ceil, round, trunc), sign, square, trigonometric and hyperbolic
 * functions, logical_not, bitwise_not, the checks isnan/isinf/isfinite
 * (bool results), clip, the activations nn.relu6, nn.leaky_relu, nn.elu,
 * nn.selu, nn.softplus, nn.mish, nn.hard_sigmoid, nn.hard_swish,
 * nn.gelu_tanh, and astype (R.astype(x, dtype="float16")).
 *
 * One table (`unary_rules`) says, per op, which input dtypes it accepts and
 * what dtype it produces; each op then has one scalar formula for the
 * reference evaluation (double precision, stored in the output dtype) and
 * the same formula as a TIR expression for legalization (one "compute"
 * stage over the output, as TOPI writes elementwise ops).
 *
 * Semantics worth knowing:
 *  - round is round-half-to-even (NumPy, ONNX Round, and TVM's lowering of
 *    tir.round to nearbyint); legalized as T.nearbyint.
 *  - rounding ops and sign/square also accept integer tensors (identity /
 *    integer result); the transcendental ops and the activations require a
 *    float tensor, logical_not a bool tensor, bitwise_not an integer one.
 *  - clip's bounds are attributes min= / max= (absent: unbounded) or, as in
 *    TVM, prim values R.clip(x, R.prim_value(0.0), R.prim_value(6.0)).
 *  - attributes and defaults: nn.leaky_relu alpha=0.01; nn.elu alpha=1.0;
 *    nn.selu alpha=1.6732632..., gamma=1.0507010... (ONNX); nn.softplus
 *    beta=1.0, threshold=20.0 (TVM); nn.hard_sigmoid alpha=0.2, beta=0.5
 *    (ONNX HardSigmoid); nn.hard_swish is x * relu6(x + 3) / 6. */
#include <math.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "ops/te.h"

/* ---- dtype rules ------------------------------------------------------------ */

typedef enum { IN_ANY, IN_FLOAT, IN_BOOL, IN_INT } in_rule;
typedef enum { OUT_SAME, OUT_BOOL, OUT_ATTR } out_rule;

static void unary_rules(int op, in_rule *in, out_rule *out) {
  *in = IN_FLOAT;
  *out = OUT_SAME;
  switch (op) {
  case TS_OP_FLOOR: case TS_OP_CEIL: case TS_OP_ROUND: case TS_OP_TRUNC:
  case TS_OP_SIGN: case TS_OP_SQUARE: case TS_OP_CLIP:
    *in = IN_ANY;
    break;
  case TS_OP_ISNAN: case TS_OP_ISINF: case TS_OP_ISFINITE:
    *in = IN_ANY;
    *out = OUT_BOOL;
    break;
  case TS_OP_LOGICAL_NOT: *in = IN_BOOL; break;
  case TS_OP_BITWISE_NOT: *in = IN_INT; break;
  case TS_OP_ASTYPE:
    *in = IN_ANY;
    *out = OUT_ATTR;
    break;
  default: break;
  }
}

/* The attributes of an op, read once per call. */
typedef struct uparams {
  double alpha, beta, gamma, threshold;
  double lo, hi; /* clip bounds; +-inf when absent */
} uparams;
static ts_status *read_params(const ts_gexpr *call, uparams *p);

static ts_status *infer_unary_a(ts_arena *a, const ts_gexpr *call,
                                ts_sinfo **out) {
  const ts_sinfo *x;
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  TS_RETURN_IF_ERROR(ts_ops_tensor_arg(call, 0, "x", &x));
  int op = call->u.call.op;
  in_rule ir;
  out_rule orule;
  unary_rules(op, &ir, &orule);
  ts_dtype dt = x->u.tensor.dtype;
  char b[32];
  if (dt.code != TS_VOID) {
    if (ir == IN_FLOAT && !ts_dtype_is_float(dt))
      return ts_ops_error(call, TS_ERR_TYPE, "requires a float tensor, got %s",
                          ts_dtype_str(dt, b));
    if (ir == IN_BOOL && !ts_dtype_is_bool(dt))
      return ts_ops_error(call, TS_ERR_TYPE, "requires a bool tensor, got %s",
                          ts_dtype_str(dt, b));
    if (ir == IN_INT && !ts_dtype_is_int(dt))
      return ts_ops_error(call, TS_ERR_TYPE,
                          "requires an integer tensor, got %s",
                          ts_dtype_str(dt, b));
  }
  if (op == TS_OP_CLIP) {
    for (int i = 1; i < call->u.call.n_args; i++) {
      const ts_gexpr *g = call->u.call.args[i];
      if (g->kind != TS_G_PRIM ||
          (g->u.prim->kind != TS_E_INT && g->u.prim->kind != TS_E_FLOAT))
        return ts_ops_error(call, TS_ERR_TYPE,
                            "operand %s must be a constant prim value",
                            i == 1 ? "min" : "max");
      if (ts_attrs_get(call->u.call.attrs, i == 1 ? "min" : "max"))
        return ts_ops_error(call, TS_ERR_VALUE,
                            "%s is given both as an operand and an attribute",
                            i == 1 ? "min" : "max");
    }
  }
  uparams p;
  TS_RETURN_IF_ERROR(read_params(call, &p)); /* attribute errors at parse */
  if (orule == OUT_BOOL)
    dt = TS_BOOLT;
  else if (orule == OUT_ATTR)
    TS_RETURN_IF_ERROR(ts_ops_attr_dtype(call, "dtype", &dt));
  *out = ts_ops_tensor(a, x->u.tensor.shape, x->u.tensor.ndim, dt);
  return NULL;
}

/* ---- attributes -------------------------------------------------------------- */


static bool prim_number(const ts_gexpr *g, double *out) {
  if (g->kind != TS_G_PRIM) return false;
  if (g->u.prim->kind == TS_E_FLOAT) *out = g->u.prim->u.float_value;
  else if (g->u.prim->kind == TS_E_INT) *out = (double)g->u.prim->u.int_value;
  else return false;
  return true;
}

static ts_status *read_params(const ts_gexpr *call, uparams *p) {
  memset(p, 0, sizeof *p);
  p->lo = -INFINITY;
  p->hi = INFINITY;
  switch (call->u.call.op) {
  case TS_OP_LEAKY_RELU:
    return ts_ops_attr_float(call, "alpha", 0.01, &p->alpha);
  case TS_OP_ELU:
    return ts_ops_attr_float(call, "alpha", 1.0, &p->alpha);
  case TS_OP_SELU:
    TS_RETURN_IF_ERROR(
        ts_ops_attr_float(call, "alpha", 1.67326319217681884765625, &p->alpha));
    return ts_ops_attr_float(call, "gamma", 1.05070102214813232421875,
                             &p->gamma);
  case TS_OP_SOFTPLUS:
    TS_RETURN_IF_ERROR(ts_ops_attr_float(call, "beta", 1.0, &p->beta));
    return ts_ops_attr_float(call, "threshold", 20.0, &p->threshold);
  case TS_OP_HARD_SIGMOID:
    TS_RETURN_IF_ERROR(ts_ops_attr_float(call, "alpha", 0.2, &p->alpha));
    return ts_ops_attr_float(call, "beta", 0.5, &p->beta);
  case TS_OP_RELU6:
    p->lo = 0;
    p->hi = 6;
    return NULL;
  case TS_OP_CLIP:
    TS_RETURN_IF_ERROR(ts_ops_attr_float(call, "min", -INFINITY, &p->lo));
    TS_RETURN_IF_ERROR(ts_ops_attr_float(call, "max", INFINITY, &p->hi));
    if (call->u.call.n_args > 1 && !prim_number(call->u.call.args[1], &p->lo))
      return ts_ops_error(call, TS_ERR_TYPE,
                          "operand min must be a constant prim value");
    if (call->u.call.n_args > 2 && !prim_number(call->u.call.args[2], &p->hi))
      return ts_ops_error(call, TS_ERR_TYPE,
                          "operand max must be a constant prim value");
    return NULL;
  default: return NULL;
  }
}

/* ---- evaluation -------------------------------------------------------------- */

static double clipd(double x, double lo, double hi) {
  /* T.max(T.min(x, hi), lo); NaN propagates */
  if (isnan(x)) return x;
  return x > hi ? hi : x < lo ? lo : x;
}

static double softplus(double x, double beta, double threshold) {
  return x * beta > threshold ? x : log(1.0 + exp(beta * x)) / beta;
}

static double scalar(int op, double x, const uparams *p) {
  switch (op) {
  case TS_OP_FLOOR: return floor(x);
  case TS_OP_CEIL: return ceil(x);
  case TS_OP_ROUND: return nearbyint(x);
  case TS_OP_TRUNC: return trunc(x);
  case TS_OP_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x;
  case TS_OP_SQUARE: return x * x;
  case TS_OP_SIN: return sin(x);
  case TS_OP_COS: return cos(x);
  case TS_OP_TAN: return tan(x);
  case TS_OP_ASIN: return asin(x);
  case TS_OP_ACOS: return acos(x);
  case TS_OP_ATAN: return atan(x);
  case TS_OP_SINH: return sinh(x);
  case TS_OP_COSH: return cosh(x);
  case TS_OP_ASINH: return asinh(x);
  case TS_OP_ACOSH: return acosh(x);
  case TS_OP_ATANH: return atanh(x);
  case TS_OP_LOGICAL_NOT: return x == 0;
  case TS_OP_ISNAN: return isnan(x) != 0;
  case TS_OP_ISINF: return isinf(x) != 0;
  case TS_OP_ISFINITE: return isfinite(x) != 0;
  case TS_OP_CLIP:
  case TS_OP_RELU6: return clipd(x, p->lo, p->hi);
  case TS_OP_LEAKY_RELU: return x > 0 ? x : x * p->alpha;
  case TS_OP_ELU: return x > 0 ? x : p->alpha * (exp(x) - 1.0);
  case TS_OP_SELU: return p->gamma * (x > 0 ? x : p->alpha * (exp(x) - 1.0));
  case TS_OP_SOFTPLUS: return softplus(x, p->beta, p->threshold);
  case TS_OP_MISH: return x * tanh(log1p(exp(x)));
  case TS_OP_HARD_SIGMOID: return clipd(p->alpha * x + p->beta, 0, 1);
  case TS_OP_HARD_SWISH: return x * clipd(x + 3.0, 0, 6) / 6.0;
  case TS_OP_GELU_TANH:
    return 0.5 * x *
           (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  case TS_OP_ASTYPE: return x;
  default: TS_UNREACHABLE();
  }
}

static ts_status *eval_unary_a(const ts_gexpr *call, ts_ndarray **args,
                               int n_args, ts_ndarray **out) {
  TS_ASSERT(n_args >= 1);
  ts_ndarray *x = args[0];
  int op = call->u.call.op;
  in_rule ir;
  out_rule orule;
  unary_rules(op, &ir, &orule);
  ts_dtype dt = ts_ndarray_dtype(x);
  if (orule == OUT_BOOL) dt = TS_BOOLT;
  else if (orule == OUT_ATTR)
    TS_RETURN_IF_ERROR(ts_ops_attr_dtype(call, "dtype", &dt));
  uparams p;
  TS_RETURN_IF_ERROR(read_params(call, &p));
  TS_RETURN_IF_ERROR(
      ts_ops_new_array(call, ts_ndarray_ndim(x), ts_ndarray_shape(x), dt, out));
  int64_t n = ts_ndarray_numel(x);
  bool int_path = !ts_dtype_is_float(ts_ndarray_dtype(x)) &&
                  (op == TS_OP_BITWISE_NOT || op == TS_OP_ASTYPE ||
                   op == TS_OP_SQUARE) && !ts_dtype_is_float(dt);
  for (int64_t i = 0; i < n; i++) {
    if (int_path) { /* exact for int64 */
      int64_t v = ts_ndarray_get_i64(x, i);
      ts_ndarray_set_i64(*out, i, op == TS_OP_BITWISE_NOT ? ~v
                                  : op == TS_OP_SQUARE    ? (int64_t)((uint64_t)v * (uint64_t)v)
                                  : (ts_dtype_is_bool(dt) ? v != 0 : v));
      continue;
    }
    ts_ndarray_set_f64(*out, i, scalar(op, ts_ndarray_get_f64(x, i), &p));
  }
  return NULL;
}

/* ---- legalization -------------------------------------------------------------- */

typedef struct uctx {
  int op;
  ts_buffer *in;
  int ndim;
  ts_dtype out_dt;
  uparams p;
} uctx;

static ts_expr *cst(ts_arena *a, ts_dtype t, double v) {
  return ts_dtype_is_float(t) ? ts_float(a, t, v) : ts_int(a, t, (int64_t)v);
}

static ts_expr *call1(ts_arena *a, ts_intrin op, ts_dtype t, ts_expr *x) {
  ts_expr **args = ts_arena_array(a, 1, sizeof(ts_expr *));
  args[0] = x;
  return ts_call(a, t, op, args, 1);
}

static ts_expr *mul(ts_arena *a, ts_expr *x, ts_expr *y) {
  return ts_binary(a, TS_E_MUL, x, y);
}
static ts_expr *add(ts_arena *a, ts_expr *x, ts_expr *y) {
  return ts_binary(a, TS_E_ADD, x, y);
}

/* T.max(T.min(x, hi), lo), leaving out an infinite bound (and, for
 * integers, a bound outside what the dtype can hold). */
static ts_expr *clip_expr(ts_arena *a, ts_expr *x, double lo, double hi) {
  ts_dtype t = x->dtype;
  bool fl = ts_dtype_is_float(t);
  if (!isinf(hi) && (fl || hi < 9.2e18))
    x = ts_binary(a, TS_E_MIN, x, cst(a, t, fl ? hi : floor(hi)));
  if (!isinf(lo) && (fl || lo > -9.2e18))
    x = ts_binary(a, TS_E_MAX, x, cst(a, t, fl ? lo : ceil(lo)));
  return x;
}

/* x > 0 ? x : neg (both arms evaluated, as T.Select) */
static ts_expr *pos_or(ts_arena *a, ts_expr *x, ts_expr *neg) {
  return ts_select(a, ts_binary(a, TS_E_GT, x, cst(a, x->dtype, 0)), x, neg);
}

static ts_expr *unary_body(te_builder *b, ts_expr **sp, ts_expr **rd, void *vc) {
  (void)rd;
  uctx *c = vc;
  ts_arena *a = te_arena(b);
  ts_expr *x = ts_load(a, c->in, sp, c->ndim);
  ts_dtype t = x->dtype;
  bool fl = ts_dtype_is_float(t);
  const uparams *p = &c->p;
  switch (c->op) {
  case TS_OP_FLOOR: return fl ? call1(a, TS_INTRIN_FLOOR, t, x) : x;
  case TS_OP_CEIL: return fl ? call1(a, TS_INTRIN_CEIL, t, x) : x;
  case TS_OP_ROUND: return fl ? call1(a, TS_INTRIN_NEARBYINT, t, x) : x;
  case TS_OP_TRUNC: return fl ? call1(a, TS_INTRIN_TRUNC, t, x) : x;
  case TS_OP_SIGN:
    return ts_select(a, ts_binary(a, TS_E_GT, x, cst(a, t, 0)), cst(a, t, 1),
                     ts_select(a, ts_binary(a, TS_E_LT, x, cst(a, t, 0)),
                               cst(a, t, -1), x));
  case TS_OP_SQUARE: return mul(a, x, x);
  case TS_OP_SIN: return call1(a, TS_INTRIN_SIN, t, x);
  case TS_OP_COS: return call1(a, TS_INTRIN_COS, t, x);
  case TS_OP_TAN: return call1(a, TS_INTRIN_TAN, t, x);
  case TS_OP_ASIN: return call1(a, TS_INTRIN_ASIN, t, x);
  case TS_OP_ACOS: return call1(a, TS_INTRIN_ACOS, t, x);
  case TS_OP_ATAN: return call1(a, TS_INTRIN_ATAN, t, x);
  case TS_OP_SINH: return call1(a, TS_INTRIN_SINH, t, x);
  case TS_OP_COSH: return call1(a, TS_INTRIN_COSH, t, x);
  case TS_OP_ASINH: return call1(a, TS_INTRIN_ASINH, t, x);
  case TS_OP_ACOSH: return call1(a, TS_INTRIN_ACOSH, t, x);
  case TS_OP_ATANH: return call1(a, TS_INTRIN_ATANH, t, x);
  case TS_OP_LOGICAL_NOT: return ts_not(a, x);
  case TS_OP_BITWISE_NOT: return call1(a, TS_INTRIN_BITWISE_NOT, t, x);
  case TS_OP_ISNAN:
    return fl ? call1(a, TS_INTRIN_ISNAN, TS_BOOLT, x) : ts_bool(a, false);
  case TS_OP_ISINF:
    return fl ? call1(a, TS_INTRIN_ISINF, TS_BOOLT, x) : ts_bool(a, false);
  case TS_OP_ISFINITE:
    return fl ? call1(a, TS_INTRIN_ISFINITE, TS_BOOLT, x) : ts_bool(a, true);
  case TS_OP_CLIP:
  case TS_OP_RELU6: return clip_expr(a, x, p->lo, p->hi);
  case TS_OP_LEAKY_RELU: return pos_or(a, x, mul(a, x, cst(a, t, p->alpha)));
  case TS_OP_ELU:
  case TS_OP_SELU: {
    ts_expr *neg = mul(a, cst(a, t, p->alpha),
                       ts_binary(a, TS_E_SUB, call1(a, TS_INTRIN_EXP, t, x),
                                 cst(a, t, 1)));
    ts_expr *r = pos_or(a, x, neg);
    return c->op == TS_OP_SELU ? mul(a, cst(a, t, p->gamma), r) : r;
  }
  case TS_OP_SOFTPLUS: {
    ts_expr *bx = mul(a, x, cst(a, t, p->beta));
    ts_expr *sp_ = ts_binary(
        a, TS_E_DIV,
        call1(a, TS_INTRIN_LOG, t,
              add(a, cst(a, t, 1), call1(a, TS_INTRIN_EXP, t, bx))),
        cst(a, t, p->beta));
    return ts_select(a, ts_binary(a, TS_E_GT, bx, cst(a, t, p->threshold)), x,
                     sp_);
  }
  case TS_OP_MISH:
    return mul(a, x,
               call1(a, TS_INTRIN_TANH, t,
                     call1(a, TS_INTRIN_LOG1P, t,
                           call1(a, TS_INTRIN_EXP, t, x))));
  case TS_OP_HARD_SIGMOID:
    return clip_expr(a, add(a, mul(a, x, cst(a, t, p->alpha)),
                            cst(a, t, p->beta)), 0, 1);
  case TS_OP_HARD_SWISH:
    return ts_binary(a, TS_E_DIV,
                     mul(a, x, clip_expr(a, add(a, x, cst(a, t, 3)), 0, 6)),
                     cst(a, t, 6));
  case TS_OP_GELU_TANH: {
    /* 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))) */
    ts_expr *x3 = mul(a, mul(a, x, x), x);
    ts_expr *in = mul(a, cst(a, t, sqrt(2.0 / M_PI)),
                      add(a, x, mul(a, cst(a, t, 0.044715), x3)));
    return mul(a, mul(a, cst(a, t, 0.5), x),
               add(a, cst(a, t, 1), call1(a, TS_INTRIN_TANH, t, in)));
  }
  case TS_OP_ASTYPE:
    /* to bool: x != 0 (a C cast would truncate 0.5 to false) */
    if (ts_dtype_is_bool(c->out_dt) && !ts_dtype_is_bool(t))
      return ts_binary(a, TS_E_NE, x, cst(a, t, 0));
    return ts_dtype_eq(t, c->out_dt) ? x : ts_cast(a, c->out_dt, x);
  default: TS_UNREACHABLE();
  }
}

static ts_status *legalize_unary_a(struct te_builder *b, const ts_gexpr *call,
                                   ts_buffer *const *in, int n_in,
                                   const ts_sinfo *out, const char **out_name) {
  (void)out_name;
  TS_ASSERT(n_in >= 1);
  uctx *c = ts_arena_alloc(te_arena(b), sizeof *c);
  c->op = call->u.call.op;
  c->in = in[0];
  c->ndim = out->u.tensor.ndim;
  c->out_dt = out->u.tensor.dtype;
  TS_RETURN_IF_ERROR(read_params(call, &c->p));
  ts_buffer *res =
      te_output(b, "compute", out->u.tensor.shape, c->ndim, c->out_dt);
  te_compute(b, "compute", res, unary_body, c);
  return NULL;
}

#define UNARY_A(ID)                                                            \
  ts_status *ts_op_infer_##ID(ts_arena *a, const ts_gexpr *call,               \
                              ts_sinfo **out) {                                \
    return infer_unary_a(a, call, out);                                        \
  }                                                                            \
  ts_status *ts_op_eval_##ID(const ts_gexpr *call, ts_ndarray **args,          \
                             int n_args, ts_ndarray **out) {                   \
    return eval_unary_a(call, args, n_args, out);                              \
  }                                                                            \
  ts_status *ts_op_legalize_##ID(struct te_builder *b, const ts_gexpr *call,   \
                                 ts_buffer *const *in, int n_in,               \
                                 const ts_sinfo *out, const char **out_name) { \
    return legalize_unary_a(b, call, in, n_in, out, out_name);                 \
  }

UNARY_A(FLOOR)
UNARY_A(CEIL)
UNARY_A(ROUND)
UNARY_A(TRUNC)
UNARY_A(SIGN)
UNARY_A(SQUARE)
UNARY_A(SIN)
UNARY_A(COS)
UNARY_A(TAN)
UNARY_A(ASIN)
UNARY_A(ACOS)
UNARY_A(ATAN)
UNARY_A(SINH)
UNARY_A(COSH)
UNARY_A(ASINH)
UNARY_A(ACOSH)
UNARY_A(ATANH)
UNARY_A(LOGICAL_NOT)
UNARY_A(BITWISE_NOT)
UNARY_A(ISNAN)
UNARY_A(ISINF)
UNARY_A(ISFINITE)
UNARY_A(CLIP)
UNARY_A(RELU6)
UNARY_A(LEAKY_RELU)
UNARY_A(ELU)
UNARY_A(SELU)
UNARY_A(SOFTPLUS)
UNARY_A(MISH)
UNARY_A(HARD_SIGMOID)
UNARY_A(HARD_SWISH)
UNARY_A(GELU_TANH)
UNARY_A(ASTYPE)
