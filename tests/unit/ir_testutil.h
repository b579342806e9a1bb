/* ir_testutil.h: IR built by hand for the unit tests of src/ir (test_ir.c,
 * test_equal.c, test_verify.c).  Header only; every function is static.
 *
 * mm_relu(A, B, C), all (N, N) float32 with N = 128 by default:
 *   # with T.block("root"):
 *   Y = T.alloc_buffer((N, N))
 *   for i, j, k in T.grid(N, N, K):
 *       with T.block("Y"):
 *           vi, vj, vk = T.axis.remap("SSR", [i, j, k])
 *           with T.init():
 *               Y[vi, vj] = T.float32(INIT)
 *           Y[vi, vj] = Y[vi, vj] + A[vi, vk] * B[vk, vj]
 *   for i, j in T.grid(N, N):
 *       with T.block("C"):
 *           vi, vj = T.axis.remap("SS", [i, j])
 *           C[vi, vj] = T.max(Y[vi, vj], T.float32(0.0))
 *
 * main(x: (N, N), w: (N, N)) -> (N, N):
 *   with R.dataflow():
 *       lv0 = R.call_tir(cls.mm_relu, (x, w), out_sinfo=R.Tensor((N, N)))
 *       lv1 = R.<OP>(lv0)          # nn.relu by default
 *       gv = R.add(lv1, lv1)
 *       R.output(gv)
 *   return gv
 *
 * The options change one thing each, for the inequality tests. */
#ifndef TESSERA_TESTS_IR_TESTUTIL_H
#define TESSERA_TESTS_IR_TESTUTIL_H

#include "ir/ir_util.h"
#include "ops/ops.h"

typedef struct mm_opts {
  int64_t n;            /* buffer sizes (default 128) */
  int64_t k_extent;     /* extent of loop k (default n) */
  double init;          /* init constant (default 0.0) */
  ts_dtype y_dtype;     /* dtype of Y (default float32) */
  const char *y_block;  /* name of the update block (default "Y") */
  ts_iter_type vk_type; /* iter type of vk (default R) */
  const char *prefix;   /* prefix for variable names (renaming tests) */
  int relu_op;          /* op of lv1 (default TS_OP_RELU) */
  /* pointers to built nodes, for tests that poke at them */
  ts_block *out_y_block, *out_c_block;
  ts_stmt *out_y_store;
  ts_buffer *out_a, *out_y;
} mm_opts;

static inline mm_opts mm_defaults(void) {
  mm_opts o = {0};
  o.n = 128;
  o.k_extent = 128;
  o.init = 0.0;
  o.y_dtype = TS_F32;
  o.y_block = "Y";
  o.vk_type = TS_ITER_REDUCE;
  o.prefix = "";
  o.relu_op = TS_OP_RELU;
  return o;
}

static inline const char *tu_name(ts_arena *a, const mm_opts *o,
                                  const char *n) {
  return ts_arena_printf(a, "%s%s", o->prefix, n);
}

static inline ts_expr *tu_i32(ts_arena *a, int64_t v) {
  return ts_int(a, TS_I32, v);
}

static inline ts_stmt *tu_for(ts_arena *a, ts_var *v, int64_t extent,
                              ts_stmt *body) {
  ts_stmt *s = ts_stmt_new(a, TS_S_FOR, (ts_loc){0});
  s->u.for_.var = v;
  s->u.for_.min = tu_i32(a, 0);
  s->u.for_.extent = tu_i32(a, extent);
  s->u.for_.kind = TS_FOR_SERIAL;
  s->u.for_.body = body;
  return s;
}

static inline ts_stmt *tu_store(ts_arena *a, ts_buffer *b, ts_expr **idx, int n,
                                ts_expr *value) {
  ts_stmt *s = ts_stmt_new(a, TS_S_STORE, (ts_loc){0});
  s->u.store.buffer = b;
  s->u.store.indices = ts_arena_memdup(a, idx, (size_t)n * sizeof(ts_expr *));
  s->u.store.n = n;
  s->u.store.value = value;
  return s;
}

/* A realize of `blk` with the given binding values. */
static inline ts_stmt *tu_realize(ts_arena *a, ts_block *blk, ts_expr **vals) {
  ts_stmt *s = ts_stmt_new(a, TS_S_BLOCK_REALIZE, (ts_loc){0});
  s->u.realize.block = blk;
  s->u.realize.iter_values =
      blk->n_iter_vars
          ? ts_arena_memdup(a, vals,
                            (size_t)blk->n_iter_vars * sizeof(ts_expr *))
          : NULL;
  return s;
}

static inline ts_block *tu_block(ts_arena *a, const char *name, ts_var **ivs,
                                 const ts_iter_type *types,
                                 const int64_t *extents, int n) {
  ts_block *b = ts_arena_alloc(a, sizeof(*b));
  b->name = ts_arena_strdup(a, name);
  b->n_iter_vars = n;
  b->iter_vars = n ? ts_arena_array(a, (size_t)n, sizeof(ts_iter_var)) : NULL;
  for (int i = 0; i < n; i++) {
    b->iter_vars[i].var = ivs[i];
    b->iter_vars[i].dom.min = tu_i32(a, 0);
    b->iter_vars[i].dom.extent = tu_i32(a, extents[i]);
    b->iter_vars[i].type = types[i];
  }
  return b;
}

static inline ts_buffer *tu_buf2(ts_arena *a, const char *name, ts_dtype t,
                                 int64_t n) {
  ts_expr *shape[2] = {tu_i32(a, n), tu_i32(a, n)};
  return ts_buffer_new(a, name, t, 2, shape);
}

static inline ts_primfunc *build_mm_relu(ts_arena *a, mm_opts *o) {
  ts_loc nl = {0};
  int64_t n = o->n;
  ts_primfunc *f = ts_arena_alloc(a, sizeof(*f));
  f->name = "mm_relu";
  ts_buffer *A = tu_buf2(a, tu_name(a, o, "A"), TS_F32, n);
  ts_buffer *B = tu_buf2(a, tu_name(a, o, "B"), TS_F32, n);
  ts_buffer *C = tu_buf2(a, tu_name(a, o, "C"), TS_F32, n);
  ts_buffer *Y = tu_buf2(a, tu_name(a, o, "Y"), o->y_dtype, n);
  f->n_params = 3;
  f->params = ts_arena_array(a, 3, sizeof(ts_param));
  ts_buffer *ps[3] = {A, B, C};
  for (int i = 0; i < 3; i++) {
    f->params[i].var = ts_var_new(a, ps[i]->name, TS_HANDLET, nl);
    f->params[i].buffer = ps[i];
  }
  f->attrs = ts_attrs_new(a);
  ts_attrs_set(a, f->attrs, "global_symbol", ts_attr_str(a, "mm_relu"));
  ts_attrs_set(a, f->attrs, "tir.noalias", ts_attr_bool(a, true));

  /* block Y */
  ts_var *i = ts_var_new(a, tu_name(a, o, "i"), TS_I32, nl);
  ts_var *j = ts_var_new(a, tu_name(a, o, "j"), TS_I32, nl);
  ts_var *k = ts_var_new(a, tu_name(a, o, "k"), TS_I32, nl);
  ts_var *vi = ts_var_new(a, tu_name(a, o, "vi"), TS_I32, nl);
  ts_var *vj = ts_var_new(a, tu_name(a, o, "vj"), TS_I32, nl);
  ts_var *vk = ts_var_new(a, tu_name(a, o, "vk"), TS_I32, nl);
  ts_var *ivs[3] = {vi, vj, vk};
  ts_iter_type types[3] = {TS_ITER_SPATIAL, TS_ITER_SPATIAL, o->vk_type};
  int64_t exts[3] = {n, n, o->k_extent};
  ts_block *by = tu_block(a, o->y_block, ivs, types, exts, 3);
  ts_expr *yij[2] = {ts_varref(a, vi), ts_varref(a, vj)};
  ts_expr *aik[2] = {ts_varref(a, vi), ts_varref(a, vk)};
  ts_expr *bkj[2] = {ts_varref(a, vk), ts_varref(a, vj)};
  by->init = tu_store(a, Y, yij, 2, ts_float(a, o->y_dtype, o->init));
  ts_expr *prod =
      ts_binary(a, TS_E_MUL, ts_load(a, A, aik, 2), ts_load(a, B, bkj, 2));
  if (!ts_dtype_eq(o->y_dtype, TS_F32))
    prod = ts_cast(a, o->y_dtype, prod);
  by->body = tu_store(a, Y, yij, 2,
                      ts_binary(a, TS_E_ADD, ts_load(a, Y, yij, 2), prod));
  o->out_y_store = by->body;
  ts_expr *vals[3] = {ts_varref(a, i), ts_varref(a, j), ts_varref(a, k)};
  ts_stmt *loops_y = tu_for(
      a, i, n,
      tu_for(a, j, n, tu_for(a, k, o->k_extent, tu_realize(a, by, vals))));

  /* block C */
  ts_var *i2 = ts_var_new(a, tu_name(a, o, "i"), TS_I32, nl);
  ts_var *j2 = ts_var_new(a, tu_name(a, o, "j"), TS_I32, nl);
  ts_var *ci = ts_var_new(a, tu_name(a, o, "vi"), TS_I32, nl);
  ts_var *cj = ts_var_new(a, tu_name(a, o, "vj"), TS_I32, nl);
  ts_var *civs[2] = {ci, cj};
  ts_iter_type ctypes[2] = {TS_ITER_SPATIAL, TS_ITER_SPATIAL};
  int64_t cexts[2] = {n, n};
  ts_block *bc = tu_block(a, "C", civs, ctypes, cexts, 2);
  ts_expr *cij[2] = {ts_varref(a, ci), ts_varref(a, cj)};
  ts_expr *yv = ts_load(a, Y, cij, 2);
  if (!ts_dtype_eq(o->y_dtype, TS_F32))
    yv = ts_cast(a, TS_F32, yv);
  bc->body = tu_store(a, C, cij, 2,
                      ts_binary(a, TS_E_MAX, yv, ts_float(a, TS_F32, 0.0)));
  ts_expr *cvals[2] = {ts_varref(a, i2), ts_varref(a, j2)};
  ts_stmt *loops_c =
      tu_for(a, i2, n, tu_for(a, j2, n, tu_realize(a, bc, cvals)));

  /* root */
  ts_block *root = tu_block(a, "root", NULL, NULL, NULL, 0);
  root->n_alloc_buffers = 1;
  root->alloc_buffers = ts_arena_array(a, 1, sizeof(ts_buffer *));
  root->alloc_buffers[0] = Y;
  ts_stmt *both[2] = {loops_y, loops_c};
  root->body = ts_seq(a, both, 2);
  f->body = tu_realize(a, root, NULL);

  ts_block_infer_regions(a, by);
  ts_block_infer_regions(a, bc);
  ts_block_infer_regions(a, root);
  o->out_y_block = by;
  o->out_c_block = bc;
  o->out_a = A;
  o->out_y = Y;
  return f;
}

static inline ts_sinfo *tu_tensor2(ts_arena *a, int64_t n0, int64_t n1,
                                   ts_dtype t) {
  ts_expr *shape[2] = {ts_int(a, TS_I64, n0), ts_int(a, TS_I64, n1)};
  return ts_sinfo_tensor(a, shape, 2, t);
}

static inline ts_gvar *tu_gvar(ts_arena *a, const char *name, ts_sinfo *si,
                               bool dataflow) {
  ts_gvar *v = ts_arena_alloc(a, sizeof(*v));
  v->name = ts_arena_strdup(a, name);
  v->sinfo = si;
  v->is_dataflow = dataflow;
  return v;
}

static inline ts_gexpr *tu_gref(ts_arena *a, ts_gvar *v) {
  ts_gexpr *e = ts_gexpr_new(a, TS_G_VAR, (ts_loc){0});
  e->u.var = v;
  return e;
}

static inline ts_gexpr *tu_opcall(ts_arena *a, int op, ts_gexpr **args, int n) {
  ts_gexpr *e = ts_gexpr_new(a, TS_G_CALL, (ts_loc){0});
  e->u.call.callee_kind = TS_CALLEE_OP;
  e->u.call.op = op;
  e->u.call.args = ts_arena_memdup(a, args, (size_t)n * sizeof(ts_gexpr *));
  e->u.call.n_args = n;
  return e;
}

/* R.call_tir(cls.<callee>, (args...), out_sinfo=out) */
static inline ts_gexpr *tu_call_tir(ts_arena *a, const char *callee,
                                    ts_gexpr **args, int n, ts_sinfo *out) {
  ts_gexpr *g = ts_gexpr_new(a, TS_G_GLOBAL, (ts_loc){0});
  g->u.global_name = ts_arena_strdup(a, callee);
  ts_gexpr *t = ts_gexpr_new(a, TS_G_TUPLE, (ts_loc){0});
  t->u.tuple.fields = ts_arena_memdup(a, args, (size_t)n * sizeof(ts_gexpr *));
  t->u.tuple.n = n;
  ts_gexpr *cargs[2] = {g, t};
  ts_gexpr *c = tu_opcall(a, TS_OP_CALL_TIR, cargs, 2);
  c->u.call.sinfo_args = ts_arena_alloc(a, sizeof(ts_sinfo *));
  c->u.call.sinfo_args[0] = out;
  c->u.call.n_sinfo_args = 1;
  return c;
}

static inline ts_gfunc *build_main(ts_arena *a, mm_opts *o) {
  int64_t n = o->n;
  ts_gfunc *f = ts_arena_alloc(a, sizeof(*f));
  f->name = "main";
  f->is_pure = true;
  ts_gvar *x =
      tu_gvar(a, tu_name(a, o, "x"), tu_tensor2(a, n, n, TS_F32), false);
  ts_gvar *w =
      tu_gvar(a, tu_name(a, o, "w"), tu_tensor2(a, n, n, TS_F32), false);
  f->n_params = 2;
  f->params = ts_arena_array(a, 2, sizeof(ts_gvar *));
  f->params[0] = x;
  f->params[1] = w;
  f->ret_sinfo = tu_tensor2(a, n, n, TS_F32);

  ts_binding_block *bb = ts_arena_alloc(a, sizeof(*bb));
  bb->is_dataflow = true;
  bb->n = 3;
  bb->bindings = ts_arena_array(a, 3, sizeof(ts_binding));
  ts_gvar *lv0 =
      tu_gvar(a, tu_name(a, o, "lv0"), tu_tensor2(a, n, n, TS_F32), true);
  ts_gvar *lv1 =
      tu_gvar(a, tu_name(a, o, "lv1"), tu_tensor2(a, n, n, TS_F32), true);
  ts_gvar *gv =
      tu_gvar(a, tu_name(a, o, "gv"), tu_tensor2(a, n, n, TS_F32), false);
  ts_gexpr *xw[2] = {tu_gref(a, x), tu_gref(a, w)};
  bb->bindings[0].var = lv0;
  bb->bindings[0].value =
      tu_call_tir(a, "mm_relu", xw, 2, tu_tensor2(a, n, n, TS_F32));
  ts_gexpr *r0[1] = {tu_gref(a, lv0)};
  bb->bindings[1].var = lv1;
  bb->bindings[1].value = tu_opcall(a, o->relu_op, r0, 1);
  ts_gexpr *r1[2] = {tu_gref(a, lv1), tu_gref(a, lv1)};
  bb->bindings[2].var = gv;
  bb->bindings[2].value = tu_opcall(a, TS_OP_ADD, r1, 2);
  bb->n_outputs = 1;
  bb->outputs = ts_arena_alloc(a, sizeof(ts_gvar *));
  bb->outputs[0] = gv;
  f->blocks = bb;
  f->n_blocks = 1;
  f->result = tu_gref(a, gv);
  return f;
}

/* A module holding mm_relu and main. */
static inline ts_module *build_module(mm_opts *o) {
  ts_module *m = ts_module_create();
  ts_arena *a = ts_module_arena(m);
  m->name = "Module";
  ts_func pf = {.kind = TS_FUNC_PRIM, .name = "mm_relu"};
  pf.u.prim = build_mm_relu(a, o);
  ts_status *st = ts_module_add(m, pf, (ts_loc){0});
  TS_ASSERT(!st);
  ts_func gf = {.kind = TS_FUNC_GRAPH, .name = "main"};
  gf.u.graph = build_main(a, o);
  st = ts_module_add(m, gf, (ts_loc){0});
  TS_ASSERT(!st);
  return m;
}

/* Renders a region as "A[vi, 0:128]" for comparisons. */
static inline char *tu_region_str(const ts_region *r) {
  ts_strbuf sb = {0};
  ts_strbuf_printf(&sb, "%s[", r->buffer->name);
  for (int i = 0; i < r->n; i++) {
    if (i)
      ts_strbuf_append(&sb, ", ");
    int64_t ext;
    ts_expr_print(&sb, r->ranges[i].min);
    if (!(ts_expr_is_const_int(r->ranges[i].extent, &ext) && ext == 1)) {
      ts_strbuf_append(&sb, " : +");
      ts_expr_print(&sb, r->ranges[i].extent);
    }
  }
  ts_strbuf_append(&sb, "]");
  return sb.data;
}

/* All regions of a list, "; "-separated. */
static inline char *tu_regions_str(const ts_region *rs, int n) {
  ts_strbuf sb = {0};
  ts_strbuf_append(&sb, "");
  for (int i = 0; i < n; i++) {
    char *s = tu_region_str(&rs[i]);
    if (i)
      ts_strbuf_append(&sb, "; ");
    ts_strbuf_append(&sb, s);
    free(s);
  }
  return sb.data;
}

#endif
