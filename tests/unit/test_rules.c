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

#include "diff_util.h"


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

static int n_micro = 0, n_rf = 0, n_packed = 0, n_unroll4 = 0, n_partial = 0;
/* the register tile of the last micro-kernel nest seen (its two innermost
 * loops) */
static int64_t tile_mr = 0, tile_nr = 0, tile_k = 0;
/* the extent of the first parallel loop seen */
static int64_t par_ext = 0;
static bool find_micro(const ts_stmt *s, void *ctx) {
  (void)ctx;
  int64_t ext;
  if (s->kind == TS_S_FOR && ts_attrs_get(s->u.for_.annotations, "tessera.micro_kernel")) {
    /* the nest: reduction loops, then MR, then NR, then the update block
     * (a predicate on it: the last row tile is partial) */
    ts_expr_is_const_int(s->u.for_.extent, &tile_k);
    const ts_stmt *l = s;
    while (l->u.for_.body && l->u.for_.body->kind == TS_S_FOR &&
           l->u.for_.body->u.for_.body && l->u.for_.body->u.for_.body->kind == TS_S_FOR)
      l = l->u.for_.body;
    const ts_stmt *j = l->u.for_.body;
    if (j && j->kind == TS_S_FOR) {
      ts_expr_is_const_int(l->u.for_.extent, &tile_mr);
      ts_expr_is_const_int(j->u.for_.extent, &tile_nr);
      if (j->u.for_.body && j->u.for_.body->kind == TS_S_BLOCK_REALIZE &&
          j->u.for_.body->u.realize.predicate)
        n_partial++;
    }
  }
  if (s->kind == TS_S_FOR && s->u.for_.kind == TS_FOR_UNROLLED &&
      ts_expr_is_const_int(s->u.for_.extent, &ext) && ext == 4)
    n_unroll4++;
  if (s->kind == TS_S_FOR && ts_attrs_get(s->u.for_.annotations, "tessera.micro_kernel"))
    n_micro++;
  if (s->kind == TS_S_FOR && s->u.for_.kind == TS_FOR_PARALLEL && !par_ext)
    ts_expr_is_const_int(s->u.for_.extent, &par_ext);
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const char *nm = s->u.realize.block->name;
    size_t l = strlen(nm);
    if (strstr(nm, "_rf")) n_rf++;
    if (l > 7 && !strcmp(nm + l - 7, "_global")) n_packed++;
  }
  return true;
}

/* want_micro == -2: the GEMV path (rfactor, no packing, no micro-kernel);
 * want_packed: at least that many packing blocks (B, A) */
static int want_packed = 0;
/* the target the rules schedule for (cache sizes fixed where the choice
 * depends on them) */
static const char *sched_target = "cpu -mcpu=native";

static void run_module(const char *name, ts_module *ref, const char *tmp,
                       int want_micro) {
  ts_module *legal = ts_module_copy(ref);
  ts_status *st = ts_pipeline_run(legal, "legalize", true, NULL, NULL);
  ts_module *m = NULL;
  if (!st) {
    m = ts_module_copy(legal);
    char *pipe = ts_strdup_printf("schedule-default[%s]", sched_target);
    st = ts_pipeline_run(m, pipe, true, NULL, NULL);
    free(pipe);
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
    n_micro = n_rf = n_packed = n_unroll4 = n_partial = 0;
    tile_mr = tile_nr = tile_k = par_ext = 0;
    for (int i = 0; i < m->n_funcs; i++) {
      if (m->funcs[i].kind != TS_FUNC_PRIM) continue;
      ts_primfunc *g = m->funcs[i].u.prim;
      const ts_attr_value *v = ts_attrs_get(g->attrs, "tir.is_scheduled");
      CHECK(v != NULL);
      ts_stmt_visit(g->body, find_micro, NULL, NULL);
    }
    if (want_micro > 0) CHECK(n_micro >= want_micro);
    if (want_packed > 0) CHECK(n_packed >= want_packed);
    /* the softmax over rows of 128: its max and its sum reduced in vector
     * lanes (rfactor blocks) */
    if (!strcmp(name, "graph")) CHECK(n_rf >= 2);
    /* one row, N not a multiple of the vector: k by 4 unrolled inside the
     * vectorized j where 4 divides K */
    if (!strcmp(name, "mm_row_1x40x10")) CHECK_EQ_INT(n_unroll4, 1);
    if (!strcmp(name, "mm_row_1x42x10")) CHECK_EQ_INT(n_unroll4, 0);
    /* a wide row on two cores: its columns in 5 parallel chunks of 200
     * (the divisor of 1000, a multiple of 8 from 128 on, that leaves the
     * busier core the fewest columns), k by 4 unrolled inside each */
    if (!strcmp(name, "row_chunks_avx2_1x1280x1000")) {
      CHECK_EQ_INT(n_unroll4, 1);
      CHECK_EQ_INT(par_ext, 5);
    }
    /* AVX2: 6x16 tiles, the last row tile partial where 6 does not divide
     * M (run by the kernel of its rows: a switch over them in the C), or
     * 4x24 where 24 divides N and 4 divides M */
    /* AVX2, 32 KiB L1: k in blocks of 196 (a 196 x 16 block of B in half
     * of L1; 64 rows x 196 of A within a quarter of L2); 1024^3 unblocked
     * (A's block would outgrow L2) */
    if (!strcmp(name, "avx2_kblock_64x784x128")) CHECK_EQ_INT(tile_k, 196);
    /* not for a weight (packed at build time, its panels streamed whole) */
    if (!strcmp(name, "avx2_kblock_none_weight_64x784x128")) CHECK_EQ_INT(tile_k, 784);
    if (!strcmp(name, "avx2_kblock_none_1024x1024x16")) CHECK_EQ_INT(tile_k, 1024);
    if (!strncmp(name, "avx2_", 5) && strncmp(name, "avx2_kblock", 11)) {
      char *src = NULL;
      CHECK_OK(ts_codegen_c(m, &src));
      bool tail = strstr(name, "_tail") != NULL;
      CHECK_EQ_INT(tile_mr, tail ? 6 : 4);
      CHECK_EQ_INT(tile_nr, tail ? 16 : 24);
      CHECK_EQ_INT(n_partial, tail ? 1 : 0);
      CHECK_EQ_INT(src && strstr(src, "switch (ts_uk_mr)") != NULL, tail);
      free(src);
    }
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

/* N = 10, not a multiple of the vector: rows in groups inside k, the bias
 * add after each group */
static const char *mm_narrow_bias =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def mm_narrow_bias(A: T.Buffer((24, 40), \"float32\"), B: T.Buffer((40, 10), \"float32\"),"
    " b: T.Buffer((10,), \"float32\"), D: T.Buffer((24, 10), \"float32\")):\n"
    "        C = T.alloc_buffer((24, 10), \"float32\")\n"
    "        for i, j, k in T.grid(24, 10, 40):\n"
    "            with T.block(\"matmul\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    C[vi, vj] = T.float32(0)\n"
    "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "        for i, j in T.grid(24, 10):\n"
    "            with T.block(\"bias\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                D[vi, vj] = C[vi, vj] + b[vj]\n";

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

/* two batch dimensions (the attention matmuls of BERT), A broadcast along
 * the first, and a divide by a scalar fused as the epilogue */
static const char *bmm2_div =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def bmm2_div(A: T.Buffer((1, 3, 16, 24), \"float32\"),"
    " B: T.Buffer((2, 3, 24, 64), \"float32\"), s: T.Buffer((), \"float32\"),"
    " D: T.Buffer((2, 3, 16, 64), \"float32\")):\n"
    "        C = T.alloc_buffer((2, 3, 16, 64), \"float32\")\n"
    "        for a, b, i, j, k in T.grid(2, 3, 16, 64, 24):\n"
    "            with T.block(\"matmul\"):\n"
    "                va, vb, vi, vj, vk = T.axis.remap(\"SSSSR\", [a, b, i, j, "
    "k])\n"
    "                with T.init():\n"
    "                    C[va, vb, vi, vj] = T.float32(0)\n"
    "                C[va, vb, vi, vj] = C[va, vb, vi, vj] + A[0, vb, vi, vk] "
    "* B[va, vb, vk, vj]\n"
    "        for a, b, i, j in T.grid(2, 3, 16, 64):\n"
    "            with T.block(\"div\"):\n"
    "                va, vb, vi, vj = T.axis.remap(\"SSSS\", [a, b, i, j])\n"
    "                D[va, vb, vi, vj] = C[va, vb, vi, vj] / s[()]\n";

/* the same with B transposed ([.., N, K]: packed) */
static const char *bmm2_nt =
    "@I.ir_module\nclass Module:\n    @T.prim_func\n"
    "    def bmm2_nt(A: T.Buffer((2, 3, 16, 24), \"float32\"),"
    " B: T.Buffer((2, 3, 32, 24), \"float32\"), C: T.Buffer((2, 3, 16, 32), "
    "\"float32\")):\n"
    "        for a, b, i, j, k in T.grid(2, 3, 16, 32, 24):\n"
    "            with T.block(\"matmul\"):\n"
    "                va, vb, vi, vj, vk = T.axis.remap(\"SSSSR\", [a, b, i, j, "
    "k])\n"
    "                with T.init():\n"
    "                    C[va, vb, vi, vj] = T.float32(0)\n"
    "                C[va, vb, vi, vj] = C[va, vb, vi, vj] + A[va, vb, vi, vk] "
    "* B[va, vb, vj, vk]\n";

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

/* a graph's 64x784x128 matmul: its weight w a kernel parameter */
static const char *graph_weight_64x784x128 =
    "@I.ir_module\nclass Module:\n    @R.function\n"
    "    def main(x: R.Tensor((64, 784), \"float32\"), w: R.Tensor((784, 128), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            gv = R.matmul(x, w)\n"
    "            R.output(gv)\n"
    "        return gv\n";

#define KB_TARGET "cpu -mcpu=native -l2-kb=128"
#define AVX2_TARGET "cpu -mcpu=haswell -l1d-kb=32 -l2-kb=512"

/* Target strings: cache sizes given in place of the OS's, and the exact
 * message for each malformed option. */
static void test_target_parse(void) {
  ts_target t;
  CHECK_OK(ts_target_parse("cpu -mcpu=x86-64 -l1d-kb=32 -l2-kb=1024 -num-cores=3", &t));
  CHECK_EQ_INT(t.l1d_bytes, 32 * 1024);
  CHECK_EQ_INT(t.l2_bytes, 1024 * 1024);
  CHECK_EQ_INT(t.num_cores, 3);
  CHECK(!t.avx2 && !t.avx512f);
  static const struct {
    const char *text, *msg;
  } bad[] = {
      {"gpu", "target: unknown kind 'gpu' (expected cpu)"},
      {"cpu -l2-kb=0", "target: bad -l2-kb value '0'"},
      {"cpu -l1d-kb=", "target: bad -l1d-kb value ''"},
      {"cpu -l2-kb=12k", "target: bad -l2-kb value '12k'"},
      {"cpu -num-cores=0", "target: bad -num-cores value '0'"},
      {"cpu -mcpu=z80", "target: unknown -mcpu 'z80'"},
      {"cpu -l3-kb=8", "target: unknown option '-l3-kb=8' (known: -mcpu=, -mattr=, "
                       "-num-cores=, -l1d-kb=, -l2-kb=)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ts_status *st = ts_target_parse(bad[i].text, &t);
    CHECK(st != NULL);
    if (st) CHECK_EQ_STR(ts_status_message(st), bad[i].msg);
    ts_status_free(st);
  }
  /* the compiler flags of a target: its -march and every feature, -mattr
   * edits included */
  static const struct {
    const char *text, *flags;
  } fl[] = {
      {"cpu -mcpu=haswell", "-march=haswell -mavx -mavx2 -mfma -mno-avx512f"},
      {"cpu -mcpu=skylake-avx512 -mattr=-avx512f",
       "-march=skylake-avx512 -mavx -mavx2 -mfma -mno-avx512f"},
      {"cpu -mcpu=generic", "-march=x86-64 -mno-avx -mno-avx2 -mno-fma -mno-avx512f"},
      {"cpu -mcpu=x86-64 -mattr=+avx,+avx2,+fma", "-march=x86-64 -mavx -mavx2 -mfma -mno-avx512f"},
  };
  for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
    CHECK_OK(ts_target_parse(fl[i].text, &t));
    char *f = ts_target_cflags(&t);
    CHECK_EQ_STR(f, fl[i].flags);
    free(f);
  }
}

int main(void) {
  ts_runtime_register_builtins();
  char tmpl[] = "/tmp/ts_rules_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  struct {
    const char *name, *text;
    int micro, packed;
    const char *target;
  } cases[] = {
      {"mm_64x48x64", MM("mm", 64, 48, 64), 1, 0, NULL},
      {"mm_gemv_1x40x256", MM("gemv", 1, 40, 256), 1, 0, NULL},
      {"mm_packed_16x8x1056", MM("mmp", 16, 8, 1056), 1, 1, NULL},
      {"mm_odd_6x10x24", MM("mmo", 6, 10, 24), 0, 0, NULL},
      {"mm_odd_7x5x9", MM("mm7", 7, 5, 9), 0, 0, NULL},
      {"mm_row_1x40x10", MM("mmr", 1, 40, 10), 0, 0, NULL},
      {"mm_row_1x42x10", MM("mmr2", 1, 42, 10), 0, 0, NULL},
      {"mm_narrow_bias", mm_narrow_bias, 0, 0, NULL},
      {"dense_relu", dense_relu, 1, 0, NULL},
      {"dense_gemv_1x784x128", DENSE_RELU("dgemv", 1, 784, 128), -2, 0, NULL},
      {"dense_gemv_3x40x30", DENSE_RELU("dgemv3", 3, 40, 30), -2, 0, NULL},
      {"dense_gemv_1x24x7", DENSE_RELU("dgemv7", 1, 24, 7), -2, 0, NULL},
      {"dense_gemv_1x1024x1024", DENSE_RELU("dgemvp", 1, 1024, 1024), -2, 0, NULL},
      {"bgemv", bgemv, -2, 0, NULL},
      {"bmm", bmm, 1, 0, NULL},
      {"bmm2_div", bmm2_div, 1, 0, NULL},
      {"bmm2_nt", bmm2_nt, 1, 1, NULL},
      /* k blocked (a 128 KiB L2 holds a K x 32 panel of B for K <= 256): K a
       * multiple of the block (KC divides K) with MR = 8 and MR = 6, a K
       * without a divisor in the block range (not blocked), B transposed */
      {"mm_kblock_128x512x32", MM("mmk", 128, 512, 32), 1, 1, KB_TARGET},
      {"mm_kblock_126x600x32", MM("mmk6", 126, 600, 32), 1, 1, KB_TARGET},
      {"mm_kblock_odd_128x538x32", MM("mmk7", 128, 538, 32), 1, 0, KB_TARGET},
      {"dense_relu_kblock", DENSE_RELU("dk", 128, 768, 32), 1, 1, KB_TARGET},
      /* k blocked with the panels of B outermost: B packed panel by panel
       * (its packing nest inside the parallel loop over the panels) */
      {"mm_kblock_per_panel_64x384x256", MM("mmkp", 64, 384, 256), 1, 1, KB_TARGET},
      /* the 64x96x128 matmul's weight w is packed (a graph kernel's
       * parameter), though its rows are only 512 bytes apart */
      {"graph", graph, 1, 1, NULL},
      {"avx2_tail_64x48x64", MM("mmt", 64, 48, 64), 1, 0, AVX2_TARGET},
      {"avx2_tail_dense_relu_16x24x64", DENSE_RELU("dt", 16, 24, 64), 1, 1, AVX2_TARGET},
      {"avx2_4x24_128x64x96", MM("mm24", 128, 64, 96), 1, 0, AVX2_TARGET},
      {"avx2_kblock_64x784x128", MM("mmkb", 64, 784, 128), 1, 1, AVX2_TARGET},
      {"avx2_kblock_none_1024x1024x16", MM("mmnb", 1024, 1024, 16), 1, 0, AVX2_TARGET},
      {"avx2_kblock_none_weight_64x784x128", graph_weight_64x784x128, 1, 1, AVX2_TARGET},
      {"row_chunks_avx2_1x1280x1000", MM("mmrc", 1, 1280, 1000), 0, 0, AVX2_TARGET " -num-cores=2"},
  };
  check_cur_failed_ = 0;
  check_run_tests_++;
  test_target_parse();
  if (check_cur_failed_) check_failed_tests_++;
  fprintf(stderr, "%s target_parse\n", check_cur_failed_ ? "FAIL" : "ok  ");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    check_cur_failed_ = 0;
    check_run_tests_++;
    want_packed = cases[i].packed;
    sched_target = cases[i].target ? cases[i].target : "cpu -mcpu=native";
    run_text(cases[i].name, cases[i].text, tmpl, cases[i].micro);
    if (check_cur_failed_) check_failed_tests_++;
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", cases[i].name);
  }
  want_packed = 0;
  sched_target = "cpu -mcpu=native";
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
