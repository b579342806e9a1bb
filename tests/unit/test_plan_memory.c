/* test_plan_memory.c: the plan-memory pass and the VM allocating from its
 * plan.  Two models written in TVMScript — a ResNet-like block (pad + 3x3
 * convolution PrimFuncs, relu, residual add) and a transformer encoder
 * layer (attention with softmax, layer norm decomposed into mean / subtract
 * / multiply / rsqrt, a feed-forward block) — are legalized and planned:
 * the planned bytes must be below the unplanned total; the built artifact
 * must allocate exactly the plan plus the function's output (the VM's
 * allocation counter), and its outputs must equal the interpreter's on the
 * unplanned module.  Also: symbolic sizes (shared only when equal, bounded
 * by tir_var_upper_bound), and hand-written plans that are unsafe. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tessera/build.h"
#include "tessera/interp.h"
#include "tessera/script.h"
#include "tessera/transform.h"
#include "tessera/vm.h"
#include "vm/vm_internal.h"

static const char *k_resnet =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def pad(A: T.Buffer((1, 4, 8, 8), \"float32\"), P: T.Buffer((1, 4, 10, 10), \"float32\")):\n"
    "        for c, i, j in T.grid(4, 10, 10):\n"
    "            with T.block(\"P\"):\n"
    "                vc, vi, vj = T.axis.remap(\"SSS\", [c, i, j])\n"
    "                P[0, vc, vi, vj] = T.if_then_else(1 <= vi and vi < 9 and 1 <= vj and vj < 9, A[0, vc, vi - 1, vj - 1], T.float32(0.0))\n"
    "\n"
    "    @T.prim_func\n"
    "    def conv3x3(P: T.Buffer((1, 4, 10, 10), \"float32\"), W: T.Buffer((4, 4, 3, 3), \"float32\"), O: T.Buffer((1, 4, 8, 8), \"float32\")):\n"
    "        for f, i, j, c, ry, rx in T.grid(4, 8, 8, 4, 3, 3):\n"
    "            with T.block(\"O\"):\n"
    "                vf, vi, vj, vc, vy, vx = T.axis.remap(\"SSSRRR\", [f, i, j, c, ry, rx])\n"
    "                with T.init():\n"
    "                    O[0, vf, vi, vj] = T.float32(0)\n"
    "                O[0, vf, vi, vj] = O[0, vf, vi, vj] + P[0, vc, vi + vy, vj + vx] * W[vf, vc, vy, vx]\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((1, 4, 8, 8), \"float32\"), w1: R.Tensor((4, 4, 3, 3), \"float32\"), w2: R.Tensor((4, 4, 3, 3), \"float32\")):\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            p1 = R.call_tir(cls.pad, (x,), out_sinfo=R.Tensor((1, 4, 10, 10), \"float32\"))\n"
    "            c1 = R.call_tir(cls.conv3x3, (p1, w1), out_sinfo=R.Tensor((1, 4, 8, 8), \"float32\"))\n"
    "            r1 = R.nn.relu(c1)\n"
    "            p2 = R.call_tir(cls.pad, (r1,), out_sinfo=R.Tensor((1, 4, 10, 10), \"float32\"))\n"
    "            c2 = R.call_tir(cls.conv3x3, (p2, w2), out_sinfo=R.Tensor((1, 4, 8, 8), \"float32\"))\n"
    "            s = R.add(c2, x)\n"
    "            y = R.nn.relu(s)\n"
    "            R.output(y)\n"
    "        return y\n";

static const char *k_encoder =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((8, 16), \"float32\"), wq: R.Tensor((16, 16), \"float32\"), wk: R.Tensor((16, 16), \"float32\"), wv: R.Tensor((16, 16), \"float32\"), wo: R.Tensor((16, 16), \"float32\"), w1: R.Tensor((16, 32), \"float32\"), w2: R.Tensor((32, 16), \"float32\"), g: R.Tensor((16,), \"float32\"), b: R.Tensor((16,), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            q = R.matmul(x, wq)\n"
    "            k = R.matmul(x, wk)\n"
    "            v = R.matmul(x, wv)\n"
    "            kt = R.permute_dims(k)\n"
    "            s = R.matmul(q, kt)\n"
    "            s2 = R.multiply(s, R.const(0.25, \"float32\"))\n"
    "            p = R.nn.softmax(s2, axis=-1)\n"
    "            att = R.matmul(p, v)\n"
    "            o = R.matmul(att, wo)\n"
    "            h = R.add(o, x)\n"
    "            mu = R.mean(h, axis=[1], keepdims=True)\n"
    "            hc = R.subtract(h, mu)\n"
    "            sq = R.multiply(hc, hc)\n"
    "            var = R.mean(sq, axis=[1], keepdims=True)\n"
    "            ve = R.add(var, R.const(1e-5, \"float32\"))\n"
    "            rs = R.rsqrt(ve)\n"
    "            hn = R.multiply(hc, rs)\n"
    "            hg = R.multiply(hn, g)\n"
    "            ln = R.add(hg, b)\n"
    "            f1 = R.matmul(ln, w1)\n"
    "            f2 = R.nn.relu(f1)\n"
    "            f3 = R.matmul(f2, w2)\n"
    "            y = R.add(f3, ln)\n"
    "            R.output(y)\n"
    "        return y\n";

static char g_dir[64];

static ts_module *parse(const char *text) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), "test.tvmscript", &m);
  if (st) {
    fprintf(stderr, "%s\n", ts_status_render(st));
    ts_status_free(st);
  }
  return m;
}

static int64_t plan_int(ts_module *m, const char *key) {
  const ts_attr_value *p =
      ts_attrs_get(ts_module_gfunc(m, "main")->attrs, "tessera.memory_plan");
  if (!p || p->kind != TS_ATTR_DICT) return -1;
  const ts_attr_value *v = ts_attrs_get(p->u.dict, key);
  return v && v->kind == TS_ATTR_INT ? v->u.i : -1;
}

/* Plans, builds, runs and compares one model; out_bytes: main's output. */
static void check_model(const char *text, const char *tag, int64_t out_bytes) {
  ts_module *ref = parse(text), *m = parse(text);
  REQUIRE(ref && m);
  CHECK_OK(ts_pipeline_run(m, "legalize,plan-memory", true, NULL, NULL));
  int64_t planned = plan_int(m, "planned_bytes"), unplanned = plan_int(m, "unplanned_bytes");
  fprintf(stderr, "  %s: planned peak %lld bytes, unplanned total %lld bytes\n", tag,
          (long long)planned, (long long)unplanned);
  CHECK(planned > 0);
  CHECK(planned < unplanned);
  /* the plan prints and parses back */
  char *printed = ts_script_print(m, NULL);
  ts_module *back = parse(printed);
  CHECK(back && ts_module_equal(m, back, NULL));
  if (back) ts_module_destroy(back);
  free(printed);

  char *so = ts_strdup_printf("%s/%s.so", g_dir, tag);
  CHECK_OK(ts_build_artifact(m, NULL, so, NULL));
  ts_artifact *a = NULL;
  CHECK_OK(ts_artifact_load(so, &a));
  free(so);
  if (!a) {
    ts_module_destroy(ref);
    ts_module_destroy(m);
    return;
  }
  char *dis = NULL;
  CHECK_OK(ts_artifact_disassemble(a, &dis));
  CHECK(dis && strstr(dis, "alloc_storage") && strstr(dis, "alloc_tensor"));
  free(dis);

  ts_gfunc *f = ts_module_gfunc(ref, "main");
  ts_value in[16];
  int n_in = f->n_params;
  for (int i = 0; i < n_in; i++) {
    const ts_sinfo *si = f->params[i]->sinfo;
    int64_t shape[8];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      shape[d] = si->u.tensor.shape[d]->u.int_value;
    in[i].kind = TS_VAL_TENSOR;
    CHECK_OK(ts_ndarray_create(si->u.tensor.ndim, shape, TS_F32, &in[i].u.tensor));
    ts_ndarray_fill_random(in[i].u.tensor, 11 + (uint64_t)i);
  }
  ts_value *want = NULL, *got = NULL;
  int n_want = 0, n_got = 0;
  CHECK_OK(ts_interp_gfunc(ref, f, in, n_in, &want, &n_want));
  for (int run = 0; run < 2; run++) {
    ts_artifact_alloc_bytes_reset(a);
    CHECK_OK(ts_artifact_run(a, "main", in, n_in, &got, &n_got));
    /* the VM allocated the plan and the output, nothing else */
    CHECK_EQ_INT(ts_artifact_alloc_bytes(a), planned + out_bytes);
    CHECK(ts_artifact_alloc_bytes(a) < (uint64_t)(unplanned + out_bytes));
    CHECK_EQ_INT(n_got, n_want);
    for (int i = 0; i < n_got && i < n_want; i++) {
      ts_ndarray *x = got[i].u.tensor, *y = want[i].u.tensor;
      REQUIRE(ts_ndarray_numel(x) == ts_ndarray_numel(y));
      double worst = 0;
      for (int64_t e = 0; e < ts_ndarray_numel(x); e++) {
        double d = ts_ndarray_get_f64(x, e) - ts_ndarray_get_f64(y, e);
        if (d < 0) d = -d;
        if (d > worst) worst = d;
      }
      CHECK(worst < 1e-4);
    }
    ts_artifact_free_values(got, n_got);
    /* the second run took the first run's storage back: the pool holds one
     * plan, not two */
    CHECK_EQ_INT(ts_artifact_storage_pool_bytes(a), planned);
  }
  ts_interp_free_values(want, n_want);
  for (int i = 0; i < n_in; i++) ts_ndarray_release(in[i].u.tensor);
  ts_artifact_release(a);
  ts_module_destroy(ref);
  ts_module_destroy(m);
}

TEST(resnet_block) { check_model(k_resnet, "resnet", 4 * 8 * 8 * 4); }
TEST(transformer_encoder) { check_model(k_encoder, "encoder", 8 * 16 * 4); }

/* Tensors of symbolic size share only when their size expressions are equal;
 * with tir_var_upper_bound they are sized by the bound. */
static const char *k_symbolic =
    "@I.ir_module\n"
    "class Module:\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\", 4), \"float32\"), w: R.Tensor((4, 4), \"float32\"), w8: R.Tensor((4, 8), \"float32\"), wb: R.Tensor((8, 4), \"float32\")):\n"
    "        n = T.int64()\n"
    "%s"
    "        with R.dataflow():\n"
    "            a = R.matmul(x, w)\n"
    "            b = R.nn.relu(a)\n"
    "            c = R.matmul(b, w8)\n"
    "            d = R.nn.relu(c)\n"
    "            e = R.matmul(d, wb)\n"
    "            f = R.nn.relu(e)\n"
    "            y = R.add(f, x)\n"
    "            R.output(y)\n"
    "        return y\n";

static void run_symbolic(ts_module *m, const char *tag, int64_t rows, bool expect_ok) {
  char *so = ts_strdup_printf("%s/%s.so", g_dir, tag);
  CHECK_OK(ts_build_artifact(m, NULL, so, NULL));
  ts_artifact *a = NULL;
  CHECK_OK(ts_artifact_load(so, &a));
  free(so);
  REQUIRE(a);
  int64_t xs[2] = {rows, 4}, ws[2] = {4, 4}, w8s[2] = {4, 8}, wbs[2] = {8, 4};
  ts_value in[4] = {{.kind = TS_VAL_TENSOR}, {.kind = TS_VAL_TENSOR}, {.kind = TS_VAL_TENSOR},
                    {.kind = TS_VAL_TENSOR}};
  CHECK_OK(ts_ndarray_create(2, xs, TS_F32, &in[0].u.tensor));
  CHECK_OK(ts_ndarray_create(2, ws, TS_F32, &in[1].u.tensor));
  CHECK_OK(ts_ndarray_create(2, w8s, TS_F32, &in[2].u.tensor));
  CHECK_OK(ts_ndarray_create(2, wbs, TS_F32, &in[3].u.tensor));
  for (int i = 0; i < 4; i++) ts_ndarray_fill_random(in[i].u.tensor, 5 + (uint64_t)i);
  ts_value *got = NULL, *want = NULL;
  int n_got = 0, n_want = 0;
  ts_status *st = ts_artifact_run(a, "main", in, 4, &got, &n_got);
  if (expect_ok) {
    CHECK_OK(st);
    CHECK_OK(ts_interp_gfunc(m, ts_module_gfunc(m, "main"), in, 4, &want, &n_want));
    if (n_got == 1 && n_want == 1)
      for (int64_t e = 0; e < rows * 4; e++)
        CHECK_NEAR(ts_ndarray_get_f64(got[0].u.tensor, e),
                   ts_ndarray_get_f64(want[0].u.tensor, e), 1e-4);
    ts_interp_free_values(want, n_want);
    ts_artifact_free_values(got, n_got);
  } else {
    CHECK_ERR(st, TS_ERR_RUNTIME, "main: a planned tensor needs more than its storage's");
  }
  for (int i = 0; i < 4; i++) ts_ndarray_release(in[i].u.tensor);
  ts_artifact_release(a);
}

TEST(symbolic_sizes) {
  char *text = ts_strdup_printf(k_symbolic, "");
  ts_module *m = parse(text);
  free(text);
  REQUIRE(m);
  CHECK_OK(ts_pipeline_run(m, "legalize,plan-memory", true, NULL, NULL));
  const ts_attr_value *p = ts_attrs_get(ts_module_gfunc(m, "main")->attrs, "tessera.memory_plan");
  REQUIRE(p && p->kind == TS_ATTR_DICT);
  const ts_attr_value *sizes = ts_attrs_get(p->u.dict, "storage_bytes");
  REQUIRE(sizes && sizes->kind == TS_ATTR_LIST);
  /* (n, 4) and (n, 8) tensors alternate: two tokens per size class, none
   * shared across classes; all sized at run time */
  for (int i = 0; i < sizes->u.list.n; i++) CHECK_EQ_INT(sizes->u.list.items[i]->u.i, -1);
  CHECK_EQ_INT(sizes->u.list.n, 4);
  run_symbolic(m, "sym", 5, true);
  run_symbolic(m, "sym2", 9, true);
  ts_module_destroy(m);

  text = ts_strdup_printf(k_symbolic,
                          "        R.func_attr({\"tir_var_upper_bound\": {\"n\": 16}})\n");
  m = parse(text);
  free(text);
  REQUIRE(m);
  CHECK_OK(ts_pipeline_run(m, "legalize,plan-memory", true, NULL, NULL));
  /* bounded: every size is static; the (16, 4) tensors fit in (16, 8) tokens */
  CHECK_EQ_INT(plan_int(m, "planned_bytes"), 2 * 16 * 8 * 4);
  CHECK_EQ_INT(plan_int(m, "unplanned_bytes"), 16 * 4 * 4 * 4 + 2 * 16 * 8 * 4);
  run_symbolic(m, "bound", 16, true);
  run_symbolic(m, "bound2", 17, false);
  ts_module_destroy(m);
}

/* Hand-written plans are checked by the VM compiler. */
TEST(rejects_unsafe_plans) {
  static const char *k_bad =
      "@I.ir_module\n"
      "class Module:\n"
      "    @R.function\n"
      "    def main(x: R.Tensor((2, 2), \"float32\")):\n"
      "        R.func_attr({\"tessera.memory_plan\": %s})\n"
      "        with R.dataflow():\n"
      "            a = R.call_dps_packed(\"env.relu\", (x,), out_sinfo=R.Tensor((2, 2), \"float32\"))\n"
      "            b = R.call_dps_packed(\"env.relu\", (a,), out_sinfo=R.Tensor((2, 2), \"float32\"))\n"
      "            c = R.call_dps_packed(\"env.relu\", (b,), out_sinfo=R.Tensor((2, 2), \"float32\"))\n"
      "            R.output(c)\n"
      "        return c\n";
  struct {
    const char *plan, *msg;
  } cases[] = {
      {"{\"tensors\": [\"a\", \"b\"], \"storage\": [0, 0], \"storage_bytes\": [16]}",
       "main: memory plan: 'a' and 'b' share storage 0 but are live at the same time"},
      {"{\"tensors\": [\"c\"], \"storage\": [0], \"storage_bytes\": [16]}",
       "main: memory plan: 'c' cannot live in planned storage"},
      {"{\"tensors\": [\"a\"], \"storage\": [3], \"storage_bytes\": [16]}",
       "main: memory plan: entry 0 needs a name and a token below 1"},
      {"[1, 2]", "main: memory plan: expected"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *text = ts_strdup_printf(k_bad, cases[i].plan);
    ts_module *m = parse(text);
    free(text);
    if (!m) {
      CHECK(m);
      continue;
    }
    ts_vm_program *p = NULL;
    ts_status *st = ts_vm_compile(m, &p);
    CHECK(st && strstr(ts_status_message(st), cases[i].msg));
    if (st && !strstr(ts_status_message(st), cases[i].msg))
      fprintf(stderr, "  got: %s\n", ts_status_message(st));
    ts_status_free(st);
    ts_bc_program_free(p);
    ts_module_destroy(m);
  }
  /* a and c do not overlap: sharing is fine */
  char *text = ts_strdup_printf(
      k_bad, "{\"tensors\": [\"a\", \"b\"], \"storage\": [0, 1], \"storage_bytes\": [16, 16]}");
  ts_module *m = parse(text);
  free(text);
  REQUIRE(m);
  ts_vm_program *p = NULL;
  CHECK_OK(ts_vm_compile(m, &p));
  ts_bc_program_free(p);
  ts_module_destroy(m);
}

int main(void) {
  ts_runtime_register_builtins();
  snprintf(g_dir, sizeof g_dir, "/tmp/tessera_test_plan_XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  RUN(resnet_block);
  RUN(transformer_encoder);
  RUN(symbolic_sizes);
  RUN(rejects_unsafe_plans);
  char *cmd = ts_strdup_printf("rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
  free(cmd);
  return CHECK_DONE();
}
