/* ops.c: the op table generated from ops.def, lookup by name, the helpers
 * shared by the op families (struct info printing for messages, broadcasting,
 * attribute readers) and the two calls into other kinds of function
 * (call_tir, call_dps_packed), whose struct info is their sinfo_args and
 * whose evaluation belongs to the interpreter/VM (eval NULL). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops_internal.h"

/* call_tir / call_dps_packed are evaluated by the interpreter and the VM. */
#define ts_op_eval_CALL_TIR NULL
#define ts_op_eval_CALL_DPS_PACKED NULL
#define ts_op_legalize_CALL_TIR NULL
#define ts_op_legalize_CALL_DPS_PACKED NULL

static const ts_op_info op_table[] = {
#define TS_OP(id, name, min_args, max_args, pattern)                           \
  {name,                                                                       \
   min_args,                                                                   \
   max_args,                                                                   \
   pattern,                                                                    \
   ts_op_infer_##id,                                                           \
   ts_op_eval_##id,                                                            \
   ts_op_legalize_##id},
#include "ops/ops.def"
#undef TS_OP
};

_Static_assert(sizeof(op_table) / sizeof(op_table[0]) == TS_OP_COUNT,
               "op table out of sync with ops.def");

const ts_op_info *ts_op_get(int op) {
  TS_ASSERT(op >= 0 && op < TS_OP_COUNT);
  return &op_table[op];
}

bool ts_op_lookup(const char *name, int *out_op) {
  if (!name)
    return false;
  if (strncmp(name, "R.", 2) == 0)
    name += 2;
  for (int i = 0; i < TS_OP_COUNT; i++) {
    if (strcmp(op_table[i].name, name) == 0) {
      if (out_op)
        *out_op = i;
      return true;
    }
  }
  return false;
}

/* ---- struct info helpers ---------------------------------------------- */

const ts_sinfo *ts_ops_arg_sinfo(const ts_gexpr *e) {
  if (!e)
    return NULL;
  if (e->sinfo)
    return e->sinfo;
  if (e->kind == TS_G_VAR && e->u.var)
    return e->u.var->sinfo;
  return NULL;
}

bool ts_ops_const_int(const ts_expr *e, int64_t *out) {
  if (!e || e->kind != TS_E_INT)
    return false;
  if (out)
    *out = e->u.int_value;
  return true;
}

void ts_ops_print_expr(ts_strbuf *b, const ts_expr *e) {
  ts_expr_print(b, e);
}

void ts_ops_print_shape(ts_strbuf *b, ts_expr *const *shape, int ndim) {
  ts_strbuf_append(b, "(");
  for (int i = 0; i < ndim; i++) {
    if (i)
      ts_strbuf_append(b, ", ");
    ts_ops_print_expr(b, shape[i]);
  }
  if (ndim == 1)
    ts_strbuf_append(b, ",");
  ts_strbuf_append(b, ")");
}

void ts_ops_print_sinfo(ts_strbuf *b, const ts_sinfo *s) {
  /* one printer for struct info in messages (ir_util.c) */
  ts_sinfo_print(b, s);
}

bool ts_ops_dim_equal(const ts_expr *x, const ts_expr *y) {
  if (x == y)
    return true;
  if (!x || !y || x->kind != y->kind)
    return false;
  switch (x->kind) {
  case TS_E_INT:
    return x->u.int_value == y->u.int_value;
  case TS_E_FLOAT:
    return x->u.float_value == y->u.float_value;
  case TS_E_VAR:
    return x->u.var == y->u.var;
  case TS_E_NOT:
  case TS_E_CAST:
    return ts_dtype_eq(x->dtype, y->dtype) &&
           ts_ops_dim_equal(x->u.unary.a, y->u.unary.a);
  case TS_E_SELECT:
    return ts_ops_dim_equal(x->u.select.cond, y->u.select.cond) &&
           ts_ops_dim_equal(x->u.select.t, y->u.select.t) &&
           ts_ops_dim_equal(x->u.select.f, y->u.select.f);
  default:
    if (ts_expr_kind_is_binary(x->kind))
      return ts_ops_dim_equal(x->u.bin.a, y->u.bin.a) &&
             ts_ops_dim_equal(x->u.bin.b, y->u.bin.b);
    return false;
  }
}

const char *ts_ops_call_name(const ts_gexpr *call) {
  return ts_op_get(call->u.call.op)->name;
}

ts_status *ts_ops_error(const ts_gexpr *call, ts_status_code code,
                        const char *fmt, ...) {
  ts_strbuf b = {0};
  ts_strbuf_printf(&b, "R.%s: ", ts_ops_call_name(call));
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  ts_status *st = ts_status_make(code, call->loc, "%s", b.data);
  ts_strbuf_free(&b);
  return st;
}

ts_status *ts_ops_check_arity(const ts_gexpr *call) {
  const ts_op_info *info = ts_op_get(call->u.call.op);
  int n = call->u.call.n_args;
  if (n >= info->min_args && n <= info->max_args)
    return NULL;
  if (info->min_args == info->max_args)
    return ts_status_make(TS_ERR_TYPE, call->loc,
                          "R.%s expects %d argument%s, got %d", info->name,
                          info->min_args, info->min_args == 1 ? "" : "s", n);
  return ts_status_make(TS_ERR_TYPE, call->loc,
                        "R.%s expects %d to %d arguments, got %d", info->name,
                        info->min_args, info->max_args, n);
}

ts_status *ts_ops_tensor_arg(const ts_gexpr *call, int i, const char *operand,
                             const ts_sinfo **out) {
  TS_ASSERT(i < call->u.call.n_args);
  const ts_sinfo *s = ts_ops_arg_sinfo(call->u.call.args[i]);
  if (!s || s->kind != TS_SI_TENSOR) {
    ts_strbuf b = {0};
    ts_ops_print_sinfo(&b, s);
    ts_status *st =
        ts_ops_error(call, TS_ERR_TYPE, "operand %s must be a tensor, got %s",
                     operand, b.data);
    ts_strbuf_free(&b);
    return st;
  }
  *out = s;
  return NULL;
}

ts_expr *ts_ops_int64(ts_arena *a, int64_t v) { return ts_int(a, TS_I64, v); }

ts_sinfo *ts_ops_tensor(ts_arena *a, ts_expr *const *shape, int ndim,
                        ts_dtype dt) {
  ts_sinfo *s = ts_sinfo_new(a, TS_SI_TENSOR);
  s->u.tensor.dtype = dt;
  s->u.tensor.ndim = ndim;
  s->u.tensor.shape = NULL;
  if (shape && ndim >= 0) {
    ts_expr **sh = ts_arena_array(a, ndim ? (size_t)ndim : 1, sizeof(*sh));
    for (int i = 0; i < ndim; i++)
      sh[i] = shape[i];
    s->u.tensor.shape = sh;
  }
  return s;
}

bool ts_ops_broadcast(ts_arena *a, ts_expr *const *x, int nx, ts_expr *const *y,
                      int ny, ts_expr ***out_shape, int *out_ndim) {
  int n = nx > ny ? nx : ny;
  ts_expr **sh = ts_arena_array(a, n ? (size_t)n : 1, sizeof(*sh));
  for (int i = 0; i < n; i++) {
    int ix = nx - n + i, iy = ny - n + i;
    ts_expr *dx = ix >= 0 ? x[ix] : NULL, *dy = iy >= 0 ? y[iy] : NULL;
    int64_t cx = 0, cy = 0;
    bool kx = dx && ts_ops_const_int(dx, &cx),
         ky = dy && ts_ops_const_int(dy, &cy);
    if (!dx)
      sh[i] = dy;
    else if (!dy)
      sh[i] = dx;
    else if (ts_ops_dim_equal(dx, dy))
      sh[i] = dx;
    else if (kx && cx == 1)
      sh[i] = dy;
    else if (ky && cy == 1)
      sh[i] = dx;
    else
      return false;
  }
  *out_shape = sh;
  *out_ndim = n;
  return true;
}

/* ---- attributes ------------------------------------------------------- */

ts_status *ts_ops_attr_int(const ts_gexpr *call, const char *key, int64_t def,
                           int64_t *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  if (!v || v->kind == TS_ATTR_NONE) {
    *out = def;
    return NULL;
  }
  if (v->kind == TS_ATTR_INT || v->kind == TS_ATTR_BOOL) {
    *out = v->u.i;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && ts_ops_const_int(v->u.expr, out))
    return NULL;
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be an integer",
                      key);
}

ts_status *ts_ops_attr_bool(const ts_gexpr *call, const char *key, bool def,
                            bool *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  if (!v || v->kind == TS_ATTR_NONE) {
    *out = def;
    return NULL;
  }
  if (v->kind == TS_ATTR_INT || v->kind == TS_ATTR_BOOL) {
    *out = v->u.i != 0;
    return NULL;
  }
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a bool", key);
}

static ts_status *norm_axis(const ts_gexpr *call, const char *key,
                            const ts_attr_value *v, int ndim, int *out) {
  int64_t ax = 0;
  if (v->kind == TS_ATTR_INT)
    ax = v->u.i;
  else if (!(v->kind == TS_ATTR_EXPR && ts_ops_const_int(v->u.expr, &ax)))
    return ts_ops_error(call, TS_ERR_VALUE,
                        "attribute %s must be an integer or a list of integers",
                        key);
  if (ax < -ndim || ax >= ndim)
    return ts_ops_error(call, TS_ERR_VALUE,
                        "%s %lld is out of range for a tensor of rank %d", key,
                        (long long)ax, ndim);
  *out = (int)(ax < 0 ? ax + ndim : ax);
  return NULL;
}

ts_status *ts_ops_attr_axes(const ts_gexpr *call, const char *key, int ndim,
                            bool *mask) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  for (int i = 0; i < ndim; i++)
    mask[i] = false;
  if (!v || v->kind == TS_ATTR_NONE) {
    for (int i = 0; i < ndim; i++)
      mask[i] = true;
    return NULL;
  }
  if (v->kind == TS_ATTR_LIST) {
    for (int k = 0; k < v->u.list.n; k++) {
      int ax = 0;
      TS_RETURN_IF_ERROR(norm_axis(call, key, v->u.list.items[k], ndim, &ax));
      if (mask[ax])
        return ts_ops_error(call, TS_ERR_VALUE, "%s %d appears twice", key, ax);
      mask[ax] = true;
    }
    return NULL;
  }
  int ax = 0;
  TS_RETURN_IF_ERROR(norm_axis(call, key, v, ndim, &ax));
  mask[ax] = true;
  return NULL;
}

ts_status *ts_ops_attr_float(const ts_gexpr *call, const char *key, double def,
                             double *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  int64_t i;
  if (!v || v->kind == TS_ATTR_NONE) {
    *out = def;
    return NULL;
  }
  if (v->kind == TS_ATTR_FLOAT) {
    *out = v->u.f;
    return NULL;
  }
  if (v->kind == TS_ATTR_INT) {
    *out = (double)v->u.i;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && v->u.expr->kind == TS_E_FLOAT) {
    *out = v->u.expr->u.float_value;
    return NULL;
  }
  if (v->kind == TS_ATTR_EXPR && ts_ops_const_int(v->u.expr, &i)) {
    *out = (double)i;
    return NULL;
  }
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a number", key);
}

ts_status *ts_ops_attr_dtype(const ts_gexpr *call, const char *key,
                             ts_dtype *out) {
  const ts_attr_value *v = ts_attrs_get(call->u.call.attrs, key);
  if (v && v->kind == TS_ATTR_DTYPE) {
    *out = v->u.dtype;
    return NULL;
  }
  if (v && v->kind == TS_ATTR_STR) {
    if (ts_dtype_parse(v->u.s, out) && out->code != TS_VOID &&
        out->code != TS_HANDLE)
      return NULL;
    return ts_ops_error(call, TS_ERR_VALUE, "unknown dtype \"%s\"", v->u.s);
  }
  if (!v)
    return ts_ops_error(call, TS_ERR_VALUE, "missing attribute %s", key);
  return ts_ops_error(call, TS_ERR_VALUE, "attribute %s must be a dtype string",
                      key);
}

/* ---- evaluation helpers ----------------------------------------------- */

ts_status *ts_ops_new_array(const ts_gexpr *call, int ndim,
                            const int64_t *shape, ts_dtype dt,
                            ts_ndarray **out) {
  ts_status *st = ts_ndarray_create(ndim, shape, dt, out);
  if (st)
    return ts_status_annotate(st, "while evaluating R.%s",
                              ts_ops_call_name(call));
  return NULL;
}

ts_status *ts_ops_broadcast_arrays(const ts_gexpr *call, const ts_ndarray *x,
                                   const ts_ndarray *y, int *out_ndim,
                                   int64_t *out_shape) {
  int nx = ts_ndarray_ndim(x), ny = ts_ndarray_ndim(y);
  const int64_t *sx = ts_ndarray_shape(x), *sy = ts_ndarray_shape(y);
  int n = nx > ny ? nx : ny;
  for (int i = 0; i < n; i++) {
    int ix = nx - n + i, iy = ny - n + i;
    int64_t dx = ix >= 0 ? sx[ix] : 1, dy = iy >= 0 ? sy[iy] : 1;
    if (dx == dy || dy == 1)
      out_shape[i] = dx;
    else if (dx == 1)
      out_shape[i] = dy;
    else {
      char bx[128], by[128];
      return ts_ops_error(call, TS_ERR_TYPE,
                          "operands have incompatible shapes %s and %s",
                          ts_ndarray_describe(x, bx, sizeof bx),
                          ts_ndarray_describe(y, by, sizeof by));
    }
  }
  *out_ndim = n;
  return NULL;
}

int64_t ts_ops_bcast_offset(const int64_t *idx, int out_ndim, int ndim,
                            const int64_t *shape) {
  int64_t off = 0;
  for (int i = 0; i < ndim; i++) {
    int64_t k = idx[out_ndim - ndim + i];
    off = off * shape[i] + (shape[i] == 1 ? 0 : k);
  }
  return off;
}

/* ---- call_tir / call_dps_packed ----------------------------------------- */

static ts_status *infer_dps_call(ts_arena *a, const ts_gexpr *call,
                                 ts_sinfo **out) {
  TS_RETURN_IF_ERROR(ts_ops_check_arity(call));
  int n = call->u.call.n_sinfo_args;
  if (n <= 0)
    return ts_ops_error(call, TS_ERR_TYPE, "missing output struct info");
  if (n == 1) {
    *out = call->u.call.sinfo_args[0];
    return NULL;
  }
  ts_sinfo *t = ts_sinfo_new(a, TS_SI_TUPLE);
  t->u.tuple.n = n;
  t->u.tuple.fields = ts_arena_array(a, (size_t)n, sizeof(ts_sinfo *));
  for (int i = 0; i < n; i++)
    t->u.tuple.fields[i] = call->u.call.sinfo_args[i];
  *out = t;
  return NULL;
}

ts_status *ts_op_infer_CALL_TIR(ts_arena *a, const ts_gexpr *call,
                                ts_sinfo **out) {
  return infer_dps_call(a, call, out);
}

ts_status *ts_op_infer_CALL_DPS_PACKED(ts_arena *a, const ts_gexpr *call,
                                       ts_sinfo **out) {
  return infer_dps_call(a, call, out);
}
