/* cache.c: cache_read, cache_write, set_scope, storage_align, and the small
 * helpers the primitives of cache.c, reduction.c, layout.c, blockize.c and
 * sampling.c share (declared in sch_internal.h, "helpers" section):
 * integer bounds of affine index expressions, linear forms, scope lookup
 * and statement insertion.
 *
 * Cache stages follow TVM: the cache buffer has the shape of the original
 * buffer (CompactBufferAllocation shrinks it later), the copy block iterates
 * over the region the target block accesses, relaxed over every loop between
 * the block and its scope block, and is inserted among the scope's children:
 * cache_read after the last producer of the buffer that precedes the
 * consumer (or first), cache_write right after the writer's subtree. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"

/* ======================================================================
 * helpers
 * ====================================================================== */

bool sch_bounds(const ts_expr *e, const ts_ptrmap *env, int64_t *lo,
                int64_t *hi) {
  int64_t al, ah, bl, bh;
  switch (e->kind) {
  case TS_E_INT: *lo = *hi = e->u.int_value; return true;
  case TS_E_VAR: {
    const int64_t *r = ts_ptrmap_get(env, e->u.var);
    if (!r) return false;
    *lo = r[0];
    *hi = r[1];
    return true;
  }
  case TS_E_CAST: return sch_bounds(e->u.unary.a, env, lo, hi);
  case TS_E_ADD:
  case TS_E_SUB:
  case TS_E_MUL:
  case TS_E_MIN:
  case TS_E_MAX:
    if (!sch_bounds(e->u.bin.a, env, &al, &ah) ||
        !sch_bounds(e->u.bin.b, env, &bl, &bh))
      return false;
    if (e->kind == TS_E_ADD) { *lo = al + bl; *hi = ah + bh; }
    else if (e->kind == TS_E_SUB) { *lo = al - bh; *hi = ah - bl; }
    else if (e->kind == TS_E_MIN) { *lo = al < bl ? al : bl; *hi = ah < bh ? ah : bh; }
    else if (e->kind == TS_E_MAX) { *lo = al > bl ? al : bl; *hi = ah > bh ? ah : bh; }
    else {
      int64_t c[4] = {al * bl, al * bh, ah * bl, ah * bh};
      *lo = *hi = c[0];
      for (int i = 1; i < 4; i++) {
        if (c[i] < *lo) *lo = c[i];
        if (c[i] > *hi) *hi = c[i];
      }
    }
    return true;
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD:
  case TS_E_DIV:
  case TS_E_MOD: {
    int64_t c;
    if (!ts_expr_is_const_int(e->u.bin.b, &c) || c <= 0) return false;
    if (!sch_bounds(e->u.bin.a, env, &al, &ah)) return false;
    bool floor_ = e->kind == TS_E_FLOORDIV || e->kind == TS_E_FLOORMOD;
    if (!floor_ && al < 0) return false;
    if (e->kind == TS_E_FLOORDIV || e->kind == TS_E_DIV) {
      *lo = al >= 0 ? al / c : -((-al + c - 1) / c);
      *hi = ah >= 0 ? ah / c : -((-ah + c - 1) / c);
      return true;
    }
    int64_t ql = al >= 0 ? al / c : -((-al + c - 1) / c);
    int64_t qh = ah >= 0 ? ah / c : -((-ah + c - 1) / c);
    if (ql == qh) {
      *lo = al - ql * c;
      *hi = ah - ql * c;
    } else {
      *lo = 0;
      *hi = c - 1;
    }
    return true;
  }
  default: return false;
  }
}

void sch_env_set(ts_arena *a, ts_ptrmap *env, const ts_var *v, int64_t lo,
                 int64_t hi) {
  int64_t *r = ts_arena_array(a, 2, sizeof(int64_t));
  r[0] = lo;
  r[1] = hi;
  ts_ptrmap_put(env, v, r);
}

/* ---- linear forms ------------------------------------------------------------ */

static int lin_find(sch_linear *l, const ts_var *v) {
  for (int i = 0; i < l->n; i++)
    if (l->vars[i] == v) return i;
  return -1;
}

static void lin_add(sch_linear *l, const ts_var *v, int64_t c) {
  int i = lin_find(l, v);
  if (i < 0) {
    if (l->n == SCH_LINEAR_MAX) {
      l->ok = false;
      return;
    }
    i = l->n++;
    l->vars[i] = v;
    l->coef[i] = 0;
  }
  l->coef[i] += c;
}

static void lin_rec(const ts_expr *e, int64_t scale, sch_linear *l) {
  if (!l->ok) return;
  int64_t c;
  switch (e->kind) {
  case TS_E_INT: l->c0 += scale * e->u.int_value; return;
  case TS_E_VAR: lin_add(l, e->u.var, scale); return;
  case TS_E_CAST: lin_rec(e->u.unary.a, scale, l); return;
  case TS_E_ADD:
    lin_rec(e->u.bin.a, scale, l);
    lin_rec(e->u.bin.b, scale, l);
    return;
  case TS_E_SUB:
    lin_rec(e->u.bin.a, scale, l);
    lin_rec(e->u.bin.b, -scale, l);
    return;
  case TS_E_MUL:
    if (ts_expr_is_const_int(e->u.bin.b, &c)) lin_rec(e->u.bin.a, scale * c, l);
    else if (ts_expr_is_const_int(e->u.bin.a, &c))
      lin_rec(e->u.bin.b, scale * c, l);
    else l->ok = false;
    return;
  default: l->ok = false; return;
  }
}

bool sch_linearize(const ts_expr *e, sch_linear *out) {
  memset(out, 0, sizeof *out);
  out->ok = true;
  lin_rec(e, 1, out);
  /* drop zero terms */
  int k = 0;
  for (int i = 0; i < out->n; i++)
    if (out->coef[i] != 0) {
      out->vars[k] = out->vars[i];
      out->coef[k++] = out->coef[i];
    }
  out->n = k;
  return out->ok;
}

int64_t sch_linear_coef(const sch_linear *l, const ts_var *v) {
  for (int i = 0; i < l->n; i++)
    if (l->vars[i] == v) return l->coef[i];
  return 0;
}

/* c0 + sum coef*var, printed the way TVM writes it (var * c + ...). */
ts_expr *sch_linear_expr(ts_arena *a, const sch_linear *l, ts_dtype t) {
  ts_expr *r = NULL;
  for (int i = 0; i < l->n; i++) {
    ts_expr *term = ts_varref(a, (ts_var *)l->vars[i]);
    int64_t c = l->coef[i];
    if (c < 0) {
      term = c == -1 ? term : ts_binary(a, TS_E_MUL, term, ts_int(a, t, -c));
      r = r ? ts_binary(a, TS_E_SUB, r, term)
            : ts_binary(a, TS_E_SUB, ts_int(a, t, 0), term);
      continue;
    }
    if (c != 1) term = ts_binary(a, TS_E_MUL, term, ts_int(a, t, c));
    r = r ? ts_binary(a, TS_E_ADD, r, term) : term;
  }
  if (!r) return ts_int(a, t, l->c0);
  if (l->c0 > 0) r = ts_binary(a, TS_E_ADD, r, ts_int(a, t, l->c0));
  if (l->c0 < 0) r = ts_binary(a, TS_E_SUB, r, ts_int(a, t, -l->c0));
  return r;
}

/* ---- uses ------------------------------------------------------------------------ */

static bool buf_region_hit(const ts_region *r, int n, const ts_buffer *b) {
  for (int i = 0; i < n; i++)
    if (r[i].buffer == b) return true;
  return false;
}

typedef struct acc_ctx {
  const ts_buffer *buf;
  const ts_stmt *skip; /* a block realize not counted */
  bool reads, writes;
} acc_ctx;

static bool acc_stmt(const ts_stmt *s, void *vc) {
  acc_ctx *c = vc;
  if (s == c->skip) return false;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    if (buf_region_hit(b->reads, b->n_reads, c->buf)) c->reads = true;
    if (buf_region_hit(b->writes, b->n_writes, c->buf)) c->writes = true;
  }
  if (s->kind == TS_S_STORE && s->u.store.buffer == c->buf) c->writes = true;
  return true;
}

static bool acc_expr(const ts_expr *e, void *vc) {
  acc_ctx *c = vc;
  if (e->kind == TS_E_LOAD && e->u.load.buffer == c->buf) c->reads = true;
  return true;
}

void sch_stmt_accesses(const ts_stmt *s, const ts_buffer *b,
                       const ts_stmt *skip, bool *reads, bool *writes) {
  acc_ctx c = {b, skip, false, false};
  if (s) ts_stmt_visit(s, acc_stmt, acc_expr, &c);
  /* loads under a skipped block were visited by acc_expr only when the block
   * was not skipped: ts_stmt_visit skips the children of a skipped node. */
  *reads = c.reads;
  *writes = c.writes;
}

bool sch_is_param_buffer(const ts_primfunc *f, const ts_buffer *b) {
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer == b) return true;
  return false;
}

/* ---- scope and insertion ------------------------------------------------------ */

ts_stmt *sch_scope_child(ts_primfunc *f, ts_stmt *node, ts_stmt **out_scope) {
  ts_stmt *scope = sch_enclosing_block(f, node);
  if (out_scope) *out_scope = scope;
  if (!scope) return NULL;
  ts_stmt *cur = node;
  for (;;) {
    ts_stmt *p = sch_parent(f, cur, NULL);
    if (!p || p == scope) return cur;
    if (p->kind == TS_S_SEQ) {
      ts_stmt *pp = sch_parent(f, p, NULL);
      if (pp == scope) return cur;
    }
    cur = p;
  }
}

void sch_insert_stmt(ts_arena *a, ts_primfunc *f, ts_stmt *anchor,
                     ts_stmt *stmt, bool after) {
  ts_stmt **slot = NULL;
  ts_stmt *p = sch_parent(f, anchor, &slot);
  TS_ASSERT(slot != NULL);
  if (p && p->kind == TS_S_SEQ) {
    int n = p->u.seq.n, pos = -1;
    for (int i = 0; i < n; i++)
      if (p->u.seq.stmts[i] == anchor) pos = i;
    TS_ASSERT(pos >= 0);
    if (after) pos++;
    ts_stmt **v = ts_arena_array(a, (size_t)n + 1, sizeof(ts_stmt *));
    memcpy(v, p->u.seq.stmts, (size_t)pos * sizeof(ts_stmt *));
    v[pos] = stmt;
    memcpy(v + pos + 1, p->u.seq.stmts + pos,
           (size_t)(n - pos) * sizeof(ts_stmt *));
    p->u.seq.stmts = v;
    p->u.seq.n = n + 1;
    return;
  }
  ts_stmt *pair[2] = {after ? anchor : stmt, after ? stmt : anchor};
  ts_stmt *seq = ts_stmt_new(a, TS_S_SEQ, anchor->loc);
  seq->u.seq.stmts = ts_arena_memdup(a, pair, sizeof pair);
  seq->u.seq.n = 2;
  *slot = seq;
}

void sch_block_add_alloc(ts_arena *a, ts_block *b, ts_buffer *buf) {
  ts_buffer **v =
      ts_arena_array(a, (size_t)b->n_alloc_buffers + 1, sizeof(ts_buffer *));
  if (b->n_alloc_buffers)
    memcpy(v, b->alloc_buffers, (size_t)b->n_alloc_buffers * sizeof(*v));
  v[b->n_alloc_buffers++] = buf;
  b->alloc_buffers = v;
}

ts_block *sch_block_allocating(ts_primfunc *f, const ts_buffer *buf,
                               ts_stmt **out_realize) {
  typedef struct {
    const ts_buffer *buf;
    ts_stmt *found;
  } fctx;
  fctx c = {buf, NULL};
  /* local walk */
  ts_stmt *stack[256];
  int sp = 0;
  if (f->body) stack[sp++] = f->body;
  while (sp && !c.found) {
    ts_stmt *s = stack[--sp];
    if (!s) continue;
    switch (s->kind) {
    case TS_S_SEQ:
      for (int i = 0; i < s->u.seq.n && sp < 256; i++)
        stack[sp++] = s->u.seq.stmts[i];
      break;
    case TS_S_FOR: stack[sp++] = s->u.for_.body; break;
    case TS_S_BLOCK_REALIZE: {
      ts_block *b = s->u.realize.block;
      for (int i = 0; i < b->n_alloc_buffers; i++)
        if (b->alloc_buffers[i] == buf) c.found = s;
      if (b->init && sp < 256) stack[sp++] = b->init;
      if (sp < 256) stack[sp++] = b->body;
      break;
    }
    case TS_S_IF:
      stack[sp++] = s->u.if_.then_s;
      if (s->u.if_.else_s && sp < 256) stack[sp++] = s->u.if_.else_s;
      break;
    case TS_S_LET: stack[sp++] = s->u.let.body; break;
    case TS_S_ALLOCATE: stack[sp++] = s->u.alloc.body; break;
    case TS_S_ASSERT: stack[sp++] = s->u.assert_.body; break;
    default: break;
    }
  }
  if (out_realize) *out_realize = c.found;
  return c.found ? c.found->u.realize.block : NULL;
}

/* Replaces buffer `from` by `to` in a block (in place: the realize keeps its
 * block pointer so that handles stay valid). */
typedef struct rb_ctx {
  ts_buffer *from, *to;
} rb_ctx;
static ts_buffer *rb_buf(ts_mutator *m, ts_buffer *b) {
  rb_ctx *c = m->ctx;
  return b == c->from ? c->to : NULL;
}
void sch_block_replace_buffer(ts_arena *a, ts_block *b, ts_buffer *from,
                              ts_buffer *to) {
  rb_ctx c = {from, to};
  ts_mutator m = {0};
  m.arena = a;
  m.buffer = rb_buf;
  m.ctx = &c;
  ts_block *nb = ts_mutate_block(&m, b);
  if (nb != b) *b = *nb;
}

/* ---- misc ------------------------------------------------------------------------ */

bool sch_valid_scope(const char *scope) {
  static const char *ok[] = {"global", "shared", "shared.dyn", "local",
                             "warp", "wmma.matrix_a", "wmma.matrix_b",
                             "wmma.accumulator", "global.texture"};
  if (!scope || !*scope) return false;
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (!strcmp(scope, ok[i])) return true;
  if (!strncmp(scope, "local.", 6) || !strncmp(scope, "global.", 7) ||
      !strncmp(scope, "shared.", 7))
    return true;
  return false;
}

const char *sch_loop_desc(ts_schedule *s, ts_rv rv, const ts_stmt *loop) {
  return ts_arena_printf(s->mod->arena, "%s (%s)", ts_schedule_rv_name(s, rv),
                         loop->u.for_.var->name);
}

/* Region accessed by `realize`'s block through region `r`, relaxed over the
 * loops between the block and its scope; falls back to the whole buffer when
 * a bound is not constant.  Fills mins/extents (ndim entries). */
static bool relaxed_region(ts_primfunc *f, ts_stmt *realize,
                           const ts_region *r, int64_t *mins,
                           int64_t *exts) {
  bool exact = true;
  ts_arena *tmp = ts_arena_create();
  ts_ptrmap env = {0}, bind = {0};
  ts_stmt **loops;
  int nl;
  sch_enclosing_loops(f, realize, &loops, &nl);
  bool loops_ok = true;
  for (int i = 0; i < nl; i++) {
    int64_t mn, ex;
    if (!ts_expr_is_const_int(loops[i]->u.for_.min, &mn) ||
        !ts_expr_is_const_int(loops[i]->u.for_.extent, &ex) || ex <= 0) {
      loops_ok = false;
      break;
    }
    sch_env_set(tmp, &env, loops[i]->u.for_.var, mn, mn + ex - 1);
  }
  free(loops);
  ts_block *b = realize->u.realize.block;
  for (int i = 0; i < b->n_iter_vars; i++)
    ts_ptrmap_put(&bind, b->iter_vars[i].var,
                  realize->u.realize.iter_values[i]);
  for (int d = 0; d < r->n; d++) {
    int64_t shape = -1;
    ts_expr_is_const_int(r->buffer->shape[d], &shape);
    int64_t lo, hi, elo, ehi;
    bool ok = loops_ok;
    if (ok) {
      ts_expr *mn = ts_expr_substitute(tmp, r->ranges[d].min, &bind);
      ts_expr *mx = ts_expr_substitute(
          tmp,
          ts_binary(tmp, TS_E_SUB,
                    ts_binary(tmp, TS_E_ADD, r->ranges[d].min,
                              r->ranges[d].extent),
                    ts_int(tmp, r->ranges[d].min->dtype, 1)),
          &bind);
      ok = sch_bounds(mn, &env, &lo, &ehi) && sch_bounds(mx, &env, &elo, &hi);
    }
    if (!ok) {
      exact = false;
      lo = 0;
      hi = shape - 1;
    }
    if (shape > 0) {
      if (lo < 0) lo = 0;
      if (hi > shape - 1) hi = shape - 1;
    }
    if (hi < lo) hi = lo;
    mins[d] = lo;
    exts[d] = hi - lo + 1;
  }
  ts_ptrmap_free(&env);
  ts_ptrmap_free(&bind);
  ts_arena_destroy(tmp);
  return exact;
}

/* The copy stage: for ax.. in grid(ext..): block name: v.. = spatial over
 * [min, min+ext); dst[v..] = src[v..]. */
static ts_stmt *make_copy_stage(ts_arena *a, const char *name, ts_buffer *src,
                                ts_buffer *dst, const int64_t *mins,
                                const int64_t *exts, ts_loc loc) {
  int n = src->ndim;
  ts_block *b = ts_arena_alloc(a, sizeof *b);
  b->name = name;
  b->loc = loc;
  b->n_iter_vars = n;
  b->iter_vars = ts_arena_array(a, (size_t)n > 0 ? (size_t)n : 1,
                                sizeof(ts_iter_var));
  ts_expr **idx = ts_arena_array(a, (size_t)n > 0 ? (size_t)n : 1,
                                 sizeof(ts_expr *));
  ts_expr **vals = ts_arena_array(a, (size_t)n > 0 ? (size_t)n : 1,
                                  sizeof(ts_expr *));
  ts_var **loopv = ts_arena_array(a, (size_t)n > 0 ? (size_t)n : 1,
                                  sizeof(ts_var *));
  for (int d = 0; d < n; d++) {
    ts_dtype it = src->shape[d]->dtype;
    char nm[32];
    snprintf(nm, sizeof nm, "v%d", d);
    ts_var *v = ts_var_new(a, nm, it, loc);
    snprintf(nm, sizeof nm, "ax%d", d);
    loopv[d] = ts_var_new(a, nm, it, loc);
    b->iter_vars[d].var = v;
    b->iter_vars[d].type = TS_ITER_SPATIAL;
    b->iter_vars[d].dom.min = ts_int(a, it, mins[d]);
    b->iter_vars[d].dom.extent = ts_int(a, it, exts[d]);
    idx[d] = ts_varref(a, v);
    vals[d] = mins[d] ? ts_binary(a, TS_E_ADD, ts_varref(a, loopv[d]),
                                  ts_int(a, it, mins[d]))
                      : ts_varref(a, loopv[d]);
  }
  ts_stmt *st = ts_stmt_new(a, TS_S_STORE, loc);
  st->u.store.buffer = dst;
  st->u.store.indices = idx;
  st->u.store.n = n;
  st->u.store.value = ts_load(a, src, idx, n);
  b->body = st;
  ts_block_infer_regions(a, b);
  ts_stmt *r = ts_stmt_new(a, TS_S_BLOCK_REALIZE, loc);
  r->u.realize.block = b;
  r->u.realize.iter_values = vals;
  ts_stmt *cur = r;
  for (int d = n - 1; d >= 0; d--) {
    ts_stmt *fl = ts_stmt_new(a, TS_S_FOR, loc);
    fl->u.for_.var = loopv[d];
    fl->u.for_.min = ts_int(a, loopv[d]->dtype, 0);
    fl->u.for_.extent = ts_int(a, loopv[d]->dtype, exts[d]);
    fl->u.for_.kind = TS_FOR_SERIAL;
    fl->u.for_.body = cur;
    cur = fl;
  }
  return cur;
}

static ts_buffer *clone_buffer(ts_arena *a, const ts_buffer *src,
                               const char *name, const char *scope) {
  ts_buffer *nb = ts_buffer_new(a, name, src->dtype, src->ndim, src->shape);
  nb->scope = ts_arena_strdup(a, scope);
  nb->loc = src->loc;
  return nb;
}

/* The children of the scope body as an array (the body itself when it is not
 * a sequence). */
static ts_stmt **scope_children(ts_stmt *scope, int *n) {
  ts_stmt *body = scope->u.realize.block->body;
  if (body->kind == TS_S_SEQ) {
    *n = body->u.seq.n;
    return body->u.seq.stmts;
  }
  *n = 1;
  return &scope->u.realize.block->body;
}

/* ======================================================================
 * cache_read / cache_write
 * ====================================================================== */

ts_status *ts_sch_cache_read(ts_schedule *s, ts_rv block, int read_index,
                             const char *scope, ts_rv *out) {
  static const char *P = "cache_read";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (!sch_valid_scope(scope))
    return sch_error(P, "invalid storage scope \"%s\"", scope ? scope : "");
  if (read_index < 0 || read_index >= b->n_reads)
    return sch_error(P, "read_buffer_index %d is out of range: block %s reads "
                        "%d buffer(s)",
                     read_index, b->name, b->n_reads);
  ts_buffer *buf = b->reads[read_index].buffer;
  if (buf_region_hit(b->writes, b->n_writes, buf))
    return sch_error(P, "block %s both reads and writes buffer %s; "
                        "cache_read needs a read-only buffer",
                     b->name, buf->name);
  ts_stmt *scope_realize = NULL;
  ts_stmt *top = sch_scope_child(f, realize, &scope_realize);
  if (!scope_realize || !top)
    return sch_error(P, "block %s is the root block", b->name);
  /* a writer of the buffer in the consumer's own subtree would be bypassed */
  bool rd, wr;
  sch_stmt_accesses(top, buf, realize, &rd, &wr);
  if (wr)
    return sch_error(P, "buffer %s is written inside the loop nest of block "
                        "%s; cache_read would read it before it is written",
                     buf->name, b->name);
  int64_t mins[TS_MAX_NDIM_SCH], exts[TS_MAX_NDIM_SCH];
  if (buf->ndim > TS_MAX_NDIM_SCH)
    return sch_error(P, "buffer %s has too many dimensions", buf->name);
  relaxed_region(f, realize, &b->reads[read_index], mins, exts);

  /* ---- mutate ---- */
  ts_arena *a = s->mod->arena;
  char *base = ts_arena_printf(a, "%s_%s", buf->name, scope);
  for (char *p = base; *p; p++)
    if (*p == '.') *p = '_';
  const char *name = sch_fresh_name(s, f, base);
  ts_buffer *cache = clone_buffer(a, buf, name, scope);
  ts_stmt *stage = make_copy_stage(a, name, buf, cache, mins, exts, b->loc);
  int nc;
  ts_stmt **kids = scope_children(scope_realize, &nc);
  ts_stmt *anchor = NULL;
  for (int i = 0; i < nc && kids[i] != top; i++) {
    sch_stmt_accesses(kids[i], buf, NULL, &rd, &wr);
    if (wr) anchor = kids[i];
  }
  if (anchor) sch_insert_stmt(a, f, anchor, stage, true);
  else sch_insert_stmt(a, f, kids[0], stage, false);
  sch_block_add_alloc(a, scope_realize->u.realize.block, cache);
  sch_block_replace_buffer(a, b, buf, cache);
  ts_rv r = sch_new_rv(s, SCH_RV_BLOCK, sch_innermost(stage), f);
  sch_record(s, "%s = sch.cache_read(block=%s, read_buffer_index=%d, "
                "storage_scope=\"%s\")",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, block),
             read_index, scope);
  if (out) *out = r;
  return NULL;
}

ts_stmt *sch_innermost(ts_stmt *s) {
  while (s->kind == TS_S_FOR) s = s->u.for_.body;
  return s;
}

ts_status *ts_sch_cache_write(ts_schedule *s, ts_rv block, int write_index,
                              const char *scope, ts_rv *out) {
  static const char *P = "cache_write";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (!sch_valid_scope(scope))
    return sch_error(P, "invalid storage scope \"%s\"", scope ? scope : "");
  if (write_index < 0 || write_index >= b->n_writes)
    return sch_error(P, "write_buffer_index %d is out of range: block %s "
                        "writes %d buffer(s)",
                     write_index, b->name, b->n_writes);
  ts_buffer *buf = b->writes[write_index].buffer;
  ts_stmt *scope_realize = NULL;
  ts_stmt *top = sch_scope_child(f, realize, &scope_realize);
  if (!scope_realize || !top)
    return sch_error(P, "block %s is the root block", b->name);
  bool rd, wr;
  sch_stmt_accesses(top, buf, realize, &rd, &wr);
  if (rd || wr)
    return sch_error(P, "buffer %s is also accessed by another block inside "
                        "the loop nest of block %s",
                     buf->name, b->name);
  for (int i = 0; i < b->n_match_buffers; i++)
    if (b->match_buffers[i].source.buffer == buf)
      return sch_error(P, "block %s accesses buffer %s through a "
                          "match_buffer",
                       b->name, buf->name);
  if (buf->ndim > TS_MAX_NDIM_SCH)
    return sch_error(P, "buffer %s has too many dimensions", buf->name);
  int64_t mins[TS_MAX_NDIM_SCH], exts[TS_MAX_NDIM_SCH];
  if (!relaxed_region(f, realize, &b->writes[write_index], mins, exts))
    return sch_error(P, "the region of buffer %s written by block %s cannot "
                        "be bounded by constants in its scope",
                     buf->name, b->name);

  ts_arena *a = s->mod->arena;
  char *base = ts_arena_printf(a, "%s_%s", buf->name, scope);
  for (char *p = base; *p; p++)
    if (*p == '.') *p = '_';
  const char *name = sch_fresh_name(s, f, base);
  ts_buffer *cache = clone_buffer(a, buf, name, scope);
  ts_stmt *stage = make_copy_stage(a, name, cache, buf, mins, exts, b->loc);
  sch_insert_stmt(a, f, top, stage, true);
  sch_block_add_alloc(a, scope_realize->u.realize.block, cache);
  sch_block_replace_buffer(a, b, buf, cache);
  ts_rv r = sch_new_rv(s, SCH_RV_BLOCK, sch_innermost(stage), f);
  sch_record(s, "%s = sch.cache_write(block=%s, write_buffer_index=%d, "
                "storage_scope=\"%s\")",
             ts_schedule_rv_name(s, r), ts_schedule_rv_name(s, block),
             write_index, scope);
  if (out) *out = r;
  return NULL;
}

/* ======================================================================
 * set_scope / storage_align
 * ====================================================================== */

ts_status *ts_sch_set_scope(ts_schedule *s, ts_rv block, int buffer_index,
                            const char *scope) {
  static const char *P = "set_scope";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (!sch_valid_scope(scope))
    return sch_error(P, "invalid storage scope \"%s\"", scope ? scope : "");
  if (buffer_index < 0 || buffer_index >= b->n_writes)
    return sch_error(P, "buffer_index %d is out of range: block %s writes %d "
                        "buffer(s)",
                     buffer_index, b->name, b->n_writes);
  ts_buffer *buf = b->writes[buffer_index].buffer;
  if (sch_is_param_buffer(f, buf))
    return sch_error(P, "buffer %s is a parameter of function %s; only "
                        "allocated buffers can change scope",
                     buf->name, f->name);
  if (!sch_block_allocating(f, buf, NULL))
    return sch_error(P, "buffer %s is not allocated by a block", buf->name);
  buf->scope = ts_arena_strdup(s->mod->arena, scope);
  sch_record(s, "sch.set_scope(block=%s, buffer_index=%d, "
                "storage_scope=\"%s\")",
             ts_schedule_rv_name(s, block), buffer_index, scope);
  return NULL;
}

ts_status *ts_sch_storage_align(ts_schedule *s, ts_rv block, int buffer_index,
                                int axis, int factor, int offset) {
  static const char *P = "storage_align";
  ts_stmt *realize;
  TS_RETURN_IF_ERROR(sch_block(s, block, &realize));
  ts_primfunc *f = sch_rv_func(s, block);
  ts_block *b = realize->u.realize.block;
  if (buffer_index < 0 || buffer_index >= b->n_writes)
    return sch_error(P, "buffer_index %d is out of range: block %s writes %d "
                        "buffer(s)",
                     buffer_index, b->name, b->n_writes);
  ts_buffer *buf = b->writes[buffer_index].buffer;
  int nd = buf->ndim;
  if (axis < -nd || axis >= nd)
    return sch_error(P, "axis %d is out of range for the %d-D buffer %s",
                     axis, nd, buf->name);
  if (axis < 0) axis += nd;
  if (factor <= 0)
    return sch_error(P, "factor %d must be positive", factor);
  if (offset < 0 || offset >= factor)
    return sch_error(P, "offset %d must be in [0, factor) = [0, %d)", offset,
                     factor);
  if (sch_is_param_buffer(f, buf) || !sch_block_allocating(f, buf, NULL))
    return sch_error(P, "buffer %s is not allocated by a block; only "
                        "allocated buffers can be aligned",
                     buf->name);
  ts_arena *a = s->mod->arena;
  ts_attr_value *old = ts_attrs_get(b->annotations, "buffer_dim_align");
  TS_VEC(ts_attr_value *) items = {0};
  if (old && old->kind == TS_ATTR_LIST)
    for (int i = 0; i < old->u.list.n; i++) {
      ts_attr_value *e = old->u.list.items[i];
      if (e->kind == TS_ATTR_LIST && e->u.list.n == 4 &&
          e->u.list.items[0]->u.i == buffer_index &&
          e->u.list.items[1]->u.i == axis)
        continue;
      ts_vec_push(&items, e);
    }
  ts_attr_value *e = ts_arena_alloc(a, sizeof *e);
  e->kind = TS_ATTR_LIST;
  e->u.list.n = 4;
  e->u.list.items = ts_arena_array(a, 4, sizeof(ts_attr_value *));
  e->u.list.items[0] = ts_attr_int(a, buffer_index);
  e->u.list.items[1] = ts_attr_int(a, axis);
  e->u.list.items[2] = ts_attr_int(a, factor);
  e->u.list.items[3] = ts_attr_int(a, offset);
  ts_vec_push(&items, e);
  ts_attr_value *lst = ts_arena_alloc(a, sizeof *lst);
  lst->kind = TS_ATTR_LIST;
  lst->u.list.n = (int)items.len;
  lst->u.list.items = ts_vec_to_arena(a, &items);
  ts_vec_free(&items);
  ts_attrs *d = ts_attrs_new(a);
  if (b->annotations)
    for (int i = 0; i < b->annotations->n; i++)
      ts_attrs_set(a, d, b->annotations->keys[i], b->annotations->values[i]);
  ts_attrs_set(a, d, "buffer_dim_align", lst);
  b->annotations = d;
  sch_record(s, "sch.storage_align(block=%s, buffer_index=%d, axis=%d, "
                "factor=%d, offset=%d)",
             ts_schedule_rv_name(s, block), buffer_index, axis, factor, offset);
  return NULL;
}
