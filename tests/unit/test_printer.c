/* test_printer.c: the TVMScript printer (src/script/printer.c) on IR built
 * programmatically: the spec's module printed byte for byte, expression
 * precedence and literals, T.grid folding, block bindings, name
 * disambiguation, graph functions and the v0.24+ spelling. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ops/ops.h"
#include "tessera/script.h"

static ts_module *M;
static ts_arena *A;

/* ---- tiny builders ------------------------------------------------------- */

static ts_var *var(const char *name, ts_dtype t) {
  return ts_var_new(A, name, t, (ts_loc){0});
}
static ts_expr *I(int64_t v) { return ts_int(A, TS_I32, v); }
static ts_expr *I64(int64_t v) { return ts_int(A, TS_I64, v); }
static ts_expr *F(double v) { return ts_float(A, TS_F32, v); }
static ts_expr *V(ts_var *v) { return ts_varref(A, v); }
static ts_expr *B(ts_expr_kind k, ts_expr *a, ts_expr *b) {
  return ts_binary(A, k, a, b);
}
static ts_expr *LD(ts_buffer *b, ts_expr *i, ts_expr *j) {
  ts_expr *idx[2] = {i, j};
  return ts_load(A, b, idx, j ? 2 : (i ? 1 : 0));
}
static ts_stmt *ST(ts_buffer *b, ts_expr *i, ts_expr *j, ts_expr *v) {
  ts_stmt *s = ts_stmt_new(A, TS_S_STORE, (ts_loc){0});
  ts_expr *idx[2] = {i, j};
  int n = j ? 2 : (i ? 1 : 0);
  s->u.store.buffer = b;
  s->u.store.indices = ts_arena_memdup(A, idx, sizeof idx);
  s->u.store.n = n;
  s->u.store.value = v;
  return s;
}
static ts_stmt *FOR(ts_var *v, ts_expr *min, ts_expr *ext, ts_stmt *body) {
  ts_stmt *s = ts_stmt_new(A, TS_S_FOR, (ts_loc){0});
  s->u.for_.var = v;
  s->u.for_.min = min;
  s->u.for_.extent = ext;
  s->u.for_.kind = TS_FOR_SERIAL;
  s->u.for_.body = body;
  return s;
}
static ts_stmt *SEQ2(ts_stmt *a, ts_stmt *b) {
  ts_stmt *v[2] = {a, b};
  return ts_seq(A, v, 2);
}
static ts_buffer *BUF(const char *name, ts_dtype t, int64_t d0, int64_t d1) {
  ts_expr *shape[2] = {I(d0), I(d1)};
  return ts_buffer_new(A, name, t, d1 ? 2 : 1, shape);
}
static ts_region REG(ts_buffer *b, ts_expr *i, ts_expr *j) {
  ts_region r = {b, ts_arena_array(A, 2, sizeof(ts_range)), j ? 2 : 1};
  r.ranges[0] = (ts_range){i, I(1)};
  if (j)
    r.ranges[1] = (ts_range){j, I(1)};
  return r;
}
static ts_region *REGS(ts_region a, ts_region b, ts_region c) {
  ts_region *r = ts_arena_array(A, 3, sizeof(ts_region));
  r[0] = a;
  r[1] = b;
  r[2] = c;
  return r;
}
/* A block realize: iter vars given as (var, extent, type, value) arrays. */
static ts_stmt *REALIZE(const char *name, int n, ts_var **ivs, ts_expr **exts,
                        const ts_iter_type *types, ts_expr **values) {
  ts_block *b = ts_arena_alloc(A, sizeof(*b));
  b->name = name;
  b->n_iter_vars = n;
  b->iter_vars = ts_arena_array(A, (size_t)(n ? n : 1), sizeof(ts_iter_var));
  for (int i = 0; i < n; i++)
    b->iter_vars[i] = (ts_iter_var){ivs[i], {I(0), exts[i]}, types[i]};
  ts_stmt *s = ts_stmt_new(A, TS_S_BLOCK_REALIZE, (ts_loc){0});
  s->u.realize.block = b;
  s->u.realize.iter_values =
      n ? ts_arena_memdup(A, values, (size_t)n * sizeof(ts_expr *)) : NULL;
  return s;
}

static ts_sinfo *TENSOR(ts_expr *d0, ts_expr *d1, ts_dtype t) {
  ts_expr *shape[2] = {d0, d1};
  return ts_sinfo_tensor(A, shape, d1 ? 2 : 1, t);
}
static ts_gvar *GVAR(const char *name, ts_sinfo *s, bool df) {
  ts_gvar *v = ts_arena_alloc(A, sizeof(*v));
  v->name = name;
  v->sinfo = s;
  v->is_dataflow = df;
  return v;
}
static ts_gexpr *GV(ts_gvar *v) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_VAR, (ts_loc){0});
  e->u.var = v;
  e->sinfo = v->sinfo;
  return e;
}
static ts_gexpr *GTUPLE2(ts_gexpr *a, ts_gexpr *b) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_TUPLE, (ts_loc){0});
  e->u.tuple.fields = ts_arena_array(A, 2, sizeof(ts_gexpr *));
  e->u.tuple.fields[0] = a;
  e->u.tuple.fields[1] = b;
  e->u.tuple.n = 2;
  return e;
}
static ts_gexpr *GCALL(int op, ts_gexpr *a0, ts_gexpr *a1, ts_sinfo *out) {
  ts_gexpr *e = ts_gexpr_new(A, TS_G_CALL, (ts_loc){0});
  e->u.call.callee_kind = TS_CALLEE_OP;
  e->u.call.op = op;
  e->u.call.args = ts_arena_array(A, 2, sizeof(ts_gexpr *));
  e->u.call.args[0] = a0;
  e->u.call.args[1] = a1;
  e->u.call.n_args = a1 ? 2 : 1;
  if (out) {
    e->u.call.sinfo_args = ts_arena_array(A, 1, sizeof(ts_sinfo *));
    e->u.call.sinfo_args[0] = out;
    e->u.call.n_sinfo_args = 1;
  }
  return e;
}

static void fresh(void) {
  if (M)
    ts_module_destroy(M);
  M = ts_module_create();
  A = ts_module_arena(M);
}

/* ---- the spec's module -----------------------------------------------------
 */

static ts_primfunc *build_mm_relu(void) {
  ts_buffer *Ab = BUF("A", TS_F32, 128, 128), *Bb = BUF("B", TS_F32, 128, 128),
            *Cb = BUF("C", TS_F32, 128, 128), *Y = BUF("Y", TS_F32, 128, 128);
  ts_var *i = var("i", TS_I32), *j = var("j", TS_I32), *k = var("k", TS_I32);
  ts_var *vi = var("vi", TS_I32), *vj = var("vj", TS_I32),
         *vk = var("vk", TS_I32);
  ts_iter_type ssr[3] = {TS_ITER_SPATIAL, TS_ITER_SPATIAL, TS_ITER_REDUCE};
  ts_var *ivs[3] = {vi, vj, vk};
  ts_expr *exts[3] = {I(128), I(128), I(128)};
  ts_expr *vals[3] = {V(i), V(j), V(k)};
  ts_stmt *ry = REALIZE("Y", 3, ivs, exts, ssr, vals);
  ts_block *by = ry->u.realize.block;
  by->reads =
      REGS(REG(Ab, V(vi), V(vk)), REG(Bb, V(vk), V(vj)), (ts_region){0});
  by->n_reads = 2;
  by->writes = REGS(REG(Y, V(vi), V(vj)), (ts_region){0}, (ts_region){0});
  by->n_writes = 1;
  by->init = ST(Y, V(vi), V(vj), F(0.0));
  by->body = ST(Y, V(vi), V(vj),
                B(TS_E_ADD, LD(Y, V(vi), V(vj)),
                  B(TS_E_MUL, LD(Ab, V(vi), V(vk)), LD(Bb, V(vk), V(vj)))));
  ts_stmt *nest1 =
      FOR(i, I(0), I(128), FOR(j, I(0), I(128), FOR(k, I(0), I(128), ry)));

  ts_var *i2 = var("i", TS_I32), *j2 = var("j", TS_I32);
  ts_var *vi2 = var("vi", TS_I32), *vj2 = var("vj", TS_I32);
  ts_var *ivs2[2] = {vi2, vj2};
  ts_expr *vals2[2] = {V(i2), V(j2)};
  ts_stmt *rc = REALIZE("C", 2, ivs2, exts, ssr, vals2);
  ts_block *bc = rc->u.realize.block;
  bc->reads = REGS(REG(Y, V(vi2), V(vj2)), (ts_region){0}, (ts_region){0});
  bc->n_reads = 1;
  bc->writes = REGS(REG(Cb, V(vi2), V(vj2)), (ts_region){0}, (ts_region){0});
  bc->n_writes = 1;
  bc->body = ST(Cb, V(vi2), V(vj2), B(TS_E_MAX, LD(Y, V(vi2), V(vj2)), F(0.0)));
  ts_stmt *nest2 = FOR(i2, I(0), I(128), FOR(j2, I(0), I(128), rc));

  ts_stmt *root = REALIZE("root", 0, NULL, NULL, NULL, NULL);
  ts_block *rb = root->u.realize.block;
  rb->alloc_buffers = ts_arena_array(A, 1, sizeof(ts_buffer *));
  rb->alloc_buffers[0] = Y;
  rb->n_alloc_buffers = 1;
  rb->body = SEQ2(nest1, nest2);

  ts_primfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "mm_relu";
  f->n_params = 3;
  f->params = ts_arena_array(A, 3, sizeof(ts_param));
  ts_buffer *bufs[3] = {Ab, Bb, Cb};
  for (int p = 0; p < 3; p++)
    f->params[p] = (ts_param){var(bufs[p]->name, TS_HANDLET), bufs[p], false};
  f->attrs = ts_attrs_new(A);
  ts_attrs_set(A, f->attrs, "tir.noalias", ts_attr_bool(A, true));
  ts_attrs_set(A, f->attrs, "global_symbol", ts_attr_str(A, "mm_relu"));
  f->body = root;
  return f;
}

static ts_gfunc *build_main(void) {
  ts_var *n = var("n", TS_I64);
  ts_gvar *x = GVAR("x", TENSOR(V(n), I64(784), TS_F32), false);
  ts_gvar *w0 = GVAR("w0", TENSOR(I64(128), I64(784), TS_F32), false);
  ts_gvar *w1 = GVAR("w1", TENSOR(I64(10), I64(128), TS_F32), false);
  ts_gvar *lv0 = GVAR("lv0", NULL, true), *lv1 = GVAR("lv1", NULL, true),
          *out = GVAR("out", NULL, false);
  ts_gexpr *glob = ts_gexpr_new(A, TS_G_GLOBAL, (ts_loc){0});
  glob->u.global_name = "linear0";
  ts_gexpr *ext = ts_gexpr_new(A, TS_G_EXTERN, (ts_loc){0});
  ext->u.extern_name = "env.linear";

  ts_binding_block *bb = ts_arena_alloc(A, sizeof(*bb));
  bb->is_dataflow = true;
  bb->n = 3;
  bb->bindings = ts_arena_array(A, 3, sizeof(ts_binding));
  bb->bindings[0] =
      (ts_binding){TS_BIND_VAR,
                   lv0,
                   GCALL(TS_OP_CALL_TIR, glob, GTUPLE2(GV(x), GV(w0)),
                         TENSOR(V(n), I64(128), TS_F32)),
                   NULL,
                   {0}};
  bb->bindings[1] = (ts_binding){
      TS_BIND_VAR, lv1, GCALL(TS_OP_RELU, GV(lv0), NULL, NULL), NULL, {0}};
  bb->bindings[2] =
      (ts_binding){TS_BIND_VAR,
                   out,
                   GCALL(TS_OP_CALL_DPS_PACKED, ext, GTUPLE2(GV(lv1), GV(w1)),
                         TENSOR(V(n), I64(10), TS_F32)),
                   NULL,
                   {0}};
  bb->outputs = ts_arena_array(A, 1, sizeof(ts_gvar *));
  bb->outputs[0] = out;
  bb->n_outputs = 1;

  ts_gfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "main";
  f->n_params = 2;
  f->params = ts_arena_array(A, 2, sizeof(ts_gvar *));
  f->params[0] = x;
  f->params[1] = w0;
  f->ret_sinfo = TENSOR(V(n), I64(128), TS_F32);
  f->blocks = bb;
  f->n_blocks = 1;
  f->result = GV(out);
  f->is_pure = true;
  return f;
}

static const char *spec_text =
    "# from tvm.script import ir as I\n"
    "# from tvm.script import tir as T\n"
    "# from tvm.script import relax as R\n"
    "\n"
    "@I.ir_module\n"
    "class Module:\n"
    "    @T.prim_func\n"
    "    def mm_relu(A: T.Buffer((128, 128), \"float32\"), B: T.Buffer((128, "
    "128), \"float32\"), C: T.Buffer((128, 128), \"float32\")):\n"
    "        T.func_attr({\"global_symbol\": \"mm_relu\", \"tir.noalias\": "
    "True})\n"
    "        # with T.block(\"root\"):\n"
    "        Y = T.alloc_buffer((128, 128))\n"
    "        for i, j, k in T.grid(128, 128, 128):\n"
    "            with T.block(\"Y\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                T.reads(A[vi, vk], B[vk, vj])\n"
    "                T.writes(Y[vi, vj])\n"
    "                with T.init():\n"
    "                    Y[vi, vj] = T.float32(0.0)\n"
    "                Y[vi, vj] = Y[vi, vj] + A[vi, vk] * B[vk, vj]\n"
    "        for i, j in T.grid(128, 128):\n"
    "            with T.block(\"C\"):\n"
    "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
    "                T.reads(Y[vi, vj])\n"
    "                T.writes(C[vi, vj])\n"
    "                C[vi, vj] = T.max(Y[vi, vj], T.float32(0.0))\n"
    "\n"
    "    @R.function\n"
    "    def main(x: R.Tensor((\"n\", 784), dtype=\"float32\"), w0: "
    "R.Tensor((128, 784), dtype=\"float32\")) -> R.Tensor((\"n\", 128), "
    "dtype=\"float32\"):\n"
    "        n = T.int64()\n"
    "        cls = Module\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(cls.linear0, (x, w0), "
    "out_sinfo=R.Tensor((n, 128), dtype=\"float32\"))\n"
    "            lv1 = R.nn.relu(lv0)\n"
    "            out = R.call_dps_packed(\"env.linear\", (lv1, w1), "
    "out_sinfo=R.Tensor((n, 10), dtype=\"float32\"))\n"
    "            R.output(out)\n"
    "        return out\n";

static void add_spec_module(void) {
  ts_func pf = {TS_FUNC_PRIM, "mm_relu", .u.prim = build_mm_relu()};
  CHECK_OK(ts_module_add(M, pf, (ts_loc){0}));
  ts_func gf = {TS_FUNC_GRAPH, "main", .u.graph = build_main()};
  CHECK_OK(ts_module_add(M, gf, (ts_loc){0}));
}

TEST(spec_module) {
  fresh();
  add_spec_module();
  char *s = ts_script_print(M, NULL);
  CHECK_STREQ(s, spec_text);
  free(s);
}

TEST(current_syntax) {
  fresh();
  add_spec_module();
  ts_print_options o = {TS_SYNTAX_CURRENT};
  char *s = ts_script_print(M, &o);
  CHECK_CONTAINS(s, "        # with T.sblock(\"root\"):\n");
  CHECK_CONTAINS(s, "            with T.sblock(\"Y\"):\n");
  CHECK_CONTAINS(s, "out_ty=R.Tensor((n, 128), dtype=\"float32\"))");
  CHECK(!strstr(s, "T.block("));
  CHECK(!strstr(s, "out_sinfo"));
  free(s);
  /* block annotations */
  ts_primfunc *f = M->funcs[0].u.prim;
  ts_block *root = f->body->u.realize.block;
  ts_block *by = root->body->u.seq.stmts[0]
                     ->u.for_.body->u.for_.body->u.for_.body->u.realize.block;
  by->annotations = ts_attrs_new(A);
  ts_attrs_set(A, by->annotations, "schedule_rule", ts_attr_str(A, "mm"));
  s = ts_script_print(M, &o);
  CHECK_CONTAINS(s,
                 "T.writes(Y[vi, vj])\n"
                 "                T.sblock_attr({\"schedule_rule\": \"mm\"})\n"
                 "                with T.init():\n");
  free(s);
  s = ts_script_print(M, NULL);
  CHECK_CONTAINS(s, "T.block_attr({\"schedule_rule\": \"mm\"})");
  free(s);
}

/* ---- expressions
 * ------------------------------------------------------------- */

static void expect_expr(const ts_expr *e, const char *want, int line) {
  char *s = ts_script_print_expr(e);
  if (strcmp(s, want) != 0) {
    fprintf(stderr, "%s:%d: expression printed \"%s\", expected \"%s\"\n",
            __FILE__, line, s, want);
    check_cur_failed_ = 1;
  }
  free(s);
}
#define EXPECT_EXPR(e, want) expect_expr((e), (want), __LINE__)

TEST(expression_precedence) {
  fresh();
  ts_expr *a = V(var("a", TS_I32)), *b = V(var("b", TS_I32)),
          *c = V(var("c", TS_I32)), *d = V(var("d", TS_I32));
  ts_expr *x = V(var("x", TS_F32)), *y = V(var("y", TS_F32));
  ts_expr *p = V(var("p", TS_BOOLT)), *q = V(var("q", TS_BOOLT)),
          *r = V(var("r", TS_BOOLT));
  EXPECT_EXPR(B(TS_E_MUL, B(TS_E_ADD, a, b), c), "(a + b) * c");
  EXPECT_EXPR(B(TS_E_ADD, a, B(TS_E_MUL, b, c)), "a + b * c");
  EXPECT_EXPR(B(TS_E_SUB, a, B(TS_E_SUB, b, c)), "a - (b - c)");
  EXPECT_EXPR(B(TS_E_SUB, B(TS_E_SUB, a, b), c), "a - b - c");
  EXPECT_EXPR(B(TS_E_ADD, a, B(TS_E_ADD, b, c)), "a + (b + c)");
  EXPECT_EXPR(B(TS_E_SUB, I(0), B(TS_E_ADD, a, b)), "0 - (a + b)");
  EXPECT_EXPR(B(TS_E_FLOORMOD, B(TS_E_FLOORDIV, a, I(4)), I(2)), "a // 4 % 2");
  EXPECT_EXPR(B(TS_E_FLOORDIV, a, B(TS_E_FLOORMOD, b, I(2))), "a // (b % 2)");
  EXPECT_EXPR(B(TS_E_MUL, B(TS_E_MAX, a, b), I(2)), "T.max(a, b) * 2");
  EXPECT_EXPR(B(TS_E_MIN, B(TS_E_ADD, a, b), I(-3)), "T.min(a + b, -3)");
  EXPECT_EXPR(B(TS_E_MUL, a, I(-3)), "a * -3");
  EXPECT_EXPR(B(TS_E_SUB, a, I(-3)), "a - -3");
  EXPECT_EXPR(B(TS_E_DIV, a, b), "T.truncdiv(a, b)");
  EXPECT_EXPR(B(TS_E_MOD, B(TS_E_ADD, a, b), c), "T.truncmod(a + b, c)");
  EXPECT_EXPR(B(TS_E_DIV, x, B(TS_E_MUL, y, x)), "x / (y * x)");
  EXPECT_EXPR(B(TS_E_MUL, B(TS_E_DIV, x, y), x), "x / y * x");
  EXPECT_EXPR(B(TS_E_AND, B(TS_E_LT, a, b), B(TS_E_GE, c, d)),
              "a < b and c >= d");
  EXPECT_EXPR(B(TS_E_AND, B(TS_E_OR, p, q), r), "(p or q) and r");
  EXPECT_EXPR(B(TS_E_OR, p, B(TS_E_AND, q, r)), "p or q and r");
  EXPECT_EXPR(ts_not(A, B(TS_E_AND, p, q)), "not (p and q)");
  EXPECT_EXPR(ts_not(A, B(TS_E_LT, a, b)), "not a < b");
  EXPECT_EXPR(B(TS_E_EQ, B(TS_E_LT, a, b), p), "(a < b) == p");
  EXPECT_EXPR(B(TS_E_LT, a, B(TS_E_ADD, b, I(1))), "a < b + 1");
  EXPECT_EXPR(B(TS_E_NE, B(TS_E_FLOORMOD, a, I(2)), I(0)), "a % 2 != 0");
  EXPECT_EXPR(ts_cast(A, TS_F32, B(TS_E_ADD, a, b)),
              "T.Cast(\"float32\", a + b)");
  EXPECT_EXPR(ts_select(A, p, a, b), "T.Select(p, a, b)");
  ts_expr *args3[3] = {B(TS_E_LT, a, b), x, F(0.0)};
  EXPECT_EXPR(ts_call(A, TS_F32, TS_INTRIN_IF_THEN_ELSE, args3, 3),
              "T.if_then_else(a < b, x, T.float32(0.0))");
  ts_expr *args1[1] = {B(TS_E_ADD, x, y)};
  EXPECT_EXPR(ts_call(A, TS_F32, TS_INTRIN_EXP, args1, 1), "T.exp(x + y)");
  ts_expr *name = ts_arena_alloc(A, sizeof(ts_expr));
  name->kind = TS_E_STR;
  name->u.str = "my_fn";
  ts_expr *ext[3] = {name, x, I(1)};
  EXPECT_EXPR(ts_call(A, TS_F32, TS_INTRIN_CALL_EXTERN, ext, 3),
              "T.call_extern(\"float32\", \"my_fn\", x, 1)");
  ts_buffer *Z = ts_buffer_new(A, "Z", TS_F32, 0, NULL);
  EXPECT_EXPR(ts_load(A, Z, NULL, 0), "Z[()]");
  ts_buffer *Q = BUF("Q", TS_F32, 4, 4);
  EXPECT_EXPR(B(TS_E_MUL, LD(Q, a, B(TS_E_ADD, b, I(1))), x),
              "Q[a, b + 1] * x");
}

TEST(literals) {
  fresh();
  EXPECT_EXPR(I(0), "0");
  EXPECT_EXPR(I(-3), "-3");
  EXPECT_EXPR(I64(3), "T.int64(3)");
  EXPECT_EXPR(I64(-3), "T.int64(-3)");
  EXPECT_EXPR(ts_int(A, TS_DT(TS_UINT, 8), 1), "T.uint8(1)");
  EXPECT_EXPR(ts_bool(A, true), "True");
  EXPECT_EXPR(ts_bool(A, false), "False");
  EXPECT_EXPR(F((float)0.1), "T.float32(0.1)");
  EXPECT_EXPR(F(0.1), "T.float32(0.1)");
  EXPECT_EXPR(F((float)1e-05), "T.float32(1e-05)");
  EXPECT_EXPR(F(3.0), "T.float32(3.0)");
  EXPECT_EXPR(F(0.5), "T.float32(0.5)");
  EXPECT_EXPR(F(-2.25), "T.float32(-2.25)");
  EXPECT_EXPR(F((float)3.14159265), "T.float32(3.1415927)");
  EXPECT_EXPR(ts_float(A, TS_F64, 0.1), "T.float64(0.1)");
  EXPECT_EXPR(ts_float(A, TS_F64, 1e20), "T.float64(1e+20)");
  EXPECT_EXPR(ts_float(A, TS_F64, 1e16), "T.float64(1e+16)");
  EXPECT_EXPR(ts_float(A, TS_F64, 1e15), "T.float64(1000000000000000.0)");
  EXPECT_EXPR(ts_float(A, TS_F64, 1.5e-7), "T.float64(1.5e-07)");
  EXPECT_EXPR(ts_float(A, TS_F64, 0.0001), "T.float64(0.0001)");
  EXPECT_EXPR(ts_float(A, TS_F64, 123.456), "T.float64(123.456)");
  EXPECT_EXPR(ts_float(A, TS_F16, 1.0), "T.float16(1.0)");
  EXPECT_EXPR(F(1.0 / 0.0), "T.float32(\"inf\")");
  EXPECT_EXPR(F(-1.0 / 0.0), "T.float32(\"-inf\")");
  EXPECT_EXPR(F(0.0 / 0.0), "T.float32(\"nan\")");
}

/* ---- loops, blocks, names
 * -------------------------------------------------------- */

static ts_primfunc *func_with_body(ts_stmt *body, ts_buffer *buf) {
  ts_primfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "f";
  f->n_params = 1;
  f->params = ts_arena_array(A, 1, sizeof(ts_param));
  f->params[0] = (ts_param){var("A", TS_HANDLET), buf, false};
  f->body = body;
  return f;
}

static const char *func_header =
    "# from tvm.script import tir as T\n"
    "\n"
    "@T.prim_func\n"
    "def f(A: T.Buffer((128, 128), \"float32\")):\n";

static void expect_func(ts_stmt *body, ts_buffer *buf, const char *want_body,
                        int line) {
  char *s = ts_script_print_primfunc(func_with_body(body, buf), NULL);
  size_t hn = strlen(func_header);
  if (strncmp(s, func_header, hn) != 0 || strcmp(s + hn, want_body) != 0) {
    fprintf(stderr, "%s:%d: printed\n%s\nexpected body\n%s\n", __FILE__, line,
            s, want_body);
    check_cur_failed_ = 1;
  }
  free(s);
}
#define EXPECT_FUNC(body, buf, want)                                           \
  expect_func((body), (buf), (want), __LINE__)

TEST(grid_folding) {
  fresh();
  ts_buffer *Ab = BUF("A", TS_F32, 128, 128);
  ts_var *i = var("i", TS_I32), *j = var("j", TS_I32);
  /* perfectly nested serial loops fold */
  EXPECT_FUNC(
      FOR(i, I(0), I(128), FOR(j, I(0), I(128), ST(Ab, V(i), V(j), F(1.0)))),
      Ab,
      "    for i, j in T.grid(128, 128):\n"
      "        A[i, j] = T.float32(1.0)\n");
  /* non-zero min and a dependent extent do not */
  EXPECT_FUNC(
      FOR(i, I(2), I(8), FOR(j, I(0), V(i), ST(Ab, V(i), V(j), F(1.0)))), Ab,
      "    for i in T.serial(2, 10):\n"
      "        for j in range(i):\n"
      "            A[i, j] = T.float32(1.0)\n");
  EXPECT_FUNC(
      FOR(i, I(0), I(8), FOR(j, I(0), V(i), ST(Ab, V(i), V(j), F(1.0)))), Ab,
      "    for i in range(8):\n"
      "        for j in range(i):\n"
      "            A[i, j] = T.float32(1.0)\n");
  /* a loop with two statements in its body stops the grid */
  ts_var *k = var("k", TS_I32);
  EXPECT_FUNC(FOR(i, I(0), I(4),
                  SEQ2(FOR(j, I(0), I(4), ST(Ab, V(i), V(j), F(1.0))),
                       FOR(k, I(0), I(4), ST(Ab, V(i), V(k), F(2.0))))),
              Ab,
              "    for i in range(4):\n"
              "        for j in range(4):\n"
              "            A[i, j] = T.float32(1.0)\n"
              "        for k in range(4):\n"
              "            A[i, k] = T.float32(2.0)\n");
  /* kinds, annotations, thread bindings */
  ts_stmt *inner = FOR(j, I(0), I(4), ST(Ab, V(i), V(j), F(1.0)));
  inner->u.for_.kind = TS_FOR_VECTORIZED;
  ts_stmt *outer = FOR(i, I(0), I(32), inner);
  outer->u.for_.kind = TS_FOR_PARALLEL;
  EXPECT_FUNC(outer, Ab,
              "    for i in T.parallel(32):\n"
              "        for j in T.vectorized(4):\n"
              "            A[i, j] = T.float32(1.0)\n");
  ts_stmt *ann = FOR(j, I(0), I(4), ST(Ab, V(i), V(j), F(1.0)));
  ann->u.for_.annotations = ts_attrs_new(A);
  ts_attrs_set(A, ann->u.for_.annotations, "pragma_unroll", ts_attr_int(A, 16));
  ts_stmt *tb = FOR(i, I(0), I(32), ann);
  tb->u.for_.kind = TS_FOR_THREAD_BINDING;
  tb->u.for_.thread_tag = "threadIdx.x";
  EXPECT_FUNC(tb, Ab,
              "    for i in T.thread_binding(32, thread=\"threadIdx.x\"):\n"
              "        for j in T.serial(4, annotations={\"pragma_unroll\": "
              "16}):\n"
              "            A[i, j] = T.float32(1.0)\n");
  ts_stmt *un = FOR(i, I(1), I(4), ST(Ab, V(i), I(0), F(1.0)));
  un->u.for_.kind = TS_FOR_UNROLLED;
  EXPECT_FUNC(un, Ab,
              "    for i in T.unroll(1, 5):\n"
              "        A[i, 0] = T.float32(1.0)\n");
}

TEST(block_bindings) {
  fresh();
  ts_buffer *Ab = BUF("A", TS_F32, 128, 128);
  ts_var *i = var("i", TS_I32), *j = var("j", TS_I32), *k = var("k", TS_I32);
  ts_var *vi = var("vi", TS_I32), *vk = var("vk", TS_I32);
  ts_iter_type sr[2] = {TS_ITER_SPATIAL, TS_ITER_REDUCE};
  ts_var *ivs[2] = {vi, vk};
  ts_expr *exts[2] = {I(128), I(64)};
  ts_expr *vals[2] = {B(TS_E_ADD, B(TS_E_MUL, V(i), I(4)), V(j)), V(k)};
  ts_stmt *r = REALIZE("blk", 2, ivs, exts, sr, vals);
  ts_block *b = r->u.realize.block;
  b->iter_vars[1].dom = (ts_range){I(2), I(8)};
  ts_region rr = {Ab, ts_arena_array(A, 2, sizeof(ts_range)), 2};
  rr.ranges[0] = (ts_range){B(TS_E_MUL, V(vi), I(4)), I(4)};
  rr.ranges[1] = (ts_range){I(0), I(128)};
  b->reads = REGS(rr, (ts_region){0}, (ts_region){0});
  b->n_reads = 1;
  b->n_writes = 0;
  b->body = ST(Ab, V(vi), V(vk), F(0.5));
  r->u.realize.predicate = B(TS_E_LT, V(i), I(10));
  ts_stmt *body =
      FOR(i, I(0), I(32), FOR(j, I(0), I(4), FOR(k, I(2), I(8), r)));
  EXPECT_FUNC(body, Ab,
              "    for i, j in T.grid(32, 4):\n"
              "        for k in T.serial(2, 10):\n"
              "            with T.block(\"blk\"):\n"
              "                vi = T.axis.spatial(128, i * 4 + j)\n"
              "                vk = T.axis.reduce((2, 10), k)\n"
              "                T.where(i < 10)\n"
              "                T.reads(A[vi * 4:vi * 4 + 4, 0:128])\n"
              "                T.writes()\n"
              "                A[vi, vk] = T.float32(0.5)\n");

  /* a single eligible variable prints as T.axis.spatial (as TVM does) */
  ts_var *v1 = var("vi", TS_I32);
  ts_iter_type s1[1] = {TS_ITER_SPATIAL};
  ts_expr *e1[1] = {I(16)}, *val1[1] = {V(i)};
  ts_stmt *r1 = REALIZE("one", 1, &v1, e1, s1, val1);
  r1->u.realize.block->body = ST(Ab, V(v1), I(0), F(0.0));
  EXPECT_FUNC(FOR(i, I(0), I(16), r1), Ab,
              "    for i in range(16):\n"
              "        with T.block(\"one\"):\n"
              "            vi = T.axis.spatial(16, i)\n"
              "            T.reads()\n"
              "            T.writes()\n"
              "            A[vi, 0] = T.float32(0.0)\n");

  /* the same loop variable twice, or extents that differ: no remap */
  ts_var *va = var("va", TS_I32), *vb = var("vb", TS_I32);
  ts_var *iv2[2] = {va, vb};
  ts_iter_type ss[2] = {TS_ITER_SPATIAL, TS_ITER_SPATIAL};
  ts_expr *e2[2] = {I(16), I(16)}, *val2[2] = {V(i), V(i)};
  ts_stmt *r2 = REALIZE("twice", 2, iv2, e2, ss, val2);
  r2->u.realize.block->body = ST(Ab, V(va), V(vb), F(0.0));
  EXPECT_FUNC(FOR(i, I(0), I(16), r2), Ab,
              "    for i in range(16):\n"
              "        with T.block(\"twice\"):\n"
              "            va = T.axis.spatial(16, i)\n"
              "            vb = T.axis.spatial(16, i)\n"
              "            T.reads()\n"
              "            T.writes()\n"
              "            A[va, vb] = T.float32(0.0)\n");
}

TEST(name_disambiguation) {
  fresh();
  ts_buffer *Ab = BUF("A", TS_F32, 128, 128);
  ts_var *i1 = var("i", TS_I32), *i2 = var("i", TS_I32), *i3 = var("i", TS_I32);
  ts_var *kw = var("for", TS_I32), *bad = var("x.y", TS_I32);
  /* nested loops sharing a name get suffixes; a sibling reuses the name */
  ts_stmt *nest =
      FOR(i1, I(0), I(4), FOR(i2, I(0), I(4), ST(Ab, V(i1), V(i2), F(1.0))));
  nest->u.for_.body->u.for_.kind = TS_FOR_PARALLEL;
  ts_stmt *sib = FOR(i3, I(0), I(4), ST(Ab, V(i3), I(0), F(1.0)));
  ts_stmt *odd =
      FOR(kw, I(0), I(2), FOR(bad, I(0), I(2), ST(Ab, V(kw), V(bad), F(1.0))));
  ts_stmt *v[3] = {nest, sib, odd};
  EXPECT_FUNC(ts_seq(A, v, 3), Ab,
              "    for i in range(4):\n"
              "        for i_1 in T.parallel(4):\n"
              "            A[i, i_1] = T.float32(1.0)\n"
              "    for i in range(4):\n"
              "        A[i, 0] = T.float32(1.0)\n"
              "    for for_1, x_y in T.grid(2, 2):\n"
              "        A[for_1, x_y] = T.float32(1.0)\n");
}

TEST(match_buffer_params) {
  fresh();
  ts_var *n = var("n", TS_I64), *m = var("m", TS_I32);
  ts_expr *shape[2] = {V(n), I64(784)};
  ts_buffer *X = ts_buffer_new(A, "X", TS_F32, 2, shape);
  ts_expr *shape2[1] = {V(m)};
  ts_buffer *Yb = ts_buffer_new(A, "Y", TS_DT(TS_INT, 32), 1, shape2);
  ts_primfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "g";
  f->n_params = 3;
  f->params = ts_arena_array(A, 3, sizeof(ts_param));
  f->params[0] = (ts_param){var("var_X", TS_HANDLET), X, true};
  f->params[1] = (ts_param){var("Y", TS_HANDLET), Yb, true};
  f->params[2] = (ts_param){m, NULL, false};
  f->is_private = true;
  ts_var *i = var("i", TS_I64);
  f->body = FOR(i, I64(0), V(n), ST(X, V(i), I64(0), F(1.0)));
  char *s = ts_script_print_primfunc(f, NULL);
  CHECK_STREQ(s, "# from tvm.script import tir as T\n"
                 "\n"
                 "@T.prim_func(private=True)\n"
                 "def g(var_X: T.handle, var_Y: T.handle, m: T.int32):\n"
                 "    n = T.int64()\n"
                 "    X = T.match_buffer(var_X, (n, T.int64(784)))\n"
                 "    Y = T.match_buffer(var_Y, (m,), \"int32\")\n"
                 "    for i in range(n):\n"
                 "        X[i, T.int64(0)] = T.float32(1.0)\n");
  free(s);
}

TEST(statements) {
  fresh();
  ts_buffer *Ab = BUF("A", TS_F32, 128, 128);
  ts_var *i = var("i", TS_I32), *t = var("t", TS_I32);
  ts_stmt *iff = ts_stmt_new(A, TS_S_IF, (ts_loc){0});
  iff->u.if_.cond = B(TS_E_LT, V(i), I(3));
  iff->u.if_.then_s = ST(Ab, V(i), I(0), F(1.0));
  iff->u.if_.else_s = ST(Ab, V(i), I(0), F(2.0));
  ts_stmt *let = ts_stmt_new(A, TS_S_LET, (ts_loc){0});
  let->u.let.var = t;
  let->u.let.value = B(TS_E_MUL, V(i), I(2));
  let->u.let.body = iff;
  ts_stmt *as = ts_stmt_new(A, TS_S_ASSERT, (ts_loc){0});
  as->u.assert_.cond = B(TS_E_GE, V(i), I(0));
  as->u.assert_.message = "bad \"i\"";
  as->u.assert_.body = let;
  ts_stmt *ev = ts_stmt_new(A, TS_S_EVALUATE, (ts_loc){0});
  ev->u.eval.value = I(0);
  EXPECT_FUNC(SEQ2(FOR(i, I(0), I(8), as), ev), Ab,
              "    for i in range(8):\n"
              "        assert i >= 0, \"bad \\\"i\\\"\"\n"
              "        t: T.int32 = i * 2\n"
              "        if i < 3:\n"
              "            A[i, 0] = T.float32(1.0)\n"
              "        else:\n"
              "            A[i, 0] = T.float32(2.0)\n"
              "    T.evaluate(0)\n");
  EXPECT_FUNC(NULL, Ab, "    T.evaluate(0)\n");
}

/* ---- graph functions
 * ------------------------------------------------------------------ */

TEST(graph_bindings) {
  fresh();
  ts_var *n = var("n", TS_I64), *m = var("m", TS_I64);
  ts_gvar *x = GVAR("x", TENSOR(V(n), I64(4), TS_F32), false);
  ts_gvar *y = GVAR("y", ts_sinfo_new(A, TS_SI_TENSOR), false);
  ts_sinfo *ys = TENSOR(V(m), NULL, TS_F32);
  ts_gvar *lv = GVAR("lv", ys, false);
  ts_gvar *lv1 = GVAR("lv1", TENSOR(V(n), I64(4), TS_F32), false);
  ts_gvar *lv2 = GVAR("lv2", TENSOR(V(n), I64(4), TS_F32), false);
  /* softmax with an attribute; value sinfo unknown -> annotation */
  ts_gexpr *sm = GCALL(TS_OP_SOFTMAX, GV(x), NULL, NULL);
  sm->u.call.attrs = ts_attrs_new(A);
  ts_attrs_set(A, sm->u.call.attrs, "axis", ts_attr_int(A, -1));
  /* add with a scalar constant; value sinfo equal -> no annotation */
  ts_const_data *c = ts_arena_alloc(A, sizeof(*c));
  c->dtype = TS_F32;
  c->ndim = 0;
  float one_half = 1.5f;
  c->data = ts_arena_memdup(A, &one_half, 4);
  c->nbytes = 4;
  ts_gexpr *ce = ts_gexpr_new(A, TS_G_CONST, (ts_loc){0});
  ce->u.constant = c;
  ts_gexpr *add = GCALL(TS_OP_ADD, GV(lv1), ce, NULL);
  add->sinfo = TENSOR(V(n), I64(4), TS_F32);

  ts_binding_block *bb = ts_arena_array(A, 1, sizeof(ts_binding_block));
  bb->n = 3;
  bb->bindings = ts_arena_array(A, 3, sizeof(ts_binding));
  bb->bindings[0] = (ts_binding){TS_BIND_MATCH_CAST, lv, GV(y), ys, {0}};
  bb->bindings[1] = (ts_binding){TS_BIND_VAR, lv1, sm, NULL, {0}};
  bb->bindings[2] = (ts_binding){TS_BIND_VAR, lv2, add, NULL, {0}};
  ts_gfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->name = "h";
  f->n_params = 2;
  f->params = ts_arena_array(A, 2, sizeof(ts_gvar *));
  f->params[0] = x;
  f->params[1] = y;
  f->blocks = bb;
  f->n_blocks = 1;
  f->result = GTUPLE2(GV(lv1), GV(lv2));
  f->is_pure = false;
  f->attrs = ts_attrs_new(A);
  ts_attrs_set(A, f->attrs, "num_input", ts_attr_int(A, 1));
  ts_func gf = {TS_FUNC_GRAPH, "h", .u.graph = f};
  CHECK_OK(ts_module_add(M, gf, (ts_loc){0}));
  ts_func ef = {TS_FUNC_EXTERN, "ext", .u.extern_name = "env.ext"};
  CHECK_OK(ts_module_add(M, ef, (ts_loc){0}));
  M->name = "MyMod";
  char *s = ts_script_print(M, NULL);
  CHECK_STREQ(
      s, "# from tvm.script import ir as I\n"
         "# from tvm.script import tir as T\n"
         "# from tvm.script import relax as R\n"
         "\n"
         "@I.ir_module\n"
         "class MyMod:\n"
         "    @R.function(pure=False)\n"
         "    def h(x: R.Tensor((\"n\", 4), dtype=\"float32\"), y: "
         "R.Tensor):\n"
         "        n = T.int64()\n"
         "        m = T.int64()\n"
         "        R.func_attr({\"num_input\": 1})\n"
         "        lv = R.match_cast(y, R.Tensor((m,), dtype=\"float32\"))\n"
         "        lv1: R.Tensor((n, 4), dtype=\"float32\") = "
         "R.nn.softmax(x, axis=-1)\n"
         "        lv2 = R.add(lv1, R.const(1.5, \"float32\"))\n"
         "        return (lv1, lv2)\n");
  free(s);
}

TEST(sinfo_forms) {
  fresh();
  ts_var *n = var("n", TS_I64);
  char *s;
  s = ts_script_print_sinfo(TENSOR(B(TS_E_MUL, V(n), I64(2)), I64(4), TS_F16));
  CHECK_STREQ(s, "R.Tensor((n * 2, 4), dtype=\"float16\")");
  free(s);
  ts_sinfo *t = ts_sinfo_new(A, TS_SI_TENSOR);
  t->u.tensor.ndim = 2;
  t->u.tensor.dtype = TS_F32;
  s = ts_script_print_sinfo(t);
  CHECK_STREQ(s, "R.Tensor(dtype=\"float32\", ndim=2)");
  free(s);
  s = ts_script_print_sinfo(ts_sinfo_tensor(A, NULL, 0, TS_F32));
  CHECK_STREQ(s, "R.Tensor(dtype=\"float32\", ndim=0)");
  free(s);
  ts_expr *none[1] = {NULL};
  s = ts_script_print_sinfo(ts_sinfo_tensor(A, none, 0, TS_I64));
  CHECK_STREQ(s, "R.Tensor((), dtype=\"int64\")");
  free(s);
  ts_sinfo *sh = ts_sinfo_new(A, TS_SI_SHAPE);
  sh->u.shape.ndim = 2;
  s = ts_script_print_sinfo(sh);
  CHECK_STREQ(s, "R.Shape(ndim=2)");
  free(s);
  sh->u.shape.values = ts_arena_array(A, 2, sizeof(ts_expr *));
  sh->u.shape.values[0] = V(n);
  sh->u.shape.values[1] = I64(4);
  s = ts_script_print_sinfo(sh);
  CHECK_STREQ(s, "R.Shape([n, 4])");
  free(s);
  ts_sinfo *pr = ts_sinfo_new(A, TS_SI_PRIM);
  pr->u.prim.dtype = TS_I64;
  ts_sinfo *tu = ts_sinfo_new(A, TS_SI_TUPLE);
  tu->u.tuple.n = 2;
  tu->u.tuple.fields = ts_arena_array(A, 2, sizeof(ts_sinfo *));
  tu->u.tuple.fields[0] = pr;
  tu->u.tuple.fields[1] = ts_sinfo_new(A, TS_SI_OBJECT);
  s = ts_script_print_sinfo(tu);
  CHECK_STREQ(s, "R.Tuple(R.Prim(\"int64\"), R.Object)");
  free(s);
}

TEST(tensor_constant) {
  fresh();
  ts_const_data *c = ts_arena_alloc(A, sizeof(*c));
  int64_t shape[2] = {2, 2};
  float vals[4] = {1.0f, 0.5f, -2.0f, 0.1f};
  c->dtype = TS_F32;
  c->ndim = 2;
  c->shape = ts_arena_memdup(A, shape, sizeof shape);
  c->data = ts_arena_memdup(A, vals, sizeof vals);
  c->nbytes = sizeof vals;
  ts_gvar *lv = GVAR("lv", NULL, false);
  ts_gexpr *ce = ts_gexpr_new(A, TS_G_CONST, (ts_loc){0});
  ce->u.constant = c;
  ts_binding_block *bb = ts_arena_array(A, 1, sizeof(ts_binding_block));
  bb->n = 1;
  bb->bindings = ts_arena_array(A, 1, sizeof(ts_binding));
  bb->bindings[0] = (ts_binding){TS_BIND_VAR, lv, ce, NULL, {0}};
  ts_gfunc *f = ts_arena_alloc(A, sizeof(*f));
  f->blocks = bb;
  f->n_blocks = 1;
  f->result = GV(lv);
  f->is_pure = true;
  f->is_private = true;
  ts_func gf = {TS_FUNC_GRAPH, "k", .u.graph = f};
  CHECK_OK(ts_module_add(M, gf, (ts_loc){0}));
  char *s = ts_script_print(M, NULL);
  CHECK_CONTAINS(s, "    @R.function(private=True)\n"
                    "    def k():\n"
                    "        lv = R.const([[1.0, 0.5], [-2.0, 0.1]], "
                    "\"float32\")\n"
                    "        return lv\n");
  free(s);
}

int main(void) {
  RUN(spec_module);
  RUN(current_syntax);
  RUN(expression_precedence);
  RUN(literals);
  RUN(grid_folding);
  RUN(block_bindings);
  RUN(name_disambiguation);
  RUN(match_buffer_params);
  RUN(statements);
  RUN(graph_bindings);
  RUN(sinfo_forms);
  RUN(tensor_constant);
  if (M)
    ts_module_destroy(M);
  return CHECK_DONE();
}
