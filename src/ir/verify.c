/* verify.c: ts_module_verify, the well-formedness rules of a module.
 *
 * TensorIR: every variable use is in the scope of its definition (function
 * parameters, symbolic dimensions of parameter and match buffers at their
 * first occurrence, loop, block iteration and let variables); iteration
 * variables are used only inside their block; a loop variable is not
 * redefined inside its own loop; buffers are used only where defined
 * (parameters, alloc_buffers of an enclosing block, allocate, match_buffer);
 * accesses have one integer index per dimension; stored values have the
 * buffer's dtype; binary operands have one dtype; a block has one binding
 * value per iteration variable (a NULL iter_values array, or NULL entries,
 * count as missing values).
 *
 * Graph functions: variables are used after their binding and in scope;
 * dataflow variables are defined only inside dataflow blocks and used there
 * (or after, when named in R.output); calls name functions of the module;
 * call_tir calls a TensorIR function with as many tensors as it has buffer
 * parameters; an annotated binding agrees with its value's struct info (rank,
 * dtype, static dimensions).  Struct info of op calls comes from the call
 * (when set) or the op's inference function.
 *
 * The first violation is returned, located at the offending node (or the
 * nearest enclosing node that has a location).  call_tir's arguments are
 * read as (callee, (inputs...), [shape of TIR scalar arguments]) with the
 * outputs' struct info in sinfo_args. */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/ops.h"

typedef enum var_kind {
  VK_OTHER = 1, /* parameters, symbolic dims, let vars */
  VK_LOOP,
  VK_ITER,
} var_kind;

typedef struct vctx {
  ts_module *m;
  ts_arena *scratch; /* inferred struct info; freed at the end */
  ts_loc cur;        /* nearest location seen (for nodes without one) */
  /* TensorIR and symbolic variables in scope: var -> var_kind */
  ts_ptrmap vars;
  TS_VEC(const void *) var_stack;
  ts_ptrmap iter_owner; /* every iteration variable met -> its block */
  ts_ptrmap bufs;       /* buffers in scope */
  TS_VEC(const void *) buf_stack;
  /* graph */
  ts_ptrmap gvars;   /* graph variables in scope */
  ts_ptrmap df_done; /* dataflow variables whose block has ended */
} vctx;

static ts_loc at(vctx *c, ts_loc l) {
  if (l.line > 0) {
    c->cur = l;
    return l;
  }
  return c->cur;
}

static ts_status *err(vctx *c, ts_status_code code, ts_loc l, const char *fmt,
                      ...) TS_PRINTF(4, 5);
static ts_status *err(vctx *c, ts_status_code code, ts_loc l, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_status *st = ts_status_makev(code, at(c, l), fmt, ap);
  va_end(ap);
  return st;
}

/* ---- scopes
 * --------------------------------------------------------------------
 */

static size_t var_mark(vctx *c) { return c->var_stack.len; }
static void var_pop_to(vctx *c, size_t mark) {
  while (c->var_stack.len > mark)
    ts_ptrmap_remove(&c->vars, c->var_stack.data[--c->var_stack.len]);
}
static size_t buf_mark(vctx *c) { return c->buf_stack.len; }
static void buf_pop_to(vctx *c, size_t mark) {
  while (c->buf_stack.len > mark)
    ts_ptrmap_remove(&c->bufs, c->buf_stack.data[--c->buf_stack.len]);
}

static ts_status *def_var(vctx *c, ts_var *v, var_kind k, ts_loc l) {
  if (!v)
    return NULL;
  var_kind old = (var_kind)(uintptr_t)ts_ptrmap_get(&c->vars, v);
  if (old) {
    if (old == VK_LOOP || k == VK_LOOP)
      return err(c, TS_ERR_NAME, l, "loop variable '%s' is redefined", v->name);
    return err(c, TS_ERR_NAME, l, "variable '%s' is redefined", v->name);
  }
  ts_ptrmap_put(&c->vars, v, (void *)(uintptr_t)k);
  ts_vec_push(&c->var_stack, v);
  return NULL;
}

/* Defines v unless it already is in scope (symbolic dims: first occurrence
 * defines). */
static void def_var_soft(vctx *c, ts_var *v) {
  if (v && !ts_ptrmap_has(&c->vars, v)) {
    ts_ptrmap_put(&c->vars, v, (void *)(uintptr_t)VK_OTHER);
    ts_vec_push(&c->var_stack, v);
  }
}

static void def_buffer(vctx *c, ts_buffer *b) {
  if (b && !ts_ptrmap_has(&c->bufs, b)) {
    ts_ptrmap_put(&c->bufs, b, b);
    ts_vec_push(&c->buf_stack, b);
  }
}

static bool def_sym_fn(const ts_expr *e, void *ctx) {
  if (e->kind == TS_E_VAR)
    def_var_soft(ctx, e->u.var);
  return true;
}

/* Defines the variables of an expression in a definition position
 * (parameter buffer shapes, match_buffer shapes, parameter struct info). */
static void def_syms(vctx *c, const ts_expr *e) {
  ts_expr_visit(e, def_sym_fn, c);
}

static void def_buffer_syms(vctx *c, const ts_buffer *b) {
  for (int i = 0; i < b->ndim; i++)
    def_syms(c, b->shape[i]);
  for (int i = 0; b->strides && i < b->ndim; i++)
    def_syms(c, b->strides[i]);
  def_syms(c, b->elem_offset);
  def_var_soft(c, b->data);
}

/* ---- TensorIR expressions
 * ------------------------------------------------------
 */

static ts_status *check_expr(vctx *c, const ts_expr *e, ts_loc l);

static ts_status *check_buffer_use(vctx *c, const ts_buffer *b, ts_loc l) {
  if (!b)
    return err(c, TS_ERR_INTERNAL, l, "access to a NULL buffer");
  if (!ts_ptrmap_has(&c->bufs, b))
    return err(c, TS_ERR_NAME, l, "undefined buffer '%s'", b->name);
  return NULL;
}

static ts_status *check_access(vctx *c, const ts_buffer *b, ts_expr *const *idx,
                               int n, ts_loc l) {
  char db[32];
  TS_RETURN_IF_ERROR(check_buffer_use(c, b, l));
  if (n != b->ndim)
    return err(c, TS_ERR_TYPE, l,
               "buffer '%s' has %d dimension%s, accessed with %d ind%s",
               b->name, b->ndim, b->ndim == 1 ? "" : "s", n,
               n == 1 ? "ex" : "ices");
  for (int i = 0; i < n; i++) {
    TS_RETURN_IF_ERROR(check_expr(c, idx[i], l));
    if (!ts_dtype_is_int(idx[i]->dtype))
      return err(c, TS_ERR_TYPE, idx[i]->loc.line ? idx[i]->loc : l,
                 "index of buffer '%s' must be an integer, got %s", b->name,
                 ts_dtype_str(idx[i]->dtype, db));
  }
  return NULL;
}

static ts_status *check_expr(vctx *c, const ts_expr *e, ts_loc l) {
  char d1[32], d2[32];
  if (!e)
    return NULL;
  if (e->loc.line > 0)
    l = e->loc;
  switch (e->kind) {
  case TS_E_INT:
  case TS_E_FLOAT:
  case TS_E_STR:
    return NULL;
  case TS_E_VAR: {
    ts_var *v = e->u.var;
    if (ts_ptrmap_has(&c->vars, v))
      return NULL;
    const ts_block *owner = ts_ptrmap_get(&c->iter_owner, v);
    if (owner)
      return err(c, TS_ERR_NAME, l,
                 "iteration variable '%s' used outside its block '%s'", v->name,
                 owner->name);
    return err(c, TS_ERR_NAME, l, "undefined variable '%s'", v->name);
  }
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return check_expr(c, e->u.unary.a, l);
  case TS_E_SELECT:
    TS_RETURN_IF_ERROR(check_expr(c, e->u.select.cond, l));
    TS_RETURN_IF_ERROR(check_expr(c, e->u.select.t, l));
    return check_expr(c, e->u.select.f, l);
  case TS_E_LOAD:
    return check_access(c, e->u.load.buffer, e->u.load.indices, e->u.load.n, l);
  case TS_E_CALL: {
    int ar = ts_intrin_arity(e->u.call.op);
    if (ar >= 0 && ar != e->u.call.n)
      return err(c, TS_ERR_TYPE, l, "T.%s takes %d argument%s, got %d",
                 ts_intrin_name(e->u.call.op), ar, ar == 1 ? "" : "s",
                 e->u.call.n);
    for (int i = 0; i < e->u.call.n; i++)
      TS_RETURN_IF_ERROR(check_expr(c, e->u.call.args[i], l));
    return NULL;
  }
  case TS_E_LET: {
    TS_RETURN_IF_ERROR(check_expr(c, e->u.let.value, l));
    size_t mark = var_mark(c);
    TS_RETURN_IF_ERROR(def_var(c, e->u.let.var, VK_OTHER, l));
    ts_status *st = check_expr(c, e->u.let.body, l);
    var_pop_to(c, mark);
    return st;
  }
  case TS_E_RAMP:
    TS_RETURN_IF_ERROR(check_expr(c, e->u.ramp.base, l));
    return check_expr(c, e->u.ramp.stride, l);
  default: {
    const ts_expr *a = e->u.bin.a, *b = e->u.bin.b;
    TS_RETURN_IF_ERROR(check_expr(c, a, l));
    TS_RETURN_IF_ERROR(check_expr(c, b, l));
    if (!ts_dtype_eq(a->dtype, b->dtype))
      return err(c, TS_ERR_TYPE, l,
                 "binary operator '%s' has operands of dtype %s and %s",
                 ts_expr_kind_symbol(e->kind), ts_dtype_str(a->dtype, d1),
                 ts_dtype_str(b->dtype, d2));
    return NULL;
  }
  }
}

/* ---- TensorIR statements
 * -------------------------------------------------------
 */

static ts_status *check_stmt(vctx *c, const ts_stmt *s);

static ts_status *check_region(vctx *c, const ts_region *r, ts_loc l) {
  TS_RETURN_IF_ERROR(check_buffer_use(c, r->buffer, l));
  if (r->n != r->buffer->ndim)
    return err(c, TS_ERR_TYPE, l,
               "buffer '%s' has %d dimension%s, region has %d range%s",
               r->buffer->name, r->buffer->ndim,
               r->buffer->ndim == 1 ? "" : "s", r->n, r->n == 1 ? "" : "s");
  for (int i = 0; i < r->n; i++) {
    TS_RETURN_IF_ERROR(check_expr(c, r->ranges[i].min, l));
    TS_RETURN_IF_ERROR(check_expr(c, r->ranges[i].extent, l));
  }
  return NULL;
}

static ts_status *check_realize(vctx *c, const ts_stmt *s) {
  const ts_block *b = s->u.realize.block;
  ts_loc l = b->loc.line ? b->loc : s->loc;
  int nvals = 0;
  while (s->u.realize.iter_values && nvals < b->n_iter_vars &&
         s->u.realize.iter_values[nvals])
    nvals++;
  if (nvals != b->n_iter_vars)
    return err(c, TS_ERR_TYPE, l,
               "block '%s' has %d iteration variable%s but %d binding value%s",
               b->name, b->n_iter_vars, b->n_iter_vars == 1 ? "" : "s", nvals,
               nvals == 1 ? "" : "s");
  for (int i = 0; i < nvals; i++)
    TS_RETURN_IF_ERROR(check_expr(c, s->u.realize.iter_values[i], l));
  TS_RETURN_IF_ERROR(check_expr(c, s->u.realize.predicate, l));
  for (int i = 0; i < b->n_iter_vars; i++) {
    TS_RETURN_IF_ERROR(check_expr(c, b->iter_vars[i].dom.min, l));
    TS_RETURN_IF_ERROR(check_expr(c, b->iter_vars[i].dom.extent, l));
  }
  size_t vm = var_mark(c), bm = buf_mark(c);
  ts_status *st = NULL;
  for (int i = 0; i < b->n_iter_vars && !st; i++) {
    ts_var *v = b->iter_vars[i].var;
    st = def_var(c, v, VK_ITER, v && v->loc.line ? v->loc : l);
    if (v)
      ts_ptrmap_put(&c->iter_owner, v, (void *)b);
  }
  for (int i = 0; i < b->n_alloc_buffers && !st; i++) {
    ts_buffer *ab = b->alloc_buffers[i];
    for (int j = 0; j < ab->ndim && !st; j++)
      st = check_expr(c, ab->shape[j], ab->loc.line ? ab->loc : l);
    def_buffer(c, ab);
  }
  for (int i = 0; i < b->n_match_buffers && !st; i++) {
    st = check_region(c, &b->match_buffers[i].source, l);
    def_buffer_syms(c, b->match_buffers[i].buffer);
    def_buffer(c, b->match_buffers[i].buffer);
  }
  for (int i = 0; i < b->n_reads && !st; i++)
    st = check_region(c, &b->reads[i], l);
  for (int i = 0; i < b->n_writes && !st; i++)
    st = check_region(c, &b->writes[i], l);
  if (!st)
    st = check_stmt(c, b->init);
  if (!st)
    st = check_stmt(c, b->body);
  var_pop_to(c, vm);
  buf_pop_to(c, bm);
  return st;
}

static ts_status *check_stmt(vctx *c, const ts_stmt *s) {
  char d1[32], d2[32];
  if (!s)
    return NULL;
  ts_loc l = at(c, s->loc);
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      TS_RETURN_IF_ERROR(check_stmt(c, s->u.seq.stmts[i]));
    return NULL;
  case TS_S_FOR: {
    TS_RETURN_IF_ERROR(check_expr(c, s->u.for_.min, l));
    TS_RETURN_IF_ERROR(check_expr(c, s->u.for_.extent, l));
    size_t mark = var_mark(c);
    TS_RETURN_IF_ERROR(def_var(c, s->u.for_.var, VK_LOOP, l));
    ts_status *st = check_stmt(c, s->u.for_.body);
    var_pop_to(c, mark);
    return st;
  }
  case TS_S_BLOCK_REALIZE:
    return check_realize(c, s);
  case TS_S_STORE: {
    const ts_buffer *b = s->u.store.buffer;
    TS_RETURN_IF_ERROR(check_access(c, b, s->u.store.indices, s->u.store.n, l));
    TS_RETURN_IF_ERROR(check_expr(c, s->u.store.value, l));
    ts_dtype vt = s->u.store.value->dtype;
    if (vt.code != b->dtype.code || vt.bits != b->dtype.bits)
      return err(c, TS_ERR_TYPE, l, "cannot store %s value into %s buffer '%s'",
                 ts_dtype_str(vt, d1), ts_dtype_str(b->dtype, d2), b->name);
    return NULL;
  }
  case TS_S_IF:
    TS_RETURN_IF_ERROR(check_expr(c, s->u.if_.cond, l));
    TS_RETURN_IF_ERROR(check_stmt(c, s->u.if_.then_s));
    return check_stmt(c, s->u.if_.else_s);
  case TS_S_LET: {
    TS_RETURN_IF_ERROR(check_expr(c, s->u.let.value, l));
    size_t mark = var_mark(c);
    TS_RETURN_IF_ERROR(def_var(c, s->u.let.var, VK_OTHER, l));
    ts_status *st = check_stmt(c, s->u.let.body);
    var_pop_to(c, mark);
    return st;
  }
  case TS_S_EVALUATE:
    return check_expr(c, s->u.eval.value, l);
  case TS_S_ALLOCATE: {
    const ts_buffer *ab = s->u.alloc.buffer;
    for (int j = 0; j < ab->ndim; j++)
      TS_RETURN_IF_ERROR(check_expr(c, ab->shape[j], l));
    size_t bm = buf_mark(c), vm = var_mark(c);
    def_buffer(c, s->u.alloc.buffer);
    def_var_soft(c, ab->data);
    ts_status *st = check_stmt(c, s->u.alloc.body);
    buf_pop_to(c, bm);
    var_pop_to(c, vm);
    return st;
  }
  case TS_S_ASSERT:
    TS_RETURN_IF_ERROR(check_expr(c, s->u.assert_.cond, l));
    return check_stmt(c, s->u.assert_.body);
  }
  return NULL;
}

static void reset_scopes(vctx *c) {
  var_pop_to(c, 0);
  buf_pop_to(c, 0);
  ts_ptrmap_clear(&c->iter_owner);
  ts_ptrmap_clear(&c->gvars);
  ts_ptrmap_clear(&c->df_done);
}

static ts_status *check_primfunc(vctx *c, const ts_primfunc *f) {
  reset_scopes(c);
  c->cur = f->loc;
  for (int i = 0; i < f->n_params; i++) {
    const ts_param *p = &f->params[i];
    TS_RETURN_IF_ERROR(def_var(c, p->var, VK_OTHER, f->loc));
    if (p->buffer) {
      def_buffer_syms(c, p->buffer);
      def_buffer(c, p->buffer);
    }
  }
  ts_status *st = check_stmt(c, f->body);
  reset_scopes(c);
  return st;
}

/* ---- graph functions
 * -------------------------------------------------------------
 */

static ts_sinfo *object_sinfo(vctx *c) {
  return ts_sinfo_new(c->scratch, TS_SI_OBJECT);
}

/* True when annotated struct info `ann` definitely disagrees with `val`. */
static bool sinfo_conflict(const ts_sinfo *ann, const ts_sinfo *val) {
  if (!ann || !val || ann->kind == TS_SI_OBJECT || val->kind == TS_SI_OBJECT)
    return false;
  if (ann->kind != val->kind)
    return true;
  switch (ann->kind) {
  case TS_SI_TENSOR: {
    int na = ann->u.tensor.ndim, nv = val->u.tensor.ndim;
    if (na >= 0 && nv >= 0 && na != nv)
      return true;
    ts_dtype da = ann->u.tensor.dtype, dv = val->u.tensor.dtype;
    if (da.code != TS_VOID && dv.code != TS_VOID && !ts_dtype_eq(da, dv))
      return true;
    if (ann->u.tensor.shape && val->u.tensor.shape && na == nv) {
      for (int i = 0; i < na; i++) {
        int64_t x, y;
        if (ts_expr_is_const_int(ann->u.tensor.shape[i], &x) &&
            ts_expr_is_const_int(val->u.tensor.shape[i], &y) && x != y)
          return true;
      }
    }
    return false;
  }
  case TS_SI_SHAPE: {
    int na = ann->u.shape.ndim, nv = val->u.shape.ndim;
    if (na >= 0 && nv >= 0 && na != nv)
      return true;
    if (ann->u.shape.values && val->u.shape.values && na == nv) {
      for (int i = 0; i < na; i++) {
        int64_t x, y;
        if (ts_expr_is_const_int(ann->u.shape.values[i], &x) &&
            ts_expr_is_const_int(val->u.shape.values[i], &y) && x != y)
          return true;
      }
    }
    return false;
  }
  case TS_SI_PRIM:
    return !ts_dtype_eq(ann->u.prim.dtype, val->u.prim.dtype);
  case TS_SI_TUPLE:
    if (ann->u.tuple.n != val->u.tuple.n)
      return true;
    for (int i = 0; i < ann->u.tuple.n; i++)
      if (sinfo_conflict(ann->u.tuple.fields[i], val->u.tuple.fields[i]))
        return true;
    return false;
  default:
    return false;
  }
}

static ts_status *conflict_error(vctx *c, ts_loc l, const char *what,
                                 const ts_sinfo *ann, const ts_sinfo *val) {
  ts_strbuf sa = {0}, sv = {0};
  ts_sinfo_print(&sa, ann);
  ts_sinfo_print(&sv, val);
  ts_status *st = err(c, TS_ERR_TYPE, l, "%s: annotated %s but value has %s",
                      what, sa.data, sv.data);
  ts_strbuf_free(&sa);
  ts_strbuf_free(&sv);
  return st;
}

/* Symbolic variables used in struct info must be defined. */
static ts_status *check_sinfo_uses(vctx *c, const ts_sinfo *s, ts_loc l) {
  if (!s)
    return NULL;
  switch (s->kind) {
  case TS_SI_PRIM:
    return check_expr(c, s->u.prim.value, l);
  case TS_SI_SHAPE:
    for (int i = 0; s->u.shape.values && i < s->u.shape.ndim; i++)
      TS_RETURN_IF_ERROR(check_expr(c, s->u.shape.values[i], l));
    return NULL;
  case TS_SI_TENSOR:
    for (int i = 0; s->u.tensor.shape && i < s->u.tensor.ndim; i++)
      TS_RETURN_IF_ERROR(check_expr(c, s->u.tensor.shape[i], l));
    return NULL;
  case TS_SI_TUPLE:
    for (int i = 0; i < s->u.tuple.n; i++)
      TS_RETURN_IF_ERROR(check_sinfo_uses(c, s->u.tuple.fields[i], l));
    return NULL;
  default:
    return NULL;
  }
}

/* Symbolic variables in a definition position (parameters, match_cast,
 * annotations) are defined by their first occurrence. */
static void def_sinfo_syms(vctx *c, const ts_sinfo *s) {
  if (!s)
    return;
  switch (s->kind) {
  case TS_SI_PRIM:
    def_syms(c, s->u.prim.value);
    break;
  case TS_SI_SHAPE:
    for (int i = 0; s->u.shape.values && i < s->u.shape.ndim; i++)
      def_syms(c, s->u.shape.values[i]);
    break;
  case TS_SI_TENSOR:
    for (int i = 0; s->u.tensor.shape && i < s->u.tensor.ndim; i++)
      def_syms(c, s->u.tensor.shape[i]);
    break;
  case TS_SI_TUPLE:
    for (int i = 0; i < s->u.tuple.n; i++)
      def_sinfo_syms(c, s->u.tuple.fields[i]);
    break;
  default:
    break;
  }
}

static ts_status *check_gexpr(vctx *c, const ts_gexpr *e, ts_loc l,
                              ts_sinfo **out);

static ts_status *check_call_tir(vctx *c, const ts_gexpr *e, ts_loc l) {
  const ts_gexpr *callee = e->u.call.n_args > 0 ? e->u.call.args[0] : NULL;
  if (!callee || callee->kind != TS_G_GLOBAL)
    return NULL;
  const char *name = callee->u.global_name;
  ts_func *f = ts_module_lookup(c->m, name);
  if (!f)
    return err(c, TS_ERR_NAME, l, "call_tir: no function '%s' in the module",
               name);
  if (f->kind != TS_FUNC_PRIM)
    return err(c, TS_ERR_TYPE, l, "call_tir: '%s' is not a TensorIR function",
               name);
  const ts_primfunc *pf = f->u.prim;
  int n_in = 0, n_out = 0, n_sym = 0, n_buf = 0;
  if (e->u.call.n_args > 1) {
    const ts_gexpr *ins = e->u.call.args[1];
    n_in = ins->kind == TS_G_TUPLE ? ins->u.tuple.n : 1;
  }
  if (e->u.call.n_args > 2 && e->u.call.args[2]->kind == TS_G_SHAPE)
    n_sym = e->u.call.args[2]->u.shape.n;
  if (e->u.call.n_sinfo_args == 1 &&
      e->u.call.sinfo_args[0]->kind == TS_SI_TUPLE)
    n_out = e->u.call.sinfo_args[0]->u.tuple.n;
  else
    n_out = e->u.call.n_sinfo_args;
  for (int i = 0; i < pf->n_params; i++)
    n_buf += pf->params[i].buffer != NULL;
  if (n_in + n_out + n_sym != pf->n_params && n_in + n_out != n_buf)
    return err(c, TS_ERR_TYPE, l,
               "call_tir: function '%s' has %d parameter%s but is called with "
               "%d input%s and %d output%s",
               name, pf->n_params, pf->n_params == 1 ? "" : "s", n_in,
               n_in == 1 ? "" : "s", n_out, n_out == 1 ? "" : "s");
  return NULL;
}

static ts_status *check_call(vctx *c, const ts_gexpr *e, ts_loc l,
                             ts_sinfo **out) {
  int n = e->u.call.n_args;
  /* call_tir's callee first: its own message beats the generic one */
  if (e->u.call.callee_kind == TS_CALLEE_OP && e->u.call.op == TS_OP_CALL_TIR)
    TS_RETURN_IF_ERROR(check_call_tir(c, e, l));
  ts_sinfo **arg_si =
      ts_arena_array(c->scratch, n > 0 ? (size_t)n : 1, sizeof(ts_sinfo *));
  for (int i = 0; i < n; i++)
    TS_RETURN_IF_ERROR(check_gexpr(c, e->u.call.args[i], l, &arg_si[i]));
  for (int i = 0; i < e->u.call.n_sinfo_args; i++)
    TS_RETURN_IF_ERROR(check_sinfo_uses(c, e->u.call.sinfo_args[i], l));
  switch (e->u.call.callee_kind) {
  case TS_CALLEE_OP: {
    if (e->sinfo) {
      *out = e->sinfo;
      return NULL;
    }
    const ts_op_info *oi = ts_op_get(e->u.call.op);
    if (!oi || !oi->infer) {
      *out = object_sinfo(c);
      return NULL;
    }
    /* Infer on a copy whose arguments carry their struct info. */
    ts_gexpr *cl = ts_arena_memdup(c->scratch, e, sizeof(*e));
    cl->u.call.args =
        ts_arena_array(c->scratch, n > 0 ? (size_t)n : 1, sizeof(ts_gexpr *));
    for (int i = 0; i < n; i++) {
      ts_gexpr *a =
          ts_arena_memdup(c->scratch, e->u.call.args[i], sizeof(ts_gexpr));
      if (!a->sinfo)
        a->sinfo = arg_si[i];
      cl->u.call.args[i] = a;
    }
    ts_sinfo *si = NULL;
    TS_RETURN_IF_ERROR(oi->infer(c->scratch, cl, &si));
    *out = si ? si : object_sinfo(c);
    return NULL;
  }
  case TS_CALLEE_GLOBAL: {
    ts_func *f = ts_module_lookup(c->m, e->u.call.name);
    if (!f)
      return err(c, TS_ERR_NAME, l, "no function '%s' in the module",
                 e->u.call.name);
    if (e->sinfo)
      *out = e->sinfo;
    else if (f->kind == TS_FUNC_GRAPH && f->u.graph->ret_sinfo)
      *out = f->u.graph->ret_sinfo;
    else
      *out = object_sinfo(c);
    return NULL;
  }
  case TS_CALLEE_EXTERN:
    if (e->sinfo)
      *out = e->sinfo;
    else if (e->u.call.n_sinfo_args == 1)
      *out = e->u.call.sinfo_args[0];
    else
      *out = object_sinfo(c);
    return NULL;
  }
  *out = object_sinfo(c);
  return NULL;
}

static ts_status *check_gexpr(vctx *c, const ts_gexpr *e, ts_loc l,
                              ts_sinfo **out) {
  ts_sinfo *dummy;
  if (!out)
    out = &dummy;
  *out = NULL;
  if (!e)
    return err(c, TS_ERR_INTERNAL, l, "missing expression");
  if (e->loc.line > 0)
    l = e->loc;
  switch (e->kind) {
  case TS_G_VAR: {
    const ts_gvar *v = e->u.var;
    if (!ts_ptrmap_has(&c->gvars, v)) {
      if (ts_ptrmap_has(&c->df_done, v))
        return err(c, TS_ERR_NAME, l,
                   "dataflow variable '%s' used outside its dataflow block",
                   v->name);
      return err(c, TS_ERR_NAME, l, "undefined variable '%s'", v->name);
    }
    *out = e->sinfo ? e->sinfo : v->sinfo ? v->sinfo : object_sinfo(c);
    return NULL;
  }
  case TS_G_CONST: {
    const ts_const_data *d = e->u.constant;
    if (e->sinfo) {
      *out = e->sinfo;
      return NULL;
    }
    ts_expr **shape = ts_arena_array(
        c->scratch, d->ndim > 0 ? (size_t)d->ndim : 1, sizeof(ts_expr *));
    for (int i = 0; i < d->ndim; i++)
      shape[i] = ts_int(c->scratch, TS_I64, d->shape[i]);
    *out = ts_sinfo_tensor(c->scratch, shape, d->ndim, d->dtype);
    return NULL;
  }
  case TS_G_TUPLE: {
    ts_sinfo *t = ts_sinfo_new(c->scratch, TS_SI_TUPLE);
    t->u.tuple.n = e->u.tuple.n;
    t->u.tuple.fields =
        ts_arena_array(c->scratch, e->u.tuple.n > 0 ? (size_t)e->u.tuple.n : 1,
                       sizeof(ts_sinfo *));
    for (int i = 0; i < e->u.tuple.n; i++)
      TS_RETURN_IF_ERROR(
          check_gexpr(c, e->u.tuple.fields[i], l, &t->u.tuple.fields[i]));
    *out = e->sinfo ? e->sinfo : t;
    return NULL;
  }
  case TS_G_TUPLE_GET: {
    ts_sinfo *t;
    TS_RETURN_IF_ERROR(check_gexpr(c, e->u.tuple_get.tuple, l, &t));
    int k = e->u.tuple_get.index;
    if (t && t->kind == TS_SI_TUPLE) {
      if (k < 0 || k >= t->u.tuple.n)
        return err(c, TS_ERR_VALUE, l,
                   "tuple index %d out of range for a tuple of %d field%s", k,
                   t->u.tuple.n, t->u.tuple.n == 1 ? "" : "s");
      *out = e->sinfo ? e->sinfo : t->u.tuple.fields[k];
    } else {
      *out = e->sinfo ? e->sinfo : object_sinfo(c);
    }
    return NULL;
  }
  case TS_G_CALL:
    return check_call(c, e, l, out);
  case TS_G_SHAPE: {
    for (int i = 0; i < e->u.shape.n; i++)
      TS_RETURN_IF_ERROR(check_expr(c, e->u.shape.values[i], l));
    ts_sinfo *s = ts_sinfo_new(c->scratch, TS_SI_SHAPE);
    s->u.shape.ndim = e->u.shape.n;
    s->u.shape.values = e->u.shape.values;
    *out = e->sinfo ? e->sinfo : s;
    return NULL;
  }
  case TS_G_PRIM: {
    TS_RETURN_IF_ERROR(check_expr(c, e->u.prim, l));
    ts_sinfo *s = ts_sinfo_new(c->scratch, TS_SI_PRIM);
    s->u.prim.dtype = e->u.prim->dtype;
    s->u.prim.value = e->u.prim;
    *out = e->sinfo ? e->sinfo : s;
    return NULL;
  }
  case TS_G_GLOBAL:
    if (!ts_module_lookup(c->m, e->u.global_name))
      return err(c, TS_ERR_NAME, l, "no function '%s' in the module",
                 e->u.global_name);
    *out = e->sinfo ? e->sinfo : ts_sinfo_new(c->scratch, TS_SI_FUNC);
    return NULL;
  case TS_G_STR:
  case TS_G_DTYPE:
  case TS_G_EXTERN:
    *out = e->sinfo ? e->sinfo : object_sinfo(c);
    return NULL;
  }
  return NULL;
}

static void def_gvar(vctx *c, const ts_gvar *v) {
  if (v)
    ts_ptrmap_put(&c->gvars, v, (void *)v);
}

static ts_status *check_binding_block(vctx *c, const ts_binding_block *bb) {
  for (int i = 0; i < bb->n; i++) {
    const ts_binding *b = &bb->bindings[i];
    ts_loc l = at(c, b->loc.line ? b->loc : bb->loc);
    ts_sinfo *vs = NULL;
    TS_RETURN_IF_ERROR(check_gexpr(c, b->value, l, &vs));
    const ts_gvar *v = b->var;
    if (!v)
      return err(c, TS_ERR_INTERNAL, l, "binding without a variable");
    if (v->is_dataflow && !bb->is_dataflow)
      return err(c, TS_ERR_NAME, l,
                 "dataflow variable '%s' defined outside a dataflow block",
                 v->name);
    if (ts_ptrmap_has(&c->gvars, v))
      return err(c, TS_ERR_NAME, l, "variable '%s' is redefined", v->name);
    if (b->kind == TS_BIND_MATCH_CAST) {
      def_sinfo_syms(c, b->match_sinfo);
    } else if (v->sinfo) {
      if (sinfo_conflict(v->sinfo, vs))
        return conflict_error(
            c, l, ts_arena_printf(c->scratch, "binding '%s'", v->name),
            v->sinfo, vs);
    }
    def_sinfo_syms(c, v->sinfo);
    def_gvar(c, v);
  }
  if (!bb->is_dataflow)
    return NULL;
  ts_ptrmap outs = {0};
  for (int i = 0; i < bb->n_outputs; i++) {
    const ts_gvar *o = bb->outputs[i];
    bool found = false;
    for (int j = 0; j < bb->n && !found; j++)
      found = bb->bindings[j].var == o;
    if (!found) {
      ts_ptrmap_free(&outs);
      return err(c, TS_ERR_NAME, bb->loc,
                 "R.output: variable '%s' is not defined in the dataflow "
                 "block",
                 o ? o->name : "?");
    }
    ts_ptrmap_put(&outs, o, NULL);
  }
  /* The block's dataflow variables go out of scope, outputs stay. */
  for (int j = 0; j < bb->n; j++) {
    const ts_gvar *v = bb->bindings[j].var;
    if (v->is_dataflow && !ts_ptrmap_has(&outs, v)) {
      ts_ptrmap_remove(&c->gvars, v);
      ts_ptrmap_put(&c->df_done, v, NULL);
    }
  }
  ts_ptrmap_free(&outs);
  return NULL;
}

static ts_status *check_gfunc(vctx *c, const ts_gfunc *f) {
  reset_scopes(c);
  c->cur = f->loc;
  for (int i = 0; i < f->n_params; i++) {
    const ts_gvar *p = f->params[i];
    def_sinfo_syms(c, p->sinfo);
    def_gvar(c, p);
  }
  ts_status *st = NULL;
  for (int i = 0; i < f->n_blocks && !st; i++)
    st = check_binding_block(c, &f->blocks[i]);
  if (!st && f->result) {
    ts_sinfo *rs = NULL;
    ts_loc l = f->result->loc.line ? f->result->loc : f->loc;
    st = check_gexpr(c, f->result, l, &rs);
    if (!st && f->ret_sinfo && sinfo_conflict(f->ret_sinfo, rs))
      st = conflict_error(
          c, l, ts_arena_printf(c->scratch, "return of '%s'", f->name),
          f->ret_sinfo, rs);
  }
  reset_scopes(c);
  return st;
}

/* ---- entry point
 * -------------------------------------------------------------------
 */

ts_status *ts_module_verify(ts_module *m) {
  vctx c = {.m = m, .scratch = ts_arena_create()};
  ts_status *st = NULL;
  for (int i = 0; i < m->n_funcs && !st; i++) {
    const ts_func *f = &m->funcs[i];
    if (f->kind == TS_FUNC_PRIM)
      st = check_primfunc(&c, f->u.prim);
    else if (f->kind == TS_FUNC_GRAPH)
      st = check_gfunc(&c, f->u.graph);
  }
  for (int i = 0; i < m->n_intrins && !st; i++) {
    if (m->intrins[i].desc)
      st = check_primfunc(&c, m->intrins[i].desc);
    if (!st && m->intrins[i].impl)
      st = check_primfunc(&c, m->intrins[i].impl);
  }
  ts_ptrmap_free(&c.vars);
  ts_ptrmap_free(&c.iter_owner);
  ts_ptrmap_free(&c.bufs);
  ts_ptrmap_free(&c.gvars);
  ts_ptrmap_free(&c.df_done);
  ts_vec_free(&c.var_stack);
  ts_vec_free(&c.buf_stack);
  ts_arena_destroy(c.scratch);
  return st;
}
