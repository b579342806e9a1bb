/* builder.h: internal interface of the TVMScript reader (Python AST ->
 * IRModule), shared by builder.c (module level, common helpers),
 * build_tir.c (PrimFuncs) and build_graph.c (graph functions).
 *
 * Conventions:
 * - Errors on user input unwind with longjmp to ts_script_parse, which turns
 *   them into a status (sb_fail).  Everything allocated while building is in
 *   the module arena (IR, the Python AST) or the scratch arena (temporary
 *   vectors), or owned by the context and freed at the end: an unwind leaks
 *   nothing.
 * - Names resolve through one symbol stack: entries [0, n_globals) are the
 *   module's functions; [fn_base, n_syms) the current function's scopes,
 *   innermost last; then the function's symbolic variables (fsyms), which
 *   are visible in the whole function wherever they were declared. */
#ifndef TESSERA_SCRIPT_BUILDER_H
#define TESSERA_SCRIPT_BUILDER_H

#include <setjmp.h>
#include <string.h>

#include "script/pyast.h"
#include "tessera/ir.h"

typedef enum sb_sym_kind {
  SK_VAR,    /* p: ts_var (loop/iter/let/symbolic/scalar param/handle) */
  SK_BUFFER, /* p: ts_buffer */
  SK_GVAR,   /* p: ts_gvar */
  SK_FUNC,   /* p: sb_func (a function of the module) */
  SK_CLS,    /* p: NULL; the module class (`cls = Module`, or its name) */
  SK_HIDDEN, /* p: ts_gvar; a dataflow variable not listed in R.output,
                kept only to explain why it is out of scope */
} sb_sym_kind;

typedef struct sb_sym {
  const char *name;
  sb_sym_kind kind;
  void *p;
} sb_sym;

/* A function of the module being read. */
typedef struct sb_func {
  const char *name;
  py_stmt *def;
  ts_func_kind kind; /* TS_FUNC_PRIM or TS_FUNC_GRAPH */
  ts_primfunc *prim;
  ts_gfunc *graph;
  int state; /* 0 not built, 1 building (signature done), 2 built */
  ts_loc loc;
} sb_func;

/* A block whose reads/writes are inferred after its function is built;
 * an explicitly written list (keep_*) is restored after inference. */
typedef struct sb_pending_regions {
  ts_block *block;
  bool keep_reads, keep_writes;
  ts_region *reads, *writes;
  int n_reads, n_writes;
} sb_pending_regions;

/* Vectors in the scratch arena (never freed one by one). */
#define SB_VEC(T)                                                              \
  struct {                                                                     \
    T *data;                                                                   \
    int len, cap;                                                              \
  }
#define sb_push(c, v, x)                                                       \
  do {                                                                         \
    if ((v)->len == (v)->cap)                                                  \
      sb_vec_grow((c), (void **)&(v)->data, &(v)->cap, sizeof(*(v)->data),     \
                  (v)->len);                                                   \
    (v)->data[(v)->len++] = (x);                                               \
  } while (0)
/* Copies a vector into the module arena (NULL when empty). */
#define sb_finish(c, v)                                                        \
  ((v)->len ? ts_arena_memdup((c)->a, (v)->data,                               \
                              (size_t)(v)->len * sizeof(*(v)->data))           \
            : NULL)

typedef struct sb_ctx {
  ts_module *m;
  ts_arena *a;       /* module arena */
  ts_arena *scratch; /* freed when reading ends */
  const char *src;   /* source text (NUL-terminated) */
  const char *file;
  jmp_buf jb;
  ts_status *err;

  sb_sym *syms; /* heap, owned by the context */
  int n_syms, cap_syms;
  int n_globals;
  int fn_base;
  SB_VEC(sb_sym) fsyms; /* current function's symbolic variables */

  sb_func *funcs; /* heap */
  int n_funcs;
  const char *module_name; /* class name, NULL for a bare function */

  /* TIR: while > 0, unknown names in expressions declare a new variable of
   * implicit_dtype (shapes in annotations); implicit_strs: a string literal
   * names a variable too (R.Tensor(("n", 784))). */
  int implicit;
  ts_dtype implicit_dtype;
  bool implicit_strs;

  /* TIR: while reading parameter param_index of param_def (a def) */
  const py_stmt *param_def;
  int param_index;

  /* TIR: blocks whose regions are inferred once the function is built */
  SB_VEC(sb_pending_regions) infer_blocks;
  /* TIR: enclosing loops, innermost last (for T.axis.remap) */
  SB_VEC(ts_stmt *) loops;
} sb_ctx;

/* ---- errors ----------------------------------------------------------- */
TS_NORETURN void sb_fail(sb_ctx *c, ts_loc loc, ts_status_code code,
                         const char *fmt, ...) TS_PRINTF(4, 5);
/* Unwinds with a status made elsewhere; attaches the source line when the
 * status has a location in this file. */
TS_NORETURN void sb_raise(sb_ctx *c, ts_status *st);
/* Fails with a message holding the expression's text: fmt has one %s. */
TS_NORETURN void sb_fail_expr(sb_ctx *c, const py_expr *e, ts_status_code code,
                              const char *fmt);
ts_loc sb_loc(sb_ctx *c, ts_loc loc);

void sb_vec_grow(sb_ctx *c, void **data, int *cap, size_t elem, int len);

/* ---- names ------------------------------------------------------------- */
void sb_bind(sb_ctx *c, const char *name, sb_sym_kind kind, void *p);
/* Binds a symbolic variable for the whole current function. */
void sb_bind_fsym(sb_ctx *c, ts_var *v);
sb_sym *sb_lookup(sb_ctx *c, const char *name);
static inline int sb_scope_mark(sb_ctx *c) { return c->n_syms; }
static inline void sb_scope_pop(sb_ctx *c, int mark) { c->n_syms = mark; }

/* "T.axis.remap" for a chain of names and attributes whose root is not a
 * local name; "tvm.script.tir.x"/"tir.x" -> "T.x", "relax." -> "R.",
 * "ir." -> "I.".  NULL otherwise.  Scratch string. */
const char *sb_dotted(sb_ctx *c, const py_expr *e);
/* The suffix after `prefix` ("T.") when name starts with it, else NULL. */
static inline const char *sb_after(const char *name, const char *prefix) {
  size_t n = strlen(prefix);
  return name && strncmp(name, prefix, n) == 0 ? name + n : NULL;
}

/* ---- call arguments ----------------------------------------------------- */
/* Binds a call's arguments to parameter names (positional order).  out[i]
 * receives the argument or NULL.  The first n_required are required.
 * Errors: "F expects N arguments, got M", unexpected keywords, duplicates. */
void sb_args(sb_ctx *c, const py_expr *call, const char *fname,
             const char *const *names, int n_names, int n_required,
             py_expr **out);
/* Checks the positional count of a call with no keywords allowed unless
 * allow_kw. */
void sb_arity(sb_ctx *c, const py_expr *call, const char *fname, int min,
              int max);

/* ---- values -------------------------------------------------------------- */
/* A dtype from a string literal ("float32") or T.float32 / R.dtype(...). */
ts_dtype sb_dtype(sb_ctx *c, const py_expr *e);
/* Attribute values: literals, lists, dicts; otherwise a TIR expression. */
ts_attr_value *sb_attr_value(sb_ctx *c, const py_expr *e);
/* Adds the entries of a dict literal to `into` (new dict when NULL). */
ts_attrs *sb_attr_dict(sb_ctx *c, const py_expr *e, ts_attrs *into);
/* A Python int literal (with optional unary minus); false otherwise. */
bool sb_int_literal(const py_expr *e, int64_t *out);
const char *sb_str_literal(const py_expr *e); /* NULL when not a string */

/* ---- TIR expressions (build_tir.c) ------------------------------------- */
/* Builds a scalar expression.  A bare Python literal takes dtype `want`
 * when want.code != TS_VOID (else int32 / float32). */
ts_expr *sb_tir_expr(sb_ctx *c, const py_expr *e, ts_dtype want);
/* Builds a shape dimension in an annotation: unknown names (and strings
 * when strs) declare function-wide variables of var_dtype; literals get
 * lit_dtype. */
ts_expr *sb_shape_dim(sb_ctx *c, const py_expr *e, ts_dtype lit_dtype,
                      ts_dtype var_dtype, bool strs);
/* When `st` declares a symbolic variable (`n = T.int64()`, `T.int32()`,
 * `T.var("int64")`), returns true and sets *name and *dtype. */
bool sb_symvar_decl(sb_ctx *c, const py_stmt *st, const char **name,
                    ts_dtype *dtype);
/* Pre-declares the symbolic variables of a function body's top level. */
void sb_prescan_symvars(sb_ctx *c, const py_body *body);

/* ---- functions ------------------------------------------------------------
 */
void sb_build_primfunc(sb_ctx *c, sb_func *f);
void sb_build_gfunc(sb_ctx *c, sb_func *f);
/* Builds a graph function now if it is not built yet (calls to functions
 * defined later in the module need the callee's return struct info). */
void sb_ensure_gfunc(sb_ctx *c, sb_func *f);
/* Decorator keyword `name=` as a bool (default when absent). */
bool sb_decorator_flag(sb_ctx *c, const py_stmt *def, const char *name,
                       bool dflt);

/* Struct info as text for messages ("R.Tensor((1, 128), dtype=...)").
 * Scratch string. */
const char *sb_sinfo_str(sb_ctx *c, const ts_sinfo *s);

#endif
