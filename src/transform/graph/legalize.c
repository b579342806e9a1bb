/* legalize.c: the `legalize` pass.  Every op call in a graph function other
 * than call_tir / call_dps_packed becomes call_tir of a TensorIR function
 * built by the op's legalization (src/ops/legalize.c).  Functions are
 * deduplicated by structural equality; a new one is named after the op
 * ("relu", then "relu1", "relu2", ...) as TVM names them. */
#include <string.h>

#include "ops/legalize.h"
#include "tessera/transform.h"

static const char *unique_name(ts_module *m, const char *base) {
  if (!ts_module_lookup(m, base)) return base;
  for (int k = 1;; k++) {
    const char *n = ts_arena_printf(m->arena, "%s%d", base, k);
    if (!ts_module_lookup(m, n)) return n;
  }
}

/* Returns the name of a PrimFunc equal to f, or adds f under a fresh name. */
static const char *intern_primfunc(ts_module *m, ts_primfunc *f,
                                   const char *base) {
  for (int i = 0; i < m->n_funcs; i++) {
    ts_func *g = &m->funcs[i];
    if (g->kind != TS_FUNC_PRIM) continue;
    ts_primfunc *p = g->u.prim;
    const char *saved = f->name;
    f->name = p->name; /* names do not take part in the comparison */
    bool eq = ts_primfunc_equal(p, f, NULL);
    f->name = saved;
    if (eq) return p->name;
  }
  f->name = unique_name(m, base);
  ts_func nf = {.kind = TS_FUNC_PRIM, .name = f->name, .u.prim = f};
  ts_module_set(m, nf);
  return f->name;
}

static ts_status *legalize_call(ts_module *m, ts_gexpr *call,
                                ts_gexpr **out) {
  ts_arena *a = m->arena;
  const char *base;
  ts_primfunc *f;
  ts_gexpr *args[TS_LEGALIZE_MAX_ARGS];
  int n_args;
  TS_RETURN_IF_ERROR(ts_op_legalize(a, call, &base, &f, args, &n_args));
  const char *name = intern_primfunc(m, f, base);
  ts_gexpr *gv = ts_gexpr_new(a, TS_G_GLOBAL, call->loc);
  gv->u.global_name = name;
  ts_gexpr *tup = ts_gexpr_new(a, TS_G_TUPLE, call->loc);
  tup->u.tuple.n = n_args;
  tup->u.tuple.fields = ts_arena_array(a, (size_t)n_args + 1, sizeof(ts_gexpr *));
  for (int i = 0; i < n_args; i++) tup->u.tuple.fields[i] = args[i];
  ts_gexpr *c = ts_gexpr_new(a, TS_G_CALL, call->loc);
  c->sinfo = call->sinfo;
  c->u.call.callee_kind = TS_CALLEE_OP;
  c->u.call.op = TS_OP_CALL_TIR;
  c->u.call.n_args = 2;
  c->u.call.args = ts_arena_array(a, 2, sizeof(ts_gexpr *));
  c->u.call.args[0] = gv;
  c->u.call.args[1] = tup;
  /* A tuple-valued op (R.split) has one out_sinfo per field. */
  const ts_sinfo *rs = call->sinfo;
  int n_out = rs->kind == TS_SI_TUPLE ? rs->u.tuple.n : 1;
  c->u.call.n_sinfo_args = n_out;
  c->u.call.sinfo_args = ts_arena_array(a, (size_t)n_out, sizeof(ts_sinfo *));
  for (int i = 0; i < n_out; i++)
    c->u.call.sinfo_args[i] =
        rs->kind == TS_SI_TUPLE ? rs->u.tuple.fields[i] : call->sinfo;
  *out = c;
  return NULL;
}

ts_status *ts_pass_legalize(ts_module *m, const char *args) {
  (void)args;
  int n = m->n_funcs; /* functions added by this pass are PrimFuncs */
  for (int i = 0; i < n; i++) {
    if (m->funcs[i].kind != TS_FUNC_GRAPH) continue;
    ts_gfunc *g = m->funcs[i].u.graph;
    for (int b = 0; b < g->n_blocks; b++) {
      ts_binding_block *blk = &g->blocks[b];
      for (int k = 0; k < blk->n; k++) {
        ts_gexpr *v = blk->bindings[k].value;
        if (v->kind != TS_G_CALL || v->u.call.callee_kind != TS_CALLEE_OP ||
            v->u.call.op == TS_OP_CALL_TIR || v->u.call.op == TS_OP_CALL_DPS_PACKED)
          continue;
        TS_RETURN_IF_ERROR(legalize_call(m, v, &blk->bindings[k].value));
      }
    }
  }
  return NULL;
}
