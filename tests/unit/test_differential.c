/* test_differential.c: compiled code vs the reference interpreter.  Every
 * module of the golden corpus (tests/script) and of the interpreter cases
 * (tests/e2e/interp) is legalized, built into an artifact and loaded; every
 * TensorIR function and every graph function is run on random inputs both
 * ways and the outputs compared.  Symbolic dimensions are run with two
 * sizes (3 and 5).  Tolerance: float32 1e-4 relative to max(1, |ref|)
 * (the C compiler may contract a*b+c into an FMA and reorder nothing else),
 * float64 1e-10, float16 1e-2, integers and bools exact.  A function the
 * build or the VM does not support yet is reported as skipped with the
 * reason, and the number of compared functions must not drop below the
 * floor asserted at the end. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "golden_util.h"
#include "ir/ir_util.h"
#include "tessera/build.h"
#include "tessera/transform.h"
#include "tessera/vm.h"

#include "diff_util.h"

/* Builds `ref` with `passes` and compares: every TensorIR function of ref
 * still present in the artifact (kernel by kernel) when `kernels`, and
 * every graph function end to end. */
static void run_build(const char *path, ts_module *ref, const char *passes,
                      bool kernels, const char *tmp) {
  ts_module *m = ts_module_copy(ref);
  char *so = ts_strdup_printf("%s/m.so", tmp);
  ts_status *st = ts_pipeline_run(m, passes, true, NULL, NULL);
  if (!st) st = ts_build_artifact(m, NULL, so, NULL);
  ts_artifact *art = NULL;
  if (!st) st = ts_artifact_load(so, &art);
  if (st) {
    fprintf(stderr, "  skip %s (%s): build: %s\n", path, passes,
            ts_status_message(st));
    skipped++;
    ts_status_free(st);
  } else {
    for (int i = 0; i < ref->n_funcs; i++) {
      ts_func *f = &ref->funcs[i];
      if (f->kind == TS_FUNC_PRIM && kernels) {
        diff_primfunc(path, ref, f->u.prim, art, 3);
        if (has_symbolic(f->u.prim)) diff_primfunc(path, ref, f->u.prim, art, 5);
      } else if (f->kind == TS_FUNC_GRAPH) {
        diff_gfunc(path, ref, f->u.graph, art, 3);
        diff_gfunc(path, ref, f->u.graph, art, 5);
      }
    }
    ts_artifact_release(art);
  }
  unlink(so);
  free(so);
  ts_module_destroy(m);
}

static void run_file(const char *path, const char *tmp) {
  ts_module *ref = NULL;
  ts_status *st = ts_script_parse_file(path, &ref);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return;
  }
  /* Kernel by kernel (legalize only: every PrimFunc survives), then the
   * whole default pipeline (fusion, folding, memory planning, schedules),
   * whose graph functions must still agree with the interpreter. */
  run_build(path, ref, "legalize", true, tmp);
  run_build(path, ref, ts_default_pipeline, false, tmp);
  ts_module_destroy(ref);
}

int main(void) {
  ts_runtime_register_builtins();
  char tmpl[] = "/tmp/ts_diff_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const char *dirs[] = {"script", "e2e/interp"};
  for (int d = 0; d < 2; d++) {
    char **files;
    int n = golden_list(dirs[d], ".tvmscript", &files);
    for (int i = 0; i < n; i++) {
      check_cur_failed_ = 0;
      check_run_tests_++;
      run_file(files[i], tmpl);
      if (check_cur_failed_) check_failed_tests_++;
      fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", files[i]);
      free(files[i]);
    }
    free(files);
  }
  rmdir(tmpl);
  fprintf(stderr, "compared %d functions (symbolic ones at two sizes), skipped %d\n",
          compared, skipped);
  CHECK(compared >= 150);
  return CHECK_DONE();
}
