/* test_vm.c: the VM compiler, the artifact and the interpreter end to end:
 * a TVMScript module (call_tir to a matmul PrimFunc with a symbolic row
 * count, call_dps_packed("env.relu"), an output of symbolic shape n * 2, a
 * constant, a call between graph functions) is built into a .so, loaded,
 * and run with two values of n; outputs are checked against C.  Also: the
 * error messages of bad inputs, unlegalized operators, the disassembler,
 * the profile and the dump hooks. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ops/ops.h"
#include "runtime/bytecode.h"
#include "tessera/build.h"
#include "tessera/script.h"
#include "tessera/vm.h"
#include "vm/vm_internal.h"

static const char *k_module =
    "from tvm.script import ir as I, tir as T, relax as R\n"
    "\n"
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def matmul(a: T.handle, b: T.handle, c: T.handle):\n"
    "        n = T.int64()\n"
    "        A = T.match_buffer(a, (n, 4), \"float32\")\n"
    "        B = T.match_buffer(b, (4, 3), \"float32\")\n"
    "        C = T.match_buffer(c, (n, 3), \"float32\")\n"
    "        for i, j, k in T.grid(n, 3, 4):\n"
    "            with T.block(\"C\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    C[vi, vj] = T.float32(0)\n"
    "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "\n"
    "    @T.prim_func\n"
    "    def dup(a: T.handle, c: T.handle):\n"
    "        n = T.int64()\n"
    "        A = T.match_buffer(a, (n, 3), \"float32\")\n"
    "        C = T.match_buffer(c, (n * 2, 3), \"float32\")\n"
    "        for i, j in T.grid(n * 2, 3):\n"
    "            with T.block(\"D\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                C[vi, vj] = A[vi % n, vj]\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\", 4), \"float32\"), w: R.Tensor((4, 3), \"float32\")):\n"
    "        n = T.int64()\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(cls.matmul, (x, w), out_sinfo=R.Tensor((n, 3), \"float32\"))\n"
    "            lv1 = R.call_dps_packed(\"env.relu\", (lv0,), out_sinfo=R.Tensor((n, 3), \"float32\"))\n"
    "            lv2 = R.call_tir(cls.dup, (lv1,), out_sinfo=R.Tensor((n * 2, 3), \"float32\"))\n"
    "            R.output(lv1, lv2)\n"
    "        return (lv1, lv2)\n"
    "\n"
    "    @R.function\n"
    "    def pair(x: R.Tensor((\"n\", 4), \"float32\"), y: R.Tensor((\"n\", 3), \"float32\")):\n"
    "        return y\n"
    "\n"
    "    @R.function\n"
    "    def outer(x: R.Tensor((\"n\", 4), \"float32\"), w: R.Tensor((4, 3), \"float32\")):\n"
    "        cls = Module\n"
    "        t = cls.main(x, w)\n"
    "        u = t[1]\n"
    "        return u\n";

static char g_dir[64];

static ts_module *parse(const char *text) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), "test.tvmscript", &m);
  if (st) {
    fprintf(stderr, "%s\n", ts_status_render(st));
    ts_status_free(st);
    return NULL;
  }
  return m;
}

static ts_ndarray *arr(int ndim, const int64_t *shape, ts_dtype t, uint64_t seed) {
  ts_ndarray *a = NULL;
  CHECK_OK(ts_ndarray_create(ndim, shape, t, &a));
  if (a) ts_ndarray_fill_random(a, seed);
  return a;
}

/* Adds `with_const(x) = matmul(x, W)` with W a module constant. */
static void add_const_func(ts_module *m) {
  ts_arena *A = ts_module_arena(m);
  ts_gfunc *main = ts_module_gfunc(m, "main");
  ts_const_data *cd = ts_arena_alloc(A, sizeof *cd);
  cd->dtype = TS_F32;
  cd->ndim = 2;
  cd->shape = ts_arena_array(A, 2, sizeof(int64_t));
  cd->shape[0] = 4;
  cd->shape[1] = 3;
  cd->nbytes = 12 * sizeof(float);
  cd->data = ts_arena_alloc_aligned(A, cd->nbytes, 64);
  for (int i = 0; i < 12; i++) ((float *)cd->data)[i] = (float)i - 5.0f;
  ts_gexpr *c = ts_gexpr_new(A, TS_G_CONST, (ts_loc){0});
  c->u.constant = cd;
  const ts_gexpr *call0 = main->blocks[0].bindings[0].value; /* lv0 = call_tir */
  ts_gexpr *call = ts_gexpr_new(A, TS_G_CALL, (ts_loc){0});
  *call = *call0;
  call->u.call.args = ts_arena_array(A, 2, sizeof(ts_gexpr *));
  call->u.call.args[0] = call0->u.call.args[0];
  ts_gexpr *tup = ts_gexpr_new(A, TS_G_TUPLE, (ts_loc){0});
  tup->u.tuple.n = 2;
  tup->u.tuple.fields = ts_arena_array(A, 2, sizeof(ts_gexpr *));
  tup->u.tuple.fields[0] = call0->u.call.args[1]->u.tuple.fields[0];
  tup->u.tuple.fields[1] = c;
  call->u.call.args[1] = tup;
  call->u.call.n_args = 2;
  ts_gfunc *f = ts_arena_alloc(A, sizeof *f);
  f->name = "with_const";
  f->n_params = 1;
  f->params = main->params;
  f->blocks = ts_arena_alloc(A, sizeof(ts_binding_block));
  f->n_blocks = 1;
  f->blocks[0].n = 1;
  f->blocks[0].bindings = ts_arena_alloc(A, sizeof(ts_binding));
  f->blocks[0].bindings[0].kind = TS_BIND_VAR;
  f->blocks[0].bindings[0].var = main->blocks[0].bindings[0].var;
  f->blocks[0].bindings[0].value = call;
  ts_gexpr *res = ts_gexpr_new(A, TS_G_VAR, (ts_loc){0});
  res->u.var = main->blocks[0].bindings[0].var;
  f->result = res;
  ts_module_set(m, (ts_func){.kind = TS_FUNC_GRAPH, .name = "with_const", .u.graph = f});
}

static ts_artifact *g_art;

TEST(builds_and_loads) {
  ts_module *m = parse(k_module);
  REQUIRE(m);
  add_const_func(m);
  char *so = ts_strdup_printf("%s/m.so", g_dir);
  char *emit = ts_strdup_printf("%s/emit", g_dir);
  CHECK_OK(ts_build_artifact(m, NULL, so, emit));
  ts_module_destroy(m);
  char *blob = ts_strdup_printf("%s/blob.bin", emit);
  CHECK(access(blob, F_OK) == 0);
  CHECK_OK(ts_artifact_load(so, &g_art));
  free(blob);
  free(so);
  free(emit);
  REQUIRE(g_art);
  const char *const *names;
  int n;
  ts_artifact_function_names(g_art, &names, &n);
  CHECK_EQ_INT(n, 4);
  CHECK_EQ_STR(names[0], "main");
  const ts_artifact_param *ps;
  CHECK_OK(ts_artifact_function_params(g_art, "main", &ps, &n));
  CHECK_EQ_INT(n, 2);
  CHECK_EQ_STR(ps[0].name, "x");
  CHECK_EQ_INT(ps[0].ndim, 2);
  CHECK_EQ_INT(ps[0].shape[0], -1);
  CHECK_EQ_INT(ps[0].shape[1], 4);
  CHECK(ts_dtype_eq(ps[0].dtype, TS_F32));
  CHECK_OK(ts_artifact_kernel_params(g_art, "matmul", &ps, &n));
  CHECK_EQ_INT(n, 3);
  CHECK(!ps[0].is_output && !ps[1].is_output && ps[2].is_output);
  CHECK_ERR(ts_artifact_function_params(g_art, "foo", &ps, &n), TS_ERR_NAME,
            "unknown function 'foo'");
}

static void expect_main(int64_t nrows, ts_value *outs, int n_outs,
                        ts_ndarray *x, ts_ndarray *w) {
  REQUIRE(n_outs == 2);
  REQUIRE(outs[0].kind == TS_VAL_TENSOR && outs[1].kind == TS_VAL_TENSOR);
  ts_ndarray *r = outs[0].u.tensor, *d = outs[1].u.tensor;
  CHECK_EQ_INT(ts_ndarray_shape(r)[0], nrows);
  CHECK_EQ_INT(ts_ndarray_shape(d)[0], nrows * 2);
  const float *X = ts_ndarray_data(x), *W = ts_ndarray_data(w);
  const float *R = ts_ndarray_data(r), *D = ts_ndarray_data(d);
  for (int64_t i = 0; i < nrows; i++)
    for (int j = 0; j < 3; j++) {
      float s = 0;
      for (int k = 0; k < 4; k++) s += X[i * 4 + k] * W[k * 3 + j];
      if (s < 0) s = 0;
      CHECK_NEAR(R[i * 3 + j], s, 1e-5);
      CHECK_NEAR(D[i * 3 + j], s, 1e-5);
      CHECK_NEAR(D[(i + nrows) * 3 + j], s, 1e-5);
    }
}

TEST(runs_with_two_shapes) {
  REQUIRE(g_art);
  int64_t ws[2] = {4, 3};
  ts_ndarray *w = arr(2, ws, TS_F32, 7);
  for (int64_t nrows = 2; nrows <= 5; nrows += 3) {
    int64_t xs[2] = {nrows, 4};
    ts_ndarray *x = arr(2, xs, TS_F32, (uint64_t)nrows);
    ts_value in[2] = {{.kind = TS_VAL_TENSOR, .u.tensor = x},
                      {.kind = TS_VAL_TENSOR, .u.tensor = w}};
    ts_value *outs = NULL;
    int n_outs = 0;
    CHECK_OK(ts_artifact_run(g_art, "main", in, 2, &outs, &n_outs));
    expect_main(nrows, outs, n_outs, x, w);
    ts_artifact_free_values(outs, n_outs);
    /* outer calls main and picks the second field */
    CHECK_OK(ts_artifact_run(g_art, "outer", in, 2, &outs, &n_outs));
    CHECK_EQ_INT(n_outs, 1);
    if (n_outs == 1) CHECK_EQ_INT(ts_ndarray_shape(outs[0].u.tensor)[0], nrows * 2);
    ts_artifact_free_values(outs, n_outs);
    /* with_const multiplies by the constant W[k][j] = 3k + j - 5 */
    CHECK_OK(ts_artifact_run(g_art, "with_const", in, 1, &outs, &n_outs));
    CHECK_EQ_INT(n_outs, 1);
    if (n_outs == 1) {
      const float *X = ts_ndarray_data(x), *R = ts_ndarray_data(outs[0].u.tensor);
      for (int64_t i = 0; i < nrows; i++)
        for (int j = 0; j < 3; j++) {
          float s = 0;
          for (int k = 0; k < 4; k++) s += X[i * 4 + k] * (float)(3 * k + j - 5);
          CHECK_NEAR(R[i * 3 + j], s, 1e-5);
        }
    }
    ts_artifact_free_values(outs, n_outs);
    ts_ndarray_release(x);
  }
  ts_ndarray_release(w);
}

TEST(reports_bad_inputs) {
  REQUIRE(g_art);
  int64_t xs[2] = {4, 4}, ws[2] = {4, 3}, w2s[2] = {4, 2}, x3[3] = {4, 4, 1},
          ys[2] = {5, 3};
  ts_ndarray *x = arr(2, xs, TS_F32, 1), *w = arr(2, ws, TS_F32, 2);
  ts_ndarray *xd = arr(2, xs, TS_F64, 3), *w2 = arr(2, w2s, TS_F32, 4);
  ts_ndarray *xr = arr(3, x3, TS_F32, 5), *y = arr(2, ys, TS_F32, 6);
  ts_value *outs = NULL;
  int n = 0;
#define V(t) {.kind = TS_VAL_TENSOR, .u.tensor = (t)}
  ts_value a[2] = {V(x), V(w)};
  CHECK_ERR(ts_artifact_run(g_art, "foo", a, 2, &outs, &n), TS_ERR_NAME,
            "unknown function 'foo'");
  CHECK_ERR(ts_artifact_run(g_art, "main", a, 1, &outs, &n), TS_ERR_VALUE,
            "main expects 2 inputs, got 1");
  ts_value b[2] = {V(xd), V(w)};
  CHECK_ERR(ts_artifact_run(g_art, "main", b, 2, &outs, &n), TS_ERR_TYPE,
            "main: parameter 'x': expected float32, got float64");
  ts_value c[2] = {V(xr), V(w)};
  CHECK_ERR(ts_artifact_run(g_art, "main", c, 2, &outs, &n), TS_ERR_TYPE,
            "main: parameter 'x': expected rank 2, got rank 3");
  ts_value d[2] = {V(x), V(w2)};
  CHECK_ERR(ts_artifact_run(g_art, "main", d, 2, &outs, &n), TS_ERR_TYPE,
            "main: parameter 'w': dimension 1 is 3, got 2");
  ts_value e[2] = {V(x), V(y)};
  CHECK_ERR(ts_artifact_run(g_art, "pair", e, 2, &outs, &n), TS_ERR_TYPE,
            "pair: parameter 'y': dimension 0 (n) is 4 from an earlier argument, got 5");
  /* a kernel called directly checks its arguments too */
  ts_value k[3] = {V(x), V(w), V(x)};
  CHECK_ERR(ts_artifact_call_kernel(g_art, "matmul", k, 3), TS_ERR_TYPE,
            "kernel 'matmul': parameter 'C': dimension 1 is 3, got 4");
#undef V
  CHECK(outs == NULL);
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(xd);
  ts_ndarray_release(w2);
  ts_ndarray_release(xr);
  ts_ndarray_release(y);
}

TEST(disassembles) {
  REQUIRE(g_art);
  char *text = NULL;
  CHECK_OK(ts_artifact_disassemble(g_art, &text));
  CHECK_CONTAINS(text, "function main(x: float32[?, 4], w: float32[4, 3])");
  CHECK_CONTAINS(text, "match_tensor r0, parameter 'x', float32, [bind s0(n), 4]");
  CHECK_CONTAINS(text, "call_kernel  matmul(r0, r1) -> (r2)");
  CHECK_CONTAINS(text, "call_packed  \"env.relu\"");
  CHECK_CONTAINS(text, "shape_arith  s1 = mul s0(n), 2");
  CHECK_CONTAINS(text, "kill");
  CHECK_CONTAINS(text, "constant 0: float32[4, 3] (48 bytes)");
  free(text);
}

TEST(profiles_and_dumps) {
  REQUIRE(g_art);
  char *dump = ts_strdup_printf("%s/dump", g_dir);
  mkdir(dump, 0777);
  ts_vm_options o = {.profile = true, .dump_dir = dump};
  ts_artifact_set_options(g_art, &o);
  int64_t xs[2] = {3, 4}, ws[2] = {4, 3};
  ts_ndarray *x = arr(2, xs, TS_F32, 1), *w = arr(2, ws, TS_F32, 2);
  ts_value in[2] = {{.kind = TS_VAL_TENSOR, .u.tensor = x},
                    {.kind = TS_VAL_TENSOR, .u.tensor = w}};
  ts_value *outs = NULL;
  int n = 0;
  CHECK_OK(ts_artifact_run(g_art, "main", in, 2, &outs, &n));
  ts_artifact_free_values(outs, n);
  char *report = ts_artifact_profile_report(g_art);
  CHECK_CONTAINS(report, "matmul");
  CHECK_CONTAINS(report, "env.relu");
  CHECK_CONTAINS(report, "share %");
  free(report);
  const char *files[] = {"lv0__in0.npy", "lv0__in1.npy", "lv0__out.npy", "lv1__in0.npy",
                         "lv1__out.npy", "lv2__out.npy"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char *p = ts_strdup_printf("%s/%s", dump, files[i]);
    CHECK(access(p, F_OK) == 0);
    if (access(p, F_OK) != 0) fprintf(stderr, "  missing %s\n", p);
    free(p);
  }
  ts_artifact_set_options(g_art, NULL);
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  free(dump);
}

TEST(requires_legalized_ops) {
  const char *text =
      "from tvm.script import ir as I, relax as R\n"
      "@I.ir_module\n"
      "class M:\n"
      "    @R.function\n"
      "    def main(x: R.Tensor((2, 3), \"float32\")):\n"
      "        with R.dataflow():\n"
      "            y = R.nn.relu(x)\n"
      "            R.output(y)\n"
      "        return y\n";
  ts_module *m = parse(text);
  REQUIRE(m);
  char *so = ts_strdup_printf("%s/bad.so", g_dir);
  CHECK_ERR(ts_build_artifact(m, NULL, so, NULL), TS_ERR_UNSUPPORTED,
            "R.nn.relu: operator must be legalized before the build (run the 'legalize' "
            "pass)");
  CHECK(access(so, F_OK) != 0);
  ts_vm_program *p = NULL;
  ts_status *st = ts_vm_compile(m, &p);
  CHECK(st != NULL);
  if (st) CHECK_CONTAINS(ts_status_message(st), "test.tvmscript:7:");
  ts_status_free(st);
  free(so);
  ts_module_destroy(m);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/tessera_test_vm_XXXXXX");
  if (!mkdtemp(g_dir)) return 1;
  RUN(builds_and_loads);
  RUN(runs_with_two_shapes);
  RUN(reports_bad_inputs);
  RUN(disassembles);
  RUN(profiles_and_dumps);
  RUN(requires_legalized_ops);
  ts_artifact_release(g_art);
  char *cmd = ts_strdup_printf("rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", g_dir);
  free(cmd);
  return CHECK_DONE();
}
