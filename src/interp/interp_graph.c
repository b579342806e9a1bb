/* interp_graph.c: the graph-function reference interpreter.
 *
 * Evaluates the bindings of a graph function in order over graph values
 * (gval: tensor, tuple, shape, prim int/float, string, dtype, function name).
 * Symbolic dimensions live in a tsi_ctx (interp_util.h): bound from the
 * parameters' shapes and by match_cast, then used to evaluate output shapes
 * of call_tir/call_dps_packed and shape values.  Op calls go to the op
 * registry's eval functions (ops.h), call_tir to the TensorIR interpreter,
 * call_dps_packed to the runtime registry, calls to graph functions recurse.
 *
 * Ownership: a gval owns what it holds (one reference per tensor; tuple and
 * shape arrays on the heap); gval_copy duplicates, gval_clear releases. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp_util.h"
#include "ops/ops_internal.h"

typedef enum gv_kind {
  GV_NONE,
  GV_TENSOR, /* t */
  GV_TUPLE,  /* tup */
  GV_SHAPE,  /* shape */
  GV_INT,    /* i */
  GV_FLOAT,  /* f */
  GV_STR,    /* s (borrowed from the module or the caller) */
  GV_DTYPE,  /* dt */
  GV_FUNC,   /* s: a function name (global; extern when is_extern) */
} gv_kind;

typedef struct gval gval;
struct gval {
  gv_kind kind;
  bool is_extern;
  union {
    ts_ndarray *t;
    struct {
      gval *items;
      int n;
    } tup;
    struct {
      int64_t *v;
      int n;
    } shape;
    int64_t i;
    double f;
    const char *s;
    ts_dtype dt;
  } u;
};

#define MAX_CALL_DEPTH 200

static void gval_clear(gval *v) {
  switch (v->kind) {
  case GV_TENSOR:
    ts_ndarray_release(v->u.t);
    break;
  case GV_TUPLE:
    for (int i = 0; i < v->u.tup.n; i++)
      gval_clear(&v->u.tup.items[i]);
    free(v->u.tup.items);
    break;
  case GV_SHAPE:
    free(v->u.shape.v);
    break;
  default:
    break;
  }
  memset(v, 0, sizeof(*v));
}

static gval gval_copy(const gval *v) {
  gval r = *v;
  switch (v->kind) {
  case GV_TENSOR:
    ts_ndarray_retain(v->u.t);
    break;
  case GV_TUPLE:
    r.u.tup.items =
        ts_xcalloc(v->u.tup.n ? (size_t)v->u.tup.n : 1, sizeof(gval));
    for (int i = 0; i < v->u.tup.n; i++)
      r.u.tup.items[i] = gval_copy(&v->u.tup.items[i]);
    break;
  case GV_SHAPE:
    r.u.shape.v =
        ts_xcalloc(v->u.shape.n ? (size_t)v->u.shape.n : 1, sizeof(int64_t));
    if (v->u.shape.n)
      memcpy(r.u.shape.v, v->u.shape.v, (size_t)v->u.shape.n * sizeof(int64_t));
    break;
  default:
    break;
  }
  return r;
}

static const char *gval_kind_name(const gval *v) {
  switch (v->kind) {
  case GV_NONE:
    return "None";
  case GV_TENSOR:
    return "a tensor";
  case GV_TUPLE:
    return "a tuple";
  case GV_SHAPE:
    return "a shape";
  case GV_INT:
    return "an integer";
  case GV_FLOAT:
    return "a float";
  case GV_STR:
    return "a string";
  case GV_DTYPE:
    return "a dtype";
  case GV_FUNC:
    return "a function";
  }
  return "?";
}

/* ---- interpreter state ----------------------------------------------------
 */

typedef struct gframe {
  ts_module *m;
  tsi_ctx sym;   /* symbolic shape variables */
  ts_ptrmap env; /* ts_gvar* -> gval* */
  int depth;
} gframe;

static ts_status *run_gfunc(ts_module *m, ts_gfunc *f, const gval *inputs,
                            int n, int depth, gval *out);

static void frame_free(gframe *fr) {
  for (size_t i = 0; i < fr->env.cap; i++) {
    if (!fr->env.keys[i])
      continue;
    gval *v = fr->env.vals[i];
    gval_clear(v);
    free(v);
  }
  ts_ptrmap_free(&fr->env);
  tsi_ctx_free(&fr->sym);
}

static void frame_bind(gframe *fr, const ts_gvar *var, gval v) {
  gval *slot = ts_ptrmap_get(&fr->env, var);
  if (slot)
    gval_clear(slot);
  else {
    slot = ts_xcalloc(1, sizeof(*slot));
    ts_ptrmap_put(&fr->env, var, slot);
  }
  *slot = v;
}

/* ---- struct info checks ---------------------------------------------------
 */

/* Checks value v against sinfo s, binding symbolic variables.  Two passes
 * (see tsi_match_shape). */
static ts_status *check_sinfo(gframe *fr, const char *what, const char *earlier,
                              ts_loc loc, const ts_sinfo *s, const gval *v,
                              bool second) {
  char d1[32], d2[32];
  if (!s)
    return NULL;
  switch (s->kind) {
  case TS_SI_OBJECT:
  case TS_SI_FUNC:
    return NULL;
  case TS_SI_TENSOR: {
    if (v->kind != GV_TENSOR)
      return ts_status_make(TS_ERR_TYPE, loc, "%s: expected a tensor, got %s",
                            what, gval_kind_name(v));
    const ts_ndarray *t = v->u.t;
    int nd = ts_ndarray_ndim(t);
    if (s->u.tensor.ndim >= 0 && s->u.tensor.ndim != nd)
      return ts_status_make(TS_ERR_TYPE, loc,
                            "%s: expected rank %d, got rank %d", what,
                            s->u.tensor.ndim, nd);
    if (s->u.tensor.dtype.code != TS_VOID &&
        !ts_dtype_eq(s->u.tensor.dtype, ts_ndarray_dtype(t)))
      return ts_status_make(TS_ERR_TYPE, loc, "%s: expected %s, got %s", what,
                            ts_dtype_str(s->u.tensor.dtype, d1),
                            ts_dtype_str(ts_ndarray_dtype(t), d2));
    if (!s->u.tensor.shape)
      return NULL;
    return tsi_match_shape(&fr->sym, what, earlier, loc, s->u.tensor.shape, nd,
                           ts_ndarray_shape(t), second);
  }
  case TS_SI_SHAPE:
    if (v->kind != GV_SHAPE)
      return ts_status_make(TS_ERR_TYPE, loc, "%s: expected a shape, got %s",
                            what, gval_kind_name(v));
    if (s->u.shape.ndim >= 0 && s->u.shape.ndim != v->u.shape.n)
      return ts_status_make(TS_ERR_TYPE, loc,
                            "%s: expected a shape of %d values, got %d", what,
                            s->u.shape.ndim, v->u.shape.n);
    if (!s->u.shape.values)
      return NULL;
    return tsi_match_shape(&fr->sym, what, earlier, loc, s->u.shape.values,
                           v->u.shape.n, v->u.shape.v, second);
  case TS_SI_PRIM:
    if (v->kind != GV_INT && v->kind != GV_FLOAT)
      return ts_status_make(TS_ERR_TYPE, loc, "%s: expected a %s value, got %s",
                            what, ts_dtype_str(s->u.prim.dtype, d1),
                            gval_kind_name(v));
    if (s->u.prim.value && v->kind == GV_INT)
      return tsi_match_shape(&fr->sym, what, earlier, loc, &s->u.prim.value, 1,
                             &v->u.i, second);
    return NULL;
  case TS_SI_TUPLE:
    if (v->kind != GV_TUPLE)
      return ts_status_make(TS_ERR_TYPE, loc, "%s: expected a tuple, got %s",
                            what, gval_kind_name(v));
    if (v->u.tup.n != s->u.tuple.n)
      return ts_status_make(TS_ERR_TYPE, loc,
                            "%s: expected a tuple of %d fields, got %d", what,
                            s->u.tuple.n, v->u.tup.n);
    for (int i = 0; i < s->u.tuple.n; i++)
      TS_RETURN_IF_ERROR(check_sinfo(fr, what, earlier, loc,
                                     s->u.tuple.fields[i], &v->u.tup.items[i],
                                     second));
    return NULL;
  }
  return NULL;
}

/* ---- helpers ---------------------------------------------------------------
 */

static ts_status *to_array(const ts_gexpr *call, int i, const gval *v,
                           ts_ndarray **out) {
  ts_status *st = NULL;
  switch (v->kind) {
  case GV_TENSOR:
    *out = ts_ndarray_retain(v->u.t);
    return NULL;
  case GV_SHAPE: {
    int64_t n = v->u.shape.n;
    st = ts_ndarray_create(1, &n, TS_I64, out);
    if (st)
      return st;
    for (int k = 0; k < v->u.shape.n; k++)
      ts_ndarray_set_i64(*out, k, v->u.shape.v[k]);
    return NULL;
  }
  case GV_INT:
    st = ts_ndarray_create(0, NULL, TS_I64, out);
    if (!st)
      ts_ndarray_set_i64(*out, 0, v->u.i);
    return st;
  case GV_FLOAT:
    st = ts_ndarray_create(0, NULL, TS_F64, out);
    if (!st)
      ts_ndarray_set_f64(*out, 0, v->u.f);
    return st;
  default:
    return ts_ops_error(call, TS_ERR_TYPE, "argument %d is %s, not a tensor", i,
                        gval_kind_name(v));
  }
}

/* Evaluates the output struct infos of a DPS call into new arrays. */
static ts_status *alloc_outputs(gframe *fr, const ts_gexpr *call,
                                ts_ndarray ***out, int *out_n) {
  TS_VEC(const ts_sinfo *) outs = {0};
  for (int i = 0; i < call->u.call.n_sinfo_args; i++) {
    const ts_sinfo *s = call->u.call.sinfo_args[i];
    if (s && s->kind == TS_SI_TUPLE)
      for (int k = 0; k < s->u.tuple.n; k++)
        ts_vec_push(&outs, s->u.tuple.fields[k]);
    else
      ts_vec_push(&outs, s);
  }
  ts_ndarray **arr = ts_xcalloc(outs.len ? outs.len : 1, sizeof(*arr));
  ts_status *st = NULL;
  for (size_t i = 0; i < outs.len && !st; i++) {
    const ts_sinfo *s = outs.data[i];
    if (!s || s->kind != TS_SI_TENSOR || !s->u.tensor.shape ||
        s->u.tensor.dtype.code == TS_VOID) {
      ts_strbuf b = {0};
      ts_ops_print_sinfo(&b, s);
      st =
          ts_ops_error(call, TS_ERR_TYPE,
                       "output %zu needs a tensor struct info with known shape "
                       "and dtype, got %s",
                       i, b.data);
      ts_strbuf_free(&b);
      break;
    }
    int nd = s->u.tensor.ndim;
    int64_t shape[TS_MAX_NDIM];
    if (nd > TS_MAX_NDIM) {
      st = ts_ops_error(call, TS_ERR_VALUE,
                        "output %zu has too many dimensions", i);
      break;
    }
    for (int k = 0; k < nd && !st; k++) {
      st = tsi_eval_int(&fr->sym, s->u.tensor.shape[k], &shape[k]);
      if (st) {
        ts_status_free(st);
        ts_strbuf b = {0};
        ts_ops_print_expr(&b, s->u.tensor.shape[k]);
        st = ts_ops_error(call, TS_ERR_VALUE,
                          "output %zu: dimension %d (%s) is not known here", i,
                          k, b.data);
        ts_strbuf_free(&b);
      }
    }
    if (!st)
      st = ts_ndarray_create(nd, shape, s->u.tensor.dtype, &arr[i]);
  }
  if (st) {
    for (size_t i = 0; i < outs.len; i++)
      if (arr[i])
        ts_ndarray_release(arr[i]);
    free(arr);
    ts_vec_free(&outs);
    return st;
  }
  *out = arr;
  *out_n = (int)outs.len;
  ts_vec_free(&outs);
  return NULL;
}

static ts_status *eval(gframe *fr, const ts_gexpr *e, gval *out);

/* Appends the values of a DPS call's inputs (argument 1: a tuple or one
 * value) to vals. */
typedef TS_VEC(ts_value) value_vec;

static ts_status *push_value(const ts_gexpr *call, const gval *v,
                             value_vec *vals) {
  ts_value x = {0};
  switch (v->kind) {
  case GV_TENSOR:
    x.kind = TS_VAL_TENSOR;
    x.u.tensor = v->u.t;
    break;
  case GV_INT:
    x.kind = TS_VAL_INT;
    x.u.i = v->u.i;
    break;
  case GV_FLOAT:
    x.kind = TS_VAL_FLOAT;
    x.u.f = v->u.f;
    break;
  case GV_STR:
    x.kind = TS_VAL_STR;
    x.u.s = v->u.s;
    break;
  case GV_TUPLE:
    for (int i = 0; i < v->u.tup.n; i++)
      TS_RETURN_IF_ERROR(push_value(call, &v->u.tup.items[i], vals));
    return NULL;
  default:
    return ts_ops_error(call, TS_ERR_TYPE, "cannot pass %s to a function",
                        gval_kind_name(v));
  }
  ts_vec_push(vals, x);
  return NULL;
}

/* Names the callee of call_tir/call_dps_packed (argument 0). */
static ts_status *dps_callee(gframe *fr, const ts_gexpr *call,
                             const char **out_name, ts_primfunc **out_prim) {
  const ts_gexpr *c0 = call->u.call.args[0];
  *out_prim = NULL;
  switch (c0->kind) {
  case TS_G_GLOBAL: {
    ts_func *fn = ts_module_lookup(fr->m, c0->u.global_name);
    if (!fn)
      return ts_ops_error(call, TS_ERR_NAME, "unknown function '%s'",
                          c0->u.global_name);
    if (fn->kind == TS_FUNC_PRIM) {
      *out_prim = fn->u.prim;
      *out_name = fn->name;
    } else if (fn->kind == TS_FUNC_EXTERN) {
      *out_name = fn->u.extern_name;
    } else {
      return ts_ops_error(call, TS_ERR_TYPE,
                          "'%s' is a graph function, not a TensorIR or library "
                          "function",
                          c0->u.global_name);
    }
    return NULL;
  }
  case TS_G_EXTERN:
    *out_name = c0->u.extern_name;
    return NULL;
  case TS_G_STR:
    *out_name = c0->u.str;
    return NULL;
  default:
    return ts_ops_error(call, TS_ERR_TYPE,
                        "the callee must be a function of the module or a "
                        "library function name");
  }
}

static ts_status *eval_dps(gframe *fr, const ts_gexpr *call, gval *out) {
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  const char *name = NULL;
  ts_primfunc *prim = NULL;
  TS_RETURN_IF_ERROR(dps_callee(fr, call, &name, &prim));
  gval in = {0}, extra = {0};
  ts_ndarray **outs = NULL;
  int n_outs = 0;
  value_vec vals = {0};
  ts_status *st = eval(fr, call->u.call.args[1], &in);
  if (!st && call->u.call.n_args > 2)
    st = eval(fr, call->u.call.args[2], &extra);
  if (!st)
    st = alloc_outputs(fr, call, &outs, &n_outs);
  if (!st)
    st = push_value(call, &in, &vals);
  for (int i = 0; !st && i < n_outs; i++) {
    ts_value x = {.kind = TS_VAL_TENSOR, .u.tensor = outs[i]};
    ts_vec_push(&vals, x);
  }
  if (!st && extra.kind == GV_SHAPE)
    for (int i = 0; i < extra.u.shape.n; i++) {
      ts_value x = {.kind = TS_VAL_INT, .u.i = extra.u.shape.v[i]};
      ts_vec_push(&vals, x);
    }
  else if (!st && extra.kind != GV_NONE)
    st = push_value(call, &extra, &vals);
  if (!st) {
    if (prim) {
      st = ts_interp_primfunc(fr->m, prim, vals.data, (int)vals.len);
    } else {
      ts_runtime_register_builtins();
      st = ts_registry_call(name, vals.data, (int)vals.len);
    }
    if (st) {
      char where[64] = "";
      if (call->loc.line > 0)
        snprintf(where, sizeof where, " at %s:%d:%d",
                 call->loc.file ? call->loc.file : "", call->loc.line,
                 call->loc.col);
      st = ts_status_annotate(st, "in R.%s(%s)%s", ts_ops_call_name(call), name,
                              where);
    }
  }
  if (!st) {
    if (n_outs == 1) {
      out->kind = GV_TENSOR;
      out->u.t = outs[0];
    } else {
      out->kind = GV_TUPLE;
      out->u.tup.n = n_outs;
      out->u.tup.items = ts_xcalloc(n_outs ? (size_t)n_outs : 1, sizeof(gval));
      for (int i = 0; i < n_outs; i++) {
        out->u.tup.items[i].kind = GV_TENSOR;
        out->u.tup.items[i].u.t = outs[i];
      }
    }
  } else {
    for (int i = 0; i < n_outs; i++)
      ts_ndarray_release(outs[i]);
  }
  free(outs);
  ts_vec_free(&vals);
  gval_clear(&in);
  gval_clear(&extra);
  return st;
}

static ts_status *eval_op(gframe *fr, const ts_gexpr *call, gval *out) {
  int op = call->u.call.op;
  if (op == TS_OP_CALL_TIR || op == TS_OP_CALL_DPS_PACKED)
    return eval_dps(fr, call, out);
  const ts_op_info *info = ts_op_get(op);
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  if (!info->eval)
    return ts_ops_error(call, TS_ERR_UNSUPPORTED,
                        "no reference evaluation for this op");
  /* A tuple argument (R.concat((a, b))) passes its fields in its place. */
  int n_call = call->u.call.n_args, n = 0;
  TS_VEC(ts_ndarray *) arrs = {0};
  ts_status *st = NULL;
  for (int i = 0; i < n_call && !st; i++) {
    gval v = {0};
    st = eval(fr, call->u.call.args[i], &v);
    if (!st && v.kind == GV_TUPLE) {
      for (int k = 0; k < v.u.tup.n && !st; k++) {
        ts_ndarray *x = NULL;
        st = to_array(call, i, &v.u.tup.items[k], &x);
        if (!st)
          ts_vec_push(&arrs, x);
      }
    } else if (!st) {
      ts_ndarray *x = NULL;
      st = to_array(call, i, &v, &x);
      if (!st)
        ts_vec_push(&arrs, x);
    }
    gval_clear(&v);
  }
  n = (int)arrs.len;
  /* A tuple-valued op (R.split) writes one array per field. */
  const ts_sinfo *rs = call->sinfo;
  int n_res = rs && rs->kind == TS_SI_TUPLE ? rs->u.tuple.n : 1;
  ts_ndarray **res = ts_xcalloc(n_res ? (size_t)n_res : 1, sizeof(*res));
  if (!st)
    st = info->eval(call, arrs.data, n, res);
  for (int i = 0; i < n; i++)
    if (arrs.data[i])
      ts_ndarray_release(arrs.data[i]);
  ts_vec_free(&arrs);
  if (st) {
    for (int i = 0; i < n_res; i++)
      if (res[i])
        ts_ndarray_release(res[i]);
    free(res);
    return st;
  }
  if (rs && rs->kind == TS_SI_TUPLE) {
    out->kind = GV_TUPLE;
    out->u.tup.n = n_res;
    out->u.tup.items = ts_xcalloc(n_res ? (size_t)n_res : 1, sizeof(gval));
    for (int i = 0; i < n_res; i++) {
      out->u.tup.items[i].kind = GV_TENSOR;
      out->u.tup.items[i].u.t = res[i];
    }
  } else {
    out->kind = GV_TENSOR;
    out->u.t = res[0];
  }
  free(res);
  return NULL;
}

static ts_status *eval_call(gframe *fr, const ts_gexpr *e, gval *out) {
  switch (e->u.call.callee_kind) {
  case TS_CALLEE_OP:
    return eval_op(fr, e, out);
  case TS_CALLEE_EXTERN:
    return ts_status_make(TS_ERR_UNSUPPORTED, e->loc,
                          "calling library function '%s' directly is not "
                          "supported; use R.call_dps_packed",
                          e->u.call.name);
  case TS_CALLEE_GLOBAL:
    break;
  }
  ts_func *fn = ts_module_lookup(fr->m, e->u.call.name);
  if (!fn)
    return ts_status_make(TS_ERR_NAME, e->loc, "unknown function '%s'",
                          e->u.call.name);
  if (fn->kind != TS_FUNC_GRAPH)
    return ts_status_make(TS_ERR_TYPE, e->loc,
                          "'%s' is not a graph function; call it with "
                          "R.call_tir or R.call_dps_packed",
                          e->u.call.name);
  if (fr->depth >= MAX_CALL_DEPTH)
    return ts_status_make(TS_ERR_RUNTIME, e->loc,
                          "call depth exceeds %d calling '%s'", MAX_CALL_DEPTH,
                          e->u.call.name);
  int n = e->u.call.n_args;
  gval *args = ts_xcalloc(n ? (size_t)n : 1, sizeof(gval));
  ts_status *st = NULL;
  for (int i = 0; i < n && !st; i++)
    st = eval(fr, e->u.call.args[i], &args[i]);
  if (!st)
    st = run_gfunc(fr->m, fn->u.graph, args, n, fr->depth + 1, out);
  for (int i = 0; i < n; i++)
    gval_clear(&args[i]);
  free(args);
  return st;
}

static ts_status *eval(gframe *fr, const ts_gexpr *e, gval *out) {
  memset(out, 0, sizeof(*out));
  switch (e->kind) {
  case TS_G_VAR: {
    gval *v = ts_ptrmap_get(&fr->env, e->u.var);
    if (!v)
      return ts_status_make(TS_ERR_RUNTIME, e->loc, "undefined variable '%s'",
                            e->u.var->name);
    *out = gval_copy(v);
    return NULL;
  }
  case TS_G_CONST: {
    const ts_const_data *d = e->u.constant;
    ts_ndarray *t;
    TS_RETURN_IF_ERROR(ts_ndarray_create(d->ndim, d->shape, d->dtype, &t));
    size_t nb = ts_ndarray_nbytes(t);
    if (nb != d->nbytes) {
      ts_ndarray_release(t);
      return ts_status_make(TS_ERR_INTERNAL, e->loc,
                            "constant holds %zu bytes, its shape needs %zu",
                            d->nbytes, nb);
    }
    if (nb)
      memcpy(ts_ndarray_data(t), d->data, nb);
    out->kind = GV_TENSOR;
    out->u.t = t;
    return NULL;
  }
  case TS_G_TUPLE: {
    int n = e->u.tuple.n;
    out->kind = GV_TUPLE;
    out->u.tup.n = n;
    out->u.tup.items = ts_xcalloc(n ? (size_t)n : 1, sizeof(gval));
    for (int i = 0; i < n; i++) {
      ts_status *st = eval(fr, e->u.tuple.fields[i], &out->u.tup.items[i]);
      if (st) {
        gval_clear(out);
        return st;
      }
    }
    return NULL;
  }
  case TS_G_TUPLE_GET: {
    gval t;
    TS_RETURN_IF_ERROR(eval(fr, e->u.tuple_get.tuple, &t));
    int i = e->u.tuple_get.index;
    if (t.kind != GV_TUPLE || i < 0 || i >= t.u.tup.n) {
      ts_status *st =
          t.kind != GV_TUPLE
              ? ts_status_make(TS_ERR_TYPE, e->loc, "cannot index %s with [%d]",
                               gval_kind_name(&t), i)
              : ts_status_make(TS_ERR_VALUE, e->loc,
                               "tuple index %d out of range for %d fields", i,
                               t.u.tup.n);
      gval_clear(&t);
      return st;
    }
    *out = gval_copy(&t.u.tup.items[i]);
    gval_clear(&t);
    return NULL;
  }
  case TS_G_SHAPE: {
    int n = e->u.shape.n;
    out->kind = GV_SHAPE;
    out->u.shape.n = n;
    out->u.shape.v = ts_xcalloc(n ? (size_t)n : 1, sizeof(int64_t));
    for (int i = 0; i < n; i++) {
      ts_status *st =
          tsi_eval_int(&fr->sym, e->u.shape.values[i], &out->u.shape.v[i]);
      if (st) {
        gval_clear(out);
        return st;
      }
    }
    return NULL;
  }
  case TS_G_PRIM: {
    tsi_val v;
    TS_RETURN_IF_ERROR(tsi_eval(&fr->sym, e->u.prim, &v));
    if (ts_dtype_is_float(e->u.prim->dtype)) {
      out->kind = GV_FLOAT;
      out->u.f = v.f;
    } else {
      out->kind = GV_INT;
      out->u.i = v.i;
    }
    return NULL;
  }
  case TS_G_STR:
    out->kind = GV_STR;
    out->u.s = e->u.str;
    return NULL;
  case TS_G_DTYPE:
    out->kind = GV_DTYPE;
    out->u.dt = e->u.dtype;
    return NULL;
  case TS_G_GLOBAL:
    out->kind = GV_FUNC;
    out->u.s = e->u.global_name;
    return NULL;
  case TS_G_EXTERN:
    out->kind = GV_FUNC;
    out->is_extern = true;
    out->u.s = e->u.extern_name;
    return NULL;
  case TS_G_CALL:
    return eval_call(fr, e, out);
  }
  TS_UNREACHABLE();
}

/* ---- functions
 * --------------------------------------------------------------- */

static ts_status *run_gfunc(ts_module *m, ts_gfunc *f, const gval *inputs,
                            int n, int depth, gval *out) {
  if (n != f->n_params)
    return ts_status_make(TS_ERR_TYPE, f->loc,
                          "%s expects %d argument%s, got %d", f->name,
                          f->n_params, f->n_params == 1 ? "" : "s", n);
  gframe fr;
  memset(&fr, 0, sizeof(fr));
  fr.m = m;
  fr.depth = depth;
  tsi_ctx_init(&fr.sym, m);
  ts_status *st = NULL;
  char what[256];
  for (int pass = 0; pass < 2 && !st; pass++)
    for (int i = 0; i < n && !st; i++) {
      const ts_gvar *p = f->params[i];
      snprintf(what, sizeof what, "parameter '%s'", p->name);
      st = check_sinfo(&fr, what, "argument", p->loc.line ? p->loc : f->loc,
                       p->sinfo, &inputs[i], pass == 1);
    }
  for (int i = 0; i < n && !st; i++)
    frame_bind(&fr, f->params[i], gval_copy(&inputs[i]));
  for (int b = 0; b < f->n_blocks && !st; b++) {
    const ts_binding_block *blk = &f->blocks[b];
    for (int k = 0; k < blk->n && !st; k++) {
      const ts_binding *bd = &blk->bindings[k];
      gval v;
      if (bd->loc.line > 0)
        fr.sym.cur_loc = bd->loc;
      st = eval(&fr, bd->value, &v);
      if (st)
        break;
      if (bd->kind == TS_BIND_MATCH_CAST) {
        ts_loc loc = bd->loc.line ? bd->loc : bd->value->loc;
        st = check_sinfo(&fr, "match_cast", "binding", loc, bd->match_sinfo, &v,
                         false);
        if (!st)
          st = check_sinfo(&fr, "match_cast", "binding", loc, bd->match_sinfo,
                           &v, true);
        if (st) {
          gval_clear(&v);
          break;
        }
      }
      frame_bind(&fr, bd->var, v);
    }
  }
  if (!st)
    st = eval(&fr, f->result, out);
  frame_free(&fr);
  return st;
}

static ts_status *to_gval(const ts_value *v, const ts_sinfo *s, gval *out) {
  memset(out, 0, sizeof(*out));
  switch (v->kind) {
  case TS_VAL_TENSOR:
    if (s && s->kind == TS_SI_SHAPE && v->u.tensor &&
        ts_ndarray_ndim(v->u.tensor) == 1) {
      int n = (int)ts_ndarray_numel(v->u.tensor);
      out->kind = GV_SHAPE;
      out->u.shape.n = n;
      out->u.shape.v = ts_xcalloc(n ? (size_t)n : 1, sizeof(int64_t));
      for (int i = 0; i < n; i++)
        out->u.shape.v[i] = ts_ndarray_get_i64(v->u.tensor, i);
      return NULL;
    }
    out->kind = GV_TENSOR;
    out->u.t = ts_ndarray_retain(v->u.tensor);
    return NULL;
  case TS_VAL_INT:
    out->kind = GV_INT;
    out->u.i = v->u.i;
    return NULL;
  case TS_VAL_FLOAT:
    out->kind = GV_FLOAT;
    out->u.f = v->u.f;
    return NULL;
  case TS_VAL_STR:
    out->kind = GV_STR;
    out->u.s = v->u.s;
    return NULL;
  case TS_VAL_NONE:
    return NULL;
  }
  return NULL;
}

typedef TS_VEC(ts_value) out_vec;

static ts_status *flatten(const gval *v, out_vec *out) {
  ts_value x = {0};
  switch (v->kind) {
  case GV_TUPLE:
    for (int i = 0; i < v->u.tup.n; i++)
      TS_RETURN_IF_ERROR(flatten(&v->u.tup.items[i], out));
    return NULL;
  case GV_TENSOR:
    x.kind = TS_VAL_TENSOR;
    x.u.tensor = ts_ndarray_retain(v->u.t);
    break;
  case GV_SHAPE: {
    int64_t n = v->u.shape.n;
    x.kind = TS_VAL_TENSOR;
    TS_RETURN_IF_ERROR(ts_ndarray_create(1, &n, TS_I64, &x.u.tensor));
    for (int i = 0; i < v->u.shape.n; i++)
      ts_ndarray_set_i64(x.u.tensor, i, v->u.shape.v[i]);
    break;
  }
  case GV_INT:
    x.kind = TS_VAL_INT;
    x.u.i = v->u.i;
    break;
  case GV_FLOAT:
    x.kind = TS_VAL_FLOAT;
    x.u.f = v->u.f;
    break;
  case GV_STR:
  case GV_FUNC:
    x.kind = TS_VAL_STR;
    x.u.s = v->u.s;
    break;
  default:
    x.kind = TS_VAL_NONE;
    break;
  }
  ts_vec_push(out, x);
  return NULL;
}

ts_status *ts_interp_gfunc(ts_module *m, ts_gfunc *f, const ts_value *inputs,
                           int n_inputs, ts_value **out_values, int *out_n) {
  *out_values = NULL;
  *out_n = 0;
  if (n_inputs != f->n_params)
    return ts_status_make(TS_ERR_TYPE, f->loc,
                          "%s expects %d argument%s, got %d", f->name,
                          f->n_params, f->n_params == 1 ? "" : "s", n_inputs);
  gval *in = ts_xcalloc(n_inputs ? (size_t)n_inputs : 1, sizeof(gval));
  ts_status *st = NULL;
  for (int i = 0; i < n_inputs && !st; i++)
    st = to_gval(&inputs[i], f->params[i]->sinfo, &in[i]);
  gval res = {0};
  if (!st)
    st = run_gfunc(m, f, in, n_inputs, 0, &res);
  tsi_attach_source(m, st);
  for (int i = 0; i < n_inputs; i++)
    gval_clear(&in[i]);
  free(in);
  if (st)
    return st;
  out_vec outs = {0};
  st = flatten(&res, &outs);
  gval_clear(&res);
  if (st) {
    ts_interp_free_values(outs.data, (int)outs.len);
    return st;
  }
  *out_values = outs.data;
  *out_n = (int)outs.len;
  return NULL;
}

void ts_interp_free_values(ts_value *values, int n) {
  if (!values)
    return;
  for (int i = 0; i < n; i++)
    if (values[i].kind == TS_VAL_TENSOR && values[i].u.tensor)
      ts_ndarray_release(values[i].u.tensor);
  free(values);
}
