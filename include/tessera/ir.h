/* ir.h: the IRModule and its four kinds of function.
 *
 * One IRModule holds named global functions of four kinds that call each
 * other: TensorIR functions (ts_primfunc), graph functions (ts_gfunc),
 * library functions (an extern name resolved in the runtime registry) and
 * hardware primitives (tensor intrinsics: a description/implementation
 * PrimFunc pair).
 *
 * Ownership: every node reachable from a module lives in that module's
 * arena (ts_module_arena).  Nodes are never freed one by one; a module and
 * all its nodes are freed together by ts_module_destroy.  A node may be
 * shared by several parents (the IR is a DAG of immutable-by-convention
 * nodes); a pass that changes a node builds a new one.  Variables and buffers
 * are identified by pointer: two `ts_var *` are the same variable iff the
 * pointers are equal (names are only for printing).
 *
 * Each node is a `kind` enum plus a union payload; the comment on every kind
 * names the union arm it uses.  Every node carries its source location. */
#ifndef TESSERA_IR_H
#define TESSERA_IR_H

#include "tessera/base.h"

typedef struct ts_module ts_module;
typedef struct ts_expr ts_expr;
typedef struct ts_stmt ts_stmt;
typedef struct ts_var ts_var;
typedef struct ts_buffer ts_buffer;
typedef struct ts_block ts_block;
typedef struct ts_primfunc ts_primfunc;
typedef struct ts_sinfo ts_sinfo;
typedef struct ts_gexpr ts_gexpr;
typedef struct ts_gvar ts_gvar;
typedef struct ts_gfunc ts_gfunc;
typedef struct ts_attrs ts_attrs;
typedef struct ts_attr_value ts_attr_value;

/* ======================================================================
 * Attribute values: function attributes, block/loop annotations and op
 * attributes (`strides=[1, 1]`, `axis=-1`, `{"global_symbol": "main"}`).
 * ====================================================================== */

typedef enum ts_attr_kind {
  TS_ATTR_NONE,  /* Python None: no payload */
  TS_ATTR_BOOL,  /* i (0/1) */
  TS_ATTR_INT,   /* i */
  TS_ATTR_FLOAT, /* f */
  TS_ATTR_STR,   /* s */
  TS_ATTR_LIST,  /* list.items[list.n] */
  TS_ATTR_DICT,  /* dict */
  TS_ATTR_EXPR,  /* expr: a TIR expression (symbolic value, T.int64(3)) */
  TS_ATTR_DTYPE, /* dtype (written as a string in the source) */
} ts_attr_kind;

struct ts_attr_value {
  ts_attr_kind kind;
  union {
    int64_t i;
    double f;
    const char *s;
    struct {
      ts_attr_value **items;
      int n;
    } list;
    ts_attrs *dict;
    ts_expr *expr;
    ts_dtype dtype;
  } u;
};

/* An ordered dictionary from string keys to values; order is insertion order
 * (the printer prints keys sorted, as TVM does). */
struct ts_attrs {
  int n;
  const char **keys;
  ts_attr_value **values;
};

/* ======================================================================
 * TensorIR scalar expressions
 * ====================================================================== */

/* Intrinsic calls.  X(enum-suffix, printed name, number of args (-1: any)) */
#define TS_INTRINSICS(X)                                                       \
  X(EXP, "exp", 1)                                                             \
  X(EXP2, "exp2", 1)                                                           \
  X(LOG, "log", 1)                                                             \
  X(LOG2, "log2", 1)                                                           \
  X(LOG1P, "log1p", 1)                                                         \
  X(SQRT, "sqrt", 1)                                                           \
  X(RSQRT, "rsqrt", 1)                                                         \
  X(TANH, "tanh", 1)                                                           \
  X(SIGMOID, "sigmoid", 1)                                                     \
  X(ERF, "erf", 1)                                                             \
  X(POW, "pow", 2)                                                             \
  X(FABS, "fabs", 1)                                                           \
  X(FLOOR, "floor", 1)                                                         \
  X(CEIL, "ceil", 1)                                                           \
  X(ROUND, "round", 1)                                                         \
  X(TRUNC, "trunc", 1)                                                         \
  X(NEARBYINT, "nearbyint", 1)                                                 \
  X(SIN, "sin", 1)                                                             \
  X(COS, "cos", 1)                                                             \
  X(TAN, "tan", 1)                                                             \
  X(ASIN, "asin", 1)                                                           \
  X(ACOS, "acos", 1)                                                           \
  X(ATAN, "atan", 1)                                                           \
  X(SINH, "sinh", 1)                                                           \
  X(COSH, "cosh", 1)                                                           \
  X(ASINH, "asinh", 1)                                                         \
  X(ACOSH, "acosh", 1)                                                         \
  X(ATANH, "atanh", 1)                                                         \
  X(ATAN2, "atan2", 2)                                                         \
  X(FMOD, "fmod", 2)                                                           \
  X(ISNAN, "isnan", 1)                                                         \
  X(ISINF, "isinf", 1)                                                         \
  X(ISFINITE, "isfinite", 1)                                                   \
  X(ABS, "abs", 1)                                                             \
  X(IF_THEN_ELSE, "if_then_else", 3)                                           \
  X(BITWISE_AND, "bitwise_and", 2)                                             \
  X(BITWISE_OR, "bitwise_or", 2)                                               \
  X(BITWISE_XOR, "bitwise_xor", 2)                                             \
  X(BITWISE_NOT, "bitwise_not", 1)                                             \
  X(SHIFT_LEFT, "shift_left", 2)                                               \
  X(SHIFT_RIGHT, "shift_right", 2)                                             \
  X(LIKELY, "likely", 1)                                                       \
  X(CALL_EXTERN, "call_extern", -1)

typedef enum ts_intrin {
#define X(e, n, a) TS_INTRIN_##e,
  TS_INTRINSICS(X)
#undef X
      TS_INTRIN_COUNT
} ts_intrin;
const char *ts_intrin_name(ts_intrin op);
int ts_intrin_arity(ts_intrin op);
/* Looks an intrinsic up by its printed name; false when unknown. */
bool ts_intrin_lookup(const char *name, ts_intrin *out);

typedef enum ts_expr_kind {
  TS_E_INT,   /* int_value: integer or bool immediate (dtype says which) */
  TS_E_FLOAT, /* float_value */
  TS_E_STR,   /* str: string immediate (only as a call_extern argument) */
  TS_E_VAR,   /* var */
  /* binary arithmetic, comparison and logic: bin */
  TS_E_ADD,
  TS_E_SUB,
  TS_E_MUL,
  TS_E_DIV, /* truncating for ints (T.truncdiv), true division for floats */
  TS_E_MOD, /* truncating modulo (T.truncmod) */
  TS_E_FLOORDIV,
  TS_E_FLOORMOD,
  TS_E_MIN,
  TS_E_MAX,
  TS_E_EQ,
  TS_E_NE,
  TS_E_LT,
  TS_E_LE,
  TS_E_GT,
  TS_E_GE,
  TS_E_AND,
  TS_E_OR,
  TS_E_NOT,       /* unary.a */
  TS_E_SELECT,    /* select: cond ? t : f, both arms evaluated */
  TS_E_CAST,      /* unary.a converted to dtype */
  TS_E_LOAD,      /* load: buffer[indices] */
  TS_E_CALL,      /* call: intrinsic(args) */
  TS_E_LET,       /* let: var = value in body */
  TS_E_RAMP,      /* ramp: base + i*stride, i < lanes (vector, lowering) */
  TS_E_BROADCAST, /* unary.a repeated dtype.lanes times */
} ts_expr_kind;

/* True for TS_E_ADD .. TS_E_OR (the `bin` arm). */
static inline bool ts_expr_kind_is_binary(ts_expr_kind k) {
  return k >= TS_E_ADD && k <= TS_E_OR;
}

struct ts_expr {
  ts_expr_kind kind;
  ts_dtype dtype;
  ts_loc loc;
  union {
    int64_t int_value;
    double float_value;
    const char *str;
    ts_var *var;
    struct {
      ts_expr *a, *b;
    } bin;
    struct {
      ts_expr *a;
    } unary;
    struct {
      ts_expr *cond, *t, *f;
    } select;
    struct {
      ts_buffer *buffer;
      ts_expr **indices;
      int n;
    } load;
    struct {
      ts_intrin op;
      ts_expr **args;
      int n;
    } call;
    struct {
      ts_var *var;
      ts_expr *value, *body;
    } let;
    struct {
      ts_expr *base, *stride;
    } ramp;
  } u;
};

/* A scalar variable: loop variable, block iteration variable, symbolic
 * dimension (int64), scalar function parameter, let-bound value, or the data
 * handle of a buffer parameter (dtype handle). */
struct ts_var {
  const char *name;
  ts_dtype dtype;
  ts_loc loc;
};

/* A multi-dimensional buffer.  `shape` may hold symbolic expressions.
 * `strides` is NULL for a compact row-major buffer.  `scope` is "global"
 * unless set ("local", "shared", ...). */
struct ts_buffer {
  const char *name;
  ts_dtype dtype;
  int ndim;
  ts_expr **shape;
  ts_expr **strides; /* NULL or ndim entries */
  ts_expr *elem_offset; /* NULL means 0 */
  const char *scope;
  int align;         /* bytes; 0 = default (64) */
  int offset_factor; /* 0 = default */
  ts_var *data;      /* the handle variable (may be NULL before lowering) */
  ts_loc loc;
};

/* A region of a buffer: buffer[min0 : min0+extent0, ...]. */
typedef struct ts_range {
  ts_expr *min, *extent;
} ts_range;

typedef struct ts_region {
  ts_buffer *buffer;
  ts_range *ranges; /* buffer->ndim entries */
  int n;
} ts_region;

/* ======================================================================
 * TensorIR statements
 * ====================================================================== */

typedef enum ts_for_kind {
  TS_FOR_SERIAL,
  TS_FOR_PARALLEL,
  TS_FOR_VECTORIZED,
  TS_FOR_UNROLLED,
  TS_FOR_THREAD_BINDING, /* thread_tag names the axis ("threadIdx.x") */
} ts_for_kind;

typedef enum ts_iter_type {
  TS_ITER_SPATIAL,   /* "S" */
  TS_ITER_REDUCE,    /* "R" */
  TS_ITER_SCAN,      /* scan */
  TS_ITER_OPAQUE,    /* opaque */
} ts_iter_type;

typedef struct ts_iter_var {
  ts_var *var;
  ts_range dom;
  ts_iter_type type;
} ts_iter_var;

/* `buffer = T.match_buffer(source_region, shape...)` inside a block. */
typedef struct ts_match_buffer {
  ts_buffer *buffer;
  ts_region source;
} ts_match_buffer;

/* The TensorIR unit of computation.  Iteration variables are bound to values
 * by the enclosing TS_S_BLOCK_REALIZE. */
struct ts_block {
  const char *name;
  ts_iter_var *iter_vars;
  int n_iter_vars;
  ts_region *reads;
  int n_reads;
  ts_region *writes;
  int n_writes;
  ts_stmt *init; /* NULL when the block has no T.init() */
  ts_buffer **alloc_buffers;
  int n_alloc_buffers;
  ts_match_buffer *match_buffers;
  int n_match_buffers;
  ts_attrs *annotations; /* T.block_attr; NULL when none */
  ts_stmt *body;
  /* true when reads/writes were written in the source (false: inferred) */
  bool explicit_regions;
  ts_loc loc;
};

typedef enum ts_stmt_kind {
  TS_S_SEQ,           /* seq: statements in order */
  TS_S_FOR,           /* for_ */
  TS_S_BLOCK_REALIZE, /* realize: block with its binding values */
  TS_S_STORE,         /* store: buffer[indices] = value */
  TS_S_IF,            /* if_: then/else (else may be NULL) */
  TS_S_LET,           /* let: var = value in body */
  TS_S_EVALUATE,      /* eval: expression for its effect */
  TS_S_ALLOCATE,      /* alloc: buffer allocated for body (lowered code) */
  TS_S_ASSERT,        /* assert_: cond, message, body */
} ts_stmt_kind;

struct ts_stmt {
  ts_stmt_kind kind;
  ts_loc loc;
  union {
    struct {
      ts_stmt **stmts;
      int n;
    } seq;
    struct {
      ts_var *var;
      ts_expr *min, *extent;
      ts_for_kind kind;
      const char *thread_tag; /* TS_FOR_THREAD_BINDING only */
      ts_attrs *annotations;  /* NULL when none */
      ts_stmt *body;
    } for_;
    struct {
      ts_expr **iter_values; /* block->n_iter_vars entries */
      ts_expr *predicate;    /* NULL means true */
      ts_block *block;
    } realize;
    struct {
      ts_buffer *buffer;
      ts_expr **indices;
      int n;
      ts_expr *value;
    } store;
    struct {
      ts_expr *cond;
      ts_stmt *then_s, *else_s;
    } if_;
    struct {
      ts_var *var;
      ts_expr *value;
      ts_stmt *body;
    } let;
    struct {
      ts_expr *value;
    } eval;
    struct {
      ts_buffer *buffer;
      ts_stmt *body;
    } alloc;
    struct {
      ts_expr *cond;
      const char *message;
      ts_stmt *body;
    } assert_;
  } u;
};

/* A parameter of a PrimFunc: a scalar variable, or a handle with a buffer
 * bound to it (`A: T.Buffer(...)`, or `a: T.handle` + `T.match_buffer`). */
typedef struct ts_param {
  ts_var *var;
  ts_buffer *buffer; /* NULL for a scalar parameter */
  /* true when written `a: T.handle` with `A = T.match_buffer(a, ...)` */
  bool via_match_buffer;
} ts_param;

/* A TensorIR function.  `body` is the root block's realize when the function
 * is written with blocks (the root block is implicit in the source). */
struct ts_primfunc {
  const char *name;
  ts_param *params;
  int n_params;
  ts_attrs *attrs; /* T.func_attr; NULL when none */
  ts_stmt *body;
  bool is_private;
  ts_loc loc;
};

/* ======================================================================
 * Graph level: struct info and expressions
 * ====================================================================== */

typedef enum ts_sinfo_kind {
  TS_SI_OBJECT, /* R.Object: anything */
  TS_SI_PRIM,   /* prim: R.Prim("int64"), optional known value */
  TS_SI_SHAPE,  /* shape: R.Shape([n, 4]) or R.Shape(ndim=2) */
  TS_SI_TENSOR, /* tensor: R.Tensor((n, 4), "float32") */
  TS_SI_TUPLE,  /* tuple: R.Tuple(a, b) */
  TS_SI_FUNC,   /* func: R.Callable (opaque) */
} ts_sinfo_kind;

struct ts_sinfo {
  ts_sinfo_kind kind;
  union {
    struct {
      ts_dtype dtype;
      ts_expr *value; /* NULL when unknown */
    } prim;
    struct {
      int ndim;          /* -1: unknown */
      ts_expr **values;  /* NULL when only ndim is known */
    } shape;
    struct {
      int ndim;          /* -1: unknown rank */
      ts_expr **shape;   /* NULL when the shape is unknown */
      ts_dtype dtype;    /* code TS_VOID: unknown dtype */
    } tensor;
    struct {
      ts_sinfo **fields;
      int n;
    } tuple;
  } u;
};

typedef enum ts_gexpr_kind {
  TS_G_VAR,        /* var */
  TS_G_CONST,      /* constant: a tensor held in the module */
  TS_G_TUPLE,      /* tuple */
  TS_G_TUPLE_GET,  /* tuple_get */
  TS_G_CALL,       /* call */
  TS_G_SHAPE,      /* shape: R.shape([n, 4]) */
  TS_G_PRIM,       /* prim: R.prim_value(expr) */
  TS_G_STR,        /* str: R.str("...") */
  TS_G_DTYPE,      /* dtype: R.dtype("float32") */
  TS_G_GLOBAL,     /* global_name: a function of this module (cls.f) */
  TS_G_EXTERN,     /* extern_name: a library function ("env.linear") */
} ts_gexpr_kind;

/* A graph variable.  `sinfo` is the variable's struct info (annotated or
 * inferred).  Dataflow variables are only visible inside their block. */
struct ts_gvar {
  const char *name;
  ts_sinfo *sinfo;
  bool is_dataflow;
  ts_loc loc;
};

/* Callee of a TS_G_CALL. */
typedef enum ts_callee_kind {
  TS_CALLEE_OP,     /* op: an operator of the op registry (see ops.h) */
  TS_CALLEE_GLOBAL, /* name: a function of the module */
  TS_CALLEE_EXTERN, /* name: a library function */
} ts_callee_kind;

/* Constant tensor data: owned by the module arena (64-byte aligned). */
typedef struct ts_const_data {
  ts_dtype dtype;
  int ndim;
  int64_t *shape;
  void *data;
  size_t nbytes;
  const char *name; /* "metadata" name for printing, may be NULL */
} ts_const_data;

struct ts_gexpr {
  ts_gexpr_kind kind;
  ts_sinfo *sinfo; /* inferred struct info; may be NULL before inference */
  ts_loc loc;
  union {
    ts_gvar *var;
    ts_const_data *constant;
    struct {
      ts_gexpr **fields;
      int n;
    } tuple;
    struct {
      ts_gexpr *tuple;
      int index;
    } tuple_get;
    struct {
      ts_callee_kind callee_kind;
      int op;           /* TS_CALLEE_OP: op id */
      const char *name; /* GLOBAL/EXTERN: function name */
      ts_gexpr **args;
      int n_args;
      ts_attrs *attrs;  /* op attributes; NULL when none */
      ts_sinfo **sinfo_args; /* e.g. call_tir's out_sinfo */
      int n_sinfo_args;
    } call;
    struct {
      ts_expr **values;
      int n;
    } shape;
    ts_expr *prim;
    const char *str;
    ts_dtype dtype;
    const char *global_name;
    const char *extern_name;
  } u;
};

typedef enum ts_binding_kind {
  TS_BIND_VAR,        /* var = value */
  TS_BIND_MATCH_CAST, /* var = R.match_cast(value, sinfo) */
} ts_binding_kind;

typedef struct ts_binding {
  ts_binding_kind kind;
  ts_gvar *var;
  ts_gexpr *value;
  ts_sinfo *match_sinfo; /* TS_BIND_MATCH_CAST only */
  ts_loc loc;
} ts_binding;

typedef struct ts_binding_block {
  bool is_dataflow;
  ts_binding *bindings;
  int n;
  /* Dataflow blocks: the variables named in R.output(...) */
  ts_gvar **outputs;
  int n_outputs;
  ts_loc loc;
} ts_binding_block;

/* A graph function: params, binding blocks in order, then the returned
 * expression. */
struct ts_gfunc {
  const char *name;
  ts_gvar **params;
  int n_params;
  ts_sinfo *ret_sinfo; /* NULL when not annotated */
  ts_binding_block *blocks;
  int n_blocks;
  ts_gexpr *result;
  ts_attrs *attrs; /* R.func_attr; NULL when none */
  bool is_pure;
  bool is_private;
  ts_loc loc;
};

/* ======================================================================
 * The module
 * ====================================================================== */

typedef enum ts_func_kind {
  TS_FUNC_PRIM,   /* prim */
  TS_FUNC_GRAPH,  /* graph */
  TS_FUNC_EXTERN, /* extern_name: library function declared in the module */
} ts_func_kind;

typedef struct ts_func {
  ts_func_kind kind;
  const char *name;
  union {
    ts_primfunc *prim;
    ts_gfunc *graph;
    const char *extern_name;
  } u;
} ts_func;

/* A hardware primitive: `desc` describes what the intrinsic computes (a
 * TensorIR function), `impl` how (a TensorIR function calling the
 * micro-kernel).  Used by tensorize. */
typedef struct ts_tensor_intrin {
  const char *name;
  ts_primfunc *desc;
  ts_primfunc *impl;
} ts_tensor_intrin;

struct ts_module {
  ts_arena *arena;
  const char *name; /* class name in the source ("MyModule"); may be NULL */
  ts_func *funcs;   /* in source order */
  int n_funcs;
  int cap_funcs;
  ts_tensor_intrin *intrins;
  int n_intrins;
  int cap_intrins;
  ts_attrs *attrs; /* I.module_attrs; NULL when none */
  /* source text kept for diagnostics (NULL when built programmatically) */
  const char *source_name;
  const char *source_text;
};

/* ---- module ---------------------------------------------------------------- */

ts_module *ts_module_create(void);
void ts_module_destroy(ts_module *m);
ts_arena *ts_module_arena(ts_module *m);
/* Adds a function; returns an error naming `name` when it already exists. */
ts_status *ts_module_add(ts_module *m, ts_func f, ts_loc loc);
/* Replaces the function of that name (adds it when missing). */
void ts_module_set(ts_module *m, ts_func f);
/* NULL when absent. */
ts_func *ts_module_lookup(ts_module *m, const char *name);
ts_primfunc *ts_module_primfunc(ts_module *m, const char *name);
ts_gfunc *ts_module_gfunc(ts_module *m, const char *name);
void ts_module_remove(ts_module *m, const char *name);
void ts_module_add_intrin(ts_module *m, ts_tensor_intrin in);
/* Deep copy into a fresh module (variables and buffers are renewed
 * consistently).  Used by transformations that must not touch their input. */
ts_module *ts_module_copy(const ts_module *m);

/* ---- expression builders (arena-allocated in m) ----------------------------
 */
ts_var *ts_var_new(ts_arena *a, const char *name, ts_dtype t, ts_loc loc);
ts_expr *ts_int(ts_arena *a, ts_dtype t, int64_t v);
ts_expr *ts_float(ts_arena *a, ts_dtype t, double v);
ts_expr *ts_bool(ts_arena *a, bool v);
ts_expr *ts_varref(ts_arena *a, ts_var *v);
/* Binary node; dtype is a's dtype for arithmetic, bool for comparisons. */
ts_expr *ts_binary(ts_arena *a, ts_expr_kind k, ts_expr *x, ts_expr *y);
ts_expr *ts_not(ts_arena *a, ts_expr *x);
ts_expr *ts_select(ts_arena *a, ts_expr *c, ts_expr *t, ts_expr *f);
ts_expr *ts_cast(ts_arena *a, ts_dtype t, ts_expr *x);
ts_expr *ts_load(ts_arena *a, ts_buffer *b, ts_expr **idx, int n);
ts_expr *ts_call(ts_arena *a, ts_dtype t, ts_intrin op, ts_expr **args, int n);
ts_expr *ts_let_expr(ts_arena *a, ts_var *v, ts_expr *value, ts_expr *body);
/* Copies a node (shallow) into a new arena node. */
ts_expr *ts_expr_clone(ts_arena *a, const ts_expr *e);

ts_buffer *ts_buffer_new(ts_arena *a, const char *name, ts_dtype t, int ndim,
                         ts_expr **shape);

ts_stmt *ts_stmt_new(ts_arena *a, ts_stmt_kind k, ts_loc loc);
/* A sequence; flattens nested sequences and returns the single statement
 * when n == 1. */
ts_stmt *ts_seq(ts_arena *a, ts_stmt **stmts, int n);

ts_sinfo *ts_sinfo_new(ts_arena *a, ts_sinfo_kind k);
ts_sinfo *ts_sinfo_tensor(ts_arena *a, ts_expr **shape, int ndim, ts_dtype t);
ts_gexpr *ts_gexpr_new(ts_arena *a, ts_gexpr_kind k, ts_loc loc);

/* ---- attributes --------------------------------------------------------------
 */
ts_attrs *ts_attrs_new(ts_arena *a);
void ts_attrs_set(ts_arena *a, ts_attrs *d, const char *key, ts_attr_value *v);
/* NULL when absent (or d is NULL). */
ts_attr_value *ts_attrs_get(const ts_attrs *d, const char *key);
ts_attr_value *ts_attr_int(ts_arena *a, int64_t v);
ts_attr_value *ts_attr_float(ts_arena *a, double v);
ts_attr_value *ts_attr_str(ts_arena *a, const char *s);
ts_attr_value *ts_attr_bool(ts_arena *a, bool v);

/* ---- structural equality and hashing -------------------------------------- */

/* Structural equality modulo variable and buffer renaming: a variable defined
 * in `a` maps to the variable defined at the same place in `b`.  On
 * inequality, when out_diff is non-NULL it receives a heap string describing
 * the first difference (caller frees). */
bool ts_module_equal(const ts_module *a, const ts_module *b, char **out_diff);
bool ts_primfunc_equal(const ts_primfunc *a, const ts_primfunc *b,
                       char **out_diff);
bool ts_gfunc_equal(const ts_gfunc *a, const ts_gfunc *b, char **out_diff);
/* Hash consistent with equality (equal modules hash equally). */
uint64_t ts_module_hash(const ts_module *m);
uint64_t ts_primfunc_hash(const ts_primfunc *f);

/* ---- analyses -------------------------------------------------------------- */

/* Infers a block's reads/writes regions from its body and init (as TVM does
 * when the source omits T.reads/T.writes): the hull of every access to each
 * buffer, expressed over the block's iteration variables; buffers allocated
 * inside the block are excluded; a buffer both read and written appears in
 * both lists.  Sets block->reads/writes (explicit_regions stays false). */
void ts_block_infer_regions(ts_arena *a, ts_block *block);

/* ---- verifier --------------------------------------------------------------- */

/* Checks the well-formedness rules (undefined variables, rank/dtype of buffer
 * accesses, block binding arity, loop variable misuse, struct info of calls,
 * calls to missing functions).  The first violation is returned with the
 * location of the offending node. */
ts_status *ts_module_verify(ts_module *m);

#endif
