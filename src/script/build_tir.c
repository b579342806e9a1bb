/* build_tir.c: TVMScript @T.prim_func -> ts_primfunc.
 *
 * Expressions are built as `tv` values: a TIR expression plus a flag saying
 * whether it is still a bare Python literal.  A literal takes the dtype of
 * the operand it meets (`Y[i] + 0.0` is Y's dtype, `i + 1` is i's), of the
 * buffer it is stored to, or else int32 / float32.  Two literals fold with
 * Python's semantics (`128 // 4`, `1 / 2`).  Typed operands of different
 * dtypes: ints promote to the wider type, an int meeting a float is cast to
 * the float's type (as TVM does), two different floats are an error.
 *
 * Statements are built per body with a `frame` saying where the body is:
 * the function level (T.func_attr, function-level T.match_buffer and
 * T.alloc_buffer of the implicit root block) or directly inside a block
 * (T.axis.*, T.where, T.reads/T.writes, T.block_attr, T.alloc_buffer,
 * T.match_buffer, T.init).  A let (`x = e`, `x: T.int32 = e`) or an assert
 * scopes over the rest of its body. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "script/builder.h"

enum { LIT_NONE, LIT_INT, LIT_FLOAT };
typedef struct tv {
  ts_expr *e;
  int lit;
} tv;

static ts_expr *at(sb_ctx *c, ts_expr *e, ts_loc loc) {
  e->loc = sb_loc(c, loc);
  return e;
}
static tv typed(ts_expr *e) { return (tv){e, LIT_NONE}; }

/* v rounded to the precision of float dtype t, so that a printed
 * immediate (shortest text for its dtype) reads back to the same value. */
static double round_float(ts_dtype t, double v) {
  if (!isfinite(v) || v == 0)
    return v;
  if (t.code == TS_FLOAT && t.bits == 32)
    return (double)(float)v;
  if (t.code == TS_FLOAT && t.bits == 16) {
    if (fabs(v) < 6.103515625e-05)
      return nearbyint(v * 16777216.0) / 16777216.0;
    int e;
    double m = frexp(v, &e);
    double r = ldexp(nearbyint(m * 2048.0) / 2048.0, e);
    return fabs(r) > 65504.0 ? copysign(INFINITY, v) : r;
  }
  if (t.code == TS_BFLOAT && t.bits == 16) {
    int e;
    double m = frexp(v, &e);
    return (double)(float)ldexp(nearbyint(m * 256.0) / 256.0, e);
  }
  return v;
}

static ts_expr *mkfloat(sb_ctx *c, ts_dtype t, double v) {
  return ts_float(c->a, t, round_float(t, v));
}

static bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

static tv int_lit(sb_ctx *c, int64_t v, ts_loc loc) {
  return (tv){at(c, ts_int(c->a, fits_i32(v) ? TS_I32 : TS_I64, v), loc),
              LIT_INT};
}
/* A float literal keeps its full double until its dtype is known. */
static tv float_lit(sb_ctx *c, double v, ts_loc loc) {
  return (tv){at(c, ts_float(c->a, TS_F32, v), loc), LIT_FLOAT};
}

/* The value with a literal's default dtype (int32/int64, float32). */
static ts_expr *concrete(sb_ctx *c, tv v) {
  if (v.lit != LIT_FLOAT)
    return v.e;
  ts_expr *r = mkfloat(c, TS_F32, v.e->u.float_value);
  r->loc = v.e->loc;
  return r;
}

static const char *dstr(sb_ctx *c, ts_dtype t) {
  char buf[32];
  return ts_arena_strdup(c->scratch, ts_dtype_str(t, buf));
}

/* Converts x to dtype t; immediates are re-made, others wrapped in a cast. */
static ts_expr *cast_to(sb_ctx *c, ts_dtype t, ts_expr *x) {
  if (ts_dtype_eq(x->dtype, t))
    return x;
  ts_expr *r;
  if (x->kind == TS_E_INT && (ts_dtype_is_int(t) || t.code == TS_BOOL))
    r = t.code == TS_BOOL ? ts_bool(c->a, x->u.int_value != 0)
                          : ts_int(c->a, t, x->u.int_value);
  else if (x->kind == TS_E_INT && ts_dtype_is_float(t))
    r = mkfloat(c, t, (double)x->u.int_value);
  else if (x->kind == TS_E_FLOAT && ts_dtype_is_float(t))
    r = mkfloat(c, t, x->u.float_value);
  else
    r = ts_cast(c->a, t, x);
  r->loc = x->loc;
  return r;
}

/* A literal takes dtype t when it can; a typed value is returned as is. */
static ts_expr *adapt(sb_ctx *c, tv v, ts_dtype t) {
  if (v.lit == LIT_NONE || t.code == TS_VOID)
    return v.e;
  if (v.lit == LIT_INT &&
      (ts_dtype_is_int(t) || ts_dtype_is_float(t) || t.code == TS_BOOL))
    return cast_to(c, t, v.e);
  if (v.lit == LIT_FLOAT && ts_dtype_is_float(t)) {
    ts_expr *r = mkfloat(c, t, v.e->u.float_value);
    r->loc = v.e->loc;
    return r;
  }
  return concrete(c, v);
}

static bool is_intlike(ts_dtype t) { return ts_dtype_is_int(t); }

/* Makes the operands of a binary operator the same dtype or fails. */
static void match_types(sb_ctx *c, const char *opname, ts_expr **x, ts_expr **y,
                        ts_loc loc) {
  ts_dtype a = (*x)->dtype, b = (*y)->dtype;
  if (ts_dtype_eq(a, b))
    return;
  if (a.lanes == b.lanes) {
    if (is_intlike(a) && is_intlike(b) && a.bits != b.bits) {
      if (a.bits < b.bits)
        *x = cast_to(c, b, *x);
      else
        *y = cast_to(c, a, *y);
      return;
    }
    if (ts_dtype_is_float(a) && (is_intlike(b) || b.code == TS_BOOL)) {
      *y = cast_to(c, a, *y);
      return;
    }
    if (ts_dtype_is_float(b) && (is_intlike(a) || a.code == TS_BOOL)) {
      *x = cast_to(c, b, *x);
      return;
    }
    if (a.code == TS_BOOL && is_intlike(b)) {
      *x = cast_to(c, b, *x);
      return;
    }
    if (b.code == TS_BOOL && is_intlike(a)) {
      *y = cast_to(c, a, *y);
      return;
    }
  }
  sb_fail(c, loc, TS_ERR_TYPE,
          "binary operator '%s' has operands of dtype %s and %s", opname,
          dstr(c, a), dstr(c, b));
}

/* Adapts literals to each other's dtype and matches the types. */
static void unify(sb_ctx *c, const char *opname, tv a, tv b, ts_expr **x,
                  ts_expr **y, ts_loc loc) {
  if (a.lit && !b.lit) {
    *x = adapt(c, a, b.e->dtype);
    *y = b.e;
  } else if (b.lit && !a.lit) {
    *x = a.e;
    *y = adapt(c, b, a.e->dtype);
  } else {
    *x = concrete(c, a);
    *y = concrete(c, b);
  }
  match_types(c, opname, x, y, loc);
}

static tv make_binary(sb_ctx *c, ts_expr_kind k, tv a, tv b, ts_loc loc,
                      const char *opname) {
  ts_expr *x, *y;
  unify(c, opname, a, b, &x, &y, loc);
  if (k == TS_E_AND || k == TS_E_OR) {
    if (x->dtype.code != TS_BOOL)
      sb_fail(c, loc, TS_ERR_TYPE, "operator '%s' needs bool operands, got %s",
              opname, dstr(c, x->dtype));
  }
  return typed(at(c, ts_binary(c->a, k, x, y), loc));
}

static ts_expr *make_intrin(sb_ctx *c, ts_dtype t, ts_intrin op, ts_expr **args,
                            int n, ts_loc loc) {
  ts_expr **copy = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *copy);
  for (int i = 0; i < n; i++)
    copy[i] = args[i];
  return at(c, ts_call(c->a, t, op, copy, n), loc);
}

/* ---- literal folding (Python semantics) --------------------------------- */

static double lit_f(tv v) {
  return v.lit == LIT_INT ? (double)v.e->u.int_value : v.e->u.float_value;
}

static int64_t floordiv_i(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

static tv fold(sb_ctx *c, py_op op, tv a, tv b, ts_loc loc, bool *ok) {
  bool isf = a.lit == LIT_FLOAT || b.lit == LIT_FLOAT;
  double fa = lit_f(a), fb = lit_f(b);
  int64_t ia = isf ? 0 : a.e->u.int_value, ib = isf ? 0 : b.e->u.int_value;
  *ok = true;
  switch (op) {
  case PY_OP_ADD:
  case PY_OP_SUB:
  case PY_OP_MUL: {
    if (isf)
      return float_lit(c, op == PY_OP_ADD ? fa + fb : op == PY_OP_SUB ? fa - fb : fa * fb,
                       loc);
    int64_t r;
    bool over = op == PY_OP_ADD   ? __builtin_add_overflow(ia, ib, &r)
                : op == PY_OP_SUB ? __builtin_sub_overflow(ia, ib, &r)
                                  : __builtin_mul_overflow(ia, ib, &r);
    if (over)
      sb_fail(c, loc, TS_ERR_VALUE, "integer overflow in a constant expression");
    return int_lit(c, r, loc);
  }
  case PY_OP_DIV:
  case PY_OP_FLOORDIV:
  case PY_OP_MOD:
    if (fb == 0)
      sb_fail(c, loc, TS_ERR_VALUE, "division by zero");
    if (!isf && ia == INT64_MIN && ib == -1)
      sb_fail(c, loc, TS_ERR_VALUE, "integer overflow in a constant expression");
    if (op == PY_OP_DIV)
      return float_lit(c, fa / fb, loc);
    if (op == PY_OP_FLOORDIV)
      return isf ? float_lit(c, floor(fa / fb), loc)
                 : int_lit(c, floordiv_i(ia, ib), loc);
    return isf ? float_lit(c, fa - floor(fa / fb) * fb, loc)
               : int_lit(c, ia - floordiv_i(ia, ib) * ib, loc);
  case PY_OP_POW:
    if (isf || ib < 0)
      return float_lit(c, pow(fa, fb), loc);
    {
      int64_t r = 1;
      if (ia == 0 || ia == 1 || ia == -1) /* no overflow, any exponent */
        r = ia == -1 ? (ib % 2 ? -1 : 1) : (ib == 0 ? 1 : ia);
      else
        for (int64_t i = 0; i < ib; i++) /* |ia| >= 2: overflows by i = 63 */
          if (__builtin_mul_overflow(r, ia, &r))
            sb_fail(c, loc, TS_ERR_VALUE, "integer overflow in a constant expression");
      return int_lit(c, r, loc);
    }
  case PY_OP_BITAND:
  case PY_OP_BITOR:
  case PY_OP_BITXOR:
  case PY_OP_LSHIFT:
  case PY_OP_RSHIFT:
    if (isf)
      break;
    switch (op) {
    case PY_OP_BITAND:
      return int_lit(c, ia & ib, loc);
    case PY_OP_BITOR:
      return int_lit(c, ia | ib, loc);
    case PY_OP_BITXOR:
      return int_lit(c, ia ^ ib, loc);
    case PY_OP_LSHIFT:
      return int_lit(c, (int64_t)((uint64_t)ia << (ib & 63)), loc);
    default:
      return int_lit(c, ia >> (ib & 63), loc);
    }
  default:
    break;
  }
  *ok = false;
  return a;
}

/* ---- small linear simplifier for region extents and loop extents ------- */


typedef struct lterm {
  ts_expr *e;
  int64_t coef;
} lterm;
typedef SB_VEC(lterm) lterms;

static void linearize(sb_ctx *c, ts_expr *e, int64_t sign, lterms *ts,
                      int64_t *k) {
  if (e->kind == TS_E_INT) {
    *k += sign * e->u.int_value;
    return;
  }
  if (e->kind == TS_E_ADD || e->kind == TS_E_SUB) {
    linearize(c, e->u.bin.a, sign, ts, k);
    linearize(c, e->u.bin.b, e->kind == TS_E_ADD ? sign : -sign, ts, k);
    return;
  }
  if (e->kind == TS_E_MUL && e->u.bin.b->kind == TS_E_INT) {
    linearize(c, e->u.bin.a, sign * e->u.bin.b->u.int_value, ts, k);
    return;
  }
  if (e->kind == TS_E_MUL && e->u.bin.a->kind == TS_E_INT) {
    linearize(c, e->u.bin.b, sign * e->u.bin.a->u.int_value, ts, k);
    return;
  }
  for (int i = 0; i < ts->len; i++)
    if (ts_expr_same(ts->data[i].e, e)) {
      ts->data[i].coef += sign;
      return;
    }
  sb_push(c, ts, ((lterm){e, sign}));
}

/* hi - lo, simplified when both are linear in the same terms. */
static ts_expr *diff(sb_ctx *c, ts_expr *hi, ts_expr *lo, ts_loc loc) {
  if (lo->kind == TS_E_INT && lo->u.int_value == 0)
    return hi;
  ts_dtype t = hi->dtype;
  if (!is_intlike(t) || !ts_dtype_eq(t, lo->dtype)) {
    ts_expr *x = hi, *y = lo;
    match_types(c, "-", &x, &y, loc);
    return at(c, ts_binary(c->a, TS_E_SUB, x, y), loc);
  }
  if (hi->kind == TS_E_ADD && ts_expr_same(hi->u.bin.a, lo))
    return hi->u.bin.b;
  lterms ts = {0};
  int64_t k = 0;
  linearize(c, hi, 1, &ts, &k);
  linearize(c, lo, -1, &ts, &k);
  ts_expr *r = NULL;
  bool neg_only = true;
  for (int i = 0; i < ts.len; i++)
    if (ts.data[i].coef > 0)
      neg_only = false;
  if (neg_only && ts.len) {
    bool any = false;
    for (int i = 0; i < ts.len; i++)
      any |= ts.data[i].coef != 0;
    if (any)
      return at(c, ts_binary(c->a, TS_E_SUB, hi, lo), loc);
  }
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < ts.len; i++) {
      int64_t cf = ts.data[i].coef;
      if (cf == 0 || (pass == 0) != (cf > 0))
        continue;
      ts_expr *term = ts.data[i].e;
      if (cf != 1 && cf != -1)
        term =
            ts_binary(c->a, TS_E_MUL, term, ts_int(c->a, t, cf < 0 ? -cf : cf));
      if (!r) {
        r = cf < 0 ? ts_binary(c->a, TS_E_SUB, ts_int(c->a, t, 0), term) : term;
      } else {
        r = ts_binary(c->a, cf < 0 ? TS_E_SUB : TS_E_ADD, r, term);
      }
    }
  if (!r)
    return at(c, ts_int(c->a, t, k), loc);
  if (k > 0)
    r = ts_binary(c->a, TS_E_ADD, r, ts_int(c->a, t, k));
  if (k < 0)
    r = ts_binary(c->a, TS_E_SUB, r, ts_int(c->a, t, -k));
  return r;
}

/* ---- expressions ------------------------------------------------------------
 */

static tv tir_expr(sb_ctx *c, const py_expr *e);

ts_expr *sb_tir_expr(sb_ctx *c, const py_expr *e, ts_dtype want) {
  tv v = tir_expr(c, e);
  return adapt(c, v, want);
}

ts_expr *sb_shape_dim(sb_ctx *c, const py_expr *e, ts_dtype lit_dtype,
                      ts_dtype var_dtype, bool strs) {
  int saved = c->implicit;
  ts_dtype sd = c->implicit_dtype;
  bool ss = c->implicit_strs;
  c->implicit = 1;
  c->implicit_dtype = var_dtype;
  c->implicit_strs = strs;
  tv v = tir_expr(c, e);
  c->implicit = saved;
  c->implicit_dtype = sd;
  c->implicit_strs = ss;
  ts_expr *r = adapt(c, v, lit_dtype);
  if (!is_intlike(r->dtype))
    sb_fail(c, e->loc, TS_ERR_TYPE,
            "a shape dimension must be an integer, got %s", dstr(c, r->dtype));
  return r;
}

static ts_var *implicit_var(sb_ctx *c, const char *name, ts_loc loc) {
  if (c->param_def) {
    const py_stmt *d = c->param_def;
    for (int j = c->param_index + 1; j < d->u.def.n_params; j++)
      if (strcmp(d->u.def.params[j].name, name) == 0)
        sb_fail(c, loc, TS_ERR_NAME,
                "parameter '%s' is used before its declaration (declare "
                "scalar parameters before the buffers that use them)",
                name);
  }
  ts_var *v = ts_var_new(c->a, name, c->implicit_dtype, sb_loc(c, loc));
  sb_bind_fsym(c, v);
  return v;
}

static bool is_identifier(const char *s) {
  if (!*s || (*s >= '0' && *s <= '9')) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

/* Points every node of a parsed dimension at the string literal it came
 * from, so that messages name the place in the user's file. */
static void relocate(py_expr *x, ts_loc loc) {
  if (!x) return;
  x->loc = loc;
  switch (x->kind) {
  case PY_BINOP:
    relocate(x->u.binop.left, loc);
    relocate(x->u.binop.right, loc);
    break;
  case PY_UNARYOP: relocate(x->u.unary.operand, loc); break;
  case PY_ATTR: relocate(x->u.attr.value, loc); break;
  case PY_CALL:
    relocate(x->u.call.func, loc);
    for (int i = 0; i < x->u.call.n_args; i++) relocate(x->u.call.args[i], loc);
    for (int i = 0; i < x->u.call.n_kwargs; i++) relocate(x->u.call.kwargs[i].value, loc);
    break;
  case PY_TUPLE:
  case PY_LIST:
    for (int i = 0; i < x->u.seq.n; i++) relocate(x->u.seq.items[i], loc);
    break;
  case PY_COMPARE:
    relocate(x->u.compare.left, loc);
    for (int i = 0; i < x->u.compare.n; i++) relocate(x->u.compare.comparators[i], loc);
    break;
  case PY_BOOLOP:
    for (int i = 0; i < x->u.boolop.n; i++) relocate(x->u.boolop.values[i], loc);
    break;
  case PY_IFEXP:
    relocate(x->u.ifexp.cond, loc);
    relocate(x->u.ifexp.body, loc);
    relocate(x->u.ifexp.orelse, loc);
    break;
  default: break;
  }
}

/* Parses a quoted dimension expression ("n * 2 + m") into an AST. */
static const py_expr *parse_dim_string(sb_ctx *c, const py_expr *e) {
  char *text = ts_strdup_printf("(%s)\n", e->u.str);
  py_body body;
  ts_status *st = py_parse(c->a, text, strlen(text), "<dimension>", &body);
  free(text);
  if (st || body.n != 1 || body.stmts[0]->kind != PY_S_EXPR) {
    ts_status_free(st);
    sb_fail(c, e->loc, TS_ERR_SYNTAX, "invalid symbolic dimension \"%s\"",
            e->u.str);
  }
  py_expr *x = body.stmts[0]->u.expr.value;
  relocate(x, e->loc);
  return x;
}

static tv name_value(sb_ctx *c, const char *name, ts_loc loc) {
  sb_sym *s = sb_lookup(c, name);
  if (!s) {
    if (c->implicit)
      return typed(at(c, ts_varref(c->a, implicit_var(c, name, loc)), loc));
    sb_fail(c, loc, TS_ERR_NAME, "name '%s' is not defined", name);
  }
  switch (s->kind) {
  case SK_VAR:
    return typed(at(c, ts_varref(c->a, (ts_var *)s->p), loc));
  case SK_BUFFER:
    sb_fail(c, loc, TS_ERR_TYPE,
            "buffer '%s' cannot be used as a scalar value (index it: %s[...])",
            name, name);
  case SK_GVAR:
    sb_fail(c, loc, TS_ERR_TYPE,
            "graph variable '%s' cannot be used in a TensorIR expression",
            name);
  default:
    sb_fail(c, loc, TS_ERR_TYPE, "'%s' cannot be used as a TensorIR value",
            name);
  }
}

/* The items of a subscript index (a tuple index lists them). */
static void index_items(const py_expr *idx, py_expr ***items, int *n,
                        py_expr **one) {
  if (idx->kind == PY_TUPLE) {
    *items = idx->u.seq.items;
    *n = idx->u.seq.n;
  } else {
    *one = (py_expr *)idx;
    *items = one;
    *n = 1;
  }
}

static ts_buffer *buffer_named(sb_ctx *c, const py_expr *e) {
  if (e->kind != PY_NAME)
    sb_fail_expr(c, e, TS_ERR_TYPE, "'%s' is not a buffer");
  sb_sym *s = sb_lookup(c, e->u.name);
  if (!s)
    sb_fail(c, e->loc, TS_ERR_NAME, "name '%s' is not defined", e->u.name);
  if (s->kind != SK_BUFFER)
    sb_fail(c, e->loc, TS_ERR_TYPE, "'%s' is not a buffer", e->u.name);
  return s->p;
}

static void check_rank(sb_ctx *c, ts_buffer *b, int n, ts_loc loc) {
  if (n != b->ndim)
    sb_fail(c, loc, TS_ERR_TYPE,
            "buffer '%s' has %d dimension%s but is accessed with %d "
            "ind%s",
            b->name, b->ndim, b->ndim == 1 ? "" : "s", n,
            n == 1 ? "ex" : "ices");
}

static ts_expr **build_indices(sb_ctx *c, ts_buffer *b, const py_expr *idx,
                               ts_loc loc, int *out_n) {
  py_expr **items, *one;
  int n;
  index_items(idx, &items, &n, &one);
  check_rank(c, b, n, loc);
  ts_expr **r = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *r);
  for (int i = 0; i < n; i++) {
    if (items[i]->kind == PY_SLICE)
      sb_fail(c, items[i]->loc, TS_ERR_SYNTAX,
              "a slice is only allowed in T.reads, T.writes and "
              "T.match_buffer regions");
    r[i] = sb_tir_expr(c, items[i], TS_I32);
    if (!is_intlike(r[i]->dtype))
      sb_fail(c, items[i]->loc, TS_ERR_TYPE,
              "buffer index must be an integer, got %s", dstr(c, r[i]->dtype));
  }
  *out_n = n;
  return r;
}

static tv subscript_value(sb_ctx *c, const py_expr *e) {
  const py_expr *base = e->u.subscript.value;
  /* A.shape[i] */
  if (base->kind == PY_ATTR && strcmp(base->u.attr.name, "shape") == 0 &&
      base->u.attr.value->kind == PY_NAME) {
    sb_sym *s = sb_lookup(c, base->u.attr.value->u.name);
    int64_t i;
    if (s && s->kind == SK_BUFFER && sb_int_literal(e->u.subscript.index, &i)) {
      ts_buffer *b = s->p;
      if (i < 0)
        i += b->ndim;
      if (i < 0 || i >= b->ndim)
        sb_fail(c, e->loc, TS_ERR_VALUE, "buffer '%s' has no dimension %lld",
                b->name, (long long)i);
      return typed(b->shape[i]);
    }
  }
  ts_buffer *b = buffer_named(c, base);
  int n;
  ts_expr **idx = build_indices(c, b, e->u.subscript.index, e->loc, &n);
  return typed(at(c, ts_load(c->a, b, idx, n), e->loc));
}

static const char *py_binop_kind(py_op op, ts_expr_kind *k, ts_intrin *in) {
  *in = TS_INTRIN_COUNT;
  switch (op) {
  case PY_OP_ADD:
    *k = TS_E_ADD;
    return "+";
  case PY_OP_SUB:
    *k = TS_E_SUB;
    return "-";
  case PY_OP_MUL:
    *k = TS_E_MUL;
    return "*";
  case PY_OP_DIV:
    *k = TS_E_DIV;
    return "/";
  case PY_OP_FLOORDIV:
    *k = TS_E_FLOORDIV;
    return "//";
  case PY_OP_MOD:
    *k = TS_E_FLOORMOD;
    return "%";
  case PY_OP_POW:
    *in = TS_INTRIN_POW;
    return "**";
  case PY_OP_BITAND:
    *k = TS_E_AND;
    *in = TS_INTRIN_BITWISE_AND;
    return "&";
  case PY_OP_BITOR:
    *k = TS_E_OR;
    *in = TS_INTRIN_BITWISE_OR;
    return "|";
  case PY_OP_BITXOR:
    *k = TS_E_NE;
    *in = TS_INTRIN_BITWISE_XOR;
    return "^";
  case PY_OP_LSHIFT:
    *in = TS_INTRIN_SHIFT_LEFT;
    return "<<";
  case PY_OP_RSHIFT:
    *in = TS_INTRIN_SHIFT_RIGHT;
    return ">>";
  case PY_OP_EQ:
    *k = TS_E_EQ;
    return "==";
  case PY_OP_NE:
    *k = TS_E_NE;
    return "!=";
  case PY_OP_LT:
    *k = TS_E_LT;
    return "<";
  case PY_OP_LE:
    *k = TS_E_LE;
    return "<=";
  case PY_OP_GT:
    *k = TS_E_GT;
    return ">";
  case PY_OP_GE:
    *k = TS_E_GE;
    return ">=";
  default:
    return NULL;
  }
}

static tv apply_binop(sb_ctx *c, py_op op, tv a, tv b, ts_loc loc) {
  ts_expr_kind k = TS_E_ADD;
  ts_intrin in;
  const char *name = py_binop_kind(op, &k, &in);
  if (!name)
    sb_fail(c, loc, TS_ERR_UNSUPPORTED,
            "operator '%s' is not supported in TensorIR expressions",
            py_op_str(op));
  if (a.lit && b.lit) {
    bool ok;
    tv r = fold(c, op, a, b, loc, &ok);
    if (ok)
      return r;
    if (op >= PY_OP_EQ && op <= PY_OP_GE) {
      double x = lit_f(a), y = lit_f(b);
      bool v = op == PY_OP_EQ   ? x == y
               : op == PY_OP_NE ? x != y
               : op == PY_OP_LT ? x < y
               : op == PY_OP_LE ? x <= y
               : op == PY_OP_GT ? x > y
                                : x >= y;
      return typed(at(c, ts_bool(c->a, v), loc));
    }
  }
  if (in != TS_INTRIN_COUNT) {
    ts_expr *x, *y;
    unify(c, name, a, b, &x, &y, loc);
    if (x->dtype.code == TS_BOOL &&
        (op == PY_OP_BITAND || op == PY_OP_BITOR || op == PY_OP_BITXOR))
      return typed(at(c, ts_binary(c->a, k, x, y), loc));
    if (op != PY_OP_POW && !is_intlike(x->dtype)) {
      sb_fail(c, loc, TS_ERR_TYPE,
              "operator '%s' needs integer operands, got %s", name,
              dstr(c, x->dtype));
    }
    ts_expr *args[2] = {x, y};
    return typed(make_intrin(c, x->dtype, in, args, 2, loc));
  }
  return make_binary(c, k, a, b, loc, name);
}

static tv bool_value(sb_ctx *c, const py_expr *e) {
  tv v = tir_expr(c, e);
  if (v.lit == LIT_INT)
    return typed(at(c, ts_bool(c->a, v.e->u.int_value != 0), e->loc));
  if (v.e->dtype.code != TS_BOOL)
    sb_fail(c, e->loc, TS_ERR_TYPE, "expected a bool condition, got %s",
            dstr(c, v.e->dtype));
  return v;
}

static tv tir_call(sb_ctx *c, const py_expr *e);

static tv tir_expr(sb_ctx *c, const py_expr *e) {
  switch (e->kind) {
  case PY_NAME:
    return name_value(c, e->u.name, e->loc);
  case PY_INT:
    return int_lit(c, e->u.int_value, e->loc);
  case PY_FLOAT:
    return float_lit(c, e->u.float_value, e->loc);
  case PY_TRUE:
  case PY_FALSE:
    return typed(at(c, ts_bool(c->a, e->kind == PY_TRUE), e->loc));
  case PY_STR:
    if (c->implicit && c->implicit_strs && !is_identifier(e->u.str)) {
      /* "n * 2": TVM quotes expression dimensions in signatures */
      const py_expr *x = parse_dim_string(c, e);
      return tir_expr(c, x);
    }
    if (c->implicit && c->implicit_strs) {
      sb_sym *s = sb_lookup(c, e->u.str);
      if (s && s->kind == SK_VAR)
        return typed(at(c, ts_varref(c->a, s->p), e->loc));
      if (s)
        sb_fail(c, e->loc, TS_ERR_TYPE, "'%s' is not a symbolic variable",
                e->u.str);
      return typed(
          at(c, ts_varref(c->a, implicit_var(c, e->u.str, e->loc)), e->loc));
    }
    sb_fail(c, e->loc, TS_ERR_TYPE,
            "a string cannot be used as a TensorIR value here");
  case PY_SUBSCRIPT:
    return subscript_value(c, e);
  case PY_CALL:
    return tir_call(c, e);
  case PY_BINOP:
    return apply_binop(c, e->u.binop.op, tir_expr(c, e->u.binop.left),
                       tir_expr(c, e->u.binop.right), e->loc);
  case PY_UNARYOP: {
    tv v = tir_expr(c, e->u.unary.operand);
    switch (e->u.unary.op) {
    case PY_OP_POS:
      return v;
    case PY_OP_NEG:
      if (v.lit == LIT_INT)
        return int_lit(c, -v.e->u.int_value, e->loc);
      if (v.lit == LIT_FLOAT)
        return float_lit(c, -v.e->u.float_value, e->loc);
      if (v.e->kind == TS_E_INT)
        return typed(
            at(c, ts_int(c->a, v.e->dtype, -v.e->u.int_value), e->loc));
      if (v.e->kind == TS_E_FLOAT)
        return typed(
            at(c, mkfloat(c, v.e->dtype, -v.e->u.float_value), e->loc));
      if (v.e->dtype.code == TS_BOOL)
        sb_fail(c, e->loc, TS_ERR_TYPE, "cannot negate a bool value");
      return typed(
          at(c,
             ts_binary(c->a, TS_E_SUB,
                       cast_to(c, v.e->dtype, ts_int(c->a, TS_I32, 0)), v.e),
             e->loc));
    case PY_OP_NOT:
      if (v.lit == LIT_INT)
        return typed(at(c, ts_bool(c->a, v.e->u.int_value == 0), e->loc));
      if (v.e->dtype.code != TS_BOOL)
        sb_fail(c, e->loc, TS_ERR_TYPE,
                "operator 'not' needs a bool operand, got %s",
                dstr(c, v.e->dtype));
      return typed(at(c, ts_not(c->a, v.e), e->loc));
    case PY_OP_INVERT: {
      if (v.lit == LIT_INT)
        return int_lit(c, ~v.e->u.int_value, e->loc);
      if (!is_intlike(v.e->dtype))
        sb_fail(c, e->loc, TS_ERR_TYPE,
                "operator '~' needs an integer operand, got %s",
                dstr(c, v.e->dtype));
      return typed(
          make_intrin(c, v.e->dtype, TS_INTRIN_BITWISE_NOT, &v.e, 1, e->loc));
    }
    default:
      break;
    }
    break;
  }
  case PY_COMPARE: {
    tv left = tir_expr(c, e->u.compare.left);
    tv acc = {0};
    for (int i = 0; i < e->u.compare.n; i++) {
      tv right = tir_expr(c, e->u.compare.comparators[i]);
      py_op op = e->u.compare.ops[i];
      if (op < PY_OP_EQ || op > PY_OP_GE)
        sb_fail(c, e->loc, TS_ERR_UNSUPPORTED,
                "operator '%s' is not supported in TensorIR expressions",
                py_op_str(op));
      tv r = apply_binop(c, op, left, right, e->loc);
      acc = i == 0 ? r : make_binary(c, TS_E_AND, acc, r, e->loc, "and");
      left = right;
    }
    return acc;
  }
  case PY_BOOLOP: {
    ts_expr_kind k = e->u.boolop.op == PY_OP_AND ? TS_E_AND : TS_E_OR;
    tv acc = bool_value(c, e->u.boolop.values[0]);
    for (int i = 1; i < e->u.boolop.n; i++)
      acc = make_binary(c, k, acc, bool_value(c, e->u.boolop.values[i]), e->loc,
                        k == TS_E_AND ? "and" : "or");
    return acc;
  }
  case PY_IFEXP: {
    tv cond = bool_value(c, e->u.ifexp.cond);
    ts_expr *t, *f;
    unify(c, "if-else", tir_expr(c, e->u.ifexp.body),
          tir_expr(c, e->u.ifexp.orelse), &t, &f, e->loc);
    return typed(at(c, ts_select(c->a, cond.e, t, f), e->loc));
  }
  default:
    break;
  }
  sb_fail_expr(c, e, TS_ERR_UNSUPPORTED,
               "unsupported expression in a TensorIR function: '%s'");
}

/* ---- calls: T.<name>(...) in expressions ----------------------------------
 */

static tv dtype_ctor(sb_ctx *c, const py_expr *e, ts_dtype t,
                     const char *fname) {
  if (e->u.call.n_args == 0)
    sb_fail(c, e->loc, TS_ERR_SYNTAX,
            "%s() declares a symbolic variable: write 'n = %s()' as a "
            "statement",
            fname, fname);
  static const char *const names[] = {"value"};
  py_expr *args[1];
  sb_args(c, e, fname, names, 1, 1, args);
  const char *s = sb_str_literal(args[0]);
  if (s) {
    if (ts_dtype_is_float(t)) {
      if (strcmp(s, "inf") == 0)
        return typed(at(c, mkfloat(c, t, INFINITY), e->loc));
      if (strcmp(s, "-inf") == 0)
        return typed(at(c, mkfloat(c, t, -INFINITY), e->loc));
      if (strcmp(s, "nan") == 0)
        return typed(at(c, mkfloat(c, t, NAN), e->loc));
      char *end;
      double d = strtod(s, &end);
      if (*s && !*end)
        return typed(at(c, mkfloat(c, t, d), e->loc));
    }
    sb_fail(c, args[0]->loc, TS_ERR_VALUE, "invalid literal for %s: \"%s\"",
            fname, s);
  }
  tv v = tir_expr(c, args[0]);
  if (v.lit == LIT_INT && is_intlike(t) && t.bits < 64) {
    int64_t x = v.e->u.int_value;
    int64_t lo = t.code == TS_UINT ? 0 : -((int64_t)1 << (t.bits - 1));
    int64_t hi = t.code == TS_UINT ? ((int64_t)1 << t.bits) - 1
                                   : ((int64_t)1 << (t.bits - 1)) - 1;
    if (x < lo || x > hi)
      sb_fail(c, args[0]->loc, TS_ERR_VALUE,
              "value %lld is out of range for %s", (long long)x, dstr(c, t));
  }
  if (v.lit == LIT_FLOAT && !ts_dtype_is_float(t))
    sb_fail(c, args[0]->loc, TS_ERR_TYPE,
            "%s expects an integer literal, got %g", fname, v.e->u.float_value);
  ts_expr *r = v.lit ? adapt(c, v, t) : cast_to(c, t, v.e);
  if (r == v.e && v.lit)
    r = cast_to(c, t, v.e);
  if (r->loc.line == 0 || v.lit)
    r->loc = sb_loc(c, e->loc);
  return typed(r);
}

static tv limit_value(sb_ctx *c, const py_expr *e, const char *fname,
                      bool is_max) {
  sb_arity(c, e, fname, 1, 1);
  ts_dtype t = sb_dtype(c, e->u.call.args[0]);
  ts_expr *r;
  if (ts_dtype_is_float(t)) {
    double m = t.bits == 16   ? (t.code == TS_BFLOAT ? 3.38953139e38 : 65504.0)
               : t.bits == 32 ? (double)FLT_MAX
                              : DBL_MAX;
    r = mkfloat(c, t, is_max ? m : -m);
  } else if (t.code == TS_INT) {
    int64_t m = t.bits >= 64 ? INT64_MAX : ((int64_t)1 << (t.bits - 1)) - 1;
    r = ts_int(c->a, t, is_max ? m : -m - 1);
  } else if (t.code == TS_UINT) {
    int64_t m = t.bits >= 64 ? -1 : (int64_t)(((uint64_t)1 << t.bits) - 1);
    r = ts_int(c->a, t, is_max ? m : 0);
  } else if (t.code == TS_BOOL) {
    r = ts_bool(c->a, is_max);
  } else {
    sb_fail(c, e->loc, TS_ERR_TYPE, "%s: no limit for dtype %s", fname,
            dstr(c, t));
  }
  return typed(at(c, r, e->loc));
}

static ts_expr *str_expr(sb_ctx *c, const char *s, ts_loc loc) {
  ts_expr *r = ts_arena_alloc(c->a, sizeof *r);
  r->kind = TS_E_STR;
  r->dtype = TS_HANDLET;
  r->u.str = s;
  return at(c, r, loc);
}

static bool is_float_math(ts_intrin op) {
  switch (op) {
  case TS_INTRIN_ABS:
  case TS_INTRIN_IF_THEN_ELSE:
  case TS_INTRIN_BITWISE_AND:
  case TS_INTRIN_BITWISE_OR:
  case TS_INTRIN_BITWISE_XOR:
  case TS_INTRIN_BITWISE_NOT:
  case TS_INTRIN_SHIFT_LEFT:
  case TS_INTRIN_SHIFT_RIGHT:
  case TS_INTRIN_LIKELY:
  case TS_INTRIN_CALL_EXTERN:
    return false;
  default:
    return true;
  }
}

static tv intrin_call(sb_ctx *c, const py_expr *e, ts_intrin op,
                      const char *fname) {
  int ar = ts_intrin_arity(op);
  sb_arity(c, e, fname, ar, ar);
  int n = e->u.call.n_args;
  ts_expr *args[3];
  if (op == TS_INTRIN_IF_THEN_ELSE) {
    args[0] = bool_value(c, e->u.call.args[0]).e;
    unify(c, fname, tir_expr(c, e->u.call.args[1]),
          tir_expr(c, e->u.call.args[2]), &args[1], &args[2], e->loc);
    return typed(make_intrin(c, args[1]->dtype, op, args, 3, e->loc));
  }
  if (op == TS_INTRIN_LIKELY) {
    args[0] = bool_value(c, e->u.call.args[0]).e;
    return typed(make_intrin(c, TS_BOOLT, op, args, 1, e->loc));
  }
  tv v[2];
  for (int i = 0; i < n; i++)
    v[i] = tir_expr(c, e->u.call.args[i]);
  if (n == 2) {
    if (v[0].lit && v[1].lit && is_float_math(op)) {
      v[0] = typed(adapt(c, v[0], TS_F32));
      v[1] = typed(adapt(c, v[1], TS_F32));
    }
    unify(c, fname, v[0], v[1], &args[0], &args[1], e->loc);
  } else {
    args[0] = is_float_math(op) ? adapt(c, v[0], TS_F32) : concrete(c, v[0]);
  }
  ts_dtype rt = args[0]->dtype;
  if (op == TS_INTRIN_ISNAN || op == TS_INTRIN_ISINF ||
      op == TS_INTRIN_ISFINITE)
    rt = TS_BOOLT;
  return typed(make_intrin(c, rt, op, args, n, e->loc));
}

static const char *const stmt_only[] = {
    "alloc_buffer", "sblock_alloc_buffer",
    "match_buffer", "reads",
    "writes",       "where",
    "block_attr",   "sblock_attr",
    "func_attr",    "init",
    "block",        "sblock",
    "grid",         "serial",
    "parallel",     "vectorized",
    "unroll",       "thread_binding",
    "evaluate",     "Buffer",
    "prim_func",
};

static tv tir_call(sb_ctx *c, const py_expr *e) {
  const py_expr *fn = e->u.call.func;
  const char *name = sb_dotted(c, fn);
  if (!name)
    sb_fail_expr(c, fn, TS_ERR_UNSUPPORTED, "unsupported call of '%s'");
  const char *t = sb_after(name, "T.");
  if (!t) {
    if (fn->kind == PY_NAME && !sb_lookup(c, fn->u.name))
      sb_fail(c, fn->loc, TS_ERR_NAME, "name '%s' is not defined", name);
    sb_fail(c, fn->loc, TS_ERR_UNSUPPORTED,
            "unsupported call of '%s' in a TensorIR function", name);
  }
  ts_dtype dt;
  if (ts_dtype_parse(t, &dt) && dt.code != TS_HANDLE && dt.code != TS_VOID)
    return dtype_ctor(c, e, dt, name);
  static const struct {
    const char *name;
    ts_expr_kind kind;
  } bins[] = {
      {"floordiv", TS_E_FLOORDIV}, {"floormod", TS_E_FLOORMOD},
      {"truncdiv", TS_E_DIV},      {"truncmod", TS_E_MOD},
      {"indexdiv", TS_E_FLOORDIV}, {"indexmod", TS_E_FLOORMOD},
      {"min", TS_E_MIN},           {"max", TS_E_MAX},
      {"Div", TS_E_DIV},           {"Mod", TS_E_MOD},
      {"FloorDiv", TS_E_FLOORDIV}, {"FloorMod", TS_E_FLOORMOD},
      {"Min", TS_E_MIN},           {"Max", TS_E_MAX},
  };
  for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++) {
    if (strcmp(t, bins[i].name) != 0)
      continue;
    sb_arity(c, e, name, 2, 2);
    tv a = tir_expr(c, e->u.call.args[0]), b = tir_expr(c, e->u.call.args[1]);
    if (a.lit && b.lit) {
      a = typed(concrete(c, a));
      b = typed(concrete(c, b));
    }
    return make_binary(c, bins[i].kind, a, b, e->loc, name);
  }
  if (strcmp(t, "ceildiv") == 0) {
    sb_arity(c, e, name, 2, 2);
    tv a = tir_expr(c, e->u.call.args[0]), b = tir_expr(c, e->u.call.args[1]);
    tv s = apply_binop(c, PY_OP_ADD, a, b, e->loc);
    s = apply_binop(c, PY_OP_SUB, s, int_lit(c, 1, e->loc), e->loc);
    return apply_binop(c, PY_OP_FLOORDIV, s, b, e->loc);
  }
  if (strcmp(t, "Select") == 0) {
    sb_arity(c, e, name, 3, 3);
    tv cond = bool_value(c, e->u.call.args[0]);
    ts_expr *x, *y;
    unify(c, name, tir_expr(c, e->u.call.args[1]),
          tir_expr(c, e->u.call.args[2]), &x, &y, e->loc);
    return typed(at(c, ts_select(c->a, cond.e, x, y), e->loc));
  }
  if (strcmp(t, "Cast") == 0 || strcmp(t, "cast") == 0) {
    bool upper = t[0] == 'C';
    static const char *const n1[] = {"dtype", "value"};
    static const char *const n2[] = {"value", "dtype"};
    py_expr *args[2];
    sb_args(c, e, name, upper ? n1 : n2, 2, 2, args);
    py_expr *dte = upper ? args[0] : args[1], *ve = upper ? args[1] : args[0];
    ts_dtype to = sb_dtype(c, dte);
    tv v = tir_expr(c, ve);
    ts_expr *x = concrete(c, v);
    if (ts_dtype_eq(x->dtype, to) && !v.lit)
      return v;
    return typed(at(c, ts_cast(c->a, to, x), e->loc));
  }
  if (strcmp(t, "max_value") == 0)
    return limit_value(c, e, name, true);
  if (strcmp(t, "min_value") == 0)
    return limit_value(c, e, name, false);
  if (strcmp(t, "call_extern") == 0 || strcmp(t, "call_pure_extern") == 0) {
    if (e->u.call.n_args < 2 || e->u.call.n_kwargs)
      sb_arity(c, e, name, 2, -1);
    ts_dtype rt = sb_dtype(c, e->u.call.args[0]);
    const char *fname = sb_str_literal(e->u.call.args[1]);
    if (!fname)
      sb_fail_expr(c, e->u.call.args[1], TS_ERR_TYPE,
                   "expected the external function's name as a string, got "
                   "'%s'");
    int n = e->u.call.n_args - 1;
    ts_expr **args = ts_arena_array(c->a, (size_t)n, sizeof *args);
    args[0] = str_expr(c, fname, e->u.call.args[1]->loc);
    for (int i = 1; i < n; i++) {
      const py_expr *ae = e->u.call.args[i + 1];
      args[i] = ae->kind == PY_STR ? str_expr(c, ae->u.str, ae->loc)
                                   : concrete(c, tir_expr(c, ae));
    }
    return typed(
        at(c, ts_call(c->a, rt, TS_INTRIN_CALL_EXTERN, args, n), e->loc));
  }
  if (strcmp(t, "Let") == 0) {
    sb_arity(c, e, name, 3, 3);
    const py_expr *ve = e->u.call.args[0];
    if (ve->kind != PY_NAME)
      sb_fail_expr(c, ve, TS_ERR_SYNTAX,
                   "T.Let expects a variable name, got '%s'");
    ts_expr *value = concrete(c, tir_expr(c, e->u.call.args[1]));
    ts_var *v = ts_var_new(c->a, ve->u.name, value->dtype, sb_loc(c, ve->loc));
    int mark = sb_scope_mark(c);
    sb_bind(c, ve->u.name, SK_VAR, v);
    ts_expr *body = concrete(c, tir_expr(c, e->u.call.args[2]));
    sb_scope_pop(c, mark);
    return typed(at(c, ts_let_expr(c->a, v, value, body), e->loc));
  }
  ts_intrin op;
  if (ts_intrin_lookup(t, &op) && op != TS_INTRIN_CALL_EXTERN)
    return intrin_call(c, e, op, name);
  for (size_t i = 0; i < sizeof stmt_only / sizeof stmt_only[0]; i++)
    if (strcmp(t, stmt_only[i]) == 0)
      sb_fail(c, e->loc, TS_ERR_SYNTAX, "'%s' cannot be used in an expression",
              name);
  sb_fail(c, fn->loc, TS_ERR_NAME, "unknown TIR function '%s'", name);
}

/* ---- symbolic variable declarations
 * ------------------------------------------ */

bool sb_symvar_decl(sb_ctx *c, const py_stmt *st, const char **name,
                    ts_dtype *dtype) {
  if (st->kind != PY_S_ASSIGN || st->u.assign.n_targets != 1 ||
      st->u.assign.targets[0]->kind != PY_NAME ||
      st->u.assign.value->kind != PY_CALL)
    return false;
  const py_expr *call = st->u.assign.value;
  const char *fn = sb_dotted(c, call->u.call.func);
  const char *t = sb_after(fn, "T.");
  if (!t)
    return false;
  for (int k = 0; k < call->u.call.n_kwargs; k++) {
    const char *kn = call->u.call.kwargs[k].name;
    if (!kn || (strcmp(kn, "is_size_var") != 0 && strcmp(kn, "dtype") != 0))
      return false;
  }
  if (strcmp(t, "var") == 0 || strcmp(t, "Var") == 0) {
    const py_expr *d = NULL;
    if (call->u.call.n_args == 1)
      d = call->u.call.args[0];
    for (int k = 0; k < call->u.call.n_kwargs; k++)
      if (strcmp(call->u.call.kwargs[k].name, "dtype") == 0)
        d = call->u.call.kwargs[k].value;
    if (!d)
      return false;
    *dtype = sb_dtype(c, d);
  } else {
    if (call->u.call.n_args != 0 || !ts_dtype_parse(t, dtype) ||
        dtype->code == TS_VOID)
      return false;
  }
  *name = st->u.assign.targets[0]->u.name;
  return true;
}

static bool fsym_declared(sb_ctx *c, const char *name) {
  for (int i = 0; i < c->fsyms.len; i++)
    if (strcmp(c->fsyms.data[i].name, name) == 0)
      return true;
  return false;
}

void sb_prescan_symvars(sb_ctx *c, const py_body *body) {
  for (int i = 0; i < body->n; i++) {
    const char *name;
    ts_dtype t;
    if (!sb_symvar_decl(c, body->stmts[i], &name, &t))
      continue;
    if (fsym_declared(c, name))
      sb_fail(c, body->stmts[i]->loc, TS_ERR_NAME,
              "symbolic variable '%s' is declared twice", name);
    sb_bind_fsym(c, ts_var_new(c->a, name, t, sb_loc(c, body->stmts[i]->loc)));
  }
}

/* ---- buffers
 * -------------------------------------------------------------------- */

static const char *const buffer_params[] = {
    "shape", "dtype", "data",          "strides",     "elem_offset",
    "scope", "align", "offset_factor", "buffer_type", "axis_separators",
};
enum {
  BP_SHAPE,
  BP_DTYPE,
  BP_DATA,
  BP_STRIDES,
  BP_ELEM_OFFSET,
  BP_SCOPE,
  BP_ALIGN,
  BP_OFFSET_FACTOR,
  BP_BUFFER_TYPE,
  BP_AXIS_SEP,
  BP_COUNT
};

static int int_arg(sb_ctx *c, const py_expr *e, const char *what) {
  int64_t v;
  if (!sb_int_literal(e, &v) || v < 0 || v > INT32_MAX)
    sb_fail_expr(c, e, TS_ERR_VALUE,
                 "expected a non-negative integer, got '%s'");
  (void)what;
  return (int)v;
}

static ts_expr *dim(sb_ctx *c, const py_expr *e, bool implicit) {
  if (implicit)
    return sb_shape_dim(c, e, TS_I32, TS_I32, true);
  ts_expr *r = sb_tir_expr(c, e, TS_I32);
  if (!is_intlike(r->dtype))
    sb_fail(c, e->loc, TS_ERR_TYPE,
            "a shape dimension must be an integer, got %s", dstr(c, r->dtype));
  return r;
}

/* Builds a buffer from T.Buffer / T.alloc_buffer / T.match_buffer
 * arguments (p indexed by BP_*). */
static ts_buffer *make_buffer(sb_ctx *c, const char *name, py_expr **p,
                              bool implicit, ts_loc loc) {
  const py_expr *se = p[BP_SHAPE];
  int ndim;
  ts_expr **shape;
  if (se->kind == PY_TUPLE || se->kind == PY_LIST) {
    ndim = se->u.seq.n;
    shape = ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof *shape);
    for (int i = 0; i < ndim; i++)
      shape[i] = dim(c, se->u.seq.items[i], implicit);
  } else {
    ndim = 1;
    shape = ts_arena_array(c->a, 1, sizeof *shape);
    shape[0] = dim(c, se, implicit);
  }
  ts_dtype t = TS_F32;
  if (p[BP_DTYPE] && p[BP_DTYPE]->kind != PY_NONE)
    t = sb_dtype(c, p[BP_DTYPE]);
  ts_buffer *b = ts_buffer_new(c->a, name, t, ndim, shape);
  b->loc = sb_loc(c, loc);
  if (p[BP_DATA] && p[BP_DATA]->kind != PY_NONE)
    sb_fail(c, p[BP_DATA]->loc, TS_ERR_UNSUPPORTED,
            "buffers sharing data (data=...) are not supported");
  const py_expr *st = p[BP_STRIDES];
  if (st && st->kind != PY_NONE) {
    if (st->kind != PY_TUPLE && st->kind != PY_LIST)
      sb_fail_expr(c, st, TS_ERR_VALUE, "strides must be a tuple, got '%s'");
    if (st->u.seq.n) {
      if (st->u.seq.n != ndim)
        sb_fail(c, st->loc, TS_ERR_VALUE,
                "buffer '%s' has %d dimensions but %d strides", name, ndim,
                st->u.seq.n);
      b->strides = ts_arena_array(c->a, (size_t)ndim, sizeof(ts_expr *));
      for (int i = 0; i < ndim; i++)
        b->strides[i] =
            sb_shape_dim(c, st->u.seq.items[i], TS_I32, TS_I32, true);
    }
  }
  if (p[BP_ELEM_OFFSET] && p[BP_ELEM_OFFSET]->kind != PY_NONE)
    b->elem_offset = sb_shape_dim(c, p[BP_ELEM_OFFSET], TS_I32, TS_I32, true);
  if (p[BP_SCOPE] && p[BP_SCOPE]->kind != PY_NONE) {
    const char *s = sb_str_literal(p[BP_SCOPE]);
    if (!s)
      sb_fail_expr(c, p[BP_SCOPE], TS_ERR_VALUE,
                   "scope must be a string, got '%s'");
    b->scope = s;
  }
  if (!b->scope)
    b->scope = "global";
  if (p[BP_ALIGN])
    b->align = int_arg(c, p[BP_ALIGN], "align");
  if (p[BP_OFFSET_FACTOR])
    b->offset_factor = int_arg(c, p[BP_OFFSET_FACTOR], "offset_factor");
  return b;
}

/* `T.Buffer((128, 128), "float32")` or `T.Buffer[(128, 128), "float32"]`
 * as a parameter annotation; NULL when `ann` is not a buffer annotation. */
static ts_buffer *buffer_annotation(sb_ctx *c, const char *name,
                                    const py_expr *ann, ts_loc loc) {
  py_expr *p[BP_COUNT] = {0};
  if (ann->kind == PY_CALL) {
    const char *fn = sb_dotted(c, ann->u.call.func);
    if (!fn || (strcmp(fn, "T.Buffer") != 0 && strcmp(fn, "T.buffer") != 0))
      return NULL;
    sb_args(c, ann, "T.Buffer", buffer_params, BP_COUNT, 1, p);
    return make_buffer(c, name, p, true, loc);
  }
  if (ann->kind == PY_SUBSCRIPT) {
    const char *fn = sb_dotted(c, ann->u.subscript.value);
    if (!fn || strcmp(fn, "T.Buffer") != 0)
      return NULL;
    py_expr *idx = ann->u.subscript.index;
    if (idx->kind == PY_TUPLE && idx->u.seq.n >= 1 &&
        idx->u.seq.items[idx->u.seq.n - 1]->kind == PY_STR) {
      int n = idx->u.seq.n;
      p[BP_DTYPE] = idx->u.seq.items[n - 1];
      if (n == 2) {
        p[BP_SHAPE] = idx->u.seq.items[0];
      } else {
        /* T.Buffer[128, 128, "float32"]: the leading items are the shape */
        py_expr *t = ts_arena_alloc(c->scratch, sizeof *t);
        *t = *idx;
        t->u.seq.n = n - 1;
        p[BP_SHAPE] = t;
      }
    } else {
      p[BP_SHAPE] = idx;
    }
    return make_buffer(c, name, p, true, loc);
  }
  return NULL;
}

/* Scalar parameter dtype: T.int32, T.handle, T.int32(), T.var("int32"). */
static bool scalar_annotation(sb_ctx *c, const py_expr *ann, ts_dtype *t) {
  const py_expr *e = ann;
  if (e->kind == PY_CALL) {
    const char *fn = sb_dotted(c, e->u.call.func);
    if (fn && (strcmp(fn, "T.var") == 0 || strcmp(fn, "T.Var") == 0) &&
        e->u.call.n_args == 1) {
      *t = sb_dtype(c, e->u.call.args[0]);
      return true;
    }
    if (e->u.call.n_args != 0)
      return false;
    e = e->u.call.func;
  }
  const char *fn = sb_dotted(c, e);
  const char *s = sb_after(fn, "T.");
  if (!s)
    return false;
  if (!ts_dtype_parse(s, t)) {
    if (strcmp(s, "Ptr") == 0 || strcmp(s, "handle") == 0) {
      *t = TS_HANDLET;
      return true;
    }
    sb_fail(c, ann->loc, TS_ERR_TYPE, "unknown dtype '%s'", s);
  }
  return true;
}

/* ---- statements
 * --------------------------------------------------------------- */

typedef struct frame {
  bool is_func, is_block;
  ts_primfunc *func;
  const char *block_name;
  SB_VEC(ts_iter_var) iters;
  SB_VEC(ts_expr *) values;
  ts_expr *where;
  SB_VEC(ts_region) reads, writes;
  bool has_reads, has_writes;
  ts_attrs *annotations;
  SB_VEC(ts_buffer *) allocs;
  SB_VEC(ts_match_buffer) matches;
  ts_stmt *init;
} frame;

static ts_stmt *tir_stmts(sb_ctx *c, const py_body *b, int start, frame *fr);

static ts_stmt *evaluate0(sb_ctx *c, ts_loc loc) {
  ts_stmt *s = ts_stmt_new(c->a, TS_S_EVALUATE, sb_loc(c, loc));
  s->u.eval.value = at(c, ts_int(c->a, TS_I32, 0), loc);
  return s;
}

static ts_stmt *body_or_eval(sb_ctx *c, const py_body *b, frame *fr,
                             ts_loc loc) {
  ts_stmt *s = tir_stmts(c, b, 0, fr);
  return s ? s : evaluate0(c, loc);
}

static ts_region make_region(sb_ctx *c, const py_expr *e) {
  ts_region r = {0};
  if (e->kind == PY_NAME) {
    ts_buffer *b = buffer_named(c, e);
    r.buffer = b;
    r.n = b->ndim;
    r.ranges =
        ts_arena_array(c->a, (size_t)(b->ndim ? b->ndim : 1), sizeof(ts_range));
    for (int i = 0; i < b->ndim; i++) {
      r.ranges[i].min = ts_int(c->a, b->shape[i]->dtype, 0);
      r.ranges[i].extent = b->shape[i];
    }
    return r;
  }
  if (e->kind != PY_SUBSCRIPT)
    sb_fail_expr(c, e, TS_ERR_SYNTAX,
                 "expected a buffer region like A[vi, 0:4], got '%s'");
  ts_buffer *b = buffer_named(c, e->u.subscript.value);
  py_expr **items, *one;
  int n;
  index_items(e->u.subscript.index, &items, &n, &one);
  check_rank(c, b, n, e->loc);
  r.buffer = b;
  r.n = n;
  r.ranges = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_range));
  for (int i = 0; i < n; i++) {
    const py_expr *it = items[i];
    if (it->kind == PY_SLICE) {
      if (it->u.slice.step)
        sb_fail(c, it->loc, TS_ERR_UNSUPPORTED,
                "a region slice cannot have a step");
      tv lo =
          it->u.slice.lo ? tir_expr(c, it->u.slice.lo) : int_lit(c, 0, it->loc);
      tv hi = it->u.slice.hi ? tir_expr(c, it->u.slice.hi) : typed(b->shape[i]);
      ts_expr *x, *y;
      unify(c, ":", lo, hi, &x, &y, it->loc);
      if (!ts_dtype_is_int(x->dtype) || !ts_dtype_is_int(y->dtype))
        sb_fail(c, it->loc, TS_ERR_TYPE,
                "region bounds of buffer '%s' must be integers, got %s",
                b->name, dstr(c, ts_dtype_is_int(x->dtype) ? y->dtype : x->dtype));
      r.ranges[i].min = x;
      r.ranges[i].extent = diff(c, y, x, it->loc);
    } else {
      ts_expr *x = sb_tir_expr(c, it, TS_I32);
      if (!ts_dtype_is_int(x->dtype))
        sb_fail(c, it->loc, TS_ERR_TYPE,
                "index of buffer '%s' must be an integer, got %s", b->name,
                dstr(c, x->dtype));
      r.ranges[i].min = x;
      r.ranges[i].extent = at(c, ts_int(c->a, x->dtype, 1), it->loc);
    }
  }
  return r;
}

static void region_list(sb_ctx *c, const py_expr *call, void *vec) {
  SB_VEC(ts_region) *v = vec;
  int n = call->u.call.n_args;
  if (call->u.call.n_kwargs)
    sb_fail(c, call->u.call.kwargs[0].loc, TS_ERR_VALUE,
            "unexpected keyword argument '%s'",
            call->u.call.kwargs[0].name ? call->u.call.kwargs[0].name : "**");
  for (int i = 0; i < n; i++) {
    const py_expr *a = call->u.call.args[i];
    if (a->kind == PY_LIST || a->kind == PY_TUPLE) {
      for (int j = 0; j < a->u.seq.n; j++)
        sb_push(c, v, make_region(c, a->u.seq.items[j]));
    } else {
      sb_push(c, v, make_region(c, a));
    }
  }
}

static void need_block(sb_ctx *c, frame *fr, const char *what, ts_loc loc) {
  if (!fr || !fr->is_block)
    sb_fail(c, loc, TS_ERR_SYNTAX, "%s is only allowed directly inside a block",
            what);
}

/* Finds the innermost loop over var v. */
static ts_stmt *loop_of(sb_ctx *c, ts_var *v) {
  for (int i = c->loops.len - 1; i >= 0; i--)
    if (c->loops.data[i]->u.for_.var == v)
      return c->loops.data[i];
  return NULL;
}

static void add_iter(sb_ctx *c, frame *fr, const char *name, ts_iter_type it,
                     ts_range dom, ts_dtype t, ts_expr *value, ts_loc loc) {
  for (int i = 0; i < fr->iters.len; i++)
    if (strcmp(fr->iters.data[i].var->name, name) == 0)
      sb_fail(c, loc, TS_ERR_NAME,
              "block iteration variable '%s' is defined twice", name);
  ts_iter_var iv;
  iv.var = ts_var_new(c->a, name, t, sb_loc(c, loc));
  iv.dom = dom;
  iv.type = it;
  sb_push(c, &fr->iters, iv);
  sb_push(c, &fr->values, value);
  sb_bind(c, name, SK_VAR, iv.var);
}

static void axis_remap(sb_ctx *c, const py_expr *target, const py_expr *call,
                       frame *fr) {
  need_block(c, fr, "T.axis.remap", call->loc);
  static const char *const names[] = {"kinds", "bindings"};
  py_expr *a[2];
  sb_args(c, call, "T.axis.remap", names, 2, 2, a);
  const char *kinds = sb_str_literal(a[0]);
  if (!kinds)
    sb_fail_expr(
        c, a[0], TS_ERR_VALUE,
        "T.axis.remap: expected a kinds string like \"SSR\", got '%s'");
  if (a[1]->kind != PY_LIST && a[1]->kind != PY_TUPLE)
    sb_fail_expr(c, a[1], TS_ERR_VALUE,
                 "T.axis.remap: expected a list of loop variables, got '%s'");
  int n = a[1]->u.seq.n;
  if ((int)strlen(kinds) != n)
    sb_fail(c, a[0]->loc, TS_ERR_VALUE,
            "T.axis.remap: kinds '%s' has %d letter%s but %d loop variable%s "
            "given",
            kinds, (int)strlen(kinds), strlen(kinds) == 1 ? "" : "s", n,
            n == 1 ? " is" : "s are");
  py_expr **tg, *one;
  int nt;
  index_items(target, &tg, &nt, &one);
  if (nt != n)
    sb_fail(c, target->loc, TS_ERR_VALUE,
            "T.axis.remap: %d loop variable%s remapped but %d name%s "
            "assigned",
            n, n == 1 ? " is" : "s are", nt, nt == 1 ? " is" : "s are");
  for (int i = 0; i < n; i++) {
    const py_expr *be = a[1]->u.seq.items[i];
    if (tg[i]->kind != PY_NAME)
      sb_fail_expr(c, tg[i], TS_ERR_SYNTAX, "cannot assign to '%s'");
    ts_iter_type it;
    switch (kinds[i]) {
    case 'S':
      it = TS_ITER_SPATIAL;
      break;
    case 'R':
      it = TS_ITER_REDUCE;
      break;
    default:
      sb_fail(c, a[0]->loc, TS_ERR_VALUE,
              "T.axis.remap: unknown iteration kind '%c' (expected S or R)",
              kinds[i]);
    }
    ts_expr *v = concrete(c, tir_expr(c, be));
    ts_stmt *loop = v->kind == TS_E_VAR ? loop_of(c, v->u.var) : NULL;
    if (!loop)
      sb_fail_expr(c, be, TS_ERR_VALUE,
                   "T.axis.remap: '%s' is not the variable of an enclosing "
                   "loop");
    ts_range dom = {loop->u.for_.min, loop->u.for_.extent};
    add_iter(c, fr, tg[i]->u.name, it, dom, v->dtype, v, tg[i]->loc);
  }
}

static void axis_one(sb_ctx *c, const py_expr *target, const py_expr *call,
                     const char *fname, ts_iter_type it, frame *fr) {
  need_block(c, fr, fname, call->loc);
  if (target->kind != PY_NAME)
    sb_fail_expr(c, target, TS_ERR_SYNTAX, "cannot assign to '%s'");
  static const char *const names[] = {"dom", "binding", "dtype"};
  py_expr *a[3];
  sb_args(c, call, fname, names, 3, 2, a);
  tv lo, hi;
  bool pair = a[0]->kind == PY_TUPLE || a[0]->kind == PY_LIST;
  if (pair) {
    if (a[0]->u.seq.n != 2)
      sb_fail_expr(c, a[0], TS_ERR_VALUE,
                   "expected a domain extent or a (min, max) pair, got '%s'");
    lo = tir_expr(c, a[0]->u.seq.items[0]);
    hi = tir_expr(c, a[0]->u.seq.items[1]);
  } else {
    lo = int_lit(c, 0, a[0]->loc);
    hi = tir_expr(c, a[0]);
  }
  tv bind = tir_expr(c, a[1]);
  ts_dtype t;
  if (a[2]) {
    t = sb_dtype(c, a[2]);
  } else if (!hi.lit) {
    t = hi.e->dtype;
  } else if (!lo.lit) {
    t = lo.e->dtype;
  } else if (!bind.lit) {
    t = bind.e->dtype;
  } else {
    t = TS_I32;
  }
  if (!is_intlike(t))
    sb_fail(c, a[0]->loc, TS_ERR_TYPE,
            "block iteration variables must be integers, got %s", dstr(c, t));
  ts_expr *x = adapt(c, lo, t), *y = adapt(c, hi, t);
  match_types(c, "domain", &x, &y, a[0]->loc);
  ts_range dom = {x, pair ? diff(c, y, x, a[0]->loc) : y};
  add_iter(c, fr, target->u.name, it, dom, t, adapt(c, bind, t), target->loc);
}

static ts_stmt *store(sb_ctx *c, const py_expr *target, tv value,
                      const py_expr *value_e, ts_loc loc) {
  const py_expr *base = target->u.subscript.value;
  if (base->kind == PY_NAME && !sb_lookup(c, base->u.name))
    sb_fail(c, base->loc, TS_ERR_NAME,
            "name '%s' is not defined (assignment to an undefined buffer)",
            base->u.name);
  ts_buffer *b = buffer_named(c, base);
  int n;
  ts_expr **idx =
      build_indices(c, b, target->u.subscript.index, target->loc, &n);
  ts_expr *v = adapt(c, value, b->dtype);
  if (!ts_dtype_eq(v->dtype, b->dtype))
    sb_fail(c, value_e->loc, TS_ERR_TYPE,
            "cannot store a value of dtype %s into buffer '%s' of dtype %s",
            dstr(c, v->dtype), b->name, dstr(c, b->dtype));
  ts_stmt *s = ts_stmt_new(c->a, TS_S_STORE, sb_loc(c, loc));
  s->u.store.buffer = b;
  s->u.store.indices = idx;
  s->u.store.n = n;
  s->u.store.value = v;
  return s;
}

/* Loop bounds: `range(a, b)` etc. give min a and extent b - a; the loop
 * variable's dtype is the bounds' (int32 for literals). */
static void loop_bounds(sb_ctx *c, const py_expr *lo_e, const py_expr *hi_e,
                        ts_loc loc, ts_dtype *vt, ts_expr **min,
                        ts_expr **ext) {
  tv hi = tir_expr(c, hi_e);
  tv lo = lo_e ? tir_expr(c, lo_e) : int_lit(c, 0, loc);
  ts_dtype t = TS_I32;
  if (!hi.lit)
    t = hi.e->dtype;
  if (!lo.lit && (hi.lit || lo.e->dtype.bits > t.bits))
    t = lo.e->dtype;
  if (hi.lit && lo.lit && hi.e->dtype.bits == 64)
    t = TS_I64;
  if (!is_intlike(t))
    sb_fail(c, hi_e->loc, TS_ERR_TYPE, "loop bounds must be integers, got %s",
            dstr(c, t));
  ts_expr *x = cast_to(c, t, adapt(c, lo, t)),
          *y = cast_to(c, t, adapt(c, hi, t));
  *vt = t;
  *min = x;
  *ext = diff(c, y, x, loc);
}

static ts_stmt *new_loop(sb_ctx *c, const py_expr *target, ts_dtype t,
                         ts_expr *min, ts_expr *ext, ts_for_kind kind,
                         const char *tag, ts_attrs *ann, ts_loc loc) {
  if (target->kind != PY_NAME)
    sb_fail_expr(c, target, TS_ERR_SYNTAX,
                 "expected a loop variable name, got '%s'");
  ts_stmt *s = ts_stmt_new(c->a, TS_S_FOR, sb_loc(c, loc));
  s->u.for_.var = ts_var_new(c->a, target->u.name, t, sb_loc(c, target->loc));
  s->u.for_.min = min;
  s->u.for_.extent = ext;
  s->u.for_.kind = kind;
  s->u.for_.thread_tag = tag;
  s->u.for_.annotations = ann;
  return s;
}

static ts_stmt *for_stmt(sb_ctx *c, const py_stmt *st) {
  const py_expr *it = st->u.for_.iter, *target = st->u.for_.target;
  if (it->kind != PY_CALL)
    sb_fail_expr(c, it, TS_ERR_UNSUPPORTED,
                 "unsupported loop iterator '%s' (expected range, T.grid, "
                 "T.serial, ...)");
  const char *fn = sb_dotted(c, it->u.call.func);
  if (!fn)
    sb_fail_expr(c, it, TS_ERR_UNSUPPORTED, "unsupported loop iterator '%s'");
  SB_VEC(ts_stmt *) loops = {0};
  if (strcmp(fn, "T.grid") == 0) {
    if (it->u.call.n_kwargs)
      sb_fail(c, it->u.call.kwargs[0].loc, TS_ERR_VALUE,
              "T.grid got an unexpected keyword argument '%s'",
              it->u.call.kwargs[0].name ? it->u.call.kwargs[0].name : "**");
    py_expr **tg, *one;
    int nt;
    index_items(target, &tg, &nt, &one);
    int n = it->u.call.n_args;
    if (n == 0)
      sb_fail(c, it->loc, TS_ERR_VALUE,
              "T.grid expects at least 1 argument, got 0");
    if (nt != n)
      sb_fail(c, target->loc, TS_ERR_VALUE,
              "T.grid has %d extent%s but %d loop variable%s given", n,
              n == 1 ? "" : "s", nt, nt == 1 ? " is" : "s are");
    for (int i = 0; i < n; i++) {
      ts_dtype t;
      ts_expr *mn, *ex;
      loop_bounds(c, NULL, it->u.call.args[i], it->u.call.args[i]->loc, &t, &mn,
                  &ex);
      sb_push(c, &loops,
              new_loop(c, tg[i], t, mn, ex, TS_FOR_SERIAL, NULL, NULL,
                       i == 0 ? st->loc : tg[i]->loc));
    }
  } else {
    ts_for_kind kind = TS_FOR_SERIAL;
    const char *tag = NULL;
    ts_attrs *ann = NULL;
    py_expr *lo = NULL, *hi = NULL;
    if (strcmp(fn, "range") == 0) {
      static const char *const names[] = {"start", "stop", "step"};
      py_expr *a[3];
      sb_args(c, it, "range", names, 3, 1, a);
      int64_t step;
      if (a[2] && !(sb_int_literal(a[2], &step) && step == 1))
        sb_fail(c, a[2]->loc, TS_ERR_UNSUPPORTED,
                "range with a step other than 1 is not supported");
      if (a[1]) {
        lo = a[0];
        hi = a[1];
      } else {
        hi = a[0];
      }
    } else if (strcmp(fn, "T.thread_binding") == 0) {
      kind = TS_FOR_THREAD_BINDING;
      py_expr *pos[2] = {0};
      int np = 0;
      for (int i = 0; i < it->u.call.n_args; i++) {
        py_expr *a = it->u.call.args[i];
        if (a->kind == PY_STR && !tag) {
          tag = a->u.str;
        } else {
          if (np == 2 || tag)
            sb_fail(c, it->loc, TS_ERR_VALUE,
                    "T.thread_binding expects at most 3 arguments, got %d",
                    it->u.call.n_args);
          pos[np++] = a;
        }
      }
      for (int k = 0; k < it->u.call.n_kwargs; k++) {
        py_keyword *kw = &it->u.call.kwargs[k];
        if (kw->name && strcmp(kw->name, "thread") == 0) {
          tag = sb_str_literal(kw->value);
          if (!tag)
            sb_fail_expr(c, kw->value, TS_ERR_VALUE,
                         "thread must be a string, got '%s'");
        } else if (kw->name && strcmp(kw->name, "annotations") == 0) {
          ann = sb_attr_dict(c, kw->value, NULL);
        } else if (kw->name && strcmp(kw->name, "start") == 0 && np == 0) {
          pos[np++] = kw->value;
        } else if (kw->name && strcmp(kw->name, "stop") == 0 && np == 1) {
          pos[np++] = kw->value;
        } else {
          sb_fail(c, kw->loc, TS_ERR_VALUE,
                  "T.thread_binding got an unexpected keyword argument '%s'",
                  kw->name ? kw->name : "**");
        }
      }
      if (np == 0)
        sb_fail(c, it->loc, TS_ERR_VALUE, "T.thread_binding expects an extent");
      if (!tag)
        sb_fail(c, it->loc, TS_ERR_VALUE,
                "T.thread_binding needs a thread tag (thread=\"threadIdx.x\")");
      if (np == 2) {
        lo = pos[0];
        hi = pos[1];
      } else {
        hi = pos[0];
      }
    } else {
      static const struct {
        const char *name;
        ts_for_kind kind;
      } kinds[] = {{"T.serial", TS_FOR_SERIAL},
                   {"T.parallel", TS_FOR_PARALLEL},
                   {"T.vectorized", TS_FOR_VECTORIZED},
                   {"T.unroll", TS_FOR_UNROLLED}};
      int found = -1;
      for (int i = 0; i < 4; i++)
        if (strcmp(fn, kinds[i].name) == 0)
          found = i;
      if (found < 0) {
        if (sb_after(fn, "T."))
          sb_fail(c, it->loc, TS_ERR_NAME, "unknown TIR loop kind '%s'", fn);
        if (it->u.call.func->kind == PY_NAME && !sb_lookup(c, fn))
          sb_fail(c, it->loc, TS_ERR_NAME, "name '%s' is not defined", fn);
        sb_fail_expr(c, it, TS_ERR_UNSUPPORTED,
                     "unsupported loop iterator '%s'");
      }
      kind = kinds[found].kind;
      static const char *const names[] = {"start", "stop", "annotations"};
      py_expr *a[3];
      sb_args(c, it, fn, names, 3, 1, a);
      if (a[1]) {
        lo = a[0];
        hi = a[1];
      } else {
        hi = a[0];
      }
      if (a[2] && a[2]->kind != PY_NONE)
        ann = sb_attr_dict(c, a[2], NULL);
    }
    ts_dtype t;
    ts_expr *mn, *ex;
    loop_bounds(c, lo, hi, it->loc, &t, &mn, &ex);
    sb_push(c, &loops, new_loop(c, target, t, mn, ex, kind, tag, ann, st->loc));
  }
  int mark = sb_scope_mark(c);
  int lmark = c->loops.len;
  for (int i = 0; i < loops.len; i++) {
    ts_stmt *l = loops.data[i];
    sb_bind(c, l->u.for_.var->name, SK_VAR, l->u.for_.var);
    sb_push(c, &c->loops, l);
  }
  ts_stmt *body = body_or_eval(c, &st->u.for_.body, NULL, st->loc);
  c->loops.len = lmark;
  sb_scope_pop(c, mark);
  for (int i = loops.len - 1; i >= 0; i--) {
    loops.data[i]->u.for_.body = body;
    body = loops.data[i];
  }
  return body;
}

static void record_pending(sb_ctx *c, ts_block *b, frame *fr) {
  if (fr->has_reads && fr->has_writes)
    return;
  sb_pending_regions p = {0};
  p.block = b;
  p.keep_reads = fr->has_reads;
  p.keep_writes = fr->has_writes;
  p.reads = b->reads;
  p.n_reads = b->n_reads;
  p.writes = b->writes;
  p.n_writes = b->n_writes;
  sb_push(c, &c->infer_blocks, p);
}

static ts_block *finish_block(sb_ctx *c, frame *fr, ts_stmt *body, ts_loc loc) {
  ts_block *b = ts_arena_alloc(c->a, sizeof *b);
  b->name = fr->block_name;
  b->iter_vars = sb_finish(c, &fr->iters);
  b->n_iter_vars = fr->iters.len;
  b->reads = sb_finish(c, &fr->reads);
  b->n_reads = fr->reads.len;
  b->writes = sb_finish(c, &fr->writes);
  b->n_writes = fr->writes.len;
  b->init = fr->init;
  b->alloc_buffers = sb_finish(c, &fr->allocs);
  b->n_alloc_buffers = fr->allocs.len;
  b->match_buffers = sb_finish(c, &fr->matches);
  b->n_match_buffers = fr->matches.len;
  b->annotations = fr->annotations;
  b->body = body;
  b->explicit_regions = fr->has_reads && fr->has_writes;
  b->loc = sb_loc(c, loc);
  return b;
}

static ts_stmt *realize(sb_ctx *c, ts_block *b, frame *fr, ts_loc loc) {
  ts_stmt *s = ts_stmt_new(c->a, TS_S_BLOCK_REALIZE, sb_loc(c, loc));
  s->u.realize.block = b;
  s->u.realize.iter_values = sb_finish(c, &fr->values);
  s->u.realize.predicate = fr->where;
  return s;
}

static ts_stmt *with_stmt(sb_ctx *c, const py_stmt *st, frame *fr) {
  if (st->u.with.n_items != 1)
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "a with statement must have exactly one context");
  const py_expr *ctx = st->u.with.items[0].context;
  if (st->u.with.items[0].target)
    sb_fail(c, st->u.with.items[0].target->loc, TS_ERR_UNSUPPORTED,
            "'with ... as' is not supported in TensorIR functions");
  const char *fn = ctx->kind == PY_CALL ? sb_dotted(c, ctx->u.call.func) : NULL;
  if (fn && (strcmp(fn, "T.block") == 0 || strcmp(fn, "T.sblock") == 0)) {
    static const char *const names[] = {"name_hint", "no_realize"};
    py_expr *a[2];
    sb_args(c, ctx, fn, names, 2, 0, a);
    const char *name = "";
    if (a[0]) {
      name = sb_str_literal(a[0]);
      if (!name)
        sb_fail_expr(c, a[0], TS_ERR_VALUE,
                     "block name must be a string, got '%s'");
    }
    frame bf = {0};
    bf.is_block = true;
    bf.block_name = name;
    int mark = sb_scope_mark(c);
    ts_stmt *body = body_or_eval(c, &st->u.with.body, &bf, st->loc);
    sb_scope_pop(c, mark);
    ts_block *b = finish_block(c, &bf, body, st->loc);
    record_pending(c, b, &bf);
    return realize(c, b, &bf, st->loc);
  }
  if (fn && strcmp(fn, "T.init") == 0) {
    sb_arity(c, ctx, fn, 0, 0);
    need_block(c, fr, "T.init()", ctx->loc);
    if (fr->init)
      sb_fail(c, st->loc, TS_ERR_SYNTAX, "a block has only one T.init()");
    fr->init = body_or_eval(c, &st->u.with.body, NULL, st->loc);
    return NULL;
  }
  if (fn && strcmp(fn, "R.dataflow") == 0)
    sb_fail(c, st->loc, TS_ERR_SYNTAX,
            "R.dataflow() is only allowed in graph functions (@R.function)");
  sb_fail_expr(c, ctx, TS_ERR_UNSUPPORTED,
               "unsupported with statement '%s' (expected T.block or T.init)");
}

static void alloc_stmt(sb_ctx *c, const char *name, const py_expr *call,
                       const char *fn, frame *fr, ts_loc loc) {
  if (!fr)
    sb_fail(c, call->loc, TS_ERR_SYNTAX,
            "%s is only allowed at the function level or directly inside a "
            "block",
            fn);
  py_expr *p[BP_COUNT];
  sb_args(c, call, fn, buffer_params, BP_COUNT, 1, p);
  ts_buffer *b = make_buffer(c, name, p, false, loc);
  sb_push(c, &fr->allocs, b);
  sb_bind(c, name, SK_BUFFER, b);
}

static void match_buffer_stmt(sb_ctx *c, const char *name, const py_expr *call,
                              frame *fr, ts_loc loc) {
  static const char *const names[] = {
      "param",         "shape",       "dtype",          "data",
      "strides",       "elem_offset", "scope",          "align",
      "offset_factor", "buffer_type", "axis_separators"};
  py_expr *a[11];
  sb_args(c, call, "T.match_buffer", names, 11, 2, a);
  py_expr **p = a + 1;
  if (fr && fr->is_func) {
    const py_expr *pe = a[0];
    sb_sym *s = pe->kind == PY_NAME ? sb_lookup(c, pe->u.name) : NULL;
    if (pe->kind == PY_NAME && !s)
      sb_fail(c, pe->loc, TS_ERR_NAME, "name '%s' is not defined", pe->u.name);
    ts_primfunc *pf = fr->func;
    int idx = -1;
    if (s && s->kind == SK_VAR)
      for (int i = 0; i < pf->n_params; i++)
        if (pf->params[i].var == s->p)
          idx = i;
    if (idx < 0)
      sb_fail_expr(c, pe, TS_ERR_VALUE,
                   "T.match_buffer: '%s' is not a T.handle parameter of the "
                   "function");
    if (pf->params[idx].buffer || pf->params[idx].var->dtype.code != TS_HANDLE)
      sb_fail(c, pe->loc, TS_ERR_VALUE,
              "T.match_buffer: parameter '%s' is not an unmatched T.handle",
              pe->u.name);
    ts_buffer *b = make_buffer(c, name, p, true, loc);
    pf->params[idx].buffer = b;
    pf->params[idx].via_match_buffer = true;
    sb_bind(c, name, SK_BUFFER, b);
    return;
  }
  need_block(c, fr, "T.match_buffer of a region", call->loc);
  ts_match_buffer mb;
  mb.source = make_region(c, a[0]);
  mb.buffer = make_buffer(c, name, p, true, loc);
  sb_push(c, &fr->matches, mb);
  sb_bind(c, name, SK_BUFFER, mb.buffer);
}

static ts_stmt *let_stmt(sb_ctx *c, const char *name, ts_expr *value,
                         const py_body *b, int i, frame *fr, ts_loc loc,
                         ts_loc name_loc) {
  ts_var *v = ts_var_new(c->a, name, value->dtype, sb_loc(c, name_loc));
  ts_stmt *s = ts_stmt_new(c->a, TS_S_LET, sb_loc(c, loc));
  s->u.let.var = v;
  s->u.let.value = value;
  int mark = sb_scope_mark(c);
  sb_bind(c, name, SK_VAR, v);
  ts_stmt *rest = tir_stmts(c, b, i + 1, fr);
  sb_scope_pop(c, mark);
  s->u.let.body = rest ? rest : evaluate0(c, loc);
  return s;
}

static const char *axis_kinds[][2] = {
    {"T.axis.spatial", "S"}, {"T.axis.S", "S"},    {"T.axis.reduce", "R"},
    {"T.axis.R", "R"},       {"T.axis.scan", "C"}, {"T.axis.opaque", "O"},
};

/* One statement; *rest_done is set when it consumed the rest of the body. */
static ts_stmt *tir_stmt(sb_ctx *c, const py_body *b, int i, frame *fr,
                         bool *rest_done) {
  const py_stmt *st = b->stmts[i];
  switch (st->kind) {
  case PY_S_PASS:
    return NULL;
  case PY_S_EXPR: {
    const py_expr *e = st->u.expr.value;
    if (e->kind == PY_STR)
      return NULL;
    const char *fn = e->kind == PY_CALL ? sb_dotted(c, e->u.call.func) : NULL;
    if (fn && strcmp(fn, "T.func_attr") == 0) {
      if (!fr || !fr->is_func)
        sb_fail(c, e->loc, TS_ERR_SYNTAX,
                "T.func_attr is only allowed at the function level");
      sb_arity(c, e, fn, 1, 1);
      fr->func->attrs = sb_attr_dict(c, e->u.call.args[0], fr->func->attrs);
      return NULL;
    }
    if (fn && (strcmp(fn, "T.reads") == 0 || strcmp(fn, "T.writes") == 0)) {
      bool r = fn[2] == 'r';
      need_block(c, fr, fn, e->loc);
      if (r ? fr->has_reads : fr->has_writes)
        sb_fail(c, e->loc, TS_ERR_SYNTAX, "%s is given twice", fn);
      region_list(c, e, r ? (void *)&fr->reads : (void *)&fr->writes);
      if (r)
        fr->has_reads = true;
      else
        fr->has_writes = true;
      return NULL;
    }
    if (fn && strcmp(fn, "T.where") == 0) {
      need_block(c, fr, fn, e->loc);
      sb_arity(c, e, fn, 1, 1);
      fr->where = bool_value(c, e->u.call.args[0]).e;
      return NULL;
    }
    if (fn &&
        (strcmp(fn, "T.block_attr") == 0 || strcmp(fn, "T.sblock_attr") == 0)) {
      need_block(c, fr, fn, e->loc);
      sb_arity(c, e, fn, 1, 1);
      fr->annotations = sb_attr_dict(c, e->u.call.args[0], fr->annotations);
      return NULL;
    }
    ts_expr *v;
    if (fn && strcmp(fn, "T.evaluate") == 0) {
      sb_arity(c, e, fn, 1, 1);
      v = concrete(c, tir_expr(c, e->u.call.args[0]));
    } else {
      v = concrete(c, tir_expr(c, e));
    }
    ts_stmt *s = ts_stmt_new(c->a, TS_S_EVALUATE, sb_loc(c, st->loc));
    s->u.eval.value = v;
    return s;
  }
  case PY_S_ASSIGN: {
    if (st->u.assign.n_targets != 1)
      sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
              "chained assignment is not supported");
    const py_expr *tg = st->u.assign.targets[0], *val = st->u.assign.value;
    if (tg->kind == PY_SUBSCRIPT)
      return store(c, tg, tir_expr(c, val), val, st->loc);
    const char *fn =
        val->kind == PY_CALL ? sb_dotted(c, val->u.call.func) : NULL;
    if (tg->kind == PY_TUPLE) {
      if (fn && strcmp(fn, "T.axis.remap") == 0) {
        axis_remap(c, tg, val, fr);
        return NULL;
      }
      sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
              "tuple assignment is only supported for T.axis.remap");
    }
    if (tg->kind != PY_NAME)
      sb_fail_expr(c, tg, TS_ERR_SYNTAX, "cannot assign to '%s'");
    const char *name = tg->u.name;
    if (fn) {
      if (strcmp(fn, "T.axis.remap") == 0) {
        axis_remap(c, tg, val, fr);
        return NULL;
      }
      for (size_t k = 0; k < sizeof axis_kinds / sizeof axis_kinds[0]; k++) {
        if (strcmp(fn, axis_kinds[k][0]) != 0)
          continue;
        char kc = axis_kinds[k][1][0];
        ts_iter_type it = kc == 'S'   ? TS_ITER_SPATIAL
                          : kc == 'R' ? TS_ITER_REDUCE
                          : kc == 'C' ? TS_ITER_SCAN
                                      : TS_ITER_OPAQUE;
        axis_one(c, tg, val, fn, it, fr);
        return NULL;
      }
      if (sb_after(fn, "T.axis."))
        sb_fail(c, val->loc, TS_ERR_NAME, "unknown TIR function '%s'", fn);
      if (strcmp(fn, "T.alloc_buffer") == 0 ||
          strcmp(fn, "T.sblock_alloc_buffer") == 0) {
        alloc_stmt(c, name, val, fn, fr, st->loc);
        return NULL;
      }
      if (strcmp(fn, "T.match_buffer") == 0) {
        match_buffer_stmt(c, name, val, fr, st->loc);
        return NULL;
      }
      if (strcmp(fn, "T.Buffer") == 0 || strcmp(fn, "T.decl_buffer") == 0)
        sb_fail(c, val->loc, TS_ERR_UNSUPPORTED,
                "%s declarations inside a function body are not supported", fn);
      const char *dn;
      ts_dtype dt;
      if (sb_symvar_decl(c, st, &dn, &dt)) {
        if (!fsym_declared(c, dn))
          sb_bind_fsym(c, ts_var_new(c->a, dn, dt, sb_loc(c, st->loc)));
        return NULL;
      }
    }
    ts_expr *v = concrete(c, tir_expr(c, val));
    *rest_done = true;
    return let_stmt(c, name, v, b, i, fr, st->loc, tg->loc);
  }
  case PY_S_ANNASSIGN: {
    const py_expr *tg = st->u.annassign.target;
    if (tg->kind != PY_NAME)
      sb_fail_expr(c, tg, TS_ERR_SYNTAX, "cannot annotate '%s'");
    ts_dtype t;
    if (!scalar_annotation(c, st->u.annassign.annotation, &t))
      sb_fail_expr(
          c, st->u.annassign.annotation, TS_ERR_UNSUPPORTED,
          "unsupported annotation '%s' (expected a dtype like T.int32)");
    if (!st->u.annassign.value)
      sb_fail(c, st->loc, TS_ERR_SYNTAX,
              "annotated variable '%s' needs a value", tg->u.name);
    tv v = tir_expr(c, st->u.annassign.value);
    ts_expr *x = adapt(c, v, t);
    if (!ts_dtype_eq(x->dtype, t))
      sb_fail(c, st->u.annassign.value->loc, TS_ERR_TYPE,
              "variable '%s' is annotated %s but its value has dtype %s",
              tg->u.name, dstr(c, t), dstr(c, x->dtype));
    *rest_done = true;
    return let_stmt(c, tg->u.name, x, b, i, fr, st->loc, tg->loc);
  }
  case PY_S_AUGASSIGN: {
    const py_expr *tg = st->u.augassign.target;
    if (tg->kind != PY_SUBSCRIPT)
      sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
              "augmented assignment is only supported on buffer elements");
    tv cur = subscript_value(c, tg);
    tv v = apply_binop(c, st->u.augassign.op, cur,
                       tir_expr(c, st->u.augassign.value), st->loc);
    return store(c, tg, v, st->u.augassign.value, st->loc);
  }
  case PY_S_FOR:
    return for_stmt(c, st);
  case PY_S_WITH:
    return with_stmt(c, st, fr);
  case PY_S_IF: {
    ts_stmt *s = ts_stmt_new(c->a, TS_S_IF, sb_loc(c, st->loc));
    s->u.if_.cond = bool_value(c, st->u.if_.cond).e;
    int mark = sb_scope_mark(c);
    s->u.if_.then_s = body_or_eval(c, &st->u.if_.body, NULL, st->loc);
    sb_scope_pop(c, mark);
    if (st->u.if_.orelse.n) {
      s->u.if_.else_s = body_or_eval(c, &st->u.if_.orelse, NULL, st->loc);
      sb_scope_pop(c, mark);
    }
    return s;
  }
  case PY_S_ASSERT: {
    ts_stmt *s = ts_stmt_new(c->a, TS_S_ASSERT, sb_loc(c, st->loc));
    s->u.assert_.cond = bool_value(c, st->u.assert_.cond).e;
    s->u.assert_.message = "";
    if (st->u.assert_.msg) {
      const char *m = sb_str_literal(st->u.assert_.msg);
      if (!m)
        sb_fail_expr(c, st->u.assert_.msg, TS_ERR_VALUE,
                     "assert message must be a string, got '%s'");
      s->u.assert_.message = m;
    }
    ts_stmt *rest = tir_stmts(c, b, i + 1, fr);
    s->u.assert_.body = rest ? rest : evaluate0(c, st->loc);
    *rest_done = true;
    return s;
  }
  case PY_S_WHILE:
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "while loops are not supported in TensorIR functions");
  case PY_S_RETURN:
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "return is not supported in TensorIR functions");
  case PY_S_BREAK:
  case PY_S_CONTINUE:
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "break and continue are not supported in TensorIR functions");
  case PY_S_DEF:
  case PY_S_CLASS:
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "nested definitions are not supported in TensorIR functions");
  case PY_S_IMPORT:
    sb_fail(c, st->loc, TS_ERR_UNSUPPORTED,
            "import is not supported inside a function");
  }
  TS_UNREACHABLE();
}

static ts_stmt *tir_stmts(sb_ctx *c, const py_body *b, int start, frame *fr) {
  SB_VEC(ts_stmt *) out = {0};
  int mark = sb_scope_mark(c);
  for (int i = start; i < b->n; i++) {
    bool rest_done = false;
    ts_stmt *s = tir_stmt(c, b, i, fr, &rest_done);
    if (s)
      sb_push(c, &out, s);
    if (rest_done)
      break;
  }
  sb_scope_pop(c, mark);
  if (out.len == 0)
    return NULL;
  if (out.len == 1)
    return out.data[0];
  ts_stmt **arr = sb_finish(c, &out);
  return ts_seq(c->a, arr, out.len);
}

static bool contains_block(const ts_stmt *s) {
  if (!s)
    return false;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      if (contains_block(s->u.seq.stmts[i]))
        return true;
    return false;
  case TS_S_FOR:
    return contains_block(s->u.for_.body);
  case TS_S_BLOCK_REALIZE:
    return true;
  case TS_S_IF:
    return contains_block(s->u.if_.then_s) || contains_block(s->u.if_.else_s);
  case TS_S_LET:
    return contains_block(s->u.let.body);
  case TS_S_ALLOCATE:
    return contains_block(s->u.alloc.body);
  case TS_S_ASSERT:
    return contains_block(s->u.assert_.body);
  default:
    return false;
  }
}

/* ---- the function
 * ---------------------------------------------------------------- */

void sb_build_primfunc(sb_ctx *c, sb_func *f) {
  const py_stmt *d = f->def;
  ts_primfunc *pf = f->prim;
  f->state = 1;
  pf->is_private = sb_decorator_flag(c, d, "private", false);
  c->loops.len = 0;
  c->infer_blocks.len = 0;
  sb_prescan_symvars(c, &d->u.def.body);

  SB_VEC(ts_param) params = {0};
  for (int i = 0; i < d->u.def.n_params; i++) {
    const py_param *p = &d->u.def.params[i];
    if (p->default_value)
      sb_fail(c, p->default_value->loc, TS_ERR_UNSUPPORTED,
              "parameters of a TensorIR function cannot have default values");
    if (!p->annotation)
      sb_fail(c, p->loc, TS_ERR_SYNTAX,
              "parameter '%s' of a TensorIR function needs a type annotation "
              "(T.Buffer(...), T.handle or a dtype)",
              p->name);
    for (int j = 0; j < params.len; j++)
      if (strcmp(params.data[j].var->name, p->name) == 0)
        sb_fail(c, p->loc, TS_ERR_NAME, "duplicate parameter '%s'", p->name);
    ts_param tp = {0};
    c->param_def = d;
    c->param_index = i;
    ts_buffer *buf = buffer_annotation(c, p->name, p->annotation, p->loc);
    c->param_def = NULL;
    if (buf) {
      tp.var = ts_var_new(c->a, p->name, TS_HANDLET, sb_loc(c, p->loc));
      tp.buffer = buf;
      sb_bind(c, p->name, SK_BUFFER, buf);
    } else {
      ts_dtype t;
      if (!scalar_annotation(c, p->annotation, &t))
        sb_fail_expr(c, p->annotation, TS_ERR_UNSUPPORTED,
                     "unsupported parameter annotation '%s' (expected "
                     "T.Buffer(...), T.handle or a dtype like T.int32)");
      tp.var = ts_var_new(c->a, p->name, t, sb_loc(c, p->loc));
      sb_bind(c, p->name, SK_VAR, tp.var);
    }
    sb_push(c, &params, tp);
  }
  pf->params = sb_finish(c, &params);
  pf->n_params = params.len;
  if (d->u.def.returns && d->u.def.returns->kind != PY_NONE)
    sb_fail_expr(c, d->u.def.returns, TS_ERR_UNSUPPORTED,
                 "a TensorIR function cannot have a return annotation ('%s')");

  frame fr = {0};
  fr.is_func = true;
  fr.func = pf;
  ts_stmt *body = tir_stmts(c, &d->u.def.body, 0, &fr);
  bool explicit_root = body && body->kind == TS_S_BLOCK_REALIZE &&
                       body->u.realize.block->n_iter_vars == 0 &&
                       strcmp(body->u.realize.block->name, "root") == 0 &&
                       fr.allocs.len == 0;
  if (explicit_root) {
    /* an explicit root block: like the implicit one, no regions */
    ts_block *rb = body->u.realize.block;
    for (int i = 0; i < c->infer_blocks.len; i++)
      if (c->infer_blocks.data[i].block == rb) {
        c->infer_blocks.data[i] = c->infer_blocks.data[--c->infer_blocks.len];
        break;
      }
  } else if (fr.allocs.len || contains_block(body)) {
    frame rf = {0};
    rf.block_name = "root";
    ts_block *rb =
        finish_block(c, &rf, body ? body : evaluate0(c, d->loc), d->loc);
    rb->alloc_buffers = sb_finish(c, &fr.allocs);
    rb->n_alloc_buffers = fr.allocs.len;
    body = realize(c, rb, &rf, d->loc);
  }
  pf->body = body ? body : evaluate0(c, d->loc);
  for (int i = 0; i < c->infer_blocks.len; i++) {
    sb_pending_regions *p = &c->infer_blocks.data[i];
    ts_block_infer_regions(c->a, p->block);
    if (p->keep_reads) {
      p->block->reads = p->reads;
      p->block->n_reads = p->n_reads;
    }
    if (p->keep_writes) {
      p->block->writes = p->writes;
      p->block->n_writes = p->n_writes;
    }
    p->block->explicit_regions = false;
  }
  c->infer_blocks.len = 0;
  f->state = 2;
}
