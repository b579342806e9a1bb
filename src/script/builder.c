/* builder.c: the TVMScript reader's entry points and module level.
 *
 * ts_script_parse: py_parse the text into the module arena, then two passes
 * over the top level: the first collects every function (name, kind, slot
 * in the module, in source order) so that functions may reference each
 * other before their definition; the second builds each function
 * (build_tir.c, build_graph.c).  Then regions are inferred for blocks
 * without T.reads/T.writes and the module is verified.
 *
 * Grammar of the top level:
 *   file   := (import | decorated-class | decorated-def)*
 *   class  := @I.ir_module | @tvm.script.ir_module | @ir_module [(...)]
 *             class Name: (def | I.module_attrs({...}) | docstring | pass)*
 *   def    := @T.prim_func[(...)] def ... | @R.function[(...)] def ...
 *
 * Also the helpers shared by the TIR and graph builders (builder.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script/builder.h"
#include "tessera/script.h"

/* ---- errors ---------------------------------------------------------------
 */

ts_loc sb_loc(sb_ctx *c, ts_loc loc) {
  loc.file = c->file;
  return loc;
}

void sb_fail(sb_ctx *c, ts_loc loc, ts_status_code code, const char *fmt, ...) {
  char *msg;
  va_list ap;
  va_start(ap, fmt);
  {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    msg = ts_xmalloc((size_t)(n < 0 ? 0 : n) + 1);
    vsnprintf(msg, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
  }
  va_end(ap);
  if (loc.line <= 0) {
    c->err = ts_status_make(code, sb_loc(c, loc), "%s", msg);
  } else {
    c->err = py_error_at(c->src, sb_loc(c, loc), code, "%s", msg);
  }
  free(msg);
  longjmp(c->jb, 1);
}

/* The text of line `line` (1-based) of the source, or NULL. */
static const char *line_text(const char *src, int line) {
  if (!src || line <= 0)
    return NULL;
  const char *p = src;
  for (int l = 1; l < line; l++) {
    p = strchr(p, '\n');
    if (!p)
      return NULL;
    p++;
  }
  return p;
}

void sb_raise(sb_ctx *c, ts_status *st) {
  ts_loc loc = ts_status_loc(st);
  if (loc.line > 0 && loc.file && c->file && strcmp(loc.file, c->file) == 0) {
    const char *lt = line_text(c->src, loc.line);
    if (lt)
      ts_status_set_source_line(st, lt);
  }
  c->err = st;
  longjmp(c->jb, 1);
}

void sb_fail_expr(sb_ctx *c, const py_expr *e, ts_status_code code,
                  const char *fmt) {
  char *s = py_expr_to_string(e);
  ts_status *st = py_error_at(c->src, sb_loc(c, e->loc), code, fmt, s);
  free(s);
  c->err = st;
  longjmp(c->jb, 1);
}

void sb_vec_grow(sb_ctx *c, void **data, int *cap, size_t elem, int len) {
  int nc = *cap ? *cap * 2 : 8;
  void *nd = ts_arena_array(c->scratch, (size_t)nc, elem);
  if (len)
    memcpy(nd, *data, (size_t)len * elem);
  *data = nd;
  *cap = nc;
}

/* ---- names ------------------------------------------------------------------
 */

void sb_bind(sb_ctx *c, const char *name, sb_sym_kind kind, void *p) {
  if (c->n_syms == c->cap_syms) {
    c->cap_syms = c->cap_syms ? c->cap_syms * 2 : 64;
    c->syms = ts_xrealloc(c->syms, (size_t)c->cap_syms * sizeof(sb_sym));
  }
  c->syms[c->n_syms++] = (sb_sym){name, kind, p};
}

void sb_bind_fsym(sb_ctx *c, ts_var *v) {
  sb_push(c, &c->fsyms, ((sb_sym){v->name, SK_VAR, v}));
}

sb_sym *sb_lookup(sb_ctx *c, const char *name) {
  for (int i = c->n_syms - 1; i >= c->fn_base; i--)
    if (strcmp(c->syms[i].name, name) == 0)
      return &c->syms[i];
  for (int i = c->fsyms.len - 1; i >= 0; i--)
    if (strcmp(c->fsyms.data[i].name, name) == 0)
      return &c->fsyms.data[i];
  for (int i = c->n_globals - 1; i >= 0; i--)
    if (strcmp(c->syms[i].name, name) == 0)
      return &c->syms[i];
  return NULL;
}

const char *sb_dotted(sb_ctx *c, const py_expr *e) {
  const char *parts[16];
  int n = 0;
  while (e->kind == PY_ATTR) {
    if (n == 15)
      return NULL;
    parts[n++] = e->u.attr.name;
    e = e->u.attr.value;
  }
  if (e->kind != PY_NAME)
    return NULL;
  parts[n++] = e->u.name;
  const char *root = e->u.name;
  if (strcmp(root, "T") != 0 && strcmp(root, "R") != 0 &&
      strcmp(root, "I") != 0 && sb_lookup(c, root))
    return NULL;
  ts_strbuf b = {0};
  for (int i = n - 1; i >= 0; i--) {
    ts_strbuf_append(&b, parts[i]);
    if (i)
      ts_strbuf_append(&b, ".");
  }
  const char *s = b.data;
  static const struct {
    const char *from, *to;
  } maps[] = {
      {"tvm.script.tir.", "T."},
      {"tvm.script.tirx.", "T."},
      {"tvm.script.relax.", "R."},
      {"tvm.script.ir.", "I."},
      {"tvm.tir.", "T."},
      {"tvm.relax.", "R."},
      {"tir.", "T."},
      {"tirx.", "T."},
      {"relax.", "R."},
      {"ir.", "I."},
  };
  const char *out = NULL;
  for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
    const char *rest = sb_after(s, maps[i].from);
    if (rest) {
      out = ts_arena_printf(c->scratch, "%s%s", maps[i].to, rest);
      break;
    }
  }
  if (!out)
    out = ts_arena_strdup(c->scratch, s);
  ts_strbuf_free(&b);
  return out;
}

/* ---- call arguments
 * ---------------------------------------------------------- */

static TS_NORETURN void arity_error(sb_ctx *c, const py_expr *call,
                                    const char *fname, int min, int max,
                                    int got) {
  if (min == max)
    sb_fail(c, call->loc, TS_ERR_VALUE, "%s expects %d argument%s, got %d",
            fname, min, min == 1 ? "" : "s", got);
  if (got < min)
    sb_fail(c, call->loc, TS_ERR_VALUE,
            "%s expects at least %d argument%s, got %d", fname, min,
            min == 1 ? "" : "s", got);
  sb_fail(c, call->loc, TS_ERR_VALUE,
          "%s expects at most %d argument%s, got %d", fname, max,
          max == 1 ? "" : "s", got);
}

void sb_args(sb_ctx *c, const py_expr *call, const char *fname,
             const char *const *names, int n_names, int n_required,
             py_expr **out) {
  TS_ASSERT(call->kind == PY_CALL);
  int np = call->u.call.n_args, nk = call->u.call.n_kwargs;
  for (int i = 0; i < n_names; i++)
    out[i] = NULL;
  for (int i = 0; i < np; i++) {
    py_expr *arg = call->u.call.args[i];
    if (arg->kind == PY_STARRED)
      sb_fail(c, arg->loc, TS_ERR_UNSUPPORTED,
              "*args are not supported in a call to %s", fname);
    if (i >= n_names)
      arity_error(c, call, fname, n_required, n_names, np + nk);
    out[i] = arg;
  }
  for (int k = 0; k < nk; k++) {
    py_keyword *kw = &call->u.call.kwargs[k];
    if (!kw->name)
      sb_fail(c, kw->loc, TS_ERR_UNSUPPORTED,
              "**kwargs are not supported in a call to %s", fname);
    int idx = -1;
    for (int i = 0; i < n_names; i++)
      if (strcmp(names[i], kw->name) == 0)
        idx = i;
    if (idx < 0)
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got an unexpected keyword argument '%s'", fname, kw->name);
    if (out[idx])
      sb_fail(c, kw->loc, TS_ERR_VALUE,
              "%s got multiple values for argument '%s'", fname, kw->name);
    out[idx] = kw->value;
  }
  for (int i = 0; i < n_required; i++) {
    if (out[i])
      continue;
    if (np + nk < n_required)
      arity_error(c, call, fname, n_required, n_names, np + nk);
    sb_fail(c, call->loc, TS_ERR_VALUE, "%s is missing argument '%s'", fname,
            names[i]);
  }
}

void sb_arity(sb_ctx *c, const py_expr *call, const char *fname, int min,
              int max) {
  TS_ASSERT(call->kind == PY_CALL);
  if (call->u.call.n_kwargs > 0) {
    py_keyword *kw = &call->u.call.kwargs[0];
    sb_fail(c, kw->loc, TS_ERR_VALUE,
            "%s got an unexpected keyword argument '%s'", fname,
            kw->name ? kw->name : "**");
  }
  int n = call->u.call.n_args;
  for (int i = 0; i < n; i++)
    if (call->u.call.args[i]->kind == PY_STARRED)
      sb_fail(c, call->u.call.args[i]->loc, TS_ERR_UNSUPPORTED,
              "*args are not supported in a call to %s", fname);
  if (n < min || (max >= 0 && n > max))
    arity_error(c, call, fname, min, max < 0 ? 1 << 30 : max, n);
}

/* ---- values -----------------------------------------------------------------
 */

bool sb_int_literal(const py_expr *e, int64_t *out) {
  if (e->kind == PY_INT) {
    *out = e->u.int_value;
    return true;
  }
  if (e->kind == PY_UNARYOP && e->u.unary.op == PY_OP_NEG &&
      e->u.unary.operand->kind == PY_INT) {
    *out = -e->u.unary.operand->u.int_value;
    return true;
  }
  return false;
}

const char *sb_str_literal(const py_expr *e) {
  return e->kind == PY_STR ? e->u.str : NULL;
}

ts_dtype sb_dtype(sb_ctx *c, const py_expr *e) {
  ts_dtype t;
  const char *s = sb_str_literal(e);
  if (!s && (e->kind == PY_ATTR || e->kind == PY_NAME)) {
    const char *d = sb_dotted(c, e);
    s = sb_after(d, "T.");
    if (!s)
      s = sb_after(d, "R.");
  }
  if (!s && e->kind == PY_CALL) {
    /* R.dtype("float32") */
    const char *d = sb_dotted(c, e->u.call.func);
    if (d && strcmp(d, "R.dtype") == 0 && e->u.call.n_args == 1)
      return sb_dtype(c, e->u.call.args[0]);
  }
  if (!s)
    sb_fail_expr(c, e, TS_ERR_TYPE, "expected a dtype string, got '%s'");
  if (!ts_dtype_parse(s, &t))
    sb_fail(c, e->loc, TS_ERR_TYPE, "unknown dtype '%s'", s);
  return t;
}

ts_attr_value *sb_attr_value(sb_ctx *c, const py_expr *e) {
  ts_attr_value *v = ts_arena_alloc(c->a, sizeof *v);
  int64_t iv;
  switch (e->kind) {
  case PY_NONE:
    v->kind = TS_ATTR_NONE;
    return v;
  case PY_TRUE:
  case PY_FALSE:
    return ts_attr_bool(c->a, e->kind == PY_TRUE);
  case PY_FLOAT:
    return ts_attr_float(c->a, e->u.float_value);
  case PY_STR:
    return ts_attr_str(c->a, e->u.str);
  case PY_LIST:
  case PY_TUPLE: {
    v->kind = TS_ATTR_LIST;
    v->u.list.n = e->u.seq.n;
    v->u.list.items =
        ts_arena_array(c->a, (size_t)e->u.seq.n, sizeof(ts_attr_value *));
    for (int i = 0; i < e->u.seq.n; i++)
      v->u.list.items[i] = sb_attr_value(c, e->u.seq.items[i]);
    return v;
  }
  case PY_DICT:
    v->kind = TS_ATTR_DICT;
    v->u.dict = sb_attr_dict(c, e, NULL);
    return v;
  default:
    break;
  }
  if (sb_int_literal(e, &iv))
    return ts_attr_int(c->a, iv);
  if (e->kind == PY_UNARYOP && e->u.unary.op == PY_OP_NEG &&
      e->u.unary.operand->kind == PY_FLOAT)
    return ts_attr_float(c->a, -e->u.unary.operand->u.float_value);
  v->kind = TS_ATTR_EXPR;
  v->u.expr = sb_tir_expr(c, e, TS_VOIDT);
  /* An expression that folds to a literal is that literal ("+True", "2 * 3"):
   * the printer writes literals, so this keeps print -> parse a fixed point. */
  ts_expr *x = v->u.expr;
  if (x->kind == TS_E_INT && x->dtype.code == TS_BOOL)
    return ts_attr_bool(c->a, x->u.int_value != 0);
  if (x->kind == TS_E_INT && x->dtype.code == TS_INT && x->dtype.bits == 32)
    return ts_attr_int(c->a, x->u.int_value);
  return v;
}

ts_attrs *sb_attr_dict(sb_ctx *c, const py_expr *e, ts_attrs *into) {
  if (e->kind != PY_DICT)
    sb_fail_expr(c, e, TS_ERR_VALUE, "expected a dict of attributes, got '%s'");
  ts_attrs *d = into ? into : ts_attrs_new(c->a);
  for (int i = 0; i < e->u.dict.n; i++) {
    const py_expr *k = e->u.dict.keys[i];
    if (!k)
      sb_fail(c, e->loc, TS_ERR_UNSUPPORTED,
              "'**' is not supported in an attribute dict");
    if (k->kind != PY_STR)
      sb_fail_expr(c, k, TS_ERR_VALUE,
                   "attribute keys must be strings, got '%s'");
    ts_attrs_set(c->a, d, k->u.str, sb_attr_value(c, e->u.dict.values[i]));
  }
  return d;
}

/* ---- struct info text for messages ----------------------------------------
 */

static void dim_str(ts_strbuf *b, const ts_expr *e) {
  if (!e) {
    ts_strbuf_append(b, "?");
    return;
  }
  switch (e->kind) {
  case TS_E_INT:
    ts_strbuf_printf(b, "%lld", (long long)e->u.int_value);
    break;
  case TS_E_VAR:
    ts_strbuf_append(b, e->u.var->name);
    break;
  case TS_E_ADD:
  case TS_E_SUB:
  case TS_E_MUL:
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: {
    static const char *ops[] = {" + ", " - ", " * "};
    const char *op = e->kind == TS_E_FLOORDIV   ? " // "
                     : e->kind == TS_E_FLOORMOD ? " % "
                                                : ops[e->kind - TS_E_ADD];
    ts_strbuf_append(b, "(");
    dim_str(b, e->u.bin.a);
    ts_strbuf_append(b, op);
    dim_str(b, e->u.bin.b);
    ts_strbuf_append(b, ")");
    break;
  }
  default:
    ts_strbuf_append(b, "?");
  }
}

static void sinfo_str(ts_strbuf *b, const ts_sinfo *s) {
  char buf[32];
  if (!s) {
    ts_strbuf_append(b, "?");
    return;
  }
  switch (s->kind) {
  case TS_SI_OBJECT:
    ts_strbuf_append(b, "R.Object");
    break;
  case TS_SI_FUNC:
    ts_strbuf_append(b, "R.Callable");
    break;
  case TS_SI_PRIM:
    ts_strbuf_printf(b, "R.Prim(\"%s\")", ts_dtype_str(s->u.prim.dtype, buf));
    break;
  case TS_SI_SHAPE:
    if (s->u.shape.values) {
      ts_strbuf_append(b, "R.Shape([");
      for (int i = 0; i < s->u.shape.ndim; i++) {
        if (i)
          ts_strbuf_append(b, ", ");
        dim_str(b, s->u.shape.values[i]);
      }
      ts_strbuf_append(b, "])");
    } else {
      ts_strbuf_printf(b, "R.Shape(ndim=%d)", s->u.shape.ndim);
    }
    break;
  case TS_SI_TENSOR: {
    bool any = false;
    ts_strbuf_append(b, "R.Tensor(");
    if (s->u.tensor.shape) {
      ts_strbuf_append(b, "(");
      for (int i = 0; i < s->u.tensor.ndim; i++) {
        if (i)
          ts_strbuf_append(b, ", ");
        dim_str(b, s->u.tensor.shape[i]);
      }
      ts_strbuf_append(b, s->u.tensor.ndim == 1 ? ",)" : ")");
      any = true;
    }
    if (s->u.tensor.dtype.code != TS_VOID) {
      ts_strbuf_printf(b, "%sdtype=\"%s\"", any ? ", " : "",
                       ts_dtype_str(s->u.tensor.dtype, buf));
      any = true;
    }
    if (!s->u.tensor.shape && s->u.tensor.ndim >= 0)
      ts_strbuf_printf(b, "%sndim=%d", any ? ", " : "", s->u.tensor.ndim);
    ts_strbuf_append(b, ")");
    break;
  }
  case TS_SI_TUPLE:
    ts_strbuf_append(b, "R.Tuple(");
    for (int i = 0; i < s->u.tuple.n; i++) {
      if (i)
        ts_strbuf_append(b, ", ");
      sinfo_str(b, s->u.tuple.fields[i]);
    }
    ts_strbuf_append(b, ")");
    break;
  }
}

const char *sb_sinfo_str(sb_ctx *c, const ts_sinfo *s) {
  ts_strbuf b = {0};
  sinfo_str(&b, s);
  const char *r = ts_arena_strdup(c->scratch, b.data ? b.data : "");
  ts_strbuf_free(&b);
  return r;
}

/* ---- decorators
 * ---------------------------------------------------------------- */

static const char *decorator_name(sb_ctx *c, const py_expr *d) {
  if (d->kind == PY_CALL)
    d = d->u.call.func;
  return sb_dotted(c, d);
}

static bool is_module_decorator(const char *n) {
  return n && (strcmp(n, "I.ir_module") == 0 ||
               strcmp(n, "tvm.script.ir_module") == 0 ||
               strcmp(n, "ir_module") == 0 || strcmp(n, "tvm.ir_module") == 0);
}

/* TS_FUNC_PRIM / TS_FUNC_GRAPH, or -1 when the def has no known decorator. */
static int def_kind(sb_ctx *c, const py_stmt *def) {
  for (int i = 0; i < def->u.def.n_decorators; i++) {
    const char *n = decorator_name(c, def->u.def.decorators[i]);
    if (!n)
      continue;
    if (strcmp(n, "T.prim_func") == 0 || strcmp(n, "prim_func") == 0)
      return TS_FUNC_PRIM;
    if (strcmp(n, "R.function") == 0)
      return TS_FUNC_GRAPH;
  }
  return -1;
}

bool sb_decorator_flag(sb_ctx *c, const py_stmt *def, const char *name,
                       bool dflt) {
  for (int i = 0; i < def->u.def.n_decorators; i++) {
    const py_expr *d = def->u.def.decorators[i];
    if (d->kind != PY_CALL)
      continue;
    for (int k = 0; k < d->u.call.n_kwargs; k++) {
      const py_keyword *kw = &d->u.call.kwargs[k];
      if (!kw->name || strcmp(kw->name, name) != 0)
        continue;
      if (kw->value->kind == PY_TRUE)
        return true;
      if (kw->value->kind == PY_FALSE)
        return false;
      sb_fail_expr(c, kw->value, TS_ERR_VALUE,
                   "expected True or False, got '%s'");
    }
  }
  return dflt;
}

/* ---- module
 * ------------------------------------------------------------------- */

static bool is_docstring(const py_stmt *s) {
  return s->kind == PY_S_EXPR && s->u.expr.value->kind == PY_STR;
}

static void register_funcs(sb_ctx *c, py_stmt **defs, int n) {
  c->funcs = ts_xcalloc((size_t)(n ? n : 1), sizeof(sb_func));
  for (int i = 0; i < n; i++) {
    py_stmt *d = defs[i];
    const char *name = d->u.def.name;
    for (int j = 0; j < c->n_funcs; j++)
      if (strcmp(c->funcs[j].name, name) == 0)
        sb_fail(c, d->loc, TS_ERR_NAME, "function '%s' is defined twice", name);
    int kind = def_kind(c, d);
    if (kind < 0)
      sb_fail(c, d->loc, TS_ERR_SYNTAX,
              "function '%s' must be decorated with @T.prim_func or "
              "@R.function",
              name);
    sb_func *f = &c->funcs[c->n_funcs++];
    f->name = name;
    f->def = d;
    f->kind = (ts_func_kind)kind;
    f->loc = sb_loc(c, d->loc);
    ts_func tf = {0};
    tf.kind = f->kind;
    tf.name = name;
    if (kind == TS_FUNC_PRIM) {
      f->prim = ts_arena_alloc(c->a, sizeof(ts_primfunc));
      f->prim->name = name;
      f->prim->loc = f->loc;
      tf.u.prim = f->prim;
    } else {
      f->graph = ts_arena_alloc(c->a, sizeof(ts_gfunc));
      f->graph->name = name;
      f->graph->loc = f->loc;
      f->graph->is_pure = true;
      tf.u.graph = f->graph;
    }
    ts_status *st = ts_module_add(c->m, tf, f->loc);
    if (st)
      sb_raise(c, st);
  }
}

static void build_module(sb_ctx *c, const py_body *body) {
  SB_VEC(py_stmt *) defs = {0};
  const py_stmt *cls = NULL;
  for (int i = 0; i < body->n; i++) {
    py_stmt *s = body->stmts[i];
    switch (s->kind) {
    case PY_S_IMPORT:
    case PY_S_PASS:
      continue;
    case PY_S_EXPR:
      if (is_docstring(s))
        continue;
      break;
    case PY_S_DEF:
      if (cls)
        sb_fail(c, s->loc, TS_ERR_SYNTAX,
                "a file holds one module class or functions, not both");
      sb_push(c, &defs, s);
      continue;
    case PY_S_CLASS: {
      if (cls || defs.len)
        sb_fail(c, s->loc, TS_ERR_SYNTAX,
                "a file holds one module class or functions, not both");
      bool ok = false;
      for (int d = 0; d < s->u.class_.n_decorators; d++)
        if (is_module_decorator(decorator_name(c, s->u.class_.decorators[d])))
          ok = true;
      if (!ok)
        sb_fail(c, s->loc, TS_ERR_SYNTAX,
                "class '%s' must be decorated with @I.ir_module",
                s->u.class_.name);
      cls = s;
      c->module_name = s->u.class_.name;
      c->m->name = s->u.class_.name;
      const py_body *cb = &s->u.class_.body;
      for (int j = 0; j < cb->n; j++) {
        py_stmt *t = cb->stmts[j];
        if (t->kind == PY_S_DEF) {
          sb_push(c, &defs, t);
        } else if (t->kind == PY_S_PASS || is_docstring(t)) {
          continue;
        } else if (t->kind == PY_S_EXPR && t->u.expr.value->kind == PY_CALL) {
          const py_expr *call = t->u.expr.value;
          const char *n = sb_dotted(c, call->u.call.func);
          if (!n || strcmp(n, "I.module_attrs") != 0)
            sb_fail_expr(c, call, TS_ERR_UNSUPPORTED,
                         "unsupported statement in a module class: '%s'");
          sb_arity(c, call, "I.module_attrs", 1, 1);
          c->m->attrs = sb_attr_dict(c, call->u.call.args[0], c->m->attrs);
        } else {
          sb_fail(c, t->loc, TS_ERR_UNSUPPORTED,
                  "unsupported statement in a module class (expected a "
                  "decorated function)");
        }
      }
      continue;
    }
    default:
      break;
    }
    sb_fail(c, s->loc, TS_ERR_UNSUPPORTED,
            "unsupported statement at the top level of a TVMScript file "
            "(expected a module class or a decorated function)");
  }
  if (defs.len == 0) {
    ts_loc loc = {c->file, 1, 1};
    if (cls)
      loc = cls->loc;
    sb_fail(c, loc, TS_ERR_SYNTAX, "no function found%s",
            cls ? " in the module class" : " in the file");
  }
  register_funcs(c, defs.data, defs.len);
  for (int i = 0; i < c->n_funcs; i++)
    sb_bind(c, c->funcs[i].name, SK_FUNC, &c->funcs[i]);
  if (c->module_name)
    sb_bind(c, c->module_name, SK_CLS, NULL);
  c->n_globals = c->n_syms;
  c->fn_base = c->n_syms;
  for (int i = 0; i < c->n_funcs; i++) {
    sb_func *f = &c->funcs[i];
    if (f->kind == TS_FUNC_PRIM) {
      c->fsyms.len = 0;
      c->fsyms.data = NULL;
      c->fsyms.cap = 0;
      sb_build_primfunc(c, f);
      c->n_syms = c->n_globals;
    } else {
      sb_ensure_gfunc(c, f);
    }
  }
}

/* ---- entry points ----------------------------------------------------------
 */

ts_status *ts_script_parse(const char *text, size_t len, const char *filename,
                           ts_module **out) {
  *out = NULL;
  ts_module *m = ts_module_create();
  ts_arena *a = ts_module_arena(m);
  const char *file = ts_arena_strdup(a, filename ? filename : "<string>");
  char *src = ts_arena_alloc(a, len + 1);
  if (len)
    memcpy(src, text, len);
  src[len] = '\0';
  m->source_name = file;
  m->source_text = src;

  py_body body;
  ts_status *st = py_parse(a, src, len, file, &body);
  if (st) {
    ts_module_destroy(m);
    return st;
  }

  sb_ctx *c = ts_xcalloc(1, sizeof *c);
  c->m = m;
  c->a = a;
  c->scratch = ts_arena_create();
  c->src = src;
  c->file = file;
  if (setjmp(c->jb) == 0) {
    build_module(c, &body);
    st = NULL;
  } else {
    st = c->err;
  }
  ts_arena_destroy(c->scratch);
  free(c->syms);
  free(c->funcs);
  free(c);
  if (!st) {
    st = ts_module_verify(m);
    ts_loc loc = st ? ts_status_loc(st) : (ts_loc){0};
    if (loc.line > 0 && loc.file && strcmp(loc.file, file) == 0) {
      const char *lt = line_text(src, loc.line);
      if (lt)
        ts_status_set_source_line(st, lt);
    }
  }
  if (st) {
    ts_module_destroy(m);
    return st;
  }
  *out = m;
  return NULL;
}

ts_status *ts_script_parse_file(const char *path, ts_module **out) {
  char *data = NULL;
  size_t len = 0;
  *out = NULL;
  TS_RETURN_IF_ERROR(ts_read_file(path, &data, &len));
  ts_status *st = ts_script_parse(data, len, path, out);
  free(data);
  return st;
}
