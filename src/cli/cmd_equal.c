/* cmd_equal.c: `tessera equal A B`: structural equality modulo variable
 * names.  Exit 0 when equal; otherwise print the first difference, exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "tessera/script.h"

int cmd_equal(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("equal", NULL, 0, argc, argv, &a)) return 2;
  if (a.n_positional != 2)
    return cli_fail("equal", "expected two files, got %d", a.n_positional);
  ts_module *m[2] = {NULL, NULL};
  for (int i = 0; i < 2; i++) {
    ts_status *st = ts_script_parse_file(a.positional[i], &m[i]);
    if (st) {
      if (m[0]) ts_module_destroy(m[0]);
      return cli_report(st);
    }
  }
  char *diff = NULL;
  bool eq = ts_module_equal(m[0], m[1], &diff);
  if (!eq) {
    printf("not equal: %s\n", diff ? diff : "modules differ");
    free(diff);
  }
  ts_module_destroy(m[0]);
  ts_module_destroy(m[1]);
  return eq ? 0 : 1;
}
