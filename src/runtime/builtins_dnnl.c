/* builtins_dnnl.c: the library functions that the dispatch-library pass maps
 * graph patterns to (float32 only; destination-passing style: inputs, then
 * the output, allocated by the caller).
 *
 * OpenBLAS (cblas_sgemm):
 *   env.sgemm[_nt][_bias][_relu] (a, b[, bias], out)
 *       out = relu?(a . op(b) + bias?); a (..., K) (leading dimensions
 *       flattened into M), b (K, N), or (N, K) with _nt (b transposed, as
 *       R.linear / R.matmul(x, R.permute_dims(w)) use it), bias: N elements
 *       (shape (N,) or (1, N), ...), out (..., N).
 * oneDNN:
 *   env.dnnl.matmul[_nt][_bias][_relu] (a, b[, bias], out)
 *       the same contract through a dnnl matmul primitive (bias and relu
 *       fused as its bias and an eltwise post-op).
 *   env.dnnl.conv2d.s<sh>x<sw>.p<t>x<l>x<b>x<r>.d<dh>x<dw>.g<g>[.<post>...]
 *       (x, w, t1, ..., tk, out): NCHW convolution, x (N, C, H, W), w
 *       (O, C/g, KH, KW), out (N, O, OH, OW); the attributes are in the name
 *       (a registry family, see runtime.h), then the post-ops in order:
 *       .add/.mul/.sub/.div take the next tensor argument (broadcast
 *       right-aligned to the output's shape: per-channel (1, O, 1, 1) / (O, 1,
 *       1), a scalar, or the full shape, e.g. a residual), .relu takes none.
 *       Batch norm folded to elementwise and a residual add fuse this way.
 *
 * oneDNN primitives are created once per (name, shapes) and cached (a small
 * table under a mutex, kept until the process ends); each call wraps the
 * NDArrays' data in dnnl memory objects and runs the cached primitive on a
 * fresh stream (oneDNN primitives may be executed concurrently). */
#include <cblas.h>
#include <dnnl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/runtime.h"

#define MAX_POST 8

/* ---- argument checking ------------------------------------------- */

static ts_status *tensor_f32(const char *fn, const ts_value *args, int i,
                             const char *what, ts_ndarray **out) {
  char b[32];
  if (args[i].kind != TS_VAL_TENSOR || !args[i].u.tensor)
    return ts_error(TS_ERR_TYPE, "%s: argument %d (%s) is not a tensor", fn, i,
                    what);
  ts_dtype t = ts_ndarray_dtype(args[i].u.tensor);
  if (!ts_dtype_eq(t, TS_F32))
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: argument %d (%s) has dtype %s; only float32 is "
                    "supported",
                    fn, i, what, ts_dtype_str(t, b));
  *out = args[i].u.tensor;
  return NULL;
}

static ts_status *bad_shape(const char *fn, int i, const char *what,
                            const ts_ndarray *a, const char *expect) {
  char b[256];
  return ts_error(TS_ERR_TYPE, "%s: argument %d (%s) has shape %s, expected %s",
                  fn, i, what, ts_ndarray_describe(a, b, sizeof b), expect);
}

/* ---- gemm-shaped functions: shared parsing ------------------------ */

typedef struct gemm_args {
  ts_ndarray *a, *b, *bias, *out;
  int64_t M, N, K;
  bool nt, relu;
} gemm_args;

/* Parses "<prefix>[_nt][_bias][_relu]" flags from `suffix` and checks the
 * arguments. */
static ts_status *gemm_parse(const char *fn, const char *suffix,
                             const ts_value *args, int n_args, gemm_args *g) {
  memset(g, 0, sizeof *g);
  const char *p = suffix;
  bool bias = false;
  if (!strncmp(p, "_nt", 3)) g->nt = true, p += 3;
  if (!strncmp(p, "_bias", 5)) bias = true, p += 5;
  if (!strncmp(p, "_relu", 5)) g->relu = true, p += 5;
  if (*p)
    return ts_error(TS_ERR_NAME, "%s: unknown variant; expected the base name "
                    "followed by [_nt][_bias][_relu]", fn);
  int want = bias ? 4 : 3;
  if (n_args != want)
    return ts_error(TS_ERR_VALUE, "%s: expected %d arguments (a, b%s, out), got %d",
                    fn, want, bias ? ", bias" : "", n_args);
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, 0, "a", &g->a));
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, 1, "b", &g->b));
  if (bias)
    TS_RETURN_IF_ERROR(tensor_f32(fn, args, 2, "bias", &g->bias));
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, want - 1, "out", &g->out));
  int ar = ts_ndarray_ndim(g->a);
  const int64_t *as = ts_ndarray_shape(g->a), *bs = ts_ndarray_shape(g->b);
  if (ar < 1)
    return bad_shape(fn, 0, "a", g->a, "at least 1 dimension");
  g->K = as[ar - 1];
  g->M = 1;
  for (int i = 0; i < ar - 1; i++)
    g->M *= as[i];
  if (ts_ndarray_ndim(g->b) != 2 || bs[g->nt ? 1 : 0] != g->K)
    return bad_shape(fn, 1, "b", g->b, g->nt ? "(N, K) with K of a" : "(K, N) with K of a");
  g->N = bs[g->nt ? 0 : 1];
  if (g->bias && ts_ndarray_numel(g->bias) != g->N)
    return bad_shape(fn, 2, "bias", g->bias, "N elements");
  const int64_t *os = ts_ndarray_shape(g->out);
  bool ok = ts_ndarray_ndim(g->out) == ar && os[ar - 1] == g->N;
  for (int i = 0; ok && i < ar - 1; i++)
    ok = os[i] == as[i];
  if (!ok)
    return bad_shape(fn, want - 1, "out", g->out, "a's shape with N last");
  if (g->M > INT_MAX || g->N > INT_MAX || g->K > INT_MAX)
    return ts_error(TS_ERR_UNSUPPORTED, "%s: dimensions too large", fn);
  return NULL;
}

static void relu_inplace(float *p, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    p[i] = p[i] < 0 ? 0.0f : p[i];
}

/* ---- env.sgemm family (OpenBLAS) ----------------------------------- */

static ts_status *env_sgemm(const ts_value *args, int n_args, void *ud) {
  const char *fn = ud;
  gemm_args g;
  TS_RETURN_IF_ERROR(
      gemm_parse(fn, fn + strlen("env.sgemm"), args, n_args, &g));
  float *o = ts_ndarray_data(g.out);
  int64_t M = g.M, N = g.N, K = g.K;
  if (M == 0 || N == 0)
    return NULL;
  if (g.bias) {
    const float *bp = ts_ndarray_data(g.bias);
    for (int64_t i = 0; i < M; i++)
      memcpy(o + i * N, bp, (size_t)N * sizeof(float));
  }
  if (K > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, g.nt ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.0f, ts_ndarray_data(g.a), (int)K,
                ts_ndarray_data(g.b), g.nt ? (int)K : (int)N,
                g.bias ? 1.0f : 0.0f, o, (int)N);
  else if (!g.bias)
    memset(o, 0, (size_t)(M * N) * sizeof(float));
  if (g.relu)
    relu_inplace(o, M * N);
  return NULL;
}

/* ---- oneDNN: engine and primitive cache ----------------------------- */

static dnnl_engine_t g_engine;
static ts_status *g_engine_err;

static void engine_init(void) {
  if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success)
    g_engine_err = ts_error(TS_ERR_RUNTIME, "oneDNN: cannot create a CPU engine");
}

static ts_status *engine(const char *fn) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, engine_init);
  if (g_engine_err)
    return ts_error(TS_ERR_RUNTIME, "%s: %s", fn, ts_status_message(g_engine_err));
  return NULL;
}

typedef struct cache_entry {
  char *key;
  dnnl_primitive_t prim;
} cache_entry;

static pthread_mutex_t g_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static TS_VEC(cache_entry) g_cache;

/* The cache key: the function name and every argument's shape. */
static void make_key(const char *fn, const ts_value *args, int n, char *buf,
                     size_t cap) {
  size_t k = (size_t)snprintf(buf, cap, "%s", fn);
  for (int i = 0; i < n && k < cap; i++) {
    const ts_ndarray *a = args[i].u.tensor;
    k += (size_t)snprintf(buf + k, cap - k, "|");
    for (int d = 0; d < ts_ndarray_ndim(a) && k < cap; d++)
      k += (size_t)snprintf(buf + k, cap - k, "%lld,",
                            (long long)ts_ndarray_shape(a)[d]);
  }
}

static dnnl_primitive_t cache_get(const char *key) {
  dnnl_primitive_t p = NULL;
  pthread_mutex_lock(&g_cache_lock);
  for (size_t i = 0; i < g_cache.len && !p; i++)
    if (!strcmp(g_cache.data[i].key, key))
      p = g_cache.data[i].prim;
  pthread_mutex_unlock(&g_cache_lock);
  return p;
}

/* Adds `prim` unless another thread added the key first; returns the one
 * to use (destroys the loser). */
static dnnl_primitive_t cache_put(const char *key, dnnl_primitive_t prim) {
  pthread_mutex_lock(&g_cache_lock);
  for (size_t i = 0; i < g_cache.len; i++)
    if (!strcmp(g_cache.data[i].key, key)) {
      dnnl_primitive_t p = g_cache.data[i].prim;
      pthread_mutex_unlock(&g_cache_lock);
      dnnl_primitive_destroy(prim);
      return p;
    }
  cache_entry e = {ts_xstrdup(key), prim};
  ts_vec_push(&g_cache, e);
  pthread_mutex_unlock(&g_cache_lock);
  return prim;
}

/* Creates a primitive from an op descriptor and attributes. */
static ts_status *make_primitive(const char *fn, const_dnnl_op_desc_t desc,
                                 dnnl_primitive_attr_t attr,
                                 dnnl_primitive_t *out) {
  dnnl_primitive_desc_t pd = NULL;
  dnnl_status_t s = dnnl_primitive_desc_create(&pd, desc, attr, g_engine, NULL);
  if (s != dnnl_success)
    return ts_error(TS_ERR_UNSUPPORTED,
                    "%s: oneDNN has no implementation for these shapes "
                    "(status %d)",
                    fn, (int)s);
  s = dnnl_primitive_create(out, pd);
  dnnl_primitive_desc_destroy(pd);
  if (s != dnnl_success)
    return ts_error(TS_ERR_RUNTIME, "%s: oneDNN primitive creation failed (%d)",
                    fn, (int)s);
  return NULL;
}

/* Runs `prim` with n (arg id, memory desc, data) triples. */
typedef struct exec_arg {
  int id;
  dnnl_memory_desc_t md;
  void *data;
} exec_arg;

static ts_status *execute(const char *fn, dnnl_primitive_t prim,
                          const exec_arg *xs, int n) {
  dnnl_exec_arg_t args[4 + MAX_POST];
  dnnl_memory_t mems[4 + MAX_POST];
  dnnl_stream_t stream = NULL;
  int made = 0;
  dnnl_status_t s = dnnl_stream_create(&stream, g_engine, dnnl_stream_default_flags);
  for (int i = 0; i < n && s == dnnl_success; i++) {
    s = dnnl_memory_create(&mems[i], &xs[i].md, g_engine, xs[i].data);
    if (s == dnnl_success) {
      made++;
      args[i].arg = xs[i].id;
      args[i].memory = mems[i];
    }
  }
  if (s == dnnl_success)
    s = dnnl_primitive_execute(prim, stream, n, args);
  if (s == dnnl_success)
    s = dnnl_stream_wait(stream);
  for (int i = 0; i < made; i++)
    dnnl_memory_destroy(mems[i]);
  if (stream)
    dnnl_stream_destroy(stream);
  if (s != dnnl_success)
    return ts_error(TS_ERR_RUNTIME, "%s: oneDNN execution failed (status %d)", fn,
                    (int)s);
  return NULL;
}

static void md_plain(dnnl_memory_desc_t *md, int nd, const int64_t *dims) {
  dnnl_dims_t d, st;
  int64_t s = 1;
  for (int i = nd - 1; i >= 0; i--) {
    d[i] = dims[i];
    st[i] = s;
    s *= dims[i] > 0 ? dims[i] : 1;
  }
  dnnl_memory_desc_init_by_strides(md, nd, d, dnnl_f32, st);
}

/* ---- env.dnnl.matmul family --------------------------------------------- */

static ts_status *env_dnnl_matmul(const ts_value *args, int n_args, void *ud) {
  const char *fn = ud;
  gemm_args g;
  TS_RETURN_IF_ERROR(
      gemm_parse(fn, fn + strlen("env.dnnl.matmul"), args, n_args, &g));
  if (g.M == 0 || g.N == 0)
    return NULL;
  if (g.K == 0) { /* oneDNN rejects empty reductions: bias (or 0) only */
    float *o = ts_ndarray_data(g.out);
    for (int64_t i = 0; i < g.M; i++)
      for (int64_t j = 0; j < g.N; j++) {
        float v = g.bias ? ((const float *)ts_ndarray_data(g.bias))[j] : 0.0f;
        o[i * g.N + j] = g.relu && v < 0 ? 0.0f : v;
      }
    return NULL;
  }
  TS_RETURN_IF_ERROR(engine(fn));
  dnnl_memory_desc_t amd, bmd, biasmd, omd;
  int64_t ad[2] = {g.M, g.K}, od[2] = {g.M, g.N}, bd[2] = {1, g.N};
  md_plain(&amd, 2, ad);
  md_plain(&omd, 2, od);
  md_plain(&biasmd, 2, bd);
  dnnl_dims_t wdims = {g.K, g.N};
  dnnl_dims_t wstr = {g.nt ? 1 : g.N, g.nt ? g.K : 1};
  dnnl_memory_desc_init_by_strides(&bmd, 2, wdims, dnnl_f32, wstr);
  char key[512];
  make_key(fn, args, n_args, key, sizeof key);
  dnnl_primitive_t prim = cache_get(key);
  if (!prim) {
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &amd, &bmd, g.bias ? &biasmd : NULL,
                              &omd) != dnnl_success)
      return ts_error(TS_ERR_UNSUPPORTED, "%s: bad matmul descriptor", fn);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_create(&attr);
    if (g.relu) {
      dnnl_post_ops_create(&po);
      dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
      dnnl_primitive_attr_set_post_ops(attr, po);
      dnnl_post_ops_destroy(po);
    }
    ts_status *st = make_primitive(fn, &desc, attr, &prim);
    dnnl_primitive_attr_destroy(attr);
    TS_RETURN_IF_ERROR(st);
    prim = cache_put(key, prim);
  }
  exec_arg xs[4] = {
      {DNNL_ARG_SRC, amd, ts_ndarray_data(g.a)},
      {DNNL_ARG_WEIGHTS, bmd, ts_ndarray_data(g.b)},
      {DNNL_ARG_DST, omd, ts_ndarray_data(g.out)},
      {DNNL_ARG_BIAS, biasmd, g.bias ? ts_ndarray_data(g.bias) : NULL},
  };
  return execute(fn, prim, xs, g.bias ? 4 : 3);
}

/* ---- env.dnnl.conv2d family --------------------------------------------- */

typedef enum post_kind { POST_ADD, POST_MUL, POST_SUB, POST_DIV, POST_RELU } post_kind;

typedef struct conv_attrs {
  int64_t stride[2], pad[4], dil[2], groups;
  post_kind post[MAX_POST];
  int n_post, n_binary;
} conv_attrs;

/* Reads "<c>" followed by n integers separated by 'x' at *p. */
static bool parse_ints(const char **p, char c, int64_t *v, int n) {
  if (**p != '.' || (*p)[1] != c)
    return false;
  *p += 2;
  for (int i = 0; i < n; i++) {
    char *end;
    if (i > 0) {
      if (**p != 'x')
        return false;
      (*p)++;
    }
    if (**p < '0' || **p > '9')
      return false;
    v[i] = strtoll(*p, &end, 10);
    *p = end;
  }
  return true;
}

static ts_status *parse_conv_name(const char *fn, conv_attrs *c) {
  const char *p = fn + strlen("env.dnnl.conv2d");
  memset(c, 0, sizeof *c);
  if (!parse_ints(&p, 's', c->stride, 2) || !parse_ints(&p, 'p', c->pad, 4) ||
      !parse_ints(&p, 'd', c->dil, 2) || !parse_ints(&p, 'g', &c->groups, 1))
    return ts_error(TS_ERR_NAME,
                    "%s: malformed name; expected "
                    "env.dnnl.conv2d.s<h>x<w>.p<t>x<l>x<b>x<r>.d<h>x<w>.g<n>"
                    "[.add|.mul|.sub|.div|.relu ...]",
                    fn);
  static const struct {
    const char *s;
    post_kind k;
  } names[] = {{".add", POST_ADD}, {".mul", POST_MUL}, {".sub", POST_SUB},
               {".div", POST_DIV}, {".relu", POST_RELU}};
  while (*p) {
    bool found = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++) {
      size_t n = strlen(names[i].s);
      if (!strncmp(p, names[i].s, n) && (p[n] == '.' || p[n] == 0)) {
        if (c->n_post == MAX_POST)
          return ts_error(TS_ERR_UNSUPPORTED, "%s: more than %d post-ops", fn,
                          MAX_POST);
        c->post[c->n_post++] = names[i].k;
        if (names[i].k != POST_RELU)
          c->n_binary++;
        p += n;
        found = true;
      }
    }
    if (!found)
      return ts_error(TS_ERR_NAME, "%s: unknown post-op at '%s'", fn, p);
  }
  for (int i = 0; i < 2; i++)
    if (c->stride[i] < 1 || c->dil[i] < 1)
      return ts_error(TS_ERR_VALUE, "%s: strides and dilations must be >= 1", fn);
  if (c->groups < 1)
    return ts_error(TS_ERR_VALUE, "%s: groups must be >= 1", fn);
  return NULL;
}

static ts_status *env_dnnl_conv2d(const ts_value *args, int n_args, void *ud) {
  const char *fn = ud;
  conv_attrs c;
  char buf[128];
  TS_RETURN_IF_ERROR(parse_conv_name(fn, &c));
  int want = 3 + c.n_binary;
  if (n_args != want)
    return ts_error(TS_ERR_VALUE,
                    "%s: expected %d arguments (x, w, %d post-op operands, "
                    "out), got %d",
                    fn, want, c.n_binary, n_args);
  ts_ndarray *x, *w, *out, *t[MAX_POST];
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, 0, "x", &x));
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, 1, "w", &w));
  for (int i = 0; i < c.n_binary; i++)
    TS_RETURN_IF_ERROR(tensor_f32(fn, args, 2 + i, "post-op operand", &t[i]));
  TS_RETURN_IF_ERROR(tensor_f32(fn, args, want - 1, "out", &out));
  if (ts_ndarray_ndim(x) != 4)
    return bad_shape(fn, 0, "x", x, "(N, C, H, W)");
  if (ts_ndarray_ndim(w) != 4)
    return bad_shape(fn, 1, "w", w, "(O, C/groups, KH, KW)");
  const int64_t *xs = ts_ndarray_shape(x), *ws = ts_ndarray_shape(w);
  int64_t G = c.groups, N = xs[0], C = xs[1], O = ws[0];
  if (C % G || O % G || ws[1] != C / G) {
    snprintf(buf, sizeof buf, "(O, %lld, KH, KW) with O divisible by %lld",
             (long long)(C / G), (long long)G);
    return bad_shape(fn, 1, "w", w, buf);
  }
  int64_t od[4] = {N, O, 0, 0};
  for (int i = 0; i < 2; i++) {
    int64_t eff = c.dil[i] * (ws[2 + i] - 1) + 1;
    od[2 + i] = (xs[2 + i] + c.pad[i] + c.pad[2 + i] - eff) / c.stride[i] + 1;
  }
  const int64_t *os = ts_ndarray_shape(out);
  if (ts_ndarray_ndim(out) != 4 || os[0] != od[0] || os[1] != od[1] ||
      os[2] != od[2] || os[3] != od[3]) {
    snprintf(buf, sizeof buf, "(%lld, %lld, %lld, %lld)", (long long)od[0],
             (long long)od[1], (long long)od[2], (long long)od[3]);
    return bad_shape(fn, want - 1, "out", out, buf);
  }
  /* post-op operands: right-aligned, each dim 1 or the output's */
  int64_t td[MAX_POST][4];
  for (int i = 0; i < c.n_binary; i++) {
    int nd = ts_ndarray_ndim(t[i]);
    const int64_t *s = ts_ndarray_shape(t[i]);
    bool ok = nd <= 4;
    for (int d = 0; ok && d < 4; d++) {
      int sd = d - (4 - nd);
      td[i][d] = sd >= 0 ? s[sd] : 1;
      ok = td[i][d] == 1 || td[i][d] == od[d];
    }
    if (!ok)
      return bad_shape(fn, 2 + i, "post-op operand", t[i],
                       "a shape that broadcasts to the output's");
  }
  if (ts_ndarray_numel(out) == 0)
    return NULL;
  TS_RETURN_IF_ERROR(engine(fn));
  dnnl_memory_desc_t xmd, wmd, omd, tmd[MAX_POST];
  md_plain(&xmd, 4, xs);
  md_plain(&omd, 4, od);
  if (G == 1) {
    md_plain(&wmd, 4, ws);
  } else {
    int64_t gd[5] = {G, O / G, ws[1], ws[2], ws[3]};
    md_plain(&wmd, 5, gd);
  }
  for (int i = 0; i < c.n_binary; i++)
    md_plain(&tmd[i], 4, td[i]);
  char key[512];
  make_key(fn, args, n_args, key, sizeof key);
  dnnl_primitive_t prim = cache_get(key);
  if (!prim) {
    dnnl_convolution_desc_t desc;
    dnnl_dims_t strides = {c.stride[0], c.stride[1]};
    dnnl_dims_t dil = {c.dil[0] - 1, c.dil[1] - 1};
    dnnl_dims_t pl = {c.pad[0], c.pad[1]}, pr = {c.pad[2], c.pad[3]};
    if (dnnl_dilated_convolution_forward_desc_init(
            &desc, dnnl_forward_inference, dnnl_convolution_direct, &xmd, &wmd,
            NULL, &omd, strides, dil, pl, pr) != dnnl_success)
      return ts_error(TS_ERR_UNSUPPORTED, "%s: bad convolution descriptor", fn);
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_attr_create(&attr);
    dnnl_post_ops_create(&po);
    for (int i = 0, b = 0; i < c.n_post; i++) {
      static const dnnl_alg_kind_t alg[] = {dnnl_binary_add, dnnl_binary_mul,
                                            dnnl_binary_sub, dnnl_binary_div};
      if (c.post[i] == POST_RELU)
        dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
      else
        dnnl_post_ops_append_binary(po, alg[c.post[i]], &tmd[b++]);
    }
    dnnl_primitive_attr_set_post_ops(attr, po);
    dnnl_post_ops_destroy(po);
    ts_status *st = make_primitive(fn, &desc, attr, &prim);
    dnnl_primitive_attr_destroy(attr);
    TS_RETURN_IF_ERROR(st);
    prim = cache_put(key, prim);
  }
  exec_arg xa[3 + MAX_POST] = {
      {DNNL_ARG_SRC, xmd, ts_ndarray_data(x)},
      {DNNL_ARG_WEIGHTS, wmd, ts_ndarray_data(w)},
      {DNNL_ARG_DST, omd, ts_ndarray_data(out)},
  };
  int n = 3;
  for (int i = 0, b = 0; i < c.n_post; i++)
    if (c.post[i] != POST_RELU) {
      xa[n++] = (exec_arg){DNNL_ARG_ATTR_MULTIPLE_POST_OP(i) | DNNL_ARG_SRC_1,
                           tmd[b], ts_ndarray_data(t[b])};
      b++;
    }
  return execute(fn, prim, xa, n);
}

/* ---- registration ------------------------------------------------------- */

void ts_runtime_register_dnnl_builtins(void) {
  static const struct {
    const char *name;
    ts_packed_fn fn;
  } table[] = {
      {"env.sgemm*", env_sgemm},
      {"env.dnnl.matmul*", env_dnnl_matmul},
      {"env.dnnl.conv2d.*", env_dnnl_conv2d},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    ts_status *st = ts_registry_register(table[i].name, table[i].fn, NULL, false);
    if (st)
      ts_status_free(st);
  }
}
