/* test_dispatch.c: the library functions behind dispatch-library
 * (src/runtime/builtins_dnnl.c) against naive loops, and the pass end to
 * end: the interpreter on the original module vs the compiled artifact of
 * "dispatch-library,legalize" (float32, 1e-4 relative to max(1, |ref|)). */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "golden_util.h"
#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/build.h"
#include "tessera/runtime.h"
#include "tessera/transform.h"
#include "tessera/vm.h"

static ts_ndarray *rand_f32(int nd, const int64_t *shape, uint64_t seed) {
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(nd, shape, TS_F32, &a));
  ts_ndarray_fill_random(a, seed);
  return a;
}

static double rel_diff(const float *ref, const float *got, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)ref[i] - got[i]) / fmax(1.0, fabs(ref[i]));
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

static ts_value tv(ts_ndarray *a) { return (ts_value){TS_VAL_TENSOR, {.tensor = a}}; }

/* ---- gemm families ------------------------------------------------------- */

static void check_gemm(const char *base, bool nt, bool bias, bool relu,
                       int ar, const int64_t *ashape) {
  int64_t K = ashape[ar - 1], M = 1, N = 7;
  for (int i = 0; i < ar - 1; i++) M *= ashape[i];
  int64_t bs[2] = {nt ? N : K, nt ? K : N}, biass[2] = {1, N}, os[4];
  memcpy(os, ashape, sizeof(int64_t) * (size_t)ar);
  os[ar - 1] = N;
  ts_ndarray *a = rand_f32(ar, ashape, 1), *b = rand_f32(2, bs, 2);
  ts_ndarray *bb = rand_f32(2, biass, 3), *out = rand_f32(ar, os, 4);
  char *name = ts_strdup_printf("%s%s%s%s", base, nt ? "_nt" : "", bias ? "_bias" : "",
                                relu ? "_relu" : "");
  ts_value args[4] = {tv(a), tv(b)};
  int n = 2;
  if (bias) args[n++] = tv(bb);
  args[n++] = tv(out);
  CHECK_OK(ts_registry_call(name, args, n));
  const float *A = ts_ndarray_data(a), *B = ts_ndarray_data(b), *C = ts_ndarray_data(bb);
  float *ref = ts_xcalloc((size_t)(M * N), sizeof(float));
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      double s = bias ? C[j] : 0;
      for (int64_t k = 0; k < K; k++)
        s += (double)A[i * K + k] * (nt ? B[j * K + k] : B[k * N + j]);
      ref[i * N + j] = relu && s < 0 ? 0.0f : (float)s;
    }
  double d = rel_diff(ref, ts_ndarray_data(out), M * N);
  if (d > 1e-4) CHECK_FAIL_("%s: differs by %g", name, d);
  free(ref);
  free(name);
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(bb);
  ts_ndarray_release(out);
}

TEST(gemm_families_match_naive) {
  const char *bases[] = {"env.sgemm", "env.dnnl.matmul"};
  int64_t s2[2] = {5, 9}, s3[3] = {2, 3, 9};
  for (int f = 0; f < 2; f++)
    for (int v = 0; v < 8; v++) {
      check_gemm(bases[f], v & 1, v & 2, v & 4, 2, s2);
      check_gemm(bases[f], v & 1, v & 2, v & 4, 3, s3);
    }
}

TEST(gemm_errors) {
  int64_t s[2] = {2, 3}, w[2] = {4, 3}, o[2] = {2, 4}, bad[2] = {2, 5};
  ts_ndarray *a = rand_f32(2, s, 1), *b = rand_f32(2, w, 2), *out = rand_f32(2, o, 3);
  ts_ndarray *ob = rand_f32(2, bad, 4);
  ts_value args[3] = {tv(a), tv(b), tv(out)};
  CHECK_OK(ts_registry_call("env.sgemm_nt", args, 3));
  CHECK_ERR(ts_registry_call("env.sgemm", args, 3), TS_ERR_TYPE, "argument 1 (b)");
  CHECK_ERR(ts_registry_call("env.sgemm_bogus", args, 3), TS_ERR_NAME, "unknown variant");
  CHECK_ERR(ts_registry_call("env.dnnl.matmul_nt_bias", args, 3), TS_ERR_VALUE,
            "expected 4 arguments");
  args[2] = tv(ob);
  CHECK_ERR(ts_registry_call("env.dnnl.matmul_nt", args, 3), TS_ERR_TYPE,
            "argument 2 (out)");
  ts_ndarray_release(a);
  ts_ndarray_release(b);
  ts_ndarray_release(out);
  ts_ndarray_release(ob);
}

/* ---- conv2d --------------------------------------------------------------- */

typedef struct conv_case {
  int64_t N, C, H, W, O, KH, KW, sh, sw, pt, pl, pb, pr, dh, dw, g;
  const char *posts; /* ".mul.add.relu" */
  int tshape[4][4];  /* operand shapes of the binary posts, 4-D, 0 = output dim */
} conv_case;

static void check_conv(const conv_case *c) {
  int64_t OH = (c->H + c->pt + c->pb - (c->dh * (c->KH - 1) + 1)) / c->sh + 1;
  int64_t OW = (c->W + c->pl + c->pr - (c->dw * (c->KW - 1) + 1)) / c->sw + 1;
  int64_t xs[4] = {c->N, c->C, c->H, c->W}, ws[4] = {c->O, c->C / c->g, c->KH, c->KW};
  int64_t os[4] = {c->N, c->O, OH, OW};
  ts_ndarray *x = rand_f32(4, xs, 11), *w = rand_f32(4, ws, 12), *out = rand_f32(4, os, 13);
  ts_ndarray *t[4] = {0};
  int nt = 0;
  ts_value args[8] = {tv(x), tv(w)};
  int n = 2;
  for (const char *p = c->posts; *p; p++)
    if (*p == '.' && strncmp(p, ".relu", 5)) {
      int64_t ts[4];
      for (int d = 0; d < 4; d++) ts[d] = c->tshape[nt][d] ? c->tshape[nt][d] : os[d];
      t[nt] = rand_f32(4, ts, 20 + (uint64_t)nt);
      args[n++] = tv(t[nt++]);
    }
  args[n++] = tv(out);
  char *name = ts_strdup_printf(
      "env.dnnl.conv2d.s%lldx%lld.p%lldx%lldx%lldx%lld.d%lldx%lld.g%lld%s",
      (long long)c->sh, (long long)c->sw, (long long)c->pt, (long long)c->pl,
      (long long)c->pb, (long long)c->pr, (long long)c->dh, (long long)c->dw,
      (long long)c->g, c->posts);
  CHECK_OK(ts_registry_call(name, args, n));
  CHECK_OK(ts_registry_call(name, args, n)); /* the cached primitive */
  const float *X = ts_ndarray_data(x), *Wt = ts_ndarray_data(w);
  int64_t Cg = c->C / c->g, Og = c->O / c->g, total = c->N * c->O * OH * OW;
  float *ref = ts_xcalloc((size_t)total, sizeof(float));
  for (int64_t b = 0; b < c->N; b++)
    for (int64_t o = 0; o < c->O; o++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          double s = 0;
          int64_t grp = o / Og;
          for (int64_t ci = 0; ci < Cg; ci++)
            for (int64_t kh = 0; kh < c->KH; kh++)
              for (int64_t kw = 0; kw < c->KW; kw++) {
                int64_t ih = oh * c->sh - c->pt + kh * c->dh;
                int64_t iw = ow * c->sw - c->pl + kw * c->dw;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                s += (double)X[((b * c->C + grp * Cg + ci) * c->H + ih) * c->W + iw] *
                     Wt[((o * Cg + ci) * c->KH + kh) * c->KW + kw];
              }
          int64_t idx[4] = {b, o, oh, ow};
          int k = 0;
          for (const char *p = c->posts; *p; p++) {
            if (*p != '.') continue;
            if (!strncmp(p, ".relu", 5)) {
              s = s < 0 ? 0 : s;
              continue;
            }
            const int64_t *sh = ts_ndarray_shape(t[k]);
            int64_t off = 0;
            for (int d = 0; d < 4; d++) off = off * sh[d] + (sh[d] == 1 ? 0 : idx[d]);
            double v = ((const float *)ts_ndarray_data(t[k]))[off];
            k++;
            if (!strncmp(p, ".add", 4)) s += v;
            else if (!strncmp(p, ".mul", 4)) s *= v;
            else if (!strncmp(p, ".sub", 4)) s -= v;
            else s /= v;
          }
          ref[((b * c->O + o) * OH + oh) * OW + ow] = (float)s;
        }
  double d = rel_diff(ref, ts_ndarray_data(out), total);
  if (d > 1e-4) CHECK_FAIL_("%s: differs by %g", name, d);
  free(ref);
  free(name);
  for (int i = 0; i < nt; i++) ts_ndarray_release(t[i]);
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(out);
}

TEST(conv2d_matches_naive) {
  static const conv_case cases[] = {
      /* N C H W O KH KW sh sw pt pl pb pr dh dw g */
      {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, "", {{0}}},
      {2, 4, 9, 7, 6, 3, 2, 2, 1, 0, 1, 2, 0, 1, 1, 1, "", {{0}}},
      {1, 2, 10, 10, 3, 3, 3, 1, 2, 2, 2, 2, 2, 2, 2, 1, ".relu", {{0}}},
      {1, 4, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ".add", {{1, 0, 1, 1}}},
      {2, 5, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 5, ".mul.add.relu",
       {{1, 0, 1, 1}, {1, 0, 1, 1}}},                                      /* depthwise */
      {1, 4, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ".mul.add.add.relu",
       {{1, 0, 1, 1}, {1, 0, 1, 1}, {0, 0, 0, 0}}},                         /* residual */
      {1, 3, 5, 5, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ".sub.div",
       {{1, 1, 1, 1}, {1, 0, 1, 1}}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_conv(&cases[i]);
}

TEST(conv2d_errors) {
  int64_t xs[4] = {1, 2, 4, 4}, ws[4] = {3, 2, 3, 3}, os[4] = {1, 3, 2, 2}, bad[4] = {1, 3, 3, 3};
  ts_ndarray *x = rand_f32(4, xs, 1), *w = rand_f32(4, ws, 2), *o = rand_f32(4, os, 3);
  ts_ndarray *ob = rand_f32(4, bad, 4);
  ts_value args[3] = {tv(x), tv(w), tv(o)};
  CHECK_OK(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0x0x0.d1x1.g1", args, 3));
  CHECK_ERR(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0.d1x1.g1", args, 3), TS_ERR_NAME,
            "malformed name");
  CHECK_ERR(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0x0x0.d1x1.g1.gelu", args, 3),
            TS_ERR_NAME, "unknown post-op");
  CHECK_ERR(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0x0x0.d1x1.g1.add", args, 3),
            TS_ERR_VALUE, "expected 4 arguments");
  CHECK_ERR(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0x0x0.d1x1.g2", args, 3),
            TS_ERR_TYPE, "argument 1 (w)");
  args[2] = tv(ob);
  CHECK_ERR(ts_registry_call("env.dnnl.conv2d.s1x1.p0x0x0x0.d1x1.g1", args, 3),
            TS_ERR_TYPE, "(1, 3, 2, 2)");
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(o);
  ts_ndarray_release(ob);
}

/* ---- the pass end to end --------------------------------------------------- */

static const char mlp_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((1, 784), \"float32\"), w0: R.Tensor((128, 784), \"float32\"),\n"
    "             b0: R.Tensor((128,), \"float32\"), w1: R.Tensor((10, 128), \"float32\"),\n"
    "             b1: R.Tensor((10,), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.matmul(x, R.permute_dims(w0))\n"
    "            lv1 = R.add(lv0, b0)\n"
    "            lv2 = R.nn.relu(lv1)\n"
    "            lv3 = R.matmul(lv2, R.permute_dims(w1))\n"
    "            lv4 = R.add(lv3, b1)\n"
    "            R.output(lv4)\n"
    "        return lv4\n";

static const char matmul_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((2, 3, 16), \"float32\"), w: R.Tensor((16, 8), \"float32\"),\n"
    "             b: R.Tensor((1, 8), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.matmul(x, w)\n"
    "            lv1 = R.add(b, lv0)\n"
    "            lv2 = R.nn.relu(lv1)\n"
    "            lv3 = R.nn.relu(lv0)\n"
    "            R.output(lv2, lv3)\n"
    "        return (lv2, lv3)\n";

/* conv2d + batch norm as elementwise + relu + conv2d + bn + residual + relu */
static const char resnet_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((1, 8, 12, 12), \"float32\"),\n"
    "             w1: R.Tensor((8, 8, 3, 3), \"float32\"), s1: R.Tensor((1, 8, 1, 1), \"float32\"),\n"
    "             t1: R.Tensor((1, 8, 1, 1), \"float32\"),\n"
    "             w2: R.Tensor((8, 8, 3, 3), \"float32\"), s2: R.Tensor((8, 1, 1), \"float32\"),\n"
    "             t2: R.Tensor((8, 1, 1), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.nn.conv2d(x, w1, strides=[1, 1], padding=[1, 1, 1, 1])\n"
    "            lv1 = R.multiply(lv0, s1)\n"
    "            lv2 = R.add(lv1, t1)\n"
    "            lv3 = R.nn.relu(lv2)\n"
    "            lv4 = R.nn.conv2d(lv3, w2, padding=[1, 1])\n"
    "            lv5 = R.multiply(s2, lv4)\n"
    "            lv6 = R.add(lv5, t2)\n"
    "            lv7 = R.add(lv6, x)\n"
    "            lv8 = R.nn.relu(lv7)\n"
    "            R.output(lv8)\n"
    "        return lv8\n";

/* attributes, depthwise, operand order, shared values, R.linear */
static const char conv_misc_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((2, 6, 9, 9), \"float32\"), wd: R.Tensor((6, 1, 3, 3), \"float32\"), w: R.Tensor((4, 3, 3, 3), \"float32\"), b: R.Tensor((1, 6, 1, 1), \"float32\"), y: R.Tensor((2, 4, 5, 5), \"float32\"), wl: R.Tensor((5, 100), \"float32\"), bl: R.Tensor((5,), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.nn.conv2d(x, wd, strides=[2, 2], padding=[1, 0, 1, 2], groups=6)\n"
    "            lv1 = R.subtract(lv0, b)\n"
    "            lv2 = R.nn.conv2d(x, w, dilation=[2, 2], groups=2)\n"
    "            lv3 = R.subtract(y, lv2)\n"
    "            lv4 = R.nn.conv2d(lv1, wd, groups=6)\n"
    "            lv5 = R.nn.relu(lv4)\n"
    "            lv6 = R.add(lv4, b)\n"
    "            lv7 = R.reshape(lv3, R.shape([1, 200]))\n"
    "            lv8 = R.reshape(lv7, R.shape([2, 100]))\n"
    "            lv9 = R.linear(lv8, wl, bl)\n"
    "            lv10 = R.nn.relu(lv9)\n"
    "            R.output(lv3, lv5, lv6, lv10)\n"
    "        return (lv3, lv5, lv6, lv10)\n";

/* Parses src, dispatches with `passes`, checks that every name in `want`
 * appears in the printed module, then compares the interpreter on the
 * original with the compiled artifact. */
static void check_end_to_end(const char *what, const char *src, const char *passes,
                             const char *const *want, int n_want) {
  ts_module *ref = NULL, *m = NULL;
  CHECK_OK(ts_script_parse(src, strlen(src), what, &ref));
  CHECK_OK(ts_script_parse(src, strlen(src), what, &m));
  if (!ref || !m) goto out;
  char *pl = ts_strdup_printf("%s,legalize", passes);
  ts_status *st = ts_pipeline_run(m, passes, true, NULL, NULL);
  if (st) {
    CHECK_FAIL_("%s: %s", what, ts_status_render(st));
    ts_status_free(st);
    free(pl);
    goto out;
  }
  char *text = ts_script_print(m, NULL);
  for (int i = 0; i < n_want; i++)
    if (!strstr(text, want[i])) CHECK_FAIL_("%s: no '%s' in\n%s", what, want[i], text);
  free(text);
  ts_module_destroy(m);
  CHECK_OK(ts_script_parse(src, strlen(src), what, &m));
  char tmpl[] = "/tmp/ts_dispatch_XXXXXX";
  char *dir = mkdtemp(tmpl);
  char *so = ts_strdup_printf("%s/m.so", dir);
  ts_artifact *art = NULL;
  st = ts_pipeline_run(m, pl, true, NULL, NULL);
  if (!st) st = ts_build_artifact(m, NULL, so, NULL);
  if (!st) st = ts_artifact_load(so, &art);
  unlink(so);
  rmdir(dir);
  free(so);
  free(pl);
  if (st) {
    CHECK_FAIL_("%s: build: %s", what, ts_status_render(st));
    ts_status_free(st);
    goto out;
  }
  ts_gfunc *g = ts_module_gfunc(ref, "main");
  int n = g->n_params;
  ts_value in[16];
  for (int i = 0; i < n; i++) {
    const ts_sinfo *si = g->params[i]->sinfo;
    int64_t shape[8];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      ts_expr_is_const_int(si->u.tensor.shape[d], &shape[d]);
    in[i] = tv(rand_f32(si->u.tensor.ndim, shape, 100 + (uint64_t)i));
  }
  ts_value *o1 = NULL, *o2 = NULL;
  int n1 = 0, n2 = 0;
  CHECK_OK(ts_interp_gfunc(ref, g, in, n, &o1, &n1));
  CHECK_OK(ts_artifact_run(art, "main", in, n, &o2, &n2));
  CHECK_EQ_INT(n1, n2);
  for (int i = 0; o1 && o2 && i < n1 && i < n2; i++) {
    const ts_ndarray *r = o1[i].u.tensor, *c = o2[i].u.tensor;
    CHECK_EQ_INT(ts_ndarray_numel(r), ts_ndarray_numel(c));
    if (ts_ndarray_numel(r) != ts_ndarray_numel(c)) continue;
    double d = rel_diff(ts_ndarray_data(r), ts_ndarray_data(c), ts_ndarray_numel(r));
    if (d > 1e-4) CHECK_FAIL_("%s: output %d differs by %g", what, i, d);
  }
  if (o1) ts_interp_free_values(o1, n1);
  if (o2) ts_artifact_free_values(o2, n2);
  for (int i = 0; i < n; i++) ts_ndarray_release(in[i].u.tensor);
  ts_artifact_release(art);
out:
  if (ref) ts_module_destroy(ref);
  if (m) ts_module_destroy(m);
}

TEST(dispatch_mlp_end_to_end) {
  const char *sg[] = {"env.sgemm_nt_bias_relu", "env.sgemm_nt_bias\""};
  check_end_to_end("mlp", mlp_src, "dispatch-library", sg, 2);
  const char *dn[] = {"env.dnnl.matmul_nt_bias_relu", "env.dnnl.matmul_nt_bias\""};
  check_end_to_end("mlp-dnnl", mlp_src, "dispatch-library[dnnl-matmul]", dn, 2);
}

TEST(dispatch_matmul_shared_value_end_to_end) {
  /* lv0 has two users: plain sgemm, the add and relus stay ops */
  const char *sg[] = {"\"env.sgemm\"", "R.call_tir"};
  check_end_to_end("matmul", matmul_src, "dispatch-library[matmul]", sg, 1);
  const char *none[] = {"R.matmul"};
  check_end_to_end("matmul-off", matmul_src, "dispatch-library[conv2d]", none, 1);
}

TEST(dispatch_resnet_block_end_to_end) {
  int op;
  if (!ts_op_lookup("nn.conv2d", &op)) {
    fprintf(stderr, "  skip: R.nn.conv2d is not an op yet\n");
    return;
  }
  const char *want[] = {"env.dnnl.conv2d.s1x1.p1x1x1x1.d1x1.g1.mul.add.relu\"",
                        "env.dnnl.conv2d.s1x1.p1x1x1x1.d1x1.g1.mul.add.add.relu\""};
  check_end_to_end("resnet", resnet_src, "dispatch-library[conv2d]", want, 2);
  const char *misc[] = {"env.dnnl.conv2d.s2x2.p1x0x1x2.d1x1.g6.sub\"",
                        "env.dnnl.conv2d.s1x1.p0x0x0x0.d2x2.g2\"",
                        "env.sgemm_nt_bias_relu\"", "R.subtract(y, lv2)"};
  check_end_to_end("conv-misc", conv_misc_src, "dispatch-library", misc, 4);
  const char *dn[] = {"env.dnnl.matmul_nt_bias_relu\""};
  check_end_to_end("conv-misc-dnnl", conv_misc_src, "dispatch-library[conv2d,dnnl-matmul]",
                   dn, 1);
}

static const char *g_seen;
static ts_status *record_name(const ts_value *args, int n, void *ud) {
  g_seen = ud;
  return NULL;
}

TEST(registry_families) {
  CHECK_OK(ts_registry_register("test.family.*", record_name, NULL, false));
  CHECK_OK(ts_registry_call("test.family.a1.b2", NULL, 0));
  CHECK(g_seen && !strcmp(g_seen, "test.family.a1.b2"));
  CHECK(ts_registry_lookup("test.family.x", NULL, NULL));
  CHECK(!ts_registry_lookup("test.famil", NULL, NULL));
  CHECK_ERR(ts_registry_call("test.other", NULL, 0), TS_ERR_NAME, "unresolved");
}

TEST(dispatch_bad_args) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(mlp_src, strlen(mlp_src), "mlp", &m));
  if (!m) return;
  CHECK_ERR(ts_pipeline_run(m, "dispatch-library[gemm]", true, NULL, NULL), TS_ERR_VALUE,
            "unknown pattern 'gemm'");
  ts_module_destroy(m);
}

int main(void) {
  ts_runtime_register_builtins();
  RUN(gemm_families_match_naive);
  RUN(gemm_errors);
  RUN(conv2d_matches_naive);
  RUN(conv2d_errors);
  RUN(dispatch_mlp_end_to_end);
  RUN(dispatch_matmul_shared_value_end_to_end);
  RUN(dispatch_resnet_block_end_to_end);
  RUN(dispatch_bad_args);
  RUN(registry_families);
  return CHECK_DONE();
}
