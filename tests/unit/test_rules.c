/* test_rules.c: the default schedule rules (pass "schedule-default") keep
 * every function's meaning.  For every module of the golden corpus
 * (tests/script, tests/e2e/interp) and for the rule cases below (matmuls that
 * take the micro-kernel with and without B packing, transposed B, batch
 * matmul, GEMV, a non-multiple N, elementwise, reductions and softmax, and
 * legalized graph functions), the module is legalized and scheduled; then
 *  1. the interpreter runs every scheduled PrimFunc and every graph function
 *     and is compared with the interpreter on the unscheduled module, and
 *  2. the scheduled module is compiled and compared with the interpreter on
 *     the original (the same comparison as test_differential).
 * Tolerances are test_differential's.  The rule cases also check that the
 * rule did schedule (tir.is_scheduled set, micro-kernel annotation present
 * where expected). */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "golden_util.h"
#include "ir/ir_util.h"
#include "tessera/build.h"
#include "tessera/transform.h"
#include "tessera/tune.h"
#include "tessera/vm.h"

static int compared = 0, skipped = 0;

typedef struct bind {
  const ts_var *v;
  int64_t value;
} bind;

static bool eval_dim(const ts_expr *e, const bind *b, int nb, int64_t sym,
                     int64_t *out) {
  switch (e->kind) {
  case TS_E_INT: *out = e->u.int_value; return true;
  case TS_E_VAR:
    for (int i = 0; i < nb; i++)
      if (b[i].v == e->u.var) {
        *out = b[i].value;
        return true;
      }
    *out = sym;
    return true;
  case TS_E_ADD: case TS_E_SUB: case TS_E_MUL: case TS_E_FLOORDIV: {
    int64_t x, y;
    if (!eval_dim(e->u.bin.a, b, nb, sym, &x) || !eval_dim(e->u.bin.b, b, nb, sym, &y))
      return false;
    *out = e->kind == TS_E_ADD ? x + y : e->kind == TS_E_SUB ? x - y
           : e->kind == TS_E_MUL ? x * y : (y ? x / y : 0);
    return true;
  }
  default: return false;
  }
}

static double tolerance(ts_dtype t) {
  if (t.code == TS_FLOAT && t.bits == 64) return 1e-10;
  if (t.code == TS_FLOAT && t.bits == 16) return 1e-2;
  if (ts_dtype_is_float(t)) return 1e-4;
  return 0;
}

static double max_rel_diff(const ts_ndarray *ref, const ts_ndarray *got) {
  double worst = 0;
  if (ts_ndarray_numel(ref) != ts_ndarray_numel(got)) return INFINITY;
  for (int64_t i = 0; i < ts_ndarray_numel(ref); i++) {
    double r = ts_ndarray_get_f64(ref, i), g = ts_ndarray_get_f64(got, i);
    if (isnan(r) && isnan(g)) continue;
    double d = fabs(r - g) / fmax(1.0, fabs(r));
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

static bool has_symbolic(const ts_primfunc *f) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer)
      for (int d = 0; d < f->params[i].buffer->ndim; d++)
        if (f->params[i].buffer->shape[d]->kind != TS_E_INT) return true;
  return false;
}

static void diff_primfunc(const char *file, ts_module *ref, ts_primfunc *f,
                          ts_artifact *art, int64_t sym) {
  const ts_artifact_param *ps;
  int n;
  ts_status *st = ts_artifact_kernel_params(art, f->name, &ps, &n);
  if (st) {
    CHECK_FAIL_("%s: %s: %s", file, f->name, ts_status_message(st));
    ts_status_free(st);
    return;
  }
  ts_value *a1 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  ts_value *a2 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  bind binds[16];
  int nb = 0;
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    const ts_param *p = &f->params[i];
    if (!p->buffer) {
      a1[i] = a2[i] = (ts_value){TS_VAL_INT, {.i = sym}};
      if (nb < 16) binds[nb++] = (bind){p->var, sym};
      continue;
    }
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < p->buffer->ndim; d++) {
      const ts_expr *x = p->buffer->shape[d];
      if (!eval_dim(x, binds, nb, sym, &shape[d])) ok = false;
      if (x->kind == TS_E_VAR && nb < 16) binds[nb++] = (bind){x->u.var, shape[d]};
    }
    if (!ok) break;
    ts_ndarray *x, *y;
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &x));
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &y));
    ts_ndarray_fill_random(x, 17 + (uint64_t)i);
    memcpy(ts_ndarray_data(y), ts_ndarray_data(x), ts_ndarray_nbytes(x));
    a1[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
    a2[i] = (ts_value){TS_VAL_TENSOR, {.tensor = y}};
  }
  if (ok) {
    ts_status *s1 = ts_interp_primfunc(ref, ts_module_primfunc(ref, f->name), a1, n);
    if (s1) {
      /* e.g. a division by a random zero: not a compiled-code question */
      fprintf(stderr, "  skip %s: %s: interpreter: %s\n", file, f->name,
              ts_status_message(s1));
      ts_status_free(s1);
      skipped++;
    } else {
      ts_status *s2 = ts_artifact_call_kernel(art, f->name, a2, n);
      if (s2) {
        CHECK_FAIL_("%s: %s: compiled: %s", file, f->name, ts_status_message(s2));
        ts_status_free(s2);
      } else {
        compared++;
        for (int i = 0; i < n; i++) {
          if (a1[i].kind != TS_VAL_TENSOR) continue;
          ts_dtype t = ts_ndarray_dtype(a1[i].u.tensor);
          double d = max_rel_diff(a1[i].u.tensor, a2[i].u.tensor);
          if (d > tolerance(t))
            CHECK_FAIL_("%s: %s (n=%lld): buffer %d differs by %g", file, f->name,
                        (long long)sym, i, d);
        }
      }
    }
  } else {
    fprintf(stderr, "  skip %s: %s: cannot size its buffers\n", file, f->name);
    skipped++;
  }
  for (int i = 0; i < n; i++) {
    if (a1[i].kind == TS_VAL_TENSOR && a1[i].u.tensor) ts_ndarray_release(a1[i].u.tensor);
    if (a2[i].kind == TS_VAL_TENSOR && a2[i].u.tensor) ts_ndarray_release(a2[i].u.tensor);
  }
  free(a1);
  free(a2);
}

static void diff_gfunc(const char *file, ts_module *ref, ts_gfunc *g,
                       ts_artifact *art, int64_t sym) {
  int n = g->n_params;
  ts_value *in = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  bool ok = true;
  for (int i = 0; i < n && ok; i++) {
    ts_sinfo *si = g->params[i]->sinfo;
    if (!si || si->kind != TS_SI_TENSOR || !si->u.tensor.shape) {
      ok = false;
      break;
    }
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < si->u.tensor.ndim; d++)
      if (!eval_dim(si->u.tensor.shape[d], NULL, 0, sym, &shape[d])) ok = false;
    if (!ok) break;
    ts_ndarray *x;
    CHECK_OK(ts_ndarray_create(si->u.tensor.ndim, shape, si->u.tensor.dtype, &x));
    ts_ndarray_fill_random(x, 31 + (uint64_t)i);
    in[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
  }
  ts_value *o1 = NULL, *o2 = NULL;
  int n1 = 0, n2 = 0;
  if (!ok) {
    fprintf(stderr, "  skip %s: %s: non-tensor parameters\n", file, g->name);
    skipped++;
  } else {
    ts_status *s1 = ts_interp_gfunc(ref, ts_module_gfunc(ref, g->name), in, n, &o1, &n1);
    if (s1) {
      fprintf(stderr, "  skip %s: %s: interpreter: %s\n", file, g->name,
              ts_status_message(s1));
      ts_status_free(s1);
      skipped++;
    } else {
      ts_status *s2 = ts_artifact_run(art, g->name, in, n, &o2, &n2);
      if (s2) {
        CHECK_FAIL_("%s: %s: compiled: %s", file, g->name, ts_status_message(s2));
        ts_status_free(s2);
      } else if (n1 != n2) {
        CHECK_FAIL_("%s: %s: %d outputs vs %d", file, g->name, n1, n2);
      } else {
        compared++;
        for (int i = 0; i < n1; i++) {
          if (o1[i].kind != TS_VAL_TENSOR) continue;
          double d = max_rel_diff(o1[i].u.tensor, o2[i].u.tensor);
          if (d > tolerance(ts_ndarray_dtype(o1[i].u.tensor)))
            CHECK_FAIL_("%s: %s (n=%lld): output %d differs by %g", file, g->name,
                        (long long)sym, i, d);
        }
      }
    }
  }
  if (o1) ts_interp_free_values(o1, n1);
  if (o2) ts_artifact_free_values(o2, n2);
  for (int i = 0; i < n; i++)
    if (in[i].u.tensor) ts_ndarray_release(in[i].u.tensor);
  free(in);
}


/* Interpreter on the scheduled PrimFunc vs the interpreter on the original. */
static void interp_primfunc(const char *file, ts_module *ref, ts_module *m,
                            ts_primfunc *f) {
  ts_primfunc *g = ts_module_primfunc(m, f->name);
  if (!g || has_symbolic(f)) return;
  int n = f->n_params;
  ts_value *a1 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  ts_value *a2 = ts_xcalloc((size_t)n + 1, sizeof(ts_value));
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const ts_param *p = &f->params[i];
    if (!p->buffer) {
      ok = false;
      break;
    }
    int64_t shape[TS_MAX_NDIM];
    for (int d = 0; d < p->buffer->ndim; d++) shape[d] = p->buffer->shape[d]->u.int_value;
    ts_ndarray *x, *y;
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &x));
    CHECK_OK(ts_ndarray_create(p->buffer->ndim, shape, p->buffer->dtype, &y));
    ts_ndarray_fill_random(x, 5 + (uint64_t)i);
    memcpy(ts_ndarray_data(y), ts_ndarray_data(x), ts_ndarray_nbytes(x));
    a1[i] = (ts_value){TS_VAL_TENSOR, {.tensor = x}};
    a2[i] = (ts_value){TS_VAL_TENSOR, {.tensor = y}};
  }
  if (ok) {
    ts_status *s1 = ts_interp_primfunc(ref, f, a1, n);
    if (s1) {
      ts_status_free(s1);
    } else {
      ts_status *s2 = ts_interp_primfunc(m, g, a2, n);
      if (s2) {
        CHECK_FAIL_("%s: %s: interpreter on the scheduled function: %s", file, f->name,
                    ts_status_message(s2));
        ts_status_free(s2);
      } else {
        for (int i = 0; i < n; i++) {
          double d = max_rel_diff(a1[i].u.tensor, a2[i].u.tensor);
          if (d > tolerance(ts_ndarray_dtype(a1[i].u.tensor)))
            CHECK_FAIL_("%s: %s: scheduled (interpreted) buffer %d differs by %g", file,
                        f->name, i, d);
        }
      }
    }
  }
  for (int i = 0; i < n; i++) {
    if (a1[i].kind == TS_VAL_TENSOR && a1[i].u.tensor) ts_ndarray_release(a1[i].u.tensor);
    if (a2[i].kind == TS_VAL_TENSOR && a2[i].u.tensor) ts_ndarray_release(a2[i].u.tensor);
  }
  free(a1);
  free(a2);
}

static int n_micro = 0, n_rf = 0, n_packed = 0;
static bool find_micro(const ts_stmt *s, void *ctx) {
  (void)ctx;
  if (s->kind == TS_S_FOR && ts_attrs_get(s->u.for_.annotations, "tessera.micro_kernel"))
    n_micro++;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const char *nm = s->u.realize.block->name;
    size_t l = strlen(nm);
    if (strstr(nm, "_rf")) n_rf++;
    if (l > 7 && !strcmp(nm + l - 7, "_global")) n_packed++;
  }
  return true;
}

/* want_micro == -2: the GEMV path (rfactor, no packing, no micro-kernel) */

static void run_module(const char *name, ts_module *ref, const char *tmp,
                       int want_micro) {
  ts_module *legal = ts_module_copy(ref);
  ts_status *st = ts_pipeline_run(legal, "legalize", true, NULL, NULL);
  ts_module *m = NULL;
  if (!st) {
    m = ts_module_copy(legal);
    st = ts_pipeline_run(m, "schedule-default[cpu -mcpu=native]", true, NULL, NULL);
  }
  char *so = ts_strdup_printf("%s/m.so", tmp);
  if (!st) st = ts_build_artifact(m, NULL, so, NULL);
  ts_artifact *art = NULL;
  if (!st) st = ts_artifact_load(so, &art);
  if (st) {
    if (want_micro >= 0 || want_micro == -2) CHECK_FAIL_("%s: %s", name, ts_status_message(st));
    else fprintf(stderr, "  skip %s: build: %s\n", name, ts_status_message(st));
    skipped++;
    ts_status_free(st);
  } else {
    n_micro = n_rf = n_packed = 0;
    for (int i = 0; i < m->n_funcs; i++) {
      if (m->funcs[i].kind != TS_FUNC_PRIM) continue;
      ts_primfunc *g = m->funcs[i].u.prim;
      const ts_attr_value *v = ts_attrs_get(g->attrs, "tir.is_scheduled");
      CHECK(v != NULL);
      ts_stmt_visit(g->body, find_micro, NULL, NULL);
    }
    if (want_micro > 0) CHECK(n_micro >= want_micro);
    if (want_micro == -2) {
      CHECK(n_rf > 0);
      CHECK(n_packed == 0);
      CHECK(n_micro == 0);
    }
    for (int i = 0; i < legal->n_funcs; i++)
      if (legal->funcs[i].kind == TS_FUNC_PRIM)
        interp_primfunc(name, legal, m, legal->funcs[i].u.prim);
    for (int i = 0; i < ref->n_funcs; i++) {
      ts_func *f = &ref->funcs[i];
      if (f->kind == TS_FUNC_PRIM) {
        diff_primfunc(name, ref, f->u.prim, art, 3);
        if (has_symbolic(f->u.prim)) diff_primfunc(name, ref, f->u.prim, art, 5);
      } else if (f->kind == TS_FUNC_GRAPH) {
        bool tensors = ts_module_gfunc(m, f->name) != NULL;
        for (int k = 0; tensors && k < f->u.graph->n_params; k++) {
          const ts_sinfo *si = f->u.graph->params[k]->sinfo;
          tensors = si && si->kind == TS_SI_TENSOR && si->u.tensor.shape;
          for (int d = 0; tensors && d < si->u.tensor.ndim; d++)
            tensors = si->u.tensor.shape[d]->kind == TS_E_INT;
        }
        if (tensors) {
          double d = golden_compare_gfunc(legal, m, f->name, 3, 3);
          if (d < 0 || d > 1e-4)
            CHECK_FAIL_("%s: %s: scheduled (interpreted) differs by %g", name, f->name, d);
        }
        diff_gfunc(name, ref, f->u.graph, art, 3);
      }
    }
    ts_artifact_release(art);
  }
  unlink(so);
  free(so);
  if (m) ts_module_destroy(m);
  ts_module_destroy(legal);
}

static void run_text(const char *name, const char *text, const char *tmp,
                     int want_micro) {
  ts_module *ref = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), name, &ref);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return;
  }
  run_module(name, ref, tmp, want_micro);
  ts_module_destroy(ref);
}

#define MM(NAME, M, K, N)                                                       \
  "@I.ir_module\nclass Module:\n    @T.prim_func\n    def " NAME                \
  "(A: T.Buffer((" #M ", " #K "), \"float32\"), B: T.Buffer((" #K ", " #N       \
  "), \"float32\"), C: T.Buffer((" #M ", " #N "), \"float32\")):\n"             \
  "        for i, j, k in T.grid(" #M ", " #N ", " #K "):\n"                    \
  "            with T.block(\"matmul\"):\n"                                     \
  "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"             \
  "                with T.init():\n"                                            \
  "                    C[vi, vj] = T.float32(0)\n"                              \
  "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"

static const char *dense_relu =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def dense_relu(A: T.Buffer((16, 24), \"float32\"), B: T.Buffer((64, 24), \"float32\"),"
    " D: T.Buffer((16, 64), \"float32\")):\n"
    "        C = T.alloc_buffer((16, 64), \"float32\")\n"
    "        for i, j, k in T.grid(16, 64, 24):\n"
    "            with T.block(\"matmul\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    C[vi, vj] = T.float32(0)\n"
    "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vj, vk]\n"
    "        for i, j in T.grid(16, 64):\n"
    "            with T.block(\"relu\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                D[vi, vj] = T.max(C[vi, vj], T.float32(0))\n";

#define DENSE_RELU(NAME, M, K, N)                                               \
  "@I.ir_module\nclass Module:\n    @T.prim_func\n    def " NAME              \
  "(A: T.Buffer((" #M ", " #K "), \"float32\"), B: T.Buffer((" #N ", " #K     \
  "), \"float32\"), D: T.Buffer((" #M ", " #N "), \"float32\")):\n"           \
  "        C = T.alloc_buffer((" #M ", " #N "), \"float32\")\n"               \
  "        for i, j, k in T.grid(" #M ", " #N ", " #K "):\n"                   \
  "            with T.block(\"matmul\"):\n"                                    \
  "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"            \
  "                with T.init():\n"                                           \
  "                    C[vi, vj] = T.float32(0)\n"                             \
  "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vj, vk]\n"            \
  "        for i, j in T.grid(" #M ", " #N "):\n"                              \
  "            with T.block(\"relu\"):\n"                                     \
  "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"                    \
  "                D[vi, vj] = T.max(C[vi, vj], T.float32(0))\n"

static const char *bmm =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def bmm(A: T.Buffer((3, 8, 20), \"float32\"), B: T.Buffer((3, 20, 32), \"float32\"),"
    " C: T.Buffer((3, 8, 32), \"float32\")):\n"
    "        for b, i, j, k in T.grid(3, 8, 32, 20):\n"
    "            with T.block(\"matmul\"):\n"
    "                vb, vi, vj, vk = T.axis.remap(\"SSSR\", [b, i, j, k])\n"
    "                with T.init():\n"
    "                    C[vb, vi, vj] = T.float32(0)\n"
    "                C[vb, vi, vj] = C[vb, vi, vj] + A[vb, vi, vk] * B[vb, vk, vj]\n";

static const char *bgemv =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def bgemv(A: T.Buffer((3, 2, 48), \"float32\"), B: T.Buffer((3, 20, 48), \"float32\"),"
    " C: T.Buffer((3, 2, 20), \"float32\")):\n"
    "        for b, i, j, k in T.grid(3, 2, 20, 48):\n"
    "            with T.block(\"matmul\"):\n"
    "                vb, vi, vj, vk = T.axis.remap(\"SSSR\", [b, i, j, k])\n"
    "                with T.init():\n"
    "                    C[vb, vi, vj] = T.float32(0)\n"
    "                C[vb, vi, vj] = C[vb, vi, vj] + A[vb, vi, vk] * B[vb, vj, vk]\n";

static const char *graph =
    "@I.ir_module\nclass Module:\n    @R.function\n"
    "    def main(x: R.Tensor((64, 96), \"float32\"), w: R.Tensor((96, 128), \"float32\"),"
    " b: R.Tensor((128,), \"float32\"), y: R.Tensor((2, 16, 48), \"float32\"),"
    " z: R.Tensor((4, 8, 12), \"float32\"), v: R.Tensor((12, 32), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.matmul(x, w)\n"
    "            lv1 = R.add(lv0, b)\n"
    "            lv2 = R.nn.relu(lv1)\n"
    "            lv3 = R.nn.softmax(lv2, axis=-1)\n"
    "            lv4 = R.nn.relu(y)\n"
    "            lv5 = R.matmul(z, v)\n"
    "            gv = (lv3, lv4, lv5)\n"
    "            R.output(gv)\n"
    "        return gv\n";

int main(void) {
  ts_runtime_register_builtins();
  char tmpl[] = "/tmp/ts_rules_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  struct {
    const char *name, *text;
    int micro;
  } cases[] = {
      {"mm_64x48x64", MM("mm", 64, 48, 64), 1},
      {"mm_gemv_1x40x256", MM("gemv", 1, 40, 256), 1},
      {"mm_packed_16x8x1056", MM("mmp", 16, 8, 1056), 1},
      {"mm_odd_6x10x24", MM("mmo", 6, 10, 24), 0},
      {"mm_odd_7x5x9", MM("mm7", 7, 5, 9), 0},
      {"dense_relu", dense_relu, 1},
      {"dense_gemv_1x784x128", DENSE_RELU("dgemv", 1, 784, 128), -2},
      {"dense_gemv_3x40x30", DENSE_RELU("dgemv3", 3, 40, 30), -2},
      {"dense_gemv_1x24x7", DENSE_RELU("dgemv7", 1, 24, 7), -2},
      {"dense_gemv_1x1024x1024", DENSE_RELU("dgemvp", 1, 1024, 1024), -2},
      {"bgemv", bgemv, -2},
      {"bmm", bmm, 1},
      {"graph", graph, 1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    check_cur_failed_ = 0;
    check_run_tests_++;
    run_text(cases[i].name, cases[i].text, tmpl, cases[i].micro);
    if (check_cur_failed_) check_failed_tests_++;
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", cases[i].name);
  }
  const char *dirs[] = {"script", "e2e/interp"};
  for (int d = 0; d < 2; d++) {
    char **files;
    int n = golden_list(dirs[d], ".tvmscript", &files);
    for (int i = 0; i < n; i++) {
      check_cur_failed_ = 0;
      check_run_tests_++;
      ts_module *ref = NULL;
      ts_status *st = ts_script_parse_file(files[i], &ref);
      if (st) {
        CHECK_FAIL_("%s", ts_status_render(st));
        ts_status_free(st);
      } else {
        run_module(files[i], ref, tmpl, -1);
        ts_module_destroy(ref);
      }
      if (check_cur_failed_) check_failed_tests_++;
      fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", files[i]);
      free(files[i]);
    }
    free(files);
  }
  rmdir(tmpl);
  fprintf(stderr, "compared %d functions, skipped %d\n", compared, skipped);
  CHECK(compared >= 80);
  return CHECK_DONE();
}
