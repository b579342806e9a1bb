/* test_schedule_errors.c: illegal schedule requests fail with exact
 * messages and leave the module unchanged.
 *
 * Each case runs `setup` then `bad` as one script named sched.py on a fresh
 * schedule: the script must fail with exactly `want` (the located message),
 * and the module must print the same as after `setup` alone. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

static const char *mm_relu =
    "@tvm.script.ir_module\n"
    "class MyModule:\n"
    "    @T.prim_func\n"
    "    def mm_relu(A: T.Buffer[(128, 128), \"float32\"],\n"
    "                B: T.Buffer[(128, 128), \"float32\"],\n"
    "                C: T.Buffer[(128, 128), \"float32\"]):\n"
    "        T.func_attr({\"global_symbol\": \"mm_relu\", \"tir.noalias\": "
    "True})\n"
    "        Y = T.alloc_buffer((128, 128), dtype=\"float32\")\n"
    "        for i, j, k in T.grid(128, 128, 128):\n"
    "            with T.block(\"Y\"):\n"
    "                vi = T.axis.spatial(128, i)\n"
    "                vj = T.axis.spatial(128, j)\n"
    "                vk = T.axis.reduce(128, k)\n"
    "                with T.init():\n"
    "                    Y[vi, vj] = T.float32(0)\n"
    "                Y[vi, vj] = Y[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "        for i, j in T.grid(128, 128):\n"
    "            with T.block(\"C\"):\n"
    "                vi = T.axis.spatial(128, i)\n"
    "                vj = T.axis.spatial(128, j)\n"
    "                C[vi, vj] = T.max(Y[vi, vj], T.float32(0))\n";

static const char *chain =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def main(A: T.Buffer((8, 10), \"float32\"), D: T.Buffer((8, 10), "
    "\"float32\")):\n"
    "        B = T.alloc_buffer((8, 10))\n"
    "        C = T.alloc_buffer((8, 10))\n"
    "        for i, j in T.grid(8, 10):\n"
    "            with T.block(\"B\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                B[vi, vj] = A[vi, vj] + T.float32(1.0)\n"
    "        for i, j in T.grid(8, 10):\n"
    "            with T.block(\"C\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                C[vi, vj] = B[vi, vj] * T.float32(2.0)\n"
    "        for i, j in T.grid(8, 10):\n"
    "            with T.block(\"D\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                D[vi, vj] = T.max(C[vi, vj], T.float32(0.0))\n";

static const char *nested =
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def main(A: T.Buffer((4, 8), \"float32\"), B: T.Buffer((4, 8), "
    "\"float32\")):\n"
    "        for i in range(4):\n"
    "            with T.block(\"outer\"):\n"
    "                vi = T.axis.spatial(4, i)\n"
    "                for j in range(8):\n"
    "                    with T.block(\"inner\"):\n"
    "                        vj = T.axis.spatial(8, j)\n"
    "                        B[vi, vj] = A[vi, vj]\n";

static char *apply_print(const char *module, const char *script,
                         ts_status **out_st) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(module, strlen(module), "input.py", &m);
  if (st) {
    *out_st = st;
    return NULL;
  }
  ts_schedule *s = ts_schedule_create(m, 0);
  ts_module_destroy(m);
  *out_st = ts_trace_apply(s, script, strlen(script), "sched.py");
  char *text = ts_script_print(ts_schedule_module(s), NULL);
  ts_schedule_destroy(s);
  return text;
}

static void expect_error(const char *module, const char *setup,
                         const char *bad, const char *want) {
  ts_status *st = NULL;
  char *before = apply_print(module, setup, &st);
  if (st) {
    CHECK_FAIL_("setup failed: %s", ts_status_render(st));
    ts_status_free(st);
    free(before);
    return;
  }
  char *both = ts_strdup_printf("%s%s", setup, bad);
  char *after = apply_print(module, both, &st);
  if (!st) {
    CHECK_FAIL_("expected an error for:\n%s", bad);
  } else {
    CHECK_EQ_STR(ts_status_message(st), want);
    ts_status_free(st);
  }
  if (before && after && strcmp(before, after))
    CHECK_FAIL_("the module changed after the failed request:\n%s\nvs\n%s",
                before, after);
  free(both);
  free(before);
  free(after);
}

#define MM_LOOPS                                                               \
  "b = sch.get_block(\"Y\", func_name=\"mm_relu\")\n"                          \
  "i, j, k = sch.get_loops(b)\n"
#define CHAIN_B                                                                \
  "b = sch.get_block(\"B\")\n"                                                 \
  "i, j = sch.get_loops(b)\n"

TEST(parallel_reduction_loop) {
  expect_error(mm_relu, MM_LOOPS, "sch.parallel(k)\n",
               "sched.py:3:1: ScheduleError: parallel: loop 'k' is bound to "
               "reduction variable 'vk' of block 'Y'; parallelizing it would "
               "race");
}

TEST(vectorize_reduction_loop) {
  expect_error(mm_relu, MM_LOOPS, "sch.vectorize(loop=k)\n",
               "sched.py:3:1: ScheduleError: vectorize: loop 'k' is bound to "
               "reduction variable 'vk' of block 'Y'; vectorizing it would "
               "race");
}

TEST(parallel_twice) {
  expect_error(chain, CHAIN_B "sch.parallel(i)\n", "sch.parallel(i)\n",
               "sched.py:4:1: ScheduleError: parallel: loop 'i' is already "
               "parallel; only a serial loop can be changed");
}

TEST(split_factors_do_not_multiply) {
  expect_error(chain, CHAIN_B, "sch.split(j, factors=[3, 4])\n",
               "sched.py:3:1: ScheduleError: split: factors [3, 4] multiply "
               "to 12, but loop 'j' has extent 10");
}

TEST(split_two_nones) {
  expect_error(chain, CHAIN_B, "sch.split(j, factors=[None, 2, None])\n",
               "sched.py:3:1: ScheduleError: split: at most one factor may be "
               "None, got 2");
}

TEST(reorder_across_block) {
  expect_error(nested,
               "o = sch.get_block(\"outer\")\n"
               "n = sch.get_block(\"inner\")\n"
               "i, = sch.get_loops(o)\n"
               "j, = sch.get_loops(n)\n",
               "sch.reorder(j, i)\n",
               "sched.py:5:1: ScheduleError: reorder: block 'outer' lies "
               "between loops 'i' and 'j'");
}

TEST(reorder_different_nests) {
  expect_error(chain, CHAIN_B "c = sch.get_block(\"C\")\nci, cj = "
                              "sch.get_loops(c)\n",
               "sch.reorder(cj, i)\n",
               "sched.py:5:1: ScheduleError: reorder: loops 'i' and 'j' are "
               "not in the same loop nest");
}

TEST(fuse_not_adjacent) {
  expect_error(mm_relu, MM_LOOPS, "sch.fuse(i, k)\n",
               "sched.py:3:1: ScheduleError: fuse: loops 'i' and 'k' are not "
               "adjacent: loop 'j' lies between them");
}

TEST(fuse_wrong_order) {
  expect_error(mm_relu, MM_LOOPS, "sch.fuse(j, i)\n",
               "sched.py:3:1: ScheduleError: fuse: loop 'i' is not inside "
               "loop 'j'; give the loops outermost first");
}

TEST(compute_at_not_ancestor_of_consumer) {
  expect_error(chain, CHAIN_B "d = sch.get_block(\"D\")\ndi, dj = "
                              "sch.get_loops(d)\n",
               "sch.compute_at(b, di)\n",
               "sched.py:5:1: ScheduleError: compute_at: loop 'i' is not an "
               "ancestor of any consumer of block 'B'");
}

TEST(reverse_compute_at_incomplete_producer) {
  expect_error(mm_relu, MM_LOOPS "c = sch.get_block(\"C\", \"mm_relu\")\n",
               "sch.reverse_compute_at(c, k)\n",
               "sched.py:4:1: ScheduleError: reverse_compute_at: loop 'k' "
               "carries reduction variable 'vk' of producer block 'Y'; the "
               "producer is not complete inside it");
}

TEST(compute_inline_reduction) {
  expect_error(mm_relu, MM_LOOPS, "sch.compute_inline(b)\n",
               "sched.py:3:1: ScheduleError: compute_inline: block 'Y' is a "
               "reduction (it has T.init()); only a block of the form "
               "B[i, j] = f(...) can be inlined");
}

TEST(compute_inline_output) {
  expect_error(chain, "", "d = sch.get_block(\"D\")\nsch.compute_inline(d)\n",
               "sched.py:2:1: ScheduleError: compute_inline: block 'D' "
               "writes 'D', an output of the function; it cannot be inlined");
}

TEST(get_block_missing) {
  expect_error(mm_relu, "", "b = sch.get_block(\"Q\", func_name=\"mm_relu\")\n",
               "sched.py:1:5: ScheduleError: get_block: no block named 'Q' in "
               "function 'mm_relu'");
}

TEST(invalidated_handle_after_fuse) {
  expect_error(chain, CHAIN_B "f = sch.fuse(i, j)\n", "sch.parallel(i)\n",
               "sched.py:4:1: ScheduleError: schedule: l1 no longer refers to "
               "a loop (it was removed by an earlier primitive)");
}

TEST(wrong_handle_kind) {
  expect_error(chain, CHAIN_B, "sch.parallel(b)\n",
               "sched.py:3:1: ScheduleError: schedule: b0 is a block handle, "
               "expected a loop");
}

TEST(unknown_primitive) {
  expect_error(chain, CHAIN_B, "sch.splitt(j, factors=[2, 5])\n",
               "sched.py:3:1: unknown schedule primitive 'splitt'");
}

TEST(wrong_keyword) {
  expect_error(chain, CHAIN_B, "sch.split(loop=j, factor=[2, 5])\n",
               "sched.py:3:19: split() got an unexpected keyword argument "
               "'factor'");
}

TEST(missing_argument) {
  expect_error(chain, CHAIN_B, "sch.split(j)\n",
               "sched.py:3:1: split() missing required argument 'factors'");
}

TEST(unknown_name) {
  expect_error(chain, CHAIN_B, "sch.parallel(q)\n",
               "sched.py:3:14: unknown name 'q'");
}

TEST(too_many_names) {
  expect_error(chain, "b = sch.get_block(\"B\")\n",
               "i, j, k = sch.get_loops(b)\n",
               "sched.py:2:1: get_loops() returned 2 handles, but 3 names "
               "are given");
}

TEST(bind_unknown_axis) {
  expect_error(chain, CHAIN_B, "sch.bind(i, \"threadIdx.w\")\n",
               "sched.py:3:1: ScheduleError: bind: unknown thread axis "
               "'threadIdx.w' (expected blockIdx.x/y/z, threadIdx.x/y/z or "
               "vthread.x/y/z)");
}

TEST(api_split_one_factor) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(chain, strlen(chain), "input.py", &m));
  REQUIRE(m != NULL);
  ts_schedule *s = ts_schedule_create(m, 0);
  ts_rv b, *loops = NULL, *parts = NULL;
  int n = 0;
  CHECK_OK(ts_sch_get_block(s, "B", NULL, &b));
  CHECK_OK(ts_sch_get_loops(s, b, &loops, &n));
  REQUIRE(n == 2);
  int64_t f[1] = {10};
  CHECK_ERR(ts_sch_split(s, loops[1], f, NULL, 1, true, &parts),
            TS_ERR_VALUE, "ScheduleError: split: expects at least 2 factors, "
                          "got 1");
  CHECK_ERR(ts_sch_reverse_compute_inline(s, b), TS_ERR_VALUE,
            "ScheduleError: reverse_compute_inline: block 'B' has no "
            "producer to inline into");
  free(loops);
  ts_schedule_destroy(s);
  ts_module_destroy(m);
}

int main(void) {
  RUN(parallel_reduction_loop);
  RUN(vectorize_reduction_loop);
  RUN(parallel_twice);
  RUN(split_factors_do_not_multiply);
  RUN(split_two_nones);
  RUN(reorder_across_block);
  RUN(reorder_different_nests);
  RUN(fuse_not_adjacent);
  RUN(fuse_wrong_order);
  RUN(compute_at_not_ancestor_of_consumer);
  RUN(reverse_compute_at_incomplete_producer);
  RUN(compute_inline_reduction);
  RUN(compute_inline_output);
  RUN(get_block_missing);
  RUN(invalidated_handle_after_fuse);
  RUN(wrong_handle_kind);
  RUN(unknown_primitive);
  RUN(wrong_keyword);
  RUN(missing_argument);
  RUN(unknown_name);
  RUN(too_many_names);
  RUN(bind_unknown_axis);
  RUN(api_split_one_factor);
  return CHECK_DONE();
}
