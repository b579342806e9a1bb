/* canonicalize.c: the `canonicalize-bindings` pass.
 *
 *  - `y = x` (a variable bound to another variable with the same struct
 *    info) is removed and every use of y becomes x, including in R.output
 *    lists (an output that becomes a variable defined outside the block is
 *    dropped from the list: it is visible anyway).  One case stays: y a
 *    non-dataflow variable (an R.output) bound to a dataflow variable x,
 *    since x cannot be seen outside its block.
 *  - `y = (a, b)[1]`, and `y = t[1]` with `t = (a, b)`, become `y = b`
 *    (then, b being a variable, the rule above applies).
 * Repeated until nothing changes.  Leftover dead bindings (the tuple `t`)
 * are dead-code-elimination's job. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "tessera/transform.h"

/* Rewrites the variables of e by `subst` (gvar -> gvar), copying on write. */
static ts_gexpr *rewrite(ts_arena *a, ts_gexpr *e, const ts_ptrmap *subst) {
  if (!e) return e;
  switch (e->kind) {
  case TS_G_VAR: {
    ts_gvar *to = ts_ptrmap_get(subst, e->u.var);
    if (!to) return e;
    ts_gexpr *n = ts_gexpr_new(a, TS_G_VAR, e->loc);
    n->u.var = to;
    n->sinfo = to->sinfo ? to->sinfo : e->sinfo;
    return n;
  }
  case TS_G_TUPLE: {
    ts_gexpr **fs = NULL;
    for (int i = 0; i < e->u.tuple.n; i++) {
      ts_gexpr *f = rewrite(a, e->u.tuple.fields[i], subst);
      if (f != e->u.tuple.fields[i] && !fs) {
        fs = ts_arena_array(a, (size_t)e->u.tuple.n, sizeof *fs);
        memcpy(fs, e->u.tuple.fields, (size_t)e->u.tuple.n * sizeof *fs);
      }
      if (fs) fs[i] = f;
    }
    if (!fs) return e;
    ts_gexpr *n = ts_gexpr_new(a, TS_G_TUPLE, e->loc);
    *n = *e;
    n->u.tuple.fields = fs;
    return n;
  }
  case TS_G_TUPLE_GET: {
    ts_gexpr *t = rewrite(a, e->u.tuple_get.tuple, subst);
    if (t == e->u.tuple_get.tuple) return e;
    ts_gexpr *n = ts_gexpr_new(a, TS_G_TUPLE_GET, e->loc);
    *n = *e;
    n->u.tuple_get.tuple = t;
    return n;
  }
  case TS_G_CALL: {
    ts_gexpr **as = NULL;
    for (int i = 0; i < e->u.call.n_args; i++) {
      ts_gexpr *x = rewrite(a, e->u.call.args[i], subst);
      if (x != e->u.call.args[i] && !as) {
        as = ts_arena_array(a, (size_t)e->u.call.n_args, sizeof *as);
        memcpy(as, e->u.call.args, (size_t)e->u.call.n_args * sizeof *as);
      }
      if (as) as[i] = x;
    }
    if (!as) return e;
    ts_gexpr *n = ts_gexpr_new(a, TS_G_CALL, e->loc);
    *n = *e;
    n->u.call.args = as;
    return n;
  }
  default: return e;
  }
}

static bool same_sinfo(const ts_sinfo *x, const ts_sinfo *y) {
  if (!x || !y) return !x || x == y;
  if (x == y) return true;
  ts_strbuf a = {0}, b = {0};
  ts_sinfo_print(&a, x);
  ts_sinfo_print(&b, y);
  bool eq = a.data && b.data && !strcmp(a.data, b.data);
  ts_strbuf_free(&a);
  ts_strbuf_free(&b);
  return eq;
}

/* The literal tuple behind e (a tuple, or a variable bound to one). */
static const ts_gexpr *tuple_literal(const ts_gexpr *e, const ts_ptrmap *tuples) {
  if (e->kind == TS_G_TUPLE) return e;
  if (e->kind == TS_G_VAR) return ts_ptrmap_get(tuples, e->u.var);
  return NULL;
}

static bool canonicalize_gfunc(ts_arena *a, ts_gfunc *g) {
  ts_ptrmap subst = {0};  /* y -> x */
  ts_ptrmap tuples = {0}; /* t -> its tuple literal */
  bool changed = false;
  for (int b = 0; b < g->n_blocks; b++) {
    ts_binding_block *blk = &g->blocks[b];
    int n = 0;
    for (int k = 0; k < blk->n; k++) {
      ts_binding bd = blk->bindings[k];
      ts_gexpr *v = rewrite(a, bd.value, &subst);
      if (v != bd.value) changed = true;
      bd.value = v;
      if (bd.kind == TS_BIND_VAR && v->kind == TS_G_TUPLE_GET) {
        const ts_gexpr *t = tuple_literal(v->u.tuple_get.tuple, &tuples);
        int i = v->u.tuple_get.index;
        if (t && i >= 0 && i < t->u.tuple.n) {
          bd.value = v = t->u.tuple.fields[i];
          changed = true;
        }
      }
      if (bd.kind == TS_BIND_VAR && v->kind == TS_G_TUPLE) ts_ptrmap_put(&tuples, bd.var, v);
      if (bd.kind == TS_BIND_VAR && v->kind == TS_G_VAR &&
          !(!bd.var->is_dataflow && v->u.var->is_dataflow) &&
          same_sinfo(bd.var->sinfo, v->u.var->sinfo)) {
        ts_ptrmap_put(&subst, bd.var, v->u.var);
        changed = true;
        continue; /* the binding goes */
      }
      blk->bindings[n++] = bd;
    }
    blk->n = n;
    int no = 0;
    for (int k = 0; k < blk->n_outputs; k++) {
      ts_gvar *o = blk->outputs[k], *to = ts_ptrmap_get(&subst, o);
      if (!to) {
        blk->outputs[no++] = o;
        continue;
      }
      /* o was replaced: keep listing its replacement only when that is a
       * variable of this block that is not listed yet. */
      bool local = false, listed = false;
      for (int j = 0; j < blk->n; j++) local |= blk->bindings[j].var == to;
      for (int j = 0; j < no; j++) listed |= blk->outputs[j] == to;
      if (local && !listed) blk->outputs[no++] = to;
    }
    blk->n_outputs = no;
  }
  int nb = 0; /* blocks left empty go */
  for (int b = 0; b < g->n_blocks; b++)
    if (g->blocks[b].n > 0 || g->blocks[b].n_outputs > 0) g->blocks[nb++] = g->blocks[b];
  g->n_blocks = nb;
  ts_gexpr *r = rewrite(a, g->result, &subst);
  if (r != g->result) changed = true;
  g->result = r;
  ts_ptrmap_free(&subst);
  ts_ptrmap_free(&tuples);
  return changed;
}

ts_status *ts_pass_canonicalize_bindings(ts_module *m, const char *args) {
  (void)args;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_GRAPH)
      for (int round = 0; round < 16 && canonicalize_gfunc(m->arena, m->funcs[i].u.graph);
           round++) {
      }
  return NULL;
}
