/* onnx_import.c: ONNX ModelProto -> IRModule with one graph function `main`.
 *
 * The model is decoded with protobuf-c (code generated from onnx.proto at
 * build time).  Values are tracked by ONNX name in a table mapping to graph
 * expressions: a reference to a parameter or a bound variable, or a constant
 * (initializers, Constant nodes, folded shape arithmetic).  Each node is
 * converted by its op type's function (onnx_ops.c) into R.* calls, bound in
 * one dataflow block in node order; the graph outputs end the block
 * (R.output) and form the result.
 *
 * Constant folding happens at call construction: a call whose arguments are
 * all constants is evaluated with the op's reference evaluation (the
 * interpreter's), so Shape -> Gather -> Concat -> Reshape chains of
 * torch.onnx.export models become constant shapes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx_internal.h"
#include "tessera/runtime.h"
#include "tessera/script.h"

/* Folded constants larger than this (elements) are left as calls. */
#define OX_FOLD_LIMIT (1 << 24)
/* One constant's bytes at most (initializers, folded values). */
#define OX_CONST_LIMIT (1 << 30)

/* ---- errors --------------------------------------------------------------- */

static const char *node_label(ox_ctx *c, char *buf, size_t n) {
  const Onnx__NodeProto *nd = c->node;
  if (nd->name && *nd->name)
    snprintf(buf, n, "node '%s'", nd->name);
  else if (nd->n_output && nd->output[0] && *nd->output[0])
    snprintf(buf, n, "node #%d (output '%s')", c->node_index, nd->output[0]);
  else
    snprintf(buf, n, "node #%d", c->node_index);
  return buf;
}

static TS_NORETURN void fail_msg(ox_ctx *c, ts_status_code code,
                                 const char *msg) {
  if (c->node) {
    char lb[512];
    c->err = ts_error(code, "%s: %s (%s, opset %lld): %s", c->path,
                      node_label(c, lb, sizeof lb),
                      c->node->op_type ? c->node->op_type : "?",
                      (long long)c->opset, msg);
  } else {
    c->err = ts_error(code, "%s: %s", c->path, msg);
  }
  longjmp(c->jb, 1);
}

void ox_fail(ox_ctx *c, ts_status_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[2048];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fail_msg(c, code, msg);
}

void ox_unsupported_op(ox_ctx *c, const char *extra) {
  char lb[512];
  const Onnx__NodeProto *nd = c->node;
  const char *dom = nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx")
                        ? nd->domain
                        : NULL;
  node_label(c, lb, sizeof lb);
  c->err = ts_error(TS_ERR_UNSUPPORTED,
                    "%s: unsupported operator '%s%s%s' (%s, opset %lld)%s",
                    c->path, dom ? dom : "", dom ? "." : "",
                    nd->op_type ? nd->op_type : "?", lb, (long long)c->opset,
                    extra ? extra : "");
  longjmp(c->jb, 1);
}

/* ---- string map ------------------------------------------------------------ */

static uint64_t str_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static void **map_slot(ox_ctx *c, ox_map *m, const char *key, bool insert) {
  if (insert && (m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    const char **keys = ts_arena_array(c->a, cap, sizeof *keys);
    void **vals = ts_arena_array(c->a, cap, sizeof *vals);
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->keys[i])
        continue;
      size_t j = str_hash(m->keys[i]) & (cap - 1);
      while (keys[j])
        j = (j + 1) & (cap - 1);
      keys[j] = m->keys[i];
      vals[j] = m->vals[i];
    }
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
  }
  if (!m->cap)
    return NULL;
  size_t j = str_hash(key) & (m->cap - 1);
  while (m->keys[j]) {
    if (strcmp(m->keys[j], key) == 0)
      return &m->vals[j];
    j = (j + 1) & (m->cap - 1);
  }
  if (!insert)
    return NULL;
  m->keys[j] = ts_arena_strdup(c->a, key);
  m->n++;
  return &m->vals[j];
}

static void *map_get(ox_ctx *c, ox_map *m, const char *key) {
  void **s = map_slot(c, m, key, false);
  return s ? *s : NULL;
}

static void map_put(ox_ctx *c, ox_map *m, const char *key, void *v) {
  *map_slot(c, m, key, true) = v;
}

/* ---- names ----------------------------------------------------------------- */

static bool is_reserved(const char *s) {
  static const char *const kw[] = {
      "False", "None",   "True",    "and",      "as",     "assert", "async",
      "await", "break",  "class",   "continue", "def",    "del",    "elif",
      "else",  "except", "finally", "for",      "from",   "global", "if",
      "import", "in",    "is",      "lambda",   "nonlocal", "not",  "or",
      "pass",  "raise",  "return",  "try",      "while",  "with",   "yield",
      "R",     "T",      "I",       "tvm",      "cls",    "metadata"};
  for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
    if (strcmp(s, kw[i]) == 0)
      return true;
  return false;
}

/* The identifier for an ONNX name: [A-Za-z0-9_] kept, others '_', a leading
 * digit (or an empty name) prefixed with "v", reserved words suffixed "_".
 * Kept in sync with tests/onnx/run_conformance.py (sanitize). */
static char *sanitize(ox_ctx *c, const char *name) {
  size_t n = strlen(name);
  char *s = ts_arena_alloc(c->a, n + 3);
  size_t k = 0;
  if (n == 0 || (name[0] >= '0' && name[0] <= '9'))
    s[k++] = 'v';
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_';
    s[k++] = ok ? ch : '_';
  }
  s[k] = 0;
  if (is_reserved(s))
    s[k++] = '_';
  return s;
}

/* A fresh printed name derived from `base`. */
static const char *unique_name(ox_ctx *c, const char *base) {
  const char *s = sanitize(c, base);
  if (!map_get(c, &c->names, s)) {
    map_put(c, &c->names, s, (void *)1);
    return s;
  }
  for (int i = 1;; i++) {
    char *t = ts_arena_printf(c->a, "%s_%d", s, i);
    if (!map_get(c, &c->names, t)) {
      map_put(c, &c->names, t, (void *)1);
      return t;
    }
  }
}

/* ---- dtypes ------------------------------------------------------------------ */

ts_dtype ox_dtype_of(ox_ctx *c, int32_t et, const char *what) {
  switch (et) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
    return TS_F32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    return TS_F64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16:
    return TS_F16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
    return TS_DT(TS_BFLOAT, 16);
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    return TS_DT(TS_INT, 8);
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    return TS_DT(TS_INT, 16);
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    return TS_I32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
    return TS_I64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8:
    return TS_DT(TS_UINT, 8);
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16:
    return TS_DT(TS_UINT, 16);
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    return TS_DT(TS_UINT, 32);
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64:
    return TS_DT(TS_UINT, 64);
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
    return TS_BOOLT;
  default:
    break;
  }
  static const char *const names[] = {
      "UNDEFINED", "FLOAT",  "UINT8",  "INT8",      "UINT16",     "INT16",
      "INT32",     "INT64",  "STRING", "BOOL",      "FLOAT16",    "DOUBLE",
      "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  if (et >= 0 && et < (int32_t)(sizeof names / sizeof names[0]))
    ox_fail(c, TS_ERR_UNSUPPORTED, "%s has unsupported element type %s", what,
            names[et]);
  ox_fail(c, TS_ERR_UNSUPPORTED, "%s has unsupported element type %d", what,
          (int)et);
}

/* ---- constants --------------------------------------------------------------- */

static ts_sinfo *static_tensor_sinfo(ox_ctx *c, int ndim, const int64_t *shape,
                                     ts_dtype t) {
  ts_expr **sh = ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof *sh);
  for (int i = 0; i < ndim; i++)
    sh[i] = ts_int(c->a, TS_I64, shape[i]);
  return ts_sinfo_tensor(c->a, sh, ndim, t);
}

static ts_gexpr *const_expr(ox_ctx *c, ts_const_data *cd) {
  ts_gexpr *g = ts_gexpr_new(c->a, TS_G_CONST, (ts_loc){c->path, 0, 0});
  g->u.constant = cd;
  g->sinfo = static_tensor_sinfo(c, cd->ndim, cd->shape, cd->dtype);
  return g;
}

static size_t checked_numel(ox_ctx *c, int ndim, const int64_t *shape,
                            const char *what) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      ox_fail(c, TS_ERR_FORMAT, "%s has a negative dimension %lld", what,
              (long long)shape[i]);
    if (!ts_size_mul(n, (size_t)shape[i], &n) || n > ((size_t)1 << 40))
      ox_fail(c, TS_ERR_FORMAT, "%s is too large", what);
  }
  return n;
}

ts_gexpr *ox_const_new(ox_ctx *c, ts_dtype t, int ndim, const int64_t *shape,
                       const void *data) {
  if (ndim > TS_MAX_NDIM)
    ox_fail(c, TS_ERR_UNSUPPORTED, "a constant of rank %d (at most %d)", ndim,
            TS_MAX_NDIM);
  size_t n = checked_numel(c, ndim, shape, "a constant");
  size_t nbytes;
  if (!ts_size_mul(n, ts_dtype_bytes(t), &nbytes) || nbytes > OX_CONST_LIMIT)
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "a constant of %zu elements is too large (unsupported: at most "
            "%d MiB)",
            n, OX_CONST_LIMIT >> 20);
  ts_const_data *cd = ts_arena_alloc(c->a, sizeof *cd);
  cd->dtype = t;
  cd->ndim = ndim;
  cd->shape = ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof(int64_t));
  for (int i = 0; i < ndim; i++)
    cd->shape[i] = shape[i];
  cd->data = ts_arena_alloc_aligned(c->a, nbytes ? nbytes : 1, 64);
  cd->nbytes = nbytes;
  if (data && nbytes)
    memcpy(cd->data, data, nbytes);
  return const_expr(c, cd);
}

bool ox_is_const(const ts_gexpr *e) { return e && e->kind == TS_G_CONST; }

int64_t ox_const_numel(const ts_gexpr *k) {
  const ts_const_data *cd = k->u.constant;
  int64_t n = 1;
  for (int i = 0; i < cd->ndim; i++)
    n *= cd->shape[i];
  return n;
}

/* Element access through a borrowed NDArray view (the runtime's converters
 * handle every dtype). */
static ts_ndarray *const_view(const ts_gexpr *k) {
  const ts_const_data *cd = k->u.constant;
  ts_ndarray *v = NULL;
  ts_status *st = ts_ndarray_view(cd->ndim, cd->shape, cd->dtype, cd->data, &v);
  TS_ASSERT(!st);
  return v;
}

double ox_const_get_f64(const ts_gexpr *k, int64_t i) {
  ts_ndarray *v = const_view(k);
  double r = ts_ndarray_get_f64(v, i);
  ts_ndarray_release(v);
  return r;
}

int64_t ox_const_get_i64(const ts_gexpr *k, int64_t i) {
  ts_ndarray *v = const_view(k);
  int64_t r = ts_ndarray_get_i64(v, i);
  ts_ndarray_release(v);
  return r;
}

void ox_const_set_f64(ts_gexpr *k, int64_t i, double x) {
  ts_ndarray *v = const_view(k);
  ts_ndarray_set_f64(v, i, x);
  ts_ndarray_release(v);
}

ts_gexpr *ox_const_scalar(ox_ctx *c, ts_dtype t, double v) {
  ts_gexpr *k = ox_const_new(c, t, 0, NULL, NULL);
  ox_const_set_f64(k, 0, v);
  return k;
}

ts_gexpr *ox_const_i64(ox_ctx *c, const int64_t *v, int n) {
  int64_t sh = n;
  return ox_const_new(c, TS_I64, 1, &sh, v);
}

ts_gexpr *ox_const_reshape(ox_ctx *c, ts_gexpr *k, int ndim,
                           const int64_t *shape) {
  const ts_const_data *src = k->u.constant;
  if ((int64_t)checked_numel(c, ndim, shape, "a constant") !=
      ox_const_numel(k))
    ox_fail(c, TS_ERR_VALUE, "cannot reshape a constant of %lld elements",
            (long long)ox_const_numel(k));
  ts_const_data *cd = ts_arena_alloc(c->a, sizeof *cd);
  *cd = *src;
  cd->name = NULL;
  cd->ndim = ndim;
  cd->shape = ts_arena_array(c->a, (size_t)(ndim ? ndim : 1), sizeof(int64_t));
  for (int i = 0; i < ndim; i++)
    cd->shape[i] = shape[i];
  return const_expr(c, cd);
}

int64_t *ox_const_ints(ox_ctx *c, ts_gexpr *e, const char *what, int *n) {
  if (!ox_is_const(e))
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "%s is not known at import time (unsupported: it must be a "
            "constant or computed from static shapes)",
            what);
  if (e->u.constant->ndim > 1)
    ox_fail(c, TS_ERR_VALUE, "%s must be a scalar or a 1-D tensor", what);
  int64_t cnt = ox_const_numel(e);
  if (cnt > 4096)
    ox_fail(c, TS_ERR_VALUE, "%s has too many values (%lld)", what,
            (long long)cnt);
  int64_t *r = ts_arena_array(c->a, (size_t)(cnt ? cnt : 1), sizeof *r);
  ts_ndarray *v = const_view(e);
  for (int64_t i = 0; i < cnt; i++)
    r[i] = ts_dtype_is_float(e->u.constant->dtype)
               ? (int64_t)ts_ndarray_get_f64(v, i)
               : ts_ndarray_get_i64(v, i);
  ts_ndarray_release(v);
  *n = (int)cnt;
  return r;
}

ts_gexpr *ox_tensor_const(ox_ctx *c, const Onnx__TensorProto *tp,
                              const char *what) {
  if (tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL ||
      tp->n_external_data)
    ox_fail(c, TS_ERR_UNSUPPORTED,
            "%s uses external data (save the model with its weights inside)",
            what);
  if (tp->segment)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%s is segmented", what);
  ts_dtype t = ox_dtype_of(c, tp->data_type, what);
  if (tp->n_dims > TS_MAX_NDIM)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%s has rank %zu (at most %d)", what,
            tp->n_dims, TS_MAX_NDIM);
  int ndim = (int)tp->n_dims;
  size_t n = checked_numel(c, ndim, tp->dims, what);
  size_t esize = ts_dtype_bytes(t);
  size_t nbytes = n * esize;
  if (tp->has_raw_data) {
    if (tp->raw_data.len != nbytes)
      ox_fail(c, TS_ERR_FORMAT,
              "%s has %zu bytes of raw data, expected %zu (%zu elements)",
              what, (size_t)tp->raw_data.len, nbytes, n);
    return ox_const_new(c, t, ndim, tp->dims, tp->raw_data.data);
  }
  int32_t dt = tp->data_type;
  size_t have =
      dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT    ? tp->n_float_data
      : dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE ? tp->n_double_data
      : dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64  ? tp->n_int64_data
      : (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 ||
         dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64)
          ? tp->n_uint64_data
          : tp->n_int32_data;
  if (have != n)
    ox_fail(c, TS_ERR_FORMAT, "%s has %zu values, expected %zu", what, have,
            n);
  ts_gexpr *k = ox_const_new(c, t, ndim, tp->dims, NULL);
  void *d = k->u.constant->data;
  if (n == 0)
    return k;
  if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
    if (have == n)
      memcpy(d, tp->float_data, nbytes);
  } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) {
    if (have == n)
      memcpy(d, tp->double_data, nbytes);
  } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
    if (have == n)
      memcpy(d, tp->int64_data, nbytes);
  } else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 ||
             dt == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64) {
    for (size_t i = 0; have == n && i < n; i++) {
      if (esize == 4)
        ((uint32_t *)d)[i] = (uint32_t)tp->uint64_data[i];
      else
        ((uint64_t *)d)[i] = tp->uint64_data[i];
    }
  } else {
    /* int32_data holds int32, and the bits of the narrower types */
    for (size_t i = 0; have == n && i < n; i++) {
      int32_t v = tp->int32_data[i];
      switch (esize) {
      case 1:
        ((uint8_t *)d)[i] = (uint8_t)v;
        break;
      case 2:
        ((uint16_t *)d)[i] = (uint16_t)v;
        break;
      default:
        ((int32_t *)d)[i] = v;
        break;
      }
    }
  }
  return k;
}

/* ---- struct info ------------------------------------------------------------ */

const ts_sinfo *ox_tensor(ox_ctx *c, ts_gexpr *e, const char *what) {
  const ts_sinfo *s = e->sinfo;
  if (!s || s->kind != TS_SI_TENSOR)
    ox_fail(c, TS_ERR_TYPE, "%s is not a tensor", what ? what : "a value");
  return s;
}

int ox_ndim(ox_ctx *c, ts_gexpr *e) {
  const ts_sinfo *s = ox_tensor(c, e, NULL);
  if (s->u.tensor.ndim < 0)
    ox_fail(c, TS_ERR_UNSUPPORTED, "the rank of an input is unknown");
  return s->u.tensor.ndim;
}

ts_expr **ox_shape(ox_ctx *c, ts_gexpr *e) {
  const ts_sinfo *s = ox_tensor(c, e, NULL);
  if (!s->u.tensor.shape)
    ox_fail(c, TS_ERR_UNSUPPORTED, "the shape of an input is unknown");
  return s->u.tensor.shape;
}

ts_dtype ox_dtype(ox_ctx *c, ts_gexpr *e) {
  return ox_tensor(c, e, NULL)->u.tensor.dtype;
}

bool ox_static_shape(ox_ctx *c, ts_gexpr *e, int64_t *out) {
  const ts_sinfo *s = ox_tensor(c, e, NULL);
  if (!s->u.tensor.shape)
    return false;
  for (int i = 0; i < s->u.tensor.ndim; i++) {
    const ts_expr *d = s->u.tensor.shape[i];
    if (d->kind != TS_E_INT)
      return false;
    out[i] = d->u.int_value;
  }
  return true;
}

/* ---- the current node ------------------------------------------------------- */

int ox_n_inputs(ox_ctx *c) { return (int)c->node->n_input; }
int ox_n_outputs(ox_ctx *c) { return (int)c->node->n_output; }

ts_gexpr *ox_in(ox_ctx *c, int i) {
  if (i < 0 || (size_t)i >= c->node->n_input)
    return NULL;
  const char *name = c->node->input[i];
  if (!name || !*name)
    return NULL;
  ts_gexpr *e = map_get(c, &c->values, name);
  if (!e)
    ox_fail(c, TS_ERR_NAME, "input '%s' is not defined (missing initializer?)",
            name);
  return e;
}

ts_gexpr *ox_in_req(ox_ctx *c, int i) {
  ts_gexpr *e = ox_in(c, i);
  if (!e)
    ox_fail(c, TS_ERR_VALUE, "missing required input %d", i);
  return e;
}

void ox_out(ox_ctx *c, int k, ts_gexpr *e) {
  if ((size_t)k >= c->node->n_output)
    return;
  const char *name = c->node->output[k];
  if (!name || !*name)
    return;
  map_put(c, &c->values, name, e);
}

/* ---- attributes ------------------------------------------------------------- */

const Onnx__AttributeProto *ox_attr(ox_ctx *c, const char *name) {
  for (size_t i = 0; i < c->node->n_attribute; i++) {
    const Onnx__AttributeProto *a = c->node->attribute[i];
    if (a->name && strcmp(a->name, name) == 0)
      return a;
  }
  return NULL;
}

static TS_NORETURN void bad_attr(ox_ctx *c, const char *name,
                                 const char *want) {
  ox_fail(c, TS_ERR_FORMAT, "attribute %s must be %s", name, want);
}

int64_t ox_attr_int(ox_ctx *c, const char *name, int64_t def) {
  const Onnx__AttributeProto *a = ox_attr(c, name);
  if (!a)
    return def;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
    bad_attr(c, name, "an int");
  return a->i;
}

double ox_attr_float(ox_ctx *c, const char *name, double def) {
  const Onnx__AttributeProto *a = ox_attr(c, name);
  if (!a)
    return def;
  if (a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
    return (double)a->i;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)
    bad_attr(c, name, "a float");
  return a->f;
}

const char *ox_attr_str(ox_ctx *c, const char *name, const char *def) {
  const Onnx__AttributeProto *a = ox_attr(c, name);
  if (!a)
    return def;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
    bad_attr(c, name, "a string");
  if (!a->s.len)
    return "";
  return ts_arena_strndup(c->a, (const char *)a->s.data, a->s.len);
}

int64_t *ox_attr_ints(ox_ctx *c, const char *name, int *n) {
  const Onnx__AttributeProto *a = ox_attr(c, name);
  *n = 0;
  if (!a)
    return NULL;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)
    bad_attr(c, name, "a list of ints");
  if (a->n_ints > 4096)
    ox_fail(c, TS_ERR_VALUE, "attribute %s has too many values", name);
  *n = (int)a->n_ints;
  int64_t *r = ts_arena_array(c->a, a->n_ints ? a->n_ints : 1, sizeof *r);
  if (a->n_ints)
    memcpy(r, a->ints, a->n_ints * sizeof *r);
  return r;
}

float *ox_attr_floats(ox_ctx *c, const char *name, int *n) {
  const Onnx__AttributeProto *a = ox_attr(c, name);
  *n = 0;
  if (!a)
    return NULL;
  if (a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS)
    bad_attr(c, name, "a list of floats");
  if (a->n_floats > 4096)
    ox_fail(c, TS_ERR_VALUE, "attribute %s has too many values", name);
  *n = (int)a->n_floats;
  float *r = ts_arena_array(c->a, a->n_floats ? a->n_floats : 1, sizeof *r);
  if (a->n_floats)
    memcpy(r, a->floats, a->n_floats * sizeof *r);
  return r;
}

ts_attrs *ox_attrs(ox_ctx *c) { return ts_attrs_new(c->a); }
void ox_set_int(ox_ctx *c, ts_attrs *d, const char *k, int64_t v) {
  ts_attrs_set(c->a, d, k, ts_attr_int(c->a, v));
}
void ox_set_float(ox_ctx *c, ts_attrs *d, const char *k, double v) {
  ts_attrs_set(c->a, d, k, ts_attr_float(c->a, v));
}
void ox_set_bool(ox_ctx *c, ts_attrs *d, const char *k, bool v) {
  ts_attrs_set(c->a, d, k, ts_attr_bool(c->a, v));
}
void ox_set_str(ox_ctx *c, ts_attrs *d, const char *k, const char *v) {
  ts_attrs_set(c->a, d, k, ts_attr_str(c->a, v));
}
void ox_set_none(ox_ctx *c, ts_attrs *d, const char *k) {
  ts_attr_value *v = ts_arena_alloc(c->a, sizeof *v);
  v->kind = TS_ATTR_NONE;
  ts_attrs_set(c->a, d, k, v);
}
void ox_set_ints(ox_ctx *c, ts_attrs *d, const char *k, const int64_t *v,
                 int n) {
  ts_attr_value *l = ts_arena_alloc(c->a, sizeof *l);
  l->kind = TS_ATTR_LIST;
  l->u.list.n = n;
  l->u.list.items =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_attr_value *));
  for (int i = 0; i < n; i++)
    l->u.list.items[i] = ts_attr_int(c->a, v[i]);
  ts_attrs_set(c->a, d, k, l);
}

/* ---- building --------------------------------------------------------------- */

static ts_loc here(ox_ctx *c) { return (ts_loc){c->path, 0, 0}; }

ts_gexpr *ox_bind(ox_ctx *c, ts_gexpr *value) {
  ts_gvar *v = ts_arena_alloc(c->a, sizeof *v);
  v->name = unique_name(c, c->hint ? c->hint : "lv");
  v->sinfo = value->sinfo;
  v->is_dataflow = true;
  v->loc = here(c);
  ts_binding b = {0};
  b.kind = TS_BIND_VAR;
  b.var = v;
  b.value = value;
  b.loc = here(c);
  ts_vec_push(&c->binds, b);
  ts_gexpr *r = ts_gexpr_new(c->a, TS_G_VAR, here(c));
  r->u.var = v;
  r->sinfo = v->sinfo;
  return r;
}

bool ox_has_op(const char *op) {
  int id;
  return ts_op_lookup(op, &id);
}

ts_gexpr *ox_shape_value(ox_ctx *c, ts_expr **dims, int n) {
  ts_gexpr *g = ts_gexpr_new(c->a, TS_G_SHAPE, here(c));
  g->u.shape.n = n;
  g->u.shape.values = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *dims);
  for (int i = 0; i < n; i++)
    g->u.shape.values[i] = dims[i];
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_SHAPE);
  s->u.shape.ndim = n;
  s->u.shape.values = g->u.shape.values;
  g->sinfo = s;
  return g;
}

ts_gexpr *ox_tuple(ox_ctx *c, ts_gexpr **fields, int n) {
  ts_gexpr *g = ts_gexpr_new(c->a, TS_G_TUPLE, here(c));
  g->u.tuple.n = n;
  g->u.tuple.fields = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *fields);
  ts_sinfo *s = ts_sinfo_new(c->a, TS_SI_TUPLE);
  s->u.tuple.n = n;
  s->u.tuple.fields =
      ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof(ts_sinfo *));
  for (int i = 0; i < n; i++) {
    g->u.tuple.fields[i] = fields[i];
    s->u.tuple.fields[i] = fields[i]->sinfo;
  }
  g->sinfo = s;
  return g;
}

ts_gexpr *ox_tuple_get(ox_ctx *c, ts_gexpr *t, int i) {
  ts_gexpr *g = ts_gexpr_new(c->a, TS_G_TUPLE_GET, here(c));
  g->u.tuple_get.tuple = t;
  g->u.tuple_get.index = i;
  if (!t->sinfo || t->sinfo->kind != TS_SI_TUPLE || i >= t->sinfo->u.tuple.n)
    ox_fail(c, TS_ERR_INTERNAL, "expected a tuple with field %d", i);
  g->sinfo = t->sinfo->u.tuple.fields[i];
  return ox_bind(c, g);
}

/* True when every argument is a constant (or a static shape value). */
static bool all_const(ts_gexpr **args, int n) {
  for (int i = 0; i < n; i++) {
    ts_gexpr *e = args[i];
    if (e->kind == TS_G_CONST)
      continue;
    if (e->kind == TS_G_SHAPE) {
      for (int j = 0; j < e->u.shape.n; j++)
        if (e->u.shape.values[j]->kind != TS_E_INT)
          return false;
      continue;
    }
    return false;
  }
  return true;
}

/* Evaluates a call on constant arguments; NULL when it cannot. */
static ts_gexpr *fold(ox_ctx *c, const ts_op_info *info, ts_gexpr *g) {
  if (!info->eval || !g->sinfo || g->sinfo->kind != TS_SI_TENSOR ||
      !g->sinfo->u.tensor.shape)
    return NULL;
  int64_t shape[TS_MAX_NDIM];
  int nd = g->sinfo->u.tensor.ndim;
  if (nd > TS_MAX_NDIM)
    return NULL;
  int64_t numel = 1;
  for (int i = 0; i < nd; i++) {
    const ts_expr *d = g->sinfo->u.tensor.shape[i];
    if (d->kind != TS_E_INT)
      return NULL;
    shape[i] = d->u.int_value;
    numel *= shape[i];
    if (numel > OX_FOLD_LIMIT)
      return NULL;
  }
  int n = g->u.call.n_args;
  ts_ndarray *args[8] = {0};
  if (n > 8)
    return NULL;
  ts_status *st = NULL;
  for (int i = 0; i < n && !st; i++) {
    ts_gexpr *e = g->u.call.args[i];
    if (e->kind == TS_G_CONST) {
      const ts_const_data *cd = e->u.constant;
      st = ts_ndarray_view(cd->ndim, cd->shape, cd->dtype, cd->data, &args[i]);
    } else {
      int64_t len = e->u.shape.n;
      st = ts_ndarray_create(1, &len, TS_I64, &args[i]);
      for (int j = 0; !st && j < len; j++)
        ts_ndarray_set_i64(args[i], j, e->u.shape.values[j]->u.int_value);
    }
  }
  ts_ndarray *out = NULL;
  if (!st)
    st = info->eval(g, args, n, &out);
  for (int i = 0; i < n; i++)
    if (args[i])
      ts_ndarray_release(args[i]);
  if (st) {
    /* leave it to run time, where the error is reported with data */
    ts_status_free(st);
    if (out)
      ts_ndarray_release(out);
    return NULL;
  }
  ts_gexpr *k = NULL;
  if (ts_ndarray_ndim(out) == nd &&
      ts_dtype_eq(ts_ndarray_dtype(out), g->sinfo->u.tensor.dtype) &&
      ts_ndarray_numel(out) == numel)
    k = ox_const_new(c, ts_ndarray_dtype(out), nd, shape, ts_ndarray_data(out));
  ts_ndarray_release(out);
  return k;
}

ts_gexpr *ox_call(ox_ctx *c, const char *op, ts_gexpr **args, int n,
                  ts_attrs *attrs) {
  int id;
  if (!ts_op_lookup(op, &id)) {
    char extra[160];
    snprintf(extra, sizeof extra, ": needs R.%s, which is not available", op);
    ox_unsupported_op(c, extra);
  }
  const ts_op_info *info = ts_op_get(id);
  if (n < info->min_args || n > info->max_args)
    ox_fail(c, TS_ERR_INTERNAL, "R.%s called with %d arguments", op, n);
  ts_gexpr *g = ts_gexpr_new(c->a, TS_G_CALL, here(c));
  g->u.call.callee_kind = TS_CALLEE_OP;
  g->u.call.op = id;
  g->u.call.n_args = n;
  g->u.call.args = ts_arena_array(c->a, (size_t)(n ? n : 1), sizeof *args);
  for (int i = 0; i < n; i++)
    g->u.call.args[i] = args[i];
  g->u.call.attrs = attrs;
  if (info->infer) {
    ts_sinfo *out = NULL;
    ts_status *st = info->infer(c->a, g, &out);
    if (st) {
      char msg[2048];
      snprintf(msg, sizeof msg, "%s", ts_status_message(st));
      ts_status_code code = ts_status_code_of(st);
      ts_status_free(st);
      fail_msg(c, code, msg);
    }
    g->sinfo = out;
  }
  if (all_const(args, n)) {
    ts_gexpr *k = fold(c, info, g);
    if (k)
      return k;
  }
  return ox_bind(c, g);
}

ts_gexpr *ox_call1(ox_ctx *c, const char *op, ts_gexpr *x, ts_attrs *attrs) {
  return ox_call(c, op, &x, 1, attrs);
}

ts_gexpr *ox_call2(ox_ctx *c, const char *op, ts_gexpr *x, ts_gexpr *y,
                   ts_attrs *attrs) {
  ts_gexpr *args[2] = {x, y};
  return ox_call(c, op, args, 2, attrs);
}

/* ---- graph inputs and outputs ----------------------------------------------- */

static ts_expr *dim_expr(ox_ctx *c, const Onnx__TensorShapeProto__Dimension *d) {
  if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
    if (d->dim_value < 0)
      ox_fail(c, TS_ERR_FORMAT, "a negative dimension %lld",
              (long long)d->dim_value);
    return ts_int(c->a, TS_I64, d->dim_value);
  }
  const char *name = NULL;
  if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
      d->dim_param && *d->dim_param)
    name = d->dim_param;
  ts_var *v = name ? map_get(c, &c->syms, name) : NULL;
  if (!v) {
    const char *vn = name ? unique_name(c, name)
                          : unique_name(c, ts_arena_printf(c->a, "dim%d",
                                                           c->n_anon_dims++));
    v = ts_var_new(c->a, vn, TS_I64, here(c));
    if (name)
      map_put(c, &c->syms, name, v);
  }
  return ts_varref(c->a, v);
}

static ts_sinfo *value_info_sinfo(ox_ctx *c, const Onnx__ValueInfoProto *vi,
                                  const char *what) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
      !tp->tensor_type)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%s '%s' is not a tensor (unsupported type)", what,
            vi->name ? vi->name : "");
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  char wbuf[300];
  snprintf(wbuf, sizeof wbuf, "%s '%s'", what, vi->name ? vi->name : "");
  ts_dtype t = ox_dtype_of(c, tt->elem_type, wbuf);
  if (!tt->shape)
    return ts_sinfo_tensor(c->a, NULL, -1, t);
  if (tt->shape->n_dim > TS_MAX_NDIM)
    ox_fail(c, TS_ERR_UNSUPPORTED, "%s has rank %zu (at most %d)", wbuf,
            tt->shape->n_dim, TS_MAX_NDIM);
  int nd = (int)tt->shape->n_dim;
  ts_expr **sh = ts_arena_array(c->a, (size_t)(nd ? nd : 1), sizeof *sh);
  for (int i = 0; i < nd; i++)
    sh[i] = dim_expr(c, tt->shape->dim[i]);
  return ts_sinfo_tensor(c->a, sh, nd, t);
}

static void shape_str(ts_strbuf *b, const ts_sinfo *s) {
  char dt[32];
  ts_strbuf_append(b, "(");
  for (int i = 0; s->u.tensor.shape && i < s->u.tensor.ndim; i++) {
    const ts_expr *d = s->u.tensor.shape[i];
    if (d->kind == TS_E_INT) {
      ts_strbuf_printf(b, "%s%lld", i ? ", " : "", (long long)d->u.int_value);
      continue;
    }
    char *e = ts_script_print_expr(d);
    ts_strbuf_printf(b, "%s%s", i ? ", " : "", e);
    free(e);
  }
  ts_strbuf_printf(b, "%s) %s", s->u.tensor.ndim == 1 ? "," : "",
                   ts_dtype_str(s->u.tensor.dtype, dt));
}

/* A graph output's declared type against what the graph computes: a
 * disagreement in dtype, rank or a constant dimension is an error. */
static void check_output(ox_ctx *c, const Onnx__ValueInfoProto *vi,
                         ts_gexpr *e) {
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
      !tp->tensor_type || !e->sinfo || e->sinfo->kind != TS_SI_TENSOR)
    return;
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  const ts_sinfo *s = e->sinfo;
  bool bad = false;
  if (tt->has_elem_type && tt->elem_type &&
      s->u.tensor.dtype.code != TS_VOID) {
    char w[300];
    snprintf(w, sizeof w, "output '%s'", vi->name);
    bad |= !ts_dtype_eq(ox_dtype_of(c, tt->elem_type, w), s->u.tensor.dtype);
  }
  if (tt->shape && s->u.tensor.ndim >= 0) {
    if ((int)tt->shape->n_dim != s->u.tensor.ndim) {
      bad = true;
    } else if (s->u.tensor.shape) {
      for (int i = 0; i < s->u.tensor.ndim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        const ts_expr *x = s->u.tensor.shape[i];
        if (d->value_case ==
                ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            x->kind == TS_E_INT && x->u.int_value != d->dim_value)
          bad = true;
      }
    }
  }
  if (!bad)
    return;
  ts_strbuf b = {0};
  ts_sinfo *decl = value_info_sinfo(c, vi, "output");
  ts_strbuf_printf(&b, "output '%s' is declared ", vi->name);
  shape_str(&b, decl);
  ts_strbuf_append(&b, " but the graph computes ");
  shape_str(&b, s);
  char msg[1024];
  snprintf(msg, sizeof msg, "%s (inconsistent shapes)", b.data);
  ts_strbuf_free(&b);
  fail_msg(c, TS_ERR_TYPE, msg);
}

/* ---- the model -------------------------------------------------------------- */

static void import_graph(ox_ctx *c, const Onnx__ModelProto *mp) {
  const Onnx__GraphProto *gp = mp->graph;
  if (!gp)
    ox_fail(c, TS_ERR_FORMAT, "the model has no graph");
  c->opset = -1;
  for (size_t i = 0; i < mp->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
    if (!o->domain || !*o->domain || !strcmp(o->domain, "ai.onnx"))
      c->opset = o->version;
  }
  if (c->opset < 0)
    c->opset = mp->n_opset_import ? 1 : 11;
  if (c->opset < 1 || c->opset > 1000)
    ox_fail(c, TS_ERR_FORMAT, "invalid opset version %lld",
            (long long)c->opset);

  /* initializers */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    if (!tp->name || !*tp->name)
      ox_fail(c, TS_ERR_FORMAT, "initializer #%zu has no name", i);
    char what[300];
    snprintf(what, sizeof what, "initializer '%s'", tp->name);
    map_put(c, &c->values, tp->name, ox_tensor_const(c, tp, what));
  }
  if (gp->n_sparse_initializer)
    ox_fail(c, TS_ERR_UNSUPPORTED, "sparse initializers are not supported");

  /* inputs: those that are not initializers become parameters */
  ts_gvar **pv =
      ts_arena_array(c->a, gp->n_input ? gp->n_input : 1, sizeof(ts_gvar *));
  int n_params = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (!vi->name || !*vi->name)
      ox_fail(c, TS_ERR_FORMAT, "graph input #%zu has no name", i);
    if (map_get(c, &c->values, vi->name))
      continue;
    ts_gvar *v = ts_arena_alloc(c->a, sizeof *v);
    v->name = unique_name(c, vi->name);
    v->sinfo = value_info_sinfo(c, vi, "input");
    v->loc = here(c);
    ts_gexpr *r = ts_gexpr_new(c->a, TS_G_VAR, here(c));
    r->u.var = v;
    r->sinfo = v->sinfo;
    map_put(c, &c->values, vi->name, r);
    pv[n_params++] = v;
  }

  /* nodes */
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *nd = gp->node[i];
    c->node = nd;
    c->node_index = (int)i;
    if (!nd->op_type || !*nd->op_type)
      ox_fail(c, TS_ERR_FORMAT, "the node has no op_type");
    if (nd->domain && *nd->domain && strcmp(nd->domain, "ai.onnx"))
      ox_unsupported_op(c, NULL);
    ox_convert_fn fn = ox_converter(nd->op_type);
    if (!fn)
      ox_unsupported_op(c, NULL);
    c->hint = "lv";
    size_t first = c->binds.len;
    fn(c);
    /* the variables bound for the node's outputs take the outputs' names */
    for (size_t k = 0; k < nd->n_output; k++) {
      ts_gexpr *e = nd->output[k] && *nd->output[k]
                        ? map_get(c, &c->values, nd->output[k])
                        : NULL;
      if (!e || e->kind != TS_G_VAR)
        continue;
      for (size_t j = first; j < c->binds.len; j++)
        if (c->binds.data[j].var == e->u.var &&
            !strncmp(e->u.var->name, "lv", 2))
          e->u.var->name = unique_name(c, nd->output[k]);
    }
    for (size_t k = 0; k < nd->n_output; k++)
      if (nd->output[k] && *nd->output[k] &&
          !map_get(c, &c->values, nd->output[k]))
        ox_fail(c, TS_ERR_UNSUPPORTED, "output %zu ('%s') is not produced",
                k, nd->output[k]);
  }
  c->node = NULL;

  /* outputs */
  if (gp->n_output == 0)
    ox_fail(c, TS_ERR_FORMAT, "the graph has no outputs");
  int n_out = (int)gp->n_output;
  ts_gexpr **outs = ts_arena_array(c->a, (size_t)n_out, sizeof *outs);
  for (int i = 0; i < n_out; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    ts_gexpr *e = vi->name ? map_get(c, &c->values, vi->name) : NULL;
    if (!e)
      ox_fail(c, TS_ERR_NAME, "graph output '%s' is not computed by any node",
              vi->name ? vi->name : "");
    check_output(c, vi, e);
    outs[i] = e;
  }
  c->hint = "gv";
  ts_gexpr *result;
  if (n_out == 1) {
    result = outs[0];
  } else {
    result = ox_bind(c, ox_tuple(c, outs, n_out));
  }
  /* the variables the result names leave the dataflow block */
  ts_gvar **ov = ts_arena_alloc(c->a, sizeof *ov);
  int n_ov = 0;
  if (result->kind == TS_G_VAR && result->u.var->is_dataflow) {
    result->u.var->is_dataflow = false;
    ov[n_ov++] = result->u.var;
  }

  ts_gfunc *g = ts_arena_alloc(c->a, sizeof *g);
  g->name = "main";
  g->params = pv;
  g->n_params = n_params;
  g->is_pure = true;
  g->loc = here(c);
  g->result = result;
  if (c->binds.len) {
    ts_binding_block *bb = ts_arena_alloc(c->a, sizeof *bb);
    bb->is_dataflow = true;
    bb->bindings = ts_vec_to_arena(c->a, &c->binds);
    bb->n = (int)c->binds.len;
    bb->outputs = ov;
    bb->n_outputs = n_ov;
    bb->loc = here(c);
    g->blocks = bb;
    g->n_blocks = 1;
  }
  ts_vec_free(&c->binds);
  ts_func f = {0};
  f.kind = TS_FUNC_GRAPH;
  f.name = "main";
  f.u.graph = g;
  ts_status *st = ts_module_add(c->m, f, here(c));
  if (st) {
    ts_status_free(st);
    ox_fail(c, TS_ERR_INTERNAL, "cannot add the function main");
  }
}

ts_status *ts_onnx_import_buffer(const void *data, size_t len,
                                 const char *name, ts_module **out) {
  *out = NULL;
  if (!name)
    name = "<onnx>";
  Onnx__ModelProto *mp =
      onnx__model_proto__unpack(NULL, len, (const uint8_t *)data);
  if (!mp)
    return ts_error(TS_ERR_FORMAT, "%s: truncated or corrupt protobuf", name);
  ox_ctx *c = ts_xcalloc(1, sizeof *c);
  c->m = ts_module_create();
  c->a = ts_module_arena(c->m);
  c->path = ts_arena_strdup(c->a, name);
  c->m->source_name = c->path;
  ts_status *st = NULL;
  if (setjmp(c->jb) == 0) {
    import_graph(c, mp);
    st = ts_module_verify(c->m);
    if (st) {
      ts_status *w = ts_error(ts_status_code_of(st), "%s: %s", c->path,
                              ts_status_message(st));
      ts_status_free(st);
      st = w;
    }
  } else {
    st = c->err;
  }
  ts_vec_free(&c->binds);
  onnx__model_proto__free_unpacked(mp, NULL);
  if (st) {
    ts_module_destroy(c->m);
  } else {
    *out = c->m;
  }
  free(c);
  return st;
}

ts_status *ts_onnx_import(const char *path, ts_module **out) {
  *out = NULL;
  char *data;
  size_t len;
  TS_RETURN_IF_ERROR(ts_read_file(path, &data, &len));
  ts_status *st = ts_onnx_import_buffer(data, len, path, out);
  free(data);
  return st;
}
