/* interp_tir.c: the TensorIR reference interpreter.
 *
 * Runs a PrimFunc statement by statement on an environment (interp_util.h):
 * loops of every kind run serially; a block realize binds its iteration
 * variables, skips when its predicate is false, runs T.init() when every
 * reduce iteration variable sits at its domain minimum (TVM's rule),
 * allocates its alloc_buffers on entry and frees them on exit, and maps its
 * match_buffers onto the source region (a strided view).  Every buffer access
 * is bounds checked.  Integers wrap to their bit width; floats are computed in
 * double and rounded to their dtype after every operation, which reproduces
 * the compiled C code's float32 arithmetic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp_util.h"
#include "ops/ops_internal.h"

/* ---- float16 / bfloat16 ----------------------------------------------------
 */

double tsi_f16_to_f64(uint16_t h) {
  int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  double v;
  if (e == 0)
    v = ldexp((double)m, -24);
  else if (e == 31)
    v = m ? (double)NAN : (double)INFINITY;
  else
    v = ldexp((double)(m + 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

uint16_t tsi_f64_to_f16(double x) {
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  if (isnan(x))
    return 0x7e00;
  x = fabs(x);
  if (x >= 65520.0)
    return sign | 0x7c00;
  if (x < 0x1p-14) /* subnormal: units of 2^-24; 1024 is the least normal */
    return sign | (uint16_t)nearbyint(x * 0x1p24);
  int e;
  double f = frexp(x, &e); /* x = f * 2^e, f in [0.5, 1) */
  double m = nearbyint((f * 2 - 1) * 1024);
  int E = e - 1;
  if (m == 1024) {
    m = 0;
    E++;
  }
  if (E > 15)
    return sign | 0x7c00;
  return (uint16_t)(sign | ((E + 15) << 10) | (uint16_t)m);
}

double tsi_bf16_to_f64(uint16_t h) {
  uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}

uint16_t tsi_f64_to_bf16(double x) {
  float f = (float)x;
  uint32_t b;
  memcpy(&b, &f, 4);
  if (isnan(f))
    return (uint16_t)((b >> 16) | 0x40);
  b += 0x7fff + ((b >> 16) & 1);
  return (uint16_t)(b >> 16);
}

double tsi_round_float(ts_dtype t, double x) {
  if (t.code == TS_BFLOAT)
    return tsi_bf16_to_f64(tsi_f64_to_bf16(x));
  switch (t.bits) {
  case 16:
    return tsi_f16_to_f64(tsi_f64_to_f16(x));
  case 32:
    return (double)(float)x;
  default:
    return x;
  }
}

/* ---- context ----------------------------------------------------------------
 */

void tsi_ctx_init(tsi_ctx *c, ts_module *m) {
  memset(c, 0, sizeof(*c));
  c->m = m;
}

static void free_view(tsi_buf *v) {
  if (!v)
    return;
  if (v->owned)
    free(v->data);
  free(v);
}

void tsi_ctx_free(tsi_ctx *c) {
  for (size_t i = 0; i < c->vars.cap; i++)
    if (c->vars.keys[i])
      free(c->vars.vals[i]);
  ts_ptrmap_free(&c->vars);
  /* Views may be bound under several keys: free each once. */
  ts_ptrmap seen = {0};
  for (size_t i = 0; i < c->bufs.cap; i++) {
    void *v = c->bufs.keys[i] ? c->bufs.vals[i] : NULL;
    if (v && !ts_ptrmap_has(&seen, v)) {
      ts_ptrmap_put(&seen, v, NULL);
      free_view(v);
    }
  }
  ts_ptrmap_free(&seen);
  ts_ptrmap_free(&c->bufs);
}

static tsi_slot *var_slot(tsi_ctx *c, const ts_var *v) {
  tsi_slot *s = ts_ptrmap_get(&c->vars, v);
  if (!s) {
    s = ts_xcalloc(1, sizeof(*s));
    ts_ptrmap_put(&c->vars, v, s);
  }
  return s;
}

void tsi_var_bind(tsi_ctx *c, const ts_var *v, tsi_val val, tsi_slot *old) {
  tsi_slot *s = var_slot(c, v);
  if (old)
    *old = *s;
  s->defined = true;
  s->v = val;
}

void tsi_var_restore(tsi_ctx *c, const ts_var *v, tsi_slot old) {
  tsi_slot *s = ts_ptrmap_get(&c->vars, v);
  if (s)
    *s = old;
}

const tsi_val *tsi_var_get(const tsi_ctx *c, const ts_var *v) {
  tsi_slot *s = ts_ptrmap_get(&c->vars, v);
  return s && s->defined ? &s->v : NULL;
}

/* ---- values
 * ------------------------------------------------------------------ */

static int64_t wrap_int(ts_dtype t, int64_t v) {
  if (t.code == TS_BOOL)
    return v != 0;
  if (t.bits == 0 || t.bits >= 64)
    return v;
  uint64_t mask = (UINT64_C(1) << t.bits) - 1;
  uint64_t u = (uint64_t)v & mask;
  if (t.code == TS_INT && ((u >> (t.bits - 1)) & 1))
    u |= ~mask;
  return (int64_t)u;
}

static bool is_u64(ts_dtype t) { return t.code == TS_UINT && t.bits >= 64; }

static double as_f(tsi_val v, ts_dtype t) {
  if (ts_dtype_is_float(t))
    return v.f;
  if (is_u64(t))
    return (double)(uint64_t)v.i;
  return (double)v.i;
}

static int64_t f_to_i(double f) {
  if (isnan(f))
    return 0;
  f = trunc(f);
  if (f >= 0x1p63)
    return INT64_MAX;
  if (f < -0x1p63)
    return INT64_MIN;
  return (int64_t)f;
}

static int64_t as_i(tsi_val v, ts_dtype t) {
  return ts_dtype_is_float(t) ? f_to_i(v.f) : v.i;
}

static tsi_val cast_val(ts_dtype to, ts_dtype from, tsi_val v) {
  tsi_val r = {0, 0};
  if (ts_dtype_is_float(to)) {
    r.f = tsi_round_float(to, as_f(v, from));
  } else if (to.code == TS_BOOL) {
    r.i = ts_dtype_is_float(from) ? v.f != 0 : v.i != 0;
  } else if (ts_dtype_is_int(to)) {
    if (ts_dtype_is_float(from)) {
      if (is_u64(to) && v.f >= 0x1p63 && v.f < 0x1p64)
        r.i = (int64_t)(uint64_t)v.f;
      else
        r.i = wrap_int(to, f_to_i(v.f));
    } else {
      r.i = wrap_int(to, v.i);
    }
  } else {
    r = v;
  }
  return r;
}

static tsi_val load_elem(const char *p, ts_dtype t) {
  tsi_val v = {0, 0};
  switch (t.code) {
  case TS_FLOAT:
    if (t.bits == 16) {
      uint16_t h;
      memcpy(&h, p, 2);
      v.f = tsi_f16_to_f64(h);
    } else if (t.bits == 32) {
      float f;
      memcpy(&f, p, 4);
      v.f = f;
    } else {
      memcpy(&v.f, p, 8);
    }
    break;
  case TS_BFLOAT: {
    uint16_t h;
    memcpy(&h, p, 2);
    v.f = tsi_bf16_to_f64(h);
    break;
  }
  case TS_INT:
  case TS_UINT: {
    uint64_t u = 0;
    memcpy(&u, p, t.bits / 8); /* little-endian */
    v.i = wrap_int(t, (int64_t)u);
    break;
  }
  case TS_BOOL:
    v.i = *(const uint8_t *)p != 0;
    break;
  case TS_HANDLE: {
    void *q;
    memcpy(&q, p, sizeof q);
    v.i = (int64_t)(intptr_t)q;
    break;
  }
  default:
    break;
  }
  return v;
}

static void store_elem(char *p, ts_dtype t, tsi_val v) {
  switch (t.code) {
  case TS_FLOAT:
    if (t.bits == 16) {
      uint16_t h = tsi_f64_to_f16(v.f);
      memcpy(p, &h, 2);
    } else if (t.bits == 32) {
      float f = (float)v.f;
      memcpy(p, &f, 4);
    } else {
      memcpy(p, &v.f, 8);
    }
    break;
  case TS_BFLOAT: {
    uint16_t h = tsi_f64_to_bf16(v.f);
    memcpy(p, &h, 2);
    break;
  }
  case TS_INT:
  case TS_UINT: {
    uint64_t u = (uint64_t)v.i;
    memcpy(p, &u, t.bits / 8);
    break;
  }
  case TS_BOOL:
    *(uint8_t *)p = v.i != 0;
    break;
  case TS_HANDLE: {
    void *q = (void *)(intptr_t)v.i;
    memcpy(p, &q, sizeof q);
    break;
  }
  default:
    break;
  }
}

static bool dtype_supported(ts_dtype t) {
  if (t.lanes != 1)
    return false;
  switch (t.code) {
  case TS_FLOAT:
    return t.bits == 16 || t.bits == 32 || t.bits == 64;
  case TS_BFLOAT:
    return t.bits == 16;
  case TS_INT:
  case TS_UINT:
    return t.bits == 8 || t.bits == 16 || t.bits == 32 || t.bits == 64;
  case TS_BOOL:
    return true;
  case TS_HANDLE:
    return true;
  default:
    return false;
  }
}

/* ---- errors
 * --------------------------------------------------------------------- */

static ts_loc pick_loc(const tsi_ctx *c, ts_loc l) {
  return l.line > 0 ? l : c->cur_loc;
}

static ts_status *expr_error(tsi_ctx *c, const ts_expr *e, ts_status_code code,
                             const char *what) {
  ts_strbuf b = {0};
  ts_ops_print_expr(&b, e);
  ts_status *st =
      ts_status_make(code, pick_loc(c, e->loc), "%s in %s", what, b.data);
  ts_strbuf_free(&b);
  return st;
}

/* ---- buffers
 * ---------------------------------------------------------------------- */

/* Fills v's shape/strides/offset from b's declaration (storage not set). */
static ts_status *make_view(tsi_ctx *c, const ts_buffer *b, ts_loc loc,
                            tsi_buf *v) {
  char dt[32];
  memset(v, 0, sizeof(*v));
  if (b->ndim > TS_MAX_NDIM)
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "buffer '%s' has %d dimensions (at most %d)", b->name,
                          b->ndim, TS_MAX_NDIM);
  if (!dtype_supported(b->dtype))
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "buffer '%s': dtype %s is not supported by the "
                          "interpreter",
                          b->name, ts_dtype_str(b->dtype, dt));
  v->dtype = b->dtype;
  v->ndim = b->ndim;
  for (int k = 0; k < b->ndim; k++) {
    TS_RETURN_IF_ERROR(tsi_eval_int(c, b->shape[k], &v->shape[k]));
    if (v->shape[k] < 0)
      return ts_status_make(TS_ERR_VALUE, loc,
                            "buffer '%s': dimension %d is negative (%lld)",
                            b->name, k, (long long)v->shape[k]);
  }
  int64_t st = 1;
  for (int k = b->ndim - 1; k >= 0; k--) {
    if (b->strides)
      TS_RETURN_IF_ERROR(tsi_eval_int(c, b->strides[k], &v->strides[k]));
    else
      v->strides[k] = st;
    st *= v->shape[k];
  }
  if (b->elem_offset)
    TS_RETURN_IF_ERROR(tsi_eval_int(c, b->elem_offset, &v->elem_offset));
  return NULL;
}

/* Bytes needed from `data` to hold every element of v. */
static bool view_extent_bytes(const tsi_buf *v, size_t *out) {
  uint64_t last = (uint64_t)(v->elem_offset > 0 ? v->elem_offset : 0);
  for (int k = 0; k < v->ndim; k++) {
    if (v->shape[k] == 0) {
      *out = 0;
      return true;
    }
    size_t t;
    if (!ts_size_mul((size_t)(v->shape[k] - 1), (size_t)llabs(v->strides[k]),
                     &t) ||
        !ts_size_add(last, t, &last))
      return false;
  }
  return ts_size_mul(last + 1, ts_dtype_bytes(v->dtype), out);
}

static ts_status *alloc_view(tsi_ctx *c, const ts_buffer *b, ts_loc loc,
                             tsi_buf **out) {
  tsi_buf *v = ts_xcalloc(1, sizeof(*v));
  ts_status *st = make_view(c, b, loc, v);
  size_t n = 0;
  if (!st && !view_extent_bytes(v, &n))
    st = ts_status_make(TS_ERR_VALUE, loc, "buffer '%s' is too large", b->name);
  if (!st) {
    v->data = calloc(1, n ? n : 1);
    if (!v->data)
      st =
          ts_status_make(TS_ERR_RUNTIME, loc,
                         "cannot allocate buffer '%s' (%zu bytes)", b->name, n);
    v->nbytes = n;
    v->owned = true;
  }
  if (st) {
    free(v->data);
    free(v);
    return st;
  }
  *out = v;
  return NULL;
}

typedef struct buf_save {
  const void *key;
  void *old;
  bool had;
} buf_save;

static void bind_buf(tsi_ctx *c, const void *key, tsi_buf *v, buf_save *sv) {
  sv->key = key;
  sv->old = NULL;
  sv->had = false;
  if (!key)
    return;
  sv->had = ts_ptrmap_has(&c->bufs, key);
  sv->old = ts_ptrmap_get(&c->bufs, key);
  ts_ptrmap_put(&c->bufs, key, v);
}

static void unbind_buf(tsi_ctx *c, const buf_save *sv) {
  if (!sv->key)
    return;
  if (sv->had)
    ts_ptrmap_put(&c->bufs, sv->key, sv->old);
  else
    ts_ptrmap_remove(&c->bufs, sv->key);
}

/* The view of buffer b: its own binding, or (lowered code) a view declared
 * by b over the storage bound to its data variable, built into *tmp. */
static ts_status *buf_view(tsi_ctx *c, const ts_buffer *b, ts_loc loc,
                           tsi_buf *tmp, tsi_buf **out) {
  tsi_buf *v = ts_ptrmap_get(&c->bufs, b);
  if (v) {
    *out = v;
    return NULL;
  }
  tsi_buf *base = b->data ? ts_ptrmap_get(&c->bufs, b->data) : NULL;
  if (!base)
    return ts_status_make(TS_ERR_RUNTIME, loc,
                          "buffer '%s' is not allocated here", b->name);
  TS_RETURN_IF_ERROR(make_view(c, b, loc, tmp));
  tmp->data = base->data;
  tmp->nbytes = base->nbytes;
  *out = tmp;
  return NULL;
}

static ts_status *elem_ptr(tsi_ctx *c, const ts_buffer *b, ts_expr *const *idx,
                           int n, ts_loc loc, char **out) {
  tsi_buf tmp, *v = NULL;
  TS_RETURN_IF_ERROR(buf_view(c, b, loc, &tmp, &v));
  int64_t off = v->elem_offset;
  if (n == v->ndim) {
    for (int k = 0; k < n; k++) {
      int64_t i = 0;
      TS_RETURN_IF_ERROR(tsi_eval_int(c, idx[k], &i));
      if (i < 0 || i >= v->shape[k])
        return ts_status_make(
            TS_ERR_RUNTIME, loc,
            "buffer '%s' index %lld out of bounds for dimension %d of extent "
            "%lld",
            b->name, (long long)i, k, (long long)v->shape[k]);
      off += i * v->strides[k];
    }
  } else if (n == 1) {
    /* flat access to a multi-dimensional buffer (lowered code) */
    int64_t i = 0, numel = 1;
    TS_RETURN_IF_ERROR(tsi_eval_int(c, idx[0], &i));
    for (int k = 0; k < v->ndim; k++)
      numel *= v->shape[k];
    if (i < 0 || i >= numel)
      return ts_status_make(
          TS_ERR_RUNTIME, loc,
          "buffer '%s' flat index %lld out of bounds for %lld "
          "elements",
          b->name, (long long)i, (long long)numel);
    off += i;
  } else {
    return ts_status_make(TS_ERR_RUNTIME, loc,
                          "buffer '%s' has %d dimensions, accessed with %d "
                          "indices",
                          b->name, v->ndim, n);
  }
  size_t es = ts_dtype_bytes(b->dtype);
  if (off < 0 || (uint64_t)(off + 1) * es > v->nbytes)
    return ts_status_make(TS_ERR_RUNTIME, loc,
                          "buffer '%s' element offset %lld is outside its "
                          "storage",
                          b->name, (long long)off);
  *out = v->data + (size_t)off * es;
  return NULL;
}

/* ---- expressions
 * ------------------------------------------------------------------ */

static ts_status *eval_int_binary(tsi_ctx *c, const ts_expr *e, ts_dtype ot,
                                  int64_t a, int64_t b, tsi_val *out) {
  bool u = is_u64(ot);
  int64_t r = 0;
  switch (e->kind) {
  case TS_E_ADD:
    r = (int64_t)((uint64_t)a + (uint64_t)b);
    break;
  case TS_E_SUB:
    r = (int64_t)((uint64_t)a - (uint64_t)b);
    break;
  case TS_E_MUL:
    r = (int64_t)((uint64_t)a * (uint64_t)b);
    break;
  case TS_E_DIV:
  case TS_E_MOD:
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: {
    if (b == 0)
      return expr_error(c, e, TS_ERR_RUNTIME, "division by zero");
    bool div = e->kind == TS_E_DIV || e->kind == TS_E_FLOORDIV;
    if (u) {
      r = div ? (int64_t)((uint64_t)a / (uint64_t)b)
              : (int64_t)((uint64_t)a % (uint64_t)b);
      break;
    }
    int64_t q, m;
    if (a == INT64_MIN && b == -1) {
      q = INT64_MIN;
      m = 0;
    } else {
      q = a / b;
      m = a % b;
    }
    if ((e->kind == TS_E_FLOORDIV || e->kind == TS_E_FLOORMOD) && m != 0 &&
        ((m < 0) != (b < 0))) {
      q -= 1;
      m += b;
    }
    r = div ? q : m;
    break;
  }
  case TS_E_MIN:
    r = u ? ((uint64_t)a < (uint64_t)b ? a : b) : (a < b ? a : b);
    break;
  case TS_E_MAX:
    r = u ? ((uint64_t)a > (uint64_t)b ? a : b) : (a > b ? a : b);
    break;
  case TS_E_EQ:
    r = a == b;
    break;
  case TS_E_NE:
    r = a != b;
    break;
  case TS_E_LT:
    r = u ? (uint64_t)a < (uint64_t)b : a < b;
    break;
  case TS_E_LE:
    r = u ? (uint64_t)a <= (uint64_t)b : a <= b;
    break;
  case TS_E_GT:
    r = u ? (uint64_t)a > (uint64_t)b : a > b;
    break;
  case TS_E_GE:
    r = u ? (uint64_t)a >= (uint64_t)b : a >= b;
    break;
  default:
    TS_UNREACHABLE();
  }
  out->i = wrap_int(e->dtype, r);
  out->f = 0;
  return NULL;
}

static void eval_float_binary(const ts_expr *e, double a, double b,
                              tsi_val *out) {
  double r = 0;
  bool cmp = false;
  switch (e->kind) {
  case TS_E_ADD:
    r = a + b;
    break;
  case TS_E_SUB:
    r = a - b;
    break;
  case TS_E_MUL:
    r = a * b;
    break;
  case TS_E_DIV:
    r = a / b;
    break;
  case TS_E_MOD:
    r = fmod(a, b);
    break;
  case TS_E_FLOORDIV:
    r = floor(a / b);
    break;
  case TS_E_FLOORMOD:
    r = a - floor(a / b) * b;
    break;
  case TS_E_MIN:
    r = a < b ? a : b;
    break;
  case TS_E_MAX:
    r = a > b ? a : b;
    break;
  case TS_E_EQ:
    cmp = true, out->i = a == b;
    break;
  case TS_E_NE:
    cmp = true, out->i = a != b;
    break;
  case TS_E_LT:
    cmp = true, out->i = a < b;
    break;
  case TS_E_LE:
    cmp = true, out->i = a <= b;
    break;
  case TS_E_GT:
    cmp = true, out->i = a > b;
    break;
  case TS_E_GE:
    cmp = true, out->i = a >= b;
    break;
  default:
    TS_UNREACHABLE();
  }
  if (cmp) {
    out->f = 0;
    return;
  }
  if (ts_dtype_is_float(e->dtype)) {
    out->f = tsi_round_float(e->dtype, r);
    out->i = 0;
  } else { /* ill-typed mix: convert */
    out->i = wrap_int(e->dtype, f_to_i(r));
    out->f = 0;
  }
}

static double math1(ts_intrin op, double x) {
  switch (op) {
  case TS_INTRIN_EXP:
    return exp(x);
  case TS_INTRIN_EXP2:
    return exp2(x);
  case TS_INTRIN_LOG:
    return log(x);
  case TS_INTRIN_LOG2:
    return log2(x);
  case TS_INTRIN_LOG1P:
    return log1p(x);
  case TS_INTRIN_SQRT:
    return sqrt(x);
  case TS_INTRIN_RSQRT:
    return 1.0 / sqrt(x);
  case TS_INTRIN_TANH:
    return tanh(x);
  case TS_INTRIN_SIGMOID:
    return 1.0 / (1.0 + exp(-x));
  case TS_INTRIN_ERF:
    return erf(x);
  case TS_INTRIN_FABS:
  case TS_INTRIN_ABS:
    return fabs(x);
  case TS_INTRIN_FLOOR:
    return floor(x);
  case TS_INTRIN_CEIL:
    return ceil(x);
  case TS_INTRIN_ROUND:
    return round(x);
  case TS_INTRIN_TRUNC:
    return trunc(x);
  case TS_INTRIN_NEARBYINT:
    return nearbyint(x);
  case TS_INTRIN_SIN:
    return sin(x);
  case TS_INTRIN_COS:
    return cos(x);
  case TS_INTRIN_TAN:
    return tan(x);
  case TS_INTRIN_ASIN:
    return asin(x);
  case TS_INTRIN_ACOS:
    return acos(x);
  case TS_INTRIN_ATAN:
    return atan(x);
  case TS_INTRIN_SINH:
    return sinh(x);
  case TS_INTRIN_COSH:
    return cosh(x);
  case TS_INTRIN_ASINH:
    return asinh(x);
  case TS_INTRIN_ACOSH:
    return acosh(x);
  case TS_INTRIN_ATANH:
    return atanh(x);
  default:
    TS_UNREACHABLE();
  }
}

static ts_status *eval_call(tsi_ctx *c, const ts_expr *e, tsi_val *out) {
  ts_intrin op = e->u.call.op;
  int n = e->u.call.n;
  ts_expr *const *args = e->u.call.args;
  if (op == TS_INTRIN_CALL_EXTERN) {
    const char *name =
        n > 0 && args[0]->kind == TS_E_STR ? args[0]->u.str : "?";
    return ts_status_make(TS_ERR_UNSUPPORTED, pick_loc(c, e->loc),
                          "T.call_extern(\"%s\") is not supported by the "
                          "interpreter",
                          name);
  }
  int arity = ts_intrin_arity(op);
  if (arity >= 0 && n != arity)
    return ts_status_make(TS_ERR_TYPE, pick_loc(c, e->loc),
                          "T.%s expects %d arguments, got %d",
                          ts_intrin_name(op), arity, n);
  if (op == TS_INTRIN_IF_THEN_ELSE) {
    tsi_val cond = {0, 0}, v = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, args[0], &cond));
    const ts_expr *br = as_i(cond, args[0]->dtype) ? args[1] : args[2];
    TS_RETURN_IF_ERROR(tsi_eval(c, br, &v));
    *out = cast_val(e->dtype, br->dtype, v);
    return NULL;
  }
  if (op == TS_INTRIN_LIKELY)
    return tsi_eval(c, args[0], out);
  tsi_val v[2];
  for (int i = 0; i < n; i++)
    TS_RETURN_IF_ERROR(tsi_eval(c, args[i], &v[i]));
  ts_dtype t0 = args[0]->dtype;
  out->i = 0;
  out->f = 0;
  switch (op) {
  case TS_INTRIN_ISNAN:
    out->i = ts_dtype_is_float(t0) && isnan(v[0].f);
    return NULL;
  case TS_INTRIN_ISINF:
    out->i = ts_dtype_is_float(t0) && isinf(v[0].f);
    return NULL;
  case TS_INTRIN_ISFINITE:
    out->i = !ts_dtype_is_float(t0) || isfinite(v[0].f);
    return NULL;
  case TS_INTRIN_BITWISE_AND:
  case TS_INTRIN_BITWISE_OR:
  case TS_INTRIN_BITWISE_XOR:
  case TS_INTRIN_BITWISE_NOT:
  case TS_INTRIN_SHIFT_LEFT:
  case TS_INTRIN_SHIFT_RIGHT: {
    int64_t a = as_i(v[0], t0), b = n > 1 ? as_i(v[1], args[1]->dtype) : 0;
    int64_t r;
    if (op == TS_INTRIN_BITWISE_AND)
      r = a & b;
    else if (op == TS_INTRIN_BITWISE_OR)
      r = a | b;
    else if (op == TS_INTRIN_BITWISE_XOR)
      r = a ^ b;
    else if (op == TS_INTRIN_BITWISE_NOT)
      r = ~a;
    else if (b < 0 || b >= 64)
      r = (op == TS_INTRIN_SHIFT_RIGHT && a < 0 && t0.code == TS_INT) ? -1 : 0;
    else if (op == TS_INTRIN_SHIFT_LEFT)
      r = (int64_t)((uint64_t)a << b);
    else if (t0.code == TS_UINT)
      r = (int64_t)((uint64_t)a >> b);
    else
      r = a >> b;
    out->i = wrap_int(e->dtype, r);
    return NULL;
  }
  case TS_INTRIN_ABS:
    if (!ts_dtype_is_float(t0)) {
      int64_t a = v[0].i;
      out->i = wrap_int(
          e->dtype,
          t0.code == TS_UINT ? a : (a < 0 ? (int64_t)(0 - (uint64_t)a) : a));
      return NULL;
    }
    break;
  default:
    break;
  }
  double r;
  if (op == TS_INTRIN_POW)
    r = pow(as_f(v[0], t0), as_f(v[1], args[1]->dtype));
  else if (op == TS_INTRIN_ATAN2)
    r = atan2(as_f(v[0], t0), as_f(v[1], args[1]->dtype));
  else if (op == TS_INTRIN_FMOD)
    r = fmod(as_f(v[0], t0), as_f(v[1], args[1]->dtype));
  else
    r = math1(op, as_f(v[0], t0));
  if (ts_dtype_is_float(e->dtype))
    out->f = tsi_round_float(e->dtype, r);
  else
    out->i = wrap_int(e->dtype, f_to_i(r));
  return NULL;
}

ts_status *tsi_eval(tsi_ctx *c, const ts_expr *e, tsi_val *out) {
  out->i = 0;
  out->f = 0;
  if (e->dtype.lanes > 1)
    return expr_error(c, e, TS_ERR_UNSUPPORTED,
                      "vector expressions are not supported by the "
                      "interpreter");
  switch (e->kind) {
  case TS_E_INT:
    if (ts_dtype_is_float(e->dtype))
      out->f = (double)e->u.int_value;
    else
      out->i = wrap_int(e->dtype, e->u.int_value);
    return NULL;
  case TS_E_FLOAT:
    if (ts_dtype_is_float(e->dtype))
      out->f = tsi_round_float(e->dtype, e->u.float_value);
    else
      out->i = wrap_int(e->dtype, f_to_i(e->u.float_value));
    return NULL;
  case TS_E_STR:
    return expr_error(c, e, TS_ERR_UNSUPPORTED, "string value");
  case TS_E_VAR: {
    const tsi_val *v = tsi_var_get(c, e->u.var);
    if (!v)
      return ts_status_make(TS_ERR_RUNTIME, pick_loc(c, e->loc),
                            "undefined variable '%s'", e->u.var->name);
    *out = *v;
    return NULL;
  }
  case TS_E_AND:
  case TS_E_OR: {
    tsi_val a = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.bin.a, &a));
    bool av = as_i(a, e->u.bin.a->dtype) != 0;
    if (e->kind == TS_E_AND ? !av : av) {
      out->i = av;
      return NULL;
    }
    tsi_val b = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.bin.b, &b));
    out->i = as_i(b, e->u.bin.b->dtype) != 0;
    return NULL;
  }
  case TS_E_NOT: {
    tsi_val a = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.unary.a, &a));
    out->i = as_i(a, e->u.unary.a->dtype) == 0;
    return NULL;
  }
  case TS_E_SELECT: {
    tsi_val cv = {0, 0}, t = {0, 0}, f = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.select.cond, &cv));
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.select.t, &t));
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.select.f, &f));
    bool cond = as_i(cv, e->u.select.cond->dtype) != 0;
    *out = cond ? cast_val(e->dtype, e->u.select.t->dtype, t)
                : cast_val(e->dtype, e->u.select.f->dtype, f);
    return NULL;
  }
  case TS_E_CAST: {
    tsi_val a = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.unary.a, &a));
    *out = cast_val(e->dtype, e->u.unary.a->dtype, a);
    return NULL;
  }
  case TS_E_LOAD: {
    char *p;
    TS_RETURN_IF_ERROR(elem_ptr(c, e->u.load.buffer, e->u.load.indices,
                                e->u.load.n, pick_loc(c, e->loc), &p));
    *out = load_elem(p, e->u.load.buffer->dtype);
    if (!ts_dtype_eq(e->u.load.buffer->dtype, e->dtype))
      *out = cast_val(e->dtype, e->u.load.buffer->dtype, *out);
    return NULL;
  }
  case TS_E_CALL:
    return eval_call(c, e, out);
  case TS_E_LET: {
    tsi_val v = {0, 0};
    tsi_slot old;
    TS_RETURN_IF_ERROR(tsi_eval(c, e->u.let.value, &v));
    tsi_var_bind(c, e->u.let.var, v, &old);
    ts_status *st = tsi_eval(c, e->u.let.body, out);
    tsi_var_restore(c, e->u.let.var, old);
    return st;
  }
  case TS_E_RAMP:
  case TS_E_BROADCAST:
    return expr_error(c, e, TS_ERR_UNSUPPORTED,
                      "vector expressions are not supported by the "
                      "interpreter");
  default:
    break;
  }
  TS_ASSERT(ts_expr_kind_is_binary(e->kind));
  tsi_val a, b;
  TS_RETURN_IF_ERROR(tsi_eval(c, e->u.bin.a, &a));
  TS_RETURN_IF_ERROR(tsi_eval(c, e->u.bin.b, &b));
  ts_dtype ta = e->u.bin.a->dtype, tb = e->u.bin.b->dtype;
  if (ts_dtype_is_float(ta) || ts_dtype_is_float(tb)) {
    eval_float_binary(e, as_f(a, ta), as_f(b, tb), out);
    return NULL;
  }
  return eval_int_binary(c, e, ta, a.i, b.i, out);
}

ts_status *tsi_eval_int(tsi_ctx *c, const ts_expr *e, int64_t *out) {
  tsi_val v = {0, 0};
  *out = 0;
  if (ts_dtype_is_float(e->dtype))
    return expr_error(c, e, TS_ERR_TYPE, "expected an integer");
  TS_RETURN_IF_ERROR(tsi_eval(c, e, &v));
  *out = v.i;
  return NULL;
}

/* ---- shapes
 * ------------------------------------------------------------------------ */

ts_status *tsi_match_shape(tsi_ctx *c, const char *what, const char *earlier,
                           ts_loc loc, ts_expr *const *dims, int ndim,
                           const int64_t *shape, bool check_compound) {
  for (int d = 0; d < ndim; d++) {
    const ts_expr *e = dims[d];
    int64_t want = 0;
    if (e->kind == TS_E_INT) {
      if (e->u.int_value != shape[d])
        return ts_status_make(TS_ERR_TYPE, loc,
                              "%s: dimension %d is %lld, got %lld", what, d,
                              (long long)e->u.int_value, (long long)shape[d]);
    } else if (e->kind == TS_E_VAR) {
      const tsi_val *v = tsi_var_get(c, e->u.var);
      if (!v) {
        tsi_val nv = {wrap_int(e->u.var->dtype, shape[d]), 0};
        tsi_var_bind(c, e->u.var, nv, NULL);
      } else if (v->i != shape[d]) {
        return ts_status_make(TS_ERR_TYPE, loc,
                              "%s: dimension %d (%s) is %lld from an earlier "
                              "%s, got %lld",
                              what, d, e->u.var->name, (long long)v->i, earlier,
                              (long long)shape[d]);
      }
    } else if (check_compound) {
      ts_strbuf b = {0};
      ts_ops_print_expr(&b, e);
      ts_status *st = tsi_eval_int(c, e, &want);
      if (st) {
        ts_status_free(st);
        st = ts_status_make(TS_ERR_TYPE, loc,
                            "%s: dimension %d (%s) cannot be computed from the "
                            "other dimensions",
                            what, d, b.data);
      } else if (want != shape[d]) {
        st = ts_status_make(TS_ERR_TYPE, loc,
                            "%s: dimension %d (%s) is %lld, got %lld", what, d,
                            b.data, (long long)want, (long long)shape[d]);
      }
      ts_strbuf_free(&b);
      if (st)
        return st;
    }
  }
  return NULL;
}

/* ---- statements
 * --------------------------------------------------------------------- */

static ts_status *exec(tsi_ctx *c, const ts_stmt *s);

typedef TS_VEC(buf_save) save_vec;
typedef struct var_save {
  const ts_var *var;
  tsi_slot old;
} var_save;
typedef TS_VEC(var_save) var_vec;

/* Binds a declared dimension/stride/offset of a matched buffer: an unbound
 * variable takes the actual value; anything else must evaluate to it. */
static ts_status *match_field(tsi_ctx *c, const ts_expr *decl, int64_t actual,
                              var_vec *vars, ts_loc loc, const char *bufname,
                              const char *field) {
  if (!decl)
    return NULL;
  if (decl->kind == TS_E_VAR && !tsi_var_get(c, decl->u.var)) {
    var_save sv = {decl->u.var, {0}};
    tsi_val v = {wrap_int(decl->u.var->dtype, actual), 0};
    tsi_var_bind(c, decl->u.var, v, &sv.old);
    if (vars)
      ts_vec_push(vars, sv);
    return NULL;
  }
  int64_t want = 0;
  TS_RETURN_IF_ERROR(tsi_eval_int(c, decl, &want));
  if (want != actual)
    return ts_status_make(TS_ERR_RUNTIME, loc,
                          "match_buffer '%s': %s is %lld, the source region "
                          "gives %lld",
                          bufname, field, (long long)want, (long long)actual);
  return NULL;
}

static ts_status *bind_match_buffer(tsi_ctx *c, const ts_match_buffer *mb,
                                    ts_loc loc, tsi_buf **out, var_vec *vars) {
  const ts_buffer *b = mb->buffer;
  const ts_region *r = &mb->source;
  tsi_buf tmp, *src = NULL;
  TS_RETURN_IF_ERROR(buf_view(c, r->buffer, loc, &tmp, &src));
  int n = src->ndim, k = b->ndim;
  if (r->n != n || k > n)
    return ts_status_make(TS_ERR_RUNTIME, loc,
                          "match_buffer '%s': a %d-D buffer cannot match a "
                          "%d-D region of '%s'",
                          b->name, k, r->n, r->buffer->name);
  if (!dtype_supported(b->dtype))
    return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                          "match_buffer '%s': unsupported dtype", b->name);
  int64_t mins[TS_MAX_NDIM], exts[TS_MAX_NDIM];
  int64_t off = src->elem_offset;
  for (int d = 0; d < n; d++) {
    TS_RETURN_IF_ERROR(tsi_eval_int(c, r->ranges[d].min, &mins[d]));
    TS_RETURN_IF_ERROR(tsi_eval_int(c, r->ranges[d].extent, &exts[d]));
    if (mins[d] < 0 || exts[d] < 0 || mins[d] + exts[d] > src->shape[d])
      return ts_status_make(TS_ERR_RUNTIME, loc,
                            "match_buffer '%s': region [%lld:%lld] of '%s' is "
                            "out of bounds for dimension %d of extent %lld",
                            b->name, (long long)mins[d],
                            (long long)(mins[d] + exts[d]), r->buffer->name, d,
                            (long long)src->shape[d]);
    off += mins[d] * src->strides[d];
  }
  tsi_buf *v = ts_xcalloc(1, sizeof(*v));
  v->data = src->data;
  v->nbytes = src->nbytes;
  v->dtype = b->dtype;
  v->ndim = k;
  v->elem_offset = off;
  ts_status *st = NULL;
  for (int j = 0; j < k && !st; j++) {
    int d = n - k + j;
    v->shape[j] = exts[d];
    v->strides[j] = src->strides[d];
    st =
        match_field(c, b->shape[j], exts[d], vars, loc, b->name, "a dimension");
    if (!st && b->strides)
      st = match_field(c, b->strides[j], src->strides[d], vars, loc, b->name,
                       "a stride");
  }
  if (!st)
    st = match_field(c, b->elem_offset, off, vars, loc, b->name, "elem_offset");
  if (st) {
    free(v);
    return st;
  }
  *out = v;
  return NULL;
}

static ts_status *exec_block(tsi_ctx *c, const ts_stmt *s) {
  const ts_block *blk = s->u.realize.block;
  ts_loc loc = pick_loc(c, blk->loc.line ? blk->loc : s->loc);
  if (s->u.realize.predicate) {
    tsi_val p = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, s->u.realize.predicate, &p));
    if (!as_i(p, s->u.realize.predicate->dtype))
      return NULL;
  }
  int n = blk->n_iter_vars;
  tsi_val vals_small[8];
  tsi_slot olds_small[8];
  tsi_val *vals = n <= 8 ? vals_small : ts_xcalloc((size_t)n, sizeof(*vals));
  tsi_slot *olds = n <= 8 ? olds_small : ts_xcalloc((size_t)n, sizeof(*olds));
  ts_status *st = NULL;
  for (int k = 0; k < n && !st; k++) {
    st = tsi_eval(c, s->u.realize.iter_values[k], &vals[k]);
    if (!st)
      vals[k] = cast_val(blk->iter_vars[k].var->dtype,
                         s->u.realize.iter_values[k]->dtype, vals[k]);
  }
  if (st) {
    if (vals != vals_small)
      free(vals);
    if (olds != olds_small)
      free(olds);
    return st;
  }
  for (int k = 0; k < n; k++)
    tsi_var_bind(c, blk->iter_vars[k].var, vals[k], &olds[k]);

  save_vec saves = {0};
  var_vec vsaves = {0};
  TS_VEC(tsi_buf *) views = {0};
  for (int i = 0; i < blk->n_alloc_buffers && !st; i++) {
    tsi_buf *v = NULL;
    const ts_buffer *b = blk->alloc_buffers[i];
    st = alloc_view(c, b, loc, &v);
    if (st)
      break;
    ts_vec_push(&views, v);
    buf_save sv;
    bind_buf(c, b, v, &sv);
    ts_vec_push(&saves, sv);
    if (b->data) {
      bind_buf(c, b->data, v, &sv);
      ts_vec_push(&saves, sv);
    }
  }
  for (int i = 0; i < blk->n_match_buffers && !st; i++) {
    tsi_buf *v = NULL;
    const ts_buffer *b = blk->match_buffers[i].buffer;
    st = bind_match_buffer(c, &blk->match_buffers[i], loc, &v, &vsaves);
    if (st)
      break;
    ts_vec_push(&views, v);
    buf_save sv;
    bind_buf(c, b, v, &sv);
    ts_vec_push(&saves, sv);
    if (b->data) {
      bind_buf(c, b->data, v, &sv);
      ts_vec_push(&saves, sv);
    }
  }
  if (!st && blk->init) {
    bool run = true;
    for (int k = 0; k < n && run && !st; k++) {
      if (blk->iter_vars[k].type != TS_ITER_REDUCE)
        continue;
      int64_t mn = 0;
      if (blk->iter_vars[k].dom.min)
        st = tsi_eval_int(c, blk->iter_vars[k].dom.min, &mn);
      if (as_i(vals[k], blk->iter_vars[k].var->dtype) != mn)
        run = false;
    }
    if (!st && run)
      st = exec(c, blk->init);
  }
  if (!st && blk->body)
    st = exec(c, blk->body);

  for (size_t i = saves.len; i-- > 0;)
    unbind_buf(c, &saves.data[i]);
  for (size_t i = 0; i < views.len; i++)
    free_view(views.data[i]);
  for (size_t i = vsaves.len; i-- > 0;)
    tsi_var_restore(c, vsaves.data[i].var, vsaves.data[i].old);
  for (int k = n; k-- > 0;)
    tsi_var_restore(c, blk->iter_vars[k].var, olds[k]);
  ts_vec_free(&saves);
  ts_vec_free(&vsaves);
  ts_vec_free(&views);
  if (vals != vals_small)
    free(vals);
  if (olds != olds_small)
    free(olds);
  return st;
}

static ts_status *exec_for(tsi_ctx *c, const ts_stmt *s) {
  int64_t mn = 0, ext = 0;
  TS_RETURN_IF_ERROR(tsi_eval_int(c, s->u.for_.min, &mn));
  TS_RETURN_IF_ERROR(tsi_eval_int(c, s->u.for_.extent, &ext));
  const ts_var *var = s->u.for_.var;
  tsi_slot *slot = var_slot(c, var);
  tsi_slot old = *slot;
  ts_status *st = NULL;
  for (int64_t i = 0; i < ext && !st; i++) {
    slot->defined = true;
    slot->v.i = wrap_int(var->dtype, mn + i);
    slot->v.f = 0;
    st = exec(c, s->u.for_.body);
  }
  *slot = old;
  return st;
}

static ts_status *exec(tsi_ctx *c, const ts_stmt *s) {
  if (!s)
    return NULL;
  if (s->loc.line > 0)
    c->cur_loc = s->loc;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      TS_RETURN_IF_ERROR(exec(c, s->u.seq.stmts[i]));
    return NULL;
  case TS_S_FOR:
    return exec_for(c, s);
  case TS_S_BLOCK_REALIZE:
    return exec_block(c, s);
  case TS_S_STORE: {
    const ts_buffer *b = s->u.store.buffer;
    tsi_val v = {0, 0};
    char *p;
    TS_RETURN_IF_ERROR(tsi_eval(c, s->u.store.value, &v));
    TS_RETURN_IF_ERROR(elem_ptr(c, b, s->u.store.indices, s->u.store.n,
                                pick_loc(c, s->loc), &p));
    store_elem(p, b->dtype, cast_val(b->dtype, s->u.store.value->dtype, v));
    return NULL;
  }
  case TS_S_IF: {
    tsi_val cv = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, s->u.if_.cond, &cv));
    if (as_i(cv, s->u.if_.cond->dtype))
      return exec(c, s->u.if_.then_s);
    return exec(c, s->u.if_.else_s);
  }
  case TS_S_LET: {
    tsi_val v = {0, 0};
    tsi_slot old;
    TS_RETURN_IF_ERROR(tsi_eval(c, s->u.let.value, &v));
    v = cast_val(s->u.let.var->dtype, s->u.let.value->dtype, v);
    tsi_var_bind(c, s->u.let.var, v, &old);
    ts_status *st = exec(c, s->u.let.body);
    tsi_var_restore(c, s->u.let.var, old);
    return st;
  }
  case TS_S_EVALUATE: {
    tsi_val v = {0, 0};
    return tsi_eval(c, s->u.eval.value, &v);
  }
  case TS_S_ALLOCATE: {
    const ts_buffer *b = s->u.alloc.buffer;
    tsi_buf *v = NULL;
    buf_save s1 = {0}, s2 = {0};
    TS_RETURN_IF_ERROR(alloc_view(c, b, pick_loc(c, s->loc), &v));
    bind_buf(c, b, v, &s1);
    bind_buf(c, b->data, v, &s2);
    ts_status *st = exec(c, s->u.alloc.body);
    unbind_buf(c, &s2);
    unbind_buf(c, &s1);
    free_view(v);
    return st;
  }
  case TS_S_ASSERT: {
    tsi_val cv = {0, 0};
    TS_RETURN_IF_ERROR(tsi_eval(c, s->u.assert_.cond, &cv));
    if (!as_i(cv, s->u.assert_.cond->dtype))
      return ts_status_make(TS_ERR_RUNTIME, pick_loc(c, s->loc),
                            "assertion failed: %s",
                            s->u.assert_.message ? s->u.assert_.message : "");
    return exec(c, s->u.assert_.body);
  }
  }
  TS_UNREACHABLE();
}

/* ---- entry point
 * ---------------------------------------------------------------------- */

static const char *value_kind_name(ts_value_kind k) {
  switch (k) {
  case TS_VAL_NONE:
    return "None";
  case TS_VAL_TENSOR:
    return "a tensor";
  case TS_VAL_INT:
    return "an integer";
  case TS_VAL_FLOAT:
    return "a float";
  case TS_VAL_STR:
    return "a string";
  }
  return "?";
}

static const char *param_name(const ts_param *p) {
  return p->buffer ? p->buffer->name : p->var->name;
}

/* A declared stride or elem_offset of a buffer parameter against the
 * compact array's value. */
static ts_status *bind_param_field(tsi_ctx *c, const ts_expr *decl,
                                   int64_t actual, ts_loc loc, const char *name,
                                   const char *field, int dim) {
  if (decl->kind == TS_E_VAR && !tsi_var_get(c, decl->u.var)) {
    tsi_val v = {wrap_int(decl->u.var->dtype, actual), 0};
    tsi_var_bind(c, decl->u.var, v, NULL);
    return NULL;
  }
  int64_t want = 0;
  TS_RETURN_IF_ERROR(tsi_eval_int(c, decl, &want));
  if (want == actual)
    return NULL;
  char d[32] = "";
  if (dim >= 0)
    snprintf(d, sizeof d, " %d", dim);
  return ts_status_make(TS_ERR_TYPE, loc,
                        "parameter '%s': %s%s is %lld, the (compact) array "
                        "has %lld",
                        name, field, d, (long long)want, (long long)actual);
}

/* Checks and binds the arguments; views[i] gets a heap view per buffer
 * parameter. */
static ts_status *bind_params(tsi_ctx *c, const ts_primfunc *f,
                              const ts_value *args, tsi_buf **views) {
  char what[256], d1[32], d2[32];
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < f->n_params; i++) {
      const ts_param *p = &f->params[i];
      const ts_buffer *b = p->buffer;
      ts_loc loc = (b && b->loc.line) ? b->loc : f->loc;
      if (p->var && p->var->loc.line && !b)
        loc = p->var->loc;
      snprintf(what, sizeof what, "parameter '%s'", param_name(p));
      if (!b) {
        if (pass)
          continue;
        const ts_value *a = &args[i];
        ts_dtype vt = p->var->dtype;
        tsi_val v = {0, 0};
        if (a->kind == TS_VAL_INT && !ts_dtype_is_float(vt)) {
          v.i = wrap_int(vt, a->u.i);
        } else if (ts_dtype_is_float(vt) &&
                   (a->kind == TS_VAL_FLOAT || a->kind == TS_VAL_INT)) {
          v.f = tsi_round_float(vt, a->kind == TS_VAL_FLOAT ? a->u.f
                                                            : (double)a->u.i);
        } else {
          return ts_status_make(TS_ERR_TYPE, loc,
                                "%s: expected a scalar of type %s, "
                                "got %s",
                                what, ts_dtype_str(vt, d1),
                                value_kind_name(a->kind));
        }
        const tsi_val *prev = tsi_var_get(c, p->var);
        if (prev && (prev->i != v.i || prev->f != v.f))
          return ts_status_make(TS_ERR_TYPE, loc,
                                "%s: value %lld disagrees with the shape of an "
                                "earlier argument (%lld)",
                                what, (long long)v.i, (long long)prev->i);
        tsi_var_bind(c, p->var, v, NULL);
        continue;
      }
      const ts_ndarray *t = args[i].u.tensor;
      if (pass == 0) {
        if (args[i].kind != TS_VAL_TENSOR || !t)
          return ts_status_make(TS_ERR_TYPE, loc,
                                "%s: expected a tensor, got %s", what,
                                value_kind_name(args[i].kind));
        if (ts_ndarray_ndim(t) != b->ndim)
          return ts_status_make(TS_ERR_TYPE, loc,
                                "%s: expected rank %d, got rank %d", what,
                                b->ndim, ts_ndarray_ndim(t));
        if (!ts_dtype_eq(ts_ndarray_dtype(t), b->dtype))
          return ts_status_make(TS_ERR_TYPE, loc, "%s: expected %s, got %s",
                                what, ts_dtype_str(b->dtype, d1),
                                ts_dtype_str(ts_ndarray_dtype(t), d2));
      }
      TS_RETURN_IF_ERROR(tsi_match_shape(c, what, "argument", loc, b->shape,
                                         b->ndim, ts_ndarray_shape(t),
                                         pass == 1));
    }
  }
  for (int i = 0; i < f->n_params; i++) {
    const ts_param *p = &f->params[i];
    const ts_buffer *b = p->buffer;
    if (!b)
      continue;
    ts_loc loc = b->loc.line ? b->loc : f->loc;
    const ts_ndarray *t = args[i].u.tensor;
    tsi_buf *v = ts_xcalloc(1, sizeof(*v));
    views[i] = v;
    if (b->ndim > TS_MAX_NDIM || !dtype_supported(b->dtype))
      return ts_status_make(TS_ERR_UNSUPPORTED, loc,
                            "parameter '%s': unsupported buffer", b->name);
    v->data = ts_ndarray_data(t);
    v->nbytes = ts_ndarray_nbytes(t);
    v->dtype = b->dtype;
    v->ndim = b->ndim;
    /* Arrays are compact with no offset: declared strides and elem_offset
     * must agree (variables among them are bound), as TVM's argument
     * binding requires. */
    int64_t st = 1;
    for (int k = b->ndim - 1; k >= 0; k--) {
      v->shape[k] = ts_ndarray_shape(t)[k];
      v->strides[k] = st;
      if (b->strides)
        TS_RETURN_IF_ERROR(bind_param_field(c, b->strides[k], st, loc, b->name,
                                            "stride of dimension", k));
      st *= v->shape[k];
    }
    if (b->elem_offset)
      TS_RETURN_IF_ERROR(bind_param_field(c, b->elem_offset, 0, loc, b->name,
                                          "elem_offset", -1));
  }
  return NULL;
}

void tsi_attach_source(const ts_module *m, ts_status *st) {
  if (!st || !m || !m->source_text)
    return;
  ts_loc loc = ts_status_loc(st);
  if (loc.line <= 0)
    return;
  if (m->source_name && loc.file && strcmp(m->source_name, loc.file) != 0)
    return;
  const char *p = m->source_text;
  for (int line = 1; line < loc.line && p; line++) {
    p = strchr(p, '\n');
    if (p)
      p++;
  }
  if (p)
    ts_status_set_source_line(st, p);
}

ts_status *ts_interp_primfunc(ts_module *m, ts_primfunc *f,
                              const ts_value *args, int n_args) {
  if (n_args != f->n_params)
    return ts_status_make(TS_ERR_TYPE, f->loc,
                          "%s expects %d argument%s, got %d", f->name,
                          f->n_params, f->n_params == 1 ? "" : "s", n_args);
  tsi_ctx c;
  tsi_ctx_init(&c, m);
  c.cur_loc = f->loc;
  tsi_buf **views =
      ts_xcalloc(f->n_params ? (size_t)f->n_params : 1, sizeof(*views));
  ts_status *st = bind_params(&c, f, args, views);
  if (!st) {
    for (int i = 0; i < f->n_params; i++) {
      if (!views[i])
        continue;
      const ts_param *p = &f->params[i];
      buf_save sv;
      bind_buf(&c, p->buffer, views[i], &sv);
      if (p->buffer->data)
        bind_buf(&c, p->buffer->data, views[i], &sv);
      if (p->var && p->var != p->buffer->data)
        bind_buf(&c, p->var, views[i], &sv);
    }
    st = exec(&c, f->body);
  }
  /* Parameter views are not owned (data is the caller's); unbind them and
   * free the structs here, so that tsi_ctx_free finds nothing left. */
  for (int i = 0; i < f->n_params; i++) {
    if (!views[i])
      continue;
    const ts_param *p = &f->params[i];
    ts_ptrmap_remove(&c.bufs, p->buffer);
    if (p->buffer->data)
      ts_ptrmap_remove(&c.bufs, p->buffer->data);
    if (p->var)
      ts_ptrmap_remove(&c.bufs, p->var);
    free(views[i]);
  }
  free(views);
  tsi_ctx_free(&c);
  tsi_attach_source(m, st);
  return st;
}
