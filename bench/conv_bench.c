/* conv_bench.c: one convolution layer (NCHW fp32, conv + bias + ReLU) run by
 * a Tessera artifact (`tessera compile` of the layer's ONNX export, run end
 * to end through the VM: ts_artifact_run, output allocation included) and by
 * oneDNN's direct convolution (format_tag_any blocked layouts chosen by the
 * primitive, ReLU as an eltwise post-op, forward_inference; the weights and
 * the source are reordered into those layouts once, outside the timing, and
 * the destination stays blocked, as an inference engine would keep it), in
 * one process, interleaved.
 *
 * Protocol (driven by bench/conv_bench.py, which interleaves these samples
 * with PyTorch's, run in another process): after >= 0.2 s of warm-up per
 * library, which also sizes its batches (enough calls for >= 2 ms), the
 * harness writes both outputs (oneDNN's reordered back to NCHW) to
 * OUT_DIR/{tessera,onednn}.npy and prints
 *   ready <tessera batch> <onednn batch> threads <n> libcalls <k>
 *         onednn_impl <impl>
 * (k: occurrences of "env." in the artifact's disassembly, i.e. whether it
 * calls library functions instead of its own kernels)
 * then, for each line "s" on stdin, runs one batch of Tessera and one of
 * oneDNN (each after one untimed call, to warm caches and thread pools
 * again after the other process's sample) and prints "sample <tessera s/call> <onednn s/call>"; it exits at
 * "q" or end of input.
 * Threads come from the environment (TESSERA_NUM_THREADS, OMP_NUM_THREADS),
 * set by bench/conv_bench.py.
 *
 * usage: conv_bench ARTIFACT.so X.npy W.npy B.npy STRIDE PAD GROUPS OUT_DIR
 *   W: (O, C/GROUPS, KH, KW), B: (O,), X: (1, C, H, W). */
#define _POSIX_C_SOURCE 200809L
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tessera/runtime.h"
#include "tessera/vm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die_ts(ts_status *st, const char *what) {
  fprintf(stderr, "conv_bench: %s: %s\n", what, ts_status_message(st));
  exit(1);
}

#define DNNL_CHECK(call)                                                   \
  do {                                                                     \
    dnnl_status_t s_ = (call);                                             \
    if (s_ != dnnl_success) {                                              \
      fprintf(stderr, "conv_bench: %s failed (dnnl status %d)\n", #call,   \
              (int)s_);                                                    \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* oneDNN state for one layer */
typedef struct dnn {
  dnnl_engine_t eng;
  dnnl_stream_t strm;
  dnnl_primitive_t conv;
  dnnl_memory_t src, wei, bias, dst;
  const char *impl;
} dnn;

/* A memory in the layout `want` holding the contents of user memory `user`
 * (reordered when the layouts differ). */
static dnnl_memory_t to_layout(dnn *d, dnnl_memory_t user,
                               const dnnl_memory_desc_t *want) {
  const dnnl_memory_desc_t *have;
  DNNL_CHECK(dnnl_memory_get_memory_desc(user, &have));
  if (dnnl_memory_desc_equal(have, want)) return user;
  dnnl_memory_t m;
  DNNL_CHECK(dnnl_memory_create(&m, want, d->eng, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_t rpd;
  DNNL_CHECK(dnnl_reorder_primitive_desc_create(&rpd, have, d->eng, want, d->eng, NULL));
  dnnl_primitive_t r;
  DNNL_CHECK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, user}, {DNNL_ARG_TO, m}};
  DNNL_CHECK(dnnl_primitive_execute(r, d->strm, 2, args));
  DNNL_CHECK(dnnl_stream_wait(d->strm));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(rpd);
  return m;
}

static void dnn_setup(dnn *d, const int64_t *xs, const int64_t *ws, float *x, float *w,
                      float *b, int64_t stride, int64_t pad, int64_t groups) {
  int64_t N = xs[0], C = xs[1], H = xs[2], W = xs[3];
  int64_t O = ws[0], KH = ws[2], KW = ws[3];
  int64_t OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  DNNL_CHECK(dnnl_engine_create(&d->eng, dnnl_cpu, 0));
  DNNL_CHECK(dnnl_stream_create(&d->strm, d->eng, dnnl_stream_default_flags));
  dnnl_dims_t src_dims = {N, C, H, W}, dst_dims = {N, O, OH, OW}, bias_dims = {O};
  dnnl_dims_t wei_dims;
  int wei_nd;
  dnnl_format_tag_t wei_user_tag;
  if (groups == 1) {
    wei_nd = 4;
    wei_dims[0] = O, wei_dims[1] = C, wei_dims[2] = KH, wei_dims[3] = KW;
    wei_user_tag = dnnl_oihw;
  } else { /* (G, O/G, C/G, KH, KW): same bytes as OIHW */
    wei_nd = 5;
    wei_dims[0] = groups, wei_dims[1] = O / groups, wei_dims[2] = C / groups;
    wei_dims[3] = KH, wei_dims[4] = KW;
    wei_user_tag = dnnl_goihw;
  }
  dnnl_memory_desc_t src_any, wei_any, dst_any, bias_md;
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any));
  DNNL_CHECK(
      dnnl_memory_desc_init_by_tag(&wei_any, wei_nd, wei_dims, dnnl_f32, dnnl_format_tag_any));
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any));
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
  dnnl_convolution_desc_t cd;
  dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
  DNNL_CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference,
                                                dnnl_convolution_direct, &src_any, &wei_any,
                                                &bias_md, &dst_any, strides, padding, padding));
  dnnl_post_ops_t po;
  DNNL_CHECK(dnnl_post_ops_create(&po));
  DNNL_CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
  dnnl_primitive_attr_t attr;
  DNNL_CHECK(dnnl_primitive_attr_create(&attr));
  DNNL_CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
  dnnl_primitive_desc_t pd;
  DNNL_CHECK(dnnl_primitive_desc_create(&pd, &cd, attr, d->eng, NULL));
  DNNL_CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &d->impl));
  d->impl = strdup(d->impl);
  DNNL_CHECK(dnnl_primitive_create(&d->conv, pd));

  /* user memories (plain layouts, borrowing the .npy data), then the
   * one-time reorders into the primitive's layouts */
  dnnl_memory_desc_t src_user, wei_user;
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&src_user, 4, src_dims, dnnl_f32, dnnl_nchw));
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&wei_user, wei_nd, wei_dims, dnnl_f32, wei_user_tag));
  dnnl_memory_t src_u, wei_u;
  DNNL_CHECK(dnnl_memory_create(&src_u, &src_user, d->eng, x));
  DNNL_CHECK(dnnl_memory_create(&wei_u, &wei_user, d->eng, w));
  DNNL_CHECK(dnnl_memory_create(&d->bias, &bias_md, d->eng, b));
  d->src = to_layout(d, src_u, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0));
  d->wei = to_layout(d, wei_u, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
  DNNL_CHECK(dnnl_memory_create(&d->dst, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0),
                                d->eng, DNNL_MEMORY_ALLOCATE));
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_attr_destroy(attr);
  dnnl_post_ops_destroy(po);
}

static void dnn_run(dnn *d) {
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, d->src},
                             {DNNL_ARG_WEIGHTS, d->wei},
                             {DNNL_ARG_BIAS, d->bias},
                             {DNNL_ARG_DST, d->dst}};
  DNNL_CHECK(dnnl_primitive_execute(d->conv, d->strm, 4, args));
  DNNL_CHECK(dnnl_stream_wait(d->strm));
}

/* oneDNN's destination as NCHW into `out` (numel floats). */
static void dnn_output(dnn *d, const int64_t *shape, float *out) {
  dnnl_dims_t dims = {shape[0], shape[1], shape[2], shape[3]};
  dnnl_memory_desc_t md;
  DNNL_CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw));
  dnnl_memory_t plain;
  DNNL_CHECK(dnnl_memory_create(&plain, &md, d->eng, out));
  const dnnl_memory_desc_t *have;
  DNNL_CHECK(dnnl_memory_get_memory_desc(d->dst, &have));
  dnnl_primitive_desc_t rpd;
  DNNL_CHECK(dnnl_reorder_primitive_desc_create(&rpd, have, d->eng, &md, d->eng, NULL));
  dnnl_primitive_t r;
  DNNL_CHECK(dnnl_primitive_create(&r, rpd));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, d->dst}, {DNNL_ARG_TO, plain}};
  DNNL_CHECK(dnnl_primitive_execute(r, d->strm, 2, args));
  DNNL_CHECK(dnnl_stream_wait(d->strm));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(rpd);
  dnnl_memory_destroy(plain);
}

/* Tessera: one end-to-end run of the graph function. */
typedef struct tess {
  ts_artifact *art;
  const char *func;
  ts_value in;
} tess;

static ts_ndarray *tess_run(tess *t, bool keep) {
  ts_value *outs = NULL;
  int n_out = 0;
  ts_status *st = ts_artifact_run(t->art, t->func, &t->in, 1, &outs, &n_out);
  if (st) die_ts(st, "ts_artifact_run");
  ts_ndarray *r = NULL;
  if (keep && n_out >= 1 && outs[0].kind == TS_VAL_TENSOR) r = ts_ndarray_retain(outs[0].u.tensor);
  ts_artifact_free_values(outs, n_out);
  return r;
}

enum { N_LIBS = 2 };

int main(int argc, char **argv) {
  if (argc != 9) {
    fprintf(stderr, "usage: %s ARTIFACT.so X.npy W.npy B.npy STRIDE PAD GROUPS OUT_DIR\n",
            argv[0]);
    return 2;
  }
  int64_t stride = atoll(argv[5]), pad = atoll(argv[6]), groups = atoll(argv[7]);
  const char *out_dir = argv[8];
  ts_runtime_register_builtins();
  ts_ndarray *x, *w, *b;
  ts_status *st;
  if ((st = ts_npy_read(argv[2], &x))) die_ts(st, argv[2]);
  if ((st = ts_npy_read(argv[3], &w))) die_ts(st, argv[3]);
  if ((st = ts_npy_read(argv[4], &b))) die_ts(st, argv[4]);
  if (ts_ndarray_ndim(x) != 4 || ts_ndarray_ndim(w) != 4 || ts_ndarray_ndim(b) != 1 ||
      !ts_dtype_eq(ts_ndarray_dtype(x), TS_F32) || !ts_dtype_eq(ts_ndarray_dtype(w), TS_F32) ||
      !ts_dtype_eq(ts_ndarray_dtype(b), TS_F32)) {
    fprintf(stderr, "conv_bench: expected float32 X (4-D), W (4-D), B (1-D)\n");
    return 1;
  }

  tess t = {0};
  if ((st = ts_artifact_load(argv[1], &t.art))) die_ts(st, argv[1]);
  const char *const *names;
  int n_names;
  ts_artifact_function_names(t.art, &names, &n_names);
  t.func = "main";
  if (n_names >= 1) {
    t.func = names[0];
    for (int i = 0; i < n_names; i++)
      if (!strcmp(names[i], "main")) t.func = "main";
  }
  t.in = (ts_value){TS_VAL_TENSOR, {.tensor = x}};

  dnn d = {0};
  dnn_setup(&d, ts_ndarray_shape(x), ts_ndarray_shape(w), ts_ndarray_data(x),
            ts_ndarray_data(w), ts_ndarray_data(b), stride, pad, groups);

  /* outputs once, for the caller's check */
  ts_ndarray *y = tess_run(&t, true);
  if (!y || ts_ndarray_ndim(y) != 4) {
    fprintf(stderr, "conv_bench: the artifact did not return one 4-D tensor\n");
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/tessera.npy", out_dir);
  if ((st = ts_npy_write(path, y))) die_ts(st, path);
  dnn_run(&d);
  ts_ndarray *yd;
  if ((st = ts_ndarray_create(4, ts_ndarray_shape(y), TS_F32, &yd))) die_ts(st, "create");
  dnn_output(&d, ts_ndarray_shape(y), ts_ndarray_data(yd));
  snprintf(path, sizeof path, "%s/onednn.npy", out_dir);
  if ((st = ts_npy_write(path, yd))) die_ts(st, path);
  ts_ndarray_release(y);
  ts_ndarray_release(yd);

  int inner[N_LIBS];
  for (int l = 0; l < N_LIBS; l++) {
    double t0 = now(), el;
    int n = 0;
    do { /* warm-up of >= 0.2 s, also sizes the batches */
      if (l == 0) tess_run(&t, false);
      else dnn_run(&d);
      n++;
      el = now() - t0;
    } while (el < 0.2);
    double per = el / n;
    inner[l] = per >= 2e-3 ? 1 : (int)(2e-3 / per) + 1;
  }
  /* does the artifact call library functions (env.*, e.g. oneDNN through
   * the dispatch-library pass) rather than its own kernels? */
  char *dis = NULL;
  int libcalls = 0;
  if (!(st = ts_artifact_disassemble(t.art, &dis)))
    for (const char *p = dis; (p = strstr(p, "env.")); p++) libcalls++;
  else
    ts_status_free(st);
  free(dis);
  printf("ready %d %d threads %d libcalls %d onednn_impl %s\n", inner[0], inner[1],
         ts_runtime_num_threads(), libcalls, d.impl);
  fflush(stdout);
  /* one sample of each library per "s" line, until "q" or end of input */
  char line[64];
  while (fgets(line, sizeof line, stdin) && line[0] == 's') {
    double per[N_LIBS];
    for (int l = 0; l < N_LIBS; l++) {
      /* one untimed call first: the other process ran in between */
      if (l == 0) tess_run(&t, false);
      else dnn_run(&d);
      double t0 = now();
      for (int r = 0; r < inner[l]; r++) {
        if (l == 0) tess_run(&t, false);
        else dnn_run(&d);
      }
      per[l] = (now() - t0) / inner[l];
    }
    printf("sample %.9f %.9f\n", per[0], per[1]);
    fflush(stdout);
  }
  ts_artifact_release(t.art);
  ts_ndarray_release(x);
  ts_ndarray_release(w);
  ts_ndarray_release(b);
  return 0;
}
