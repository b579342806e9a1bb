/* printer.c: IRModule -> TVMScript text (the canonical form of
 * docs/tvmscript.md, classic syntax of TVM v0.13-v0.23, or the v0.24+
 * spelling with TS_SYNTAX_CURRENT).
 *
 * Conventions:
 *   - Output goes to one ts_strbuf (p->out); a statement line starts with
 *     begin_line() (indentation) and ends with end_line().
 *   - Names: every variable and buffer is printed under a name chosen when
 *     its definition is printed (name_define).  The table is a stack of
 *     (pointer, name) entries; a scope remembers the stack height and cuts
 *     back to it when it ends, so sibling scopes reuse names (`i` in two
 *     sibling loops) while a name already visible gets a suffix `_1`, `_2`
 *     in order of definition (as TVM's printer does).  Python keywords and
 *     the module aliases T, R, I are never used as names.
 *   - Expressions print with Python precedence and minimal parentheses: a
 *     left operand is wrapped when it binds less tightly than its operator,
 *     a right operand when it binds less or equally tightly (left
 *     associativity); comparison operands are wrapped like right operands on
 *     both sides, since Python chains comparisons.
 *   - Temporary expressions (folded `min + extent` ends) live in a scratch
 *     arena freed at the end of each print call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "tessera/script.h"

/* ---- op and intrinsic names (taken from the tables themselves, so the
 * printer links without the op registry) ---------------------------------- */

static const char *const op_names[] = {
#define TS_OP(id, name, min_args, max_args, pattern) name,
#include "ops/ops.def"
#undef TS_OP
};
_Static_assert(sizeof op_names / sizeof op_names[0] == TS_OP_COUNT,
               "op name table out of sync with ops.def");

static const char *const intrin_names[] = {
#define X(e, n, a) n,
    TS_INTRINSICS(X)
#undef X
};
_Static_assert(sizeof intrin_names / sizeof intrin_names[0] == TS_INTRIN_COUNT,
               "intrinsic name table out of sync with ir.h");

/* ---- printer state ---------------------------------------------------------
 */

typedef struct name_entry {
  const void *key;  /* the ts_var / ts_buffer / ts_gvar; NULL: reserved */
  const char *name; /* printed text */
  bool alias;       /* text like "A.data": does not occupy a name */
} name_entry;

typedef struct printer {
  ts_strbuf *out;
  ts_strbuf main_out;
  int indent;
  ts_syntax syntax;
  ts_arena *arena; /* scratch */
  TS_VEC(name_entry) names;
  TS_VEC(const ts_stmt *) loops; /* enclosing for loops */
  bool relax_dims; /* int64 immediates print bare (struct info shapes) */
  bool quote_dims; /* signature: non-constant dims print as strings */
  int stmt_lines;  /* statement lines written (not comments) */
  const char *module_name;
} printer;

static void printer_init(printer *p, const ts_print_options *opts) {
  memset(p, 0, sizeof(*p));
  p->out = &p->main_out;
  p->syntax = opts ? opts->syntax : TS_SYNTAX_CLASSIC;
  p->arena = ts_arena_create();
  p->module_name = "Module";
}

/* Frees the scratch state and returns the text (heap, caller frees). */
static char *printer_finish(printer *p) {
  ts_vec_free(&p->names);
  ts_vec_free(&p->loops);
  ts_arena_destroy(p->arena);
  ts_strbuf_appendn(&p->main_out, "", 0);
  return p->main_out.data;
}

static void put(printer *p, const char *s) { ts_strbuf_append(p->out, s); }

static void putf(printer *p, const char *fmt, ...) TS_PRINTF(2, 3);
static void putf(printer *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(p->out, fmt, ap);
  va_end(ap);
}

static void put_indent(printer *p) {
  for (int i = 0; i < p->indent; i++)
    put(p, "    ");
}

static void begin_line(printer *p) {
  put_indent(p);
  p->stmt_lines++;
}

static void end_line(printer *p) { put(p, "\n"); }

static void put_dtype(printer *p, ts_dtype t) {
  char buf[32];
  put(p, ts_dtype_str(t, buf));
}

/* A Python string literal in double quotes. */
static void put_str(printer *p, const char *s) {
  put(p, "\"");
  for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
    switch (*c) {
    case '"':
      put(p, "\\\"");
      break;
    case '\\':
      put(p, "\\\\");
      break;
    case '\n':
      put(p, "\\n");
      break;
    case '\t':
      put(p, "\\t");
      break;
    case '\r':
      put(p, "\\r");
      break;
    default:
      if (*c < 0x20 || *c == 0x7f)
        putf(p, "\\x%02x", *c);
      else
        ts_strbuf_appendn(p->out, (const char *)c, 1);
    }
  }
  put(p, "\"");
}

/* ---- float formatting ------------------------------------------------------
 */

/* Python's repr of a finite double: the shortest digits that read back to the
 * same value (compared as float when `as_f32`), fixed notation for decimal
 * exponents in [-4, 16), scientific otherwise, always with a '.' or an 'e'. */
static void format_float(char *out, size_t cap, double v, bool as_f32) {
  char buf[48];
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    double r = strtod(buf, NULL);
    if (as_f32 ? (float)r == (float)v : r == v)
      break;
  }
  if (prec > 17)
    snprintf(buf, sizeof buf, "%.16e", v);
  /* buf: [-]d[.ddd]e[+-]XX */
  char digits[32];
  int nd = 0;
  const char *c = buf;
  bool neg = false;
  if (*c == '-') {
    neg = true;
    c++;
  }
  for (; *c && *c != 'e'; c++)
    if (*c >= '0' && *c <= '9' && nd < 31)
      digits[nd++] = *c;
  int exp10 = *c == 'e' ? atoi(c + 1) : 0;
  while (nd > 1 && digits[nd - 1] == '0')
    nd--; /* trailing zeros */
  digits[nd] = 0;
  char res[64];
  size_t k = 0;
  if (neg)
    res[k++] = '-';
  if (exp10 >= -4 && exp10 < 16) {
    if (exp10 >= 0) {
      for (int i = 0; i <= exp10; i++)
        res[k++] = i < nd ? digits[i] : '0';
      res[k++] = '.';
      if (nd > exp10 + 1) {
        for (int i = exp10 + 1; i < nd; i++)
          res[k++] = digits[i];
      } else {
        res[k++] = '0';
      }
    } else {
      res[k++] = '0';
      res[k++] = '.';
      for (int i = 0; i < -exp10 - 1; i++)
        res[k++] = '0';
      for (int i = 0; i < nd; i++)
        res[k++] = digits[i];
    }
    res[k] = 0;
  } else {
    res[k++] = digits[0];
    if (nd > 1) {
      res[k++] = '.';
      for (int i = 1; i < nd; i++)
        res[k++] = digits[i];
    }
    res[k] = 0;
    snprintf(res + k, sizeof res - k, "e%c%02d", exp10 < 0 ? '-' : '+',
             exp10 < 0 ? -exp10 : exp10);
  }
  snprintf(out, cap, "%s", res);
}

static bool float_is_nan(double v) { return v != v; }
static bool float_is_inf(double v) {
  return !float_is_nan(v) && (v - v) != 0.0;
}

/* A float as a Python literal (attribute values, R.const elements). */
static void put_py_float(printer *p, double v, bool as_f32) {
  if (float_is_nan(v)) {
    put(p, "float(\"nan\")");
  } else if (float_is_inf(v)) {
    put(p, v < 0 ? "float(\"-inf\")" : "float(\"inf\")");
  } else {
    char buf[64];
    format_float(buf, sizeof buf, v, as_f32);
    put(p, buf);
  }
}

/* ---- names ------------------------------------------------------------------
 */

static const char *const reserved_names[] = {
    "False",  "None",   "True",    "and",      "as",       "assert", "async",
    "await",  "break",  "class",   "continue", "def",      "del",    "elif",
    "else",   "except", "finally", "for",      "from",     "global", "if",
    "import", "in",     "is",      "lambda",   "nonlocal", "not",    "or",
    "pass",   "raise",  "return",  "try",      "while",    "with",   "yield",
    "T",      "R",      "I",       "range",
};

static bool name_taken(const printer *p, const char *n) {
  for (size_t i = 0; i < sizeof reserved_names / sizeof reserved_names[0]; i++)
    if (strcmp(reserved_names[i], n) == 0)
      return true;
  for (size_t i = 0; i < p->names.len; i++)
    if (!p->names.data[i].alias && strcmp(p->names.data[i].name, n) == 0)
      return true;
  return false;
}

/* A valid Python identifier made from a raw name. */
static const char *sanitize(printer *p, const char *raw) {
  if (!raw || !*raw)
    return "v";
  bool ok = !(raw[0] >= '0' && raw[0] <= '9');
  for (const char *c = raw; *c && ok; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
         (*c >= '0' && *c <= '9') || *c == '_';
  if (ok)
    return raw;
  size_t n = strlen(raw);
  char *s = ts_arena_alloc(p->arena, n + 3);
  size_t k = 0;
  if (raw[0] >= '0' && raw[0] <= '9') {
    s[k++] = 'v';
    s[k++] = '_';
  }
  for (const char *c = raw; *c; c++) {
    bool id = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '_';
    s[k++] = id ? *c : '_';
  }
  s[k] = 0;
  return s;
}

static const char *name_lookup(const printer *p, const void *key) {
  if (!key)
    return NULL;
  for (size_t i = p->names.len; i-- > 0;)
    if (p->names.data[i].key == key)
      return p->names.data[i].name;
  return NULL;
}

/* Defines `key` under `raw` (made valid and unique); returns the name. */
static const char *name_define(printer *p, const void *key, const char *raw) {
  const char *base = sanitize(p, raw);
  const char *n = base;
  for (int k = 1; name_taken(p, n); k++)
    n = ts_arena_printf(p->arena, "%s_%d", base, k);
  name_entry e = {key, n, false};
  ts_vec_push(&p->names, e);
  return n;
}

static void name_alias(printer *p, const void *key, const char *text) {
  if (!key)
    return;
  name_entry e = {key, text, true};
  ts_vec_push(&p->names, e);
}

static void name_reserve(printer *p, const char *n) {
  name_entry e = {NULL, n, false};
  ts_vec_push(&p->names, e);
}

static const char *var_name(printer *p, const ts_var *v) {
  const char *n = name_lookup(p, v);
  return n ? n : sanitize(p, v->name);
}

static const char *buffer_name(printer *p, const ts_buffer *b) {
  const char *n = name_lookup(p, b);
  return n ? n : sanitize(p, b->name);
}

/* Defines a buffer and the "<name>.data" alias of its data variable. */
static const char *define_buffer(printer *p, const ts_buffer *b) {
  const char *n = name_define(p, b, b->name);
  if (b->data)
    name_alias(p, b->data, ts_arena_printf(p->arena, "%s.data", n));
  return n;
}

/* ---- expression equality (pointer identity for variables and buffers) ---- */

static bool expr_eq(const ts_expr *a, const ts_expr *b) {
  if (a == b)
    return true;
  if (!a || !b)
    return false;
  if (a->kind != b->kind || !ts_dtype_eq(a->dtype, b->dtype))
    return false;
  if (ts_expr_kind_is_binary(a->kind))
    return expr_eq(a->u.bin.a, b->u.bin.a) && expr_eq(a->u.bin.b, b->u.bin.b);
  switch (a->kind) {
  case TS_E_INT:
    return a->u.int_value == b->u.int_value;
  case TS_E_FLOAT:
    return a->u.float_value == b->u.float_value ||
           (float_is_nan(a->u.float_value) && float_is_nan(b->u.float_value));
  case TS_E_STR:
    return strcmp(a->u.str, b->u.str) == 0;
  case TS_E_VAR:
    return a->u.var == b->u.var;
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return expr_eq(a->u.unary.a, b->u.unary.a);
  case TS_E_SELECT:
    return expr_eq(a->u.select.cond, b->u.select.cond) &&
           expr_eq(a->u.select.t, b->u.select.t) &&
           expr_eq(a->u.select.f, b->u.select.f);
  case TS_E_LOAD:
    if (a->u.load.buffer != b->u.load.buffer || a->u.load.n != b->u.load.n)
      return false;
    for (int i = 0; i < a->u.load.n; i++)
      if (!expr_eq(a->u.load.indices[i], b->u.load.indices[i]))
        return false;
    return true;
  case TS_E_CALL:
    if (a->u.call.op != b->u.call.op || a->u.call.n != b->u.call.n)
      return false;
    for (int i = 0; i < a->u.call.n; i++)
      if (!expr_eq(a->u.call.args[i], b->u.call.args[i]))
        return false;
    return true;
  case TS_E_LET:
    return a->u.let.var == b->u.let.var &&
           expr_eq(a->u.let.value, b->u.let.value) &&
           expr_eq(a->u.let.body, b->u.let.body);
  case TS_E_RAMP:
    return expr_eq(a->u.ramp.base, b->u.ramp.base) &&
           expr_eq(a->u.ramp.stride, b->u.ramp.stride);
  default:
    return false;
  }
}

static bool is_int_imm(const ts_expr *e, int64_t v) {
  return e && e->kind == TS_E_INT && e->dtype.code != TS_BOOL &&
         e->u.int_value == v;
}

/* a + b with TVM's constant folding (both immediates, or one of them 0). */
static const ts_expr *fold_add(printer *p, const ts_expr *a, const ts_expr *b) {
  if (a->kind == TS_E_INT && b->kind == TS_E_INT && a->dtype.code != TS_BOOL &&
      b->dtype.code != TS_BOOL) {
    ts_expr *e = ts_arena_alloc(p->arena, sizeof(*e));
    e->kind = TS_E_INT;
    e->dtype = a->dtype;
    e->u.int_value =
        (int64_t)((uint64_t)a->u.int_value + (uint64_t)b->u.int_value);
    return e;
  }
  if (is_int_imm(a, 0))
    return b;
  if (is_int_imm(b, 0))
    return a;
  ts_expr *e = ts_arena_alloc(p->arena, sizeof(*e));
  e->kind = TS_E_ADD;
  e->dtype = a->dtype;
  e->u.bin.a = (ts_expr *)a;
  e->u.bin.b = (ts_expr *)b;
  return e;
}

/* ---- TIR expressions
 * ---------------------------------------------------------- */

enum {
  PREC_OR = 1,
  PREC_AND,
  PREC_NOT,
  PREC_CMP,
  PREC_BITOR,
  PREC_BITXOR,
  PREC_BITAND,
  PREC_SHIFT,
  PREC_ADD,
  PREC_MUL,
  PREC_UNARY,
  PREC_POW,
  PREC_ATOM,
};

static bool int_prints_bare(const printer *p, ts_dtype t) {
  if (t.lanes != 1)
    return false;
  if (t.code == TS_INT && t.bits == 32)
    return true;
  return p->relax_dims && t.code == TS_INT && t.bits == 64;
}

static int expr_prec(const printer *p, const ts_expr *e) {
  switch (e->kind) {
  case TS_E_INT:
    return e->dtype.code != TS_BOOL && int_prints_bare(p, e->dtype) &&
                   e->u.int_value < 0
               ? PREC_UNARY
               : PREC_ATOM;
  case TS_E_ADD:
  case TS_E_SUB:
    return PREC_ADD;
  case TS_E_MUL:
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD:
    return PREC_MUL;
  case TS_E_DIV:
    return ts_dtype_is_int(e->dtype) ? PREC_ATOM : PREC_MUL;
  case TS_E_EQ:
  case TS_E_NE:
  case TS_E_LT:
  case TS_E_LE:
  case TS_E_GT:
  case TS_E_GE:
    return PREC_CMP;
  case TS_E_AND:
    return PREC_AND;
  case TS_E_OR:
    return PREC_OR;
  case TS_E_NOT:
    return PREC_NOT;
  default:
    return PREC_ATOM;
  }
}

static void print_expr(printer *p, const ts_expr *e);

static void print_expr_min(printer *p, const ts_expr *e, int min_prec) {
  if (expr_prec(p, e) < min_prec) {
    put(p, "(");
    print_expr(p, e);
    put(p, ")");
  } else {
    print_expr(p, e);
  }
}

static void print_binop(printer *p, const ts_expr *e, const char *op,
                        int prec) {
  bool cmp = prec == PREC_CMP;
  print_expr_min(p, e->u.bin.a, cmp ? prec + 1 : prec);
  put(p, op);
  print_expr_min(p, e->u.bin.b, prec + 1);
}

static void print_call2(printer *p, const char *fn, const ts_expr *a,
                        const ts_expr *b) {
  putf(p, "%s(", fn);
  print_expr(p, a);
  put(p, ", ");
  print_expr(p, b);
  put(p, ")");
}

static void print_int_imm(printer *p, ts_dtype t, int64_t v) {
  if (t.code == TS_BOOL && t.lanes == 1) {
    put(p, v ? "True" : "False");
  } else if (int_prints_bare(p, t)) {
    putf(p, "%lld", (long long)v);
  } else {
    put(p, "T.");
    put_dtype(p, t);
    if (t.code == TS_UINT && t.bits == 64)
      putf(p, "(%llu)", (unsigned long long)v);
    else if (t.code == TS_BOOL)
      putf(p, "(%s)", v ? "True" : "False");
    else
      putf(p, "(%lld)", (long long)v);
  }
}

static void print_float_imm(printer *p, ts_dtype t, double v) {
  put(p, "T.");
  put_dtype(p, t);
  put(p, "(");
  if (float_is_nan(v)) {
    put(p, "\"nan\"");
  } else if (float_is_inf(v)) {
    put(p, v < 0 ? "\"-inf\"" : "\"inf\"");
  } else {
    char buf[64];
    format_float(buf, sizeof buf, v, !(t.code == TS_FLOAT && t.bits == 64));
    put(p, buf);
  }
  put(p, ")");
}

static void print_indices(printer *p, ts_expr *const *idx, int n) {
  put(p, "[");
  if (n == 0)
    put(p, "()");
  for (int i = 0; i < n; i++) {
    if (i)
      put(p, ", ");
    print_expr(p, idx[i]);
  }
  put(p, "]");
}

static void print_expr(printer *p, const ts_expr *e) {
  if (!e) {
    put(p, "None");
    return;
  }
  switch (e->kind) {
  case TS_E_INT:
    print_int_imm(p, e->dtype, e->u.int_value);
    return;
  case TS_E_FLOAT:
    print_float_imm(p, e->dtype, e->u.float_value);
    return;
  case TS_E_STR:
    put_str(p, e->u.str);
    return;
  case TS_E_VAR:
    put(p, var_name(p, e->u.var));
    return;
  case TS_E_ADD:
    print_binop(p, e, " + ", PREC_ADD);
    return;
  case TS_E_SUB:
    print_binop(p, e, " - ", PREC_ADD);
    return;
  case TS_E_MUL:
    print_binop(p, e, " * ", PREC_MUL);
    return;
  case TS_E_DIV:
    if (ts_dtype_is_int(e->dtype))
      print_call2(p, "T.truncdiv", e->u.bin.a, e->u.bin.b);
    else
      print_binop(p, e, " / ", PREC_MUL);
    return;
  case TS_E_MOD:
    print_call2(p, "T.truncmod", e->u.bin.a, e->u.bin.b);
    return;
  case TS_E_FLOORDIV:
    print_binop(p, e, " // ", PREC_MUL);
    return;
  case TS_E_FLOORMOD:
    print_binop(p, e, " % ", PREC_MUL);
    return;
  case TS_E_MIN:
    print_call2(p, "T.min", e->u.bin.a, e->u.bin.b);
    return;
  case TS_E_MAX:
    print_call2(p, "T.max", e->u.bin.a, e->u.bin.b);
    return;
  case TS_E_EQ:
    print_binop(p, e, " == ", PREC_CMP);
    return;
  case TS_E_NE:
    print_binop(p, e, " != ", PREC_CMP);
    return;
  case TS_E_LT:
    print_binop(p, e, " < ", PREC_CMP);
    return;
  case TS_E_LE:
    print_binop(p, e, " <= ", PREC_CMP);
    return;
  case TS_E_GT:
    print_binop(p, e, " > ", PREC_CMP);
    return;
  case TS_E_GE:
    print_binop(p, e, " >= ", PREC_CMP);
    return;
  case TS_E_AND:
    print_binop(p, e, " and ", PREC_AND);
    return;
  case TS_E_OR:
    print_binop(p, e, " or ", PREC_OR);
    return;
  case TS_E_NOT:
    put(p, "not ");
    print_expr_min(p, e->u.unary.a, PREC_NOT);
    return;
  case TS_E_SELECT:
    put(p, "T.Select(");
    print_expr(p, e->u.select.cond);
    put(p, ", ");
    print_expr(p, e->u.select.t);
    put(p, ", ");
    print_expr(p, e->u.select.f);
    put(p, ")");
    return;
  case TS_E_CAST:
    put(p, "T.Cast(\"");
    put_dtype(p, e->dtype);
    put(p, "\", ");
    print_expr(p, e->u.unary.a);
    put(p, ")");
    return;
  case TS_E_LOAD:
    put(p, buffer_name(p, e->u.load.buffer));
    print_indices(p, e->u.load.indices, e->u.load.n);
    return;
  case TS_E_CALL: {
    int op = (int)e->u.call.op;
    const char *name = op >= 0 && op < TS_INTRIN_COUNT ? intrin_names[op] : "?";
    putf(p, "T.%s(", name);
    int k = 0;
    if (e->u.call.op == TS_INTRIN_CALL_EXTERN) {
      put(p, "\"");
      put_dtype(p, e->dtype);
      put(p, "\"");
      k++;
    }
    for (int i = 0; i < e->u.call.n; i++, k++) {
      if (k)
        put(p, ", ");
      print_expr(p, e->u.call.args[i]);
    }
    put(p, ")");
    return;
  }
  case TS_E_LET: {
    size_t mark = p->names.len;
    put(p, "T.Let(");
    put(p, name_define(p, e->u.let.var, e->u.let.var->name));
    put(p, ", ");
    print_expr(p, e->u.let.value);
    put(p, ", ");
    print_expr(p, e->u.let.body);
    put(p, ")");
    p->names.len = mark;
    return;
  }
  case TS_E_RAMP:
    put(p, "T.Ramp(");
    print_expr(p, e->u.ramp.base);
    put(p, ", ");
    print_expr(p, e->u.ramp.stride);
    putf(p, ", %d)", (int)e->dtype.lanes);
    return;
  case TS_E_BROADCAST:
    put(p, "T.Broadcast(");
    print_expr(p, e->u.unary.a);
    putf(p, ", %d)", (int)e->dtype.lanes);
    return;
  }
  put(p, "?");
}

/* ---- attribute values
 * ---------------------------------------------------------- */

static void print_attr_dict(printer *p, const ts_attrs *d);

static void print_attr_value(printer *p, const ts_attr_value *v) {
  if (!v) {
    put(p, "None");
    return;
  }
  switch (v->kind) {
  case TS_ATTR_NONE:
    put(p, "None");
    return;
  case TS_ATTR_BOOL:
    put(p, v->u.i ? "True" : "False");
    return;
  case TS_ATTR_INT:
    putf(p, "%lld", (long long)v->u.i);
    return;
  case TS_ATTR_FLOAT:
    put_py_float(p, v->u.f, false);
    return;
  case TS_ATTR_STR:
    put_str(p, v->u.s);
    return;
  case TS_ATTR_LIST:
    put(p, "[");
    for (int i = 0; i < v->u.list.n; i++) {
      if (i)
        put(p, ", ");
      print_attr_value(p, v->u.list.items[i]);
    }
    put(p, "]");
    return;
  case TS_ATTR_DICT:
    print_attr_dict(p, v->u.dict);
    return;
  case TS_ATTR_EXPR:
    print_expr(p, v->u.expr);
    return;
  case TS_ATTR_DTYPE: {
    char buf[32];
    put_str(p, ts_dtype_str(v->u.dtype, buf));
    return;
  }
  }
  put(p, "None");
}

/* `{"a": 1, "b": True}` with keys sorted (as TVM prints string-keyed maps). */
static void print_attr_dict(printer *p, const ts_attrs *d) {
  put(p, "{");
  int n = d ? d->n : 0;
  if (n > 0) {
    int *order = ts_arena_array(p->arena, (size_t)n, sizeof(int));
    for (int i = 0; i < n; i++) { /* insertion sort: dictionaries are small */
      int j = i;
      while (j > 0 && strcmp(d->keys[order[j - 1]], d->keys[i]) > 0) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    for (int i = 0; i < n; i++) {
      if (i)
        put(p, ", ");
      put_str(p, d->keys[order[i]]);
      put(p, ": ");
      print_attr_value(p, d->values[order[i]]);
    }
  }
  put(p, "}");
}

/* ---- buffers and regions
 * -------------------------------------------------------- */

static void print_shape_tuple(printer *p, ts_expr *const *v, int n) {
  put(p, "(");
  for (int i = 0; i < n; i++) {
    if (i)
      put(p, ", ");
    print_expr(p, v[i]);
  }
  if (n == 1)
    put(p, ",");
  put(p, ")");
}

static bool scope_is_global(const char *scope) {
  return !scope || !*scope || strcmp(scope, "global") == 0;
}

/* `(128, 128), "int32", strides=..., ...`: the arguments of T.Buffer,
 * T.alloc_buffer, T.match_buffer after the source. */
static void print_buffer_args(printer *p, const ts_buffer *b,
                              bool always_dtype) {
  print_shape_tuple(p, b->shape, b->ndim);
  if (always_dtype || !ts_dtype_eq(b->dtype, TS_F32)) {
    put(p, ", \"");
    put_dtype(p, b->dtype);
    put(p, "\"");
  }
  if (b->strides) {
    put(p, ", strides=");
    print_shape_tuple(p, b->strides, b->ndim);
  }
  if (b->elem_offset && !is_int_imm(b->elem_offset, 0)) {
    put(p, ", elem_offset=");
    print_expr(p, b->elem_offset);
  }
  if (!scope_is_global(b->scope)) {
    put(p, ", scope=");
    put_str(p, b->scope);
  }
  if (b->align)
    putf(p, ", align=%d", b->align);
  if (b->offset_factor)
    putf(p, ", offset_factor=%d", b->offset_factor);
}

static void print_region(printer *p, const ts_region *r) {
  put(p, buffer_name(p, r->buffer));
  put(p, "[");
  if (r->n == 0)
    put(p, "()");
  for (int i = 0; i < r->n; i++) {
    if (i)
      put(p, ", ");
    const ts_range *rg = &r->ranges[i];
    if (is_int_imm(rg->extent, 1)) {
      print_expr(p, rg->min);
    } else {
      print_expr(p, rg->min);
      put(p, ":");
      print_expr(p, fold_add(p, rg->min, rg->extent));
    }
  }
  put(p, "]");
}

static void print_regions(printer *p, const char *fn, const ts_region *rs,
                          int n) {
  begin_line(p);
  putf(p, "%s(", fn);
  for (int i = 0; i < n; i++) {
    if (i)
      put(p, ", ");
    print_region(p, &rs[i]);
  }
  put(p, ")");
  end_line(p);
}

/* ---- TIR statements
 * ----------------------------------------------------------- */

static void print_stmt(printer *p, const ts_stmt *s);

/* The indented body of a compound statement; `T.evaluate(0)` when empty. */
static void print_body(printer *p, const ts_stmt *s) {
  p->indent++;
  int before = p->stmt_lines;
  if (s)
    print_stmt(p, s);
  if (p->stmt_lines == before) {
    begin_line(p);
    put(p, "T.evaluate(0)");
    end_line(p);
  }
  p->indent--;
}

static const ts_stmt *unwrap_seq(const ts_stmt *s) {
  while (s && s->kind == TS_S_SEQ && s->u.seq.n == 1)
    s = s->u.seq.stmts[0];
  return s;
}

static bool expr_uses_var(const ts_expr *e, const ts_var *v) {
  if (!e)
    return false;
  if (e->kind == TS_E_VAR)
    return e->u.var == v;
  if (ts_expr_kind_is_binary(e->kind))
    return expr_uses_var(e->u.bin.a, v) || expr_uses_var(e->u.bin.b, v);
  switch (e->kind) {
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    return expr_uses_var(e->u.unary.a, v);
  case TS_E_SELECT:
    return expr_uses_var(e->u.select.cond, v) ||
           expr_uses_var(e->u.select.t, v) || expr_uses_var(e->u.select.f, v);
  case TS_E_LOAD:
    for (int i = 0; i < e->u.load.n; i++)
      if (expr_uses_var(e->u.load.indices[i], v))
        return true;
    return false;
  case TS_E_CALL:
    for (int i = 0; i < e->u.call.n; i++)
      if (expr_uses_var(e->u.call.args[i], v))
        return true;
    return false;
  case TS_E_LET:
    return e->u.let.var == v || expr_uses_var(e->u.let.value, v) ||
           expr_uses_var(e->u.let.body, v);
  case TS_E_RAMP:
    return expr_uses_var(e->u.ramp.base, v) ||
           expr_uses_var(e->u.ramp.stride, v);
  default:
    return false;
  }
}

static bool loop_is_grid_member(const ts_stmt *s) {
  return s && s->kind == TS_S_FOR && s->u.for_.kind == TS_FOR_SERIAL &&
         is_int_imm(s->u.for_.min, 0) &&
         (!s->u.for_.annotations || s->u.for_.annotations->n == 0);
}

static void print_for(printer *p, const ts_stmt *s) {
  size_t mark = p->names.len, loops_mark = p->loops.len;
  /* T.grid: perfectly nested serial loops from 0 without annotations whose
   * extents do not depend on the grid's own variables. */
  TS_VEC(const ts_stmt *) grid = {0};
  for (const ts_stmt *l = s; loop_is_grid_member(l);
       l = unwrap_seq(l->u.for_.body)) {
    bool dep = false;
    for (size_t i = 0; i < grid.len && !dep; i++)
      dep = expr_uses_var(l->u.for_.extent, grid.data[i]->u.for_.var);
    if (dep)
      break;
    ts_vec_push(&grid, l);
  }
  const ts_stmt *innermost;
  if (grid.len >= 2) {
    const char **names = ts_arena_array(p->arena, grid.len, sizeof(char *));
    for (size_t i = 0; i < grid.len; i++)
      names[i] = name_define(p, grid.data[i]->u.for_.var,
                             grid.data[i]->u.for_.var->name);
    begin_line(p);
    put(p, "for ");
    for (size_t i = 0; i < grid.len; i++) {
      if (i)
        put(p, ", ");
      put(p, names[i]);
    }
    put(p, " in T.grid(");
    for (size_t i = 0; i < grid.len; i++) {
      if (i)
        put(p, ", ");
      print_expr(p, grid.data[i]->u.for_.extent);
      ts_vec_push(&p->loops, grid.data[i]);
    }
    put(p, "):");
    end_line(p);
    innermost = grid.data[grid.len - 1];
  } else {
    const char *n = name_define(p, s->u.for_.var, s->u.for_.var->name);
    bool zero_min = is_int_imm(s->u.for_.min, 0);
    bool annotated = s->u.for_.annotations && s->u.for_.annotations->n > 0;
    const char *fn = "range";
    switch (s->u.for_.kind) {
    case TS_FOR_SERIAL:
      fn = zero_min && !annotated ? "range" : "T.serial";
      break;
    case TS_FOR_PARALLEL:
      fn = "T.parallel";
      break;
    case TS_FOR_VECTORIZED:
      fn = "T.vectorized";
      break;
    case TS_FOR_UNROLLED:
      fn = "T.unroll";
      break;
    case TS_FOR_THREAD_BINDING:
      fn = "T.thread_binding";
      break;
    }
    begin_line(p);
    putf(p, "for %s in %s(", n, fn);
    if (!zero_min) {
      print_expr(p, s->u.for_.min);
      put(p, ", ");
      print_expr(p, fold_add(p, s->u.for_.min, s->u.for_.extent));
    } else {
      print_expr(p, s->u.for_.extent);
    }
    if (s->u.for_.kind == TS_FOR_THREAD_BINDING) {
      put(p, ", thread=");
      put_str(p, s->u.for_.thread_tag);
    }
    if (annotated) {
      put(p, ", annotations=");
      print_attr_dict(p, s->u.for_.annotations);
    }
    put(p, "):");
    end_line(p);
    ts_vec_push(&p->loops, s);
    innermost = s;
  }
  ts_vec_free(&grid);
  print_body(p, innermost->u.for_.body);
  p->names.len = mark;
  p->loops.len = loops_mark;
}

/* The enclosing loop whose variable is v, or NULL. */
static const ts_stmt *enclosing_loop(const printer *p, const ts_var *v) {
  for (size_t i = p->loops.len; i-- > 0;)
    if (p->loops.data[i]->u.for_.var == v)
      return p->loops.data[i];
  return NULL;
}

static bool remap_eligible(const printer *p, const ts_stmt *realize) {
  const ts_block *b = realize->u.realize.block;
  if (b->n_iter_vars < 2)
    return false;
  for (int i = 0; i < b->n_iter_vars; i++) {
    const ts_iter_var *iv = &b->iter_vars[i];
    const ts_expr *v = realize->u.realize.iter_values[i];
    if (iv->type != TS_ITER_SPATIAL && iv->type != TS_ITER_REDUCE)
      return false;
    if (!v || v->kind != TS_E_VAR)
      return false;
    for (int j = 0; j < i; j++) {
      const ts_expr *w = realize->u.realize.iter_values[j];
      if (w->kind == TS_E_VAR && w->u.var == v->u.var)
        return false;
    }
    const ts_stmt *loop = enclosing_loop(p, v->u.var);
    if (!loop || !is_int_imm(loop->u.for_.min, 0))
      return false;
    if (iv->dom.min && !is_int_imm(iv->dom.min, 0))
      return false;
    if (!expr_eq(loop->u.for_.extent, iv->dom.extent))
      return false;
  }
  return true;
}

static const char *block_kw(const printer *p) {
  return p->syntax == TS_SYNTAX_CURRENT ? "T.sblock" : "T.block";
}

static void print_block_contents(printer *p, const ts_stmt *realize) {
  const ts_block *b = realize->u.realize.block;
  /* iteration variables */
  if (remap_eligible(p, realize)) {
    const char **names =
        ts_arena_array(p->arena, (size_t)b->n_iter_vars, sizeof(char *));
    for (int i = 0; i < b->n_iter_vars; i++)
      names[i] = name_define(p, b->iter_vars[i].var, b->iter_vars[i].var->name);
    begin_line(p);
    for (int i = 0; i < b->n_iter_vars; i++) {
      if (i)
        put(p, ", ");
      put(p, names[i]);
    }
    put(p, " = T.axis.remap(\"");
    for (int i = 0; i < b->n_iter_vars; i++)
      put(p, b->iter_vars[i].type == TS_ITER_SPATIAL ? "S" : "R");
    put(p, "\", [");
    for (int i = 0; i < b->n_iter_vars; i++) {
      if (i)
        put(p, ", ");
      print_expr(p, realize->u.realize.iter_values[i]);
    }
    put(p, "])");
    end_line(p);
  } else {
    for (int i = 0; i < b->n_iter_vars; i++) {
      const ts_iter_var *iv = &b->iter_vars[i];
      const char *kind = "spatial";
      switch (iv->type) {
      case TS_ITER_SPATIAL:
        kind = "spatial";
        break;
      case TS_ITER_REDUCE:
        kind = "reduce";
        break;
      case TS_ITER_SCAN:
        kind = "scan";
        break;
      case TS_ITER_OPAQUE:
        kind = "opaque";
        break;
      }
      const char *n = name_define(p, iv->var, iv->var->name);
      begin_line(p);
      putf(p, "%s = T.axis.%s(", n, kind);
      if (!iv->dom.min || is_int_imm(iv->dom.min, 0)) {
        print_expr(p, iv->dom.extent);
      } else {
        put(p, "(");
        print_expr(p, iv->dom.min);
        put(p, ", ");
        print_expr(p, fold_add(p, iv->dom.min, iv->dom.extent));
        put(p, ")");
      }
      put(p, ", ");
      print_expr(p, realize->u.realize.iter_values[i]);
      put(p, ")");
      end_line(p);
    }
  }
  if (realize->u.realize.predicate) {
    begin_line(p);
    put(p, "T.where(");
    print_expr(p, realize->u.realize.predicate);
    put(p, ")");
    end_line(p);
  }
  print_regions(p, "T.reads", b->reads, b->n_reads);
  print_regions(p, "T.writes", b->writes, b->n_writes);
  if (b->annotations && b->annotations->n > 0) {
    begin_line(p);
    put(p, p->syntax == TS_SYNTAX_CURRENT ? "T.sblock_attr(" : "T.block_attr(");
    print_attr_dict(p, b->annotations);
    put(p, ")");
    end_line(p);
  }
  for (int i = 0; i < b->n_alloc_buffers; i++) {
    const ts_buffer *buf = b->alloc_buffers[i];
    const char *n = define_buffer(p, buf);
    begin_line(p);
    putf(p, "%s = T.alloc_buffer(", n);
    print_buffer_args(p, buf, false);
    put(p, ")");
    end_line(p);
  }
  for (int i = 0; i < b->n_match_buffers; i++) {
    const ts_match_buffer *mb = &b->match_buffers[i];
    const char *n = define_buffer(p, mb->buffer);
    begin_line(p);
    putf(p, "%s = T.match_buffer(", n);
    print_region(p, &mb->source);
    put(p, ", ");
    print_buffer_args(p, mb->buffer, false);
    put(p, ")");
    end_line(p);
  }
  if (b->init) {
    begin_line(p);
    put(p, "with T.init():");
    end_line(p);
    print_body(p, b->init);
  }
  if (b->body)
    print_stmt(p, b->body);
}

static void print_realize(printer *p, const ts_stmt *s) {
  const ts_block *b = s->u.realize.block;
  begin_line(p);
  putf(p, "with %s(", block_kw(p));
  put_str(p, b->name ? b->name : "");
  put(p, "):");
  end_line(p);
  size_t mark = p->names.len;
  p->indent++;
  print_block_contents(p, s);
  p->indent--;
  p->names.len = mark;
}

static void print_stmt(printer *p, const ts_stmt *s) {
  if (!s)
    return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++)
      print_stmt(p, s->u.seq.stmts[i]);
    return;
  case TS_S_FOR:
    print_for(p, s);
    return;
  case TS_S_BLOCK_REALIZE:
    print_realize(p, s);
    return;
  case TS_S_STORE:
    begin_line(p);
    put(p, buffer_name(p, s->u.store.buffer));
    print_indices(p, s->u.store.indices, s->u.store.n);
    put(p, " = ");
    print_expr(p, s->u.store.value);
    end_line(p);
    return;
  case TS_S_IF:
    begin_line(p);
    put(p, "if ");
    print_expr(p, s->u.if_.cond);
    put(p, ":");
    end_line(p);
    print_body(p, s->u.if_.then_s);
    if (s->u.if_.else_s) {
      begin_line(p);
      put(p, "else:");
      end_line(p);
      print_body(p, s->u.if_.else_s);
    }
    return;
  case TS_S_LET: {
    size_t mark = p->names.len;
    begin_line(p);
    /* The value is printed before the variable is defined: it cannot use
     * it, and a name it uses must not be shadowed. */
    ts_strbuf value = {0}, *saved = p->out;
    p->out = &value;
    print_expr(p, s->u.let.value);
    p->out = saved;
    const char *n = name_define(p, s->u.let.var, s->u.let.var->name);
    putf(p, "%s: T.", n);
    put_dtype(p, s->u.let.var->dtype);
    put(p, " = ");
    ts_strbuf_appendn(p->out, value.data ? value.data : "", value.len);
    ts_strbuf_free(&value);
    end_line(p);
    print_stmt(p, s->u.let.body);
    p->names.len = mark;
    return;
  }
  case TS_S_EVALUATE:
    begin_line(p);
    put(p, "T.evaluate(");
    print_expr(p, s->u.eval.value);
    put(p, ")");
    end_line(p);
    return;
  case TS_S_ALLOCATE: {
    size_t mark = p->names.len;
    const ts_buffer *buf = s->u.alloc.buffer;
    const char *n = define_buffer(p, buf);
    begin_line(p);
    putf(p, "%s = T.decl_buffer(", n);
    print_buffer_args(p, buf, false);
    put(p, ")");
    end_line(p);
    print_stmt(p, s->u.alloc.body);
    p->names.len = mark;
    return;
  }
  case TS_S_ASSERT:
    begin_line(p);
    put(p, "assert ");
    print_expr(p, s->u.assert_.cond);
    put(p, ", ");
    put_str(p, s->u.assert_.message);
    end_line(p);
    print_stmt(p, s->u.assert_.body);
    return;
  }
}

/* ---- PrimFunc
 * ------------------------------------------------------------------ */

typedef TS_VEC(const ts_var *) var_vec;

static void var_vec_add(var_vec *v, const ts_var *x) {
  for (size_t i = 0; i < v->len; i++)
    if (v->data[i] == x)
      return;
  ts_vec_push(v, x);
}

/* Appends the variables of e in first-use (left to right) order. */
static void collect_vars(const ts_expr *e, var_vec *out) {
  if (!e)
    return;
  if (e->kind == TS_E_VAR) {
    var_vec_add(out, e->u.var);
    return;
  }
  if (ts_expr_kind_is_binary(e->kind)) {
    collect_vars(e->u.bin.a, out);
    collect_vars(e->u.bin.b, out);
    return;
  }
  switch (e->kind) {
  case TS_E_NOT:
  case TS_E_CAST:
  case TS_E_BROADCAST:
    collect_vars(e->u.unary.a, out);
    return;
  case TS_E_SELECT:
    collect_vars(e->u.select.cond, out);
    collect_vars(e->u.select.t, out);
    collect_vars(e->u.select.f, out);
    return;
  case TS_E_LOAD:
    for (int i = 0; i < e->u.load.n; i++)
      collect_vars(e->u.load.indices[i], out);
    return;
  case TS_E_CALL:
    for (int i = 0; i < e->u.call.n; i++)
      collect_vars(e->u.call.args[i], out);
    return;
  case TS_E_LET: /* the let variable is bound inside: skip it */ {
    var_vec inner = {0};
    collect_vars(e->u.let.value, out);
    collect_vars(e->u.let.body, &inner);
    for (size_t i = 0; i < inner.len; i++)
      if (inner.data[i] != e->u.let.var)
        var_vec_add(out, inner.data[i]);
    ts_vec_free(&inner);
    return;
  }
  case TS_E_RAMP:
    collect_vars(e->u.ramp.base, out);
    collect_vars(e->u.ramp.stride, out);
    return;
  default:
    return;
  }
}

static void collect_buffer_vars(const ts_buffer *b, var_vec *out) {
  for (int i = 0; i < b->ndim; i++)
    collect_vars(b->shape[i], out);
  if (b->strides)
    for (int i = 0; i < b->ndim; i++)
      collect_vars(b->strides[i], out);
  if (b->elem_offset)
    collect_vars(b->elem_offset, out);
}

static bool is_scalar_param(const ts_primfunc *f, const ts_var *v) {
  for (int i = 0; i < f->n_params; i++)
    if (!f->params[i].buffer && f->params[i].var == v)
      return true;
  return false;
}

static void print_primfunc_def(printer *p, const ts_primfunc *f,
                               const char *name) {
  p->names.len = 0;
  p->loops.len = 0;
  /* symbolic variables of the parameters' buffers, first-use order */
  var_vec all = {0}, sym = {0};
  for (int i = 0; i < f->n_params; i++)
    if (f->params[i].buffer)
      collect_buffer_vars(f->params[i].buffer, &all);
  for (size_t i = 0; i < all.len; i++)
    if (!is_scalar_param(f, all.data[i]))
      ts_vec_push(&sym, all.data[i]);
  ts_vec_free(&all);

  begin_line(p);
  put(p, f->is_private ? "@T.prim_func(private=True)" : "@T.prim_func");
  end_line(p);
  begin_line(p);
  putf(p, "def %s(", sanitize(p, name));
  for (int i = 0; i < f->n_params; i++) {
    const ts_param *pa = &f->params[i];
    if (i)
      put(p, ", ");
    if (!pa->buffer) {
      putf(p, "%s: T.", name_define(p, pa->var, pa->var->name));
      put_dtype(p, pa->var->dtype);
    } else if (pa->via_match_buffer) {
      const char *raw = pa->var ? pa->var->name : NULL;
      if (!raw || strcmp(raw, pa->buffer->name) == 0)
        raw = ts_arena_printf(p->arena, "var_%s", pa->buffer->name);
      putf(p, "%s: T.handle", name_define(p, pa->var, raw));
    } else {
      var_vec own = {0};
      collect_buffer_vars(pa->buffer, &own);
      for (size_t k = 0; k < own.len; k++)
        if (!name_lookup(p, own.data[k]) && !is_scalar_param(f, own.data[k]))
          name_define(p, own.data[k], own.data[k]->name);
      ts_vec_free(&own);
      const char *n = define_buffer(p, pa->buffer);
      if (pa->var && pa->var != pa->buffer->data)
        name_alias(p, pa->var, ts_arena_printf(p->arena, "%s.data", n));
      putf(p, "%s: T.Buffer(", n);
      print_buffer_args(p, pa->buffer, true);
      put(p, ")");
    }
  }
  put(p, "):");
  end_line(p);

  p->indent++;
  int body_start = p->stmt_lines;
  for (size_t i = 0; i < sym.len; i++) {
    const char *n = name_lookup(p, sym.data[i]);
    if (!n)
      n = name_define(p, sym.data[i], sym.data[i]->name);
    begin_line(p);
    putf(p, "%s = T.", n);
    put_dtype(p, sym.data[i]->dtype);
    put(p, "()");
    end_line(p);
  }
  ts_vec_free(&sym);
  for (int i = 0; i < f->n_params; i++) {
    const ts_param *pa = &f->params[i];
    if (!pa->buffer || !pa->via_match_buffer)
      continue;
    const char *n = define_buffer(p, pa->buffer);
    begin_line(p);
    const char *h = pa->var ? var_name(p, pa->var) : NULL;
    if (!h)
      h = ts_arena_printf(p->arena, "var_%s", pa->buffer->name);
    putf(p, "%s = T.match_buffer(%s, ", n, h);
    print_buffer_args(p, pa->buffer, false);
    put(p, ")");
    end_line(p);
  }
  if (f->attrs && f->attrs->n > 0) {
    begin_line(p);
    put(p, "T.func_attr(");
    print_attr_dict(p, f->attrs);
    put(p, ")");
    end_line(p);
  }
  const ts_stmt *body = unwrap_seq(f->body);
  if (body && body->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = body->u.realize.block;
    bool trivial_root = b->name && strcmp(b->name, "root") == 0 &&
                        b->n_iter_vars == 0 && !body->u.realize.predicate &&
                        !b->init && b->n_match_buffers == 0 &&
                        b->n_reads == 0 && b->n_writes == 0 &&
                        (!b->annotations || b->annotations->n == 0);
    if (trivial_root) {
      put_indent(p);
      putf(p, "# with %s(\"root\"):\n", block_kw(p));
      for (int i = 0; i < b->n_alloc_buffers; i++) {
        const ts_buffer *buf = b->alloc_buffers[i];
        const char *n = define_buffer(p, buf);
        begin_line(p);
        putf(p, "%s = T.alloc_buffer(", n);
        print_buffer_args(p, buf, false);
        put(p, ")");
        end_line(p);
      }
      body = b->body;
    }
  }
  print_stmt(p, body);
  if (p->stmt_lines == body_start) {
    begin_line(p);
    put(p, "T.evaluate(0)");
    end_line(p);
  }
  p->indent--;
  p->names.len = 0;
}

/* ---- struct info
 * ----------------------------------------------------------------- */

/* One dimension of a shape in struct info: int64 immediates bare; in a
 * signature, a dimension holding a variable prints as a string ("n"). */
static void print_dim(printer *p, const ts_expr *e) {
  bool saved = p->relax_dims;
  p->relax_dims = true;
  if (p->quote_dims && e && e->kind != TS_E_INT) {
    ts_strbuf tmp = {0}, *out = p->out;
    p->out = &tmp;
    print_expr(p, e);
    p->out = out;
    ts_strbuf_appendn(&tmp, "", 0);
    put_str(p, tmp.data);
    ts_strbuf_free(&tmp);
  } else {
    print_expr(p, e);
  }
  p->relax_dims = saved;
}

static void print_sinfo(printer *p, const ts_sinfo *s) {
  if (!s) {
    put(p, "R.Object");
    return;
  }
  switch (s->kind) {
  case TS_SI_OBJECT:
    put(p, "R.Object");
    return;
  case TS_SI_FUNC:
    put(p, "R.Callable");
    return;
  case TS_SI_PRIM:
    if (s->u.prim.value) {
      put(p, "R.Prim(value=");
      print_dim(p, s->u.prim.value);
      put(p, ")");
    } else {
      put(p, "R.Prim(\"");
      put_dtype(p, s->u.prim.dtype);
      put(p, "\")");
    }
    return;
  case TS_SI_SHAPE:
    if (s->u.shape.values) {
      put(p, "R.Shape([");
      for (int i = 0; i < s->u.shape.ndim; i++) {
        if (i)
          put(p, ", ");
        print_dim(p, s->u.shape.values[i]);
      }
      put(p, "])");
    } else {
      putf(p, "R.Shape(ndim=%d)", s->u.shape.ndim);
    }
    return;
  case TS_SI_TENSOR: {
    bool has_shape = s->u.tensor.shape && s->u.tensor.ndim >= 0;
    bool has_dtype = s->u.tensor.dtype.code != TS_VOID;
    bool has_ndim = !has_shape && s->u.tensor.ndim >= 0;
    if (!has_shape && !has_dtype && !has_ndim) {
      put(p, "R.Tensor");
      return;
    }
    put(p, "R.Tensor(");
    bool first = true;
    if (has_shape) {
      put(p, "(");
      for (int i = 0; i < s->u.tensor.ndim; i++) {
        if (i)
          put(p, ", ");
        print_dim(p, s->u.tensor.shape[i]);
      }
      if (s->u.tensor.ndim == 1)
        put(p, ",");
      put(p, ")");
      first = false;
    }
    if (has_dtype) {
      put(p, first ? "dtype=\"" : ", dtype=\"");
      put_dtype(p, s->u.tensor.dtype);
      put(p, "\"");
      first = false;
    }
    if (has_ndim)
      putf(p, "%sndim=%d", first ? "" : ", ", s->u.tensor.ndim);
    put(p, ")");
    return;
  }
  case TS_SI_TUPLE:
    if (s->u.tuple.n == 0) {
      put(p, "R.Tuple");
      return;
    }
    put(p, "R.Tuple(");
    for (int i = 0; i < s->u.tuple.n; i++) {
      if (i)
        put(p, ", ");
      print_sinfo(p, s->u.tuple.fields[i]);
    }
    put(p, ")");
    return;
  }
  put(p, "R.Object");
}

static bool exprs_eq(ts_expr *const *a, ts_expr *const *b, int n) {
  if (!a || !b)
    return a == b;
  for (int i = 0; i < n; i++)
    if (!expr_eq(a[i], b[i]))
      return false;
  return true;
}

static bool sinfo_eq(const ts_sinfo *a, const ts_sinfo *b) {
  if (a == b)
    return true;
  if (!a || !b || a->kind != b->kind)
    return false;
  switch (a->kind) {
  case TS_SI_OBJECT:
  case TS_SI_FUNC:
    return true;
  case TS_SI_PRIM:
    return ts_dtype_eq(a->u.prim.dtype, b->u.prim.dtype) &&
           expr_eq(a->u.prim.value, b->u.prim.value);
  case TS_SI_SHAPE:
    return a->u.shape.ndim == b->u.shape.ndim &&
           exprs_eq(a->u.shape.values, b->u.shape.values, a->u.shape.ndim);
  case TS_SI_TENSOR:
    return a->u.tensor.ndim == b->u.tensor.ndim &&
           ts_dtype_eq(a->u.tensor.dtype, b->u.tensor.dtype) &&
           exprs_eq(a->u.tensor.shape, b->u.tensor.shape, a->u.tensor.ndim);
  case TS_SI_TUPLE:
    if (a->u.tuple.n != b->u.tuple.n)
      return false;
    for (int i = 0; i < a->u.tuple.n; i++)
      if (!sinfo_eq(a->u.tuple.fields[i], b->u.tuple.fields[i]))
        return false;
    return true;
  }
  return false;
}

/* ---- graph expressions
 * ------------------------------------------------------------ */

static float half_bits_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0) {
    float f = (float)mant * (1.0f / 16777216.0f);
    return sign ? -f : f;
  }
  if (exp == 31)
    bits = sign | 0x7f800000u | (mant << 13);
  else
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

static void print_const_elem(printer *p, const ts_const_data *c, size_t i) {
  const unsigned char *d = (const unsigned char *)c->data;
  ts_dtype t = c->dtype;
  size_t sz = ts_dtype_bytes(t);
  const unsigned char *e = d + i * sz;
  switch (t.code) {
  case TS_BOOL:
    put(p, *e ? "True" : "False");
    return;
  case TS_INT: {
    int64_t v = 0;
    if (t.bits == 8) {
      int8_t x;
      memcpy(&x, e, 1);
      v = x;
    } else if (t.bits == 16) {
      int16_t x;
      memcpy(&x, e, 2);
      v = x;
    } else if (t.bits == 32) {
      int32_t x;
      memcpy(&x, e, 4);
      v = x;
    } else {
      memcpy(&v, e, 8);
    }
    putf(p, "%lld", (long long)v);
    return;
  }
  case TS_UINT: {
    uint64_t v = 0;
    if (t.bits == 8) {
      uint8_t x;
      memcpy(&x, e, 1);
      v = x;
    } else if (t.bits == 16) {
      uint16_t x;
      memcpy(&x, e, 2);
      v = x;
    } else if (t.bits == 32) {
      uint32_t x;
      memcpy(&x, e, 4);
      v = x;
    } else {
      memcpy(&v, e, 8);
    }
    putf(p, "%llu", (unsigned long long)v);
    return;
  }
  case TS_FLOAT:
  case TS_BFLOAT: {
    double v;
    bool f32 = true;
    if (t.code == TS_BFLOAT) {
      uint16_t h;
      memcpy(&h, e, 2);
      uint32_t bits = (uint32_t)h << 16;
      float f;
      memcpy(&f, &bits, 4);
      v = f;
    } else if (t.bits == 16) {
      uint16_t h;
      memcpy(&h, e, 2);
      v = half_bits_to_float(h);
    } else if (t.bits == 32) {
      float f;
      memcpy(&f, e, 4);
      v = f;
    } else {
      memcpy(&v, e, 8);
      f32 = false;
    }
    put_py_float(p, v, f32);
    return;
  }
  default:
    put(p, "0");
    return;
  }
}

static void print_const_rec(printer *p, const ts_const_data *c, int dim,
                            size_t *idx) {
  if (dim == c->ndim) {
    print_const_elem(p, c, (*idx)++);
    return;
  }
  put(p, "[");
  for (int64_t i = 0; i < c->shape[dim]; i++) {
    if (i)
      put(p, ", ");
    print_const_rec(p, c, dim + 1, idx);
  }
  put(p, "]");
}

static void print_gexpr(printer *p, const ts_gexpr *e);

static void print_gexpr_list(printer *p, ts_gexpr *const *es, int n) {
  for (int i = 0; i < n; i++) {
    if (i)
      put(p, ", ");
    print_gexpr(p, es[i]);
  }
}

/* Struct info arguments: one, or a list when several. */
static void print_sinfo_args(printer *p, ts_sinfo *const *s, int n,
                             bool as_tuple) {
  if (n == 1) {
    print_sinfo(p, s[0]);
    return;
  }
  put(p, as_tuple ? "(" : "[");
  for (int i = 0; i < n; i++) {
    if (i)
      put(p, ", ");
    print_sinfo(p, s[i]);
  }
  put(p, as_tuple ? ")" : "]");
}

static void print_call(printer *p, const ts_gexpr *e) {
  int n = e->u.call.n_args;
  ts_gexpr *const *args = e->u.call.args;
  switch (e->u.call.callee_kind) {
  case TS_CALLEE_OP: {
    int op = e->u.call.op;
    if (op == TS_OP_CALL_TIR || op == TS_OP_CALL_DPS_PACKED) {
      putf(p, "R.%s(", op_names[op]);
      for (int i = 0; i < n && i < 2; i++) {
        if (i)
          put(p, ", ");
        if (args[i]->kind == TS_G_EXTERN)
          put_str(p, args[i]->u.extern_name);
        else
          print_gexpr(p, args[i]);
      }
      if (e->u.call.n_sinfo_args > 0) {
        put(p, p->syntax == TS_SYNTAX_CURRENT ? ", out_ty=" : ", out_sinfo=");
        print_sinfo_args(p, e->u.call.sinfo_args, e->u.call.n_sinfo_args,
                         false);
      }
      if (n > 2) {
        put(p, ", tir_vars=");
        print_gexpr(p, args[2]);
      }
      put(p, ")");
      return;
    }
    putf(p, "R.%s(", op >= 0 && op < TS_OP_COUNT ? op_names[op] : "unknown");
    print_gexpr_list(p, args, n);
    const ts_attrs *a = e->u.call.attrs;
    for (int i = 0; a && i < a->n; i++) {
      if (n > 0 || i > 0)
        put(p, ", ");
      putf(p, "%s=", a->keys[i]);
      print_attr_value(p, a->values[i]);
    }
    put(p, ")");
    return;
  }
  case TS_CALLEE_GLOBAL:
    putf(p, "cls.%s(", sanitize(p, e->u.call.name));
    print_gexpr_list(p, args, n);
    put(p, ")");
    return;
  case TS_CALLEE_EXTERN:
    put(p, "R.call_packed(");
    put_str(p, e->u.call.name);
    for (int i = 0; i < n; i++) {
      put(p, ", ");
      print_gexpr(p, args[i]);
    }
    if (e->u.call.n_sinfo_args > 0) {
      put(p, ", sinfo_args=");
      print_sinfo_args(p, e->u.call.sinfo_args, e->u.call.n_sinfo_args, true);
    }
    put(p, ")");
    return;
  }
}

static void print_gexpr(printer *p, const ts_gexpr *e) {
  if (!e) {
    put(p, "None");
    return;
  }
  switch (e->kind) {
  case TS_G_VAR: {
    const char *n = name_lookup(p, e->u.var);
    put(p, n ? n : sanitize(p, e->u.var->name));
    return;
  }
  case TS_G_CONST: {
    const ts_const_data *c = e->u.constant;
    size_t idx = 0;
    put(p, "R.const(");
    print_const_rec(p, c, 0, &idx);
    put(p, ", \"");
    put_dtype(p, c->dtype);
    put(p, "\")");
    return;
  }
  case TS_G_TUPLE:
    put(p, "(");
    print_gexpr_list(p, e->u.tuple.fields, e->u.tuple.n);
    if (e->u.tuple.n == 1)
      put(p, ",");
    put(p, ")");
    return;
  case TS_G_TUPLE_GET:
    print_gexpr(p, e->u.tuple_get.tuple);
    putf(p, "[%d]", e->u.tuple_get.index);
    return;
  case TS_G_CALL:
    print_call(p, e);
    return;
  case TS_G_SHAPE:
    put(p, "R.shape([");
    for (int i = 0; i < e->u.shape.n; i++) {
      if (i)
        put(p, ", ");
      print_dim(p, e->u.shape.values[i]);
    }
    put(p, "])");
    return;
  case TS_G_PRIM:
    put(p, "R.prim_value(");
    print_expr(p, e->u.prim);
    put(p, ")");
    return;
  case TS_G_STR:
    put(p, "R.str(");
    put_str(p, e->u.str);
    put(p, ")");
    return;
  case TS_G_DTYPE: {
    char buf[32];
    put(p, "R.dtype(");
    put_str(p, ts_dtype_str(e->u.dtype, buf));
    put(p, ")");
    return;
  }
  case TS_G_GLOBAL:
    putf(p, "cls.%s", sanitize(p, e->u.global_name));
    return;
  case TS_G_EXTERN:
    put(p, "R.ExternFunc(");
    put_str(p, e->u.extern_name);
    put(p, ")");
    return;
  }
}

/* ---- graph functions
 * ---------------------------------------------------------------- */

static void collect_sinfo_vars(const ts_sinfo *s, var_vec *out) {
  if (!s)
    return;
  switch (s->kind) {
  case TS_SI_PRIM:
    collect_vars(s->u.prim.value, out);
    return;
  case TS_SI_SHAPE:
    if (s->u.shape.values)
      for (int i = 0; i < s->u.shape.ndim; i++)
        collect_vars(s->u.shape.values[i], out);
    return;
  case TS_SI_TENSOR:
    if (s->u.tensor.shape)
      for (int i = 0; i < s->u.tensor.ndim; i++)
        collect_vars(s->u.tensor.shape[i], out);
    return;
  case TS_SI_TUPLE:
    for (int i = 0; i < s->u.tuple.n; i++)
      collect_sinfo_vars(s->u.tuple.fields[i], out);
    return;
  default:
    return;
  }
}

static void collect_attr_vars(const ts_attr_value *v, var_vec *out) {
  if (!v)
    return;
  if (v->kind == TS_ATTR_EXPR)
    collect_vars(v->u.expr, out);
  if (v->kind == TS_ATTR_LIST)
    for (int i = 0; i < v->u.list.n; i++)
      collect_attr_vars(v->u.list.items[i], out);
}

/* TIR variables of a graph expression; *uses_cls set when the expression
 * refers to a function of the module. */
static void collect_gexpr(const ts_gexpr *e, var_vec *out, bool *uses_cls) {
  if (!e)
    return;
  switch (e->kind) {
  case TS_G_TUPLE:
    for (int i = 0; i < e->u.tuple.n; i++)
      collect_gexpr(e->u.tuple.fields[i], out, uses_cls);
    return;
  case TS_G_TUPLE_GET:
    collect_gexpr(e->u.tuple_get.tuple, out, uses_cls);
    return;
  case TS_G_CALL:
    if (e->u.call.callee_kind == TS_CALLEE_GLOBAL)
      *uses_cls = true;
    for (int i = 0; i < e->u.call.n_args; i++)
      collect_gexpr(e->u.call.args[i], out, uses_cls);
    for (int i = 0; e->u.call.attrs && i < e->u.call.attrs->n; i++)
      collect_attr_vars(e->u.call.attrs->values[i], out);
    for (int i = 0; i < e->u.call.n_sinfo_args; i++)
      collect_sinfo_vars(e->u.call.sinfo_args[i], out);
    return;
  case TS_G_SHAPE:
    for (int i = 0; i < e->u.shape.n; i++)
      collect_vars(e->u.shape.values[i], out);
    return;
  case TS_G_PRIM:
    collect_vars(e->u.prim, out);
    return;
  case TS_G_GLOBAL:
    *uses_cls = true;
    return;
  default:
    return;
  }
}

static void define_new_vars(printer *p, const var_vec *v) {
  for (size_t i = 0; i < v->len; i++)
    if (!name_lookup(p, v->data[i]))
      name_define(p, v->data[i], v->data[i]->name);
}

static void print_binding(printer *p, const ts_binding *b) {
  /* the value is printed before the variable is defined */
  ts_strbuf value = {0}, *saved = p->out;
  p->out = &value;
  if (b->kind == TS_BIND_MATCH_CAST) {
    put(p, "R.match_cast(");
    print_gexpr(p, b->value);
    put(p, ", ");
    print_sinfo(p, b->match_sinfo);
    put(p, ")");
  } else {
    print_gexpr(p, b->value);
  }
  p->out = saved;
  ts_strbuf_appendn(&value, "", 0);
  const char *n = name_define(p, b->var, b->var->name);
  begin_line(p);
  put(p, n);
  if (b->kind == TS_BIND_VAR && b->var->sinfo &&
      (!b->value || !b->value->sinfo ||
       !sinfo_eq(b->var->sinfo, b->value->sinfo))) {
    put(p, ": ");
    print_sinfo(p, b->var->sinfo);
  }
  put(p, " = ");
  put(p, value.data);
  ts_strbuf_free(&value);
  end_line(p);
}

static void print_gfunc_def(printer *p, const ts_gfunc *f, const char *name) {
  p->names.len = 0;
  /* every TIR variable of the function, first-use order */
  var_vec sym = {0};
  bool uses_cls = false;
  for (int i = 0; i < f->n_params; i++)
    collect_sinfo_vars(f->params[i]->sinfo, &sym);
  collect_sinfo_vars(f->ret_sinfo, &sym);
  for (int i = 0; i < f->n_blocks; i++) {
    const ts_binding_block *bb = &f->blocks[i];
    for (int j = 0; j < bb->n; j++) {
      collect_sinfo_vars(bb->bindings[j].var->sinfo, &sym);
      collect_gexpr(bb->bindings[j].value, &sym, &uses_cls);
      collect_sinfo_vars(bb->bindings[j].match_sinfo, &sym);
    }
  }
  collect_gexpr(f->result, &sym, &uses_cls);
  if (uses_cls)
    name_reserve(p, "cls");

  begin_line(p);
  put(p, "@R.function");
  if (!f->is_pure && f->is_private)
    put(p, "(pure=False, private=True)");
  else if (!f->is_pure)
    put(p, "(pure=False)");
  else if (f->is_private)
    put(p, "(private=True)");
  end_line(p);
  begin_line(p);
  putf(p, "def %s(", sanitize(p, name));
  p->quote_dims = true;
  for (int i = 0; i < f->n_params; i++) {
    const ts_gvar *v = f->params[i];
    var_vec own = {0};
    collect_sinfo_vars(v->sinfo, &own);
    define_new_vars(p, &own);
    ts_vec_free(&own);
    if (i)
      put(p, ", ");
    putf(p, "%s: ", name_define(p, v, v->name));
    print_sinfo(p, v->sinfo);
  }
  put(p, ")");
  if (f->ret_sinfo) {
    var_vec own = {0};
    collect_sinfo_vars(f->ret_sinfo, &own);
    define_new_vars(p, &own);
    ts_vec_free(&own);
    put(p, " -> ");
    print_sinfo(p, f->ret_sinfo);
  }
  p->quote_dims = false;
  put(p, ":");
  end_line(p);

  p->indent++;
  define_new_vars(p, &sym);
  for (size_t i = 0; i < sym.len; i++) {
    begin_line(p);
    putf(p, "%s = T.", name_lookup(p, sym.data[i]));
    put_dtype(p, sym.data[i]->dtype);
    put(p, "()");
    end_line(p);
  }
  ts_vec_free(&sym);
  if (uses_cls) {
    begin_line(p);
    putf(p, "cls = %s", p->module_name);
    end_line(p);
  }
  if (f->attrs && f->attrs->n > 0) {
    begin_line(p);
    put(p, "R.func_attr(");
    print_attr_dict(p, f->attrs);
    put(p, ")");
    end_line(p);
  }
  for (int i = 0; i < f->n_blocks; i++) {
    const ts_binding_block *bb = &f->blocks[i];
    if (bb->is_dataflow) {
      begin_line(p);
      put(p, "with R.dataflow():");
      end_line(p);
      p->indent++;
    }
    for (int j = 0; j < bb->n; j++)
      print_binding(p, &bb->bindings[j]);
    if (bb->is_dataflow) {
      begin_line(p);
      put(p, "R.output(");
      for (int j = 0; j < bb->n_outputs; j++) {
        if (j)
          put(p, ", ");
        const char *n = name_lookup(p, bb->outputs[j]);
        put(p, n ? n : sanitize(p, bb->outputs[j]->name));
      }
      put(p, ")");
      end_line(p);
      p->indent--;
    }
  }
  begin_line(p);
  put(p, "return ");
  if (f->result)
    print_gexpr(p, f->result);
  else
    put(p, "R.tuple()");
  end_line(p);
  p->indent--;
  p->names.len = 0;
}

/* ---- entry points
 * ------------------------------------------------------------------ */

char *ts_script_print(const ts_module *m, const ts_print_options *opts) {
  printer p;
  printer_init(&p, opts);
  if (m->name && *m->name)
    p.module_name = sanitize(&p, m->name);
  put(&p, "# from tvm.script import ir as I\n"
          "# from tvm.script import tir as T\n"
          "# from tvm.script import relax as R\n"
          "\n"
          "@I.ir_module\n");
  putf(&p, "class %s:\n", p.module_name);
  p.indent = 1;
  bool first = true;
  if (m->attrs && m->attrs->n > 0) {
    begin_line(&p);
    put(&p, "I.module_attrs(");
    print_attr_dict(&p, m->attrs);
    put(&p, ")");
    end_line(&p);
    first = false;
  }
  for (int i = 0; i < m->n_funcs; i++) {
    const ts_func *f = &m->funcs[i];
    if (f->kind == TS_FUNC_EXTERN)
      continue; /* TVM prints none either */
    if (!first)
      put(&p, "\n");
    first = false;
    if (f->kind == TS_FUNC_PRIM)
      print_primfunc_def(&p, f->u.prim, f->name ? f->name : f->u.prim->name);
    else
      print_gfunc_def(&p, f->u.graph, f->name ? f->name : f->u.graph->name);
  }
  if (first) {
    begin_line(&p);
    put(&p, "pass");
    end_line(&p);
  }
  return printer_finish(&p);
}

char *ts_script_print_primfunc(const ts_primfunc *f,
                               const ts_print_options *opts) {
  printer p;
  printer_init(&p, opts);
  put(&p, "# from tvm.script import tir as T\n\n");
  print_primfunc_def(&p, f, f->name ? f->name : "main");
  return printer_finish(&p);
}

char *ts_script_print_expr(const ts_expr *e) {
  printer p;
  printer_init(&p, NULL);
  print_expr(&p, e);
  return printer_finish(&p);
}

char *ts_script_print_sinfo(const ts_sinfo *s) {
  printer p;
  printer_init(&p, NULL);
  print_sinfo(&p, s);
  return printer_finish(&p);
}
