/* test_ops.c: the op registry: lookup, struct-info inference (static and
 * symbolic shapes, error messages) and reference evaluation of every op in
 * ops.def against values computed here. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "ops/ops_internal.h"

static ts_module *M;
static ts_arena *A;
static const ts_loc NOLOC = {NULL, 0, 0};

static void setup(void) {
  M = ts_module_create();
  A = ts_module_arena(M);
}
static void teardown(void) { ts_module_destroy(M); }

static ts_expr *I64(int64_t v) { return ts_int(A, TS_I64, v); }

/* Tensor struct info from dims: a positive int is a constant, a negative
 * one -k picks symbolic variable sym[k-1]. */
static ts_var *sym[3];
static ts_sinfo *tsi(ts_dtype t, int n, ...) {
  ts_expr *sh[8];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) {
    int d = va_arg(ap, int);
    sh[i] = d >= 0 ? I64(d) : ts_varref(A, sym[-d - 1]);
  }
  va_end(ap);
  return ts_sinfo_tensor(A, sh, n, t);
}

static ts_gexpr *arg(ts_sinfo *s) {
  ts_gvar *v = ts_arena_alloc(A, sizeof(*v));
  v->name = "v";
  v->sinfo = s;
  ts_gexpr *e = ts_gexpr_new(A, TS_G_VAR, NOLOC);
  e->u.var = v;
  e->sinfo = s;
  return e;
}

static ts_gexpr *call(const char *op, int n, ...) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_CALL, NOLOC);
  int id = -1;
  TS_ASSERT(ts_op_lookup(op, &id));
  e->u.call.callee_kind = TS_CALLEE_OP;
  e->u.call.op = id;
  e->u.call.n_args = n;
  e->u.call.args = ts_arena_array(A, (size_t)(n ? n : 1), sizeof(ts_gexpr *));
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    e->u.call.args[i] = va_arg(ap, ts_gexpr *);
  va_end(ap);
  e->u.call.attrs = ts_attrs_new(A);
  return e;
}

static void set_attr(ts_gexpr *c, const char *k, ts_attr_value *v) {
  ts_attrs_set(A, c->u.call.attrs, k, v);
}

static ts_attr_value *int_list(int n, ...) {
  ts_attr_value *v = ts_arena_alloc(A, sizeof(*v));
  v->kind = TS_ATTR_LIST;
  v->u.list.n = n;
  v->u.list.items = ts_arena_array(A, (size_t)n, sizeof(ts_attr_value *));
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++)
    v->u.list.items[i] = ts_attr_int(A, va_arg(ap, int));
  va_end(ap);
  return v;
}

/* Infers and returns the printed struct info (static buffer), or the error
 * message. */
static char infer_buf[512];
static const char *infer(ts_gexpr *c) {
  ts_sinfo *out = NULL;
  ts_status *st = ts_op_get(c->u.call.op)->infer(A, c, &out);
  if (st) {
    snprintf(infer_buf, sizeof infer_buf, "error: %s", ts_status_message(st));
    ts_status_free(st);
    return infer_buf;
  }
  ts_strbuf b = {0};
  ts_ops_print_sinfo(&b, out);
  snprintf(infer_buf, sizeof infer_buf, "%s", b.data);
  ts_strbuf_free(&b);
  return infer_buf;
}

static ts_ndarray *arr_vals(ts_dtype t, int ndim, const int64_t *shape,
                            const double *vals) {
  ts_ndarray *a;
  TS_ASSERT(!ts_ndarray_create(ndim, shape, t, &a));
  for (int64_t i = 0; i < ts_ndarray_numel(a); i++)
    ts_ndarray_set_f64(a, i, vals ? vals[i] : (double)(i % 7) - 2.5);
  return a;
}

static ts_status *eval(ts_gexpr *c, int n, ts_ndarray **args,
                       ts_ndarray **out) {
  *out = NULL;
  return ts_op_get(c->u.call.op)->eval(c, args, n, out);
}

/* ---- registry ------------------------------------------------------------ */

TEST(lookup) {
  int id = -1;
  CHECK(ts_op_lookup("nn.relu", &id));
  CHECK_EQ_INT(id, TS_OP_RELU);
  CHECK(ts_op_lookup("R.add", &id));
  CHECK_EQ_INT(id, TS_OP_ADD);
  CHECK(!ts_op_lookup("nn.nothing", &id));
  CHECK_STREQ(ts_op_get(TS_OP_MATMUL)->name, "matmul");
  CHECK_EQ_INT(ts_op_get(TS_OP_SUM)->pattern, TS_PAT_REDUCTION);
  CHECK(ts_op_get(TS_OP_CALL_TIR)->eval == NULL);
  for (int i = 0; i < TS_OP_COUNT; i++) {
    CHECK(ts_op_get(i)->infer != NULL);
    if (i != TS_OP_CALL_TIR && i != TS_OP_CALL_DPS_PACKED)
      CHECK(ts_op_get(i)->eval != NULL);
  }
}

/* ---- inference ----------------------------------------------------------- */

TEST(infer_elementwise) {
  setup();
  sym[0] = ts_var_new(A, "n", TS_I64, NOLOC);
  sym[1] = ts_var_new(A, "m", TS_I64, NOLOC);
  CHECK_STREQ(infer(call("nn.relu", 1, arg(tsi(TS_F32, 2, -1, 4)))),
              "R.Tensor((n, 4), \"float32\")");
  CHECK_STREQ(
      infer(call("add", 2, arg(tsi(TS_F32, 2, -1, 3)), arg(tsi(TS_F32, 1, 3)))),
      "R.Tensor((n, 3), \"float32\")");
  CHECK_STREQ(infer(call("multiply", 2, arg(tsi(TS_F32, 3, 2, 1, 4)),
                         arg(tsi(TS_F32, 2, 3, 1)))),
              "R.Tensor((2, 3, 4), \"float32\")");
  CHECK_STREQ(
      infer(call("add", 2, arg(tsi(TS_F32, 2, 2, 3)), arg(tsi(TS_F32, 1, 4)))),
      "error: R.add: operands have incompatible shapes (2, 3) and (4,)");
  CHECK_STREQ(infer(call("subtract", 2, arg(tsi(TS_F32, 1, -1)),
                         arg(tsi(TS_F32, 1, -2)))),
              "error: R.subtract: operands have incompatible shapes (n,) and "
              "(m,)");
  CHECK_STREQ(
      infer(call("add", 2, arg(tsi(TS_F32, 1, 3)), arg(tsi(TS_F64, 1, 3)))),
      "error: R.add: operand dtypes differ: float32 and float64");
  /* a non-tensor operand */
  ts_gexpr *s = ts_gexpr_new(A, TS_G_SHAPE, NOLOC);
  s->sinfo = ts_sinfo_new(A, TS_SI_SHAPE);
  s->sinfo->u.shape.ndim = 1;
  s->sinfo->u.shape.values = ts_arena_alloc(A, sizeof(ts_expr *));
  s->sinfo->u.shape.values[0] = I64(3);
  CHECK_STREQ(infer(call("exp", 1, s)),
              "error: R.exp: operand data must be a tensor, got R.Shape([3])");
  CHECK_STREQ(infer(call("exp", 0)), "error: R.exp expects 1 argument, got 0");
  /* unknown shape stays unknown */
  ts_sinfo *u = ts_sinfo_new(A, TS_SI_TENSOR);
  u->u.tensor.ndim = 2;
  u->u.tensor.dtype = TS_F32;
  CHECK_STREQ(infer(call("add", 2, arg(u), arg(tsi(TS_F32, 1, 3)))),
              "R.Tensor(dtype=\"float32\", ndim=2)");
  teardown();
}

TEST(infer_matmul) {
  setup();
  sym[0] = ts_var_new(A, "n", TS_I64, NOLOC);
  CHECK_STREQ(infer(call("matmul", 2, arg(tsi(TS_F32, 2, -1, 784)),
                         arg(tsi(TS_F32, 2, 784, 128)))),
              "R.Tensor((n, 128), \"float32\")");
  CHECK_STREQ(infer(call("matmul", 2, arg(tsi(TS_F32, 2, 1, 784)),
                         arg(tsi(TS_F32, 2, 128, 784)))),
              "error: R.matmul: inner dimensions do not match: x1 is "
              "R.Tensor((1, 784), \"float32\"), x2 is R.Tensor((128, 784), "
              "\"float32\")");
  CHECK_STREQ(infer(call("matmul", 2, arg(tsi(TS_F32, 1, 3)),
                         arg(tsi(TS_F32, 2, 3, 5)))),
              "R.Tensor((5,), \"float32\")");
  CHECK_STREQ(
      infer(call("matmul", 2, arg(tsi(TS_F32, 1, 3)), arg(tsi(TS_F32, 1, 3)))),
      "R.Tensor((), \"float32\")");
  CHECK_STREQ(infer(call("matmul", 2, arg(tsi(TS_F32, 4, 2, 1, 4, 3)),
                         arg(tsi(TS_F32, 3, 5, 3, 6)))),
              "R.Tensor((2, 5, 4, 6), \"float32\")");
  ts_gexpr *c =
      call("matmul", 2, arg(tsi(TS_F16, 2, 2, 3)), arg(tsi(TS_F16, 2, 3, 4)));
  ts_attr_value *dt = ts_arena_alloc(A, sizeof(*dt));
  dt->kind = TS_ATTR_DTYPE;
  dt->u.dtype = TS_F32;
  set_attr(c, "out_dtype", dt);
  CHECK_STREQ(infer(c), "R.Tensor((2, 4), \"float32\")");
  teardown();
}

TEST(infer_reduce_layout) {
  setup();
  sym[0] = ts_var_new(A, "n", TS_I64, NOLOC);
  ts_gexpr *c = call("sum", 1, arg(tsi(TS_F32, 3, -1, 4, 5)));
  set_attr(c, "axis", int_list(2, 1, -1));
  CHECK_STREQ(infer(c), "R.Tensor((n,), \"float32\")");
  set_attr(c, "keepdims", ts_attr_bool(A, true));
  CHECK_STREQ(infer(c), "R.Tensor((n, 1, 1), \"float32\")");
  c = call("mean", 1, arg(tsi(TS_F32, 2, 2, 3)));
  CHECK_STREQ(infer(c), "R.Tensor((), \"float32\")");
  c = call("max", 1, arg(tsi(TS_F32, 2, 2, 3)));
  set_attr(c, "axis", ts_attr_int(A, 2));
  CHECK_STREQ(infer(c),
              "error: R.max: axis 2 is out of range for a tensor of rank 2");
  c = call("nn.softmax", 1, arg(tsi(TS_F32, 2, -1, 10)));
  CHECK_STREQ(infer(c), "R.Tensor((n, 10), \"float32\")");
  set_attr(c, "axis", ts_attr_int(A, -3));
  CHECK_STREQ(infer(c), "error: R.nn.softmax: axis -3 is out of range for a "
                        "tensor of rank 2");

  ts_gexpr *shp = ts_gexpr_new(A, TS_G_SHAPE, NOLOC);
  shp->u.shape.n = 2;
  shp->u.shape.values = ts_arena_array(A, 2, sizeof(ts_expr *));
  shp->u.shape.values[0] = I64(-1);
  shp->u.shape.values[1] = I64(4);
  CHECK_STREQ(infer(call("reshape", 2, arg(tsi(TS_F32, 3, 2, 3, 4)), shp)),
              "R.Tensor((6, 4), \"float32\")");
  shp->u.shape.values[1] = I64(5);
  CHECK_STREQ(infer(call("reshape", 2, arg(tsi(TS_F32, 3, 2, 3, 4)), shp)),
              "error: R.reshape: cannot reshape R.Tensor((2, 3, 4), "
              "\"float32\") to (-1, 5)");
  c = call("permute_dims", 1, arg(tsi(TS_F32, 3, -1, 3, 4)));
  CHECK_STREQ(infer(c), "R.Tensor((4, 3, n), \"float32\")");
  set_attr(c, "axes", int_list(3, 0, 2, 1));
  CHECK_STREQ(infer(c), "R.Tensor((n, 4, 3), \"float32\")");
  set_attr(c, "axes", int_list(3, 0, 2, 2));
  CHECK_STREQ(infer(c), "error: R.permute_dims: axis 2 appears twice");
  CHECK_STREQ(infer(call("flatten", 1, arg(tsi(TS_F32, 3, 2, -1, 4)))),
              "R.Tensor((n * 8,), \"float32\")");
  CHECK_STREQ(infer(call("flatten", 1, arg(tsi(TS_F32, 2, 2, 4)))),
              "R.Tensor((8,), \"float32\")");
  teardown();
}

TEST(infer_call_tir) {
  setup();
  ts_gexpr *g = ts_gexpr_new(A, TS_G_GLOBAL, NOLOC);
  g->u.global_name = "f";
  ts_gexpr *c = call("call_tir", 2, g, arg(tsi(TS_F32, 1, 3)));
  c->u.call.n_sinfo_args = 2;
  c->u.call.sinfo_args = ts_arena_array(A, 2, sizeof(ts_sinfo *));
  c->u.call.sinfo_args[0] = tsi(TS_F32, 1, 3);
  c->u.call.sinfo_args[1] = tsi(TS_I32, 2, 1, 2);
  CHECK_STREQ(infer(c), "R.Tuple(R.Tensor((3,), \"float32\"), R.Tensor((1, "
                        "2), \"int32\"))");
  c->u.call.n_sinfo_args = 1;
  CHECK_STREQ(infer(c), "R.Tensor((3,), \"float32\")");
  teardown();
}

/* ---- evaluation -------------------------------------------------------------
 */

static double r_relu(double x) { return x > 0 ? x : 0; }
static double r_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double r_rsqrt(double x) { return 1 / sqrt(x); }
static double r_neg(double x) { return -x; }
static double r_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2))); }
static double r_silu(double x) { return x * r_sigmoid(x); }

TEST(eval_unary) {
  setup();
  struct {
    const char *op;
    double (*f)(double);
    bool positive;
  } cases[] = {
      {"nn.relu", r_relu, false}, {"sigmoid", r_sigmoid, false},
      {"tanh", tanh, false},      {"exp", exp, false},
      {"log", log, true},         {"sqrt", sqrt, true},
      {"rsqrt", r_rsqrt, true},   {"negative", r_neg, false},
      {"abs", fabs, false},       {"erf", erf, false},
      {"nn.gelu", r_gelu, false}, {"nn.silu", r_silu, false},
  };
  double in[6] = {-1.5, -0.5, 0.25, 2.0, 3.5, -0.0};
  double pos[6] = {0.1, 0.5, 1.0, 2.0, 3.5, 100.0};
  int64_t shape[2] = {2, 3};
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    const double *vals = cases[k].positive ? pos : in;
    ts_ndarray *x = arr_vals(TS_F32, 2, shape, vals), *o;
    ts_gexpr *c = call(cases[k].op, 1, arg(tsi(TS_F32, 2, 2, 3)));
    CHECK_OK(eval(c, 1, &x, &o));
    REQUIRE(o != NULL);
    CHECK_EQ_INT(ts_ndarray_ndim(o), 2);
    CHECK(ts_dtype_eq(ts_ndarray_dtype(o), TS_F32));
    for (int i = 0; i < 6; i++) {
      double want = (float)cases[k].f((float)vals[i]);
      if (fabs(ts_ndarray_get_f64(o, i) - want) > 1e-6 * fmax(1, fabs(want)))
        CHECK_FAIL_("%s(%g) = %.9g, expected %.9g", cases[k].op, vals[i],
                    ts_ndarray_get_f64(o, i), want);
    }
    ts_ndarray_release(x);
    ts_ndarray_release(o);
  }
  teardown();
}

static double r_add(double a, double b) { return a + b; }
static double r_sub(double a, double b) { return a - b; }
static double r_mul(double a, double b) { return a * b; }
static double r_div(double a, double b) { return a / b; }
static double r_max(double a, double b) { return a > b ? a : b; }
static double r_min(double a, double b) { return a < b ? a : b; }

TEST(eval_binary_broadcast) {
  setup();
  struct {
    const char *op;
    double (*f)(double, double);
  } cases[] = {{"add", r_add},    {"subtract", r_sub}, {"multiply", r_mul},
               {"divide", r_div}, {"maximum", r_max},  {"minimum", r_min},
               {"power", pow}};
  double av[6] = {0.5, 1.5, 2.0, 3.0, 0.25, 4.0}, bv[3] = {2.0, 0.5, 3.0};
  int64_t sa[2] = {2, 3}, sb[1] = {3};
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    ts_ndarray *args[2] = {arr_vals(TS_F32, 2, sa, av),
                           arr_vals(TS_F32, 1, sb, bv)};
    ts_ndarray *o;
    ts_gexpr *c =
        call(cases[k].op, 2, arg(tsi(TS_F32, 2, 2, 3)), arg(tsi(TS_F32, 1, 3)));
    CHECK_OK(eval(c, 2, args, &o));
    REQUIRE(o != NULL);
    CHECK_EQ_INT(ts_ndarray_shape(o)[0], 2);
    CHECK_EQ_INT(ts_ndarray_shape(o)[1], 3);
    for (int i = 0; i < 6; i++)
      CHECK_NEAR(ts_ndarray_get_f64(o, i), (float)cases[k].f(av[i], bv[i % 3]),
                 1e-6);
    ts_ndarray_release(args[0]);
    ts_ndarray_release(args[1]);
    ts_ndarray_release(o);
  }
  /* (2, 1) + (3,) -> (2, 3); int32 */
  int64_t s21[2] = {2, 1};
  double c21[2] = {10, 20}, c3[3] = {1, 2, 3};
  ts_ndarray *args[2] = {arr_vals(TS_I32, 2, s21, c21),
                         arr_vals(TS_I32, 1, sb, c3)};
  ts_ndarray *o;
  CHECK_OK(
      eval(call("add", 2, arg(tsi(TS_I32, 2, 2, 1)), arg(tsi(TS_I32, 1, 3))), 2,
           args, &o));
  int want[6] = {11, 12, 13, 21, 22, 23};
  for (int i = 0; i < 6; i++)
    CHECK_EQ_INT(ts_ndarray_get_i64(o, i), want[i]);
  ts_ndarray_release(o);
  /* integer division truncates; by zero is an error */
  CHECK_OK(
      eval(call("divide", 2, arg(tsi(TS_I32, 2, 2, 1)), arg(tsi(TS_I32, 1, 3))),
           2, args, &o));
  CHECK_EQ_INT(ts_ndarray_get_i64(o, 2), 3);
  ts_ndarray_release(o);
  ts_ndarray_set_i64(args[1], 1, 0);
  CHECK_ERR(
      eval(call("divide", 2, arg(tsi(TS_I32, 2, 2, 1)), arg(tsi(TS_I32, 1, 3))),
           2, args, &o),
      TS_ERR_RUNTIME, "R.divide: integer division by zero");
  ts_ndarray_release(args[0]);
  ts_ndarray_release(args[1]);
  /* incompatible at run time */
  int64_t s4[1] = {4};
  ts_ndarray *bad[2] = {arr_vals(TS_F32, 2, sa, NULL),
                        arr_vals(TS_F32, 1, s4, NULL)};
  CHECK_ERR(
      eval(call("add", 2, arg(tsi(TS_F32, 2, 2, 3)), arg(tsi(TS_F32, 1, 4))), 2,
           bad, &o),
      TS_ERR_TYPE, "R.add: operands have incompatible shapes");
  ts_ndarray_release(bad[0]);
  ts_ndarray_release(bad[1]);
  teardown();
}

TEST(eval_matmul) {
  setup();
  /* (2, 3) x (3, 2) */
  double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
  int64_t sa[2] = {2, 3}, sb[2] = {3, 2};
  ts_ndarray *args[2] = {arr_vals(TS_F32, 2, sa, a),
                         arr_vals(TS_F32, 2, sb, b)};
  ts_ndarray *o;
  ts_gexpr *c =
      call("matmul", 2, arg(tsi(TS_F32, 2, 2, 3)), arg(tsi(TS_F32, 2, 3, 2)));
  CHECK_OK(eval(c, 2, args, &o));
  double want[4] = {58, 64, 139, 154};
  for (int i = 0; i < 4; i++)
    CHECK(ts_ndarray_get_f64(o, i) == want[i]);
  ts_ndarray_release(o);
  ts_ndarray_release(args[0]);
  /* 1-D x 2-D: (3,) x (3, 2) -> (2,) */
  int64_t s3[1] = {3};
  args[0] = arr_vals(TS_F32, 1, s3, a);
  CHECK_OK(eval(c, 2, args, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 1);
  CHECK(ts_ndarray_get_f64(o, 0) == 58 && ts_ndarray_get_f64(o, 1) == 64);
  ts_ndarray_release(o);
  ts_ndarray_release(args[0]);
  ts_ndarray_release(args[1]);
  /* batched: (2, 1, 3) x (3, 2) -> (2, 1, 2) */
  int64_t sba[3] = {2, 1, 3};
  args[0] = arr_vals(TS_F32, 3, sba, a);
  args[1] = arr_vals(TS_F32, 2, sb, b);
  CHECK_OK(eval(c, 2, args, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 3);
  for (int i = 0; i < 4; i++)
    CHECK(ts_ndarray_get_f64(o, i) == want[i]);
  ts_ndarray_release(o);
  ts_ndarray_release(args[0]);
  ts_ndarray_release(args[1]);
  /* inner mismatch */
  args[0] = arr_vals(TS_F32, 2, sa, a);
  args[1] = arr_vals(TS_F32, 2, sa, a);
  CHECK_ERR(eval(c, 2, args, &o), TS_ERR_TYPE,
            "R.matmul: inner dimensions do not match: x1 is (2, 3) float32, "
            "x2 is (2, 3) float32");
  ts_ndarray_release(args[0]);
  ts_ndarray_release(args[1]);
  teardown();
}

TEST(eval_reductions) {
  setup();
  double v[6] = {1, -2, 3, 4, 5, -6};
  int64_t s[2] = {2, 3};
  ts_ndarray *x = arr_vals(TS_F32, 2, s, v), *o;
  ts_gexpr *c = call("sum", 1, arg(tsi(TS_F32, 2, 2, 3)));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 0);
  CHECK(ts_ndarray_get_f64(o, 0) == 5);
  ts_ndarray_release(o);
  set_attr(c, "axis", ts_attr_int(A, 0));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], 3);
  CHECK(ts_ndarray_get_f64(o, 0) == 5 && ts_ndarray_get_f64(o, 1) == 3 &&
        ts_ndarray_get_f64(o, 2) == -3);
  ts_ndarray_release(o);
  c = call("mean", 1, arg(tsi(TS_F32, 2, 2, 3)));
  set_attr(c, "axis", int_list(1, -1));
  set_attr(c, "keepdims", ts_attr_bool(A, true));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 2);
  CHECK_EQ_INT(ts_ndarray_shape(o)[1], 1);
  CHECK_NEAR(ts_ndarray_get_f64(o, 0), 2.0 / 3, 1e-6);
  CHECK_NEAR(ts_ndarray_get_f64(o, 1), 1.0, 1e-6);
  ts_ndarray_release(o);
  c = call("max", 1, arg(tsi(TS_F32, 2, 2, 3)));
  set_attr(c, "axis", ts_attr_int(A, 1));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK(ts_ndarray_get_f64(o, 0) == 3 && ts_ndarray_get_f64(o, 1) == 5);
  ts_ndarray_release(o);
  c = call("nn.softmax", 1, arg(tsi(TS_F32, 2, 2, 3)));
  CHECK_OK(eval(c, 1, &x, &o));
  for (int r = 0; r < 2; r++) {
    double m = -INFINITY, sum = 0;
    for (int j = 0; j < 3; j++)
      m = fmax(m, v[r * 3 + j]);
    for (int j = 0; j < 3; j++)
      sum += exp(v[r * 3 + j] - m);
    for (int j = 0; j < 3; j++)
      CHECK_NEAR(ts_ndarray_get_f64(o, r * 3 + j), exp(v[r * 3 + j] - m) / sum,
                 1e-7);
  }
  ts_ndarray_release(o);
  set_attr(c, "axis", ts_attr_int(A, 0));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_NEAR(ts_ndarray_get_f64(o, 0), 1 / (1 + exp(3.0)), 1e-7);
  ts_ndarray_release(o);
  ts_ndarray_release(x);
  teardown();
}

TEST(eval_layout) {
  setup();
  int64_t s[3] = {2, 3, 4};
  ts_ndarray *x = arr_vals(TS_F32, 3, s, NULL), *o;
  /* reshape to (-1, 6) via a shape argument array */
  int64_t two = 2;
  double tv[2] = {-1, 6};
  ts_ndarray *shp = arr_vals(TS_I64, 1, &two, tv);
  ts_ndarray *args[2] = {x, shp};
  ts_gexpr *sh = ts_gexpr_new(A, TS_G_SHAPE, NOLOC);
  ts_gexpr *c = call("reshape", 2, arg(tsi(TS_F32, 3, 2, 3, 4)), sh);
  CHECK_OK(eval(c, 2, args, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 2);
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], 4);
  for (int i = 0; i < 24; i++)
    CHECK(ts_ndarray_get_f64(o, i) == ts_ndarray_get_f64(x, i));
  ts_ndarray_release(o);
  ts_ndarray_set_i64(shp, 1, 5);
  CHECK_ERR(eval(c, 2, args, &o), TS_ERR_VALUE, "R.reshape: cannot reshape");
  ts_ndarray_release(shp);
  /* permute_dims (2, 0, 1): out[c, a, b] = x[a, b, c] */
  c = call("permute_dims", 1, arg(tsi(TS_F32, 3, 2, 3, 4)));
  set_attr(c, "axes", int_list(3, 2, 0, 1));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], 4);
  CHECK_EQ_INT(ts_ndarray_shape(o)[1], 2);
  CHECK_EQ_INT(ts_ndarray_shape(o)[2], 3);
  for (int a = 0; a < 2; a++)
    for (int b = 0; b < 3; b++)
      for (int k = 0; k < 4; k++)
        CHECK(ts_ndarray_get_f64(o, (k * 2 + a) * 3 + b) ==
              ts_ndarray_get_f64(x, (a * 3 + b) * 4 + k));
  ts_ndarray_release(o);
  /* default axes reverse */
  c = call("permute_dims", 1, arg(tsi(TS_F32, 3, 2, 3, 4)));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], 4);
  CHECK_EQ_INT(ts_ndarray_shape(o)[2], 2);
  CHECK(ts_ndarray_get_f64(o, 1) == ts_ndarray_get_f64(x, 12));
  ts_ndarray_release(o);
  c = call("flatten", 1, arg(tsi(TS_F32, 3, 2, 3, 4)));
  CHECK_OK(eval(c, 1, &x, &o));
  CHECK_EQ_INT(ts_ndarray_ndim(o), 1);
  CHECK_EQ_INT(ts_ndarray_shape(o)[0], 24);
  ts_ndarray_release(o);
  ts_ndarray_release(x);
  teardown();
}

int main(void) {
  RUN(lookup);
  RUN(infer_elementwise);
  RUN(infer_matmul);
  RUN(infer_reduce_layout);
  RUN(infer_call_tir);
  RUN(eval_unary);
  RUN(eval_binary_broadcast);
  RUN(eval_matmul);
  RUN(eval_reductions);
  RUN(eval_layout);
  return CHECK_DONE();
}
