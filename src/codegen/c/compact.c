/* compact.c: which intermediate buffers can live in one slice per loop
 * iteration (see compact.h).
 *
 * The accesses are found with the blocks' bindings substituted, so each
 * index is an expression of loop variables.  A dimension collapses when
 * every access indexes it with the same expression of the holding loop's
 * variable alone; the others are kept whole.  The collapsed indices are
 * then evaluated at every value of the loop variable: distinct iterations
 * must give distinct slices (else two iterations would share elements, and
 * a value could flow from one to the other). */
#include "compact.h"

#include <stdlib.h>
#include <string.h>

#include "ir/arith.h"
#include "ir/ir_util.h"

/* The most loops around the holding loop whose variables may index the
 * collapsed dimensions too (the loops from the block's body down to it). */
#define MAX_OUTER 8

typedef struct scan {
  ts_arena *a;
  const ts_buffer *buf;
  const ts_var *lv; /* the holding loop's variable */
  const ts_var *outer[MAX_OUTER]; /* the loops around it (fixed per slice) */
  int n_outer;
  ts_ptrmap bind;   /* block iteration variable -> its value (loop variables) */
  ts_ptrmap ranges; /* loop variable -> int64_t[2] (arith.h), the holding loop's
                       too */
  bool ok, seen;
  bool kept[TS_MAX_NDIM];
  const ts_expr *key[TS_MAX_NDIM];
} scan;

static bool other_var(const ts_expr *e, void *ctx) {
  scan *s = ctx;
  if (e->kind == TS_E_VAR && e->u.var != s->lv) {
    bool outer = false;
    for (int i = 0; i < s->n_outer; i++)
      outer |= e->u.var == s->outer[i];
    if (!outer)
      s->seen = true;
  }
  return true;
}

static void access(scan *s, ts_expr *const *idx, int n) {
  if (n != s->buf->ndim) {
    s->ok = false;
    return;
  }
  for (int d = 0; d < n; d++) {
    ts_expr *e = ts_expr_simplify_const(
        s->a, ts_expr_substitute(s->a, idx[d], &s->bind));
    e = ts_expr_simplify_const(s->a,
                               ts_expr_simplify_index(s->a, e, &s->ranges));
    bool saved = s->seen;
    s->seen = false;
    ts_expr_visit(e, other_var, s);
    bool inner = s->seen;
    s->seen = saved;
    if (inner)
      s->kept[d] = true;
    else if (!s->key[d])
      s->key[d] = e;
    else if (!ts_expr_same(s->key[d], e))
      s->kept[d] = true;
  }
}

static bool expr_access(const ts_expr *e, void *ctx) {
  scan *s = ctx;
  if (e->kind == TS_E_LOAD && e->u.load.buffer == s->buf)
    access(s, e->u.load.indices, e->u.load.n);
  return true;
}

static void scan_expr(scan *s, const ts_expr *e) {
  if (e)
    ts_expr_visit(e, expr_access, s);
}

static void put_range(scan *s, const ts_var *v, const ts_expr *min,
                      const ts_expr *extent) {
  int64_t lo, n;
  if (!ts_expr_is_const_int(min, &lo) || !ts_expr_is_const_int(extent, &n) ||
      n < 1)
    return;
  int64_t *r = ts_arena_alloc(s->a, 2 * sizeof(int64_t));
  r[0] = lo;
  r[1] = lo + n - 1;
  ts_ptrmap_put(&s->ranges, v, r);
}

static void scan_stmt(scan *s, const ts_stmt *st) {
  if (!st || !s->ok)
    return;
  switch (st->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < st->u.seq.n; i++)
      scan_stmt(s, st->u.seq.stmts[i]);
    return;
  case TS_S_FOR: {
    scan_expr(s, st->u.for_.min);
    scan_expr(s, st->u.for_.extent);
    put_range(s, st->u.for_.var, st->u.for_.min, st->u.for_.extent);
    /* a unit loop is its minimum */
    int64_t one;
    if (ts_expr_is_const_int(st->u.for_.extent, &one) && one == 1)
      ts_ptrmap_put(&s->bind, st->u.for_.var, st->u.for_.min);
    scan_stmt(s, st->u.for_.body);
    return;
  }
  case TS_S_BLOCK_REALIZE: {
    const ts_block *b = st->u.realize.block;
    for (int i = 0; i < b->n_iter_vars; i++) {
      scan_expr(s, st->u.realize.iter_values[i]);
      ts_ptrmap_put(
          &s->bind, b->iter_vars[i].var,
          ts_expr_substitute(s->a, st->u.realize.iter_values[i], &s->bind));
    }
    scan_expr(s, st->u.realize.predicate);
    for (int i = 0; i < b->n_match_buffers; i++)
      if (b->match_buffers[i].source.buffer == s->buf)
        s->ok = false;
    scan_stmt(s, b->init);
    scan_stmt(s, b->body);
    return;
  }
  case TS_S_STORE:
    for (int i = 0; i < st->u.store.n; i++)
      scan_expr(s, st->u.store.indices[i]);
    scan_expr(s, st->u.store.value);
    if (st->u.store.buffer == s->buf)
      access(s, st->u.store.indices, st->u.store.n);
    return;
  case TS_S_IF:
    scan_expr(s, st->u.if_.cond);
    scan_stmt(s, st->u.if_.then_s);
    scan_stmt(s, st->u.if_.else_s);
    return;
  case TS_S_LET:
    scan_expr(s, st->u.let.value);
    scan_stmt(s, st->u.let.body);
    return;
  case TS_S_EVALUATE:
    scan_expr(s, st->u.eval.value);
    return;
  default:
    s->ok = false;
    return;
  }
}

/* Whether a statement mentions the buffer at all. */
typedef struct refs {
  const ts_buffer *buf;
  bool found;
} refs;

static bool ref_expr(const ts_expr *e, void *ctx) {
  refs *r = ctx;
  if (e->kind == TS_E_LOAD && e->u.load.buffer == r->buf)
    r->found = true;
  return !r->found;
}

static bool ref_stmt(const ts_stmt *st, void *ctx) {
  refs *r = ctx;
  if (st->kind == TS_S_STORE && st->u.store.buffer == r->buf)
    r->found = true;
  if (st->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = st->u.realize.block;
    for (int i = 0; i < b->n_match_buffers; i++)
      if (b->match_buffers[i].source.buffer == r->buf)
        r->found = true;
  }
  return !r->found;
}

static bool mentions(const ts_stmt *st, const ts_buffer *b) {
  refs r = {b, false};
  if (st)
    ts_stmt_visit(st, ref_stmt, ref_expr, &r);
  return r.found;
}

/* Whether `loop` (inside the loops `outer`, outermost first) can hold
 * one slice of `b` per iteration: 1 (and *out filled), 0 when its slice is
 * too big (a loop inside may do), -1 when no loop inside can (an access it
 * cannot analyse, or iterations sharing a slice). */
static int compact_at(ts_arena *scratch, const ts_buffer *b, const int64_t *shape,
                      const ts_stmt *const *outer, int n_outer, const ts_stmt *loop,
                      int64_t max_bytes, ts_compact *out) {
  int64_t lo, ext;
  if (!ts_expr_is_const_int(loop->u.for_.min, &lo) ||
      !ts_expr_is_const_int(loop->u.for_.extent, &ext) || ext < 1 ||
      ext > (1 << 16))
    return -1;
  scan s = {.a = scratch, .buf = b, .lv = loop->u.for_.var, .ok = true,
            .n_outer = n_outer};
  /* the iterations of the loops around and of this one, all of them */
  int64_t olo[MAX_OUTER], oext[MAX_OUTER], total = ext;
  for (int i = 0; i < n_outer; i++) {
    const ts_stmt *o = outer[i];
    if (!ts_expr_is_const_int(o->u.for_.min, &olo[i]) ||
        !ts_expr_is_const_int(o->u.for_.extent, &oext[i]) || oext[i] < 1)
      return -1;
    total *= oext[i];
    if (total > (1 << 16))
      return -1;
    s.outer[i] = o->u.for_.var;
  }
  if (total < 2)
    return 0;
  /* (the maps filled from here on: no return before they are freed) */
  for (int i = 0; i < n_outer; i++)
    put_range(&s, outer[i]->u.for_.var, outer[i]->u.for_.min, outer[i]->u.for_.extent);
  put_range(&s, s.lv, loop->u.for_.min, loop->u.for_.extent);
  scan_stmt(&s, loop->u.for_.body);
  ts_ptrmap_free(&s.bind);
  ts_ptrmap_free(&s.ranges);
  int nc = 0;
  int64_t bytes = (int64_t)ts_dtype_bytes(b->dtype);
  for (int d = 0; d < b->ndim; d++) {
    if (!s.key[d])
      s.kept[d] = true; /* never accessed: keep (cannot happen) */
    if (s.kept[d])
      bytes *= shape[d];
    else
      nc++;
  }
  if (!s.ok)
    return -1;
  if (nc == 0 || bytes > max_bytes)
    return 0;
  /* distinct iterations, distinct slices: each slice (its collapsed
   * indices as one flat number) marked once in a bitmap */
  int64_t slices = 1;
  for (int d = 0; d < b->ndim; d++)
    if (!s.kept[d])
      slices *= shape[d];
  uint8_t *used = calloc((size_t)(slices / 8 + 1), 1);
  bool ok = used != NULL;
  ts_ptrmap at = {0};
  for (int64_t it = 0; ok && it < total; it++) {
    int64_t rest = it;
    ts_ptrmap_put(&at, s.lv, ts_int(scratch, s.lv->dtype, lo + rest % ext));
    rest /= ext;
    for (int i = n_outer - 1; i >= 0; i--) {
      ts_ptrmap_put(&at, s.outer[i], ts_int(scratch, s.outer[i]->dtype, olo[i] + rest % oext[i]));
      rest /= oext[i];
    }
    int64_t flat = 0;
    for (int d = 0; d < b->ndim && ok; d++) {
      if (s.kept[d])
        continue;
      ts_expr *v = ts_expr_simplify_const(
          scratch, ts_expr_substitute(scratch, (ts_expr *)s.key[d], &at));
      int64_t x = 0;
      ok = ts_expr_is_const_int(v, &x) && x >= 0 && x < shape[d];
      flat = flat * shape[d] + x;
    }
    if (ok) {
      ok = !(used[flat / 8] & (1u << (flat % 8)));
      used[flat / 8] |= (uint8_t)(1u << (flat % 8));
    }
  }
  ts_ptrmap_free(&at);
  free(used);
  if (!ok)
    return -1;
  out->loop = loop;
  memcpy(out->keep, s.kept, sizeof out->keep);
  out->bytes = bytes;
  return 1;
}

bool ts_compact_buffer(ts_arena *scratch, const ts_block *blk,
                       const ts_buffer *b, int64_t max_bytes, ts_compact *out) {
  if (!scratch || !blk->body || b->strides || b->ndim < 1 ||
      b->ndim > TS_MAX_NDIM ||
      (b->elem_offset &&
       !(b->elem_offset->kind == TS_E_INT && b->elem_offset->u.int_value == 0)))
    return false;
  int64_t shape[TS_MAX_NDIM];
  for (int d = 0; d < b->ndim; d++)
    if (!ts_expr_is_const_int(b->shape[d], &shape[d]) || shape[d] < 1)
      return false;
  if (mentions(blk->init, b))
    return false;
  /* the one statement of the body that uses the buffer: a loop; where its
   * slice is too big, the one loop of its body that uses the buffer, and so
   * on down, the loops above the holding one fixed per slice */
  const ts_stmt *outer[MAX_OUTER];
  int n_outer = 0;
  const ts_stmt *body = blk->body;
  for (;;) {
    const ts_stmt *loop = NULL;
    int n = body->kind == TS_S_SEQ ? body->u.seq.n : 1;
    for (int i = 0; i < n; i++) {
      const ts_stmt *st = body->kind == TS_S_SEQ ? body->u.seq.stmts[i] : body;
      if (!mentions(st, b))
        continue;
      if (loop || st->kind != TS_S_FOR)
        return false;
      loop = st;
    }
    /* (a slice declared in a loop's body: not in a vectorized or an
     * unrolled one) */
    if (!loop || (n_outer > 0 && loop->u.for_.kind != TS_FOR_SERIAL &&
                  loop->u.for_.kind != TS_FOR_PARALLEL))
      return false;
    int r = compact_at(scratch, b, shape, outer, n_outer, loop, max_bytes, out);
    if (r > 0)
      return true;
    if (r < 0 || n_outer == MAX_OUTER)
      return false;
    outer[n_outer++] = loop;
    body = loop->u.for_.body;
  }
}
