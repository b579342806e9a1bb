/* test_ops_b.c: the section-B ops (linear, conv, pooling, layout and
 * indexing): struct-info inference from TVMScript (static and symbolic
 * shapes, exact error messages), reference evaluation against naive loops
 * written here, and for each op its legalization: the graph function is
 * interpreted before and after the `legalize` pass and the outputs compared
 * (golden_compare_gfunc), the TensorIR named as TVM names it. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "golden_util.h"
#include "ops/ops_internal.h"
#include "tessera/transform.h"

/* ---- helpers ------------------------------------------------------------ */

static char SRC[8192];

/* A module whose main takes `params` and binds gv = `expr` (one line per
 * ';'-separated statement; the last binds gv). */
static const char *mk(const char *params, const char *body) {
  int n = snprintf(SRC, sizeof SRC,
                   "@I.ir_module\nclass Module:\n    @R.function\n"
                   "    def main(%s):\n        with R.dataflow():\n",
                   params);
  const char *p = body;
  while (*p) {
    const char *e = strchr(p, ';');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    n += snprintf(SRC + n, sizeof SRC - (size_t)n, "            %.*s\n",
                  (int)len, p);
    p += len;
    if (*p == ';')
      p++;
    while (*p == ' ')
      p++;
  }
  snprintf(SRC + n, sizeof SRC - (size_t)n,
           "            R.output(gv)\n        return gv\n");
  return SRC;
}

static ts_module *parse(const char *src) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(src, strlen(src), "test.py", &m);
  if (st) {
    fprintf(stderr, "%s\n%s\n", src, ts_status_render(st));
    ts_status_free(st);
    return NULL;
  }
  return m;
}

static ts_status *parse_status(const char *src) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(src, strlen(src), "test.py", &m);
  if (m)
    ts_module_destroy(m);
  return st;
}

/* The printed struct info of gv in main. */
static char *gv_sinfo(const char *src) {
  ts_module *m = parse(src);
  if (!m)
    return ts_strdup_printf("<parse error>");
  ts_gfunc *g = ts_module_gfunc(m, "main");
  ts_binding_block *blk = &g->blocks[g->n_blocks - 1];
  ts_strbuf b = {0};
  ts_ops_print_sinfo(&b, blk->bindings[blk->n - 1].value->sinfo);
  char *r = ts_strdup_printf("%s", b.data);
  ts_strbuf_free(&b);
  ts_module_destroy(m);
  return r;
}

#define CHECK_SINFO(src, want)                                                 \
  do {                                                                         \
    char *got_ = gv_sinfo(src);                                                \
    CHECK_STREQ(got_, want);                                                   \
    free(got_);                                                                \
  } while (0)

/* Runs main on inputs filled with seeded random values (ints in [0, 10)),
 * returns the outputs (a tuple result gives several); inputs in *in. */
static ts_value *run(ts_module *m, ts_ndarray **in, int *n_out) {
  ts_gfunc *g = ts_module_gfunc(m, "main");
  ts_value vals[8];
  for (int i = 0; i < g->n_params; i++) {
    ts_sinfo *si = g->params[i]->sinfo;
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      shape[d] = si->u.tensor.shape[d]->u.int_value;
    ts_status *st =
        ts_ndarray_create(si->u.tensor.ndim, shape, si->u.tensor.dtype, &in[i]);
    TS_ASSERT(!st);
    ts_ndarray_fill_random(in[i], 17 + (uint64_t)i);
    vals[i] = (ts_value){TS_VAL_TENSOR, {.tensor = in[i]}};
  }
  ts_value *out = NULL;
  ts_status *st = ts_interp_gfunc(m, g, vals, g->n_params, &out, n_out);
  if (st) {
    fprintf(stderr, "%s\n", ts_status_render(st));
    ts_status_free(st);
    return NULL;
  }
  return out;
}

static void release_all(ts_ndarray **in, int n, ts_value *out, int n_out,
                        ts_module *m) {
  for (int i = 0; i < n; i++)
    ts_ndarray_release(in[i]);
  if (out)
    ts_interp_free_values(out, n_out);
  ts_module_destroy(m);
}

static double F(ts_ndarray *a, int64_t i) { return ts_ndarray_get_f64(a, i); }

/* Legalizes a copy of src and compares it with the original on random
 * inputs (symbolic dims take `sym`); also checks that the printed module
 * holds each of the ';'-separated words in `names`. */
static void check_legalize(const char *src, int64_t sym, const char *names) {
  ts_module *a = parse(src), *b = parse(src);
  REQUIRE(a && b);
  ts_status *st = ts_pipeline_run(b, "legalize", true, NULL, NULL);
  if (st) {
    fprintf(stderr, "%s\n%s\n", src, ts_status_render(st));
    ts_status_free(st);
    CHECK(!"legalize failed");
  } else {
    double d = golden_compare_gfunc(a, b, "main", 3, sym);
    if (!(d >= 0 && d <= 1e-5))
      fprintf(stderr, "%s\nlegalized differs by %g\n", src, d);
    CHECK(d >= 0 && d <= 1e-5);
    char *text = ts_script_print(b, NULL);
    char word[64];
    for (const char *p = names; *p;) {
      size_t n = strcspn(p, ";");
      snprintf(word, sizeof word, "%.*s", (int)n, p);
      if (!strstr(text, word))
        fprintf(stderr, "%s\nlacks \"%s\"\n", text, word);
      CHECK(strstr(text, word) != NULL);
      p += n;
      if (*p)
        p++;
    }
    /* the legalized module prints and parses back */
    ts_module *c = parse(text);
    CHECK(c != NULL);
    if (c)
      ts_module_destroy(c);
    free(text);
  }
  ts_module_destroy(a);
  ts_module_destroy(b);
}

/* ---- conv ----------------------------------------------------------------- */

TEST(conv2d_infer) {
  CHECK_SINFO(mk("x: R.Tensor((1, 3, 8, 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                 "gv = R.nn.conv2d(x, w, strides=[2, 2], padding=[1, 1, 1, 1])"),
              "R.Tensor((1, 8, 4, 4), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 3, 8, 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                 "gv = R.nn.conv2d(x, w, padding=[1])"),
              "R.Tensor((n, 8, 8, 8), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 3, \"h\", 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                 "gv = R.nn.conv2d(x, w, strides=[2, 1], padding=[1, 0])"),
              "R.Tensor((n, 8, ((h - 1) // 2) + 1, 6), \"float32\")");
  /* depthwise, dilation, asymmetric padding (top, left, bottom, right) */
  CHECK_SINFO(mk("x: R.Tensor((2, 4, 9, 9), \"float32\"), w: R.Tensor((4, 1, 3, 3), \"float32\")",
                 "gv = R.nn.conv2d(x, w, groups=4, dilation=[2, 2], padding=[0, 1, 2, 3])"),
              "R.Tensor((2, 4, 7, 9), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((1, 4, 5, 5), \"float16\"), w: R.Tensor((4, 2, 3, 3), \"float16\")",
                 "gv = R.nn.conv2d_transpose(x, w, strides=[2, 2], padding=[1, 1], output_padding=[1, 1])"),
              "R.Tensor((1, 2, 10, 10), \"float16\")");
  CHECK_SINFO(mk("x: R.Tensor((1, 3, 10), \"float32\"), w: R.Tensor((6, 3, 3), \"float32\")",
                 "gv = R.nn.conv1d(x, w, strides=[2], out_dtype=\"float64\")"),
              "R.Tensor((1, 6, 4), \"float64\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 3, 8, 8), \"float32\"), w: R.Tensor((8, 4, 3, 3), \"float32\")",
                            "gv = R.nn.conv2d(x, w)")),
            TS_ERR_TYPE,
            "R.nn.conv2d: input channels 3 do not match weight "
            "in_channels*groups 4: data is R.Tensor((1, 3, 8, 8), \"float32\"), "
            "weight is R.Tensor((8, 4, 3, 3), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 4, 8, 8), \"float32\"), w: R.Tensor((6, 1, 3, 3), \"float32\")",
                            "gv = R.nn.conv2d(x, w, groups=4)")),
            TS_ERR_TYPE,
            "R.nn.conv2d: output channels 6 are not divisible by groups 4");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 3, 2, 2), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                            "gv = R.nn.conv2d(x, w)")),
            TS_ERR_VALUE, "R.nn.conv2d: the output's spatial axis 0 would have size 0");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 3, 8, 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                            "gv = R.nn.conv2d(x, w, data_layout=\"NHWC\")")),
            TS_ERR_UNSUPPORTED, "R.nn.conv2d: data_layout \"NHWC\" is not supported");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 3, 8, 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float16\")",
                            "gv = R.nn.conv2d(x, w)")),
            TS_ERR_TYPE, "R.nn.conv2d: operand dtypes differ: data is");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 3, 8, 8), \"float32\"), w: R.Tensor((8, 3, 3, 3), \"float32\")",
                            "gv = R.nn.conv2d(x, w, padding=[1, 2, 3])")),
            TS_ERR_VALUE, "R.nn.conv2d: padding must have 1, 2 or 4 values, got 3");
}

/* Naive NCHW conv2d: explicit zero-padded copy, then the sum. */
static void ref_conv2d(ts_ndarray *x, ts_ndarray *w, int64_t s, int64_t pt,
                       int64_t pl, int64_t pb, int64_t pr, int64_t d, int64_t g,
                       double *out, int64_t *oh, int64_t *ow) {
  const int64_t *xs = ts_ndarray_shape(x), *ws = ts_ndarray_shape(w);
  int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  int64_t O = ws[0], CG = ws[1], KH = ws[2], KW = ws[3];
  int64_t PH = H + pt + pb, PW = W + pl + pr;
  double *pad = calloc((size_t)(N * C * PH * PW), sizeof(double));
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t y = 0; y < H; y++)
        for (int64_t xx = 0; xx < W; xx++)
          pad[((n * C + c) * PH + y + pt) * PW + xx + pl] =
              F(x, ((n * C + c) * H + y) * W + xx);
  *oh = (PH - d * (KH - 1) - 1) / s + 1;
  *ow = (PW - d * (KW - 1) - 1) / s + 1;
  int64_t k = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++)
      for (int64_t y = 0; y < *oh; y++)
        for (int64_t xx = 0; xx < *ow; xx++) {
          double acc = 0;
          int64_t grp = o / (O / g);
          for (int64_t c = 0; c < CG; c++)
            for (int64_t i = 0; i < KH; i++)
              for (int64_t j = 0; j < KW; j++)
                acc += pad[((n * C + grp * CG + c) * PH + y * s + i * d) * PW +
                           xx * s + j * d] *
                       F(w, ((o * CG + c) * KH + i) * KW + j);
          out[k++] = acc;
        }
  free(pad);
}

static void conv2d_case(const char *xshape, const char *wshape, int64_t s,
                        int64_t pt, int64_t pl, int64_t pb, int64_t pr,
                        int64_t d, int64_t g) {
  char params[256], body[256];
  snprintf(params, sizeof params,
           "x: R.Tensor(%s, \"float32\"), w: R.Tensor(%s, \"float32\")", xshape,
           wshape);
  snprintf(body, sizeof body,
           "gv = R.nn.conv2d(x, w, strides=[%lld, %lld], padding=[%lld, %lld, "
           "%lld, %lld], dilation=[%lld, %lld], groups=%lld)",
           (long long)s, (long long)s, (long long)pt, (long long)pl,
           (long long)pb, (long long)pr, (long long)d, (long long)d,
           (long long)g);
  ts_module *m = parse(mk(params, body));
  REQUIRE(m);
  ts_ndarray *in[2];
  int n_out = 0;
  ts_value *out = run(m, in, &n_out);
  REQUIRE(out && n_out == 1);
  double ref[4096];
  int64_t oh, ow;
  ref_conv2d(in[0], in[1], s, pt, pl, pb, pr, d, g, ref, &oh, &ow);
  ts_ndarray *r = out[0].u.tensor;
  CHECK_EQ_INT(ts_ndarray_shape(r)[2], oh);
  CHECK_EQ_INT(ts_ndarray_shape(r)[3], ow);
  double worst = 0;
  for (int64_t i = 0; i < ts_ndarray_numel(r); i++)
    worst = fmax(worst, fabs(F(r, i) - ref[i]));
  CHECK(worst < 1e-5);
  release_all(in, 2, out, n_out, m);
  check_legalize(SRC, 1, g == 1 ? "pad_temp;conv2d_nchw" : "T.if_then_else");
}

TEST(conv2d_eval_and_legalize) {
  conv2d_case("(1, 3, 6, 6)", "(4, 3, 3, 3)", 1, 1, 1, 1, 1, 1, 1);
  conv2d_case("(2, 2, 7, 7)", "(3, 2, 3, 3)", 2, 1, 0, 2, 1, 1, 1);
  conv2d_case("(1, 2, 9, 9)", "(2, 2, 3, 3)", 1, 2, 2, 2, 2, 2, 1);
  conv2d_case("(1, 4, 6, 6)", "(6, 2, 3, 3)", 1, 1, 1, 1, 1, 1, 2);
  /* depthwise and depthwise with multiplier 2 */
  conv2d_case("(1, 4, 6, 6)", "(4, 1, 3, 3)", 2, 1, 1, 1, 1, 1, 4);
  conv2d_case("(1, 3, 5, 5)", "(6, 1, 3, 3)", 1, 1, 1, 1, 1, 1, 3);
  check_legalize(mk("x: R.Tensor((1, 4, 6, 6), \"float32\"), w: R.Tensor((4, 1, 3, 3), \"float32\")",
                    "gv = R.nn.conv2d(x, w, padding=[1, 1, 1, 1], groups=4)"),
                 1, "PaddedInput;DepthwiseConv2d;def conv2d(");
  /* symbolic batch */
  check_legalize(mk("x: R.Tensor((\"n\", 3, 6, 6), \"float32\"), w: R.Tensor((4, 3, 3, 3), \"float32\")",
                    "gv = R.nn.conv2d(x, w, strides=[2, 2], padding=[1, 1, 1, 1])"),
                 2, "T.match_buffer;conv2d_nchw;T.if_then_else");
}

TEST(conv1d_and_transpose) {
  /* conv1d: the 2-D reference with unit height */
  ts_module *m = parse(mk("x: R.Tensor((2, 3, 9), \"float32\"), w: R.Tensor((4, 3, 3), \"float32\")",
                          "gv = R.nn.conv1d(x, w, strides=[2], padding=[1, 2], dilation=[1])"));
  REQUIRE(m);
  ts_ndarray *in[2];
  int n_out;
  ts_value *out = run(m, in, &n_out);
  REQUIRE(out);
  ts_ndarray *r = out[0].u.tensor;
  CHECK_EQ_INT(ts_ndarray_shape(r)[2], 5);
  for (int64_t n = 0; n < 2; n++)
    for (int64_t o = 0; o < 4; o++)
      for (int64_t y = 0; y < 5; y++) {
        double acc = 0;
        for (int64_t c = 0; c < 3; c++)
          for (int64_t k = 0; k < 3; k++) {
            int64_t i = y * 2 + k - 1;
            if (i >= 0 && i < 9)
              acc += F(in[0], (n * 3 + c) * 9 + i) * F(in[1], (o * 3 + c) * 3 + k);
          }
        CHECK_NEAR(F(r, (n * 4 + o) * 5 + y), acc, 1e-5);
      }
  release_all(in, 2, out, n_out, m);
  check_legalize(SRC, 1, "conv1d_ncw;pad_temp");

  /* conv2d_transpose: scatter each input element through the kernel */
  m = parse(mk("x: R.Tensor((1, 4, 3, 3), \"float32\"), w: R.Tensor((4, 1, 3, 3), \"float32\")",
               "gv = R.nn.conv2d_transpose(x, w, strides=[2, 2], padding=[1, 1, 1, 1], output_padding=[1, 1], groups=2)"));
  REQUIRE(m);
  out = run(m, in, &n_out);
  REQUIRE(out);
  r = out[0].u.tensor;
  REQUIRE(ts_ndarray_shape(r)[1] == 2 && ts_ndarray_shape(r)[2] == 6);
  double ref[2][6][6] = {{{0}}};
  for (int64_t c = 0; c < 4; c++)
    for (int64_t y = 0; y < 3; y++)
      for (int64_t xx = 0; xx < 3; xx++)
        for (int64_t i = 0; i < 3; i++)
          for (int64_t j = 0; j < 3; j++) {
            int64_t oy = y * 2 + i - 1, ox = xx * 2 + j - 1, o = c / 2;
            if (oy >= 0 && oy < 6 && ox >= 0 && ox < 6)
              ref[o][oy][ox] += F(in[0], (c * 3 + y) * 3 + xx) * F(in[1], (c * 3 + i) * 3 + j);
          }
  for (int64_t k = 0; k < 72; k++)
    CHECK_NEAR(F(r, k), (&ref[0][0][0])[k], 1e-5);
  release_all(in, 2, out, n_out, m);
  check_legalize(SRC, 1, "def conv2d_transpose(");
}

/* ---- linear --------------------------------------------------------------- */

TEST(linear) {
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 4, 8), \"float32\"), w: R.Tensor((5, 8), \"float32\"), b: R.Tensor((5,), \"float32\")",
                 "gv = R.linear(x, w, b)"),
              "R.Tensor((n, 4, 5), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((2, 7), \"float32\"), w: R.Tensor((5, 8), \"float32\")",
                            "gv = R.linear(x, w)")),
            TS_ERR_TYPE,
            "R.linear: in_features do not match: x is R.Tensor((2, 7), "
            "\"float32\"), weight is R.Tensor((5, 8), \"float32\")");
  ts_module *m = parse(mk("x: R.Tensor((3, 4), \"float32\"), w: R.Tensor((5, 4), \"float32\"), b: R.Tensor((5,), \"float32\")",
                          "gv = R.linear(x, w, b)"));
  REQUIRE(m);
  ts_ndarray *in[3];
  int n_out;
  ts_value *out = run(m, in, &n_out);
  REQUIRE(out);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 5; j++) {
      double acc = F(in[2], j);
      for (int k = 0; k < 4; k++)
        acc += F(in[0], i * 4 + k) * F(in[1], j * 4 + k);
      CHECK_NEAR(F(out[0].u.tensor, i * 5 + j), acc, 1e-5);
    }
  release_all(in, 3, out, n_out, m);
  check_legalize(SRC, 1, "T_matmul_NT;T_add;def linear(");
  check_legalize(mk("x: R.Tensor((\"n\", 4), \"float32\"), w: R.Tensor((5, 4), \"float32\")",
                    "gv = R.linear(x, w)"),
                 3, "T_matmul_NT");
}

/* ---- pooling -------------------------------------------------------------- */

TEST(pooling) {
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 8, 112, 112), \"float32\")",
                 "gv = R.nn.max_pool2d(x, pool_size=[3, 3], strides=[2, 2], padding=[1, 1, 1, 1])"),
              "R.Tensor((n, 8, 56, 56), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((1, 8, 6, 6), \"float32\")",
                 "gv = R.nn.max_pool2d(x, pool_size=[3, 3], strides=[2, 2], ceil_mode=True)"),
              "R.Tensor((1, 8, 3, 3), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 512, 7, 7), \"float32\")",
                 "gv = R.nn.adaptive_avg_pool2d(x, output_size=[1, 1])"),
              "R.Tensor((n, 512, 1, 1), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((1, 8, 2, 2), \"float32\")",
                            "gv = R.nn.max_pool2d(x, pool_size=[3, 3])")),
            TS_ERR_VALUE,
            "R.nn.max_pool2d: the pooling window does not fit: output axis 2 "
            "would have size 0: data is R.Tensor((1, 8, 2, 2), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((8, 2, 2), \"float32\")",
                            "gv = R.nn.avg_pool2d(x)")),
            TS_ERR_TYPE, "R.nn.avg_pool2d: data must be 4-D (NCHW): data is R.Tensor((8, 2, 2), \"float32\")");

  /* max (padding 1, stride 2) and avg excluding/including the padding */
  const char *ops[3] = {
      "gv = R.nn.max_pool2d(x, pool_size=[3, 3], strides=[2, 2], padding=[1, 1, 1, 1])",
      "gv = R.nn.avg_pool2d(x, pool_size=[3, 3], strides=[2, 2], padding=[1, 1, 1, 1])",
      "gv = R.nn.avg_pool2d(x, pool_size=[3, 3], strides=[2, 2], padding=[1, 1, 1, 1], count_include_pad=True)"};
  for (int t = 0; t < 3; t++) {
    ts_module *m = parse(mk("x: R.Tensor((1, 2, 5, 5), \"float32\")", ops[t]));
    REQUIRE(m);
    ts_ndarray *in[1];
    int n_out;
    ts_value *out = run(m, in, &n_out);
    REQUIRE(out);
    ts_ndarray *r = out[0].u.tensor;
    REQUIRE(ts_ndarray_shape(r)[2] == 3 && ts_ndarray_shape(r)[3] == 3);
    for (int64_t c = 0; c < 2; c++)
      for (int64_t y = 0; y < 3; y++)
        for (int64_t xx = 0; xx < 3; xx++) {
          double mx = -INFINITY, sum = 0;
          int cnt = 0;
          for (int64_t i = y * 2 - 1; i <= y * 2 + 1; i++)
            for (int64_t j = xx * 2 - 1; j <= xx * 2 + 1; j++) {
              if (i < 0 || i >= 5 || j < 0 || j >= 5)
                continue;
              double v = F(in[0], (c * 5 + i) * 5 + j);
              mx = fmax(mx, v);
              sum += v;
              cnt++;
            }
          double want = t == 0 ? mx : t == 1 ? sum / cnt : sum / 9;
          CHECK_NEAR(F(r, (c * 3 + y) * 3 + xx), want, 1e-5);
        }
    release_all(in, 1, out, n_out, m);
    check_legalize(SRC, 1, t == 0 ? "pad_temp;pool_max" : "pool_sum;pool_avg");
  }
  /* adaptive: global average and uneven windows */
  ts_module *m = parse(mk("x: R.Tensor((1, 2, 5, 5), \"float32\")",
                          "gv = R.nn.adaptive_avg_pool2d(x, output_size=[2, 3])"));
  REQUIRE(m);
  ts_ndarray *in[1];
  int n_out;
  ts_value *out = run(m, in, &n_out);
  REQUIRE(out);
  int64_t y0[2] = {0, 2}, y1[2] = {3, 5}, x0[3] = {0, 1, 3}, x1[3] = {2, 4, 5};
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 2; y++)
      for (int xx = 0; xx < 3; xx++) {
        double s = 0;
        for (int64_t i = y0[y]; i < y1[y]; i++)
          for (int64_t j = x0[xx]; j < x1[xx]; j++)
            s += F(in[0], (c * 5 + i) * 5 + j);
        CHECK_NEAR(F(out[0].u.tensor, (c * 2 + y) * 3 + xx),
                   s / (double)((y1[y] - y0[y]) * (x1[xx] - x0[xx])), 1e-5);
      }
  release_all(in, 1, out, n_out, m);
  check_legalize(SRC, 1, "adaptive_pool_sum;adaptive_pool_avg");
  check_legalize(mk("x: R.Tensor((\"n\", 4, 7, 7), \"float32\")",
                    "gv = R.nn.adaptive_avg_pool2d(x, output_size=[1, 1])"),
                 2, "adaptive_pool_avg");
  check_legalize(mk("x: R.Tensor((\"n\", 4, 7, 7), \"float32\")",
                    "gv = R.nn.max_pool2d(x, pool_size=[3, 3], strides=[2, 2], ceil_mode=True)"),
                 2, "pool_max");
}

/* ---- layout and indexing -------------------------------------------------- */

TEST(manip_infer) {
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 1, 4, 1), \"float32\")", "gv = R.squeeze(x, axis=[1, -1])"),
              "R.Tensor((n, 4), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((2, 1, 4, 1), \"float32\")", "gv = R.squeeze(x)"),
              "R.Tensor((2, 4), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((2, 3), \"float32\")", "gv = R.squeeze(x, axis=[0])")),
            TS_ERR_VALUE,
            "R.squeeze: axis 0 has size 2, not 1: x is R.Tensor((2, 3), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 4), \"float32\")", "gv = R.expand_dims(x, axis=[0, -1])"),
              "R.Tensor((1, n, 4, 1), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 4), \"float32\"), y: R.Tensor((\"n\", 6), \"float32\")",
                 "gv = R.concat((x, y), axis=-1)"),
              "R.Tensor((n, 10), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((2, 4), \"float32\"), y: R.Tensor((3, 6), \"float32\")",
                            "gv = R.concat((x, y), axis=1)")),
            TS_ERR_TYPE,
            "R.concat: dimension 0 differs outside the concatenation axis 1: "
            "tensors[0] is R.Tensor((2, 4), \"float32\"), tensors[1] is "
            "R.Tensor((3, 6), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 6), \"float32\")", "gv = R.split(x, indices_or_sections=[2, 5], axis=1)"),
              "R.Tuple(R.Tensor((n, 2), \"float32\"), R.Tensor((n, 3), \"float32\"), R.Tensor((n, 1), \"float32\"))");
  CHECK_ERR(parse_status(mk("x: R.Tensor((2, 5), \"float32\")", "gv = R.split(x, indices_or_sections=2, axis=1)")),
            TS_ERR_VALUE, "R.split: axis 1 of size 5 does not split into 2 equal sections");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 10), \"float32\")",
                 "gv = R.strided_slice(x, axes=[1], begin=[-3], end=[100])"),
              "R.Tensor((n, 3), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((4, 10), \"float32\")",
                 "gv = R.strided_slice(x, axes=[0, 1], begin=[3, 8], end=[-100, 1], strides=[-1, -3])"),
              "R.Tensor((4, 3), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((10, 4), \"float32\"), i: R.Tensor((\"n\", 2), \"int64\")",
                 "gv = R.take(x, i, axis=0)"),
              "R.Tensor((n, 2, 4), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((10, 4), \"float32\"), i: R.Tensor((2,), \"float32\")",
                            "gv = R.take(x, i, axis=0)")),
            TS_ERR_TYPE, "R.take: indices must be integers: x is");
  CHECK_SINFO(mk("x: R.Tensor((3, 1), \"float32\")", "gv = R.broadcast_to(x, R.shape([2, 3, 4]))"),
              "R.Tensor((2, 3, 4), \"float32\")");
  CHECK_ERR(parse_status(mk("x: R.Tensor((3, 2), \"float32\")", "gv = R.broadcast_to(x, R.shape([3, 4]))")),
            TS_ERR_TYPE, "R.broadcast_to: cannot broadcast to (3, 4): x is R.Tensor((3, 2), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 3), \"float32\")", "gv = R.tile(x, repeats=[2, 1, 2])"),
              "R.Tensor((2, n, 6), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((\"n\", 3), \"float32\")", "gv = R.nn.pad(x, pad_width=[0, 0, 1, 2])"),
              "R.Tensor((n, 6), \"float32\")");
  CHECK_SINFO(mk("i: R.Tensor((\"n\",), \"int32\")",
                 "gv = R.one_hot(i, R.prim_value(T.float32(1)), R.prim_value(T.float32(0)), depth=5, axis=0)"),
              "R.Tensor((5, n), \"float32\")");
  CHECK_SINFO(mk("x: R.Tensor((2, 3), \"int32\")", "gv = R.cumsum(x, dtype=\"int64\")"),
              "R.Tensor((6,), \"int64\")");
}

TEST(manip_eval) {
  /* concat + split + strided_slice + tile + pad + broadcast_to on x (2, 6) */
  ts_module *m = parse(mk(
      "x: R.Tensor((2, 6), \"float32\"), y: R.Tensor((2, 3), \"float32\")",
      "c = R.concat((x, y), axis=1); s = R.split(c, indices_or_sections=[4], axis=1);"
      "s1 = s[1]; sl = R.strided_slice(x, axes=[1], begin=[5], end=[-100], strides=[-2]);"
      "t = R.tile(y, repeats=[2]); p = R.nn.pad(y, pad_width=[1, 0, 0, 2], pad_value=-1.0);"
      "b = R.broadcast_to(y, R.shape([2, 2, 3])); cs = R.cumsum(y, axis=1, exclusive=True);"
      "gv = (c, s1, sl, t, p, b, cs)"));
  REQUIRE(m);
  ts_ndarray *in[2];
  int n_out;
  ts_value *out = run(m, in, &n_out);
  REQUIRE(out && n_out == 7);
  ts_ndarray *x = in[0], *y = in[1];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 9; j++)
      CHECK_NEAR(F(out[0].u.tensor, i * 9 + j), j < 6 ? F(x, i * 6 + j) : F(y, i * 3 + j - 6), 0);
  CHECK_EQ_INT(ts_ndarray_shape(out[1].u.tensor)[1], 5);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 5; j++)
      CHECK_NEAR(F(out[1].u.tensor, i * 5 + j), F(out[0].u.tensor, i * 9 + 4 + j), 0);
  CHECK_EQ_INT(ts_ndarray_shape(out[2].u.tensor)[1], 3);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      CHECK_NEAR(F(out[2].u.tensor, i * 3 + j), F(x, i * 6 + 5 - 2 * j), 0);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 6; j++)
      CHECK_NEAR(F(out[3].u.tensor, i * 6 + j), F(y, i * 3 + j % 3), 0);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 5; j++)
      CHECK_NEAR(F(out[4].u.tensor, i * 5 + j), i >= 1 && j < 3 ? F(y, (i - 1) * 3 + j) : -1.0, 0);
  for (int k = 0; k < 12; k++)
    CHECK_NEAR(F(out[5].u.tensor, k), F(y, k % 6), 0);
  for (int i = 0; i < 2; i++) {
    double acc = 0;
    for (int j = 0; j < 3; j++) {
      CHECK_NEAR(F(out[6].u.tensor, i * 3 + j), acc, 1e-6);
      acc += F(y, i * 3 + j);
    }
  }
  release_all(in, 2, out, n_out, m);
  check_legalize(SRC, 1,
                 "T_concat;T_split;T_strided_slice;T_tile;PadInput;T_broadcast_to;T_cumsum");

  /* take (axis and flattened), gather_elements, one_hot, squeeze/expand */
  m = parse(mk("x: R.Tensor((10, 3), \"float32\"), i: R.Tensor((2, 2), \"int64\"), j: R.Tensor((2, 3), \"int32\")",
               "t0 = R.take(x, i, axis=0); t1 = R.take(x, i); g = R.gather_elements(x, j, axis=0);"
               "oh = R.one_hot(j, R.prim_value(T.float32(2)), R.prim_value(T.float32(-1)), depth=10, axis=1);"
               "e = R.expand_dims(t1, axis=1); q = R.squeeze(e, axis=[1]);"
               "gv = (t0, t1, g, oh, q)"));
  REQUIRE(m);
  ts_ndarray *in3[3];
  out = run(m, in3, &n_out);
  REQUIRE(out && n_out == 5);
  x = in3[0];
  ts_ndarray *ii = in3[1], *jj = in3[2];
  for (int a = 0; a < 4; a++) {
    int64_t k = ts_ndarray_get_i64(ii, a);
    for (int c = 0; c < 3; c++)
      CHECK_NEAR(F(out[0].u.tensor, a * 3 + c), F(x, k * 3 + c), 0);
    CHECK_NEAR(F(out[1].u.tensor, a), F(x, k), 0);
    CHECK_NEAR(F(out[4].u.tensor, a), F(x, k), 0);
  }
  for (int a = 0; a < 2; a++)
    for (int c = 0; c < 3; c++) {
      int64_t k = ts_ndarray_get_i64(jj, a * 3 + c);
      CHECK_NEAR(F(out[2].u.tensor, a * 3 + c), F(x, k * 3 + c), 0);
      for (int d = 0; d < 10; d++)
        CHECK_NEAR(F(out[3].u.tensor, (a * 10 + d) * 3 + c), d == k ? 2.0 : -1.0, 0);
    }
  release_all(in3, 3, out, n_out, m);
  check_legalize(SRC, 1, "T_take;T_gather_elements;T_one_hot;T_expand_dims;T_squeeze");

  /* negative indices count from the end; out of range is an error */
  m = parse(mk("x: R.Tensor((4,), \"float32\")",
               "gv = R.take(x, R.const([-1, 0], \"int64\"), axis=0)"));
  REQUIRE(m);
  ts_ndarray *in1[1];
  out = run(m, in1, &n_out);
  REQUIRE(out);
  CHECK_NEAR(F(out[0].u.tensor, 0), F(in1[0], 3), 0);
  release_all(in1, 1, out, n_out, m);
  check_legalize(SRC, 1, "T.Select");
  m = parse(mk("x: R.Tensor((4,), \"float32\")",
               "gv = R.take(x, R.const([4], \"int64\"), axis=0)"));
  REQUIRE(m);
  out = run(m, in1, &n_out);
  CHECK(out == NULL);
  release_all(in1, 1, out, n_out, m);
}

TEST(manip_symbolic_legalize) {
  check_legalize(mk("x: R.Tensor((\"n\", 4), \"float32\"), y: R.Tensor((\"n\", 2), \"float32\")",
                    "c = R.concat((x, y), axis=1); s = R.split(c, indices_or_sections=3, axis=1);"
                    "a = s[0]; b = R.strided_slice(x, axes=[1], begin=[1], end=[3]);"
                    "p = R.nn.pad(x, pad_width=[1, 1, 0, 0]); gv = (a, b, p)"),
                 3, "T_split_sections_2;T_concat;T.match_buffer");
}

int main(void) {
  RUN(conv2d_infer);
  RUN(conv2d_eval_and_legalize);
  RUN(conv1d_and_transpose);
  RUN(linear);
  RUN(pooling);
  RUN(manip_infer);
  RUN(manip_eval);
  RUN(manip_symbolic_legalize);
  return CHECK_DONE();
}
