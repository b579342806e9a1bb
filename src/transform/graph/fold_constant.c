/* fold_constant.c: the `fold-constant` pass.  A binding whose value is an op
 * call or a call_tir of a PrimFunc, every input of which is a constant
 * (R.const, a constant shape / prim value / string / dtype, or a variable an
 * earlier folding bound to a constant), is evaluated with the reference
 * interpreter and its value replaced by the resulting tensor constant
 * (`lv = R.const(...)`; uses of `lv` are left alone: canonicalize-bindings
 * and dead-code-elimination tidy up).  Typical: a transpose or reshape of a
 * weight.  Not folded: call_dps_packed (an impure library call), calls of
 * graph functions, results that are not one tensor of static shape, results
 * larger than 64 MiB, and anything whose evaluation fails (it is left for
 * run time, where the failure is reported). */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"
#include "tessera/interp.h"
#include "tessera/transform.h"

#define FOLD_LIMIT_BYTES ((size_t)64 << 20)

/* True when e's value is known at compile time.  `folded` maps variables to
 * their constant expression. */
static bool is_const(const ts_gexpr *e, const ts_ptrmap *folded) {
  switch (e->kind) {
  case TS_G_CONST: case TS_G_STR: case TS_G_DTYPE: case TS_G_GLOBAL: case TS_G_EXTERN:
    return true;
  case TS_G_VAR: return ts_ptrmap_has(folded, e->u.var);
  case TS_G_PRIM: return ts_expr_is_const_int(e->u.prim, NULL);
  case TS_G_SHAPE:
    for (int i = 0; i < e->u.shape.n; i++)
      if (!ts_expr_is_const_int(e->u.shape.values[i], NULL)) return false;
    return true;
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++)
      if (!is_const(e->u.tuple.fields[i], folded)) return false;
    return true;
  default: return false;
  }
}

/* Collects the folded variables e refers to (each once). */
typedef TS_VEC(ts_gvar *) gvar_vec;

static void collect_vars(const ts_gexpr *e, const ts_ptrmap *folded, ts_ptrmap *seen,
                         gvar_vec *out) {
  if (e->kind == TS_G_VAR && ts_ptrmap_has(folded, e->u.var) && !ts_ptrmap_has(seen, e->u.var)) {
    ts_ptrmap_put(seen, e->u.var, NULL);
    ts_vec_push(out, e->u.var);
  }
  if (e->kind == TS_G_TUPLE)
    for (int i = 0; i < e->u.tuple.n; i++) collect_vars(e->u.tuple.fields[i], folded, seen, out);
  if (e->kind == TS_G_CALL)
    for (int i = 0; i < e->u.call.n_args; i++)
      collect_vars(e->u.call.args[i], folded, seen, out);
}

/* The byte size of a tensor struct info with a static shape; false when the
 * shape or dtype is not static. */
static bool static_nbytes(const ts_sinfo *si, size_t *out) {
  if (!si || si->kind != TS_SI_TENSOR || si->u.tensor.ndim < 0 || !si->u.tensor.shape ||
      si->u.tensor.dtype.code == TS_VOID)
    return false;
  size_t n = ts_dtype_bytes(si->u.tensor.dtype);
  for (int d = 0; d < si->u.tensor.ndim; d++) {
    int64_t v;
    if (!ts_expr_is_const_int(si->u.tensor.shape[d], &v) || v < 0 ||
        !ts_size_mul(n, (size_t)v, &n))
      return false;
  }
  *out = n;
  return true;
}

static bool foldable_call(const ts_module *m, const ts_gexpr *v, const ts_ptrmap *folded) {
  if (v->kind != TS_G_CALL || v->u.call.callee_kind != TS_CALLEE_OP) return false;
  int op = v->u.call.op;
  if (op == TS_OP_CALL_DPS_PACKED) return false;
  if (op == TS_OP_CALL_TIR) {
    const ts_gexpr *callee = v->u.call.n_args > 0 ? v->u.call.args[0] : NULL;
    if (!callee || callee->kind != TS_G_GLOBAL) return false;
    ts_func *fn = ts_module_lookup((ts_module *)m, callee->u.global_name);
    if (!fn || fn->kind != TS_FUNC_PRIM) return false;
    if (v->u.call.n_sinfo_args != 1) return false;
    for (int i = 1; i < v->u.call.n_args; i++)
      if (!is_const(v->u.call.args[i], folded)) return false;
    return true;
  }
  if (!ts_op_get(op)->eval) return false;
  for (int i = 0; i < v->u.call.n_args; i++)
    if (!is_const(v->u.call.args[i], folded)) return false;
  return true;
}

/* Evaluates `value` (whose folded inputs are bound by a throwaway function
 * `() -> value`); NULL when evaluation fails or yields no single tensor. */
static ts_ndarray *evaluate(ts_module *m, const ts_gexpr *value, const ts_ptrmap *folded) {
  gvar_vec vars = {0};
  ts_ptrmap seen = {0};
  collect_vars(value, folded, &seen, &vars);
  ts_binding *bs = ts_xcalloc(vars.len + 1, sizeof *bs);
  for (size_t i = 0; i < vars.len; i++) {
    bs[i].kind = TS_BIND_VAR;
    bs[i].var = vars.data[i];
    bs[i].value = ts_ptrmap_get(folded, vars.data[i]);
  }
  ts_binding_block blk = {.bindings = bs, .n = (int)vars.len};
  ts_gfunc f = {.name = "fold_constant", .blocks = &blk, .n_blocks = 1,
                .result = (ts_gexpr *)value, .is_pure = true, .is_private = true};
  ts_value *outs = NULL;
  int n_outs = 0;
  ts_status *st = ts_interp_gfunc(m, &f, NULL, 0, &outs, &n_outs);
  ts_ndarray *res = NULL;
  if (st) {
    ts_status_free(st);
  } else if (n_outs == 1 && outs[0].kind == TS_VAL_TENSOR) {
    res = ts_ndarray_retain(outs[0].u.tensor);
  }
  ts_interp_free_values(outs, n_outs);
  free(bs);
  ts_ptrmap_free(&seen);
  ts_vec_free(&vars);
  return res;
}

static ts_gexpr *make_const(ts_arena *a, ts_ndarray *t, const ts_gexpr *like) {
  ts_const_data *cd = ts_arena_alloc(a, sizeof *cd);
  cd->dtype = ts_ndarray_dtype(t);
  cd->ndim = ts_ndarray_ndim(t);
  cd->shape = ts_arena_array(a, (size_t)cd->ndim + 1, sizeof(int64_t));
  ts_expr **sh = ts_arena_array(a, (size_t)cd->ndim + 1, sizeof(ts_expr *));
  for (int d = 0; d < cd->ndim; d++) {
    cd->shape[d] = ts_ndarray_shape(t)[d];
    sh[d] = ts_int(a, TS_I64, cd->shape[d]);
  }
  cd->nbytes = ts_ndarray_nbytes(t);
  cd->data = ts_arena_alloc_aligned(a, cd->nbytes ? cd->nbytes : 1, 64);
  if (cd->nbytes) memcpy(cd->data, ts_ndarray_data(t), cd->nbytes);
  ts_gexpr *c = ts_gexpr_new(a, TS_G_CONST, like->loc);
  c->u.constant = cd;
  c->sinfo = ts_sinfo_tensor(a, sh, cd->ndim, cd->dtype);
  return c;
}

static void fold_gfunc(ts_module *m, ts_gfunc *g) {
  ts_ptrmap folded = {0}; /* gvar -> constant expression */
  for (int b = 0; b < g->n_blocks; b++) {
    ts_binding_block *blk = &g->blocks[b];
    for (int k = 0; k < blk->n; k++) {
      ts_binding *bd = &blk->bindings[k];
      ts_gexpr *v = bd->value;
      if (bd->kind != TS_BIND_VAR) continue;
      if (v->kind == TS_G_CONST) {
        ts_ptrmap_put(&folded, bd->var, v);
        continue;
      }
      if (v->kind == TS_G_VAR && ts_ptrmap_has(&folded, v->u.var)) {
        ts_ptrmap_put(&folded, bd->var, ts_ptrmap_get(&folded, v->u.var));
        continue;
      }
      size_t nb;
      const ts_sinfo *si = v->kind == TS_G_CALL && v->u.call.op == TS_OP_CALL_TIR &&
                                   v->u.call.callee_kind == TS_CALLEE_OP &&
                                   v->u.call.n_sinfo_args == 1
                               ? v->u.call.sinfo_args[0]
                               : v->sinfo;
      if (!foldable_call(m, v, &folded) || !static_nbytes(si, &nb) || nb > FOLD_LIMIT_BYTES)
        continue;
      ts_ndarray *t = evaluate(m, v, &folded);
      if (!t) continue;
      bd->value = make_const(m->arena, t, v);
      ts_ndarray_release(t);
      ts_ptrmap_put(&folded, bd->var, bd->value);
    }
  }
  ts_ptrmap_free(&folded);
}

ts_status *ts_pass_fold_constant(ts_module *m, const char *args) {
  (void)args;
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].kind == TS_FUNC_GRAPH) fold_gfunc(m, m->funcs[i].u.graph);
  return NULL;
}
