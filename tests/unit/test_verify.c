/* test_verify.c: ts_module_verify on a valid module and on one violation of
 * each rule, with the exact message. */
#include <stdlib.h>

#include "check.h"
#include "ir_testutil.h"

/* Verifies m (destroying it) and checks the message. */
static void expect_error(ts_module *m, const char *msg, int line) {
  ts_status *st = ts_module_verify(m);
  if (!st) {
    fprintf(stderr, "line %d: verify succeeded, expected \"%s\"\n", line, msg);
    CHECK(st != NULL);
  } else {
    if (strcmp(ts_status_message(st), msg) != 0)
      fprintf(stderr, "line %d:\n", line);
    CHECK_EQ_STR(ts_status_message(st), msg);
    ts_status_free(st);
  }
  ts_module_destroy(m);
}

#define EXPECT_ERROR(m, msg) expect_error(m, msg, __LINE__)

static ts_module *fresh(mm_opts *o) {
  *o = mm_defaults();
  return build_module(o);
}

TEST(valid_module) {
  mm_opts o;
  ts_module *m = fresh(&o);
  CHECK_OK(ts_module_verify(m));
  ts_module_destroy(m);
}

TEST(tir_violations) {
  mm_opts o;
  ts_module *m;
  ts_arena *a;

  /* 1. undefined variable */
  m = fresh(&o);
  a = m->arena;
  ts_var *x = ts_var_new(a, "x", TS_I32, (ts_loc){0});
  o.out_c_block->body->u.store.indices[0] = ts_varref(a, x);
  EXPECT_ERROR(m, "undefined variable 'x'");

  /* 2. access rank */
  m = fresh(&o);
  a = m->arena;
  {
    ts_expr *v = o.out_y_store->u.store.value; /* Y + A * B */
    ts_expr *ld = v->u.bin.b->u.bin.a;         /* A[vi, vk] */
    ts_expr *idx[3] = {ld->u.load.indices[0], ld->u.load.indices[1],
                       ts_int(a, TS_I32, 0)};
    v->u.bin.b->u.bin.a = ts_load(a, ld->u.load.buffer, idx, 3);
  }
  EXPECT_ERROR(m, "buffer 'A' has 2 dimensions, accessed with 3 indices");

  /* 3. stored value dtype */
  m = fresh(&o);
  a = m->arena;
  o.out_c_block->body->u.store.value = ts_float(a, TS_F64, 1.0);
  EXPECT_ERROR(m, "cannot store float64 value into float32 buffer 'C'");

  /* 4. float index */
  m = fresh(&o);
  a = m->arena;
  o.out_c_block->body->u.store.indices[1] = ts_float(a, TS_F32, 1.5);
  EXPECT_ERROR(m, "index of buffer 'C' must be an integer, got float32");

  /* 5. block binding arity */
  m = fresh(&o);
  {
    ts_primfunc *f = ts_module_primfunc(m, "mm_relu");
    ts_stmt *s = f->body->u.realize.block->body->u.seq.stmts[0];
    while (s->kind == TS_S_FOR)
      s = s->u.for_.body;
    s->u.realize.iter_values[2] = NULL;
  }
  EXPECT_ERROR(m, "block 'Y' has 3 iteration variables but 2 binding values");

  /* 6. loop variable redefined in its own loop */
  m = fresh(&o);
  {
    ts_primfunc *f = ts_module_primfunc(m, "mm_relu");
    ts_stmt *li = f->body->u.realize.block->body->u.seq.stmts[0];
    li->u.for_.body->u.for_.var = li->u.for_.var; /* for i: for i: */
  }
  EXPECT_ERROR(m, "loop variable 'i' is redefined");

  /* 7. iteration variable used outside its block */
  m = fresh(&o);
  a = m->arena;
  o.out_c_block->body->u.store.indices[0] =
      ts_varref(a, o.out_y_block->iter_vars[0].var);
  EXPECT_ERROR(m, "iteration variable 'vi' used outside its block 'Y'");

  /* 8. undefined buffer */
  m = fresh(&o);
  a = m->arena;
  o.out_c_block->body->u.store.buffer = tu_buf2(a, "Z", TS_F32, 128);
  EXPECT_ERROR(m, "undefined buffer 'Z'");

  /* 9. binary operands of two dtypes */
  m = fresh(&o);
  a = m->arena;
  {
    ts_expr *v = o.out_y_store->u.store.value;
    v->u.bin.b = ts_int(a, TS_I32, 1);
  }
  EXPECT_ERROR(m,
               "binary operator '+' has operands of dtype float32 and int32");

  /* 10. a let that rebinds a loop variable */
  m = fresh(&o);
  a = m->arena;
  {
    ts_primfunc *f = ts_module_primfunc(m, "mm_relu");
    ts_stmt *li = f->body->u.realize.block->body->u.seq.stmts[0];
    ts_stmt *let = ts_stmt_new(a, TS_S_LET, (ts_loc){0});
    let->u.let.var = li->u.for_.var;
    let->u.let.value = ts_int(a, TS_I32, 0);
    let->u.let.body = li->u.for_.body;
    li->u.for_.body = let;
  }
  EXPECT_ERROR(m, "loop variable 'i' is redefined");

  /* 11. intrinsic arity */
  m = fresh(&o);
  a = m->arena;
  {
    ts_expr *args[2] = {ts_float(a, TS_F32, 1.0), ts_float(a, TS_F32, 2.0)};
    o.out_c_block->body->u.store.value =
        ts_call(a, TS_F32, TS_INTRIN_EXP, args, 2);
  }
  EXPECT_ERROR(m, "T.exp takes 1 argument, got 2");
}

TEST(locations) {
  mm_opts o;
  ts_module *m = fresh(&o);
  o.out_c_block->body->loc = (ts_loc){"mm.py", 14, 17};
  o.out_c_block->body->u.store.value = ts_float(m->arena, TS_F64, 1.0);
  EXPECT_ERROR(m, "mm.py:14:17: cannot store float64 value into float32 "
                  "buffer 'C'");
}

static ts_binding *binding(ts_module *m, int i) {
  return &ts_module_gfunc(m, "main")->blocks[0].bindings[i];
}

TEST(graph_violations) {
  mm_opts o;
  ts_module *m;
  ts_arena *a;

  /* 12. undefined graph variable */
  m = fresh(&o);
  a = m->arena;
  binding(m, 1)->value->u.call.args[0] =
      tu_gref(a, tu_gvar(a, "q", tu_tensor2(a, 128, 128, TS_F32), false));
  EXPECT_ERROR(m, "undefined variable 'q'");

  /* 13. dataflow variable used after its block */
  m = fresh(&o);
  ts_module_gfunc(m, "main")->result = tu_gref(m->arena, binding(m, 1)->var);
  EXPECT_ERROR(m, "dataflow variable 'lv1' used outside its dataflow block");

  /* 14. call_tir to a missing function */
  m = fresh(&o);
  binding(m, 0)->value->u.call.args[0]->u.global_name = "linear1";
  EXPECT_ERROR(m, "call_tir: no function 'linear1' in the module");

  /* 15. call_tir to a graph function */
  m = fresh(&o);
  binding(m, 0)->value->u.call.args[0]->u.global_name = "main";
  EXPECT_ERROR(m, "call_tir: 'main' is not a TensorIR function");

  /* 16. call_tir argument count */
  m = fresh(&o);
  binding(m, 0)->value->u.call.args[1]->u.tuple.n = 1;
  EXPECT_ERROR(m, "call_tir: function 'mm_relu' has 3 parameters but is "
                  "called with 1 input and 1 output");

  /* 17. annotated struct info vs value */
  m = fresh(&o);
  binding(m, 1)->var->sinfo = tu_tensor2(m->arena, 128, 10, TS_F32);
  EXPECT_ERROR(m, "binding 'lv1': annotated R.Tensor((128, 10), \"float32\") "
                  "but value has R.Tensor((128, 128), \"float32\")");

  /* 18. a dataflow variable bound outside a dataflow block */
  m = fresh(&o);
  ts_module_gfunc(m, "main")->blocks[0].is_dataflow = false;
  EXPECT_ERROR(m, "dataflow variable 'lv0' defined outside a dataflow block");

  /* 19. R.output of a variable of another block */
  m = fresh(&o);
  ts_module_gfunc(m, "main")->blocks[0].outputs[0] =
      ts_module_gfunc(m, "main")->params[0];
  EXPECT_ERROR(m, "R.output: variable 'x' is not defined in the dataflow "
                  "block");

  /* 20. op inference errors come through (add of (128,128) and (128,7)) */
  m = fresh(&o);
  a = m->arena;
  {
    ts_gvar *y = tu_gvar(a, "y", tu_tensor2(a, 128, 7, TS_F32), false);
    ts_gfunc *g = ts_module_gfunc(m, "main");
    ts_gvar **ps = ts_arena_array(a, 3, sizeof(ts_gvar *));
    ps[0] = g->params[0];
    ps[1] = g->params[1];
    ps[2] = y;
    g->params = ps;
    g->n_params = 3;
    binding(m, 2)->value->u.call.args[1] = tu_gref(a, y);
  }
  ts_status *st = ts_module_verify(m);
  CHECK(st != NULL);
  if (st) {
    CHECK_EQ_INT(ts_status_code_of(st), TS_ERR_TYPE);
    ts_status_free(st);
  }
  ts_module_destroy(m);

  /* 21. the return annotation */
  m = fresh(&o);
  ts_module_gfunc(m, "main")->ret_sinfo = tu_tensor2(m->arena, 1, 128, TS_F32);
  EXPECT_ERROR(m, "return of 'main': annotated R.Tensor((1, 128), "
                  "\"float32\") but value has R.Tensor((128, 128), "
                  "\"float32\")");
}

int main(void) {
  RUN(valid_module);
  RUN(tir_violations);
  RUN(locations);
  RUN(graph_violations);
  return CHECK_DONE();
}
