/* test_pass_golden.c: runs every tests/transform/NAME.pass golden file: the
 * input module, the passes to run, the expected module.  Each case checks
 * structural equality with the expected section, that the printed result
 * parses back equal, and that the interpreter gives the same outputs for
 * `main` before and after (tolerance 1e-5 relative). */
#include "check.h"
#include "golden_util.h"
#include "tessera/transform.h"

static void run_case(const char *path) {
  char *text;
  size_t len;
  CHECK_OK(ts_read_file(path, &text, &len));
  if (!text) return;
  char *input = golden_section(text, "input");
  char *passes = golden_section(text, "passes");
  char *expected = golden_section(text, "expected");
  if (!input || !passes || !expected) {
    CHECK_FAIL_("%s: missing a section (input, passes, expected)", path);
    goto out;
  }
  passes[strcspn(passes, "\n")] = 0;
  ts_module *before = NULL, *after = NULL, *want = NULL;
  CHECK_OK(ts_script_parse(input, strlen(input), path, &before));
  CHECK_OK(ts_script_parse(input, strlen(input), path, &after));
  CHECK_OK(ts_script_parse(expected, strlen(expected), path, &want));
  if (before && after && want) {
    ts_status *st = ts_pipeline_run(after, passes, true, NULL, NULL);
    if (st) {
      CHECK_FAIL_("%s: %s", path, ts_status_render(st));
      ts_status_free(st);
    } else {
      char *diff = NULL;
      if (!ts_module_equal(after, want, &diff)) {
        char *got = ts_script_print(after, NULL);
        CHECK_FAIL_("%s: result differs from expected: %s\n%s", path, diff, got);
        free(got);
      }
      free(diff);
      if (ts_module_gfunc(before, "main")) {
        double d = golden_compare_gfunc(before, after, "main", 1, 3);
        if (d < 0 || d > 1e-5)
          CHECK_FAIL_("%s: outputs changed by the passes (max rel diff %g)", path, d);
      }
    }
  }
  if (before) ts_module_destroy(before);
  if (after) ts_module_destroy(after);
  if (want) ts_module_destroy(want);
out:
  free(input);
  free(passes);
  free(expected);
  free(text);
}

int main(void) {
  ts_runtime_register_builtins();
  char **files;
  int n = golden_list("transform", ".pass", &files);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    check_cur_failed_ = 0;
    check_run_tests_++;
    run_case(files[i]);
    if (check_cur_failed_) check_failed_tests_++;
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", files[i]);
    free(files[i]);
  }
  free(files);
  return CHECK_DONE();
}
