/* passes.c: the pass registry and the pipeline runner.  One row per pass. */
#include <stdlib.h>
#include <string.h>

#include "tessera/transform.h"
#include "tessera/tune.h"

static const ts_pass_info passes[] = {
    {"legalize", "graph ops -> call_tir of generated TensorIR functions",
     ts_pass_legalize},
    {"schedule-default", "rule-based schedules for unscheduled TensorIR functions "
     "(arg: target, \"cpu -mcpu=native\")", ts_pass_schedule_default},
    {"dispatch-library",
     "op chains (matmul/linear/conv2d + bias/bn/residual/relu) -> "
     "call_dps_packed of OpenBLAS/oneDNN library functions",
     ts_pass_dispatch_library},
    {"fold-constant", "evaluate bindings whose inputs are all constants "
     "(ops, call_tir) into R.const", ts_pass_fold_constant},
    {"lift-constant-packing", "split packing nests of constant parameters "
     "(block annotation tessera.pack_constant) into functions called from the "
     "graph, for fold-constant", ts_pass_lift_constant_packing},
    {"dead-code-elimination", "remove unused pure bindings, then functions "
     "unreachable from main and public functions", ts_pass_dead_code_elimination},
    {"canonicalize-bindings", "replace y = x by x, fold tuple-get of a tuple "
     "literal", ts_pass_canonicalize_bindings},
    {"plan-memory", "share storage between intermediate tensors whose "
     "lifetimes do not overlap (attribute tessera.memory_plan)", ts_pass_plan_memory},
    {"annotate-op-pattern", "TensorIR functions get attribute op_pattern "
     "(elementwise 0 .. opaque 8)", ts_pass_annotate_op_pattern},
    {"fuse-ops", "group call_tir chains into Primitive graph functions "
     "fused_<ops>", ts_pass_fuse_ops},
    {"fuse-tir", "each Primitive graph function becomes one TensorIR function",
     ts_pass_fuse_tir},
};

const char ts_default_pipeline[] =
    "legalize,annotate-op-pattern,fold-constant,fuse-ops,fuse-tir,"
    "dead-code-elimination,schedule-default,lift-constant-packing,fold-constant,"
    "dead-code-elimination,plan-memory";

const ts_pass_info *ts_pass_lookup(const char *name) {
  for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++)
    if (!strcmp(passes[i].name, name)) return &passes[i];
  return NULL;
}

const ts_pass_info *ts_pass_list(int *out_n) {
  *out_n = (int)(sizeof passes / sizeof passes[0]);
  return passes;
}

/* Splits a pipeline into entries at top-level commas; each entry's name and
 * bracketed arguments are returned as heap strings. */
typedef struct entry {
  char *name, *args;
} entry;

static ts_status *split_pipeline(const char *list, entry **out, int *out_n) {
  TS_VEC(entry) v = {0};
  const char *p = list;
  while (*p) {
    const char *start = p;
    int depth = 0;
    while (*p && (depth > 0 || *p != ',')) {
      if (*p == '[') depth++;
      if (*p == ']') depth--;
      p++;
    }
    size_t n = (size_t)(p - start);
    char *text = ts_xmalloc(n + 1);
    memcpy(text, start, n);
    text[n] = 0;
    entry e = {text, NULL};
    char *br = strchr(text, '[');
    if (br) {
      size_t tl = strlen(text);
      if (tl < 2 || text[tl - 1] != ']') {
        ts_status *st = ts_error(TS_ERR_SYNTAX, "pass entry '%s': missing ']'", text);
        free(text);
        for (size_t i = 0; i < v.len; i++) free(v.data[i].name);
        ts_vec_free(&v);
        return st;
      }
      text[tl - 1] = 0;
      *br = 0;
      e.args = br + 1;
    }
    ts_vec_push(&v, e);
    if (*p == ',') p++;
  }
  *out = v.data;
  *out_n = (int)v.len;
  return NULL;
}

ts_status *ts_pipeline_run(ts_module *m, const char *list, bool verify,
                           ts_after_pass_fn after, void *ctx) {
  entry *es = NULL;
  int n = 0;
  TS_RETURN_IF_ERROR(split_pipeline(list, &es, &n));
  ts_status *st = NULL;
  /* Check every name before running anything. */
  for (int i = 0; i < n && !st; i++)
    if (!ts_pass_lookup(es[i].name))
      st = ts_error(TS_ERR_NAME, "unknown pass '%s' (see tessera transform "
                                 "--list-passes)",
                    es[i].name);
  for (int i = 0; i < n && !st; i++) {
    const ts_pass_info *pi = ts_pass_lookup(es[i].name);
    st = pi->run(m, es[i].args);
    if (st) {
      ts_status_annotate(st, "in pass '%s'", es[i].name);
      break;
    }
    if (verify && (st = ts_module_verify(m))) {
      ts_status_annotate(st, "the module is ill-formed after pass '%s'", es[i].name);
      break;
    }
    if (after) after(es[i].name, m, ctx);
  }
  for (int i = 0; i < n; i++) free(es[i].name);
  free(es);
  return st;
}
