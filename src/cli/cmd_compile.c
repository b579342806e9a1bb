/* cmd_compile.c: `tessera compile MODEL.onnx -o ARTIFACT.so [--emit-c DIR]
 * [--passes a,b,c] [--target T] [--explain]`: import an ONNX model, run the
 * default pipeline (or the given passes; the schedule rules for T with
 * --target, explained with --explain, as in `tessera build`) and build the
 * deployment artifact.  Nothing is written at
 * ARTIFACT.so on failure. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/frontend.h"

enum { OPT_OUT, OPT_EMIT, OPT_PASSES, OPT_TARGET, OPT_EXPLAIN };
static const cli_opt opts[] = {{"-o", true, false},
                               {"--emit-c", true, false},
                               {"--passes", true, false},
                               {"--target", true, false},
                               {"--explain", false, false}};

int cmd_compile(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("compile", opts, 5, argc, argv, &a)) return 2;
  if (a.n_positional == 0)
    return cli_fail("compile", "missing MODEL.onnx argument");
  if (a.n_positional > 1)
    return cli_fail("compile", "expected one model, got %d", a.n_positional);
  const char *out = cli_get(&a, OPT_OUT);
  if (!out) return cli_fail("compile", "missing -o ARTIFACT.so");
  ts_module *m = NULL;
  ts_status *st = ts_onnx_import(a.positional[0], &m);
  if (st) return cli_report(st);
  st = cli_build_targeted(m, cli_get(&a, OPT_PASSES), cli_get(&a, OPT_TARGET),
                          cli_has(&a, OPT_EXPLAIN), out, cli_get(&a, OPT_EMIT));
  ts_module_destroy(m);
  if (st) return cli_report(st);
  return 0;
}
