/* cmd_print.c: `tessera print FILE [--syntax classic|current]`: parse,
 * verify and print normalized TVMScript. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/script.h"

enum { OPT_SYNTAX };
static const cli_opt opts[] = {{"--syntax", true, false}};

int cmd_print(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("print", opts, 1, argc, argv, &a)) return 2;
  if (a.n_positional == 0) return cli_fail("print", "missing FILE argument");
  if (a.n_positional > 1)
    return cli_fail("print", "expected one file, got %d", a.n_positional);
  ts_print_options po = {TS_SYNTAX_CLASSIC};
  const char *syntax = cli_get(&a, OPT_SYNTAX);
  if (syntax) {
    if (!strcmp(syntax, "current"))
      po.syntax = TS_SYNTAX_CURRENT;
    else if (strcmp(syntax, "classic"))
      return cli_fail("print",
                      "--syntax expects 'classic' or 'current', got '%s'",
                      syntax);
  }
  ts_module *m = NULL;
  ts_status *st = ts_script_parse_file(a.positional[0], &m);
  if (st) return cli_report(st);
  char *text = ts_script_print(m, &po);
  fputs(text, stdout);
  free(text);
  ts_module_destroy(m);
  return 0;
}
