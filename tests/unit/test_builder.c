/* test_builder.c: the TVMScript reader (script/builder.c, build_tir.c,
 * build_graph.c): structure of modules read from every era of the syntax,
 * literal dtype rules, and the malformed-input corpus in tests/errors
 * (each file listed in errors/expected.txt must fail with exactly the
 * message given there).  Runs with tests/ as the working directory. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ops/ops.h"
#include "tessera/ir.h"
#include "tessera/script.h"

static ts_module *parse(const char *text) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), "test.tvmscript", &m);
  if (st) {
    fprintf(stderr, "parse failed:\n%s\n", ts_status_render(st));
    ts_status_free(st);
    return NULL;
  }
  return m;
}

/* The message of a parse expected to fail (heap copy, caller frees). */
static char *parse_error(const char *text) {
  ts_module *m = NULL;
  ts_status *st = ts_script_parse(text, strlen(text), "e.tvmscript", &m);
  if (!st) {
    ts_module_destroy(m);
    return NULL;
  }
  char *msg = ts_xstrdup(ts_status_message(st));
  ts_status_free(st);
  return msg;
}

/* Unwraps the implicit root block; returns the statement inside it. */
static ts_stmt *root_body(ts_primfunc *f, ts_block **out_root) {
  ts_stmt *s = f->body;
  if (s->kind != TS_S_BLOCK_REALIZE)
    return s;
  if (out_root)
    *out_root = s->u.realize.block;
  return s->u.realize.block->body;
}

/* The first block realize found in s (depth first). */
static ts_stmt *first_realize(ts_stmt *s) {
  if (!s)
    return NULL;
  switch (s->kind) {
  case TS_S_BLOCK_REALIZE:
    return s;
  case TS_S_SEQ:
    for (int i = 0; i < s->u.seq.n; i++) {
      ts_stmt *r = first_realize(s->u.seq.stmts[i]);
      if (r)
        return r;
    }
    return NULL;
  case TS_S_FOR:
    return first_realize(s->u.for_.body);
  case TS_S_IF:
    return first_realize(s->u.if_.then_s);
  case TS_S_LET:
    return first_realize(s->u.let.body);
  default:
    return NULL;
  }
}

static const char *SEED =
    "@tvm.script.ir_module\n"
    "class MyModuleMixture:\n"
    "    @T.prim_func\n"
    "    def linear0(X: T.Buffer[(1, 784), \"float32\"],\n"
    "                W: T.Buffer[(128, 784), \"float32\"],\n"
    "                Z: T.Buffer[(1, 128), \"float32\"]):\n"
    "        T.func_attr({\"global_symbol\": \"linear0\", \"tir.noalias\": "
    "True})\n"
    "        for i, j, k in T.grid(1, 128, 784):\n"
    "            with T.block(\"Z\"):\n"
    "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
    "                with T.init():\n"
    "                    Z[vi, vj] = T.float32(0)\n"
    "                Z[vi, vj] = Z[vi, vj] + X[vi, vk] * W[vj, vk]\n"
    "\n"
    "    @R.function\n"
    "    def main(x: Tensor((1, 784), \"float32\"),\n"
    "             w0: Tensor((128, 784), \"float32\"),\n"
    "             w1: Tensor((10, 128), \"float32\")):\n"
    "        with R.dataflow():\n"
    "            lv0 = R.call_tir(linear0, (x, w0), (1, 128), "
    "dtype=\"float32\")\n"
    "            lv1 = R.nn.relu(lv0)\n"
    "            out = R.call_tir(\"env.linear\", (lv1, w1), (1, 10), "
    "dtype=\"float32\")\n"
    "            R.output(out)\n"
    "        return out\n";

static bool is_tensor(const ts_sinfo *s, int ndim, const int64_t *dims,
                      ts_dtype t) {
  if (!s || s->kind != TS_SI_TENSOR || s->u.tensor.ndim != ndim)
    return false;
  if (!ts_dtype_eq(s->u.tensor.dtype, t) || !s->u.tensor.shape)
    return false;
  for (int i = 0; i < ndim; i++) {
    const ts_expr *d = s->u.tensor.shape[i];
    if (dims[i] < 0) {
      if (d->kind != TS_E_VAR)
        return false;
    } else if (d->kind != TS_E_INT || d->u.int_value != dims[i] ||
               !ts_dtype_eq(d->dtype, TS_I64)) {
      return false;
    }
  }
  return true;
}

TEST(seed_module) {
  ts_module *m = parse(SEED);
  REQUIRE(m);
  CHECK_STREQ(m->name, "MyModuleMixture");
  REQUIRE(m->n_funcs == 2);
  CHECK_EQ_INT(m->funcs[0].kind, TS_FUNC_PRIM);
  CHECK_EQ_INT(m->funcs[1].kind, TS_FUNC_GRAPH);
  CHECK_STREQ(m->funcs[0].name, "linear0");

  ts_primfunc *f = ts_module_primfunc(m, "linear0");
  REQUIRE(f);
  CHECK_EQ_INT(f->n_params, 3);
  CHECK(f->params[0].buffer && f->params[0].buffer->ndim == 2);
  CHECK_EQ_INT(f->params[1].buffer->shape[1]->u.int_value, 784);
  CHECK(ts_attrs_get(f->attrs, "tir.noalias") != NULL);
  ts_block *root = NULL;
  ts_stmt *body = root_body(f, &root);
  REQUIRE(root);
  CHECK_STREQ(root->name, "root");
  REQUIRE(body->kind == TS_S_FOR);
  CHECK_EQ_INT(body->u.for_.kind, TS_FOR_SERIAL);
  ts_stmt *r = first_realize(body);
  REQUIRE(r);
  ts_block *b = r->u.realize.block;
  CHECK_STREQ(b->name, "Z");
  REQUIRE(b->n_iter_vars == 3);
  CHECK_EQ_INT(b->iter_vars[0].type, TS_ITER_SPATIAL);
  CHECK_EQ_INT(b->iter_vars[2].type, TS_ITER_REDUCE);
  CHECK(ts_dtype_eq(b->iter_vars[0].var->dtype, TS_I32));
  CHECK_EQ_INT(b->iter_vars[2].dom.extent->u.int_value, 784);
  CHECK(b->init != NULL);
  CHECK(b->init && b->init->kind == TS_S_STORE &&
        b->init->u.store.value->kind == TS_E_FLOAT);
  CHECK(!b->explicit_regions);
  CHECK(b->n_writes == 1);

  ts_gfunc *g = ts_module_gfunc(m, "main");
  REQUIRE(g);
  CHECK_EQ_INT(g->n_params, 3);
  int64_t xs[] = {1, 784};
  CHECK(is_tensor(g->params[0]->sinfo, 2, xs, TS_F32));
  CHECK(!g->params[0]->is_dataflow);
  REQUIRE(g->n_blocks == 1);
  ts_binding_block *bb = &g->blocks[0];
  CHECK(bb->is_dataflow);
  REQUIRE(bb->n == 3);
  CHECK_EQ_INT(bb->n_outputs, 1);
  CHECK(bb->bindings[0].var->is_dataflow);
  CHECK(!bb->bindings[2].var->is_dataflow);
  ts_gexpr *c0 = bb->bindings[0].value;
  REQUIRE(c0->kind == TS_G_CALL);
  CHECK_EQ_INT(c0->u.call.callee_kind, TS_CALLEE_OP);
  CHECK_EQ_INT(c0->u.call.op, TS_OP_CALL_TIR);
  CHECK_EQ_INT(c0->u.call.args[0]->kind, TS_G_GLOBAL);
  CHECK_STREQ(c0->u.call.args[0]->u.global_name, "linear0");
  CHECK_EQ_INT(c0->u.call.args[1]->kind, TS_G_TUPLE);
  CHECK_EQ_INT(c0->u.call.args[1]->u.tuple.n, 2);
  int64_t os[] = {1, 128};
  CHECK(is_tensor(c0->sinfo, 2, os, TS_F32));
  CHECK_EQ_INT(c0->u.call.n_sinfo_args, 1);
  ts_gexpr *c1 = bb->bindings[1].value;
  CHECK_EQ_INT(c1->u.call.op, TS_OP_RELU);
  CHECK(is_tensor(bb->bindings[1].var->sinfo, 2, os, TS_F32));
  ts_gexpr *c2 = bb->bindings[2].value;
  CHECK_EQ_INT(c2->u.call.op, TS_OP_CALL_DPS_PACKED);
  CHECK_EQ_INT(c2->u.call.args[0]->kind, TS_G_EXTERN);
  CHECK_STREQ(c2->u.call.args[0]->u.extern_name, "env.linear");
  CHECK(g->result && g->result->kind == TS_G_VAR &&
        g->result->u.var == bb->bindings[2].var);
  CHECK(m->source_text && m->source_name);
  ts_module_destroy(m);
}

TEST(canonical_symbolic) {
  const char *src =
      "# from tvm.script import ir as I\n"
      "@I.ir_module\n"
      "class Module:\n"
      "    @T.prim_func\n"
      "    def linear0(var_X: T.handle, W: T.Buffer((T.int64(128), "
      "T.int64(784)), \"float32\"), var_Z: T.handle):\n"
      "        n = T.int64()\n"
      "        X = T.match_buffer(var_X, (n, T.int64(784)))\n"
      "        Z = T.match_buffer(var_Z, (n, T.int64(128)))\n"
      "        for i, j, k in T.grid(n, T.int64(128), T.int64(784)):\n"
      "            with T.block(\"Z\"):\n"
      "                vi, vj, vk = T.axis.remap(\"SSR\", [i, j, k])\n"
      "                T.reads(X[vi, vk], W[vj, vk])\n"
      "                T.writes(Z[vi, vj])\n"
      "                with T.init():\n"
      "                    Z[vi, vj] = T.float32(0.0)\n"
      "                Z[vi, vj] = Z[vi, vj] + X[vi, vk] * W[vj, vk]\n"
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
      "            R.output(lv1)\n"
      "        return lv1\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "linear0");
  REQUIRE(f);
  CHECK(f->params[0].via_match_buffer);
  REQUIRE(f->params[0].buffer);
  ts_expr *n0 = f->params[0].buffer->shape[0];
  ts_expr *n2 = f->params[2].buffer->shape[0];
  CHECK(n0->kind == TS_E_VAR && ts_dtype_eq(n0->dtype, TS_I64));
  CHECK(n0->u.var == n2->u.var);
  ts_stmt *r = first_realize(root_body(f, NULL));
  REQUIRE(r);
  ts_block *b = r->u.realize.block;
  CHECK(b->explicit_regions);
  CHECK(ts_dtype_eq(b->iter_vars[0].var->dtype, TS_I64));

  ts_gfunc *g = ts_module_gfunc(m, "main");
  REQUIRE(g);
  const ts_sinfo *xs = g->params[0]->sinfo;
  REQUIRE(xs->kind == TS_SI_TENSOR && xs->u.tensor.shape);
  ts_var *n = xs->u.tensor.shape[0]->u.var;
  CHECK(ts_dtype_eq(n->dtype, TS_I64));
  CHECK_STREQ(n->name, "n");
  const ts_sinfo *cs = g->blocks[0].bindings[0].value->sinfo;
  REQUIRE(cs && cs->kind == TS_SI_TENSOR);
  CHECK(cs->u.tensor.shape[0]->u.var == n); /* same variable */
  CHECK(g->ret_sinfo && g->ret_sinfo->u.tensor.shape[0]->u.var == n);
  ts_module_destroy(m);
}

TEST(mlc2022_mm_relu) {
  const char *src =
      "import tvm\n"
      "from tvm.script import tir as T\n"
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
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "mm_relu");
  REQUIRE(f);
  ts_block *root = NULL;
  ts_stmt *body = root_body(f, &root);
  REQUIRE(root);
  CHECK_EQ_INT(root->n_alloc_buffers, 1);
  CHECK_STREQ(root->alloc_buffers[0]->name, "Y");
  REQUIRE(body->kind == TS_S_SEQ && body->u.seq.n == 2);
  ts_block *c = first_realize(body->u.seq.stmts[1])->u.realize.block;
  CHECK_STREQ(c->name, "C");
  ts_stmt *st = c->body;
  REQUIRE(st->kind == TS_S_STORE);
  CHECK_EQ_INT(st->u.store.value->kind, TS_E_MAX);
  CHECK(ts_dtype_eq(st->u.store.value->u.bin.b->dtype, TS_F32));
  ts_module_destroy(m);
}

TEST(sblock_and_out_ty) {
  const char *src =
      "@I.ir_module\n"
      "class Module:\n"
      "    @T.prim_func(private=True)\n"
      "    def add_one(A: T.Buffer((8, 16), \"float32\"), B: T.Buffer((8, "
      "16), \"float32\")):\n"
      "        for i, j in T.grid(8, 16):\n"
      "            with T.sblock(\"B\"):\n"
      "                vi, vj = T.axis.remap(\"SS\", [i, j])\n"
      "                T.sblock_attr({\"k\": 1})\n"
      "                tmp = T.sblock_alloc_buffer((1,), scope=\"local\")\n"
      "                tmp[0] = A[vi, vj] + 1\n"
      "                B[vi, vj] = tmp[0]\n"
      "    @R.function(private=True)\n"
      "    def helper(x: R.Tensor((8, 16), \"float32\")) -> R.Tensor((8, "
      "16), \"float32\"):\n"
      "        return x\n"
      "    @R.function(pure=False)\n"
      "    def main(x: R.Tensor((8, 16), \"float32\")):\n"
      "        cls = Module\n"
      "        lv = R.call_tir(cls.add_one, (x,), out_ty=R.Tensor((8, 16), "
      "dtype=\"float32\"))\n"
      "        lv2 = cls.helper(lv)\n"
      "        gv = R.call_tir(cls.add_one, lv2, R.Tensor((8, 16), "
      "\"float32\"))\n"
      "        return gv\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "add_one");
  REQUIRE(f);
  CHECK(f->is_private);
  ts_block *b = first_realize(root_body(f, NULL))->u.realize.block;
  CHECK_EQ_INT(b->n_alloc_buffers, 1);
  CHECK_STREQ(b->alloc_buffers[0]->scope, "local");
  CHECK(ts_attrs_get(b->annotations, "k") != NULL);
  /* `A[vi, vj] + 1`: the int literal takes A's dtype */
  ts_stmt *s0 = b->body->u.seq.stmts[0];
  CHECK(s0->u.store.value->u.bin.b->kind == TS_E_FLOAT);
  ts_gfunc *g = ts_module_gfunc(m, "main");
  REQUIRE(g);
  CHECK(!g->is_pure);
  CHECK(ts_module_gfunc(m, "helper")->is_private);
  REQUIRE(g->n_blocks == 1);
  CHECK(!g->blocks[0].is_dataflow);
  CHECK_EQ_INT(g->blocks[0].n, 3);
  ts_gexpr *call = g->blocks[0].bindings[1].value;
  CHECK_EQ_INT(call->u.call.callee_kind, TS_CALLEE_GLOBAL);
  CHECK_STREQ(call->u.call.name, "helper");
  CHECK(call->sinfo && call->sinfo->kind == TS_SI_TENSOR);
  /* a single non-tuple argument is wrapped into a tuple */
  ts_gexpr *c2 = g->blocks[0].bindings[2].value;
  CHECK_EQ_INT(c2->u.call.args[1]->kind, TS_G_TUPLE);
  ts_module_destroy(m);
}

TEST(bare_prim_func_and_loops) {
  const char *src =
      "@T.prim_func\n"
      "def f(A: T.Buffer((64,), \"float16\"), B: T.Buffer(64), n: T.int32):\n"
      "    for i in T.parallel(64):\n"
      "        A[i] = 0.5\n"
      "    for i in T.serial(2, 10, annotations={\"u\": 1}):\n"
      "        B[i] = T.float32(1)\n"
      "    for i in T.vectorized(4):\n"
      "        B[i] = B[i] * 2.0\n"
      "    for i in T.unroll(0, 4):\n"
      "        B[i] = T.Cast(\"float32\", A[i])\n"
      "    for t in T.thread_binding(0, 32, \"threadIdx.x\"):\n"
      "        B[t] = T.cast(A[t], \"float32\")\n"
      "    for t in T.thread_binding(32, thread=\"blockIdx.x\"):\n"
      "        x: T.float32 = B[t] + 1\n"
      "        B[t] = x\n"
      "    for i in range(n):\n"
      "        if i < 5 and n > 2:\n"
      "            B[i] = T.if_then_else(i % 2 == 0, B[i], 0.0)\n"
      "        else:\n"
      "            B[i] = T.max_value(\"float32\")\n"
      "    assert n > 0, \"n must be positive\"\n"
      "    T.evaluate(0)\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  CHECK(m->name == NULL);
  REQUIRE(m->n_funcs == 1);
  ts_primfunc *f = ts_module_primfunc(m, "f");
  REQUIRE(f);
  CHECK(ts_dtype_eq(f->params[1].buffer->dtype, TS_F32));
  CHECK(f->params[2].buffer == NULL);
  CHECK(ts_dtype_eq(f->params[2].var->dtype, TS_I32));
  ts_stmt *s = f->body;
  REQUIRE(s->kind == TS_S_SEQ && s->u.seq.n == 8);
  ts_stmt **l = s->u.seq.stmts;
  CHECK_EQ_INT(l[0]->u.for_.kind, TS_FOR_PARALLEL);
  /* bare 0.5 stored to a float16 buffer becomes float16 */
  CHECK(ts_dtype_eq(l[0]->u.for_.body->u.store.value->dtype, TS_F16));
  CHECK_EQ_INT(l[1]->u.for_.min->u.int_value, 2);
  CHECK_EQ_INT(l[1]->u.for_.extent->u.int_value, 8);
  CHECK(l[1]->u.for_.annotations != NULL);
  CHECK_EQ_INT(l[2]->u.for_.kind, TS_FOR_VECTORIZED);
  CHECK_EQ_INT(l[3]->u.for_.kind, TS_FOR_UNROLLED);
  CHECK_EQ_INT(l[3]->u.for_.body->u.store.value->kind, TS_E_CAST);
  CHECK_EQ_INT(l[4]->u.for_.kind, TS_FOR_THREAD_BINDING);
  CHECK_STREQ(l[4]->u.for_.thread_tag, "threadIdx.x");
  CHECK_STREQ(l[5]->u.for_.thread_tag, "blockIdx.x");
  CHECK_EQ_INT(l[5]->u.for_.body->kind, TS_S_LET);
  CHECK_EQ_INT(l[6]->u.for_.body->kind, TS_S_IF);
  CHECK(l[6]->u.for_.extent->kind == TS_E_VAR);
  CHECK_EQ_INT(l[7]->kind, TS_S_ASSERT);
  CHECK_STREQ(l[7]->u.assert_.message, "n must be positive");
  ts_module_destroy(m);
}

TEST(literal_and_index_dtypes) {
  const char *src = "@T.prim_func\n"
                    "def f(a: T.handle, B: T.Buffer((8,), \"float64\")):\n"
                    "    n = T.int64()\n"
                    "    A = T.match_buffer(a, (n,), \"float64\")\n"
                    "    for i in range(n):\n"
                    "        A[i] = A[i] * 0.1 + A[i + 1 - 1] / 3\n"
                    "    for j in range(8):\n"
                    "        B[j] = T.float64(128 // 4) + (1 / 2)\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "f");
  ts_stmt *l0 = f->body->u.seq.stmts[0];
  CHECK(ts_dtype_eq(l0->u.for_.var->dtype, TS_I64));
  ts_expr *v = l0->u.for_.body->u.store.value; /* (A*0.1) + (A/3) */
  REQUIRE(v->kind == TS_E_ADD);
  ts_expr *lit = v->u.bin.a->u.bin.b;
  CHECK(lit->kind == TS_E_FLOAT && ts_dtype_eq(lit->dtype, TS_F64));
  CHECK(lit->u.float_value == 0.1); /* not rounded through float32 */
  CHECK_EQ_INT(v->u.bin.b->kind, TS_E_DIV);
  ts_expr *idx = v->u.bin.b->u.bin.a->u.load.indices[0];
  CHECK(ts_dtype_eq(idx->dtype, TS_I64));
  ts_stmt *l1 = f->body->u.seq.stmts[1];
  ts_expr *w = l1->u.for_.body->u.store.value;
  REQUIRE(w->kind == TS_E_ADD);
  CHECK(w->u.bin.a->kind == TS_E_FLOAT && w->u.bin.a->u.float_value == 32);
  CHECK(w->u.bin.b->kind == TS_E_FLOAT && w->u.bin.b->u.float_value == 0.5);
  ts_module_destroy(m);

  char *e =
      parse_error("@T.prim_func\n"
                  "def f(A: T.Buffer((8,), \"float32\"), B: T.Buffer((8,), "
                  "\"float64\")):\n"
                  "    for i in range(8):\n"
                  "        A[i] = A[i] + B[i]\n");
  CHECK_STREQ(e, "e.tvmscript:4:16: binary operator '+' has operands of "
                 "dtype float32 and float64");
  free(e);
}

TEST(block_forms) {
  const char *src =
      "@T.prim_func\n"
      "def f(A: T.Buffer((16, 16), \"float32\"), B: T.Buffer((16,), "
      "\"float32\")):\n"
      "    with T.block(\"root\"):\n"
      "        for i, j in T.grid(4, 4):\n"
      "            with T.block(\"B\"):\n"
      "                vi = T.axis.S(16, i * 4 + j)\n"
      "                vk = T.axis.R((0, 16), j)\n"
      "                vo = T.axis.opaque(16, i)\n"
      "                T.where(i * 4 + j < 16)\n"
      "                T.reads([A[vi, 0:16]])\n"
      "                T.writes(B[vi])\n"
      "                T.block_attr({\"meta\": [1, 2.5, \"x\", True, None]})\n"
      "                sub = T.match_buffer(A[vi, 0:4], (4,))\n"
      "                with T.init():\n"
      "                    B[vi] = 0.0\n"
      "                B[vi] = B[vi] + sub[vk % 4]\n"
      "        for i in range(4):\n"
      "            with T.block(\"inferred\"):\n"
      "                v = T.axis.spatial(4, i)\n"
      "                T.reads()\n"
      "                B[v] = T.float32(\"inf\")\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "f");
  REQUIRE(f->body->kind == TS_S_BLOCK_REALIZE);
  ts_block *root = f->body->u.realize.block;
  CHECK_STREQ(root->name, "root");
  CHECK_EQ_INT(root->n_reads, 0);
  ts_stmt *r = first_realize(root->body);
  REQUIRE(r);
  ts_block *b = r->u.realize.block;
  CHECK_EQ_INT(b->n_iter_vars, 3);
  CHECK_EQ_INT(b->iter_vars[1].type, TS_ITER_REDUCE);
  CHECK_EQ_INT(b->iter_vars[2].type, TS_ITER_OPAQUE);
  CHECK(r->u.realize.predicate != NULL);
  CHECK_EQ_INT(r->u.realize.iter_values[0]->kind, TS_E_ADD);
  CHECK(b->explicit_regions);
  CHECK_EQ_INT(b->n_reads, 1);
  CHECK_EQ_INT(b->reads[0].ranges[1].extent->u.int_value, 16);
  CHECK_EQ_INT(b->n_match_buffers, 1);
  CHECK_EQ_INT(b->match_buffers[0].source.ranges[1].extent->u.int_value, 4);
  ts_attr_value *meta = ts_attrs_get(b->annotations, "meta");
  REQUIRE(meta && meta->kind == TS_ATTR_LIST && meta->u.list.n == 5);
  CHECK_EQ_INT(meta->u.list.items[2]->kind, TS_ATTR_STR);
  CHECK_EQ_INT(meta->u.list.items[4]->kind, TS_ATTR_NONE);
  ts_stmt *r2 = first_realize(root->body->u.seq.stmts[1]);
  ts_block *b2 = r2->u.realize.block;
  CHECK_EQ_INT(b2->n_reads, 0);  /* explicit empty reads kept */
  CHECK_EQ_INT(b2->n_writes, 1); /* writes inferred */
  ts_module_destroy(m);
}

TEST(graph_values) {
  const char *src =
      "@R.function\n"
      "def main(x: R.Tensor((2, 3), \"float32\"), s: R.Shape([2, 3]), p: "
      "R.Prim(\"int64\"), t: R.Tuple(R.Tensor((2, 3), \"float32\"), "
      "R.Object), u: R.Tensor(ndim=2, dtype=\"float32\"), v: R.Tensor):\n"
      "    R.func_attr({\"num_input\": 1})\n"
      "    c = R.const([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]], \"float32\")\n"
      "    k = R.const(3)\n"
      "    a = R.add(x, c)\n"
      "    b: R.Tensor((2, 3), \"float32\") = R.nn.softmax(a, axis=-1)\n"
      "    r = R.reshape(b, (3, 2))\n"
      "    r2 = R.reshape(b, R.shape([6]))\n"
      "    m = R.match_cast(u, R.Tensor((\"h\", \"w\"), \"float32\"))\n"
      "    first = t[0]\n"
      "    tup = (r, r2, k)\n"
      "    g = R.TupleGetItem(tup, 1)\n"
      "    pv = R.prim_value(T.int64(7))\n"
      "    sv = R.str(\"hello\")\n"
      "    e = R.call_packed(\"my.func\", x, sinfo_args=R.Tensor((2, 3), "
      "\"float32\"))\n"
      "    return (first, g, m)\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_gfunc *g = ts_module_gfunc(m, "main");
  REQUIRE(g);
  CHECK_EQ_INT(g->params[1]->sinfo->kind, TS_SI_SHAPE);
  CHECK_EQ_INT(g->params[2]->sinfo->kind, TS_SI_PRIM);
  CHECK_EQ_INT(g->params[3]->sinfo->kind, TS_SI_TUPLE);
  CHECK_EQ_INT(g->params[4]->sinfo->u.tensor.ndim, 2);
  CHECK(g->params[4]->sinfo->u.tensor.shape == NULL);
  CHECK_EQ_INT(g->params[5]->sinfo->u.tensor.ndim, -1);
  CHECK(ts_attrs_get(g->attrs, "num_input") != NULL);
  REQUIRE(g->n_blocks == 1);
  ts_binding *bs = g->blocks[0].bindings;
  REQUIRE(g->blocks[0].n == 13);
  ts_const_data *cd = bs[0].value->u.constant;
  CHECK_EQ_INT(cd->ndim, 2);
  CHECK_EQ_INT(cd->shape[1], 3);
  CHECK_EQ_INT(cd->nbytes, 24);
  CHECK(((uintptr_t)cd->data & 63) == 0);
  CHECK(((float *)cd->data)[5] == 6.5f);
  CHECK(ts_dtype_eq(bs[1].value->u.constant->dtype, TS_I64));
  ts_gexpr *soft = bs[3].value;
  ts_attr_value *axis = ts_attrs_get(soft->u.call.attrs, "axis");
  CHECK(axis && axis->kind == TS_ATTR_INT && axis->u.i == -1);
  CHECK_EQ_INT(bs[4].value->u.call.args[1]->kind, TS_G_SHAPE);
  CHECK_EQ_INT(bs[5].value->u.call.args[1]->kind, TS_G_SHAPE);
  CHECK_EQ_INT(bs[6].kind, TS_BIND_MATCH_CAST);
  CHECK(bs[6].var->sinfo->u.tensor.shape[0]->kind == TS_E_VAR);
  CHECK_EQ_INT(bs[7].value->kind, TS_G_TUPLE_GET);
  CHECK(bs[7].var->sinfo && bs[7].var->sinfo->kind == TS_SI_TENSOR);
  CHECK_EQ_INT(bs[9].value->u.tuple_get.index, 1);
  CHECK_EQ_INT(bs[10].value->kind, TS_G_PRIM);
  CHECK_EQ_INT(bs[11].value->kind, TS_G_STR);
  CHECK_EQ_INT(bs[12].value->u.call.callee_kind, TS_CALLEE_EXTERN);
  CHECK_STREQ(bs[12].value->u.call.name, "my.func");
  CHECK_EQ_INT(g->result->kind, TS_G_TUPLE);
  ts_module_destroy(m);
}

TEST(forward_references) {
  const char *src =
      "@I.ir_module\n"
      "class M:\n"
      "    I.module_attrs({\"system_lib_prefix\": \"m_\"})\n"
      "    @R.function\n"
      "    def main(x: R.Tensor((4,), \"float32\")):\n"
      "        cls = M\n"
      "        y = cls.inner(x)\n"
      "        z = R.call_tir(cls.add, (y,), out_sinfo=R.Tensor((4,), "
      "\"float32\"), tir_vars=R.shape([4]))\n"
      "        return z\n"
      "    @R.function\n"
      "    def inner(x: R.Tensor((4,), \"float32\")):\n"
      "        return x\n"
      "    @T.prim_func\n"
      "    def add(A: T.Buffer((4,), \"float32\"), B: T.Buffer((4,), "
      "\"float32\"), n: T.int64):\n"
      "        for i in range(4):\n"
      "            B[i] = A[i] + T.float32(1)\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  CHECK_STREQ(m->funcs[0].name, "main"); /* source order */
  CHECK_STREQ(m->funcs[2].name, "add");
  CHECK(ts_attrs_get(m->attrs, "system_lib_prefix") != NULL);
  ts_gfunc *g = ts_module_gfunc(m, "main");
  ts_gexpr *y = g->blocks[0].bindings[0].value;
  CHECK(y->sinfo && y->sinfo->kind == TS_SI_TENSOR);
  ts_gexpr *z = g->blocks[0].bindings[1].value;
  CHECK_EQ_INT(z->u.call.n_args, 3);
  CHECK_EQ_INT(z->u.call.args[2]->kind, TS_G_SHAPE);
  ts_module_destroy(m);
}

TEST(inline_errors) {
  struct {
    const char *src, *msg;
  } cases[] = {
      {"@T.prim_func\ndef f(A: T.Buffer((4,), \"float32\")):\n"
       "    for i in range(4):\n        A[i] = T.foo(1)\n",
       "e.tvmscript:4:16: unknown TIR function 'T.foo'"},
      {"@R.function\ndef f(x: R.Tensor((4,), \"float32\")):\n"
       "    y = R.nn.foo(x)\n    return y\n",
       "e.tvmscript:3:9: unknown operator 'R.nn.foo'"},
      {"@R.function\ndef f(x: R.Tensor((4,), \"float32\")):\n"
       "    y = R.add(x, x, x)\n    return y\n",
       "e.tvmscript:3:9: R.add expects 2 arguments, got 3"},
      {"class M:\n    pass\n",
       "e.tvmscript:1:1: class 'M' must be decorated with @I.ir_module"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *e = parse_error(cases[i].src);
    CHECK_STREQ(e, cases[i].msg);
    free(e);
  }
  /* the rendered form carries the source line and a caret */
  ts_module *m = NULL;
  const char *bad = "@T.prim_func\ndef f(A: T.Buffer((4,), \"float33\")):\n"
                    "    T.evaluate(0)\n";
  ts_status *st = ts_script_parse(bad, strlen(bad), "e.tvmscript", &m);
  REQUIRE(st);
  CHECK_CONTAINS(ts_status_render(st),
                 "def f(A: T.Buffer((4,), \"float33\")):");
  CHECK_EQ_INT(ts_status_code_of(st), TS_ERR_TYPE);
  ts_status_free(st);
  CHECK(m == NULL);
}

TEST(implicit_shape_vars) {
  const char *src = "@T.prim_func\n"
                    "def f(n: T.int32, A: T.Buffer((n, m), \"float32\")):\n"
                    "    for i in range(n):\n"
                    "        A[i, 0] = 1.0\n";
  ts_module *m = parse(src);
  REQUIRE(m);
  ts_primfunc *f = ts_module_primfunc(m, "f");
  ts_expr *d0 = f->params[1].buffer->shape[0];
  CHECK(d0->kind == TS_E_VAR && d0->u.var == f->params[0].var);
  /* an undeclared name in a buffer shape declares an int32 variable */
  ts_expr *d1 = f->params[1].buffer->shape[1];
  CHECK(d1->kind == TS_E_VAR && ts_dtype_eq(d1->dtype, TS_I32));
  ts_module_destroy(m);
}

/* Every file of the error corpus fails with exactly its expected message. */
TEST(error_corpus) {
  char *data = NULL;
  size_t len = 0;
  if (chdir("errors") != 0) {
    CHECK_FAIL_("cannot enter tests/errors");
    return;
  }
  ts_status *rst = ts_read_file("expected.txt", &data, &len);
  if (rst) {
    CHECK_FAIL_("%s", ts_status_message(rst));
    ts_status_free(rst);
    CHECK(chdir("..") == 0);
    return;
  }
  int n = 0;
  for (char *line = strtok(data, "\n"); line; line = strtok(NULL, "\n")) {
    if (!*line || *line == '#')
      continue;
    char *sep = strstr(line, ": ");
    if (!sep) {
      CHECK_FAIL_("malformed line in expected.txt: %s", line);
      continue;
    }
    *sep = '\0';
    const char *name = line, *expected = sep + 2;
    ts_module *m = NULL;
    ts_status *st = ts_script_parse_file(name, &m);
    n++;
    if (!st) {
      CHECK_FAIL_("%s: parsed without error", name);
      ts_module_destroy(m);
      continue;
    }
    if (strcmp(ts_status_message(st), expected) != 0)
      CHECK_FAIL_("%s:\n  got:      %s\n  expected: %s", name,
                  ts_status_message(st), expected);
    ts_status_free(st);
  }
  free(data);
  CHECK(n >= 30);
  CHECK(chdir("..") == 0);
}

int main(void) {
  RUN(seed_module);
  RUN(canonical_symbolic);
  RUN(mlc2022_mm_relu);
  RUN(sblock_and_out_ty);
  RUN(bare_prim_func_and_loops);
  RUN(literal_and_index_dtypes);
  RUN(block_forms);
  RUN(graph_values);
  RUN(forward_references);
  RUN(inline_errors);
  RUN(implicit_shape_vars);
  RUN(error_corpus);
  return CHECK_DONE();
}
