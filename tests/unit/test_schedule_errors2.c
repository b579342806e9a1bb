/* test_schedule_errors2.c: illegal requests to cache_read/cache_write,
 * set_scope, storage_align, decompose_reduction, rfactor, transform_layout,
 * transform_block_layout, blockize, tensorize, annotate/unannotate and the
 * sampling primitives: each fails with its exact message and leaves the
 * module (printed text) and the trace unchanged. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

static const char *k_src =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def main(A: T.Buffer((16, 16), \"float32\"), B: T.Buffer((16, 16), "
    "\"float32\"), D: T.Buffer((16, 16), \"float32\")):\n"
    "        C = T.alloc_buffer((16, 16))\n"
    "        for i, j, k in T.grid(16, 16, 16):\n"
    "            with T.block(\"C\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    C[vi, vj] = T.float32(0)\n"
    "                C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "        for i, j in T.grid(16, 16):\n"
    "            with T.block(\"D\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                D[vi, vj] = C[vi, vj] + T.float32(1)\n";

typedef struct fixture {
  ts_module *m;
  ts_schedule *s;
  ts_rv c, d;        /* blocks */
  ts_rv *cl, *dl;    /* loops of C (3) and D (2) */
  int ncl, ndl;
  char *before;
  char *trace_before;
} fixture;

static bool setup(fixture *fx) {
  memset(fx, 0, sizeof *fx);
  ts_status *st = ts_script_parse(k_src, strlen(k_src), "errors2", &fx->m);
  if (st) {
    fprintf(stderr, "%s\n", ts_status_render(st));
    ts_status_free(st);
    return false;
  }
  fx->s = ts_schedule_create(fx->m, 7);
  CHECK_OK(ts_sch_get_block(fx->s, "C", "main", &fx->c));
  CHECK_OK(ts_sch_get_block(fx->s, "D", "main", &fx->d));
  CHECK_OK(ts_sch_get_loops(fx->s, fx->c, &fx->cl, &fx->ncl));
  CHECK_OK(ts_sch_get_loops(fx->s, fx->d, &fx->dl, &fx->ndl));
  fx->before = ts_script_print(ts_schedule_module(fx->s), NULL);
  fx->trace_before = ts_schedule_trace_text(fx->s);
  return fx->ncl == 3 && fx->ndl == 2;
}

static void teardown(fixture *fx) {
  free(fx->cl);
  free(fx->dl);
  free(fx->before);
  free(fx->trace_before);
  ts_schedule_destroy(fx->s);
  ts_module_destroy(fx->m);
}

/* Checks the exact message and that nothing changed. */
#define EXPECT_ERROR(fx, call, msg)                                            \
  do {                                                                         \
    ts_status *st_ = (call);                                                   \
    if (!st_) {                                                                \
      CHECK_FAIL_("%s succeeded, expected an error", #call);                   \
    } else {                                                                   \
      CHECK_EQ_STR(ts_status_message(st_), msg);                               \
      ts_status_free(st_);                                                     \
    }                                                                          \
    char *after_ = ts_script_print(ts_schedule_module((fx)->s), NULL);         \
    CHECK_EQ_STR(after_, (fx)->before);                                        \
    free(after_);                                                              \
    char *tr_ = ts_schedule_trace_text((fx)->s);                               \
    CHECK_EQ_STR(tr_, (fx)->trace_before);                                     \
    free(tr_);                                                                 \
  } while (0)

TEST(cache_errors) {
  fixture fx;
  REQUIRE(setup(&fx));
  ts_rv out;
  EXPECT_ERROR(&fx, ts_sch_cache_read(fx.s, fx.c, 5, "shared", &out),
               "ScheduleError: cache_read: read_buffer_index 5 is out of "
               "range: block C reads 3 buffer(s)");
  EXPECT_ERROR(&fx, ts_sch_cache_read(fx.s, fx.c, 1, "texture-ish", &out),
               "ScheduleError: cache_read: invalid storage scope "
               "\"texture-ish\"");
  EXPECT_ERROR(&fx, ts_sch_cache_read(fx.s, fx.c, 0, "shared", &out),
               "ScheduleError: cache_read: block C both reads and writes "
               "buffer C; cache_read needs a read-only buffer");
  EXPECT_ERROR(&fx, ts_sch_cache_write(fx.s, fx.d, 1, "local", &out),
               "ScheduleError: cache_write: write_buffer_index 1 is out of "
               "range: block D writes 1 buffer(s)");
  EXPECT_ERROR(&fx, ts_sch_cache_write(fx.s, fx.cl[0], 0, "local", &out),
               "ScheduleError: schedule: l2 is a loop handle, expected a "
               "block");
  EXPECT_ERROR(&fx, ts_sch_set_scope(fx.s, fx.d, 0, "shared"),
               "ScheduleError: set_scope: buffer D is a parameter of "
               "function main; only allocated buffers can change scope");
  EXPECT_ERROR(&fx, ts_sch_storage_align(fx.s, fx.c, 0, 2, 16, 1),
               "ScheduleError: storage_align: axis 2 is out of range for the "
               "2-D buffer C");
  EXPECT_ERROR(&fx, ts_sch_storage_align(fx.s, fx.c, 0, 0, 0, 0),
               "ScheduleError: storage_align: factor 0 must be positive");
  teardown(&fx);
}

TEST(reduction_errors) {
  fixture fx;
  REQUIRE(setup(&fx));
  ts_rv out;
  EXPECT_ERROR(&fx, ts_sch_decompose_reduction(fx.s, fx.d, fx.dl[0], &out),
               "ScheduleError: decompose_reduction: block D has no init "
               "(T.init()) to decompose");
  EXPECT_ERROR(&fx, ts_sch_decompose_reduction(fx.s, fx.c, fx.dl[0], &out),
               "ScheduleError: decompose_reduction: loop l5 (i) is not an "
               "ancestor of block C");
  EXPECT_ERROR(&fx, ts_sch_rfactor(fx.s, fx.cl[0], 0, &out),
               "ScheduleError: rfactor: loop l2 (i) is not bound to a "
               "reduction iteration variable of block C");
  EXPECT_ERROR(&fx, ts_sch_rfactor(fx.s, fx.cl[2], 5, &out),
               "ScheduleError: rfactor: factor_axis 5 is out of range for "
               "the 2-D buffer C");
  EXPECT_ERROR(&fx, ts_sch_rfactor(fx.s, fx.dl[1], 0, &out),
               "ScheduleError: rfactor: loop l6 (j) is not bound to a "
               "reduction iteration variable of block D");
  teardown(&fx);
}

TEST(reduction_inner_loop_decompose) {
  fixture fx;
  REQUIRE(setup(&fx));
  ts_rv out;
  /* j is inside... no: reorder-free nest i, j, k; decomposing at a loop under
   * the reduction loop k is impossible here, so split k and use the inner */
  ts_rv *parts = NULL;
  int64_t factors[2] = {-1, 4};
  CHECK_OK(ts_sch_split(fx.s, fx.cl[2], factors, NULL, 2, true, &parts));
  free(fx.before);
  free(fx.trace_before);
  fx.before = ts_script_print(ts_schedule_module(fx.s), NULL);
  fx.trace_before = ts_schedule_trace_text(fx.s);
  EXPECT_ERROR(&fx, ts_sch_decompose_reduction(fx.s, fx.c, parts[1], &out),
               "ScheduleError: decompose_reduction: loop l8 (k_1) is inside "
               "loop k_0, which drives the reduction variable vk of block C; "
               "decompose at or above it");
  free(parts);
  teardown(&fx);
}

TEST(layout_errors) {
  fixture fx;
  REQUIRE(setup(&fx));
  ts_var *i = ts_var_new(ts_module_arena(fx.m), "i", TS_I32, (ts_loc){0});
  ts_var *j = ts_var_new(ts_module_arena(fx.m), "j", TS_I32, (ts_loc){0});
  ts_arena *a = ts_module_arena(fx.m);
  ts_var *params[2] = {i, j};
  /* not injective: (i // 2, j) */
  ts_expr *r1[2] = {ts_binary(a, TS_E_FLOORDIV, ts_varref(a, i),
                              ts_int(a, TS_I32, 2)),
                    ts_varref(a, j)};
  ts_index_map bad = {params, 2, r1, 2};
  EXPECT_ERROR(&fx, ts_sch_transform_layout(fx.s, fx.d, 0, 0, &bad),
               "ScheduleError: transform_layout: the index map is not "
               "injective over the shape of buffer C");
  ts_expr *r2[1] = {ts_varref(a, i)};
  ts_index_map one = {params, 1, r2, 1};
  EXPECT_ERROR(&fx, ts_sch_transform_layout(fx.s, fx.d, 1, 0, &one),
               "ScheduleError: transform_layout: the index map takes 1 "
               "indices, but buffer D has 2 dimensions");
  EXPECT_ERROR(&fx, ts_sch_transform_layout(fx.s, fx.d, 0, 3, &bad),
               "ScheduleError: transform_layout: read buffer index 3 is out "
               "of range: block D reads 1 buffer(s)");
  ts_expr *r3[2] = {ts_varref(a, i), ts_varref(a, i)};
  ts_index_map twice = {params, 2, r3, 2};
  EXPECT_ERROR(&fx, ts_sch_transform_block_layout(fx.s, fx.d, &twice),
               "ScheduleError: transform_block_layout: result 1 of the index "
               "map is not a dense fusion of distinct parameters");
  teardown(&fx);
}

TEST(block_errors) {
  fixture fx;
  REQUIRE(setup(&fx));
  EXPECT_ERROR(&fx, ts_sch_tensorize(fx.s, fx.c, "no_such_intrin"),
               "ScheduleError: tensorize: unknown tensor intrinsic "
               "\"no_such_intrin\"");
  /* the whole 16x16x16 nest is not the 4x4x4 micro-kernel */
  EXPECT_ERROR(&fx, ts_sch_tensorize(fx.s, fx.cl[0], "mma_4x4x4_f32"),
               "ScheduleError: tensorize: block C_o does not match the "
               "description of intrinsic mma_4x4x4_f32: loop extents differ");
  EXPECT_ERROR(&fx, ts_sch_unannotate(fx.s, fx.c, "missing_key"),
               "ScheduleError: unannotate: block C has no annotation "
               "\"missing_key\"");
  ts_attr_value v = {0};
  v.kind = TS_ATTR_DICT;
  EXPECT_ERROR(&fx, ts_sch_annotate(fx.s, fx.cl[1], "k", &v),
               "ScheduleError: annotate: unsupported annotation value for key "
               "\"k\" (use an int, float, string, bool or list)");
  teardown(&fx);
}

TEST(sampling_errors) {
  fixture fx;
  REQUIRE(setup(&fx));
  ts_rv *out = NULL, one;
  EXPECT_ERROR(&fx, ts_sch_sample_perfect_tile(fx.s, fx.cl[0], 1, 4, &out),
               "ScheduleError: sample_perfect_tile: loop l2 (i) has extent "
               "16, larger than max_innermost_factor 4 with n=1");
  EXPECT_ERROR(&fx, ts_sch_sample_perfect_tile(fx.s, fx.c, 2, 4, &out),
               "ScheduleError: schedule: b0 is a block handle, expected a "
               "loop");
  int64_t cands[2] = {1, 2};
  double probs[2] = {0, 0};
  EXPECT_ERROR(&fx, ts_sch_sample_categorical(fx.s, cands, probs, 2, &one),
               "ScheduleError: sample_categorical: probabilities sum to "
               "zero");
  teardown(&fx);
}

int main(void) {
  RUN(cache_errors);
  RUN(reduction_errors);
  RUN(reduction_inner_loop_decompose);
  RUN(layout_errors);
  RUN(block_errors);
  RUN(sampling_errors);
  return CHECK_DONE();
}
