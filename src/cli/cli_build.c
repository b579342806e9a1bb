/* cli_build.c: the steps `tessera build`, `compile` and `run` share: applying a
 * schedule script, running the pipeline and building an artifact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tessera/build.h"
#include "tessera/schedule.h"
#include "tessera/script.h"
#include "tessera/transform.h"
#include "tessera/tune.h"

ts_status *cli_apply_schedule(ts_module **m, const char *script_path) {
  char *text;
  size_t len;
  TS_RETURN_IF_ERROR(ts_read_file(script_path, &text, &len));
  ts_schedule *s = ts_schedule_create(*m, 0);
  ts_status *st = ts_trace_apply(s, text, len, script_path);
  free(text);
  if (st) {
    ts_schedule_destroy(s);
    return st;
  }
  /* Functions the script changed are scheduled by hand now: mark them
   * "tir.is_scheduled" (as TVM does) so that the default rules leave them
   * alone. */
  ts_module *out = ts_schedule_take_module(s);
  ts_schedule_destroy(s);
  for (int i = 0; i < out->n_funcs; i++) {
    if (out->funcs[i].kind != TS_FUNC_PRIM) continue;
    ts_primfunc *f = out->funcs[i].u.prim;
    ts_primfunc *before = ts_module_primfunc(*m, f->name);
    if (before && ts_primfunc_equal(before, f, NULL)) continue;
    if (!f->attrs) f->attrs = ts_attrs_new(out->arena);
    ts_attrs_set(out->arena, f->attrs, "tir.is_scheduled",
                 ts_attr_bool(out->arena, true));
  }
  ts_module_destroy(*m);
  *m = out;
  return NULL;
}

ts_status *cli_build_module(ts_module *m, const char *passes,
                            const char *so_path, const char *emit_dir) {
  TS_RETURN_IF_ERROR(ts_pipeline_run(m, passes ? passes : ts_default_pipeline,
                                     true, NULL, NULL));
  return ts_build_artifact(m, NULL, so_path, emit_dir);
}

char *cli_temp_dir(void) {
  char tmpl[] = "/tmp/tessera_run_XXXXXX";
  if (!mkdtemp(tmpl)) return NULL;
  return ts_xstrdup(tmpl);
}

void cli_remove_temp_dir(char *dir) {
  if (!dir) return;
  char *cmd = ts_strdup_printf("rm -rf '%s'", dir);
  if (system(cmd) != 0) { /* best effort */
  }
  free(cmd);
  free(dir);
}

ts_status *cli_build_targeted(ts_module *m, const char *passes, const char *target,
                              bool explain, const char *so_path, const char *emit_dir) {
  if (!target && !explain) return cli_build_module(m, passes, so_path, emit_dir);
  ts_target t;
  ts_strbuf ex = {0};
  ts_status *st = ts_target_parse(target, &t);
  /* the passes before schedule-default, the rules for this target (with
   * their explanation), then the passes after it */
  char *before = ts_xstrdup(passes ? passes : ts_default_pipeline);
  char *after = strstr(before, "schedule-default");
  if (after) {
    *after = '\0';
    after += strlen("schedule-default");
    if (*after == ',') after++;
    size_t n = strlen(before);
    if (n && before[n - 1] == ',') before[n - 1] = '\0';
  }
  if (!st && *before) st = ts_pipeline_run(m, before, true, NULL, NULL);
  if (!st) st = ts_schedule_default(m, &t, explain ? &ex : NULL);
  if (!st && after && *after) st = ts_pipeline_run(m, after, true, NULL, NULL);
  free(before);
  if (!st && explain) {
    char *d = ts_target_describe(&t);
    printf("target: %s\n%s", d, ex.data ? ex.data : "");
    free(d);
  }
  ts_strbuf_free(&ex);
  /* the kernels compiled for the target's ISA */
  if (!st) st = ts_pipeline_run(m, "", true, NULL, NULL); /* verifies */
  if (!st) {
    char *flags = ts_target_cflags(&t);
    ts_build_options o = {.extra_cc_args = flags};
    st = ts_build_artifact(m, &o, so_path, emit_dir);
    free(flags);
  }
  return st;
}
