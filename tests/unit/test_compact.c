/* test_compact.c: per-iteration slices of intermediate buffers
 * (src/codegen/c/compact.c).
 *
 * An intermediate produced and consumed inside one parallel loop, each
 * iteration touching its own row, compacts to that row (dimension 0
 * collapsed); the compiled kernel equals the interpreter.  Refused: rows
 * shared by two iterations (index i // 2), a row read by another iteration
 * (index (i + 1) % 8), an intermediate used by two loops of the body
 * (within 64 KiB: over it, a plane of 128 KiB used by two nests of a
 * parallel loop's body is taken per iteration from the pool of ts_alloc,
 * and the kernel returns 2 at its end if that failed). */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "codegen/c/compact.h"
#include "tessera/build.h"
#include "tessera/interp.h"
#include "tessera/script.h"
#include "tessera/vm.h"

#define FUNC(WRITE_ROW, READ_ROW)                                              \
  "@I.ir_module\n"                                                             \
  "class Module:\n"                                                            \
  "    @T.prim_func\n"                                                         \
  "    def f(A: T.Buffer((8, 16), \"float32\"), B: T.Buffer((8, 16), "         \
  "\"float32\")):\n"                                                           \
  "        tmp = T.alloc_buffer((8, 16), \"float32\")\n"                       \
  "        for i in T.parallel(8):\n"                                          \
  "            for j in range(16):\n"                                          \
  "                with T.block(\"t\"):\n"                                     \
  "                    vi, vj = T.axis.remap(\"SS\", [i, j])\n"                \
  "                    tmp[" WRITE_ROW ", vj] = A[vi, vj] * T.float32(2)\n"    \
  "            for j in range(16):\n"                                          \
  "                with T.block(\"b\"):\n"                                     \
  "                    vi, vj = T.axis.remap(\"SS\", [i, j])\n"                \
  "                    B[vi, vj] = tmp[" READ_ROW                              \
  ", 15 - vj] + T.float32(1)\n"

/* Rows of 512 under a parallel loop over 4 planes of 64 rows: a plane's
 * slice (128 KiB) is over the limit, a row's (2 KiB) is not. */
#define NESTED(TMP_SHAPE, IDX)                                                 \
  "@I.ir_module\n"                                                             \
  "class Module:\n"                                                            \
  "    @T.prim_func\n"                                                         \
  "    def f(A: T.Buffer((4, 64, 512), \"float32\"), B: T.Buffer((4, 64, "      \
  "512), \"float32\")):\n"                                                     \
  "        tmp = T.alloc_buffer(" TMP_SHAPE ", \"float32\")\n"                  \
  "        for i in T.parallel(4):\n"                                          \
  "            for y in range(64):\n"                                          \
  "                for j in range(512):\n"                                     \
  "                    with T.block(\"t\"):\n"                                 \
  "                        vi, vy, vj = T.axis.remap(\"SSS\", [i, y, j])\n"    \
  "                        tmp[" IDX ", vj] = A[vi, vy, vj] * T.float32(2)\n"  \
  "                for j in range(512):\n"                                     \
  "                    with T.block(\"b\"):\n"                                 \
  "                        vi, vy, vj = T.axis.remap(\"SSS\", [i, y, j])\n"    \
  "                        B[vi, vy, vj] = tmp[" IDX                           \
  ", 511 - vj] + T.float32(1)\n"

/* A plane of 64 x 512 (128 KiB) per iteration of a parallel loop, written
 * by one loop nest of the body and read back (reversed) by another: the
 * slice is over the stack's 64 KiB and no inner loop holds every access,
 * so each iteration takes its plane from ts_alloc's pool. */
static const char *plane_two_nests =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def f(A: T.Buffer((4, 64, 512), \"float32\"), B: T.Buffer((4, 64, 512), "
    "\"float32\")):\n"
    "        tmp = T.alloc_buffer((4, 64, 512), \"float32\")\n"
    "        for i in T.parallel(4):\n"
    "            for y, j in T.grid(64, 512):\n"
    "                with T.block(\"t\"):\n"
    "                    vi, vy, vj = T.axis.remap(\"SSS\", [i, y, j])\n"
    "                    tmp[vi, vy, vj] = A[vi, vy, vj] * T.float32(2)\n"
    "            for y, j in T.grid(64, 512):\n"
    "                with T.block(\"b\"):\n"
    "                    vi, vy, vj = T.axis.remap(\"SSS\", [i, y, j])\n"
    "                    B[vi, vy, vj] = tmp[vi, 63 - vy, 511 - vj] + T.float32(1)\n";

static const char *two_loops =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def f(A: T.Buffer((8, 16), \"float32\"), B: T.Buffer((8, 16), "
    "\"float32\")):\n"
    "        tmp = T.alloc_buffer((8, 16), \"float32\")\n"
    "        for i, j in T.grid(8, 16):\n"
    "            with T.block(\"t\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                tmp[vi, vj] = A[vi, vj] * T.float32(2)\n"
    "        for i, j in T.grid(8, 16):\n"
    "            with T.block(\"b\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                B[vi, vj] = tmp[vi, vj] + T.float32(1)\n";

/* ts_compact_buffer on the root block's first allocation. */
static bool compacts(const char *text, ts_compact *k, ts_module **out) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), "compact", &m);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return false;
  }
  ts_primfunc *f = ts_module_primfunc(m, "f");
  const ts_block *root = f->body->u.realize.block;
  ts_arena *a = ts_arena_create();
  bool ok = root->n_alloc_buffers == 1 &&
            ts_compact_buffer(a, root, root->alloc_buffers[0], 64 * 1024, k);
  ts_arena_destroy(a);
  if (out)
    *out = m;
  else
    ts_module_destroy(m);
  return ok;
}

TEST(row_per_iteration) {
  ts_compact k;
  ts_module *m = NULL;
  CHECK(compacts(FUNC("vi", "vi"), &k, &m));
  CHECK(!k.keep[0]);
  CHECK(k.keep[1]);
  CHECK_EQ_INT((int)k.bytes, 16 * 4);
  if (!m)
    return;
  char tmpl[] = "/tmp/tessera_test_compact_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != NULL);
  char *so = ts_strdup_printf("%s/m.so", tmpl), *src = NULL;
  ts_artifact *art = NULL;
  CHECK_OK(ts_codegen_c(m, &src));
  CHECK(
      src &&
      strstr(
          src,
          "_Alignas(64) float tmp[16]; /* one slice of tmp per iteration */"));
  free(src);
  ts_status *st = ts_build_artifact(m, NULL, so, NULL);
  if (!st)
    st = ts_artifact_load(so, &art);
  if (st) {
    CHECK_FAIL_("build: %s", ts_status_message(st));
    ts_status_free(st);
  } else {
    /* compiled == interpreted (exact: one multiply and one add) */
    int64_t shape[2] = {8, 16};
    ts_ndarray *x, *y1, *y2;
    ts_dtype f32 = {TS_FLOAT, 32, 1};
    CHECK_OK(ts_ndarray_create(2, shape, f32, &x));
    CHECK_OK(ts_ndarray_create(2, shape, f32, &y1));
    CHECK_OK(ts_ndarray_create(2, shape, f32, &y2));
    ts_ndarray_fill_random(x, 5);
    ts_value a1[2] = {{TS_VAL_TENSOR, {.tensor = x}},
                      {TS_VAL_TENSOR, {.tensor = y1}}};
    ts_value a2[2] = {{TS_VAL_TENSOR, {.tensor = x}},
                      {TS_VAL_TENSOR, {.tensor = y2}}};
    CHECK_OK(ts_interp_primfunc(m, ts_module_primfunc(m, "f"), a1, 2));
    CHECK_OK(ts_artifact_call_kernel(art, "f", a2, 2));
    const float *r1 = ts_ndarray_data(y1), *r2 = ts_ndarray_data(y2),
                *in = ts_ndarray_data(x);
    for (int i = 0; i < 8 * 16; i++) {
      CHECK(r1[i] == r2[i]);
      CHECK(r2[i] == in[i / 16 * 16 + 15 - i % 16] * 2.0f + 1.0f);
    }
    ts_ndarray_release(x);
    ts_ndarray_release(y1);
    ts_ndarray_release(y2);
    ts_artifact_release(art);
  }
  unlink(so);
  rmdir(tmpl);
  free(so);
  ts_module_destroy(m);
}

TEST(refuses_shared_or_crossing_rows) {
  ts_compact k;
  CHECK(!compacts(FUNC("vi // 2", "vi // 2"), &k, NULL));
  CHECK(!compacts(FUNC("vi", "(vi + 1) % 8"), &k, NULL));
  CHECK(!compacts(two_loops, &k, NULL));
}

/* The source index of output element i of a [4, 64, 512] kernel. */
typedef int (*src_index_fn)(int i);
static int row_reversed(int i) { return i / 512 * 512 + 511 - i % 512; }
static int plane_reversed(int i) {
  return i / (64 * 512) * 64 * 512 + 64 * 512 - 1 - i % (64 * 512);
}

/* f(A, B) over [4, 64, 512], B[i] = A[src(i)] * 2 + 1: its C contains each
 * of `want`, and the compiled kernel, run `calls` times, equals the
 * interpreter and that formula.  Destroys m. */
static void check_plane_kernel(ts_module *m, const char *const *want, int n_want, int calls,
                               uint64_t seed, src_index_fn src_index) {
  char tmpl[] = "/tmp/tessera_test_compact_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != NULL);
  char *so = ts_strdup_printf("%s/m.so", tmpl), *src = NULL;
  ts_artifact *art = NULL;
  CHECK_OK(ts_codegen_c(m, &src));
  for (int i = 0; i < n_want; i++)
    if (!src || !strstr(src, want[i])) CHECK_FAIL_("the C lacks: %s", want[i]);
  free(src);
  ts_status *st = ts_build_artifact(m, NULL, so, NULL);
  if (!st)
    st = ts_artifact_load(so, &art);
  if (st) {
    CHECK_FAIL_("build: %s", ts_status_message(st));
    ts_status_free(st);
  } else {
    int64_t shape[3] = {4, 64, 512};
    ts_ndarray *x, *y1, *y2;
    ts_dtype f32 = {TS_FLOAT, 32, 1};
    CHECK_OK(ts_ndarray_create(3, shape, f32, &x));
    CHECK_OK(ts_ndarray_create(3, shape, f32, &y1));
    CHECK_OK(ts_ndarray_create(3, shape, f32, &y2));
    ts_ndarray_fill_random(x, seed);
    ts_value a1[2] = {{TS_VAL_TENSOR, {.tensor = x}}, {TS_VAL_TENSOR, {.tensor = y1}}};
    ts_value a2[2] = {{TS_VAL_TENSOR, {.tensor = x}}, {TS_VAL_TENSOR, {.tensor = y2}}};
    CHECK_OK(ts_interp_primfunc(m, ts_module_primfunc(m, "f"), a1, 2));
    for (int c = 0; c < calls; c++)
      CHECK_OK(ts_artifact_call_kernel(art, "f", a2, 2));
    const float *r1 = ts_ndarray_data(y1), *r2 = ts_ndarray_data(y2), *in = ts_ndarray_data(x);
    int bad = 0;
    for (int i = 0; i < 4 * 64 * 512; i++)
      bad += r1[i] != r2[i] || r2[i] != in[src_index(i)] * 2.0f + 1.0f;
    CHECK_EQ_INT(bad, 0);
    ts_ndarray_release(x);
    ts_ndarray_release(y1);
    ts_ndarray_release(y2);
    ts_artifact_release(art);
  }
  unlink(so);
  rmdir(tmpl);
  free(so);
  ts_module_destroy(m);
}

/* The row loop inside the parallel one holds the slice: one row, the
 * plane and the row indices collapsed, the plane fixed per slice by the
 * loop around. */
TEST(row_of_a_plane_per_inner_iteration) {
  ts_compact k;
  ts_module *m = NULL;
  CHECK(compacts(NESTED("(4, 64, 512)", "vi, vy"), &k, &m));
  CHECK(!k.keep[0]);
  CHECK(!k.keep[1]);
  CHECK(k.keep[2]);
  CHECK_EQ_INT((int)k.bytes, 512 * 4);
  CHECK(k.loop && k.loop->kind == TS_S_FOR &&
        !strcmp(k.loop->u.for_.var->name, "y"));
  if (!m)
    return;
  static const char *const want[] = {
      "_Alignas(64) float tmp[512]; /* one slice of tmp per iteration */"};
  check_plane_kernel(m, want, 1, 1, 7, row_reversed);
}

/* A row indexed by the inner loop alone is shared by the iterations of the
 * parallel loop around it: no slice. */
TEST(refuses_rows_shared_across_the_outer_loop) {
  ts_compact k;
  CHECK(!compacts(NESTED("(64, 512)", "vy"), &k, NULL));
}

TEST(plane_per_iteration_from_the_pool) {
  ts_compact k;
  ts_module *m = NULL;
  CHECK(!compacts(plane_two_nests, &k, NULL)); /* not within 64 KiB */
  ts_status *st = ts_script_parse(plane_two_nests, strlen(plane_two_nests), "plane", &m);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return;
  }
  /* run twice: the second run takes the planes the first returned */
  static const char *const want[] = {
      "float *restrict tmp = (float *)ts_alloc(131072); /* one slice of tmp per iteration */",
      "ts_free(tmp);", "int ts_oom = 0;", "return ts_oom ? 2 : 0;"};
  check_plane_kernel(m, want, 4, 2, 9, plane_reversed);
}

int main(void) {
  RUN(plane_per_iteration_from_the_pool);
  RUN(row_per_iteration);
  RUN(row_of_a_plane_per_inner_iteration);
  RUN(refuses_rows_shared_across_the_outer_loop);
  RUN(refuses_shared_or_crossing_rows);
  return CHECK_DONE();
}
