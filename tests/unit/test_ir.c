/* test_ir.c: the IR core: module table, builders, attributes, intrinsics,
 * the pointer map, visitors/substitution/folding, deep copy and region
 * inference. */
#include <stdlib.h>

#include "check.h"
#include "ir_testutil.h"

TEST(module_table) {
  mm_opts o = mm_defaults();
  ts_module *m = build_module(&o);
  CHECK_EQ_INT(m->n_funcs, 2);
  CHECK(ts_module_primfunc(m, "mm_relu") != NULL);
  CHECK(ts_module_gfunc(m, "main") != NULL);
  CHECK(ts_module_primfunc(m, "main") == NULL);
  CHECK(ts_module_lookup(m, "nope") == NULL);
  ts_func dup = {
      .kind = TS_FUNC_EXTERN, .name = "main", .u.extern_name = "env.x"};
  ts_loc l = {"f.py", 3, 5};
  ts_status *st = ts_module_add(m, dup, l);
  REQUIRE(st);
  CHECK_EQ_STR(ts_status_message(st),
               "f.py:3:5: function 'main' is already defined");
  ts_status_free(st);
  ts_module_set(m, dup);
  CHECK_EQ_INT(m->n_funcs, 2);
  CHECK_EQ_INT(ts_module_lookup(m, "main")->kind, TS_FUNC_EXTERN);
  for (int i = 0; i < 20; i++) {
    ts_func f = {.kind = TS_FUNC_EXTERN,
                 .name = ts_arena_printf(m->arena, "f%d", i),
                 .u.extern_name = "x"};
    CHECK_OK(ts_module_add(m, f, l));
  }
  CHECK_EQ_INT(m->n_funcs, 22);
  ts_module_remove(m, "mm_relu");
  CHECK_EQ_INT(m->n_funcs, 21);
  CHECK_EQ_STR(m->funcs[0].name, "main");
  CHECK_EQ_STR(m->funcs[1].name, "f0");
  ts_module_destroy(m);
}

TEST(builders) {
  ts_arena *a = ts_arena_create();
  ts_var *x = ts_var_new(a, "x", TS_I32, (ts_loc){0});
  ts_expr *e = ts_binary(a, TS_E_ADD, ts_varref(a, x), ts_int(a, TS_I32, 1));
  CHECK(ts_dtype_eq(e->dtype, TS_I32));
  ts_expr *c = ts_binary(a, TS_E_LT, e, ts_int(a, TS_I32, 3));
  CHECK(ts_dtype_eq(c->dtype, TS_BOOLT));
  ts_expr *f = ts_binary(a, TS_E_MUL, ts_float(a, TS_F16, 1.0),
                         ts_float(a, TS_F16, 2.0));
  CHECK(ts_dtype_eq(f->dtype, TS_F16));
  CHECK(ts_dtype_eq(ts_bool(a, true)->dtype, TS_BOOLT));
  /* ts_seq flattens and unwraps */
  ts_stmt *s1 = ts_stmt_new(a, TS_S_EVALUATE, (ts_loc){0});
  ts_stmt *s2 = ts_stmt_new(a, TS_S_EVALUATE, (ts_loc){0});
  ts_stmt *s3 = ts_stmt_new(a, TS_S_EVALUATE, (ts_loc){0});
  ts_stmt *one[1] = {s1};
  CHECK(ts_seq(a, one, 1) == s1);
  ts_stmt *pair[2] = {s1, s2};
  ts_stmt *inner = ts_seq(a, pair, 2);
  ts_stmt *outer_in[2] = {inner, s3};
  ts_stmt *outer = ts_seq(a, outer_in, 2);
  CHECK_EQ_INT(outer->kind, TS_S_SEQ);
  CHECK_EQ_INT(outer->u.seq.n, 3);
  CHECK(outer->u.seq.stmts[2] == s3);
  ts_stmt *empty = ts_seq(a, NULL, 0);
  CHECK_EQ_INT(empty->kind, TS_S_SEQ);
  CHECK_EQ_INT(empty->u.seq.n, 0);
  /* attributes */
  ts_attrs *d = ts_attrs_new(a);
  ts_attrs_set(a, d, "k", ts_attr_int(a, 3));
  ts_attrs_set(a, d, "s", ts_attr_str(a, "v"));
  ts_attrs_set(a, d, "k", ts_attr_int(a, 4));
  CHECK_EQ_INT(d->n, 2);
  CHECK_EQ_INT(ts_attrs_get(d, "k")->u.i, 4);
  CHECK_EQ_STR(ts_attrs_get(d, "s")->u.s, "v");
  CHECK(ts_attrs_get(d, "zz") == NULL);
  CHECK(ts_attrs_get(NULL, "k") == NULL);
  ts_arena_destroy(a);
}

TEST(intrinsics) {
  ts_intrin op;
  CHECK(ts_intrin_lookup("exp", &op));
  CHECK_EQ_INT(op, TS_INTRIN_EXP);
  CHECK_EQ_STR(ts_intrin_name(TS_INTRIN_IF_THEN_ELSE), "if_then_else");
  CHECK_EQ_INT(ts_intrin_arity(TS_INTRIN_POW), 2);
  CHECK_EQ_INT(ts_intrin_arity(TS_INTRIN_CALL_EXTERN), -1);
  CHECK(!ts_intrin_lookup("frobnicate", &op));
}

TEST(ptrmap) {
  ts_ptrmap m = {0};
  int keys[1000];
  for (int i = 0; i < 1000; i++)
    ts_ptrmap_put(&m, &keys[i], &keys[999 - i]);
  CHECK_EQ_INT(m.len, 1000);
  for (int i = 0; i < 1000; i++)
    CHECK(ts_ptrmap_get(&m, &keys[i]) == &keys[999 - i]);
  for (int i = 0; i < 1000; i += 2)
    ts_ptrmap_remove(&m, &keys[i]);
  CHECK_EQ_INT(m.len, 500);
  int bad = 0;
  for (int i = 0; i < 1000; i++) {
    bool has = ts_ptrmap_has(&m, &keys[i]);
    if (has != (i % 2 == 1))
      bad++;
    if (has && ts_ptrmap_get(&m, &keys[i]) != &keys[999 - i])
      bad++;
  }
  CHECK_EQ_INT(bad, 0);
  ts_ptrmap_put(&m, &keys[0], NULL);
  CHECK(ts_ptrmap_has(&m, &keys[0]));
  CHECK(ts_ptrmap_get(&m, &keys[0]) == NULL);
  ts_ptrmap_clear(&m);
  CHECK_EQ_INT(m.len, 0);
  CHECK(!ts_ptrmap_has(&m, &keys[1]));
  ts_ptrmap_free(&m);
}

static char *str_of(const ts_expr *e) {
  ts_strbuf sb = {0};
  ts_expr_print(&sb, e);
  return sb.data;
}

#define CHECK_EXPR(e, text)                                                    \
  do {                                                                         \
    char *s_ = str_of(e);                                                      \
    CHECK_EQ_STR(s_, text);                                                    \
    free(s_);                                                                  \
  } while (0)

TEST(simplify_and_substitute) {
  ts_arena *a = ts_arena_create();
  ts_var *x = ts_var_new(a, "x", TS_I32, (ts_loc){0});
  ts_var *y = ts_var_new(a, "y", TS_I32, (ts_loc){0});
  ts_expr *X = ts_varref(a, x);
#define I(v) ts_int(a, TS_I32, v)
#define B(k, p, q) ts_binary(a, TS_E_##k, p, q)
  CHECK_EXPR(ts_expr_simplify_const(a, B(ADD, B(MUL, I(3), I(4)), I(5))), "17");
  CHECK_EXPR(ts_expr_simplify_const(a, B(ADD, X, I(0))), "x");
  CHECK_EXPR(ts_expr_simplify_const(a, B(MUL, I(1), X)), "x");
  CHECK_EXPR(ts_expr_simplify_const(a, B(MUL, X, I(0))), "0");
  CHECK_EXPR(ts_expr_simplify_const(a, B(FLOORDIV, I(-7), I(2))), "-4");
  CHECK_EXPR(ts_expr_simplify_const(a, B(FLOORMOD, I(-7), I(2))), "1");
  CHECK_EXPR(ts_expr_simplify_const(a, B(MIN, I(3), I(-2))), "-2");
  CHECK_EXPR(ts_expr_simplify_const(a, B(SUB, X, X)), "0");
  CHECK_EXPR(ts_expr_simplify_const(a, B(ADD, X, B(SUB, I(5), I(5)))), "x");
  ts_expr *fl = ts_binary(a, TS_E_ADD, ts_float(a, TS_F32, 1.0),
                          ts_float(a, TS_F32, 2.0));
  CHECK(ts_expr_simplify_const(a, fl) == fl);

  /* substitution: x -> y * 4, in (x + 1) * 2 */
  ts_ptrmap vm = {0};
  ts_ptrmap_put(&vm, x, B(MUL, ts_varref(a, y), I(4)));
  ts_expr *e = B(MUL, B(ADD, X, I(1)), I(2));
  ts_expr *r = ts_expr_substitute(a, e, &vm);
  CHECK_EXPR(r, "((y * 4) + 1) * 2");
  CHECK_EXPR(e, "(x + 1) * 2"); /* input untouched */
  ts_expr *unrelated = B(ADD, ts_varref(a, y), I(1));
  CHECK(ts_expr_substitute(a, unrelated, &vm) == unrelated);
  /* x -> 0 folds */
  ts_ptrmap_put(&vm, x, I(0));
  CHECK_EXPR(
      ts_expr_substitute(a, B(ADD, B(MUL, X, I(8)), ts_varref(a, y)), &vm),
      "y");
  ts_ptrmap_free(&vm);
#undef I
#undef B
  ts_arena_destroy(a);
}

static bool count_loads(const ts_expr *e, void *ctx) {
  if (e->kind == TS_E_LOAD)
    (*(int *)ctx)++;
  return true;
}

static bool count_fors(const ts_stmt *s, void *ctx) {
  if (s->kind == TS_S_FOR)
    ((int *)ctx)[1]++;
  return true;
}

TEST(visit_and_stmt_substitute) {
  mm_opts o = mm_defaults();
  ts_arena *a = ts_arena_create();
  ts_primfunc *f = build_mm_relu(a, &o);
  int counts[2] = {0, 0};
  ts_stmt_visit(f->body, count_fors, count_loads, counts);
  CHECK_EQ_INT(counts[1], 5); /* i, j, k, i, j */
  CHECK_EQ_INT(counts[0], 4); /* Y, A, B in Y; Y in C */

  /* replace buffer A by A2 everywhere */
  ts_buffer *A2 = tu_buf2(a, "A2", TS_F32, 128);
  ts_ptrmap bm = {0};
  ts_ptrmap_put(&bm, o.out_a, A2);
  ts_stmt *nb = ts_stmt_replace_buffers(a, f->body, &bm);
  CHECK(nb != f->body);
  const ts_block *nroot = nb->u.realize.block;
  CHECK(nroot != f->body->u.realize.block);
  /* the C loop nest did not use A: shared, not copied */
  CHECK(nroot->body->u.seq.stmts[1] ==
        f->body->u.realize.block->body->u.seq.stmts[1]);
  const ts_stmt *s = nroot->body->u.seq.stmts[0];
  while (s->kind == TS_S_FOR)
    s = s->u.for_.body;
  const ts_block *ny = s->u.realize.block;
  CHECK(ny->reads[1].buffer == A2);
  CHECK(ny->body->u.store.value->u.bin.b->u.bin.a->u.load.buffer == A2);
  ts_ptrmap_free(&bm);
  ts_arena_destroy(a);
}

TEST(module_copy) {
  mm_opts o = mm_defaults();
  ts_module *m = build_module(&o);
  ts_module *c = ts_module_copy(m);
  CHECK_EQ_INT(c->n_funcs, 2);
  ts_primfunc *pa = ts_module_primfunc(m, "mm_relu");
  ts_primfunc *pc = ts_module_primfunc(c, "mm_relu");
  REQUIRE(pa && pc && pa != pc);
  CHECK(pa->params[0].buffer != pc->params[0].buffer);
  CHECK_EQ_STR(pc->params[0].buffer->name, "A");
  /* uses point to the copied definitions */
  const ts_block *root = pc->body->u.realize.block;
  const ts_stmt *s = root->body->u.seq.stmts[0];
  while (s->kind == TS_S_FOR)
    s = s->u.for_.body;
  const ts_block *by = s->u.realize.block;
  CHECK(by->body->u.store.buffer == root->alloc_buffers[0]);
  CHECK(by->reads[1].buffer == pc->params[0].buffer);
  CHECK(by->body->u.store.indices[0]->u.var == by->iter_vars[0].var);
  CHECK(by->iter_vars[0].var != o.out_y_block->iter_vars[0].var);
  char *diff = NULL;
  CHECK(ts_module_equal(m, c, &diff));
  CHECK(diff == NULL);
  CHECK(ts_module_hash(m) == ts_module_hash(c));
  ts_module_destroy(m); /* the copy stands alone */
  CHECK_OK(ts_module_verify(c));
  ts_gfunc *g = ts_module_gfunc(c, "main");
  CHECK(g->blocks[0].outputs[0] == g->blocks[0].bindings[2].var);
  CHECK(g->result->u.var == g->blocks[0].bindings[2].var);
  ts_module_destroy(c);
}

TEST(regions_matmul) {
  mm_opts o = mm_defaults();
  ts_arena *a = ts_arena_create();
  build_mm_relu(a, &o);
  ts_block *by = o.out_y_block;
  char *r = tu_regions_str(by->reads, by->n_reads);
  char *w = tu_regions_str(by->writes, by->n_writes);
  CHECK_EQ_STR(r, "Y[vi, vj]; A[vi, vk]; B[vk, vj]");
  CHECK_EQ_STR(w, "Y[vi, vj]");
  CHECK(!by->explicit_regions);
  free(r);
  free(w);
  ts_block *bc = o.out_c_block;
  r = tu_regions_str(bc->reads, bc->n_reads);
  w = tu_regions_str(bc->writes, bc->n_writes);
  CHECK_EQ_STR(r, "Y[vi, vj]");
  CHECK_EQ_STR(w, "C[vi, vj]");
  free(r);
  free(w);
  ts_arena_destroy(a);
}

/* The root block of mm_relu: Y is allocated there, so only A, B read and C
 * written, each over the whole buffer (loops relaxed through the nested
 * blocks' bindings). */
TEST(regions_root) {
  mm_opts o = mm_defaults();
  ts_arena *a = ts_arena_create();
  ts_primfunc *f = build_mm_relu(a, &o);
  ts_block *root = f->body->u.realize.block;
  char *r = tu_regions_str(root->reads, root->n_reads);
  char *w = tu_regions_str(root->writes, root->n_writes);
  CHECK_EQ_STR(r, "A[0 : +128, 0 : +128]; B[0 : +128, 0 : +128]");
  CHECK_EQ_STR(w, "C[0 : +128, 0 : +128]");
  free(r);
  free(w);
  ts_arena_destroy(a);
}

/* with T.block("S"): vi = T.axis.spatial(128, i)
 *   for k in range(128): S[vi] = S[vi] + A[vi, k]
 *   for t in range(4): T2[vi * 4 + t] = A[vi, t * 2 + 1]   (tiled access)
 *   L = alloc_buffer in the block: L[0] = A[vi, 0]         (L excluded)
 *   D[k2 % 8] for k2 in range(32)                           (mod: 0 : +8) */
TEST(regions_inner_loops) {
  ts_arena *a = ts_arena_create();
  ts_loc nl = {0};
  ts_expr *sh1[1] = {ts_int(a, TS_I32, 128)};
  ts_expr *sh2[2] = {ts_int(a, TS_I32, 128), ts_int(a, TS_I32, 128)};
  ts_expr *sh512[1] = {ts_int(a, TS_I32, 512)};
  ts_expr *sh8[1] = {ts_int(a, TS_I32, 8)};
  ts_buffer *A = ts_buffer_new(a, "A", TS_F32, 2, sh2);
  ts_buffer *S = ts_buffer_new(a, "S", TS_F32, 1, sh1);
  ts_buffer *T2 = ts_buffer_new(a, "T2", TS_F32, 1, sh512);
  ts_buffer *L = ts_buffer_new(a, "L", TS_F32, 1, sh1);
  ts_buffer *D = ts_buffer_new(a, "D", TS_F32, 1, sh8);
  ts_var *vi = ts_var_new(a, "vi", TS_I32, nl);
  ts_var *k = ts_var_new(a, "k", TS_I32, nl);
  ts_var *t = ts_var_new(a, "t", TS_I32, nl);
  ts_var *k2 = ts_var_new(a, "k2", TS_I32, nl);
  ts_var *ivs[1] = {vi};
  ts_iter_type ty[1] = {TS_ITER_SPATIAL};
  int64_t ex[1] = {128};
  ts_block *b = tu_block(a, "S", ivs, ty, ex, 1);
  ts_expr *svi[1] = {ts_varref(a, vi)};
  ts_expr *avk[2] = {ts_varref(a, vi), ts_varref(a, k)};
  ts_stmt *s1 = tu_for(a, k, 128,
                       tu_store(a, S, svi, 1,
                                ts_binary(a, TS_E_ADD, ts_load(a, S, svi, 1),
                                          ts_load(a, A, avk, 2))));
  ts_expr *tidx[1] = {
      ts_binary(a, TS_E_ADD,
                ts_binary(a, TS_E_MUL, ts_varref(a, vi), ts_int(a, TS_I32, 4)),
                ts_varref(a, t))};
  ts_expr *aidx[2] = {
      ts_varref(a, vi),
      ts_binary(a, TS_E_ADD,
                ts_binary(a, TS_E_MUL, ts_varref(a, t), ts_int(a, TS_I32, 2)),
                ts_int(a, TS_I32, 1))};
  ts_stmt *s2 =
      tu_for(a, t, 4, tu_store(a, T2, tidx, 1, ts_load(a, A, aidx, 2)));
  ts_expr *zero[1] = {ts_int(a, TS_I32, 0)};
  ts_expr *a0[2] = {ts_varref(a, vi), ts_int(a, TS_I32, 0)};
  ts_stmt *s3 = tu_store(a, L, zero, 1, ts_load(a, A, a0, 2));
  ts_expr *didx[1] = {
      ts_binary(a, TS_E_FLOORMOD, ts_varref(a, k2), ts_int(a, TS_I32, 8))};
  ts_stmt *s4 =
      tu_for(a, k2, 32, tu_store(a, D, didx, 1, ts_float(a, TS_F32, 1.0)));
  ts_stmt *all[4] = {s1, s2, s3, s4};
  b->body = ts_seq(a, all, 4);
  b->n_alloc_buffers = 1;
  b->alloc_buffers = ts_arena_array(a, 1, sizeof(ts_buffer *));
  b->alloc_buffers[0] = L;
  ts_block_infer_regions(a, b);
  char *r = tu_regions_str(b->reads, b->n_reads);
  char *w = tu_regions_str(b->writes, b->n_writes);
  /* A's hull: [vi, 0:128] from the first loop, [vi, 1 : +7], [vi, 0]. */
  CHECK_EQ_STR(r, "S[vi]; A[vi, 0 : +128]");
  CHECK_EQ_STR(w, "S[vi]; T2[vi * 4 : +4]; D[0 : +8]");
  free(r);
  free(w);

  /* only the tiled access: the hull is exactly [1 : +7] */
  ts_block *b2 = tu_block(a, "S2", ivs, ty, ex, 1);
  b2->body = s2;
  ts_block_infer_regions(a, b2);
  r = tu_regions_str(b2->reads, b2->n_reads);
  CHECK_EQ_STR(r, "A[vi, 1 : +7]");
  free(r);
  ts_arena_destroy(a);
}

int main(void) {
  RUN(module_table);
  RUN(builders);
  RUN(intrinsics);
  RUN(ptrmap);
  RUN(simplify_and_substitute);
  RUN(visit_and_stmt_substitute);
  RUN(module_copy);
  RUN(regions_matmul);
  RUN(regions_root);
  RUN(regions_inner_loops);
  return CHECK_DONE();
}
