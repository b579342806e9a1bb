/* build_graph.c: TVMScript @R.function -> ts_gfunc.
 *
 * Grammar (statements of a graph function body):
 *   n = T.int64()                   symbolic variable (pre-declared: TVM
 *                                   prints these after the signature that
 *                                   uses them)
 *   cls = Module                    names the module (cls.f is a global)
 *   R.func_attr({...})
 *   v = expr | v: sinfo = expr | v = R.match_cast(expr, sinfo) | expr
 *   with R.dataflow(): bindings... R.output(a, b)
 *   return expr
 * Consecutive bindings outside dataflow blocks form one ordinary binding
 * block.  Struct info comes from the annotation, else from the value (op
 * calls are inferred with the op registry's infer function).  Dimensions in
 * struct info are int64: literals become int64 immediates, unknown names
 * and strings ("n") declare int64 symbolic variables. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "script/builder.h"

static ts_gexpr *gnode(sb_ctx *c, ts_gexpr_kind k, ts_loc loc) {
  return ts_gexpr_new(c->a, k, sb_loc(c, loc));
}

static bool is_dotted(const char *n, const char *a, const char *b) {
  return n && (strcmp(n, a) == 0 || (b && strcmp(n, b) == 0));
}

/* ---- struct info
 * -------------------------------------------------------------- */

static ts_sinfo *sinfo_of(sb_ctx *c, const py_expr *e);

static ts_expr **dims(sb_ctx *c, const py_expr *e, int *n) {
  if (e->kind != PY_TUPLE && e->kind != PY_LIST)
    sb_fail_expr(c, e, TS_ERR_VALUE, "expected a shape tuple, got '%s'");
  *n = e->u.seq.n;
  ts_expr **r = ts_arena_array(c->a, (size_t)(*n ? *n : 1), sizeof *r);
  for (int i = 0; i < *n; i++)
    r[i] = sb_shape_dim(c, e->u.seq.items[i], TS_I64, TS_I64, true);
  return r;
}

static ts_sinfo *tensor_sinfo(sb_ctx *c, ts_expr **shape, int ndim,
                              ts_dtype t) {
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TENSOR);
  s->u.tensor.ndim = ndim;
  s->u.tensor.shape = shape;
  s->u.tensor.dtype = t;
  return s;
}

static int ndim_arg(sb_ctx *c, const py_expr *e) {
  int64_t v;
  if (!sb_int_literal(e, &v) || v < -1 || v > 64)
    sb_fail_expr(c, e, TS_ERR_VALUE, "ndim must be an integer, got '%s'");
  return (int)v;
}

static ts_sinfo *sinfo_call(sb_ctx *c, const py_expr *e, const char *fn) {
  if (is_dotted(fn, "R.Tensor", "Tensor")) {
    static const char *const names[] = {"shape", "dtype", "vdevice", "ndim"};
    py_expr *a[4];
    sb_args(c, e, "R.Tensor", names, 4, 0, a);
    const py_expr *shape = a[0], *dt = a[1];
    if (shape && shape->kind == PY_STR && !dt) {
      dt = shape;
      shape = NULL;
    }
    ts_dtype t = TS_VOIDT;
    if (dt && dt->kind != PY_NONE) {
      const char *s = sb_str_literal(dt);
      if (!s || *s)
        t = sb_dtype(c, dt);
    }
    int ndim = -1;
    ts_expr **sh = NULL;
    if (shape && shape->kind != PY_NONE)
      sh = dims(c, shape, &ndim);
    if (a[3]) {
      int nd = ndim_arg(c, a[3]);
      if (sh && nd != ndim && nd != -1)
        sb_fail(c, a[3]->loc, TS_ERR_VALUE,
                "R.Tensor: ndim=%d does not match the shape's %d dimensions",
                nd, ndim);
      if (!sh)
        ndim = nd;
    }
    if (a[2] && a[2]->kind != PY_NONE)
      sb_fail(c, a[2]->loc, TS_ERR_UNSUPPORTED,
              "virtual devices are not supported");
    return tensor_sinfo(c, sh, ndim, t);
  }
  if (is_dotted(fn, "R.Shape", "Shape")) {
    static const char *const names[] = {"values", "ndim"};
    py_expr *a[2];
    sb_args(c, e, "R.Shape", names, 2, 0, a);
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_SHAPE);
    s->u.shape.ndim = -1;
    if (a[0] && a[0]->kind != PY_NONE)
      s->u.shape.values = dims(c, a[0], &s->u.shape.ndim);
    if (a[1]) {
      int nd = ndim_arg(c, a[1]);
      if (s->u.shape.values && nd != s->u.shape.ndim && nd != -1)
        sb_fail(c, a[1]->loc, TS_ERR_VALUE,
                "R.Shape: ndim=%d does not match the %d values", nd,
                s->u.shape.ndim);
      if (!s->u.shape.values)
        s->u.shape.ndim = nd;
    }
    return s;
  }
  if (is_dotted(fn, "R.Prim", "Prim")) {
    static const char *const names[] = {"dtype", "value"};
    py_expr *a[2];
    sb_args(c, e, "R.Prim", names, 2, 0, a);
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_PRIM);
    if (a[1] && a[1]->kind != PY_NONE) {
      s->u.prim.value = sb_shape_dim(c, a[1], TS_I64, TS_I64, true);
      s->u.prim.dtype = s->u.prim.value->dtype;
    }
    if (a[0])
      s->u.prim.dtype = sb_dtype(c, a[0]);
    if (!a[0] && !a[1])
      sb_fail(c, e->loc, TS_ERR_VALUE, "R.Prim needs a dtype");
    return s;
  }
  if (is_dotted(fn, "R.Tuple", "Tuple")) {
    const py_expr *const *items = (const py_expr *const *)e->u.call.args;
    int n = e->u.call.n_args;
    if (e->u.call.n_kwargs)
      sb_fail(c, e->u.call.kwargs[0].loc, TS_ERR_VALUE,
              "R.Tuple got an unexpected keyword argument");
    if (n == 1 && (items[0]->kind == PY_LIST || items[0]->kind == PY_TUPLE)) {
      n = items[0]->u.seq.n;
      items = (const py_expr *const *)items[0]->u.seq.items;
    }
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
    s->u.tuple.n = n;
    s->u.tuple.fields =
        ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_sinfo *));
    for (int i = 0; i < n; i++)
      s->u.tuple.fields[i] = sinfo_of(c, items[i]);
    return s;
  }
  if (is_dotted(fn, "R.Object", "Object")) {
    sb_arity(c, e, "R.Object", 0, 0);
    return ts_sinfo_new(c->a, TS_SI_OBJECT);
  }
  if (is_dotted(fn, "R.Callable", "Callable"))
    return ts_sinfo_new(c->a, TS_SI_FUNC);
  sb_fail_expr(c, e, TS_ERR_TYPE,
               "unsupported struct info '%s' (expected R.Tensor, R.Shape, "
               "R.Prim, R.Tuple or R.Object)");
}

static ts_sinfo *sinfo_of(sb_ctx *c, const py_expr *e) {
  if (e->kind == PY_CALL) {
    const char *fn = sb_dotted(c, e->u.call.func);
    return sinfo_call(c, e, fn);
  }
  if (e->kind == PY_TUPLE) {
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
    s->u.tuple.n = e->u.seq.n;
    s->u.tuple.fields = ts_arena_array(
        c->a, (size_t)(e->u.seq.n ? e->u.seq.n : 1), sizeof(ts_sinfo *));
    for (int i = 0; i < e->u.seq.n; i++)
      s->u.tuple.fields[i] = sinfo_of(c, e->u.seq.items[i]);
    return s;
  }
  const char *fn = sb_dotted(c, e);
  if (is_dotted(fn, "R.Tensor", "Tensor"))
    return tensor_sinfo(c, NULL, -1, TS_VOIDT);
  if (is_dotted(fn, "R.Object", "Object"))
    return ts_sinfo_new(c->a, TS_SI_OBJECT);
  if (is_dotted(fn, "R.Callable", "Callable"))
    return ts_sinfo_new(c->a, TS_SI_FUNC);
  if (is_dotted(fn, "R.Shape", "Shape")) {
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_SHAPE);
    s->u.shape.ndim = -1;
    return s;
  }
  if (is_dotted(fn, "R.Tuple", "Tuple")) {
    ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
    return s;
  }
  if (e->kind == PY_NAME && !fn)
    sb_fail(c, e->loc, TS_ERR_TYPE, "'%s' is not a struct info", e->u.name);
  if (e->kind == PY_NAME && !sb_lookup(c, e->u.name) && !sb_after(fn, "R."))
    sb_fail(c, e->loc, TS_ERR_NAME, "name '%s' is not defined", e->u.name);
  sb_fail_expr(c, e, TS_ERR_TYPE,
               "unsupported struct info '%s' (expected R.Tensor, R.Shape, "
               "R.Prim, R.Tuple or R.Object)");
}

/* False when two struct infos certainly disagree (known ranks, dtypes or
 * constant dimensions differ). */
static bool sinfo_compatible(const ts_sinfo *annot, const ts_sinfo *val) {
  if (!annot || !val || annot->kind == TS_SI_OBJECT)
    return true;
  if (annot->kind != val->kind)
    return false;
  switch (annot->kind) {
  case TS_SI_TENSOR: {
    ts_dtype a = annot->u.tensor.dtype, b = val->u.tensor.dtype;
    if (a.code != TS_VOID && b.code != TS_VOID && !ts_dtype_eq(a, b))
      return false;
    int na = annot->u.tensor.ndim, nb = val->u.tensor.ndim;
    if (na >= 0 && nb >= 0 && na != nb)
      return false;
    if (annot->u.tensor.shape && val->u.tensor.shape && na == nb)
      for (int i = 0; i < na; i++) {
        const ts_expr *x = annot->u.tensor.shape[i],
                      *y = val->u.tensor.shape[i];
        if (x->kind == TS_E_INT && y->kind == TS_E_INT &&
            x->u.int_value != y->u.int_value)
          return false;
      }
    return true;
  }
  case TS_SI_SHAPE:
    return annot->u.shape.ndim < 0 || val->u.shape.ndim < 0 ||
           annot->u.shape.ndim == val->u.shape.ndim;
  case TS_SI_PRIM:
    return ts_dtype_eq(annot->u.prim.dtype, val->u.prim.dtype);
  case TS_SI_TUPLE:
    if (annot->u.tuple.n != val->u.tuple.n)
      return false;
    for (int i = 0; i < annot->u.tuple.n; i++)
      if (!sinfo_compatible(annot->u.tuple.fields[i], val->u.tuple.fields[i]))
        return false;
    return true;
  default:
    return true;
  }
}

/* ---- constants
 * ---------------------------------------------------------------- */

static uint16_t f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff)
    return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31)
    return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10)
      return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - exp);
    uint32_t h = mant >> shift;
    if ((mant >> (shift - 1)) & 1)
      h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = sign | ((uint32_t)exp << 10) | (mant >> 13);
  if (mant & 0x1000)
    h++; /* round half up (carry into exponent is fine) */
  return (uint16_t)h;
}

static void store_elem(void *data, size_t i, ts_dtype t, double f, int64_t iv,
                       bool is_float) {
  if (ts_dtype_is_float(t)) {
    double v = is_float ? f : (double)iv;
    if (t.code == TS_BFLOAT) {
      float x = (float)v;
      uint32_t b;
      memcpy(&b, &x, 4);
      b += 0x7fff + ((b >> 16) & 1);
      ((uint16_t *)data)[i] = (uint16_t)(b >> 16);
    } else if (t.bits == 16) {
      ((uint16_t *)data)[i] = f32_to_f16((float)v);
    } else if (t.bits == 32) {
      ((float *)data)[i] = (float)v;
    } else {
      ((double *)data)[i] = v;
    }
    return;
  }
  int64_t v = is_float ? (int64_t)f : iv;
  if (t.code == TS_BOOL) {
    ((uint8_t *)data)[i] = v != 0;
    return;
  }
  switch (t.bits) {
  case 8:
    ((uint8_t *)data)[i] = (uint8_t)v;
    break;
  case 16:
    ((uint16_t *)data)[i] = (uint16_t)v;
    break;
  case 32:
    ((uint32_t *)data)[i] = (uint32_t)v;
    break;
  default:
    ((uint64_t *)data)[i] = (uint64_t)v;
    break;
  }
}

typedef struct const_leaf {
  const py_expr *e;
  double f;
  int64_t i;
  bool is_float, is_bool;
} const_leaf;
typedef SB_VEC(const_leaf) leaves_vec;

static void const_walk(sb_ctx *c, const py_expr *e, int depth, int64_t *shape,
                       int *ndim, leaves_vec *leaves) {
  if (e->kind == PY_LIST || e->kind == PY_TUPLE) {
    if (depth >= 16)
      sb_fail(c, e->loc, TS_ERR_VALUE, "R.const: too many dimensions");
    if (depth == *ndim) {
      if (leaves->len > 0)
        sb_fail(c, e->loc, TS_ERR_VALUE, "R.const: ragged nested list");
      *ndim = depth + 1;
      shape[depth] = e->u.seq.n;
    } else if (depth > *ndim || shape[depth] != e->u.seq.n) {
      sb_fail(c, e->loc, TS_ERR_VALUE, "R.const: ragged nested list");
    }
    for (int i = 0; i < e->u.seq.n; i++)
      const_walk(c, e->u.seq.items[i], depth + 1, shape, ndim, leaves);
    return;
  }
  if (depth != *ndim)
    sb_fail(c, e->loc, TS_ERR_VALUE, "R.const: ragged nested list");
  const_leaf l = {e, 0, 0, false, false};
  int64_t iv;
  if (sb_int_literal(e, &iv)) {
    l.i = iv;
    l.f = (double)iv;
  } else if (e->kind == PY_FLOAT) {
    l.f = e->u.float_value;
    l.is_float = true;
  } else if (e->kind == PY_UNARYOP && e->u.unary.op == PY_OP_NEG &&
             e->u.unary.operand->kind == PY_FLOAT) {
    l.f = -e->u.unary.operand->u.float_value;
    l.is_float = true;
  } else if (e->kind == PY_TRUE || e->kind == PY_FALSE) {
    l.i = e->kind == PY_TRUE;
    l.f = (double)l.i;
    l.is_bool = true;
  } else if (e->kind == PY_STR &&
             (strcmp(e->u.str, "inf") == 0 || strcmp(e->u.str, "-inf") == 0 ||
              strcmp(e->u.str, "nan") == 0)) {
    l.f = e->u.str[0] == 'n' ? NAN : e->u.str[0] == '-' ? -INFINITY : INFINITY;
    l.is_float = true;
  } else {
    sb_fail_expr(c, e, TS_ERR_VALUE, "R.const: expected a number, got '%s'");
  }
  sb_push(c, leaves, l);
}

static ts_gexpr *make_const(sb_ctx *c, const py_expr *value,
                            const py_expr *dtype_e, ts_loc loc) {
  int64_t shape[16];
  int ndim = 0;
  leaves_vec leaves = {0};
  const_walk(c, value, 0, shape, &ndim, &leaves);
  ts_dtype t;
  if (dtype_e && dtype_e->kind != PY_NONE) {
    t = sb_dtype(c, dtype_e);
  } else {
    bool any_float = false, all_bool = leaves.len > 0;
    for (int i = 0; i < leaves.len; i++) {
      any_float |= leaves.data[i].is_float;
      all_bool &= leaves.data[i].is_bool;
    }
    t = any_float ? TS_F32 : all_bool ? TS_BOOLT : TS_I64;
  }
  if (t.code == TS_HANDLE || t.code == TS_VOID)
    sb_fail(c, loc, TS_ERR_TYPE, "R.const: a constant cannot have this dtype");
  size_t count = 1;
  for (int i = 0; i < ndim; i++)
    if (!ts_size_mul(count, (size_t)shape[i], &count))
      sb_fail(c, loc, TS_ERR_VALUE, "R.const: constant too large");
  TS_ASSERT(count == (size_t)leaves.len);
  size_t nbytes, alloc;
  if (!ts_size_mul(count, ts_dtype_bytes(t), &nbytes) ||
      !ts_size_add(nbytes, 64, &alloc))
    sb_fail(c, loc, TS_ERR_VALUE, "R.const: constant too large");
  char *raw = ts_arena_alloc(c->a, alloc);
  void *data = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  for (int i = 0; i < leaves.len; i++) {
    const_leaf *l = &leaves.data[i];
    store_elem(data, (size_t)i, t, l->f, l->i, l->is_float);
  }
  ts_const_data *cd = ts_arena_alloc(c->a, sizeof *cd);
  cd->dtype = t;
  cd->ndim = ndim;
  cd->shape = ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof(int64_t));
  for (int i = 0; i < ndim; i++)
    cd->shape[i] = shape[i];
  cd->data = data;
  cd->nbytes = nbytes;
  ts_gexpr *g = gnode(c, TS_G_CONST, loc);
  g->u.constant = cd;
  ts_expr **sh =
      ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof(ts_expr *));
  for (int i = 0; i < ndim; i++)
    sh[i] = ts_int(c->a, TS_I64, shape[i]);
  g->sinfo = tensor_sinfo(c, sh, ndim, t);
  return g;
}

/* ---- expressions ----------------------------------------------------------
 */

static ts_gexpr *gexpr(sb_ctx *c, const py_expr *e);

static ts_gexpr *var_ref(sb_ctx *c, ts_gvar *v, ts_loc loc) {
  ts_gexpr *g = gnode(c, TS_G_VAR, loc);
  g->u.var = v;
  g->sinfo = v->sinfo;
  return g;
}

static ts_gexpr *global_ref(sb_ctx *c, sb_func *f, ts_loc loc) {
  ts_gexpr *g = gnode(c, TS_G_GLOBAL, loc);
  g->u.global_name = f->name;
  g->sinfo = ts_sinfo_new(c->a, TS_SI_FUNC);
  return g;
}

static ts_gexpr *prim_value(sb_ctx *c, ts_expr *x, ts_loc loc) {
  ts_gexpr *g = gnode(c, TS_G_PRIM, loc);
  g->u.prim = x;
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_PRIM);
  s->u.prim.dtype = x->dtype;
  s->u.prim.value = x;
  g->sinfo = s;
  return g;
}

static ts_sinfo *tuple_sinfo(sb_ctx *c, ts_gexpr **fields, int n) {
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
  s->u.tuple.n = n;
  s->u.tuple.fields =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_sinfo *));
  for (int i = 0; i < n; i++) {
    if (!fields[i]->sinfo)
      return NULL;
    s->u.tuple.fields[i] = fields[i]->sinfo;
  }
  return s;
}

static ts_gexpr *make_tuple(sb_ctx *c, py_expr *const *items, int n,
                            ts_loc loc) {
  ts_gexpr *g = gnode(c, TS_G_TUPLE, loc);
  g->u.tuple.n = n;
  g->u.tuple.fields =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_gexpr *));
  for (int i = 0; i < n; i++)
    g->u.tuple.fields[i] = gexpr(c, items[i]);
  g->sinfo = tuple_sinfo(c, g->u.tuple.fields, n);
  return g;
}

static ts_gexpr *make_shape(sb_ctx *c, py_expr *const *items, int n,
                            ts_loc loc) {
  ts_gexpr *g = gnode(c, TS_G_SHAPE, loc);
  g->u.shape.n = n;
  g->u.shape.values =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_expr *));
  for (int i = 0; i < n; i++) {
    ts_expr *x = sb_tir_expr(c, items[i], TS_I64);
    if (!ts_dtype_is_int(x->dtype))
      sb_fail(c, items[i]->loc, TS_ERR_TYPE, "shape values must be integers");
    g->u.shape.values[i] = x;
  }
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_SHAPE);
  s->u.shape.ndim = n;
  s->u.shape.values = g->u.shape.values;
  g->sinfo = s;
  return g;
}

/* True for an expression that is a scalar value (int literal, symbolic
 * variable, arithmetic on those, T.* call). */
static bool is_prim_like(sb_ctx *c, const py_expr *e) {
  int64_t v;
  if (sb_int_literal(e, &v))
    return true;
  switch (e->kind) {
  case PY_NAME: {
    sb_sym *s = sb_lookup(c, e->u.name);
    return s && s->kind == SK_VAR;
  }
  case PY_BINOP:
    return is_prim_like(c, e->u.binop.left) &&
           is_prim_like(c, e->u.binop.right);
  case PY_CALL:
    return sb_after(sb_dotted(c, e->u.call.func), "T.") != NULL;
  default:
    return false;
  }
}

static bool all_prim_like(sb_ctx *c, const py_expr *seq) {
  if (seq->u.seq.n == 0)
    return false;
  for (int i = 0; i < seq->u.seq.n; i++)
    if (!is_prim_like(c, seq->u.seq.items[i]))
      return false;
  return true;
}

/* An operator argument: a tuple of integers is a shape. */
static ts_gexpr *op_arg(sb_ctx *c, const py_expr *e) {
  if ((e->kind == PY_TUPLE || e->kind == PY_LIST) && all_prim_like(c, e))
    return make_shape(c, e->u.seq.items, e->u.seq.n, e->loc);
  return gexpr(c, e);
}

static sb_func *func_named(sb_ctx *c, const char *name) {
  for (int i = 0; i < c->n_funcs; i++)
    if (strcmp(c->funcs[i].name, name) == 0)
      return &c->funcs[i];
  return NULL;
}

/* `cls.f` / `Module.f`: the function, or NULL when e is not of that form. */
static sb_func *cls_member(sb_ctx *c, const py_expr *e, const char *what) {
  if (e->kind != PY_ATTR || e->u.attr.value->kind != PY_NAME)
    return NULL;
  sb_sym *s = sb_lookup(c, e->u.attr.value->u.name);
  if (!s || s->kind != SK_CLS)
    return NULL;
  sb_func *f = func_named(c, e->u.attr.name);
  if (!f)
    sb_fail(c, e->loc, TS_ERR_NAME, "%s: no function '%s' in the module", what,
            e->u.attr.name);
  return f;
}

static void out_sinfos(sb_ctx *c, const py_expr *out, const py_expr *dtype,
                       void *vec) {
  SB_VEC(ts_sinfo *) *v = vec;
  if ((out->kind == PY_TUPLE || out->kind == PY_LIST) &&
      (dtype || all_prim_like(c, out) ||
       (out->u.seq.n > 0 && out->u.seq.items[0]->kind == PY_STR))) {
    /* 2022: an output shape plus dtype= */
    ts_dtype t = dtype ? sb_dtype(c, dtype) : TS_VOIDT;
    int n;
    ts_expr **sh = dims(c, out, &n);
    sb_push(c, v, tensor_sinfo(c, sh, n, t));
    return;
  }
  if (dtype)
    sb_fail(c, dtype->loc, TS_ERR_VALUE,
            "dtype= is only allowed with an output shape tuple");
  if (out->kind == PY_LIST || out->kind == PY_TUPLE) {
    for (int i = 0; i < out->u.seq.n; i++)
      sb_push(c, v, sinfo_of(c, out->u.seq.items[i]));
    return;
  }
  sb_push(c, v, sinfo_of(c, out));
}

static ts_sinfo *sinfo_of_outs(sb_ctx *c, ts_sinfo **outs, int n) {
  if (n == 1)
    return outs[0];
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
  s->u.tuple.n = n;
  s->u.tuple.fields =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_sinfo *));
  for (int i = 0; i < n; i++)
    s->u.tuple.fields[i] = outs[i];
  return s;
}

/* call_tir / call_dps_packed: args[0] callee, args[1] tuple of inputs,
 * args[2] the tir_vars shape (optional). */
static ts_gexpr *dps_call(sb_ctx *c, const py_expr *e, const char *fname) {
  py_expr *callee = NULL, *args = NULL, *out = NULL, *tir_vars = NULL,
          *dtype = NULL;
  int np = e->u.call.n_args;
  if (np > 4)
    sb_fail(c, e->loc, TS_ERR_VALUE, "%s expects at most 4 arguments, got %d",
            fname, np);
  for (int i = 0; i < np; i++) {
    py_expr *a = e->u.call.args[i];
    if (a->kind == PY_STARRED)
      sb_fail(c, a->loc, TS_ERR_UNSUPPORTED,
              "*args are not supported in a call to %s", fname);
    if (i == 0)
      callee = a;
    if (i == 1)
      args = a;
    if (i == 2)
      out = a;
    if (i == 3) {
      if (a->kind == PY_STR)
        dtype = a;
      else
        tir_vars = a;
    }
  }
  for (int k = 0; k < e->u.call.n_kwargs; k++) {
    py_keyword *kw = &e->u.call.kwargs[k];
    const char *n = kw->name ? kw->name : "**";
    py_expr **slot = NULL;
    if (strcmp(n, "out_sinfo") == 0 || strcmp(n, "out_ty") == 0 ||
        strcmp(n, "shape") == 0 || strcmp(n, "out_struct_info") == 0)
      slot = &out;
    else if (strcmp(n, "dtype") == 0)
      slot = &dtype;
    else if (strcmp(n, "tir_vars") == 0)
      slot = &tir_vars;
    else if (strcmp(n, "args") == 0)
      slot = &args;
    else if (strcmp(n, "func") == 0 || strcmp(n, "gvar") == 0)
      slot = &callee;
    if (!slot)
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got an unexpected keyword argument '%s'", fname, n);
    if (*slot)
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got multiple values for argument '%s'", fname, n);
    *slot = kw->value;
  }
  if (!callee || !args)
    sb_fail(c, e->loc, TS_ERR_VALUE, "%s expects at least 2 arguments, got %d",
            fname, np + e->u.call.n_kwargs);
  if (!out)
    sb_fail(c, e->loc, TS_ERR_VALUE,
            "%s needs the output struct info (out_sinfo=R.Tensor(...))", fname);

  bool packed = strcmp(fname, "R.call_dps_packed") == 0;
  ts_gexpr *cal;
  if (callee->kind == PY_STR) {
    packed = true;
    cal = gnode(c, TS_G_EXTERN, callee->loc);
    cal->u.extern_name = callee->u.str;
    cal->sinfo = ts_sinfo_new(c->a, TS_SI_FUNC);
  } else {
    if (packed)
      sb_fail_expr(c, callee, TS_ERR_TYPE,
                   "R.call_dps_packed expects a library function name string, "
                   "got '%s'");
    sb_func *f = cls_member(c, callee, "call_tir");
    if (!f && callee->kind == PY_NAME) {
      sb_sym *s = sb_lookup(c, callee->u.name);
      if (!s || s->kind == SK_HIDDEN)
        sb_fail(c, callee->loc, TS_ERR_NAME,
                "call_tir: no function '%s' in the module", callee->u.name);
      if (s->kind != SK_FUNC)
        sb_fail(c, callee->loc, TS_ERR_TYPE, "call_tir: '%s' is not a function",
                callee->u.name);
      f = s->p;
    }
    if (!f)
      sb_fail_expr(c, callee, TS_ERR_TYPE,
                   "call_tir: expected a function of the module (cls.f), got "
                   "'%s'");
    if (f->kind != TS_FUNC_PRIM)
      sb_fail(c, callee->loc, TS_ERR_TYPE,
              "call_tir: '%s' is not a TensorIR function", f->name);
    cal = global_ref(c, f, callee->loc);
  }
  ts_gexpr *tup;
  if (args->kind == PY_TUPLE || args->kind == PY_LIST) {
    tup = make_tuple(c, args->u.seq.items, args->u.seq.n, args->loc);
  } else {
    ts_gexpr *a = gexpr(c, args);
    if (a->sinfo && a->sinfo->kind == TS_SI_TUPLE) {
      tup = a;
    } else {
      tup = gnode(c, TS_G_TUPLE, args->loc);
      tup->u.tuple.n = 1;
      tup->u.tuple.fields = ts_arena_array(c->a, 1, sizeof(ts_gexpr *));
      tup->u.tuple.fields[0] = a;
      tup->sinfo = tuple_sinfo(c, tup->u.tuple.fields, 1);
    }
  }
  SB_VEC(ts_sinfo *) outs = {0};
  out_sinfos(c, out, dtype, &outs);
  if (outs.len == 0)
    sb_fail(c, out->loc, TS_ERR_VALUE,
            "%s needs at least one output struct info", fname);
  ts_gexpr *g = gnode(c, TS_G_CALL, e->loc);
  g->u.call.callee_kind = TS_CALLEE_OP;
  g->u.call.op = packed ? TS_OP_CALL_DPS_PACKED : TS_OP_CALL_TIR;
  int n = tir_vars ? 3 : 2;
  if (tir_vars && packed)
    sb_fail(c, tir_vars->loc, TS_ERR_VALUE,
            "R.call_dps_packed takes no tir_vars");
  g->u.call.args = ts_arena_array(c->a, (size_t)n, sizeof(ts_gexpr *));
  g->u.call.n_args = n;
  g->u.call.args[0] = cal;
  g->u.call.args[1] = tup;
  if (tir_vars) {
    ts_gexpr *tv = op_arg(c, tir_vars);
    if (tv->kind != TS_G_SHAPE)
      sb_fail_expr(c, tir_vars, TS_ERR_TYPE,
                   "tir_vars must be a shape like R.shape([n]), got '%s'");
    g->u.call.args[2] = tv;
  }
  g->u.call.sinfo_args = sb_finish(c, &outs);
  g->u.call.n_sinfo_args = outs.len;
  g->sinfo = sinfo_of_outs(c, g->u.call.sinfo_args, outs.len);
  return g;
}

static ts_gexpr *packed_call(sb_ctx *c, const py_expr *e, const char *fname) {
  int np = e->u.call.n_args;
  if (np < 1 || e->u.call.args[0]->kind != PY_STR)
    sb_fail(c, e->loc, TS_ERR_VALUE, "%s expects a function name string first",
            fname);
  ts_gexpr *g = gnode(c, TS_G_CALL, e->loc);
  g->u.call.callee_kind = TS_CALLEE_EXTERN;
  g->u.call.name = e->u.call.args[0]->u.str;
  g->u.call.n_args = np - 1;
  g->u.call.args =
      ts_arena_array(c->a, (size_t)(np > 1 ? np - 1 : 1), sizeof(ts_gexpr *));
  for (int i = 1; i < np; i++)
    g->u.call.args[i - 1] = op_arg(c, e->u.call.args[i]);
  SB_VEC(ts_sinfo *) outs = {0};
  for (int k = 0; k < e->u.call.n_kwargs; k++) {
    py_keyword *kw = &e->u.call.kwargs[k];
    if (!kw->name || strcmp(kw->name, "sinfo_args") != 0)
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got an unexpected keyword argument '%s'", fname,
              kw->name ? kw->name : "**");
    out_sinfos(c, kw->value, NULL, &outs);
  }
  g->u.call.sinfo_args = sb_finish(c, &outs);
  g->u.call.n_sinfo_args = outs.len;
  g->sinfo = outs.len ? sinfo_of_outs(c, g->u.call.sinfo_args, outs.len)
                      : ts_sinfo_new(c->a, TS_SI_OBJECT);
  return g;
}

static ts_gexpr *global_call(sb_ctx *c, const py_expr *e, sb_func *f) {
  if (f->kind != TS_FUNC_GRAPH)
    sb_fail(c, e->loc, TS_ERR_TYPE,
            "TensorIR function '%s' must be called with R.call_tir", f->name);
  if (e->u.call.n_kwargs)
    sb_fail(c, e->u.call.kwargs[0].loc, TS_ERR_VALUE,
            "keyword arguments are not supported in a call to '%s'", f->name);
  sb_ensure_gfunc(c, f);
  int n = e->u.call.n_args;
  if (n != f->graph->n_params)
    sb_fail(c, e->loc, TS_ERR_VALUE,
            "function '%s' expects %d argument%s, got %d", f->name,
            f->graph->n_params, f->graph->n_params == 1 ? "" : "s", n);
  ts_gexpr *g = gnode(c, TS_G_CALL, e->loc);
  g->u.call.callee_kind = TS_CALLEE_GLOBAL;
  g->u.call.name = f->name;
  g->u.call.n_args = n;
  g->u.call.args =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_gexpr *));
  for (int i = 0; i < n; i++)
    g->u.call.args[i] = op_arg(c, e->u.call.args[i]);
  g->sinfo = f->graph->ret_sinfo;
  if (!g->sinfo && f->graph->result)
    g->sinfo = f->graph->result->sinfo;
  return g;
}

static ts_gexpr *op_call(sb_ctx *c, const py_expr *e, const char *fname) {
  int op;
  if (!ts_op_lookup(fname + 2, &op))
    sb_fail(c, e->loc, TS_ERR_NAME, "unknown operator '%s'", fname);
  const ts_op_info *info = ts_op_get(op);
  int np = e->u.call.n_args;
  if (np < info->min_args || np > info->max_args) {
    if (info->min_args == info->max_args)
      sb_fail(c, e->loc, TS_ERR_VALUE, "%s expects %d argument%s, got %d",
              fname, info->min_args, info->min_args == 1 ? "" : "s", np);
    sb_fail(c, e->loc, TS_ERR_VALUE, "%s expects %d to %d arguments, got %d",
            fname, info->min_args, info->max_args, np);
  }
  ts_gexpr *g = gnode(c, TS_G_CALL, e->loc);
  g->u.call.callee_kind = TS_CALLEE_OP;
  g->u.call.op = op;
  g->u.call.n_args = np;
  g->u.call.args =
      ts_arena_array(c->a, (size_t)(np ? np : 1), sizeof(ts_gexpr *));
  for (int i = 0; i < np; i++) {
    const py_expr *a = e->u.call.args[i];
    if (a->kind == PY_STARRED)
      sb_fail(c, a->loc, TS_ERR_UNSUPPORTED,
              "*args are not supported in a call to %s", fname);
    g->u.call.args[i] = op_arg(c, a);
  }
  for (int k = 0; k < e->u.call.n_kwargs; k++) {
    py_keyword *kw = &e->u.call.kwargs[k];
    if (!kw->name)
      sb_fail(c, kw->loc, TS_ERR_UNSUPPORTED,
              "**kwargs are not supported in a call to %s", fname);
    if (!g->u.call.attrs)
      g->u.call.attrs = ts_attrs_new(c->a);
    if (ts_attrs_get(g->u.call.attrs, kw->name))
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got multiple values for argument '%s'", fname, kw->name);
    ts_attrs_set(c->a, g->u.call.attrs, kw->name, sb_attr_value(c, kw->value));
  }
  if (info->infer) {
    bool ready = true;
    for (int i = 0; i < np; i++)
      if (!g->u.call.args[i]->sinfo)
        ready = false;
    if (ready) {
      ts_sinfo *out = NULL;
      ts_status *st = info->infer(c->a, g, &out);
      if (st)
        sb_raise(c, st);
      g->sinfo = out;
    }
  }
  return g;
}

static ts_gexpr *gcall(sb_ctx *c, const py_expr *e) {
  const py_expr *fn = e->u.call.func;
  sb_func *f = cls_member(c, fn, "call");
  if (f)
    return global_call(c, e, f);
  if (fn->kind == PY_NAME) {
    sb_sym *s = sb_lookup(c, fn->u.name);
    if (s && s->kind == SK_FUNC)
      return global_call(c, e, s->p);
    if (s && s->kind != SK_CLS)
      sb_fail(c, fn->loc, TS_ERR_TYPE, "'%s' is not callable", fn->u.name);
  }
  const char *name = sb_dotted(c, fn);
  if (!name)
    sb_fail_expr(c, fn, TS_ERR_UNSUPPORTED, "unsupported call of '%s'");
  if (sb_after(name, "T."))
    return prim_value(c, sb_tir_expr(c, e, TS_I64), e->loc);
  if (!sb_after(name, "R.")) {
    if (fn->kind == PY_NAME)
      sb_fail(c, fn->loc, TS_ERR_NAME, "name '%s' is not defined", name);
    sb_fail(c, fn->loc, TS_ERR_NAME, "unknown function '%s'", name);
  }
  if (strcmp(name, "R.call_tir") == 0 || strcmp(name, "R.call_dps_packed") == 0)
    return dps_call(c, e, name);
  if (strcmp(name, "R.call_packed") == 0)
    return packed_call(c, e, name);
  if (strcmp(name, "R.const") == 0) {
    static const char *const names[] = {"value", "dtype"};
    py_expr *a[2];
    sb_args(c, e, name, names, 2, 1, a);
    return make_const(c, a[0], a[1], e->loc);
  }
  if (strcmp(name, "R.shape") == 0) {
    sb_arity(c, e, name, 1, 1);
    const py_expr *a = e->u.call.args[0];
    if (a->kind != PY_LIST && a->kind != PY_TUPLE)
      sb_fail_expr(c, a, TS_ERR_VALUE,
                   "R.shape expects a list of values, got '%s'");
    return make_shape(c, a->u.seq.items, a->u.seq.n, e->loc);
  }
  if (strcmp(name, "R.prim_value") == 0) {
    sb_arity(c, e, name, 1, 1);
    return prim_value(c, sb_tir_expr(c, e->u.call.args[0], TS_I64), e->loc);
  }
  if (strcmp(name, "R.str") == 0 || strcmp(name, "R.StringImm") == 0) {
    sb_arity(c, e, name, 1, 1);
    const char *s = sb_str_literal(e->u.call.args[0]);
    if (!s)
      sb_fail_expr(c, e->u.call.args[0], TS_ERR_VALUE,
                   "R.str expects a string, got '%s'");
    ts_gexpr *g = gnode(c, TS_G_STR, e->loc);
    g->u.str = s;
    g->sinfo = ts_sinfo_new(c->a, TS_SI_OBJECT);
    return g;
  }
  if (strcmp(name, "R.dtype") == 0 || strcmp(name, "R.DataTypeImm") == 0) {
    sb_arity(c, e, name, 1, 1);
    ts_gexpr *g = gnode(c, TS_G_DTYPE, e->loc);
    g->u.dtype = sb_dtype(c, e->u.call.args[0]);
    g->sinfo = ts_sinfo_new(c->a, TS_SI_OBJECT);
    return g;
  }
  if (strcmp(name, "R.tuple") == 0)
    return make_tuple(c, e->u.call.args, e->u.call.n_args, e->loc);
  if (strcmp(name, "R.TupleGetItem") == 0) {
    sb_arity(c, e, name, 2, 2);
    int64_t idx;
    if (!sb_int_literal(e->u.call.args[1], &idx))
      sb_fail_expr(c, e->u.call.args[1], TS_ERR_VALUE,
                   "expected an integer index, got '%s'");
    ts_gexpr *t = gexpr(c, e->u.call.args[0]);
    ts_gexpr *g = gnode(c, TS_G_TUPLE_GET, e->loc);
    g->u.tuple_get.tuple = t;
    g->u.tuple_get.index = (int)idx;
    if (t->sinfo && t->sinfo->kind == TS_SI_TUPLE) {
      if (idx < 0 || idx >= t->sinfo->u.tuple.n)
        sb_fail(c, e->loc, TS_ERR_VALUE,
                "tuple index %lld out of range for a tuple of %d fields",
                (long long)idx, t->sinfo->u.tuple.n);
      g->sinfo = t->sinfo->u.tuple.fields[idx];
    }
    return g;
  }
  static const char *const stmt_only[] = {
      "R.output", "R.dataflow", "R.func_attr", "R.match_cast", "R.function"};
  for (size_t i = 0; i < sizeof stmt_only / sizeof stmt_only[0]; i++)
    if (strcmp(name, stmt_only[i]) == 0)
      sb_fail(c, e->loc, TS_ERR_SYNTAX, "'%s' cannot be used in an expression",
              name);
  static const char *const sinfos[] = {"R.Tensor", "R.Shape",  "R.Prim",
                                       "R.Tuple",  "R.Object", "R.Callable"};
  for (size_t i = 0; i < sizeof sinfos / sizeof sinfos[0]; i++)
    if (strcmp(name, sinfos[i]) == 0)
      sb_fail(c, e->loc, TS_ERR_SYNTAX,
              "'%s' is a struct info, not a value (use it as an annotation)",
              name);
  return op_call(c, e, name);
}

static ts_gexpr *gexpr(sb_ctx *c, const py_expr *e) {
  switch (e->kind) {
  case PY_NAME: {
    sb_sym *s = sb_lookup(c, e->u.name);
    if (!s)
      sb_fail(c, e->loc, TS_ERR_NAME, "name '%s' is not defined", e->u.name);
    switch (s->kind) {
    case SK_GVAR:
      return var_ref(c, s->p, e->loc);
    case SK_HIDDEN:
      sb_fail(c, e->loc, TS_ERR_NAME,
              "'%s' is a dataflow variable that is not visible outside its "
              "dataflow block (list it in R.output)",
              e->u.name);
    case SK_VAR:
      return prim_value(c, sb_tir_expr(c, e, TS_I64), e->loc);
    case SK_FUNC:
      return global_ref(c, s->p, e->loc);
    default:
      sb_fail(c, e->loc, TS_ERR_TYPE, "'%s' cannot be used as a value here",
              e->u.name);
    }
  }
  case PY_ATTR: {
    sb_func *f = cls_member(c, e, "module");
    if (f)
      return global_ref(c, f, e->loc);
    sb_fail_expr(c, e, TS_ERR_UNSUPPORTED, "unsupported expression '%s'");
  }
  case PY_TUPLE:
  case PY_LIST:
    return make_tuple(c, e->u.seq.items, e->u.seq.n, e->loc);
  case PY_SUBSCRIPT: {
    int64_t idx;
    if (!sb_int_literal(e->u.subscript.index, &idx))
      sb_fail_expr(c, e->u.subscript.index, TS_ERR_VALUE,
                   "a tuple index must be an integer literal, got '%s'");
    ts_gexpr *t = gexpr(c, e->u.subscript.value);
    if (t->sinfo && t->sinfo->kind != TS_SI_TUPLE)
      sb_fail(
          c, e->loc, TS_ERR_TYPE,
          "cannot index a value of struct info %s (only tuples can be indexed)",
          sb_sinfo_str(c, t->sinfo));
    ts_gexpr *g = gnode(c, TS_G_TUPLE_GET, e->loc);
    g->u.tuple_get.tuple = t;
    if (t->sinfo) {
      int n = t->sinfo->u.tuple.n;
      if (idx < 0)
        idx += n;
      if (idx < 0 || idx >= n)
        sb_fail(c, e->loc, TS_ERR_VALUE,
                "tuple index %lld is out of range for a tuple of %d field%s",
                (long long)idx, n, n == 1 ? "" : "s");
      g->sinfo = t->sinfo->u.tuple.fields[idx];
    }
    g->u.tuple_get.index = (int)idx;
    return g;
  }
  case PY_CALL:
    return gcall(c, e);
  case PY_INT:
  case PY_FLOAT:
  case PY_TRUE:
  case PY_FALSE:
    return make_const(c, e, NULL, e->loc);
  case PY_UNARYOP:
    if (e->u.unary.op == PY_OP_NEG && (e->u.unary.operand->kind == PY_INT ||
                                       e->u.unary.operand->kind == PY_FLOAT))
      return make_const(c, e, NULL, e->loc);
    break;
  case PY_STR: {
    ts_gexpr *g = gnode(c, TS_G_STR, e->loc);
    g->u.str = e->u.str;
    g->sinfo = ts_sinfo_new(c->a, TS_SI_OBJECT);
    return g;
  }
  case PY_BINOP:
    sb_fail(c, e->loc, TS_ERR_UNSUPPORTED,
            "operator '%s' is not supported on graph values (use R.add, "
            "R.multiply, ...)",
            py_op_str(e->u.binop.op));
  default:
    break;
  }
  sb_fail_expr(c, e, TS_ERR_UNSUPPORTED,
               "unsupported expression in a graph function: '%s'");
}

/* ---- bindings and blocks ---------------------------------------------------
 */

typedef SB_VEC(ts_binding) bindings_vec;
typedef SB_VEC(ts_gvar *) gvars_vec;

static ts_gvar *new_gvar(sb_ctx *c, const char *name, ts_sinfo *s, bool df,
                         ts_loc loc) {
  ts_gvar *v = ts_arena_alloc(c->a, sizeof *v);
  v->name = name;
  v->sinfo = s;
  v->is_dataflow = df;
  v->loc = sb_loc(c, loc);
  sb_bind(c, name, SK_GVAR, v);
  return v;
}

static bool is_call_to(sb_ctx *c, const py_expr *e, const char *name) {
  if (e->kind != PY_CALL)
    return false;
  const char *n = sb_dotted(c, e->u.call.func);
  return n && strcmp(n, name) == 0;
}

/* Builds a binding statement; false when st is not one. */
static bool binding(sb_ctx *c, const py_stmt *st, bool df, bindings_vec *out,
                    gvars_vec *defined) {
  const py_expr *target = NULL, *value = NULL, *ann = NULL;
  if (st->kind == PY_S_ASSIGN) {
    if (st->u.assign.n_targets != 1)
      sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
              "chained assignment is not supported");
    target = st->u.assign.targets[0];
    value = st->u.assign.value;
  } else if (st->kind == PY_S_ANNASSIGN) {
    target = st->u.annassign.target;
    value = st->u.annassign.value;
    ann = st->u.annassign.annotation;
    if (!value)
      sb_fail(c, st->loc, TS_ERR_SYNTAX, "an annotated binding needs a value");
  } else if (st->kind == PY_S_EXPR) {
    value = st->u.expr.value;
  } else {
    return false;
  }
  if (target && target->kind == PY_TUPLE)
    sb_fail(c, target->loc, TS_ERR_UNSUPPORTED,
            "tuple unpacking is not supported in graph functions (bind the "
            "tuple, then index it: t = ...; a = t[0])");
  if (target && target->kind != PY_NAME)
    sb_fail_expr(c, target, TS_ERR_SYNTAX, "cannot assign to '%s'");
  ts_binding b = {0};
  b.loc = sb_loc(c, st->loc);
  ts_sinfo *s;
  if (is_call_to(c, value, "R.match_cast")) {
    static const char *const names[] = {"value", "struct_info"};
    py_expr *a[2];
    sb_args(c, value, "R.match_cast", names, 2, 2, a);
    b.kind = TS_BIND_MATCH_CAST;
    b.value = gexpr(c, a[0]);
    b.match_sinfo = sinfo_of(c, a[1]);
    s = b.match_sinfo;
  } else {
    b.kind = TS_BIND_VAR;
    b.value = gexpr(c, value);
    s = b.value->sinfo;
  }
  if (ann) {
    ts_sinfo *as = sinfo_of(c, ann);
    if (!sinfo_compatible(as, s))
      sb_fail(c, ann->loc, TS_ERR_TYPE,
              "'%s' is annotated %s but its value has struct info %s",
              target->u.name, sb_sinfo_str(c, as), sb_sinfo_str(c, s));
    s = as;
  }
  b.var = new_gvar(c, target ? target->u.name : "_", s, df,
                   target ? target->loc : st->loc);
  sb_push(c, out, b);
  sb_push(c, defined, b.var);
  return true;
}

static void flush_block(sb_ctx *c, void *blocks_vec, bindings_vec *bs,
                        ts_loc loc) {
  SB_VEC(ts_binding_block) *blocks = blocks_vec;
  if (!bs->len)
    return;
  ts_binding_block bb = {0};
  bb.is_dataflow = false;
  bb.bindings = sb_finish(c, bs);
  bb.n = bs->len;
  bb.loc = bs->data[0].loc;
  (void)loc;
  sb_push(c, blocks, bb);
  bs->len = 0;
  bs->data = NULL;
  bs->cap = 0;
}

static ts_binding_block dataflow_block(sb_ctx *c, const py_stmt *st) {
  const py_body *body = &st->u.with.body;
  bindings_vec bs = {0};
  gvars_vec defined = {0}, outputs = {0};
  int mark = sb_scope_mark(c);
  bool have_output = false;
  for (int i = 0; i < body->n; i++) {
    const py_stmt *s = body->stmts[i];
    if (s->kind == PY_S_PASS ||
        (s->kind == PY_S_EXPR && s->u.expr.value->kind == PY_STR))
      continue;
    if (have_output)
      sb_fail(c, s->loc, TS_ERR_SYNTAX,
              "R.output(...) must be the last statement of a dataflow block");
    if (s->kind == PY_S_EXPR && is_call_to(c, s->u.expr.value, "R.output")) {
      const py_expr *call = s->u.expr.value;
      if (call->u.call.n_kwargs)
        sb_fail(c, call->u.call.kwargs[0].loc, TS_ERR_VALUE,
                "R.output got an unexpected keyword argument");
      for (int k = 0; k < call->u.call.n_args; k++) {
        const py_expr *a = call->u.call.args[k];
        if (a->kind != PY_NAME)
          sb_fail_expr(c, a, TS_ERR_SYNTAX,
                       "R.output expects variable names, got '%s'");
        sb_sym *sym = sb_lookup(c, a->u.name);
        if (!sym)
          sb_fail(c, a->loc, TS_ERR_NAME, "name '%s' is not defined",
                  a->u.name);
        ts_gvar *v = NULL;
        if (sym->kind == SK_GVAR)
          for (int j = 0; j < defined.len; j++)
            if (defined.data[j] == sym->p)
              v = sym->p;
        if (!v)
          sb_fail(c, a->loc, TS_ERR_NAME,
                  "R.output: '%s' is not a variable of this dataflow block",
                  a->u.name);
        for (int j = 0; j < outputs.len; j++)
          if (outputs.data[j] == v)
            sb_fail(c, a->loc, TS_ERR_NAME, "R.output: '%s' is listed twice",
                    a->u.name);
        v->is_dataflow = false;
        sb_push(c, &outputs, v);
      }
      have_output = true;
      continue;
    }
    if (s->kind == PY_S_EXPR && is_call_to(c, s->u.expr.value, "R.func_attr"))
      sb_fail(c, s->loc, TS_ERR_SYNTAX,
              "R.func_attr is not allowed inside a dataflow block");
    const char *dn;
    ts_dtype dt;
    if (sb_symvar_decl(c, s, &dn, &dt))
      sb_fail(c, s->loc, TS_ERR_SYNTAX,
              "declare symbolic variables at the top of the function, not in a "
              "dataflow block");
    if (binding(c, s, true, &bs, &defined))
      continue;
    switch (s->kind) {
    case PY_S_RETURN:
      sb_fail(
          c, s->loc, TS_ERR_SYNTAX,
          "return is not allowed inside a dataflow block (use R.output, then "
          "return after the block)");
    case PY_S_FOR:
    case PY_S_WHILE:
      sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
              "loops are not supported in graph functions");
    case PY_S_IF:
      sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
              "if statements are not supported in dataflow blocks");
    default:
      sb_fail(
          c, s->loc, TS_ERR_UNSUPPORTED,
          "unsupported statement in a dataflow block (expected bindings and "
          "R.output)");
    }
  }
  sb_scope_pop(c, mark);
  for (int j = 0; j < defined.len; j++) {
    ts_gvar *v = defined.data[j];
    sb_bind(c, v->name, v->is_dataflow ? SK_HIDDEN : SK_GVAR, v);
  }
  ts_binding_block bb = {0};
  bb.is_dataflow = true;
  bb.bindings = sb_finish(c, &bs);
  bb.n = bs.len;
  bb.outputs = sb_finish(c, &outputs);
  bb.n_outputs = outputs.len;
  bb.loc = sb_loc(c, st->loc);
  return bb;
}

/* ---- the function
 * --------------------------------------------------------------- */

void sb_ensure_gfunc(sb_ctx *c, sb_func *f) {
  if (f->state)
    return;
  int fn_base = c->fn_base, n_syms = c->n_syms;
  sb_sym *fd = c->fsyms.data;
  int fl = c->fsyms.len, fc = c->fsyms.cap;
  c->fn_base = c->n_syms;
  c->fsyms.data = NULL;
  c->fsyms.len = c->fsyms.cap = 0;
  sb_build_gfunc(c, f);
  c->fn_base = fn_base;
  c->n_syms = n_syms;
  c->fsyms.data = fd;
  c->fsyms.len = fl;
  c->fsyms.cap = fc;
}

void sb_build_gfunc(sb_ctx *c, sb_func *f) {
  const py_stmt *d = f->def;
  ts_gfunc *g = f->graph;
  f->state = 1;
  g->is_pure = sb_decorator_flag(c, d, "pure", true);
  g->is_private = sb_decorator_flag(c, d, "private", false);
  sb_prescan_symvars(c, &d->u.def.body);

  gvars_vec params = {0};
  for (int i = 0; i < d->u.def.n_params; i++) {
    const py_param *p = &d->u.def.params[i];
    if (p->default_value)
      sb_fail(c, p->default_value->loc, TS_ERR_UNSUPPORTED,
              "parameters of a graph function cannot have default values");
    if (!p->annotation)
      sb_fail(c, p->loc, TS_ERR_SYNTAX,
              "parameter '%s' of a graph function needs a struct info "
              "annotation (R.Tensor(...))",
              p->name);
    for (int j = 0; j < params.len; j++)
      if (strcmp(params.data[j]->name, p->name) == 0)
        sb_fail(c, p->loc, TS_ERR_NAME, "duplicate parameter '%s'", p->name);
    ts_sinfo *s = sinfo_of(c, p->annotation);
    sb_push(c, &params, new_gvar(c, p->name, s, false, p->loc));
  }
  g->params = sb_finish(c, &params);
  g->n_params = params.len;
  if (d->u.def.returns)
    g->ret_sinfo = sinfo_of(c, d->u.def.returns);

  SB_VEC(ts_binding_block) blocks = {0};
  bindings_vec plain = {0};
  gvars_vec defined = {0};
  const py_body *body = &d->u.def.body;
  for (int i = 0; i < body->n; i++) {
    const py_stmt *s = body->stmts[i];
    if (g->result)
      sb_fail(c, s->loc, TS_ERR_SYNTAX,
              "statements after return are not allowed");
    if (s->kind == PY_S_PASS ||
        (s->kind == PY_S_EXPR && s->u.expr.value->kind == PY_STR))
      continue;
    if (s->kind == PY_S_RETURN) {
      if (!s->u.expr.value)
        sb_fail(c, s->loc, TS_ERR_SYNTAX,
                "a graph function must return a value");
      g->result = gexpr(c, s->u.expr.value);
      if (g->ret_sinfo && !sinfo_compatible(g->ret_sinfo, g->result->sinfo))
        sb_fail(c, s->u.expr.value->loc, TS_ERR_TYPE,
                "the returned value has struct info %s but the function is "
                "annotated %s",
                sb_sinfo_str(c, g->result->sinfo),
                sb_sinfo_str(c, g->ret_sinfo));
      continue;
    }
    if (s->kind == PY_S_WITH) {
      const py_expr *cx =
          s->u.with.n_items == 1 ? s->u.with.items[0].context : NULL;
      if (!cx || !is_call_to(c, cx, "R.dataflow") || s->u.with.items[0].target)
        sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
                "unsupported with statement in a graph function (expected "
                "'with R.dataflow():')");
      sb_arity(c, cx, "R.dataflow", 0, 0);
      flush_block(c, &blocks, &plain, s->loc);
      ts_binding_block bb = dataflow_block(c, s);
      sb_push(c, &blocks, bb);
      continue;
    }
    const char *dn;
    ts_dtype dt;
    if (sb_symvar_decl(c, s, &dn, &dt))
      continue; /* pre-declared */
    if (s->kind == PY_S_ASSIGN && s->u.assign.n_targets == 1 &&
        s->u.assign.targets[0]->kind == PY_NAME &&
        (s->u.assign.value->kind == PY_NAME ||
         s->u.assign.value->kind == PY_ATTR)) {
      const py_expr *v = s->u.assign.value;
      if (v->kind == PY_NAME) {
        sb_sym *sym = sb_lookup(c, v->u.name);
        if (sym && sym->kind == SK_CLS) {
          sb_bind(c, s->u.assign.targets[0]->u.name, SK_CLS, NULL);
          continue;
        }
      }
    }
    if (s->kind == PY_S_EXPR && is_call_to(c, s->u.expr.value, "R.func_attr")) {
      const py_expr *call = s->u.expr.value;
      sb_arity(c, call, "R.func_attr", 1, 1);
      g->attrs = sb_attr_dict(c, call->u.call.args[0], g->attrs);
      continue;
    }
    if (s->kind == PY_S_EXPR && is_call_to(c, s->u.expr.value, "R.output"))
      sb_fail(c, s->loc, TS_ERR_SYNTAX,
              "R.output is only allowed at the end of a dataflow block");
    if (binding(c, s, false, &plain, &defined))
      continue;
    switch (s->kind) {
    case PY_S_FOR:
    case PY_S_WHILE:
      sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
              "loops are not supported in graph functions");
    case PY_S_IF:
      sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
              "if statements are not supported in graph functions");
    default:
      sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
              "unsupported statement in a graph function");
    }
  }
  flush_block(c, &blocks, &plain, d->loc);
  if (!g->result)
    sb_fail(c, d->loc, TS_ERR_SYNTAX,
            "graph function '%s' must end with a return statement", f->name);
  g->blocks = sb_finish(c, &blocks);
  g->n_blocks = blocks.len;
  f->state = 2;
}
