/* test_ops_a.c: the section-A operators (unary.c, binary.c, reduce2.c,
 * norm.c): struct-info inference (static and symbolic shapes, broadcasting,
 * negative axes, dtype rules, exact error messages), reference evaluation on
 * hand-picked inputs with values computed here (edge cases: round half to
 * even, floor_mod signs, argmax ties, NaN, integer division by zero), and
 * legalization: every op's graph function is run by the interpreter before
 * and after the legalize pass on random inputs (symbolic dimensions at two
 * sizes) and must agree.  NumPy checks of the same ops on the corpus files
 * live in tests/ops/check_ops_a.py; compiled code is checked by
 * unit.test_differential on tests/script/ops_a_*.tvmscript. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>

#include "check.h"
#include "golden_util.h"
#include "ops/ops_internal.h"
#include "tessera/transform.h"

/* ---- helpers ----------------------------------------------------------------- */

/* A module with one graph function main(params) -> body (a single binding
 * "gv = <expr>" unless body holds several lines). */
static char *module_text(const char *params, const char *body) {
  return ts_strdup_printf("@I.ir_module\n"
                          "class Module:\n"
                          "    @R.function\n"
                          "    def main(%s):\n"
                          "        gv = %s\n"
                          "        return gv\n",
                          params, body);
}

static ts_module *parse(const char *params, const char *body) {
  char *src = module_text(params, body);
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(src, strlen(src), "t.py", &m);
  if (st) {
    fprintf(stderr, "parse failed:\n%s\n%s\n", src, ts_status_render(st));
    ts_status_free(st);
  }
  free(src);
  return m;
}

/* The struct info of gv, printed ("R.Tensor((n, 4), \"bool\")"). */
#define CHECK_SINFO(params, body, want)                                        \
  do {                                                                         \
    ts_module *m_ = parse(params, body);                                       \
    CHECK(m_ != NULL);                                                         \
    if (m_) {                                                                  \
      ts_gfunc *g_ = ts_module_gfunc(m_, "main");                              \
      ts_strbuf b_ = {0};                                                      \
      ts_ops_print_sinfo(&b_, ts_ops_arg_sinfo(g_->result));                   \
      if (strcmp(b_.data, want) != 0)                                          \
        CHECK_FAIL_("%s: struct info %s, expected %s", body, b_.data, want);   \
      ts_strbuf_free(&b_);                                                     \
      ts_module_destroy(m_);                                                   \
    }                                                                          \
  } while (0)

/* Parsing must fail with a message containing `want`. */
#define CHECK_PARSE_ERR(params, body, want)                                    \
  do {                                                                         \
    char *src_ = module_text(params, body);                                    \
    ts_module *m_ = NULL;                                                      \
    ts_status *st_ = ts_script_parse(src_, strlen(src_), "t.py", &m_);         \
    if (!st_) {                                                                \
      CHECK_FAIL_("%s: expected error '%s'", body, want);                      \
      ts_module_destroy(m_);                                                   \
    } else {                                                                   \
      if (!strstr(ts_status_message(st_), want))                               \
        CHECK_FAIL_("%s: error '%s', expected '%s'", body,                     \
                    ts_status_message(st_), want);                             \
      ts_status_free(st_);                                                     \
    }                                                                          \
    free(src_);                                                                \
  } while (0)

/* Interpreter before vs after legalize on random inputs (symbolic dims 3
 * and 5): largest relative difference must be tiny. */
static void check_legalize(const char *params, const char *body) {
  ts_module *a = parse(params, body), *b = parse(params, body);
  if (!a || !b) {
    CHECK_FAIL_("%s: does not parse", body);
    if (a) ts_module_destroy(a);
    if (b) ts_module_destroy(b);
    return;
  }
  ts_status *st = ts_pipeline_run(b, "legalize", true, NULL, NULL);
  if (st) {
    CHECK_FAIL_("%s: legalize: %s", body, ts_status_render(st));
    ts_status_free(st);
  } else {
    for (int64_t sym = 3; sym <= 5; sym += 2)
      for (uint64_t seed = 1; seed <= 2; seed++) {
        double d = golden_compare_gfunc(a, b, "main", seed, sym);
        if (d < 0 || d > 1e-5)
          CHECK_FAIL_("%s: legalized differs by %g (sym %lld)", body, d,
                      (long long)sym);
      }
  }
  ts_module_destroy(a);
  ts_module_destroy(b);
}

/* Runs main on the given inputs; returns the single output (caller
 * releases) or NULL (error printed unless want_err, which must then be in
 * the message). */
static ts_ndarray *run(const char *params, const char *body, ts_ndarray **in,
                       int n, const char *want_err) {
  ts_module *m = parse(params, body);
  if (!m) return NULL;
  ts_value *v = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  for (int i = 0; i < n; i++) v[i] = (ts_value){TS_VAL_TENSOR, {.tensor = in[i]}};
  ts_value *out = NULL;
  int n_out = 0;
  ts_status *st = ts_interp_gfunc(m, ts_module_gfunc(m, "main"), v, n, &out, &n_out);
  ts_ndarray *r = NULL;
  if (st) {
    if (!want_err) CHECK_FAIL_("%s: %s", body, ts_status_render(st));
    else if (!strstr(ts_status_message(st), want_err))
      CHECK_FAIL_("%s: error '%s', expected '%s'", body, ts_status_message(st),
                  want_err);
    ts_status_free(st);
  } else {
    if (want_err) CHECK_FAIL_("%s: expected error '%s'", body, want_err);
    r = ts_ndarray_retain(out[0].u.tensor);
    ts_interp_free_values(out, n_out);
  }
  free(v);
  ts_module_destroy(m);
  return r;
}

static ts_ndarray *arr(ts_dtype t, int ndim, const int64_t *shape,
                       const double *vals) {
  ts_ndarray *a = NULL;
  ts_status *st = ts_ndarray_create(ndim, shape, t, &a);
  TS_ASSERT(!st);
  for (int64_t i = 0; i < ts_ndarray_numel(a); i++) ts_ndarray_set_f64(a, i, vals[i]);
  return a;
}

static void check_values(const char *what, ts_ndarray *got, ts_dtype t, int n,
                         const double *want) {
  if (!got) {
    CHECK_FAIL_("%s: no result", what);
    return;
  }
  char b1[32], b2[32];
  if (!ts_dtype_eq(ts_ndarray_dtype(got), t))
    CHECK_FAIL_("%s: dtype %s, expected %s", what,
                ts_dtype_str(ts_ndarray_dtype(got), b1), ts_dtype_str(t, b2));
  if (ts_ndarray_numel(got) != n) {
    CHECK_FAIL_("%s: %lld elements, expected %d", what,
                (long long)ts_ndarray_numel(got), n);
  } else {
    for (int i = 0; i < n; i++) {
      double g = ts_ndarray_get_f64(got, i);
      bool ok = isnan(want[i]) ? isnan(g) : fabs(g - want[i]) <= 1e-6 * fmax(1, fabs(want[i]));
      if (!ok) CHECK_FAIL_("%s: element %d is %.9g, expected %.9g", what, i, g, want[i]);
    }
  }
  ts_ndarray_release(got);
}

/* ---- inference ----------------------------------------------------------------- */

#define P_X "x: R.Tensor((\"n\", 4), \"float32\")"

TEST(infer_unary) {
  CHECK_SINFO(P_X, "R.floor(x)", "R.Tensor((n, 4), \"float32\")");
  CHECK_SINFO(P_X, "R.nn.leaky_relu(x, alpha=0.2)", "R.Tensor((n, 4), \"float32\")");
  CHECK_SINFO(P_X, "R.isnan(x)", "R.Tensor((n, 4), \"bool\")");
  CHECK_SINFO(P_X, "R.astype(x, dtype=\"float16\")", "R.Tensor((n, 4), \"float16\")");
  CHECK_SINFO("x: R.Tensor(\"float32\", ndim=3)", "R.sin(x)",
              "R.Tensor(dtype=\"float32\", ndim=3)");
  CHECK_SINFO("x: R.Tensor((2,), \"int32\")", "R.bitwise_not(x)",
              "R.Tensor((2,), \"int32\")");
  CHECK_SINFO("x: R.Tensor((2,), \"int32\")",
              "R.clip(x, R.prim_value(0), R.prim_value(6))",
              "R.Tensor((2,), \"int32\")");
  CHECK_PARSE_ERR("x: R.Tensor((2,), \"int32\")", "R.sin(x)",
                  "R.sin: requires a float tensor, got int32");
  CHECK_PARSE_ERR(P_X, "R.logical_not(x)",
                  "R.logical_not: requires a bool tensor, got float32");
  CHECK_PARSE_ERR(P_X, "R.bitwise_not(x)",
                  "R.bitwise_not: requires an integer tensor, got float32");
  CHECK_PARSE_ERR(P_X, "R.astype(x, dtype=\"float7\")",
                  "R.astype: unknown dtype \"float7\"");
  CHECK_PARSE_ERR(P_X, "R.astype(x)", "R.astype: missing attribute dtype");
  CHECK_PARSE_ERR(P_X, "R.nn.leaky_relu(x, alpha=\"a\")",
                  "R.nn.leaky_relu: attribute alpha must be a number");
  CHECK_PARSE_ERR(P_X, "R.clip(x, x)",
                  "R.clip: operand min must be a constant prim value");
  CHECK_PARSE_ERR(P_X, "R.clip(x, R.prim_value(0), max=1.0, min=0.0)",
                  "R.clip: min is given both as an operand and an attribute");
}

#define P_XY "x: R.Tensor((\"n\", 1, 4), \"float32\"), y: R.Tensor((3, 1), \"float32\")"

TEST(infer_binary) {
  CHECK_SINFO(P_XY, "R.floor_divide(x, y)", "R.Tensor((n, 3, 4), \"float32\")");
  CHECK_SINFO(P_XY, "R.less(x, y)", "R.Tensor((n, 3, 4), \"bool\")");
  CHECK_SINFO("x: R.Tensor((2, 3), \"bool\"), y: R.Tensor((3,), \"bool\")",
              "R.logical_xor(x, y)", "R.Tensor((2, 3), \"bool\")");
  CHECK_SINFO("x: R.Tensor((2, 3), \"int8\"), y: R.Tensor((3,), \"int8\")",
              "R.bitwise_or(x, y)", "R.Tensor((2, 3), \"int8\")");
  CHECK_SINFO("c: R.Tensor((\"n\", 1, 1), \"bool\"), x: R.Tensor((3, 1), \"float32\"), "
              "y: R.Tensor((5,), \"float32\")",
              "R.where(c, x, y)", "R.Tensor((n, 3, 5), \"float32\")");
  CHECK_SINFO("x: R.Tensor(\"float32\", ndim=2), y: R.Tensor((3,), \"float32\")",
              "R.equal(x, y)", "R.Tensor(dtype=\"bool\", ndim=2)");
  CHECK_PARSE_ERR("c: R.Tensor((3,), \"float32\"), x: R.Tensor((3,), \"float32\")",
                  "R.where(c, x, x)", "R.where: condition must be bool, got float32");
  CHECK_PARSE_ERR("c: R.Tensor((3,), \"bool\"), x: R.Tensor((3,), \"float32\"), "
                  "y: R.Tensor((3,), \"int32\")",
                  "R.where(c, x, y)", "R.where: operand dtypes differ: float32 and int32");
  CHECK_PARSE_ERR("c: R.Tensor((2,), \"bool\"), x: R.Tensor((3,), \"float32\")",
                  "R.where(c, x, x)",
                  "R.where: operands have incompatible shapes (2,) and (3,)");
  CHECK_PARSE_ERR(P_XY, "R.logical_and(x, y)",
                  "R.logical_and: requires bool operands, got float32");
  CHECK_PARSE_ERR(P_XY, "R.bitwise_and(x, y)",
                  "R.bitwise_and: requires integer operands, got float32");
  CHECK_PARSE_ERR("x: R.Tensor((2, 3), \"float32\"), y: R.Tensor((2,), \"float32\")",
                  "R.greater(x, y)",
                  "R.greater: operands have incompatible shapes (2, 3) and (2,)");
  CHECK_PARSE_ERR("x: R.Tensor((2,), \"float32\"), y: R.Tensor((2,), \"int32\")",
                  "R.floor_mod(x, y)", "R.floor_mod: operand dtypes differ: float32 and int32");
  CHECK_PARSE_ERR("x: R.Tensor((2,), \"float32\")", "R.equal(x, R.shape([2]))",
                  "R.equal: operand x2 must be a tensor, got R.Shape([2])");
}

#define P_R "x: R.Tensor((\"n\", 3, 4), \"float32\")"

TEST(infer_reduce) {
  CHECK_SINFO(P_R, "R.min(x, axis=[-1, 0])", "R.Tensor((3,), \"float32\")");
  CHECK_SINFO(P_R, "R.prod(x, axis=1, keepdims=True)", "R.Tensor((n, 1, 4), \"float32\")");
  CHECK_SINFO(P_R, "R.prod(x)", "R.Tensor((), \"float32\")");
  CHECK_SINFO(P_R, "R.argmax(x, axis=-2)", "R.Tensor((n, 4), \"int64\")");
  CHECK_SINFO(P_R, "R.argmin(x)", "R.Tensor((), \"int64\")");
  CHECK_SINFO(P_R, "R.argmin(x, keepdims=True)", "R.Tensor((1, 1, 1), \"int64\")");
  CHECK_SINFO("x: R.Tensor(\"float32\")", "R.argmax(x)", "R.Tensor(dtype=\"int64\", ndim=0)");
  CHECK_PARSE_ERR(P_R, "R.argmax(x, axis=3)",
                  "R.argmax: axis 3 is out of range for a tensor of rank 3");
  CHECK_PARSE_ERR(P_R, "R.argmax(x, axis=[0, 1])",
                  "R.argmax: axis must be an integer or None, got a list");
  CHECK_PARSE_ERR(P_R, "R.min(x, axis=[1, -2])", "R.min: axis 1 appears twice");
}

#define P_N "x: R.Tensor((\"n\", 6, 5), \"float32\"), g: R.Tensor((5,), \"float32\"), " \
            "b: R.Tensor((5,), \"float32\"), c: R.Tensor((6,), \"float32\")"

TEST(infer_norm) {
  CHECK_SINFO(P_N, "R.nn.log_softmax(x, axis=-2)", "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_SINFO(P_N, "R.nn.layer_norm(x, g, b, axes=[-1])", "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_SINFO(P_N, "R.nn.rms_norm(x, g)", "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_SINFO(P_N, "R.nn.group_norm(x, c, c, num_groups=3, channel_axis=1, axes=[2])",
              "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_SINFO(P_N, "R.nn.instance_norm(x, c, c)", "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_SINFO(P_N, "R.nn.batch_norm(x, c, c, c, c, axis=-2)",
              "R.Tensor((n, 6, 5), \"float32\")");
  CHECK_PARSE_ERR(P_N, "R.nn.layer_norm(x, c, b)",
                  "R.nn.layer_norm: gamma has shape (6,), expected (5,)");
  CHECK_PARSE_ERR(P_N, "R.nn.layer_norm(x, g, b, axes=[1, 2])",
                  "R.nn.layer_norm: gamma must have rank 2, got 1");
  CHECK_PARSE_ERR(P_N, "R.nn.group_norm(x, c, c, num_groups=4)",
                  "R.nn.group_norm: 6 channels are not divisible into 4 groups");
  CHECK_PARSE_ERR(P_N, "R.nn.group_norm(x, c, c)",
                  "R.nn.group_norm: num_groups must be a positive integer");
  CHECK_PARSE_ERR(P_N, "R.nn.group_norm(x, c, c, num_groups=2, axes=[1])",
                  "R.nn.group_norm: axes must not contain the channel axis 1");
  CHECK_PARSE_ERR(P_N, "R.nn.batch_norm(x, c, c, c, g, axis=1)",
                  "R.nn.batch_norm: moving_var has shape (5,), expected (6,)");
  CHECK_PARSE_ERR(P_N, "R.nn.batch_norm(x, c, c, c, c, axis=3)",
                  "R.nn.batch_norm: axis 3 is out of range for a tensor of rank 3");
  CHECK_PARSE_ERR("x: R.Tensor((2, 3), \"int32\")", "R.nn.log_softmax(x)",
                  "R.nn.log_softmax: requires a float tensor, got int32");
  CHECK_PARSE_ERR("x: R.Tensor((2, 3), \"float16\"), g: R.Tensor((3,), \"float32\")",
                  "R.nn.rms_norm(x, g)",
                  "R.nn.rms_norm: weight has dtype float32, expected float16");
}

/* ---- evaluation on chosen values ----------------------------------------------- */

TEST(eval_unary_values) {
  int64_t s6[] = {6};
  double v[] = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5};
  ts_ndarray *x = arr(TS_F32, 1, s6, v);
  const char *p = "x: R.Tensor((6,), \"float32\")";
  double round_want[] = {-2, -2, -0.0, 0, 2, 2}; /* half to even */
  check_values("round", run(p, "R.round(x)", &x, 1, NULL), TS_F32, 6, round_want);
  double hs[6], hsw[6], lr[6];
  for (int i = 0; i < 6; i++) {
    hs[i] = fmin(1, fmax(0, 0.2 * v[i] + 0.5));
    hsw[i] = v[i] * fmin(6, fmax(0, v[i] + 3)) / 6;
    lr[i] = v[i] > 0 ? v[i] : 0.01 * v[i];
  }
  check_values("hard_sigmoid", run(p, "R.nn.hard_sigmoid(x)", &x, 1, NULL), TS_F32, 6, hs);
  check_values("hard_swish", run(p, "R.nn.hard_swish(x)", &x, 1, NULL), TS_F32, 6, hsw);
  check_values("leaky_relu", run(p, "R.nn.leaky_relu(x)", &x, 1, NULL), TS_F32, 6, lr);
  double cl[] = {-1, -1, -0.5, 0.5, 1, 1};
  check_values("clip", run(p, "R.clip(x, R.prim_value(-1.0), R.prim_value(1.0))", &x, 1, NULL),
               TS_F32, 6, cl);
  double ast[] = {-2, -1, 0, 0, 1, 2}; /* truncation toward zero */
  check_values("astype", run(p, "R.astype(x, dtype=\"int8\")", &x, 1, NULL),
               TS_DT(TS_INT, 8), 6, ast);
  ts_ndarray_release(x);
  double w[] = {NAN, INFINITY, -INFINITY, 0};
  int64_t s4[] = {4};
  x = arr(TS_F32, 1, s4, w);
  p = "x: R.Tensor((4,), \"float32\")";
  double isn[] = {1, 0, 0, 0}, isi[] = {0, 1, 1, 0}, isf[] = {0, 0, 0, 1};
  check_values("isnan", run(p, "R.isnan(x)", &x, 1, NULL), TS_BOOLT, 4, isn);
  check_values("isinf", run(p, "R.isinf(x)", &x, 1, NULL), TS_BOOLT, 4, isi);
  check_values("isfinite", run(p, "R.isfinite(x)", &x, 1, NULL), TS_BOOLT, 4, isf);
  double sg[] = {NAN, 1, -1, 0};
  check_values("sign", run(p, "R.sign(x)", &x, 1, NULL), TS_F32, 4, sg);
  ts_ndarray_release(x);
}

TEST(eval_binary_values) {
  int64_t s4[] = {4}, s1[] = {1};
  double a[] = {7, -7, 7, -7}, b[] = {2, 2, -2, -2};
  const char *p = "x: R.Tensor((4,), \"int32\"), y: R.Tensor((4,), \"int32\")";
  ts_ndarray *in[2] = {arr(TS_I32, 1, s4, a), arr(TS_I32, 1, s4, b)};
  double fd[] = {3, -4, -4, 3}, fm[] = {1, 1, -1, -1}, md[] = {1, -1, 1, -1};
  check_values("floor_divide", run(p, "R.floor_divide(x, y)", in, 2, NULL), TS_I32, 4, fd);
  check_values("floor_mod", run(p, "R.floor_mod(x, y)", in, 2, NULL), TS_I32, 4, fm);
  check_values("mod", run(p, "R.mod(x, y)", in, 2, NULL), TS_I32, 4, md);
  ts_ndarray_release(in[1]);
  double z[] = {0};
  in[1] = arr(TS_I32, 1, s1, z);
  run("x: R.Tensor((4,), \"int32\"), y: R.Tensor((1,), \"int32\")",
      "R.floor_divide(x, y)", in, 2, "R.floor_divide: integer division by zero");
  ts_ndarray_release(in[0]);
  ts_ndarray_release(in[1]);
  /* float floor_mod takes the divisor's sign; NaN compares unequal */
  double fa[] = {5.5, -5.5, NAN, 1}, fb[] = {-2};
  in[0] = arr(TS_F32, 1, s4, fa);
  in[1] = arr(TS_F32, 1, s1, fb);
  p = "x: R.Tensor((4,), \"float32\"), y: R.Tensor((1,), \"float32\")";
  double ffm[] = {-0.5, -1.5, NAN, -1};
  check_values("floor_mod f32", run(p, "R.floor_mod(x, y)", in, 2, NULL), TS_F32, 4, ffm);
  double ne[] = {1, 1, 1, 1}, ge[] = {1, 0, 0, 1};
  check_values("not_equal", run(p, "R.not_equal(x, y)", in, 2, NULL), TS_BOOLT, 4, ne);
  check_values("greater_equal", run(p, "R.greater_equal(x, y)", in, 2, NULL), TS_BOOLT, 4, ge);
  ts_ndarray_release(in[0]);
  ts_ndarray_release(in[1]);
  /* where broadcasts all three operands: (2,1) x (3,) x () */
  int64_t s21[] = {2, 1}, s3[] = {3};
  double c[] = {1, 0}, xv[] = {1, 2, 3}, yv[] = {-1};
  ts_ndarray *w[3] = {arr(TS_BOOLT, 2, s21, c), arr(TS_F32, 1, s3, xv),
                      arr(TS_F32, 0, NULL, yv)};
  double ww[] = {1, 2, 3, -1, -1, -1};
  check_values("where",
               run("c: R.Tensor((2, 1), \"bool\"), x: R.Tensor((3,), \"float32\"), "
                   "y: R.Tensor((), \"float32\")",
                   "R.where(c, x, y)", w, 3, NULL),
               TS_F32, 6, ww);
  for (int i = 0; i < 3; i++) ts_ndarray_release(w[i]);
}

TEST(eval_reduce_values) {
  int64_t s23[] = {2, 3};
  double v[] = {1, 5, 5, NAN, 2, 2};
  ts_ndarray *x = arr(TS_F32, 2, s23, v);
  const char *p = "x: R.Tensor((2, 3), \"float32\")";
  double am[] = {1, 0}; /* first of the ties; NaN wins as in NumPy */
  check_values("argmax", run(p, "R.argmax(x, axis=1)", &x, 1, NULL), TS_I64, 2, am);
  double an[] = {1, 1, 1}; /* NaN is the minimum too */
  check_values("argmin", run(p, "R.argmin(x, axis=0)", &x, 1, NULL), TS_I64, 3, an);
  double af[] = {3};
  check_values("argmax flat", run(p, "R.argmax(x)", &x, 1, NULL), TS_I64, 1, af);
  double mn[] = {1, NAN};
  check_values("min", run(p, "R.min(x, axis=-1)", &x, 1, NULL), TS_F32, 2, mn);
  double pr[] = {NAN, 10, 10};
  check_values("prod", run(p, "R.prod(x, axis=[0], keepdims=True)", &x, 1, NULL), TS_F32, 3, pr);
  ts_ndarray_release(x);
}

TEST(eval_norm_values) {
  int64_t s[] = {1, 2, 2};
  double v[] = {1, 3, 2, 6};
  ts_ndarray *in[5];
  in[0] = arr(TS_F32, 3, s, v);
  int64_t s2[] = {2};
  double g[] = {2, 1}, b[] = {0, 1};
  in[1] = arr(TS_F32, 1, s2, g);
  in[2] = arr(TS_F32, 1, s2, b);
  const char *p = "x: R.Tensor((1, 2, 2), \"float32\"), g: R.Tensor((2,), \"float32\"), "
                  "b: R.Tensor((2,), \"float32\")";
  /* rows (1,3) and (2,6): mean 2 / 4, variance 1 / 4 */
  double e = 1e-5, r1 = 1 / sqrt(1 + e), r2 = 2 / sqrt(4 + e);
  double ln[] = {-r1 * 2, r1 + 1, -r2 * 2, r2 + 1};
  check_values("layer_norm", run(p, "R.nn.layer_norm(x, g, b)", in, 3, NULL), TS_F32, 4, ln);
  /* instance norm over the last axis with channel axis 1: same statistics,
   * parameters per channel (row) */
  double in_[] = {-r1 * 2, r1 * 2, -r2 + 1, r2 + 1};
  check_values("instance_norm",
               run(p, "R.nn.instance_norm(x, g, b, channel_axis=1, axes=[2])", in, 3, NULL),
               TS_F32, 4, in_);
  /* group norm with one group: statistics over all four values */
  double m = 3, var = (4 + 0 + 1 + 9) / 4.0, rs = 1 / sqrt(var + e);
  double gn[] = {(1 - m) * rs * 2, (3 - m) * rs * 2, (2 - m) * rs + 1, (6 - m) * rs + 1};
  check_values("group_norm",
               run(p, "R.nn.group_norm(x, g, b, num_groups=1, axes=[2])", in, 3, NULL),
               TS_F32, 4, gn);
  double ls[] = {1 - 3 - log(1 + exp(-2.0)), -log(1 + exp(-2.0)),
                 2 - 6 - log(1 + exp(-4.0)), -log(1 + exp(-4.0))};
  check_values("log_softmax",
               run("x: R.Tensor((1, 2, 2), \"float32\")", "R.nn.log_softmax(x)", in, 1, NULL),
               TS_F32, 4, ls);
  double mean[] = {1, 2}, vr[] = {4, 9};
  in[3] = arr(TS_F32, 1, s2, mean);
  in[4] = arr(TS_F32, 1, s2, vr);
  double bn[] = {0, 2 * 2 / sqrt(4 + e), 1, 4 / sqrt(9 + e) + 1};
  check_values("batch_norm",
               run("x: R.Tensor((1, 2, 2), \"float32\"), g: R.Tensor((2,), \"float32\"), "
                   "b: R.Tensor((2,), \"float32\"), m: R.Tensor((2,), \"float32\"), "
                   "v: R.Tensor((2,), \"float32\")",
                   "R.nn.batch_norm(x, g, b, m, v, axis=1)", in, 5, NULL),
               TS_F32, 4, bn);
  for (int i = 0; i < 5; i++) ts_ndarray_release(in[i]);
}

/* ---- legalization: interpreter before == after, symbolic shapes --------------- */

TEST(legalize_unary) {
  static const char *const ops[] = {
      "R.floor(x)", "R.ceil(x)", "R.round(x)", "R.trunc(x)", "R.sign(x)",
      "R.square(x)", "R.sin(x)", "R.cos(x)", "R.tan(x)", "R.asin(x)",
      "R.acos(x)", "R.atan(x)", "R.sinh(x)", "R.cosh(x)", "R.asinh(x)",
      "R.atanh(x)", "R.isnan(x)", "R.isinf(x)", "R.isfinite(x)",
      "R.clip(x, min=-0.5, max=0.25)", "R.clip(x, max=0.25)",
      "R.clip(x, R.prim_value(-0.5), R.prim_value(0.5))", "R.nn.relu6(x)",
      "R.nn.leaky_relu(x, alpha=0.3)", "R.nn.elu(x, alpha=0.5)", "R.nn.selu(x)",
      "R.nn.softplus(x)", "R.nn.softplus(x, beta=3.0, threshold=0.5)",
      "R.nn.mish(x)", "R.nn.hard_sigmoid(x, alpha=0.3, beta=0.4)",
      "R.nn.hard_swish(x)", "R.nn.gelu_tanh(x)", "R.astype(x, dtype=\"int32\")",
      "R.astype(x, dtype=\"bool\")", "R.astype(x, dtype=\"float64\")"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    check_legalize("x: R.Tensor((\"n\", 3), \"float32\")", ops[i]);
  static const char *const iops[] = {"R.bitwise_not(x)", "R.floor(x)", "R.sign(x)",
                                     "R.square(x)", "R.clip(x, min=2, max=6)",
                                     "R.isnan(x)", "R.isfinite(x)",
                                     "R.astype(x, dtype=\"float16\")",
                                     "R.astype(x, dtype=\"bool\")"};
  for (size_t i = 0; i < sizeof iops / sizeof *iops; i++)
    check_legalize("x: R.Tensor((2, \"n\"), \"int32\")", iops[i]);
  check_legalize("x: R.Tensor((\"n\",), \"bool\")", "R.logical_not(x)");
  check_legalize("x: R.Tensor((\"n\",), \"bool\")", "R.astype(x, dtype=\"float32\")");
}

TEST(legalize_binary) {
  static const char *const fops[] = {
      "R.floor_divide(x, y)", "R.floor_mod(x, y)", "R.mod(x, y)", "R.equal(x, y)",
      "R.not_equal(x, y)", "R.less(x, y)", "R.less_equal(x, y)",
      "R.greater(x, y)", "R.greater_equal(x, y)"};
  for (size_t i = 0; i < sizeof fops / sizeof *fops; i++)
    check_legalize("x: R.Tensor((\"n\", 1, 4), \"float32\"), y: R.Tensor((3, 1), \"float32\")",
                   fops[i]);
  static const char *const iops[] = {"R.equal(x, y)", "R.less(x, y)",
                                     "R.bitwise_and(x, y)", "R.bitwise_or(x, y)",
                                     "R.bitwise_xor(x, y)"};
  for (size_t i = 0; i < sizeof iops / sizeof *iops; i++)
    check_legalize("x: R.Tensor((\"n\", 4), \"int32\"), y: R.Tensor((4,), \"int32\")",
                   iops[i]);
  static const char *const bops[] = {"R.logical_and(x, y)", "R.logical_or(x, y)",
                                     "R.logical_xor(x, y)", "R.equal(x, y)"};
  for (size_t i = 0; i < sizeof bops / sizeof *bops; i++)
    check_legalize("x: R.Tensor((\"n\", 4), \"bool\"), y: R.Tensor((\"n\", 1), \"bool\")",
                   bops[i]);
  check_legalize("c: R.Tensor((\"n\", 1, 1), \"bool\"), x: R.Tensor((3, 1), \"float32\"), "
                 "y: R.Tensor((5,), \"float32\")",
                 "R.where(c, x, y)");
  check_legalize("c: R.Tensor((4,), \"bool\"), x: R.Tensor((\"n\", 4), \"int64\"), "
                 "y: R.Tensor((), \"int64\")",
                 "R.where(c, x, y)");
}

TEST(legalize_reduce) {
  static const char *const ops[] = {
      "R.min(x, axis=[0, 2])", "R.min(x)", "R.min(x, axis=-1, keepdims=True)",
      "R.prod(x, axis=[1])", "R.prod(x, keepdims=True)",
      "R.argmax(x, axis=-1)", "R.argmax(x)", "R.argmax(x, axis=0, keepdims=True)",
      "R.argmin(x, axis=1)", "R.argmin(x, keepdims=True)"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    check_legalize("x: R.Tensor((\"n\", 3, 4), \"float32\")", ops[i]);
  check_legalize("x: R.Tensor((\"n\", 3), \"int32\")", "R.min(x, axis=0)");
  check_legalize("x: R.Tensor((\"n\", 3), \"int32\")", "R.prod(x, axis=1)");
  check_legalize("x: R.Tensor((\"n\", 3), \"int32\")", "R.argmin(x, axis=1)");
}

TEST(legalize_norm) {
  const char *p = "x: R.Tensor((\"n\", 4, 3, 2), \"float32\"), g4: R.Tensor((4,), \"float32\"), "
                  "b4: R.Tensor((4,), \"float32\"), g2: R.Tensor((2,), \"float32\"), "
                  "g32: R.Tensor((3, 2), \"float32\")";
  static const char *const ops[] = {
      "R.nn.log_softmax(x)", "R.nn.log_softmax(x, axis=0)",
      "R.nn.layer_norm(x, g2, g2)", "R.nn.layer_norm(x, g32, g32, axes=[-2, -1], epsilon=0.01)",
      "R.nn.layer_norm(x, g2, g2, center=False)", "R.nn.rms_norm(x, g2)",
      "R.nn.rms_norm(x, g32, axes=[2, 3])",
      "R.nn.group_norm(x, g4, b4, num_groups=2, channel_axis=1, axes=[2, 3])",
      "R.nn.group_norm(x, g4, b4, num_groups=4, axes=[2], scale=False)",
      "R.nn.instance_norm(x, g4, b4)",
      "R.nn.batch_norm(x, g4, b4, g4, g4, axis=1, epsilon=2.0)"};
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) check_legalize(p, ops[i]);
  /* a symbolic channel count */
  check_legalize("x: R.Tensor((2, \"c\", 3), \"float32\"), g: R.Tensor((\"c\",), \"float32\")",
                 "R.nn.instance_norm(x, g, g, channel_axis=1, axes=[2])");
}

int main(void) {
  RUN(infer_unary);
  RUN(infer_binary);
  RUN(infer_reduce);
  RUN(infer_norm);
  RUN(eval_unary_values);
  RUN(eval_binary_values);
  RUN(eval_reduce_values);
  RUN(eval_norm_values);
  RUN(legalize_unary);
  RUN(legalize_binary);
  RUN(legalize_reduce);
  RUN(legalize_norm);
  return CHECK_DONE();
}
