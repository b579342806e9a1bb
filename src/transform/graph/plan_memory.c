/* plan_memory.c: the `plan-memory` pass (TVM's StaticPlanBlockMemory).
 *
 * The tensors computed by call_tir / call_dps_packed that never leave the
 * function (ts_plan_collect: used only as inputs of such calls) get storage
 * tokens.  Walking the bindings in order, the tokens of tensors whose last
 * use is before the current binding go back to a free list, then the
 * current binding's tensor takes one:
 *   - static size (every dimension an integer, or bounded by the function
 *     attribute "tir_var_upper_bound" {"n": 128}): the smallest free static
 *     token at least as large; else the largest free static token, grown to
 *     the size; else a new token;
 *   - symbolic size: a free token whose size expression is the same (same
 *     dtype width and the same dimension expressions); else a new token.
 * A kernel's inputs stay live during the binding that computes its output,
 * so inputs and outputs never share.  Every tensor sits at offset 0 of its
 * token, so a token's size is the largest of its tensors.
 *
 * The plan is recorded as the function attribute "tessera.memory_plan"
 * (layout in transform.h), which prints and parses back; the VM compiler
 * allocates one storage per token and the tensors as views into it. */
#include "transform/graph/plan_memory.h"

#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/transform.h"

/* ---- analysis ------------------------------------------------------------ */

typedef struct collect_ctx {
  ts_plan_tensor *ts;
  int n;
  ts_ptrmap index; /* gvar -> index + 1 */
} collect_ctx;

static ts_plan_tensor *find(collect_ctx *c, const ts_gvar *v) {
  intptr_t i = (intptr_t)ts_ptrmap_get(&c->index, v);
  return i ? &c->ts[i - 1] : NULL;
}

/* A use of every variable in e at binding `at`; `as_input`: e is an input of
 * a DPS call (the only use that keeps a tensor plannable). */
static void use(collect_ctx *c, const ts_gexpr *e, int at, bool as_input) {
  if (!e) return;
  switch (e->kind) {
  case TS_G_VAR: {
    ts_plan_tensor *t = find(c, e->u.var);
    if (!t) return;
    if (!as_input) t->plannable = false;
    if (at > t->last) t->last = at;
    return;
  }
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++) use(c, e->u.tuple.fields[i], at, false);
    return;
  case TS_G_TUPLE_GET: use(c, e->u.tuple_get.tuple, at, false); return;
  case TS_G_CALL: {
    bool dps = e->u.call.callee_kind == TS_CALLEE_OP &&
               (e->u.call.op == TS_OP_CALL_TIR || e->u.call.op == TS_OP_CALL_DPS_PACKED);
    for (int i = 0; i < e->u.call.n_args; i++) {
      const ts_gexpr *x = e->u.call.args[i];
      if (dps && i == 1 && x->kind == TS_G_TUPLE) {
        for (int k = 0; k < x->u.tuple.n; k++)
          use(c, x->u.tuple.fields[k], at, x->u.tuple.fields[k]->kind == TS_G_VAR);
      } else {
        use(c, x, at, dps && i == 1 && x->kind == TS_G_VAR);
      }
    }
    return;
  }
  default: return;
  }
}

static bool known_tensor(const ts_sinfo *si) {
  return si && si->kind == TS_SI_TENSOR && si->u.tensor.ndim >= 0 &&
         si->u.tensor.ndim <= 16 && si->u.tensor.shape && si->u.tensor.dtype.code != TS_VOID;
}

int ts_plan_collect(const ts_gfunc *g, ts_plan_tensor **out) {
  collect_ctx c = {0};
  int total = 0;
  for (int b = 0; b < g->n_blocks; b++) total += g->blocks[b].n;
  c.ts = ts_xcalloc((size_t)total + 1, sizeof *c.ts);
  int at = 0;
  for (int b = 0; b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++, at++) {
      const ts_binding *bd = &g->blocks[b].bindings[k];
      use(&c, bd->value, at, false);
      const ts_gexpr *v = bd->value;
      if (bd->kind != TS_BIND_VAR || v->kind != TS_G_CALL ||
          v->u.call.callee_kind != TS_CALLEE_OP ||
          (v->u.call.op != TS_OP_CALL_TIR && v->u.call.op != TS_OP_CALL_DPS_PACKED) ||
          v->u.call.n_sinfo_args != 1 || !v->u.call.sinfo_args[0] ||
          v->u.call.sinfo_args[0]->kind == TS_SI_TUPLE)
        continue;
      ts_plan_tensor *t = &c.ts[c.n++];
      t->binding = bd;
      t->sinfo = v->u.call.sinfo_args[0];
      t->def = t->last = at;
      t->plannable = known_tensor(t->sinfo);
      for (int j = 0; j < c.n - 1; j++)
        if (!strcmp(c.ts[j].binding->var->name, bd->var->name))
          t->plannable = c.ts[j].plannable = false;
      ts_ptrmap_put(&c.index, bd->var, (void *)(intptr_t)c.n);
    }
  /* names bound by any other binding are ambiguous too */
  for (int b = 0; b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++) {
      const ts_binding *bd = &g->blocks[b].bindings[k];
      for (int j = 0; j < c.n; j++)
        if (c.ts[j].binding != bd && !strcmp(c.ts[j].binding->var->name, bd->var->name))
          c.ts[j].plannable = false;
    }
  use(&c, g->result, at, false);
  ts_ptrmap_free(&c.index);
  *out = c.ts;
  return c.n;
}

/* ---- sizes ------------------------------------------------------------------ */

/* Upper value of a dimension expression given per-variable upper bounds;
 * false when unknown (a variable without bound, or an operator that is not
 * monotone). */
static bool upper_value(const ts_expr *e, const ts_attrs *bounds, int64_t *out) {
  int64_t a, b;
  switch (e->kind) {
  case TS_E_INT: *out = e->u.int_value; return true;
  case TS_E_CAST: return upper_value(e->u.unary.a, bounds, out);
  case TS_E_VAR: {
    const ts_attr_value *v = ts_attrs_get(bounds, e->u.var->name);
    if (!v) return false;
    if (v->kind == TS_ATTR_INT) *out = v->u.i;
    else if (v->kind == TS_ATTR_EXPR && ts_expr_is_const_int(v->u.expr, out)) {
    } else return false;
    return *out >= 0;
  }
  case TS_E_ADD: case TS_E_MUL: case TS_E_MIN: case TS_E_MAX:
    if (!upper_value(e->u.bin.a, bounds, &a) || !upper_value(e->u.bin.b, bounds, &b))
      return false;
    if (e->kind == TS_E_ADD) return !__builtin_add_overflow(a, b, out);
    if (e->kind == TS_E_MUL) return !__builtin_mul_overflow(a, b, out);
    *out = e->kind == TS_E_MIN ? (a < b ? a : b) : (a > b ? a : b);
    return true;
  case TS_E_FLOORDIV: case TS_E_DIV:
    if (!upper_value(e->u.bin.a, bounds, &a) || !ts_expr_is_const_int(e->u.bin.b, &b) || b <= 0)
      return false;
    *out = a / b;
    return true;
  default: return false;
  }
}

/* Static byte size (true) or, for a symbolic one, its key in *key (heap). */
static bool tensor_bytes(const ts_sinfo *si, const ts_attrs *bounds, int64_t *out,
                         char **key) {
  int64_t n = (int64_t)ts_dtype_bytes(si->u.tensor.dtype);
  bool ok = true;
  for (int d = 0; d < si->u.tensor.ndim && ok; d++) {
    int64_t v;
    ok = upper_value(si->u.tensor.shape[d], bounds, &v) && v >= 0 &&
         !__builtin_mul_overflow(n, v, &n);
  }
  if (ok) {
    *out = n;
    return true;
  }
  ts_strbuf sb = {0};
  ts_strbuf_printf(&sb, "%zu", ts_dtype_bytes(si->u.tensor.dtype));
  for (int d = 0; d < si->u.tensor.ndim; d++) {
    ts_strbuf_append(&sb, " * ");
    ts_expr_print(&sb, si->u.tensor.shape[d]);
  }
  *key = sb.data;
  return false;
}

/* ---- planning ----------------------------------------------------------------- */

typedef struct token {
  int64_t bytes; /* -1: symbolic */
  char *key;     /* symbolic size expression */
  int holder;    /* the tensor using it now; -1: free */
} token;

static void plan_gfunc(ts_module *m, ts_gfunc *g) {
  ts_arena *A = m->arena;
  if (g->attrs) { /* a previous plan is replaced */
    int n = 0;
    for (int i = 0; i < g->attrs->n; i++)
      if (strcmp(g->attrs->keys[i], TS_MEMORY_PLAN_ATTR)) {
        g->attrs->keys[n] = g->attrs->keys[i];
        g->attrs->values[n++] = g->attrs->values[i];
      }
    g->attrs->n = n;
  }
  ts_plan_tensor *ts;
  int n = ts_plan_collect(g, &ts);
  const ts_attr_value *ub = ts_attrs_get(g->attrs, "tir_var_upper_bound");
  const ts_attrs *bounds = ub && ub->kind == TS_ATTR_DICT ? ub->u.dict : NULL;
  TS_VEC(token) toks = {0};
  int *tok_of = ts_xcalloc((size_t)n + 1, sizeof(int));
  int64_t unplanned = 0;
  for (int i = 0; i < n; i++) {
    tok_of[i] = -1;
    if (!ts[i].plannable) continue;
    /* release the tokens of tensors dead before this binding */
    for (size_t k = 0; k < toks.len; k++)
      if (toks.data[k].holder >= 0 && ts[toks.data[k].holder].last < ts[i].def)
        toks.data[k].holder = -1;
    char *key = NULL;
    int64_t need = 0;
    bool fixed = tensor_bytes(ts[i].sinfo, bounds, &need, &key);
    int pick = -1;
    if (fixed) {
      unplanned += need;
      for (size_t k = 0; k < toks.len; k++) { /* smallest that fits */
        token *t = &toks.data[k];
        if (t->holder < 0 && t->bytes >= need && (pick < 0 || t->bytes < toks.data[pick].bytes))
          pick = (int)k;
      }
      if (pick < 0)
        for (size_t k = 0; k < toks.len; k++) { /* else the largest, grown */
          token *t = &toks.data[k];
          if (t->holder < 0 && t->bytes >= 0 && (pick < 0 || t->bytes > toks.data[pick].bytes))
            pick = (int)k;
        }
      if (pick >= 0 && toks.data[pick].bytes < need) toks.data[pick].bytes = need;
    } else {
      for (size_t k = 0; k < toks.len && pick < 0; k++)
        if (toks.data[k].holder < 0 && toks.data[k].key && !strcmp(toks.data[k].key, key))
          pick = (int)k;
    }
    if (pick < 0) {
      ts_vec_push(&toks, ((token){fixed ? need : -1, key, -1}));
      key = NULL;
      pick = (int)toks.len - 1;
    }
    free(key);
    toks.data[pick].holder = i;
    tok_of[i] = pick;
  }
  if (toks.len) {
    int n_planned = 0;
    for (int i = 0; i < n; i++) n_planned += tok_of[i] >= 0;
    ts_attr_value *names = ts_arena_alloc(A, sizeof *names);
    ts_attr_value *ids = ts_arena_alloc(A, sizeof *ids);
    ts_attr_value *sizes = ts_arena_alloc(A, sizeof *sizes);
    names->kind = ids->kind = sizes->kind = TS_ATTR_LIST;
    names->u.list.items = ts_arena_array(A, (size_t)n_planned, sizeof(ts_attr_value *));
    ids->u.list.items = ts_arena_array(A, (size_t)n_planned, sizeof(ts_attr_value *));
    for (int i = 0; i < n; i++) {
      if (tok_of[i] < 0) continue;
      names->u.list.items[names->u.list.n++] = ts_attr_str(A, ts[i].binding->var->name);
      ids->u.list.items[ids->u.list.n++] = ts_attr_int(A, tok_of[i]);
    }
    int64_t planned = 0;
    sizes->u.list.items = ts_arena_array(A, toks.len, sizeof(ts_attr_value *));
    for (size_t k = 0; k < toks.len; k++) {
      sizes->u.list.items[sizes->u.list.n++] = ts_attr_int(A, toks.data[k].bytes);
      if (toks.data[k].bytes > 0) planned += toks.data[k].bytes;
    }
    ts_attrs *d = ts_attrs_new(A);
    ts_attrs_set(A, d, "tensors", names);
    ts_attrs_set(A, d, "storage", ids);
    ts_attrs_set(A, d, "storage_bytes", sizes);
    ts_attrs_set(A, d, "planned_bytes", ts_attr_int(A, planned));
    ts_attrs_set(A, d, "unplanned_bytes", ts_attr_int(A, unplanned));
    ts_attr_value *dv = ts_arena_alloc(A, sizeof *dv);
    dv->kind = TS_ATTR_DICT;
    dv->u.dict = d;
    if (!g->attrs) g->attrs = ts_attrs_new(A);
    ts_attrs_set(A, g->attrs, TS_MEMORY_PLAN_ATTR, dv);
  }
  for (size_t k = 0; k < toks.len; k++) free(toks.data[k].key);
  ts_vec_free(&toks);
  free(tok_of);
  free(ts);
}

ts_status *ts_pass_plan_memory(ts_module *m, const char *args) {
  (void)args;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_GRAPH) plan_gfunc(m, m->funcs[i].u.graph);
  return NULL;
}
