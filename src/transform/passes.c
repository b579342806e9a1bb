/* passes.c: the pass registry and the pipeline runner.  One row per pass. */
#include <stdlib.h>
#include <string.h>

#include "tessera/transform.h"

static const ts_pass_info passes[] = {
    {"legalize", "graph ops -> call_tir of generated TensorIR functions",
     ts_pass_legalize},
};

const char ts_default_pipeline[] = "legalize";

const ts_pass_info *ts_pass_lookup(const char *name) {
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
    if (!strcmp(passes[i].name, name)) return &passes[i];
  return NULL;
}

const ts_pass_info *ts_pass_list(int *out_n) {
  *out_n = (int)(sizeof passes / sizeof passes[0]);
  return passes;
}

ts_status *ts_pipeline_run(ts_module *m, const char *list, bool verify,
                           ts_after_pass_fn after, void *ctx) {
  char *copy = ts_xstrdup(list);
  ts_status *st = NULL;
  /* Check every name before running anything. */
  for (char *save = NULL, *p = strtok_r(copy, ",", &save); p;
       p = strtok_r(NULL, ",", &save)) {
    if (!ts_pass_lookup(p)) {
      st = ts_error(TS_ERR_NAME, "unknown pass '%s'", p);
      free(copy);
      return st;
    }
  }
  free(copy);
  copy = ts_xstrdup(list);
  for (char *save = NULL, *p = strtok_r(copy, ",", &save); p && !st;
       p = strtok_r(NULL, ",", &save)) {
    const ts_pass_info *pi = ts_pass_lookup(p);
    st = pi->run(m);
    if (st) {
      ts_status_annotate(st, "in pass '%s'", p);
      break;
    }
    if (verify && (st = ts_module_verify(m))) {
      ts_status_annotate(st, "the module is ill-formed after pass '%s'", p);
      break;
    }
    if (after) after(p, m, ctx);
  }
  free(copy);
  return st;
}
