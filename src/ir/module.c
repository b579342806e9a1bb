/* module.c: the IRModule (function table, intrinsics), node builders,
 * attribute dictionaries, the intrinsic name table, the pointer map and deep
 * copies (ts_module_copy, ts_primfunc_copy, ts_gfunc_copy).
 *
 * Conventions: every node and array is allocated in the module's arena;
 * the function and intrinsic tables grow by copying into a larger arena
 * array (the old one is abandoned: arenas never free), so a module owns no
 * heap memory besides its arena.  Builders copy the arrays and names they are
 * given, so callers may pass stack arrays and temporary strings. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"

/* ---- intrinsics
 * --------------------------------------------------------------
 */

static const struct {
  const char *name;
  int arity;
} intrin_table[TS_INTRIN_COUNT] = {
#define X(e, n, a) {n, a},
    TS_INTRINSICS(X)
#undef X
};

const char *ts_intrin_name(ts_intrin op) {
  TS_ASSERT((int)op >= 0 && op < TS_INTRIN_COUNT);
  return intrin_table[op].name;
}

int ts_intrin_arity(ts_intrin op) {
  TS_ASSERT((int)op >= 0 && op < TS_INTRIN_COUNT);
  return intrin_table[op].arity;
}

bool ts_intrin_lookup(const char *name, ts_intrin *out) {
  for (int i = 0; i < TS_INTRIN_COUNT; i++) {
    if (strcmp(intrin_table[i].name, name) == 0) {
      if (out)
        *out = (ts_intrin)i;
      return true;
    }
  }
  return false;
}

/* ---- module
 * ------------------------------------------------------------------
 */

ts_module *ts_module_create(void) {
  ts_arena *a = ts_arena_create();
  ts_module *m = ts_arena_alloc(a, sizeof(*m));
  m->arena = a;
  return m;
}

void ts_module_destroy(ts_module *m) {
  if (m)
    ts_arena_destroy(m->arena); /* m itself lives in its arena */
}

ts_arena *ts_module_arena(ts_module *m) { return m->arena; }

static int find_func(const ts_module *m, const char *name) {
  for (int i = 0; i < m->n_funcs; i++)
    if (m->funcs[i].name && strcmp(m->funcs[i].name, name) == 0)
      return i;
  return -1;
}

static void append_func(ts_module *m, ts_func f) {
  if (m->n_funcs == m->cap_funcs) {
    int cap = m->cap_funcs ? m->cap_funcs * 2 : 8;
    ts_func *nf = ts_arena_array(m->arena, (size_t)cap, sizeof(ts_func));
    if (m->n_funcs)
      memcpy(nf, m->funcs, (size_t)m->n_funcs * sizeof(ts_func));
    m->funcs = nf;
    m->cap_funcs = cap;
  }
  m->funcs[m->n_funcs++] = f;
}

ts_status *ts_module_add(ts_module *m, ts_func f, ts_loc loc) {
  TS_ASSERT(f.name);
  if (find_func(m, f.name) >= 0)
    return ts_status_make(TS_ERR_NAME, loc, "function '%s' is already defined",
                          f.name);
  append_func(m, f);
  return NULL;
}

void ts_module_set(ts_module *m, ts_func f) {
  TS_ASSERT(f.name);
  int i = find_func(m, f.name);
  if (i >= 0)
    m->funcs[i] = f;
  else
    append_func(m, f);
}

ts_func *ts_module_lookup(ts_module *m, const char *name) {
  int i = find_func(m, name);
  return i >= 0 ? &m->funcs[i] : NULL;
}

ts_primfunc *ts_module_primfunc(ts_module *m, const char *name) {
  ts_func *f = ts_module_lookup(m, name);
  return f && f->kind == TS_FUNC_PRIM ? f->u.prim : NULL;
}

ts_gfunc *ts_module_gfunc(ts_module *m, const char *name) {
  ts_func *f = ts_module_lookup(m, name);
  return f && f->kind == TS_FUNC_GRAPH ? f->u.graph : NULL;
}

void ts_module_remove(ts_module *m, const char *name) {
  int i = find_func(m, name);
  if (i < 0)
    return;
  memmove(&m->funcs[i], &m->funcs[i + 1],
          (size_t)(m->n_funcs - i - 1) * sizeof(ts_func));
  m->n_funcs--;
}

void ts_module_add_intrin(ts_module *m, ts_tensor_intrin in) {
  for (int i = 0; i < m->n_intrins; i++) {
    if (strcmp(m->intrins[i].name, in.name) == 0) {
      m->intrins[i] = in;
      return;
    }
  }
  if (m->n_intrins == m->cap_intrins) {
    int cap = m->cap_intrins ? m->cap_intrins * 2 : 4;
    ts_tensor_intrin *ni =
        ts_arena_array(m->arena, (size_t)cap, sizeof(ts_tensor_intrin));
    if (m->n_intrins)
      memcpy(ni, m->intrins, (size_t)m->n_intrins * sizeof(*ni));
    m->intrins = ni;
    m->cap_intrins = cap;
  }
  m->intrins[m->n_intrins++] = in;
}

/* ---- expression builders
 * --------------------------------------------------------
 */

static void *arena_dup_array(ts_arena *a, const void *p, int n, size_t size) {
  if (!p || n <= 0)
    return NULL;
  void *q = ts_arena_array(a, (size_t)n, size);
  memcpy(q, p, (size_t)n * size);
  return q;
}

static const char *dup_str(ts_arena *a, const char *s) {
  return s ? ts_arena_strdup(a, s) : NULL;
}

static ts_expr *new_expr(ts_arena *a, ts_expr_kind k, ts_dtype t) {
  ts_expr *e = ts_arena_alloc(a, sizeof(*e));
  e->kind = k;
  e->dtype = t;
  return e;
}

ts_var *ts_var_new(ts_arena *a, const char *name, ts_dtype t, ts_loc loc) {
  ts_var *v = ts_arena_alloc(a, sizeof(*v));
  v->name = dup_str(a, name ? name : "v");
  v->dtype = t;
  v->loc = loc;
  return v;
}

ts_expr *ts_int(ts_arena *a, ts_dtype t, int64_t v) {
  ts_expr *e = new_expr(a, TS_E_INT, t);
  e->u.int_value = v;
  return e;
}

ts_expr *ts_float(ts_arena *a, ts_dtype t, double v) {
  ts_expr *e = new_expr(a, TS_E_FLOAT, t);
  e->u.float_value = v;
  return e;
}

ts_expr *ts_bool(ts_arena *a, bool v) { return ts_int(a, TS_BOOLT, v ? 1 : 0); }

ts_expr *ts_varref(ts_arena *a, ts_var *v) {
  ts_expr *e = new_expr(a, TS_E_VAR, v->dtype);
  e->u.var = v;
  e->loc = v->loc;
  return e;
}

/* Integer operands of different widths meet at the wider one (an
 * immediate is re-made, anything else cast), as TVM's expression
 * constructors do; other mismatches are left for the verifier to report. */
static void promote_ints(ts_arena *a, ts_expr **x, ts_expr **y) {
  ts_dtype tx = (*x)->dtype, ty = (*y)->dtype;
  if (ts_dtype_eq(tx, ty) || tx.code != TS_INT || ty.code != TS_INT ||
      tx.lanes != ty.lanes)
    return;
  ts_expr **narrow = tx.bits < ty.bits ? x : y;
  ts_dtype wide = tx.bits < ty.bits ? ty : tx;
  *narrow = (*narrow)->kind == TS_E_INT
                ? ts_int(a, wide, (*narrow)->u.int_value)
                : ts_cast(a, wide, *narrow);
}

ts_expr *ts_binary(ts_arena *a, ts_expr_kind k, ts_expr *x, ts_expr *y) {
  TS_ASSERT(ts_expr_kind_is_binary(k));
  promote_ints(a, &x, &y);
  ts_dtype t = x->dtype;
  if (k >= TS_E_EQ && k <= TS_E_OR) {
    t = TS_BOOLT;
    t.lanes = x->dtype.lanes;
  }
  ts_expr *e = new_expr(a, k, t);
  e->u.bin.a = x;
  e->u.bin.b = y;
  e->loc = x->loc;
  return e;
}

ts_expr *ts_not(ts_arena *a, ts_expr *x) {
  ts_expr *e = new_expr(a, TS_E_NOT, x->dtype);
  e->u.unary.a = x;
  e->loc = x->loc;
  return e;
}

ts_expr *ts_select(ts_arena *a, ts_expr *c, ts_expr *t, ts_expr *f) {
  ts_expr *e = new_expr(a, TS_E_SELECT, t->dtype);
  e->u.select.cond = c;
  e->u.select.t = t;
  e->u.select.f = f;
  e->loc = c->loc;
  return e;
}

ts_expr *ts_cast(ts_arena *a, ts_dtype t, ts_expr *x) {
  ts_expr *e = new_expr(a, TS_E_CAST, t);
  e->u.unary.a = x;
  e->loc = x->loc;
  return e;
}

ts_expr *ts_load(ts_arena *a, ts_buffer *b, ts_expr **idx, int n) {
  ts_expr *e = new_expr(a, TS_E_LOAD, b->dtype);
  e->u.load.buffer = b;
  e->u.load.indices = arena_dup_array(a, idx, n, sizeof(ts_expr *));
  e->u.load.n = n;
  return e;
}

ts_expr *ts_call(ts_arena *a, ts_dtype t, ts_intrin op, ts_expr **args, int n) {
  ts_expr *e = new_expr(a, TS_E_CALL, t);
  e->u.call.op = op;
  e->u.call.args = arena_dup_array(a, args, n, sizeof(ts_expr *));
  e->u.call.n = n;
  return e;
}

ts_expr *ts_let_expr(ts_arena *a, ts_var *v, ts_expr *value, ts_expr *body) {
  ts_expr *e = new_expr(a, TS_E_LET, body->dtype);
  e->u.let.var = v;
  e->u.let.value = value;
  e->u.let.body = body;
  return e;
}

ts_expr *ts_expr_clone(ts_arena *a, const ts_expr *e) {
  return ts_arena_memdup(a, e, sizeof(*e));
}

ts_buffer *ts_buffer_new(ts_arena *a, const char *name, ts_dtype t, int ndim,
                         ts_expr **shape) {
  ts_buffer *b = ts_arena_alloc(a, sizeof(*b));
  b->name = dup_str(a, name ? name : "buf");
  b->dtype = t;
  b->ndim = ndim;
  b->shape = arena_dup_array(a, shape, ndim, sizeof(ts_expr *));
  b->scope = "global";
  return b;
}

ts_stmt *ts_stmt_new(ts_arena *a, ts_stmt_kind k, ts_loc loc) {
  ts_stmt *s = ts_arena_alloc(a, sizeof(*s));
  s->kind = k;
  s->loc = loc;
  return s;
}

typedef TS_VEC(ts_stmt *) stmt_vec;

static void seq_flatten(ts_stmt *s, stmt_vec *out) {
  if (!s)
    return;
  if (s->kind == TS_S_SEQ) {
    for (int i = 0; i < s->u.seq.n; i++)
      seq_flatten(s->u.seq.stmts[i], out);
  } else {
    ts_vec_push(out, s);
  }
}

ts_stmt *ts_seq(ts_arena *a, ts_stmt **stmts, int n) {
  stmt_vec v = {0};
  for (int i = 0; i < n; i++)
    seq_flatten(stmts[i], &v);
  ts_stmt *r;
  if (v.len == 1) {
    r = v.data[0];
  } else {
    r = ts_stmt_new(a, TS_S_SEQ, v.len ? v.data[0]->loc : (ts_loc){0});
    r->u.seq.stmts = ts_vec_to_arena(a, &v);
    r->u.seq.n = (int)v.len;
  }
  ts_vec_free(&v);
  return r;
}

ts_sinfo *ts_sinfo_new(ts_arena *a, ts_sinfo_kind k) {
  ts_sinfo *s = ts_arena_alloc(a, sizeof(*s));
  s->kind = k;
  if (k == TS_SI_SHAPE)
    s->u.shape.ndim = -1;
  if (k == TS_SI_TENSOR) {
    s->u.tensor.ndim = -1;
    s->u.tensor.dtype = TS_VOIDT;
  }
  return s;
}

ts_sinfo *ts_sinfo_tensor(ts_arena *a, ts_expr **shape, int ndim, ts_dtype t) {
  ts_sinfo *s = ts_sinfo_new(a, TS_SI_TENSOR);
  s->u.tensor.ndim = ndim;
  s->u.tensor.shape =
      shape && ndim > 0    ? arena_dup_array(a, shape, ndim, sizeof(ts_expr *))
      : shape && ndim == 0 ? ts_arena_alloc(a, sizeof(ts_expr *))
                           : NULL;
  s->u.tensor.dtype = t;
  return s;
}

ts_gexpr *ts_gexpr_new(ts_arena *a, ts_gexpr_kind k, ts_loc loc) {
  ts_gexpr *e = ts_arena_alloc(a, sizeof(*e));
  e->kind = k;
  e->loc = loc;
  return e;
}

/* ---- attributes
 * ----------------------------------------------------------------
 */

ts_attrs *ts_attrs_new(ts_arena *a) {
  return ts_arena_alloc(a, sizeof(ts_attrs));
}

void ts_attrs_set(ts_arena *a, ts_attrs *d, const char *key, ts_attr_value *v) {
  for (int i = 0; i < d->n; i++) {
    if (strcmp(d->keys[i], key) == 0) {
      d->values[i] = v;
      return;
    }
  }
  /* Grow by copying: attribute dictionaries are small. */
  const char **keys = ts_arena_array(a, (size_t)d->n + 1, sizeof(char *));
  ts_attr_value **vals =
      ts_arena_array(a, (size_t)d->n + 1, sizeof(ts_attr_value *));
  if (d->n) {
    memcpy(keys, d->keys, (size_t)d->n * sizeof(char *));
    memcpy(vals, d->values, (size_t)d->n * sizeof(ts_attr_value *));
  }
  keys[d->n] = ts_arena_strdup(a, key);
  vals[d->n] = v;
  d->keys = keys;
  d->values = vals;
  d->n++;
}

ts_attr_value *ts_attrs_get(const ts_attrs *d, const char *key) {
  if (!d)
    return NULL;
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->keys[i], key) == 0)
      return d->values[i];
  return NULL;
}

static ts_attr_value *new_attr(ts_arena *a, ts_attr_kind k) {
  ts_attr_value *v = ts_arena_alloc(a, sizeof(*v));
  v->kind = k;
  return v;
}

ts_attr_value *ts_attr_int(ts_arena *a, int64_t v) {
  ts_attr_value *r = new_attr(a, TS_ATTR_INT);
  r->u.i = v;
  return r;
}

ts_attr_value *ts_attr_float(ts_arena *a, double v) {
  ts_attr_value *r = new_attr(a, TS_ATTR_FLOAT);
  r->u.f = v;
  return r;
}

ts_attr_value *ts_attr_str(ts_arena *a, const char *s) {
  ts_attr_value *r = new_attr(a, TS_ATTR_STR);
  r->u.s = dup_str(a, s);
  return r;
}

ts_attr_value *ts_attr_bool(ts_arena *a, bool v) {
  ts_attr_value *r = new_attr(a, TS_ATTR_BOOL);
  r->u.i = v ? 1 : 0;
  return r;
}

/* ---- pointer map
 * --------------------------------------------------------------
 */

static size_t ptr_hash(const void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)x;
}

/* Linear probing; a NULL key is an empty slot.  Removal uses backward-shift
 * deletion so there are no tombstones. */
static size_t ptrmap_slot(const ts_ptrmap *m, const void *key) {
  size_t mask = m->cap - 1, i = ptr_hash(key) & mask;
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & mask;
  return i;
}

static void ptrmap_grow(ts_ptrmap *m) {
  ts_ptrmap n = {0};
  n.cap = m->cap ? m->cap * 2 : 16;
  n.keys = ts_xcalloc(n.cap, sizeof(void *));
  n.vals = ts_xcalloc(n.cap, sizeof(void *));
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i])
      continue;
    size_t j = ptrmap_slot(&n, m->keys[i]);
    n.keys[j] = m->keys[i];
    n.vals[j] = m->vals[i];
    n.len++;
  }
  free(m->keys);
  free(m->vals);
  *m = n;
}

void ts_ptrmap_put(ts_ptrmap *m, const void *key, void *val) {
  TS_ASSERT(key);
  if ((m->len + 1) * 4 > m->cap * 3)
    ptrmap_grow(m);
  size_t i = ptrmap_slot(m, key);
  if (!m->keys[i]) {
    m->keys[i] = key;
    m->len++;
  }
  m->vals[i] = val;
}

void *ts_ptrmap_get(const ts_ptrmap *m, const void *key) {
  if (!m || !m->cap || !key)
    return NULL;
  size_t i = ptrmap_slot(m, key);
  return m->keys[i] ? m->vals[i] : NULL;
}

bool ts_ptrmap_has(const ts_ptrmap *m, const void *key) {
  if (!m || !m->cap || !key)
    return false;
  return m->keys[ptrmap_slot(m, key)] != NULL;
}

void ts_ptrmap_remove(ts_ptrmap *m, const void *key) {
  if (!m->cap || !key)
    return;
  size_t mask = m->cap - 1, i = ptrmap_slot(m, key);
  if (!m->keys[i])
    return;
  m->keys[i] = NULL;
  m->vals[i] = NULL;
  m->len--;
  /* Shift back the entries of the probe run that follow. */
  for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
    const void *k = m->keys[j];
    void *v = m->vals[j];
    m->keys[j] = NULL;
    m->vals[j] = NULL;
    size_t s = ptrmap_slot(m, k);
    m->keys[s] = k;
    m->vals[s] = v;
  }
}

void ts_ptrmap_clear(ts_ptrmap *m) {
  if (!m->cap)
    return;
  memset(m->keys, 0, m->cap * sizeof(void *));
  memset(m->vals, 0, m->cap * sizeof(void *));
  m->len = 0;
}

void ts_ptrmap_free(ts_ptrmap *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof(*m));
}

/* ---- deep copy
 * -------------------------------------------------------------------
 */

/* Maps old variables, buffers and graph variables to their copies; a node
 * met for the first time (definition or free use) is copied then. */
typedef struct copier {
  ts_arena *a;
  ts_ptrmap vars, bufs, gvars;
  ts_ptrmap files; /* location file name -> its copy */
} copier;

static ts_expr *copy_expr(copier *c, const ts_expr *e);
static ts_stmt *copy_stmt(copier *c, const ts_stmt *s);
static ts_sinfo *copy_sinfo(copier *c, const ts_sinfo *s);

static ts_loc copy_loc(copier *c, ts_loc l) {
  /* File names are shared strings; copy so the copy outlives the source. */
  if (l.file) {
    const char *f = ts_ptrmap_get(&c->files, l.file);
    if (!f) {
      f = ts_arena_strdup(c->a, l.file);
      ts_ptrmap_put(&c->files, l.file, (void *)f);
    }
    l.file = f;
  }
  return l;
}

static ts_var *copy_var(copier *c, ts_var *v) {
  if (!v)
    return NULL;
  ts_var *r = ts_ptrmap_get(&c->vars, v);
  if (!r) {
    r = ts_var_new(c->a, v->name, v->dtype, copy_loc(c, v->loc));
    ts_ptrmap_put(&c->vars, v, r);
  }
  return r;
}

static ts_expr **copy_exprs(copier *c, ts_expr *const *es, int n) {
  if (!es)
    return NULL;
  ts_expr **r = ts_arena_array(c->a, n > 0 ? (size_t)n : 1, sizeof(ts_expr *));
  for (int i = 0; i < n; i++)
    r[i] = copy_expr(c, es[i]);
  return r;
}

static ts_buffer *copy_buffer(copier *c, ts_buffer *b) {
  if (!b)
    return NULL;
  ts_buffer *r = ts_ptrmap_get(&c->bufs, b);
  if (r)
    return r;
  r = ts_arena_alloc(c->a, sizeof(*r));
  ts_ptrmap_put(&c->bufs, b, r);
  *r = *b;
  r->name = dup_str(c->a, b->name);
  r->shape = copy_exprs(c, b->shape, b->ndim);
  r->strides = copy_exprs(c, b->strides, b->ndim);
  r->elem_offset = copy_expr(c, b->elem_offset);
  r->scope = dup_str(c->a, b->scope);
  r->data = copy_var(c, b->data);
  r->loc = copy_loc(c, b->loc);
  return r;
}

static ts_attrs *copy_attrs(copier *c, const ts_attrs *d);

static ts_attr_value *copy_attr(copier *c, const ts_attr_value *v) {
  if (!v)
    return NULL;
  ts_attr_value *r = ts_arena_memdup(c->a, v, sizeof(*v));
  switch (v->kind) {
  case TS_ATTR_STR:
    r->u.s = dup_str(c->a, v->u.s);
    break;
  case TS_ATTR_LIST:
    r->u.list.items = ts_arena_array(c->a, v->u.list.n > 0 ? v->u.list.n : 1,
                                     sizeof(ts_attr_value *));
    for (int i = 0; i < v->u.list.n; i++)
      r->u.list.items[i] = copy_attr(c, v->u.list.items[i]);
    break;
  case TS_ATTR_DICT:
    r->u.dict = copy_attrs(c, v->u.dict);
    break;
  case TS_ATTR_EXPR:
    r->u.expr = copy_expr(c, v->u.expr);
    break;
  default:
    break;
  }
  return r;
}

static ts_attrs *copy_attrs(copier *c, const ts_attrs *d) {
  if (!d)
    return NULL;
  ts_attrs *r = ts_attrs_new(c->a);
  for (int i = 0; i < d->n; i++)
    ts_attrs_set(c->a, r, d->keys[i], copy_attr(c, d->values[i]));
  return r;
}

static ts_expr *copy_expr(copier *c, const ts_expr *e) {
  if (!e)
    return NULL;
  ts_expr *r = ts_expr_clone(c->a, e);
  r->loc = copy_loc(c, e->loc);
  switch (e->kind) {
  case TS_E_INT:
  case TS_E_FLOAT:
    break;
  case TS_E_STR:
    r->u.str = dup_str(c->a, e->u.str);
    break;
  case TS_E_VAR:
    r->u.var = copy_var(c, e->u.var);
    break;
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    r->u.unary.a = copy_expr(c, e->u.unary.a);
    break;
  case TS_E_SELECT:
    r->u.select.cond = copy_expr(c, e->u.select.cond);
    r->u.select.t = copy_expr(c, e->u.select.t);
    r->u.select.f = copy_expr(c, e->u.select.f);
    break;
  case TS_E_LOAD:
    r->u.load.buffer = copy_buffer(c, e->u.load.buffer);
    r->u.load.indices = copy_exprs(c, e->u.load.indices, e->u.load.n);
    break;
  case TS_E_CALL:
    r->u.call.args = copy_exprs(c, e->u.call.args, e->u.call.n);
    break;
  case TS_E_LET:
    r->u.let.var = copy_var(c, e->u.let.var);
    r->u.let.value = copy_expr(c, e->u.let.value);
    r->u.let.body = copy_expr(c, e->u.let.body);
    break;
  case TS_E_RAMP:
    r->u.ramp.base = copy_expr(c, e->u.ramp.base);
    r->u.ramp.stride = copy_expr(c, e->u.ramp.stride);
    break;
  default:
    TS_ASSERT(ts_expr_kind_is_binary(e->kind));
    r->u.bin.a = copy_expr(c, e->u.bin.a);
    r->u.bin.b = copy_expr(c, e->u.bin.b);
    break;
  }
  return r;
}

static ts_region copy_region(copier *c, ts_region rg) {
  ts_region r = rg;
  r.buffer = copy_buffer(c, rg.buffer);
  if (rg.ranges) {
    r.ranges = ts_arena_array(c->a, rg.n > 0 ? rg.n : 1, sizeof(ts_range));
    for (int i = 0; i < rg.n; i++) {
      r.ranges[i].min = copy_expr(c, rg.ranges[i].min);
      r.ranges[i].extent = copy_expr(c, rg.ranges[i].extent);
    }
  }
  return r;
}

static ts_region *copy_regions(copier *c, const ts_region *rs, int n) {
  if (!rs || n <= 0)
    return NULL;
  ts_region *r = ts_arena_array(c->a, (size_t)n, sizeof(ts_region));
  for (int i = 0; i < n; i++)
    r[i] = copy_region(c, rs[i]);
  return r;
}

static ts_block *copy_block(copier *c, const ts_block *b) {
  ts_block *r = ts_arena_memdup(c->a, b, sizeof(*b));
  r->name = dup_str(c->a, b->name);
  r->loc = copy_loc(c, b->loc);
  if (b->n_iter_vars > 0) {
    r->iter_vars =
        ts_arena_array(c->a, (size_t)b->n_iter_vars, sizeof(ts_iter_var));
    for (int i = 0; i < b->n_iter_vars; i++) {
      r->iter_vars[i].var = copy_var(c, b->iter_vars[i].var);
      r->iter_vars[i].dom.min = copy_expr(c, b->iter_vars[i].dom.min);
      r->iter_vars[i].dom.extent = copy_expr(c, b->iter_vars[i].dom.extent);
      r->iter_vars[i].type = b->iter_vars[i].type;
    }
  } else {
    r->iter_vars = NULL;
  }
  if (b->n_alloc_buffers > 0) {
    r->alloc_buffers =
        ts_arena_array(c->a, (size_t)b->n_alloc_buffers, sizeof(ts_buffer *));
    for (int i = 0; i < b->n_alloc_buffers; i++)
      r->alloc_buffers[i] = copy_buffer(c, b->alloc_buffers[i]);
  } else {
    r->alloc_buffers = NULL;
  }
  if (b->n_match_buffers > 0) {
    r->match_buffers = ts_arena_array(c->a, (size_t)b->n_match_buffers,
                                      sizeof(ts_match_buffer));
    for (int i = 0; i < b->n_match_buffers; i++) {
      r->match_buffers[i].source = copy_region(c, b->match_buffers[i].source);
      r->match_buffers[i].buffer = copy_buffer(c, b->match_buffers[i].buffer);
    }
  } else {
    r->match_buffers = NULL;
  }
  r->reads = copy_regions(c, b->reads, b->n_reads);
  r->writes = copy_regions(c, b->writes, b->n_writes);
  r->init = copy_stmt(c, b->init);
  r->annotations = copy_attrs(c, b->annotations);
  r->body = copy_stmt(c, b->body);
  return r;
}

static ts_stmt *copy_stmt(copier *c, const ts_stmt *s) {
  if (!s)
    return NULL;
  ts_stmt *r = ts_arena_memdup(c->a, s, sizeof(*s));
  r->loc = copy_loc(c, s->loc);
  switch (s->kind) {
  case TS_S_SEQ:
    r->u.seq.stmts = ts_arena_array(c->a, s->u.seq.n > 0 ? s->u.seq.n : 1,
                                    sizeof(ts_stmt *));
    for (int i = 0; i < s->u.seq.n; i++)
      r->u.seq.stmts[i] = copy_stmt(c, s->u.seq.stmts[i]);
    break;
  case TS_S_FOR:
    r->u.for_.var = copy_var(c, s->u.for_.var);
    r->u.for_.min = copy_expr(c, s->u.for_.min);
    r->u.for_.extent = copy_expr(c, s->u.for_.extent);
    r->u.for_.thread_tag = dup_str(c->a, s->u.for_.thread_tag);
    r->u.for_.annotations = copy_attrs(c, s->u.for_.annotations);
    r->u.for_.body = copy_stmt(c, s->u.for_.body);
    break;
  case TS_S_BLOCK_REALIZE: {
    int n = s->u.realize.block->n_iter_vars;
    r->u.realize.iter_values = copy_exprs(c, s->u.realize.iter_values, n);
    r->u.realize.predicate = copy_expr(c, s->u.realize.predicate);
    r->u.realize.block = copy_block(c, s->u.realize.block);
    break;
  }
  case TS_S_STORE:
    r->u.store.buffer = copy_buffer(c, s->u.store.buffer);
    r->u.store.indices = copy_exprs(c, s->u.store.indices, s->u.store.n);
    r->u.store.value = copy_expr(c, s->u.store.value);
    break;
  case TS_S_IF:
    r->u.if_.cond = copy_expr(c, s->u.if_.cond);
    r->u.if_.then_s = copy_stmt(c, s->u.if_.then_s);
    r->u.if_.else_s = copy_stmt(c, s->u.if_.else_s);
    break;
  case TS_S_LET:
    r->u.let.var = copy_var(c, s->u.let.var);
    r->u.let.value = copy_expr(c, s->u.let.value);
    r->u.let.body = copy_stmt(c, s->u.let.body);
    break;
  case TS_S_EVALUATE:
    r->u.eval.value = copy_expr(c, s->u.eval.value);
    break;
  case TS_S_ALLOCATE:
    r->u.alloc.buffer = copy_buffer(c, s->u.alloc.buffer);
    r->u.alloc.body = copy_stmt(c, s->u.alloc.body);
    break;
  case TS_S_ASSERT:
    r->u.assert_.cond = copy_expr(c, s->u.assert_.cond);
    r->u.assert_.message = dup_str(c->a, s->u.assert_.message);
    r->u.assert_.body = copy_stmt(c, s->u.assert_.body);
    break;
  }
  return r;
}

static ts_primfunc *copy_primfunc(copier *c, const ts_primfunc *f) {
  if (!f)
    return NULL;
  ts_primfunc *r = ts_arena_memdup(c->a, f, sizeof(*f));
  r->name = dup_str(c->a, f->name);
  r->loc = copy_loc(c, f->loc);
  if (f->n_params > 0) {
    r->params = ts_arena_array(c->a, (size_t)f->n_params, sizeof(ts_param));
    for (int i = 0; i < f->n_params; i++) {
      r->params[i] = f->params[i];
      r->params[i].var = copy_var(c, f->params[i].var);
      r->params[i].buffer = copy_buffer(c, f->params[i].buffer);
    }
  } else {
    r->params = NULL;
  }
  r->attrs = copy_attrs(c, f->attrs);
  r->body = copy_stmt(c, f->body);
  return r;
}

static ts_sinfo *copy_sinfo(copier *c, const ts_sinfo *s) {
  if (!s)
    return NULL;
  ts_sinfo *r = ts_arena_memdup(c->a, s, sizeof(*s));
  switch (s->kind) {
  case TS_SI_PRIM:
    r->u.prim.value = copy_expr(c, s->u.prim.value);
    break;
  case TS_SI_SHAPE:
    r->u.shape.values = copy_exprs(c, s->u.shape.values, s->u.shape.ndim);
    break;
  case TS_SI_TENSOR:
    r->u.tensor.shape = copy_exprs(c, s->u.tensor.shape, s->u.tensor.ndim);
    break;
  case TS_SI_TUPLE:
    r->u.tuple.fields = ts_arena_array(
        c->a, s->u.tuple.n > 0 ? s->u.tuple.n : 1, sizeof(ts_sinfo *));
    for (int i = 0; i < s->u.tuple.n; i++)
      r->u.tuple.fields[i] = copy_sinfo(c, s->u.tuple.fields[i]);
    break;
  default:
    break;
  }
  return r;
}

static ts_gvar *copy_gvar(copier *c, ts_gvar *v) {
  if (!v)
    return NULL;
  ts_gvar *r = ts_ptrmap_get(&c->gvars, v);
  if (r)
    return r;
  r = ts_arena_memdup(c->a, v, sizeof(*v));
  ts_ptrmap_put(&c->gvars, v, r);
  r->name = dup_str(c->a, v->name);
  r->loc = copy_loc(c, v->loc);
  r->sinfo = copy_sinfo(c, v->sinfo);
  return r;
}

static ts_const_data *copy_const(copier *c, const ts_const_data *d) {
  if (!d)
    return NULL;
  ts_const_data *r = ts_arena_memdup(c->a, d, sizeof(*d));
  r->shape = d->ndim > 0 ? ts_arena_memdup(c->a, d->shape,
                                           (size_t)d->ndim * sizeof(int64_t))
                         : NULL;
  r->name = dup_str(c->a, d->name);
  if (d->data) {
    /* 64-byte alignment: over-allocate and round up. */
    size_t n;
    TS_ASSERT(ts_size_add(d->nbytes, 64, &n));
    char *p = ts_arena_alloc(c->a, n);
    p += (64 - ((uintptr_t)p & 63)) & 63;
    if (d->nbytes)
      memcpy(p, d->data, d->nbytes);
    r->data = p;
  }
  return r;
}

static ts_gexpr *copy_gexpr(copier *c, const ts_gexpr *e) {
  if (!e)
    return NULL;
  ts_gexpr *r = ts_arena_memdup(c->a, e, sizeof(*e));
  r->loc = copy_loc(c, e->loc);
  r->sinfo = copy_sinfo(c, e->sinfo);
  switch (e->kind) {
  case TS_G_VAR:
    r->u.var = copy_gvar(c, e->u.var);
    break;
  case TS_G_CONST:
    r->u.constant = copy_const(c, e->u.constant);
    break;
  case TS_G_TUPLE:
    r->u.tuple.fields = ts_arena_array(
        c->a, e->u.tuple.n > 0 ? e->u.tuple.n : 1, sizeof(ts_gexpr *));
    for (int i = 0; i < e->u.tuple.n; i++)
      r->u.tuple.fields[i] = copy_gexpr(c, e->u.tuple.fields[i]);
    break;
  case TS_G_TUPLE_GET:
    r->u.tuple_get.tuple = copy_gexpr(c, e->u.tuple_get.tuple);
    break;
  case TS_G_CALL:
    r->u.call.name = dup_str(c->a, e->u.call.name);
    r->u.call.args = ts_arena_array(
        c->a, e->u.call.n_args > 0 ? e->u.call.n_args : 1, sizeof(ts_gexpr *));
    for (int i = 0; i < e->u.call.n_args; i++)
      r->u.call.args[i] = copy_gexpr(c, e->u.call.args[i]);
    r->u.call.attrs = copy_attrs(c, e->u.call.attrs);
    if (e->u.call.sinfo_args) {
      r->u.call.sinfo_args = ts_arena_array(
          c->a, e->u.call.n_sinfo_args > 0 ? e->u.call.n_sinfo_args : 1,
          sizeof(ts_sinfo *));
      for (int i = 0; i < e->u.call.n_sinfo_args; i++)
        r->u.call.sinfo_args[i] = copy_sinfo(c, e->u.call.sinfo_args[i]);
    }
    break;
  case TS_G_SHAPE:
    r->u.shape.values = copy_exprs(c, e->u.shape.values, e->u.shape.n);
    break;
  case TS_G_PRIM:
    r->u.prim = copy_expr(c, e->u.prim);
    break;
  case TS_G_STR:
    r->u.str = dup_str(c->a, e->u.str);
    break;
  case TS_G_DTYPE:
    break;
  case TS_G_GLOBAL:
    r->u.global_name = dup_str(c->a, e->u.global_name);
    break;
  case TS_G_EXTERN:
    r->u.extern_name = dup_str(c->a, e->u.extern_name);
    break;
  }
  return r;
}

static ts_gfunc *copy_gfunc(copier *c, const ts_gfunc *f) {
  if (!f)
    return NULL;
  ts_gfunc *r = ts_arena_memdup(c->a, f, sizeof(*f));
  r->name = dup_str(c->a, f->name);
  r->loc = copy_loc(c, f->loc);
  if (f->n_params > 0) {
    r->params = ts_arena_array(c->a, (size_t)f->n_params, sizeof(ts_gvar *));
    for (int i = 0; i < f->n_params; i++)
      r->params[i] = copy_gvar(c, f->params[i]);
  } else {
    r->params = NULL;
  }
  r->ret_sinfo = copy_sinfo(c, f->ret_sinfo);
  if (f->n_blocks > 0) {
    r->blocks =
        ts_arena_array(c->a, (size_t)f->n_blocks, sizeof(ts_binding_block));
    for (int i = 0; i < f->n_blocks; i++) {
      const ts_binding_block *ob = &f->blocks[i];
      ts_binding_block *nb = &r->blocks[i];
      *nb = *ob;
      nb->loc = copy_loc(c, ob->loc);
      nb->bindings =
          ob->n > 0 ? ts_arena_array(c->a, (size_t)ob->n, sizeof(ts_binding))
                    : NULL;
      for (int j = 0; j < ob->n; j++) {
        const ts_binding *bo = &ob->bindings[j];
        ts_binding *bn = &nb->bindings[j];
        *bn = *bo;
        bn->loc = copy_loc(c, bo->loc);
        /* value first: the variable is defined by the binding */
        bn->value = copy_gexpr(c, bo->value);
        bn->match_sinfo = copy_sinfo(c, bo->match_sinfo);
        bn->var = copy_gvar(c, bo->var);
      }
      nb->outputs =
          ob->n_outputs > 0
              ? ts_arena_array(c->a, (size_t)ob->n_outputs, sizeof(ts_gvar *))
              : NULL;
      for (int j = 0; j < ob->n_outputs; j++)
        nb->outputs[j] = copy_gvar(c, ob->outputs[j]);
    }
  } else {
    r->blocks = NULL;
  }
  r->result = copy_gexpr(c, f->result);
  r->attrs = copy_attrs(c, f->attrs);
  return r;
}

static void copier_free(copier *c) {
  ts_ptrmap_free(&c->vars);
  ts_ptrmap_free(&c->bufs);
  ts_ptrmap_free(&c->gvars);
  ts_ptrmap_free(&c->files);
}

ts_primfunc *ts_primfunc_copy(ts_arena *a, const ts_primfunc *f) {
  copier c = {.a = a};
  ts_primfunc *r = copy_primfunc(&c, f);
  copier_free(&c);
  return r;
}

ts_gfunc *ts_gfunc_copy(ts_arena *a, const ts_gfunc *f) {
  copier c = {.a = a};
  ts_gfunc *r = copy_gfunc(&c, f);
  copier_free(&c);
  return r;
}

ts_module *ts_module_copy(const ts_module *m) {
  ts_module *r = ts_module_create();
  copier c = {.a = r->arena};
  r->name = dup_str(r->arena, m->name);
  r->source_name = dup_str(r->arena, m->source_name);
  r->source_text = dup_str(r->arena, m->source_text);
  r->attrs = copy_attrs(&c, m->attrs);
  for (int i = 0; i < m->n_funcs; i++) {
    const ts_func *f = &m->funcs[i];
    ts_func nf = {.kind = f->kind, .name = dup_str(r->arena, f->name)};
    switch (f->kind) {
    case TS_FUNC_PRIM:
      nf.u.prim = copy_primfunc(&c, f->u.prim);
      break;
    case TS_FUNC_GRAPH:
      nf.u.graph = copy_gfunc(&c, f->u.graph);
      break;
    case TS_FUNC_EXTERN:
      nf.u.extern_name = dup_str(r->arena, f->u.extern_name);
      break;
    }
    append_func(r, nf);
  }
  for (int i = 0; i < m->n_intrins; i++) {
    ts_tensor_intrin in = {
        .name = dup_str(r->arena, m->intrins[i].name),
        .desc = copy_primfunc(&c, m->intrins[i].desc),
        .impl = copy_primfunc(&c, m->intrins[i].impl),
    };
    ts_module_add_intrin(r, in);
  }
  copier_free(&c);
  return r;
}
