/* test_rule_conv.c: the convolution, depthwise and pooling rules
 * (src/tune/rule_conv.c) and the index simplifier the C backend lowers with
 * (src/ir/arith.c).
 *
 * Each graph case (conv + bias + activation/residual in NCHW, of the shapes
 * the rules branch on: 16-, 8- and 32-wide output channel blocks, the
 * stem's 3 input channels with a 7x7 stride-2 kernel, 1x1 stride 2, a
 * depthwise layer, max-pooling with padding, a non-divisible width, a
 * 7x7 layer whose weight slab outgrows L2/16 of a given target) goes
 * through the default pipeline; the test checks that the rule fired (the
 * micro-kernel annotation and the packed-weight block where it should) and
 * that the artifact equals the reference interpreter on the unscheduled
 * module (diff_util.h tolerances).  The simplifier is checked exhaustively
 * on small ranges: every rewritten expression evaluates as the original. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "diff_util.h"
#include "golden_util.h"
#include "ir/arith.h"
#include "ir/ir_util.h"
#include "tessera/build.h"
#include "tessera/transform.h"

static int n_micro, n_pack, n_blocked, n_copies;
/* loops of extent 21 (the stem's kernel columns x channels, fused) and the
 * widest channel block of a 5-D buffer written */
static int n_loops_21;
/* loops of extent 9 (the 49 pixels of a 7x7 plane in tiles of 6) */
static int n_loops_9;
/* unrolled loops of extent 3 (a 3x3 pooling window's taps) */
static int n_unrolled_3;
static int64_t widest_block;
/* extents of the loops annotated as micro-kernels (the first reduction
 * loop: C/CB, or KH where the channel blocks run outside the rows) */
static int64_t uk_extent[8];
/* the columns of the first micro-kernel's tile (the loop over them is the
 * second innermost of its nest) */
static int64_t uk_mr;
/* the targets of the cases whose structure depends on the ISA (the
 * generated C is compiled for the host either way) */
#define AVX512 "cpu -mcpu=skylake-avx512"
#define AVX2 "cpu -mcpu=haswell -l1d-kb=32 -l2-kb=2048"

static void find_mr(const ts_stmt *s) {
  while (s && s->kind == TS_S_FOR && s->u.for_.body && s->u.for_.body->kind == TS_S_FOR &&
         s->u.for_.body->u.for_.body && s->u.for_.body->u.for_.body->kind == TS_S_FOR)
    s = s->u.for_.body;
  if (s && s->kind == TS_S_FOR) ts_expr_is_const_int(s->u.for_.extent, &uk_mr);
}

static bool count(const ts_stmt *s, void *ctx) {
  (void)ctx;
  if (s->kind == TS_S_FOR && ts_attrs_get(s->u.for_.annotations, "tessera.micro_kernel")) {
    if (n_micro < 8) ts_expr_is_const_int(s->u.for_.extent, &uk_extent[n_micro]);
    if (n_micro == 0) find_mr(s);
    n_micro++;
  }
  int64_t ext;
  if (s->kind == TS_S_FOR && ts_expr_is_const_int(s->u.for_.extent, &ext) && ext == 21)
    n_loops_21++;
  if (s->kind == TS_S_FOR && ts_expr_is_const_int(s->u.for_.extent, &ext) && ext == 9)
    n_loops_9++;
  if (s->kind == TS_S_FOR && s->u.for_.kind == TS_FOR_UNROLLED &&
      ts_expr_is_const_int(s->u.for_.extent, &ext) && ext == 3)
    n_unrolled_3++;
  if (s->kind == TS_S_BLOCK_REALIZE) {
    const ts_block *b = s->u.realize.block;
    if (ts_attrs_get(b->annotations, "tessera.pack_constant")) n_pack++;
    if (!strncmp(b->name, "pad_temp", 8)) n_copies++;
    for (int i = 0; i < b->n_writes; i++)
      if (b->writes[i].buffer->ndim == 5) {
        int64_t w = 0;
        n_blocked++;
        if (ts_expr_is_const_int(b->writes[i].buffer->shape[4], &w) && w > widest_block)
          widest_block = w;
      }
  }
  return true;
}

/* The kinds of the row bindings (iteration variable 2, y) of the
 * convolution's update block and of its padding block: a division of the
 * parallel loop (rows outside the channel blocks) or a remainder (rows
 * inside). */
static ts_expr_kind conv_row_kind, pad_row_kind;
static bool row_bindings(const ts_stmt *s, void *ctx) {
  (void)ctx;
  if (s->kind == TS_S_BLOCK_REALIZE && s->u.realize.block->n_iter_vars >= 3) {
    const char *n = s->u.realize.block->name;
    if (!strcmp(n, "conv2d_nchw_update")) conv_row_kind = s->u.realize.iter_values[2]->kind;
    if (!strcmp(n, "pad_temp")) pad_row_kind = s->u.realize.iter_values[2]->kind;
  }
  return true;
}

/* A parallel loop whose nest holds both the depthwise block and its
 * padding block (each channel block pads its own plane). */
static bool has_block_named(const ts_stmt *s, void *ctx) {
  const char **want = ctx;
  if (s->kind == TS_S_BLOCK_REALIZE && !strncmp(s->u.realize.block->name, *want, strlen(*want)))
    *want = NULL;
  return *want != NULL;
}
static int n_pad_with_dw;
static bool pad_with_dw(const ts_stmt *s, void *ctx) {
  (void)ctx;
  if (s->kind == TS_S_FOR && s->u.for_.kind == TS_FOR_PARALLEL) {
    const char *a = "PaddedInput", *b = "DepthwiseConv2d";
    ts_stmt_visit(s->u.for_.body, has_block_named, NULL, &a);
    ts_stmt_visit(s->u.for_.body, has_block_named, NULL, &b);
    if (!a && !b) n_pad_with_dw++;
  }
  return true;
}

/* Variables of main bound to a 5-D (channel-blocked) tensor; the widest
 * block of them in *widest. */
static int blocked_vars(ts_module *m, int64_t *widest) {
  ts_gfunc *g = ts_module_gfunc(m, "main");
  int n = 0;
  *widest = 0;
  for (int b = 0; g && b < g->n_blocks; b++)
    for (int k = 0; k < g->blocks[b].n; k++) {
      const ts_sinfo *si = g->blocks[b].bindings[k].var ? g->blocks[b].bindings[k].var->sinfo : NULL;
      int64_t w = 0;
      if (si && si->kind == TS_SI_TENSOR && si->u.tensor.ndim == 5) {
        n++;
        if (ts_expr_is_const_int(si->u.tensor.shape[4], &w) && w > *widest) *widest = w;
      }
    }
  return n;
}

/* want_micro: micro-kernel loops expected (>= 1), or 0 for none (pooling);
 * want_blocked: a 5-D (channel-blocked) buffer written; want_vars: graph
 * tensors kept blocked between convolutions. */
static void run_case(const char *name, const char *text, const char *tmp, int want_micro,
                     bool want_blocked, int want_vars, const char *target) {
  ts_module *ref = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), name, &ref);
  if (st) {
    CHECK_FAIL_("%s", ts_status_render(st));
    ts_status_free(st);
    return;
  }
  ts_module *m = ts_module_copy(ref);
  /* the default pipeline, its rules for `target` where one is given */
  char *pipe = ts_xstrdup(ts_default_pipeline);
  const char *at = strstr(pipe, "schedule-default");
  if (target && at) {
    char *p2 = ts_strdup_printf("%.*sschedule-default[%s]%s", (int)(at - pipe), pipe, target,
                                at + strlen("schedule-default"));
    free(pipe);
    pipe = p2;
  }
  st = ts_pipeline_run(m, pipe, true, NULL, NULL);
  free(pipe);
  char *so = ts_strdup_printf("%s/m.so", tmp);
  ts_artifact *art = NULL;
  if (!st) st = ts_build_artifact(m, NULL, so, NULL);
  if (!st) st = ts_artifact_load(so, &art);
  if (st) {
    CHECK_FAIL_("%s: %s", name, ts_status_message(st));
    ts_status_free(st);
  } else {
    n_micro = n_pack = n_blocked = n_copies = n_loops_21 = n_loops_9 = n_unrolled_3 = 0;
    widest_block = uk_mr = 0;
    for (int i = 0; i < m->n_funcs; i++)
      if (m->funcs[i].kind == TS_FUNC_PRIM) ts_stmt_visit(m->funcs[i].u.prim->body, count, NULL, NULL);
    if (want_micro) {
      CHECK(n_micro >= want_micro);
    } else {
      CHECK(n_micro == 0);
    }
    if (want_blocked) CHECK(n_blocked > 0);
    int64_t var_block = 0;
    CHECK_EQ_INT(blocked_vars(m, &var_block), want_vars);
    /* tensors kept blocked between convolutions: blocks of 16 with
     * AVX-512, of 8 with AVX2 */
    if (!strcmp(name, "conv_chain_blocked_16_and_8")) CHECK_EQ_INT(var_block, 16);
    if (!strcmp(name, "conv_chain_blocked_8_avx2")) CHECK_EQ_INT(var_block, 8);
    if (!strcmp(name, "pool_between_convs")) {
      /* the pool's padding inlined: no padded copy in its kernel; its
       * 3x3 window taps unrolled (inside each output pixel) */
      bool pool_found = false;
      for (int i = 0; i < m->n_funcs; i++)
        if (m->funcs[i].kind == TS_FUNC_PRIM && strstr(m->funcs[i].u.prim->name, "max_pool")) {
          pool_found = true;
          n_copies = n_unrolled_3 = 0;
          ts_stmt_visit(m->funcs[i].u.prim->body, count, NULL, NULL);
          CHECK_EQ_INT(n_copies, 0);
          CHECK_EQ_INT(n_unrolled_3, 2);
        }
      CHECK(pool_found);
    }
    /* the 1x1 convolution of a blocked tensor reads it without a copy: the
     * padding nests of the two 3x3 ones remain */
    if (!strcmp(name, "conv_chain_residual_fb32")) CHECK_EQ_INT(n_copies, 2);
    /* 64 input channels in 4 blocks: the micro-kernel loop is the blocks'
     * (row-major) or the kernel rows' (blocks outside the rows: a weight
     * slab of 64x3x3x64 floats beyond L2/16) */
    if (!strcmp(name, "conv_7x7_c64_channel_blocks_outside_rows") && n_micro >= 1)
      CHECK_EQ_INT(uk_extent[0], 3);
    if (!strcmp(name, "conv_7x7_c64_rows_outside") && n_micro >= 1)
      CHECK_EQ_INT(uk_extent[0], 4);
    /* the stem (3 channels, 7x7): one reduction loop over (column,
     * channel), and 32 output channels per tile where F allows */
    if (!strncmp(name, "conv_stem_3ch", 13)) CHECK_EQ_INT(n_loops_21, 1);
    if (!strcmp(name, "conv_stem_3ch_7x7_s2")) CHECK_EQ_INT(widest_block, 16);
    if (!strcmp(name, "conv_stem_3ch_7x7_s2_f64")) CHECK_EQ_INT(widest_block, 32);
    /* 1x1: 32 output channels per tile from 32 input channels up */
    if (!strcmp(name, "conv_1x1_c64_f64")) CHECK_EQ_INT(widest_block, 32);
    if (!strcmp(name, "conv_1x1_c16_f64")) CHECK_EQ_INT(widest_block, 16);
    /* AVX2's 16 registers: tiles of 6 columns x 16 channels where 6
     * divides the width or from a width of 24 (28: the last tile of a row
     * partial), else up
     * to 14 columns x 8 channels (uk_mr: the extent of the loop inside the
     * reductions); input channel blocks of 8 (uk_extent[0]: C/8) */
    if (!strcmp(name, "conv_3x3_c64_f64_avx2") && n_micro >= 1) {
      /* bands of rows per thread: the parallel loop (n, y, F/16) and the
       * padding's (n, y, C/8), y a division of each */
      conv_row_kind = pad_row_kind = TS_E_INT;
      for (int i = 0; i < m->n_funcs; i++)
        if (m->funcs[i].kind == TS_FUNC_PRIM)
          ts_stmt_visit(m->funcs[i].u.prim->body, row_bindings, NULL, NULL);
      CHECK(conv_row_kind == TS_E_FLOORDIV || conv_row_kind == TS_E_DIV);
      CHECK(pad_row_kind == TS_E_FLOORDIV || pad_row_kind == TS_E_DIV);
      CHECK_EQ_INT(widest_block, 16);
      CHECK_EQ_INT(uk_extent[0], 8);
      CHECK_EQ_INT(uk_mr, 6);
    }
    if (!strcmp(name, "conv_3x3_c64_w7_avx2") && n_micro >= 1) {
      CHECK_EQ_INT(widest_block, 8);
      CHECK_EQ_INT(uk_mr, 7);
    }
    /* a 1x1 on a small plane: the 49 pixels one loop, tiled by 6 (8 tiles,
     * the last partial) */
    if (!strcmp(name, "conv_1x1_c32_f64_7x7_avx2") && n_micro >= 1) {
      CHECK_EQ_INT(widest_block, 16);
      CHECK_EQ_INT(uk_mr, 6);
      CHECK_EQ_INT(n_loops_9, 1);
    }
    if (!strcmp(name, "conv_3x3_c64_w10_avx2") && n_micro >= 1) {
      CHECK_EQ_INT(widest_block, 8);
      CHECK_EQ_INT(uk_extent[0], 8);
      CHECK_EQ_INT(uk_mr, 10);
    }
    /* (the stem's 15 columns: 5 x 8) */
    if (!strcmp(name, "conv_stem_3ch_7x7_s2_f64_avx2")) CHECK_EQ_INT(widest_block, 8);
    if (!strcmp(name, "depthwise_s2_batch2") && sysconf(_SC_NPROCESSORS_ONLN) > 1) {
      n_pad_with_dw = 0;
      for (int i = 0; i < m->n_funcs; i++)
        if (m->funcs[i].kind == TS_FUNC_PRIM)
          ts_stmt_visit(m->funcs[i].u.prim->body, pad_with_dw, NULL, NULL);
      CHECK_EQ_INT(n_pad_with_dw, 1);
    }
    ts_gfunc *g = ts_module_gfunc(ref, "main");
    CHECK(g != NULL);
    if (g) diff_gfunc(name, ref, g, art, 3);
    ts_artifact_release(art);
  }
  unlink(so);
  free(so);
  ts_module_destroy(m);
  ts_module_destroy(ref);
}

#define GRAPH(PARAMS, BODY)                                                    \
  "@I.ir_module\nclass Module:\n    @R.function\n    def main(" PARAMS "):\n"  \
  "        with R.dataflow():\n" BODY "            R.output(gv)\n"             \
  "        return gv\n"

#define CONV_BIAS_RELU(N, C, H, W, F, K, S, P)                                 \
  GRAPH("x: R.Tensor((" #N ", " #C ", " #H ", " #W "), \"float32\"), "         \
        "w: R.Tensor((" #F ", " #C ", " #K ", " #K "), \"float32\"), "         \
        "b: R.Tensor((" #F ", 1, 1), \"float32\")",                            \
        "            lv0 = R.nn.conv2d(x, w, strides=[" #S ", " #S             \
        "], padding=[" #P ", " #P ", " #P ", " #P "])\n"                       \
        "            lv1 = R.add(lv0, b)\n"                                    \
        "            gv = R.nn.relu(lv1)\n")

static const char *conv_residual =
    GRAPH("x: R.Tensor((1, 32, 10, 10), \"float32\"), w: R.Tensor((32, 32, 3, 3), "
          "\"float32\"), b: R.Tensor((32, 1, 1), \"float32\")",
          "            lv0 = R.nn.conv2d(x, w, padding=[1, 1, 1, 1])\n"
          "            lv1 = R.add(lv0, b)\n"
          "            lv2 = R.add(lv1, x)\n"
          "            gv = R.nn.relu(lv2)\n");

static const char *conv_plain =
    GRAPH("x: R.Tensor((1, 16, 6, 12), \"float32\"), w: R.Tensor((16, 16, 1, 1), "
          "\"float32\")",
          "            gv = R.nn.conv2d(x, w)\n");

static const char *depthwise =
    GRAPH("x: R.Tensor((1, 32, 14, 14), \"float32\"), w: R.Tensor((32, 1, 3, 3), "
          "\"float32\")",
          "            lv0 = R.nn.conv2d(x, w, groups=32, padding=[1, 1, 1, 1])\n"
          "            gv = R.clip(lv0, R.prim_value(0), R.prim_value(6))\n");

static const char *depthwise_s2 =
    GRAPH("x: R.Tensor((1, 16, 15, 15), \"float32\"), w: R.Tensor((16, 1, 3, 3), "
          "\"float32\")",
          "            gv = R.nn.conv2d(x, w, strides=[2, 2], groups=16, padding=[1, 1, 1, "
          "1])\n");

/* batch 2, three channel blocks: each (n, block) pads its own plane */
static const char *depthwise_s2_batch2 =
    GRAPH("x: R.Tensor((2, 48, 15, 15), \"float32\"), w: R.Tensor((48, 1, 3, 3), "
          "\"float32\")",
          "            gv = R.nn.conv2d(x, w, strides=[2, 2], groups=48, padding=[1, 1, 1, "
          "1])\n");

/* Convolutions chained through blocked tensors: 16-channel blocks (a 3x3,
 * a 1x1 read without padding, a residual add, a depthwise), then 8-channel
 * blocks (24 channels); the kernels of lv6 and lv7 have no epilogue.  lv2 is
 * also read by a max-pool (blocked too), whose result and lv9 are the
 * graph's: they stay NCHW.  (The
 * scalings keep the values near 1, where float32 rounding stays inside the
 * comparison's tolerance.) */
static const char *conv_chain =
    GRAPH("x: R.Tensor((1, 16, 8, 8), \"float32\"), w1: R.Tensor((32, 16, 3, 3), \"float32\"), "
          "b1: R.Tensor((32, 1, 1), \"float32\"), w2: R.Tensor((32, 32, 1, 1), \"float32\"), "
          "w3: R.Tensor((32, 1, 3, 3), \"float32\"), w4: R.Tensor((24, 32, 1, 1), \"float32\"), "
          "w5: R.Tensor((24, 24, 3, 3), \"float32\"), w6: R.Tensor((16, 24, 1, 1), \"float32\")",
          "            lv0 = R.nn.conv2d(x, w1, padding=[1, 1, 1, 1])\n"
          "            lv1 = R.add(lv0, b1)\n"
          "            lv2 = R.nn.relu(lv1)\n"
          "            lv3 = R.nn.conv2d(lv2, w2)\n"
          "            lv4 = R.add(lv3, lv2)\n"
          "            lv5a = R.nn.relu(lv4)\n"
          "            lv5 = R.multiply(lv5a, R.const(0.1, \"float32\"))\n"
          "            lv6 = R.nn.conv2d(lv5, w3, groups=32, padding=[1, 1, 1, 1])\n"
          "            lv7 = R.nn.conv2d(lv6, w4)\n"
          "            lv8a = R.nn.conv2d(lv7, w5, padding=[1, 1, 1, 1])\n"
          "            lv8 = R.multiply(lv8a, R.const(0.1, \"float32\"))\n"
          "            lv9 = R.nn.conv2d(lv8, w6)\n"
          "            lv10 = R.nn.max_pool2d(lv2, pool_size=[2, 2], strides=[2, 2])\n"
          "            gv = (lv9, lv10)\n");

/* A max-pool between convolutions: its input and result stay blocked, its
 * padding nest is inlined (a condition per window tap). */
static const char *pool_chain =
    GRAPH("x: R.Tensor((1, 16, 12, 12), \"float32\"), w1: R.Tensor((16, 16, 3, 3), \"float32\"), "
          "w2: R.Tensor((16, 16, 1, 1), \"float32\")",
          "            lv0 = R.nn.conv2d(x, w1, padding=[1, 1, 1, 1])\n"
          "            lv1 = R.nn.relu(lv0)\n"
          "            lv2 = R.nn.max_pool2d(lv1, pool_size=[3, 3], strides=[2, 2], "
          "padding=[1, 1, 1, 1])\n"
          "            gv = R.nn.conv2d(lv2, w2)\n");

/* The same kernels without the max-pool: lv2 is blocked too. */
static const char *conv_chain_all =
    GRAPH("x: R.Tensor((1, 16, 8, 8), \"float32\"), w1: R.Tensor((32, 16, 3, 3), \"float32\"), "
          "w2: R.Tensor((32, 32, 1, 1), \"float32\"), w3: R.Tensor((32, 32, 3, 3), \"float32\")",
          "            lv0 = R.nn.conv2d(x, w1, padding=[1, 1, 1, 1])\n"
          "            lv1 = R.nn.relu(lv0)\n"
          "            lv2 = R.nn.conv2d(lv1, w2)\n"
          "            lv3 = R.add(lv2, lv1)\n"
          "            gv = R.nn.conv2d(lv3, w3, strides=[2, 2], padding=[1, 1, 1, 1])\n");

static const char *maxpool =
    GRAPH("x: R.Tensor((1, 8, 18, 18), \"float32\")",
          "            gv = R.nn.max_pool2d(x, pool_size=[3, 3], strides=[2, 2], "
          "padding=[1, 1, 1, 1])\n");

static const char *elementwise =
    GRAPH("x: R.Tensor((2, 24, 7, 7), \"float32\"), y: R.Tensor((24, 1, 1), \"float32\")",
          "            lv0 = R.add(x, y)\n"
          "            lv1 = R.maximum(lv0, R.const(0.0, \"float32\"))\n"
          "            gv = R.minimum(lv1, R.const(6.0, \"float32\"))\n");

/* ---- the index simplifier ------------------------------------------------- */

static int64_t eval(const ts_expr *e, const ts_var *const *vars, const int64_t *vals, int n) {
  switch (e->kind) {
  case TS_E_INT: return e->u.int_value;
  case TS_E_VAR:
    for (int i = 0; i < n; i++)
      if (vars[i] == e->u.var) return vals[i];
    CHECK(!"unbound variable");
    return 0;
  default: break;
  }
  int64_t a = eval(e->u.bin.a, vars, vals, n), b = eval(e->u.bin.b, vars, vals, n);
  switch (e->kind) {
  case TS_E_ADD: return a + b;
  case TS_E_SUB: return a - b;
  case TS_E_MUL: return a * b;
  case TS_E_FLOORDIV: return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
  case TS_E_FLOORMOD: {
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
  }
  default: CHECK(!"unexpected expression"); return 0;
  }
}

static bool has_div(const ts_expr *e) {
  if (e->kind == TS_E_FLOORDIV || e->kind == TS_E_FLOORMOD) return true;
  return ts_expr_kind_is_binary(e->kind) && (has_div(e->u.bin.a) || has_div(e->u.bin.b));
}

static void test_simplify(void) {
  ts_arena *a = ts_arena_create();
  ts_dtype i64 = {TS_INT, 64, 1};
  ts_var *x = ts_var_new(a, "x", i64, (ts_loc){0});
  ts_var *y = ts_var_new(a, "y", i64, (ts_loc){0});
  ts_var *z = ts_var_new(a, "z", i64, (ts_loc){0});
  const ts_var *vars[3] = {x, y, z};
  ts_ptrmap ranges = {0};
  int64_t rx[2] = {0, 5}, ry[2] = {0, 15}, rz[2] = {-3, 3};
  ts_ptrmap_put(&ranges, x, rx);
  ts_ptrmap_put(&ranges, y, ry);
  ts_ptrmap_put(&ranges, z, rz);
#define V(v) ts_varref(a, v)
#define I(k) ts_int(a, i64, k)
#define B(k, p, q) ts_binary(a, TS_E_##k, p, q)
  ts_expr *fused = B(ADD, B(MUL, V(x), I(16)), V(y)); /* x*16 + y */
  struct {
    ts_expr *e;
    bool simplifies; /* no division left */
  } cases[] = {
      {B(FLOORDIV, fused, I(16)), true},                         /* x */
      {B(FLOORMOD, fused, I(16)), true},                         /* y */
      {B(FLOORDIV, B(ADD, fused, I(32)), I(16)), true},          /* x + 2 */
      {B(FLOORMOD, B(ADD, fused, I(35)), I(16)), false},         /* y + 3 may wrap */
      {B(FLOORDIV, B(FLOORDIV, fused, I(4)), I(4)), true},       /* x */
      {B(FLOORMOD, B(FLOORDIV, fused, I(4)), I(4)), false},      /* (y // 4) % 4 */
      {B(FLOORDIV, B(ADD, B(MUL, V(x), I(8)), V(y)), I(8)), false}, /* y spans 2 blocks */
      {B(FLOORDIV, V(z), I(4)), false},                          /* negative z */
      {B(FLOORMOD, B(ADD, B(MUL, V(z), I(12)), V(x)), I(6)), true}, /* x */
      {B(SUB, B(FLOORDIV, fused, I(16)), B(FLOORMOD, fused, I(16))), true},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ts_expr *s = ts_expr_simplify_index(a, cases[i].e, &ranges);
    CHECK(has_div(s) == !cases[i].simplifies);
    for (int64_t vx = rx[0]; vx <= rx[1]; vx++)
      for (int64_t vy = ry[0]; vy <= ry[1]; vy++)
        for (int64_t vz = rz[0]; vz <= rz[1]; vz++) {
          int64_t vals[3] = {vx, vy, vz};
          if (eval(s, vars, vals, 3) != eval(cases[i].e, vars, vals, 3)) {
            CHECK_FAIL_("simplifier case %zu differs at x=%lld y=%lld z=%lld", i,
                        (long long)vx, (long long)vy, (long long)vz);
            vx = rx[1] + 1;
            vy = ry[1] + 1;
            break;
          }
        }
  }
  int64_t lo, hi;
  CHECK(ts_expr_range(B(FLOORMOD, fused, I(16)), &ranges, &lo, &hi) && lo == 0 && hi == 15);
  CHECK(ts_expr_range(fused, &ranges, &lo, &hi) && lo == 0 && hi == 95);
  CHECK(!ts_expr_range(B(ADD, V(x), B(MUL, V(x), V(x))), NULL, &lo, &hi));
#undef V
#undef I
#undef B
  ts_ptrmap_free(&ranges);
  ts_arena_destroy(a);
}

int main(void) {
  ts_runtime_register_builtins();
  (void)diff_primfunc; /* diff_util.h's kernel-level helpers: unused here */
  (void)has_symbolic;
  char tmpl[] = "/tmp/ts_rule_conv_XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  check_run_tests_++;
  check_cur_failed_ = 0;
  test_simplify();
  if (check_cur_failed_) check_failed_tests_++;
  fprintf(stderr, "%s simplify_index\n", check_cur_failed_ ? "FAIL" : "ok  ");
  struct {
    const char *name, *text;
    int micro;
    bool blocked;
    int vars;
    const char *target;
  } cases[] = {
      {"conv_3x3_c16_f32_12x12", CONV_BIAS_RELU(1, 16, 12, 12, 32, 3, 1, 1), 1, true, 0, NULL},
      {"conv_7x7_output_f64_fb32", CONV_BIAS_RELU(1, 16, 7, 7, 64, 3, 1, 1), 1, true, 0, NULL},
      {"conv_f24_fb8", CONV_BIAS_RELU(1, 12, 8, 8, 24, 1, 1, 0), 1, true, 0, NULL},
      {"conv_stem_3ch_7x7_s2", CONV_BIAS_RELU(1, 3, 32, 32, 16, 7, 2, 3), 1, true, 0, AVX512},
      {"conv_stem_3ch_7x7_s2_f64", CONV_BIAS_RELU(1, 3, 30, 30, 64, 7, 2, 3), 1, true, 0, AVX512},
      {"conv_stem_3ch_7x7_s2_f64_avx2", CONV_BIAS_RELU(1, 3, 30, 30, 64, 7, 2, 3), 1, true, 0,
       AVX2},
      {"conv_1x1_s2_c24", CONV_BIAS_RELU(1, 24, 14, 14, 32, 1, 2, 0), 1, true, 0, NULL},
      {"conv_1x1_c64_f64", CONV_BIAS_RELU(1, 64, 14, 14, 64, 1, 1, 0), 1, true, 0, AVX512},
      {"conv_1x1_c16_f64", CONV_BIAS_RELU(1, 16, 14, 14, 64, 1, 1, 0), 1, true, 0, AVX512},
      {"conv_3x3_c64_f64_avx2", CONV_BIAS_RELU(1, 64, 28, 28, 64, 3, 1, 1), 1, true, 0, AVX2},
      {"conv_3x3_c64_w7_avx2", CONV_BIAS_RELU(1, 64, 7, 7, 64, 3, 1, 1), 1, true, 0, AVX2},
      {"conv_3x3_c64_w10_avx2", CONV_BIAS_RELU(1, 64, 10, 10, 64, 3, 1, 1), 1, true, 0, AVX2},
      {"conv_1x1_c32_f64_7x7_avx2", CONV_BIAS_RELU(1, 32, 7, 7, 64, 1, 1, 0), 1, true, 0, AVX2},
      {"conv_width_13", CONV_BIAS_RELU(1, 16, 13, 13, 16, 3, 1, 1), 1, true, 0, NULL},
      {"conv_batch_2", CONV_BIAS_RELU(2, 16, 8, 8, 16, 3, 1, 1), 1, true, 0, NULL},
      {"conv_residual", conv_residual, 1, true, 0, NULL},
      {"conv_no_epilogue", conv_plain, 1, true, 0, NULL},
      {"depthwise_clip", depthwise, 1, true, 0, NULL},
      {"depthwise_s2", depthwise_s2, 1, true, 0, NULL},
      {"depthwise_s2_batch2", depthwise_s2_batch2, 1, true, 0, NULL},
      {"conv_chain_blocked_16_and_8", conv_chain, 5, true, 5, AVX512},
      {"conv_chain_blocked_8_avx2", conv_chain, 5, true, 5, AVX2},
      {"pool_between_convs", pool_chain, 2, true, 2, NULL},
      {"conv_chain_residual_fb32", conv_chain_all, 3, true, 2, NULL},
      {"maxpool_3x3_s2", maxpool, 0, false, 0, NULL},
      {"elementwise_chain", elementwise, 0, false, 0, NULL},
      {"conv_7x7_c64_channel_blocks_outside_rows", CONV_BIAS_RELU(1, 64, 7, 7, 256, 3, 1, 1), 1,
       true, 0, AVX512 " -l2-kb=256 -num-cores=2"},
      {"conv_7x7_c64_rows_outside", CONV_BIAS_RELU(1, 64, 7, 7, 256, 3, 1, 1), 1, true, 0,
       AVX512 " -l2-kb=4096 -num-cores=2"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    check_cur_failed_ = 0;
    check_run_tests_++;
    run_case(cases[i].name, cases[i].text, tmpl, cases[i].micro, cases[i].blocked,
             cases[i].vars, cases[i].target);
    if (check_cur_failed_) check_failed_tests_++;
    fprintf(stderr, "%s %s\n", check_cur_failed_ ? "FAIL" : "ok  ", cases[i].name);
  }
  rmdir(tmpl);
  CHECK(compared == (int)(sizeof cases / sizeof cases[0]));
  return CHECK_DONE();
}
