/* te.c: the tensor-expression builder behind legalization (see te.h). */
#include <stdlib.h>
#include <string.h>

#include "ir/ir_util.h"
#include "ops/te.h"

struct te_builder {
  ts_arena *a;
  TS_VEC(ts_param) params;
  TS_VEC(ts_stmt *) stages;
  TS_VEC(ts_buffer *) temps;
  ts_ptrmap vars; /* graph-level var -> local var */
};

te_builder *te_begin(ts_arena *a) {
  te_builder *b = ts_xcalloc(1, sizeof *b);
  b->a = a;
  return b;
}

ts_arena *te_arena(te_builder *b) { return b->a; }

/* Maps a graph-level shape expression into the function. */
static ts_expr *map_expr(te_builder *b, ts_expr *e) {
  if (!e) return e;
  if (e->kind == TS_E_VAR) {
    ts_var *v = ts_ptrmap_get(&b->vars, e->u.var);
    if (!v) {
      v = ts_var_new(b->a, e->u.var->name, e->u.var->dtype, e->u.var->loc);
      ts_ptrmap_put(&b->vars, e->u.var, v);
    }
    return ts_varref(b->a, v);
  }
  if (ts_expr_kind_is_binary(e->kind)) {
    ts_expr *x = map_expr(b, e->u.bin.a), *y = map_expr(b, e->u.bin.b);
    ts_expr *r = ts_binary(b->a, e->kind, x, y);
    return r;
  }
  if (e->kind == TS_E_CAST)
    return ts_cast(b->a, e->dtype, map_expr(b, e->u.unary.a));
  return e; /* immediates are shared */
}

static bool has_var(const ts_expr *e) {
  if (!e) return false;
  if (e->kind == TS_E_VAR) return true;
  if (ts_expr_kind_is_binary(e->kind))
    return has_var(e->u.bin.a) || has_var(e->u.bin.b);
  if (e->kind == TS_E_CAST) return has_var(e->u.unary.a);
  return false;
}

static ts_buffer *add_param(te_builder *b, const char *name,
                            ts_expr *const *shape, int ndim, ts_dtype dt) {
  ts_expr **sh = ts_arena_array(b->a, (size_t)ndim + 1, sizeof(ts_expr *));
  bool symbolic = false;
  for (int d = 0; d < ndim; d++) {
    sh[d] = map_expr(b, shape[d]);
    symbolic |= has_var(shape[d]);
  }
  ts_buffer *buf = ts_buffer_new(b->a, name, dt, ndim, sh);
  ts_param p = {0};
  p.buffer = buf;
  p.via_match_buffer = symbolic;
  p.var = ts_var_new(b->a, symbolic ? ts_arena_printf(b->a, "var_%s", name) : name,
                     TS_HANDLET, (ts_loc){0});
  if (!symbolic) buf->data = p.var; /* as the reader builds them */
  ts_vec_push(&b->params, p);
  return buf;
}

ts_buffer *te_param(te_builder *b, const char *name, const ts_sinfo *t) {
  TS_ASSERT(t && t->kind == TS_SI_TENSOR && t->u.tensor.shape);
  return add_param(b, name, t->u.tensor.shape, t->u.tensor.ndim,
                   t->u.tensor.dtype);
}

ts_buffer *te_output(te_builder *b, const char *name, ts_expr *const *shape,
                     int ndim, ts_dtype dt) {
  return add_param(b, name, shape, ndim, dt);
}

ts_buffer *te_temp(te_builder *b, const char *name, ts_expr *const *shape,
                   int ndim, ts_dtype dt) {
  ts_expr **sh = ts_arena_array(b->a, (size_t)ndim + 1, sizeof(ts_expr *));
  for (int d = 0; d < ndim; d++) sh[d] = shape[d];
  ts_buffer *buf = ts_buffer_new(b->a, name, dt, ndim, sh);
  ts_vec_push(&b->temps, buf);
  return buf;
}

static ts_expr *zero_of(ts_arena *a, ts_dtype t) {
  return ts_int(a, t, 0);
}

/* Builds loops + block for a stage. */
static void add_stage(te_builder *b, const char *block_name, ts_buffer *out,
                      int n_red, ts_expr *const *red_ext, ts_expr *init,
                      ts_expr_kind combine, te_body_fn body, void *ctx) {
  ts_arena *a = b->a;
  int ns = out->ndim, n = ns + n_red;
  ts_var **loop = ts_arena_array(a, (size_t)n + 1, sizeof(ts_var *));
  ts_block *blk = ts_arena_alloc(a, sizeof *blk);
  blk->name = ts_arena_strdup(a, block_name);
  blk->n_iter_vars = n;
  blk->iter_vars = ts_arena_array(a, (size_t)n + 1, sizeof(ts_iter_var));
  ts_expr **sp = ts_arena_array(a, (size_t)ns + 1, sizeof(ts_expr *));
  ts_expr **rd = ts_arena_array(a, (size_t)n_red + 1, sizeof(ts_expr *));
  for (int i = 0; i < n; i++) {
    bool red = i >= ns;
    ts_expr *ext = red ? red_ext[i - ns] : out->shape[i];
    ts_dtype it = ext->dtype.code == TS_INT ? ext->dtype : TS_I64;
    const char *ln = red ? ts_arena_printf(a, "k%d", i - ns)
                         : ts_arena_printf(a, "i%d", i);
    loop[i] = ts_var_new(a, ln, it, (ts_loc){0});
    ts_var *iv = ts_var_new(a, ts_arena_printf(a, "v_%s", ln), it, (ts_loc){0});
    blk->iter_vars[i].var = iv;
    blk->iter_vars[i].dom.min = zero_of(a, it);
    blk->iter_vars[i].dom.extent = ext;
    blk->iter_vars[i].type = red ? TS_ITER_REDUCE : TS_ITER_SPATIAL;
    if (red) rd[i - ns] = ts_varref(a, iv);
    else sp[i] = ts_varref(a, iv);
  }
  ts_expr *value = body(b, sp, rd, ctx);
  if (!ts_dtype_eq(value->dtype, out->dtype)) value = ts_cast(a, out->dtype, value);
  ts_stmt *store = ts_stmt_new(a, TS_S_STORE, (ts_loc){0});
  store->u.store.buffer = out;
  store->u.store.indices = sp;
  store->u.store.n = ns;
  if (n_red) {
    ts_expr *cur = ts_load(a, out, sp, ns);
    store->u.store.value = ts_binary(a, combine, cur, value);
    ts_stmt *ini = ts_stmt_new(a, TS_S_STORE, (ts_loc){0});
    ini->u.store.buffer = out;
    ini->u.store.indices = sp;
    ini->u.store.n = ns;
    ini->u.store.value = init;
    blk->init = ini;
  } else {
    store->u.store.value = value;
  }
  blk->body = store;
  ts_block_infer_regions(a, blk);
  ts_stmt *s = ts_stmt_new(a, TS_S_BLOCK_REALIZE, (ts_loc){0});
  s->u.realize.block = blk;
  s->u.realize.iter_values = ts_arena_array(a, (size_t)n + 1, sizeof(ts_expr *));
  for (int i = 0; i < n; i++) s->u.realize.iter_values[i] = ts_varref(a, loop[i]);
  for (int i = n - 1; i >= 0; i--) {
    ts_stmt *f = ts_stmt_new(a, TS_S_FOR, (ts_loc){0});
    f->u.for_.var = loop[i];
    f->u.for_.min = zero_of(a, loop[i]->dtype);
    f->u.for_.extent = blk->iter_vars[i].dom.extent;
    f->u.for_.kind = TS_FOR_SERIAL;
    f->u.for_.body = s;
    s = f;
  }
  ts_vec_push(&b->stages, s);
}

void te_compute(te_builder *b, const char *block, ts_buffer *out,
                te_body_fn body, void *ctx) {
  add_stage(b, block, out, 0, NULL, NULL, TS_E_ADD, body, ctx);
}

static ts_expr *init_value(te_builder *b, ts_expr **sp, ts_expr **rd, void *ctx) {
  (void)b;
  (void)sp;
  (void)rd;
  return ctx;
}

void te_reduce(te_builder *b, const char *block, ts_buffer *out, int n_red,
               ts_expr *const *red_ext, ts_expr *init, ts_expr_kind combine,
               te_body_fn body, void *ctx) {
  /* an empty reduction (a reduced extent known to be 0) is its initial
   * value everywhere: a block whose reduction loops never run would leave
   * its output unwritten */
  for (int i = 0; i < n_red; i++) {
    int64_t e;
    if (ts_expr_is_const_int(red_ext[i], &e) && e == 0) {
      add_stage(b, block, out, 0, NULL, NULL, combine, init_value, init);
      return;
    }
  }
  add_stage(b, block, out, n_red, red_ext, init, combine, body, ctx);
}

ts_primfunc *te_finish(te_builder *b, const char *name) {
  ts_arena *a = b->a;
  ts_primfunc *f = ts_arena_alloc(a, sizeof *f);
  f->name = ts_arena_strdup(a, name);
  f->n_params = (int)b->params.len;
  f->params = ts_vec_to_arena(a, &b->params);
  f->is_private = true;
  f->attrs = ts_attrs_new(a);
  ts_attrs_set(a, f->attrs, "tir.noalias", ts_attr_bool(a, true));
  ts_block *root = ts_arena_alloc(a, sizeof *root);
  root->name = "root";
  root->n_alloc_buffers = (int)b->temps.len;
  root->alloc_buffers = ts_vec_to_arena(a, &b->temps);
  root->body = ts_seq(a, b->stages.data, (int)b->stages.len);
  ts_stmt *r = ts_stmt_new(a, TS_S_BLOCK_REALIZE, (ts_loc){0});
  r->u.realize.block = root;
  f->body = r;
  ts_vec_free(&b->params);
  ts_vec_free(&b->stages);
  ts_vec_free(&b->temps);
  ts_ptrmap_free(&b->vars);
  free(b);
  return f;
}

ts_expr *te_broadcast_load(te_builder *b, ts_buffer *in, ts_expr **sp,
                           int out_ndim) {
  ts_arena *a = b->a;
  int r = in->ndim;
  ts_expr **idx = ts_arena_array(a, (size_t)r + 1, sizeof(ts_expr *));
  for (int d = 0; d < r; d++) {
    int od = out_ndim - r + d;
    int64_t v;
    if (ts_expr_is_const_int(in->shape[d], &v) && v == 1)
      idx[d] = ts_int(a, sp[od]->dtype, 0);
    else
      idx[d] = sp[od];
  }
  return ts_load(a, in, idx, r);
}
