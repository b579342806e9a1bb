/* trace_parse.c: ts_trace_apply, running a schedule script.
 *
 * The script is Python: TVM's printed traces
 *     b0 = sch.get_block(name="Y", func_name="main")
 *     l1, l2, l3 = sch.get_loops(block=b0)
 *     l4, l5 = sch.split(loop=l2, factors=[None, 4], preserve_unit_iters=True)
 * (optionally inside `def apply_trace(sch):`), or the MLC course's style
 * with positional arguments and any variable names:
 *     block_Y = sch.get_block("Y", func_name="mm_relu")
 *     i, j, k = sch.get_loops(block_Y)
 *     sch.reorder(j0, k, j1)
 * Each call `<name>.<primitive>(...)` is matched against the primitive's
 * parameter list (TVM's names and order), converted and dispatched to the
 * ts_sch_* function; results are bound to the names on the left in a name
 * table (a name bound to several handles can be indexed, `loops[0]`, or
 * unpacked, `*loops`).  Imports, `sch = tir.Schedule(...)` lines and
 * docstrings are skipped.
 *
 * Every error is located: "sched.py:LINE:COL: message" with the source line
 * and a caret; errors of the primitives themselves (ScheduleError: ...) are
 * located at the call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule/sch_internal.h"
#include "script/pyast.h"

typedef struct tp_binding {
  const char *name;
  ts_rv *rvs;  /* heap */
  int n;
  bool is_list;
} tp_binding;

typedef struct tp_ctx {
  ts_schedule *s;
  const char *src; /* NUL-terminated copy */
  TS_VEC(tp_binding) names;
} tp_ctx;

static ts_status *err_at(tp_ctx *c, ts_loc loc, ts_status_code code,
                         const char *fmt, ...) TS_PRINTF(4, 5);
static ts_status *err_at(tp_ctx *c, ts_loc loc, ts_status_code code,
                         const char *fmt, ...) {
  ts_strbuf b = {0};
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  ts_status *st = py_error_at(c->src, loc, code, "%s", b.data);
  ts_strbuf_free(&b);
  return st;
}

/* ---- the name table ------------------------------------------------------------ */

static tp_binding *lookup(tp_ctx *c, const char *name) {
  for (size_t i = c->names.len; i-- > 0;)
    if (!strcmp(c->names.data[i].name, name)) return &c->names.data[i];
  return NULL;
}

static void bind_name(tp_ctx *c, const char *name, const ts_rv *rvs, int n,
                      bool is_list) {
  tp_binding b = {name, ts_xmalloc(sizeof(ts_rv) * (size_t)(n ? n : 1)), n,
                  is_list};
  if (n) memcpy(b.rvs, rvs, sizeof(ts_rv) * (size_t)n);
  ts_vec_push(&c->names, b);
}

/* ---- primitives and their parameters ---------------------------------------- */

typedef enum prim_id {
  P_GET_BLOCK, P_GET_LOOPS, P_GET_CHILD_BLOCKS, P_GET_PRODUCERS,
  P_GET_CONSUMERS, P_SPLIT, P_FUSE, P_REORDER, P_ADD_UNIT_LOOP, P_PARALLEL,
  P_VECTORIZE, P_UNROLL, P_BIND, P_COMPUTE_AT, P_REVERSE_COMPUTE_AT,
  P_COMPUTE_INLINE, P_REVERSE_COMPUTE_INLINE, P_CACHE_READ, P_CACHE_WRITE,
  P_SET_SCOPE, P_STORAGE_ALIGN, P_DECOMPOSE_REDUCTION, P_RFACTOR,
  P_TRANSFORM_LAYOUT, P_TRANSFORM_BLOCK_LAYOUT, P_BLOCKIZE, P_TENSORIZE,
  P_ANNOTATE, P_UNANNOTATE, P_SAMPLE_PERFECT_TILE, P_SAMPLE_CATEGORICAL,
  P_SAMPLE_COMPUTE_LOCATION, P_WORK_ON,
} prim_id;

#define MAX_PARAMS 6
/* params: TVM's parameter names in positional order; a leading "*name"
 * takes every positional argument (fuse, reorder). */
typedef struct prim_spec {
  prim_id id;
  const char *name;
  const char *params[MAX_PARAMS];
  int n_required;
} prim_spec;

static const prim_spec specs[] = {
    {P_GET_BLOCK, "get_block", {"name", "func_name"}, 1},
    {P_GET_BLOCK, "get_sblock", {"name", "func_name"}, 1},
    {P_GET_LOOPS, "get_loops", {"block"}, 1},
    {P_GET_CHILD_BLOCKS, "get_child_blocks", {"block_or_loop"}, 1},
    {P_GET_PRODUCERS, "get_producers", {"block"}, 1},
    {P_GET_CONSUMERS, "get_consumers", {"block"}, 1},
    {P_SPLIT, "split",
     {"loop", "factors", "preserve_unit_iters", "disable_predication"}, 2},
    {P_FUSE, "fuse", {"*loops", "preserve_unit_iters"}, 0},
    {P_REORDER, "reorder", {"*ordered_loops"}, 0},
    {P_ADD_UNIT_LOOP, "add_unit_loop", {"block_or_loop"}, 1},
    {P_PARALLEL, "parallel", {"loop"}, 1},
    {P_VECTORIZE, "vectorize", {"loop"}, 1},
    {P_UNROLL, "unroll", {"loop"}, 1},
    {P_BIND, "bind", {"loop", "thread_axis"}, 2},
    {P_COMPUTE_AT, "compute_at",
     {"block", "loop", "preserve_unit_loops", "index"}, 2},
    {P_REVERSE_COMPUTE_AT, "reverse_compute_at",
     {"block", "loop", "preserve_unit_loops", "index"}, 2},
    {P_COMPUTE_INLINE, "compute_inline", {"block"}, 1},
    {P_REVERSE_COMPUTE_INLINE, "reverse_compute_inline", {"block"}, 1},
    {P_CACHE_READ, "cache_read",
     {"block", "read_buffer_index", "storage_scope", "consumer_blocks"}, 3},
    {P_CACHE_WRITE, "cache_write",
     {"block", "write_buffer_index", "storage_scope", "consumer_blocks"}, 3},
    {P_SET_SCOPE, "set_scope", {"block", "buffer_index", "storage_scope"}, 3},
    {P_STORAGE_ALIGN, "storage_align",
     {"block", "buffer_index", "axis", "factor", "offset"}, 5},
    {P_DECOMPOSE_REDUCTION, "decompose_reduction", {"block", "loop"}, 2},
    {P_RFACTOR, "rfactor", {"loop", "factor_axis"}, 2},
    {P_TRANSFORM_LAYOUT, "transform_layout",
     {"block", "buffer", "index_map", "pad_value",
      "assume_injective_transform"}, 3},
    {P_TRANSFORM_BLOCK_LAYOUT, "transform_block_layout",
     {"block", "index_map"}, 2},
    {P_BLOCKIZE, "blockize", {"target", "preserve_unit_iters"}, 1},
    {P_TENSORIZE, "tensorize",
     {"block_or_loop", "tensor_intrin", "preserve_unit_iters"}, 2},
    {P_ANNOTATE, "annotate", {"block_or_loop", "ann_key", "ann_val"}, 3},
    {P_UNANNOTATE, "unannotate", {"block_or_loop", "ann_key"}, 2},
    {P_SAMPLE_PERFECT_TILE, "sample_perfect_tile",
     {"loop", "n", "max_innermost_factor", "decision"}, 2},
    {P_SAMPLE_CATEGORICAL, "sample_categorical",
     {"candidates", "probs", "decision"}, 2},
    {P_SAMPLE_COMPUTE_LOCATION, "sample_compute_location",
     {"block", "decision"}, 1},
    {P_WORK_ON, "work_on", {"func_name"}, 1},
};

static const prim_spec *find_spec(const char *name) {
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
    if (!strcmp(specs[i].name, name)) return &specs[i];
  return NULL;
}

/* The arguments of one call, matched to the primitive's parameters. */
typedef struct tp_args {
  const py_expr *call;
  const prim_spec *spec;
  const py_expr *by_param[MAX_PARAMS];
  TS_VEC(ts_rv) var; /* *args, already resolved to handles */
} tp_args;

static ts_status *resolve_rv(tp_ctx *c, const py_expr *e, ts_rv *out);

static ts_status *match_args(tp_ctx *c, const py_expr *call,
                             const prim_spec *p, tp_args *a) {
  memset(a, 0, sizeof *a);
  a->call = call;
  a->spec = p;
  int n_params = 0;
  while (n_params < MAX_PARAMS && p->params[n_params]) n_params++;
  bool varargs = n_params > 0 && p->params[0][0] == '*';
  int pos = 0;
  for (int i = 0; i < call->u.call.n_args; i++) {
    const py_expr *e = call->u.call.args[i];
    if (varargs) {
      if (e->kind == PY_STARRED) {
        const py_expr *o = e->u.unary.operand;
        tp_binding *b = o->kind == PY_NAME ? lookup(c, o->u.name) : NULL;
        if (!b)
          return err_at(c, o->loc, TS_ERR_NAME, "unknown name '%s'",
                        o->kind == PY_NAME ? o->u.name : "?");
        for (int k = 0; k < b->n; k++) ts_vec_push(&a->var, b->rvs[k]);
        continue;
      }
      ts_rv rv;
      TS_RETURN_IF_ERROR(resolve_rv(c, e, &rv));
      ts_vec_push(&a->var, rv);
      continue;
    }
    if (e->kind == PY_STARRED)
      return err_at(c, e->loc, TS_ERR_VALUE, "%s() does not take *args",
                    p->name);
    if (pos >= n_params)
      return err_at(c, e->loc, TS_ERR_VALUE,
                    "%s() takes %d argument%s but %d were given", p->name,
                    n_params, n_params == 1 ? "" : "s",
                    call->u.call.n_args);
    a->by_param[pos++] = e;
  }
  for (int i = 0; i < call->u.call.n_kwargs; i++) {
    const py_keyword *kw = &call->u.call.kwargs[i];
    int k = varargs ? 1 : 0;
    for (; k < n_params; k++)
      if (kw->name && !strcmp(kw->name, p->params[k])) break;
    if (k == n_params || !kw->name)
      return err_at(c, kw->loc, TS_ERR_VALUE,
                    "%s() got an unexpected keyword argument '%s'", p->name,
                    kw->name ? kw->name : "**");
    if (a->by_param[k])
      return err_at(c, kw->loc, TS_ERR_VALUE,
                    "%s() got multiple values for argument '%s'", p->name,
                    kw->name);
    a->by_param[k] = kw->value;
  }
  for (int k = varargs ? 1 : 0; k < p->n_required; k++)
    if (!a->by_param[k])
      return err_at(c, call->loc, TS_ERR_VALUE,
                    "%s() missing required argument '%s'", p->name,
                    p->params[k]);
  return NULL;
}

/* ---- argument conversion ------------------------------------------------------- */

static ts_status *resolve_rv(tp_ctx *c, const py_expr *e, ts_rv *out) {
  if (e->kind == PY_NAME) {
    tp_binding *b = lookup(c, e->u.name);
    if (!b)
      return err_at(c, e->loc, TS_ERR_NAME, "unknown name '%s'", e->u.name);
    if (b->n != 1 || b->is_list)
      return err_at(c, e->loc, TS_ERR_VALUE,
                    "'%s' holds %d handles; index it or unpack it",
                    e->u.name, b->n);
    *out = b->rvs[0];
    return NULL;
  }
  if (e->kind == PY_SUBSCRIPT && e->u.subscript.value->kind == PY_NAME) {
    const py_expr *v = e->u.subscript.value, *ix = e->u.subscript.index;
    tp_binding *b = lookup(c, v->u.name);
    if (!b)
      return err_at(c, v->loc, TS_ERR_NAME, "unknown name '%s'", v->u.name);
    int64_t i;
    if (ix->kind == PY_INT) i = ix->u.int_value;
    else if (ix->kind == PY_UNARYOP && ix->u.unary.op == PY_OP_NEG &&
             ix->u.unary.operand->kind == PY_INT)
      i = -ix->u.unary.operand->u.int_value;
    else
      return err_at(c, ix->loc, TS_ERR_VALUE, "expected an integer index");
    if (i < 0) i += b->n;
    if (i < 0 || i >= b->n)
      return err_at(c, ix->loc, TS_ERR_VALUE,
                    "index out of range: '%s' holds %d handles", v->u.name,
                    b->n);
    *out = b->rvs[i];
    return NULL;
  }
  return err_at(c, e->loc, TS_ERR_VALUE,
                "expected a block or loop handle (a name), got '%s'",
                e->kind == PY_STR ? e->u.str : "an expression");
}

static ts_status *arg_rv(tp_ctx *c, tp_args *a, int k, ts_rv *out) {
  return resolve_rv(c, a->by_param[k], out);
}

static bool is_neg_int(const py_expr *e, int64_t *out) {
  if (e->kind == PY_UNARYOP && e->u.unary.op == PY_OP_NEG &&
      e->u.unary.operand->kind == PY_INT) {
    *out = -e->u.unary.operand->u.int_value;
    return true;
  }
  return false;
}

static ts_status *conv_int(tp_ctx *c, const py_expr *e, const char *what,
                           int64_t *out) {
  if (e->kind == PY_INT) {
    *out = e->u.int_value;
    return NULL;
  }
  if (is_neg_int(e, out)) return NULL;
  if (e->kind == PY_NAME) {
    tp_binding *b = lookup(c, e->u.name);
    if (b && b->n == 1 && !b->is_list &&
        c->s->rvs.data[b->rvs[0]].kind == SCH_RV_INT) {
      *out = c->s->rvs.data[b->rvs[0]].value;
      return NULL;
    }
  }
  return err_at(c, e->loc, TS_ERR_VALUE, "%s: expected an integer", what);
}

/* Optional integer parameter k with a default. */
static ts_status *arg_int(tp_ctx *c, tp_args *a, int k, int64_t dflt,
                          int64_t *out) {
  *out = dflt;
  if (!a->by_param[k] || a->by_param[k]->kind == PY_NONE) return NULL;
  return conv_int(c, a->by_param[k], a->spec->params[k], out);
}

static ts_status *arg_bool(tp_ctx *c, tp_args *a, int k, bool dflt,
                           bool *out) {
  *out = dflt;
  const py_expr *e = a->by_param[k];
  if (!e) return NULL;
  if (e->kind == PY_TRUE) *out = true;
  else if (e->kind == PY_FALSE) *out = false;
  else if (e->kind == PY_INT) *out = e->u.int_value != 0;
  else
    return err_at(c, e->loc, TS_ERR_VALUE, "%s: expected True or False",
                  a->spec->params[k]);
  return NULL;
}

static ts_status *arg_str(tp_ctx *c, tp_args *a, int k, const char **out) {
  *out = NULL;
  const py_expr *e = a->by_param[k];
  if (!e || e->kind == PY_NONE) return NULL;
  if (e->kind != PY_STR)
    return err_at(c, e->loc, TS_ERR_VALUE, "%s: expected a string",
                  a->spec->params[k]);
  *out = e->u.str;
  return NULL;
}

/* A list of handles ([b1, b2]) or None; *out heap (NULL when absent). */
static ts_status *arg_rv_list(tp_ctx *c, tp_args *a, int k, ts_rv **out,
                              int *out_n) {
  *out = NULL;
  *out_n = 0;
  const py_expr *e = a->by_param[k];
  if (!e || e->kind == PY_NONE) return NULL;
  if (e->kind == PY_NAME) {
    tp_binding *b = lookup(c, e->u.name);
    if (!b)
      return err_at(c, e->loc, TS_ERR_NAME, "unknown name '%s'", e->u.name);
    *out = ts_xmalloc(sizeof(ts_rv) * (size_t)(b->n ? b->n : 1));
    memcpy(*out, b->rvs, sizeof(ts_rv) * (size_t)b->n);
    *out_n = b->n;
    return NULL;
  }
  if (e->kind != PY_LIST && e->kind != PY_TUPLE)
    return err_at(c, e->loc, TS_ERR_VALUE, "%s: expected a list of handles",
                  a->spec->params[k]);
  *out = ts_xmalloc(sizeof(ts_rv) * (size_t)(e->u.seq.n ? e->u.seq.n : 1));
  for (int i = 0; i < e->u.seq.n; i++) {
    ts_status *st = resolve_rv(c, e->u.seq.items[i], &(*out)[i]);
    if (st) {
      free(*out);
      *out = NULL;
      return st;
    }
  }
  *out_n = e->u.seq.n;
  return NULL;
}

/* A TensorIR expression over the lambda's parameters. */
static ts_status *conv_index_expr(tp_ctx *c, const py_expr *e, ts_var **ps,
                                  const py_expr *lam, ts_expr **out) {
  ts_arena *ar = c->s->mod->arena;
  switch (e->kind) {
  case PY_INT: *out = ts_int(ar, TS_I32, e->u.int_value); return NULL;
  case PY_NAME:
    for (int i = 0; i < lam->u.lambda_.n_params; i++)
      if (!strcmp(lam->u.lambda_.params[i], e->u.name)) {
        *out = ts_varref(ar, ps[i]);
        return NULL;
      }
    return err_at(c, e->loc, TS_ERR_NAME, "unknown name '%s' in index map",
                  e->u.name);
  case PY_UNARYOP:
    if (e->u.unary.op == PY_OP_NEG) {
      ts_expr *x;
      TS_RETURN_IF_ERROR(conv_index_expr(c, e->u.unary.operand, ps, lam, &x));
      *out = ts_binary(ar, TS_E_SUB, ts_int(ar, x->dtype, 0), x);
      return NULL;
    }
    break;
  case PY_BINOP: {
    ts_expr_kind k;
    switch (e->u.binop.op) {
    case PY_OP_ADD: k = TS_E_ADD; break;
    case PY_OP_SUB: k = TS_E_SUB; break;
    case PY_OP_MUL: k = TS_E_MUL; break;
    case PY_OP_FLOORDIV: k = TS_E_FLOORDIV; break;
    case PY_OP_MOD: k = TS_E_FLOORMOD; break;
    default:
      return err_at(c, e->loc, TS_ERR_VALUE,
                    "operator '%s' is not supported in an index map",
                    py_op_str(e->u.binop.op));
    }
    ts_expr *x, *y;
    TS_RETURN_IF_ERROR(conv_index_expr(c, e->u.binop.left, ps, lam, &x));
    TS_RETURN_IF_ERROR(conv_index_expr(c, e->u.binop.right, ps, lam, &y));
    /* a literal takes the dtype of the other operand (T.int64(4) with an
     * int32 parameter, 4 with an int64 one), as in TVMScript */
    if (!ts_dtype_eq(x->dtype, y->dtype)) {
      if (y->kind == TS_E_INT) y = ts_int(ar, x->dtype, y->u.int_value);
      else if (x->kind == TS_E_INT) x = ts_int(ar, y->dtype, x->u.int_value);
      else y = ts_cast(ar, x->dtype, y);
    }
    *out = ts_binary(ar, k, x, y);
    return NULL;
  }
  case PY_CALL: {
    /* T.int64(4) / T.int32(4) */
    const py_expr *f = e->u.call.func;
    ts_dtype dt;
    if (f->kind == PY_ATTR && f->u.attr.value->kind == PY_NAME &&
        !strcmp(f->u.attr.value->u.name, "T") && e->u.call.n_args == 1 &&
        e->u.call.args[0]->kind == PY_INT && ts_dtype_parse(f->u.attr.name, &dt) &&
        ts_dtype_is_int(dt)) {
      *out = ts_int(ar, dt, e->u.call.args[0]->u.int_value);
      return NULL;
    }
    break;
  }
  default: break;
  }
  return err_at(c, e->loc, TS_ERR_VALUE,
                "unsupported expression in an index map");
}

static ts_status *arg_index_map(tp_ctx *c, tp_args *a, int k,
                                ts_index_map *out) {
  const py_expr *e = a->by_param[k];
  if (e->kind != PY_LAMBDA)
    return err_at(c, e->loc, TS_ERR_VALUE,
                  "%s: expected a lambda (lambda i, j: (j, i))",
                  a->spec->params[k]);
  ts_arena *ar = c->s->mod->arena;
  out->n_params = e->u.lambda_.n_params;
  out->params = ts_arena_array(ar, (size_t)(out->n_params ? out->n_params : 1),
                               sizeof(ts_var *));
  for (int i = 0; i < out->n_params; i++)
    out->params[i] =
        ts_var_new(ar, e->u.lambda_.params[i], TS_I32, e->loc);
  const py_expr *body = e->u.lambda_.body;
  bool seq = body->kind == PY_TUPLE || body->kind == PY_LIST;
  out->n_results = seq ? body->u.seq.n : 1;
  out->results = ts_arena_array(
      ar, (size_t)(out->n_results ? out->n_results : 1), sizeof(ts_expr *));
  for (int i = 0; i < out->n_results; i++)
    TS_RETURN_IF_ERROR(conv_index_expr(c, seq ? body->u.seq.items[i] : body,
                                       out->params, e, &out->results[i]));
  return NULL;
}

static ts_status *conv_attr(tp_ctx *c, const py_expr *e, ts_attr_value **out) {
  ts_arena *ar = c->s->mod->arena;
  int64_t iv;
  switch (e->kind) {
  case PY_INT: *out = ts_attr_int(ar, e->u.int_value); return NULL;
  case PY_FLOAT: *out = ts_attr_float(ar, e->u.float_value); return NULL;
  case PY_STR: *out = ts_attr_str(ar, e->u.str); return NULL;
  case PY_TRUE: *out = ts_attr_bool(ar, true); return NULL;
  case PY_FALSE: *out = ts_attr_bool(ar, false); return NULL;
  case PY_NONE:
    *out = ts_arena_alloc(ar, sizeof(ts_attr_value));
    (*out)->kind = TS_ATTR_NONE;
    return NULL;
  case PY_LIST:
  case PY_TUPLE: {
    ts_attr_value *v = ts_arena_alloc(ar, sizeof *v);
    v->kind = TS_ATTR_LIST;
    v->u.list.n = e->u.seq.n;
    v->u.list.items = ts_arena_array(
        ar, (size_t)(e->u.seq.n ? e->u.seq.n : 1), sizeof(ts_attr_value *));
    for (int i = 0; i < e->u.seq.n; i++)
      TS_RETURN_IF_ERROR(conv_attr(c, e->u.seq.items[i], &v->u.list.items[i]));
    *out = v;
    return NULL;
  }
  case PY_NAME:
  case PY_UNARYOP:
    TS_RETURN_IF_ERROR(conv_int(c, e, "ann_val", &iv));
    *out = ts_attr_int(ar, iv);
    return NULL;
  default:
    return err_at(c, e->loc, TS_ERR_VALUE,
                  "unsupported annotation value (expected a number, string, "
                  "bool, None or list)");
  }
}

/* ---- dispatch ----------------------------------------------------------------------- */

typedef struct tp_result {
  ts_rv *rvs; /* heap */
  int n;
  bool is_list;
} tp_result;

static void res_one(tp_result *r, ts_rv rv) {
  r->rvs = ts_xmalloc(sizeof(ts_rv));
  r->rvs[0] = rv;
  r->n = 1;
  r->is_list = false;
}

static ts_status *dispatch(tp_ctx *c, tp_args *a, tp_result *r) {
  ts_schedule *s = c->s;
  ts_rv b = -1, l = -1, rv = -1;
  int64_t i1 = 0, i2 = 0, i3 = 0, i4 = 0;
  bool f1 = false;
  const char *s1 = NULL, *s2 = NULL;
  switch (a->spec->id) {
  case P_GET_BLOCK:
    TS_RETURN_IF_ERROR(arg_str(c, a, 0, &s1));
    TS_RETURN_IF_ERROR(arg_str(c, a, 1, &s2));
    if (!s1)
      return err_at(c, a->by_param[0]->loc, TS_ERR_VALUE,
                    "name: expected a string");
    TS_RETURN_IF_ERROR(ts_sch_get_block(s, s1, s2, &rv));
    res_one(r, rv);
    return NULL;
  case P_GET_LOOPS:
  case P_GET_CHILD_BLOCKS:
  case P_GET_PRODUCERS:
  case P_GET_CONSUMERS: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    ts_status *(*fn)(ts_schedule *, ts_rv, ts_rv **, int *) =
        a->spec->id == P_GET_LOOPS          ? ts_sch_get_loops
        : a->spec->id == P_GET_CHILD_BLOCKS ? ts_sch_get_child_blocks
        : a->spec->id == P_GET_PRODUCERS    ? ts_sch_get_producers
                                            : ts_sch_get_consumers;
    TS_RETURN_IF_ERROR(fn(s, b, &r->rvs, &r->n));
    r->is_list = true;
    return NULL;
  }
  case P_SPLIT: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    TS_RETURN_IF_ERROR(arg_bool(c, a, 2, true, &f1));
    const py_expr *fe = a->by_param[1];
    if (fe->kind != PY_LIST && fe->kind != PY_TUPLE)
      return err_at(c, fe->loc, TS_ERR_VALUE,
                    "factors: expected a list such as [None, 4]");
    int n = fe->u.seq.n;
    int64_t *fs = ts_xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    ts_rv *frv = ts_xmalloc(sizeof(ts_rv) * (size_t)(n ? n : 1));
    ts_status *st = NULL;
    for (int i = 0; i < n && !st; i++) {
      const py_expr *x = fe->u.seq.items[i];
      frv[i] = -1;
      fs[i] = 0;
      if (x->kind == PY_NONE) {
        fs[i] = -1;
      } else if (x->kind == PY_NAME) {
        tp_binding *bb = lookup(c, x->u.name);
        if (!bb)
          st = err_at(c, x->loc, TS_ERR_NAME, "unknown name '%s'", x->u.name);
        else if (bb->n != 1 || bb->is_list ||
                 s->rvs.data[bb->rvs[0]].kind != SCH_RV_INT)
          st = err_at(c, x->loc, TS_ERR_VALUE,
                      "factors: '%s' is not a sampled integer", x->u.name);
        else
          frv[i] = bb->rvs[0];
      } else {
        st = conv_int(c, x, "factors", &fs[i]);
      }
    }
    if (!st)
      st = ts_sch_split(s, l, fs, frv, n, f1, &r->rvs);
    if (!st) {
      r->n = n;
      r->is_list = true;
    }
    free(fs);
    free(frv);
    return st;
  }
  case P_FUSE:
  case P_REORDER: {
    ts_status *st = NULL;
    if (a->spec->id == P_FUSE) {
      st = arg_bool(c, a, 1, true, &f1);
      if (!st) st = ts_sch_fuse(s, a->var.data, (int)a->var.len, f1, &rv);
      if (!st) res_one(r, rv);
    } else {
      st = ts_sch_reorder(s, a->var.data, (int)a->var.len);
    }
    return st;
  }
  case P_ADD_UNIT_LOOP:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(ts_sch_add_unit_loop(s, b, &rv));
    res_one(r, rv);
    return NULL;
  case P_PARALLEL:
  case P_VECTORIZE:
  case P_UNROLL:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    return a->spec->id == P_PARALLEL    ? ts_sch_parallel(s, l)
           : a->spec->id == P_VECTORIZE ? ts_sch_vectorize(s, l)
                                        : ts_sch_unroll(s, l);
  case P_BIND:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    TS_RETURN_IF_ERROR(arg_str(c, a, 1, &s1));
    if (!s1)
      return err_at(c, a->by_param[1]->loc, TS_ERR_VALUE,
                    "thread_axis: expected a string");
    return ts_sch_bind(s, l, s1);
  case P_COMPUTE_AT:
  case P_REVERSE_COMPUTE_AT:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_rv(c, a, 1, &l));
    TS_RETURN_IF_ERROR(arg_bool(c, a, 2, false, &f1));
    TS_RETURN_IF_ERROR(arg_int(c, a, 3, -1, &i1));
    if (i1 != -1)
      return err_at(c, a->by_param[3]->loc, TS_ERR_UNSUPPORTED,
                    "index: only -1 (the default position) is supported");
    return a->spec->id == P_COMPUTE_AT
               ? ts_sch_compute_at(s, b, l, f1)
               : ts_sch_reverse_compute_at(s, b, l, f1);
  case P_COMPUTE_INLINE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    return ts_sch_compute_inline(s, b);
  case P_REVERSE_COMPUTE_INLINE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    return ts_sch_reverse_compute_inline(s, b);
  case P_CACHE_READ:
  case P_CACHE_WRITE: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_int(c, a, 1, 0, &i1));
    TS_RETURN_IF_ERROR(arg_str(c, a, 2, &s1));
    if (!s1)
      return err_at(c, a->by_param[2]->loc, TS_ERR_VALUE,
                    "storage_scope: expected a string");
    ts_rv *cb;
    int ncb;
    TS_RETURN_IF_ERROR(arg_rv_list(c, a, 3, &cb, &ncb));
    free(cb);
    if (ncb)
      return err_at(c, a->by_param[3]->loc, TS_ERR_UNSUPPORTED,
                    "consumer_blocks is not supported yet");
    TS_RETURN_IF_ERROR(a->spec->id == P_CACHE_READ
                           ? ts_sch_cache_read(s, b, (int)i1, s1, &rv)
                           : ts_sch_cache_write(s, b, (int)i1, s1, &rv));
    res_one(r, rv);
    return NULL;
  }
  case P_SET_SCOPE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_int(c, a, 1, 0, &i1));
    TS_RETURN_IF_ERROR(arg_str(c, a, 2, &s1));
    if (!s1)
      return err_at(c, a->by_param[2]->loc, TS_ERR_VALUE,
                    "storage_scope: expected a string");
    return ts_sch_set_scope(s, b, (int)i1, s1);
  case P_STORAGE_ALIGN:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_int(c, a, 1, 0, &i1));
    TS_RETURN_IF_ERROR(arg_int(c, a, 2, 0, &i2));
    TS_RETURN_IF_ERROR(arg_int(c, a, 3, 0, &i3));
    TS_RETURN_IF_ERROR(arg_int(c, a, 4, 0, &i4));
    return ts_sch_storage_align(s, b, (int)i1, (int)i2, (int)i3, (int)i4);
  case P_DECOMPOSE_REDUCTION:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_rv(c, a, 1, &l));
    TS_RETURN_IF_ERROR(ts_sch_decompose_reduction(s, b, l, &rv));
    res_one(r, rv);
    return NULL;
  case P_RFACTOR:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    TS_RETURN_IF_ERROR(arg_int(c, a, 1, 0, &i1));
    TS_RETURN_IF_ERROR(ts_sch_rfactor(s, l, (int)i1, &rv));
    res_one(r, rv);
    return NULL;
  case P_TRANSFORM_LAYOUT: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    const py_expr *be = a->by_param[1];
    int kind = -1;
    int64_t idx = 0;
    if ((be->kind == PY_TUPLE || be->kind == PY_LIST) && be->u.seq.n == 2 &&
        be->u.seq.items[0]->kind == PY_STR) {
      const char *ks = be->u.seq.items[0]->u.str;
      kind = !strcmp(ks, "read") ? 0 : !strcmp(ks, "write") ? 1 : -1;
      TS_RETURN_IF_ERROR(conv_int(c, be->u.seq.items[1], "buffer", &idx));
    } else if (be->kind == PY_STR) {
      ts_stmt *realize;
      TS_RETURN_IF_ERROR(sch_block(s, b, &realize));
      const ts_block *blk = realize->u.realize.block;
      for (int i = 0; i < blk->n_writes && kind < 0; i++)
        if (!strcmp(blk->writes[i].buffer->name, be->u.str)) {
          kind = 1;
          idx = i;
        }
      for (int i = 0; i < blk->n_reads && kind < 0; i++)
        if (!strcmp(blk->reads[i].buffer->name, be->u.str)) {
          kind = 0;
          idx = i;
        }
      if (kind < 0)
        return err_at(c, be->loc, TS_ERR_NAME,
                      "block '%s' neither reads nor writes a buffer named "
                      "'%s'", blk->name, be->u.str);
    }
    if (kind < 0)
      return err_at(c, be->loc, TS_ERR_VALUE,
                    "buffer: expected (\"read\", i), (\"write\", i) or a "
                    "buffer name");
    ts_index_map map;
    TS_RETURN_IF_ERROR(arg_index_map(c, a, 2, &map));
    if (a->by_param[3] && a->by_param[3]->kind != PY_NONE)
      return err_at(c, a->by_param[3]->loc, TS_ERR_UNSUPPORTED,
                    "pad_value is not supported yet");
    return ts_sch_transform_layout(s, b, kind, (int)idx, &map);
  }
  case P_TRANSFORM_BLOCK_LAYOUT: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    ts_index_map map;
    TS_RETURN_IF_ERROR(arg_index_map(c, a, 1, &map));
    return ts_sch_transform_block_layout(s, b, &map);
  }
  case P_BLOCKIZE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    TS_RETURN_IF_ERROR(ts_sch_blockize(s, l, &rv));
    res_one(r, rv);
    return NULL;
  case P_TENSORIZE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_str(c, a, 1, &s1));
    if (!s1)
      return err_at(c, a->by_param[1]->loc, TS_ERR_VALUE,
                    "tensor_intrin: expected a string");
    return ts_sch_tensorize(s, b, s1);
  case P_ANNOTATE: {
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_str(c, a, 1, &s1));
    if (!s1)
      return err_at(c, a->by_param[1]->loc, TS_ERR_VALUE,
                    "ann_key: expected a string");
    ts_attr_value *v;
    TS_RETURN_IF_ERROR(conv_attr(c, a->by_param[2], &v));
    return ts_sch_annotate(s, b, s1, v);
  }
  case P_UNANNOTATE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    TS_RETURN_IF_ERROR(arg_str(c, a, 1, &s1));
    if (!s1)
      return err_at(c, a->by_param[1]->loc, TS_ERR_VALUE,
                    "ann_key: expected a string");
    return ts_sch_unannotate(s, b, s1);
  case P_SAMPLE_PERFECT_TILE:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &l));
    TS_RETURN_IF_ERROR(arg_int(c, a, 1, 0, &i1));
    TS_RETURN_IF_ERROR(arg_int(c, a, 2, 16, &i2));
    {
      /* decision=[...] replays the recorded draw */
      const py_expr *de = a->by_param[3];
      int64_t *dec = NULL;
      if (de && de->kind != PY_NONE) {
        if ((de->kind != PY_LIST && de->kind != PY_TUPLE) || de->u.seq.n != i1)
          return err_at(c, de->loc, TS_ERR_VALUE,
                        "decision: expected a list of %d factors", (int)i1);
        dec = ts_xmalloc(sizeof(int64_t) * (size_t)(i1 > 0 ? i1 : 1));
        for (int i = 0; i < de->u.seq.n; i++) {
          ts_status *st = conv_int(c, de->u.seq.items[i], "decision", &dec[i]);
          if (st) {
            free(dec);
            return st;
          }
        }
      }
      ts_status *st = sch_sample_perfect_tile(s, l, (int)i1, (int)i2, dec, &r->rvs);
      free(dec);
      TS_RETURN_IF_ERROR(st);
    }
    r->n = (int)i1;
    r->is_list = true;
    return NULL;
  case P_SAMPLE_CATEGORICAL: {
    const py_expr *ce = a->by_param[0], *pe = a->by_param[1];
    if ((ce->kind != PY_LIST && ce->kind != PY_TUPLE) ||
        (pe->kind != PY_LIST && pe->kind != PY_TUPLE) ||
        ce->u.seq.n != pe->u.seq.n)
      return err_at(c, ce->loc, TS_ERR_VALUE,
                    "candidates and probs: expected two lists of the same "
                    "length");
    int n = ce->u.seq.n;
    int64_t *cand = ts_xmalloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    double *probs = ts_xmalloc(sizeof(double) * (size_t)(n ? n : 1));
    ts_status *st = NULL;
    for (int i = 0; i < n && !st; i++) {
      st = conv_int(c, ce->u.seq.items[i], "candidates", &cand[i]);
      const py_expr *p = pe->u.seq.items[i];
      if (st) break;
      if (p->kind == PY_FLOAT) probs[i] = p->u.float_value;
      else if (p->kind == PY_INT) probs[i] = (double)p->u.int_value;
      else
        st = err_at(c, p->loc, TS_ERR_VALUE, "probs: expected a number");
    }
    int64_t dec;
    const py_expr *de = a->by_param[2];
    bool has_dec = de && de->kind != PY_NONE;
    if (!st && has_dec) st = conv_int(c, de, "decision", &dec);
    if (!st) st = sch_sample_categorical(s, cand, probs, n, has_dec ? &dec : NULL, &rv);
    if (!st) res_one(r, rv);
    free(cand);
    free(probs);
    return st;
  }
  case P_SAMPLE_COMPUTE_LOCATION:
    TS_RETURN_IF_ERROR(arg_rv(c, a, 0, &b));
    {
      int64_t dec;
      const py_expr *de = a->by_param[1];
      bool has_dec = de && de->kind != PY_NONE;
      if (has_dec) TS_RETURN_IF_ERROR(conv_int(c, de, "decision", &dec));
      TS_RETURN_IF_ERROR(sch_sample_compute_location(s, b, has_dec ? &dec : NULL, &rv));
    }
    res_one(r, rv);
    return NULL;
  case P_WORK_ON: {
    TS_RETURN_IF_ERROR(arg_str(c, a, 0, &s1));
    ts_primfunc *f = s1 ? ts_module_primfunc(s->mod, s1) : NULL;
    if (!f)
      return err_at(c, a->by_param[0]->loc, TS_ERR_NAME,
                    "no TensorIR function named '%s'", s1 ? s1 : "?");
    s->func = f;
    return NULL;
  }
  }
  return NULL;
}

/* ---- statements ------------------------------------------------------------------ */

/* True for `x = tir.Schedule(...)`-style lines: a call whose callee ends in
 * "Schedule" (skipped: the schedule already exists). */
static bool is_schedule_ctor(const py_expr *e) {
  if (e->kind != PY_CALL) return false;
  const py_expr *f = e->u.call.func;
  const char *name = f->kind == PY_ATTR   ? f->u.attr.name
                     : f->kind == PY_NAME ? f->u.name
                                          : "";
  return !strcmp(name, "Schedule");
}

static ts_status *run_call(tp_ctx *c, const py_expr *e, tp_result *r) {
  memset(r, 0, sizeof *r);
  if (e->kind != PY_CALL || e->u.call.func->kind != PY_ATTR ||
      e->u.call.func->u.attr.value->kind != PY_NAME)
    return err_at(c, e->loc, TS_ERR_SYNTAX,
                  "expected a schedule call such as sch.split(...)");
  const py_expr *fn = e->u.call.func;
  const prim_spec *p = find_spec(fn->u.attr.name);
  if (!p)
    return err_at(c, fn->loc, TS_ERR_NAME, "unknown schedule primitive '%s'",
                  fn->u.attr.name);
  tp_args a;
  ts_status *st = match_args(c, e, p, &a);
  if (!st) {
    st = dispatch(c, &a, r);
    /* A primitive's own error: locate it at the call. */
    if (st && ts_status_loc(st).line == 0) {
      ts_status *located = err_at(c, e->loc, ts_status_code_of(st), "%s",
                                  ts_status_message(st));
      ts_status_free(st);
      st = located;
    }
  }
  ts_vec_free(&a.var);
  return st;
}

static ts_status *run_body(tp_ctx *c, const py_body *body);

static ts_status *run_stmt(tp_ctx *c, const py_stmt *st) {
  switch (st->kind) {
  case PY_S_IMPORT:
  case PY_S_PASS: return NULL;
  case PY_S_DEF: return run_body(c, &st->u.def.body);
  case PY_S_EXPR: {
    const py_expr *e = st->u.expr.value;
    if (e->kind == PY_STR) return NULL; /* docstring */
    tp_result r;
    ts_status *s = run_call(c, e, &r);
    free(r.rvs);
    return s;
  }
  case PY_S_ASSIGN: {
    const py_expr *e = st->u.assign.value;
    if (is_schedule_ctor(e)) return NULL;
    if (st->u.assign.n_targets != 1)
      return err_at(c, st->loc, TS_ERR_SYNTAX,
                    "chained assignment is not supported");
    tp_result r;
    TS_RETURN_IF_ERROR(run_call(c, e, &r));
    const py_expr *t = st->u.assign.targets[0];
    ts_status *s = NULL;
    if (t->kind == PY_NAME) {
      if (r.n == 0 && !r.is_list)
        s = err_at(c, t->loc, TS_ERR_VALUE, "%s() returns nothing",
                   e->u.call.func->u.attr.name);
      else
        bind_name(c, t->u.name, r.rvs, r.n, r.is_list);
    } else if (t->kind == PY_TUPLE || t->kind == PY_LIST) {
      if (t->u.seq.n != r.n) {
        s = err_at(c, t->loc, TS_ERR_VALUE,
                   "%s() returned %d handle%s, but %d name%s given",
                   e->u.call.func->u.attr.name, r.n, r.n == 1 ? "" : "s",
                   t->u.seq.n, t->u.seq.n == 1 ? " is" : "s are");
      } else {
        for (int i = 0; i < t->u.seq.n && !s; i++) {
          const py_expr *x = t->u.seq.items[i];
          if (x->kind != PY_NAME)
            s = err_at(c, x->loc, TS_ERR_SYNTAX, "expected a name");
          else if (strcmp(x->u.name, "_"))
            bind_name(c, x->u.name, &r.rvs[i], 1, false);
        }
      }
    } else {
      s = err_at(c, t->loc, TS_ERR_SYNTAX,
                 "expected a name or names on the left of '='");
    }
    free(r.rvs);
    return s;
  }
  default:
    return err_at(c, st->loc, TS_ERR_SYNTAX,
                  "unsupported statement in a schedule script (expected "
                  "calls such as `l1, l2 = sch.split(...)`)");
  }
}

static ts_status *run_body(tp_ctx *c, const py_body *body) {
  for (int i = 0; i < body->n; i++)
    TS_RETURN_IF_ERROR(run_stmt(c, body->stmts[i]));
  return NULL;
}

ts_status *ts_trace_apply(ts_schedule *s, const char *text, size_t len,
                          const char *filename) {
  tp_ctx c = {0};
  c.s = s;
  char *src = ts_xmalloc(len + 1);
  memcpy(src, text, len);
  src[len] = '\0';
  c.src = src;
  ts_arena *a = ts_arena_create();
  py_body body;
  ts_status *st = py_parse(a, src, len, filename ? filename : "<schedule>",
                           &body);
  if (!st) st = run_body(&c, &body);
  for (size_t i = 0; i < c.names.len; i++) free(c.names.data[i].rvs);
  ts_vec_free(&c.names);
  ts_arena_destroy(a);
  free(src);
  return st;
}
