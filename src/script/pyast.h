/* pyast.h: the Python-subset syntax tree shared by the TVMScript reader
 * (script/builder.c) and the schedule-script reader (schedule/trace_parse.c).
 *
 * The subset: decorators, classes, defs (annotated params with defaults,
 * return annotations), with, for, while, if/elif/else, return, pass, assert,
 * import/from-import (kept, ignored by readers), assignments with tuple
 * unpacking, annotated and augmented assignments, expression statements;
 * expressions with Python's precedence: lambda, conditional expression, or,
 * and, not, comparisons (chains), |, ^, &, <<, >>, + -, * / // % @, unary
 * - + ~, **, await-free primaries: names, numbers, strings (single, double,
 * triple-quoted, adjacent concatenation, r/b prefixes), None/True/False,
 * attribute access, calls with positional, keyword, *args, subscripts with
 * slices and tuples, tuples, lists, dicts, parentheses.  Comments and blank
 * lines are ignored; indentation follows Python's INDENT/DEDENT rules;
 * newlines inside brackets are joined.
 *
 * All nodes live in the arena passed to py_parse. */
#ifndef TESSERA_SCRIPT_PYAST_H
#define TESSERA_SCRIPT_PYAST_H

#include "tessera/base.h"

typedef struct py_expr py_expr;
typedef struct py_stmt py_stmt;

typedef enum py_expr_kind {
  PY_NAME,     /* name */
  PY_INT,      /* int_value (fits int64; larger literals are errors) */
  PY_FLOAT,    /* float_value */
  PY_STR,      /* str (escape sequences decoded) */
  PY_NONE,     /* no payload */
  PY_TRUE,     /* no payload */
  PY_FALSE,    /* no payload */
  PY_ATTR,     /* attr: value.name */
  PY_CALL,     /* call: func(args..., kw=...) */
  PY_SUBSCRIPT,/* subscript: value[index]; a tuple index is a PY_TUPLE */
  PY_SLICE,    /* slice: lo:hi:step, each may be NULL (inside subscripts) */
  PY_TUPLE,    /* seq */
  PY_LIST,     /* seq */
  PY_DICT,     /* dict */
  PY_BINOP,    /* binop */
  PY_UNARYOP,  /* unary */
  PY_COMPARE,  /* compare: chain left op0 c0 op1 c1 ... */
  PY_BOOLOP,   /* boolop: and/or over values (n >= 2) */
  PY_IFEXP,    /* ifexp: body if cond else orelse */
  PY_LAMBDA,   /* lambda_: params and body */
  PY_STARRED,  /* unary.operand: *x in calls and tuples */
} py_expr_kind;

typedef enum py_op {
  PY_OP_ADD, PY_OP_SUB, PY_OP_MUL, PY_OP_DIV, PY_OP_FLOORDIV, PY_OP_MOD,
  PY_OP_POW, PY_OP_MATMUL, PY_OP_LSHIFT, PY_OP_RSHIFT, PY_OP_BITOR,
  PY_OP_BITXOR, PY_OP_BITAND,
  /* unary */
  PY_OP_NEG, PY_OP_POS, PY_OP_INVERT, PY_OP_NOT,
  /* comparison */
  PY_OP_EQ, PY_OP_NE, PY_OP_LT, PY_OP_LE, PY_OP_GT, PY_OP_GE, PY_OP_IN,
  PY_OP_NOT_IN, PY_OP_IS, PY_OP_IS_NOT,
  /* boolean */
  PY_OP_AND, PY_OP_OR,
} py_op;

/* The source spelling of an operator ("+", "//", "not in", ...). */
const char *py_op_str(py_op op);

typedef struct py_keyword {
  const char *name; /* NULL for **kwargs (value is the mapping) */
  py_expr *value;
  ts_loc loc;
} py_keyword;

struct py_expr {
  py_expr_kind kind;
  ts_loc loc; /* where the expression starts */
  union {
    const char *name;
    int64_t int_value;
    double float_value;
    const char *str;
    struct {
      py_expr *value;
      const char *name;
    } attr;
    struct {
      py_expr *func;
      py_expr **args;
      int n_args;
      py_keyword *kwargs;
      int n_kwargs;
    } call;
    struct {
      py_expr *value, *index;
    } subscript;
    struct {
      py_expr *lo, *hi, *step;
    } slice;
    struct {
      py_expr **items;
      int n;
    } seq;
    struct {
      py_expr **keys, **values;
      int n;
    } dict;
    struct {
      py_op op;
      py_expr *left, *right;
    } binop;
    struct {
      py_op op;
      py_expr *operand;
    } unary;
    struct {
      py_expr *left;
      py_op *ops;
      py_expr **comparators;
      int n;
    } compare;
    struct {
      py_op op; /* PY_OP_AND or PY_OP_OR */
      py_expr **values;
      int n;
    } boolop;
    struct {
      py_expr *cond, *body, *orelse;
    } ifexp;
    struct {
      const char **params;
      int n_params;
      py_expr *body;
    } lambda_;
  } u;
};

typedef struct py_param {
  const char *name;
  py_expr *annotation; /* may be NULL */
  py_expr *default_value; /* may be NULL */
  ts_loc loc;
} py_param;

typedef struct py_body {
  py_stmt **stmts;
  int n;
} py_body;

typedef struct py_with_item {
  py_expr *context;
  py_expr *target; /* `as` target, may be NULL */
} py_with_item;

typedef enum py_stmt_kind {
  PY_S_EXPR,      /* expr.value */
  PY_S_ASSIGN,    /* assign: targets[0] = targets[1] = ... = value */
  PY_S_ANNASSIGN, /* annassign: target: annotation (= value, may be NULL) */
  PY_S_AUGASSIGN, /* augassign: target op= value */
  PY_S_FOR,       /* for_ */
  PY_S_WHILE,     /* while_ */
  PY_S_IF,        /* if_: elif chains are nested ifs in orelse */
  PY_S_WITH,      /* with */
  PY_S_DEF,       /* def */
  PY_S_CLASS,     /* class_ */
  PY_S_RETURN,    /* expr.value (may be NULL) */
  PY_S_PASS,      /* no payload */
  PY_S_ASSERT,    /* assert_ */
  PY_S_IMPORT,    /* import_: import/from-import, text kept for messages */
  PY_S_BREAK,     /* no payload */
  PY_S_CONTINUE,  /* no payload */
} py_stmt_kind;

struct py_stmt {
  py_stmt_kind kind;
  ts_loc loc;
  union {
    struct {
      py_expr *value;
    } expr;
    struct {
      py_expr **targets;
      int n_targets;
      py_expr *value;
    } assign;
    struct {
      py_expr *target, *annotation, *value;
    } annassign;
    struct {
      py_expr *target;
      py_op op;
      py_expr *value;
    } augassign;
    struct {
      py_expr *target, *iter;
      py_body body;
    } for_;
    struct {
      py_expr *cond;
      py_body body;
    } while_;
    struct {
      py_expr *cond;
      py_body body, orelse;
    } if_;
    struct {
      py_with_item *items;
      int n_items;
      py_body body;
    } with;
    struct {
      const char *name;
      py_expr **decorators;
      int n_decorators;
      py_param *params;
      int n_params;
      py_expr *returns; /* may be NULL */
      py_body body;
    } def;
    struct {
      const char *name;
      py_expr **decorators;
      int n_decorators;
      py_expr **bases;
      int n_bases;
      py_body body;
    } class_;
    struct {
      py_expr *cond, *msg;
    } assert_;
    struct {
      const char *module; /* "tvm.script" */
    } import_;
  } u;
};

/* Parses `src` (len bytes, need not be NUL-terminated) named `filename` into
 * a module body.  On a syntax error returns a TS_ERR_SYNTAX status
 * "file:line:col: message" with the source line attached; nothing is
 * returned in *out. */
ts_status *py_parse(ts_arena *a, const char *src, size_t len,
                    const char *filename, py_body *out);

/* Renders an expression back as Python text (for messages and tests). */
char *py_expr_to_string(const py_expr *e); /* heap; caller frees */

/* Makes a status at `loc` with the source line of `src` attached (used by
 * every reader of this AST for its own errors). */
ts_status *py_error_at(const char *src, ts_loc loc, ts_status_code code,
                       const char *fmt, ...) TS_PRINTF(4, 5);

#endif
