/* test_equal.c: structural equality modulo renaming, its diff messages, and
 * the hash's consistency with it. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "ir_testutil.h"

/* Builds the default module and one with `o` applied, and checks that they
 * differ with exactly `expected` as the diff. */
static void expect_diff(mm_opts o, const char *expected, int line) {
  mm_opts d = mm_defaults();
  ts_module *a = build_module(&d);
  ts_module *b = build_module(&o);
  char *diff = NULL;
  bool eq = ts_module_equal(a, b, &diff);
  if (eq) {
    fprintf(stderr, "line %d: expected a difference\n", line);
    CHECK(!eq);
  } else if (!diff || strcmp(diff, expected) != 0) {
    fprintf(stderr, "line %d:\n", line);
    CHECK_EQ_STR(diff, expected);
  }
  free(diff);
  ts_module_destroy(a);
  ts_module_destroy(b);
}

TEST(equal_modulo_renaming) {
  mm_opts o1 = mm_defaults(), o2 = mm_defaults();
  o2.prefix = "renamed_";
  ts_module *a = build_module(&o1);
  ts_module *b = build_module(&o2);
  char *diff = (char *)"unset";
  CHECK(ts_module_equal(a, b, &diff));
  CHECK(diff == NULL);
  CHECK(ts_module_equal(a, a, NULL));
  CHECK(ts_module_hash(a) == ts_module_hash(b));
  CHECK(ts_primfunc_hash(ts_module_primfunc(a, "mm_relu")) ==
        ts_primfunc_hash(ts_module_primfunc(b, "mm_relu")));
  CHECK(ts_primfunc_equal(ts_module_primfunc(a, "mm_relu"),
                          ts_module_primfunc(b, "mm_relu"), NULL));
  CHECK(ts_gfunc_equal(ts_module_gfunc(a, "main"), ts_module_gfunc(b, "main"),
                       NULL));
  ts_module_destroy(a);
  ts_module_destroy(b);
}

TEST(function_order_does_not_matter) {
  mm_opts o = mm_defaults();
  ts_module *a = build_module(&o);
  ts_module *b = build_module(&o);
  ts_func f0 = b->funcs[0];
  b->funcs[0] = b->funcs[1];
  b->funcs[1] = f0;
  CHECK(ts_module_equal(a, b, NULL));
  CHECK(ts_module_hash(a) == ts_module_hash(b));
  ts_module_remove(b, "main");
  char *diff = NULL;
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff, "function 'main' missing in second module");
  free(diff);
  CHECK(!ts_module_equal(b, a, &diff));
  CHECK_EQ_STR(diff, "function 'main' missing in first module");
  free(diff);
  ts_module_destroy(a);
  ts_module_destroy(b);
}

TEST(diffs) {
  mm_opts o = mm_defaults();
  o.init = 1.0;
  expect_diff(o,
              "function 'mm_relu': block 'Y': init: store to 'Y': value: 0.0 "
              "vs 1.0",
              __LINE__);
  o = mm_defaults();
  o.y_dtype = TS_F64;
  expect_diff(o, "function 'mm_relu': buffer 'Y': dtype float32 vs float64",
              __LINE__);
  o = mm_defaults();
  o.k_extent = 64;
  expect_diff(o, "function 'mm_relu': loop 'k': extent: 128 vs 64", __LINE__);
  o = mm_defaults();
  o.y_block = "Y_update";
  expect_diff(o, "function 'mm_relu': block name 'Y' vs 'Y_update'", __LINE__);
  o = mm_defaults();
  o.vk_type = TS_ITER_SPATIAL;
  expect_diff(o, "function 'mm_relu': block 'Y': iter var 2: type R vs S",
              __LINE__);
  o = mm_defaults();
  o.relu_op = TS_OP_SIGMOID;
  expect_diff(o, "function 'main': binding 'lv1': value: op nn.relu vs sigmoid",
              __LINE__);
}

/* A loop extent changed where no region shows it: the loop says so. */
TEST(loop_extent_diff) {
  mm_opts o = mm_defaults();
  ts_module *a = build_module(&o);
  ts_module *b = build_module(&o);
  ts_primfunc *pb = ts_module_primfunc(b, "mm_relu");
  ts_stmt *loop_i = pb->body->u.realize.block->body->u.seq.stmts[1];
  loop_i->u.for_.extent = ts_int(b->arena, TS_I32, 64);
  char *diff = NULL;
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff, "function 'mm_relu': loop 'i': extent: 128 vs 64");
  free(diff);
  CHECK(ts_module_hash(a) != ts_module_hash(b));
  ts_module_destroy(a);
  ts_module_destroy(b);
}

/* Uses must map consistently: Y[vi, vj] vs Y[vj, vi] in block C's read. */
TEST(inconsistent_use) {
  mm_opts o = mm_defaults();
  ts_module *a = build_module(&o);
  ts_module *b = build_module(&o);
  ts_block *bc = o.out_c_block; /* of b, built last */
  ts_expr *swapped[2] = {ts_varref(b->arena, bc->iter_vars[1].var),
                         ts_varref(b->arena, bc->iter_vars[0].var)};
  ts_expr *v = bc->body->u.store.value;
  ts_expr *nv = ts_expr_clone(b->arena, v);
  nv->u.bin.a = ts_load(b->arena, o.out_y, swapped, 2);
  bc->body->u.store.value = nv;
  char *diff = NULL;
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff,
               "function 'mm_relu': block 'C': store to 'C': value: variable "
               "'vi' vs 'vj' (bound to different definitions)");
  free(diff);
  ts_module_destroy(a);
  ts_module_destroy(b);
}

TEST(details) {
  mm_opts o = mm_defaults();
  ts_module *a = build_module(&o);
  ts_module *b = build_module(&o);
  /* explicit_regions does not matter */
  o.out_y_block->explicit_regions = true;
  CHECK(ts_module_equal(a, b, NULL));
  CHECK(ts_module_hash(a) == ts_module_hash(b));
  /* attribute order does not matter, values do */
  ts_primfunc *pb = ts_module_primfunc(b, "mm_relu");
  ts_attrs *na = ts_attrs_new(b->arena);
  ts_attrs_set(b->arena, na, "tir.noalias", ts_attr_bool(b->arena, true));
  ts_attrs_set(b->arena, na, "global_symbol", ts_attr_str(b->arena, "mm_relu"));
  pb->attrs = na;
  CHECK(ts_module_equal(a, b, NULL));
  CHECK(ts_module_hash(a) == ts_module_hash(b));
  ts_attrs_set(b->arena, na, "tir.noalias", ts_attr_bool(b->arena, false));
  char *diff = NULL;
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff, "function 'mm_relu': attrs: 'tir.noalias': 1 vs 0");
  free(diff);
  ts_module_destroy(a);
  ts_module_destroy(b);
}

TEST(float_immediates) {
  ts_arena *ar = ts_arena_create();
  mm_opts o = mm_defaults();
  o.init = NAN;
  ts_primfunc *a = build_mm_relu(ar, &o);
  ts_primfunc *b = build_mm_relu(ar, &o);
  CHECK(ts_primfunc_equal(a, b, NULL)); /* NaN == NaN here */
  CHECK(ts_primfunc_hash(a) == ts_primfunc_hash(b));
  o.init = -0.0;
  ts_primfunc *c = build_mm_relu(ar, &o);
  o.init = 0.0;
  ts_primfunc *d = build_mm_relu(ar, &o);
  char *diff = NULL;
  CHECK(!ts_primfunc_equal(c, d, &diff)); /* bitwise: -0.0 != 0.0 */
  CHECK_CONTAINS(diff, "-0.0 vs 0.0");
  free(diff);
  ts_arena_destroy(ar);
}

TEST(graph_diffs) {
  mm_opts o = mm_defaults();
  ts_module *a = build_module(&o);
  ts_module *b = build_module(&o);
  ts_gfunc *gb = ts_module_gfunc(b, "main");
  /* call_tir callee name */
  gb->blocks[0].bindings[0].value->u.call.args[0]->u.global_name = "other";
  char *diff = NULL;
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff, "function 'main': binding 'lv0': value: argument 0: "
                     "function 'mm_relu' vs 'other'");
  free(diff);
  gb->blocks[0].bindings[0].value->u.call.args[0]->u.global_name = "mm_relu";
  CHECK(ts_module_equal(a, b, NULL));
  /* an annotated struct info */
  gb->blocks[0].bindings[1].var->sinfo = tu_tensor2(b->arena, 128, 64, TS_F32);
  CHECK(!ts_module_equal(a, b, &diff));
  CHECK_EQ_STR(diff, "function 'main': binding 'lv1': struct info of 'lv1': "
                     "R.Tensor((128, 128), \"float32\") vs R.Tensor((128, 64), "
                     "\"float32\")");
  free(diff);
  ts_module_destroy(a);
  ts_module_destroy(b);
}

int main(void) {
  RUN(equal_modulo_renaming);
  RUN(function_order_does_not_matter);
  RUN(diffs);
  RUN(loop_extent_diff);
  RUN(inconsistent_use);
  RUN(details);
  RUN(float_immediates);
  RUN(graph_diffs);
  return CHECK_DONE();
}
