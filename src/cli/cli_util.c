/* cli_util.c: option parsing and error reporting shared by subcommands. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_fail(const char *cmd, const char *fmt, ...) {
  fprintf(stderr, "tessera %s: ", cmd);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 2;
}

int cli_report(ts_status *st) {
  fprintf(stderr, "%s\n", ts_status_render(st));
  ts_status_free(st);
  return 2;
}

bool cli_parse(const char *cmd, const cli_opt *opts, int n_opts, int argc,
               char **argv, cli_args *out) {
  memset(out, 0, sizeof *out);
  out->cmd = cmd;
  TS_ASSERT(n_opts <= 32);
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    bool short_opt = false; /* "-o": a single-dash option of the spec */
    for (int j = 0; j < n_opts && arg[0] == '-' && arg[1] != '-'; j++)
      short_opt |= !strcmp(opts[j].name, arg);
    if (!short_opt && (strncmp(arg, "--", 2) != 0 || !strcmp(arg, "--"))) {
      if (out->n_positional == 8) {
        cli_fail(cmd, "too many arguments");
        return false;
      }
      out->positional[out->n_positional++] = arg;
      continue;
    }
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    int k = -1;
    for (int j = 0; j < n_opts; j++)
      if (strlen(opts[j].name) == name_len &&
          !strncmp(opts[j].name, arg, name_len))
        k = j;
    if (k < 0) {
      cli_fail(cmd, "unknown option '%.*s'", (int)name_len, arg);
      return false;
    }
    const char *value = NULL;
    if (opts[k].takes_value) {
      if (eq)
        value = eq + 1;
      else if (i + 1 < argc)
        value = argv[++i];
      if (!value || !*value) {
        cli_fail(cmd, "option '%s' needs a value", opts[k].name);
        return false;
      }
    } else if (eq) {
      cli_fail(cmd, "option '%s' takes no value", opts[k].name);
      return false;
    }
    if (out->counts[k] == CLI_MAX_VALUES) {
      cli_fail(cmd, "option '%s' given too many times", opts[k].name);
      return false;
    }
    if (out->counts[k] > 0 && !opts[k].repeatable) {
      cli_fail(cmd, "option '%s' given twice", opts[k].name);
      return false;
    }
    out->values[k][out->counts[k]++] = value;
  }
  return true;
}

const char *cli_get(const cli_args *a, int i) {
  return a->counts[i] ? a->values[i][a->counts[i] - 1] : NULL;
}

bool cli_has(const cli_args *a, int i) { return a->counts[i] > 0; }
