/* cmd_transform.c: `tessera transform FILE --passes a,b,c
 * [--print-after-all] [--verify] [--list-passes] [--print-pipeline]`: run
 * passes and print the module (after each pass with --print-after-all). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "tessera/script.h"
#include "tessera/transform.h"

enum { OPT_PASSES, OPT_PRINT_AFTER_ALL, OPT_VERIFY, OPT_LIST, OPT_PIPELINE };
static const cli_opt opts[] = {
    {"--passes", true, false},      {"--print-after-all", false, false},
    {"--verify", false, false},     {"--list-passes", false, false},
    {"--print-pipeline", false, false},
};

static void print_after(const char *pass, ts_module *m, void *ctx) {
  char *text = ts_script_print(m, NULL);
  printf("# ---- after pass '%s' ----\n%s\n", pass, text);
  free(text);
}

int cmd_transform(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("transform", opts, 5, argc, argv, &a)) return 2;
  if (cli_has(&a, OPT_LIST)) {
    int n;
    const ts_pass_info *p = ts_pass_list(&n);
    for (int i = 0; i < n; i++) printf("%-24s %s\n", p[i].name, p[i].summary);
    return 0;
  }
  if (cli_has(&a, OPT_PIPELINE)) {
    printf("%s\n", ts_default_pipeline);
    return 0;
  }
  if (a.n_positional == 0) return cli_fail("transform", "missing FILE argument");
  if (a.n_positional > 1)
    return cli_fail("transform", "expected one file, got %d", a.n_positional);
  const char *passes = cli_get(&a, OPT_PASSES);
  if (!passes) passes = ts_default_pipeline;
  ts_module *m = NULL;
  ts_status *st = ts_script_parse_file(a.positional[0], &m);
  if (st) return cli_report(st);
  bool all = cli_has(&a, OPT_PRINT_AFTER_ALL);
  /* The verifier always runs between passes: ill-formed output is a bug
   * that must name the pass. */
  st = ts_pipeline_run(m, passes, true, all ? print_after : NULL, NULL);
  if (st) {
    ts_module_destroy(m);
    return cli_report(st);
  }
  if (!all) {
    char *text = ts_script_print(m, NULL);
    fputs(text, stdout);
    free(text);
  }
  ts_module_destroy(m);
  return 0;
}
