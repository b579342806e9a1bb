/* test_trace_replay.c: a trace with sampling replays its recorded decisions,
 * whatever the seed of the schedule it is applied to; a decision that does
 * not fit is refused with a located message. */
#include <stdlib.h>

#include "check.h"
#include "tessera/schedule.h"
#include "tessera/script.h"

static const char *src =
    "@T.prim_func\n"
    "def mm(A: T.Buffer((64, 64), \"float32\"), B: T.Buffer((64, 64), \"float32\"),\n"
    "       C: T.Buffer((64, 64), \"float32\")):\n"
    "    for i, j, k in T.grid(64, 64, 64):\n"
    "        with T.block(\"C\"):\n"
    "            vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "            with T.init():\n"
    "                C[vi, vj] = T.float32(0)\n"
    "            C[vi, vj] = C[vi, vj] + A[vi, vk] * B[vk, vj]\n";

static const char *script =
    "b0 = sch.get_block(name=\"C\", func_name=\"mm\")\n"
    "l1, l2, l3 = sch.get_loops(block=b0)\n"
    "v4, v5, v6 = sch.sample_perfect_tile(loop=l1, n=3, max_innermost_factor=16)\n"
    "l7, l8, l9 = sch.split(loop=l1, factors=[v4, v5, v6], preserve_unit_iters=True)\n"
    "v10 = sch.sample_categorical(candidates=[1, 2, 4], probs=[0.2, 0.3, 0.5])\n";

TEST(recorded_decisions_replay_under_another_seed) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(src, strlen(src), "mm.tvmscript", &m));
  REQUIRE(m != NULL);
  for (uint64_t seed = 1; seed <= 20; seed++) {
    ts_schedule *a = ts_schedule_create(m, seed);
    CHECK_OK(ts_trace_apply(a, script, strlen(script), "sched.py"));
    char *trace = ts_schedule_trace_text(a);
    CHECK_CONTAINS(trace, "decision=[");
    ts_schedule *b = ts_schedule_create(m, seed * 7919 + 3);
    CHECK_OK(ts_trace_apply(b, trace, strlen(trace), "trace.py"));
    char *diff = NULL;
    if (!ts_module_equal(ts_schedule_module(a), ts_schedule_module(b), &diff))
      CHECK_FAIL_("seed %llu: replay differs: %s", (unsigned long long)seed, diff);
    char *trace2 = ts_schedule_trace_text(b);
    CHECK_EQ_STR(trace2, trace);
    free(diff);
    free(trace);
    free(trace2);
    ts_schedule_destroy(a);
    ts_schedule_destroy(b);
  }
  ts_module_destroy(m);
}

TEST(a_decision_that_does_not_fit_is_refused) {
  ts_module *m = NULL;
  CHECK_OK(ts_script_parse(src, strlen(src), "mm.tvmscript", &m));
  REQUIRE(m != NULL);
  const char *bad =
      "b0 = sch.get_block(name=\"C\", func_name=\"mm\")\n"
      "l1, l2, l3 = sch.get_loops(block=b0)\n"
      "v4, v5 = sch.sample_perfect_tile(loop=l1, n=2, max_innermost_factor=16, "
      "decision=[3, 16])\n";
  ts_schedule *s = ts_schedule_create(m, 1);
  ts_status *st = ts_trace_apply(s, bad, strlen(bad), "sched.py");
  REQUIRE(st != NULL);
  CHECK_CONTAINS(ts_status_message(st), "sched.py:3:");
  CHECK_CONTAINS(ts_status_message(st), "decision factors multiply to 48");
  ts_status_free(st);
  ts_schedule_destroy(s);
  ts_module_destroy(m);
}

int main(void) {
  RUN(recorded_decisions_replay_under_another_seed);
  RUN(a_decision_that_does_not_fit_is_refused);
  return CHECK_DONE();
}
