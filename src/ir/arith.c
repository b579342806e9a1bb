/* arith.c: bound-aware simplification of integer index expressions.
 *
 * An index written through a blocked layout reads like
 * `(fo * 16 + fi) // 16` once the block's bindings are substituted; with
 * fi known to lie in [0, 16) it is `fo`, and the matching `% 16` is `fi`.
 * ts_expr_simplify_index does that rewriting, as TVM's arith analyzer does
 * when TensorIR is lowered: it views an integer expression as an affine sum
 * of terms (variables and sub-expressions it cannot see through) with
 * integer coefficients, and rewrites floordiv/floormod by a positive
 * constant k when the part of the sum not divisible by k provably lies in
 * [0, k).  Ranges come from the caller (loop variables).  Anything it cannot
 * prove is left as written, so the result always equals the input. */
#include <stdlib.h>
#include <string.h>

#include "ir/arith.h"

enum { AFF_MAX = 24 };

static bool range_of(const ts_expr *e, const ts_ptrmap *ranges, int64_t *lo,
                     int64_t *hi);

typedef struct affine {
  int n;
  ts_expr *term[AFF_MAX];
  int64_t coef[AFF_MAX];
  int64_t c;
  bool ok;
} affine;

static bool is_int_dtype(ts_dtype t) {
  return (t.code == TS_INT || t.code == TS_UINT) && t.lanes == 1;
}

/* a * b and a + b without overflow (false on overflow). */
static bool mul_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static bool add_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

static void aff_add_term(affine *f, ts_expr *t, int64_t k) {
  if (!f->ok || k == 0)
    return;
  for (int i = 0; i < f->n; i++)
    if (f->term[i] == t || ts_expr_same(f->term[i], t)) {
      if (!add_ok(f->coef[i], k, &f->coef[i]))
        f->ok = false;
      return;
    }
  if (f->n == AFF_MAX) {
    f->ok = false;
    return;
  }
  f->term[f->n] = t;
  f->coef[f->n++] = k;
}

/* f += k * e */
static void linearize(affine *f, ts_expr *e, int64_t k) {
  if (!f->ok)
    return;
  int64_t v;
  switch (e->kind) {
  case TS_E_INT: {
    int64_t p;
    if (!mul_ok(e->u.int_value, k, &p) || !add_ok(f->c, p, &f->c))
      f->ok = false;
    return;
  }
  case TS_E_ADD:
    linearize(f, e->u.bin.a, k);
    linearize(f, e->u.bin.b, k);
    return;
  case TS_E_SUB: {
    int64_t nk;
    if (!mul_ok(k, -1, &nk)) {
      f->ok = false;
      return;
    }
    linearize(f, e->u.bin.a, k);
    linearize(f, e->u.bin.b, nk);
    return;
  }
  case TS_E_MUL: {
    int64_t p;
    if (ts_expr_is_const_int(e->u.bin.b, &v)) {
      if (!mul_ok(k, v, &p))
        f->ok = false;
      else
        linearize(f, e->u.bin.a, p);
      return;
    }
    if (ts_expr_is_const_int(e->u.bin.a, &v)) {
      if (!mul_ok(k, v, &p))
        f->ok = false;
      else
        linearize(f, e->u.bin.b, p);
      return;
    }
    break;
  }
  default:
    break;
  }
  aff_add_term(f, e, k);
}

/* The range [lo, hi] of an expression; false when unknown. */
bool ts_expr_range(const ts_expr *e, const ts_ptrmap *ranges, int64_t *lo,
                   int64_t *hi) {
  return e && is_int_dtype(e->dtype) && range_of(e, ranges, lo, hi);
}

static bool range_of(const ts_expr *e, const ts_ptrmap *ranges, int64_t *lo,
                     int64_t *hi) {
  int64_t al, ah, bl, bh, k;
  switch (e->kind) {
  case TS_E_INT:
    *lo = *hi = e->u.int_value;
    return true;
  case TS_E_VAR: {
    const int64_t *r = ts_ptrmap_get(ranges, e->u.var);
    if (!r)
      return false;
    *lo = r[0];
    *hi = r[1];
    return true;
  }
  case TS_E_ADD:
    return range_of(e->u.bin.a, ranges, &al, &ah) &&
           range_of(e->u.bin.b, ranges, &bl, &bh) && add_ok(al, bl, lo) &&
           add_ok(ah, bh, hi);
  case TS_E_SUB:
    return range_of(e->u.bin.a, ranges, &al, &ah) &&
           range_of(e->u.bin.b, ranges, &bl, &bh) &&
           !__builtin_sub_overflow(al, bh, lo) &&
           !__builtin_sub_overflow(ah, bl, hi);
  case TS_E_MUL: {
    if (!range_of(e->u.bin.a, ranges, &al, &ah) ||
        !range_of(e->u.bin.b, ranges, &bl, &bh))
      return false;
    int64_t p[4];
    if (!mul_ok(al, bl, &p[0]) || !mul_ok(al, bh, &p[1]) ||
        !mul_ok(ah, bl, &p[2]) || !mul_ok(ah, bh, &p[3]))
      return false;
    *lo = *hi = p[0];
    for (int i = 1; i < 4; i++) {
      if (p[i] < *lo)
        *lo = p[i];
      if (p[i] > *hi)
        *hi = p[i];
    }
    return true;
  }
  case TS_E_FLOORDIV:
    if (!ts_expr_is_const_int(e->u.bin.b, &k) || k <= 0 ||
        !range_of(e->u.bin.a, ranges, &al, &ah))
      return false;
    *lo = al >= 0 ? al / k : -((-al + k - 1) / k);
    *hi = ah >= 0 ? ah / k : -((-ah + k - 1) / k);
    return true;
  case TS_E_FLOORMOD:
    if (!ts_expr_is_const_int(e->u.bin.b, &k) || k <= 0)
      return false;
    *lo = 0;
    *hi = k - 1;
    return true;
  default:
    return false;
  }
}

static bool aff_range(const affine *f, int64_t skip_divisible_by,
                      const ts_ptrmap *ranges, int64_t *lo, int64_t *hi) {
  *lo = *hi = 0;
  for (int i = 0; i < f->n; i++) {
    if (skip_divisible_by && f->coef[i] % skip_divisible_by == 0)
      continue;
    int64_t tl, th, p, q;
    if (!range_of(f->term[i], ranges, &tl, &th))
      return false;
    if (!mul_ok(f->coef[i], tl, &p) || !mul_ok(f->coef[i], th, &q))
      return false;
    if (p > q) {
      int64_t t = p;
      p = q;
      q = t;
    }
    if (!add_ok(*lo, p, lo) || !add_ok(*hi, q, hi))
      return false;
  }
  return true;
}

static ts_expr *aff_build(ts_arena *a, ts_dtype dt, ts_expr **terms,
                          const int64_t *coefs, int n, int64_t c) {
  ts_expr *r = NULL;
  for (int i = 0; i < n; i++) {
    if (coefs[i] == 0)
      continue;
    ts_expr *t = coefs[i] == 1 ? terms[i]
                               : ts_binary(a, TS_E_MUL, terms[i],
                                           ts_int(a, dt, coefs[i]));
    r = r ? ts_binary(a, TS_E_ADD, r, t) : t;
  }
  if (!r)
    return ts_int(a, dt, c);
  if (c)
    r = ts_binary(a, TS_E_ADD, r, ts_int(a, dt, c));
  return r;
}

static int64_t floordiv64(int64_t x, int64_t k) {
  int64_t q = x / k;
  return (x % k != 0 && x < 0) ? q - 1 : q;
}

ts_expr *ts_expr_simplify_index(ts_arena *a, ts_expr *e,
                                const ts_ptrmap *ranges) {
  if (!e || !is_int_dtype(e->dtype))
    return e;
  switch (e->kind) {
  case TS_E_ADD:
  case TS_E_SUB:
  case TS_E_MUL:
  case TS_E_MIN:
  case TS_E_MAX: {
    ts_expr *x = ts_expr_simplify_index(a, e->u.bin.a, ranges);
    ts_expr *y = ts_expr_simplify_index(a, e->u.bin.b, ranges);
    if (x == e->u.bin.a && y == e->u.bin.b)
      return e;
    ts_expr *r = ts_binary(a, e->kind, x, y);
    r->dtype = e->dtype;
    return ts_expr_simplify_const(a, r);
  }
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: {
    int64_t k;
    ts_expr *x = ts_expr_simplify_index(a, e->u.bin.a, ranges);
    if (!ts_expr_is_const_int(e->u.bin.b, &k) || k <= 0) {
      if (x == e->u.bin.a)
        return e;
      ts_expr *r = ts_binary(a, e->kind, x, e->u.bin.b);
      r->dtype = e->dtype;
      return r;
    }
    affine f = {.ok = true};
    linearize(&f, x, 1);
    int64_t lo, hi;
    if (f.ok) {
      /* x = k * (Q + cq) + (R + cr), cr in [0, k) */
      int64_t cq = floordiv64(f.c, k), cr = f.c - cq * k;
      if (aff_range(&f, k, ranges, &lo, &hi) &&
          add_ok(lo, cr, &lo) && add_ok(hi, cr, &hi) && lo >= 0 && hi < k) {
        ts_expr *terms[AFF_MAX];
        int64_t coefs[AFF_MAX];
        int n = 0;
        for (int i = 0; i < f.n; i++) {
          bool div = f.coef[i] % k == 0;
          if (e->kind == TS_E_FLOORDIV ? !div : div)
            continue;
          terms[n] = f.term[i];
          coefs[n++] = e->kind == TS_E_FLOORDIV ? f.coef[i] / k : f.coef[i];
        }
        return aff_build(a, e->dtype, terms, coefs, n,
                         e->kind == TS_E_FLOORDIV ? cq : cr);
      }
    }
    /* (y // p) // k == y // (p * k) */
    int64_t p, pk;
    if (e->kind == TS_E_FLOORDIV && x->kind == TS_E_FLOORDIV &&
        ts_expr_is_const_int(x->u.bin.b, &p) && p > 0 && mul_ok(p, k, &pk)) {
      ts_expr *r =
          ts_binary(a, TS_E_FLOORDIV, x->u.bin.a, ts_int(a, e->dtype, pk));
      r->dtype = e->dtype;
      return ts_expr_simplify_index(a, r, ranges);
    }
    if (x == e->u.bin.a)
      return e;
    ts_expr *r = ts_binary(a, e->kind, x, e->u.bin.b);
    r->dtype = e->dtype;
    return r;
  }
  case TS_E_CAST: {
    ts_expr *x = ts_expr_simplify_index(a, e->u.unary.a, ranges);
    if (x == e->u.unary.a)
      return e;
    ts_expr *r = ts_arena_alloc(a, sizeof *r);
    *r = *e;
    r->u.unary.a = x;
    return r;
  }
  default:
    return e;
  }
}
