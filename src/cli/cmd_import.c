/* cmd_import.c: `tessera import MODEL.onnx [-o FILE.tvmscript]`: import an
 * ONNX model and print it as TVMScript (to FILE, written atomically, or to
 * stdout).  Nothing is written on failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/frontend.h"
#include "tessera/script.h"

enum { OPT_OUT };
static const cli_opt opts[] = {{"-o", true, false}};

int cmd_import(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("import", opts, 1, argc, argv, &a)) return 2;
  if (a.n_positional == 0)
    return cli_fail("import", "missing MODEL.onnx argument");
  if (a.n_positional > 1)
    return cli_fail("import", "expected one model, got %d", a.n_positional);
  ts_module *m = NULL;
  ts_status *st = ts_onnx_import(a.positional[0], &m);
  if (st) return cli_report(st);
  char *text = ts_script_print(m, NULL);
  ts_module_destroy(m);
  const char *out = cli_get(&a, OPT_OUT);
  if (!out) {
    fputs(text, stdout);
    free(text);
    return 0;
  }
  st = ts_write_file_atomic(out, text, strlen(text));
  free(text);
  if (st) return cli_report(st);
  return 0;
}
