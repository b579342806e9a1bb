/* cli.h: shared pieces of the `tessera` command: option parsing with exact
 * error messages, and loading modules.  One file per subcommand. */
#ifndef TESSERA_CLI_CLI_H
#define TESSERA_CLI_CLI_H

#include "tessera/ir.h"

/* An option a subcommand accepts.  takes_value: "--name VALUE" (also
 * "--name=VALUE").  repeatable options collect every value. */
typedef struct cli_opt {
  const char *name;
  bool takes_value;
  bool repeatable;
} cli_opt;

#define CLI_MAX_VALUES 64

typedef struct cli_args {
  const char *cmd;
  const char *positional[8];
  int n_positional;
  /* per option (same index as the spec): values and count */
  const char *values[32][CLI_MAX_VALUES];
  int counts[32];
} cli_args;

/* Parses argv (after the subcommand).  On error prints
 * "tessera CMD: message" to stderr and returns false. */
bool cli_parse(const char *cmd, const cli_opt *opts, int n_opts, int argc,
               char **argv, cli_args *out);
/* Value of option i (last one given), or NULL. */
const char *cli_get(const cli_args *a, int i);
bool cli_has(const cli_args *a, int i);

/* Prints a status (rendered, with source line) to stderr and frees it.
 * Returns the exit code to use (2). */
int cli_report(ts_status *st);
/* Prints "tessera CMD: message" to stderr; returns 2. */
int cli_fail(const char *cmd, const char *fmt, ...) TS_PRINTF(2, 3);

int cmd_print(int argc, char **argv);
int cmd_equal(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_transform(int argc, char **argv);
int cmd_build(int argc, char **argv);

/* Applies a schedule script to *m (replacing it). */
ts_status *cli_apply_schedule(ts_module **m, const char *script_path);
/* Runs `passes` (NULL: the default pipeline) on m, then builds the artifact
 * at so_path (C source kept in emit_dir when non-NULL). */
ts_status *cli_build_module(ts_module *m, const char *passes,
                            const char *so_path, const char *emit_dir);
/* As cli_build_module, but with a target (NULL: the host) or explain the
 * default schedule rules run for that target in place of the pipeline's
 * schedule-default, and explain prints each function's rule and trace. */
ts_status *cli_build_targeted(ts_module *m, const char *passes, const char *target,
                              bool explain, const char *so_path, const char *emit_dir);
/* A fresh temporary directory (heap path) or NULL; removed with its
 * contents (and the path freed) by cli_remove_temp_dir. */
char *cli_temp_dir(void);
void cli_remove_temp_dir(char *dir);
int cmd_schedule(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_compile(int argc, char **argv);

#endif
