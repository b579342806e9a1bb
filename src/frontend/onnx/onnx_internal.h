/* onnx_internal.h: shared state of the ONNX importer (onnx_import.c: model,
 * tensors, values, building calls, folding, errors) and its converters
 * (onnx_ops.c: one function per ONNX op type).
 *
 * Errors unwind: ox_fail formats the message with the model path and the
 * current node, stores it in the context and longjmps to the entry point,
 * which turns it into a status and frees everything.  So every allocation
 * between the jump buffer's set and a failure lives in the module arena
 * (freed with the module) or is freed by the entry point (the parsed
 * protobuf, the binding vector). */
#ifndef TESSERA_FRONTEND_ONNX_INTERNAL_H
#define TESSERA_FRONTEND_ONNX_INTERNAL_H

#include <setjmp.h>

#include "onnx.pb-c.h"
#include "ops/ops.h"
#include "tessera/frontend.h"

/* A string-keyed hash table in the module arena (open addressing). */
typedef struct ox_map {
  const char **keys;
  void **vals;
  size_t cap, n;
} ox_map;

typedef struct ox_ctx {
  ts_module *m;
  ts_arena *a;
  const char *path; /* for messages */
  int64_t opset;    /* of the default domain */
  jmp_buf jb;
  ts_status *err;
  const Onnx__NodeProto *node; /* the node being converted (NULL: none) */
  int node_index;
  ox_map values; /* ONNX value name -> ts_gexpr* (var ref or constant) */
  ox_map names;  /* printed variable names in use */
  ox_map syms;   /* dim_param -> ts_var* */
  TS_VEC(ts_binding) binds; /* the dataflow block, heap (freed by entry) */
  const char *hint; /* base name for the variables a node binds */
  int n_anon_dims;
} ox_ctx;

/* ---- errors ------------------------------------------------------------ */

/* Fails the import: "<path>: node '<name>' (<op>, opset N): <message>" (or
 * "<path>: <message>" outside of a node). */
TS_NORETURN void ox_fail(ox_ctx *c, ts_status_code code, const char *fmt, ...)
    TS_PRINTF(3, 4);
/* "<path>: unsupported operator '<op>' (node '<name>', opset N)<extra>". */
TS_NORETURN void ox_unsupported_op(ox_ctx *c, const char *extra);

/* ---- the current node --------------------------------------------------- */

/* Number of inputs (trailing empty names included). */
int ox_n_inputs(ox_ctx *c);
/* Input i's value, or NULL when absent (beyond the list, or ""). */
ts_gexpr *ox_in(ox_ctx *c, int i);
/* Input i, required: fails naming it when absent. */
ts_gexpr *ox_in_req(ox_ctx *c, int i);
int ox_n_outputs(ox_ctx *c);
/* Binds output k (ignored when that output is unused, "" name). */
void ox_out(ox_ctx *c, int k, ts_gexpr *e);

/* Attributes: NULL/default when absent; a wrong attribute type fails. */
const Onnx__AttributeProto *ox_attr(ox_ctx *c, const char *name);
int64_t ox_attr_int(ox_ctx *c, const char *name, int64_t def);
double ox_attr_float(ox_ctx *c, const char *name, double def);
const char *ox_attr_str(ox_ctx *c, const char *name, const char *def);
/* Ints attribute: *n entries (arena copy); NULL (and *n = 0) when absent. */
int64_t *ox_attr_ints(ox_ctx *c, const char *name, int *n);
float *ox_attr_floats(ox_ctx *c, const char *name, int *n);

/* ---- values ------------------------------------------------------------- */

/* Tensor struct info accessors (the value must be a tensor: fails otherwise). */
const ts_sinfo *ox_tensor(ox_ctx *c, ts_gexpr *e, const char *what);
int ox_ndim(ox_ctx *c, ts_gexpr *e);       /* fails when the rank is unknown */
ts_expr **ox_shape(ox_ctx *c, ts_gexpr *e); /* fails when the shape is unknown */
ts_dtype ox_dtype(ox_ctx *c, ts_gexpr *e);
/* True with the dims in out[] when every dimension is a constant. */
bool ox_static_shape(ox_ctx *c, ts_gexpr *e, int64_t *out);

/* Constants. */
bool ox_is_const(const ts_gexpr *e);
ts_gexpr *ox_const_new(ox_ctx *c, ts_dtype t, int ndim, const int64_t *shape,
                       const void *data); /* data NULL: zeros */
ts_gexpr *ox_const_scalar(ox_ctx *c, ts_dtype t, double v);
ts_gexpr *ox_const_i64(ox_ctx *c, const int64_t *v, int n); /* 1-D */
/* Same data, new shape (numel must match). */
ts_gexpr *ox_const_reshape(ox_ctx *c, ts_gexpr *k, int ndim,
                           const int64_t *shape);
int64_t ox_const_numel(const ts_gexpr *k);
double ox_const_get_f64(const ts_gexpr *k, int64_t i);
int64_t ox_const_get_i64(const ts_gexpr *k, int64_t i);
void ox_const_set_f64(ts_gexpr *k, int64_t i, double v);
/* A constant input's values as int64 (arena); fails naming `what` when the
 * value is not known at import time. */
int64_t *ox_const_ints(ox_ctx *c, ts_gexpr *e, const char *what, int *n);

/* An initializer or a Constant's tensor as a constant; `what` names it in
 * errors (bad sizes, external data, unsupported element types). */
ts_gexpr *ox_tensor_const(ox_ctx *c, const Onnx__TensorProto *tp,
                          const char *what);

/* ---- building ------------------------------------------------------------- */

/* Calls R.<op> on args with attrs (may be NULL): infers struct info (an error
 * names the node), folds it to a constant when every argument is constant
 * and the op can be evaluated, else binds it to a new variable and returns a
 * reference.  An op missing from the registry makes the node unsupported. */
ts_gexpr *ox_call(ox_ctx *c, const char *op, ts_gexpr **args, int n,
                  ts_attrs *attrs);
ts_gexpr *ox_call1(ox_ctx *c, const char *op, ts_gexpr *x, ts_attrs *attrs);
ts_gexpr *ox_call2(ox_ctx *c, const char *op, ts_gexpr *x, ts_gexpr *y,
                   ts_attrs *attrs);
/* True when R.<op> exists. */
bool ox_has_op(const char *op);
/* R.shape([...]) of int64 dimension expressions. */
ts_gexpr *ox_shape_value(ox_ctx *c, ts_expr **dims, int n);
ts_gexpr *ox_tuple(ox_ctx *c, ts_gexpr **fields, int n);
ts_gexpr *ox_tuple_get(ox_ctx *c, ts_gexpr *t, int i);
/* Binds an arbitrary expression to a new variable. */
ts_gexpr *ox_bind(ox_ctx *c, ts_gexpr *value);

/* Attribute builders. */
ts_attrs *ox_attrs(ox_ctx *c);
void ox_set_int(ox_ctx *c, ts_attrs *d, const char *k, int64_t v);
void ox_set_float(ox_ctx *c, ts_attrs *d, const char *k, double v);
void ox_set_bool(ox_ctx *c, ts_attrs *d, const char *k, bool v);
void ox_set_str(ox_ctx *c, ts_attrs *d, const char *k, const char *v);
void ox_set_ints(ox_ctx *c, ts_attrs *d, const char *k, const int64_t *v,
                 int n);
void ox_set_none(ox_ctx *c, ts_attrs *d, const char *k);

/* ONNX elem_type -> dtype; fails for types the project does not handle. */
ts_dtype ox_dtype_of(ox_ctx *c, int32_t elem_type, const char *what);

/* ---- converters (onnx_ops.c) ---------------------------------------------- */

typedef void (*ox_convert_fn)(ox_ctx *c);
/* The converter of an op type of the default domain, or NULL. */
ox_convert_fn ox_converter(const char *op_type);

#endif
