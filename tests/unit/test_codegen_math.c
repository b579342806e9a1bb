/* test_codegen_math.c: the float exp, erf and sigmoid of generated kernels
 * (the prelude's vectorizable ts_expf_v / ts_erff_v, src/codegen/c).
 *
 * One kernel computes exp, erf and sigmoid of a vector of values: a dense
 * grid over [-100, 100], the edges of exp's range, tiny and huge values,
 * the infinities and NaN.  Each result is compared with libm in double:
 * exp within 2e-7 relative (subnormal results within one unit, inf above
 * the range), erf within 4e-7 absolute and, below 0.5, 4e-7
 * relative, sigmoid within 4e-7 absolute; NaN stays NaN. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "tessera/build.h"
#include "tessera/script.h"
#include "tessera/transform.h"
#include "tessera/vm.h"

#define N 20480

static const char *module_text =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def math(X: T.Buffer((20480,), \"float32\"), E: T.Buffer((20480,), "
    "\"float32\"),\n"
    "             R: T.Buffer((20480,), \"float32\"), S: T.Buffer((20480,), "
    "\"float32\")):\n"
    "        for i in T.serial(20480):\n"
    "            with T.block(\"f\"):\n"
    "                vi = T.axis.remap(\"S\", [i])\n"
    "                E[vi] = T.exp(X[vi])\n"
    "                R[vi] = T.erf(X[vi])\n"
    "                S[vi] = T.sigmoid(X[vi])\n";

static float input(int i) {
  static const float special[] = {
      0.0f,     -0.0f,     1e-30f, -1e-30f, 1e-7f,   0.4999f, 0.5f,  -0.5f,
      88.72f,   88.73f,    -87.3f, -87.4f,  -103.9f, -104.0f, 1e30f, -1e30f,
      INFINITY, -INFINITY, NAN,    3.0f,    -3.0f,   9.0f,    -9.0f, 20.0f};
  int ns = (int)(sizeof special / sizeof special[0]);
  if (i < ns)
    return special[i];
  return -100.0f + 200.0f * (float)(i - ns) / (float)(N - ns);
}

TEST(generated_float_math) {
  char tmpl[] = "/tmp/tessera_test_math_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != NULL);
  char *so = ts_strdup_printf("%s/m.so", tmpl);
  ts_module *m = NULL;
  ts_artifact *art = NULL;
  ts_status *st = ts_script_parse(module_text, strlen(module_text), "math", &m);
  if (!st)
    st = ts_build_artifact(m, NULL, so, NULL);
  if (!st)
    st = ts_artifact_load(so, &art);
  if (st) {
    CHECK_FAIL_("build: %s", ts_status_message(st));
    ts_status_free(st);
  } else {
    int64_t shape[1] = {N};
    ts_ndarray *t[4];
    ts_value args[4];
    for (int k = 0; k < 4; k++) {
      CHECK_OK(ts_ndarray_create(1, shape, (ts_dtype){TS_FLOAT, 32, 1}, &t[k]));
      args[k] = (ts_value){TS_VAL_TENSOR, {.tensor = t[k]}};
    }
    float *x = ts_ndarray_data(t[0]), *e = ts_ndarray_data(t[1]),
          *r = ts_ndarray_data(t[2]), *s = ts_ndarray_data(t[3]);
    for (int i = 0; i < N; i++)
      x[i] = input(i);
    CHECK_OK(ts_artifact_call_kernel(art, "math", args, 4));
    int bad = 0;
    for (int i = 0; i < N && bad < 10; i++) {
      double xd = x[i], ew = exp(xd), rw = erf(xd), sw = 1.0 / (1.0 + exp(-xd));
      bool ok_e, ok_r, ok_s;
      if (isnan(xd)) {
        ok_e = isnan(e[i]);
        ok_r = isnan(r[i]);
        ok_s = isnan(s[i]);
      } else {
        if (ew > 3.4028234e38)
          ok_e = isinf(e[i]) && e[i] > 0;
        else if (ew < 1.2e-38) /* subnormal: within one unit (1.4e-45) */
          ok_e = fabs(e[i] - ew) <= 1.5e-45 + 2e-7 * ew;
        else
          ok_e = fabs(e[i] - ew) <= 2e-7 * ew;
        ok_r = fabs(r[i] - rw) <= 4e-7 &&
               (fabs(xd) >= 0.5 || fabs(r[i] - rw) <= 4e-7 * fabs(rw));
        ok_s = fabs(s[i] - sw) <= 4e-7;
      }
      if (!ok_e || !ok_r || !ok_s) {
        CHECK_FAIL_("x = %.9g: exp %.9g (libm %.9g), erf %.9g (libm %.9g), "
                    "sigmoid %.9g "
                    "(libm %.9g)",
                    xd, e[i], ew, r[i], rw, s[i], sw);
        bad++;
      }
    }
    for (int k = 0; k < 4; k++)
      ts_ndarray_release(t[k]);
    ts_artifact_release(art);
  }
  ts_module_destroy(m);
  unlink(so);
  rmdir(tmpl);
  free(so);
}

int main(void) {
  RUN(generated_float_math);
  return CHECK_DONE();
}
