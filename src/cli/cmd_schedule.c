/* cmd_schedule.c: `tessera schedule FILE --func NAME --script SCHED.py
 * [--trace]`: apply a schedule script (TVM trace syntax or the MLC course's
 * calling style) to a function of the module and print the module; with
 * --trace, print the normalized trace after a line `# trace:`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

enum { OPT_FUNC, OPT_SCRIPT, OPT_TRACE };
static const cli_opt opts[] = {
    {"--func", true, false},
    {"--script", true, false},
    {"--trace", false, false},
};

int cmd_schedule(int argc, char **argv) {
  cli_args a;
  if (!cli_parse("schedule", opts, 3, argc, argv, &a)) return 2;
  if (a.n_positional == 0) return cli_fail("schedule", "missing FILE argument");
  if (a.n_positional > 1)
    return cli_fail("schedule", "expected one file, got %d", a.n_positional);
  const char *script = cli_get(&a, OPT_SCRIPT);
  if (!script) return cli_fail("schedule", "missing --script SCHED.py");
  const char *func = cli_get(&a, OPT_FUNC);
  ts_module *m = NULL;
  ts_status *st = ts_script_parse_file(a.positional[0], &m);
  if (st) return cli_report(st);
  if (func && !ts_module_primfunc(m, func)) {
    ts_module_destroy(m);
    return cli_fail("schedule", "no TensorIR function named '%s' in %s", func,
                    a.positional[0]);
  }
  char *text = NULL;
  size_t len = 0;
  st = ts_read_file(script, &text, &len);
  if (st) {
    ts_module_destroy(m);
    return cli_report(st);
  }
  ts_schedule *s = ts_schedule_create(m, 0);
  ts_module_destroy(m);
  if (func) {
    /* make NAME the current function (get_block without func_name) */
    char *work_on = ts_strdup_printf("sch.work_on(\"%s\")\n", func);
    st = ts_trace_apply(s, work_on, strlen(work_on), "<--func>");
    free(work_on);
  }
  if (!st) st = ts_trace_apply(s, text, len, script);
  free(text);
  if (st) {
    ts_schedule_destroy(s);
    return cli_report(st);
  }
  char *out = ts_script_print(ts_schedule_module(s), NULL);
  fputs(out, stdout);
  free(out);
  if (cli_has(&a, OPT_TRACE)) {
    char *trace = ts_schedule_trace_text(s);
    printf("# trace:\n%s", trace);
    free(trace);
  }
  ts_schedule_destroy(s);
  return 0;
}
