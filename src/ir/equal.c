/* equal.c: structural equality and hashing modulo renaming.
 *
 * Variables, buffers and graph variables are matched by position: the first
 * time a node of `a` meets a node of `b` (normally at its definition:
 * parameters, alloc/match buffers, loop, iteration and let variables,
 * bindings; symbolic shape variables at their first occurrence) the pair is
 * recorded in both directions, and every later meeting must agree.  Names of
 * variables and buffers never matter; block names do (schedules address
 * blocks by name); function names matter when modules are compared (functions
 * are matched by name, not by order).  Attributes compare by value, dtypes
 * exactly, float immediates bitwise (or both NaN).  Whether block regions
 * were written or inferred does not matter, the regions themselves do
 * (except the root block's, which are never printed).
 *
 * Each function is compared with fresh maps.  The first difference is
 * reported as "<path>: <what>", the path being a stack of segments such as
 * "function 'mm_relu'", "block 'Y'", "iter var 2".
 *
 * The hash walks in the same order and numbers variables, buffers and graph
 * variables by first occurrence, so equal functions hash equally.  What the
 * equality skips (graph variable struct info when either side lacks it,
 * expression struct info) the hash skips too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"

/* ======================================================================
 * Equality
 * ====================================================================== */

typedef struct eq {
  ts_ptrmap ab, ba; /* a-node -> b-node and back (vars, buffers, gvars) */
  TS_VEC(char *) path;
  char *diff; /* first difference; heap */
} eq;

static void push(eq *q, const char *fmt, ...) TS_PRINTF(2, 3);
static void push(eq *q, const char *fmt, ...) {
  ts_strbuf sb = {0};
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&sb, fmt, ap);
  va_end(ap);
  ts_vec_push(&q->path, sb.data);
}

static void pop(eq *q) {
  TS_ASSERT(q->path.len > 0);
  free(q->path.data[--q->path.len]);
}

static bool pop_ret(eq *q, bool ok) {
  pop(q);
  return ok;
}

/* Compares `call` under a pushed path segment. */
#define SUB(q, call, ...) (push((q), __VA_ARGS__), pop_ret((q), (call)))

static bool fail(eq *q, const char *fmt, ...) TS_PRINTF(2, 3);
static bool fail(eq *q, const char *fmt, ...) {
  if (q->diff)
    return false;
  ts_strbuf sb = {0};
  for (size_t i = 0; i < q->path.len; i++) {
    ts_strbuf_append(&sb, q->path.data[i]);
    ts_strbuf_append(&sb, ": ");
  }
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&sb, fmt, ap);
  va_end(ap);
  q->diff = sb.data;
  return false;
}

static void eq_free(eq *q) {
  ts_ptrmap_free(&q->ab);
  ts_ptrmap_free(&q->ba);
  for (size_t i = 0; i < q->path.len; i++)
    free(q->path.data[i]);
  ts_vec_free(&q->path);
  free(q->diff);
}

/* Hands the diff to out_diff (or frees it). */
static bool eq_finish(eq *q, bool ok, char **out_diff) {
  if (out_diff)
    *out_diff = NULL;
  if (!ok && out_diff) {
    *out_diff = q->diff ? q->diff : ts_xstrdup("structures differ");
    q->diff = NULL;
  }
  eq_free(q);
  return ok;
}

static const char *dt(ts_dtype t, char buf[32]) { return ts_dtype_str(t, buf); }

static bool fail_exprs(eq *q, const char *what, const ts_expr *a,
                       const ts_expr *b) {
  ts_strbuf sa = {0}, sb = {0};
  ts_expr_print(&sa, a);
  ts_expr_print(&sb, b);
  fail(q, "%s%s%s vs %s", what ? what : "", what ? " " : "", sa.data, sb.data);
  ts_strbuf_free(&sa);
  ts_strbuf_free(&sb);
  return false;
}

/* Records or checks the pairing of two nodes of the same sort. */
static bool pair(eq *q, const void *a, const void *b) {
  void *ma = ts_ptrmap_get(&q->ab, a);
  void *mb = ts_ptrmap_get(&q->ba, b);
  if (ma || mb)
    return ma == b && mb == a;
  ts_ptrmap_put(&q->ab, a, (void *)b);
  ts_ptrmap_put(&q->ba, b, (void *)a);
  return true;
}

static bool eq_var(eq *q, const ts_var *a, const ts_var *b) {
  char b1[32], b2[32];
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "variable %s vs %s", a ? a->name : "(none)",
                b ? b->name : "(none)");
  }
  if (!ts_dtype_eq(a->dtype, b->dtype))
    return fail(q, "variable '%s' dtype %s vs %s", a->name, dt(a->dtype, b1),
                dt(b->dtype, b2));
  if (!pair(q, a, b))
    return fail(q, "variable '%s' vs '%s' (bound to different definitions)",
                a->name, b->name);
  return true;
}

static bool eq_expr(eq *q, const ts_expr *a, const ts_expr *b);
static bool eq_buffer(eq *q, const ts_buffer *a, const ts_buffer *b);

static bool eq_exprs(eq *q, const char *what, ts_expr *const *a,
                     ts_expr *const *b, int n) {
  for (int i = 0; i < n; i++)
    if (!SUB(q, eq_expr(q, a[i], b[i]), "%s %d", what, i))
      return false;
  return true;
}

static bool is_zero(const ts_expr *e) {
  int64_t v;
  return !e || (ts_expr_is_const_int(e, &v) && v == 0);
}

static bool eq_buffer_fields(eq *q, const ts_buffer *a, const ts_buffer *b) {
  char b1[32], b2[32];
  if (!ts_dtype_eq(a->dtype, b->dtype))
    return fail(q, "dtype %s vs %s", dt(a->dtype, b1), dt(b->dtype, b2));
  if (a->ndim != b->ndim)
    return fail(q, "rank %d vs %d", a->ndim, b->ndim);
  if (!eq_exprs(q, "shape", a->shape, b->shape, a->ndim))
    return false;
  if (!a->strides != !b->strides)
    return fail(q, "strides %s vs %s", a->strides ? "given" : "none",
                b->strides ? "given" : "none");
  if (a->strides && !eq_exprs(q, "stride", a->strides, b->strides, a->ndim))
    return false;
  if (!(is_zero(a->elem_offset) && is_zero(b->elem_offset))) {
    if (!a->elem_offset || !b->elem_offset)
      return fail_exprs(q, "elem_offset", a->elem_offset, b->elem_offset);
    if (!SUB(q, eq_expr(q, a->elem_offset, b->elem_offset), "elem_offset"))
      return false;
  }
  const char *sa = a->scope ? a->scope : "global";
  const char *sb = b->scope ? b->scope : "global";
  if (strcmp(sa, sb) != 0)
    return fail(q, "scope '%s' vs '%s'", sa, sb);
  if (a->align != b->align)
    return fail(q, "align %d vs %d", a->align, b->align);
  if (a->offset_factor != b->offset_factor)
    return fail(q, "offset_factor %d vs %d", a->offset_factor,
                b->offset_factor);
  if (a->data && b->data && !eq_var(q, a->data, b->data))
    return false;
  return true;
}

/* Defines (first meeting) or uses a buffer. */
static bool eq_buffer(eq *q, const ts_buffer *a, const ts_buffer *b) {
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "buffer %s vs %s", a ? a->name : "(none)",
                b ? b->name : "(none)");
  }
  bool known = ts_ptrmap_has(&q->ab, a) || ts_ptrmap_has(&q->ba, b);
  if (!pair(q, a, b))
    return fail(q, "buffer '%s' vs '%s' (bound to different definitions)",
                a->name, b->name);
  if (known)
    return true;
  return SUB(q, eq_buffer_fields(q, a, b), "buffer '%s'", a->name);
}

static bool eq_expr(eq *q, const ts_expr *a, const ts_expr *b) {
  char b1[32], b2[32];
  if (!a || !b) {
    if (a == b)
      return true;
    return fail_exprs(q, NULL, a, b);
  }
  if (a->kind != b->kind)
    return fail_exprs(q, NULL, a, b);
  if (!ts_dtype_eq(a->dtype, b->dtype)) {
    ts_strbuf sa = {0};
    ts_expr_print(&sa, a);
    fail(q, "dtype of %s: %s vs %s", sa.data, dt(a->dtype, b1),
         dt(b->dtype, b2));
    ts_strbuf_free(&sa);
    return false;
  }
  switch (a->kind) {
  case TS_E_INT:
    if (a->u.int_value != b->u.int_value)
      return fail_exprs(q, NULL, a, b);
    return true;
  case TS_E_FLOAT:
    if (isnan(a->u.float_value) && isnan(b->u.float_value))
      return true;
    if (memcmp(&a->u.float_value, &b->u.float_value, sizeof(double)) != 0)
      return fail_exprs(q, NULL, a, b);
    return true;
  case TS_E_STR:
    if (strcmp(a->u.str, b->u.str) != 0)
      return fail_exprs(q, NULL, a, b);
    return true;
  case TS_E_VAR:
    return eq_var(q, a->u.var, b->u.var);
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return eq_expr(q, a->u.unary.a, b->u.unary.a);
  case TS_E_SELECT:
    return eq_expr(q, a->u.select.cond, b->u.select.cond) &&
           eq_expr(q, a->u.select.t, b->u.select.t) &&
           eq_expr(q, a->u.select.f, b->u.select.f);
  case TS_E_LOAD:
    if (!eq_buffer(q, a->u.load.buffer, b->u.load.buffer))
      return false;
    if (a->u.load.n != b->u.load.n)
      return fail_exprs(q, NULL, a, b);
    for (int i = 0; i < a->u.load.n; i++)
      if (!eq_expr(q, a->u.load.indices[i], b->u.load.indices[i]))
        return false;
    return true;
  case TS_E_CALL:
    if (a->u.call.op != b->u.call.op || a->u.call.n != b->u.call.n)
      return fail_exprs(q, NULL, a, b);
    for (int i = 0; i < a->u.call.n; i++)
      if (!eq_expr(q, a->u.call.args[i], b->u.call.args[i]))
        return false;
    return true;
  case TS_E_LET:
    return eq_expr(q, a->u.let.value, b->u.let.value) &&
           eq_var(q, a->u.let.var, b->u.let.var) &&
           eq_expr(q, a->u.let.body, b->u.let.body);
  case TS_E_RAMP:
    return eq_expr(q, a->u.ramp.base, b->u.ramp.base) &&
           eq_expr(q, a->u.ramp.stride, b->u.ramp.stride);
  default:
    return eq_expr(q, a->u.bin.a, b->u.bin.a) &&
           eq_expr(q, a->u.bin.b, b->u.bin.b);
  }
}

/* ---- attributes
 * ----------------------------------------------------------------
 */

static bool eq_attrs(eq *q, const ts_attrs *a, const ts_attrs *b);

static const char *attr_kind_name(ts_attr_kind k) {
  static const char *names[] = {"None", "bool", "int",  "float", "str",
                                "list", "dict", "expr", "dtype"};
  return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static bool eq_attr(eq *q, const ts_attr_value *a, const ts_attr_value *b) {
  char b1[32], b2[32];
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "value %s vs %s", a ? "present" : "absent",
                b ? "present" : "absent");
  }
  if (a->kind != b->kind)
    return fail(q, "%s vs %s", attr_kind_name(a->kind),
                attr_kind_name(b->kind));
  switch (a->kind) {
  case TS_ATTR_NONE:
    return true;
  case TS_ATTR_BOOL:
  case TS_ATTR_INT:
    if (a->u.i != b->u.i)
      return fail(q, "%lld vs %lld", (long long)a->u.i, (long long)b->u.i);
    return true;
  case TS_ATTR_FLOAT:
    if ((isnan(a->u.f) && isnan(b->u.f)) ||
        memcmp(&a->u.f, &b->u.f, sizeof(double)) == 0)
      return true;
    return fail(q, "%.17g vs %.17g", a->u.f, b->u.f);
  case TS_ATTR_STR:
    if (strcmp(a->u.s, b->u.s) != 0)
      return fail(q, "\"%s\" vs \"%s\"", a->u.s, b->u.s);
    return true;
  case TS_ATTR_LIST:
    if (a->u.list.n != b->u.list.n)
      return fail(q, "list length %d vs %d", a->u.list.n, b->u.list.n);
    for (int i = 0; i < a->u.list.n; i++)
      if (!SUB(q, eq_attr(q, a->u.list.items[i], b->u.list.items[i]), "item %d",
               i))
        return false;
    return true;
  case TS_ATTR_DICT:
    return eq_attrs(q, a->u.dict, b->u.dict);
  case TS_ATTR_EXPR:
    return eq_expr(q, a->u.expr, b->u.expr);
  case TS_ATTR_DTYPE:
    if (!ts_dtype_eq(a->u.dtype, b->u.dtype))
      return fail(q, "%s vs %s", dt(a->u.dtype, b1), dt(b->u.dtype, b2));
    return true;
  }
  return true;
}

/* Compares by key (order does not matter); NULL equals an empty dict. */
static bool eq_attrs(eq *q, const ts_attrs *a, const ts_attrs *b) {
  int na = a ? a->n : 0, nb = b ? b->n : 0;
  for (int i = 0; i < na; i++) {
    ts_attr_value *vb = ts_attrs_get(b, a->keys[i]);
    if (!vb)
      return fail(q, "key '%s' missing in second", a->keys[i]);
    if (!SUB(q, eq_attr(q, a->values[i], vb), "'%s'", a->keys[i]))
      return false;
  }
  for (int i = 0; i < nb; i++)
    if (!ts_attrs_get(a, b->keys[i]))
      return fail(q, "key '%s' missing in first", b->keys[i]);
  return true;
}

/* ---- statements
 * ----------------------------------------------------------------
 */

static bool eq_stmt(eq *q, const ts_stmt *a, const ts_stmt *b);

static const char *stmt_kind_name(ts_stmt_kind k) {
  switch (k) {
  case TS_S_SEQ:
    return "sequence";
  case TS_S_FOR:
    return "for";
  case TS_S_BLOCK_REALIZE:
    return "block";
  case TS_S_STORE:
    return "store";
  case TS_S_IF:
    return "if";
  case TS_S_LET:
    return "let";
  case TS_S_EVALUATE:
    return "evaluate";
  case TS_S_ALLOCATE:
    return "allocate";
  case TS_S_ASSERT:
    return "assert";
  }
  return "?";
}

static const char *iter_type_name(ts_iter_type t) {
  switch (t) {
  case TS_ITER_SPATIAL:
    return "S";
  case TS_ITER_REDUCE:
    return "R";
  case TS_ITER_SCAN:
    return "scan";
  case TS_ITER_OPAQUE:
    return "opaque";
  }
  return "?";
}

static const char *for_kind_name(ts_for_kind k) {
  switch (k) {
  case TS_FOR_SERIAL:
    return "serial";
  case TS_FOR_PARALLEL:
    return "parallel";
  case TS_FOR_VECTORIZED:
    return "vectorized";
  case TS_FOR_UNROLLED:
    return "unroll";
  case TS_FOR_THREAD_BINDING:
    return "thread_binding";
  }
  return "?";
}

static bool eq_region(eq *q, const ts_region *a, const ts_region *b) {
  if (!eq_buffer(q, a->buffer, b->buffer))
    return false;
  if (a->n != b->n)
    return fail(q, "rank %d vs %d", a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    if (!SUB(q, eq_expr(q, a->ranges[i].min, b->ranges[i].min), "dim %d min",
             i))
      return false;
    if (!SUB(q, eq_expr(q, a->ranges[i].extent, b->ranges[i].extent),
             "dim %d extent", i))
      return false;
  }
  return true;
}

static bool eq_regions(eq *q, const char *what, const ts_region *a, int na,
                       const ts_region *b, int nb) {
  if (na != nb)
    return fail(q, "%s: count %d vs %d", what, na, nb);
  for (int i = 0; i < na; i++)
    if (!SUB(q, eq_region(q, &a[i], &b[i]), "%s '%s'", what,
             a[i].buffer ? a[i].buffer->name : "?"))
      return false;
  return true;
}

static bool eq_iter_var(eq *q, const ts_iter_var *a, const ts_iter_var *b) {
  if (a->type != b->type)
    return fail(q, "type %s vs %s", iter_type_name(a->type),
                iter_type_name(b->type));
  if (!SUB(q, eq_expr(q, a->dom.min, b->dom.min), "domain min"))
    return false;
  if (!SUB(q, eq_expr(q, a->dom.extent, b->dom.extent), "domain extent"))
    return false;
  return eq_var(q, a->var, b->var);
}

/* The implicit root block: its regions are never printed (the printer writes
 * it as a comment), so they do not take part in equality or hashing. */
static bool is_root(const ts_block *b) {
  return b->n_iter_vars == 0 && b->name && strcmp(b->name, "root") == 0;
}

/* The block's contents, under the "block 'name'" segment. */
static bool eq_block_body(eq *q, const ts_stmt *ra, const ts_stmt *rb) {
  const ts_block *a = ra->u.realize.block, *b = rb->u.realize.block;
  if (a->n_iter_vars != b->n_iter_vars)
    return fail(q, "iter var count %d vs %d", a->n_iter_vars, b->n_iter_vars);
  if (!!ra->u.realize.iter_values != !!rb->u.realize.iter_values)
    return fail(q, "binding values %s vs %s",
                ra->u.realize.iter_values ? "present" : "absent",
                rb->u.realize.iter_values ? "present" : "absent");
  if (ra->u.realize.iter_values &&
      !eq_exprs(q, "binding value", ra->u.realize.iter_values,
                rb->u.realize.iter_values, a->n_iter_vars))
    return false;
  if (!SUB(q, eq_expr(q, ra->u.realize.predicate, rb->u.realize.predicate),
           "predicate"))
    return false;
  for (int i = 0; i < a->n_iter_vars; i++)
    if (!SUB(q, eq_iter_var(q, &a->iter_vars[i], &b->iter_vars[i]),
             "iter var %d", i))
      return false;
  if (a->n_alloc_buffers != b->n_alloc_buffers)
    return fail(q, "alloc_buffer count %d vs %d", a->n_alloc_buffers,
                b->n_alloc_buffers);
  for (int i = 0; i < a->n_alloc_buffers; i++)
    if (!eq_buffer(q, a->alloc_buffers[i], b->alloc_buffers[i]))
      return false;
  if (a->n_match_buffers != b->n_match_buffers)
    return fail(q, "match_buffer count %d vs %d", a->n_match_buffers,
                b->n_match_buffers);
  for (int i = 0; i < a->n_match_buffers; i++) {
    if (!SUB(q,
             eq_region(q, &a->match_buffers[i].source,
                       &b->match_buffers[i].source),
             "match_buffer %d source", i))
      return false;
    if (!eq_buffer(q, a->match_buffers[i].buffer, b->match_buffers[i].buffer))
      return false;
  }
  if (!is_root(a) &&
      !eq_regions(q, "reads", a->reads, a->n_reads, b->reads, b->n_reads))
    return false;
  if (!is_root(a) &&
      !eq_regions(q, "writes", a->writes, a->n_writes, b->writes, b->n_writes))
    return false;
  if (!SUB(q, eq_attrs(q, a->annotations, b->annotations), "annotations"))
    return false;
  if (!a->init != !b->init)
    return fail(q, "init %s vs %s", a->init ? "present" : "absent",
                b->init ? "present" : "absent");
  if (a->init && !SUB(q, eq_stmt(q, a->init, b->init), "init"))
    return false;
  return eq_stmt(q, a->body, b->body);
}

static bool eq_for_header(eq *q, const ts_stmt *a, const ts_stmt *b) {
  if (a->u.for_.kind != b->u.for_.kind)
    return fail(q, "kind %s vs %s", for_kind_name(a->u.for_.kind),
                for_kind_name(b->u.for_.kind));
  const char *ta = a->u.for_.thread_tag ? a->u.for_.thread_tag : "";
  const char *tb = b->u.for_.thread_tag ? b->u.for_.thread_tag : "";
  if (strcmp(ta, tb) != 0)
    return fail(q, "thread '%s' vs '%s'", ta, tb);
  if (!SUB(q, eq_expr(q, a->u.for_.min, b->u.for_.min), "min"))
    return false;
  if (!SUB(q, eq_expr(q, a->u.for_.extent, b->u.for_.extent), "extent"))
    return false;
  if (!SUB(q, eq_attrs(q, a->u.for_.annotations, b->u.for_.annotations),
           "annotations"))
    return false;
  return eq_var(q, a->u.for_.var, b->u.for_.var);
}

static bool eq_store(eq *q, const ts_stmt *a, const ts_stmt *b) {
  if (!eq_buffer(q, a->u.store.buffer, b->u.store.buffer))
    return false;
  if (a->u.store.n != b->u.store.n)
    return fail(q, "index count %d vs %d", a->u.store.n, b->u.store.n);
  if (!eq_exprs(q, "index", a->u.store.indices, b->u.store.indices,
                a->u.store.n))
    return false;
  return SUB(q, eq_expr(q, a->u.store.value, b->u.store.value), "value");
}

static bool eq_stmt(eq *q, const ts_stmt *a, const ts_stmt *b) {
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "statement %s vs %s", a ? stmt_kind_name(a->kind) : "none",
                b ? stmt_kind_name(b->kind) : "none");
  }
  if (a->kind != b->kind)
    return fail(q, "statement %s vs %s", stmt_kind_name(a->kind),
                stmt_kind_name(b->kind));
  switch (a->kind) {
  case TS_S_SEQ:
    if (a->u.seq.n != b->u.seq.n)
      return fail(q, "statement count %d vs %d", a->u.seq.n, b->u.seq.n);
    for (int i = 0; i < a->u.seq.n; i++)
      if (!eq_stmt(q, a->u.seq.stmts[i], b->u.seq.stmts[i]))
        return false;
    return true;
  case TS_S_FOR:
    if (!SUB(q, eq_for_header(q, a, b), "loop '%s'", a->u.for_.var->name))
      return false;
    return eq_stmt(q, a->u.for_.body, b->u.for_.body);
  case TS_S_BLOCK_REALIZE: {
    const char *na = a->u.realize.block->name ? a->u.realize.block->name : "";
    const char *nb = b->u.realize.block->name ? b->u.realize.block->name : "";
    if (strcmp(na, nb) != 0)
      return fail(q, "block name '%s' vs '%s'", na, nb);
    /* The implicit root block adds nothing to a path. */
    if (strcmp(na, "root") == 0 && a->u.realize.block->n_iter_vars == 0)
      return eq_block_body(q, a, b);
    return SUB(q, eq_block_body(q, a, b), "block '%s'", na);
  }
  case TS_S_STORE:
    return SUB(q, eq_store(q, a, b), "store to '%s'", a->u.store.buffer->name);
  case TS_S_IF:
    if (!SUB(q, eq_expr(q, a->u.if_.cond, b->u.if_.cond), "if condition"))
      return false;
    if (!SUB(q, eq_stmt(q, a->u.if_.then_s, b->u.if_.then_s), "then"))
      return false;
    return SUB(q, eq_stmt(q, a->u.if_.else_s, b->u.if_.else_s), "else");
  case TS_S_LET:
    if (!SUB(q, eq_expr(q, a->u.let.value, b->u.let.value), "let '%s' value",
             a->u.let.var->name))
      return false;
    if (!eq_var(q, a->u.let.var, b->u.let.var))
      return false;
    return eq_stmt(q, a->u.let.body, b->u.let.body);
  case TS_S_EVALUATE:
    return SUB(q, eq_expr(q, a->u.eval.value, b->u.eval.value), "evaluate");
  case TS_S_ALLOCATE:
    if (!eq_buffer(q, a->u.alloc.buffer, b->u.alloc.buffer))
      return false;
    return eq_stmt(q, a->u.alloc.body, b->u.alloc.body);
  case TS_S_ASSERT: {
    if (!SUB(q, eq_expr(q, a->u.assert_.cond, b->u.assert_.cond), "assert"))
      return false;
    const char *ma = a->u.assert_.message ? a->u.assert_.message : "";
    const char *mb = b->u.assert_.message ? b->u.assert_.message : "";
    if (strcmp(ma, mb) != 0)
      return fail(q, "assert message \"%s\" vs \"%s\"", ma, mb);
    return eq_stmt(q, a->u.assert_.body, b->u.assert_.body);
  }
  }
  return true;
}

static bool eq_param(eq *q, const ts_param *a, const ts_param *b) {
  if (!a->buffer != !b->buffer)
    return fail(q, "%s vs %s", a->buffer ? "buffer" : "scalar",
                b->buffer ? "buffer" : "scalar");
  if (!eq_var(q, a->var, b->var))
    return false;
  return !a->buffer || eq_buffer(q, a->buffer, b->buffer);
}

static bool eq_primfunc(eq *q, const ts_primfunc *a, const ts_primfunc *b) {
  if (a->n_params != b->n_params)
    return fail(q, "parameter count %d vs %d", a->n_params, b->n_params);
  for (int i = 0; i < a->n_params; i++) {
    const char *pn = a->params[i].buffer ? a->params[i].buffer->name
                     : a->params[i].var  ? a->params[i].var->name
                                         : "?";
    if (!SUB(q, eq_param(q, &a->params[i], &b->params[i]), "parameter '%s'",
             pn))
      return false;
  }
  if (a->is_private != b->is_private)
    return fail(q, "private %d vs %d", a->is_private, b->is_private);
  if (!SUB(q, eq_attrs(q, a->attrs, b->attrs), "attrs"))
    return false;
  return eq_stmt(q, a->body, b->body);
}

/* ---- graph level
 * ----------------------------------------------------------------
 */

static bool fail_sinfo(eq *q, const ts_sinfo *a, const ts_sinfo *b) {
  ts_strbuf sa = {0}, sb = {0};
  ts_sinfo_print(&sa, a);
  ts_sinfo_print(&sb, b);
  fail(q, "%s vs %s", sa.data, sb.data);
  ts_strbuf_free(&sa);
  ts_strbuf_free(&sb);
  return false;
}

static bool eq_sinfo(eq *q, const ts_sinfo *a, const ts_sinfo *b) {
  if (!a || !b) {
    if (a == b)
      return true;
    return fail_sinfo(q, a, b);
  }
  if (a->kind != b->kind)
    return fail_sinfo(q, a, b);
  switch (a->kind) {
  case TS_SI_OBJECT:
  case TS_SI_FUNC:
    return true;
  case TS_SI_PRIM:
    if (!ts_dtype_eq(a->u.prim.dtype, b->u.prim.dtype) ||
        !a->u.prim.value != !b->u.prim.value)
      return fail_sinfo(q, a, b);
    return !a->u.prim.value || eq_expr(q, a->u.prim.value, b->u.prim.value);
  case TS_SI_SHAPE:
    if (a->u.shape.ndim != b->u.shape.ndim ||
        !a->u.shape.values != !b->u.shape.values)
      return fail_sinfo(q, a, b);
    for (int i = 0; a->u.shape.values && i < a->u.shape.ndim; i++)
      if (!eq_expr(q, a->u.shape.values[i], b->u.shape.values[i]))
        return false;
    return true;
  case TS_SI_TENSOR:
    if (a->u.tensor.ndim != b->u.tensor.ndim ||
        !a->u.tensor.shape != !b->u.tensor.shape ||
        !ts_dtype_eq(a->u.tensor.dtype, b->u.tensor.dtype))
      return fail_sinfo(q, a, b);
    for (int i = 0; a->u.tensor.shape && i < a->u.tensor.ndim; i++) {
      /* compare dims quietly first so the message shows both sinfos */
      const ts_expr *da = a->u.tensor.shape[i], *db = b->u.tensor.shape[i];
      if (da && db && da->kind == TS_E_INT && db->kind == TS_E_INT &&
          da->u.int_value != db->u.int_value)
        return fail_sinfo(q, a, b);
      if (!eq_expr(q, da, db))
        return false;
    }
    return true;
  case TS_SI_TUPLE:
    if (a->u.tuple.n != b->u.tuple.n)
      return fail_sinfo(q, a, b);
    for (int i = 0; i < a->u.tuple.n; i++)
      if (!eq_sinfo(q, a->u.tuple.fields[i], b->u.tuple.fields[i]))
        return false;
    return true;
  }
  return true;
}

/* Defines or uses a graph variable; struct info compared at the first
 * meeting when both sides carry it. */
static bool eq_gvar(eq *q, const ts_gvar *a, const ts_gvar *b) {
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "variable %s vs %s", a ? a->name : "(none)",
                b ? b->name : "(none)");
  }
  bool known = ts_ptrmap_has(&q->ab, a) || ts_ptrmap_has(&q->ba, b);
  if (!pair(q, a, b))
    return fail(q, "variable '%s' vs '%s' (bound to different definitions)",
                a->name, b->name);
  if (known)
    return true;
  if (a->is_dataflow != b->is_dataflow)
    return fail(q, "variable '%s': %s vs %s", a->name,
                a->is_dataflow ? "dataflow" : "non-dataflow",
                b->is_dataflow ? "dataflow" : "non-dataflow");
  if (a->sinfo && b->sinfo &&
      !SUB(q, eq_sinfo(q, a->sinfo, b->sinfo), "struct info of '%s'", a->name))
    return false;
  return true;
}

static bool eq_gexpr(eq *q, const ts_gexpr *a, const ts_gexpr *b);

static const char *gexpr_kind_name(ts_gexpr_kind k) {
  switch (k) {
  case TS_G_VAR:
    return "variable";
  case TS_G_CONST:
    return "constant";
  case TS_G_TUPLE:
    return "tuple";
  case TS_G_TUPLE_GET:
    return "tuple item";
  case TS_G_CALL:
    return "call";
  case TS_G_SHAPE:
    return "shape";
  case TS_G_PRIM:
    return "prim_value";
  case TS_G_STR:
    return "string";
  case TS_G_DTYPE:
    return "dtype";
  case TS_G_GLOBAL:
    return "global function";
  case TS_G_EXTERN:
    return "library function";
  }
  return "?";
}

static void callee_str(const ts_gexpr *c, char *buf, size_t n) {
  switch (c->u.call.callee_kind) {
  case TS_CALLEE_OP: {
    const ts_op_info *oi = ts_op_get(c->u.call.op);
    snprintf(buf, n, "op %s", oi ? oi->name : "?");
    break;
  }
  case TS_CALLEE_GLOBAL:
    snprintf(buf, n, "function '%s'", c->u.call.name);
    break;
  case TS_CALLEE_EXTERN:
    snprintf(buf, n, "library function \"%s\"", c->u.call.name);
    break;
  }
}

static bool eq_call(eq *q, const ts_gexpr *a, const ts_gexpr *b) {
  bool same_callee = a->u.call.callee_kind == b->u.call.callee_kind;
  if (same_callee) {
    if (a->u.call.callee_kind == TS_CALLEE_OP)
      same_callee = a->u.call.op == b->u.call.op;
    else
      same_callee = a->u.call.name && b->u.call.name &&
                    strcmp(a->u.call.name, b->u.call.name) == 0;
  }
  if (!same_callee) {
    char ca[128], cb[128];
    callee_str(a, ca, sizeof ca);
    callee_str(b, cb, sizeof cb);
    if (a->u.call.callee_kind == TS_CALLEE_OP &&
        b->u.call.callee_kind == TS_CALLEE_OP)
      return fail(q, "%s vs %s", ca, cb + 3); /* "op relu vs sigmoid" */
    return fail(q, "%s vs %s", ca, cb);
  }
  if (a->u.call.n_args != b->u.call.n_args)
    return fail(q, "argument count %d vs %d", a->u.call.n_args,
                b->u.call.n_args);
  for (int i = 0; i < a->u.call.n_args; i++)
    if (!SUB(q, eq_gexpr(q, a->u.call.args[i], b->u.call.args[i]),
             "argument %d", i))
      return false;
  if (!SUB(q, eq_attrs(q, a->u.call.attrs, b->u.call.attrs), "attrs"))
    return false;
  if (a->u.call.n_sinfo_args != b->u.call.n_sinfo_args)
    return fail(q, "struct info argument count %d vs %d",
                a->u.call.n_sinfo_args, b->u.call.n_sinfo_args);
  for (int i = 0; i < a->u.call.n_sinfo_args; i++)
    if (!SUB(q, eq_sinfo(q, a->u.call.sinfo_args[i], b->u.call.sinfo_args[i]),
             "out_sinfo"))
      return false;
  return true;
}

static bool eq_gexpr(eq *q, const ts_gexpr *a, const ts_gexpr *b) {
  char b1[32], b2[32];
  if (!a || !b) {
    if (a == b)
      return true;
    return fail(q, "%s vs %s", a ? gexpr_kind_name(a->kind) : "nothing",
                b ? gexpr_kind_name(b->kind) : "nothing");
  }
  if (a->kind != b->kind)
    return fail(q, "%s vs %s", gexpr_kind_name(a->kind),
                gexpr_kind_name(b->kind));
  switch (a->kind) {
  case TS_G_VAR:
    return eq_gvar(q, a->u.var, b->u.var);
  case TS_G_CONST: {
    const ts_const_data *ca = a->u.constant, *cb = b->u.constant;
    if (!ts_dtype_eq(ca->dtype, cb->dtype))
      return fail(q, "constant dtype %s vs %s", dt(ca->dtype, b1),
                  dt(cb->dtype, b2));
    if (ca->ndim != cb->ndim ||
        (ca->ndim > 0 &&
         memcmp(ca->shape, cb->shape, (size_t)ca->ndim * sizeof(int64_t))))
      return fail(q, "constant shapes differ");
    if (ca->nbytes != cb->nbytes ||
        (ca->nbytes && memcmp(ca->data, cb->data, ca->nbytes) != 0))
      return fail(q, "constant values differ");
    return true;
  }
  case TS_G_TUPLE:
    if (a->u.tuple.n != b->u.tuple.n)
      return fail(q, "tuple size %d vs %d", a->u.tuple.n, b->u.tuple.n);
    for (int i = 0; i < a->u.tuple.n; i++)
      if (!SUB(q, eq_gexpr(q, a->u.tuple.fields[i], b->u.tuple.fields[i]),
               "field %d", i))
        return false;
    return true;
  case TS_G_TUPLE_GET:
    if (a->u.tuple_get.index != b->u.tuple_get.index)
      return fail(q, "tuple index %d vs %d", a->u.tuple_get.index,
                  b->u.tuple_get.index);
    return eq_gexpr(q, a->u.tuple_get.tuple, b->u.tuple_get.tuple);
  case TS_G_CALL:
    return eq_call(q, a, b);
  case TS_G_SHAPE:
    if (a->u.shape.n != b->u.shape.n)
      return fail(q, "shape rank %d vs %d", a->u.shape.n, b->u.shape.n);
    return eq_exprs(q, "dim", a->u.shape.values, b->u.shape.values,
                    a->u.shape.n);
  case TS_G_PRIM:
    return eq_expr(q, a->u.prim, b->u.prim);
  case TS_G_STR:
    if (strcmp(a->u.str, b->u.str) != 0)
      return fail(q, "\"%s\" vs \"%s\"", a->u.str, b->u.str);
    return true;
  case TS_G_DTYPE:
    if (!ts_dtype_eq(a->u.dtype, b->u.dtype))
      return fail(q, "dtype %s vs %s", dt(a->u.dtype, b1), dt(b->u.dtype, b2));
    return true;
  case TS_G_GLOBAL:
    if (strcmp(a->u.global_name, b->u.global_name) != 0)
      return fail(q, "function '%s' vs '%s'", a->u.global_name,
                  b->u.global_name);
    return true;
  case TS_G_EXTERN:
    if (strcmp(a->u.extern_name, b->u.extern_name) != 0)
      return fail(q, "library function \"%s\" vs \"%s\"", a->u.extern_name,
                  b->u.extern_name);
    return true;
  }
  return true;
}

static bool eq_binding(eq *q, const ts_binding *a, const ts_binding *b) {
  if (a->kind != b->kind)
    return fail(q, "%s vs %s",
                a->kind == TS_BIND_MATCH_CAST ? "match_cast" : "binding",
                b->kind == TS_BIND_MATCH_CAST ? "match_cast" : "binding");
  if (!SUB(q, eq_gexpr(q, a->value, b->value), "value"))
    return false;
  if (a->kind == TS_BIND_MATCH_CAST &&
      !SUB(q, eq_sinfo(q, a->match_sinfo, b->match_sinfo), "match_cast"))
    return false;
  return eq_gvar(q, a->var, b->var);
}

static bool eq_binding_block(eq *q, const ts_binding_block *a,
                             const ts_binding_block *b) {
  if (a->is_dataflow != b->is_dataflow)
    return fail(q, "%s vs %s", a->is_dataflow ? "dataflow" : "plain",
                b->is_dataflow ? "dataflow" : "plain");
  if (a->n != b->n)
    return fail(q, "binding count %d vs %d", a->n, b->n);
  for (int i = 0; i < a->n; i++) {
    const char *vn = a->bindings[i].var ? a->bindings[i].var->name : "?";
    if (!SUB(q, eq_binding(q, &a->bindings[i], &b->bindings[i]), "binding '%s'",
             vn))
      return false;
  }
  if (a->n_outputs != b->n_outputs)
    return fail(q, "output count %d vs %d", a->n_outputs, b->n_outputs);
  for (int i = 0; i < a->n_outputs; i++)
    if (!SUB(q, eq_gvar(q, a->outputs[i], b->outputs[i]), "output %d", i))
      return false;
  return true;
}

static bool eq_gfunc(eq *q, const ts_gfunc *a, const ts_gfunc *b) {
  if (a->n_params != b->n_params)
    return fail(q, "parameter count %d vs %d", a->n_params, b->n_params);
  for (int i = 0; i < a->n_params; i++)
    if (!SUB(q, eq_gvar(q, a->params[i], b->params[i]), "parameter '%s'",
             a->params[i]->name))
      return false;
  if (a->ret_sinfo && b->ret_sinfo &&
      !SUB(q, eq_sinfo(q, a->ret_sinfo, b->ret_sinfo), "return struct info"))
    return false;
  if (a->is_pure != b->is_pure)
    return fail(q, "pure %d vs %d", a->is_pure, b->is_pure);
  if (a->is_private != b->is_private)
    return fail(q, "private %d vs %d", a->is_private, b->is_private);
  if (!SUB(q, eq_attrs(q, a->attrs, b->attrs), "attrs"))
    return false;
  if (a->n_blocks != b->n_blocks)
    return fail(q, "binding block count %d vs %d", a->n_blocks, b->n_blocks);
  for (int i = 0; i < a->n_blocks; i++) {
    /* Bindings name themselves; only block-level differences say which. */
    if (a->blocks[i].n != b->blocks[i].n ||
        a->blocks[i].is_dataflow != b->blocks[i].is_dataflow ||
        a->blocks[i].n_outputs != b->blocks[i].n_outputs) {
      if (!SUB(q, eq_binding_block(q, &a->blocks[i], &b->blocks[i]),
               "binding block %d", i))
        return false;
    } else if (!eq_binding_block(q, &a->blocks[i], &b->blocks[i])) {
      return false;
    }
  }
  return SUB(q, eq_gexpr(q, a->result, b->result), "return value");
}

/* ---- public entry points
 * ---------------------------------------------------------
 */

bool ts_primfunc_equal(const ts_primfunc *a, const ts_primfunc *b,
                       char **out_diff) {
  eq q = {0};
  bool ok =
      SUB(&q, eq_primfunc(&q, a, b), "function '%s'", a->name ? a->name : "?");
  return eq_finish(&q, ok, out_diff);
}

bool ts_gfunc_equal(const ts_gfunc *a, const ts_gfunc *b, char **out_diff) {
  eq q = {0};
  bool ok =
      SUB(&q, eq_gfunc(&q, a, b), "function '%s'", a->name ? a->name : "?");
  return eq_finish(&q, ok, out_diff);
}

static const char *func_kind_name(ts_func_kind k) {
  switch (k) {
  case TS_FUNC_PRIM:
    return "TensorIR function";
  case TS_FUNC_GRAPH:
    return "graph function";
  case TS_FUNC_EXTERN:
    return "library function";
  }
  return "?";
}

static bool func_equal(const ts_func *fa, const ts_func *fb, char **out_diff) {
  if (fa->kind != fb->kind) {
    *out_diff =
        ts_strdup_printf("function '%s': %s vs %s", fa->name,
                         func_kind_name(fa->kind), func_kind_name(fb->kind));
    return false;
  }
  switch (fa->kind) {
  case TS_FUNC_PRIM: {
    eq q = {0};
    bool ok = SUB(&q, eq_primfunc(&q, fa->u.prim, fb->u.prim), "function '%s'",
                  fa->name);
    return eq_finish(&q, ok, out_diff);
  }
  case TS_FUNC_GRAPH: {
    eq q = {0};
    bool ok = SUB(&q, eq_gfunc(&q, fa->u.graph, fb->u.graph), "function '%s'",
                  fa->name);
    return eq_finish(&q, ok, out_diff);
  }
  case TS_FUNC_EXTERN:
    if (strcmp(fa->u.extern_name, fb->u.extern_name) != 0) {
      *out_diff = ts_strdup_printf("function '%s': \"%s\" vs \"%s\"", fa->name,
                                   fa->u.extern_name, fb->u.extern_name);
      return false;
    }
    return true;
  }
  return true;
}

static bool module_equal(const ts_module *a, const ts_module *b, char **diff) {
  for (int i = 0; i < a->n_funcs; i++) {
    const ts_func *fa = &a->funcs[i];
    const ts_func *fb = ts_module_lookup((ts_module *)b, fa->name);
    if (!fb) {
      *diff =
          ts_strdup_printf("function '%s' missing in second module", fa->name);
      return false;
    }
    if (!func_equal(fa, fb, diff))
      return false;
  }
  for (int i = 0; i < b->n_funcs; i++) {
    if (!ts_module_lookup((ts_module *)a, b->funcs[i].name)) {
      *diff = ts_strdup_printf("function '%s' missing in first module",
                               b->funcs[i].name);
      return false;
    }
  }
  for (int i = 0; i < a->n_intrins; i++) {
    const ts_tensor_intrin *ia = &a->intrins[i], *ib = NULL;
    for (int j = 0; j < b->n_intrins; j++)
      if (strcmp(b->intrins[j].name, ia->name) == 0)
        ib = &b->intrins[j];
    if (!ib) {
      *diff = ts_strdup_printf("tensor intrinsic '%s' missing in second module",
                               ia->name);
      return false;
    }
    eq q = {0};
    bool ok = SUB(&q, eq_primfunc(&q, ia->desc, ib->desc),
                  "tensor intrinsic '%s' description", ia->name);
    if (!eq_finish(&q, ok, diff))
      return false;
    eq r = {0};
    ok = SUB(&r, eq_primfunc(&r, ia->impl, ib->impl),
             "tensor intrinsic '%s' implementation", ia->name);
    if (!eq_finish(&r, ok, diff))
      return false;
  }
  if (a->n_intrins != b->n_intrins) {
    *diff = ts_strdup_printf("tensor intrinsic count %d vs %d", a->n_intrins,
                             b->n_intrins);
    return false;
  }
  eq q = {0};
  bool ok = SUB(&q, eq_attrs(&q, a->attrs, b->attrs), "module attrs");
  return eq_finish(&q, ok, diff);
}

bool ts_module_equal(const ts_module *a, const ts_module *b, char **out_diff) {
  char *diff = NULL;
  bool ok = module_equal(a, b, &diff);
  if (!ok && !diff)
    diff = ts_xstrdup("modules differ");
  if (out_diff)
    *out_diff = ok ? NULL : diff;
  else
    free(diff);
  return ok;
}

/* ======================================================================
 * Hashing
 * ====================================================================== */

typedef struct hs {
  ts_ptrmap ids; /* var/buffer/gvar -> 1 + first-occurrence index */
  uintptr_t next;
} hs;

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdULL;
  return h ^ (h >> 29);
}

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; s && *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static uint64_t hash_dtype(ts_dtype t) {
  return ((uint64_t)t.code << 24) | ((uint64_t)t.bits << 16) | t.lanes;
}

/* Returns the node's number and whether this was its first occurrence. */
static uint64_t node_id(hs *h, const void *p, bool *first) {
  uintptr_t id = (uintptr_t)ts_ptrmap_get(&h->ids, p);
  *first = id == 0;
  if (!id) {
    id = ++h->next;
    ts_ptrmap_put(&h->ids, p, (void *)id);
  }
  return id;
}

static uint64_t h_expr(hs *h, uint64_t acc, const ts_expr *e);

static uint64_t h_var(hs *h, uint64_t acc, const ts_var *v) {
  bool first;
  if (!v)
    return mix(acc, 0xdead);
  acc = mix(acc, hash_dtype(v->dtype));
  return mix(acc, node_id(h, v, &first));
}

static uint64_t h_exprs(hs *h, uint64_t acc, ts_expr *const *es, int n) {
  acc = mix(acc, (uint64_t)n);
  for (int i = 0; es && i < n; i++)
    acc = h_expr(h, acc, es[i]);
  return acc;
}

static uint64_t h_buffer(hs *h, uint64_t acc, const ts_buffer *b) {
  bool first;
  if (!b)
    return mix(acc, 0xbeef);
  acc = mix(acc, node_id(h, b, &first));
  if (!first)
    return acc;
  acc = mix(acc, hash_dtype(b->dtype));
  acc = h_exprs(h, acc, b->shape, b->ndim);
  acc = mix(acc, b->strides != NULL);
  if (b->strides)
    acc = h_exprs(h, acc, b->strides, b->ndim);
  if (!is_zero(b->elem_offset))
    acc = h_expr(h, acc, b->elem_offset);
  acc = mix(acc, hash_str(b->scope ? b->scope : "global"));
  acc = mix(acc, (uint64_t)b->align);
  acc = mix(acc, (uint64_t)b->offset_factor);
  /* data vars are paired only when both sides have one: not hashed */
  return acc;
}

static uint64_t h_expr(hs *h, uint64_t acc, const ts_expr *e) {
  if (!e)
    return mix(acc, 0x5eed);
  acc = mix(acc, (uint64_t)e->kind);
  acc = mix(acc, hash_dtype(e->dtype));
  switch (e->kind) {
  case TS_E_INT:
    return mix(acc, (uint64_t)e->u.int_value);
  case TS_E_FLOAT: {
    uint64_t bits;
    double v = isnan(e->u.float_value) ? NAN : e->u.float_value;
    memcpy(&bits, &v, sizeof bits);
    return mix(acc, isnan(v) ? 0x7ff8 : bits);
  }
  case TS_E_STR:
    return mix(acc, hash_str(e->u.str));
  case TS_E_VAR:
    return h_var(h, acc, e->u.var);
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return h_expr(h, acc, e->u.unary.a);
  case TS_E_SELECT:
    acc = h_expr(h, acc, e->u.select.cond);
    acc = h_expr(h, acc, e->u.select.t);
    return h_expr(h, acc, e->u.select.f);
  case TS_E_LOAD:
    acc = h_buffer(h, acc, e->u.load.buffer);
    return h_exprs(h, acc, e->u.load.indices, e->u.load.n);
  case TS_E_CALL:
    acc = mix(acc, (uint64_t)e->u.call.op);
    return h_exprs(h, acc, e->u.call.args, e->u.call.n);
  case TS_E_LET:
    acc = h_expr(h, acc, e->u.let.value);
    acc = h_var(h, acc, e->u.let.var);
    return h_expr(h, acc, e->u.let.body);
  case TS_E_RAMP:
    acc = h_expr(h, acc, e->u.ramp.base);
    return h_expr(h, acc, e->u.ramp.stride);
  default:
    acc = h_expr(h, acc, e->u.bin.a);
    return h_expr(h, acc, e->u.bin.b);
  }
}

static uint64_t h_attrs(hs *h, uint64_t acc, const ts_attrs *d);

/* Attribute values hash without variable numbering side effects mattering
 * for order: expressions inside attributes are hashed with the shared
 * numbering (they are compared in key order of `a`, rare in practice). */
static uint64_t h_attr(hs *h, uint64_t acc, const ts_attr_value *v) {
  if (!v)
    return mix(acc, 0xa77);
  acc = mix(acc, (uint64_t)v->kind);
  switch (v->kind) {
  case TS_ATTR_NONE:
    return acc;
  case TS_ATTR_BOOL:
  case TS_ATTR_INT:
    return mix(acc, (uint64_t)v->u.i);
  case TS_ATTR_FLOAT: {
    uint64_t bits;
    memcpy(&bits, &v->u.f, sizeof bits);
    return mix(acc, isnan(v->u.f) ? 0x7ff8 : bits);
  }
  case TS_ATTR_STR:
    return mix(acc, hash_str(v->u.s));
  case TS_ATTR_LIST:
    acc = mix(acc, (uint64_t)v->u.list.n);
    for (int i = 0; i < v->u.list.n; i++)
      acc = h_attr(h, acc, v->u.list.items[i]);
    return acc;
  case TS_ATTR_DICT:
    return h_attrs(h, acc, v->u.dict);
  case TS_ATTR_EXPR:
    return h_expr(h, acc, v->u.expr);
  case TS_ATTR_DTYPE:
    return mix(acc, hash_dtype(v->u.dtype));
  }
  return acc;
}

/* Order-independent: a sum of per-entry hashes. */
static uint64_t h_attrs(hs *h, uint64_t acc, const ts_attrs *d) {
  uint64_t sum = 0;
  for (int i = 0; d && i < d->n; i++)
    sum += h_attr(h, mix(0x1234, hash_str(d->keys[i])), d->values[i]);
  return mix(acc, sum);
}

static uint64_t h_region(hs *h, uint64_t acc, const ts_region *r) {
  acc = h_buffer(h, acc, r->buffer);
  acc = mix(acc, (uint64_t)r->n);
  for (int i = 0; i < r->n; i++) {
    acc = h_expr(h, acc, r->ranges[i].min);
    acc = h_expr(h, acc, r->ranges[i].extent);
  }
  return acc;
}

static uint64_t h_stmt(hs *h, uint64_t acc, const ts_stmt *s) {
  if (!s)
    return mix(acc, 0x57);
  acc = mix(acc, (uint64_t)s->kind + 100);
  switch (s->kind) {
  case TS_S_SEQ:
    acc = mix(acc, (uint64_t)s->u.seq.n);
    for (int i = 0; i < s->u.seq.n; i++)
      acc = h_stmt(h, acc, s->u.seq.stmts[i]);
    return acc;
  case TS_S_FOR:
    acc = mix(acc, (uint64_t)s->u.for_.kind);
    acc = mix(acc, hash_str(s->u.for_.thread_tag));
    acc = h_expr(h, acc, s->u.for_.min);
    acc = h_expr(h, acc, s->u.for_.extent);
    acc = h_attrs(h, acc, s->u.for_.annotations);
    acc = h_var(h, acc, s->u.for_.var);
    return h_stmt(h, acc, s->u.for_.body);
  case TS_S_BLOCK_REALIZE: {
    const ts_block *b = s->u.realize.block;
    acc = mix(acc, hash_str(b->name));
    acc = mix(acc, (uint64_t)b->n_iter_vars);
    if (s->u.realize.iter_values)
      acc = h_exprs(h, acc, s->u.realize.iter_values, b->n_iter_vars);
    acc = h_expr(h, acc, s->u.realize.predicate);
    for (int i = 0; i < b->n_iter_vars; i++) {
      acc = mix(acc, (uint64_t)b->iter_vars[i].type);
      acc = h_expr(h, acc, b->iter_vars[i].dom.min);
      acc = h_expr(h, acc, b->iter_vars[i].dom.extent);
      acc = h_var(h, acc, b->iter_vars[i].var);
    }
    acc = mix(acc, (uint64_t)b->n_alloc_buffers);
    for (int i = 0; i < b->n_alloc_buffers; i++)
      acc = h_buffer(h, acc, b->alloc_buffers[i]);
    acc = mix(acc, (uint64_t)b->n_match_buffers);
    for (int i = 0; i < b->n_match_buffers; i++) {
      acc = h_region(h, acc, &b->match_buffers[i].source);
      acc = h_buffer(h, acc, b->match_buffers[i].buffer);
    }
    if (!is_root(b)) {
      acc = mix(acc, (uint64_t)b->n_reads);
      for (int i = 0; i < b->n_reads; i++)
        acc = h_region(h, acc, &b->reads[i]);
      acc = mix(acc, (uint64_t)b->n_writes);
      for (int i = 0; i < b->n_writes; i++)
        acc = h_region(h, acc, &b->writes[i]);
    }
    acc = h_attrs(h, acc, b->annotations);
    acc = h_stmt(h, acc, b->init);
    return h_stmt(h, acc, b->body);
  }
  case TS_S_STORE:
    acc = h_buffer(h, acc, s->u.store.buffer);
    acc = h_exprs(h, acc, s->u.store.indices, s->u.store.n);
    return h_expr(h, acc, s->u.store.value);
  case TS_S_IF:
    acc = h_expr(h, acc, s->u.if_.cond);
    acc = h_stmt(h, acc, s->u.if_.then_s);
    return h_stmt(h, acc, s->u.if_.else_s);
  case TS_S_LET:
    acc = h_expr(h, acc, s->u.let.value);
    acc = h_var(h, acc, s->u.let.var);
    return h_stmt(h, acc, s->u.let.body);
  case TS_S_EVALUATE:
    return h_expr(h, acc, s->u.eval.value);
  case TS_S_ALLOCATE:
    acc = h_buffer(h, acc, s->u.alloc.buffer);
    return h_stmt(h, acc, s->u.alloc.body);
  case TS_S_ASSERT:
    acc = h_expr(h, acc, s->u.assert_.cond);
    acc = mix(acc, hash_str(s->u.assert_.message));
    return h_stmt(h, acc, s->u.assert_.body);
  }
  return acc;
}

static uint64_t h_primfunc(hs *h, const ts_primfunc *f) {
  uint64_t acc = mix(0x9f, (uint64_t)f->n_params);
  for (int i = 0; i < f->n_params; i++) {
    acc = mix(acc, f->params[i].buffer != NULL);
    acc = h_var(h, acc, f->params[i].var);
    if (f->params[i].buffer)
      acc = h_buffer(h, acc, f->params[i].buffer);
  }
  acc = mix(acc, f->is_private);
  acc = h_attrs(h, acc, f->attrs);
  return h_stmt(h, acc, f->body);
}

static uint64_t h_sinfo(hs *h, uint64_t acc, const ts_sinfo *s) {
  if (!s)
    return mix(acc, 0x51);
  acc = mix(acc, (uint64_t)s->kind + 200);
  switch (s->kind) {
  case TS_SI_OBJECT:
  case TS_SI_FUNC:
    return acc;
  case TS_SI_PRIM:
    acc = mix(acc, hash_dtype(s->u.prim.dtype));
    return s->u.prim.value ? h_expr(h, acc, s->u.prim.value) : acc;
  case TS_SI_SHAPE:
    acc = mix(acc, (uint64_t)s->u.shape.ndim);
    return s->u.shape.values
               ? h_exprs(h, acc, s->u.shape.values, s->u.shape.ndim)
               : acc;
  case TS_SI_TENSOR:
    acc = mix(acc, (uint64_t)s->u.tensor.ndim);
    acc = mix(acc, hash_dtype(s->u.tensor.dtype));
    return s->u.tensor.shape
               ? h_exprs(h, acc, s->u.tensor.shape, s->u.tensor.ndim)
               : acc;
  case TS_SI_TUPLE:
    acc = mix(acc, (uint64_t)s->u.tuple.n);
    for (int i = 0; i < s->u.tuple.n; i++)
      acc = h_sinfo(h, acc, s->u.tuple.fields[i]);
    return acc;
  }
  return acc;
}

static uint64_t h_gvar(hs *h, uint64_t acc, const ts_gvar *v) {
  bool first;
  if (!v)
    return mix(acc, 0x6a);
  acc = mix(acc, node_id(h, v, &first));
  if (first)
    acc = mix(acc, v->is_dataflow);
  return acc;
}

static uint64_t h_gexpr(hs *h, uint64_t acc, const ts_gexpr *e) {
  if (!e)
    return mix(acc, 0x6e);
  acc = mix(acc, (uint64_t)e->kind + 300);
  switch (e->kind) {
  case TS_G_VAR:
    return h_gvar(h, acc, e->u.var);
  case TS_G_CONST: {
    const ts_const_data *c = e->u.constant;
    acc = mix(acc, hash_dtype(c->dtype));
    acc = mix(acc, (uint64_t)c->ndim);
    for (int i = 0; i < c->ndim; i++)
      acc = mix(acc, (uint64_t)c->shape[i]);
    uint64_t d = 1469598103934665603ULL;
    const unsigned char *p = c->data;
    for (size_t i = 0; p && i < c->nbytes; i++)
      d = (d ^ p[i]) * 1099511628211ULL;
    return mix(acc, d);
  }
  case TS_G_TUPLE:
    acc = mix(acc, (uint64_t)e->u.tuple.n);
    for (int i = 0; i < e->u.tuple.n; i++)
      acc = h_gexpr(h, acc, e->u.tuple.fields[i]);
    return acc;
  case TS_G_TUPLE_GET:
    acc = mix(acc, (uint64_t)e->u.tuple_get.index);
    return h_gexpr(h, acc, e->u.tuple_get.tuple);
  case TS_G_CALL:
    acc = mix(acc, (uint64_t)e->u.call.callee_kind);
    if (e->u.call.callee_kind == TS_CALLEE_OP)
      acc = mix(acc, (uint64_t)e->u.call.op);
    else
      acc = mix(acc, hash_str(e->u.call.name));
    acc = mix(acc, (uint64_t)e->u.call.n_args);
    for (int i = 0; i < e->u.call.n_args; i++)
      acc = h_gexpr(h, acc, e->u.call.args[i]);
    acc = h_attrs(h, acc, e->u.call.attrs);
    acc = mix(acc, (uint64_t)e->u.call.n_sinfo_args);
    for (int i = 0; i < e->u.call.n_sinfo_args; i++)
      acc = h_sinfo(h, acc, e->u.call.sinfo_args[i]);
    return acc;
  case TS_G_SHAPE:
    return h_exprs(h, acc, e->u.shape.values, e->u.shape.n);
  case TS_G_PRIM:
    return h_expr(h, acc, e->u.prim);
  case TS_G_STR:
    return mix(acc, hash_str(e->u.str));
  case TS_G_DTYPE:
    return mix(acc, hash_dtype(e->u.dtype));
  case TS_G_GLOBAL:
    return mix(acc, hash_str(e->u.global_name));
  case TS_G_EXTERN:
    return mix(acc, hash_str(e->u.extern_name));
  }
  return acc;
}

static uint64_t h_gfunc(hs *h, const ts_gfunc *f) {
  uint64_t acc = mix(0x6f, (uint64_t)f->n_params);
  for (int i = 0; i < f->n_params; i++)
    acc = h_gvar(h, acc, f->params[i]);
  acc = mix(acc, f->is_pure);
  acc = mix(acc, f->is_private);
  acc = h_attrs(h, acc, f->attrs);
  acc = mix(acc, (uint64_t)f->n_blocks);
  for (int i = 0; i < f->n_blocks; i++) {
    const ts_binding_block *bb = &f->blocks[i];
    acc = mix(acc, bb->is_dataflow);
    acc = mix(acc, (uint64_t)bb->n);
    for (int j = 0; j < bb->n; j++) {
      acc = mix(acc, (uint64_t)bb->bindings[j].kind);
      acc = h_gexpr(h, acc, bb->bindings[j].value);
      if (bb->bindings[j].kind == TS_BIND_MATCH_CAST)
        acc = h_sinfo(h, acc, bb->bindings[j].match_sinfo);
      acc = h_gvar(h, acc, bb->bindings[j].var);
    }
    acc = mix(acc, (uint64_t)bb->n_outputs);
    for (int j = 0; j < bb->n_outputs; j++)
      acc = h_gvar(h, acc, bb->outputs[j]);
  }
  return h_gexpr(h, acc, f->result);
}

uint64_t ts_primfunc_hash(const ts_primfunc *f) {
  hs h = {0};
  uint64_t r = h_primfunc(&h, f);
  ts_ptrmap_free(&h.ids);
  return r;
}

static uint64_t gfunc_hash(const ts_gfunc *f) {
  hs h = {0};
  uint64_t r = h_gfunc(&h, f);
  ts_ptrmap_free(&h.ids);
  return r;
}

uint64_t ts_module_hash(const ts_module *m) {
  uint64_t sum = 0;
  for (int i = 0; i < m->n_funcs; i++) {
    const ts_func *f = &m->funcs[i];
    uint64_t fh = mix(hash_str(f->name), (uint64_t)f->kind);
    switch (f->kind) {
    case TS_FUNC_PRIM:
      fh = mix(fh, ts_primfunc_hash(f->u.prim));
      break;
    case TS_FUNC_GRAPH:
      fh = mix(fh, gfunc_hash(f->u.graph));
      break;
    case TS_FUNC_EXTERN:
      fh = mix(fh, hash_str(f->u.extern_name));
      break;
    }
    sum += fh; /* order-independent: functions match by name */
  }
  uint64_t acc = mix(0x30d, sum);
  uint64_t isum = 0;
  for (int i = 0; i < m->n_intrins; i++) {
    uint64_t ih = hash_str(m->intrins[i].name);
    ih = mix(ih, ts_primfunc_hash(m->intrins[i].desc));
    ih = mix(ih, ts_primfunc_hash(m->intrins[i].impl));
    isum += ih;
  }
  acc = mix(acc, isum);
  hs h = {0};
  acc = h_attrs(&h, acc, m->attrs);
  ts_ptrmap_free(&h.ids);
  return acc;
}
