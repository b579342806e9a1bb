/* codegen_c.c: TensorIR -> one C translation unit.
 *
 * Blocks are lowered while emitting: a block realize becomes a C scope that
 * binds the iteration variables as constants, tests the predicate, runs the
 * init statement on the first iteration of the reduction variables (all
 * reduce iteration variables at their domain minimum, TVM's rule), then the
 * body.  Buffers are flattened to 1-D row-major (or their declared strides)
 * with Horner-form indices.  Loop kinds become real code: parallel ->
 * `#pragma omp parallel for`, vectorized -> `#pragma omp simd`, unrolled ->
 * `#pragma GCC unroll`.  Each PrimFunc `f` becomes `tsk_f` with the ABI of
 * kernel_abi.h.
 *
 * Micro-kernels: a loop annotated "tessera.micro_kernel" = "sgemm" whose nest
 * is `for k: for i (MR): for j (NR): C[..] = C[..] + A[..] * B[..]` (float32)
 * becomes a call to an inline register-tiled kernel defined in the TU (see
 * micro_kernels below), when at run time the accesses are affine in k, i, j
 * with unit stride along j for B and C; otherwise the loops run as written.
 * The loop nest stays the semantics (the interpreter runs it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/arith.h"
#include "compact.h"
#include "tessera/build.h"
#include "tessera/kernel_abi.h"

typedef struct name_entry {
  const void *key; /* ts_var* or ts_buffer* */
  char *name;
} name_entry;

/* A buffer matched onto a region of another (T.match_buffer in a block): a
 * pointer to the region's first element, indexed with the source's strides.
 * Its dimensions are the source's last `ndim` dimensions. */
typedef struct alias {
  const ts_buffer *buf, *src;
  int first_dim;
} alias;

struct compacted {
  const ts_buffer *buf;
  ts_compact k;
  bool heap; /* a slice too big for the stack: taken from ts_alloc's pool */
};

typedef struct cg {
  ts_strbuf out;
  bool uses_oom; /* the kernel being emitted takes slices from ts_alloc */
  TS_VEC(alias) aliases;
  int indent;
  TS_VEC(name_entry) names;
  TS_VEC(const ts_buffer *) bound_buffers; /* buffers with a C pointer */
  const ts_primfunc *func;
  ts_status *err;
  int parallel_depth;
  int tmp_counter;
  /* micro-kernels used so far (see emit_micro_kernel): 100000 for the
   * nested-k variant + MR*1000 + NR */
  TS_VEC(int) ukernels;
  /* Index simplification (ir/arith.h): the loops in scope with static
   * bounds (ts_var* -> int64_t[2]) and the iteration variables of the blocks
   * in scope with their bindings in terms of loop variables (ts_var* ->
   * ts_expr*), in `scratch`. */
  ts_arena *scratch;
  ts_ptrmap ranges, bindings;
  /* buffers declared per iteration of a loop (compact.h), innermost last */
  TS_VEC(struct compacted) compacted;
  /* emit_transposed: the load read from the transposed tile instead (its
   * C text), and whether the tile helper is used */
  const ts_expr *tr_load;
  const char *tr_text;
  bool tr_used;
} cg;

static void cg_fail(cg *c, ts_loc loc, const char *fmt, ...) TS_PRINTF(3, 4);
static void cg_fail(cg *c, ts_loc loc, const char *fmt, ...) {
  if (c->err) return;
  va_list ap;
  va_start(ap, fmt);
  c->err = ts_status_makev(TS_ERR_UNSUPPORTED, loc, fmt, ap);
  va_end(ap);
  ts_status_annotate(c->err, "while generating C for function '%s'",
                     c->func->name);
}

static void line(cg *c, const char *fmt, ...) TS_PRINTF(2, 3);
static void line(cg *c, const char *fmt, ...) {
  for (int i = 0; i < c->indent; i++) ts_strbuf_append(&c->out, "  ");
  va_list ap;
  va_start(ap, fmt);
  ts_strbuf_vprintf(&c->out, fmt, ap);
  va_end(ap);
  ts_strbuf_append(&c->out, "\n");
}

static bool is_c_keyword(const char *s) {
  static const char *kw[] = {
      "auto",   "break",    "case",     "char",   "const",    "continue",
      "default", "do",      "double",   "else",   "enum",     "extern",
      "float",  "for",      "goto",     "if",     "inline",   "int",
      "long",   "register", "restrict", "return", "short",    "signed",
      "sizeof", "static",   "struct",   "switch", "typedef",  "union",
      "unsigned", "void",   "volatile", "while",  "args",     "n_args",
      "bool",   "main"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (!strcmp(s, kw[i])) return true;
  return !strncmp(s, "ts_", 3) || !strncmp(s, "tsk_", 4);
}

/* The C name of a variable or buffer: its own name made a valid identifier,
 * suffixed when another object already took it. */
static const char *cname(cg *c, const void *key, const char *name) {
  for (size_t i = 0; i < c->names.len; i++)
    if (c->names.data[i].key == key) return c->names.data[i].name;
  ts_strbuf b = {0};
  if (!name || !*name) name = "v";
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
        name[0] == '_'))
    ts_strbuf_append(&b, "v_");
  for (const char *p = name; *p; p++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_';
    ts_strbuf_appendn(&b, ok ? &ch : "_", 1);
  }
  if (is_c_keyword(b.data)) ts_strbuf_append(&b, "_");
  char *base = b.data;
  char *cand = ts_xstrdup(base);
  for (int k = 1;; k++) {
    bool taken = false;
    for (size_t i = 0; i < c->names.len && !taken; i++)
      taken = !strcmp(c->names.data[i].name, cand);
    if (!taken) break;
    free(cand);
    cand = ts_strdup_printf("%s_%d", base, k);
  }
  free(base);
  ts_vec_push(&c->names, ((name_entry){key, cand}));
  return cand;
}

static const char *ctype(ts_dtype t) {
  if (t.lanes != 1) return NULL;
  switch (t.code) {
  case TS_FLOAT:
    return t.bits == 32 ? "float" : t.bits == 64 ? "double"
                                  : t.bits == 16 ? "_Float16" : NULL;
  case TS_INT:
    return t.bits == 8 ? "int8_t" : t.bits == 16 ? "int16_t"
           : t.bits == 32 ? "int32_t" : t.bits == 64 ? "int64_t" : NULL;
  case TS_UINT:
    return t.bits == 8 ? "uint8_t" : t.bits == 16 ? "uint16_t"
           : t.bits == 32 ? "uint32_t" : t.bits == 64 ? "uint64_t" : NULL;
  case TS_BOOL: return "uint8_t";
  default: return NULL;
  }
}

static const char *ctype_or_fail(cg *c, ts_dtype t, ts_loc loc) {
  const char *s = ctype(t);
  if (!s) {
    char buf[32];
    cg_fail(c, loc, "dtype %s is not supported by the C backend",
            ts_dtype_str(t, buf));
    return "int";
  }
  return s;
}

static void emit_expr(cg *c, const ts_expr *e);
static bool is_const_int(const ts_expr *e, int64_t *v);

/* Type suffix for helper functions: i32, i64, f32, f64, ... */
static const char *tsuffix(ts_dtype t) {
  if (t.code == TS_FLOAT) return t.bits == 64 ? "f64" : "f32";
  if (t.code == TS_UINT) return t.bits == 64 ? "u64" : "u32";
  return t.bits == 64 ? "i64" : "i32";
}

static void emit_flat_index(cg *c, const ts_buffer *b, ts_expr *const *idx_in,
                            int n);

static void emit_float_lit(cg *c, double v, ts_dtype t) {
  bool f32 = t.bits != 64;
  if (isnan(v)) {
    ts_strbuf_append(&c->out, f32 ? "__builtin_nanf(\"\")" : "__builtin_nan(\"\")");
    return;
  }
  if (isinf(v)) {
    ts_strbuf_append(&c->out, v < 0 ? "(-" : "(");
    ts_strbuf_append(&c->out, f32 ? "__builtin_inff())" : "__builtin_inf())");
    return;
  }
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", v);
  if (!strpbrk(buf, ".e")) strcat(buf, ".0");
  if (t.bits == 16) ts_strbuf_printf(&c->out, "((_Float16)%s)", buf);
  else ts_strbuf_printf(&c->out, v < 0 ? "(%s%s)" : "%s%s", buf, f32 ? "f" : "");
}

static void emit_bin(cg *c, const char *op, const ts_expr *e) {
  ts_strbuf_append(&c->out, "(");
  emit_expr(c, e->u.bin.a);
  ts_strbuf_printf(&c->out, " %s ", op);
  emit_expr(c, e->u.bin.b);
  ts_strbuf_append(&c->out, ")");
}

static void emit_helper2(cg *c, const char *fn, const ts_expr *e,
                         ts_dtype t) {
  ts_strbuf_printf(&c->out, "ts_%s_%s(", fn, tsuffix(t));
  emit_expr(c, e->u.bin.a);
  ts_strbuf_append(&c->out, ", ");
  emit_expr(c, e->u.bin.b);
  ts_strbuf_append(&c->out, ")");
}

static void emit_math(cg *c, const char *fn, const ts_expr *e) {
  /* libm call in the precision of the dtype; float16 goes through float;
   * float exp and erf are the prelude's (they vectorize, libm's do not) */
  ts_dtype t = e->dtype;
  bool f64 = t.code == TS_FLOAT && t.bits == 64;
  bool own = !f64 && (!strcmp(fn, "exp") || !strcmp(fn, "erf"));
  if (t.bits == 16) ts_strbuf_append(&c->out, "((_Float16)");
  ts_strbuf_printf(&c->out, own ? "ts_%sf_v(" : "%s%s(", fn, f64 ? "" : "f");
  for (int i = 0; i < e->u.call.n; i++) {
    if (i) ts_strbuf_append(&c->out, ", ");
    if (!f64) ts_strbuf_append(&c->out, "(float)");
    emit_expr(c, e->u.call.args[i]);
  }
  ts_strbuf_append(&c->out, ")");
  if (t.bits == 16) ts_strbuf_append(&c->out, ")");
}

static void emit_call(cg *c, const ts_expr *e) {
  ts_expr *const *a = e->u.call.args;
  ts_dtype t = e->dtype;
  bool f64 = t.bits == 64;
  const char *one = f64 ? "1.0" : "1.0f";
  switch (e->u.call.op) {
  case TS_INTRIN_EXP: emit_math(c, "exp", e); return;
  case TS_INTRIN_EXP2: emit_math(c, "exp2", e); return;
  case TS_INTRIN_LOG: emit_math(c, "log", e); return;
  case TS_INTRIN_LOG2: emit_math(c, "log2", e); return;
  case TS_INTRIN_LOG1P: emit_math(c, "log1p", e); return;
  case TS_INTRIN_SQRT: emit_math(c, "sqrt", e); return;
  case TS_INTRIN_TANH: emit_math(c, "tanh", e); return;
  case TS_INTRIN_ERF: emit_math(c, "erf", e); return;
  case TS_INTRIN_POW: emit_math(c, "pow", e); return;
  case TS_INTRIN_FLOOR: emit_math(c, "floor", e); return;
  case TS_INTRIN_CEIL: emit_math(c, "ceil", e); return;
  case TS_INTRIN_ROUND: emit_math(c, "round", e); return;
  case TS_INTRIN_TRUNC: emit_math(c, "trunc", e); return;
  case TS_INTRIN_NEARBYINT: emit_math(c, "nearbyint", e); return;
  case TS_INTRIN_SIN: emit_math(c, "sin", e); return;
  case TS_INTRIN_COS: emit_math(c, "cos", e); return;
  case TS_INTRIN_TAN: emit_math(c, "tan", e); return;
  case TS_INTRIN_ASIN: emit_math(c, "asin", e); return;
  case TS_INTRIN_ACOS: emit_math(c, "acos", e); return;
  case TS_INTRIN_ATAN: emit_math(c, "atan", e); return;
  case TS_INTRIN_SINH: emit_math(c, "sinh", e); return;
  case TS_INTRIN_COSH: emit_math(c, "cosh", e); return;
  case TS_INTRIN_ASINH: emit_math(c, "asinh", e); return;
  case TS_INTRIN_ACOSH: emit_math(c, "acosh", e); return;
  case TS_INTRIN_ATANH: emit_math(c, "atanh", e); return;
  case TS_INTRIN_ATAN2: emit_math(c, "atan2", e); return;
  case TS_INTRIN_FMOD: emit_math(c, "fmod", e); return;
  case TS_INTRIN_FABS: emit_math(c, "fabs", e); return;
  case TS_INTRIN_ABS:
    if (ts_dtype_is_float(t)) {
      emit_math(c, "fabs", e);
    } else {
      ts_strbuf_append(&c->out, "({ __typeof__(");
      emit_expr(c, a[0]);
      ts_strbuf_append(&c->out, ") ts_t_ = ");
      emit_expr(c, a[0]);
      ts_strbuf_append(&c->out, "; ts_t_ < 0 ? -ts_t_ : ts_t_; })");
    }
    return;
  case TS_INTRIN_RSQRT:
    ts_strbuf_printf(&c->out, "(%s / ", one);
    emit_math(c, "sqrt", e);
    ts_strbuf_append(&c->out, ")");
    return;
  case TS_INTRIN_SIGMOID:
    ts_strbuf_printf(&c->out, "(%s / (%s + %s(-(", one, one, f64 ? "exp" : "ts_expf_v");
    emit_expr(c, a[0]);
    ts_strbuf_append(&c->out, "))))");
    return;
  case TS_INTRIN_ISNAN:
  case TS_INTRIN_ISINF:
  case TS_INTRIN_ISFINITE: {
    const char *fn = e->u.call.op == TS_INTRIN_ISNAN   ? "isnan"
                     : e->u.call.op == TS_INTRIN_ISINF ? "isinf"
                                                       : "isfinite";
    ts_strbuf_printf(&c->out, "(%s(", fn);
    emit_expr(c, a[0]);
    ts_strbuf_append(&c->out, ") != 0)");
    return;
  }
  case TS_INTRIN_IF_THEN_ELSE:
  case TS_INTRIN_LIKELY:
    if (e->u.call.op == TS_INTRIN_LIKELY) {
      emit_expr(c, a[0]);
      return;
    }
    ts_strbuf_append(&c->out, "(");
    emit_expr(c, a[0]);
    ts_strbuf_append(&c->out, " ? ");
    emit_expr(c, a[1]);
    ts_strbuf_append(&c->out, " : ");
    emit_expr(c, a[2]);
    ts_strbuf_append(&c->out, ")");
    return;
  case TS_INTRIN_BITWISE_AND:
  case TS_INTRIN_BITWISE_OR:
  case TS_INTRIN_BITWISE_XOR:
  case TS_INTRIN_SHIFT_LEFT:
  case TS_INTRIN_SHIFT_RIGHT: {
    static const char *ops[] = {"&", "|", "^", "<<", ">>"};
    int k = e->u.call.op == TS_INTRIN_BITWISE_AND   ? 0
            : e->u.call.op == TS_INTRIN_BITWISE_OR  ? 1
            : e->u.call.op == TS_INTRIN_BITWISE_XOR ? 2
            : e->u.call.op == TS_INTRIN_SHIFT_LEFT  ? 3
                                                    : 4;
    ts_strbuf_append(&c->out, "(");
    emit_expr(c, a[0]);
    ts_strbuf_printf(&c->out, " %s ", ops[k]);
    emit_expr(c, a[1]);
    ts_strbuf_append(&c->out, ")");
    return;
  }
  case TS_INTRIN_BITWISE_NOT:
    ts_strbuf_append(&c->out, "(~");
    emit_expr(c, a[0]);
    ts_strbuf_append(&c->out, ")");
    return;
  case TS_INTRIN_CALL_EXTERN:
  default:
    cg_fail(c, e->loc, "intrinsic '%s' is not supported by the C backend",
            ts_intrin_name(e->u.call.op));
    return;
  }
}

static void emit_expr(cg *c, const ts_expr *e) {
  if (c->err) return;
  ts_dtype t = e->dtype;
  switch (e->kind) {
  case TS_E_INT:
    if (t.code == TS_BOOL) ts_strbuf_append(&c->out, e->u.int_value ? "1" : "0");
    else if (t.bits == 64 && t.code == TS_UINT)
      ts_strbuf_printf(&c->out, "UINT64_C(%llu)", (unsigned long long)e->u.int_value);
    else if (t.bits == 64)
      ts_strbuf_printf(&c->out, e->u.int_value < 0 ? "(INT64_C(%lld))" : "INT64_C(%lld)",
                       (long long)e->u.int_value);
    else
      ts_strbuf_printf(&c->out, e->u.int_value < 0 ? "(%lld)" : "%lld",
                       (long long)e->u.int_value);
    return;
  case TS_E_FLOAT: emit_float_lit(c, e->u.float_value, t); return;
  case TS_E_STR: cg_fail(c, e->loc, "string immediates are not supported here"); return;
  case TS_E_VAR: ts_strbuf_append(&c->out, cname(c, e->u.var, e->u.var->name)); return;
  case TS_E_ADD: emit_bin(c, "+", e); return;
  case TS_E_SUB: emit_bin(c, "-", e); return;
  case TS_E_MUL: emit_bin(c, "*", e); return;
  case TS_E_DIV: emit_bin(c, "/", e); return;
  case TS_E_MOD:
    if (ts_dtype_is_float(t)) {
      ts_strbuf_printf(&c->out, "%s(", t.bits == 64 ? "fmod" : "fmodf");
      emit_expr(c, e->u.bin.a);
      ts_strbuf_append(&c->out, ", ");
      emit_expr(c, e->u.bin.b);
      ts_strbuf_append(&c->out, ")");
    } else {
      emit_bin(c, "%", e);
    }
    return;
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD: {
    /* a non-negative dividend and a positive constant divisor: C's / and %
     * agree with floor division, and stay visible to the vectorizer */
    int64_t k, lo, hi;
    if (!ts_dtype_is_float(t) && is_const_int(e->u.bin.b, &k) && k > 0 &&
        ts_expr_range(e->u.bin.a, &c->ranges, &lo, &hi) && lo >= 0) {
      emit_bin(c, e->kind == TS_E_FLOORDIV ? "/" : "%", e);
      return;
    }
    emit_helper2(c, e->kind == TS_E_FLOORDIV ? "floordiv" : "floormod", e, t);
    return;
  }
  case TS_E_MIN: emit_helper2(c, "min", e, t); return;
  case TS_E_MAX: emit_helper2(c, "max", e, t); return;
  case TS_E_EQ: emit_bin(c, "==", e); return;
  case TS_E_NE: emit_bin(c, "!=", e); return;
  case TS_E_LT: emit_bin(c, "<", e); return;
  case TS_E_LE: emit_bin(c, "<=", e); return;
  case TS_E_GT: emit_bin(c, ">", e); return;
  case TS_E_GE: emit_bin(c, ">=", e); return;
  case TS_E_AND: emit_bin(c, "&&", e); return;
  case TS_E_OR: emit_bin(c, "||", e); return;
  case TS_E_NOT:
    ts_strbuf_append(&c->out, "(!");
    emit_expr(c, e->u.unary.a);
    ts_strbuf_append(&c->out, ")");
    return;
  case TS_E_SELECT: {
    /* TIR's Select evaluates both operands; evaluating them before the
     * choice also keeps GCC 12 from if-converting the load into a masked
     * vector load, which it miscompiles for `c ? A[i] : k` in collapsed
     * 2-D nests at -O3 -mavx2 (a 5-line reproducer gives 0 for A[i]). */
    const char *ty = ctype_or_fail(c, t, e->loc);
    ts_strbuf_printf(&c->out, "({ const %s ts_st_ = ", ty);
    emit_expr(c, e->u.select.t);
    ts_strbuf_printf(&c->out, "; const %s ts_sf_ = ", ty);
    emit_expr(c, e->u.select.f);
    ts_strbuf_append(&c->out, "; (");
    emit_expr(c, e->u.select.cond);
    ts_strbuf_append(&c->out, ") ? ts_st_ : ts_sf_; })");
    return;
  }
  case TS_E_CAST:
    if (t.code == TS_BOOL) {
      ts_strbuf_append(&c->out, "((");
      emit_expr(c, e->u.unary.a);
      ts_strbuf_append(&c->out, ") != 0)");
    } else {
      ts_strbuf_printf(&c->out, "((%s)(", ctype_or_fail(c, t, e->loc));
      emit_expr(c, e->u.unary.a);
      ts_strbuf_append(&c->out, "))");
    }
    return;
  case TS_E_LOAD:
    if (e == c->tr_load) {
      ts_strbuf_append(&c->out, c->tr_text);
      return;
    }
    ts_strbuf_printf(&c->out, "%s[",
                     cname(c, e->u.load.buffer, e->u.load.buffer->name));
    emit_flat_index(c, e->u.load.buffer, e->u.load.indices, e->u.load.n);
    ts_strbuf_append(&c->out, "]");
    return;
  case TS_E_CALL: emit_call(c, e); return;
  case TS_E_LET:
    ts_strbuf_printf(&c->out, "({ const %s %s = ",
                     ctype_or_fail(c, e->u.let.var->dtype, e->loc),
                     cname(c, e->u.let.var, e->u.let.var->name));
    emit_expr(c, e->u.let.value);
    ts_strbuf_append(&c->out, "; ");
    emit_expr(c, e->u.let.body);
    ts_strbuf_append(&c->out, "; })");
    return;
  case TS_E_RAMP:
  case TS_E_BROADCAST:
    cg_fail(c, e->loc, "vector expressions are not supported by the C backend yet");
    return;
  }
}

static const alias *find_alias(cg *c, const ts_buffer *b) {
  for (size_t i = c->aliases.len; i-- > 0;)
    if (c->aliases.data[i].buf == b) return &c->aliases.data[i];
  return NULL;
}

/* Emits the stride (in elements) of dimension d of buffer b: declared
 * strides, the source's for a matched buffer, else row-major from the
 * shape. */
static void emit_stride(cg *c, const ts_buffer *b, int d) {
  const alias *al = find_alias(c, b);
  if (al) {
    emit_stride(c, al->src, al->first_dim + d);
    return;
  }
  if (b->strides) {
    ts_strbuf_append(&c->out, "(int64_t)(");
    emit_expr(c, b->strides[d]);
    ts_strbuf_append(&c->out, ")");
    return;
  }
  if (d == b->ndim - 1) {
    ts_strbuf_append(&c->out, "1");
    return;
  }
  for (int k = d + 1; k < b->ndim; k++) {
    if (k > d + 1) ts_strbuf_append(&c->out, " * ");
    ts_strbuf_append(&c->out, "(int64_t)");
    emit_expr(c, b->shape[k]);
  }
}

/* The flat element index of b[idx]: row-major (Horner form) for a compact
 * buffer, strides otherwise. */
/* An index with the block bindings substituted and floordiv/floormod
 * simplified under the loop bounds, when that removes a division;
 * otherwise the index as written. */
static int count_divisions(const ts_expr *e) {
  if (!e) return 0;
  switch (e->kind) {
  case TS_E_FLOORDIV:
  case TS_E_FLOORMOD:
  case TS_E_DIV:
  case TS_E_MOD:
    return 1 + count_divisions(e->u.bin.a) + count_divisions(e->u.bin.b);
  case TS_E_ADD:
  case TS_E_SUB:
  case TS_E_MUL:
  case TS_E_MIN:
  case TS_E_MAX:
    return count_divisions(e->u.bin.a) + count_divisions(e->u.bin.b);
  default:
    return 0;
  }
}

static const ts_expr *simplified_index(cg *c, ts_expr *e) {
  if (!c->scratch || !c->bindings.len) return e;
  ts_expr *sub = ts_expr_substitute(c->scratch, e, &c->bindings);
  ts_expr *s = ts_expr_simplify_index(c->scratch, sub, &c->ranges);
  /* the substitution itself may fold a division (constant bindings) */
  return s == sub && count_divisions(sub) >= count_divisions(e) ? e : s;
}

static void emit_flat_index(cg *c, const ts_buffer *b, ts_expr *const *idx_in,
                            int n) {
  if (n == 0) {
    ts_strbuf_append(&c->out, "0");
    return;
  }
  enum { MAX_IDX = 16 };
  const ts_expr *idx_buf[MAX_IDX];
  const ts_expr *const *idx = (const ts_expr *const *)idx_in;
  if (n <= MAX_IDX) {
    for (int d = 0; d < n; d++) idx_buf[d] = simplified_index(c, idx_in[d]);
    idx = idx_buf;
  }
  bool has_offset = b->elem_offset && !(b->elem_offset->kind == TS_E_INT &&
                                        b->elem_offset->u.int_value == 0);
  if (has_offset && !find_alias(c, b)) {
    emit_expr(c, b->elem_offset);
    ts_strbuf_append(&c->out, " + ");
  }
  if (b->strides || find_alias(c, b)) {
    for (int d = 0; d < n; d++) {
      if (d) ts_strbuf_append(&c->out, " + ");
      ts_strbuf_append(&c->out, "(int64_t)(");
      emit_expr(c, idx[d]);
      ts_strbuf_append(&c->out, ") * ");
      emit_stride(c, b, d);
    }
    return;
  }
  /* Horner over the kept dimensions: ((i0 * s1 + i1) * s2 + i2); a
   * per-iteration slice (compact.h) keeps only some */
  const ts_compact *k = NULL;
  for (size_t i = 0; i < c->compacted.len; i++)
    if (c->compacted.data[i].buf == b) k = &c->compacted.data[i].k;
  if (k && n != b->ndim) k = NULL;
  int nk = 0;
  for (int d = 0; d < n; d++) nk += !k || k->keep[d];
  if (nk == 0) {
    ts_strbuf_append(&c->out, "0");
    return;
  }
  for (int d = 1; d < nk; d++) ts_strbuf_append(&c->out, "(");
  int seen = 0;
  for (int d = 0; d < n; d++) {
    if (k && !k->keep[d]) continue;
    if (seen) {
      ts_strbuf_append(&c->out, " * ");
      emit_expr(c, b->shape[d]);
      ts_strbuf_append(&c->out, " + ");
    }
    if (!seen && nk > 1) ts_strbuf_append(&c->out, "(int64_t)");
    emit_expr(c, idx[d]);
    if (seen) ts_strbuf_append(&c->out, ")");
    seen++;
  }
}

static void emit_stmt(cg *c, const ts_stmt *s);

static bool is_const_int(const ts_expr *e, int64_t *v) {
  if (e && e->kind == TS_E_INT) {
    *v = e->u.int_value;
    return true;
  }
  return false;
}

/* Allocates a buffer at the current scope; returns true when it must be
 * freed at scope end. */
static bool emit_alloc(cg *c, const ts_buffer *b) {
  const char *ty = ctype_or_fail(c, b->dtype, b->loc);
  const char *nm = cname(c, b, b->name);
  int64_t total = 1;
  bool constant = true;
  for (int d = 0; d < b->ndim; d++) {
    int64_t v;
    if (is_const_int(b->shape[d], &v)) total *= v;
    else constant = false;
  }
  size_t esz = ts_dtype_bytes(b->dtype);
  if (constant && total * (int64_t)esz <= 32 * 1024) {
    line(c, "_Alignas(64) %s %s[%lld];", ty, nm, (long long)(total > 0 ? total : 1));
    return false;
  }
  for (int i = 0; i < c->indent; i++) ts_strbuf_append(&c->out, "  ");
  ts_strbuf_printf(&c->out, "%s *restrict %s = (%s *)ts_alloc((size_t)%zu", ty, nm, ty, esz);
  for (int d = 0; d < b->ndim; d++) {
    ts_strbuf_append(&c->out, " * (size_t)(");
    emit_expr(c, b->shape[d]);
    ts_strbuf_append(&c->out, ")");
  }
  ts_strbuf_append(&c->out, ");\n");
  line(c, "if (!%s) return 2;", nm);
  return true;
}

static void emit_block(cg *c, const ts_stmt *s) {
  const ts_block *b = s->u.realize.block;
  line(c, "{ /* block %s */", b->name);
  c->indent++;
  for (int i = 0; i < b->n_iter_vars; i++) {
    const ts_var *v = b->iter_vars[i].var;
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "const %s %s = ", ctype_or_fail(c, v->dtype, v->loc),
                     cname(c, v, v->name));
    emit_expr(c, s->u.realize.iter_values[i]);
    ts_strbuf_append(&c->out, ";\n");
    line(c, "(void)%s;", cname(c, v, v->name));
    if (c->scratch) {
      ts_ptrmap_put(&c->bindings, v,
                    ts_expr_substitute(c->scratch, s->u.realize.iter_values[i], &c->bindings));
      int64_t dlo, dn;
      if (is_const_int(b->iter_vars[i].dom.min, &dlo) &&
          is_const_int(b->iter_vars[i].dom.extent, &dn) && dn > 0) {
        int64_t *r = ts_arena_alloc(c->scratch, 2 * sizeof(int64_t));
        r[0] = dlo;
        r[1] = dlo + dn - 1;
        ts_ptrmap_put(&c->ranges, v, r);
      }
    }
  }
  int close = 0;
  if (s->u.realize.predicate) {
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_append(&c->out, "if (");
    emit_expr(c, s->u.realize.predicate);
    ts_strbuf_append(&c->out, ") {\n");
    c->indent++;
    close++;
  }
  size_t n_aliases = c->aliases.len;
  for (int i = 0; i < b->n_match_buffers; i++) {
    const ts_match_buffer *mb = &b->match_buffers[i];
    const ts_buffer *src = mb->source.buffer;
    const char *ty = ctype_or_fail(c, mb->buffer->dtype, mb->buffer->loc);
    if (mb->buffer->ndim > src->ndim) {
      cg_fail(c, b->loc, "match_buffer '%s' has more dimensions than its "
                         "source '%s'", mb->buffer->name, src->name);
      break;
    }
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "%s *restrict %s = %s + (", ty,
                     cname(c, mb->buffer, mb->buffer->name),
                     cname(c, src, src->name));
    ts_expr **mins = ts_xcalloc((size_t)src->ndim + 1, sizeof(ts_expr *));
    for (int d = 0; d < src->ndim; d++) mins[d] = mb->source.ranges[d].min;
    emit_flat_index(c, src, mins, src->ndim);
    free(mins);
    ts_strbuf_append(&c->out, ");\n");
    ts_vec_push(&c->aliases,
                ((alias){mb->buffer, src, src->ndim - mb->buffer->ndim}));
  }
  bool *heap = ts_xcalloc((size_t)b->n_alloc_buffers + 1, sizeof(bool));
  size_t n_compacted = c->compacted.len;
  for (int i = 0; i < b->n_alloc_buffers; i++) {
    struct compacted e = {b->alloc_buffers[i], {0}, false};
    /* a slice of at most 64 KiB on the stack; else one of at most 1 MiB
     * from ts_alloc's pool per iteration (a depthwise conv's input padded
     * per channel block: written and read back from L2 instead of
     * through a whole padded tensor, 5 MB for MobileNetV2's 96x112x112
     * stride-2 layer, whose writes went out to memory) */
    if (ts_compact_buffer(c->scratch, b, e.buf, 64 * 1024, &e.k)) {
      ts_vec_push(&c->compacted, e); /* declared by its loop (emit_for) */
    } else if (ts_compact_buffer(c->scratch, b, e.buf, 1024 * 1024, &e.k) &&
               e.k.bytes > 64 * 1024) {
      e.heap = true;
      c->uses_oom = true;
      ts_vec_push(&c->compacted, e);
    } else {
      heap[i] = emit_alloc(c, b->alloc_buffers[i]);
    }
  }
  if (b->init) {
    int n_red = 0;
    for (int i = 0; i < b->n_iter_vars; i++)
      if (b->iter_vars[i].type == TS_ITER_REDUCE) n_red++;
    if (n_red == 0) {
      emit_stmt(c, b->init);
    } else {
      for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
      ts_strbuf_append(&c->out, "if (");
      int first = 1;
      for (int i = 0; i < b->n_iter_vars; i++) {
        if (b->iter_vars[i].type != TS_ITER_REDUCE) continue;
        if (!first) ts_strbuf_append(&c->out, " && ");
        first = 0;
        ts_strbuf_printf(&c->out, "%s == ",
                         cname(c, b->iter_vars[i].var, b->iter_vars[i].var->name));
        emit_expr(c, b->iter_vars[i].dom.min);
      }
      ts_strbuf_append(&c->out, ") {\n");
      c->indent++;
      emit_stmt(c, b->init);
      c->indent--;
      line(c, "}");
    }
  }
  emit_stmt(c, b->body);
  for (int i = 0; i < b->n_alloc_buffers; i++)
    if (heap[i]) line(c, "ts_free(%s);", cname(c, b->alloc_buffers[i], b->alloc_buffers[i]->name));
  free(heap);
  c->compacted.len = n_compacted;
  c->aliases.len = n_aliases;
  while (close--) {
    c->indent--;
    line(c, "}");
  }
  c->indent--;
  line(c, "}");
  for (int i = 0; i < b->n_iter_vars; i++) {
    ts_ptrmap_remove(&c->bindings, b->iter_vars[i].var);
    ts_ptrmap_remove(&c->ranges, b->iter_vars[i].var);
  }
}

static bool emit_micro_kernel(cg *c, const ts_stmt *s);
static bool emit_transposed(cg *c, const ts_stmt *s);

static void emit_for(cg *c, const ts_stmt *s) {
  if (emit_micro_kernel(c, s) || emit_transposed(c, s)) return;
  const ts_var *v = s->u.for_.var;
  const char *ty = ctype_or_fail(c, v->dtype, v->loc);
  const char *nm = cname(c, v, v->name);
  int64_t ext;
  bool parallel = false;
  switch (s->u.for_.kind) {
  case TS_FOR_PARALLEL:
    if (c->parallel_depth == 0) {
      line(c, "#pragma omp parallel for schedule(static)");
      parallel = true;
    }
    break;
  case TS_FOR_VECTORIZED: line(c, "#pragma omp simd"); break;
  case TS_FOR_UNROLLED:
    if (is_const_int(s->u.for_.extent, &ext) && ext <= 64)
      line(c, "#pragma GCC unroll %lld", (long long)ext);
    else
      line(c, "#pragma GCC unroll 8");
    break;
  default: break;
  }
  for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
  ts_strbuf_printf(&c->out, "for (%s %s = ", ty, nm);
  emit_expr(c, s->u.for_.min);
  ts_strbuf_printf(&c->out, "; %s < ", nm);
  int64_t mn;
  if (is_const_int(s->u.for_.min, &mn) && mn == 0) {
    emit_expr(c, s->u.for_.extent);
  } else {
    ts_strbuf_append(&c->out, "(");
    emit_expr(c, s->u.for_.min);
    ts_strbuf_append(&c->out, ") + (");
    emit_expr(c, s->u.for_.extent);
    ts_strbuf_append(&c->out, ")");
  }
  ts_strbuf_printf(&c->out, "; ++%s) {\n", nm);
  c->indent++;
  for (size_t i = 0; i < c->compacted.len; i++) {
    const struct compacted *e = &c->compacted.data[i];
    if (e->k.loop != s) continue;
    const char *ty = ctype_or_fail(c, e->buf->dtype, e->buf->loc);
    const char *bn = cname(c, e->buf, e->buf->name);
    if (e->heap) {
      /* (no return inside an OpenMP loop: the kernel returns 2 at its end) */
      line(c, "%s *restrict %s = (%s *)ts_alloc(%lld); /* one slice of %s per iteration */",
           ty, bn, ty, (long long)e->k.bytes, e->buf->name);
      line(c, "if (!%s) { __atomic_store_n(&ts_oom, 1, __ATOMIC_RELAXED); continue; }", bn);
    } else {
      line(c, "_Alignas(64) %s %s[%lld]; /* one slice of %s per iteration */", ty, bn,
           (long long)(e->k.bytes / (int64_t)ts_dtype_bytes(e->buf->dtype)), e->buf->name);
    }
  }
  if (parallel) c->parallel_depth++;
  int64_t lo, n_it;
  bool ranged = c->scratch && is_const_int(s->u.for_.min, &lo) &&
                is_const_int(s->u.for_.extent, &n_it) && n_it > 0;
  if (ranged) {
    int64_t *r = ts_arena_alloc(c->scratch, 2 * sizeof(int64_t));
    r[0] = lo;
    r[1] = lo + n_it - 1;
    ts_ptrmap_put(&c->ranges, v, r);
  }
  emit_stmt(c, s->u.for_.body);
  for (size_t i = 0; i < c->compacted.len; i++) {
    const struct compacted *e = &c->compacted.data[i];
    if (e->k.loop == s && e->heap) line(c, "ts_free(%s);", cname(c, e->buf, e->buf->name));
  }
  if (ranged) ts_ptrmap_remove(&c->ranges, v);
  if (parallel) c->parallel_depth--;
  c->indent--;
  line(c, "}");
}


/* ---- micro-kernels ----------------------------------------------------------
 * The sgemm kernel keeps an MR x NR tile of C in vector registers (GCC vector
 * extensions) and runs the whole k loop: per k, NR/VW vector loads of B, MR
 * broadcasts of A, MR*NR/VW FMAs.  The vector width VW is the widest the
 * compiler's target has (TS_VN: 16 floats with AVX-512, 8 with AVX/AVX2, 4
 * otherwise) where it divides NR, else 8 (NR is a multiple of 8: 24 on
 * AVX2, 8), decided when the C is compiled, so
 * that a kernel never works on vectors wider than the machine's registers
 * (GCC splits those into halves through the stack: 6 GFLOP/s on an AVX2
 * Zen 3 for a 4x16 tile in 16-float vectors).  A and B are walked by
 * pointers; when the MR values of A per k are consecutive (sai == 1: A
 * packed into [M/MR, K, MR] panels) the broadcasts use constant offsets
 * from one pointer. */
static const char micro_kernels[] =
    "#if defined(__AVX512F__)\n"
    "#define TS_VN 16\n"
    "#elif defined(__AVX__)\n"
    "#define TS_VN 8\n"
    "#else\n"
    "#define TS_VN 4\n"
    "#endif\n"
    "/* the vector width and count of an NR-float row of a tile */\n"
    "#define TS_UK_VW(NR) ((NR) % TS_VN == 0 ? TS_VN : (NR) % 8 == 0 ? 8 : 4)\n"
    "#define TS_UK_TYPES(MR, NR)                                              \\\n"
    "  enum { VW = TS_UK_VW(NR), NV = (NR) / TS_UK_VW(NR), UK_MR = (MR) };     \\\n"
    "  typedef float VT __attribute__((vector_size(4 * TS_UK_VW(NR)), aligned(4)));\n"
    "/* a vector of B kept in a register for the k step: GCC otherwise folds\n"
    " * its load into each FMA that uses it (MR loads of it per k, which\n"
    " * saturate the load ports; -DTS_UK_NOPIN in TESSERA_CFLAGS to compare),\n"
    " * as many of B's vectors as the registers hold beside the tile and a\n"
    " * broadcast (7x16 on AVX2's 16 registers: 14 accumulators, one of\n"
    " * B's two vectors in a register, the other an FMA memory operand: 15\n"
    " * loads per 14 FMAs instead of 21, which Zen 3's two vector loads per\n"
    " * cycle could not feed); -DTS_UK_PIN_SPARE=N leaves N registers spare\n"
    " * (default 1, the broadcast; 2 and 3 measured no better on a Zen 3) */\n"
    "#if defined(__AVX512F__) && !defined(TS_UK_NOPIN)\n"
    "#define TS_UK_PIN1(x) __asm__(\"\" : \"+v\"(x))\n"
    "#define TS_NREG 32\n"
    "#elif defined(__AVX__) && !defined(TS_UK_NOPIN)\n"
    "#define TS_UK_PIN1(x) __asm__(\"\" : \"+x\"(x))\n"
    "#define TS_NREG 16\n"
    "#else\n"
    "#define TS_UK_PIN1(x) ((void)0)\n"
    "#define TS_NREG 16\n"
    "#endif\n"
    "#ifndef TS_UK_PIN_SPARE\n"
    "#define TS_UK_PIN_SPARE 1\n"
    "#endif\n"
    "#define TS_UK_PIN(x, v) do { if ((v) < TS_NREG - TS_UK_PIN_SPARE - UK_MR * NV) TS_UK_PIN1(x); } while (0)\n"
    "/* the accumulators kept in registers across the k loop: GCC otherwise\n"
    " * may keep a value hoisted out of the outer loops (a constant of the\n"
    " * epilogue) in a register and spill an accumulator instead, its FMA\n"
    " * then chained through a store and a load per k (measured on a Zen 3:\n"
    " * 256x14x14 in 6x16 tiles 5.1 -> 2.9 ms); the nested form only: in the\n"
    " * single-k form it cost 64x784x128 a fifth (0.70-0.72 of oneDNN against\n"
    " * 0.89-0.99 without) */\n"
    "#define TS_UK_PIN_ACC(MR)                                                \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < (MR); i++)                \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++) TS_UK_PIN1(acc[s][i][v])\n"
    "#define TS_UK_SGEMM_DEF(MR, NR)                                          \\\n"
    "static inline __attribute__((always_inline)) void ts_uk_sgemm_##MR##x##NR( \\\n"
    "    int64_t K, float *restrict C, int64_t sci, const float *restrict A,  \\\n"
    "    int64_t sai, int64_t sak, const float *restrict B, int64_t sbk) {    \\\n"
    "  TS_UK_TYPES(MR, NR)                                                    \\\n"
    "  VT acc[MR][NV];                                                        \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++)                \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)                \\\n"
    "    acc[i][v] = *(const VT *)(C + i * sci + VW * v);                     \\\n"
    "  if (sai == 1) {                                                        \\\n"
    "    for (int64_t k = 0; k < K; k++, A += sak, B += sbk) {                \\\n"
    "      VT b[NV];                                                          \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)            \\\n"
    "        { b[v] = *(const VT *)(B + VW * v); TS_UK_PIN(b[v], v); }           \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++) {          \\\n"
    "        const float a = A[i];                                            \\\n"
    "        _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)          \\\n"
    "          acc[i][v] += a * b[v];                                         \\\n"
    "      }                                                                  \\\n"
    "    }                                                                    \\\n"
    "  } else {                                                               \\\n"
    "    for (int64_t k = 0; k < K; k++, A += sak, B += sbk) {                \\\n"
    "      VT b[NV];                                                          \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)            \\\n"
    "        { b[v] = *(const VT *)(B + VW * v); TS_UK_PIN(b[v], v); }           \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++) {          \\\n"
    "        const float a = A[i * sai];                                      \\\n"
    "        _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)          \\\n"
    "          acc[i][v] += a * b[v];                                         \\\n"
    "      }                                                                  \\\n"
    "    }                                                                    \\\n"
    "  }                                                                      \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++)                \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)                \\\n"
    "    *(VT *)(C + i * sci + VW * v) = acc[i][v];                           \\\n"
    "}\n"
    "/* how far ahead (floats) the nested kernel prefetches B: a conv's\n"
    " * weight streams through it, faster than the hardware prefetcher\n"
    " * follows on its first pass (16 KiB; -DTS_UK_PF= in TESSERA_CFLAGS) */\n"
    "#ifndef TS_UK_PF\n"
    "#define TS_UK_PF 4096\n"
    "#endif\n"
    "/* a tile of fewer than 8 accumulators (a row's last one or two pixels)\n"
    " * would wait on the FMA latency (4 cycles, 2 FMAs per cycle): KS sets of\n"
    " * accumulators take alternate k steps, summed at the end */\n"
    "#define TS_UK_KS(MR, NR) ((MR) * ((NR) / TS_UK_VW(NR)) >= 8 ? 1 : (MR) * ((NR) / TS_UK_VW(NR)) >= 4 ? 2 : 4)\n"
    "/* the nested-k kernels' loops: KS sets of accumulators, set s taking the k\n"
    " * steps k = s mod KS of the innermost loop (K[3] a multiple of KS); the\n"
    " * body between BEGIN and END runs per k step with k, s, a_, b_ and the\n"
    " * vectors b[] of B (pinned with one set) */\n"
    "#define TS_UK4_BEGIN(MR, NR, KS_)                                        \\\n"
    "  TS_UK_TYPES(MR, NR)                                                    \\\n"
    "  enum { KS = (KS_) };                                                   \\\n"
    "  VT acc[KS][MR][NV];                                                    \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++)                  \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++) {                \\\n"
    "    acc[0][i][v] = *(const VT *)(C + i * sci + VW * v);                  \\\n"
    "    _Pragma(\"GCC unroll 4\") for (int s = 1; s < KS; s++) acc[s][i][v] = (VT){0}; \\\n"
    "  }                                                                      \\\n"
    "  for (int64_t k0 = 0; k0 < K[0]; k0++)                                  \\\n"
    "  for (int64_t k1 = 0; k1 < K[1]; k1++)                                  \\\n"
    "  for (int64_t k2 = 0; k2 < K[2]; k2++) {                                \\\n"
    "    const float *restrict a_ = A + k0 * sak[0] + k1 * sak[1] + k2 * sak[2]; \\\n"
    "    const float *restrict b_ = B + k0 * sbk[0] + k1 * sbk[1] + k2 * sbk[2]; \\\n"
    "    for (int64_t kk = 0; kk < K[3]; kk += KS)                            \\\n"
    "    _Pragma(\"GCC unroll 4\") for (int s = 0; s < KS; s++) {               \\\n"
    "      const int64_t k = kk + s;                                          \\\n"
    "      VT b[NV];                                                          \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++) {            \\\n"
    "        b[v] = *(const VT *)(b_ + k * sbk[3] + VW * v);                  \\\n"
    "        if (KS == 1) TS_UK_PIN(b[v], v);                                 \\\n"
    "      }\n"
    "#define TS_UK4_END(MR)                                                   \\\n"
    "    }                                                                    \\\n"
    "  }                                                                      \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++)                  \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++) {                \\\n"
    "    _Pragma(\"GCC unroll 4\") for (int s = 1; s < KS; s++) acc[0][i][v] += acc[s][i][v]; \\\n"
    "    *(VT *)(C + i * sci + VW * v) = acc[0][i][v];                        \\\n"
    "  }\n"
    "#define TS_UK_SGEMM4_BODY(MR, NR, KS_)                                   \\\n"
    "  TS_UK4_BEGIN(MR, NR, KS_)                                              \\\n"
    "      if (NR >= 32 && KS == 1)                                           \\\n"
    "        _Pragma(\"GCC unroll 16\") for (int v = 0; v < NR / 16; v++)       \\\n"
    "          __builtin_prefetch(b_ + k * sbk[3] + 16 * v + TS_UK_PF, 0, 3); \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++) {            \\\n"
    "        const float a = a_[i * sai + k * sak[3]];                        \\\n"
    "        _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)            \\\n"
    "          acc[s][i][v] += a * b[v];                                      \\\n"
    "      }                                                                  \\\n"
    "      if (KS == 1) TS_UK_PIN_ACC(MR);                                    \\\n"
    "  TS_UK4_END(MR)\n"
    "#define TS_UK_SGEMM4_DEF(MR, NR)                                         \\\n"
    "static inline __attribute__((always_inline)) void ts_uk_sgemm4_##MR##x##NR( \\\n"
    "    const int64_t *K, float *restrict C, int64_t sci,                    \\\n"
    "    const float *restrict A, int64_t sai, const int64_t *sak,            \\\n"
    "    const float *restrict B, const int64_t *sbk) {                       \\\n"
    "  if (TS_UK_KS(MR, NR) > 1 && K[3] % TS_UK_KS(MR, NR) == 0) {            \\\n"
    "    TS_UK_SGEMM4_BODY(MR, NR, TS_UK_KS(MR, NR))                          \\\n"
    "  } else {                                                               \\\n"
    "    TS_UK_SGEMM4_BODY(MR, NR, 1)                                         \\\n"
    "  }                                                                      \\\n"
    "}\n"
    "#define TS_UK_DW4_DEF(MR, NR)                                            \\\n"
    "static inline __attribute__((always_inline)) void ts_uk_dw4_##MR##x##NR( \\\n"
    "    const int64_t *K, float *restrict C, int64_t sci,                    \\\n"
    "    const float *restrict A, int64_t sai, const int64_t *sak,            \\\n"
    "    const float *restrict B, const int64_t *sbk) {                       \\\n"
    "  TS_UK4_BEGIN(MR, NR, 1)                                                \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int i = 0; i < MR; i++)              \\\n"
    "      _Pragma(\"GCC unroll 16\") for (int v = 0; v < NV; v++)              \\\n"
    "        acc[s][i][v] += *(const VT *)(a_ + i * sai + k * sak[3] + VW * v) * b[v];\\\n"
    "  TS_UK4_END(MR)                                                         \\\n"
    "}\n";

/* Structural equality of index expressions (variables by identity). */
static bool idx_equal(const ts_expr *a, const ts_expr *b) {
  if (a == b) return true;
  if (!a || !b || a->kind != b->kind || a->dtype.code != b->dtype.code ||
      a->dtype.bits != b->dtype.bits)
    return false;
  switch (a->kind) {
  case TS_E_INT: return a->u.int_value == b->u.int_value;
  case TS_E_VAR: return a->u.var == b->u.var;
  case TS_E_CAST:
  case TS_E_NOT: return idx_equal(a->u.unary.a, b->u.unary.a);
  default:
    if (ts_expr_kind_is_binary(a->kind))
      return idx_equal(a->u.bin.a, b->u.bin.a) && idx_equal(a->u.bin.b, b->u.bin.b);
    return false;
  }
}

static bool is_load_of(const ts_expr *e, const ts_buffer *b, ts_expr *const *idx,
                       int n) {
  if (!e || e->kind != TS_E_LOAD || e->u.load.buffer != b || e->u.load.n != n)
    return false;
  for (int d = 0; d < n; d++)
    if (!idx_equal(e->u.load.indices[d], idx[d])) return false;
  return true;
}

static bool is_f32(ts_dtype t) {
  return t.code == TS_FLOAT && t.bits == 32 && t.lanes == 1;
}

/* A micro-kernel call: `name` of `mr` rows where the tile is whole, else
 * (a predicated tile, ts_uk_mr rows kept) the kernel of ts_uk_mr rows;
 * `args` is the argument list after the name. */
static void emit_uk_call(cg *c, const char *name, int64_t mr, int64_t nr, bool partial,
                         const char *args) {
  if (!partial) {
    line(c, "  %s_%lldx%lld(%s);", name, (long long)mr, (long long)nr, args);
    return;
  }
  line(c, "  switch (ts_uk_mr) {");
  for (int64_t m = 1; m <= mr; m++)
    line(c, "  case %lld: %s_%lldx%lld(%s); break;", (long long)m, name, (long long)m,
         (long long)nr, args);
  line(c, "  default: break;");
  line(c, "  }");
}

/* The most reduction loops a micro-kernel nest may have (k0 .. k3). */
#define UK_MAX_K 4

/* Offsets of the three accesses at one point of the nest (one C expression
 * per loop of `loops`), stored into ts_uk_o[p]. */
static void emit_uk_point(cg *c, const ts_stmt *const *loops, int nloops,
                          const ts_stmt *realize, const ts_expr *acc[3],
                          char vals[][40], int p, const char *arr) {
  line(c, "{");
  c->indent++;
  for (int l = 0; l < nloops; l++) {
    const ts_var *v = loops[l]->u.for_.var;
    const char *ty = ctype_or_fail(c, v->dtype, v->loc);
    line(c, "const %s %s = (%s)(%s); (void)%s;", ty, cname(c, v, v->name), ty,
         vals[l], cname(c, v, v->name));
  }
  /* The loops' values are constants here (when the extents are): bound as
   * such, with the block's bindings, the offsets simplify under the outer
   * loops' ranges like any index (no division left for a blocked layout),
   * and the C compiler folds what the points share. */
  const ts_block *b = realize->u.realize.block;
  bool bound = c->scratch != NULL;
  for (int l = 0; bound && l < nloops; l++) {
    char *end = NULL;
    long long k = strtoll(vals[l], &end, 10);
    bound = end && *end == '\0';
    if (bound)
      ts_ptrmap_put(&c->bindings, loops[l]->u.for_.var,
                    ts_int(c->scratch, loops[l]->u.for_.var->dtype, k));
  }
  for (int i = 0; i < b->n_iter_vars; i++) {
    const ts_var *v = b->iter_vars[i].var;
    for (int k = 0; k < c->indent; k++)
      ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out,
                     "const %s %s = ", ctype_or_fail(c, v->dtype, v->loc),
                     cname(c, v, v->name));
    emit_expr(c, realize->u.realize.iter_values[i]);
    ts_strbuf_printf(&c->out, "; (void)%s;\n", cname(c, v, v->name));
    if (bound)
      ts_ptrmap_put(&c->bindings, v,
                    ts_expr_simplify_const(
                        c->scratch, ts_expr_substitute(c->scratch, realize->u.realize.iter_values[i],
                                                       &c->bindings)));
  }
  for (int a = 0; a < 3; a++) {
    for (int k = 0; k < c->indent; k++)
      ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "%s[%d][%d] = (int64_t)(", arr, p, a);
    emit_flat_index(c, acc[a]->u.load.buffer, acc[a]->u.load.indices,
                    acc[a]->u.load.n);
    ts_strbuf_append(&c->out, ");\n");
  }
  for (int l = 0; l < nloops; l++) ts_ptrmap_remove(&c->bindings, loops[l]->u.for_.var);
  for (int i = 0; i < b->n_iter_vars; i++) ts_ptrmap_remove(&c->bindings, b->iter_vars[i].var);
  c->indent--;
  line(c, "}");
}

static bool has_var_divisor(const ts_expr *e, void *ctx) {
  bool *bad = ctx;
  if ((e->kind == TS_E_DIV || e->kind == TS_E_MOD || e->kind == TS_E_FLOORDIV ||
       e->kind == TS_E_FLOORMOD) &&
      e->u.bin.b->kind != TS_E_INT)
    *bad = true;
  return !*bad;
}

/* Every point of the nest (0 the origin, 1+l one step along loop l, 1+nl+l
 * the last iteration of loop l, 1+2nl the far corner) into arr[p]. */
static void emit_uk_points(cg *c, const ts_stmt *const *loops, int nl,
                           const ts_stmt *realize, const ts_expr *acc[3], int npts,
                           char ext[][40], const char *arr) {
  char vals[UK_MAX_K + 2][40];
  for (int p = 0; p < npts; p++) {
    for (int l = 0; l < nl; l++) {
      bool far = p == npts - 1 || p == 1 + nl + l;
      snprintf(vals[l], sizeof vals[l], "%.30s", far ? ext[l] : p == 1 + l ? "1" : "0");
    }
    emit_uk_point(c, loops, nl, realize, acc, vals, p, arr);
  }
}

typedef struct shadow {
  const char *name;
  const ts_var *var;
  int64_t first;
} shadow;

static int cmp_shadow(const void *a, const void *b) {
  return strcmp(((const shadow *)a)->name, ((const shadow *)b)->name);
}

/* The points again into ts_uk_z, with every enclosing loop and block
 * variable of constant range shadowed by its first value: the offsets are
 * then C constant expressions where the accesses are affine, and so are the
 * strides the kernel is called with (the run-time strides must equal them).
 * An access dividing by a variable keeps the run-time offsets (shadowing
 * could make a divisor 0). */
static void emit_uk_static_points(cg *c, const ts_stmt *const *loops, int nl,
                                  const ts_stmt *realize, const ts_expr *acc[3],
                                  int npts, char ext[][40]) {
  line(c, "int64_t ts_uk_z[%d][3];", npts);
  bool bad = c->scratch == NULL;
  for (int a = 0; a < 3 && !bad; a++)
    for (int d = 0; d < acc[a]->u.load.n; d++)
      ts_expr_visit(acc[a]->u.load.indices[d], has_var_divisor, &bad);
  if (bad) {
    line(c, "for (int p = 0; p < %d; p++)", npts);
    line(c, "  for (int a = 0; a < 3; a++) ts_uk_z[p][a] = ts_uk_o[p][a];");
    return;
  }
  line(c, "{");
  c->indent++;
  /* in name order, so that the text does not depend on addresses */
  shadow *sh = ts_xcalloc(c->ranges.len + 1, sizeof *sh);
  size_t n = 0;
  for (size_t i = 0; i < c->ranges.cap; i++) {
    const ts_var *v = c->ranges.keys[i];
    bool inner = !v;
    for (int l = 0; l < nl && !inner; l++) inner = loops[l]->u.for_.var == v;
    if (!inner)
      sh[n++] = (shadow){cname(c, v, v->name), v, ((const int64_t *)c->ranges.vals[i])[0]};
  }
  qsort(sh, n, sizeof *sh, cmp_shadow);
  for (size_t k = 0; k < n; k++) {
    const char *ty = ctype_or_fail(c, sh[k].var->dtype, sh[k].var->loc);
    line(c, "const %s %s = (%s)INT64_C(%lld); (void)%s;", ty, sh[k].name, ty,
         (long long)sh[k].first, sh[k].name);
  }
  free(sh);
  emit_uk_points(c, loops, nl, realize, acc, npts, ext, "ts_uk_z");
  c->indent--;
  line(c, "}");
}

/* Emits the micro-kernel call (with the loops as the fallback) for a loop
 * annotated "tessera.micro_kernel" = "sgemm" that matches; false otherwise
 * (the caller emits the loop as usual).  The nest is R reduction loops
 * (1 <= R <= UK_MAX_K, the annotated one first: a matmul's k, or a
 * convolution's channel blocks, kernel rows and columns and channels), then
 * i (MR rows) and j (NR columns), then the update block.  Offsets are
 * evaluated at the origin, one step along each loop and the last iteration
 * of each loop and at the far corner; the kernel runs only when those say
 * every access is affine in the loops with the strides it needs. */
static bool emit_micro_kernel(cg *c, const ts_stmt *s) {
  const ts_attr_value *an =
      ts_attrs_get(s->u.for_.annotations, "tessera.micro_kernel");
  if (!an || an->kind != TS_ATTR_STR || strcmp(an->u.s, "sgemm"))
    return false;
  const ts_stmt *loops[UK_MAX_K + 2] = {s};
  int nl = 1;
  while (loops[nl - 1]->u.for_.body &&
         loops[nl - 1]->u.for_.body->kind == TS_S_FOR) {
    if (nl == UK_MAX_K + 2)
      return false;
    loops[nl] = loops[nl - 1]->u.for_.body;
    nl++;
  }
  if (nl < 3)
    return false;
  int nk = nl - 2;
  int64_t mn, mr, nr;
  for (int l = 0; l < nl; l++)
    if (!is_const_int(loops[l]->u.for_.min, &mn) || mn != 0 ||
        loops[l]->u.for_.kind == TS_FOR_PARALLEL ||
        loops[l]->u.for_.kind == TS_FOR_THREAD_BINDING)
      return false;
  if (!is_const_int(loops[nk]->u.for_.extent, &mr) ||
      !is_const_int(loops[nk + 1]->u.for_.extent, &nr) || mr < 1 || mr > 16 ||
      nr < 8 || nr > 128 || nr % 8)
    return false;
  const ts_stmt *r = loops[nl - 1]->u.for_.body;
  if (!r || r->kind != TS_S_BLOCK_REALIZE)
    return false;
  /* A predicate (a split that does not divide: the last tile is partial)
   * may mask rows: it must not read the reduction or the column loops; the
   * rows it keeps are counted at run time (ts_uk_mr), must be a prefix of
   * the tile, and run by the kernel of that many rows. */
  const ts_expr *pred = r->u.realize.predicate;
  for (int l = 0; pred && l < nl; l++)
    if (l != nk && ts_expr_uses_var(pred, loops[l]->u.for_.var))
      return false;
  const ts_block *b = r->u.realize.block;
  if (b->init || b->n_alloc_buffers || b->n_match_buffers || !b->body ||
      b->body->kind != TS_S_STORE)
    return false;
  const ts_stmt *st = b->body;
  const ts_expr *v = st->u.store.value;
  if (!is_f32(st->u.store.buffer->dtype) || v->kind != TS_E_ADD)
    return false;
  const ts_expr *cl = v->u.bin.a, *mul = v->u.bin.b;
  if (!is_load_of(cl, st->u.store.buffer, st->u.store.indices, st->u.store.n)) {
    cl = v->u.bin.b;
    mul = v->u.bin.a;
    if (!is_load_of(cl, st->u.store.buffer, st->u.store.indices, st->u.store.n))
      return false;
  }
  if (mul->kind != TS_E_MUL || mul->u.bin.a->kind != TS_E_LOAD ||
      mul->u.bin.b->kind != TS_E_LOAD || !is_f32(mul->u.bin.a->dtype) ||
      !is_f32(mul->u.bin.b->dtype))
    return false;
  const ts_buffer *cb = st->u.store.buffer;
  if (mul->u.bin.a->u.load.buffer == cb || mul->u.bin.b->u.load.buffer == cb)
    return false;
  /* Which load is A (broadcast) and which B (vector along j) is decided at
   * run time from the strides: try (a, b) then (b, a). */
  const ts_expr *acc[3] = {cl, mul->u.bin.a, mul->u.bin.b};
  /* one kernel per (form, MR, NR); its vector width is the target's */
  bool nested = nk > 1;
  for (int64_t m = pred ? 1 : mr; m <= mr; m++) {
    int key = (nested ? 100000 : 0) + (int)m * 1000 + (int)nr;
    bool have = false;
    for (size_t i = 0; i < c->ukernels.len; i++)
      have |= c->ukernels.data[i] == key;
    if (!have)
      ts_vec_push(&c->ukernels, key);
  }

  line(c, "{ /* micro-kernel sgemm %lldx%lld, %d reduction loop%s */",
       (long long)mr, (long long)nr, nk, nk > 1 ? "s" : "");
  c->indent++;
  line(c, "int64_t ts_uk_K[%d];", UK_MAX_K);
  for (int l = 0; l < UK_MAX_K; l++) {
    for (int k = 0; k < c->indent; k++)
      ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "ts_uk_K[%d] = ", l);
    /* the nest's k loops are the last nk of the kernel's (leading ones 1) */
    int src = l - (UK_MAX_K - nk);
    if (src < 0) {
      ts_strbuf_append(&c->out, "1;\n");
      continue;
    }
    ts_strbuf_append(&c->out, "(int64_t)(");
    emit_expr(c, loops[src]->u.for_.extent);
    ts_strbuf_append(&c->out, ");\n");
  }
  /* points: 0 origin; 1+l one step along loop l; 1+nl+l last iteration of
   * loop l; 1+2nl the far corner */
  int npts = 2 + 2 * nl;
  line(c, "int64_t ts_uk_o[%d][3];", npts);
  char ext[UK_MAX_K + 2][40];
  for (int l = 0; l < nl; l++) {
    /* a constant extent as a literal: emit_uk_point then binds the loop to
     * it and the point's offsets simplify like the others */
    int64_t ke;
    if (l < nk && is_const_int(loops[l]->u.for_.extent, &ke) && ke >= 1)
      snprintf(ext[l], sizeof ext[l], "%lld", (long long)(ke - 1));
    else if (l < nk)
      snprintf(ext[l], sizeof ext[l], "ts_uk_K[%d] - 1", l + UK_MAX_K - nk);
    else
      snprintf(ext[l], sizeof ext[l], "%lld",
               (long long)(l == nk ? mr - 1 : nr - 1));
  }
  emit_uk_points(c, loops, nl, r, acc, npts, ext, "ts_uk_o");
  emit_uk_static_points(c, loops, nl, r, acc, npts, ext);
  line(c, "int64_t ts_uk_s[3][%d]; /* [access][loop] */", nl);
  line(c, "int ts_uk_lin = 1;");
  for (int l = 0; l < nk; l++)
    line(c, "ts_uk_lin &= ts_uk_K[%d] > 0;", l + UK_MAX_K - nk);
  line(c, "for (int a = 0; a < 3; a++) {");
  line(c, "  int64_t ts_uk_far = ts_uk_o[0][a];");
  line(c, "  for (int d = 0; d < %d; d++) {", nl);
  line(c, "    ts_uk_s[a][d] = ts_uk_o[d + 1][a] - ts_uk_o[0][a];");
  for (int l = 0; l < nl; l++)
    line(c,
         "    if (d == %d) { ts_uk_lin &= ts_uk_o[%d][a] == ts_uk_o[0][a] + "
         "(%s) * "
         "ts_uk_s[a][d]; ts_uk_far += (%s) * ts_uk_s[a][d]; }",
         l, 1 + nl + l, ext[l], ext[l]);
  line(c, "  }");
  line(c, "  ts_uk_lin &= ts_uk_o[%d][a] == ts_uk_far;", npts - 1);
  line(c, "}");
  /* the strides at the outer loops' first iteration, constants for the C
   * compiler: the kernel runs with those, where they are the real ones */
  line(c, "int64_t ts_uk_zs[3][%d];", nl);
  line(c, "for (int a = 0; a < 3; a++)");
  line(c, "  for (int d = 0; d < %d; d++) {", nl);
  line(c, "    ts_uk_zs[a][d] = ts_uk_z[d + 1][a] - ts_uk_z[0][a];");
  line(c, "    ts_uk_lin &= ts_uk_s[a][d] == ts_uk_zs[a][d];");
  line(c, "  }");
  const char *cn = cname(c, cb, cb->name);
  const char *an1 =
      cname(c, acc[1]->u.load.buffer, acc[1]->u.load.buffer->name);
  const char *an2 =
      cname(c, acc[2]->u.load.buffer, acc[2]->u.load.buffer->name);
  int di = nk, dj = nk + 1;
  /* C: no k stride, unit j stride; A: no j stride; B: no i stride, unit j */
  line(c, "int ts_uk_c_ok = ts_uk_lin && ts_uk_zs[0][%d] == 1;", dj);
  if (pred) {
    /* the rows the predicate keeps: a prefix of the tile, or the loops */
    const ts_var *iv = loops[nk]->u.for_.var;
    const char *ty = ctype_or_fail(c, iv->dtype, iv->loc);
    line(c, "int64_t ts_uk_mr = 0;");
    line(c, "for (int64_t ts_uk_ii = 0; ts_uk_ii < %lld; ts_uk_ii++) {", (long long)mr);
    line(c, "  const %s %s = (%s)ts_uk_ii; (void)%s;", ty, cname(c, iv, iv->name), ty,
         cname(c, iv, iv->name));
    for (int k = 0; k < c->indent + 1; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_append(&c->out, "if (");
    emit_expr(c, pred);
    ts_strbuf_append(&c->out, ") {\n");
    line(c, "    ts_uk_c_ok &= ts_uk_mr == ts_uk_ii;");
    line(c, "    ts_uk_mr = ts_uk_ii + 1;");
    line(c, "  }");
    line(c, "}");
    line(c, "ts_uk_c_ok &= ts_uk_mr > 0;");
  }
  for (int l = 0; l < nk; l++)
    line(c, "ts_uk_c_ok &= ts_uk_zs[0][%d] == 0;", l);
  for (int o = 0; o < 2; o++) {
    int ia = o ? 2 : 1, ib = o ? 1 : 2;
    line(c,
         "%s (ts_uk_c_ok && ts_uk_zs[%d][%d] == 0 && ts_uk_zs[%d][%d] == 0 && "
         "ts_uk_zs[%d][%d] == 1) {",
         o ? "} else if" : "if", ia, dj, ib, di, ib, dj);
    char args[512];
    if (!nested) {
      snprintf(args, sizeof args,
               "ts_uk_K[%d], %s + ts_uk_o[0][0], ts_uk_zs[0][%d], %s + ts_uk_o[0][%d], "
               "ts_uk_zs[%d][%d], ts_uk_zs[%d][0], %s + ts_uk_o[0][%d], ts_uk_zs[%d][0]",
               UK_MAX_K - 1, cn, di, o ? an2 : an1, ia, ia, di, ia, o ? an1 : an2, ib, ib);
      emit_uk_call(c, "ts_uk_sgemm", mr, nr, pred != NULL, args);
    } else {
      line(c, "  int64_t ts_uk_sa[%d] = {0}, ts_uk_sb[%d] = {0};", UK_MAX_K,
           UK_MAX_K);
      for (int l = 0; l < nk; l++)
        line(
            c,
            "  ts_uk_sa[%d] = ts_uk_zs[%d][%d]; ts_uk_sb[%d] = ts_uk_zs[%d][%d];",
            l + UK_MAX_K - nk, ia, l, l + UK_MAX_K - nk, ib, l);
      snprintf(args, sizeof args,
               "ts_uk_K, %s + ts_uk_o[0][0], ts_uk_zs[0][%d], %s + ts_uk_o[0][%d], "
               "ts_uk_zs[%d][%d], ts_uk_sa, %s + ts_uk_o[0][%d], ts_uk_sb",
               cn, di, o ? an2 : an1, ia, ia, di, o ? an1 : an2, ib);
      emit_uk_call(c, "ts_uk_sgemm4", mr, nr, pred != NULL, args);
    }
  }
  /* both operands vectors along j (a depthwise convolution: input and
   * weight per channel), A moving along i, B not */
  for (int o = 0; nested && o < 2; o++) {
    int ia = o ? 2 : 1, ib = o ? 1 : 2;
    line(c,
         "} else if (ts_uk_c_ok && ts_uk_zs[%d][%d] == 1 && ts_uk_zs[%d][%d] == 0 && "
         "ts_uk_zs[%d][%d] == 1) {",
         ia, dj, ib, di, ib, dj);
    line(c, "  int64_t ts_uk_sa[%d] = {0}, ts_uk_sb[%d] = {0};", UK_MAX_K, UK_MAX_K);
    for (int l = 0; l < nk; l++)
      line(c, "  ts_uk_sa[%d] = ts_uk_zs[%d][%d]; ts_uk_sb[%d] = ts_uk_zs[%d][%d];",
           l + UK_MAX_K - nk, ia, l, l + UK_MAX_K - nk, ib, l);
    char args[512];
    snprintf(args, sizeof args,
             "ts_uk_K, %s + ts_uk_o[0][0], ts_uk_zs[0][%d], %s + ts_uk_o[0][%d], "
             "ts_uk_zs[%d][%d], ts_uk_sa, %s + ts_uk_o[0][%d], ts_uk_sb",
             cn, di, o ? an2 : an1, ia, ia, di, o ? an1 : an2, ib);
    emit_uk_call(c, "ts_uk_dw4", mr, nr, pred != NULL, args);
  }
  line(c, "} else {");
  c->indent++;
  /* the loops as written, without the annotation */
  ts_stmt tmp = *s;
  tmp.u.for_.annotations = NULL;
  emit_for(c, &tmp);
  c->indent--;
  line(c, "}");
  c->indent--;
  line(c, "}");
  return true;
}


/* ---- transposed reads -------------------------------------------------------
 * A nest `for u: [for w (extent 1):] for v (vectorized): block` whose store
 * reads an f32 buffer at unit stride along u and another stride along v
 * (a blocked result written back as NCHW: out[c, h, w] = f(acc[w, c])) is a
 * gather per vector lane; GCC scalarizes it for strides of 32 and more.
 * Emitted here as 16x16 tiles instead: per tile the offsets are evaluated
 * at its corners and one step along each loop, and where they are affine
 * with unit stride along u, the tile's 16 rows (one per v) are loaded as
 * vectors and transposed in registers (ts_tr16), the body then reading
 * tile[du][dv] in a vectorized loop; otherwise the tile runs as written. */
static const char tr_kernel[] =
    "#if defined(__AVX512F__)\n"
    "typedef float ts_t16f __attribute__((vector_size(64), aligned(4)));\n"
    "typedef int ts_t16i __attribute__((vector_size(64)));\n"
    "/* t[du][dv] = src[du + dv * sv] for du < 16, dv < nv (0 beyond) */\n"
    "static inline __attribute__((always_inline)) void ts_tr16(\n"
    "    float t[16][16], const float *restrict src, int64_t sv, int64_t nv) {\n"
    "  ts_t16f r[16];\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < 16; i++)\n"
    "    r[i] = i < nv ? *(const ts_t16f *)(src + i * sv) : (ts_t16f){0};\n"
    "  /* four rounds: round w swaps the off-diagonal w x w blocks of each\n"
    "   * 2w x 2w block (rows i and i + w, lanes with bit w set or not) */\n"
    "#define TS_TR_ROUND(W, LO, HI)                                          \\\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < 16; i++)                 \\\n"
    "    if (!(i & W)) {                                                     \\\n"
    "      ts_t16f a = r[i], b = r[i + W];                                   \\\n"
    "      r[i] = __builtin_shuffle(a, b, (ts_t16i)LO);                      \\\n"
    "      r[i + W] = __builtin_shuffle(a, b, (ts_t16i)HI);                  \\\n"
    "    }\n"
    "  TS_TR_ROUND(1, ((ts_t16i){0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}),\n"
    "              ((ts_t16i){1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}))\n"
    "  TS_TR_ROUND(2, ((ts_t16i){0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29}),\n"
    "              ((ts_t16i){2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31}))\n"
    "  TS_TR_ROUND(4, ((ts_t16i){0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27}),\n"
    "              ((ts_t16i){4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31}))\n"
    "  TS_TR_ROUND(8, ((ts_t16i){0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}),\n"
    "              ((ts_t16i){8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31}))\n"
    "#undef TS_TR_ROUND\n"
    "  _Pragma(\"GCC unroll 16\") for (int i = 0; i < 16; i++)\n"
    "    *(ts_t16f *)t[i] = r[i];\n"
    "}\n"
    "#else\n"
    "/* narrower vectors (GCC splits 16-float vectors through the stack on\n"
    " * AVX2: the stem's NCHW write-back took a third of its time): the tile\n"
    " * as (16 / W)^2 blocks of W x W, W the machine's vector width */\n"
    "#if defined(__AVX__)\n"
    "#define TS_TRW 8\n"
    "#else\n"
    "#define TS_TRW 4\n"
    "#endif\n"
    "typedef float ts_trvf __attribute__((vector_size(4 * TS_TRW), aligned(4)));\n"
    "typedef int ts_trvi __attribute__((vector_size(4 * TS_TRW)));\n"
    "/* d[i * 16 + j] = s[i + j * sv] for i, j < W, rows j >= nv read as 0 */\n"
    "static inline __attribute__((always_inline)) void ts_trw(\n"
    "    float *restrict d, const float *restrict s, int64_t sv, int64_t nv) {\n"
    "  ts_trvf r[TS_TRW];\n"
    "  _Pragma(\"GCC unroll 8\") for (int i = 0; i < TS_TRW; i++)\n"
    "    r[i] = i < nv ? *(const ts_trvf *)(s + i * sv) : (ts_trvf){0};\n"
    "#define TS_TR_ROUND(W, LO, HI)                                          \\\n"
    "  _Pragma(\"GCC unroll 8\") for (int i = 0; i < TS_TRW; i++)             \\\n"
    "    if (!(i & W)) {                                                     \\\n"
    "      ts_trvf a = r[i], b = r[i + W];                                   \\\n"
    "      r[i] = __builtin_shuffle(a, b, (ts_trvi)LO);                      \\\n"
    "      r[i + W] = __builtin_shuffle(a, b, (ts_trvi)HI);                  \\\n"
    "    }\n"
    "#if TS_TRW == 8\n"
    "  TS_TR_ROUND(1, ((ts_trvi){0, 8, 2, 10, 4, 12, 6, 14}), ((ts_trvi){1, 9, 3, 11, 5, 13, 7, 15}))\n"
    "  TS_TR_ROUND(2, ((ts_trvi){0, 1, 8, 9, 4, 5, 12, 13}), ((ts_trvi){2, 3, 10, 11, 6, 7, 14, 15}))\n"
    "  TS_TR_ROUND(4, ((ts_trvi){0, 1, 2, 3, 8, 9, 10, 11}), ((ts_trvi){4, 5, 6, 7, 12, 13, 14, 15}))\n"
    "#else\n"
    "  TS_TR_ROUND(1, ((ts_trvi){0, 4, 2, 6}), ((ts_trvi){1, 5, 3, 7}))\n"
    "  TS_TR_ROUND(2, ((ts_trvi){0, 1, 4, 5}), ((ts_trvi){2, 3, 6, 7}))\n"
    "#endif\n"
    "#undef TS_TR_ROUND\n"
    "  _Pragma(\"GCC unroll 8\") for (int i = 0; i < TS_TRW; i++)\n"
    "    *(ts_trvf *)(d + i * 16) = r[i];\n"
    "}\n"
    "static inline __attribute__((always_inline)) void ts_tr16(\n"
    "    float t[16][16], const float *restrict src, int64_t sv, int64_t nv) {\n"
    "  _Pragma(\"GCC unroll 4\") for (int bj = 0; bj < 16; bj += TS_TRW)\n"
    "  _Pragma(\"GCC unroll 4\") for (int bi = 0; bi < 16; bi += TS_TRW)\n"
    "    ts_trw(&t[bi][bj], src + bj * sv + bi, sv, nv - bj);\n"
    "}\n"
    "#endif\n";

typedef struct tr_find {
  const ts_stmt *realize;
  const ts_var *var;
  bool found;
} tr_find;

/* Does an expression of the block use the loop variable (directly, or
 * through an iteration variable bound to an expression of it)? */
static bool tr_uses_visit(const ts_expr *e, void *ctx);
static bool tr_uses(const ts_expr *e, const ts_stmt *realize, const ts_var *v) {
  tr_find f = {realize, v, false};
  ts_expr_visit(e, tr_uses_visit, &f);
  return f.found;
}
static bool tr_uses_visit(const ts_expr *e, void *ctx) {
  tr_find *f = ctx;
  if (f->found || e->kind != TS_E_VAR) return !f->found;
  if (e->u.var == f->var) {
    f->found = true;
  } else if (f->realize) {
    const ts_block *b = f->realize->u.realize.block;
    for (int i = 0; i < b->n_iter_vars; i++)
      if (b->iter_vars[i].var == e->u.var &&
          tr_uses(f->realize->u.realize.iter_values[i], NULL, f->var))
        f->found = true;
  }
  return !f->found;
}

typedef struct tr_cand {
  const ts_stmt *realize;
  const ts_buffer *dst;
  const ts_var *u, *v;
  const ts_expr *load;
} tr_cand;

static bool tr_pick(const ts_expr *e, void *ctx) {
  tr_cand *k = ctx;
  if (k->load) return false;
  if (e->kind == TS_E_LOAD && is_f32(e->dtype) && e->u.load.buffer != k->dst &&
      e->u.load.n >= 1) {
    bool uu = false, vv = false;
    for (int d = 0; d < e->u.load.n; d++) {
      uu |= tr_uses(e->u.load.indices[d], k->realize, k->u);
      vv |= tr_uses(e->u.load.indices[d], k->realize, k->v);
    }
    /* the last index v itself (or bound to it): contiguous along v */
    const ts_expr *last = e->u.load.indices[e->u.load.n - 1];
    const ts_block *b = k->realize->u.realize.block;
    for (int i = 0; last->kind == TS_E_VAR && i < b->n_iter_vars; i++)
      if (b->iter_vars[i].var == last->u.var) last = k->realize->u.realize.iter_values[i];
    bool along_v = last->kind == TS_E_VAR && last->u.var == k->v;
    if (uu && vv && !along_v) k->load = e;
    return false; /* not into the indices */
  }
  return true;
}

/* Binds the loops of the tile at (u0 + du, v0 + dv) (C text), the unit
 * loops at 0, and the block's iteration variables; the caller closes the
 * scope. */
static void tr_bind(cg *c, const ts_stmt *const *loops, int nl, const char *uval,
                    const char *vval) { /* vval NULL: the vectorized loop not bound */
  for (int l = 0; l < nl; l++) {
    const ts_var *v = loops[l]->u.for_.var;
    const char *ty = ctype_or_fail(c, v->dtype, v->loc);
    if (l == nl - 1 && !vval) break;
    line(c, "const %s %s = (%s)(%s); (void)%s;", ty, cname(c, v, v->name), ty,
         l == 0 ? uval : l == nl - 1 ? vval : "0", cname(c, v, v->name));
  }
}

static void tr_ranges(cg *c, const ts_stmt *const *loops, int nl, bool on) {
  for (int l = 0; l < nl && c->scratch; l++) {
    const ts_var *v = loops[l]->u.for_.var;
    if (!on) {
      ts_ptrmap_remove(&c->ranges, v);
      continue;
    }
    int64_t n = 1;
    is_const_int(loops[l]->u.for_.extent, &n);
    int64_t *r = ts_arena_alloc(c->scratch, 2 * sizeof(int64_t));
    r[0] = 0;
    r[1] = n - 1;
    ts_ptrmap_put(&c->ranges, v, r);
  }
}

static bool emit_transposed(cg *c, const ts_stmt *s) {
  if (s->u.for_.kind != TS_FOR_SERIAL || s->u.for_.annotations) return false;
  const ts_stmt *loops[8] = {s};
  int nl = 1;
  int64_t mn, eu, ev, one;
  if (!is_const_int(s->u.for_.min, &mn) || mn != 0 || !is_const_int(s->u.for_.extent, &eu) ||
      eu < 16 || eu % 16)
    return false;
  const ts_stmt *b = s->u.for_.body;
  while (b && b->kind == TS_S_FOR && b->u.for_.kind == TS_FOR_SERIAL && nl < 7 &&
         is_const_int(b->u.for_.min, &mn) && mn == 0 && is_const_int(b->u.for_.extent, &one) &&
         one == 1 && !b->u.for_.annotations) {
    loops[nl++] = b;
    b = b->u.for_.body;
  }
  if (!b || b->kind != TS_S_FOR || b->u.for_.kind != TS_FOR_VECTORIZED ||
      b->u.for_.annotations || !is_const_int(b->u.for_.min, &mn) || mn != 0 ||
      !is_const_int(b->u.for_.extent, &ev) || ev < 8)
    return false;
  loops[nl++] = b;
  const ts_stmt *r = b->u.for_.body;
  if (!r || r->kind != TS_S_BLOCK_REALIZE) return false;
  const ts_block *blk = r->u.realize.block;
  if (blk->init || blk->n_alloc_buffers || blk->n_match_buffers || !blk->body ||
      blk->body->kind != TS_S_STORE)
    return false;
  tr_cand k = {r, blk->body->u.store.buffer, s->u.for_.var, b->u.for_.var, NULL};
  ts_expr_visit(blk->body->u.store.value, tr_pick, &k);
  if (!k.load) return false;
  /* the tile's offsets: (0,0) (1,0) (0,1) (15,0) (0,nv-1) (15,nv-1) */
  static const char *const pu[6] = {"0", "1", "0", "15", "0", "15"};
  static const char *const pv[6] = {"0", "0", "1", "0", "ts_tr_nv - 1", "ts_tr_nv - 1"};
  c->tr_used = true;
  const char *src = cname(c, k.load->u.load.buffer, k.load->u.load.buffer->name);
  line(c, "{ /* %s read transposed, in 16x16 tiles */", src);
  c->indent++;
  line(c, "for (int64_t ts_tr_u0 = 0; ts_tr_u0 < %lld; ts_tr_u0 += 16) {", (long long)eu);
  c->indent++;
  line(c, "for (int64_t ts_tr_v0 = 0; ts_tr_v0 < %lld; ts_tr_v0 += 16) {", (long long)ev);
  c->indent++;
  line(c, "const int64_t ts_tr_nv = %lld - ts_tr_v0 < 16 ? %lld - ts_tr_v0 : 16;",
       (long long)ev, (long long)ev);
  line(c, "int64_t ts_tr_o[6];");
  tr_ranges(c, loops, nl, true);
  for (int p = 0; p < 6; p++) {
    line(c, "{");
    c->indent++;
    char uv[64], vv[64];
    snprintf(uv, sizeof uv, "ts_tr_u0 + %s", pu[p]);
    snprintf(vv, sizeof vv, "ts_tr_v0 + %s", pv[p]);
    tr_bind(c, loops, nl, uv, vv);
    for (int i = 0; i < blk->n_iter_vars; i++) {
      const ts_var *iv = blk->iter_vars[i].var;
      for (int q = 0; q < c->indent; q++) ts_strbuf_append(&c->out, "  ");
      ts_strbuf_printf(&c->out, "const %s %s = ", ctype_or_fail(c, iv->dtype, iv->loc),
                       cname(c, iv, iv->name));
      emit_expr(c, r->u.realize.iter_values[i]);
      ts_strbuf_printf(&c->out, "; (void)%s;\n", cname(c, iv, iv->name));
    }
    for (int q = 0; q < c->indent; q++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "ts_tr_o[%d] = (int64_t)(", p);
    emit_flat_index(c, k.load->u.load.buffer, k.load->u.load.indices, k.load->u.load.n);
    ts_strbuf_append(&c->out, ");\n");
    c->indent--;
    line(c, "}");
  }
  line(c, "const int64_t ts_tr_sv = ts_tr_o[2] - ts_tr_o[0];");
  line(c, "const int ts_tr_ok = ts_tr_o[1] == ts_tr_o[0] + 1 && ts_tr_o[3] == ts_tr_o[0] + 15 "
          "&& ts_tr_o[4] == ts_tr_o[0] + (ts_tr_nv - 1) * ts_tr_sv && ts_tr_o[5] == ts_tr_o[3] "
          "+ (ts_tr_nv - 1) * ts_tr_sv;");
  line(c, "_Alignas(64) float ts_tr_t[16][16];");
  line(c, "if (ts_tr_ok) ts_tr16(ts_tr_t, %s + ts_tr_o[0], ts_tr_sv, ts_tr_nv);", src);
  line(c, "for (int64_t ts_tr_du = 0; ts_tr_du < 16; ts_tr_du++) {");
  c->indent++;
  tr_bind(c, loops, nl, "ts_tr_u0 + ts_tr_du", NULL);
  const ts_var *vv = b->u.for_.var;
  const char *vty = ctype_or_fail(c, vv->dtype, vv->loc);
  for (int path = 0; path < 2; path++) {
    line(c, path ? "} else {" : "if (ts_tr_ok) {");
    c->indent++;
    line(c, "#pragma omp simd");
    line(c, "for (int64_t ts_tr_dv = 0; ts_tr_dv < ts_tr_nv; ts_tr_dv++) {");
    c->indent++;
    line(c, "const %s %s = (%s)(ts_tr_v0 + ts_tr_dv); (void)%s;", vty, cname(c, vv, vv->name),
         vty, cname(c, vv, vv->name));
    c->tr_load = path ? NULL : k.load;
    c->tr_text = "ts_tr_t[ts_tr_du][ts_tr_dv]";
    emit_stmt(c, r);
    c->tr_load = NULL;
    c->indent--;
    line(c, "}");
    c->indent--;
  }
  line(c, "}");
  tr_ranges(c, loops, nl, false);
  c->indent--;
  line(c, "}");
  c->indent--;
  line(c, "}");
  c->indent--;
  line(c, "}");
  c->indent--;
  line(c, "}");
  return true;
}

static void emit_stmt(cg *c, const ts_stmt *s) {
  if (!s || c->err) return;
  switch (s->kind) {
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++) emit_stmt(c, s->u.seq.stmts[i]);
    return;
  case TS_S_FOR: emit_for(c, s); return;
  case TS_S_BLOCK_REALIZE: emit_block(c, s); return;
  case TS_S_STORE: {
    const ts_buffer *b = s->u.store.buffer;
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "%s[", cname(c, b, b->name));
    emit_flat_index(c, b, s->u.store.indices, s->u.store.n);
    ts_strbuf_append(&c->out, "] = ");
    if (b->dtype.code == TS_BOOL) ts_strbuf_append(&c->out, "(uint8_t)");
    emit_expr(c, s->u.store.value);
    ts_strbuf_append(&c->out, ";\n");
    return;
  }
  case TS_S_IF:
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_append(&c->out, "if (");
    emit_expr(c, s->u.if_.cond);
    ts_strbuf_append(&c->out, ") {\n");
    c->indent++;
    emit_stmt(c, s->u.if_.then_s);
    c->indent--;
    if (s->u.if_.else_s) {
      line(c, "} else {");
      c->indent++;
      emit_stmt(c, s->u.if_.else_s);
      c->indent--;
    }
    line(c, "}");
    return;
  case TS_S_LET: {
    const ts_var *v = s->u.let.var;
    line(c, "{");
    c->indent++;
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_printf(&c->out, "const %s %s = ", ctype_or_fail(c, v->dtype, v->loc),
                     cname(c, v, v->name));
    emit_expr(c, s->u.let.value);
    ts_strbuf_append(&c->out, ";\n");
    emit_stmt(c, s->u.let.body);
    c->indent--;
    line(c, "}");
    return;
  }
  case TS_S_EVALUATE:
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_append(&c->out, "(void)");
    emit_expr(c, s->u.eval.value);
    ts_strbuf_append(&c->out, ";\n");
    return;
  case TS_S_ALLOCATE: {
    line(c, "{");
    c->indent++;
    bool heap = emit_alloc(c, s->u.alloc.buffer);
    emit_stmt(c, s->u.alloc.body);
    if (heap) line(c, "ts_free(%s);", cname(c, s->u.alloc.buffer, s->u.alloc.buffer->name));
    c->indent--;
    line(c, "}");
    return;
  }
  case TS_S_ASSERT:
    for (int k = 0; k < c->indent; k++) ts_strbuf_append(&c->out, "  ");
    ts_strbuf_append(&c->out, "if (!(");
    emit_expr(c, s->u.assert_.cond);
    ts_strbuf_append(&c->out, ")) return 3;\n");
    emit_stmt(c, s->u.assert_.body);
    return;
  }
}

static const char prelude[] =
    "/* Generated by Tessera " TS_VERSION_STRING ". */\n"
    "#include <math.h>\n"
    "#include <stdint.h>\n"
    "#include <stdlib.h>\n"
    "#include <dlpack/dlpack.h>\n"
    "\n"
    "typedef union ts_kernel_arg { DLTensor *tensor; int64_t i; double f; } "
    "ts_kernel_arg;\n"
    "\n"
    "/* Buffers a kernel allocates come from a pool kept across calls: slots\n"
    " * taken with an atomic flag (best fit, else the first free slot grows),\n"
    " * plain aligned_alloc when every slot is in use; freed at unload. */\n"
    "#define TS_WS_SLOTS 32\n"
    "static struct ts_ws_slot { void *p; size_t n; int busy; } ts_ws[TS_WS_SLOTS];\n"
    "static inline void *ts_alloc(size_t n) {\n"
    "  n = (n + 63) & ~(size_t)63;\n"
    "  for (int pass = 0; pass < 2; pass++) {\n"
    "    int best = -1;\n"
    "    for (int i = 0; i < TS_WS_SLOTS; i++)\n"
    "      if (!__atomic_load_n(&ts_ws[i].busy, __ATOMIC_RELAXED) &&\n"
    "          (pass == 1 || (ts_ws[i].n >= n && (best < 0 || ts_ws[i].n < ts_ws[best].n))))\n"
    "        if (pass == 0 || best < 0) best = i;\n"
    "    if (best < 0 || __atomic_exchange_n(&ts_ws[best].busy, 1, __ATOMIC_ACQUIRE)) continue;\n"
    "    struct ts_ws_slot *w = &ts_ws[best];\n"
    "    if (w->n < n) {\n"
    "      free(w->p);\n"
    "      w->p = aligned_alloc(64, n);\n"
    "      w->n = w->p ? n : 0;\n"
    "    }\n"
    "    if (w->p) return w->p;\n"
    "    __atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);\n"
    "    return NULL;\n"
    "  }\n"
    "  return aligned_alloc(64, n);\n"
    "}\n"
    "static inline void ts_free(void *p) {\n"
    "  for (int i = 0; i < TS_WS_SLOTS; i++)\n"
    "    if (ts_ws[i].p == p && __atomic_load_n(&ts_ws[i].busy, __ATOMIC_RELAXED)) {\n"
    "      __atomic_store_n(&ts_ws[i].busy, 0, __ATOMIC_RELEASE);\n"
    "      return;\n"
    "    }\n"
    "  free(p);\n"
    "}\n"
    "__attribute__((destructor)) static void ts_ws_release(void) {\n"
    "  for (int i = 0; i < TS_WS_SLOTS; i++) free(ts_ws[i].p);\n"
    "}\n"
    "#define TS_DEF_INT(T, S)                                                \\\n"
    "  static inline T ts_floordiv_##S(T a, T b) {                            \\\n"
    "    T q = a / b; return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q; } \\\n"
    "  static inline T ts_floormod_##S(T a, T b) {                            \\\n"
    "    T r = a % b; return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r; }   \\\n"
    "  static inline T ts_min_##S(T a, T b) { return a < b ? a : b; }         \\\n"
    "  static inline T ts_max_##S(T a, T b) { return a > b ? a : b; }\n"
    "TS_DEF_INT(int32_t, i32)\n"
    "TS_DEF_INT(int64_t, i64)\n"
    "static inline uint32_t ts_min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }\n"
    "static inline uint32_t ts_max_u32(uint32_t a, uint32_t b) { return a > b ? a : b; }\n"
    "static inline uint64_t ts_min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }\n"
    "static inline uint64_t ts_max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }\n"
    "static inline uint32_t ts_floordiv_u32(uint32_t a, uint32_t b) { return a / b; }\n"
    "static inline uint32_t ts_floormod_u32(uint32_t a, uint32_t b) { return a % b; }\n"
    "static inline uint64_t ts_floordiv_u64(uint64_t a, uint64_t b) { return a / b; }\n"
    "static inline uint64_t ts_floormod_u64(uint64_t a, uint64_t b) { return a % b; }\n"
    "static inline float ts_min_f32(float a, float b) { return a < b ? a : b; }\n"
    "static inline float ts_max_f32(float a, float b) { return a > b ? a : b; }\n"
    "static inline double ts_min_f64(double a, double b) { return a < b ? a : b; }\n"
    "static inline double ts_max_f64(double a, double b) { return a > b ? a : b; }\n"
    "/* exp and erf in float, branch-free so that loops of them vectorize: exp by\n"
    " * 2^n e^r (n = round(x / ln 2), r in [-ln2/2, ln2/2], degree-6 polynomial,\n"
    " * relative error ~1e-7, subnormal results included); erf by its Taylor series below 0.5 (relative error\n"
    " * ~1e-9) and Abramowitz & Stegun 7.1.26 above (absolute error 1.5e-7). */\n"
    "static inline float ts_expf_v(float x) {\n"
    "  float xc = x > 88.72283f ? 88.72283f : x < -103.98f ? -103.98f : x;\n"
    "  /* n = round(xc / ln 2) by the 1.5 * 2^23 shift (which assumes no\n"
    "   * -fassociative-math: the kernels' flags have none) */\n"
    "  float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;\n"
    "  float r = xc - n * 0.693359375f;\n"
    "  r = r + n * 2.12194440e-4f;\n"
    "  float p = 1.9875691500e-4f;\n"
    "  p = p * r + 1.3981999507e-3f;\n"
    "  p = p * r + 8.3334519073e-3f;\n"
    "  p = p * r + 4.1665795894e-2f;\n"
    "  p = p * r + 1.6666665459e-1f;\n"
    "  p = p * r + 5.0000001201e-1f;\n"
    "  float y = p * r * r + r + 1.0f;\n"
    "  /* 2^n as 2^h 2^(n-h), h = n/2: both normal for n in [-150, 128] */\n"
    "  int32_t ni = (int32_t)n, h = ni >> 1;\n"
    "  union { int32_t i; float f; } s1, s2;\n"
    "  s1.i = (h + 127) << 23;\n"
    "  s2.i = (ni - h + 127) << 23;\n"
    "  y = y * s1.f * s2.f;\n"
    "  y = x < -103.98f ? 0.0f : y;\n"
    "  y = x > 88.72283f ? __builtin_inff() : y;\n"
    "  return x != x ? x : y;\n"
    "}\n"
    "static inline float ts_erff_v(float x) {\n"
    "  float z = x * x, a = x < 0 ? -x : x;\n"
    "  float s = 1.2055332981789664e-4f;\n"
    "  s = s * z - 8.5483270234508e-4f;\n"
    "  s = s * z + 5.2239776254421878e-3f;\n"
    "  s = s * z - 2.6866170645131252e-2f;\n"
    "  s = s * z + 0.11283791670955126f;\n"
    "  s = s * z - 0.37612638903183754f;\n"
    "  s = s * z + 1.1283791670955126f;\n"
    "  s = s * x;\n"
    "  float t = 1.0f / (1.0f + 0.3275911f * a);\n"
    "  float q = 1.061405429f;\n"
    "  q = q * t - 1.453152027f;\n"
    "  q = q * t + 1.421413741f;\n"
    "  q = q * t - 0.284496736f;\n"
    "  q = q * t + 0.254829592f;\n"
    "  float l = 1.0f - q * t * ts_expf_v(-z);\n"
    "  l = x < 0 ? -l : l;\n"
    "  return a < 0.5f ? s : l;\n"
    "}\n"
    "static inline float ts_floordiv_f32(float a, float b) { return floorf(a / b); }\n"
    "static inline double ts_floordiv_f64(double a, double b) { return floor(a / b); }\n"
    "static inline float ts_floormod_f32(float a, float b) { return a - floorf(a / b) * b; }\n"
    "static inline double ts_floormod_f64(double a, double b) { return a - floor(a / b) * b; }\n"
    "\n";

static void emit_primfunc(cg *c, const ts_primfunc *f) {
  c->func = f;
  c->names.len = 0;
  line(c, "int32_t " TS_KERNEL_PREFIX "%s(const ts_kernel_arg *args, int32_t n_args) {", f->name);
  c->indent++;
  line(c, "if (n_args != %d) return 1;", f->n_params);
  /* Scalars and buffer pointers first, then symbolic dims bound from
   * tensor shapes. */
  for (int i = 0; i < f->n_params; i++) {
    const ts_param *p = &f->params[i];
    if (!p->buffer) {
      line(c, "const %s %s = (%s)args[%d].i;", ctype_or_fail(c, p->var->dtype, p->var->loc),
           cname(c, p->var, p->var->name), ctype_or_fail(c, p->var->dtype, p->var->loc), i);
      continue;
    }
    const ts_buffer *b = p->buffer;
    const char *ty = ctype_or_fail(c, b->dtype, b->loc);
    line(c, "%s *restrict %s = (%s *)((char *)args[%d].tensor->data + args[%d].tensor->byte_offset);",
         ty, cname(c, b, b->name), ty, i, i);
  }
  TS_VEC(const ts_var *) bound = {0};
  for (int i = 0; i < f->n_params; i++) {
    const ts_buffer *b = f->params[i].buffer;
    if (!b) {
      ts_vec_push(&bound, f->params[i].var);
      continue;
    }
    for (int d = 0; d < b->ndim; d++) {
      if (b->shape[d]->kind != TS_E_VAR) continue;
      const ts_var *v = b->shape[d]->u.var;
      bool seen = false;
      for (size_t k = 0; k < bound.len; k++) seen |= bound.data[k] == v;
      if (seen) continue;
      ts_vec_push(&bound, v);
      line(c, "const %s %s = (%s)args[%d].tensor->shape[%d];",
           ctype_or_fail(c, v->dtype, v->loc), cname(c, v, v->name),
           ctype_or_fail(c, v->dtype, v->loc), i, d);
      line(c, "(void)%s;", cname(c, v, v->name));
    }
  }
  ts_vec_free(&bound);
  /* the body goes to its own buffer first: whether a slice comes from the
   * pool (and the kernel needs ts_oom) is known after it */
  ts_strbuf head = c->out;
  c->out = (ts_strbuf){0};
  c->uses_oom = false;
  emit_stmt(c, f->body);
  ts_strbuf body = c->out;
  c->out = head;
  if (c->uses_oom) line(c, "int ts_oom = 0;");
  ts_strbuf_append(&c->out, body.data ? body.data : "");
  ts_strbuf_free(&body);
  line(c, c->uses_oom ? "return ts_oom ? 2 : 0;" : "return 0;");
  c->indent--;
  line(c, "}");
  line(c, "%s", "");
  for (size_t i = 0; i < c->names.len; i++) free(c->names.data[i].name);
  c->names.len = 0;
}

ts_status *ts_codegen_c(const ts_module *m, char **out_source) {
  cg c = {0};
  c.scratch = ts_arena_create();
  ts_strbuf_append(&c.out, prelude);
  size_t body_start = c.out.len;
  for (int i = 0; i < m->n_funcs && !c.err; i++)
    if (m->funcs[i].kind == TS_FUNC_PRIM) emit_primfunc(&c, m->funcs[i].u.prim);
  if (!c.err && (c.ukernels.len || c.tr_used)) {
    /* splice the micro-kernels used between the prelude and the kernels */
    ts_strbuf uk = {0};
    ts_strbuf_appendn(&uk, c.out.data, body_start);
    if (c.tr_used) ts_strbuf_append(&uk, tr_kernel);
    if (c.ukernels.len) ts_strbuf_append(&uk, micro_kernels);
    for (size_t i = 0; i < c.ukernels.len; i++) {
      int key = c.ukernels.data[i], mr = key % 100000 / 1000, nr = key % 1000;
      if (key >= 100000)
        ts_strbuf_printf(&uk, "TS_UK_SGEMM4_DEF(%d, %d)\nTS_UK_DW4_DEF(%d, %d)\n", mr, nr,
                         mr, nr);
      else
        ts_strbuf_printf(&uk, "TS_UK_SGEMM_DEF(%d, %d)\n", mr, nr);
    }
    ts_strbuf_append(&uk, "\n");
    ts_strbuf_append(&uk, c.out.data + body_start);
    ts_strbuf_free(&c.out);
    c.out = uk;
  }
  ts_vec_free(&c.ukernels);
  ts_vec_free(&c.compacted);
  ts_ptrmap_free(&c.ranges);
  ts_ptrmap_free(&c.bindings);
  ts_arena_destroy(c.scratch);
  for (size_t i = 0; i < c.names.len; i++) free(c.names.data[i].name);
  ts_vec_free(&c.names);
  ts_vec_free(&c.bound_buffers);
  ts_vec_free(&c.aliases);
  if (c.err) {
    ts_strbuf_free(&c.out);
    *out_source = NULL;
    return c.err;
  }
  *out_source = c.out.data;
  return NULL;
}
