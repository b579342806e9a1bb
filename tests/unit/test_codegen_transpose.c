/* test_codegen_transpose.c: transposed reads in vectorized nests
 * (emit_transposed in src/codegen/c/codegen_c.c).
 *
 * `for i: for j (vectorized): B[i, j] = max(A[j, i] + b[i], 0)` reads A at
 * stride 1 along i and 48 along j: the C generator emits it in 16x16 tiles
 * transposed in registers (ts_tr16), with a 40-wide j (a tail of 8) and a
 * unit loop between i and j.  A read that is not unit-stride along i
 * (A2[j, i // 2]) gets the same tiles, whose run-time check then takes the
 * loops as written.  Both kernels equal the interpreter exactly; a read
 * along j at unit stride keeps the plain vectorized loop.  The tiles are
 * built twice: for the host (-march=native: 16x16 in 16-float vectors with
 * AVX-512, 8x8 blocks with AVX) and for plain SSE (4x4 blocks). */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "tessera/build.h"
#include "tessera/interp.h"
#include "tessera/script.h"
#include "tessera/vm.h"

static const char *module_text =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def f(A: T.Buffer((40, 48), \"float32\"), b: T.Buffer((48,), \"float32\"), "
    "B: T.Buffer((48, 40), \"float32\")):\n"
    "        for i in range(48):\n"
    "            for k in range(1):\n"
    "                for j in T.vectorized(40):\n"
    "                    with T.block(\"t\"):\n"
    "                        vi, vk, vj = T.axis.remap(\"SSS\", [i, k, j])\n"
    "                        B[vi, vj] = T.max(A[vj, vi + vk] + b[vi], T.float32(0))\n"
    "    @T.prim_func\n"
    "    def g(A2: T.Buffer((40, 24), \"float32\"), B2: T.Buffer((48, 40), \"float32\")):\n"
    "        for i in range(48):\n"
    "            for j in T.vectorized(40):\n"
    "                with T.block(\"t\"):\n"
    "                    vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                    B2[vi, vj] = A2[vj, vi // 2] * T.float32(2)\n"
    "    @T.prim_func\n"
    "    def h(A3: T.Buffer((48, 40), \"float32\"), B3: T.Buffer((48, 40), \"float32\")):\n"
    "        for i in range(48):\n"
    "            for j in T.vectorized(40):\n"
    "                with T.block(\"t\"):\n"
    "                    vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                    B3[vi, vj] = A3[vi, vj] + T.float32(1)\n";

static ts_ndarray *make(int64_t r, int64_t c, uint64_t seed) {
  int64_t shape[2] = {r, c};
  ts_ndarray *t = NULL;
  ts_dtype f32 = {TS_FLOAT, 32, 1};
  if (c == 0) {
    CHECK_OK(ts_ndarray_create(1, shape, f32, &t));
  } else {
    CHECK_OK(ts_ndarray_create(2, shape, f32, &t));
  }
  if (t) ts_ndarray_fill_random(t, seed);
  return t;
}

/* kernel `fn` compiled and interpreted on the same inputs: equal exactly */
static void same(ts_module *m, ts_artifact *art, const char *fn, ts_ndarray **in, int n_in,
                 int64_t out_r, int64_t out_c) {
  ts_ndarray *y1 = make(out_r, out_c, 0), *y2 = make(out_r, out_c, 0);
  ts_value a1[4], a2[4];
  for (int i = 0; i < n_in; i++) {
    a1[i] = a2[i] = (ts_value){TS_VAL_TENSOR, {.tensor = in[i]}};
  }
  a1[n_in] = (ts_value){TS_VAL_TENSOR, {.tensor = y1}};
  a2[n_in] = (ts_value){TS_VAL_TENSOR, {.tensor = y2}};
  CHECK_OK(ts_interp_primfunc(m, ts_module_primfunc(m, fn), a1, n_in + 1));
  CHECK_OK(ts_artifact_call_kernel(art, fn, a2, n_in + 1));
  const float *r1 = ts_ndarray_data(y1), *r2 = ts_ndarray_data(y2);
  int bad = 0;
  for (int64_t i = 0; i < out_r * out_c; i++) bad += r1[i] != r2[i];
  CHECK_EQ_INT(bad, 0);
  ts_ndarray_release(y1);
  ts_ndarray_release(y2);
}

TEST(transposed_tiles) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(module_text, strlen(module_text), "transpose", &m);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return;
  }
  char *src = NULL;
  CHECK_OK(ts_codegen_c(m, &src));
  REQUIRE(src != NULL);
  CHECK(strstr(src, "{ /* A read transposed, in 16x16 tiles */") != NULL);
  CHECK(strstr(src, "ts_tr16(ts_tr_t, A + ts_tr_o[0], ts_tr_sv, ts_tr_nv);") != NULL);
  CHECK(strstr(src, "{ /* A2 read transposed, in 16x16 tiles */") != NULL);
  CHECK(strstr(src, "A3 read transposed") == NULL);
  free(src);

  /* the host's flags (NULL: the default), then SSE only */
  static const char *const cflags[] = {NULL,
                                       "-O3 -fopenmp -fno-trapping-math -mno-avx"};
  const char *saved = getenv("TESSERA_CFLAGS");
  char *saved_copy = saved ? ts_strdup_printf("%s", saved) : NULL;
  for (int variant = 0; variant < 2; variant++) {
    if (cflags[variant])
      setenv("TESSERA_CFLAGS", cflags[variant], 1);
    else if (saved_copy)
      setenv("TESSERA_CFLAGS", saved_copy, 1);
    else
      unsetenv("TESSERA_CFLAGS");
    char tmpl[] = "/tmp/tessera_test_transpose_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != NULL);
    char *so = ts_strdup_printf("%s/m.so", tmpl);
    ts_artifact *art = NULL;
    st = ts_build_artifact(m, NULL, so, NULL);
    if (!st) st = ts_artifact_load(so, &art);
    if (st) {
      CHECK_FAIL_("build: %s", ts_status_message(st));
      ts_status_free(st);
    } else {
      ts_ndarray *a = make(40, 48, 1), *b = make(48, 0, 2), *a2 = make(40, 24, 3),
                 *a3 = make(48, 40, 4);
      same(m, art, "f", (ts_ndarray *[]){a, b}, 2, 48, 40);
      same(m, art, "g", (ts_ndarray *[]){a2}, 1, 48, 40);
      same(m, art, "h", (ts_ndarray *[]){a3}, 1, 48, 40);
      /* and the values themselves, for f */
      ts_ndarray *y = make(48, 40, 0);
      ts_value args[3] = {{TS_VAL_TENSOR, {.tensor = a}},
                          {TS_VAL_TENSOR, {.tensor = b}},
                          {TS_VAL_TENSOR, {.tensor = y}}};
      CHECK_OK(ts_artifact_call_kernel(art, "f", args, 3));
      const float *pa = ts_ndarray_data(a), *pb = ts_ndarray_data(b), *py = ts_ndarray_data(y);
      int bad = 0;
      for (int i = 0; i < 48; i++)
        for (int j = 0; j < 40; j++) {
          float want = pa[j * 48 + i] + pb[i];
          bad += py[i * 40 + j] != (want > 0 ? want : 0.0f);
        }
      CHECK_EQ_INT(bad, 0);
      ts_ndarray_release(y);
      ts_ndarray_release(a);
      ts_ndarray_release(b);
      ts_ndarray_release(a2);
      ts_ndarray_release(a3);
      ts_artifact_release(art);
    }
    unlink(so);
    rmdir(tmpl);
    free(so);
  }
  if (saved_copy)
    setenv("TESSERA_CFLAGS", saved_copy, 1);
  else
    unsetenv("TESSERA_CFLAGS");
  free(saved_copy);
  ts_module_destroy(m);
}

int main(void) {
  RUN(transposed_tiles);
  return CHECK_DONE();
}
