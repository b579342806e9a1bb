/* test_fuse.c: annotate-op-pattern, fuse-ops and fuse-tir.
 *
 *   - the op_pattern found for legalized ops and hand-written functions;
 *   - an MLP (R ops, legalized; static and symbolic batch) and a ResNet
 *     basic block (conv-bn-relu-conv-bn-add-relu as call_tir of hand-written
 *     TensorIR functions) fuse into the expected number of kernels, with
 *     the interpreter's outputs unchanged and the compiled artifact agreeing
 *     with the interpreter;
 *   - nothing fuses across call_dps_packed or outside dataflow blocks. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "golden_util.h"
#include "tessera/build.h"
#include "tessera/transform.h"
#include "tessera/vm.h"

static const char *const FUSE = "annotate-op-pattern,fuse-ops,fuse-tir";

static const char mlp_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((BATCH, 6), \"float32\"), w0: R.Tensor((6, 8), \"float32\"), b0: R.Tensor((8,), \"float32\"), w1: R.Tensor((8, 4), \"float32\"), b1: R.Tensor((4,), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.matmul(x, w0)\n"
    "            lv1 = R.add(lv0, b0)\n"
    "            lv2 = R.nn.relu(lv1)\n"
    "            lv3 = R.matmul(lv2, w1)\n"
    "            lv4 = R.add(lv3, b1)\n"
    "            R.output(lv4)\n"
    "        return lv4\n";

static const char resnet_src[] =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func(private=True)\n"
    "    def conv2d(A: T.Buffer((1, 4, 6, 6), \"float32\"), W: T.Buffer((4, 4, 3, 3), \"float32\"), conv: T.Buffer((1, 4, 6, 6), \"float32\")):\n"
    "        T.func_attr({\"tir.noalias\": True})\n"
    "        pad = T.alloc_buffer((1, 4, 8, 8))\n"
    "        for n, c, h, w in T.grid(1, 4, 8, 8):\n"
    "            with T.block(\"pad\"):\n"
    "                vn, vc, vh, vw = T.axis.remap(\"SSSS\", [n, c, h, w])\n"
    "                pad[vn, vc, vh, vw] = T.if_then_else(1 <= vh and vh < 7 and 1 <= vw and vw < 7, A[vn, vc, vh - 1, vw - 1], T.float32(0.0))\n"
    "        for n, f, h, w, rc, rh, rw in T.grid(1, 4, 6, 6, 4, 3, 3):\n"
    "            with T.block(\"conv\"):\n"
    "                vn, vf, vh, vw, vrc, vrh, vrw = T.axis.remap(\"SSSSRRR\", [n, f, h, w, rc, rh, rw])\n"
    "                with T.init():\n"
    "                    conv[vn, vf, vh, vw] = T.float32(0.0)\n"
    "                conv[vn, vf, vh, vw] = conv[vn, vf, vh, vw] + pad[vn, vrc, vh + vrh, vw + vrw] * W[vf, vrc, vrh, vrw]\n"
    "\n"
    "    @T.prim_func(private=True)\n"
    "    def bn(A: T.Buffer((1, 4, 6, 6), \"float32\"), scale: T.Buffer((4, 1, 1), \"float32\"), shift: T.Buffer((4, 1, 1), \"float32\"), bn: T.Buffer((1, 4, 6, 6), \"float32\")):\n"
    "        T.func_attr({\"tir.noalias\": True})\n"
    "        for n, c, h, w in T.grid(1, 4, 6, 6):\n"
    "            with T.block(\"bn\"):\n"
    "                vn, vc, vh, vw = T.axis.remap(\"SSSS\", [n, c, h, w])\n"
    "                bn[vn, vc, vh, vw] = A[vn, vc, vh, vw] * scale[vc, 0, 0] + shift[vc, 0, 0]\n"
    "\n"
    "    @T.prim_func(private=True)\n"
    "    def relu(A: T.Buffer((1, 4, 6, 6), \"float32\"), compute: T.Buffer((1, 4, 6, 6), \"float32\")):\n"
    "        T.func_attr({\"tir.noalias\": True})\n"
    "        for n, c, h, w in T.grid(1, 4, 6, 6):\n"
    "            with T.block(\"compute\"):\n"
    "                vn, vc, vh, vw = T.axis.remap(\"SSSS\", [n, c, h, w])\n"
    "                compute[vn, vc, vh, vw] = T.max(A[vn, vc, vh, vw], T.float32(0.0))\n"
    "\n"
    "    @T.prim_func(private=True)\n"
    "    def add(A: T.Buffer((1, 4, 6, 6), \"float32\"), B: T.Buffer((1, 4, 6, 6), \"float32\"), T_add: T.Buffer((1, 4, 6, 6), \"float32\")):\n"
    "        T.func_attr({\"tir.noalias\": True})\n"
    "        for n, c, h, w in T.grid(1, 4, 6, 6):\n"
    "            with T.block(\"T_add\"):\n"
    "                vn, vc, vh, vw = T.axis.remap(\"SSSS\", [n, c, h, w])\n"
    "                T_add[vn, vc, vh, vw] = A[vn, vc, vh, vw] + B[vn, vc, vh, vw]\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((1, 4, 6, 6), \"float32\"), w1: R.Tensor((4, 4, 3, 3), \"float32\"), s1: R.Tensor((4, 1, 1), \"float32\"), b1: R.Tensor((4, 1, 1), \"float32\"), w2: R.Tensor((4, 4, 3, 3), \"float32\"), s2: R.Tensor((4, 1, 1), \"float32\"), b2: R.Tensor((4, 1, 1), \"float32\")):\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(cls.conv2d, (x, w1), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv1 = R.call_tir(cls.bn, (lv0, s1, b1), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv2 = R.call_tir(cls.relu, (lv1,), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv3 = R.call_tir(cls.conv2d, (lv2, w2), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv4 = R.call_tir(cls.bn, (lv3, s2, b2), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv5 = R.call_tir(cls.add, (lv4, x), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            lv6 = R.call_tir(cls.relu, (lv5,), out_sinfo=R.Tensor((1, 4, 6, 6), \"float32\"))\n"
    "            R.output(lv6)\n"
    "        return lv6\n";

static ts_module *parse(const char *text) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(text, strlen(text), "<test>", &m));
  return m;
}

/* Replaces the first "BATCH" of src by `batch`. */
static char *with_batch(const char *src, const char *batch) {
  const char *p = strstr(src, "BATCH");
  return ts_strdup_printf("%.*s%s%s", (int)(p - src), src, batch, p + 5);
}

/* The TensorIR functions main calls (one call_tir binding = one kernel). */
static int count_kernels(ts_module *m, const char *prefix) {
  ts_gfunc *g = ts_module_gfunc(m, "main");
  int n = 0;
  for (int b = 0; b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++) {
      ts_gexpr *v = g->blocks[b].bindings[k].value;
      CHECK(v->kind == TS_G_CALL && v->u.call.callee_kind == TS_CALLEE_OP);
      if (v->kind != TS_G_CALL || v->u.call.n_args < 1 ||
          v->u.call.args[0]->kind != TS_G_GLOBAL)
        continue;
      const char *name = v->u.call.args[0]->u.global_name;
      CHECK(ts_module_primfunc(m, name) != NULL);
      if (prefix && strncmp(name, prefix, strlen(prefix)))
        CHECK_FAIL_("kernel %s does not start with %s", name, prefix);
      n++;
    }
  return n;
}

static int64_t pattern_of(ts_module *m, const char *f) {
  ts_primfunc *p = ts_module_primfunc(m, f);
  if (!p) return -1;
  ts_attr_value *v = ts_attrs_get(p->attrs, "op_pattern");
  return v && v->kind == TS_ATTR_INT ? v->u.i : -1;
}

/* Builds `m` and checks that its main agrees with the interpreter's run of
 * `ref` (the unfused module) on random inputs (symbolic dims = sym). */
static void check_compiled(ts_module *ref, ts_module *m, int64_t sym) {
  char tmpl[] = "/tmp/ts_fuse_XXXXXX";
  if (!mkdtemp(tmpl)) {
    CHECK_FAIL_("mkdtemp");
    return;
  }
  char *so = ts_strdup_printf("%s/m.so", tmpl);
  ts_artifact *art = NULL;
  CHECK_OK(ts_build_artifact(m, NULL, so, NULL));
  CHECK_OK(ts_artifact_load(so, &art));
  ts_gfunc *g = ts_module_gfunc(ref, "main");
  int n = g->n_params;
  ts_value *in = ts_xcalloc((size_t)n, sizeof(ts_value));
  for (int i = 0; i < n; i++) {
    ts_sinfo *si = g->params[i]->sinfo;
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      shape[d] = si->u.tensor.shape[d]->kind == TS_E_INT ? si->u.tensor.shape[d]->u.int_value : sym;
    ts_ndarray *x = NULL;
    CHECK_OK(ts_ndarray_create(si->u.tensor.ndim, shape, si->u.tensor.dtype, &x));
    ts_ndarray_fill_random(x, 5 + (uint64_t)i);
    in[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
  }
  ts_value *o1 = NULL, *o2 = NULL;
  int n1 = 0, n2 = 0;
  CHECK_OK(ts_interp_gfunc(ref, g, in, n, &o1, &n1));
  if (art) CHECK_OK(ts_artifact_run(art, "main", in, n, &o2, &n2));
  if (o1 && o2) {
    CHECK_EQ_INT(n1, n2);
    for (int k = 0; k < n1 && k < n2; k++) {
      ts_ndarray *a = o1[k].u.tensor, *b = o2[k].u.tensor;
      CHECK_EQ_INT(ts_ndarray_numel(a), ts_ndarray_numel(b));
      double worst = 0;
      for (int64_t e = 0; e < ts_ndarray_numel(a) && e < ts_ndarray_numel(b); e++) {
        double u = ts_ndarray_get_f64(a, e), v = ts_ndarray_get_f64(b, e);
        double d = fabs(u - v) / fmax(1.0, fabs(u));
        if (!(d <= worst)) worst = d;
      }
      if (!(worst <= 1e-4)) CHECK_FAIL_("compiled output %d differs by %g", k, worst);
    }
  }
  if (o1) ts_interp_free_values(o1, n1);
  if (o2) ts_artifact_free_values(o2, n2);
  for (int i = 0; i < n; i++) ts_ndarray_release(in[i].u.tensor);
  free(in);
  if (art) ts_artifact_release(art);
  unlink(so);
  free(so);
  rmdir(tmpl);
}

/* Runs `passes` on a copy of ref; checks kernels, interpreter, compiled. */
static ts_module *fuse_and_check(ts_module *ref, const char *passes, int kernels,
                                 int64_t sym) {
  ts_module *m = ts_module_copy(ref);
  CHECK_OK(ts_pipeline_run(m, passes, true, NULL, NULL));
  CHECK_EQ_INT(count_kernels(m, "fused_"), kernels);
  double d = golden_compare_gfunc(ref, m, "main", 1, sym);
  if (d < 0 || d > 1e-5) CHECK_FAIL_("interpreter outputs changed by fusion: %g", d);
  check_compiled(ref, m, sym);
  return m;
}

TEST(test_patterns) {
  ts_module *m = parse(
      "@I.ir_module\n"
      "class Module:\n"
      "    @R.function\n"
      "    def main(x: R.Tensor((2, 6), \"float32\"), w: R.Tensor((6, 4), \"float32\"), b: R.Tensor((4,), \"float32\")):\n"
      "        with R.dataflow():\n"
      "            lv0 = R.matmul(x, w)\n"
      "            lv1 = R.add(lv0, b)\n"
      "            lv2 = R.nn.relu(lv1)\n"
      "            lv3 = R.sum(lv2, axis=[1])\n"
      "            lv4 = R.permute_dims(lv2)\n"
      "            lv5 = R.reshape(lv4, R.shape([8]))\n"
      "            lv6 = R.add(lv2, lv1)\n"
      "            R.output(lv3, lv5, lv6)\n"
      "        return (lv3, lv5, lv6)\n");
  if (!m) return;
  CHECK_OK(ts_pipeline_run(m, "legalize,annotate-op-pattern", true, NULL, NULL));
  CHECK_EQ_INT(pattern_of(m, "matmul"), 4);
  CHECK_EQ_INT(pattern_of(m, "add"), 1);
  CHECK_EQ_INT(pattern_of(m, "add1"), 0);
  CHECK_EQ_INT(pattern_of(m, "relu"), 0);
  CHECK_EQ_INT(pattern_of(m, "sum"), 3);
  CHECK_EQ_INT(pattern_of(m, "permute_dims"), 2);
  CHECK_EQ_INT(pattern_of(m, "reshape"), 2);
  ts_module_destroy(m);
  m = parse(resnet_src);
  if (!m) return;
  CHECK_OK(ts_pipeline_run(m, "annotate-op-pattern", true, NULL, NULL));
  CHECK_EQ_INT(pattern_of(m, "conv2d"), 4);
  CHECK_EQ_INT(pattern_of(m, "bn"), 1);
  CHECK_EQ_INT(pattern_of(m, "relu"), 0);
  CHECK_EQ_INT(pattern_of(m, "add"), 0);
  ts_module_destroy(m);
}

TEST(test_mlp) {
  char *src = with_batch(mlp_src, "2");
  ts_module *ref = parse(src);
  free(src);
  if (!ref) return;
  CHECK_OK(ts_pipeline_run(ref, "legalize", true, NULL, NULL));
  ts_module *m = fuse_and_check(ref, FUSE, 2, 3);
  CHECK(ts_module_primfunc(m, "fused_matmul_add_relu") != NULL);
  CHECK(ts_module_primfunc(m, "fused_matmul1_add1") != NULL);
  CHECK(ts_module_lookup(m, "matmul") == NULL); /* inlined, removed */
  ts_module_destroy(m);
  /* fuse-ops alone: main calls Primitive graph functions; still runs */
  m = ts_module_copy(ref);
  CHECK_OK(ts_pipeline_run(m, "annotate-op-pattern,fuse-ops", true, NULL, NULL));
  ts_gfunc *g = ts_module_gfunc(m, "fused_matmul_add_relu");
  CHECK(g != NULL);
  if (g) {
    ts_attr_value *v = ts_attrs_get(g->attrs, "Primitive");
    CHECK(v && v->kind == TS_ATTR_INT && v->u.i == 1);
    CHECK_EQ_INT(g->n_params, 3);
    CHECK_EQ_INT(g->blocks[0].n, 3);
  }
  double d = golden_compare_gfunc(ref, m, "main", 2, 3);
  CHECK(d >= 0 && d <= 1e-6);
  ts_module_destroy(m);
  ts_module_destroy(ref);
}

TEST(test_mlp_symbolic) {
  char *src = with_batch(mlp_src, "\"n\"");
  ts_module *ref = parse(src);
  free(src);
  if (!ref) return;
  CHECK_OK(ts_pipeline_run(ref, "legalize", true, NULL, NULL));
  ts_module *m = fuse_and_check(ref, FUSE, 2, 5);
  ts_primfunc *f = ts_module_primfunc(m, "fused_matmul_add_relu");
  CHECK(f && f->params[0].via_match_buffer);
  /* printed text parses back equal */
  char *text = ts_script_print(m, NULL);
  ts_module *back = parse(text);
  if (back) {
    char *diff = NULL;
    if (!ts_module_equal(m, back, &diff)) CHECK_FAIL_("round trip: %s", diff);
    free(diff);
    ts_module_destroy(back);
  }
  free(text);
  ts_module_destroy(m);
  ts_module_destroy(ref);
}

TEST(test_resnet_block) {
  ts_module *ref = parse(resnet_src);
  if (!ref) return;
  ts_module *m = fuse_and_check(ref, FUSE, 2, 3);
  CHECK(ts_module_primfunc(m, "fused_conv2d_bn_relu") != NULL);
  CHECK(ts_module_primfunc(m, "fused_conv2d_bn_add_relu") != NULL);
  CHECK(ts_module_lookup(m, "conv2d") == NULL);
  ts_primfunc *f = ts_module_primfunc(m, "fused_conv2d_bn_add_relu");
  if (f) CHECK_EQ_INT(f->n_params, 6); /* lv2, w2, s2, b2, x, out */
  ts_module_destroy(m);
  ts_module_destroy(ref);
}

TEST(test_boundaries) {
  ts_module *m = parse(
      "@I.ir_module\n"
      "class Module:\n"
      "    @R.function\n"
      "    def main(x: R.Tensor((2, 4), \"float32\"), w: R.Tensor((4, 4), \"float32\")):\n"
      "        with R.dataflow():\n"
      "            lv0 = R.nn.relu(x)\n"
      "            lv1 = R.call_dps_packed(\"env.linear\", (lv0, w), out_sinfo=R.Tensor((2, 4), \"float32\"))\n"
      "            lv2 = R.exp(lv1)\n"
      "            R.output(lv2)\n"
      "        lv3 = R.nn.relu(lv2)\n"
      "        lv4 = R.exp(lv3)\n"
      "        return lv4\n");
  if (!m) return;
  CHECK_OK(ts_pipeline_run(m, "legalize,annotate-op-pattern,fuse-ops", true, NULL, NULL));
  for (int i = 0; i < m->n_funcs; i++)
    if (!strncmp(m->funcs[i].name, "fused_", 6)) CHECK_FAIL_("unexpected %s", m->funcs[i].name);
  ts_module_destroy(m);
}

int main(void) {
  ts_runtime_register_builtins();
  RUN(test_patterns);
  RUN(test_mlp);
  RUN(test_mlp_symbolic);
  RUN(test_resnet_block);
  RUN(test_boundaries);
  return CHECK_DONE();
}
