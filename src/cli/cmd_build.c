/* cmd_build.c: `tessera build FILE -o ARTIFACT.so [--emit-c DIR]
 * [--schedule SCHED.py] [--passes a,b,c] [--target T] [--explain]`: compile
 * a module into the deployment artifact.  With --target or --explain the
 * default schedule rules (tune.h) run after the passes on every function not
 * yet scheduled; --explain prints, per function, the rule and its trace.
 * Nothing is written at ARTIFACT.so on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/script.h"

enum { OPT_OUT, OPT_EMIT, OPT_SCHEDULE, OPT_PASSES, OPT_TARGET, OPT_EXPLAIN };
static const cli_opt opts[] = {{"-o", true, false},
                               {"--emit-c", true, false},
                               {"--schedule", true, false},
                               {"--passes", true, false},
                               {"--target", true, false},
                               {"--explain", false, false}};

int cmd_build(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("build", opts, 6, argc, argv, &a)) return 2;
  if (a.n_positional == 0) return cli_fail("build", "missing FILE argument");
  if (a.n_positional > 1)
    return cli_fail("build", "expected one file, got %d", a.n_positional);
  const char *out = cli_get(&a, OPT_OUT);
  if (!out) return cli_fail("build", "missing -o ARTIFACT.so");
  ts_module *m = NULL;
  ts_status *st = ts_script_parse_file(a.positional[0], &m);
  if (st) return cli_report(st);
  const char *sched = cli_get(&a, OPT_SCHEDULE);
  if (sched && (st = cli_apply_schedule(&m, sched))) {
    ts_module_destroy(m);
    return cli_report(st);
  }
  st = cli_build_targeted(m, cli_get(&a, OPT_PASSES), cli_get(&a, OPT_TARGET),
                          cli_has(&a, OPT_EXPLAIN), out, cli_get(&a, OPT_EMIT));
  ts_module_destroy(m);
  if (st) return cli_report(st);
  return 0;
}
